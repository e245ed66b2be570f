"""An independent page server for the bench: its own process, pages rendered in advance.

It plays a provider reached as a real one is: an RFC 6749 ``/token`` endpoint (the client
credentials grant) and Django REST framework pages (``count``/``next``/``results``) that
need the Bearer token it issued. Every answer is prepared before any timing starts, as
whole HTTP responses (status line, headers and body in one ``bytes``), so a GET costs the
server a sleep (the latency knob), a dictionary look-up and one ``sendall``: what is
measured is the client. The server's CPU is reported apart (:meth:`PageServer.cpu`).

Rows are shaped like vitalera's observations: ``{"id", "patient": {...}, "type", "value",
"unit", "measured_at", "device": {...}}``, an int or a float ``value`` by type, one ISO-8601
``measured_at`` each: 9 columns once flattened.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.child import ChildServer, obey

PATH = "/api/observations/"  # the paged list
ONE = "/api/one/"  # a one-row page: the smallest authenticated answer
TOKEN = "/token"
CLIENT_ID = "bench-client"
KINDS = {  # type -> (unit, low, high, decimals)
    "heart_rate": ("bpm", 52, 112, 0),
    "systolic_blood_pressure": ("mmHg", 98, 172, 0),
    "diastolic_blood_pressure": ("mmHg", 58, 104, 0),
    "oxygen_saturation": ("%", 89, 100, 0),
    "body_weight": ("kg", 48, 125, 1),
    "body_temperature": ("°C", 35.9, 38.6, 1),
    "blood_glucose": ("mmol/L", 3.9, 12.5, 1),
}
MODELS = ("Omron M7 Intelli IT", "Withings Body+", "Nonin 3230", "iHealth Track")
BASE = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def row(i: int, patients: int = 500) -> dict[str, Any]:
    owner = (i * 7919) % patients
    kind = list(KINDS)[(i * 31 + i // 7) % len(KINDS)]
    unit, low, high, decimals = KINDS[kind]
    value = round(low + (high - low) * ((i * 2654435761) % 1000) / 1000, decimals)
    return {
        "id": i + 1,
        "patient": {"id": owner + 1, "external_id": f"VE-P{owner + 1:06d}"},
        "type": kind,
        "value": int(value) if decimals == 0 else value,
        "unit": unit,
        "measured_at": (BASE + timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": {"id": f"VE-D{owner + 1:06d}", "model": MODELS[owner % len(MODELS)]},
    }


def response(status: int, body: bytes, extra: str = "", kind: str = "application/json") -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class _State:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.pages: dict[tuple[int, int], bytes] = {}  # (page_size, page) -> response
        self.latency = 0.0
        self.ttl = 3600
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.token_requests = 0
        self.gets = 0
        self.sent = 0  # body bytes
        self.files: dict[str, bytes] = {}  # path -> response: open files, no token needed
        self.lock = threading.Lock()

    def render(self, pages: int, page_size: int) -> int:
        """Every page of a list of ``pages × page_size`` rows; returns the body bytes."""
        total = pages * page_size
        size = 0
        for p in range(1, pages + 1):
            nxt = f"{self.origin}{PATH}?page={p + 1}&page_size={page_size}" if p < pages else None
            prev = f"{self.origin}{PATH}?page={p - 1}&page_size={page_size}" if p > 1 else None
            rows = [row((p - 1) * page_size + i) for i in range(page_size)]
            body = json.dumps(
                {"count": total, "next": nxt, "previous": prev, "results": rows},
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode()
            size += len(body)
            self.pages[(page_size, p)] = response(200, body)
        return size


_DENIED = response(
    401,
    b'{"detail":"Authentication credentials were not provided or have expired."}',
    'WWW-Authenticate: Bearer error="invalid_token"\r\n',
)
_MISSING = response(404, b'{"detail":"Not found."}')
_ONE = response(200, json.dumps({"count": 1, "next": None, "results": [row(0)]}).encode())


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real API
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != TOKEN or form.get("grant_type") != ["client_credentials"]:
                self.wfile.write(_MISSING)
                return
            token = secrets.token_urlsafe(24)
            with state.lock:
                state.token_requests += 1
                state.tokens[token] = time.monotonic() + state.ttl
                ttl = state.ttl
            body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": ttl})
            self.wfile.write(response(200, body.encode(), "Cache-Control: no-store\r\n"))

        def do_GET(self) -> None:
            if state.latency:
                time.sleep(state.latency)
            public = state.files.get(self.path)
            if public is not None:  # an open dataset's file, as VitalDB's: no token
                with state.lock:
                    state.gets += 1
                    state.sent += len(public)
                self.wfile.write(public)
                return
            auth = self.headers.get("Authorization", "")
            expiry = state.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
            if expiry is None or expiry < time.monotonic():
                self.wfile.write(_DENIED)
                return
            parts = urlsplit(self.path)
            if parts.path == ONE:
                answer = _ONE
            elif parts.path == PATH:
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                try:
                    key = (int(query.get("page_size", "50")), int(query.get("page", "1")))
                except ValueError:
                    key = (0, 0)
                answer = state.pages.get(key, _MISSING)
            else:
                answer = _MISSING
            with state.lock:
                state.gets += 1
                state.sent += len(answer)
            self.wfile.write(answer)

    return Handler


class _Server(ThreadingHTTPServer):
    # A listen backlog for 32 threads connecting at once: with the default 5, the kernel
    # drops the extra SYNs and the client retries them a second later.
    request_queue_size = 128


def _serve(conn: Any) -> None:
    """The server's process: serve, and obey the commands sent over ``conn``."""
    httpd = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    state = _State(f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(state)
    threading.Thread(target=httpd.serve_forever, name="bench-pages", daemon=True).start()
    conn.send((True, state.origin))
    try:
        obey(conn, lambda op, arg: _command(state, op, arg))
    finally:
        httpd.shutdown()
        httpd.server_close()


def _command(state: _State, op: str, arg: Any) -> Any:
    if op == "render":
        return state.render(*arg)
    if op == "files":  # path -> (body, content type, content coding or "")
        for path, (body, kind, coding) in arg.items():
            extra = f"Content-Encoding: {coding}\r\n" if coding else ""
            state.files[path] = response(200, body, extra, kind)
        return None
    if op == "set":
        for name, value in arg.items():
            if name not in ("latency", "ttl"):
                raise ValueError(f"unknown setting {name!r}")
            setattr(state, name, value)
        return None
    if op == "counts":
        with state.lock:
            return {"tokens": state.token_requests, "gets": state.gets, "sent": state.sent}
    if op == "clear":
        with state.lock:
            state.token_requests = state.gets = state.sent = 0
        return None
    if op == "cpu":
        return time.process_time()  # every thread of the server
    raise ValueError(f"unknown command {op!r}")


class PageServer(ChildServer):
    """The page server in its own process."""

    what = "the page server"

    def __init__(self) -> None:
        super().__init__(_serve, "bench-pages")
        try:
            if not self._conn.poll(60):
                raise RuntimeError("the page server did not start in 60 s")
            _ok, self.url = self._conn.recv()
        except BaseException:
            self.close()
            raise
        self.secret = secrets.token_urlsafe(16)  # any secret: the server checks the grant

    def render(self, pages: int, page_size: int) -> int:
        """Prepare a list of ``pages`` pages of ``page_size`` rows; its body bytes."""
        return self.call("render", (pages, page_size))

    def files(self, files: dict[str, tuple[bytes, str, str]]) -> None:
        """Serve these open files: path -> (body, content type, content coding or "")."""
        self.call("files", files)

    def set(self, **settings: Any) -> None:
        """``latency`` (seconds before every GET's answer), ``ttl`` (of tokens issued next)."""
        self.call("set", settings)

    def counts(self) -> dict[str, int]:
        """Token requests, GETs and body bytes sent since the last :meth:`clear`."""
        return self.call("counts")

    def clear(self) -> None:
        self.call("clear")

    def cpu(self) -> float:
        """CPU seconds the server's process has used so far."""
        return self.call("cpu")


PROVIDER = "benchpages"


def provider(url: str) -> Any:
    """The page server as a registered provider, plain RFC 6749."""
    import vital_connect as vc

    p = vc.Provider(name=PROVIDER, base_url=url, grants=("client_credentials",), token_path=TOKEN)
    vc.register_provider(p)
    return p


def connect(url: str, secret: str) -> Any:
    """A logged-in session on the page server, at the default settings."""
    import vital_connect as vc

    provider(url)
    s = vc.connect(PROVIDER, client_id=CLIENT_ID, client_secret=secret, cache=False)
    s.login()
    return s
