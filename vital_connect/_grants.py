"""Grants: the provider's token endpoint, and the code flow's address and state check.

requests-oauthlib is the engine for token requests (``OAuth2Session.fetch_token`` and
``refresh_token``, with the dialect's compliance hooks); this module adds what it lacks:
the status and shape of every token answer checked before oauthlib reads it, a timeout,
no redirect ever followed for a POST, a size limit, and the transport rule checked on the
URL that is really sent. A new OAuth2Session serves each token request, so nothing of
requests-oauthlib's state (its stale expiry, its token) outlives the call or is written
from outside.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from ._credentials import NEEDS, Credentials, login_hint, missing_error
from ._errors import (
    APIError,
    AuthenticationError,
    InsecureTransportError,
    StateMismatchError,
    VitalConnectError,
)
from ._http import NETWORK_ERRORS, HttpSession, network_error, read_body, retrying_adapter
from ._redact import Secret, redact, register_secret
from ._token import BadToken, Token
from ._transport import check_destination, parse

if TYPE_CHECKING:  # pragma: no cover
    from requests_oauthlib import OAuth2Session

    from ._providers import Provider

MAX_TOKEN_ANSWER = 1 << 20  # bytes: a token answer is a few kB


class TokenEndpoint:
    """Runs grants and renewals against one provider's token endpoint."""

    def __init__(
        self,
        provider: Provider,
        base_url: str,
        origins: frozenset[str],
        timeout: Callable[[], tuple[float, float]],
    ) -> None:
        self.provider = provider
        self.dialect = provider.dialect
        self.base_url = base_url
        self.origins = origins
        self._timeout = timeout  # the session's, read at each call (it may be changed)
        self._http = HttpSession(pool_size=2)
        self._grant: str | None = None  # of the request in flight, for the refusal's hint
        self._last = threading.local()  # the checked token of this thread's request

    @property
    def timeout(self) -> tuple[float, float]:
        return self._timeout()

    def url(self, path: str) -> str:
        return self.base_url + path

    # ------------------------------------------------------------------ grants

    def fetch(self, grant: str, creds: Credentials, code: str | None = None) -> Token:
        """Run ``grant`` at the token endpoint; the new token (not stored)."""
        missing = [n for n in NEEDS[grant] if not creds.get(n)]
        if grant == "authorization_code":
            missing = [n for n in missing if n != "redirect_uri"]
        if missing:
            raise missing_error(self.provider, creds, grant)
        url = self.url(self.provider.token_path)
        oauth = self._oauth(grant, creds)
        fields = self.dialect.token_fields(grant, creds, code)
        self._grant = grant
        try:
            raw = oauth.fetch_token(self._oauthlib_url(url), timeout=self.timeout, **fields)
        except (VitalConnectError, *NETWORK_ERRORS, ValueError, Warning, KeyError) as exc:
            failure = self._failure(url, exc)
        else:
            del raw  # oauthlib's reading of it; ours (not rounded to whole seconds) is kept
            return self._checked_token()
        finally:
            oauth.close()
            del fields
        # raised here, outside the except block: no exception chain keeps the request (its
        # body holds the password) or oauthlib's frames alive
        raise failure

    def refresh_token_grant(self, stale: Token, creds: Credentials) -> Token:
        """RFC 6749 section 6 through requests-oauthlib (form body, client Basic auth)."""
        url = self.url(self.provider.refresh_path or self.provider.token_path)
        oauth = self._oauth("refresh_token", creds)
        client_id, client_secret = creds.get("client_id"), creds.get("client_secret")
        auth = requests.auth.HTTPBasicAuth(client_id, client_secret or "") if client_id else None
        self._grant = "refresh_token"
        try:
            raw = oauth.refresh_token(
                self._oauthlib_url(url),
                refresh_token=stale.refresh_token,
                auth=auth,
                timeout=self.timeout,
            )
        except (VitalConnectError, *NETWORK_ERRORS, ValueError, Warning, KeyError) as exc:
            failure = self._failure(url, exc)
        else:
            del raw
            token = self._checked_token()
            if token.refresh_token is None:  # adopt a new one when it comes, else keep ours
                token = dataclasses.replace(token, refresh_token=stale.refresh_token)
            return token
        finally:
            oauth.close()
            del auth
        raise failure

    def post_token(
        self, path: str, *, keep_refresh_token: str | None = None, **kwargs: Any
    ) -> Token:
        """A token POST of the dialect's own shape (vitalera's JSON refresh, vidaplus'
        Bearer refresh), with the same checks as every token answer."""
        url = self.url(path)
        self._grant = "refresh_token"
        check_destination(url, self.origins, "the refresh request")
        failure: VitalConnectError | None = None
        try:
            response = self._http.post(url, timeout=self.timeout, stream=True, **kwargs)
        except NETWORK_ERRORS as exc:
            failure = self._failure(url, exc)
        finally:
            kwargs.clear()  # its headers carry the token: not kept in this frame's locals
        if failure is not None:
            raise failure
        data = self._answer(response)
        if keep_refresh_token and not data.get("refresh_token"):
            data["refresh_token"] = keep_refresh_token  # adopt a new one when it comes
        return self._token(data)

    # ------------------------------------------------------------------ checks

    def _oauth(self, grant: str, creds: Credentials) -> OAuth2Session:
        from oauthlib.oauth2 import (
            BackendApplicationClient,
            LegacyApplicationClient,
            WebApplicationClient,
        )

        client_id = creds.get("client_id")
        if grant == "client_credentials":
            client: Any = BackendApplicationClient(client_id=client_id)
        elif grant == "password":
            client = LegacyApplicationClient(client_id=client_id or "")
        else:
            client = WebApplicationClient(client_id=client_id)
        oauth = _token_session(client, self)
        if grant == "authorization_code":
            oauth.redirect_uri = creds.get("redirect_uri")
        self.dialect.fix_token_session(oauth, grant)
        oauth.register_compliance_hook("access_token_response", self._checked)
        oauth.register_compliance_hook("refresh_token_response", self._checked)
        return oauth

    def _oauthlib_url(self, url: str) -> str:
        # oauthlib refuses http unless OAUTHLIB_INSECURE_TRANSPORT is set for the whole
        # process (any other OAuth2Session in the kernel would then accept plain http
        # anywhere). Our own rule is stricter and checked on the URL really sent: https,
        # or http to loopback only. So oauthlib is handed the https spelling of a loopback
        # URL, and the token session sends it as the http it is (see _token_session).
        check_destination(url, self.origins, "the login")
        if parse(url).scheme == "http":
            return "https" + url[len("http") :]
        return url

    def _checked(self, response: requests.Response) -> requests.Response:
        """A token answer: status checked, JSON type-checked, then handed to oauthlib in
        a clean form (it would otherwise choke on ``expires_in: "3600.5"`` or ``1e300``)."""
        data = self._answer(response)
        token = self._token(data)
        self._last.token = token  # what fetch() returns: oauthlib rounds expires_in down
        clean: dict[str, Any] = {"access_token": token.access_token, "token_type": token.token_type}
        left = token.expires_in()
        if left is not None:
            clean["expires_in"] = max(0, int(left))
        for name in ("refresh_token", "id_token", "scope", "sub"):
            if getattr(token, name):
                clean[name] = getattr(token, name)
        response._content = json.dumps(clean).encode()
        return response

    def _checked_token(self) -> Token:
        token: Token | None = getattr(self._last, "token", None)
        self._last.token = None
        if token is None:  # pragma: no cover - the hook always runs before oauthlib returns
            raise APIError("The token answer was not checked.", error_type="invalid_token_response")
        return token

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        if response.is_redirect:
            response.close()
            raise InsecureTransportError(
                f"{self.provider.name}'s token endpoint answered with a redirect; it was not "
                "followed, so no credential went anywhere else. Check base_url."
            )
        read_body(response, MAX_TOKEN_ANSWER)
        if response.status_code >= 400:
            raise self.dialect.error(
                response,
                self.provider.name,
                login=True,
                hint=login_hint(self.provider, self._grant),
            )
        from ._http import decode_json

        data = decode_json(response)
        if not isinstance(data, dict) or not data.get("access_token"):
            raise APIError(
                f"{self.provider.name}'s token endpoint answered without an access_token. "
                "Check base_url: it may point at the wrong server.",
                status_code=response.status_code,
                error_type="missing_token",
                url=redact(response.url),
            )
        return data

    def _token(self, data: dict[str, Any]) -> Token:
        failure: APIError | None = None
        try:
            token = Token.from_response(data)
        except BadToken as exc:
            failure = APIError(
                f"{self.provider.name}'s token answer could not be used: {exc}. Check base_url.",
                error_type="invalid_token_response",
            )
        if failure is not None:
            data.clear()  # the answer's tokens must not stay in this frame
            raise failure
        register_secret(token.access_token, token.refresh_token, token.id_token)
        return token

    def _failure(self, url: str, exc: BaseException) -> VitalConnectError:
        """Our error for what went wrong in a token request (a fresh one, without chain)."""
        if isinstance(exc, VitalConnectError):
            exc.__context__ = exc.__cause__ = None
            exc.__traceback__ = None  # its frames hold the request; the message is enough
            return exc
        if isinstance(exc, NETWORK_ERRORS):
            return network_error(exc, self.provider.name, url)
        reason = redact(getattr(exc, "description", None) or type(exc).__name__)
        return APIError(
            f"{self.provider.name}'s token answer could not be used: {reason}. Check base_url.",
            error_type="invalid_token_response",
            url=redact(url),
        )

    def close(self) -> None:
        self._http.close()


