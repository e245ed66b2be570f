"""The sandbox's VitalDB OAuth2 API (seed 003), driven with plain requests."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from vital_connect import sandbox

T = 5
REDIRECT = sandbox.VITALDB_REDIRECT_URI


def url(sb, path: str) -> str:
    return sb.base_url("vitaldb") + path


class FormParser(HTMLParser):
    """The login page's form: its attributes and its inputs (name -> attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict = {}
        self.inputs: dict[str, dict] = {}
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "form":
            self.form = attrs
        elif tag in ("input", "button") and "name" in attrs:
            self.inputs[attrs["name"]] = attrs


def parse_form(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


def open_login(sb, **params) -> requests.Response:
    query = {"client_id": sandbox.VITALDB_CLIENT_ID, "redirect_uri": REDIRECT, **params}
    return requests.get(url(sb, "/oauth2/login"), params=query, timeout=T)


def submit(sb, page: requests.Response, userid: str, password: str) -> requests.Response:
    """Fill in the form as a browser would: hidden fields as served, action resolved."""
    form = parse_form(page.text)
    fields = {n: a.get("value", "") for n, a in form.inputs.items() if a.get("type") == "hidden"}
    fields |= {"id": userid, "pw": password}
    target = urljoin(page.url, form.form["action"])
    return requests.post(target, data=fields, allow_redirects=False, timeout=T)


def get_code(sb, **params) -> tuple[str, dict]:
    r = submit(sb, open_login(sb, **params), sandbox.VITALDB_USERNAME, sandbox.VITALDB_PASSWORD)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    return query["code"][0], query


def exchange(sb, code: str, secret: str = sandbox.VITALDB_CLIENT_SECRET) -> requests.Response:
    form = {"code": code, "client_id": sandbox.VITALDB_CLIENT_ID, "client_secret": secret}
    return requests.post(url(sb, "/oauth2/token"), data=form, timeout=T)


def password_token(sb) -> str:
    form = {"id": sandbox.VITALDB_USERNAME, "pw": sandbox.VITALDB_PASSWORD}
    r = requests.post(url(sb, "/oauth2/token"), data=form, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


# login page


def test_login_page_is_a_form_a_person_fills_in(sb):
    r = open_login(sb, state="xyz")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    form = parse_form(r.text)
    assert form.form["id"] == "vitaldb-login"
    assert form.form["method"] == "post"
    action = form.form["action"]
    assert not action.startswith(("/", "http")), "relative, for path-rewriting proxies"
    assert form.inputs["id"]["id"] == "vitaldb-id"
    assert form.inputs["pw"]["type"] == "password"
    assert {"vitaldb-submit", "vitaldb-id", "vitaldb-pw"} <= form.ids
    hidden = {n: a["value"] for n, a in form.inputs.items() if a.get("type") == "hidden"}
    assert hidden == {
        "client_id": sandbox.VITALDB_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "xyz",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "someone-else", "redirect_uri": REDIRECT},
        {"client_id": sandbox.VITALDB_CLIENT_ID},
        {"redirect_uri": REDIRECT},
    ],
)
def test_login_page_refuses_unknown_client_or_missing_redirect(sb, params):
    r = requests.get(url(sb, "/oauth2/login"), params=params, timeout=T)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<form" not in r.text


def test_login_round_trip_redirects_with_code_and_the_exact_state(sb):
    state = "a b/c+d=é&x"  # needs encoding both ways
    code, query = get_code(sb, state=state)
    assert query["state"] == [state]
    r = exchange(sb, code)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert r.headers["Content-Type"] == "application/json"


def test_redirect_keeps_redirect_uri_params_and_omits_state_when_not_given(sb):
    r = submit(
        sb,
        open_login(sb, redirect_uri="http://127.0.0.1:9/cb?session=42"),
        sandbox.VITALDB_USERNAME,
        sandbox.VITALDB_PASSWORD,
    )
    location = urlsplit(r.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:9", "/cb")
    query = parse_qs(location.query)
    assert set(query) == {"session", "code"}
    assert query["session"] == ["42"]


def test_wrong_password_shows_the_form_again_with_an_error(sb):
    r = submit(sb, open_login(sb, state="s1"), sandbox.VITALDB_USERNAME, "wrong")
    assert r.status_code == 401
    form = parse_form(r.text)
    assert "vitaldb-error" in form.ids
    assert form.inputs["state"]["value"] == "s1"
    assert "Location" not in r.headers


# token endpoint


def test_codes_are_single_use(sb):
    code, _ = get_code(sb)
    assert exchange(sb, code).status_code == 200
    again = exchange(sb, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert set(again.json()) == {"error", "error_description"}


def test_codes_expire_after_code_ttl(sb):
    sb.code_ttl = 1
    code, _ = get_code(sb)
    time.sleep(1.1)
    r = exchange(sb, code)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_default_code_ttl_is_the_documented_three_minutes(sb):
    assert sb.code_ttl == 180


def test_wrong_client_secret_is_invalid_client(sb):
    code, _ = get_code(sb)
    r = exchange(sb, code, secret="sbx-vitaldb-secret-wrong")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


def test_id_pw_grant_and_its_errors(sb):
    token = password_token(sb)
    assert token.count(".") == 2
    endpoint = url(sb, "/oauth2/token")
    r = requests.post(endpoint, data={"id": sandbox.VITALDB_USERNAME, "pw": "no"}, timeout=T)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    r = requests.post(endpoint, data={"id": sandbox.VITALDB_USERNAME}, timeout=T)
    assert r.json()["error"] == "invalid_request"


def test_a_json_body_is_refused(sb):
    creds = {"id": sandbox.VITALDB_USERNAME, "pw": sandbox.VITALDB_PASSWORD}
    r = requests.post(url(sb, "/oauth2/token"), json=creds, timeout=T)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


# userinfo


def test_userinfo_reads_the_token_from_the_query(sb):
    token = password_token(sb)
    r = requests.get(url(sb, "/oauth2/userinfo"), params={"access_token": token}, timeout=T)
    assert r.status_code == 200
    assert r.json() == {"userid": sandbox.VITALDB_USERNAME, "email": sandbox.VITALDB_EMAIL}
    recorded = sb.requests[-1]
    assert recorded.path == "/vitaldb/oauth2/userinfo"
    assert recorded.query == {"access_token": "***"}


def test_userinfo_ignores_a_header_only_token(sb):
    token = password_token(sb)
    r = requests.get(
        url(sb, "/oauth2/userinfo"), headers={"Authorization": f"Bearer {token}"}, timeout=T
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


def test_userinfo_refuses_an_expired_token(sb):
    sb.token_ttl = 1
    token = password_token(sb)
    time.sleep(1.1)
    r = requests.get(url(sb, "/oauth2/userinfo"), params={"access_token": token}, timeout=T)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert "expired" in r.json()["error_description"]
