"""The running sandbox: a werkzeug server in a daemon thread, and the knobs to steer it."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from typing import Any

from werkzeug.serving import LISTEN_QUEUE, get_sockaddr, make_server, select_address_family

from . import _accounts as acc
from ._app import create_app
from ._faults import Fault
from ._record import RecordedRequest
from ._state import DEFAULT_ROWS, PROVIDERS, Settings, State
from ._wsgi import QuietRequestHandler, SandboxMiddleware

# Each provider's grants, the default first: what credentials() can hand out.
GRANTS = {
    "vitalera": ("client_credentials", "password"),
    "vidaplus": ("password",),
    "vitaldb": ("password", "authorization_code"),
}


class _Setting:
    """A knob of the running sandbox, read and written on its state (checked when set)."""

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.__doc__ = doc

    def __get__(self, sandbox: Sandbox | None, owner: type | None = None) -> Any:
        return self if sandbox is None else getattr(sandbox._state, self.name)

    def __set__(self, sandbox: Sandbox, value: Any) -> None:
        check = _page_size if self.name == "page_size" else _non_negative
        setattr(sandbox._state, self.name, check(self.name, value))


class Sandbox:
    """One local server speaking vitalera, vidaplus and VitalDB under ``/vitalera``,
    ``/vidaplus`` and ``/vitaldb`` of one loopback origin.

    Made by :func:`serve`, already started. ``token_ttl``, ``code_ttl``, ``page_size``,
    ``latency`` and ``rows`` can be changed at any time; the next request honours them.

    Knobs: ``token_ttl`` (seconds, tokens issued from now on), ``code_ttl`` (VitalDB codes),
    ``page_size`` (vitalera's default DRF page), ``latency`` (seconds before every answer),
    ``rows`` (dataset sizes, below), ``bump_dataset()`` (a new version of VitalDB's open
    dataset: new values, ETags and Last-Modified), and the fault knobs ``fail_next``,
    ``drop_next``, ``slow_next``, ``malformed_next``, ``html_next``. ``requests`` is what
    arrived (headers included, e.g. ``If-None-Match``), secrets masked; ``reset()`` undoes
    everything.

    ``rows`` keys (``DEFAULT_ROWS`` has the defaults):

    - vitalera: ``plans``, ``monitoreds``, ``observations`` (per monitored).
    - vidaplus: ``pacientes``, ``profissionais``, ``consultas``, ``prescricoes``,
      ``exames``, ``prontuarios`` (one per paciente, at most ``pacientes``), ``leitos``,
      ``estoques``.
    - VitalDB open dataset: ``cases``, ``labs``, ``track_seconds`` (length of each numeric
      track), ``wave_seconds`` (length of each wave track, 500 rows a second at 500 Hz).
    - VitalDB Web API: ``files`` (the demo user's recordings).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        token_ttl: float = 3600,
        code_ttl: float = 180,
        page_size: int = 50,
        latency: float = 0.0,
        rows: Mapping[str, int] | None = None,
    ) -> None:
        settings = Settings(
            token_ttl=_non_negative("token_ttl", token_ttl),
            code_ttl=_non_negative("code_ttl", code_ttl),
            page_size=_page_size("page_size", page_size),
            latency=_non_negative("latency", latency),
            rows=_rows(rows),
        )
        self._state = State(settings)
        app = SandboxMiddleware(create_app(self._state), self._state)
        listener = _listen(host, port)
        try:
            self._server = make_server(
                host,
                port,
                app,
                threaded=True,
                request_handler=QuietRequestHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"vital-connect-sandbox:{self.port}",
            daemon=True,  # dies with the notebook kernel or the process
        )
        self._stop_lock = threading.Lock()
        self._stopped = False

    def start(self) -> Sandbox:
        self._thread.start()
        return self

    # where it is
    @property
    def url(self) -> str:
        # A wildcard bind is reached through loopback.
        wildcard = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104
        host = wildcard.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """``http://127.0.0.1:PORT/vitalera`` for ``"vitalera"`` (any case)."""
        return f"{self.url}/{_provider(provider)}"

    def credentials(self, provider: str, grant: str | None = None) -> dict[str, str]:
        """The demo credentials, ready for ``vital_connect.connect(provider, **creds)``.

        Always has ``base_url``; ``grant`` too when one is asked for. vitalera's client
        id/secret are the current ones, after any rotation.
        """
        name = _provider(provider)
        if grant is not None and grant not in GRANTS[name]:
            raise ValueError(
                f"the sandbox's {name} has no {grant!r} grant; choose one of: "
                + ", ".join(GRANTS[name])
            )
        chosen = grant or GRANTS[name][0]
        creds: dict[str, str] = {"base_url": self.base_url(name)}
        if name == "vitalera" and chosen == "client_credentials":
            with self._state.lock:
                creds["client_id"] = self._state.vitalera_client_id
                creds["client_secret"] = self._state.vitalera_client_secret
            creds["application_id"] = acc.VITALERA_APPLICATION_ID
        elif name == "vitaldb" and chosen == "authorization_code":
            creds["client_id"] = acc.VITALDB_CLIENT_ID
            creds["client_secret"] = acc.VITALDB_CLIENT_SECRET
            creds["redirect_uri"] = acc.VITALDB_REDIRECT_URI
        else:
            username, password = _USERS[name]
            creds["username"], creds["password"] = username, password
        if grant is not None:
            creds["grant"] = grant
        return creds

    # settings, honoured by the next request (each checked when set)
    token_ttl = _Setting(
        "token_ttl", "Lifetime in seconds of access and id tokens issued from now on."
    )
    code_ttl = _Setting(
        "code_ttl", "Lifetime in seconds of VitalDB authorization codes issued from now on."
    )
    page_size = _Setting(
        "page_size", "vitalera's default page size (a request's ``?page_size=`` overrides it)."
    )
    latency = _Setting("latency", "Seconds slept before every answer.")

    @property
    def rows(self) -> dict[str, int]:
        """Dataset sizes, a live dict: ``sb.rows["pacientes"] = 100_000`` (keys: the class
        docstring, ``DEFAULT_ROWS``)."""
        return self._state.rows

    @rows.setter
    def rows(self, value: Mapping[str, int]) -> None:
        new = _rows(value)
        self._state.rows.clear()
        self._state.rows.update(new)

    def bump_dataset(self, path: str | None = None) -> None:
        """Publish a new version of VitalDB's open dataset: every file (or only the one at
        ``path``, e.g. ``"/cases"``, ``"/<tid>"``, ``"/1.0.1/3.vital"``; a full path such as
        ``"/vitaldb/cases"`` works too) changes its values, its ``ETag`` and its
        ``Last-Modified``, so a client's conditional request gets 200 again instead of 304.
        ``reset()`` goes back to the first version.

        >>> import requests
        >>> with serve() as sb:
        ...     cases = sb.base_url("vitaldb") + "/cases"
        ...     etag = requests.get(cases, timeout=5).headers["ETag"]
        ...     cached = requests.get(cases, headers={"If-None-Match": etag}, timeout=5)
        ...     sb.bump_dataset("/cases")
        ...     fresh = requests.get(cases, headers={"If-None-Match": etag}, timeout=5)
        >>> cached.status_code, fresh.status_code, fresh.headers["ETag"] != etag
        (304, 200, True)
        """
        key = "" if path is None else "/" + str(path).strip("/")
        if key.startswith("/vitaldb/"):
            key = key[len("/vitaldb") :]
        self._state.bump_dataset(key)

    # the record
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order, secrets masked (a copy)."""
        return self._state.recorder.snapshot()

    def clear_requests(self) -> None:
        self._state.recorder.clear()

    # fault knobs: each applies to the next n requests whose path starts with `path`
    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        retry_after: float | None = None,
        path: str | None = None,
    ) -> None:
        """Answer with ``status`` and the provider's error body. ``Retry-After`` is sent
        when ``retry_after`` is given, and defaults to 1 for 429 and 503."""
        if not 400 <= int(status) <= 599:
            raise ValueError(f"status must be an error status (400-599), got {status}")
        self._fault("fail", n, path, status=int(status), retry_after=retry_after)

    def drop_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Close the connection without any response."""
        self._fault("drop", n, path)

    def slow_next(self, n: int = 1, delay: float = 2.0, *, path: str | None = None) -> None:
        """Sleep ``delay`` seconds, then answer normally."""
        self._fault("slow", n, path, delay=_non_negative("delay", delay))

    def malformed_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Answer 200 with Content-Type application/json and a truncated, invalid body."""
        self._fault("malformed", n, path)

    def html_next(self, n: int = 1, status: int = 502, *, path: str | None = None) -> None:
        """Answer with an nginx-style HTML error page (Content-Type text/html)."""
        self._fault("html", n, path, status=int(status))

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def _fault(self, kind: str, n: int, path: str | None, **options) -> None:
        if path is not None and not path.startswith("/"):
            path = "/" + path  # a full path such as "/vitalera/api/plans/"
        self._state.faults.add(Fault(kind, int(n), path, **options))

    # lifecycle
    def reset(self) -> None:
        """Back to the seeded state: credentials (undoing a rotation), refresh tokens and
        codes, the serve() settings and rows; faults and the record cleared. Access tokens
        already issued stay valid until they expire."""
        self._state.reset()

    def stop(self) -> None:
        """Stop serving and free the port; safe to call more than once."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopped

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} {'running' if self.running else 'stopped'}>"


