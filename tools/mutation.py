"""Mutation testing of the modules that guard security and data, with mutmut.

Run from the repository root (the ``[test]`` extra has what it needs, plus
``pip install mutmut==3.8.1``)::

    python -m tools.mutation            # every guarded module: about 15 minutes on two cores
    python -m tools.mutation --report   # only rewrite docs/mutation-testing.md from the last run

Why mutmut: it is maintained, it is pytest-native, and since version 3 it runs each mutant
against only the tests that reach the mutated function (it records which test calls which
function), in forked processes, so a run fits a 2-core machine; cosmic-ray needs a
session database and a separate worker setup for the same. The settings (which modules,
which tests, which lines are not mutated) are ``[tool.mutmut]`` in pyproject.toml.

Surviving mutants are either killed by a new test or listed as equivalent, with the reason,
in ``tools/mutation-equivalent/<module>.txt`` (``<mutant name>: <why no test can tell>``); the
report counts both, and names any survivor that is neither.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "mutation-testing.md"
EQUIVALENT = ROOT / "tools" / "mutation-equivalent"  # one <module>.txt per module
LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>[\w ]+)$")


def results() -> dict[str, str]:
    """Every mutant of the last run and its status (killed, survived, timeout...)."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = {}
    for line in done.stdout.splitlines():
        m = LINE.match(line)
        if m:
            found[m["name"]] = m["status"].strip()
    return found


def equivalent() -> dict[str, str]:
    reasons = {}
    lines = [ln for f in sorted(EQUIVALENT.glob("*.txt")) for ln in f.read_text().splitlines()]
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, why = line.partition(":")
            reasons[name.strip()] = why.strip()
    return reasons


def module_of(mutant: str) -> str:
    # vital_connect._transport.x_parse__mutmut_1 -> vital_connect._transport
    return mutant.rsplit(".", 1)[0]


def show(mutant: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    diff = [
        ln
        for ln in done.stdout.splitlines()
        if ln.startswith(("+", "-")) and ln[:3] not in ("+++", "---")
    ]
    return " / ".join(d.strip() for d in diff)[:300]


def report(seconds: float | None) -> str:
    status = results()
    reasons = equivalent()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    unexplained = []
    for name, state in status.items():
        module = module_of(name)
        if state == "survived" and name in reasons:
            state = "equivalent"
        per[module][state] += 1
        if state == "survived":
            unexplained.append(name)
    rows = []
    total: Counter[str] = Counter()
    for module in sorted(per):
        c = per[module]
        total.update(c)
        rows.append(_row(module, c))
    rows.append(_row("**all guarded modules**", total))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    took = f", {seconds / 60:.0f} min on this machine" if seconds else ""
    lines = [
        "# Mutation testing",
        "",
        f"Last run {when}{took}: `python -m tools.mutation` (regenerates this file).",
        "",
        "A mutant is one small change to the code (an operator, a constant, a condition);",
        "the tests *kill* it when one fails. The score is killed / (all - equivalent).",
        "Equivalent mutants change nothing a test could tell (each is listed with its reason",
        "in `tools/mutation-equivalent/`). Lines that are only a message's wording are",
        "not mutated (`do_not_mutate_patterns` in pyproject.toml).",
        "",
        "| module | mutants | killed | survived | equivalent | timeout | score |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    if unexplained:
        lines += ["Survivors neither killed nor explained (a test is missing):", ""]
        lines += [f"- `{name}`: `{show(name)}`" for name in sorted(unexplained)]
    else:
        lines.append("Every surviving mutant is explained as equivalent.")
    return "\n".join(lines) + "\n"


def _row(module: str, c: Counter[str]) -> str:
    mutants = sum(c.values())
    killed = c["killed"]
    live = mutants - c["equivalent"] - c["skipped"]
    score = f"{100 * killed / live:.0f} %" if live else "—"
    return (
        f"| {module} | {mutants} | {killed} | {c['survived']} | {c['equivalent']} | "
        f"{c['timeout']} | {score} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation")
    parser.add_argument("--report", action="store_true", help="only rewrite the report")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args(argv)
    seconds = None
    if not args.report:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
            cwd=ROOT, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
    text = report(seconds)
    REPORT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
