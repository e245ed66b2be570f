"""Micro-benchmark of ``vital_connect._table.TableBuilder``: one frame per pull.

Run from the repository root::

    python bench/table_micro.py            # the figures: about four minutes on 2 cores
    python bench/table_micro.py --quick    # tiny sizes: a smoke test, not a measurement

pandas 3 stores strings in Arrow when pyarrow is installed and in Python objects when it
is not: run it in both environments (e.g. a second venv, or ``pip uninstall pyarrow``).

Data: pages of rows shaped like the sandbox's measurements (a nested ``patient`` and
``device``, 9 columns once flattened, ``value`` an int or a float by type, one ISO-8601
``measured_at`` per row), built here so the script needs neither the sandbox nor a server.

Time: each figure is a ratio of two contenders run side by side in this process, a, b,
b, a in every round (so each run has its neighbour in time), wall time and this process's
CPU time; the median of the per-pair ratios, lowest and highest in brackets, because a
shared machine is noisy. Memory, over what was in use before the pull and against the
final frame's ``memory_usage(deep=True)``: tracemalloc's peak in this process (Python's
allocators and numpy's buffers; not Arrow's pool, where pyarrow-backed strings live), and
in fresh processes the peak resident set (``VmHWM`` from ``/proc/self/status``, reset
before the pull) and tracemalloc's peak plus the Arrow pool's. Goals that are missed are
reported, not raised; the exit status is 1 only when a frame is wrong.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout, installed or not
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from vital_connect._frames import concat_frames, records_frame  # noqa: E402
from vital_connect._table import TableBuilder  # noqa: E402

try:
    import orjson
except ImportError:  # pragma: no cover - measured when installed
    orjson = None

MB = 1024 * 1024
KINDS = {  # type -> (unit, low, high, decimals), as the sandbox's measurements
    "heart_rate": ("bpm", 52, 112, 0),
    "systolic_blood_pressure": ("mmHg", 98, 172, 0),
    "diastolic_blood_pressure": ("mmHg", 58, 104, 0),
    "oxygen_saturation": ("%", 89, 100, 0),
    "body_weight": ("kg", 48, 125, 1),
    "body_temperature": ("°C", 35.9, 38.6, 1),
    "blood_glucose": ("mmol/L", 3.9, 12.5, 1),
}
MODELS = ("Omron M7 Intelli IT", "Withings Body+", "Nonin 3230", "iHealth Track")
BASE = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def row(i: int, patients: int = 500) -> dict[str, Any]:
    owner = (i * 7919) % patients
    kind = list(KINDS)[(i * 31 + i // 7) % len(KINDS)]
    unit, low, high, decimals = KINDS[kind]
    value = round(low + (high - low) * ((i * 2654435761) % 1000) / 1000, decimals)
    return {
        "id": i + 1,
        "patient": {"id": owner + 1, "external_id": f"SBX-P{owner + 1:06d}"},
        "type": kind,
        "value": int(value) if decimals == 0 else value,
        "unit": unit,
        "measured_at": (BASE + timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": {"id": f"SBX-D{owner + 1:06d}", "model": MODELS[owner % len(MODELS)]},
    }


def make_blobs(pages: int, page_size: int) -> list[bytes]:
    return [
        json.dumps([row(p * page_size + i) for i in range(page_size)]).encode()
        for p in range(pages)
    ]


# -- the contenders -------------------------------------------------------------------------


def build(pages: Iterable[list[Any]], **options: Any) -> pd.DataFrame:
    b = TableBuilder(**options)
    for page in pages:
        b.add(page)
        del page  # or the loop keeps this page alive while the next one is decoded
    return b.frame()


def decoded(blobs: list[bytes], loads: Callable[[bytes], Any]) -> Iterable[list[Any]]:
    """Each page decoded as it is needed; the caller keeps no reference once it moves on."""
    for blob in blobs:
        yield loads(blob)


def decode_only(blobs: list[bytes], loads: Callable[[bytes], Any]) -> None:
    for blob in blobs:
        loads(blob)


def naive(blobs: list[bytes], loads: Callable[[bytes], Any], flatten: bool) -> pd.DataFrame:
    rows: list[Any] = []
    for blob in blobs:
        rows += loads(blob)
    return pd.json_normalize(rows) if flatten else pd.DataFrame(rows)


def today(blobs: list[bytes], loads: Callable[[bytes], Any]) -> pd.DataFrame:
    return concat_frames([records_frame(loads(blob)) for blob in blobs])


PULLS: dict[str, Callable[[list[bytes], Callable[[bytes], Any]], Any]] = {
    "ours": lambda blobs, loads: build(decoded(blobs, loads)),
    "today": today,
    "naive DataFrame": lambda blobs, loads: naive(blobs, loads, False),
    "naive json_normalize": lambda blobs, loads: naive(blobs, loads, True),
}


# -- measuring --------------------------------------------------------------------------


Timing = dict[str, list[float]]


def run_once(run: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (CPU: this process's, which load elsewhere on the
    machine disturbs less than wall time)."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    run()
    return time.perf_counter() - t0, time.process_time() - c0


def abba(a: Callable[[], Any], b: Callable[[], Any], rounds: int) -> tuple[Timing, Timing]:
    """Runs of ``a`` and ``b`` side by side: each round runs a, b, b, a, so every run of
    ``a`` has a run of ``b`` next to it in time; two (a, b) pairs per round."""
    wall: Timing = {"a": [], "b": []}
    cpu: Timing = {"a": [], "b": []}
    for _ in range(rounds):
        for name, run in (("a", a), ("b", b), ("b", b), ("a", a)):
            w, c = run_once(run)
            wall[name].append(w)
            cpu[name].append(c)
    for t in (wall, cpu):  # pair each a with its neighbour b: (a1, b1), (a2, b2)
        t["b"] = [x for i in range(0, len(t["b"]), 2) for x in (t["b"][i], t["b"][i + 1])]
    return wall, cpu


def ratios(t: Timing) -> list[float]:
    return [x / y for x, y in zip(t["a"], t["b"], strict=True)]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


def ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1e3:.0f} ms"


def traced_peak(run: Callable[[], Any]) -> tuple[int, Any]:
    """tracemalloc's peak while ``run`` runs, over what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = run()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, result


