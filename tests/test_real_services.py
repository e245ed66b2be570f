"""The client speaking each provider's documented service, against the sandbox (which
follows those documents): VitalDB's two hosts and Web API, vidaplus' resources and refresh,
vitalera's monitoreds and observations."""

from __future__ import annotations

import gzip
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import vital_connect as vc

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # wfdb, imported by vitaldb
    from vitaldb import dataset as official


def _vitaldb(sb):
    return vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb"))


# ---------------------------------------------------------------------- VitalDB


def test_web_api_routing_and_token_in_the_query(sb):
    s = _vitaldb(sb)
    sb.clear_requests()
    df = s.get("/api/filelist")
    assert len(df) == sb.rows["files"] and {"filename", "filesize", "dtstart"} <= set(df.columns)
    (req,) = sb.requests
    assert req.path == "/vitaldb/api/filelist" and req.query["access_token"] == "***"
    assert "Authorization" not in req.headers
    # in production the Web API is on vitaldb.net, the dataset on api.vitaldb.net
    prod = vc.connect("vitaldb", anonymous=True)
    assert prod.url_for("/api/filelist") == "https://vitaldb.net/api/filelist"
    assert prod.url_for("/trks") == "https://api.vitaldb.net/trks"


def test_web_api_tracklist_and_receive(sb):
    s = _vitaldb(sb)
    trks = s.get("/api/tracklist")
    assert all(isinstance(t, list) and t for t in trks["trks"])
    # receive: gzip JSON sent gzip-encoded again (Web_API.md + the official client)
    rooms = s.get_json("/api/receive", params={"vrcode": "sbx7k2q9d"})
    assert isinstance(rooms, dict) and rooms["rooms"]


def test_the_dataset_gets_no_token_even_from_a_logged_in_session(sb):
    s = _vitaldb(sb)
    sb.clear_requests()
    cases = s.get("/cases")
    assert cases.columns[0] == "caseid"  # the BOM dropped
    (req,) = sb.requests
    assert "Authorization" not in req.headers and "access_token" not in req.query


def test_download_names_the_file_and_keeps_its_bytes(sb, tmp_path):
    s = _vitaldb(sb)
    name = s.get("/api/filelist")["filename"][0]
    path = s.download("/api/download", params={"filename": name}, to=tmp_path)
    assert path.name == name
    assert gzip.decompress(path.read_bytes())[:4] == b"VITA"
    # to= a file path: saved there
    other = s.download("/api/download", params={"filename": name}, to=tmp_path / "copy.vital")
    assert other.read_bytes() == path.read_bytes()


def test_a_download_cut_off_leaves_nothing_behind(tmp_path):
    from loopback import TOKEN, json_response, serving
    from werkzeug.wrappers import Response

    def server(request):
        if request.path == "/token":
            return json_response(TOKEN)

        def body():
            yield b"x" * 10_000
            raise ConnectionError("cut")  # the server dies mid-body

        return Response(body(), headers={"Content-Length": "100000"})

    folder = tmp_path / "downloads"
    folder.mkdir()
    with serving(server) as url:
        vc.register_provider(
            vc.Provider(name="cutoff", base_url=url, grants=("password",), token_path="/token")
        )
        s = vc.connect("cutoff", username="u", password="p", cache=False)
        with pytest.raises(vc.APIError):
            s.download("/big.bin", to=folder)
    assert list(folder.iterdir()) == []


