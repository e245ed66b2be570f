"""The benchmarks of issue 14: big pulls at the floor, pages in flight bounded, measured
honestly. Run from the repository root::

    python -m bench                     # every figure, about four minutes on 2 cores
    python -m bench --quick             # tiny sizes: a smoke test, not a measurement
    python -m bench --only concurrent   # one figure (repeatable; ``cohort`` runs bench.cohort)
    python -m bench --write             # and rewrite bench/RESULTS.md

Every timed figure is a ratio of contenders run side by side in this process, interleaved
over several rounds (see :mod:`bench.measure`), wall time and this process's CPU time next
to each other. Pages come from an independent page server in its own process, every answer
rendered before the timing (:mod:`bench.pages`), reached as a registered RFC 6749 provider
with a token; VitalDB's files from the sandbox in its own process. Memory is sampled in
fresh processes (:mod:`bench.memory`). Goals that are missed are reported, not raised; the
exit status is 1 only when a correctness check fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.measure import HEADER, QUICK, Report, Row, Sizes, progress

RESULTS = Path(__file__).resolve().with_name("RESULTS.md")
FIGURES = ("pull", "memory", "concurrent", "overhead", "import", "load_case", "renewal")
__all__ = ["load_average", "machine", "main", "progress"]


def collect(sizes: Sizes, only: Iterable[str] = FIGURES) -> Report:
    from bench import calls, imports, memory, pulls, tracks
    from bench.pages import PageServer

    only = set(only)
    report = Report()
    server = PageServer() if only - {"import"} else None
    try:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("pull", lambda: pulls.big_pull(server, sizes, report)),
            ("memory", lambda: memory.memory(server, sizes, report)),
            ("concurrent", lambda: pulls.concurrent(server, sizes, report)),
            ("overhead", lambda: calls.overhead(server, sizes, report)),
            ("import", lambda: imports.imports(sizes, report)),
            ("load_case", lambda: tracks.load_case(server, sizes, report)),
            ("renewal", lambda: calls.renewal(server, sizes, report)),
        ]
        for name, step in steps:
            if name in only:
                progress(f"bench: {name}…")
                t0 = time.perf_counter()
                step()
                progress(f"bench: {name} done in {time.perf_counter() - t0:.1f} s")
    finally:
        if server is not None:
            server.close()
    report.rows.sort(key=lambda row: int(row.figure.split(".")[0]))
    return report


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[tuple[str, str]]:
    packages = ("vital-connect", "requests", "urllib3", "requests-oauthlib", "oauthlib",
                "pandas", "numpy", "pyarrow", "orjson", "vitaldb", "flask",
                "werkzeug")  # fmt: skip
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return [
        ("platform", platform.platform()),
        ("CPU", cpu_model()),
        ("cores", f"{os.cpu_count()} ({usable} usable by this process)"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", ", ".join(versions)),
    ]


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def render(report: Report, env: list[tuple[str, str]], title: str | None = None) -> str:
    parts = [title] if title else []
    parts += [table(report.rows), "", "Checks:", ""]
    parts += [f"- [{'x' if ok else ' '}] {text}" for text, ok in report.checks]
    parts += ["", "Machine:", ""]
    parts += [f"- {key}: {value}" for key, value in env]
    parts += ["", "How each figure is measured, and what it shows:", ""]
    parts += [f"- {note}" for note in report.notes]
    return "\n".join(parts) + "\n"


def results_md(report: Report, env: list[tuple[str, str]], started: datetime) -> str:
    missed = [row.figure for row in report.rows if row.met is False]
    summary = (
        "Every goal is met."
        if not missed
        else "Goals missed: " + "; ".join(missed) + ". The notes below say why."
    )
    head = (
        "# Benchmark results\n\n"
        f"Measured on {started:%Y-%m-%d %H:%M} UTC by `python -m bench --write` "
        "(regenerated by that command: edit `bench/`, not this file). Each ratio compares "
        "contenders run side by side in one process, interleaved over several rounds: the "
        "median of the per-round ratios, the lowest and highest round in brackets, for wall "
        "time and for the client's CPU time. The pages come from an independent page server "
        "in its own process, answers rendered before the timing.\n\n"
        f"{summary}\n"
    )
    return render(report, env, head)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks of vital_connect (issue 14)."
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks the bench runs, measures little"
    )
    parser.add_argument(
        "--only", action="append", choices=(*FIGURES, "cohort"), metavar="NAME",
        help=f"run only this figure (repeatable): {', '.join(FIGURES)}; or cohort "
        "(bench.cohort's own run)",
    )  # fmt: skip
    parser.add_argument(
        "--write", action="store_true", help=f"rewrite {RESULTS.name} with the results"
    )
    args = parser.parse_args(argv)
    if args.write and (args.quick or args.only):
        parser.error("--write records a full run: use it without --quick and --only")
    if args.only and "cohort" in args.only:
        if set(args.only) != {"cohort"}:
            parser.error("--only cohort runs bench.cohort alone: name no other figure")
        from bench import cohort

        return cohort.main(["--quick"] if args.quick else [])
    sizes = QUICK if args.quick else Sizes()
    started = datetime.now(UTC)
    env = machine()
    load = load_average()
    report = collect(sizes, args.only or FIGURES)
    env.append(("load average (1, 5, 15 min), start; end", f"{load}; {load_average()}"))
    print(render(report, env), end="")
    if args.write:
        RESULTS.write_text(results_md(report, env, started), encoding="utf-8")
        progress(f"bench: wrote {RESULTS}")
    return 0 if all(ok for _, ok in report.checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
