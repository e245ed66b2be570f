"""The sandbox's vitalera, driven with plain requests against seeds 000/001."""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime

import jwt
import pytest
import requests

from vital_connect import sandbox

T = 5
EXPIRED = {"errors": [{"errorType": "expired_token", "message": "Access token expired"}]}


def url(sb, path: str) -> str:
    return sb.base_url("vitalera") + path


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def client_token(sb, client_id=sandbox.VITALERA_CLIENT_ID, secret=sandbox.VITALERA_CLIENT_SECRET):
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return requests.post(url(sb, "/api/auth/tokens/"), json=body, timeout=T)


def password_tokens(sb) -> dict:
    body = {
        "grant_type": "password",
        "username": sandbox.VITALERA_USERNAME,
        "password": sandbox.VITALERA_PASSWORD,
    }
    r = requests.post(url(sb, "/api/auth/tokens/"), json=body, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()


def error_types(r: requests.Response) -> list[str]:
    body = r.json()
    assert set(body) == {"errors"}
    assert all(set(e) == {"errorType", "message"} for e in body["errors"])
    return [e["errorType"] for e in body["errors"]]


# tokens


def test_client_credentials_grant_returns_exactly_the_documented_body(sb):
    r = client_token(sb)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    c = claims(body["access_token"])
    assert c["iss"] == "vitalera"
    assert c["typ"] == "access"
    assert c["sub"] == sandbox.VITALERA_CLIENT_ID
    assert c["exp"] - c["iat"] == 3600
    assert c["jti"]


def test_password_grant_returns_exactly_the_documented_body(sb):
    body = password_tokens(sb)
    assert set(body) == {"id_token", "access_token", "refresh_token", "sub"}
    assert body["sub"] == sandbox.VITALERA_USER_ID
    kinds = {name: claims(body[name]) for name in ("id_token", "access_token", "refresh_token")}
    assert {n: c["typ"] for n, c in kinds.items()} == {
        "id_token": "id",
        "access_token": "access",
        "refresh_token": "refresh",
    }
    assert all(c["sub"] == sandbox.VITALERA_USER_ID for c in kinds.values())
    access = kinds["access_token"]
    assert access["exp"] - access["iat"] == 3600  # no expires_in in the body, but in the JWT


def test_token_ttl_applies_to_tokens_issued_after_the_change(sb):
    sb.token_ttl = 120
    body = client_token(sb).json()
    assert body["expires_in"] == 120
    c = claims(body["access_token"])
    assert c["exp"] - c["iat"] == 120
    c = claims(password_tokens(sb)["access_token"])
    assert c["exp"] - c["iat"] == 120


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded",
         f"grant_type=client_credentials&client_id={sandbox.VITALERA_CLIENT_ID}"
         f"&client_secret={sandbox.VITALERA_CLIENT_SECRET}"),
        ("text/plain", '{"grant_type": "client_credentials"}'),
        ("multipart/form-data; boundary=x", "--x--"),
    ],
)  # fmt: skip
def test_token_endpoint_refuses_a_non_json_body_with_415(sb, content_type, body):
    headers = {"Content-Type": content_type}
    r = requests.post(url(sb, "/api/auth/tokens/"), data=body, headers=headers, timeout=T)
    assert r.status_code == 415
    assert error_types(r) == ["unsupported_media_type"]
    assert content_type in r.json()["errors"][0]["message"]


def test_wrong_client_secret_is_401_invalid_credentials(sb):
    r = client_token(sb, secret="sbx-vitalera-secret-wrong")
    assert r.status_code == 401
    assert error_types(r) == ["invalid_credentials"]


def test_wrong_password_is_401_invalid_credentials(sb):
    body = {"grant_type": "password", "username": sandbox.VITALERA_USERNAME, "password": "nope"}
    r = requests.post(url(sb, "/api/auth/tokens/"), json=body, timeout=T)
    assert r.status_code == 401
    assert error_types(r) == ["invalid_credentials"]


def test_each_missing_field_is_listed(sb):
    r = requests.post(
        url(sb, "/api/auth/tokens/"), json={"grant_type": "client_credentials"}, timeout=T
    )
    assert r.status_code == 400
    assert error_types(r) == ["validation_error", "validation_error"]
    messages = [e["message"] for e in r.json()["errors"]]
    assert messages[0].startswith("client_id") and messages[1].startswith("client_secret")
    r = requests.post(url(sb, "/api/auth/tokens/"), json={}, timeout=T)
    assert r.status_code == 400
    assert "grant_type" in r.json()["errors"][0]["message"]


