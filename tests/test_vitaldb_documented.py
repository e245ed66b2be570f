"""The client against VitalDB as its documents describe it, not as our sandbox guesses it:
tests/documented_vitaldb.py serves byte for byte what the docs and the official client
expect (gzip content coding, an undocumented media type, a BOM, waves with three times,
``-nan(ind)``, query-string tokens, ``json.gz`` files)."""

from __future__ import annotations

import dataclasses
import gzip
import math
import warnings

import documented_vitaldb as dv
import numpy as np
import pandas as pd
import pytest

import vital_connect as vc
from vital_connect._providers import VITALDB

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # wfdb, imported by vitaldb
    import vitaldb
    from vitaldb import dataset as official


@pytest.fixture
def dataset(replica):
    return vc.connect("vitaldb", anonymous=True, base_url=replica.url)


@pytest.fixture
def webapi(replica):
    # The Web API's own login (Web_API.md: POST /api/login, id and pw) on the replica;
    # everything else is VitalDB's dialect as shipped.
    provider = dataclasses.replace(
        VITALDB,
        name="vitaldb-webapi",
        base_url=replica.url,
        api_url=None,
        token_path="/api/login",
        grants=("password",),
        login_path=None,
    )
    return vc.connect(provider, username=dv.USER_ID, password=dv.USER_PW, cache=False)


def same(a, b) -> bool:
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True)
    )


# ---------------------------------------------------------------------- the open dataset


def test_cases_with_a_bom_and_gzip_content_coding(dataset, replica):
    df = dataset.get("/cases")
    assert tuple(df.columns) == dv.CASES_COLUMNS  # the BOM is not part of "caseid"
    assert df["caseid"].tolist() == [1, 2]
    (req,) = replica.requests
    assert "Authorization" not in req["headers"] and not req["query"]


def test_track_list_and_labs(dataset):
    trks = dataset.get("/trks")
    assert list(trks.columns) == ["caseid", "tname", "tid"]
    assert set(trks["tid"]) == {dv.NUMERIC_TID, dv.WAVE_TID, dv.CASE2_NUMERIC_TID}
    labs = dataset.get("/labs")
    assert list(labs.columns) == ["caseid", "dt", "name", "result"]
    assert labs["dt"].min() < 0  # preoperative tests before casestart


def test_numeric_track_irregular_times_and_nan(dataset):
    df = dataset.get(f"/{dv.NUMERIC_TID}")
    assert list(df.columns) == ["Time", dv.NUMERIC_TNAME]
    assert same(df["Time"].tolist(), dv.NUMERIC_TIMES)
    assert same(df[dv.NUMERIC_TNAME].tolist(), dv.NUMERIC_VALUES)  # -nan(ind) is missing


def test_wave_track_times_are_filled_in(dataset):
    df = dataset.get(f"/{dv.WAVE_TID}")
    assert same(df["Time"].tolist(), dv.WAVE_TIMES)  # 17 times from 3 given
    assert same(df[dv.WAVE_TNAME].tolist(), dv.WAVE_VALUES)


def test_find_cases_and_load_case_union_of_times(dataset):
    assert dataset.find_cases([dv.NUMERIC_TNAME]) == [1, 2]
    assert dataset.find_cases(["EEG1_WAV", "HR"]) == [1]  # by the part after the device
    df = dataset.load_case(1, [dv.NUMERIC_TNAME, dv.WAVE_TNAME])
    assert list(df.columns) == [dv.NUMERIC_TNAME, dv.WAVE_TNAME]
    assert df.index.name == "time"
    assert set(dv.NUMERIC_TIMES) | set(dv.WAVE_TIMES) == set(df.index)
    assert df.loc[2.5, dv.NUMERIC_TNAME] == 72 and math.isnan(df.loc[2.5, dv.WAVE_TNAME])


