"""VitalDB cohorts through Dask, on a real two-process LocalCluster, against the sandbox;
and the session's pickle, which is what the workers get: no secret in it.

One cluster serves the module (starting one costs seconds). Its workers reach the sandbox
over loopback like any client, and keep dataset files in a cache folder of their own
(``env=`` below), so the test process's per-test cache never hides their downloads.
"""

from __future__ import annotations

import copy
import logging
import pickle
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import methodcaller

import cloudpickle
import pytest
from pandas.testing import assert_frame_equal

import vital_connect as vc

TRACKS = ["SNUADC/ART", "Solar8000/HR"]


@pytest.fixture(scope="module")
def workers_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("workers-cache")


@pytest.fixture(scope="module")
def client(workers_cache):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,  # no web server, no port to collide on
        silence_logs=logging.ERROR,
        env={"VITAL_CONNECT_CACHE_DIR": str(workers_cache)},
    )
    try:
        with Client(cluster) as c:
            yield c
    finally:
        cluster.close()


def anonymous(sb, **options):
    return vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"), **options)


def track_files(sb):
    names = ("/vitaldb/api/", "/vitaldb/oauth2/", "/vitaldb/trks", "/vitaldb/cases")
    return [
        r for r in sb.requests if r.path.startswith("/vitaldb/") and not r.path.startswith(names)
    ]


# ---------------------------------------------------------------------- the Dask frame


@pytest.mark.parametrize("interval", [1, None], ids=["grid", "union"])
def test_dask_frame_on_a_cluster_equals_the_pandas_one(sb, client, workers_cache, interval):
    s = anonymous(sb)
    ids = s.find_cases(TRACKS)[:4]
    sb.clear_requests()

    ddf = s.load_cases(ids, TRACKS, interval, dask=True)
    # meta known without fetching: no request at all (the track list is in memory)
    assert sb.requests == []
    assert ddf.npartitions == len(ids)
    assert list(ddf.columns) == ["caseid", *TRACKS]
    assert [str(t) for t in ddf.dtypes] == ["int64", "float64", "float64"]
    assert ddf.index.name == "time" and str(ddf.index.dtype) == "float64"
    assert sb.requests == []

    got = ddf.compute()
    assert len(track_files(sb)) == 2 * len(ids)  # the workers fetched every file, once
    expected = s.load_cases(ids, TRACKS, interval)  # (caseid, time) index
    assert expected.index.names == ["caseid", "time"]
    assert_frame_equal(got, expected.reset_index("caseid"))
    assert sorted(got["caseid"].unique()) == sorted(ids)
    # per-case work: each partition is one case
    sizes = ddf.map_partitions(len).compute()
    assert list(sizes) == [len(expected.loc[c]) for c in ids]
    # the workers kept the files in their own machine's dataset cache
    kept = list((workers_cache / "dataset").glob("*.json"))
    tids = {r.path.rsplit("/", 1)[-1] for r in track_files(sb)}
    assert tids <= {p.name.split("-", 1)[0] for p in kept}


def test_one_feature_per_case_on_the_cluster(sb, client):
    s = anonymous(sb)
    ids = s.find_cases(TRACKS)[:3]
    ddf = s.load_cases(ids, TRACKS, 1, dask=True)
    mean_hr = ddf.groupby("caseid")["Solar8000/HR"].mean().compute().sort_index()
    expected = s.load_cases(ids, TRACKS, 1).groupby(level="caseid")["Solar8000/HR"].mean()
    assert_frame_equal(mean_hr.to_frame(), expected.to_frame(), check_names=False)


def test_building_reads_the_track_list_only(sb):
    s = anonymous(sb)
    ids = anonymous(sb, cache=False).find_cases(TRACKS)[:2]
    sb.clear_requests()
    ddf = s.load_cases(ids, ["ART", "HR"], 1, dask=True)
    assert [r.path for r in sb.requests] == ["/vitaldb/trks"]
    assert list(ddf.columns) == ["caseid", "ART", "HR"]  # named as asked


def test_a_wrong_name_fails_when_building_not_on_a_worker(sb):
    s = anonymous(sb)
    case = s.find_cases(["Solar8000/HR"])[0]
    with pytest.raises(vc.ConfigurationError, match=r"no track 'NOPE'. Its tracks: .*HR"):
        s.load_cases([case], ["HR", "NOPE"], dask=True)
    with pytest.raises(vc.ConfigurationError, match="no case 999999"):
        s.load_cases([case, 999999], ["HR"], dask=True)
    with pytest.raises(vc.ConfigurationError, match="interval"):
        s.load_cases([case], ["HR"], -1, dask=True)
    assert track_files(sb) == []


def test_no_cases_is_an_empty_frame_of_the_same_shape(sb):
    s = anonymous(sb)
    ddf = s.load_cases([], TRACKS, 1, dask=True)
    empty = ddf.compute(scheduler="sync")
    assert list(empty.columns) == ["caseid", *TRACKS] and len(empty) == 0
    pdf = s.load_cases([], TRACKS, 1)
    assert pdf.index.names == ["caseid", "time"] and len(pdf) == 0
    assert_frame_equal(pdf.reset_index("caseid"), empty, check_index_type=False)


