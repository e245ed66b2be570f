"""Tiny scripted servers on loopback for tests the sandbox cannot stage (redirects, foreign
origins, TLS). Not a test module."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import vital_connect as vc

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
