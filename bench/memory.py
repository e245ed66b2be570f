"""Figure 3: a big pull's peak memory, as a ratio to the frame it returns.

Each sample is a fresh process (``python -m bench.memory ...``): it imports everything and
makes a small pull first (so imports and open connections are not counted), resets the
peak resident set (``/proc/self/clear_refs``), notes the resident set, pulls, and reads
the peak (``VmHWM`` in ``/proc/self/status``; ``ru_maxrss`` would not do: it cannot be
reset, and survives ``exec``). The peak over the resident set before the pull is divided
by the final frame's ``memory_usage(deep=True).sum()``. Without pyarrow: the same process
with ``pyarrow`` made unimportable before pandas is imported, so pandas keeps strings in
Python objects, as in an environment without pyarrow.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.measure import MB, Report, Row, Sizes, median

ROOT = Path(__file__).resolve().parents[1]


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(args: dict[str, Any]) -> dict[str, Any]:
    """One sample, in this (fresh) process."""
    if not args["arrow"]:
        sys.modules["pyarrow"] = None  # type: ignore[assignment]  # import pyarrow fails
    import pandas as pd

    from bench.pages import PATH, connect
    from bench.pulls import naive_rows, plain_session

    s = connect(args["url"], args["secret"])
    raw = plain_session(s.token.access_token)
    small = {"page_size": args["small"]}
    params = {"page_size": args["page_size"]}
    url = f"{args['url']}{PATH}?page_size={args['page_size']}"
    if args["contender"] == "naive":

        def pull() -> Any:
            return pd.DataFrame(naive_rows(raw, url))

        pd.DataFrame(naive_rows(raw, f"{args['url']}{PATH}?page_size={args['small']}"))
    else:

        def pull() -> Any:
            return s.get(PATH, params=params)

        s.get(PATH, params=small)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak resident set reset to the current one (Linux >= 4.0)
    before = _status("VmRSS")
    df = pull()
    peak = _status("VmHWM") - before
    strings = str(df["type"].dtype)
    storage = getattr(df["type"].dtype, "storage", "object")
    return {
        "peak": peak,
        "frame": int(df.memory_usage(deep=True).sum()),
        "rows": len(df),
        "workers": df.attrs.get("workers"),
        "strings": f"{strings} ({storage})",
        "pyarrow": "pyarrow" in sys.modules and sys.modules["pyarrow"] is not None,
    }


def sample(args: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.memory", json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"a memory sample failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory(server: Any, sizes: Sizes, report: Report) -> None:
    server.render(sizes.pages, sizes.page_size)
    server.render(sizes.pages, sizes.small_page_size)
    base = {
        "url": server.url,
        "secret": server.secret,
        "page_size": sizes.page_size,
        "small": sizes.small_page_size,
    }
    kinds = [("ours", True), ("naive", True), ("ours", False), ("naive", False)]
    got: dict[tuple[str, bool], list[dict[str, Any]]] = {k: [] for k in kinds}
    for r in range(sizes.memory_samples):
        k = r % len(kinds)
        for contender, arrow in kinds[k:] + kinds[:k]:
            got[(contender, arrow)].append(sample({**base, "contender": contender, "arrow": arrow}))
    # and with pages in flight: 20 ms latency, several workers
    server.set(latency=sizes.latency)
    try:
        busy = [
            sample({**base, "contender": "ours", "arrow": True})
            for _ in range(max(1, sizes.memory_samples // 2))
        ]
    finally:
        server.set(latency=0.0)
    rows = sizes.pages * sizes.page_size
    n = sizes.memory_samples
    for arrow in (True, False):
        ours, naive = got[("ours", arrow)], got[("naive", arrow)]
        frame = median(x["frame"] for x in ours)
        ratios = [x["peak"] / x["frame"] for x in ours]
        naive_peak = median(x["peak"] for x in naive)
        strings = ours[0]["strings"]
        report.check(
            f"3. memory ({'with' if arrow else 'without'} pyarrow): every sample pulled "
            f"{rows:,} rows, strings {strings}",
            all(x["rows"] == rows for x in ours + naive) and ours[0]["pyarrow"] == arrow,
        )
        report.rows.append(
            Row(
                f"3. Peak memory / final frame, {'with' if arrow else 'without'} pyarrow "
                f"({n} fresh processes)",
                "≤ 1.5×",
                f"peak +{median(x['peak'] for x in ours) / MB:.1f} MB, frame "
                f"{frame / MB:.1f} MB: {median(ratios):.2f}× ({min(ratios):.2f}–"
                f"{max(ratios):.2f})",
                f"naive loop + `pd.DataFrame`: peak +{naive_peak / MB:.1f} MB, "
                f"{naive_peak / frame:.2f}× our frame",
                "—",
                "—",
                median(ratios) <= 1.5,
            )
        )
    ratios = [x["peak"] / x["frame"] for x in busy]
    report.rows.append(
        Row(
            f"3. Peak memory / final frame, {sizes.latency * 1e3:.0f} ms latency "
            f"({busy[0]['workers']} workers, pyarrow)",
            "(reported)",
            f"peak +{median(x['peak'] for x in busy) / MB:.1f} MB: {median(ratios):.2f}× "
            f"({min(ratios):.2f}–{max(ratios):.2f})",
            "—",
            "—",
            "—",
            None,
        )
    )
    report.notes.append(
        "3. Memory: "
        + (__doc__ or "").split("\n\n", 1)[1].replace("\n", " ").strip()
        + f" The naive loop's peak is given as a multiple of our frame of the same rows "
        f"(its own frame keeps `patient` and `device` as dict cells). The last row: the "
        f"same pull with {sizes.latency * 1e3:.0f} ms latency, where pages are fetched "
        f"ahead (at most twice the workers in flight)."
    )


if __name__ == "__main__":
    print(json.dumps(child(json.loads(sys.argv[1]))))
