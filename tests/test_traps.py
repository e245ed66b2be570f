"""Each requests-oauthlib / oauthlib trap from NOTES-oauth.md, with a test that would fail
if we fell into it."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import pytest

import vital_connect as vc
from vital_connect import sandbox as sbx


def test_stale_expiry_is_reset_when_a_token_without_expiry_arrives(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    live = s.token.access_token
    past = vc.Token.from_dict({"access_token": "b" * 20, "expires_at": time.time() - 100})
    s.auth.set_token(past, save=False)
    assert not s.is_authenticated
    s.auth.set_token(vc.Token(access_token=live), save=False)  # no expiry known
    # oauthlib would keep the old deadline and call this token expired at once: no renewal
    # may happen, and the request goes out with the token as it is
    sb.clear_requests()
    assert s.get_json("/api/plans/")["count"] > 0
    assert s.renewals == 0 and [r.path for r in sb.requests] == ["/vitalera/api/plans/"]


def test_token_endpoint_status_is_checked(sb):
    sb.fail_next(1, status=500, path="/vitalera/api/auth/tokens/")
    with pytest.raises(vc.APIError) as info:
        vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    assert info.value.status_code == 500  # not oauthlib's "Missing access token parameter"
    assert "Missing access token" not in str(info.value)


def test_token_post_is_never_retried(sb):
    sb.fail_next(1, status=503, retry_after=0, path="/vitalera/api/auth/tokens/")
    with pytest.raises(vc.APIError):
        vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    assert len([r for r in sb.requests if r.path.endswith("/tokens/")]) == 1


def test_request_kwargs_do_not_leak_into_the_refresh_body(sb):
    sb.token_ttl = 1
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    sb.token_ttl = 3600
    time.sleep(1.1)
    s.get_json("/api/plans/", params={"page": 1, "page_size": 3})
    (refresh,) = [r for r in sb.requests if r.path.endswith("/refresh/")]
    assert set(json.loads(refresh.body)) == {"refresh_token"}
    assert not refresh.query


def test_one_renewal_for_32_threads(sb):
    sb.token_ttl = 1
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    sb.token_ttl = 3600
    time.sleep(1.1)
    sb.clear_requests()
    barrier = threading.Barrier(32)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            s.get_json("/api/plans/", params={"page_size": 1})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    token_calls = [r for r in sb.requests if r.path.endswith("/api/auth/tokens/")]
    print(f"\n32 threads on an expired token -> {len(token_calls)} token request(s)")
    assert len(token_calls) == 1
    assert s.renewals == 1
    assert not [r for r in sb.requests if r.status == 401]


def test_every_call_has_a_timeout(sb):
    s = vc.connect("vitalera", cache=False, timeout=(2, 0.5), **sb.credentials("vitalera"))
    s.page_workers = 1
    sb.slow_next(3, delay=1.5, path="/vitalera/api/plans/")
    with pytest.raises(vc.APIError) as info:
        s.get_json("/api/plans/")
    assert info.value.error_type == "timeout"
    # the token endpoint too: a slow answer is a clean error, sent once
    sb.slow_next(1, delay=1.5, path="/vitalera/api/auth/tokens/")
    with pytest.raises(vc.APIError, match="did not answer in time"):
        s.login()


def test_debug_logging_leaks_no_secret(sb, caplog):
    caplog.set_level(logging.DEBUG)
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    s.get("/api/plans/")
    s.refresh()
    d = vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb"))
    d.userinfo()  # token in the query string: urllib3 logs the URL
    text = caplog.text
    assert "requests_oauthlib" in {r.name.split(".")[0] for r in caplog.records}
    for secret in sbx.SECRETS:
        assert secret not in text
    for token in (s.token.access_token, s.token.refresh_token, d.token.access_token):
        assert token not in text
    assert "eyJ" not in text


def test_oauthlib_transport_switch_is_not_left_on(sb):
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    s.refresh()
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_token_type_lowercase_bearer_is_sent_as_bearer(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    assert s.token.token_type == "bearer"
    s.get_json("/leitos/")
    assert sb.requests[-1].headers["Authorization"].startswith("Bearer ")


def test_empty_password_is_refused_before_sending(sb):
    creds = sb.credentials("vidaplus") | {"password": ""}
    with pytest.raises(vc.MissingCredentialsError, match="VIDAPLUS_PASSWORD"):
        vc.connect("vidaplus", cache=False, widget=False, **creds)
    assert not [r for r in sb.requests if r.path.endswith("/auth/token/")]
