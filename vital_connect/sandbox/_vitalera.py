"""vitalera, mounted at ``/vitalera``.

What follows which document: seeds 000 (EN) and 001 (NL), the authentication page of
docs-v2.vitalera.io, for tokens, refresh, validate and credential rotation; its FHIR-resource
pages for the data: ``/api/monitoreds/``, ``/api/monitoreds/{id}/``,
``POST /api/organizations/{org_id}/monitoreds/``, ``/api/monitoreds/{id}/observations/``,
``/api/observations/{id}/``, ``/api/plans/``, ``/api/plans/{id}/`` (fields in
``_vitalera_data``).

JSON bodies only; every error is ``{"errors":[{"errorType","message"}]}``. Where the docs are
silent, the server behaves like the Django REST framework service it evidently is: lists are
DRF pages (``count, next, previous, results``; the docs do not document pagination), a
detail that does not exist is 404 "Not found.", a created object is 201.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date

from flask import Blueprint, request
from werkzeug.wrappers import Response

from . import _accounts as acc
from . import _vitalera_data as data
from ._errors import Refused, vitalera_error, vitalera_errors
from ._pagination import InvalidPage, paginate
from ._state import State, same
from ._tokens import TokenError

REFRESH_TTL = 30 * 24 * 3600  # the seed gives no lifetime for refresh tokens
CREATED_IDS = 900_000  # monitoreds POSTed get ids above this, clear of any rows setting
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

    def page_of(count: int, make: Callable[[int], dict], extra: list | None = None) -> dict:
        # Django REST framework's PageNumberPagination (the docs give no pagination).
        extra = extra or []
        total = count + len(extra)
        try:
            page = paginate(request.url, request.args, total, state.page_size)
        except InvalidPage:
            raise refuse(404, "not_found", "Invalid page.") from None
        rows = [make(i) if i < count else extra[i - count] for i in range(page.start, page.stop)]
        return {"count": total, "next": page.next, "previous": page.previous, "results": rows}

    def not_found() -> Refused:
        return refuse(404, "not_found", "Not found.")  # DRF's NotFound detail

    def monitored_or_404(mid: int) -> dict:
        if 1 <= mid <= state.row_count("monitoreds"):
            return data.monitored(mid - 1)
        with state.lock:
            created = [m for m in state.monitoreds_created if m["id"] == mid]
        if not created:
            raise not_found()
        return created[0]

    @bp.get("/api/plans/")
    def plans():
        authenticate()
        return page_of(state.row_count("plans"), data.plan)

    @bp.get("/api/plans/<int:plan_id>/")
    def plan(plan_id: int):
        authenticate()
        if not 1 <= plan_id <= state.row_count("plans"):
            raise not_found()
        return data.plan(plan_id - 1)

    @bp.get("/api/monitoreds/")
    def monitoreds():
        authenticate()
        with state.lock:
            created = list(state.monitoreds_created)
        return page_of(state.row_count("monitoreds"), data.monitored, created)

    @bp.get("/api/monitoreds/<int:mid>/")
    def monitored(mid: int):
        authenticate()
        return monitored_or_404(mid)

    @bp.post("/api/organizations/<org_id>/monitoreds/")
    def create_monitored(org_id: str):
        # The docs give the path and the Monitored fields, not the request body: the writable
        # fields (email required; sex, birth_date optional), the rest made by the server.
        authenticate()
        if org_id != acc.VITALERA_ORGANIZATION_ID:
            raise not_found()
        body = json_body()
        (email,) = require(body, "email")
        errors = []
        sex = body.get("sex")
        if sex is not None and sex not in ("female", "male", "other", "unknown"):
            errors.append(("validation_error", f'sex: "{sex}" is not a valid choice.'))
        birth = body.get("birth_date")
        if birth is not None and not _is_date(birth):
            message = "birth_date: Date has wrong format. Use one of these formats: YYYY-MM-DD."
            errors.append(("validation_error", message))
        with state.lock:
            taken = any(m["email"] == email for m in state.monitoreds_created)
        if taken:
            errors.append(("validation_error", "email: monitored with this email already exists."))
        if errors:
            raise Refused(vitalera_errors(400, errors))
        with state.lock:
            mid = CREATED_IDS + len(state.monitoreds_created) + 1
            code = data.monitored_code(mid)
            row = {
                "id": mid,
                "monitored_code": code,
                "email": email,
                "sex": sex,
                "birth_date": birth,
                "deep_link": data.DEEP_LINK.format(code=code),
            }
            state.monitoreds_created.append(row)
        return row, 201

    @bp.get("/api/monitoreds/<int:mid>/observations/")
    def observations(mid: int):
        authenticate()
        monitored_or_404(mid)
        per = state.row_count("observations")
        count = per if mid <= state.row_count("monitoreds") else 0  # created ones: none yet
        return page_of(count, lambda k: data.observation(mid, k, per))

    @bp.get("/api/observations/<int:oid>/")
    def observation(oid: int):
        authenticate()
        per = state.row_count("observations")
        mid, k = divmod(oid - 1, per) if per else (0, -1)
        if oid < 1 or not 0 <= mid < state.row_count("monitoreds"):
            raise not_found()
        return data.observation(mid + 1, k, per)

    return bp


def _missing(*fields: str) -> Response:
    # One entry per missing field, as DRF reports every invalid field at once.
    errors = [("validation_error", f"{field}: This field is required.") for field in fields]
    return vitalera_errors(400, errors)


def _is_date(value: object) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str) and len(value) == 10
