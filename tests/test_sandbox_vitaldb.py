"""The sandbox's VitalDB open dataset (Web_API_OpenDataset.md), over loopback: plain requests
for the wire format, and the official ``vitaldb`` client reading the files."""

from __future__ import annotations

import gzip
import io
import math
import struct

import numpy as np
import pandas as pd
import pytest
import requests
from werkzeug.http import http_date, parse_date

T = 5
BOM = b"\xef\xbb\xbf"
CASE_COLUMNS = [
    "caseid", "subjectid", "casestart", "caseend", "anestart", "aneend", "opstart", "opend",
    "age", "sex", "height", "weight", "bmi", "asa", "emop", "department", "optype", "dx",
    "opname", "approach", "position", "ane_type",
]  # fmt: skip


def url(sb, path: str) -> str:
    return sb.base_url("vitaldb") + path


def get(sb, path: str, **headers) -> requests.Response:
    return requests.get(url(sb, path), headers=headers, timeout=T)


def raw(sb, path: str) -> tuple[requests.Response, bytes]:
    """The answer and its body exactly as sent, content coding not undone."""
    r = requests.get(url(sb, path), stream=True, timeout=T)
    return r, r.raw.read(decode_content=False)


def frame(r: requests.Response, **kw) -> pd.DataFrame:
    assert r.status_code == 200, r.text
    return pd.read_csv(io.BytesIO(r.content), **kw)


def trks(sb) -> pd.DataFrame:
    return frame(get(sb, "/trks"))


def tid_of(sb, caseid: int, tname: str) -> str:
    t = trks(sb)
    return t[(t["caseid"] == caseid) & (t["tname"] == tname)]["tid"].item()


# the wire format


@pytest.mark.parametrize("path", ["/cases", "/trks", "/labs", "track"])
def test_every_file_is_csv_sent_with_gzip_content_coding(sb, path):
    if path == "track":
        path = "/" + tid_of(sb, 1, "Solar8000/HR")
    r, body = raw(sb, path)
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"  # HTTP content coding: pd.read_csv(url)
    assert r.headers["Content-Type"] == "application/octet-stream"  # not text/csv
    assert body[:3] == b"\x1f\x8b\x08"  # on the wire: the gzip stream itself
    assert int(r.headers["Content-Length"]) == len(body)
    text = gzip.decompress(body)
    assert text.count(b"\n") >= 2 and b"," in text.split(b"\n", 1)[0]  # a header row, rows
    assert requests.get(url(sb, path), timeout=T).content == text  # requests undoes it


def test_cases_start_with_a_byte_order_mark_and_the_others_do_not(sb):
    cases = get(sb, "/cases").content
    assert cases.startswith(BOM + b"caseid,subjectid,")
    assert not get(sb, "/trks").content.startswith(BOM)
    assert not get(sb, "/labs").content.startswith(BOM)
    df = pd.read_csv(io.BytesIO(cases), encoding="utf-8-sig")
    assert list(df.columns) == CASE_COLUMNS
    assert df["caseid"].tolist() == list(range(1, 41))
    assert (df["casestart"] == 0).all() and (df["opstart"] < df["opend"]).all()


def test_trks_and_labs_columns(sb):
    t = trks(sb)
    assert list(t.columns) == ["caseid", "tname", "tid"]
    assert t["tid"].str.fullmatch(r"[0-9a-f]{40}").all() and t["tid"].is_unique
    labs = frame(get(sb, "/labs"))
    assert list(labs.columns) == ["caseid", "dt", "name", "result"]
    assert labs["caseid"].between(1, 40).all() and len(labs) == 400


def test_not_every_case_has_every_track(sb):
    t = trks(sb)
    by_case = t.groupby("caseid")["tname"].apply(set)
    assert all("Solar8000/HR" in names for names in by_case)
    with_art = {c for c, names in by_case.items() if {"SNUADC/ART", "Solar8000/ART_MBP"} <= names}
    assert 1 in with_art and 2 not in with_art
    assert 0 < len(with_art) < len(by_case)
    # an arterial line gives both the wave and the numeric, never one alone
    assert all(("SNUADC/ART" in n) == ("Solar8000/ART_MBP" in n) for n in by_case)


def test_a_numeric_track_omits_missing_rows_so_time_steps_vary(sb):
    r = get(sb, "/" + tid_of(sb, 1, "Solar8000/HR"))
    df = frame(r)
    assert list(df.columns) == ["Time", "Solar8000/HR"]
    assert df.notna().all().all() and b"nan" not in r.content  # omitted, not printed
    steps = np.diff(df["Time"].to_numpy())
    assert (steps > 0).all()
    assert np.allclose(steps / 2, np.round(steps / 2))  # on the monitor's 2 s grid ...
    assert steps.max() >= 20 and (steps == 2).mean() > 0.5  # ... with gaps
    assert len(df) < 1200 / 2
    assert df["Solar8000/HR"].between(30, 200).all()


