"""The sandbox's VitalDB Web API (Web_API.md: /api/login, filelist, tracklist, download,
receive), over loopback with plain requests, and the official ``vitaldb.api`` against it."""

from __future__ import annotations

import gzip
import json
import re
import struct
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit, urlunsplit

import numpy as np
import pytest
import requests

from vital_connect import sandbox

T = 5
KST = timezone(timedelta(hours=9))
LOGIN = {"id": sandbox.VITALDB_USERNAME, "pw": sandbox.VITALDB_PASSWORD}
ROW_KEYS = ["filename", "filesize", "dtstart", "dtend", "dtupload"]


def url(sb, path: str) -> str:
    return sb.base_url("vitaldb") + path


def token(sb) -> str:
    r = requests.post(url(sb, "/api/login"), data=LOGIN, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def api(sb, path: str, tok: str | None = None, **params) -> requests.Response:
    if tok is not None:
        params["access_token"] = tok
    return requests.get(url(sb, path), params=params, timeout=T)


def json_gz(r: requests.Response):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/x-gzip"
    assert r.headers["Content-Disposition"] == "attachment;filename=json.gz;"
    assert "Content-Encoding" not in r.headers  # a gzip file, not content coding
    assert r.content[:2] == b"\x1f\x8b"
    return json.loads(gzip.decompress(r.content))


def filelist(sb, tok, **params) -> list[dict]:
    return json_gz(api(sb, "/api/filelist", tok, **params))


# login


def test_api_login_answers_the_token_json_for_form_or_query_fields(sb):
    r = requests.post(url(sb, "/api/login"), data=LOGIN, timeout=T)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert list(body) == ["access_token", "token_type", "expires_in"]
    assert body["token_type"] == "bearer"  # Web_API.md: "Always 'bearer'"
    assert body["expires_in"] == 3600
    # the official client sends id and pw in the query string of the POST
    q = requests.post(url(sb, "/api/login"), params=LOGIN, timeout=T)
    assert q.status_code == 200
    userinfo = api(sb, "/oauth2/userinfo", q.json()["access_token"])
    assert userinfo.json()["userid"] == sandbox.VITALDB_USERNAME  # one token for both APIs


def test_api_login_refuses_bad_or_missing_credentials(sb):
    r = requests.post(url(sb, "/api/login"), data={**LOGIN, "pw": "wrong"}, timeout=T)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    assert set(r.json()) == {"error", "error_description"}
    r = requests.post(url(sb, "/api/login"), data={"id": LOGIN["id"]}, timeout=T)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    assert requests.get(url(sb, "/api/login"), params=LOGIN, timeout=T).status_code == 405


# the token: a query parameter only


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/filelist", {}),
        ("/api/tracklist", {}),
        ("/api/download", {"filename": "DEMO_240304_083012.vital"}),
        ("/api/receive", {"vrcode": "sbx7k2q9d"}),
    ],
)
def test_web_api_takes_the_token_only_as_the_access_token_parameter(sb, path, params):
    tok = token(sb)
    header_only = requests.get(
        url(sb, path), params=params, headers={"Authorization": f"Bearer {tok}"}, timeout=T
    )
    assert header_only.status_code == 401
    assert header_only.json()["error"] == "invalid_token"
    assert "Authorization header is not read" in header_only.json()["error_description"]
    assert header_only.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert api(sb, path, **params).status_code == 401
    assert api(sb, path, "forged.token.value", **params).status_code == 401
    assert api(sb, path, tok, **params).status_code == 200
    assert sb.requests[-1].query["access_token"] == "***"  # recorded, masked


def test_an_expired_token_is_refused(sb):
    sb.token_ttl = 1
    tok = token(sb)
    time.sleep(1.1)
    r = api(sb, "/api/filelist", tok)
    assert r.status_code == 401
    assert "expired" in r.json()["error_description"]


# filelist and tracklist


def test_filelist_is_a_gzip_json_file_of_the_documented_rows(sb):
    rows = filelist(sb, token(sb))
    assert len(rows) == sandbox.DEFAULT_ROWS["files"] == 6
    for row in rows:
        assert list(row) == ROW_KEYS
        _bed, stamp = re.fullmatch(r"([A-Z0-9]+)_(\d{6}_\d{6})\.vital", row["filename"]).groups()
        start = datetime.strptime(row["dtstart"], "%Y-%m-%d %H:%M:%S")
        assert start.strftime("%y%m%d_%H%M%S") == stamp  # the name is the local start time
        end = datetime.strptime(row["dtend"], "%Y-%m-%d %H:%M:%S")
        upload = datetime.strptime(row["dtupload"], "%Y-%m-%d %H:%M:%S")
        assert start < end < upload
        assert isinstance(row["filesize"], int) and row["filesize"] > 1000
    assert {r["filename"].split("_")[0] for r in rows} == {"DEMO", "OR1", "OR2"}
    sb.rows["files"] = 2
    assert len(filelist(sb, token(sb))) == 2


