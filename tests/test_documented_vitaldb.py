"""The documented VitalDB replica (tests/documented_vitaldb.py), proved on the wire with plain
requests and read back with VitalDB's own official client, the ``vitaldb`` package.

What the official client does with each answer is recorded here as a test, including where
it is surprising (see docs/vitaldb-wire-facts.md for the facts and their sources).
"""

from __future__ import annotations

import gc
import gzip
import io
import json
import math
import struct
import warnings

import documented_vitaldb as dv
import numpy as np
import pandas as pd
import pytest
import requests

try:  # the official client (pip install vitaldb); only the tests that use it need it
    with warnings.catch_warnings():
        # importing it imports wfdb, which calls set_index(inplace=True): a pandas 3.1
        # deprecation warning at import time, nothing of the client's own
        warnings.simplefilter("ignore", DeprecationWarning)
        import vitaldb
        from vitaldb import dataset as vdataset
except ImportError:  # pragma: no cover
    vitaldb = vdataset = None


@pytest.fixture
def official(replica, monkeypatch):
    """The official client pointed at the replica, its module-level caches emptied."""
    if vitaldb is None:
        pytest.skip("the official vitaldb client is not installed (pip install vitaldb)")
    monkeypatch.setattr(vdataset, "api_url", replica.url)
    for cache in ("dftrks", "dfci", "dflabs"):
        monkeypatch.setattr(vdataset, cache, None)
    monkeypatch.setattr(vitaldb.api, "API_URL", None)
    monkeypatch.setattr(vitaldb.api, "access_token", None)
    return replica


def deprecated(func, *args):
    """Call an official function that warns DeprecationWarning (1.7.2 deprecates the CSV API)."""
    with pytest.warns(DeprecationWarning, match="deprecated"):
        return func(*args)


def same(actual, expected):
    """Element-wise equality with NaN equal to NaN."""
    np.testing.assert_array_equal(np.asarray(actual, dtype=float), np.asarray(expected, float))


def raw_get(url, **kwargs):
    """GET without undoing any content coding: (response, the body bytes as sent)."""
    response = requests.get(url, stream=True, timeout=10, **kwargs)
    body = response.raw.read(decode_content=False)
    response.close()
    return response, body


# ---------------------------------------------------------------------------------------
# The module's own constants agree with the literal answers they describe
# ---------------------------------------------------------------------------------------


def read_track(csv_text):
    # the official client's own reading of a track file
    return pd.read_csv(io.StringIO(csv_text), na_values="-nan(ind)", dtype=np.float32).values


def test_numeric_constants_are_the_csv_rows():
    rows = read_track(dv.NUMERIC_CSV)
    same(rows[:, 0], dv.NUMERIC_TIMES)
    same(rows[:, 1], dv.NUMERIC_VALUES)
    assert np.all(np.diff(rows[:, 0]) > 0) and len(set(np.diff(rows[:, 0]))) > 1  # irregular
    assert dv.NUMERIC_CSV.splitlines()[0] == "Time,Solar8000/HR"


def test_wave_time_column_holds_start_interval_and_end_only():
    rows = read_track(dv.WAVE_CSV)
    n = len(dv.WAVE_VALUES)
    assert dv.WAVE_CSV.splitlines()[0] == "Time,BIS/EEG1_WAV"
    assert len(rows) == n
    same(rows[:, 0], dv.WAVE_TIME_COLUMN)
    assert rows[0, 0] == 0  # start
    assert rows[1, 0] == dv.WAVE_INTERVAL  # the interval (= time of row 1, as start is 0)
    assert rows[-1, 0] == (n - 1) * dv.WAVE_INTERVAL  # end = time of the last sample
    assert np.isnan(rows[2:-1, 0]).all()  # every other Time cell empty
    assert all(line.startswith(",") for line in dv.WAVE_CSV.splitlines()[3:-1])
    same(rows[:, 1], dv.WAVE_VALUES)
    assert dv.WAVE_CSV.count("-nan(ind)") == 2
    same(dv.WAVE_TIMES, np.arange(n) / dv.WAVE_SRATE)