@pytest.mark.parametrize(("tname", "srate"), [("SNUADC/ECG_II", 500), ("BIS/EEG1_WAV", 128)])
def test_a_wave_track_time_column_holds_only_start_interval_and_end(sb, tname, srate):
    r = get(sb, "/" + tid_of(sb, 1, tname))
    lines = r.content.decode().splitlines()
    assert lines[0] == f"Time,{tname}"
    rows = [line.split(",") for line in lines[1:]]
    n = 10 * srate  # wave_seconds
    assert len(rows) == n
    times = {i: row[0] for i, row in enumerate(rows) if row[0] != ""}
    assert set(times) == {0, 1, n - 1}  # start, interval and end, in their own rows
    assert float(times[0]) == 0
    assert float(times[1]) == 1 / srate
    assert math.isclose(float(times[n - 1]), (n - 1) / srate)
    missing = [i for i, row in enumerate(rows) if row[1] == "-nan(ind)"]
    assert len(missing) >= int(0.2 * srate)  # a dropout, kept as rows
    df = frame(r, na_values="-nan(ind)")
    assert df[tname].isna().sum() == len(missing) and df[tname].dtype == float


def test_dataset_sizes_follow_rows(sb):
    sb.rows.update({"cases": 3, "track_seconds": 100, "wave_seconds": 2})
    assert len(frame(get(sb, "/cases"), encoding="utf-8-sig")) == 3
    assert set(trks(sb)["caseid"]) == {1, 2, 3}
    assert len(frame(get(sb, "/" + tid_of(sb, 3, "SNUADC/ECG_II")))) == 1000
    assert len(frame(get(sb, "/" + tid_of(sb, 3, "Solar8000/HR")))) < 50
    assert get(sb, "/" + tid_of(sb, 3, "BIS/BIS")).status_code == 200


def test_unknown_track_or_case_file_is_404(sb):
    for path in ("/" + "0" * 40, "/41.vital", "/1.0.1/0.vital", "/nothing"):
        r = get(sb, path)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found"


# case .vital files


@pytest.mark.parametrize("path", ["/1.0.1/7.vital", "/0007.vital"])
def test_case_vital_files_are_the_gzip_file_itself(sb, path):
    r, body = raw(sb, path)
    assert r.status_code == 200
    assert "Content-Encoding" not in r.headers
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert body[:4] == b"\x1f\x8b\x08\x00"  # Vital_File_Format.md
    inner = gzip.decompress(body)
    assert inner[:4] == b"VITA"
    version, headerlen = struct.unpack_from("<LH", inner, 4)
    assert (version, headerlen) == (3, 26)
    assert "ETag" in r.headers


# caching


def test_dataset_answers_carry_etag_and_last_modified_and_honour_conditions(sb):
    first = get(sb, "/cases")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"')
    assert parse_date(modified) is not None

    def status(**headers):
        r = get(sb, "/cases", **headers)
        if r.status_code == 304:
            assert r.content == b""
            assert r.headers["ETag"] == etag and r.headers["Last-Modified"] == modified
        return r.status_code

    assert status(**{"If-None-Match": etag}) == 304
    assert status(**{"If-None-Match": f'"other", W/{etag}'}) == 304  # weak comparison
    assert status(**{"If-None-Match": "*"}) == 304
    assert status(**{"If-None-Match": '"other"'}) == 200
    assert status(**{"If-Modified-Since": modified}) == 304
    earlier = http_date(parse_date(modified).timestamp() - 1)
    assert status(**{"If-Modified-Since": earlier}) == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    assert status(**{"If-None-Match": '"other"', "If-Modified-Since": modified}) == 200
    assert status(**{"If-Modified-Since": "not a date"}) == 200
    sent = [q for q in sb.requests if q.path == "/vitaldb/cases"]
    assert sent[1].headers["If-None-Match"] == etag
    assert sent[5].headers["If-Modified-Since"] == modified
    assert [q.status for q in sent] == [200, 304, 304, 304, 200, 304, 200, 200, 200]


def test_each_file_has_its_own_etag_and_the_track_files_too(sb):
    paths = ["/cases", "/trks", "/labs", "/" + tid_of(sb, 1, "SNUADC/ART"), "/1.0.1/1.vital"]
    etags = {p: get(sb, p).headers["ETag"] for p in paths}
    assert len(set(etags.values())) == len(paths)
    for p, etag in etags.items():
        assert get(sb, p, **{"If-None-Match": etag}).status_code == 304, p


def test_bump_dataset_changes_content_etag_and_last_modified(sb):
    hr = "/" + tid_of(sb, 1, "Solar8000/HR")
    before = {p: get(sb, p) for p in ("/cases", "/labs", hr)}
    sb.bump_dataset("/labs")
    r = get(sb, "/labs", **{"If-None-Match": before["/labs"].headers["ETag"]})
    assert r.status_code == 200
    assert r.headers["ETag"] != before["/labs"].headers["ETag"]
    assert parse_date(r.headers["Last-Modified"]) > parse_date(
        before["/labs"].headers["Last-Modified"]
    )
    assert r.content != before["/labs"].content
    assert (
        get(sb, "/cases", **{"If-None-Match": before["/cases"].headers["ETag"]}).status_code == 304
    )

    sb.bump_dataset()  # every file
    for p, old in before.items():
        r = get(sb, p, **{"If-None-Match": old.headers["ETag"]})
        assert r.status_code == 200, p
        assert r.content != old.content, p

    sb.reset()  # back to the first version: the first ETags are good again
    for p, old in before.items():
        assert get(sb, p, **{"If-None-Match": old.headers["ETag"]}).status_code == 304, p