def test_load_case_on_a_grid_equals_the_official_client(dataset, replica, monkeypatch):
    monkeypatch.setattr(official, "api_url", replica.url)
    ours = dataset.load_case(1, [dv.NUMERIC_TNAME, dv.WAVE_TNAME], interval=1 / 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # load_trks is deprecated upstream
        theirs = official.load_trks([dv.NUMERIC_TID, dv.WAVE_TID], 1 / 128)
    # the same grid (0 .. last sample), the same values cell for cell (theirs read float32)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=1e-6, equal_nan=True)
    # and on a 1 s grid the numeric track is the official client's, last sample per bin
    numeric = dataset.load_case(1, [dv.NUMERIC_TNAME], interval=1)
    assert same(numeric[dv.NUMERIC_TNAME].tolist(), dv.NUMERIC_LOAD_TRK_1S)


def test_a_wave_on_a_coarser_grid_takes_the_sample_at_each_time(dataset):
    # the official client stretches the wave's rows over the grid's length; ours takes the
    # sample at each grid time (0, 1/32, 2/32, ...): rows 0, 4, 8, 12, 16
    df = dataset.load_case(1, [dv.WAVE_TNAME], interval=1 / 32)
    assert same(df[dv.WAVE_TNAME].tolist(), [dv.WAVE_VALUES[i] for i in (0, 4, 8, 12, 16)])


def test_an_unknown_track_lists_the_case_tracks(dataset):
    with pytest.raises(vc.ConfigurationError, match=r"no track 'ART'.*BIS/EEG1_WAV"):
        dataset.load_case(1, ["ART"])


# ---------------------------------------------------------------------- the Web API


def test_filelist_is_a_gzip_json_file_and_the_token_goes_in_the_query(webapi, replica):
    df = webapi.get("/api/filelist")
    expected = pd.DataFrame(dv.FILELIST)
    for name in ("dtstart", "dtend", "dtupload"):  # Korea's time, without an offset
        expected[name] = pd.to_datetime(expected[name]).dt.tz_localize("Asia/Seoul")
        expected[name] = expected[name].dt.tz_convert("UTC").astype(df[name].dtype)
    pd.testing.assert_frame_equal(df, expected, check_dtype=False, check_like=True)
    assert str(df["dtstart"].dtype) == "datetime64[ns, UTC]"
    req = replica.requests[-1]
    assert req["path"] == "/api/filelist"
    assert ("access_token", "***") in req["query"]  # the replica masks what it recorded
    assert "Authorization" not in req["headers"]
    assert webapi.token.access_token not in df.attrs["source_url"]


def test_tracklist_rows_keep_their_track_lists(webapi):
    df = webapi.get("/api/tracklist", params={"bedname": "DEMO"})
    assert df["filename"].tolist() == [dv.DEMO_FILENAME]
    assert df["trks"].tolist() == [dv.WEB_FILE_TRACKS[dv.DEMO_FILENAME]]


def test_download_keeps_the_vital_file_as_served(webapi, replica, tmp_path):
    path = webapi.download("/api/download", params={"filename": dv.DEMO_FILENAME}, to=tmp_path)
    assert path == tmp_path / dv.DEMO_FILENAME  # from Content-Disposition
    data = path.read_bytes()
    assert data == dv.WEB_FILES[dv.DEMO_FILENAME]  # gzip kept: it is the file's own format
    assert gzip.decompress(data)[:4] == b"VITA"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    with pytest.raises(vc.NotSupportedError, match="download"):
        webapi.get("/api/download", params={"filename": dv.DEMO_FILENAME})


def test_the_official_client_reads_what_we_download(webapi, tmp_path):
    path = webapi.download("/api/download", params={"filename": dv.DEMO_FILENAME}, to=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # VitalFile leaves its file open
        vf = vitaldb.VitalFile(str(path))
    assert set(vf.get_track_names()) >= {dv.NUMERIC_TNAME}


def test_an_authorization_header_alone_is_not_what_vitaldb_reads(replica):
    # the query-string placement is what makes the Web API work: the same dialect with the
    # RFC 6750 header instead is refused, renewed once, refused again
    from vital_connect.dialects.vitaldb import VitalDB

    class HeaderOnly(VitalDB):
        def placement(self, provider, path):
            return super().placement(provider, path) and "header"

    provider = dataclasses.replace(
        VITALDB,
        name="vitaldb-header",
        base_url=replica.url,
        api_url=None,
        token_path="/api/login",
        grants=("password",),
        login_path=None,
        dialect=HeaderOnly(),
    )
    s = vc.connect(provider, username=dv.USER_ID, password=dv.USER_PW, cache=False)
    with pytest.raises(vc.TokenExpiredError, match="refused a freshly renewed token"):
        s.get("/api/filelist")
    assert [r["path"] for r in replica.requests].count("/api/filelist") == 2


def test_the_dataset_frame_is_a_frame_of_numbers(dataset):
    df = dataset.get(f"/{dv.WAVE_TID}")
    assert pd.api.types.is_float_dtype(df["Time"]) and pd.api.types.is_float_dtype(df.iloc[:, 1])
