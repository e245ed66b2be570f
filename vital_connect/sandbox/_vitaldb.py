"""VitalDB's vitaldb.net, mounted at ``/vitaldb``: the OAuth2 API of seed 003 and the Web API.

What follows which document (snuhvitallab/vitaldb-docs):

- ``API/OAuth2_API.md`` (seed 003): ``/oauth2/login`` (a page a person fills in),
  ``/oauth2/token`` (``code``+client, or ``id``/``pw``), ``/oauth2/userinfo``.
- ``API/Web_API.md``: ``POST /api/login`` (``id``, ``pw``; the token JSON, ``token_type``
  "Always 'bearer'"), ``/api/filelist`` and ``/api/tracklist`` (a gzip file ``json.gz``:
  ``Content-Type: application/x-gzip``, ``Content-Disposition: attachment;filename=json.gz;``
  as the document spells it), ``/api/download`` (the ``.vital`` file, or with ``asurl=1`` a
  URL to it) and ``/api/receive`` (gzip JSON of rooms -> trks -> recs). The token is the
  ``access_token`` query parameter of every call; an Authorization header is not read.
- The official client (vitaldb/vitalutils ``vitaldb/api.py``) for what the document leaves
  open: it sends ``login``'s ``id``/``pw`` as query parameters, reads ``filelist`` and
  ``tracklist`` with ``gzip.decompress(res.content)``, ``receive`` the same way (so its body
  is gzip even after the documented ``Content-Encoding: gzip`` is undone), and takes
  ``download?asurl=1``'s body as the URL text.

No document gives an error body: errors use RFC 6749 section 5.2's
``{"error", "error_description"}`` (400 for a bad request or grant, 401 for a bad client or
token, 404 for an unknown file), and the login page answers a person with HTML. The open
dataset (api.vitaldb.net) is ``_vitaldb_dataset``.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime
from html import escape
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from flask import Blueprint, request
from werkzeug.wrappers import Response

from . import _accounts as acc
from . import _vitaldb_files as files
from ._errors import Refused, vitaldb_error
from ._state import State, same
from ._tokens import TokenError

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 section 5.1
_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
JSON_GZ = {  # Web_API.md, filelist and tracklist, "Return Value", verbatim
    "Content-Type": "application/x-gzip",
    "Content-Disposition": "attachment;filename=json.gz;",
}
LINK_TTL = 600  # asurl=1: the docs give the link no lifetime; ten minutes, as a signed URL
RECEIVE_MAX = 600  # seconds of live data one receive answers at most (the docs give none)


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("vitaldb", __name__)
    issuer = state.issuers["vitaldb"]
    link_key = secrets.token_bytes(32)  # signs asurl links; lives as long as the server

    def refuse(status: int, error: str, description: str, headers=None) -> Refused:
        return Refused(vitaldb_error(status, error, description, headers))

    def query_user() -> str:
        # Seed 003 and Web_API.md: the access_token is a query parameter. A header alone is
        # not read (no VitalDB document mentions one), so it is refused like no token.
        token = request.args.get("access_token")
        if not token:
            header = "Authorization" in request.headers
            hint = " (an Authorization header is not read here)" if header else ""
            message = f"access_token query parameter is required{hint}."
            raise refuse(401, "invalid_token", message, _CHALLENGE)
        try:
            claims = issuer.decode(token)
        except TokenError as exc:
            reason = "The access token expired." if exc.expired else "The access token is invalid."
            raise refuse(401, "invalid_token", reason, _CHALLENGE) from None
        if claims["sub"] != acc.VITALDB_USERNAME:
            raise refuse(401, "invalid_token", "Unknown user.", _CHALLENGE)
        return claims["sub"]

    def password_token(token_type: str):
        # Form fields, as the docs' curl -d samples; the official client's api.login sends
        # them as query parameters, so those count too (request.values is both).
        userid, password = request.values.get("id", ""), request.values.get("pw", "")
        if not userid or not password:
            raise refuse(400, "invalid_request", "Both id and pw are required.")
        if not (same(userid, acc.VITALDB_USERNAME) & same(password, acc.VITALDB_PASSWORD)):
            raise refuse(400, "invalid_grant", "Incorrect VitalDB ID or password.")
        return token_body(userid, token_type)

    def token_body(userid: str, token_type: str, **claims) -> tuple:
        ttl = state.token_ttl
        access = issuer.issue(userid, "access", ttl, email=acc.VITALDB_EMAIL, **claims)
        body = {"access_token": access, "token_type": token_type, "expires_in": int(ttl)}
        return body, 200, _NO_STORE

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
            return token_body(userid, "Bearer", client_id=client_id)
        if form.get("id") or form.get("pw"):
            userid, password = form.get("id", ""), form.get("pw", "")
            if not userid or not password:
                raise refuse(400, "invalid_request", "Both id and pw are required.")
            if not (same(userid, acc.VITALDB_USERNAME) & same(password, acc.VITALDB_PASSWORD)):
                raise refuse(400, "invalid_grant", "Incorrect VitalDB ID or password.")
            return token_body(userid, "Bearer")  # OAuth2_API.md: "Bearer type"
        message = "Send code, client_id and client_secret, or id and pw, form-encoded."
        raise refuse(400, "invalid_request", message)

    @bp.get("/oauth2/userinfo")
    def userinfo():
        return {"userid": query_user(), "email": acc.VITALDB_EMAIL}

    # The Web API (Web_API.md).
    @bp.post("/api/login")
    def api_login():
        return password_token("bearer")  # Web_API.md: token_type "Always 'bearer'"

    def selected() -> list[files.UserFile]:
        args = request.args
        beds = [b for b in args.get("bedname", "").split(",") if b]  # the official client
        # joins a list of beds with commas
        start = _when(args, "dtstart") or _day(args, "startdate")
        end = _when(args, "dtend") or _day(args, "enddate", end=True)
        up_start = _when(args, "dtuploadstart") or _day(args, "uploadstartdate")
        up_end = _when(args, "dtuploadend") or _day(args, "uploadenddate", end=True)
        chosen = []
        for f in files.user_files(state.row_count("files")):
            # The docs name the filters, not their meaning: a recording is chosen when it
            # overlaps [dtstart, dtend], an upload when it falls within its range.
            if beds and f.bedname not in beds:
                continue
            if (start is not None and f.dtend < start) or (end is not None and f.dtstart > end):
                continue
            if (up_start is not None and f.dtupload < up_start) or (
                up_end is not None and f.dtupload > up_end
            ):
                continue
            chosen.append(f)
        return chosen

    @bp.get("/api/filelist")
    def filelist():
        query_user()
        # unixtimestamp=1 is the official client's; it names it, so times become unix
        # timestamps. Its hid and notimestamp flags are accepted and change nothing.
        unix = request.args.get("unixtimestamp") in ("1", "true")
        return _json_gz([files.filelist_row(f, unix) for f in selected()])

    @bp.get("/api/tracklist")
    def tracklist():
        query_user()
        return _json_gz([{"filename": f.filename, "trks": list(f.tracks)} for f in selected()])

    @bp.get("/api/download")
    def download():
        userid = query_user()
        name = request.args.get("filename", "")
        if not name:
            raise refuse(400, "invalid_request", "filename is required.")
        found = {f.filename: f for f in files.user_files(state.row_count("files"))}.get(name)
        if found is None:
            raise refuse(404, "not_found", f"No file {name!r} in your files.")
        if request.args.get("asurl") in ("1", "true"):
            expires = int(time.time()) + LINK_TTL
            signature = _sign(link_key, userid, name, expires)
            base = request.host_url.rstrip("/") + request.path.rsplit("/api/", 1)[0]
            query = urlencode({"expires": expires, "signature": signature})
            link = f"{base}/files/{quote(userid)}/{quote(name)}?{query}"
            return Response(link, status=200, content_type="text/plain; charset=utf-8")
        return _vital(found)

    @bp.get("/files/<userid>/<name>")
    def signed_file(userid: str, name: str):
        # Where an asurl link points. The docs do not say (a storage bucket, presumably): a
        # link signed for one user and file, good for LINK_TTL seconds, no token needed.
        try:
            expires = int(request.args.get("expires", ""))
        except ValueError:
            expires = 0
        good = _sign(link_key, userid, name, expires)
        if not hmac.compare_digest(request.args.get("signature", ""), good):
            raise refuse(403, "access_denied", "The link's signature does not match.")
        if expires < time.time():
            raise refuse(403, "access_denied", "The link expired; ask for a new one.")
        found = {f.filename: f for f in files.user_files(state.row_count("files"))}.get(name)
        if found is None or userid != acc.VITALDB_USERNAME:
            raise refuse(404, "not_found", f"No file {name!r}.")
        return _vital(found)

    @bp.get("/api/receive")
    def receive():
        # Web_API.md lists vrcode, bedname, dtstart, dtend (no access_token); the official
        # client sends access_token too and needs a login first, so the sandbox asks for it.
        query_user()
        vrcode = request.args.get("vrcode", "")
        if not vrcode:
            raise refuse(400, "invalid_request", "vrcode is required.")
        if vrcode != files.VRCODE:
            raise refuse(404, "not_found", f"vrcode {vrcode!r} is not registered to you.")
        now = time.time()
        end = _when(request.args, "dtend") or now
        start = _when(request.args, "dtstart") or end - 10
        start = max(start, end - RECEIVE_MAX)
        beds = [b for b in request.args.get("bedname", "").split(",") if b]
        data = json.dumps(files.receive(now, start, end, beds), separators=(",", ":"))
        # "Content-Encoding: gzip" and "Gzipped JSON" (Web_API.md), and the official client
        # gunzips the body requests has already decoded: gzip JSON, sent gzip-encoded again.
        body = gzip.compress(gzip.compress(data.encode(), mtime=0), mtime=0)
        headers = {"Content-Encoding": "gzip"}
        return Response(body, 200, headers, content_type="application/json; charset=utf-8")

    return bp


def _json_gz(rows: list) -> Response:
    # A gzip *file* (no Content-Encoding): the official client gunzips res.content itself.
    data = json.dumps(rows, separators=(",", ":")).encode()
    return Response(gzip.compress(data, mtime=0), status=200, headers=JSON_GZ)


def _vital(f: files.UserFile) -> Response:
    # The file as stored: a gzip stream (Vital_File_Format.md), so no Content-Encoding. The
    # docs give no headers for it; a download's usual ones.
    headers = {"Content-Disposition": f"attachment;filename={f.filename}"}
    return Response(
        files.file_bytes(f.index), 200, headers, content_type="application/octet-stream"
    )


def _sign(key: bytes, userid: str, name: str, expires: int) -> str:
    message = f"{userid}\n{name}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _when(args, name: str) -> float | None:
    """A "Unix timestamp" filter. The docs' own sample passes a date ("2010-10-01") as
    dtstart, so a date or date-time string, in the recorder's local time, is taken too."""
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=files.KST).timestamp()
        except ValueError:
            continue
    raise Refused(vitaldb_error(400, "invalid_request", f"{name} must be a unix timestamp."))


def _day(args, name: str, *, end: bool = False) -> float | None:
    """A "Date" filter (YYYY-MM-DD, the recorder's local day); an end date takes its whole
    day."""
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=files.KST)
    except ValueError:
        message = f"{name} must be a date, YYYY-MM-DD."
        raise Refused(vitaldb_error(400, "invalid_request", message)) from None
    return day.timestamp() + (86400 - 0.001 if end else 0)


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
