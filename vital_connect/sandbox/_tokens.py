"""Signed JWTs: one random HS256 key and one issuer per emulated provider."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import jwt

_REQUIRED = ["sub", "exp", "iat", "jti", "iss", "typ"]


class TokenError(Exception):
    """A token that cannot be used; ``expired`` tells a genuine-but-expired one apart."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class TokenIssuer:
    """Issues and checks one provider's tokens.

    Each provider has its own key *and* checks ``iss``, so a token from one provider is
    refused by another. Keys live as long as the server (``reset()`` keeps them).
    """

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._key = secrets.token_bytes(32)

    def issue(self, sub: str, typ: str, ttl: float, **claims: Any) -> str:
        # Whole seconds, as JWT libraries write them; exp = iat + ttl exactly.
        iat = int(time.time())
        payload = {
            "iss": self.provider,
            "sub": sub,
            "iat": iat,
            "exp": iat + int(ttl),
            "jti": uuid.uuid4().hex,
            "typ": typ,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="HS256")

    def issue_plain(self, sub: str, ttl: float) -> str:
        """A token with only ``sub`` and ``exp``, as an app that signs ``{"sub": ...}`` plus
        an expiry writes it (vidaplus). Two issued in the same second are the same token."""
        return jwt.encode({"sub": sub, "exp": int(time.time()) + int(ttl)}, self._key, "HS256")

    def decode_plain(self, token: str) -> dict:
        """The claims of a genuine :meth:`issue_plain` token, else ``TokenError``."""
        try:
            options: Any = {"require": ["sub", "exp"]}
            return jwt.decode(token, self._key, algorithms=["HS256"], options=options)
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired", expired=True) from exc
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from exc

    def decode(self, token: str, *, typ: str = "access", allow_expired: bool = False) -> dict:
        """The claims of a genuine token of this provider, else ``TokenError``."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=self.provider,
                options={"require": _REQUIRED, "verify_exp": not allow_expired},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired", expired=True) from exc
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        if claims.get("typ") != typ:
            raise TokenError(f"wrong token type (expected {typ})")
        return claims
