"""The access token a session holds, and what can be learnt from it without a secret.

Token answers and cache files come from outside: every field is type-checked and every
time clamped here, so a hostile or broken answer (``expires_in: 1e300``, a number as
``access_token``, an object as ``refresh_token``) is a clear error, not a crash deep inside.
"""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ._redact import Secret

# Renew this many seconds before the known expiry, so a request never leaves with a token
# that dies in flight (oauthlib itself has no leeway). A short-lived token gets a quarter
# of its life instead, or it would count as expired the moment it is issued.
LEEWAY_SECONDS = 45
MAX_LIFETIME = 10 * 365 * 86400.0  # a longer expiry is clamped: no token lives ten years
MAX_TOKEN_CHARS = 64 * 1024  # far above any real JWT; more is not a token
_EPOCH_MAX = 253402300799.0  # 9999-12-31, the last second datetime can hold


class BadToken(ValueError):
    """A token answer or cache entry of the wrong shape; the message says which field."""


def jwt_claims(token: object) -> dict[str, Any]:
    """The claims of a JWT, read without verifying (the server verifies); {} if not a JWT."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > MAX_TOKEN_CHARS:
        return {}
    payload = token.split(".")[1]
    try:
        # validate: a stray character makes it not a JWT wherever it sits (lenient
        # decoding drops it, and then whether the padding fits decides)
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), b"-_", validate=True)
        claims = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) < 40:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _epoch(value: Any) -> float | None:
    number = _number(value)
    return min(number, _EPOCH_MAX) if number is not None and number > 0 else None


def _text(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadToken(f"it has no {name}")
        return None
    if not isinstance(value, str):
        raise BadToken(f"its {name} is a {type(value).__name__}, not a string")
    if len(value) > MAX_TOKEN_CHARS:
        raise BadToken(f"its {name} is {len(value):,} characters long")
    return value


def _scope(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value[:4096]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return " ".join(value)[:4096]
    raise BadToken("its scope is neither a string nor a list of strings")


def _datetime(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


@dataclass(frozen=True, repr=False)
class Token:
    """An access token and what came with it. Its ``repr`` never shows a secret.

    >>> t = Token(access_token="abc", expires_at=None)
    >>> t
    Token(type='Bearer', sub=None, expires_at=None, refresh_token=None)
    """

    access_token: str
    token_type: str = "Bearer"
    expires_at: datetime | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    sub: str | None = None
    scope: str | None = None
    issued_at: datetime | None = None

    @classmethod
    def from_response(cls, data: Any, *, now: float | None = None) -> Token:
        """Build from a token endpoint's JSON (raises BadToken on a wrong shape).

        Expiry is the earliest of ``expires_in``, ``expires_at`` and the access token's JWT
        ``exp`` claim that are present (a server stamping whole seconds may put ``exp``
        before now + expires_in), clamped to ten years; ``sub`` and the issue time likewise
        from the body or the JWT."""
        if not isinstance(data, dict):
            raise BadToken(f"it is a JSON {type(data).__name__}, not an object")
        now = time.time() if now is None else now
        access = _text(data, "access_token", required=True)
        assert access is not None
        refresh = _text(data, "refresh_token")
        id_token = _text(data, "id_token")
        token_type = _text(data, "token_type") or "Bearer"  # vitalera's password grant: none
        claims = jwt_claims(access)
        lifetime = _number(data.get("expires_in"))
        if data.get("expires_in") not in (None, "") and lifetime is None:
            raise BadToken("its expires_in is not a number")
        candidates = [
            now + min(max(lifetime, 0.0), MAX_LIFETIME) if lifetime is not None else None,
            _epoch(data.get("expires_at")),
            _epoch(claims.get("exp")),
        ]
        known = [c for c in candidates if c is not None]
        expires = min(min(known), now + MAX_LIFETIME) if known else None
        issued = min(_epoch(claims.get("iat")) or now, now)
        sub = data.get("sub") or claims.get("sub") or jwt_claims(id_token).get("sub")
        if sub is not None and not isinstance(sub, str | int):
            raise BadToken("its sub is neither a string nor a number")
        return cls(
            access_token=access,
            token_type=token_type,
            expires_at=_datetime(expires),
            refresh_token=refresh,
            id_token=id_token,
            sub=str(sub)[:512] if sub is not None else None,
            scope=_scope(data.get("scope")),
            issued_at=_datetime(issued),
        )

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds left, or None when the expiry is unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at.timestamp() - (time.time() if now is None else now)

    def is_expired(self, leeway: float | None = None) -> bool:
        """True when the token is known to expire within ``leeway`` seconds (default: 45 s,
        or a quarter of the token's lifetime when that is shorter)."""
        left = self.expires_in()
        if left is None:
            return False
        if leeway is None:
            leeway = LEEWAY_SECONDS
            if self.expires_at and self.issued_at:
                lifetime = (self.expires_at - self.issued_at).total_seconds()
                leeway = min(leeway, max(lifetime, 0) / 4)
        return left <= leeway

    def authorization(self) -> str:
        """The Authorization header value. Bearer whatever the case the server used."""
        kind = "Bearer" if self.token_type.lower() == "bearer" else self.token_type
        return Secret(f"{kind} {self.access_token}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict, ``expires_at`` as epoch seconds (for the cache)."""
        d = {k: (str(v) if isinstance(v, Secret) else v) for k, v in asdict(self).items()}
        d["expires_at"] = self.expires_at.timestamp() if self.expires_at else None
        d["issued_at"] = self.issued_at.timestamp() if self.issued_at else None
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Token:
        """Inverse of :meth:`to_dict`; raises BadToken for anything of another shape."""
        if not isinstance(d, dict):
            raise BadToken(f"it holds a JSON {type(d).__name__}, not an object")
        for name in ("expires_at", "issued_at"):
            if d.get(name) is not None and _epoch(d[name]) is None:
                raise BadToken(f"its {name} is not a time")
        fields = {k: _text(d, k) for k in ("refresh_token", "id_token", "sub", "scope")}
        access = _text(d, "access_token", required=True)
        assert access is not None
        return cls(
            access_token=access,
            token_type=_text(d, "token_type") or "Bearer",
            expires_at=_datetime(_epoch(d.get("expires_at"))),
            issued_at=_datetime(_epoch(d.get("issued_at"))),
            **fields,
        )

    def __post_init__(self) -> None:
        # the token strings themselves show as '***' wherever a repr reaches them
        for name in ("access_token", "refresh_token", "id_token"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Secret):
                object.__setattr__(self, name, Secret(value))

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat(timespec="seconds") if self.expires_at else None
        refresh = "<set>" if self.refresh_token else None
        return (
            f"Token(type={self.token_type!r}, sub={self.sub!r}, expires_at={expires!r}, "
            f"refresh_token={refresh!r})"
        )

    __str__ = __repr__
