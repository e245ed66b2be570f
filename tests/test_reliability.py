"""Faults survived or cleanly raised: retries, timeouts, malformed answers, expiry mid-pull."""

from __future__ import annotations

import pytest
from loopback import FakeClock

import vital_connect as vc
from vital_connect import _http

PLANS = "/vitalera/api/plans/"


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(_http, "BACKOFF_FACTOR", 0.01)


def _cc(sb, **kw):
    return vc.connect("vitalera", cache=False, **sb.credentials("vitalera"), **kw)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_get_is_retried(sb, status, fast_backoff):
    s = _cc(sb)
    sb.fail_next(2, status=status, retry_after=0, path=PLANS)
    assert s.get_json("/api/plans/")["count"] > 0
    assert [r.status for r in sb.requests if r.path == PLANS] == [status, status, 200]


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_http, "CLOCK", fake)
    return fake


def test_retry_after_is_honoured(sb, clock):
    s = _cc(sb)
    sb.fail_next(1, status=429, retry_after=7, path=PLANS)
    s.get_json("/api/plans/")
    assert clock.slept == [7.0]  # the server's Retry-After, not our backoff


def test_retry_after_is_capped(sb, clock):
    s = _cc(sb)
    sb.fail_next(1, status=503, retry_after=3600, path=PLANS)
    s.get_json("/api/plans/")
    assert clock.slept == [_http.RETRY_AFTER_CAP] == [30.0]


def test_persistent_failure_is_a_clean_api_error(sb, fast_backoff):
    s = _cc(sb)
    sb.fail_next(10, status=503, retry_after=0, path=PLANS)
    with pytest.raises(vc.APIError) as info:
        s.get_json("/api/plans/")
    assert info.value.status_code == 503
    assert "try again later" in str(info.value)
    assert len([r for r in sb.requests if r.path == PLANS]) == 4  # 1 + 3 retries, bounded


def test_dropped_connection_is_retried(sb, fast_backoff):
    s = _cc(sb)
    sb.drop_next(1, path=PLANS)
    assert s.get_json("/api/plans/")["count"] > 0


def test_server_down_is_a_clean_error(fast_backoff):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(vc.APIError) as info:
        vc.connect(
            "vidaplus",
            base_url=f"http://127.0.0.1:{port}",
            username="a@b.c",
            password="pw-123456",
            cache=False,
        )
    assert info.value.error_type == "connection_error"
    assert "could not be reached" in str(info.value)


def test_malformed_json_and_html_pages_are_clean_errors(sb, fast_backoff):
    s = _cc(sb)
    sb.malformed_next(1, path=PLANS)
    with pytest.raises(vc.APIError, match="not valid JSON"):
        s.get_json("/api/plans/")
    sb.html_next(5, status=500, path=PLANS)  # 500 is not retried
    with pytest.raises(vc.APIError) as info:
        s.get("/api/plans/")
    assert info.value.status_code == 500


def test_refresh_post_is_never_retried(sb, fast_backoff):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    refresh_path = "/vitalera/api/auth/tokens/refresh/"
    sb.drop_next(1, path=refresh_path)
    before = s.token.refresh_token
    # the refresh answer was lost: we fall back to the password grant, never resend it
    s.refresh()
    assert len([r for r in sb.requests if r.path == refresh_path]) == 1
    assert s.token.refresh_token != before


OBSERVATIONS = "/api/monitoreds/1/observations/"


def _pull(s, sb):
    df = s.get(OBSERVATIONS)
    expected = sb.rows["observations"]
    return len(df) - expected, int(df["id"].duplicated().sum())


@pytest.mark.parametrize(("workers", "latency"), [(1, 0.045), (8, 0.3)])
def test_local_expiry_in_the_middle_of_a_pull_loses_no_rows(sb, workers, latency):
    sb.rows["observations"] = 2000
    sb.page_size = 20  # 100 pages: over 4 s either way
    sb.token_ttl = 4  # a quarter of it is the leeway: stale about 3 s into the pull
    s = _cc(sb)
    s.page_workers = workers
    sb.token_ttl = 3600
    sb.latency = latency
    assert _pull(s, sb) == (0, 0)
    assert s.renewals == 1
    assert not [r for r in sb.requests if r.status == 401]