def test_new_rows_are_a_rewritten_file(sb):
    first = get(sb, "/cases")
    sb.rows["cases"] = 5
    r = get(sb, "/cases", **{"If-None-Match": first.headers["ETag"]})
    assert r.status_code == 200 and len(frame(r, encoding="utf-8-sig")) == 5
    assert parse_date(r.headers["Last-Modified"]) > parse_date(first.headers["Last-Modified"])


# the official client


@pytest.fixture
def official(sb, monkeypatch):
    """The official vitaldb package, pointed at the sandbox (its module-level api_url), with
    its module-level caches emptied."""
    vitaldb = pytest.importorskip("vitaldb")
    from vitaldb import dataset

    monkeypatch.setattr(dataset, "api_url", sb.base_url("vitaldb"))
    for cache in ("dftrks", "dfci", "dflabs"):
        monkeypatch.setattr(dataset, cache, None)
    return vitaldb


def csv_values(sb, tid: str) -> pd.DataFrame:
    return frame(get(sb, "/" + tid), na_values="-nan(ind)")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # its per-track CSV functions warn
def test_the_official_client_reads_cases_labs_and_finds_cases_by_tracks(sb, official):
    clinical = official.load_clinical_data([1, 2, 3])
    assert clinical["caseid"].tolist() == [1, 2, 3]  # the BOM did not spoil the header
    assert list(clinical.columns) == CASE_COLUMNS
    labs = official.load_lab_data([1])
    assert set(labs["caseid"]) == {1} and set(labs.columns) == {"caseid", "dt", "name", "result"}
    t = trks(sb)
    has = t.groupby("caseid")["tname"].apply(set)
    expected = {c for c, names in has.items() if {"SNUADC/ART", "Solar8000/HR"} <= names}
    assert sorted(official.find_cases(["SNUADC/ART", "Solar8000/HR"])) == sorted(expected)
    assert set(official.find_cases(["Solar8000/HR"])) == set(has.index)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("tname", "srate"), [("SNUADC/ART", 500), ("BIS/EEG1_WAV", 128)])
def test_the_official_load_trk_rebuilds_wave_times(sb, official, tname, srate):
    from vitaldb import dataset

    tid = tid_of(sb, 1, tname)
    values = csv_values(sb, tid)[tname].to_numpy()
    wave = dataset.load_trk(tid, 1 / srate)
    assert len(wave) == len(values) == 10 * srate  # one sample per row: times rebuilt
    assert np.isnan(wave).sum() == np.isnan(values).sum() > 0  # -nan(ind) became NaN
    assert np.allclose(wave, values, equal_nan=True, atol=1e-3)
    per_second = dataset.load_trk(tid, 1)  # resampled to the interval asked for
    assert len(per_second) == 10


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_official_load_trk_places_numeric_samples_at_their_times(sb, official):
    from vitaldb import dataset

    tid = tid_of(sb, 1, "Solar8000/HR")
    df = csv_values(sb, tid)
    hr = dataset.load_trk(tid, 2)
    rows = (df["Time"] // 2).astype(int).to_numpy()
    assert len(hr) == rows.max() + 1
    assert np.array_equal(hr[rows], df["Solar8000/HR"].to_numpy())
    assert np.isnan(np.delete(hr, rows)).all() and len(rows) < len(hr)  # the omitted ones
    both = dataset.load_trks([tid, tid_of(sb, 1, "BIS/BIS")], 2)
    assert both.shape[1] == 2 and np.allclose(both[: len(hr), 0], hr, equal_nan=True)


def test_the_official_load_case_reads_the_case_vital_file(sb, official):
    ecg = csv_values(sb, tid_of(sb, 1, "SNUADC/ECG_II"))["SNUADC/ECG_II"].to_numpy()
    hr = csv_values(sb, tid_of(sb, 1, "Solar8000/HR"))
    both = official.load_case(1, ["SNUADC/ECG_II", "Solar8000/HR"], 1 / 500)
    assert both.shape == (1200 * 500, 2)  # one clock: the case's track_seconds
    assert np.allclose(both[: len(ecg), 0], ecg, equal_nan=True, atol=1e-4)
    assert np.isnan(both[len(ecg) :, 0]).all()
    assert np.nansum(~np.isnan(both[:, 1])) == len(hr)
    grid = official.load_case(1, ["Solar8000/HR"], 2)[:, 0]  # the monitor's own grid
    rows = (hr["Time"] // 2).astype(int).to_numpy()
    assert np.array_equal(grid[rows], hr["Solar8000/HR"].to_numpy())
    assert "/vitaldb/1.0.1/1.vital" in [q.path for q in sb.requests]
