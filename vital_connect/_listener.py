"""The one-shot HTTP listener that catches VitalDB's code-flow redirect on a local kernel."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ._transport import is_loopback


def remote_kernel() -> bool:
    """True where the browser is on another machine than the kernel (hub, Binder, Colab)."""
    env = os.environ
    return bool(
        env.get("JUPYTERHUB_SERVICE_PREFIX")
        or env.get("BINDER_SERVICE_HOST")
        or env.get("BINDER_LAUNCH_HOST")
        or "google.colab" in sys.modules
    )


_PROXY_PATH = re.compile(r"^.*/proxy/(?P<absolute>absolute/)?(?P<port>\d+)(?P<rest>/.*)?$")


def listen_address(redirect_uri: str) -> tuple[str, int, str, bool] | None:
    """(host, port, path, proxied) to catch the redirect on, or None when only pasting can
    work. A loopback http address on a local kernel; or, with jupyter-server-proxy, a
    ``.../proxy/<port>/...`` address served from this kernel's machine."""
    if not redirect_uri:
        return None
    parts = urlsplit(redirect_uri)
    if parts.scheme == "http" and is_loopback(redirect_uri):
        if remote_kernel():
            return None
        host = parts.hostname or "127.0.0.1"
        return host, parts.port or 80, parts.path or "/", False
    match = _PROXY_PATH.match(parts.path)
    if match and importlib.util.find_spec("jupyter_server_proxy") is not None:
        # proxy/<port>/x reaches the local server as /x; proxy/absolute/<port>/x as is.
        path = parts.path if match["absolute"] else (match["rest"] or "/")
        return "127.0.0.1", int(match["port"]), path, True
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _OneShotServer
    timeout = 10  # seconds: a browser's idle preconnection must not hold the listener

    def do_GET(self) -> None:
        server = self.server
        if urlsplit(self.path).path != server.expected_path:
            self._answer(404, "Not found.")
            return
        host = self.headers.get("Host") or f"{server.server_address[0]!s}:{server.server_port}"
        ok, message = server.on_redirect(f"http://{host}{self.path}")
        if ok:
            server.finished = True
        self._answer(200 if ok else 400, message)

    def _answer(self, status: int, message: str) -> None:
        title = html.escape(self.server.page_title)
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body style='font-family:sans-serif;margin:3em'><p>{html.escape(message)}</p>"
            "</body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line carries the code: never write it to the notebook's stderr


class _OneShotServer(ThreadingHTTPServer):
    # Threaded: browsers open speculative connections that never send a request.
    daemon_threads = True
    expected_path = "/"
    page_title = ""
    finished = False
    on_redirect: Callable[[str], tuple[bool, str]]


class _OneShotServer6(_OneShotServer):
    address_family = socket.AF_INET6


class Listener:
    """Catches the code flow's redirect once on a loopback address, then shuts down.

    Serves until a login completed through it, ``stop()``, or ``timeout`` seconds.
    A redirect that fails (old state) leaves it listening for the next link's.
    """

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        on_redirect: Callable[[str], tuple[bool, str]],
        timeout: float,
        page_title: str = "vital_connect",
    ) -> None:
        cls = _OneShotServer6 if ":" in host else _OneShotServer
        self.server = cls((host, port), _Handler)
        self.server.timeout = 0.2  # how often the loop looks at stop / the deadline
        self.server.expected_path = path
        self.server.page_title = page_title
        self.server.on_redirect = on_redirect
        self._stop = threading.Event()
        self._deadline = time.monotonic() + timeout
        self.thread = threading.Thread(
            target=self._serve, name="vital-connect-callback", daemon=True
        )
        self.thread.start()

    def _serve(self) -> None:
        try:
            while (
                not self._stop.is_set()
                and not self.server.finished
                and time.monotonic() < self._deadline
            ):
                self.server.handle_request()
        finally:
            self.server.server_close()

    @property
    def address(self) -> tuple[str, int]:
        return str(self.server.server_address[0]), self.server.server_port

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=2)
