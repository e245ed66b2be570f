"""VitalDB's open dataset kept on disk: downloaded once, revalidated with ETag/Last-Modified,
never an authenticated answer, safe with several processes filling it at once.

The design tested here: when the server sends validators (the sandbox does, as a static
file server would), every later use sends a conditional request and a 304 means "use the
file" — so a second load makes only conditional requests, each answered 304, and no body
is downloaded again. Without validators a file is used unasked for UNVALIDATED_TTL.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from loopback import serving
from pandas.testing import assert_frame_equal
from werkzeug.wrappers import Response

import vital_connect as vc
from vital_connect import _dataset_cache, _dataset_files
from vital_connect._cache import cache_root

TRACKS = ["SNUADC/ART", "Solar8000/HR"]


def anonymous(sb, **options):
    return vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"), **options)


def dataset_requests(sb):
    """The open dataset's requests (not the OAuth2 or Web API paths)."""
    return [
        r
        for r in sb.requests
        if r.path.startswith("/vitaldb/")
        and not r.path.startswith(("/vitaldb/api/", "/vitaldb/oauth2/"))
    ]


def conditional(r) -> bool:
    return "If-None-Match" in r.headers or "If-Modified-Since" in r.headers


def cohort(sb, n=3):
    return anonymous(sb, cache=False).find_cases(TRACKS)[:n]


def cache_dir() -> Path:
    return cache_root() / "dataset"


def entries() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(cache_dir().glob("*.json"))]


def test_second_load_makes_only_conditional_requests_answered_304(sb):
    ids = cohort(sb)
    sb.clear_requests()
    first = anonymous(sb).load_cases(ids, TRACKS, 1)
    sent = dataset_requests(sb)
    assert len(sent) == 1 + 2 * len(ids)  # the track list, then each case's two files
    assert all(r.status == 200 and not conditional(r) for r in sent)

    sb.clear_requests()
    second = anonymous(sb).load_cases(ids, TRACKS, 1)  # a new session: a kernel restart
    again = dataset_requests(sb)
    assert sorted(r.path for r in again) == sorted(r.path for r in sent)
    assert all(r.status == 304 and r.headers.get("If-None-Match") for r in again)
    assert_frame_equal(second, first)
    assert_frame_equal(second, anonymous(sb, cache=False).load_cases(ids, TRACKS, 1))

    # where: cache_root()/dataset, a private folder; one index per URL, keyed by it
    folder = cache_dir()
    assert folder.parent == Path(os.environ["VITAL_CONNECT_CACHE_DIR"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    urls = {e["url"] for e in entries()}
    assert urls == {sb.url + r.path for r in sent}
    for e in entries():
        data = (folder / e["file"]).read_bytes()
        assert len(data) == e["size"] and e["etag"] and e["last_modified"]
        assert gzip.decompress(data).startswith((b"caseid", b"Time"))  # a plain .csv.gz


def test_the_cached_file_is_the_gzip_stream_as_served(sb):
    s = anonymous(sb)
    trks = s.get("/trks")
    tid = trks.loc[trks["tname"] == "Solar8000/HR", "tid"].iloc[0]
    _dataset_cache.get(s, f"/{tid}")
    import requests

    raw = requests.get(f"{sb.base_url('vitaldb')}/{tid}", stream=True, timeout=10)
    assert raw.headers["Content-Encoding"] == "gzip"
    wire = raw.raw.read(decode_content=False)
    (entry,) = [e for e in entries() if e["url"].endswith(tid)]
    assert (cache_dir() / entry["file"]).read_bytes() == wire


def test_a_changed_file_is_fetched_again(sb):
    ids = cohort(sb, 2)
    s = anonymous(sb)
    before = s.load_cases(ids, TRACKS, 1)
    trks = s.get("/trks")
    tid = trks.loc[(trks["caseid"] == ids[0]) & (trks["tname"] == "Solar8000/HR"), "tid"].iloc[0]
    old_etag = next(e["etag"] for e in entries() if e["url"].endswith(f"/{tid}"))
    sb.bump_dataset(f"/{tid}")  # a new version of that one file: new values, new ETag

    sb.clear_requests()
    after = anonymous(sb).load_cases(ids, TRACKS, 1)
    sent = dataset_requests(sb)
    assert all(conditional(r) for r in sent)
    changed = [r for r in sent if r.status == 200]
    assert [r.path for r in changed] == [f"/vitaldb/{tid}"]
    assert changed[0].headers["If-None-Match"] == old_etag
    assert all(r.status == 304 for r in sent if r not in changed)

    hr = "Solar8000/HR"
    assert not after.loc[ids[0], hr].equals(before.loc[ids[0], hr])
    assert_frame_equal(after.drop(columns=hr), before.drop(columns=hr))
    assert_frame_equal(after, anonymous(sb, cache=False).load_cases(ids, TRACKS, 1))
    new_etag = next(e["etag"] for e in entries() if e["url"].endswith(f"/{tid}"))
    assert new_etag != old_etag
    # the old version's data file is gone: one data file per entry
    assert len(list(cache_dir().glob("*.csv.gz"))) == len(entries())


def test_cache_false_bypasses_it(sb):
    ids = cohort(sb, 2)
    for _ in range(2):
        sb.clear_requests()
        anonymous(sb, cache=False).load_cases(ids, TRACKS, 1)
        sent = dataset_requests(sb)
        assert sent and all(r.status == 200 and not conditional(r) for r in sent)
    assert not cache_dir().exists()


def test_anonymous_sessions_keep_the_cache_option():
    assert vc.connect("vitaldb", anonymous=True).options.cache is True
    assert vc.connect("vitaldb", anonymous=True, cache=False).options.cache is False


def _one_entry(sb):
    s = anonymous(sb)
    trks = s.get("/trks")
    tid = trks.loc[trks["tname"] == "Solar8000/HR", "tid"].iloc[0]
    fresh = _dataset_cache.get(s, f"/{tid}")
    (entry,) = [e for e in entries() if e["url"].endswith(f"/{tid}")]
    index = next(p for p in cache_dir().glob("*.json") if json.loads(p.read_text()) == entry)
    return s, tid, fresh, index, cache_dir() / entry["file"]


def _flip_a_byte(index, data):
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))


