"""vidaplus, mounted at ``/vidaplus``: the FastAPI app lRauane/SGHSS-VidaPlus.

What follows which source:

- Seed 002 and the app's published docs (mintlify.com/lRauane/SGHSS-VidaPlus, auth pages):
  ``POST /auth/token/`` takes OAuth2PasswordRequestForm (form fields, 422 for missing ones,
  401 for bad credentials); ``POST /auth/token/refresh_token`` takes the still-valid access
  token as ``Authorization: Bearer`` and no body, and answers a new one.
- The repository (``vidaplus/app.py``, ``api/endpoints/*.py``, ``security.py``,
  ``schemas/*.py``): the routers ``/pacientes/``, ``/profissionais/``, ``/consultas/``,
  ``/prescricoes/``, ``/exames/``, ``/prontuario/``, ``/leitos/``, ``/estoque/``, each
  behind ``get_current_user``; a list is ``{"<key>": [...]}`` with the key of its
  ``*List`` schema (``prontuarios`` under ``/prontuario/``, ``estoques`` under
  ``/estoque/``), paged by ``FilterPage`` (``offset`` = 0, ``limit`` = 100, no bounds), with
  no count and no next link; ``/<id>`` is one object or 404 with the router's own detail;
  ``/prontuario/`` answers an empty page with 404 "Nenhum prontuário encontrado.". The login
  401 is ``{"detail": "Incorrect email or password"}``; tokens carry only ``sub`` (the
  e-mail) and ``exp``.
- FastAPI itself: ``{"detail": "Not authenticated"}`` (401, ``WWW-Authenticate: Bearer``)
  without a bearer header; a 422 is pydantic v2's ``{type, loc, msg, input}`` list; JSON is
  written as Starlette does (UTF-8, compact).

Where the sources are silent: the sandbox's user is the app's ADMIN (a superuser, who sees
every row; see ``_vidaplus_data``); negative ``offset``/``limit`` act as SQLite (the app's
database: aiosqlite, batch migrations) treats them: offset 0, no limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, request
from werkzeug.wrappers import Response

from . import _accounts as acc
from . import _vidaplus_data as data
from ._errors import Refused, vidaplus_error
from ._state import State, same
from ._tokens import TokenError

_BEARER = {"WWW-Authenticate": "Bearer"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_INT = re.compile(r"\s*[+-]?\d+\s*")
DEFAULT_LIMIT = 100  # FilterPage.limit


@dataclass(frozen=True)
class Resource:
    key: str  # the list's key, from its *List schema
    rows: str  # the sandbox's rows key
    param: str  # the path parameter's name, for a 422's loc
    not_found: str  # the router's 404 detail
    first_id: Callable[[dict], int]  # the id of row 0
    make: Callable[[int, dict], dict]


def _sized(make):
    # consultas, prescricoes and exames rows need the sizes of the tables they point into
    return lambda i, n, kind: make(i, n[kind], n["pacientes"], n["profissionais"])


RESOURCES = {
    "pacientes": Resource("pacientes", "pacientes", "user_id", "User not found",
                          lambda n: data.paciente_id(0, n["profissionais"]),
                          lambda i, n: data.paciente(i, n["profissionais"])),
    "profissionais": Resource("profissionais", "profissionais", "user_id", "User not found",
                              lambda n: data.profissional_id(0), lambda i, n: data.profissional(i)),
    "consultas": Resource("consultas", "consultas", "consulta_id", "Consulta não encontrada.",
                          lambda n: 1, lambda i, n: _sized(data.consulta)(i, n, "consultas")),
    "prescricoes": Resource("prescricoes", "prescricoes", "prescricao_id",
                            "Prescrição não encontrada.", lambda n: 1,
                            lambda i, n: _sized(data.prescricao)(i, n, "prescricoes")),
    "exames": Resource("exames", "exames", "exame_id", "Exame não encontrado.", lambda n: 1,
                       lambda i, n: _sized(data.exame)(i, n, "exames")),
    "prontuario": Resource("prontuarios", "prontuarios", "prontuario_id",
                           "Prontuário não encontrado.", lambda n: 1, data.prontuario),
    "leitos": Resource("leitos", "leitos", "leito_id", "Leito não encontrado.", lambda n: 1,
                       lambda i, n: data.leito(i, n["pacientes"], n["profissionais"])),
    "estoque": Resource("estoques", "estoques", "estoque_id", "Item de estoque não encontrado.",
                        lambda n: 1, lambda i, n: data.estoque(i)),
}  # fmt: skip


def fastapi_json(body: object, status: int = 200, headers: dict | None = None) -> Response:
    """JSON as Starlette's JSONResponse writes it: UTF-8 (no \\u escapes), compact."""
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(text.encode(), status=status, headers=headers, mimetype="application/json")


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("vidaplus", __name__)
    issuer = state.issuers["vidaplus"]

    def new_token(email: str) -> Response:
        # security.create_access_token: {"sub": email, "exp": now + the configured minutes}
        access = issuer.issue_plain(email, state.token_ttl)
        return fastapi_json({"access_token": access, "token_type": "bearer"})

    def current_user() -> dict:
        # FastAPI's OAuth2PasswordBearer, then the app's get_current_user.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise Refused(vidaplus_error(401, "Not authenticated", _BEARER))
        try:
            claims = issuer.decode_plain(token.strip())
        except TokenError:
            # The app catches only jwt.DecodeError, so as written an expired token's
            # ExpiredSignatureError would escape as a 500; its docs promise 401 ("Redirect to
            # login if refresh fails (401 error)"), and the sandbox follows the docs.
            claims = {}
        if claims.get("sub") != acc.VIDAPLUS_USERNAME:
            raise Refused(vidaplus_error(401, "Could not validate credentials", _BEARER))
        return data.ADMIN

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
            return fastapi_json({"detail": errors}, 422)
        if not (
            same(form["username"], acc.VIDAPLUS_USERNAME)
            & same(form["password"], acc.VIDAPLUS_PASSWORD)
        ):
            # auth.py: HTTPException(401, detail='Incorrect email or password'), no headers
            raise Refused(vidaplus_error(401, "Incorrect email or password"))
        return new_token(form["username"])

    @bp.post("/auth/token/refresh_token")
    def refresh():
        # auth.py refresh_access_token(user: CurrentUser): the bearer token authenticates
        # the call, so an expired one cannot be refreshed; any body is ignored.
        return new_token(current_user()["email"])

    def sizes() -> dict:
        n = {name: state.row_count(name) for name in ("pacientes", "profissionais",
             "consultas", "prescricoes", "exames", "leitos", "estoques")}  # fmt: skip
        n["prontuarios"] = min(state.row_count("prontuarios"), n["pacientes"])
        return n

    def listing(path: str):
        resource = RESOURCES[path]
        current_user()  # a dependency: solved before the query is validated
        offset = _int_query("offset", 0)
        limit = _int_query("limit", DEFAULT_LIMIT)
        n = sizes()
        count = n[resource.rows]
        start = max(0, offset)  # SQLite: a negative OFFSET acts as 0 ...
        stop = count if limit < 0 else min(count, start + limit)  # ... a negative LIMIT as none
        rows = [resource.make(i, n) for i in range(start, stop)]
        if path == "prontuario" and not rows:
            raise Refused(vidaplus_error(404, "Nenhum prontuário encontrado."))
        return fastapi_json({resource.key: rows})

    def one(path: str, raw: str):
        resource = RESOURCES[path]
        current_user()
        if not _INT.fullmatch(raw):
            return fastapi_json({"detail": [_int_parsing("path", resource.param, raw)]}, 422)
        n = sizes()
        index = int(raw) - resource.first_id(n)
        if not 0 <= index < n[resource.rows]:
            raise Refused(vidaplus_error(404, resource.not_found))
        return fastapi_json(resource.make(index, n))

    for path in RESOURCES:
        bp.add_url_rule(f"/{path}/", f"list_{path}", lambda path=path: listing(path))
        bp.add_url_rule(f"/{path}/<raw>", f"one_{path}", lambda raw, path=path: one(path, raw))

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


def _int_query(name: str, default: int) -> int:
    # FilterPage's fields are plain ints: any integer passes, anything else is a 422.
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INT.fullmatch(raw):
        raise Refused(fastapi_json({"detail": [_int_parsing("query", name, raw)]}, 422))
    return int(raw)