def test_load_case_matches_the_official_client_on_the_sandbox(sb, monkeypatch):
    s = vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"))
    names = ["Solar8000/HR", "Solar8000/ART_MBP"]
    caseid = s.find_cases(names)[0]
    trks = s.get("/trks")
    tids = [trks[(trks.caseid == caseid) & (trks.tname == n)]["tid"].iloc[0] for n in names]
    monkeypatch.setattr(official, "api_url", sb.base_url("vitaldb"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = official.load_trks(tids, 2)
    ours = s.load_case(caseid, names, interval=2)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=1e-6, equal_nan=True)
    assert ours.notna().sum().min() > 0


def test_load_case_fetches_its_tracks_concurrently(sb):
    s = vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"))
    tracks = ["SNUADC/ECG_II", "SNUADC/PLETH", "Solar8000/HR"]
    s.get("/trks")  # the track list first, then only the tracks are timed below
    sb.latency = 0.3
    sb.clear_requests()
    seen: set[str] = set()
    original = s.request

    def counting(method, path, **kw):
        seen.add(threading.current_thread().name)
        return original(method, path, **kw)

    s.request = counting
    df = s.load_case(caseid=1, tracks=tracks, interval=1)
    assert list(df.columns) == tracks
    assert len([n for n in seen if n.startswith("vital-connect-track")]) == 3


def test_a_wave_gets_its_own_times(sb):
    s = vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"))
    trks = s.get("/trks")
    tid = trks[(trks.caseid == 1) & (trks.tname == "SNUADC/ECG_II")]["tid"].iloc[0]
    df = s.get(f"/{tid}")
    times = df["Time"].to_numpy()
    assert not np.isnan(times).any()
    assert np.allclose(np.diff(times), 1 / 500)  # 500 Hz, every row


# ---------------------------------------------------------------------- vidaplus


def test_every_vidaplus_resource_is_a_frame_of_all_its_rows(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    sizes = {
        "/pacientes/": "pacientes",
        "/consultas/": "consultas",
        "/estoque/": "estoques",
        "/prontuario/": "prontuarios",
        "/leitos/": "leitos",
    }
    for path, key in sizes.items():
        df = s.get(path)
        assert len(df) == sb.rows[key], path
        assert df["id"].is_unique, path


def test_a_404_past_the_last_page_of_prontuario_ends_the_list(sb):
    sb.rows["prontuarios"] = 200  # an exact multiple of the limit: page 3 is the app's 404
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    df = s.get("/prontuario/")
    assert len(df) == 200
    pages = sorted(
        (int(r.query["offset"]), r.status) for r in sb.requests if r.path.endswith("/prontuario/")
    )
    # pages 1-2, then the app's 404 (pages fetched ahead of the end are 404s too)
    assert pages[:3] == [(0, 200), (100, 200), (200, 404)]
    assert {status for _, status in pages[2:]} == {404}
    # a wrong path is still an error: a 404 on the first page is not "no rows"
    with pytest.raises(vc.APIError) as info:
        s.get("/prontuarios/")
    assert info.value.status_code == 404


def test_vidaplus_validation_and_not_found(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    with pytest.raises(vc.ValidationError) as info:
        s.get("/pacientes/", params={"limit": "all"})
    assert info.value.errors[0]["field"] == "limit"
    with pytest.raises(vc.APIError) as info:
        s.get("/pacientes/99999")
    assert info.value.status_code == 404


# ---------------------------------------------------------------------- vitalera


def test_observations_values_are_numbers(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    df = s.get("/api/monitoreds/1/observations/")
    assert len(df) == sb.rows["observations"]
    numeric = df["value_type"].isin(["int", "float"])
    assert numeric.all()
    assert pd.api.types.is_numeric_dtype(df["value"])
    raw = s.get_json("/api/monitoreds/1/observations/", {"page_size": 1})["results"][0]
    assert isinstance(raw["value"], str) and float(raw["value"]) == df.loc[0, "value"]


def test_monitoreds_and_plans(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    monitoreds = s.get("/api/monitoreds/")
    assert len(monitoreds) == sb.rows["monitoreds"]
    assert {"monitored_code", "email", "birth_date", "deep_link"} <= set(monitoreds.columns)
    one = s.get("/api/monitoreds/1/")
    assert len(one) == 1 and one.loc[0, "id"] == 1
    assert len(s.get("/api/plans/")) == sb.rows["plans"]
