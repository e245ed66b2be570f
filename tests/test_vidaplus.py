"""vidaplus: form password grant, FastAPI errors, refresh before expiry, plain list data."""

from __future__ import annotations

import time

import pytest

import vital_connect as vc


def test_form_password_grant(sb):
    creds = sb.credentials("vidaplus")
    s = vc.connect("vidaplus", cache=False, **creds)
    req = next(r for r in sb.requests if r.path.endswith("/auth/token/"))
    assert req.content_type.startswith("application/x-www-form-urlencoded")
    assert "username=" in req.body and "password=" in req.body
    assert s.token.sub == creds["username"]  # the JWT's sub is the email
    assert s.token.token_type.lower() == "bearer"
    assert s.token.expires_at is not None  # from the JWT's exp


def test_wrong_password_is_authentication_error(sb):
    creds = sb.credentials("vidaplus") | {"password": "nope-nope-nope"}
    with pytest.raises(vc.AuthenticationError, match="Incorrect email or password"):
        vc.connect("vidaplus", cache=False, **creds)


def test_422_is_validation_error_listing_the_fields(sb):
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    # A form field the server rejects: grant_type must be "password" (FastAPI's form model)
    response = s.request("POST", "/auth/token/", data={"grant_type": "x"})
    err = s.dialect.error(response, "vidaplus")
    assert isinstance(err, vc.ValidationError)
    fields = {e["field"] for e in err.errors}
    assert {"username", "password"} <= fields
    assert "username" in str(err)


def test_data_list_and_current_user(sb):
    creds = sb.credentials("vidaplus")
    s = vc.connect("vidaplus", cache=False, **creds)
    df = s.get("/pacientes/")
    raw = s.get_json("/pacientes/")  # one page: the app's default limit of 100
    assert set(raw) == {"pacientes"} and len(raw["pacientes"]) == 100
    assert len(df) == sb.rows["pacientes"] > 100  # every page, offset by offset
    assert df["id"].is_unique
    offsets = [r.query.get("offset") for r in sb.requests if r.path.endswith("/pacientes/")]
    assert offsets[:3] == ["0", "100", "200"]
    # no /users/me/: who is logged in is the token's sub (the e-mail)
    assert s.userinfo()["sub"] == creds["username"]
    one = s.get(f"/pacientes/{int(df.loc[0, 'id'])}")
    assert len(one) == 1 and one.loc[0, "id"] == df.loc[0, "id"]


def test_renewal_before_expiry_uses_the_refresh_endpoint(sb):
    sb.token_ttl = 4  # leeway: a quarter of the lifetime (3-4 s: its JWT has no iat)
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    first = s.token
    sb.token_ttl = 3600
    time.sleep(max(0.0, first.expires_in() - 0.65))  # renewal is due, the token still valid
    assert first.is_expired() and not first.is_expired(leeway=0.5)
    sb.clear_requests()
    s.get_json("/leitos/")
    paths = [r.path.rsplit("/vidaplus", 1)[-1] for r in sb.requests]
    assert paths == ["/auth/token/refresh_token", "/leitos/"]
    assert sb.requests[0].headers["Authorization"].startswith("Bearer ")
    assert s.token.access_token != first.access_token


def test_after_expiry_the_password_grant_runs_again(sb):
    sb.token_ttl = 1
    s = vc.connect("vidaplus", cache=False, **sb.credentials("vidaplus"))
    time.sleep(1.2)
    sb.token_ttl = 3600
    sb.clear_requests()
    s.get_json("/leitos/")
    paths = [r.path.rsplit("/vidaplus", 1)[-1] for r in sb.requests]
    assert paths == ["/auth/token/", "/leitos/"]
