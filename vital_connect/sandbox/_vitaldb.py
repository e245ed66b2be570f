"""VitalDB, as seed 003 describes it, mounted at ``/vitaldb``: OAuth2 login page, token,
userinfo, and the open dataset (``/cases``, ``/trks``, ``/labs``, ``/<tid>``).

Seed 003 gives no error bodies: errors use RFC 6749 section 5.2's
``{"error", "error_description"}`` (400 for a bad request or grant, 401 for a bad client or
token), and the login page answers a person with HTML.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, request
from werkzeug.wrappers import Response

from . import _accounts as acc
from . import _dataset as ds
from ._errors import Refused, vitaldb_error
from ._state import State, same
from ._tokens import TokenError

_TID = re.compile(r"[0-9a-f]{40}")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 section 5.1


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("vitaldb", __name__)
    issuer = state.issuers["vitaldb"]

    def refuse(status: int, error: str, description: str, headers=None) -> Refused:
        return Refused(vitaldb_error(status, error, description, headers))

    @bp.route("/oauth2/login", methods=["GET", "POST"])
    def login():
        fields = request.args if request.method == "GET" else request.form
        client_id = fields.get("client_id", "")
        redirect_uri = fields.get("redirect_uri", "")
        csrf_state = fields.get("state")  # echoed exactly when given, omitted when not
        problem = _client_problem(client_id, redirect_uri)
        if problem:
            return _page("Sign in with VitalDB: bad request", f"<p>{escape(problem)}</p>", 400)
        if request.method == "GET":
            return _login_form(client_id, redirect_uri, csrf_state)
        userid, password = request.form.get("id", ""), request.form.get("pw", "")
        if not (same(userid, acc.VITALDB_USERNAME) & same(password, acc.VITALDB_PASSWORD)):
            error = "Incorrect VitalDB ID or password."
            return _login_form(client_id, redirect_uri, csrf_state, error=error, userid=userid)
        code = state.new_code(client_id, userid)
        params = {"code": code} | ({} if csrf_state is None else {"state": csrf_state})
        return Response(status=302, headers={"Location": _add_query(redirect_uri, params)})

    @bp.post("/oauth2/token")
    def token():
        # Form fields only, as in the seed's curl -d samples; a JSON body has none of them.
        form = request.form
        if form.get("code"):
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if not client_id or not client_secret:
                raise refuse(400, "invalid_request", "client_id and client_secret are required.")
            ok = same(client_id, acc.VITALDB_CLIENT_ID) & same(
                client_secret, acc.VITALDB_CLIENT_SECRET
            )
            if not ok:
                raise refuse(401, "invalid_client", "Client authentication failed.")
            userid = state.use_code(form["code"], client_id)
            if userid is None:
                raise refuse(400, "invalid_grant", "The code is invalid, expired or already used.")
            claims = {"client_id": client_id}
        elif form.get("id") or form.get("pw"):
            userid, password = form.get("id", ""), form.get("pw", "")
            if not userid or not password:
                raise refuse(400, "invalid_request", "Both id and pw are required.")
            if not (same(userid, acc.VITALDB_USERNAME) & same(password, acc.VITALDB_PASSWORD)):
                raise refuse(400, "invalid_grant", "Incorrect VitalDB ID or password.")
            claims = {}
        else:
            message = "Send code, client_id and client_secret, or id and pw, form-encoded."
            raise refuse(400, "invalid_request", message)
        ttl = state.token_ttl
        access = issuer.issue(userid, "access", ttl, email=acc.VITALDB_EMAIL, **claims)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": int(ttl)}
        return body, 200, _NO_STORE

    @bp.get("/oauth2/userinfo")
    def userinfo():
        # Seed 003: the access_token is a query parameter. A header alone is not read.
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        token = request.args.get("access_token")
        if not token:
            header = "Authorization" in request.headers
            hint = " (an Authorization header is not read here)" if header else ""
            message = f"access_token query parameter is required{hint}."
            raise refuse(401, "invalid_token", message, challenge)
        try:
            claims = issuer.decode(token)
        except TokenError as exc:
            reason = "The access token expired." if exc.expired else "The access token is invalid."
            raise refuse(401, "invalid_token", reason, challenge) from None
        if claims["sub"] != acc.VITALDB_USERNAME:
            raise refuse(401, "invalid_token", "Unknown user.", challenge)
        return {"userid": claims["sub"], "email": acc.VITALDB_EMAIL}

    # The open dataset: no login. The real files are .csv.gz served as they are: the body is
    # gzip, Content-Type text/csv, and no Content-Encoding (clients detect the gzip magic).
    @bp.get("/cases")
    def cases():
        rows = (ds.case(i) for i in range(state.row_count("cases")))
        return _gzip_csv(ds.CASE_COLUMNS, rows)

    @bp.get("/trks")
    def trks():
        return _gzip_csv(("caseid", "tname", "tid"), ds.track_rows(state.row_count("cases")))

    @bp.get("/labs")
    def labs():
        labs, cases = state.row_count("labs"), state.row_count("cases")
        rows = (ds.lab(i, labs, cases) for i in range(labs if cases else 0))
        return _gzip_csv(("caseid", "dt", "name", "result"), rows)

    @bp.get("/<tid>")
    def track(tid: str):
        found = ds.track_index(state.row_count("cases")).get(tid) if _TID.fullmatch(tid) else None
        if found is None:
            raise refuse(404, "not_found", f"Unknown track id {tid!r}.")
        caseid, tname = found
        return _gzip_csv(("Time", tname), ds.samples(caseid, tname, state.row_count("samples")))

    return bp


def _client_problem(client_id: str, redirect_uri: str) -> str | None:
    if not client_id:
        return "client_id is required."
    if not same(client_id, acc.VITALDB_CLIENT_ID):
        return "Unknown client_id."
    if not redirect_uri:
        return "redirect_uri is required."
    # The seed registers no redirect URIs: any absolute http(s) URI is accepted, so a callback
    # behind a notebook proxy (Binder, JupyterHub) works as well as a loopback one.
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "redirect_uri must be an absolute http(s) URI."
    if parts.fragment:
        return "redirect_uri must not contain a fragment."
    return None


def _add_query(uri: str, params: dict[str, str]) -> str:
    # Keep the redirect_uri's own query parameters (RFC 6749 section 3.1.2).
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _gzip_csv(header, rows) -> Response:
    return Response(ds.gzip_csv(header, rows), status=200, content_type="text/csv")


_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1.5rem;width:100%;padding:.6rem}
.error{color:#b00020}.note{color:#555;font-size:.85rem}
"""


