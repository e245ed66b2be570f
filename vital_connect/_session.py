"""Session: one logged-in connection to a provider, over one requests-oauthlib OAuth2Session.

requests-oauthlib builds and parses the token requests (with the provider's compliance
hooks); this class adds what it lacks: status checks on token answers, expiry with a
leeway, one renewal under a lock however many threads notice it, replay after a 401,
timeouts on every call, origin pinning and the token cache.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from oauthlib.oauth2 import (
    BackendApplicationClient,
    LegacyApplicationClient,
    OAuth2Error,
    WebApplicationClient,
)
from requests_oauthlib import OAuth2Session

from . import _credentials
from ._cache import FileCache, NoCache, cache_key
from ._envfile import save_rotated
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    InsecureTransportError,
    MissingCredentialsError,
    NotSupportedError,
    StateMismatchError,
    TokenExpiredError,
    VitalConnectError,
)
from ._frames import (
    concat_frames,
    csv_frame,
    is_csv,
    json_frame,
    next_link,
    page_rows,
    page_urls,
    records_frame,
    stamp,
)
from ._http import decode_json, error_details, error_from, network_error, retrying_adapter
from ._providers import Provider
from ._redact import install_log_filter, redact, register_secret
from ._token import Token
from ._transport import Timeout, check_transport, normalize_timeout, oauthlib_allows, origin

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

install_log_filter()

LOGIN_FIELDS = frozenset(_credentials.FIELDS) - {"base_url"}


class SecretDict(dict):
    """A dict whose repr masks secret values (rotated credentials shown in a notebook)."""

    def __repr__(self) -> str:
        return repr({k: ("***" if "secret" in k else v) for k, v in self.items()})


class Session:
    """A connection to one provider. Made by :func:`vital_connect.connect`.

    >>> import vital_connect as vc
    >>> s = vc.connect("vitaldb", anonymous=True, cache=False)
    >>> s
    <vital_connect.Session vitaldb anonymous base_url='https://vitaldb.net'>
    """

    def __init__(
        self,
        provider: Provider,
        *,
        credentials: _credentials.Credentials,
        grant: str | None,
        explicit: dict[str, str],
        env_file: str | os.PathLike[str] | None = None,
        cache: FileCache | NoCache | None = None,
        timeout: Timeout | None = None,
        anonymous: bool = False,
        lang: str = "en",
    ) -> None:
        self.provider = provider
        self.base_url = (credentials.get("base_url") or provider.base_url).rstrip("/")
        check_transport(self.base_url)
        custom = self.base_url != provider.base_url.rstrip("/")
        self.api_url = self.base_url if custom else (provider.api_url or self.base_url)
        self.api_url = self.api_url.rstrip("/")
        self._origins = {origin(self.base_url), origin(self.api_url)} | {
            origin(o) for o in provider.origins
        }
        self.grant = grant
        self.anonymous = anonymous
        self.lang = lang
        self.timeout = normalize_timeout(timeout)
        self._explicit = dict(explicit)  # given as arguments: kept in memory only
        self._rotated: dict[str, str] = {}
        self._env_file = env_file
        self._cache = cache or NoCache()
        self._token: Token | None = None
        self._state: str | None = None
        self._typed_user: str | None = None
        self._lock = threading.RLock()
        self.renewals = 0  # how many times a token was renewed (for tests and benchmarks)
        # Pages a paginated get() may fetch at once when their addresses are known (a count
        # plus page numbers or offsets); 1 fetches them one by one, following `next`.
        self.page_workers = 8
        register_secret(*(credentials.get(k) for k in _credentials.SECRET))

        self._oauth = OAuth2Session(client=self._client_for(grant, credentials))
        adapter = retrying_adapter(pool_size=16)
        self._oauth.mount("https://", adapter)
        self._oauth.mount("http://", adapter)
        self._oauth.headers["User-Agent"] = "vital-connect/0.1"
        if provider.adapter:
            provider.adapter(self._oauth)
        self._oauth.register_compliance_hook("access_token_response", self._check_token_answer)
        self._oauth.register_compliance_hook("refresh_token_response", self._check_token_answer)

    # ------------------------------------------------------------------ public state

    @property
    def token(self) -> Token | None:
        """The current token, or None before login / after logout."""
        return self._token

    @property
    def is_authenticated(self) -> bool:
        """A token is held and not known to be expired."""
        tok = self._token
        return tok is not None and not tok.is_expired(leeway=0)

    @property
    def user(self) -> str | None:
        """Who the session logs in as: the username, else the client id (also when typed
        into the panel, though the secret that went with it is not kept)."""
        return self._configured_user() or self._typed_user

    def _configured_user(self) -> str | None:
        creds = self._credentials()
        return creds.get("username") or creds.get("client_id")

    def __repr__(self) -> str:
        if self.anonymous:
            return (
                f"<vital_connect.Session {self.provider.name} anonymous "
                f"base_url={self.base_url!r}>"
            )
        tok = self._token
        state = "logged out"
        if tok is not None:
            expires = tok.expires_at.isoformat(timespec="seconds") if tok.expires_at else "?"
            state = f"{'authenticated' if self.is_authenticated else 'expired'} until {expires}"
        return redact(
            f"<vital_connect.Session {self.provider.name} grant={self.grant!r} "
            f"user={self.user!r} {state} base_url={self.base_url!r}>"
        )

    # ------------------------------------------------------------------ credentials

    def _credentials(self) -> _credentials.Credentials:
        """Current credentials: rotated > arguments > environment > .env (read again now,
        so a person who fixed their .env does not have to restart the kernel)."""
        try:
            fresh = _credentials.resolve(self.provider, {}, self._env_file)
        except MissingCredentialsError:
            fresh = _credentials.Credentials()
        merged = _credentials.Credentials(env_file=fresh.env_file)
        for name in _credentials.FIELDS:
            for source, values in (
                ("rotated", self._rotated),
                ("argument", self._explicit),
                (fresh.sources.get(name, ""), fresh.values),
            ):
                if values.get(name):
                    merged.values[name] = values[name]
                    merged.sources[name] = source
                    break
        return merged

    def _client_for(self, grant: str | None, creds: _credentials.Credentials):
        client_id = creds.get("client_id")
        if grant == "client_credentials":
            return BackendApplicationClient(client_id=client_id)
        if grant == "password":
            return LegacyApplicationClient(client_id=client_id or "")
        return WebApplicationClient(client_id=client_id)

    def _cache_key(self) -> str:
        # configured credentials only: a kernel restarted with the same configuration (or
        # none, after a panel login) finds the token again
        return cache_key(self.provider.name, self.base_url, self._configured_user() or "")

    # ------------------------------------------------------------------ token handling

    def _check_token_answer(self, response: requests.Response) -> requests.Response:
        # requests-oauthlib never looks at the status of a token answer: a 401 would surface
        # as "Missing access token parameter". Map it to our errors first.
        if response.status_code >= 400:
            raise error_from(
                response, self.provider.name, login=True, hint=self._login_hint(self.grant)
            )
        data = decode_json(response)
        if not isinstance(data, dict) or not data.get("access_token"):
            raise APIError(
                f"{self.provider.name}'s token endpoint answered without an access_token. "
                "Check base_url: it may point at the wrong server.",
                status_code=response.status_code,
                error_type="missing_token",
                url=redact(response.url),
            )
        register_secret(
            data.get("access_token"), data.get("refresh_token"), data.get("id_token")
        )
        return response

    def _login_hint(self, grant: str | None) -> str:
        if grant == "authorization_code":
            env = " and ".join(
                _credentials.env_name(self.provider, n) for n in ("client_id", "client_secret")
            )
            return (
                "A code lives a few minutes and works once: start again with "
                f"s.authorization_url(). If it keeps failing, check {env}."
            )
        names = _credentials.NEEDS.get(grant or "", ())
        if not names:
            return "Check the credentials."
        env = " and ".join(_credentials.env_name(self.provider, n) for n in names)
        return f"Check {env} (or the values passed to connect() / typed in the panel)."

    def _set_token(self, token: Token, *, save: bool = True) -> None:
        register_secret(token.access_token, token.refresh_token, token.id_token)
        with self._lock:
            self._token = token
            self._oauth.token = token.oauthlib_dict()
            # oauthlib only overwrites its expiry when the new token carries one: a token
            # without expiry would inherit the old deadline and fail at once. Reset it.
            self._oauth._client._expires_at = (
                round(token.expires_at.timestamp()) if token.expires_at else None
            )
        if save:
            self._cache.save(self._cache_key(), token)

    def _fetch(self, grant: str, creds: _credentials.Credentials, code: str | None = None) -> Token:
        """Run a grant at the token endpoint and return the new token (not yet stored)."""
        missing = [n for n in _credentials.NEEDS[grant] if not creds.get(n)]
        if grant == "authorization_code":
            missing = [n for n in missing if n != "redirect_uri"]
        if missing:
            raise _credentials.missing_error(self.provider, creds, grant)
        url = self.base_url + self.provider.token_path
        self._oauth._client = self._client_for(grant, creds)
        client_id, client_secret = creds.get("client_id"), creds.get("client_secret")
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if grant == "client_credentials":
            kwargs.update(client_id=client_id, client_secret=client_secret, include_client_id=True)
        elif grant == "password":
            kwargs.update(username=creds.get("username"), password=creds.get("password"))
            if client_id:
                kwargs.update(client_id=client_id, client_secret=client_secret)
            kwargs["include_client_id"] = bool(client_id)
        else:
            self._oauth.redirect_uri = creds.get("redirect_uri")
            # the WebApplicationClient already carries client_id (passing it again is deprecated)
            kwargs.update(code=code, client_secret=client_secret, include_client_id=True)
        try:
            with oauthlib_allows(url):
                raw = self._oauth.fetch_token(url, **kwargs)
        except VitalConnectError:
            raise
        except requests.RequestException as exc:
            raise network_error(exc, self.provider.name, url) from None
        except (OAuth2Error, ValueError, Warning) as exc:
            raise APIError(
                f"{self.provider.name}'s token answer could not be used: "
                f"{redact(getattr(exc, 'description', None) or exc)}. Check base_url.",
                error_type="invalid_token_response",
                url=redact(url),
            ) from None
        return Token.from_response(dict(raw))

    def login(self, **credentials: str) -> Token:
        """Log in (or in again) with the given credentials, else the configured ones.

        Accepts ``grant``, ``client_id``, ``client_secret``, ``application_id``,
        ``username``, ``password`` and ``redirect_uri``. Values given here are kept in
        memory (never on disk) so the session can log in again when the token expires.
        """
        return self._login(credentials, remember=True)

    def _login(self, given: dict[str, Any], *, remember: bool) -> Token:
        given = dict(given)
        grant = given.pop("grant", None)
        unknown = set(given) - LOGIN_FIELDS
        if unknown:
            raise ConfigurationError(
                f"login() got unexpected fields {sorted(unknown)}; it takes grant and "
                f"{', '.join(sorted(LOGIN_FIELDS))}."
            )
        given = {k: str(v) for k, v in given.items() if v not in (None, "")}
        register_secret(given.get("password"), given.get("client_secret"))
        creds = self._credentials()
        for k, v in given.items():
            creds.values[k] = v
            creds.sources[k] = "argument" if remember else "panel"
        # New credentials choose their own grant; otherwise keep the session's one.
        grant = grant or _credentials.infer_grant(
            self.provider, _credentials.Credentials(values=given)
        )
        if grant is None and self.grant and creds.has(*_credentials.NEEDS[self.grant]):
            grant = self.grant
        grant = grant or _credentials.infer_grant(self.provider, creds)
        if grant is None:
            raise _credentials.missing_error(self.provider, creds, None)
        self._check_grant(grant)
        if grant == "authorization_code":
            raise NotSupportedError(
                f"{self.provider.name}'s code flow needs a person: open s.authorization_url(), "
                "log in there, then call s.complete_login(<the address you were sent to>)."
            )
        with self._lock:
            token = self._fetch(grant, creds)
            if remember:
                self._explicit.update(given)
            else:  # typed into the panel: not kept; renewal will ask again
                for k in given:
                    self._explicit.pop(k, None)
                self._typed_user = given.get("username") or given.get("client_id")
            self.grant = grant
            self._set_token(token)
        return token

    def _adopt_cached(self) -> bool:
        """Take a token from the cache (a kernel restart) if it is still of use."""
        token = self._cache.load(self._cache_key())
        if token is None or (token.is_expired() and not token.refresh_token):
            return False
        self._set_token(token, save=False)
        return True

    def _check_grant(self, grant: str) -> None:
        if grant not in self.provider.grants:
            raise NotSupportedError(
                f"{self.provider.name} has no {grant!r} grant; it offers: "
                f"{', '.join(self.provider.grants)}."
            )

    # ------------------------------------------------------------------ code flow

    def authorization_url(self) -> str:
        """Start the authorization-code flow: the login page URL with ``client_id``,
        ``redirect_uri`` and a fresh random ``state`` (256 bits, single use)."""
        self._check_grant("authorization_code")
        creds = self._credentials()
        missing = [n for n in ("client_id", "redirect_uri") if not creds.get(n)]
        if missing:
            raise _credentials.missing_error(self.provider, creds, "authorization_code")
        state = secrets.token_urlsafe(32)
        with self._lock:
            self._state = state
            self.grant = "authorization_code"
        query = urlencode(
            {"client_id": creds.get("client_id"), "redirect_uri": creds.get("redirect_uri"),
             "state": state}
        )
        return f"{self.base_url}{self.provider.login_path}?{query}"

    def complete_login(self, redirected_url: str) -> Token:
        """Finish the code flow with the address the login page redirected to: checks
        ``state`` (constant time, single use) and exchanges the ``code`` at once."""
        parts = urlsplit(str(redirected_url).strip())
        query = parse_qs(parts.query) or parse_qs(parts.fragment)
        first = {k: v[0] for k, v in query.items() if v}
        with self._lock:
            expected, self._state = self._state, None
        if first.get("error"):
            raise AuthenticationError(
                f"{self.provider.name} refused the login: {redact(first['error'])}. "
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
        with self._lock:
            token = self._fetch("authorization_code", self._credentials(), code=code)
            self.grant = "authorization_code"
            self._set_token(token)
        return token

    # ------------------------------------------------------------------ renewal

    def refresh(self) -> Token:
        """A new access token now: the refresh token, the provider's refresh endpoint, or
        the grant again, in that order."""
        return self._renew(self._token, force=True)

    def _renew(self, stale: Token | None, *, force: bool = False) -> Token:
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
            with self._cache.locked(self._cache_key()):
                # Another kernel sharing the cache may have renewed already: adopt its token
                # rather than burning our (possibly rotated) refresh token a second time.
                cached = self._cache.load(self._cache_key())
                if (
                    not force
                    and cached is not None
                    and (stale is None or cached.access_token != stale.access_token)
                    and not cached.is_expired()
                ):
                    self._set_token(cached, save=False)
                    return cached
                token = self._renew_now(stale)
                self.renewals += 1
                self._set_token(token)
                return token

    def _renew_now(self, stale: Token | None) -> Token:
        provider = self.provider
        failures: list[str] = []
        if stale is not None and stale.refresh_token and provider.refresh_path:
            try:
                return self._refresh_with_refresh_token(stale)
            except (AuthenticationError, APIError) as exc:
                failures.append(f"the refresh token was refused ({exc.error_type or exc})")
        if (
            stale is not None
            and provider.refresh_style == "bearer"
            and provider.refresh_path
            and not stale.is_expired(leeway=0.5)  # still valid when it arrives
        ):
            try:
                return self._refresh_with_bearer(stale)
            except (AuthenticationError, APIError) as exc:
                failures.append(f"the refresh endpoint refused ({exc.error_type or exc})")
        grant = self.grant
        creds = self._credentials()
        if grant and grant != "authorization_code" and all(
            creds.get(n) for n in _credentials.NEEDS[grant]
        ):
            return self._fetch(grant, creds)
        raise TokenExpiredError(
            f"The {provider.name} token expired and could not be renewed"
            + (f": {'; '.join(failures)}" if failures else "")
            + ". "
            + self._how_to_login_again()
        )

    def _how_to_login_again(self) -> str:
        if self.grant == "authorization_code":
            return "Log in again: open s.authorization_url() and call s.complete_login(...)."
        names = _credentials.NEEDS.get(self.grant or "password", ())
        env = " and ".join(_credentials.env_name(self.provider, n) for n in names)
        return f"Log in again with s.login(...), or set {env} and run again."

    def _token_post(self, url: str, **kwargs: Any) -> dict[str, Any]:
        check_transport(url)
        try:
            # straight to requests: OAuth2Session.request would attach the current token
            response = requests.Session.request(
                self._oauth, "POST", url, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise network_error(exc, self.provider.name, url) from None
        self._check_token_answer(response)
        return decode_json(response)

    def _refresh_with_refresh_token(self, stale: Token) -> Token:
        url = self.base_url + self.provider.refresh_path  # type: ignore[operator]
        assert stale.refresh_token
        if self.provider.refresh_style == "bearer_json":
            # vitalera refresh: Bearer header (an expired token is fine) + JSON body, per its
            # docs; requests-oauthlib can only send a form body, so we post it ourselves.
            data = self._token_post(
                url,
                json={"refresh_token": stale.refresh_token},
                headers={"Authorization": f"Bearer {stale.access_token}"},
            )
        else:
            creds = self._credentials()
            auth = None
            client_id, client_secret = creds.get("client_id"), creds.get("client_secret")
            if client_id and client_secret:
                auth = requests.auth.HTTPBasicAuth(client_id, client_secret)
            try:
                with oauthlib_allows(url):
                    data = dict(
                        self._oauth.refresh_token(
                            url, refresh_token=stale.refresh_token, auth=auth, timeout=self.timeout
                        )
                    )
            except requests.RequestException as exc:
                raise network_error(exc, self.provider.name, url) from None
            except OAuth2Error as exc:
                raise APIError(
                    f"{self.provider.name}'s refresh answer could not be used: {exc.error}.",
                    error_type=exc.error,
                ) from None
        # adopt a new refresh token when one is returned, else keep the one we have
        data["refresh_token"] = data.get("refresh_token") or stale.refresh_token
        return Token.from_response(data)

    def _refresh_with_bearer(self, stale: Token) -> Token:
        url = self.base_url + self.provider.refresh_path  # type: ignore[operator]
        data = self._token_post(url, headers={"Authorization": stale.authorization()})
        return Token.from_response(data)

    def _valid_token(self) -> Token:
        token = self._token
        if token is None:
            if self.grant == "authorization_code":
                raise MissingCredentialsError(
                    f"Not logged in to {self.provider.name} yet: open s.authorization_url(), "
                    "log in, then call s.complete_login(<the address you were sent to>)."
                )
            creds = self._credentials()
            grant = self.grant or _credentials.infer_grant(self.provider, creds)
            if grant is None:
                raise _credentials.missing_error(self.provider, creds, None)
            self._login({"grant": grant}, remember=True)
            token = self._token
            assert token is not None
            return token
        if token.is_expired():
            return self._renew(token)
        return token

    # ------------------------------------------------------------------ requests

    _AUTH_PATHS = ("token_path", "refresh_path", "validate_path", "userinfo_path",
                   "login_path", "rotate_path")

    def _url(self, path: str) -> str:
        path = str(path)
        if "://" in path:
            if origin(path) not in self._origins:
                raise InsecureTransportError(
                    f"Refusing to send the {self.provider.name} token to {origin(path)}: it is "
                    f"not one of the provider's origins ({', '.join(sorted(self._origins))}). "
                    "Give a path relative to base_url instead."
                )
            check_transport(path)
            return path
        if not path.startswith("/"):
            path = "/" + path
        auth_paths = {getattr(self.provider, a) for a in self._AUTH_PATHS} - {None}
        base = self.base_url if path.split("?")[0] in auth_paths else self.api_url
        url = base + path
        if origin(url) != origin(base):  # e.g. a path with '@' or '\\' tricks
            raise InsecureTransportError(f"The path {path!r} leaves {origin(base)}.")
        check_transport(url)
        return url

    def _token_in_query(self, url: str) -> bool:
        p = self.provider
        return bool(
            p.userinfo_token_in_query
            and p.userinfo_path
            and urlsplit(url).path == urlsplit(self.base_url).path + p.userinfo_path
        )

    def _send(self, method: str, url: str, token: Token | None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if kwargs["timeout"] is not None:
            kwargs["timeout"] = normalize_timeout(kwargs["timeout"])
        else:
            kwargs["timeout"] = self.timeout
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            if self._token_in_query(url):
                # VitalDB userinfo reads the token from the query string only (its docs);
                # nowhere else does the token go into a URL.
                params = kwargs.get("params") or {}
                params = dict(params) if not isinstance(params, dict) else {**params}
                params["access_token"] = token.access_token
                kwargs["params"] = params
            else:
                headers["Authorization"] = token.authorization()
        try:
            # The token is added here from a snapshot rather than by OAuth2Session.request,
            # which reads shared state that fetch_token empties mid-flight (not thread-safe).
            return requests.Session.request(self._oauth, method, url, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise network_error(exc, self.provider.name, url) from None

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Any authenticated call. Takes requests' keyword arguments (``params``, ``json``,
        ``data``, ``headers``, ``timeout``…). An expired token is renewed first; a 401 is
        answered by one renewal and one replay. Returns the response whatever its status."""
        url = self._url(path)
        if self.anonymous:
            return self._send(method, url, None, **kwargs)
        token = self._valid_token()
        response = self._send(method, url, token, **kwargs)
        if response.status_code != 401:
            return response
        response.close()
        token = self._renew(token)
        response = self._send(method, url, token, **kwargs)
        if response.status_code == 401:
            _, message, _ = error_details(response)
            raise TokenExpiredError(
                f"{self.provider.name} refused a freshly renewed token ({redact(message)}). "
                + self._how_to_login_again(),
                status_code=401,
                url=redact(response.url),
            )
        return response

    def _get_ok(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        response = self.request("GET", path, params=params)
        if response.status_code >= 400:
            raise error_from(response, self.provider.name)
        return response

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One authenticated GET; the decoded JSON as is."""
        return decode_json(self._get_ok(path, params))

    def get(self, path: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """An authenticated GET as a DataFrame.

        A JSON list gives one row per item; a page object (``results``, ``data``,
        ``items``) gives its rows, following ``next`` to the last page; a plain object gives
        one row; nested objects become dotted columns; CSV (gzip too) is read as CSV.
        ``df.attrs`` records the source URL and the fetch time.
        """
        response = self._get_ok(path, params)
        source = redact(response.url)
        if is_csv(response.headers.get("Content-Type", ""), response.content):
            return stamp(csv_frame(response.content), source, self.provider.name)
        payload = decode_json(response)
        rows = page_rows(payload)
        if rows is None:
            return stamp(json_frame(payload), source, self.provider.name)
        # Each page becomes a frame as it arrives, so its JSON rows can be freed at once:
        # a big pull peaks at its frames, not at a list of every row as Python dicts.
        frames = [records_frame(rows)]
        seen = {response.url}
        nxt = next_link(payload)
        addressed = page_urls(payload, nxt, len(rows)) if self.page_workers > 1 else []
        del payload, rows
        if addressed:
            # The first page says how many there are: fetch the rest concurrently, in order.
            from concurrent.futures import ThreadPoolExecutor

            workers = min(self.page_workers, len(addressed))
            last: Any = None
            with ThreadPoolExecutor(workers, thread_name_prefix="vital-connect-page") as pool:
                for last in pool.map(lambda u: decode_json(self._get_ok(u)), addressed):
                    frames.append(records_frame(page_rows(last) or []))
            seen.update(addressed)
            nxt = next_link(last)  # the data grew meanwhile: go on one by one
        while nxt and nxt not in seen:
            seen.add(nxt)
            page = decode_json(self._get_ok(nxt))
            frames.append(records_frame(page_rows(page) or []))
            nxt = next_link(page)
        return stamp(concat_frames(frames), source, self.provider.name, len(frames))

    # ------------------------------------------------------------------ provider features

    def validate(self) -> bool:
        """Is the token valid? Asks the provider where it can (vitalera's validate
        endpoint), else checks the known expiry. Never renews."""
        token = self._token
        if token is None:
            return False
        if not self.provider.validate_path:
            return not token.is_expired(leeway=0)
        response = self._send("GET", self._url(self.provider.validate_path), token)
        if response.status_code in (401, 403):
            return False
        if response.status_code >= 400:
            raise error_from(response, self.provider.name)
        return True

    def userinfo(self) -> dict[str, Any]:
        """Who is logged in: the provider's userinfo endpoint where it has one (VitalDB's
        takes the token in the query string), else ``sub`` and claims from the token."""
        if self.provider.userinfo_path:
            data = self.get_json(self.provider.userinfo_path)
            if not isinstance(data, dict):
                raise APIError(f"{self.provider.name}'s userinfo answer is not an object.")
            return data
        token = self._valid_token()
        from ._token import jwt_claims

        claims = jwt_claims(token.id_token) or jwt_claims(token.access_token)
        info = {k: v for k, v in claims.items() if k not in {"jti", "typ"}}
        info["sub"] = token.sub or claims.get("sub")
        return info

    def rotate_credentials(
        self, application_id: str | None = None, *, env_file: str | os.PathLike[str] | None = None
    ) -> dict[str, Any]:
        """Rotate the application's client id/secret (vitalera). The old ones die the moment
        the server answers, so the session switches to the new ones at once and, with
        ``env_file``, writes them there atomically before returning. If writing fails, the
        new credentials are in the raised :class:`CredentialsNotSavedError` and in a 0600
        fallback file whose path it gives. The returned dict's repr masks the secret."""
        if not self.provider.rotate_path:
            raise NotSupportedError(f"{self.provider.name} has no credential rotation.")
        creds = self._credentials()
        app_id = application_id or creds.get("application_id")
        if not app_id:
            var = _credentials.env_name(self.provider, "application_id")
            raise MissingCredentialsError(
                f"Rotation needs the application id: pass rotate_credentials(application_id=...)"
                f" or set {var}.",
                variables=[var],
            )
        old_key = self._cache_key()
        # POST is never retried: a second call would rotate again and lose the first answer.
        response = self.request("POST", self.provider.rotate_path, json={"application_id": app_id})
        if response.status_code >= 400:
            raise error_from(response, self.provider.name)
        try:
            body = response.json()
            new = {"client_id": str(body["client_id"]), "client_secret": str(body["client_secret"])}
        except (ValueError, KeyError, TypeError):
            raise APIError(
                f"{self.provider.name} answered the rotation with HTTP {response.status_code} "
                "but no readable client_id/client_secret. The old credentials may already be "
                "invalid: ask the provider's support for the new ones.",
                status_code=response.status_code,
                error_type="invalid_rotation_response",
            ) from None
        register_secret(new["client_secret"])
        with self._lock:
            self._rotated.update(new)
            self._explicit.pop("client_id", None)
            self._explicit.pop("client_secret", None)
            if self.grant == "client_credentials":
                self._oauth._client = self._client_for(self.grant, self._credentials())
            if self._token is not None and old_key != self._cache_key():
                self._cache.delete(old_key)
                self._cache.save(self._cache_key(), self._token)
        result = SecretDict(body)
        if env_file is not None:
            save_rotated(self.provider, Path(env_file), new, result)
        return result

    def logout(self) -> None:
        """Forget the token, in memory and in the cache."""
        with self._lock:
            key = self._cache_key()
            self._token = None
            self._state = None
            self._oauth.token = {}
            self._oauth._client._expires_at = None
            self._cache.delete(key)

    def close(self) -> None:
        """Close the connection pool (the token stays)."""
        self._oauth.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

