"""What every figure shares: the sizes, the report's rows, and contenders run side by side.

Every timed figure is a ratio of two contenders run in one process, interleaved (run by
run with the order rotating, or call by call), over several rounds: the median of the
per-round ratios, with the lowest and highest round in brackets, for wall time and for
this process's CPU time (all its threads), which load elsewhere on the machine disturbs
less than wall time.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    pages: int = 100
    page_size: int = 1000
    small_page_size: int = 50
    pull_rounds: int = 7
    latency: float = 0.02
    concurrent_rounds: int = 5
    memory_samples: int = 5
    overhead_calls: int = 2000  # per contender
    overhead_rounds: int = 20
    import_runs: int = 7
    track_seconds: int = 3600  # 1,800 rows per numeric track
    case_rounds: int = 7
    renewal_threads: int = 32
    renewal_rounds: int = 3
    warm: bool = True


QUICK = Sizes(
    pages=5,
    page_size=100,
    small_page_size=10,
    pull_rounds=1,
    concurrent_rounds=1,
    memory_samples=1,
    overhead_calls=40,
    overhead_rounds=4,
    import_runs=1,
    track_seconds=120,
    case_rounds=1,
    renewal_rounds=1,
    warm=False,
)


Ratio = tuple[float, float, float]  # median, lowest, highest


@dataclass
class Row:
    figure: str
    goal: str
    ours: str
    baseline: str
    wall: str
    cpu: str
    met: bool | None  # None: reported, no goal

    def cells(self) -> list[str]:
        met = {True: "yes", False: "**no**", None: "—"}[self.met]
        return [self.figure, self.goal, self.ours, self.baseline, self.wall, self.cpu, met]


HEADER = ["figure", "goal", "ours", "baseline", "wall", "CPU", "met?"]


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, text: str, ok: bool) -> None:
        self.checks.append((text, bool(ok)))


@dataclass
class Runs:
    """Wall and CPU seconds of each run of each contender, round by round."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.wall.setdefault(name, []).append(wall)
        self.cpu.setdefault(name, []).append(cpu)

    def t(self, name: str) -> float:
        return median(self.wall[name])

    def c(self, name: str) -> float:
        return median(self.cpu[name])

    def ratio(self, a: str, b: str, cpu: bool = False) -> Ratio:
        """a / b over the rounds (each round's a and b ran as neighbours in time)."""
        times = self.cpu if cpu else self.wall
        ratios = [x / y for x, y in zip(times[a], times[b], strict=True)]
        return median(ratios), min(ratios), max(ratios)

    def diff(self, a: str, b: str, cpu: bool = False) -> float:
        """Median over rounds of a − b, in seconds."""
        times = self.cpu if cpu else self.wall
        return median(x - y for x, y in zip(times[a], times[b], strict=True))

    def pair(self, ours: str, base: str) -> tuple[str, str, str, str]:
        """The four cells of a time row: ours, baseline, wall ratio, CPU ratio."""
        return (
            f"{seconds(self.t(ours))} wall, {seconds(self.c(ours))} CPU",
            f"{seconds(self.t(base))} wall, {seconds(self.c(base))} CPU",
            spread(self.ratio(ours, base)),
            spread(self.ratio(ours, base, cpu=True)),
        )


def rotate(runs: dict[str, Callable[[], Any]], rounds: int, into: Runs | None = None) -> Runs:
    """Each contender once per round, round r starting with contender r, so that each has
    every other one as a neighbour in time; a garbage collection before each run."""
    out = into if into is not None else Runs()
    names = list(runs)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            runs[name]()
            out.add(name, time.perf_counter() - t0, time.process_time() - c0)
    return out


def alternate(ours: Callable[[], Any], plain: Callable[[], Any], rounds: int, calls: int) -> Runs:
    """Per round, the wall and CPU seconds of ``calls`` calls of each, the two alternating
    call by call (which one goes first alternates too)."""
    out = Runs()
    clock, cpu_clock = time.perf_counter, time.process_time
    for _ in range(rounds):
        gc.collect()
        wall = {"ours": 0.0, "plain": 0.0}
        used = {"ours": 0.0, "plain": 0.0}
        for i in range(calls):
            pair = (("ours", ours), ("plain", plain))
            for name, call in pair if i % 2 == 0 else pair[::-1]:
                c0, t0 = cpu_clock(), clock()
                call()
                wall[name] += clock() - t0
                used[name] += cpu_clock() - c0
        for name in wall:
            out.add(name, wall[name], used[name])
    return out


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def spread(r: Ratio, digits: int = 2) -> str:
    med, lo, hi = r
    return f"{med:.{digits}f}× ({lo:.{digits}f}–{hi:.{digits}f})"


def seconds(t: float) -> str:
    return f"{t:.3f} s" if t < 10 else f"{t:.1f} s"


def ms(t: float) -> str:
    return f"{t * 1e3:.2f} ms" if t < 0.1 else f"{t * 1e3:.0f} ms"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
