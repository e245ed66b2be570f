"""Progress bars (tqdm): shown for pulls of several pages, downloads, cases and cohorts,
where a person watches, never into a pipe or a CI log; ``True``/``False`` force it."""

from __future__ import annotations

import io
import re
import sys

import pytest

import vital_connect as vc
from vital_connect import _progress

OBSERVATIONS = "/api/monitoreds/1/observations/"


class Terminal(io.StringIO):
    """stderr as a terminal would be (what tqdm writes lands here)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def vitalera(sb):
    sb.page_size = 10  # 120 observations: 12 pages
    return vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))


def bar_lines(text: str) -> list[str]:
    return [ln for ln in re.split(r"[\r\n]", text) if "|" in ln]


def test_a_pull_of_many_pages_shows_a_bar_when_asked(vitalera, capsys):
    df = vitalera.get(OBSERVATIONS, progress=True)
    err = capsys.readouterr().err
    assert len(df) == 120
    last = bar_lines(err)[-1]
    assert last.startswith("vitalera pages: 100%") and "12/12" in last  # DRF: the count known


def test_one_page_shows_no_bar(vitalera, capsys):
    vitalera.get("/api/plans/", progress=True)  # 12 plans, 10 a page: 2 pages
    vitalera.get("/api/plans/1/", progress=True)  # one object
    vitalera.get(OBSERVATIONS, params={"page_size": 500}, progress=True)  # one page
    lines = bar_lines(capsys.readouterr().err)
    assert len([ln for ln in lines if "2/2" in ln]) >= 1 and not [ln for ln in lines if "1/1" in ln]


def test_by_default_a_terminal_gets_a_bar_and_a_pipe_or_ci_does_not(vitalera, monkeypatch, capsys):
    vitalera.get(OBSERVATIONS)  # pytest's stderr is not a terminal: nothing
    assert capsys.readouterr().err == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("CI", raising=False)
    vitalera.get(OBSERVATIONS)
    assert "vitalera pages: 100%" in terminal.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    monkeypatch.setenv("CI", "true")  # a CI log is not a person
    vitalera.get(OBSERVATIONS)
    vitalera.get(OBSERVATIONS, progress=False)
    assert quiet.getvalue() == ""
    assert _progress.wanted(True) and not _progress.wanted(False)


def test_offset_pages_count_up_without_a_total(sb, capsys):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    s.get("/pacientes/", progress=True)  # 250 rows, 100 a page, no count
    lines = [ln for ln in re.split(r"[\r\n]", capsys.readouterr().err) if ln.strip()]
    assert lines[-1].startswith("vidaplus pages: 3page [")  # tqdm's form with no total


def test_a_download_shows_its_bytes(sb, tmp_path, capsys):
    s = vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb"))
    name = s.get_json("/api/filelist")[0]["filename"]
    folder = tmp_path / "dl"
    folder.mkdir()
    path = s.download("/api/download", params={"filename": name}, to=folder, progress=True)
    last = bar_lines(capsys.readouterr().err)[-1]
    kilo = f"{path.stat().st_size / 1000:.0f}k"
    assert last.startswith(f"{name}: 100%") and f"{kilo}/{kilo}" in last, last


def test_a_case_counts_its_tracks_and_a_cohort_its_cases(sb, capsys):
    s = vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"), cache=False)
    tracks = ["Solar8000/HR", "SNUADC/ECG_II", "SNUADC/PLETH"]
    s.load_case(1, tracks, progress=True)
    assert "case 1: 100%" in capsys.readouterr().err
    ids = s.find_cases(tracks)[:3]
    s.load_cases(ids, tracks, interval=1, progress=True)
    last = bar_lines(capsys.readouterr().err)[-1]
    assert last.startswith("cases: 100%") and "3/3" in last
    s.load_case(1, tracks, progress=False)
    assert capsys.readouterr().err == ""