def _truncate(index, data):
    data.write_bytes(data.read_bytes()[:-20])


def _garbage_index(index, data):
    index.write_text("{not json")


def _index_elsewhere(index, data):
    entry = json.loads(index.read_text())
    entry["file"] = "../../outside.csv.gz"
    index.write_text(json.dumps(entry))


def _data_removed(index, data):
    data.unlink()


def _right_checksum_wrong_content(index, data):
    junk = b"\x1f\x8b not really gzip"
    data.write_bytes(junk)
    entry = json.loads(index.read_text())
    import hashlib

    entry.update(size=len(junk), sha256=hashlib.sha256(junk).hexdigest())
    index.write_text(json.dumps(entry))


@pytest.mark.parametrize(
    "damage",
    [_flip_a_byte, _truncate, _garbage_index, _index_elsewhere, _data_removed,
     _right_checksum_wrong_content],
)  # fmt: skip
def test_a_damaged_cache_file_is_ignored_with_a_warning(sb, damage):
    s, tid, fresh, index, data = _one_entry(sb)
    damage(index, data)
    sb.clear_requests()
    with pytest.warns(vc.VitalConnectWarning, match="Ignoring the cached dataset file") as caught:
        again = _dataset_cache.get(s, f"/{tid}")
    assert "downloaded again" in str(caught[0].message)
    assert_frame_equal(again, fresh)
    # fetched again in full (nothing left to compare with), and stored again, valid
    sent = dataset_requests(sb)
    assert sent[-1].status == 200 and not conditional(sent[-1])
    sb.clear_requests()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_frame_equal(_dataset_cache.get(s, f"/{tid}"), fresh)
    assert [r.status for r in dataset_requests(sb)] == [304]


def test_an_error_answer_is_not_stored(sb):
    s, tid, fresh, _, _ = _one_entry(sb)
    for p in cache_dir().iterdir():
        p.unlink()
    sb.html_next(1, 404, path=f"/vitaldb/{tid}")
    with pytest.raises(vc.APIError):
        _dataset_cache.get(s, f"/{tid}")
    assert not list(cache_dir().glob("*.json"))
    assert_frame_equal(_dataset_cache.get(s, f"/{tid}"), fresh)
    assert len(entries()) == 1


def test_tables_cases_and_labs_are_cached_too(sb):
    s = anonymous(sb)
    for path in ("/cases", "/labs"):
        plain = s.get(path)
        assert_frame_equal(_dataset_cache.get(s, path), plain)
        sb.clear_requests()
        cached = _dataset_cache.get(s, path)
        assert cached.attrs["cache"] == "revalidated"
        assert_frame_equal(cached, plain)
        assert [r.status for r in dataset_requests(sb)] == [304]
    assert list(plain.columns[:1]) == ["caseid"]  # the byte-order mark dropped both ways


def test_an_authenticated_answer_is_never_cached(sb):
    creds = sb.credentials("vitaldb")
    s = vc.connect("vitaldb", **creds)  # cache=True: the token goes to its own cache
    assert not _dataset_cache.cacheable(s, "/api/filelist")
    assert not _dataset_cache.cacheable(s, "/oauth2/userinfo")
    files = _dataset_cache.get(s, "/api/filelist")  # passes straight to s.get
    assert len(files) and not cache_dir().exists()
    # the public dataset through a logged-in session is cached, without the token
    ids = s.find_cases(TRACKS)[:1]
    s.load_cases(ids, TRACKS, 1)
    assert len(entries()) == 3
    token = s.token.access_token
    for path in cache_dir().iterdir():
        assert token.encode() not in path.read_bytes()
        assert all(secret.encode() not in path.read_bytes() for secret in vc.sandbox.SECRETS)
    assert all("access_token" not in r.query for r in dataset_requests(sb))


