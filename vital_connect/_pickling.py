"""A session sent to another process (Dask's workers): provider, limits and at most the
access token; never a password, client secret, refresh or id token, nor any credential."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._auth import TokenAuth, TokenOnlyStore
from ._options import Options
from ._providers import get_provider, known_names
from ._token import Token

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session


def state_of(self: Session) -> dict[str, Any]:
    """What travels: enough to rebuild the session, and no secret but the token."""
    token = None if self.anonymous else self.token
    bare = None
    if token is not None:
        bare = {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "issued_at": token.issued_at,
            "sub": token.sub,
            "scope": token.scope,
        }
    registered = self.provider.name in known_names() and (
        get_provider(self.provider.name) == self.provider
    )
    state = {
        # by name when registered (the worker has it too), else the provider's data
        "provider": self.provider.name if registered else self.provider,
        "base_url": self.base_url,
        "anonymous": self.anonymous,
        "grant": self.grant,
        "token": bare,
        # the token cache stays behind; the choice for VitalDB's dataset files travels
        "cache": self.options.cache not in (False, None),
        "timeout": self.timeout,
        "lang": self.lang,
        "limits": (self.deadline, self.max_bytes, self.max_pages, self.page_workers),
    }
    return state


def restore(cls: type[Session], state: dict[str, Any]) -> Session:
    """The session again, on the other side: it can use its token, never renew it."""
    provider = get_provider(state["provider"])
    options = Options(
        base_url=state["base_url"],
        anonymous=state["anonymous"],
        cache=state["cache"],
        timeout=state["timeout"],
        lang=state["lang"],
    )
    session = cls(provider, options, TokenOnlyStore(provider, state["base_url"]))
    limits = state["limits"]
    session.deadline, session.max_bytes, session.max_pages, session.page_workers = limits
    session._creds = None
    if session.auth is not None:
        token = Token(**state["token"]) if state["token"] else None
        session.auth = TokenAuth.from_token(
            provider,
            session.auth.endpoint,
            token,
            grant=state["grant"],
            placement=session._router.placement,
        )
    return session