def test_unknown_grant_and_bad_json_are_400(sb):
    r = requests.post(url(sb, "/api/auth/tokens/"), json={"grant_type": "magic"}, timeout=T)
    assert r.status_code == 400
    assert error_types(r) == ["unsupported_grant_type"]
    r = requests.post(
        url(sb, "/api/auth/tokens/"),
        data='{"grant_type": ',
        headers={"Content-Type": "application/json"},
        timeout=T,
    )
    assert r.status_code == 400
    assert error_types(r) == ["parse_error"]


# validate, expiry


def test_validate_answers_for_a_valid_token_and_refuses_others(sb):
    token = client_token(sb).json()["access_token"]
    r = requests.get(url(sb, "/api/auth/tokens/validate/"), headers=bearer(token), timeout=T)
    assert r.status_code == 200
    assert r.json() == {
        "valid": True,
        "sub": sandbox.VITALERA_CLIENT_ID,
        "exp": claims(token)["exp"],
    }

    r = requests.get(url(sb, "/api/auth/tokens/validate/"), timeout=T)
    assert r.status_code == 401
    assert error_types(r) == ["not_authenticated"]
    r = requests.get(
        url(sb, "/api/auth/tokens/validate/"), headers=bearer("abc.def.ghi"), timeout=T
    )
    assert r.status_code == 401
    assert error_types(r) == ["invalid_token"]


def test_a_token_from_another_provider_is_refused(sb):
    form = {"username": sandbox.VIDAPLUS_USERNAME, "password": sandbox.VIDAPLUS_PASSWORD}
    foreign = requests.post(sb.base_url("vidaplus") + "/auth/token/", data=form, timeout=T)
    token = foreign.json()["access_token"]
    r = requests.get(url(sb, "/api/plans/"), headers=bearer(token), timeout=T)
    assert r.status_code == 401
    assert error_types(r) == ["invalid_token"]


def test_an_id_or_refresh_token_is_not_an_access_token(sb):
    tokens = password_tokens(sb)
    for name in ("id_token", "refresh_token"):
        r = requests.get(url(sb, "/api/plans/"), headers=bearer(tokens[name]), timeout=T)
        assert r.status_code == 401, name


def test_expired_token_gets_exactly_the_documented_401(sb):
    sb.token_ttl = 1
    token = client_token(sb).json()["access_token"]
    time.sleep(1.1)
    for path in ("/api/plans/", "/api/auth/tokens/validate/", "/api/monitoreds/1/observations/"):
        r = requests.get(url(sb, path), headers=bearer(token), timeout=T)
        assert r.status_code == 401
        assert r.json() == EXPIRED


# refresh


