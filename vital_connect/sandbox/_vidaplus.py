"""vidaplus, as seed 002 describes it, mounted at ``/vidaplus``: a FastAPI service.

Errors are FastAPI's: ``{"detail": "..."}`` for HTTPException, and pydantic v2's list of
``{type, loc, msg, input}`` under ``detail`` for a 422.
"""

from __future__ import annotations

from flask import Blueprint, request

from . import _accounts as acc
from . import _synthetic as synth
from ._errors import Refused, vidaplus_error
from ._state import State, same
from ._tokens import TokenError

_BEARER = {"WWW-Authenticate": "Bearer"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_LIMIT = 1000


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("vidaplus", __name__)
    issuer = state.issuers["vidaplus"]

    def new_token(email: str) -> dict:
        access = issuer.issue(email, "access", state.token_ttl)
        return {"access_token": access, "token_type": "bearer"}

    def current_user() -> dict:
        # FastAPI's OAuth2PasswordBearer and the tutorial's get_current_user, word for word.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(vidaplus_error(401, "Not authenticated", _BEARER))
        try:
            claims = issuer.decode(token.strip())
        except TokenError:
            claims = {}
        if claims.get("sub") != acc.VIDAPLUS_USERNAME:
            raise Refused(vidaplus_error(401, "Could not validate credentials", _BEARER))
        return synth.VIDAPLUS_USER

    @bp.post("/auth/token/")
    def token():
        # OAuth2PasswordRequestForm: form fields only (a JSON body leaves them all missing);
        # FastAPI counts an empty form value as missing. Errors in the form's field order.
        form = request.form if request.mimetype in _FORM_TYPES else {}
        errors = []
        grant_type = form.get("grant_type") or None
        if grant_type is not None and grant_type != "password":
            errors.append(
                {
                    "type": "string_pattern_mismatch",
                    "loc": ["body", "grant_type"],
                    "msg": "String should match pattern '^password$'",
                    "input": grant_type,
                    "ctx": {"pattern": "^password$"},
                }
            )
        for field in ("username", "password"):
            if not form.get(field):
                errors.append(_missing("body", field))
        if errors:
            return {"detail": errors}, 422
        if not (
            same(form["username"], acc.VIDAPLUS_USERNAME)
            & same(form["password"], acc.VIDAPLUS_PASSWORD)
        ):
            raise Refused(vidaplus_error(401, "Incorrect username or password", _BEARER))
        return new_token(form["username"])

    @bp.post("/auth/refresh/")
    def refresh():
        # Seed 002 only says "Use the Refresh Token endpoint to obtain a new access token
        # before expiration". No refresh token is ever issued (the token body is just
        # {access_token, token_type}), and "before expiration" means the current, still valid
        # access token is what authenticates the call: the OAuth2PasswordBearer dependency
        # pattern. So: POST with Authorization: Bearer, no body, a fresh token back in the
        # same shape as /auth/token/. An expired token gets the tutorial's 401.
        user = current_user()
        return new_token(user["email"])

    @bp.get("/users/me/")
    def me():
        return current_user()

    @bp.get("/records/")
    def records():
        # The FastAPI tutorial's skip/limit pagination; the bounds are our choice.
        current_user()
        skip = _int_query("skip", 0, low=0)
        limit = _int_query("limit", 100, low=1, high=MAX_LIMIT)
        stop = min(skip + limit, state.row_count("records"))
        return [synth.record(i) for i in range(skip, stop)]

    @bp.get("/records/<record_id>")
    def record(record_id: str):
        current_user()
        try:
            index = int(record_id) - 1
        except ValueError:
            return {"detail": [_int_parsing("path", "record_id", record_id)]}, 422
        if not 0 <= index < state.row_count("records"):
            raise Refused(vidaplus_error(404, "Record not found"))
        return synth.record(index)

    return bp


def _missing(where: str, field: str) -> dict:
    return {"type": "missing", "loc": [where, field], "msg": "Field required", "input": None}


def _int_parsing(where: str, field: str, raw: str) -> dict:
    return {
        "type": "int_parsing",
        "loc": [where, field],
        "msg": "Input should be a valid integer, unable to parse string as an integer",
        "input": raw,
    }


def _int_query(name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refused(_unprocessable(_int_parsing("query", name, raw))) from None
    if value < low:
        error = {
            "type": "greater_than_equal",
            "loc": ["query", name],
            "msg": f"Input should be greater than or equal to {low}",
            "input": raw,
            "ctx": {"ge": low},
        }
        raise Refused(_unprocessable(error))
    if high is not None and value > high:
        error = {
            "type": "less_than_equal",
            "loc": ["query", name],
            "msg": f"Input should be less than or equal to {high}",
            "input": raw,
            "ctx": {"le": high},
        }
        raise Refused(_unprocessable(error))
    return value


def _unprocessable(error: dict):
    return vidaplus_error(422, [error])
