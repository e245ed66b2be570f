"""The token's whole life as one object: a requests ``AuthBase``, as httpx's auth flows.

It holds the token, the cache and the lock. For each request it attaches the token from a
snapshot (where the dialect says: header, query string, or nowhere for a public path),
renewing first when the token is known to have expired; it answers a 401 with one renewal
and one replay (requests' ``HTTPDigestAuth.handle_401`` shape). However many threads, and
through the cache's file lock however many kernels, notice an expiry at once, one renewal
is made and the others adopt it.

Renewal order: the dialect's refresh (a refresh token, or a refresh endpoint), else the
grant again with the credentials configured (arguments kept in memory, the environment
and ``.env`` read again); values typed into the panel are never kept, so a session logged
in that way raises TokenExpiredError and the panel asks again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests

from ._cache import NoCache, cache_key
from ._credentials import (
    LOGIN_FIELDS,
    NEEDS,
    SECRET,
    Credentials,
    CredentialStore,
    LazyCredentials,
    how_to_login_again,
    infer_grant,
    missing_error,
)
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    InsecureTransportError,
    MissingCredentialsError,
    NotSupportedError,
    TokenExpiredError,
)
from ._grants import CodeFlow, TokenEndpoint
from ._http import read_body
from ._redact import Secret, redact, register_secret

if TYPE_CHECKING:  # pragma: no cover
    from ._cache import TokenCache
    from ._providers import Provider
    from ._token import Token

CODE = "authorization_code"
LOCK_MARGIN = 5.0  # seconds, beyond another kernel's worst-case renewal, before giving up


class TokenAuth(requests.auth.AuthBase):
    """A session's login: ``token``, ``login()``, ``renew()``, ``logout()``; attached to
    every request the session sends."""

    def __init__(
        self,
        provider: Provider,
        endpoint: TokenEndpoint,
        credentials: CredentialStore,
        cache: TokenCache,
        *,
        grant: str | None,
        user: str | None,
        placement: Callable[[str], str | None],
    ) -> None:
        self.provider = provider
        self.dialect = provider.dialect
        self.endpoint = endpoint
        self.credentials = credentials
        self.cache = cache
        self.grant = grant
        self.flow = CodeFlow(provider, endpoint.base_url)
        self.placement = placement
        self.renewals = 0  # how many times a token was renewed (for tests and benchmarks)
        self.typed_user: str | None = None  # who logged in through the panel
        self.configured_user = user
        self.key = cache_key(provider.name, endpoint.base_url, user or "")
        self._token: Token | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<TokenAuth {self.provider.name} grant={self.grant!r} token={self._token!r}>"

    # ------------------------------------------------------------------ the token

    @property
    def token(self) -> Token | None:
        return self._token

    def set_token(self, token: Token | None, *, save: bool = True) -> None:
        """Hold ``token`` (and keep it in the cache unless ``save`` is False)."""
        if token is not None:
            register_secret(token.access_token, token.refresh_token, token.id_token)
        with self._lock:
            self._token = token
        if token is not None and save:
            self.cache.save(self.key, token)

    def adopt_cached(self) -> bool:
        """Take the cached token (a kernel restart) if it is still of use."""
        token = self.cache.load(self.key)
        if token is None or (token.is_expired() and not token.refresh_token):
            return False
        self.set_token(token, save=False)
        return True

    def logout(self) -> None:
        with self._lock:
            self._token = None
            self.flow.forget()
            self.cache.delete(self.key)

    # ------------------------------------------------------------------ on the wire

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        placement = self.placement(request.url or "")
        if placement is None:  # a public path: no token goes there
            return request
        token = self.valid_token()
        self.dialect.attach(request, token, placement)
        request._vc_sent = (token, placement)  # type: ignore[attr-defined]
        request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def fixed(self, token: Token) -> requests.auth.AuthBase:
        """Attach ``token`` as it is: no renewal, no replay (``validate()`` asks about this
        very token)."""
        return _Fixed(self, token)

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        sent = getattr(response.request, "_vc_sent", None)
        if response.status_code != 401 or sent is None:
            return response
        if getattr(response.request, "_vc_replay", False):
            return response
        stale, placement = sent
        response.close()  # a 401's body is not needed (and may be large)
        token = self.renew(stale)
        replay = response.request.copy()
        self.dialect.detach(replay)
        self.dialect.attach(replay, token, placement)
        replay._vc_sent = (token, placement)  # type: ignore[attr-defined]
        replay._vc_replay = True  # type: ignore[attr-defined]
        again = response.connection.send(replay, **kwargs)
        again.history.append(response)
        again.request = replay
        if again.status_code == 401:
            read_body(again, 1 << 16)
            _, message, _ = self.dialect.error_details(_json_or_none(again), again)
            raise TokenExpiredError(
                f"{self.provider.name} refused a freshly renewed token "
                f"({redact(message)[:200]}). {how_to_login_again(self.provider, self.grant)}",
                status_code=401,
                url=redact(again.url),
            )
        return again

    # ------------------------------------------------------------------ logging in

    def login(
        self,
        given: dict[str, Any] | None = None,
        *,
        remember: bool = True,
        resolved: Credentials | None = None,
    ) -> Token:
        """Log in with ``given`` values over the configured ones (``resolved``, when the
        caller has just read them). ``remember=False``: typed into the panel, used once."""
        given = dict(given or {})
        grant = given.pop("grant", None)
        unknown = set(given) - LOGIN_FIELDS
        if unknown:
            raise ConfigurationError(
                f"login() got unexpected fields {sorted(unknown)}; it takes grant and "
                f"{', '.join(sorted(LOGIN_FIELDS))}."
            )
        given = {
            k: (Secret(str(v)) if k in SECRET else str(v))
            for k, v in given.items()
            if v not in (None, "")
        }
        register_secret(*(given.get(k) for k in SECRET))
        creds = resolved or self.credentials.resolve()
        for k, v in given.items():
            creds.values[k] = v
            creds.sources[k] = "argument" if remember else "panel"
        # New credentials choose their own grant; otherwise keep the session's one.
        grant = grant or infer_grant(self.provider, Credentials(values=given))
        if grant is None and self.grant and creds.has(*NEEDS[self.grant]):
            grant = self.grant
        grant = grant or infer_grant(self.provider, creds)
        if grant is None:
            raise missing_error(self.provider, creds, None)
        self.check_grant(grant)
        if grant == CODE:
            raise NotSupportedError(
                f"{self.provider.name}'s code flow needs a person: open s.authorization_url(), "
                "log in there, then call s.complete_login(<the address you were sent to>)."
            )
        with self._lock:
            token = self.endpoint.fetch(grant, creds)
            if remember:
                self.credentials.give(given)
                self._rekey(creds.user())
            else:
                self.credentials.forget(*given)
                self.typed_user = given.get("username") or given.get("client_id")
            self.grant = grant
            self.set_token(token)
        return token

    def complete(self, redirected_url: str) -> Token:
        code = self.flow.finish(redirected_url)
        with self._lock:
            token = self.endpoint.fetch(CODE, self.credentials.resolve(), code=code)
            self.grant = CODE
            self.set_token(token)
        return token

    def check_grant(self, grant: str) -> None:
        if grant not in self.provider.grants:
            raise NotSupportedError(
                f"{self.provider.name} has no {grant!r} grant; it offers: "
                f"{', '.join(self.provider.grants)}."
            )

    def _rekey(self, user: str | None) -> None:
        if user and user != self.configured_user:
            self.configured_user = user
            self.key = cache_key(self.provider.name, self.endpoint.base_url, user)

    def rotated(self, new: dict[str, str]) -> None:
        """The provider issued new client credentials: use them from now on, and keep the
        token under the key they name."""
        with self._lock:
            old = self.key
            self.credentials.rotate(new)
            self.configured_user = self.credentials.resolve().user()
            self.key = cache_key(
                self.provider.name, self.endpoint.base_url, self.configured_user or ""
            )
            if self._token is not None and old != self.key:
                self.cache.delete(old)
                self.cache.save(self.key, self._token)

    # ------------------------------------------------------------------ renewal

    def valid_token(self) -> Token:
        token = self._token
        if token is None:
            if self.grant == CODE:
                raise MissingCredentialsError(
                    f"Not logged in to {self.provider.name} yet: open s.authorization_url(), "
                    "log in, then call s.complete_login(<the address you were sent to>)."
                )
            self.login({}, remember=True)
            token = self._token
            assert token is not None
            return token
        if token.is_expired():
            return self.renew(token)
        return token

    def lock_wait(self) -> float:
        """How long to wait for another kernel's renewal: its own worst case (a refresh
        and a grant, each within the timeouts), and a margin."""
        connect, read = self.endpoint.timeout
        return 2 * (connect + read) + LOCK_MARGIN

    def renew(self, stale: Token | None, *, force: bool = False) -> Token:
        """Renew once however many threads ask: whoever comes second adopts the result."""
        with self._lock:
            current = self._token
            if (
                not force
                and current is not None
                and stale is not None
                and current.access_token != stale.access_token
                and not current.is_expired()
            ):
                return current
            with self.cache.locked(self.key, self.lock_wait()):
                # Another kernel sharing the cache may have renewed already: adopt its token
                # rather than burning our (possibly rotated) refresh token a second time.
                cached = self.cache.load(self.key)
                if (
                    not force
                    and cached is not None
                    and (stale is None or cached.access_token != stale.access_token)
                    and not cached.is_expired()
                ):
                    self.set_token(cached, save=False)
                    return cached
                token = self._renew_now(stale)
                self.renewals += 1
                self.set_token(token)
                return token

    def _renew_now(self, stale: Token | None) -> Token:
        failures: list[str] = []
        creds = LazyCredentials(self.credentials)
        if stale is not None:
            try:
                token = self.dialect.refresh(self.endpoint, stale, creds)
            except (AuthenticationError, APIError, InsecureTransportError) as exc:
                failures.append(f"the refresh was refused ({exc.error_type or exc})")
            else:
                if token is not None:
                    return token
        grant = self.grant
        if grant and grant != CODE and creds.has(*NEEDS[grant]):
            return self.endpoint.fetch(grant, creds)
        raise TokenExpiredError(
            f"The {self.provider.name} token expired and could not be renewed"
            + (f": {'; '.join(failures)}" if failures else "")
            + ". "
            + how_to_login_again(self.provider, grant)
        )

    # ------------------------------------------------------------------ a copy elsewhere

    @classmethod
    def from_token(
        cls,
        provider: Provider,
        endpoint: TokenEndpoint,
        token: Token | None,
        *,
        grant: str | None,
        placement: Callable[[str], str | None],
    ) -> TokenAuth:
        """The login of a session rebuilt from a pickle (a Dask worker): ``token`` and
        nothing else — no credentials, no token cache, no renewal. When the token expires
        (or the provider refuses it), requests raise TokenExpiredError saying to re-run
        from the notebook, where the session can log in again."""
        auth = _TokenOnly(
            provider,
            endpoint,
            TokenOnlyStore(provider, endpoint.base_url),
            NoCache(),
            grant=grant,
            user=None,
            placement=placement,
        )
        if token is not None:
            auth.set_token(token, save=False)
        return auth


class TokenOnlyStore(CredentialStore):
    """The credentials of a session rebuilt from a pickle: its base URL only. Nothing is
    read from the environment or a ``.env``: on a worker, those would be someone else's."""

    def __init__(self, provider: Provider, base_url: str) -> None:
        super().__init__(provider, {})
        self.base_url = base_url

    def resolve(self) -> Credentials:
        return Credentials(values={"base_url": self.base_url}, sources={"base_url": "pickle"})