def test_without_dask_the_error_says_what_to_install(sb, monkeypatch):
    s = anonymous(sb)
    case = s.find_cases(["HR"])[0]
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)  # as if not installed
    with pytest.raises(vc.NotSupportedError, match=r"pip install 'vital-connect\[dask\]'"):
        s.load_cases([case], ["HR"], dask=True)


# ---------------------------------------------------------------------- the pickle


def _sessions(sb):
    """Logged-in sessions of every kind the sandbox has, and an anonymous one."""
    out = {
        "vitalera client_credentials": vc.connect(
            "vitalera", cache=False, **sb.credentials("vitalera", grant="client_credentials")
        ),
        "vitalera password": vc.connect(
            "vitalera", **sb.credentials("vitalera", grant="password")
        ),  # a refresh token, and the token cache on
        "vidaplus": vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus")),
        "vitaldb": vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb")),
    }
    # an id token, as an OpenID provider would issue one
    s = out["vitaldb"]
    s.auth.set_token(replace(s.token, id_token="idtok." + "x" * 40 + ".sig"), save=False)
    return out


def test_a_pickled_session_holds_no_secret_and_at_most_its_access_token(sb):
    for name, s in _sessions(sb).items():
        token = s.token
        for dumps in (pickle.dumps, cloudpickle.dumps):
            data = dumps(s)
            for secret in vc.sandbox.SECRETS:
                assert secret.encode() not in data, (name, secret[:6])
            if token.refresh_token:
                assert token.refresh_token.encode() not in data, name
            if token.id_token:
                assert token.id_token.encode() not in data, name
        copy_ = pickle.loads(pickle.dumps(s))
        assert copy_.token.access_token == token.access_token
        assert copy_.token.refresh_token is None and copy_.token.id_token is None
        assert copy_.token.expires_at == token.expires_at
        assert copy_.base_url == s.base_url and copy_.grant == s.grant
        assert copy_.auth.credentials.resolve().values == {"base_url": s.base_url}
        assert "FileCache" not in repr(copy_.auth.cache)


def test_an_anonymous_session_pickles_with_no_token_at_all(sb):
    s = anonymous(sb)
    logged_in = vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb"))
    data = pickle.dumps(s)
    assert logged_in.token.access_token.encode() not in data
    assert b"access_token" not in data and b"Token" not in data
    copy_ = pickle.loads(data)
    assert copy_.anonymous and copy_.auth is None and copy_.token is None
    assert copy_.options.cache is True  # the dataset cache choice travels
    assert pickle.loads(pickle.dumps(anonymous(sb, cache=False))).options.cache is False
    assert len(copy_.load_case(s.find_cases(["HR"])[0], ["HR"], 10))


def test_the_copy_works_with_the_token_it_was_sent(sb, monkeypatch):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    expected = s.get("/api/plans/")
    data = pickle.dumps(s)
    # a worker: another environment, with someone's credentials in it — never read
    monkeypatch.setenv("VITALERA_USERNAME", "someone-else")
    monkeypatch.setenv("VITALERA_PASSWORD", "not-theirs")
    sb.clear_requests()
    copy_ = pickle.loads(data)
    assert_frame_equal(copy_.get("/api/plans/"), expected, check_like=True)
    assert not [r for r in sb.requests if r.method == "POST"]  # no login, no refresh
    assert copy_.user is None and copy_.auth.credentials.resolve().get("username") is None
    assert copy.copy(s).token.refresh_token is None  # copy goes through the same path


def _expired(s):
    past = datetime.now(UTC) - timedelta(minutes=5)
    s.auth.set_token(replace(s.token, expires_at=past), save=False)
    return s


def test_a_worker_whose_token_expired_says_to_rerun_from_the_notebook(sb, client):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    _expired(s)
    sb.clear_requests()
    future = client.submit(methodcaller("get", "/api/plans/"), s, pure=False)
    with pytest.raises(vc.TokenExpiredError, match="Re-run from the notebook") as caught:
        future.result(timeout=60)
    assert "expired at" in str(caught.value)
    assert sb.requests == []  # known expired: nothing sent, no renewal tried
    for secret in vc.sandbox.SECRETS:
        assert secret not in str(caught.value)
    # the notebook's own session renews as usual
    assert len(s.get("/api/plans/"))


def test_a_copy_whose_token_is_refused_raises_too(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    forged = replace(s.token, access_token=s.token.access_token[:-4] + "AAAA")
    s.auth.set_token(forged, save=False)
    copy_ = pickle.loads(pickle.dumps(s))
    sb.clear_requests()
    with pytest.raises(vc.TokenExpiredError, match=r"refuses.*Re-run from the notebook"):
        copy_.get("/pacientes/")
    assert [r.status for r in sb.requests] == [401]  # one try, no renewal, no login
    with pytest.raises(vc.TokenExpiredError, match="Re-run from the notebook"):
        copy_.refresh()


def test_a_copy_of_a_logged_out_session_raises_too(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    s.logout()
    copy_ = pickle.loads(pickle.dumps(s))
    with pytest.raises(vc.TokenExpiredError, match="without a token"):
        copy_.get_json("/api/plans/")