def _unvalidated_server(hits, *, encoding=None, cache_control=None):
    """A dataset server that gives no ETag and no Last-Modified."""
    tid = "0a" * 20
    files = {
        "/trks": f"caseid,tname,tid\n1,Solar8000/HR,{tid}\n".encode(),
        f"/{tid}": b"Time,Solar8000/HR\n0,60\n2,61\n4,62\n",
    }

    def handle(request):
        hits.append((request.path, dict(request.headers)))
        body = files.get(request.path)
        if body is None:
            return Response("no", 404)
        headers = {}
        if encoding:
            body, headers["Content-Encoding"] = gzip.compress(body), encoding
        if cache_control:
            headers["Cache-Control"] = cache_control
        return Response(body, 200, headers=headers, content_type="text/csv")

    return handle


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_without_validators_a_file_is_used_unasked_for_a_stated_time(monkeypatch, encoding):
    hits = []
    with serving(_unvalidated_server(hits, encoding=encoding)) as url:

        def load():
            s = vc.connect("vitaldb", anonymous=True, base_url=url)
            return s.load_case(1, ["HR"], 2)

        first = load()
        assert [p for p, _ in hits] == ["/trks", "/" + "0a" * 20]
        assert list(first["HR"]) == [60, 61, 62]
        hits.clear()
        assert_frame_equal(load(), first)
        assert hits == []  # within UNVALIDATED_TTL: not even a conditional request
        assert _dataset_files.UNVALIDATED_TTL == 7 * 24 * 3600

        monkeypatch.setattr(_dataset_files, "UNVALIDATED_TTL", 0)  # the stated time is over
        assert_frame_equal(load(), first)
        assert len(hits) == 2
        assert not any("If-None-Match" in h or "If-Modified-Since" in h for _, h in hits)


def test_no_store_is_obeyed():
    hits = []
    with serving(_unvalidated_server(hits, cache_control="no-store")) as url:
        for _ in range(2):
            vc.connect("vitaldb", anonymous=True, base_url=url).load_case(1, ["HR"])
        assert len(hits) == 4
        assert not list(cache_dir().glob("*.json"))


def test_an_unusable_folder_is_warned_about_and_skipped(sb, tmp_path, monkeypatch):
    target = tmp_path / "elsewhere"
    target.mkdir()
    root = tmp_path / "linked"
    root.mkdir()
    (root / "dataset").symlink_to(target)
    monkeypatch.setenv("VITAL_CONNECT_CACHE_DIR", str(root))
    ids = cohort(sb, 1)
    with pytest.warns(vc.VitalConnectWarning, match="Not using the dataset cache"):
        df = anonymous(sb).load_cases(ids, TRACKS, 1)
    assert len(df) and not list(target.iterdir())


CHILD = textwrap.dedent(
    """
    import sys, time, warnings
    from pathlib import Path
    warnings.simplefilter("error")  # a damaged entry seen by a child would fail it
    import vital_connect as vc
    base_url, start, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ids = [int(c) for c in sys.argv[4].split(",")]
    s = vc.connect("vitaldb", anonymous=True, base_url=base_url)
    out.with_suffix(".ready").touch()
    deadline = time.monotonic() + 60
    while not start.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    s.load_cases(ids, ["SNUADC/ART", "Solar8000/HR"], 1).to_pickle(out)
    """
)


def test_two_processes_filling_the_cache_at_once_leave_valid_files(sb, tmp_path):
    ids = cohort(sb, 4)
    expected = anonymous(sb, cache=False).load_cases(ids, TRACKS, 1)
    sb.latency = 0.05  # both children are mid-download of the same files together
    sb.clear_requests()
    start = tmp_path / "go"
    outs = [tmp_path / f"child{i}.pkl" for i in range(2)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, sb.base_url("vitaldb"), str(start), str(out),
             ",".join(map(str, ids))],
            env=dict(os.environ),  # the same VITAL_CONNECT_CACHE_DIR
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        for out in outs
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not all(out.with_suffix(".ready").exists() for out in outs):
            if time.monotonic() > deadline:  # a guard against hanging, not a speed check
                pytest.fail("the children did not start within 60 s")
            assert all(child.poll() is None for child in children), "a child died"
            time.sleep(0.01)
        start.touch()  # both are at the start line: they fill the cache together
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err.decode()[-3000:]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    for out in outs:
        assert_frame_equal(pd.read_pickle(out), expected)
    # every file downloaded in full exactly once; the other process revalidated it
    sent = dataset_requests(sb)
    paths = {r.path for r in sent}
    assert len(paths) == 1 + 2 * len(ids) and len(sent) == 2 * len(paths)
    for path in paths:
        statuses = sorted(r.status for r in sent if r.path == path)
        assert statuses == [200, 304], (path, statuses)
    # and what they left is whole: a third reader gets it all from the cache, no warning
    sb.latency = 0
    sb.clear_requests()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_frame_equal(anonymous(sb).load_cases(ids, TRACKS, 1), expected)
    assert {r.status for r in dataset_requests(sb)} == {304}
    assert not list(cache_dir().glob(".*"))  # no temporary file left behind