def test_filelist_unixtimestamp_gives_unix_times(sb):
    tok = token(sb)
    text = {r["filename"]: r for r in filelist(sb, tok)}
    for row in filelist(sb, tok, unixtimestamp=1):
        assert isinstance(row["dtstart"], float | int)
        local = datetime.fromtimestamp(row["dtstart"], KST).strftime("%Y-%m-%d %H:%M:%S")
        assert local == text[row["filename"]]["dtstart"]
        assert row["dtend"] - row["dtstart"] == 30


def test_filelist_filters(sb):
    tok = token(sb)
    every = filelist(sb, tok, unixtimestamp=1)
    assert {r["filename"][:4] for r in filelist(sb, tok, bedname="DEMO")} == {"DEMO"}
    two = filelist(sb, tok, bedname="OR1,OR2")
    assert len(two) == 4 and not any(r["filename"].startswith("DEMO") for r in two)
    first, second = every[0], every[1]
    # unix timestamps: the recordings overlapping [dtstart, dtend]
    picked = filelist(sb, tok, dtstart=first["dtstart"] + 1, dtend=second["dtstart"] + 1)
    assert [r["filename"] for r in picked] == [first["filename"], second["filename"]]
    day = datetime.fromtimestamp(first["dtstart"], KST).date().isoformat()
    on_day = filelist(sb, tok, startdate=day, enddate=day)
    assert len(on_day) == 3 and all(day.replace("-", "")[2:] in r["filename"] for r in on_day)
    late = filelist(sb, tok, dtuploadstart=every[-1]["dtupload"])
    assert [r["filename"] for r in late] == [every[-1]["filename"]]
    assert filelist(sb, tok, uploadenddate="2000-01-01") == []
    for bad in ({"dtstart": "soon"}, {"startdate": "03/04/2024"}):
        r = api(sb, "/api/filelist", tok, **bad)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_tracklist_rows_name_each_file_and_its_tracks(sb):
    tok = token(sb)
    rows = json_gz(api(sb, "/api/tracklist", tok))
    assert [list(r) for r in rows] == [["filename", "trks"]] * 6
    assert [r["filename"] for r in rows] == [r["filename"] for r in filelist(sb, tok)]
    for row in rows:
        assert "Solar8000/HR" in row["trks"] and all("/" in t for t in row["trks"])
    assert len({len(r["trks"]) for r in rows}) > 1  # not every bed records everything
    demo = json_gz(api(sb, "/api/tracklist", tok, bedname="DEMO"))
    assert {r["filename"][:4] for r in demo} == {"DEMO"}


# download


def vital_header(data: bytes) -> tuple:
    assert data[:4] == b"\x1f\x8b\x08\x00"  # Vital_File_Format.md: "starting with 1F 8B 08 00"
    inner = gzip.decompress(data)
    assert inner[:4] == b"VITA"
    version, headerlen = struct.unpack_from("<LH", inner, 4)
    tzbias, _inst, _prog, dtstart, dtend = struct.unpack_from("<hLLdd", inner, 10)
    return version, headerlen, tzbias, dtstart, dtend


def test_download_answers_the_vital_file(sb):
    tok = token(sb)
    row = filelist(sb, tok, unixtimestamp=1)[1]
    r = requests.get(
        url(sb, "/api/download"),
        params={"access_token": tok, "filename": row["filename"]},
        stream=True,
        timeout=T,
    )
    body = r.raw.read(decode_content=False)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Encoding" not in r.headers
    assert r.headers["Content-Disposition"] == f"attachment;filename={row['filename']}"
    assert len(body) == row["filesize"]
    assert vital_header(body) == (3, 26, -540, row["dtstart"], row["dtend"])
    again = api(sb, "/api/download", tok, filename=row["filename"], asurl=0)
    assert again.content == body  # deterministic


def test_download_errors(sb):
    tok = token(sb)
    r = api(sb, "/api/download", tok, filename="NOPE_240101_000000.vital")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = api(sb, "/api/download", tok)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_download_asurl_answers_a_short_lived_signed_url(sb):
    tok = token(sb)
    name = filelist(sb, tok)[0]["filename"]
    r = api(sb, "/api/download", tok, filename=name, asurl=1)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    link = r.text
    assert link.startswith(sb.url + "/") and name in link and tok not in link
    got = requests.get(link, timeout=T)  # no token: the link is the credential
    assert got.status_code == 200
    assert got.content == api(sb, "/api/download", tok, filename=name).content
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert int(query["expires"][0]) > time.time()
    forged = urlunsplit(parts._replace(query=f"expires={query['expires'][0]}&signature=00"))
    assert requests.get(forged, timeout=T).status_code == 403
    stale = urlunsplit(parts._replace(query=f"expires=1&signature={query['signature'][0]}"))
    assert requests.get(stale, timeout=T).status_code == 403


