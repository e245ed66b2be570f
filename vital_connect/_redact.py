"""One place that masks secrets: tokens, passwords, client secrets, codes.

Used by every ``repr``, every error message (URLs included) and a logging filter on our
logger and on the loggers of requests-oauthlib, oauthlib and urllib3, which log request
bodies and tokens at DEBUG level.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

# Field names whose values are secret, in query strings, form bodies, JSON and reprs.
SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "pw",
    "code",
    "token",
    "secret",
    "assertion",
    "code_verifier",
)
_FIELDS = "|".join(SECRET_FIELDS)

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# name=value in query strings and form bodies (also URL-encoded inside a URL's own query)
_KV = re.compile(rf"(?i)((?:^|[?&;\s,(])(?:{_FIELDS})=)[^&\s'\",)#]+")
# "name": "value" in JSON, and name='value' / name: 'value' in reprs
_JSON = re.compile(rf"""(?i)(["']?(?:{_FIELDS})["']?\s*[:=]\s*["'])[^"']*(["'])""")
_AUTH = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")


class Secret(str):
    """A string whose ``repr`` is masked: a password, client secret or token held in a
    variable, a dict or a dataclass shows as ``'***'`` in a traceback's locals (``%xmode
    Verbose``), a debugger or a repr; ``str()``, f-strings and comparisons see the value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


def secret(value: str | None) -> str | None:
    """``value`` as a :class:`Secret` (None stays None)."""
    return None if value is None else Secret(value)


_known: set[str] = set()
_known_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Remember exact secret values (passwords, client secrets, tokens) to mask anywhere."""
    with _known_lock:
        for value in values:
            # Very short values would mask ordinary words; they are also masked by field name.
            if value and len(value) >= 6:
                _known.add(value)


def redact(text: object) -> str:
    """Return ``text`` with every known secret and every secret-looking value masked.

    >>> redact("https://x.test/userinfo?access_token=abc123&x=1")
    'https://x.test/userinfo?access_token=***&x=1'
    """
    s = str(text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in s:
            s = s.replace(value, MASK)
    s = _AUTH.sub(lambda m: f"{m.group(1)} {MASK}", s)
    s = _JWT.sub(MASK, s)
    s = _KV.sub(lambda m: m.group(1) + MASK, s)
    s = _JSON.sub(lambda m: m.group(1) + MASK + m.group(2), s)
    return s


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


# Loggers that write request bodies, headers, URLs or tokens. A filter on a logger does not
# see records of its child loggers, so each module's logger is named.
LEAKY_LOGGERS = (
    "vital_connect",
    "requests_oauthlib",
    "requests_oauthlib.oauth2_session",
    "requests_oauthlib.oauth2_auth",
    "oauthlib",
    "oauthlib.oauth2.rfc6749",
    "oauthlib.oauth2.rfc6749.parameters",
    "oauthlib.oauth2.rfc6749.clients.base",
    "oauthlib.oauth2.rfc6749.tokens",
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.util.retry",
)

_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Attach the redacting filter to every logger known to log secrets (idempotent)."""
    for name in LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
