"""Session: what a researcher holds — send requests, follow the provider's pages, get frames.

The token's life is the session's ``auth`` (``_auth.TokenAuth``); where paths go is its
router (``_routing``); how this provider speaks is its dialect (``vital_connect.dialects``).
The session itself only sends, follows safe redirects, and turns answers into frames.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ._auth import TokenAuth
from ._cache import make_cache
from ._credentials import SECRET, Credentials, CredentialStore, infer_grant
from ._dataset_methods import DatasetMethods
from ._errors import (
    APIError,
    NotSupportedError,
)
from ._frames import object_frame, stamp
from ._grants import TokenEndpoint
from ._http import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    NETWORK_ERRORS,
    HttpSession,
    budget,
    network_error,
    read_body,
)
from ._paging import DEFAULT_MAX_PAGES, Pull, Request
from ._providers import Provider, get_provider
from ._redact import Secret, install_log_filter, redact, register_secret, secret
from ._routing import Router
from ._transport import check_destination, normalize_timeout
from ._views import session_html, session_text
from .dialects import Json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._options import Options
    from ._token import Token

install_log_filter()


class Session(DatasetMethods):
    """A connection to one provider. Made by :func:`vital_connect.connect`.

    >>> import vital_connect as vc
    >>> s = vc.connect("vitaldb", anonymous=True, cache=False)
    >>> s
    <vital_connect.Session vitaldb anonymous base_url='https://vitaldb.net'>
    """

    def __init__(self, provider: Provider, options: Options, store: CredentialStore) -> None:
        self.provider = provider
        self.dialect = provider.dialect
        self.options = options
        creds = store.resolve()
        self._router = Router(provider, creds.get("base_url"))
        self.base_url = self._router.base_url
        self.api_url = self._router.api_url
        self.anonymous = options.anonymous
        self.lang: str = options.lang or "en"
        self.timeout: tuple[float, float] = options.timeout
        self.deadline = DEFAULT_DEADLINE  # seconds one call may take in all
        self.max_bytes = DEFAULT_MAX_BYTES  # of one (decompressed) answer
        self.max_pages = DEFAULT_MAX_PAGES  # of one pull
        # Pages a pull fetches at once when their addresses are known: None chooses from
        # the first page's latency (1 on a fast network); 1 fetches them one by one.
        self.page_workers: int | None = None
        self._http = HttpSession()
        self._creds: Credentials | None = creds  # as read at connect(): for the first login
        grant = options.grant
        if grant is not None and grant not in provider.grants:
            raise NotSupportedError(
                f"{provider.name} has no {grant!r} grant; it offers: {', '.join(provider.grants)}."
            )
        self.auth: TokenAuth | None = None
        if not self.anonymous:
            endpoint = TokenEndpoint(provider, self.base_url, self._router.origins, self._timeout)
            self.auth = TokenAuth(
                provider,
                endpoint,
                store,
                make_cache(options.cache),
                grant=grant or infer_grant(provider, creds),
                user=creds.user(),
                placement=self._router.placement,
            )
        register_secret(creds.get("password"), creds.get("client_secret"))

    @classmethod
    def open(cls, provider: str | Provider, options: Options) -> Session:
        """A session configured from ``options``, credentials read once, not logged in."""
        p = get_provider(provider)
        store = CredentialStore(p, options.given(), options.env_file)
        return cls(p, options, store)

    def _timeout(self) -> tuple[float, float]:
        return self.timeout

    # ------------------------------------------------------------------ state

    @property
    def token(self) -> Token | None:
        """The current token, or None before login / after logout."""
        return self.auth.token if self.auth else None

    @property
    def is_authenticated(self) -> bool:
        """A token is held and not known to be expired."""
        tok = self.token
        return tok is not None and not tok.is_expired(leeway=0)

    @property
    def grant(self) -> str | None:
        return self.auth.grant if self.auth else None

    @property
    def renewals(self) -> int:
        return self.auth.renewals if self.auth else 0

    @property
    def user(self) -> str | None:
        """Who the session logs in as: the configured username or client id, else the one
        typed into the panel (the secret that went with it is not kept)."""
        if self.auth is None:
            return None
        return self.auth.configured_user or self.auth.typed_user

    def url_for(self, path: str) -> str:
        """The absolute URL ``path`` goes to (checked as a request would be)."""
        return self._router.url(path)

    __repr__ = session_text  # provider, grant, user, state, base URL: nothing secret
    _repr_html_ = session_html  # the same as a small table in a notebook

    # ------------------------------------------------------------------ logging in

    def _auth(self) -> TokenAuth:
        if self.auth is None:
            raise NotSupportedError(
                "This session is anonymous (the open dataset): connect without "
                "anonymous=True to log in."
            )
        return self.auth

    def login(self, **credentials: str) -> Token:
        """Log in (or in again) with the given credentials, else the configured ones.

        Accepts ``grant``, ``client_id``, ``client_secret``, ``application_id``,
        ``username``, ``password`` and ``redirect_uri``. Values given here are kept in
        memory (never on disk) so the session can log in again when the token expires.
        """
        given = {k: (secret(v) if k in SECRET else v) for k, v in credentials.items()}
        credentials.clear()  # held as Secret strings from here on
        resolved, self._creds = self._creds, None
        return self._auth().login(given, remember=True, resolved=resolved)

    def authorization_url(self) -> str:
        """Start the authorization-code flow: the login page URL with ``client_id``,
        ``redirect_uri`` and a fresh random ``state`` (256 bits, single use)."""
        auth = self._auth()
        auth.check_grant("authorization_code")
        url = auth.flow.start(auth.credentials.resolve())
        auth.grant = "authorization_code"
        return url

    def complete_login(self, redirected_url: str) -> Token:
        """Finish the code flow with the address the login page redirected to: checks
        ``state`` (constant time, single use) and exchanges the ``code`` at once."""
        # the address carries the code: held as a Secret, masked in any traceback's locals
        redirected_url = Secret(str(redirected_url))
        return self._auth().complete(redirected_url)

    def refresh(self) -> Token:
        """A new access token now: the refresh token, the provider's refresh endpoint, or
        the grant again, in that order."""
        auth = self._auth()
        return auth.renew(auth.token, force=True)

    def logout(self) -> None:
        """Forget the token, in memory and in the cache."""
        if self.auth is not None:
            self.auth.logout()

    # ------------------------------------------------------------------ sending

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Any authenticated call. Takes requests' keyword arguments (``params``, ``json``,
        ``data``, ``headers``, ``timeout``, ``stream``…). An expired token is renewed first;
        a 401 is answered by one renewal and one replay; a GET follows redirects within
        the provider's origins only. Returns the response whatever its status; its body is
        read (within ``s.max_bytes``) unless ``stream=True``."""
        url = self._router.url(path)
        stream = bool(kwargs.pop("stream", False))
        with budget(self.deadline):
            response = self._send(method, url, kwargs)
            hops = 0
            while response.is_redirect:
                target = self._router.redirect_target(response, method, hops)
                response.close()
                hops += 1
                again = {k: v for k, v in kwargs.items() if k not in ("params", "data", "json")}
                response = self._send(method, target, again)
            if not stream:
                self._read(response)
        return response

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        timeout = kwargs.pop("timeout", None)
        timeout = self.timeout if timeout is None else normalize_timeout(timeout)
        auth = kwargs.pop("auth", None) or self.auth
        request = requests.Request(method.upper(), url, auth=auth, **kwargs)
        try:
            prepared = self._http.prepare_request(request)
            # the URL as it will really leave (params added, parsed the urllib3 way)
            check_destination(prepared.url or "", self._router.origins, "the request")
            settings = self._http.merge_environment_settings(prepared.url, {}, None, None, None)
            return self._http.send(prepared, timeout=timeout, **{**settings, "stream": True})
        except NETWORK_ERRORS as exc:
            error = network_error(exc, self.provider.name, url)
        raise error  # outside the except block: no exception chain holding the request

    def _read(self, response: requests.Response) -> bytes:
        try:
            return read_body(response, self.max_bytes)
        except NETWORK_ERRORS as exc:
            error = network_error(exc, self.provider.name, response.url)
        raise error

    def _get_ok(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        response = self.request("GET", path, params=params)
        if response.status_code >= 400:
            raise self.dialect.error(response, self.provider.name)
        return response

    def _decode(self, response: requests.Response) -> Json | pd.DataFrame:
        path = self._router.path_of(response.url)
        return self.dialect.decode(response, response.content, path, self.max_bytes)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One authenticated GET; the decoded JSON as is (a gzip JSON file unpacked)."""
        answer = self._decode(self._get_ok(path, params))
        if not isinstance(answer, Json):
            raise APIError(
                f"{path!r} answers a table (CSV), not JSON: use s.get({path!r}).",
                error_type="not_json",
            )
        return answer.payload

    def get(
        self, path: str, params: dict[str, Any] | None = None, *, progress: bool | None = None
    ) -> pd.DataFrame:
        """An authenticated GET as a DataFrame, every page of it.

        A JSON list gives one row per item; a page object (``results``, ``data``, ``items``,
        or its one list, as vidaplus' ``{"pacientes": [...]}``) gives its rows, and every
        further page in the provider's paging style; a plain object gives one row; nested
        objects become dotted columns; CSV and gzip files give their rows. ``df.attrs``
        records the source URL and the fetch time. ``progress``: a bar for pulls of more
        than one page (``None``: in a notebook or terminal only).
        """
        paging = self.dialect.paging
        wall, cpu = time.perf_counter(), time.thread_time()
        first = self._get_ok(path, paging.first(path, params))
        answer = self._decode(first)
        # what fetching and decoding one page cost, in time and in this thread's CPU
        cost = (time.perf_counter() - wall, time.thread_time() - cpu)
        source = redact(first.url)
        if not isinstance(answer, Json):
            return stamp(self.dialect.tidy(answer, path), source, self.provider.name)
        payload = answer.payload
        if paging.rows(payload) is None:
            if isinstance(payload, dict) and ("next" in payload or "count" in payload):
                raise APIError(
                    f"{source} looks like a page of a list, but its rows are under no key "
                    "this client knows. Use s.get_json() to see it.",
                    error_type="unknown_page_shape",
                )
            return stamp(object_frame(payload), source, self.provider.name)
        from ._progress import PageBar
        from ._table import TableBuilder

        builder = TableBuilder()  # one frame for the pull, built column by column
        url, handed = first.url, [payload]  # the pull lets the page go once it is added
        del payload, answer, first
        with PageBar(progress, self.provider.name) as bar:
            pull = Pull(
                self._fetch_page,
                paging,
                builder.add,
                workers=self.page_workers,
                max_pages=self.max_pages,
                on_page=bar.update,
                decode=self._page_payload,
            )
            pull.run(handed.pop(), url, paging.first(path, params), cost)
        df = self.dialect.tidy(builder.frame(), path)
        df = stamp(df, source, self.provider.name, pull.pages)
        df.attrs["workers"] = pull.chosen_workers  # page workers the pull ran with
        return df

    def _fetch_page(self, page: Request) -> tuple[Any, str]:  # in a page thread
        response = self.request("GET", page.url, params=page.params)
        if response.status_code >= 400:
            if self.dialect.paging.end_of_list(response.status_code, page):
                return [], response.url
            raise self.dialect.error(response, self.provider.name)
        return response, response.url

    def _page_payload(self, fetched: requests.Response | list[Any]) -> Any:
        """A fetched page's JSON, decoded where it is consumed (see ``Pull``)."""
        if isinstance(fetched, list):  # the end of the list: no rows
            return fetched
        answer = self._decode(fetched)
        if not isinstance(answer, Json):
            raise APIError("A page of the list is not JSON.", error_type="unknown_page_shape")
        return answer.payload

    def download(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        to: str | os.PathLike[str] = ".",
        progress: bool | None = None,
    ) -> Path:
        """An authenticated GET streamed to a file; see :func:`vital_connect._download.save`."""
        from ._download import save

        return save(self, path, params, to=Path(to), progress=progress)

    # ------------------------------------------------------------------ provider features

    def validate(self) -> bool:
        """Is the token valid? Asks the provider where it can (vitalera's validate
        endpoint), else checks the known expiry. Never renews."""
        from ._features import validate

        return validate(self)

    def userinfo(self) -> dict[str, Any]:
        """Who is logged in: the provider's userinfo endpoint where it has one (VitalDB's
        takes the token in the query string), else ``sub`` and claims from the token."""
        from ._features import userinfo

        return userinfo(self)

    def rotate_credentials(
        self, application_id: str | None = None, *, env_file: str | os.PathLike[str] | None = None
    ) -> dict[str, Any]:
        """Rotate the application's client id/secret (vitalera). The old ones die the moment
        the server answers, so the session switches to the new ones at once and, with
        ``env_file``, writes them there atomically before returning. If writing fails, the
        new credentials are in the raised :class:`CredentialsNotSavedError` and in a 0600
        fallback file whose path it gives. The returned dict's repr masks the secret."""
        from ._features import rotate_credentials

        return rotate_credentials(self, application_id, env_file)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection pools (the token stays)."""
        self._http.close()
        if self.auth is not None:
            self.auth.endpoint.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pickling

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle for another process (Dask sends the session to its workers) with no
        secret but the access token: no password, client secret, refresh or id token, no
        credentials; an anonymous session carries no token at all. The copy cannot renew:
        once its token expires it raises TokenExpiredError saying to re-run from the
        notebook. ``copy.copy`` makes such a copy too."""
        from ._pickling import state_of

        return (Session._from_pickle, (state_of(self),))

    @classmethod
    def _from_pickle(cls, state: dict[str, Any]) -> Session:
        from ._pickling import restore

        return restore(cls, state)


__all__ = ["Session"]