def _token_session(client: Any, endpoint: TokenEndpoint) -> OAuth2Session:
    from requests_oauthlib import OAuth2Session

    class TokenSession(OAuth2Session):
        """One token request: never a redirect, a bounded body, the real (possibly
        loopback http) URL sent, checked once more just before it leaves."""

        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            url = request.url or ""
            if url.startswith("https://") and endpoint.base_url.startswith("http://"):
                request.url = "http://" + url[len("https://") :]  # see _oauthlib_url
            check_destination(request.url or "", endpoint.origins, "the login")
            kwargs["allow_redirects"] = False
            kwargs["stream"] = True
            response: requests.Response = super().send(request, **kwargs)
            return response

    oauth = TokenSession(client=client)
    adapter = retrying_adapter(pool_size=2)
    oauth.mount("https://", adapter)
    oauth.mount("http://", adapter)
    return oauth


class CodeFlow:
    """The authorization-code flow's address and its ``state``: 256 random bits, compared
    in constant time, used once."""

    def __init__(self, provider: Provider, base_url: str) -> None:
        self.provider = provider
        self.base_url = base_url
        self._state: str | None = None
        self._lock = threading.Lock()

    def start(self, creds: Credentials) -> str:
        missing = [n for n in ("client_id", "redirect_uri") if not creds.get(n)]
        if missing:
            raise missing_error(self.provider, creds, "authorization_code")
        state = secrets.token_urlsafe(32)
        with self._lock:
            self._state = state
        query = urlencode(
            {
                "client_id": creds.get("client_id"),
                "redirect_uri": creds.get("redirect_uri"),
                "state": state,
            }
        )
        return f"{self.base_url}{self.provider.login_path}?{query}"

    @staticmethod
    def _fields(redirected_url: str) -> dict[str, str]:
        parts = urlsplit(str(redirected_url).strip())
        query = parse_qs(parts.query) or parse_qs(parts.fragment)
        return {k: (Secret(v[0]) if k == "code" else v[0]) for k, v in query.items() if v}

    def matches(self, redirected_url: str) -> bool:
        """Does this address carry the state of the login in progress? (Nothing consumed:
        a stray request to the listener must not spoil the person's login.)"""
        with self._lock:
            expected = self._state
        state = self._fields(redirected_url).get("state", "")
        return expected is not None and hmac.compare_digest(state.encode(), expected.encode())

    def finish(self, redirected_url: str) -> str:
        """The ``code`` from the address the login page redirected to, after the state
        check (the state is used up by this call, whatever its outcome)."""
        first = self._fields(redirected_url)
        with self._lock:
            expected, self._state = self._state, None
        if first.get("error"):
            raise AuthenticationError(
                f"{self.provider.name} refused the login: {redact(first['error'])[:200]}. "
                "Start again with s.authorization_url()."
            )
        state = first.get("state", "")
        if not expected or not hmac.compare_digest(state.encode(), expected.encode()):
            raise StateMismatchError(
                "The redirected address does not carry the state this session sent "
                "(it is missing, wrong, or was already used). Start again: open a new "
                "s.authorization_url() and paste the address you are sent back to."
            )
        code = first.get("code")
        if not code:
            raise AuthenticationError(
                "The redirected address has no code. Paste the whole address from the "
                "browser's address bar after logging in."
            )
        register_secret(code)
        return Secret(code)

    def forget(self) -> None:
        with self._lock:
            self._state = None