def _page(title: str, content: str, status: int = 200) -> Response:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n<h1>{escape(title)}</h1>\n{content}\n</main>\n</body>\n</html>\n"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _login_form(
    client_id: str, redirect_uri: str, csrf_state: str | None, *, error: str = "", userid: str = ""
) -> Response:
    hidden = {"client_id": client_id, "redirect_uri": redirect_uri}
    if csrf_state is not None:
        hidden["state"] = csrf_state
    inputs = "\n".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    message = f'<p id="vitaldb-error" class="error" role="alert">{escape(error)}</p>\n'
    # A relative action, so the form also posts back through a path-rewriting proxy
    # (jupyter-server-proxy): "login" resolves against .../oauth2/login.
    content = (
        '<p class="note">VitalDB sandbox: synthetic accounts and data only.</p>\n'
        f"{message if error else ''}"
        '<form id="vitaldb-login" method="post" action="login">\n'
        f"{inputs}\n"
        '<label for="vitaldb-id">VitalDB ID</label>\n'
        f'<input id="vitaldb-id" name="id" type="text" autocomplete="username" required'
        f' value="{escape(userid)}">\n'
        '<label for="vitaldb-pw">Password</label>\n'
        '<input id="vitaldb-pw" name="pw" type="password" autocomplete="current-password"'
        " required>\n"
        '<button id="vitaldb-submit" type="submit">Sign in</button>\n'
        "</form>"
    )
    return _page("Sign in with VitalDB", content, 401 if error else 200)
