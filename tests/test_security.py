"""Origins, transport, and secrets kept out of reprs and messages."""

from __future__ import annotations

import pytest
from loopback import TOKEN, json_response, provider_at, serving

import vital_connect as vc
from vital_connect import sandbox as sbx
from vital_connect._redact import redact


def test_absolute_url_on_a_foreign_origin_is_refused(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    sb.clear_requests()
    with pytest.raises(vc.InsecureTransportError, match="not one of the provider's origins"):
        s.get("https://evil.example/steal")
    # a loopback origin that is not the provider's is refused too
    with pytest.raises(vc.InsecureTransportError):
        s.get_json("http://127.0.0.2:9/x")
    assert not sb.requests


def test_absolute_url_on_the_providers_origin_is_fine(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    data = s.get_json(sb.base_url("vitalera") + "/api/plans/")
    assert data["count"] > 0


def test_path_tricks_stay_on_the_origin(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    assert s.url_for("@evil.example/x").startswith(sb.base_url("vitalera") + "/")
    assert s.url_for("api/plans/") == sb.base_url("vitalera") + "/api/plans/"


def test_reprs_show_no_secret(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera", grant="password"))
    texts = [repr(s), str(s), repr(s.token), str(s.token), repr(s.auth.credentials.resolve())]
    for text in texts:
        for secret in (*sbx.SECRETS, s.token.access_token, s.token.refresh_token):
            assert secret not in text


def test_error_messages_show_no_secret(sb):
    creds = sb.credentials("vitaldb") | {"password": "my-wrong-password-42"}
    with pytest.raises(vc.AuthenticationError) as info:
        vc.connect("vitaldb", cache=False, **creds)
    assert "my-wrong-password-42" not in str(info.value) + repr(info.value)


def test_redact_masks_query_json_headers_and_jwts():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = (
        f"GET /userinfo?access_token={jwt}&x=1 Authorization: Bearer abc.def "
        '{"password": "hunter2", "client_secret": "s3cr3t"} code=xyz pw=p'
    )
    out = redact(text)
    for secret in (jwt, "abc.def", "hunter2", "s3cr3t", "xyz"):
        assert secret not in out
    assert "x=1" in out and "access_token=***" in out


def test_df_attrs_source_url_has_no_token(sb):
    s = vc.connect("vitaldb", cache=False, **sb.credentials("vitaldb"))
    df = s.get("/oauth2/userinfo")
    assert s.token.access_token not in df.attrs["source_url"]


def test_a_redirect_off_the_origin_is_not_followed(sb):
    """The provider answers 302 to another origin: nothing, the token least of all, goes
    there, and the foreign answer never becomes the DataFrame."""
    seen: list[dict] = []

    def elsewhere(request):
        seen.append(dict(request.headers))
        return json_response([{"planted": True}])

    with serving(elsewhere) as other:
        target = other.replace("127.0.0.1", "localhost") + "/landing"

        def provider(request):
            if request.path == "/token":
                return json_response(TOKEN)
            return json_response(None, 302, Location=target)

        with serving(provider) as home:
            s = provider_at("redirecting", home)
            with pytest.raises(vc.InsecureTransportError, match="not one of the provider's"):
                s.get("/data")
    assert seen == []


def test_vitaldb_production_routing_and_declared_origins():
    # no request is made: only where each path would go
    s = vc.connect("vitaldb", anonymous=True)
    assert s.url_for("/cases") == "https://api.vitaldb.net/cases"  # the open dataset's host
    assert s.url_for("/oauth2/userinfo") == "https://vitaldb.net/oauth2/userinfo"
    assert s.url_for("https://api.vitaldb.net/trks") == "https://api.vitaldb.net/trks"
    with pytest.raises(vc.InsecureTransportError):
        s.url_for("https://vitaldb.net.evil.example/cases")
    assert s.dialect.placement(s.provider, "/oauth2/userinfo") == "query"
    assert s.dialect.placement(s.provider, "/cases") is None


def test_a_next_link_to_another_origin_is_not_followed():
    hits: list[str] = []

    def elsewhere(request):
        hits.append(request.path)
        return json_response({"results": [], "next": None})

    with serving(elsewhere) as other:

        def provider(request):
            if request.path == "/token":
                return json_response(TOKEN)
            return json_response(
                {"count": 2, "results": [{"id": 1}], "next": f"{other}/steal?page=2"}
            )

        with serving(provider) as home:
            s = provider_at("leaky", home)
            with pytest.raises(vc.InsecureTransportError, match="not one of the provider's"):
                s.get("/items")
    assert hits == []
