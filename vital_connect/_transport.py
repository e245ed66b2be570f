"""Transport rules: https everywhere except loopback, and timeouts on every call."""

from __future__ import annotations

import ipaddress
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ._errors import ConfigurationError, InsecureTransportError

DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds

Timeout = float | tuple[float, float]


def is_loopback(url: str) -> bool:
    """True for URLs on 127.0.0.0/8, ::1 or localhost."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """``scheme://host[:port]`` in lower case, with default ports dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in {("http", 80), ("https", 443)}:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def check_transport(url: str) -> None:
    """Refuse anything but https, except plain http to a loopback address."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "https":
        return
    if scheme == "http" and is_loopback(url):
        return
    if scheme not in {"http", "https"}:
        raise InsecureTransportError(
            f"Cannot use {origin(url) or url!r}: only http(s) URLs are supported. "
            "Give a base_url such as 'https://api.example.org'."
        )
    raise InsecureTransportError(
        f"Refusing plain http to {origin(url)}: tokens and passwords would travel unencrypted. "
        "Use an https:// base_url; plain http is allowed only to loopback "
        "(127.0.0.1, ::1, localhost), e.g. the vital_connect sandbox."
    )


def normalize_timeout(timeout: Timeout | None) -> tuple[float, float]:
    """Turn ``None``, seconds, or ``(connect, read)`` into a ``(connect, read)`` pair."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigurationError(f"timeout must be positive seconds, got {timeout!r}")
        return (float(timeout), float(timeout))
    try:
        connect, read = timeout  # type: ignore[misc]
        pair = (float(connect), float(read))
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"timeout must be seconds or a (connect, read) pair, got {timeout!r}"
        ) from None
    if not all(math.isfinite(v) and v > 0 for v in pair):
        raise ConfigurationError(f"timeout must be positive seconds, got {timeout!r}")
    return pair


_insecure_lock = threading.Lock()
_insecure_users = 0
_ENV = "OAUTHLIB_INSECURE_TRANSPORT"


@contextmanager
def oauthlib_allows(url: str) -> Iterator[None]:
    """Let oauthlib's https check pass for one loopback call.

    oauthlib only knows a process-wide switch (``OAUTHLIB_INSECURE_TRANSPORT``) and has no
    loopback exemption. We check transport ourselves first, and raise the switch only while
    a call to a loopback URL runs, restoring it afterwards; https calls never touch it.
    """
    check_transport(url)
    if urlsplit(url).scheme.lower() == "https":
        yield
        return
    global _insecure_users
    with _insecure_lock:
        if _insecure_users == 0:
            previous = os.environ.get(_ENV)
            _saved[0] = previous
            os.environ[_ENV] = "1"
        _insecure_users += 1
    try:
        yield
    finally:
        with _insecure_lock:
            _insecure_users -= 1
            if _insecure_users == 0:
                if _saved[0] is None:
                    os.environ.pop(_ENV, None)
                else:
                    os.environ[_ENV] = _saved[0]


_saved: list[str | None] = [None]
