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
    assert header == ["figure", "goal", "ours", "baseline", "wall", "CPU", "met?"]
    return rows


def test_quick_bench_measures_every_figure(bench_main, capsys):
    assert bench_main(["--quick"]) == 0  # 0: every correctness check passed
    out = capsys.readouterr().out

    rows = table_rows(out)
    figures = {row[0].split(".")[0] for row in rows}
    assert figures == {str(n) for n in range(1, 11)}
    for figure, _goal, ours, _baseline, wall, cpu, met in rows:
        assert re.search(r"\d", ours), figure
        assert met in {"yes", "**no**", "—"}, figure
        if " CPU" in ours:  # a timed figure: both ratios, with their range
            assert re.search(r"\d\.\d+× \(", wall) and re.search(r"\d\.\d+× \(", cpu), figure

    checks = [line for line in out.splitlines() if line.startswith("- [")]
    assert checks and all(line.startswith("- [x]") for line in checks), checks
    text = "\n".join(checks)
    assert "our frame (default settings) equals `pd.json_normalize`" in text
    assert len(re.findall(r"fetched with \d+ page workers \(automatic\) equals", text)) == 2
    assert "strings str (pyarrow)" in text and "strings str (python)" in text
    assert "expired token made 1 token request(s)" in text
    assert "`s.renewals` = 1; 0 call(s) failed" in text
    assert "imports neither ipywidgets nor flask" in text
    assert "as the official `vitaldb.dataset.load_trks`" in text
    renewal = next(row for row in rows if row[0].startswith("10. Renewal"))
    assert renewal[2].startswith("1 token request,")
    memory = [row for row in rows if row[0].startswith("3. Peak memory")]
    assert len(memory) == 3 and all(" MB" in row[2] for row in memory)

    assert "CPU: " in out and "packages: vital-connect" in out


def test_write_needs_a_full_run(bench_main, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_main(["--quick", "--write"])
    assert exc.value.code == 2
    assert "--write records a full run" in capsys.readouterr().err
