"""The cohort benchmark at its smoke size, so it cannot rot. No timing is asserted: only
that each figure is measured, that every frame equals the sequential loop's, and that the
second runs downloaded no body again."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("threads, first run", "dask, first run", "threads, second run", "dask, second run")


@pytest.fixture
def cohort_main(monkeypatch):
    # conftest moves the working directory to a temporary one: import bench from the repo.
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.cohort import main

    return main


def test_quick_cohort_bench_measures_every_figure(cohort_main, capsys):
    before = os.environ["VITAL_CONNECT_CACHE_DIR"]
    assert cohort_main(["--quick"]) == 0  # 0: every correctness check passed
    out = capsys.readouterr().out
    assert os.environ["VITAL_CONNECT_CACHE_DIR"] == before  # the bench put it back

    lines = [line for line in out.splitlines() if line.startswith("| ")]
    header, *rows = ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    assert header == ["figure", "measured", "baseline (sequential loop)", "ratio"]
    assert [row[0] for row in rows] == [f"`load_cases`, {name}" for name in FIGURES]
    for figure, measured, baseline, ratio in rows:
        assert re.match(r"\d+\.\d{3} s; 9 requests, [09] bodies$", measured), figure
        assert re.match(r"\d+\.\d{3} s; 9 requests, 9 bodies$", baseline), figure
        assert re.match(r"\d+\.\d× (faster|slower)", ratio), figure
    assert [row[1].endswith(", 0 bodies") for row in rows] == [False, False, True, True]

    checks = [line for line in out.splitlines() if line.startswith("- [")]
    assert len(checks) == 9 and all(line.startswith("- [x]") for line in checks), checks
    text = "\n".join(checks)
    for name in FIGURES:
        assert f"{name}: the frame equals the sequential loop's" in text
    assert text.count("each answered 304") == 2 and text.count("downloaded once") == 2
    assert "dask: " in out and "CPU: " in out


def test_write_needs_a_full_run(cohort_main, capsys):
    with pytest.raises(SystemExit) as exc:
        cohort_main(["--quick", "--write"])
    assert exc.value.code == 2
    assert "--write records a full run" in capsys.readouterr().err