def test_server_side_expiry_in_the_middle_of_a_pull_loses_no_rows(sb):
    sb.rows["observations"] = 200
    sb.page_size = 20
    sb.token_ttl = 1
    s = _cc(sb)
    # a token whose expiry we do not know: only the server's 401 tells
    s.auth.set_token(vc.Token(access_token=s.token.access_token), save=False)
    s.page_workers = 1
    sb.token_ttl = 3600
    sb.latency = 0.2
    assert _pull(s, sb) == (0, 0)
    statuses = [r.status for r in sb.requests if r.path.endswith(OBSERVATIONS)]
    assert statuses.count(401) == 1
    assert len(statuses) == 10 + 1


# -- the fault matrix: every knob against every provider and grant ------------------------

SESSIONS = {
    "vitalera/client_credentials": ("vitalera", None, "/api/plans/"),
    "vitalera/password": ("vitalera", "password", "/api/monitoreds/"),
    "vidaplus/password": ("vidaplus", None, "/leitos/"),
    "vitaldb/password": ("vitaldb", None, "/oauth2/userinfo"),
    "vitaldb/open dataset": ("vitaldb", "anonymous", "/cases"),
}


def _fault(sb, kind, path):
    if kind in {"500", "502", "503"}:
        sb.fail_next(1, status=int(kind), retry_after=0, path=path)
    elif kind == "429 Retry-After":
        sb.fail_next(1, status=429, retry_after=0, path=path)
    elif kind == "connection reset":
        sb.drop_next(1, path=path)
    elif kind == "slow past timeout":
        sb.slow_next(1, delay=0.8, path=path)
    elif kind == "malformed JSON":
        sb.malformed_next(1, path=path)
    elif kind == "HTML error page":
        sb.html_next(1, status=502, path=path)


FAULTS = ["500", "502", "503", "429 Retry-After", "connection reset", "slow past timeout",
          "malformed JSON", "HTML error page"]  # fmt: skip

# What each fault must come to, for every session: survived (retried: the same rows), or one
# specific error. A 500 is not retried (the server may have acted); malformed bodies are not
# (a retry would only repeat them); the rest are, within the bounds of urllib3's Retry.
SURVIVED = "the same rows"
EXPECTED = {
    "500": ("APIError", 500),
    "502": SURVIVED,
    "503": SURVIVED,
    "429 Retry-After": SURVIVED,
    "connection reset": SURVIVED,
    "slow past timeout": SURVIVED,  # the read timeout fires, the retry is answered in time
    "malformed JSON": ("APIError", "invalid_json"),
    "HTML error page": SURVIVED,  # a 502 page: retried like any 502
}
# the open dataset is CSV: a JSON body there is refused as not the dataset's CSV
EXPECTED_FOR = {("vitaldb/open dataset", "malformed JSON"): ("APIError", "invalid_csv")}


def _outcome(s, path, expected):
    try:
        got = s.get(path)
    except vc.VitalConnectError as exc:
        assert str(exc) and "\n" not in str(exc)  # one clear line
        status = exc.status_code or 0
        return (type(exc).__name__, status if status >= 400 else exc.error_type)
    return SURVIVED if got.equals(expected) else "different rows"


def test_fault_matrix(sb, fast_backoff, capsys):
    wrong = []
    survived = raised = 0
    for label, (name, grant, path) in SESSIONS.items():
        kw = {"cache": False, "timeout": (2, 0.4)}
        if grant == "anonymous":
            kw |= {"anonymous": True, "base_url": sb.base_url(name)}
        else:
            kw |= sb.credentials(name, grant=grant) if grant else sb.credentials(name)
        s = vc.connect(name, **kw)
        expected = s.get(path)
        full = "/" + name + path
        for kind in FAULTS:
            _fault(sb, kind, full)
            want = EXPECTED_FOR.get((label, kind), EXPECTED[kind])
            got = _outcome(s, path, expected)
            if got != want:
                wrong.append(f"{label} / {kind}: expected {want}, got {got}")
            elif got == SURVIVED:
                survived += 1
            else:
                raised += 1
            sb.clear_faults()
    cells = len(SESSIONS) * len(FAULTS)
    with capsys.disabled():
        print(
            f"\nfault matrix: {cells - len(wrong)}/{cells} cells as specified "
            f"({survived} survived by retry, {raised} raised the specified error)"
        )
    assert wrong == []
