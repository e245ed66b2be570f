"""Provider quirks, each a small named function that registers hooks on an OAuth2Session.

Modelled on requests-oauthlib's ``compliance_fixes``: the quirk is visible and isolated.
"""

from __future__ import annotations

from requests_oauthlib import OAuth2Session


def vitalera_compliance_fix(session: OAuth2Session) -> OAuth2Session:
    """vitalera's token endpoint takes a JSON body only (its docs: ``-H Content-Type:
    application/json -d '{...}'``); oauthlib builds a form body, so re-encode it."""

    def to_json(url, headers, request_kwargs):
        data = request_kwargs.pop("data", None) or {}
        request_kwargs["json"] = dict(data)
        headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
        return url, headers, request_kwargs

    session.register_compliance_hook("access_token_request", to_json)
    return session


def vitaldb_compliance_fix(session: OAuth2Session) -> OAuth2Session:
    """VitalDB's token endpoint takes exactly the documented fields: ``id`` + ``pw`` for a
    user login (no grant_type), or ``code`` + ``client_id`` + ``client_secret``."""

    def documented_fields(url, headers, request_kwargs):
        data = dict(request_kwargs.get("data") or {})
        grant = data.get("grant_type")
        if grant == "password":
            data = {"id": data.get("username", ""), "pw": data.get("password", "")}
        elif grant == "authorization_code":
            data = {k: data[k] for k in ("code", "client_id", "client_secret") if k in data}
        request_kwargs["data"] = data
        return url, headers, request_kwargs

    session.register_compliance_hook("access_token_request", documented_fields)
    return session
