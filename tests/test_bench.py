"""The benchmark runner, at tiny sizes, so it cannot rot. No timing is asserted here: only
that every figure is measured and that the correctness facts the bench checks hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench_main(monkeypatch):
    # conftest moves the working directory to a temporary one: import bench from the repo.
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.run import main

    return main


def table_rows(output: str) -> list[list[str]]:
    lines = [line for line in output.splitlines() if line.startswith("| ")]
    header, *rows = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines)
    assert header == ["figure", "goal", "measured", "baseline", "ratio", "met?"]
    return rows


def test_quick_bench_measures_every_figure(bench_main, capsys):
    assert bench_main(["--quick"]) == 0  # 0: every correctness check passed
    out = capsys.readouterr().out

    rows = table_rows(out)
    figures = {row[0].split(".")[0] for row in rows}
    assert figures == {"1", "2", "3", "4", "5"}
    for figure, _goal, measured, _baseline, _ratio, met in rows:
        assert re.search(r"\d", measured), figure
        assert met in {"yes", "**no**", "—"}, figure

    checks = [line for line in out.splitlines() if line.startswith("- [")]
    assert checks and all(line.startswith("- [x]") for line in checks), checks
    text = "\n".join(checks)
    assert len(re.findall(r"fetched with \d+ page workers equals the sequential one", text)) == 2
    assert "expired token made 1 token request(s)" in text
    assert "`s.renewals` = 1; 0 call(s) failed" in text
    assert "imports neither ipywidgets nor flask" in text
    renewal = next(row for row in rows if row[0].startswith("5. Renewal: "))
    assert renewal[2] == "1 token request"

    assert "CPU: " in out and "packages: vital-connect" in out


def test_write_needs_a_full_run(bench_main, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_main(["--quick", "--write"])
    assert exc.value.code == 2
    assert "--write records a full run" in capsys.readouterr().err
