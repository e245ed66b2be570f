"""Transport rules: which URLs may be used at all, read the way the HTTP stack reads them.

Every check here parses a URL with urllib3's parser, the one that decides where requests
really connects: Python's ``urlsplit`` disagrees with it on some inputs (``urlsplit`` takes
the host after the last ``@``, urllib3 ends the authority at ``\\``), and a check that
reads a URL differently from the code that sends it checks nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Iterable
from typing import NamedTuple

from ._errors import ConfigurationError, InsecureTransportError

DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
MAX_TIMEOUT = 24 * 3600.0  # a longer timeout is a typo, and overflows socket code

Timeout = float | tuple[float, float]

# Anything urllib3 and urlsplit could read differently, or that hides a second host.
_AMBIGUOUS_AUTHORITY = re.compile(r"[\\@\s\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class Parsed(NamedTuple):
    scheme: str
    host: str  # lower case; IPv6 without brackets
    port: int | None
    path: str


def is_absolute(url: str) -> bool:
    """True for ``scheme://...``; a path such as ``/x?next=http://a/`` is not absolute."""
    return bool(_SCHEME.match(url))


def parse(url: str) -> Parsed:
    """Scheme, host, port and path as urllib3 (hence requests) will use them.

    Refuses, with a ConfigurationError, what cannot be read unambiguously: a user-info
    part (``user@host``), a backslash or white space in the authority, a bad port.
    """
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if not isinstance(url, str) or not is_absolute(url):
        raise ConfigurationError(f"Not an absolute http(s) URL: {str(url)[:200]!r}.")
    authority = re.split(r"[/?#]", url.split("://", 1)[1], maxsplit=1)[0]
    if _AMBIGUOUS_AUTHORITY.search(authority):
        raise ConfigurationError(
            f"Refusing the URL {_short(url)!r}: its host part contains '@', '\\' or white "
            "space, which different parts of the HTTP stack read differently. Write it as "
            "https://host[:port]/path."
        )
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise ConfigurationError(
            f"Cannot read the URL {_short(url)!r}: check the host and port (1-65535)."
        ) from None
    host = (parts.host or "").lower().strip("[]")
    if not host or parts.scheme is None:
        raise ConfigurationError(f"The URL {_short(url)!r} has no host.")
    if parts.port is not None and not 0 < parts.port < 65536:
        raise ConfigurationError(f"The URL {_short(url)!r} has a port outside 1-65535.")
    return Parsed(parts.scheme.lower(), host, parts.port, parts.path or "")


def _short(url: object) -> str:
    text = str(url)
    return text if len(text) <= 120 else text[:117] + "..."


def is_loopback(url: str) -> bool:
    """True for URLs on 127.0.0.0/8, ::1 or ``localhost`` (never a name that merely ends
    in ``.localhost``: it would be resolved by whatever resolver the machine has)."""
    try:
        host = parse(url).host
    except ConfigurationError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped, as urllib3 reads it."""
    return _cached_origin(_authority(url))


def _authority(url: str) -> str:
    """``scheme://authority`` of an absolute URL: all that its origin and transport depend
    on (parse() refuses the same URLs from this part alone, and reads the same host)."""
    if not isinstance(url, str) or not is_absolute(url):
        raise ConfigurationError(f"Not an absolute http(s) URL: {str(url)[:200]!r}.")
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{re.split(r'[/?#]', rest, maxsplit=1)[0]}"


def _origin(authority: str) -> str:
    p = parse(authority)
    host = f"[{p.host}]" if ":" in p.host else p.host
    if p.port is None or (p.scheme, p.port) in {("http", 80), ("https", 443)}:
        return f"{p.scheme}://{host}"
    return f"{p.scheme}://{host}:{p.port}"


def check_transport(url: str) -> None:
    """Refuse anything but https, except plain http to a loopback address."""
    _cached_check_transport(_authority(url))


def _check_transport(authority: str) -> None:
    scheme = parse(authority).scheme
    if scheme == "https":
        return
    if scheme == "http" and is_loopback(authority):
        return
    if scheme != "http":
        raise InsecureTransportError(
            f"Cannot use {origin(authority)!r}: only http(s) URLs are supported. "
            "Give a base_url such as 'https://api.example.org'."
        )
    raise InsecureTransportError(
        f"Refusing plain http to {origin(authority)}: tokens and passwords would travel "
        "unencrypted. Use an https:// base_url; plain http is allowed only to loopback "
        "(127.0.0.1, ::1, localhost), e.g. the vital_connect sandbox."
    )


# The verdicts on an authority, kept for the few a session talks to: every request checks
# its URL (twice: as routed and as prepared), and parsing is most of a check's cost. Keyed
# by the authority alone, never by a whole URL, which may carry a token in its query; a
# refusal raises, so only a pass is kept. Process-wide: ``clear_verdicts()`` forgets them.
_cached_origin = functools.lru_cache(maxsize=64)(_origin)
_cached_check_transport = functools.lru_cache(maxsize=64)(_check_transport)


def clear_verdicts() -> None:
    """Forget the kept verdicts (tests that run changed rules in one process use it)."""
    _cached_origin.cache_clear()
    _cached_check_transport.cache_clear()


def check_destination(url: str, origins: frozenset[str] | set[str], what: str) -> None:
    """The last check before anything is sent to ``url``: the transport rule, and an
    origin the provider declares (``what`` names the thing that would leak)."""
    try:
        where = origin(url)
    except ConfigurationError as exc:
        raise InsecureTransportError(f"Refusing to send {what}: {exc.message}") from None
    if where not in origins:
        raise InsecureTransportError(
            f"Refusing to send {what} to {where}: it is not one of the provider's origins "
            f"({', '.join(sorted(origins))}). Give a path relative to base_url instead."
        )
    check_transport(url)


def normalize_timeout(timeout: object) -> tuple[float, float]:
    """Turn ``None``, seconds, or ``(connect, read)`` into a ``(connect, read)`` pair."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        seconds = _seconds(timeout, timeout)
        return (seconds, seconds)
    pair: tuple[object, ...] = ()
    if isinstance(timeout, Iterable) and not isinstance(timeout, str | bytes):
        pair = tuple(timeout)
    if len(pair) != 2:
        raise ConfigurationError(
            f"timeout must be seconds or a (connect, read) pair, got {timeout!r}"
        )
    return (_seconds(pair[0], timeout), _seconds(pair[1], timeout))


def _seconds(value: object, whole: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigurationError(f"timeout must be positive seconds, got {whole!r}")
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"timeout must be positive seconds, got {whole!r}") from None
    if not math.isfinite(number) or number <= 0 or number > MAX_TIMEOUT:
        raise ConfigurationError(
            f"timeout must be positive seconds, at most {MAX_TIMEOUT:.0f}, got {whole!r}"
        )
    return number