def test_vital_files_parse_as_the_documented_format():
    for data in (*dv.CASE_VITAL_FILES.values(), *dv.WEB_FILES.values()):
        assert data[:4] == b"\x1f\x8b\x08\x00"  # VF: "starting with (1F 8B 08 00)"
        body = gzip.decompress(data)
        assert body[:4] == b"VITA"
        version, headerlen, tzbias = struct.unpack_from("<LHh", body, 4)
        assert (version, headerlen, tzbias) == (3, 26, -540)
    header = gzip.decompress(dv.CASE_VITAL_FILES[1])[10:36]
    dtstart, dtend = struct.unpack_from("<dd", header, 10)
    assert (dtstart, dtend) == (dv.OPEN_DATASET_DTSTART, dv.OPEN_DATASET_DTSTART + 10)


def test_the_module_does_not_import_vital_connect():
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path(dv.__file__).read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in names if m and m.split(".")[0] == "vital_connect"]


# ---------------------------------------------------------------------------------------
# The open dataset on the wire
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/cases", dv.UTF8_BOM + dv.CASES_CSV.encode()),
        ("/trks", dv.TRKS_CSV.encode()),
        ("/labs", dv.LABS_CSV.encode()),
        (f"/{dv.NUMERIC_TID}", dv.NUMERIC_CSV.encode()),
        (f"/{dv.WAVE_TID}", dv.WAVE_CSV.encode()),
        (f"/{dv.CASE2_NUMERIC_TID}", dv.CASE2_NUMERIC_CSV.encode()),
    ],
)
def test_open_dataset_answers_gzip_content_coded_csv(replica, path, body):
    response, sent = raw_get(replica.url + path)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == dv.OPEN_DATASET_CONTENT_TYPE
    assert "text/csv" not in response.headers["Content-Type"]
    assert int(response.headers["Content-Length"]) == len(sent)
    assert sent[:2] == b"\x1f\x8b"
    assert gzip.decompress(sent) == body
    # requests undoes the content coding itself
    assert requests.get(replica.url + path, timeout=10).content == body


@pytest.mark.parametrize("accept", ["identity", "gzip", None])
def test_open_dataset_gzips_whatever_the_request_accepts(replica, accept):
    headers = {"Accept-Encoding": accept} if accept else {"Accept-Encoding": ""}
    response, sent = raw_get(replica.url + "/trks", headers=headers)
    assert response.headers["Content-Encoding"] == "gzip" and sent[:2] == b"\x1f\x8b"


def test_cases_alone_starts_with_a_utf8_bom(replica):
    bodies = {p: requests.get(replica.url + p, timeout=10).content for p in ("/cases", "/trks")}
    assert bodies["/cases"].startswith(b"\xef\xbb\xbfcaseid,")
    assert bodies["/trks"].startswith(b"caseid,")
    header = bodies["/cases"].decode("utf-8-sig").splitlines()[0]
    assert tuple(header.split(",")) == dv.CASES_COLUMNS
    # a naive reader that decodes plain utf-8 gets the BOM in its first column name
    assert bodies["/cases"].decode("utf-8").split(",")[0] == "\ufeffcaseid"


def test_documented_columns(replica):
    def columns(path):
        return requests.get(replica.url + path, timeout=10).content.decode("utf-8-sig").split()[0]

    assert columns("/trks") == "caseid,tname,tid"
    assert columns("/labs") == "caseid,dt,name,result"
    assert dv.CASES_COLUMNS[:12] == (
        "caseid", "subjectid", "casestart", "caseend", "anestart", "aneend",
        "opstart", "opend", "age", "sex", "height", "weight",
    )  # fmt: skip
    tids = [line.split(",")[2] for line in dv.TRKS_CSV.splitlines()[1:]]
    assert all(len(t) == 40 and int(t, 16) >= 0 for t in tids)
    assert set(tids) == set(dv.TRACK_CSVS)