def serve(port: int = 0, host: str = "127.0.0.1", **settings: Any) -> Sandbox:
    """Start a sandbox in a background thread and return it (``port=0``: any free port).
    ``settings``: ``token_ttl``, ``code_ttl``, ``page_size``, ``latency``, ``rows``, as
    :class:`Sandbox` takes them.

    Use it as a context manager to stop it at the end. vidaplus pages by offset and limit
    (default 100); the short page is the last:

    >>> import requests
    >>> with serve(rows={"pacientes": 120}) as sb:
    ...     vp = sb.base_url("vidaplus")
    ...     form = {"username": sb.credentials("vidaplus")["username"],
    ...             "password": sb.credentials("vidaplus")["password"]}
    ...     token = requests.post(vp + "/auth/token/", data=form, timeout=5).json()
    ...     auth = {"Authorization": "Bearer " + token["access_token"]}
    ...     pages = [requests.get(vp + "/pacientes/", params={"offset": o}, headers=auth,
    ...                           timeout=5).json()["pacientes"] for o in (0, 100)]
    >>> [len(page) for page in pages]
    [100, 20]
    """
    sandbox = Sandbox(port=port, host=host, **settings)
    return sandbox.start()


_USERS = {
    "vitalera": (acc.VITALERA_USERNAME, acc.VITALERA_PASSWORD),
    "vidaplus": (acc.VIDAPLUS_USERNAME, acc.VIDAPLUS_PASSWORD),
    "vitaldb": (acc.VITALDB_USERNAME, acc.VITALDB_PASSWORD),
}


def _listen(host: str, port: int) -> socket.socket:
    # Bind here rather than in make_server: on a busy port werkzeug prints and calls
    # sys.exit(1), which would kill a notebook cell with SystemExit instead of an OSError.
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # as socketserver's allow_reuse_address; unsafe on Windows
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except BaseException:
        sock.close()
        raise
    return sock


def _provider(name: str) -> str:
    key = str(name).strip().lower()
    if key not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; the sandbox serves: {', '.join(PROVIDERS)}")
    return key


def _non_negative(name: str, value: float) -> float:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _page_size(name: str, value: int) -> int:
    if int(value) < 1:
        raise ValueError(f"page_size must be >= 1, got {value}")
    return int(value)


def _rows(rows: Mapping[str, int] | None) -> dict[str, int]:
    unknown = set(rows or ()) - set(DEFAULT_ROWS)
    if unknown:
        raise ValueError(
            f"unknown dataset(s) {sorted(unknown)}; rows has: {', '.join(DEFAULT_ROWS)}"
        )
    return {**DEFAULT_ROWS, **{k: int(v) for k, v in (rows or {}).items()}}
