"""The access token a session holds, and what can be learnt from it without a secret."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# Renew this many seconds before the known expiry, so a request never leaves with a token
# that dies in flight (oauthlib itself has no leeway).
LEEWAY_SECONDS = 45


def jwt_claims(token: str | None) -> dict[str, Any]:
    """The claims of a JWT, read without verifying (the server verifies); {} if not a JWT."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _epoch(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


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

    @classmethod
    def from_response(cls, data: dict[str, Any], *, now: float | None = None) -> Token:
        """Build from a token endpoint's JSON. Expiry from ``expires_in``, else ``expires_at``,
        else the access token's JWT ``exp`` claim; ``sub`` likewise from the body or the JWT."""
        now = time.time() if now is None else now
        access = str(data["access_token"])
        claims = jwt_claims(access)
        expires: float | None = None
        expires_in = _epoch(data.get("expires_in"))
        if expires_in is not None:
            expires = now + expires_in
        elif _epoch(data.get("expires_at")) is not None:
            expires = _epoch(data.get("expires_at"))
        elif _epoch(claims.get("exp")) is not None:
            expires = _epoch(claims.get("exp"))
        sub = data.get("sub") or claims.get("sub") or jwt_claims(data.get("id_token")).get("sub")
        scope = data.get("scope")
        if isinstance(scope, list | tuple):
            scope = " ".join(map(str, scope))
        return cls(
            access_token=access,
            # vitalera's password grant sends no token_type: it is used as Bearer (its docs)
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            refresh_token=data.get("refresh_token") or None,
            id_token=data.get("id_token") or None,
            sub=str(sub) if sub is not None else None,
            scope=scope,
        )

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds left, or None when the expiry is unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at.timestamp() - (time.time() if now is None else now)

    def is_expired(self, leeway: float = LEEWAY_SECONDS) -> bool:
        """True when the token is known to expire within ``leeway`` seconds."""
        left = self.expires_in()
        return left is not None and left <= leeway

    def authorization(self) -> str:
        """The Authorization header value. Bearer whatever the case the server used."""
        kind = "Bearer" if self.token_type.lower() == "bearer" else self.token_type
        return f"{kind} {self.access_token}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict, ``expires_at`` as epoch seconds (for the cache)."""
        d = asdict(self)
        d["expires_at"] = self.expires_at.timestamp() if self.expires_at else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Token:
        """Inverse of :meth:`to_dict`."""
        expires = _epoch(d.get("expires_at"))
        fields = {k: d.get(k) for k in ("refresh_token", "id_token", "sub", "scope")}
        return cls(
            access_token=str(d["access_token"]),
            token_type=str(d.get("token_type") or "Bearer"),
            expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            **fields,
        )

    def oauthlib_dict(self) -> dict[str, Any]:
        """The dict requests-oauthlib keeps in ``OAuth2Session.token``."""
        d: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type}
        if self.expires_at:
            d["expires_at"] = self.expires_at.timestamp()
        if self.refresh_token:
            d["refresh_token"] = self.refresh_token
        return d

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat(timespec="seconds") if self.expires_at else None
        refresh = "<set>" if self.refresh_token else None
        return (
            f"Token(type={self.token_type!r}, sub={self.sub!r}, expires_at={expires!r}, "
            f"refresh_token={refresh!r})"
        )

    __str__ = __repr__
