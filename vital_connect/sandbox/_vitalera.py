"""vitalera, as seeds 000 (EN) and 001 (NL) describe it, mounted at ``/vitalera``.

JSON bodies only; every error is ``{"errors":[{"errorType","message"}]}``. Where the seed is
silent, the server behaves like the Django REST framework service it evidently is.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from flask import Blueprint, request
from werkzeug.wrappers import Response

from . import _accounts as acc
from . import _synthetic as synth
from ._errors import Refused, vitalera_error, vitalera_errors
from ._pagination import InvalidPage, paginate
from ._state import State, same
from ._tokens import TokenError

REFRESH_TTL = 30 * 24 * 3600  # the seed gives no lifetime for refresh tokens
_EXPIRED = ("expired_token", "Access token expired")  # seed 000, "Token Validity", verbatim
# DRF sends a challenge with every 401 from an authenticated endpoint.
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("vitalera", __name__)
    issuer = state.issuers["vitalera"]

    def refuse(status: int, error_type: str, message: str, headers=None) -> Refused:
        return Refused(vitalera_error(status, error_type, message, headers))

    def authenticate(*, allow_expired: bool = False) -> dict:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise refuse(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                _CHALLENGE,
            )
        try:
            return issuer.decode(token.strip(), allow_expired=allow_expired)
        except TokenError as exc:  # a foreign or forged token lands here too
            if exc.expired:
                raise refuse(401, *_EXPIRED, _CHALLENGE) from None
            raise refuse(
                401, "invalid_token", "Given token not valid for any token type", _CHALLENGE
            ) from None

    def json_body() -> dict:
        # "JSON bodies only" (seed 000 sends every body with Content-Type: application/json).
        if request.mimetype != "application/json":
            media = request.content_type or ""
            raise refuse(
                415, "unsupported_media_type", f'Unsupported media type "{media}" in request.'
            )
        raw = request.get_data(as_text=True)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise refuse(400, "parse_error", f"JSON parse error - {exc}") from None
        if not isinstance(data, dict):
            kind = type(data).__name__
            raise refuse(400, "validation_error", f"Expected a JSON object, got {kind}.")
        return data

    def require(data: dict, *fields: str) -> list[str]:
        missing = [f for f in fields if not isinstance(data.get(f), str) or not data[f]]
        if missing:
            raise Refused(_missing(*missing))
        return [data[f] for f in fields]

    def user_tokens(sub: str) -> dict:
        # Seed 000's password-grant body, exactly: no token_type, no expires_in.
        jti = uuid.uuid4().hex
        refresh = issuer.issue(sub, "refresh", REFRESH_TTL, jti=jti)
        state.remember_refresh(jti, sub)
        return {
            "id_token": issuer.issue(
                sub, "id", state.token_ttl, email=acc.VITALERA_USERNAME, name="Sandbox Clinician"
            ),
            "access_token": issuer.issue(sub, "access", state.token_ttl, grant="password"),
            "refresh_token": refresh,
            "sub": sub,
        }

    @bp.post("/api/auth/tokens/")
    def token():
        data = json_body()
        grant = data.get("grant_type")
        if not grant:
            raise Refused(_missing("grant_type"))
        if grant == "client_credentials":
            client_id, client_secret = require(data, "client_id", "client_secret")
            if not state.vitalera_client_ok(client_id, client_secret):
                raise refuse(401, "invalid_credentials", "Invalid client credentials.")
            ttl = state.token_ttl
            access = issuer.issue(
                client_id,
                "access",
                ttl,
                grant="client_credentials",
                application_id=acc.VITALERA_APPLICATION_ID,
            )
            return {"access_token": access, "token_type": "Bearer", "expires_in": int(ttl)}
        if grant == "password":
            username, password = require(data, "username", "password")
            if not (same(username, acc.VITALERA_USERNAME) & same(password, acc.VITALERA_PASSWORD)):
                raise refuse(401, "invalid_credentials", "Invalid username or password.")
            return user_tokens(acc.VITALERA_USER_ID)
        raise refuse(400, "unsupported_grant_type", f'Unsupported grant type "{grant}".')

    @bp.post("/api/auth/tokens/refresh/")
    def refresh():
        # Seed 000: Bearer <access token> plus JSON {refresh_token}. The access token may have
        # expired (that is why one refreshes), but it must be genuine and name the same user.
        # Authentication before parsing, in DRF's order.
        claims = authenticate(allow_expired=True)
        (refresh_token,) = require(json_body(), "refresh_token")
        try:
            rt = issuer.decode(refresh_token, typ="refresh")
        except TokenError:
            rt = None
        if rt is None or rt["sub"] != claims["sub"] or not state.use_refresh(rt["jti"], rt["sub"]):
            raise refuse(401, "invalid_grant", "Refresh token is invalid, expired or already used.")
        return user_tokens(claims["sub"])

    @bp.get("/api/auth/tokens/validate/")
    def validate():
        # The seed shows no body for validate: a small one that says who and until when.
        claims = authenticate()
        return {"valid": True, "sub": claims["sub"], "exp": claims["exp"]}

    @bp.post("/api/applications/rotate_credentials/")
    def rotate_credentials():
        # "This requires a valid JWT and the application_id": any valid access token will do.
        authenticate()
        (application_id,) = require(json_body(), "application_id")
        if application_id != acc.VITALERA_APPLICATION_ID:
            raise refuse(404, "not_found", "Application not found.")
        client_id, client_secret = state.rotate_vitalera()  # old ones refused from now on
        return {
            "id": application_id,
            "name": acc.VITALERA_APPLICATION_NAME,
            "organization": acc.VITALERA_ORGANIZATION_ID,
            "client_id": client_id,
            "client_secret": client_secret,
            "application_types": ["API"],
        }

    def listing(rows: str, make: Callable[[int], dict]) -> dict:
        authenticate()
        count = state.row_count(rows)
        try:
            page = paginate(request.url, request.args, count, state.page_size)
        except InvalidPage:
            raise refuse(404, "not_found", "Invalid page.") from None
        return {
            "count": count,
            "next": page.next,
            "previous": page.previous,
            "results": [make(i) for i in range(page.start, page.stop)],
        }

    @bp.get("/api/plans/")
    def plans():
        return listing("plans", synth.plan)

    @bp.get("/api/patients/")
    def patients():
        plans = state.row_count("plans")
        return listing("patients", lambda i: synth.patient(i, plans))

    @bp.get("/api/measurements/")
    def measurements():
        patients = state.row_count("patients")
        return listing("measurements", lambda i: synth.measurement(i, patients))

    return bp


def _missing(*fields: str) -> Response:
    # One entry per missing field, as DRF reports every invalid field at once.
    errors = [("validation_error", f"{field}: This field is required.") for field in fields]
    return vitalera_errors(400, errors)