def test_refresh_with_an_expired_access_token_and_single_use_refresh_tokens(sb):
    sb.token_ttl = 1
    first = password_tokens(sb)
    time.sleep(1.1)
    assert (
        requests.get(
            url(sb, "/api/plans/"), headers=bearer(first["access_token"]), timeout=T
        ).json()
        == EXPIRED
    )
    sb.token_ttl = 3600

    def refresh(access, refresh_token):
        return requests.post(
            url(sb, "/api/auth/tokens/refresh/"),
            json={"refresh_token": refresh_token},
            headers=bearer(access),
            timeout=T,
        )

    r = refresh(first["access_token"], first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert set(second) == {"id_token", "access_token", "refresh_token", "sub"}
    assert second["sub"] == first["sub"]
    assert second["refresh_token"] != first["refresh_token"]
    plans = requests.get(url(sb, "/api/plans/"), headers=bearer(second["access_token"]), timeout=T)
    assert plans.status_code == 200

    again = refresh(second["access_token"], first["refresh_token"])  # the used one
    assert again.status_code == 401
    assert error_types(again) == ["invalid_grant"]
    assert refresh(second["access_token"], second["refresh_token"]).status_code == 200

    # The wire format, as recorded: Bearer header and a JSON body with a refresh_token key.
    sent = next(q for q in sb.requests if q.path == "/vitalera/api/auth/tokens/refresh/")
    assert sent.method == "POST"
    assert sent.headers["Authorization"] == "Bearer ***"
    assert sent.content_type == "application/json"
    assert json.loads(sent.body) == {"refresh_token": "***"}
    assert sent.status == 200


def test_refresh_needs_a_genuine_bearer_token_of_the_same_subject(sb):
    tokens = password_tokens(sb)
    endpoint = url(sb, "/api/auth/tokens/refresh/")
    body = {"refresh_token": tokens["refresh_token"]}
    r = requests.post(endpoint, json=body, timeout=T)
    assert r.status_code == 401
    assert error_types(r) == ["not_authenticated"]
    r = requests.post(endpoint, json=body, headers=bearer("forged.token.value"), timeout=T)
    assert error_types(r) == ["invalid_token"]
    # A client-credentials token names the application, not this user.
    other = client_token(sb).json()["access_token"]
    r = requests.post(endpoint, json=body, headers=bearer(other), timeout=T)
    assert r.status_code == 401
    assert error_types(r) == ["invalid_grant"]
    r = requests.post(endpoint, data=body, headers=bearer(tokens["access_token"]), timeout=T)
    assert r.status_code == 415
    r = requests.post(endpoint, json={}, headers=bearer(tokens["access_token"]), timeout=T)
    assert r.status_code == 400
    # The refused attempts did not use the refresh token up.
    r = requests.post(endpoint, json=body, headers=bearer(tokens["access_token"]), timeout=T)
    assert r.status_code == 200


# rotation


def test_rotation_returns_the_documented_body_and_kills_the_old_credentials(sb):
    token = client_token(sb).json()["access_token"]
    r = requests.post(
        url(sb, "/api/applications/rotate_credentials/"),
        json={"application_id": sandbox.VITALERA_APPLICATION_ID},
        headers=bearer(token),
        timeout=T,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == [
        "id", "name", "organization", "client_id", "client_secret", "application_types",
    ]  # fmt: skip
    assert body["id"] == sandbox.VITALERA_APPLICATION_ID
    assert body["name"] == "TestApp"
    assert body["organization"] == "123"
    assert body["application_types"] == ["API"]
    assert body["client_id"] != sandbox.VITALERA_CLIENT_ID
    assert body["client_secret"] != sandbox.VITALERA_CLIENT_SECRET
    assert body["client_secret"].startswith("sbx-vitalera-secret-")

    old = client_token(sb)
    assert old.status_code == 401
    assert error_types(old) == ["invalid_credentials"]
    assert client_token(sb, body["client_id"], body["client_secret"]).status_code == 200
    creds = sb.credentials("vitalera")
    assert (creds["client_id"], creds["client_secret"]) == (
        body["client_id"],
        body["client_secret"],
    )
    # A token issued before the rotation still works: the credentials changed, not the tokens.
    assert requests.get(url(sb, "/api/plans/"), headers=bearer(token), timeout=T).status_code == 200


def test_rotation_errors(sb):
    token = client_token(sb).json()["access_token"]
    endpoint = url(sb, "/api/applications/rotate_credentials/")
    r = requests.post(endpoint, json={"application_id": "nope"}, headers=bearer(token), timeout=T)
    assert r.status_code == 404
    assert error_types(r) == ["not_found"]
    app = {"application_id": sandbox.VITALERA_APPLICATION_ID}
    r = requests.post(endpoint, json=app, timeout=T)
    assert r.status_code == 401
    r = requests.post(endpoint, data=app, headers=bearer(token), timeout=T)
    assert r.status_code == 415
    assert error_types(r) == ["unsupported_media_type"]
    assert client_token(sb).status_code == 200  # nothing was rotated


# data


def walk(sb, first_url: str, token: str) -> tuple[list[dict], list[dict]]:
    """Follow next links to the end; return the pages and all results."""
    pages, results, link = [], [], first_url
    while link:
        r = requests.get(link, headers=bearer(token), timeout=T)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"count", "next", "previous", "results"}
        pages.append(page)
        results.extend(page["results"])
        link = page["next"]
    return pages, results


def test_plans_pagination_links_lead_to_the_end_and_counts_add_up(sb):
    token = client_token(sb).json()["access_token"]
    pages, results = walk(sb, url(sb, "/api/plans/?page_size=5"), token)
    assert [len(p["results"]) for p in pages] == [5, 5, 2]
    assert all(p["count"] == 12 for p in pages)
    assert [p["id"] for p in results] == list(range(1, 13))
    assert pages[0]["previous"] is None
    assert pages[1]["next"] == url(sb, "/api/plans/?page=3&page_size=5")  # absolute, prefixed
    assert pages[1]["previous"] == url(sb, "/api/plans/?page_size=5")  # DRF drops page=1
    assert pages[2]["previous"] == url(sb, "/api/plans/?page=2&page_size=5")
    assert pages[2]["next"] is None


MONITORED = ["id", "monitored_code", "email", "sex", "birth_date", "deep_link"]
OBSERVATION = ["id", "observation_definition", "category", "value", "value_type",
               "value_unit", "issued", "effective_datetime", "source_id"]  # fmt: skip
UNITS = {  # docs-v2.vitalera.io/fhir-resources/observation, "Observation Types"
    "heart_rate": "bpm", "blood_pressure_systolic": "mmHg", "blood_pressure_diastolic": "mmHg",
    "temperature": "celsius", "oxygen_saturation": "percentage", "weight": "kg",
    "blood_glucose": "mg/dL", "respiratory_rate": "breaths/min",
}  # fmt: skip


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0
    return moment


def test_monitoreds_are_the_documented_patients(sb):
    token = client_token(sb).json()["access_token"]
    pages, results = walk(sb, url(sb, "/api/monitoreds/?page_size=50"), token)
    assert [len(p["results"]) for p in pages] == [50, 50, 20]
    assert pages[0]["count"] == 120 and [m["id"] for m in results] == list(range(1, 121))
    for m in results:
        assert list(m) == MONITORED
        assert re.fullmatch(r"[A-Z0-9]{6}", m["monitored_code"])
        assert m["deep_link"] == f"https://link.vitalera.io/register/{m['monitored_code']}"
        assert m["sex"] in ("female", "male") and "@" in m["email"]
        assert date.fromisoformat(m["birth_date"]).year >= 1935
    assert len({m["monitored_code"] for m in results}) == 120
    one = requests.get(url(sb, "/api/monitoreds/7/"), headers=bearer(token), timeout=T)
    assert one.status_code == 200 and one.json() == results[6]
    r = requests.get(url(sb, "/api/monitoreds/121/"), headers=bearer(token), timeout=T)
    assert r.status_code == 404
    assert r.json() == {"errors": [{"errorType": "not_found", "message": "Not found."}]}


def test_observations_of_a_monitored_and_one_by_id(sb):
    token = client_token(sb).json()["access_token"]
    pages, results = walk(sb, url(sb, "/api/monitoreds/3/observations/"), token)
    assert [len(p["results"]) for p in pages] == [50, 50, 20]  # sb.page_size, 120 each
    ids = [o["id"] for o in results]
    assert ids == list(range(241, 361))  # monitored 3's block
    for o in results:
        assert list(o) == OBSERVATION
        definition = o["observation_definition"]
        assert list(definition) == ["observation_name", "observation_method"]
        assert o["value_unit"] == UNITS[definition["observation_name"]]
        assert isinstance(o["value"], str)  # "value: string"
        number = {"int": int, "float": float}[o["value_type"]](o["value"])
        assert str(number) == o["value"]
        assert o["category"] == "physiological_data" and isinstance(o["source_id"], int)
        assert utc(o["issued"]) >= utc(o["effective_datetime"])
        assert o["issued"].endswith("Z")
    times = [utc(o["effective_datetime"]) for o in results]
    assert times == sorted(times)
    assert {o["value_type"] for o in results} == {"int", "float"}
    one = requests.get(url(sb, "/api/observations/250/"), headers=bearer(token), timeout=T)
    assert one.status_code == 200 and one.json() == results[9]
    for missing in ("/api/observations/0/", "/api/observations/14401/",
                    "/api/monitoreds/999/observations/"):  # fmt: skip
        r = requests.get(url(sb, missing), headers=bearer(token), timeout=T)
        assert r.status_code == 404, missing


def test_create_a_monitored_in_the_organization(sb):
    token = client_token(sb).json()["access_token"]
    endpoint = url(sb, "/api/organizations/123/monitoreds/")
    body = {"email": "new.patient@example.test", "sex": "female", "birth_date": "1985-04-11"}
    r = requests.post(endpoint, json=body, headers=bearer(token), timeout=T)
    assert r.status_code == 201, r.text
    created = r.json()
    assert list(created) == MONITORED
    assert {k: created[k] for k in body} == body
    assert created["deep_link"].endswith("/" + created["monitored_code"])
    mid = created["id"]
    got = requests.get(url(sb, f"/api/monitoreds/{mid}/"), headers=bearer(token), timeout=T)
    assert got.json() == created
    listed = requests.get(url(sb, "/api/monitoreds/?page=last"), headers=bearer(token), timeout=T)
    assert listed.json()["count"] == 121 and listed.json()["results"][-1] == created
    none = requests.get(url(sb, f"/api/monitoreds/{mid}/observations/"), headers=bearer(token),
                        timeout=T)  # fmt: skip
    assert none.json()["count"] == 0

    again = requests.post(endpoint, json=body, headers=bearer(token), timeout=T)
    assert again.status_code == 400 and error_types(again) == ["validation_error"]
    bad = {"email": "x@example.test", "sex": "robot", "birth_date": "11/04/1985"}
    r = requests.post(endpoint, json=bad, headers=bearer(token), timeout=T)
    assert r.status_code == 400 and error_types(r) == ["validation_error"] * 2
    r = requests.post(endpoint, json={}, headers=bearer(token), timeout=T)
    assert r.status_code == 400 and "email" in r.json()["errors"][0]["message"]
    other = url(sb, "/api/organizations/999/monitoreds/")
    assert requests.post(other, json=body, headers=bearer(token), timeout=T).status_code == 404
    assert requests.post(endpoint, json=body, timeout=T).status_code == 401
    sb.reset()
    listed = requests.get(url(sb, "/api/monitoreds/"), headers=bearer(token), timeout=T)
    assert listed.json()["count"] == 120  # reset forgets what was created


def test_plans_list_and_detail(sb):
    token = client_token(sb).json()["access_token"]
    plans = requests.get(url(sb, "/api/plans/"), headers=bearer(token), timeout=T).json()
    first = plans["results"][0]
    assert list(first) == ["id", "name", "status", "activities", "alarms"]
    assert first["status"] in ("active", "inactive")
    kinds = {a["type"] for a in first["activities"]}
    assert kinds == {"questionnaire", "observation"}
    for activity in first["activities"]:
        key = "questionnaire_id" if activity["type"] == "questionnaire" else "observation_name"
        assert set(activity) == {"type", key, "timing"}
    assert all(a["min_value"] < a["max_value"] for a in first["alarms"])
    detail = requests.get(url(sb, "/api/plans/5/"), headers=bearer(token), timeout=T)
    assert detail.json() == plans["results"][4]
    assert (
        requests.get(url(sb, "/api/plans/13/"), headers=bearer(token), timeout=T).status_code == 404
    )


@pytest.mark.parametrize("path", ["/api/patients/", "/api/measurements/"])
def test_invented_endpoints_are_gone(sb, path):
    token = client_token(sb).json()["access_token"]
    r = requests.get(url(sb, path), headers=bearer(token), timeout=T)
    assert r.status_code == 404 and error_types(r) == ["not_found"]


def test_page_size_setting_cap_last_and_invalid_pages(sb):
    token = client_token(sb).json()["access_token"]
    sb.rows["observations"] = 2500

    def get(query):
        path = f"/api/monitoreds/1/observations/{query}"
        return requests.get(url(sb, path), headers=bearer(token), timeout=T)

    sb.page_size = 7
    assert len(get("").json()["results"]) == 7
    assert len(get("?page_size=5000").json()["results"]) == 1000  # max_page_size
    last = get("?page=last&page_size=1000").json()
    assert last["next"] is None and len(last["results"]) == 500
    for bad in ("?page=999", "?page=0", "?page=abc"):
        r = get(bad)
        assert r.status_code == 404, bad
        assert r.json() == {"errors": [{"errorType": "not_found", "message": "Invalid page."}]}


def test_data_is_deterministic_and_sized_by_rows(sb):
    token = client_token(sb).json()["access_token"]
    page = url(sb, "/api/monitoreds/?page=2")
    first = requests.get(page, headers=bearer(token), timeout=T).json()
    again = requests.get(page, headers=bearer(token), timeout=T).json()
    assert first == again
    sb.rows.update({"plans": 3, "monitoreds": 4, "observations": 5})
    plans = requests.get(url(sb, "/api/plans/"), headers=bearer(token), timeout=T).json()
    assert plans["count"] == 3 and len(plans["results"]) == 3
    monitoreds = requests.get(url(sb, "/api/monitoreds/"), headers=bearer(token), timeout=T)
    assert monitoreds.json()["count"] == 4
    obs = requests.get(url(sb, "/api/monitoreds/4/observations/"), headers=bearer(token), timeout=T)
    assert [o["id"] for o in obs.json()["results"]] == [16, 17, 18, 19, 20]


def test_data_needs_a_token_and_unknown_paths_use_the_error_shape(sb):
    r = requests.get(url(sb, "/api/plans/"), timeout=T)
    assert r.status_code == 401
    assert error_types(r) == ["not_authenticated"]
    r = requests.get(url(sb, "/api/nothing-here/"), timeout=T)
    assert r.status_code == 404
    assert error_types(r) == ["not_found"]
    r = requests.get(url(sb, "/api/auth/tokens/"), timeout=T)
    assert r.status_code == 405
    assert error_types(r) == ["method_not_allowed"]
