"""Tiny scripted servers on loopback for tests the sandbox cannot stage (redirects, foreign
origins, TLS). Not a test module."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import vital_connect as vc
from vital_connect import _http

TOKEN = {"access_token": "abcdefghijklmnop", "token_type": "bearer"}


@contextmanager
def serving(handle: Callable[[Request], Response], **options: Any) -> Iterator[str]:
    """Serve ``handle`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, Request.application(handle), threaded=True, **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if options.get("ssl_context") else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(body), status, headers=headers, content_type="application/json")


def provider_at(name: str, base_url: str) -> vc.Session:
    """Register a plain password-grant provider at ``base_url`` and log in to it."""
    vc.register_provider(
        vc.Provider(name=name, base_url=base_url, grants=("password",), token_path="/token")
    )
    return vc.connect(name, username="u", password="p", cache=False)


class FakeClock(_http.Clock):
    """The HTTP layer's clock, recording the waits instead of sleeping them (set it with
    ``monkeypatch.setattr(_http, "CLOCK", FakeClock())``)."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds


def default_sigint() -> None:
    """``preexec_fn`` for a child the test stops with Ctrl+C: a parent started in the
    background (a CI job) ignores SIGINT, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """In a ``finally``: whatever the test did, the child is gone afterwards."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def read_until(fd: int, marker: bytes, limit: float = 30) -> bytes:
    """What a terminal (a pty's master side) shows until ``marker``, the end of the child's
    output, or ``limit`` seconds, whichever comes first."""
    import os
    import select

    seen = b""
    deadline = time.monotonic() + limit
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            seen += chunk
    return seen
