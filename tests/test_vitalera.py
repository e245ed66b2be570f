"""vitalera: JSON-body grants, expiry, refresh with the Bearer header, validate, rotation."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
from dotenv import dotenv_values

import vital_connect as vc


def _token_requests(sb, suffix="/api/auth/tokens/"):
    return [r for r in sb.requests if r.path.endswith(suffix)]


def test_client_credentials_sends_a_json_body(sb):
    vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    (req,) = _token_requests(sb)
    assert req.method == "POST"
    assert req.content_type.startswith("application/json")
    body = json.loads(req.body)
    assert body["grant_type"] == "client_credentials"
    assert body["client_id"] == sb.credentials("vitalera")["client_id"]
    assert "client_secret" in body
    assert "Authorization" not in req.headers  # no Basic header: the docs put them in the body


def test_password_grant_copes_without_token_type_and_expires_in(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    tok = s.token
    assert tok.token_type == "Bearer"
    assert tok.refresh_token and tok.id_token and tok.sub
    # expiry learnt from the JWT's exp claim, since the answer has no expires_in
    assert tok.expires_at is not None
    assert 3000 < tok.expires_in() <= 3600
    body = json.loads(_token_requests(sb)[0].body)
    assert body == {"grant_type": "password", "username": body["username"], "password": "***"}


def test_get_plans_follows_every_page(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    sb.page_size = 5
    df = s.get("/api/plans/")
    raw = s.get_json("/api/plans/")
    assert len(df) == raw["count"]
    assert df.attrs["pages"] == -(-raw["count"] // 5)
    assert df["id"].is_unique
    assert df.attrs["source_url"].endswith("/vitalera/api/plans/")
    assert df.attrs["fetched_at"].tzinfo is not None


def test_nested_objects_become_dotted_columns(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    df = s.get("/api/monitoreds/1/observations/")
    assert "observation_definition.observation_name" in df.columns
    assert not any(isinstance(v, dict) for v in df.iloc[0].tolist())


def test_locally_expired_token_is_renewed_before_the_request(sb):
    sb.token_ttl = 2
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    first = s.token
    sb.token_ttl = 3600
    time.sleep(max(0.0, first.expires_in() - 0.3))
    # within the leeway: the next call fetches a new token first, no 401 is seen
    s.get_json("/api/plans/")
    assert s.token.access_token != first.access_token
    assert not [r for r in sb.requests if r.status == 401]


def test_server_401_expired_token_is_renewed_and_replayed(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    sb.token_ttl = 1
    s.login()  # a token that the server will consider expired in one second
    # pretend our clock does not know: drop the local expiry
    s.auth.set_token(vc.Token(access_token=s.token.access_token), save=False)
    time.sleep(1.2)
    sb.token_ttl = 3600
    sb.clear_requests()
    data = s.get_json("/api/plans/")
    assert data["count"] > 0
    statuses = [(r.path.rsplit("/vitalera", 1)[-1], r.status) for r in sb.requests]
    assert statuses == [("/api/plans/", 401), ("/api/auth/tokens/", 200), ("/api/plans/", 200)]


def test_refresh_uses_bearer_header_and_json_body_and_adopts_new_refresh_token(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    old = s.token
    sb.clear_requests()
    new = s.refresh()
    (req,) = sb.requests
    assert req.path.endswith("/api/auth/tokens/refresh/")
    assert req.headers["Authorization"].startswith("Bearer ")
    assert req.content_type.startswith("application/json")
    assert set(json.loads(req.body)) == {"refresh_token"}
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token  # the rotated one is adopted
    s.refresh()  # and works again: the old one would be refused


def test_refresh_with_an_expired_access_token(sb):
    sb.token_ttl = 1
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    time.sleep(1.2)
    sb.token_ttl = 3600
    sb.clear_requests()
    assert s.get_json("/api/plans/")["count"] > 0
    paths = [r.path.rsplit("/vitalera", 1)[-1] for r in sb.requests]
    assert paths == ["/api/auth/tokens/refresh/", "/api/plans/"]


def test_refused_refresh_token_falls_back_to_the_password_grant(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    stale = s.token
    s.refresh()  # burns stale.refresh_token
    s.auth.set_token(stale, save=False)
    s.refresh()
    paths = [r.path.rsplit("/vitalera", 1)[-1] for r in sb.requests][-2:]
    assert paths == ["/api/auth/tokens/refresh/", "/api/auth/tokens/"]
    assert s.validate()


def test_expired_with_no_way_to_renew_raises_token_expired(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    s.auth.credentials.forget()  # as if typed into the panel: not kept
    s.auth.set_token(vc.Token(access_token=s.token.access_token, expires_at=None), save=False)
    sb.reset()  # server forgets nothing about signatures, but we force a 401 below
    sb.fail_next(2, status=401, path="/vitalera/api/plans/")
    with pytest.raises(vc.TokenExpiredError, match="VITALERA_CLIENT_ID"):
        s.get_json("/api/plans/")


def test_validate_asks_the_provider(sb):
    sb.token_ttl = 2
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    assert s.validate() is True
    assert sb.requests[-1].path.endswith("/api/auth/tokens/validate/")
    time.sleep(2.2)
    assert s.validate() is False


def test_rotation_switches_at_once_and_writes_the_env_file(sb, isolated_user):
    creds = sb.credentials("vitalera")
    env = isolated_user / ".env"
    env.write_text(
        "# my settings\n"
        f"VITALERA_BASE_URL={creds['base_url']}\n"
        f"VITALERA_CLIENT_ID={creds['client_id']}\n"
        f"VITALERA_CLIENT_SECRET={creds['client_secret']}\n"
        f"VITALERA_APPLICATION_ID={creds['application_id']}\n"
        "OTHER=untouched value\n"
    )
    os.chmod(env, 0o640)
    s = vc.connect("vitalera", cache=False)
    result = s.rotate_credentials(env_file=env)
    assert result["client_id"] != creds["client_id"]
    assert result["client_secret"] not in repr(result)
    assert set(result) == {
        "id",
        "name",
        "organization",
        "client_id",
        "client_secret",
        "application_types",
    }
    # the file now holds the new pair, the rest untouched, its mode kept
    values = dotenv_values(env)
    assert values["VITALERA_CLIENT_ID"] == result["client_id"]
    assert values["VITALERA_CLIENT_SECRET"] == result["client_secret"]
    assert values["OTHER"] == "untouched value"
    assert env.read_text().startswith("# my settings\n")
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    # the old credentials are dead at the server...
    with pytest.raises(vc.AuthenticationError):
        vc.connect("vitalera", cache=False, **creds)
    # ...and the session uses the new ones for the grant again
    s.refresh()
    sent = json.loads(sb.requests[-1].body)
    assert sent["client_id"] == result["client_id"]
    # a fresh kernel reading the .env works
    assert vc.connect("vitalera", cache=False).is_authenticated


def test_rotation_write_failure_keeps_the_new_credentials(sb, tmp_path):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    env = tmp_path / "no-such-folder" / ".env"  # a typo in the path: the write must fail
    with pytest.raises(vc.CredentialsNotSavedError) as info:
        s.rotate_credentials(env_file=env)
    err = info.value
    new_secret = err.credentials["client_secret"]
    assert new_secret not in str(err) + repr(err)
    assert err.fallback_path and err.fallback_path in str(err)
    assert stat.S_IMODE(os.stat(err.fallback_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(err.fallback_path)).st_mode) == 0o700
    assert dotenv_values(err.fallback_path)["VITALERA_CLIENT_SECRET"] == new_secret
    s.refresh()  # the session already uses them
    assert json.loads(sb.requests[-1].body)["client_id"] == err.credentials["client_id"]


def test_rotation_needs_an_application_id(sb):
    creds = sb.credentials("vitalera")
    creds.pop("application_id")
    s = vc.connect("vitalera", cache=False, **creds)
    with pytest.raises(vc.MissingCredentialsError, match="VITALERA_APPLICATION_ID"):
        s.rotate_credentials()


def test_rotation_is_not_supported_elsewhere(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    with pytest.raises(vc.NotSupportedError):
        s.rotate_credentials("x")


def test_api_errors_carry_the_provider_error_type(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    with pytest.raises(vc.APIError) as info:
        s.get_json("/api/plans/", params={"page": 999})
    assert info.value.status_code == 404
    assert info.value.error_type == "not_found"
    assert "Invalid page" in str(info.value)


def test_a_short_lived_token_is_not_renewed_on_every_call(sb):
    sb.token_ttl = 30  # shorter than the default 45 s leeway: a quarter of it is used
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    sb.clear_requests()
    for _ in range(5):
        s.get_json("/api/plans/", params={"page_size": 1})
    assert not [r for r in sb.requests if r.path.endswith("/api/auth/tokens/")]
    assert s.renewals == 0
