"""The default dialect: OAuth 2.0 as RFC 6749 and RFC 6750 write it, JSON answers.

A provider given as data alone (``vc.Provider(...)``) speaks this. A provider that departs
from it subclasses :class:`Dialect` in a module of its own and overrides only what
differs, the way requests-oauthlib keeps one compliance fix per provider:

- ``auth_host_path(provider, path)``: which paths go to the login host rather than the
  data host (``Provider.api_url``);
- ``placement(provider, path)``: where the token goes on the wire for a path — the
  Authorization header (``"header"``), the ``access_token`` query parameter
  (``"query"``), or nowhere (``None``, a public path);
- ``fix_token_session(oauth, grant)`` and ``token_fields(grant, creds)``: the token
  request, as requests-oauthlib compliance hooks and ``fetch_token`` arguments;
- ``refresh(endpoint, stale, creds)``: the renewal method, before the grant is run again;
- ``error_details(body, response)``: the provider's error-body shape;
- ``paging``: its paging style (``vital_connect._paging``);
- ``decode(response, body, path, limit)`` and ``tidy(df, path)``: body decoders and
  fixes to the finished table.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from .._errors import (
    APIError,
    AuthenticationError,
    NotSupportedError,
    ValidationError,
    VitalConnectError,
)
from .._frames import csv_frame
from .._http import GZIP_MAGIC, gunzip, loads, title_of
from .._paging import Paging
from .._redact import redact

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import requests
    from requests_oauthlib import OAuth2Session

    from .._credentials import Credentials
    from .._grants import TokenEndpoint
    from .._providers import Provider
    from .._token import Token

CSV_TYPES = frozenset({"text/csv", "application/csv"})
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip"})
LOGIN_REFUSALS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_credentials"}
)
ADVICE = {
    400: "The request was malformed; check the path and parameters.",
    401: "The token was refused; log in again with s.login().",
    403: "This account is not allowed to do this; ask the provider for access.",
    404: "Check the path: it is relative to base_url.",
    405: "This endpoint does not take that method.",
    415: "The endpoint wants another body encoding.",
    429: "Too many requests: wait a minute and try again.",
}


class Json(NamedTuple):
    """A decoded JSON answer (the other kind of answer is a finished DataFrame)."""

    payload: Any


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


class Dialect:
    """RFC 6749 + RFC 6750 as written; subclass it for a provider's quirks."""

    name = "rfc6749"
    paging: Paging = Paging()
    has_dataset = False  # VitalDB's open dataset features (find_cases, load_case…)
    # RFC 6749 section 4.1.2: "A maximum authorization code lifetime of 10 minutes is
    # RECOMMENDED"; the login panel's countdown renews the link after this many seconds
    code_lifetime = 600.0
    # the provider's names for our fields, as its 422s name them ({"id": "username"})
    field_names: Mapping[str, str] = MappingProxyType({})

    def __repr__(self) -> str:
        return f"<vital_connect dialect {self.name}>"

    # ------------------------------------------------------------------ hosts

    def auth_host_path(self, provider: Provider, path: str) -> bool:
        """True for paths served by ``base_url`` (the OAuth endpoints), False for paths on
        the data host ``api_url``."""
        return path in provider.endpoint_paths

    # ------------------------------------------------------------------ the token on the wire

    def placement(self, provider: Provider, path: str) -> str | None:
        """RFC 6750 section 2.1: the Authorization header, on every path."""
        return "header"

    def attach(self, request: requests.PreparedRequest, token: Token, placement: str) -> None:
        if placement == "query":
            request.prepare_url(request.url, {"access_token": token.access_token})
        else:
            request.headers["Authorization"] = token.authorization()

    def detach(self, request: requests.PreparedRequest) -> None:
        """Remove a token attached before (for the replay with a renewed one)."""
        from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

        request.headers.pop("Authorization", None)
        parts = urlsplit(request.url or "")
        if "access_token=" in parts.query:
            kept = [(k, v) for k, v in parse_qsl(parts.query, True) if k != "access_token"]
            request.url = urlunsplit(parts._replace(query=urlencode(kept)))

    # ------------------------------------------------------------------ token requests

    def fix_token_session(self, oauth: OAuth2Session, grant: str) -> None:
        """Register requests-oauthlib compliance hooks for the token request (none here)."""

    def token_fields(self, grant: str, creds: Credentials, code: str | None) -> dict[str, Any]:
        """``OAuth2Session.fetch_token`` arguments for ``grant``. The client's id and secret
        go in the body (RFC 6749 section 2.3.1 allows it; vitalera's docs demand it)."""
        client_id, client_secret = creds.get("client_id"), creds.get("client_secret")
        if grant == "client_credentials":
            return {
                "client_id": client_id,
                "client_secret": client_secret,
                "include_client_id": True,
            }
        if grant == "password":
            fields: dict[str, Any] = {
                "username": creds.get("username"),
                "password": creds.get("password"),
                "include_client_id": bool(client_id),
            }
            if client_id:
                fields.update(client_id=client_id, client_secret=client_secret)
            return fields
        # the WebApplicationClient carries client_id already (passing it again is deprecated)
        return {"code": code, "client_secret": client_secret, "include_client_id": True}

    # ------------------------------------------------------------------ renewal

    def refresh(self, endpoint: TokenEndpoint, stale: Token, creds: Credentials) -> Token | None:
        """RFC 6749 section 6: the refresh-token grant at the token endpoint (or the
        provider's ``refresh_path``). None when there is no refresh token."""
        if not stale.refresh_token:
            return None
        return endpoint.refresh_token_grant(stale, creds)

    # ------------------------------------------------------------------ errors

    def error_details(
        self, body: Any, response: requests.Response
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        """(error_type, message, field errors) from RFC 6749 section 5.2's
        ``{"error", "error_description"}`` and the commonest other shapes."""
        reason = response.reason or "error"
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, str):
                return error, str(body.get("error_description") or error), []
            if isinstance(error, dict):
                kind = error.get("type") or error.get("code")
                return _text(kind), str(error.get("message", reason)), []
            if isinstance(body.get("detail"), str):
                return None, body["detail"], []
            if isinstance(body.get("message"), str):
                return _text(body.get("code") or body.get("type")), body["message"], []
        return None, f"{response.status_code} {reason}{title_of(response.content)}", []

    def error(
        self, response: requests.Response, provider: str, *, login: bool = False, hint: str = ""
    ) -> VitalConnectError:
        """Map an error answer to our error classes, with a message that says what to do."""
        status = response.status_code
        try:
            body = loads(response.content) if response.content else None
        except (ValueError, RecursionError, TypeError):
            body = None
        try:
            error_type, message, fields = self.error_details(body, response)
        except (AttributeError, KeyError, TypeError, ValueError):  # a shape not foreseen
            error_type, message, fields = None, f"{status} {response.reason or 'error'}", []
        url = redact(response.url)
        message = redact(message)[:500].rstrip(". ")
        where = f"{provider} ({url})"
        if status == 422:
            return ValidationError(
                f"{where} rejected the request's fields: {message}. Fix the fields named and "
                "try again.",
                errors=fields,
                status_code=status,
                error_type=error_type,
                url=url,
            )
        if login and (status in (401, 403) or (status == 400 and error_type in LOGIN_REFUSALS)):
            return AuthenticationError(
                f"{provider} refused the login: {message}. {hint or 'Check the credentials.'}",
                status_code=status,
                error_type=error_type,
                url=url,
            )
        default = "The provider has a problem; try again later." if status >= 500 else ""
        advice = ADVICE.get(status, default)
        return APIError(
            f"{where} answered HTTP {status}: {message}. {advice}".strip(),
            status_code=status,
            error_type=error_type,
            url=url,
        )

    # ------------------------------------------------------------------ answers

    def decode(
        self, response: requests.Response, body: bytes, path: str, limit: int
    ) -> Json | pd.DataFrame:
        """JSON by default; CSV when the answer says so; a gzip file unpacked first."""
        kind = media_type(response)
        if body.startswith(GZIP_MAGIC) and (
            kind in GZIP_TYPES or kind in ("", "application/octet-stream")
        ):
            inner = gunzip(body, limit)
            if inner.lstrip()[:1] in (b"{", b"["):
                return Json(self.json(response, inner))
            return csv_frame(inner)
        if kind in CSV_TYPES:
            return csv_frame(gunzip(body, limit) if body.startswith(GZIP_MAGIC) else body)
        return Json(self.json(response, body))

    def json(self, response: requests.Response, body: bytes) -> Any:
        from .._http import decode_json

        return decode_json(response, body)

    def tidy(self, df: pd.DataFrame, path: str) -> pd.DataFrame:
        """Fix the finished table where the provider documents more than JSON says."""
        return df

    # ------------------------------------------------------------------ features

    def rotation_answer(self, body: Any) -> dict[str, str]:
        """The new client id and secret from a rotation answer."""
        raise NotSupportedError("This provider has no credential rotation.")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


RFC6749 = Dialect()
