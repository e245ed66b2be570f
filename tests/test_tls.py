"""Certificate verification is always on; a CA bundle is configured with REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import ssl

import pytest
import trustme
from loopback import json_response, serving

import vital_connect as vc


@pytest.fixture(scope="module")
def tls_provider(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)

    def app(request):
        if request.path == "/token":
            return json_response({"access_token": "tls-token-123456", "token_type": "Bearer"})
        return json_response([{"ok": True}])

    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with serving(app, ssl_context=context) as url:
        yield url, bundle


def _provider(url: str) -> vc.Provider:
    return vc.register_provider(
        vc.Provider(name="tlslab", base_url=url, grants=("password",), token_path="/token")
    )


def test_an_unknown_certificate_is_refused_with_advice(tls_provider, monkeypatch):
    url, _ = tls_provider
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    _provider(url)
    with pytest.raises(vc.APIError) as info:
        vc.connect("tlslab", username="u", password="p", cache=False)
    assert info.value.error_type == "ssl_error"
    assert "REQUESTS_CA_BUNDLE" in str(info.value)


def test_a_configured_ca_bundle_is_used(tls_provider, monkeypatch):
    url, bundle = tls_provider
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    _provider(url)
    s = vc.connect("tlslab", username="u", password="p", cache=False)
    assert s.get("/data").loc[0, "ok"]
