"""The sandbox's vidaplus, driven with plain requests against seed 002."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from vital_connect import sandbox

T = 5
FORM = {"username": sandbox.VIDAPLUS_USERNAME, "password": sandbox.VIDAPLUS_PASSWORD}


def url(sb, path: str) -> str:
    return sb.base_url("vidaplus") + path


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(sb, **form) -> requests.Response:
    return requests.post(url(sb, "/auth/token/"), data=form or FORM, timeout=T)


def token(sb) -> str:
    r = login(sb)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def missing(field: str) -> dict:
    return {"type": "missing", "loc": ["body", field], "msg": "Field required", "input": None}


def test_token_is_a_jwt_whose_sub_is_the_email(sb):
    r = login(sb)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == sandbox.VIDAPLUS_USERNAME
    assert claims["iss"] == "vidaplus"
    assert claims["exp"] - claims["iat"] == 3600


def test_optional_oauth2_form_fields_are_accepted(sb):
    r = login(
        sb, **FORM, grant_type="password", scope="me records", client_id="x", client_secret="y"
    )
    assert r.status_code == 200
    assert r.json()["token_type"] == "bearer"


def test_wrong_password_is_401_with_a_bearer_challenge(sb):
    r = login(sb, username=sandbox.VIDAPLUS_USERNAME, password="wrong")
    assert r.status_code == 401
    assert r.json() == {"detail": "Incorrect username or password"}
    assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({}, ["username", "password"]),
        ({"username": sandbox.VIDAPLUS_USERNAME}, ["password"]),
        # FastAPI counts an empty form value as missing
        ({"username": sandbox.VIDAPLUS_USERNAME, "password": ""}, ["password"]),
    ],
)  # fmt: skip
def test_missing_fields_are_422_in_fastapi_shape(sb, form, fields):
    r = requests.post(url(sb, "/auth/token/"), data=form, timeout=T)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(f) for f in fields]}


def test_a_json_body_leaves_the_form_fields_missing(sb):
    r = requests.post(url(sb, "/auth/token/"), json=FORM, timeout=T)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing("username"), missing("password")]}


def test_grant_type_other_than_password_is_422(sb):
    r = login(sb, **FORM, grant_type="client_credentials")
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["type"] == "string_pattern_mismatch"
    assert error["loc"] == ["body", "grant_type"]
    assert error["input"] == "client_credentials"
    assert set(error) == {"type", "loc", "msg", "input", "ctx"}


def test_refresh_with_the_current_token_returns_a_new_one(sb):
    old = token(sb)
    r = requests.post(url(sb, "/auth/refresh/"), headers=bearer(old), timeout=T)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    assert body["access_token"] != old
    new = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert new["sub"] == sandbox.VIDAPLUS_USERNAME
    me = requests.get(url(sb, "/users/me/"), headers=bearer(body["access_token"]), timeout=T)
    assert me.status_code == 200


def test_refresh_is_refused_once_expired_or_without_a_token(sb):
    r = requests.post(url(sb, "/auth/refresh/"), timeout=T)
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    assert r.headers["WWW-Authenticate"] == "Bearer"
    sb.token_ttl = 1
    old = token(sb)
    time.sleep(1.1)
    for method, path in (("POST", "/auth/refresh/"), ("GET", "/users/me/"), ("GET", "/records/")):
        r = requests.request(method, url(sb, path), headers=bearer(old), timeout=T)
        assert r.status_code == 401, path
        assert r.json() == {"detail": "Could not validate credentials"}
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_users_me_is_the_current_user(sb):
    r = requests.get(url(sb, "/users/me/"), headers=bearer(token(sb)), timeout=T)
    assert r.status_code == 200
    user = r.json()
    assert set(user) == {"id", "email", "full_name", "is_active", "organization"}
    assert user["email"] == sandbox.VIDAPLUS_USERNAME
    assert user["is_active"] is True
    assert {"id", "name"} <= set(user["organization"])


def test_records_are_a_plain_list_paged_by_skip_and_limit(sb):
    auth = bearer(token(sb))
    first = requests.get(url(sb, "/records/"), headers=auth, timeout=T).json()
    assert isinstance(first, list) and len(first) == 100  # FastAPI tutorial default limit
    record = first[0]
    assert {"id", "kind", "value", "unit", "recorded_at", "source", "owner"} <= set(record)
    assert isinstance(record["source"], dict) and isinstance(record["owner"], dict)
    assert record["owner"]["email"] == sandbox.VIDAPLUS_USERNAME

    ids, skip = [], 0
    while True:
        page = requests.get(
            url(sb, "/records/"), params={"skip": skip, "limit": 70}, headers=auth, timeout=T
        ).json()
        if not page:
            break
        ids += [r["id"] for r in page]
        skip += len(page)
    assert ids == list(range(1, 301))


def test_records_query_validation_and_lookup(sb):
    auth = bearer(token(sb))
    r = requests.get(url(sb, "/records/?skip=abc"), headers=auth, timeout=T)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert (error["type"], error["loc"], error["input"]) == (
        "int_parsing",
        ["query", "skip"],
        "abc",
    )
    r = requests.get(url(sb, "/records/?limit=0"), headers=auth, timeout=T)
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "greater_than_equal"
    r = requests.get(url(sb, "/records/7"), headers=auth, timeout=T)
    assert r.status_code == 200 and r.json()["id"] == 7
    r = requests.get(url(sb, "/records/100000"), headers=auth, timeout=T)
    assert r.status_code == 404
    assert r.json() == {"detail": "Record not found"}


def test_a_vitalera_token_is_refused(sb):
    body = {
        "grant_type": "client_credentials",
        "client_id": sandbox.VITALERA_CLIENT_ID,
        "client_secret": sandbox.VITALERA_CLIENT_SECRET,
    }
    foreign = requests.post(sb.base_url("vitalera") + "/api/auth/tokens/", json=body, timeout=T)
    r = requests.get(
        url(sb, "/users/me/"), headers=bearer(foreign.json()["access_token"]), timeout=T
    )
    assert r.status_code == 401
    assert r.json() == {"detail": "Could not validate credentials"}


def test_unknown_path_is_fastapi_404(sb):
    r = requests.get(url(sb, "/nothing/"), timeout=T)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