class _TokenOnly(TokenAuth):
    def valid_token(self) -> Token:
        if self._token is None:
            raise self._expired("was sent without a token: it was not logged in then")
        return super().valid_token()

    def _renew_now(self, stale: Token | None) -> Token:
        when = stale.expires_at if stale is not None else None
        if stale is not None and when is not None and stale.is_expired():
            raise self._expired(
                f"holds a token that expired at {when.isoformat(timespec='seconds')}"
            )
        raise self._expired("holds a token the provider refuses, or that has to be renewed")

    def _expired(self, why: str) -> TokenExpiredError:
        return TokenExpiredError(
            f"This copy of the {self.provider.name} session {why}. A session sent to another "
            "process (pickled, e.g. to a Dask worker) carries its access token only, never the "
            "credentials, so it cannot log in again by itself. Re-run from the notebook: log "
            "in there again (s.login() or vc.connect(...)) and compute again."
        )


class _Fixed(requests.auth.AuthBase):
    def __init__(self, auth: TokenAuth, token: Token) -> None:
        self.auth = auth
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        placement = self.auth.placement(request.url or "")
        if placement is not None:
            self.auth.dialect.attach(request, self.token, placement)
        return request


def _json_or_none(response: requests.Response) -> Any:
    from ._http import loads

    try:
        return loads(response.content)
    except (ValueError, RecursionError, TypeError):
        return None