# receive


def test_receive_is_gzip_json_sent_with_gzip_content_coding_too(sb):
    tok = token(sb)
    now = time.time()
    r = api(sb, "/api/receive", tok, vrcode="sbx7k2q9d", dtstart=now - 5, dtend=now)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["Content-Encoding"] == "gzip"  # as Web_API.md says ...
    assert r.content[:2] == b"\x1f\x8b"  # ... and still gzip once that is undone
    data = json.loads(gzip.decompress(r.content))
    assert data["vrcode"] == "sbx7k2q9d"
    rooms = {room["roomname"]: room for room in data["rooms"]}
    assert set(rooms) == {"DEMO", "OR1", "OR2"}
    room = rooms["DEMO"]
    assert {"roomname", "dtstart", "dtend", "ptcon", "recording", "devs", "trks"} <= set(room)
    trks = {t["name"]: t for t in room["trks"]}
    assert trks["ECG_II"]["type"] == "wav" and trks["HR"]["type"] == "num"
    for rec in trks["ECG_II"]["recs"]:
        assert now - 6 <= rec["dt"] <= now and len(rec["val"]) == 500
    assert all(now - 6 <= rec["dt"] <= now for rec in trks["HR"]["recs"])
    one = api(sb, "/api/receive", tok, vrcode="sbx7k2q9d", bedname="OR2")
    assert [room["roomname"] for room in json.loads(gzip.decompress(one.content))["rooms"]] == [
        "OR2"
    ]
    r = api(sb, "/api/receive", tok, vrcode="unknown12")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = api(sb, "/api/receive", tok)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


# the official client


@pytest.fixture
def official_api(sb, monkeypatch):
    """The official vitaldb.api, its server pointed at the sandbox (login() calls setserver,
    which would build https://vitaldb.net/api/)."""
    vitaldb = pytest.importorskip("vitaldb")

    def setserver(*args, **kwargs):
        vitaldb.api.API_URL = url(sb, "/api/")
        return True

    monkeypatch.setattr(vitaldb.api, "setserver", setserver)
    monkeypatch.setattr(vitaldb.api, "access_token", None)
    return vitaldb


# The official VitalFile leaves a local file it read open (its own leak, seen at collection).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_official_client_logs_in_lists_downloads_and_opens_a_file(sb, official_api, tmp_path):
    vitaldb = official_api
    assert vitaldb.login(sandbox.VITALDB_USERNAME, sandbox.VITALDB_PASSWORD) is True
    assert vitaldb.login(sandbox.VITALDB_USERNAME, "wrong") is False
    assert vitaldb.login(sandbox.VITALDB_USERNAME, sandbox.VITALDB_PASSWORD) is True
    files = vitaldb.filelist()
    assert [list(f) for f in files] == [ROW_KEYS] * 6
    assert [f["filename"] for f in vitaldb.filelist(bedname=["OR1", "OR2"])] == [
        f["filename"] for f in files if not f["filename"].startswith("DEMO")
    ]
    tracks = {t["filename"]: t["trks"] for t in vitaldb.tracklist()}
    name = files[0]["filename"]
    assert vitaldb.download(name, str(tmp_path)) is True
    saved = tmp_path / name
    assert saved.stat().st_size == files[0]["filesize"]
    vf = vitaldb.VitalFile(str(saved))
    assert vf.get_track_names() == tracks[name]
    ecg = vf.to_numpy(["SNUADC/ECG_II"], 1 / 500)[:, 0]
    assert len(ecg) == 30 * 500 and 0 < np.isnan(ecg).sum() < 500
    hr = vf.to_numpy(["Solar8000/HR"], 2)[:, 0]
    assert len(hr) == 15 and np.nanmin(hr) >= 30 and np.nanmax(hr) <= 200
    link = vitaldb.download(name)  # no local path: asurl=1, the URL back
    assert requests.get(link, timeout=T).content == saved.read_bytes()
    live = vitaldb.receive("sbx7k2q9d", bedname="DEMO")
    assert [room["roomname"] for room in live["rooms"]] == ["DEMO"]
    sent = [q for q in sb.requests if q.path.startswith("/vitaldb/api/")]
    assert all(q.query.get("access_token") == "***" for q in sent if q.path != "/vitaldb/api/login")