@pytest.mark.parametrize(
    ("path", "caseid"),
    [("/1.vital", 1), ("/0001.vital", 1), ("/1.0.1/1.vital", 1), ("/2.vital", 2)],
)
def test_case_vital_files(replica, path, caseid):
    response, sent = raw_get(replica.url + path)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers  # the file is itself gzip
    assert response.headers["Content-Type"] == dv.VITAL_CONTENT_TYPE
    assert sent == dv.CASE_VITAL_FILES[caseid]


@pytest.mark.parametrize(
    "path", ["/" + "0" * 40, "/3.vital", "/nothing", f"/{dv.NUMERIC_TID}/x", "/dl/x.vital"]
)
def test_unknown_paths_are_404(replica, path):
    assert requests.get(replica.url + path, timeout=10).status_code == 404


def test_open_dataset_is_get_only(replica):
    assert requests.post(replica.url + "/cases", timeout=10).status_code == 405


# ---------------------------------------------------------------------------------------
# The Web API on the wire
# ---------------------------------------------------------------------------------------


def login_json(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_login_with_the_documented_form_body(replica):
    # WA sample: curl -v -d "id=userid&pw=password" https://vitaldb.net/api/login
    response = requests.post(
        replica.url + "/api/login", data={"id": dv.USER_ID, "pw": dv.USER_PW}, timeout=10
    )
    assert login_json(response) == {
        "access_token": dv.ACCESS_TOKEN,
        "token_type": "bearer",
        "expires_in": 3600,
    }
    assert response.text == dv.LOGIN_JSON


def test_login_with_query_parameters_as_the_official_client_sends(replica):
    response = requests.post(
        replica.url + "/api/login", params={"id": dv.USER_ID, "pw": dv.USER_PW}, timeout=10
    )
    assert login_json(response)["access_token"] == dv.ACCESS_TOKEN


@pytest.mark.parametrize("form", [{"id": dv.USER_ID, "pw": "wrong"}, {"id": dv.USER_ID}, {}])
def test_login_refused(replica, form):
    response = requests.post(replica.url + "/api/login", data=form, timeout=10)
    assert response.status_code == 401
    assert response.text == dv.BAD_LOGIN_BODY


def test_login_is_post_only(replica):
    params = {"id": dv.USER_ID, "pw": dv.USER_PW}
    assert requests.get(replica.url + "/api/login", params=params, timeout=10).status_code == 405


@pytest.mark.parametrize(("name", "rows"), [("filelist", dv.FILELIST), ("tracklist", dv.TRACKLIST)])
def test_lists_are_a_gzip_file_not_content_coding(replica, name, rows):
    response, sent = raw_get(replica.url + f"/api/{name}", params={"access_token": dv.ACCESS_TOKEN})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-gzip"
    assert response.headers["Content-Disposition"] == "attachment;filename=json.gz;"
    assert "Content-Encoding" not in response.headers
    assert sent[:2] == b"\x1f\x8b"
    # requests leaves the body alone: the JSON is inside a gzip file
    assert requests.get(response.url, timeout=10).content == sent
    text = gzip.decompress(sent).decode("utf-8")
    assert text == dv.php_json(rows)
    assert json.loads(text) == rows
    assert isinstance(json.loads(text), list) and all(isinstance(r, dict) for r in rows)


def test_list_rows_carry_the_documented_fields():
    assert [set(r) for r in dv.FILELIST] == [
        {"filename", "filesize", "dtstart", "dtend", "dtupload"}
    ] * 2
    assert [set(r) for r in dv.TRACKLIST] == [{"filename", "trks"}] * 2
    for row in dv.FILELIST:
        assert row["filesize"] == len(dv.WEB_FILES[row["filename"]])


def test_php_json_escapes_slashes():
    assert dv.php_json(dv.TRACKLIST[:1]) == (
        '[{"filename":"DEMO_210415_091812.vital","trks":["Solar8000\\/HR","BIS\\/EEG1_WAV"]}]'
    )


@pytest.mark.parametrize(
    ("bedname", "expected"),
    [("DEMO", [dv.DEMO_FILENAME]), ("DEMO,TEST1", [dv.DEMO_FILENAME, dv.TEST1_FILENAME]),
     ("ICU", []), ("", [dv.DEMO_FILENAME, dv.TEST1_FILENAME])],
)  # fmt: skip
def test_filelist_bedname_filter(replica, bedname, expected):
    params = {"access_token": dv.ACCESS_TOKEN, "bedname": bedname}
    response = requests.get(replica.url + "/api/filelist", params=params, timeout=10)
    assert [r["filename"] for r in json.loads(gzip.decompress(response.content))] == expected


@pytest.mark.parametrize("endpoint", ["filelist", "tracklist", "download"])
@pytest.mark.parametrize(
    "how",
    [
        {},
        {"params": {"access_token": "wrong"}},
        {"params": {"access_token": ""}},
        {"headers": {"Authorization": f"Bearer {dv.ACCESS_TOKEN}"}},  # not a documented way
    ],
)
def test_a_missing_or_wrong_token_is_401(replica, endpoint, how):
    kwargs = {"params": {}, **how}
    kwargs["params"] = {**kwargs["params"], "filename": dv.DEMO_FILENAME}
    response = requests.get(replica.url + f"/api/{endpoint}", timeout=10, **kwargs)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == dv.ERROR_CONTENT_TYPE
    assert response.text == dv.BAD_TOKEN_BODY


def test_download_answers_the_vital_file(replica):
    params = {"access_token": dv.ACCESS_TOKEN, "filename": dv.DEMO_FILENAME, "asurl": 0}
    response, sent = raw_get(replica.url + "/api/download", params=params)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == dv.VITAL_CONTENT_TYPE
    assert response.headers["Content-Disposition"] == f"attachment;filename={dv.DEMO_FILENAME};"
    assert "Content-Encoding" not in response.headers
    assert sent == dv.WEB_FILES[dv.DEMO_FILENAME]
    assert gzip.decompress(sent)[:4] == b"VITA"


def test_download_asurl_answers_a_link_as_text(replica):
    params = {"access_token": dv.ACCESS_TOKEN, "filename": dv.DEMO_FILENAME, "asurl": 1}
    response = requests.get(replica.url + "/api/download", params=params, timeout=10)
    assert response.status_code == 200
    assert response.text == replica.url + "/dl/" + dv.DEMO_FILENAME
    linked = requests.get(response.text, timeout=10)  # the link needs no token
    assert linked.content == dv.WEB_FILES[dv.DEMO_FILENAME]


def test_download_of_an_unknown_file_is_404(replica):
    params = {"access_token": dv.ACCESS_TOKEN, "filename": "NOPE_210101_000000.vital"}
    assert requests.get(replica.url + "/api/download", params=params, timeout=10).status_code == 404


def test_the_record_masks_token_password_and_authorization(replica):
    requests.post(replica.url + "/api/login", data={"id": "someone", "pw": "s3cr3t"}, timeout=10)
    requests.get(
        replica.url + "/api/filelist",
        params={"access_token": dv.ACCESS_TOKEN, "bedname": "DEMO"},
        headers={"Authorization": "Bearer secret-value"},
        timeout=10,
    )
    login, filelist = replica.requests
    assert (login["method"], login["path"]) == ("POST", "/api/login")
    assert login["form"] == [("id", "someone"), ("pw", "***")]
    assert filelist["query"] == [("access_token", "***"), ("bedname", "DEMO")]
    assert filelist["headers"]["Authorization"] == "***"
    assert dv.ACCESS_TOKEN not in repr(replica.requests)
    assert "s3cr3t" not in repr(replica.requests)


# ---------------------------------------------------------------------------------------
# The official client reads the open dataset
# ---------------------------------------------------------------------------------------


def test_official_load_trk_numeric_bins_by_truncation_last_row_wins(official):
    # 1-s grid: int(t) cells, 73 (4.25) is overwritten by 74 (4.75); the -nan(ind) row is NaN
    same(deprecated(vdataset.load_trk, dv.NUMERIC_TID, 1), dv.NUMERIC_LOAD_TRK_1S)
    # 2-s grid: cells int(t / 2); 75 (8.75) is overwritten by 76 (9.25)
    same(deprecated(vdataset.load_trk, dv.NUMERIC_TID, 2), [71, 72, 74, math.nan, 76])
    # one 10-s cell: the last row of all
    same(deprecated(vdataset.load_trk, dv.NUMERIC_TID, 10), [76])


def test_official_load_trk_numeric_on_a_fine_grid(official):
    values = deprecated(vdataset.load_trk, dv.NUMERIC_TID, 0.25)
    assert len(values) == int(9.25 / 0.25) + 1
    expected = np.full(len(values), np.nan)
    for t, v in zip(dv.NUMERIC_TIMES, dv.NUMERIC_VALUES, strict=True):
        expected[int(t / 0.25)] = v
    same(values, expected)


def test_official_load_trk_wave_at_its_own_rate_is_the_values(official):
    same(deprecated(vdataset.load_trk, dv.WAVE_TID, dv.WAVE_INTERVAL), dv.WAVE_VALUES)


@pytest.mark.parametrize("interval", [1 / 64, 1 / 32, 1 / 256, 1 / 100, 1])
def test_official_load_trk_wave_resamples_by_index(official, interval):
    # the rule in vitaldb.dataset.load_trk: the Time column only gives the end (nanmax);
    # cells = int(end / interval) + 1, filled by taking rows at
    # linspace(0, rows - 1, cells) truncated to integers (no interpolation, no averaging)
    n = len(dv.WAVE_VALUES)
    end = (n - 1) * dv.WAVE_INTERVAL
    cells = int(np.float32(end) / np.float32(interval)) + 1
    rows = np.linspace(0, n - 1, cells).astype(np.int64)
    values = deprecated(vdataset.load_trk, dv.WAVE_TID, interval)
    same(values, np.take(dv.WAVE_VALUES, rows))


def test_official_load_trk_wave_examples(official):
    v = dv.WAVE_VALUES
    same(deprecated(vdataset.load_trk, dv.WAVE_TID, 1 / 64), v[::2])
    same(deprecated(vdataset.load_trk, dv.WAVE_TID, 1 / 32), v[::4])
    same(deprecated(vdataset.load_trk, dv.WAVE_TID, 1), v[:1])  # 1 cell: the first sample
    doubled = deprecated(vdataset.load_trk, dv.WAVE_TID, 1 / 256)
    same(doubled, [v[i // 2] for i in range(2 * (len(v) - 1))] + [v[-1]])


def test_official_load_trk_unknown_tid_is_empty(official):
    assert deprecated(vdataset.load_trk, "0" * 40, 1).shape == (0,)


def test_official_load_trks_pads_to_the_longest_track(official):
    both = deprecated(vdataset.load_trks, [dv.NUMERIC_TID, dv.WAVE_TID], 1)
    assert both.shape == (10, 2)
    same(both[:, 0], dv.NUMERIC_LOAD_TRK_1S)
    same(both[:, 1], [12.5] + [math.nan] * 9)
    fine = deprecated(vdataset.load_trks, [dv.NUMERIC_TID, dv.WAVE_TID, None], dv.WAVE_INTERVAL)
    assert fine.shape == (int(9.25 * 128) + 1, 3)
    same(fine[: len(dv.WAVE_VALUES), 1], dv.WAVE_VALUES)
    assert np.isnan(fine[len(dv.WAVE_VALUES) :, 1]).all()
    assert np.isnan(fine[:, 2]).all()  # a None tid is a NaN column
    assert fine[int(0.5 * 128), 0] == 71 and fine[int(9.25 * 128), 0] == 76


def test_official_find_cases_and_track_names(official):
    assert sorted(deprecated(vitaldb.find_cases, ["HR"])) == [1, 2]
    assert deprecated(vitaldb.find_cases, "EEG1_WAV,HR") == [1]
    assert deprecated(vitaldb.find_cases, ["Solar8000/HR", "BIS/EEG1_WAV"]) == [1]
    names = deprecated(vitaldb.get_track_names, [1, 2])
    assert names.to_dict("list") == {
        "caseid": [1, 2],
        "tnames": [[dv.WAVE_TNAME, dv.NUMERIC_TNAME], [dv.NUMERIC_TNAME]],
    }


def test_official_load_clinical_data_strips_the_bom(official):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cases = vitaldb.load_clinical_data([1])
    assert tuple(cases.columns) == dv.CASES_COLUMNS  # pandas dropped the BOM
    assert cases["caseid"].tolist() == [1]
    assert cases.iloc[0]["opname"] == "Low anterior resection"
    assert vitaldb.load_clinical_data([2], ["age", "sex", "nope"]).to_dict("list") == {
        "age": [54],
        "sex": ["M"],
    }


def test_official_load_clinical_data_with_no_caseids_is_empty(official):
    # documented as "Defaults to [], which returns clinical information of all caseID", but
    # the code filters by isin([]) unconditionally
    assert vitaldb.load_clinical_data().empty


def test_official_load_lab_data(official):
    labs = vitaldb.load_lab_data([1])
    assert labs.to_dict("list") == {
        "caseid": [1, 1, 1],
        "dt": [-26047, 594, 594],
        "name": ["alb", "hb", "plt"],
        "result": [4.3, 14.1, 260.0],
    }
    # its params filter looks in the *clinical* table's columns, not the labs'
    with pytest.raises(AttributeError):
        vitaldb.load_lab_data([1], ["name"])


def test_official_load_case_reads_the_versioned_vital_file(official):
    values = vitaldb.load_case(1, [dv.NUMERIC_TNAME, dv.WAVE_TNAME], 1)
    assert [r["path"] for r in official.requests] == ["/1.0.1/1.vital"]
    # grid: ceil((dtend - dtstart) / interval) rows from the file's times (10 s -> 10)
    assert values.shape == (10, 2)
    # numeric: cell int((dt - dtstart) / interval), the last record in a cell wins
    same(values[:, 0], dv.NUMERIC_LOAD_TRK_1S)
    # wave: ceil(10 * 128) samples, then rows at linspace(0, 1279, 10) truncated
    same(values[:, 1], [12.5] + [math.nan] * 9)


def test_official_load_case_at_the_wave_rate(official):
    values = vitaldb.load_case(1, "HR,EEG1_WAV", dv.WAVE_INTERVAL)  # names match by suffix
    assert values.shape == (10 * 128, 2)
    same(values[: len(dv.WAVE_VALUES), 1], dv.WAVE_VALUES)
    assert np.isnan(values[len(dv.WAVE_VALUES) :, 1]).all()
    expected = np.full(10 * 128, np.nan)
    for t, v in zip(dv.NUMERIC_TIMES, dv.NUMERIC_VALUES, strict=True):
        expected[int(t / dv.WAVE_INTERVAL)] = v
    same(values[:, 0], expected)


def test_official_vitalfile_of_a_caseid(official):
    vf = vitaldb.VitalFile(2, [dv.NUMERIC_TNAME])
    assert vf.get_track_names() == [dv.NUMERIC_TNAME]
    assert (vf.dtstart, vf.dtend, vf.dgmt) == (dv.OPEN_DATASET_DTSTART, vf.dtstart + 10, -540)
    frame = vf.to_pandas([dv.NUMERIC_TNAME], 1)
    same(frame[dv.NUMERIC_TNAME], [math.nan, 88, math.nan, 90] + [math.nan] * 6)


# ---------------------------------------------------------------------------------------
# The official client reads the Web API
# ---------------------------------------------------------------------------------------


def test_official_login(official):
    assert vitaldb.api.login(dv.USER_ID, dv.USER_PW, host="127.0.0.1", port=official.port)
    assert vitaldb.api.access_token == dv.ACCESS_TOKEN
    assert vitaldb.api.API_URL == official.url + "/api/"
    (sent,) = official.requests
    # the official client puts id and pw in the query string of a POST with no body
    assert sent["method"] == "POST" and sent["path"] == "/api/login"
    assert sent["query"] == [("id", dv.USER_ID), ("pw", "***")]
    assert sent["form"] == [] and sent["headers"].get("Content-Length") == "0"


def test_official_login_refused(official):
    assert not vitaldb.api.login(dv.USER_ID, "wrong", host="127.0.0.1", port=official.port)
    assert vitaldb.api.access_token is None


@pytest.fixture
def logged_in(official):
    assert vitaldb.api.login(dv.USER_ID, dv.USER_PW, host="127.0.0.1", port=official.port)
    official.clear_requests()
    return official


def test_official_filelist_and_tracklist(logged_in):
    assert vitaldb.api.filelist() == dv.FILELIST
    assert vitaldb.api.tracklist() == dv.TRACKLIST
    assert [f["filename"] for f in vitaldb.api.filelist(bedname=["DEMO", "TEST1"])] == [
        dv.DEMO_FILENAME,
        dv.TEST1_FILENAME,
    ]
    assert vitaldb.api.filelist(bedname="TEST1") == dv.FILELIST[1:]
    queries = [r["query"] for r in logged_in.requests]
    assert queries[0] == [("access_token", "***")]
    assert queries[2] == [("access_token", "***"), ("bedname", "DEMO,TEST1")]
    assert all("Authorization" not in r["headers"] for r in logged_in.requests)
    assert pd.DataFrame(vitaldb.api.filelist())["filesize"].tolist() == [
        len(dv.WEB_FILES[dv.DEMO_FILENAME]),
        len(dv.WEB_FILES[dv.TEST1_FILENAME]),
    ]


def test_official_download_to_a_path(logged_in, tmp_path):
    assert vitaldb.api.download(dv.DEMO_FILENAME, str(tmp_path)) is True
    saved = tmp_path / dv.DEMO_FILENAME
    assert saved.read_bytes() == dv.WEB_FILES[dv.DEMO_FILENAME]
    # the official reader opens a local file with open() and closes only the GzipFile
    # around it, so the file handle is left for the garbage collector
    with pytest.warns(ResourceWarning):
        vf = vitaldb.VitalFile(str(saved))
        gc.collect()
    assert vf.get_track_names() == [dv.NUMERIC_TNAME, dv.WAVE_TNAME]
    assert vf.dtstart == dv.DEMO_DTSTART
    same(vf.to_numpy([dv.WAVE_TNAME], dv.WAVE_INTERVAL)[:17, 0], dv.WAVE_VALUES)
    assert logged_in.requests[0]["query"] == [
        ("access_token", "***"),
        ("filename", dv.DEMO_FILENAME),
        ("asurl", "0"),
    ]


def test_official_download_as_url_then_vitalfile_as_the_docs_sample(logged_in):
    # WA sample: vf = vitaldb.VitalFile(vitaldb.download('TEST1_211020_142621.vital'))
    link = vitaldb.download(dv.TEST1_FILENAME)
    assert link == logged_in.url + "/dl/" + dv.TEST1_FILENAME
    assert vitaldb.VitalFile(link).get_track_names() == [dv.NUMERIC_TNAME]


def test_official_calls_need_a_login_and_a_good_token(official, monkeypatch):
    with pytest.raises(Exception, match="Please login first"):
        vitaldb.api.filelist()
    assert official.requests == []  # refused before sending anything
    vitaldb.api.setserver("127.0.0.1", official.port)
    monkeypatch.setattr(vitaldb.api, "access_token", "expired-or-wrong")
    with pytest.raises(Exception, match="API Server Error: invalid access token"):
        vitaldb.api.tracklist()
    with pytest.raises(Exception, match="API Server Error: not found"):
        monkeypatch.setattr(vitaldb.api, "access_token", dv.ACCESS_TOKEN)
        vitaldb.api.download("NOPE_210101_000000.vital", "/nonexistent")


def test_official_dataset_reads_send_no_credentials_and_accept_identity(official):
    vitaldb.load_clinical_data([1])
    (sent,) = official.requests
    assert sent["headers"]["Accept-Encoding"] == "identity"  # urllib, through pandas
    assert "Authorization" not in sent["headers"] and sent["query"] == []