def time_figures(
    blobs: list[bytes], pages: list[list[Any]], all_rows: list[Any], rounds: int
) -> dict[tuple[str, str], tuple[Timing, Timing]]:
    contenders: dict[str, Callable[[], Any]] = {
        "ours": lambda: build(pages),
        "ours, parse_dates=False": lambda: build(pages, parse_dates=False),
        "pd.DataFrame": lambda: pd.DataFrame(all_rows),
        "pd.json_normalize": lambda: pd.json_normalize(all_rows),
        "today": lambda: concat_frames([records_frame(p) for p in pages]),
        "json.loads": lambda: decode_only(blobs, json.loads),
        "json.loads + ours": lambda: build(decoded(blobs, json.loads)),
    }
    pairs = [
        ("ours", "pd.DataFrame"),
        ("ours", "pd.json_normalize"),
        ("ours", "today"),
        ("ours", "ours, parse_dates=False"),
        ("json.loads + ours", "json.loads"),
    ]
    if orjson is not None:
        contenders["orjson.loads"] = lambda: decode_only(blobs, orjson.loads)
        contenders["orjson.loads + ours"] = lambda: build(decoded(blobs, orjson.loads))
        pairs.append(("orjson.loads + ours", "orjson.loads"))
    timed = {}
    for a, b in pairs:
        slow = b in ("pd.json_normalize", "today")  # 2-4x slower: half the rounds
        timed[a, b] = abba(contenders[a], contenders[b], max(1, rounds // 2) if slow else rounds)
    # the same rows in pages of 50 (the sandbox's default page size): the cost per page
    size = max(1, len(all_rows) // 50)
    small = [all_rows[i : i + 50] for i in range(0, len(all_rows), 50)][:size]
    timed["ours, 50-row pages", "pd.DataFrame"] = abba(
        lambda: build(small), contenders["pd.DataFrame"], max(1, rounds // 2)
    )
    return timed


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def arrow_pool_peak() -> int | None:
    """The peak of pyarrow's default memory pool since the process began (None: no pyarrow).
    tracemalloc does not see these buffers: pandas' pyarrow-backed strings live there."""
    try:
        import pyarrow
    except ImportError:
        return None
    return int(pyarrow.default_memory_pool().max_memory())


def worker(contender: str, data: str, decoder: str, traced: bool) -> None:
    """In a fresh process: one pull, and its peak over what was in use before it: the
    resident set's (VmHWM, reset first), or with ``traced``, tracemalloc's plus Arrow's."""
    with open(data, "rb") as f:
        blobs = pickle.load(f)
    loads = orjson.loads if decoder == "orjson" and orjson else json.loads
    PULLS[contender](blobs[:2], loads)  # import what the pull imports lazily
    gc.collect()
    if traced:
        arrow_before = arrow_pool_peak() or 0
        peak, df = traced_peak(lambda: PULLS[contender](blobs, loads))
        arrow = arrow_pool_peak()
        if arrow is not None:  # the pool's peak during the pull, at most
            peak += max(0, arrow - arrow_before)
        reset = True
    else:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current resident set (Linux >= 4.0)
            reset = True
        except OSError:
            reset = False
        before = _status("VmRSS")
        df = PULLS[contender](blobs, loads)
        peak = _status("VmHWM") - before
        arrow = arrow_pool_peak()
    out = {
        "peak": peak,
        "reset": reset,
        "final": int(df.memory_usage(deep=True).sum()),
        "arrow_max": arrow,
    }
    print(json.dumps(out))


def fresh_peaks(
    contender: str, data: str, decoder: str, samples: int, traced: bool = False
) -> list[dict[str, Any]]:
    results = []
    for _ in range(samples):
        command = [sys.executable, __file__, "--worker", contender, "--data", data]
        command += ["--decoder", decoder] + (["--traced"] if traced else [])
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    packages = []
    for name in ("pandas", "numpy", "pyarrow", "orjson"):
        try:
            packages.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            packages.append(f"{name} absent")
    return [
        ("platform", platform.platform()),
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} ({usable} usable by this process)"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", ", ".join(packages)),
        ("pandas string storage", str(getattr(pd.Series(["x"]).dtype, "storage", "object"))),
        ("load average", ", ".join(f"{x:.2f}" for x in os.getloadavg())),
    ]


# -- the figures ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=5, help="fresh processes per peak")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--decoder", default="json", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.data, args.decoder, args.traced)
        return 0
    if args.quick:
        args.pages, args.page_size, args.rounds, args.samples = 4, 200, 1, 1

    blobs = make_blobs(args.pages, args.page_size)
    pages = [json.loads(b) for b in blobs]
    all_rows = [r for p in pages for r in p]
    n = len(all_rows)
    failures = []

    # correctness first: the frame the timings are about
    ours = build(pages)
    flat = pd.json_normalize(all_rows)
    if ours["measured_at"].dtype != "datetime64[ns, UTC]":
        failures.append(f"measured_at is {ours['measured_at'].dtype}")
    expected = flat.assign(
        measured_at=pd.to_datetime(flat["measured_at"], utc=True).dt.as_unit("ns")
    )[list(ours.columns)]
    try:
        pd.testing.assert_frame_equal(ours, expected, check_column_type=False)
    except AssertionError as exc:
        failures.append(f"the frame differs from pd.json_normalize: {exc}")
    if list(ours.columns) != list(concat_frames([records_frame(p) for p in pages]).columns):
        failures.append("the column order differs from concat_frames(records_frame(...))")
    final = int(ours.memory_usage(deep=True).sum())
    del ours, flat, expected

    # time: each figure a pair of contenders run side by side
    timed = time_figures(blobs, pages, all_rows, args.rounds)
    del pages, all_rows
    gc.collect()

    # memory: in this process, then in fresh processes
    traced = {}
    for name in PULLS:
        traced[name], df = traced_peak(lambda name=name: PULLS[name](blobs, json.loads))
        del df
    with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as f:
        pickle.dump(blobs, f)
        data = f.name
    try:
        rss = {
            "ours": fresh_peaks("ours", data, "json", args.samples),
            "ours, orjson": fresh_peaks("ours", data, "orjson", args.samples) if orjson else [],
            "ours, traced": fresh_peaks("ours", data, "json", args.samples, traced=True),
            "today": fresh_peaks("today", data, "json", max(1, args.samples // 2)),
            "naive DataFrame": fresh_peaks("naive DataFrame", data, "json", 1),
        }
    finally:
        os.unlink(data)

    rows: list[tuple[str, str, str, str, str, bool | None]] = []

    def figure(name: str, goal: str, a: str, b: str, limit: float | None) -> None:
        wall, cpu = timed[a, b]
        r = ratios(wall)
        met = None if limit is None else statistics.median(r) <= limit
        rows.append(
            (
                name,
                goal,
                f"{ms(wall['a'])} ({a})",
                f"{ms(wall['b'])} ({b})",
                f"{spread(r)}; CPU {spread(ratios(cpu))}",
                met,
            )
        )

    size = f"{args.pages} pages × {args.page_size:,} rows"
    figure(f"build, {size} decoded", "≤ 1.0×", "ours", "pd.DataFrame", 1.0)
    figure("build, like for like", "well under 1× (≤ 0.5×)", "ours", "pd.json_normalize", 0.5)
    figure(
        "build, same rows in 50-row pages", "(reported)", "ours, 50-row pages", "pd.DataFrame", None
    )
    figure("build, against today", "(reported)", "ours", "today", None)
    figure("build, cost of parse_dates", "(reported)", "ours", "ours, parse_dates=False", None)
    figure("pull from JSON bytes", "≤ 1.2×", "json.loads + ours", "json.loads", 1.2)
    if orjson is not None:
        figure(
            "pull from JSON bytes, orjson", "≤ 1.05×", "orjson.loads + ours", "orjson.loads", 1.05
        )
    for decoder in ("json", "orjson") if orjson else ("json",):
        wall, _ = timed[f"{decoder}.loads + ours", f"{decoder}.loads"]
        shares = [(w - d) / w for w, d in zip(wall["a"], wall["b"], strict=True)]
        rows.append(
            (
                f"building's share of decode + build ({decoder})",
                "(reported)",
                f"{statistics.median(shares):.0%} ({min(shares):.0%}–{max(shares):.0%})",
                f"{ms(wall['a'])} − {ms(wall['b'])}",
                "—",
                None,
            )
        )
    final_mb = final / MB
    arrow_used = getattr(pd.Series(["x"]).dtype, "storage", None) == "pyarrow"
    unseen = " (Arrow's pool not seen)" if arrow_used else ""
    rows.append(
        (
            f"peak memory, tracemalloc, this process{unseen}",
            "≤ 1.5×",
            f"{traced['ours'] / MB:.1f} MB",
            f"{final_mb:.1f} MB (final frame, deep)",
            f"{traced['ours'] / final:.2f}×",
            None if arrow_used else traced["ours"] <= 1.5 * final,
        )
    )
    labels = {
        "ours": "VmHWM, fresh process, json",
        "ours, orjson": "VmHWM, fresh process, orjson",
        "ours, traced": "tracemalloc + Arrow's pool, fresh process",
    }
    for name, label in labels.items():
        samples = rss[name]
        if not samples:
            continue
        peaks = [s["peak"] / s["final"] for s in samples]
        med = statistics.median(peaks)
        peak = statistics.median(s["peak"] for s in samples) / MB
        rows.append(
            (
                f"peak memory, {label}",
                "≤ 1.5×",
                f"{peak:.1f} MB ({len(samples)} samples)",
                f"{samples[0]['final'] / MB:.1f} MB (final frame, deep)",
                f"{med:.2f}× ({min(peaks):.2f}–{max(peaks):.2f})",
                med <= 1.5,
            )
        )
    for name in ("today", "naive DataFrame", "naive json_normalize"):
        rows.append(
            (
                f"peak memory, tracemalloc, {name}{unseen}",
                "(context)",
                f"{traced[name] / MB:.1f} MB",
                f"{final_mb:.1f} MB (our final frame)",
                f"{traced[name] / final:.2f}×",
                None,
            )
        )
    for name in ("today", "naive DataFrame"):
        samples = rss[name]
        peak = statistics.median(s["peak"] for s in samples)
        rows.append(
            (
                f"peak memory, VmHWM, {name}",
                "(context)",
                f"{peak / MB:.1f} MB",
                f"{final_mb:.1f} MB (our final frame)",
                f"{peak / final:.2f}×",
                None,
            )
        )

    header = ("figure", "goal", "measured", "baseline", "ratio", "met?")
    print(f"\nTableBuilder micro-benchmark: {n:,} rows, {args.rounds} rounds, medians\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, goal, measured, baseline, ratio, met in rows:
        mark = {True: "yes", False: "**no**", None: "—"}[met]
        print(f"| {name} | {goal} | {measured} | {baseline} | {ratio} | {mark} |")
    arrow = [s["arrow_max"] for s in rss["ours"] if s["arrow_max"] is not None]
    if arrow:
        print(
            "Arrow's pool (not seen by tracemalloc) peaked at "
            f"{statistics.median(arrow) / MB:.1f} MB in the fresh processes."
        )
    if not all(s["reset"] for v in rss.values() for s in v):
        print("VmHWM could not be reset: peaks are measured from process start.")
    print("\nMachine:")
    for key, value in machine():
        print(f"- {key}: {value}")
    if failures:
        print("\nFAILED:", *failures, sep="\n- ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
