"""The access token a session holds, and what can be learnt from it without a secret."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# Renew this many seconds before the known expiry, so a request never leaves with a token
# that dies in flight (oauthlib itself has no leeway). A short-lived token gets a quarter
# of its life instead, or it would count as expired the moment it is issued.
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
    issued_at: datetime | None = None

    @classmethod
    def from_response(cls, data: dict[str, Any], *, now: float | None = None) -> Token:
        """Build from a token endpoint's JSON. Expiry is the earliest of ``expires_in``,
        ``expires_at`` and the access token's JWT ``exp`` claim that are present (a server
        stamping whole seconds may put ``exp`` before now + expires_in); ``sub`` and the
        issue time likewise from the body or the JWT."""
        now = time.time() if now is None else now
        access = str(data["access_token"])
        claims = jwt_claims(access)
        expires_in = _epoch(data.get("expires_in"))
        candidates = [
            now + expires_in if expires_in is not None else None,
            _epoch(data.get("expires_at")),
            _epoch(claims.get("exp")),
        ]
        known = [c for c in candidates if c is not None]
        expires = min(known) if known else None
        issued = _epoch(claims.get("iat")) or now
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
            issued_at=datetime.fromtimestamp(min(issued, now), UTC),
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
        return f"{kind} {self.access_token}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict, ``expires_at`` as epoch seconds (for the cache)."""
        d = asdict(self)
        d["expires_at"] = self.expires_at.timestamp() if self.expires_at else None
        d["issued_at"] = self.issued_at.timestamp() if self.issued_at else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Token:
        """Inverse of :meth:`to_dict`."""
        expires = _epoch(d.get("expires_at"))
        issued = _epoch(d.get("issued_at"))
        fields = {k: d.get(k) for k in ("refresh_token", "id_token", "sub", "scope")}
        return cls(
            access_token=str(d["access_token"]),
            token_type=str(d.get("token_type") or "Bearer"),
            expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            issued_at=datetime.fromtimestamp(issued, UTC) if issued else None,
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
