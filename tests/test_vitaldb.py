"""VitalDB: the code flow, the id/pw grant, userinfo in the query string, the open dataset."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

import vital_connect as vc
from vital_connect._demo import fill_login_form


def _code_session(sb):
    creds = sb.credentials("vitaldb", grant="authorization_code")
    return vc.connect("vitaldb", cache=False, **creds)


def test_id_pw_grant_sends_exactly_the_documented_fields(sb):
    creds = sb.credentials("vitaldb")
    s = vc.connect("vitaldb", cache=False, **creds)
    (req,) = [r for r in sb.requests if r.path.endswith("/oauth2/token")]
    assert req.content_type.startswith("application/x-www-form-urlencoded")
    fields = {k for k, _ in (pair.split("=", 1) for pair in req.body.split("&"))}
    assert fields == {"id", "pw"}
    assert s.token.expires_at is not None


def test_userinfo_token_in_the_query_string_only(sb):
    creds = sb.credentials("vitaldb")
    s = vc.connect("vitaldb", cache=False, **creds)
    info = s.userinfo()
    assert info["userid"] == creds["username"]
    req = sb.requests[-1]
    assert req.path.endswith("/oauth2/userinfo")
    assert "access_token" in req.query
    assert "Authorization" not in req.headers
    # and get() on the same path does the same (the README's example)
    df = s.get("/oauth2/userinfo")
    assert df.loc[0, "userid"] == creds["username"]
    assert "access_token" not in df.attrs["source_url"] or "***" in df.attrs["source_url"]


def test_code_flow_end_to_end(sb):
    s = _code_session(sb)
    assert s.grant == "authorization_code" and s.token is None
    url = s.authorization_url()
    q = parse_qs(urlsplit(url).query)
    assert set(q) == {"client_id", "redirect_uri", "state"}
    assert len(q["state"][0]) >= 22  # >= 128 bits
    landed = fill_login_form(url, vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD)
    tok = s.complete_login(landed)
    assert tok.access_token and s.is_authenticated
    req = [r for r in sb.requests if r.path.endswith("/oauth2/token")][-1]
    fields = {pair.split("=", 1)[0] for pair in req.body.split("&")}
    assert fields == {"code", "client_id", "client_secret"}
    assert s.userinfo()["userid"] == vc.sandbox.VITALDB_USERNAME


def test_each_authorization_url_has_a_fresh_state(sb):
    s = _code_session(sb)
    states = {parse_qs(urlsplit(s.authorization_url()).query)["state"][0] for _ in range(5)}
    assert len(states) == 5


def test_state_mismatch_is_refused_and_state_is_single_use(sb):
    s = _code_session(sb)
    url = s.authorization_url()
    landed = fill_login_form(url, vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD)
    forged = landed.replace("state=", "state=x")
    with pytest.raises(vc.StateMismatchError, match="authorization_url"):
        s.complete_login(forged)
    # the state was consumed by the attempt: the genuine redirect no longer completes either
    with pytest.raises(vc.StateMismatchError):
        s.complete_login(landed)


def test_code_is_single_use(sb):
    s = _code_session(sb)
    landed = fill_login_form(
        s.authorization_url(), vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD
    )
    s.complete_login(landed)
    # replay the same redirect (its code) under a fresh state: the server refuses the code
    fresh = parse_qs(urlsplit(s.authorization_url()).query)["state"][0]
    used = parse_qs(urlsplit(landed).query)["state"][0]
    with pytest.raises(vc.AuthenticationError):
        s.complete_login(landed.replace(used, fresh))


def test_expired_code_is_refused(sb):
    import time

    sb.code_ttl = 1
    s = _code_session(sb)
    landed = fill_login_form(
        s.authorization_url(), vc.sandbox.VITALDB_USERNAME, vc.sandbox.VITALDB_PASSWORD
    )
    time.sleep(1.3)
    with pytest.raises(vc.AuthenticationError, match="start again"):
        s.complete_login(landed)


def test_code_flow_session_cannot_renew_by_itself(sb):
    s = _code_session(sb)
    with pytest.raises(vc.MissingCredentialsError, match="authorization_url"):
        s.get_json("/oauth2/userinfo")


def test_open_dataset_without_login(sb):
    s = vc.connect("vitaldb", anonymous=True, base_url=sb.base_url("vitaldb"))
    cases = s.get("/cases")
    assert {"caseid", "subjectid", "age", "sex", "opname"} <= set(cases.columns)
    assert cases["caseid"].is_unique
    trks = s.get("/trks")
    tid = trks.loc[0, "tid"]
    track = s.get(f"/{tid}")
    assert track.shape[1] == 2 and track.columns[0] == "Time"
    assert all("Authorization" not in r.headers for r in sb.requests)
