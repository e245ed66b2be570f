"""Providers are data: one frozen dataclass each, in a registry.

Where a provider departs from RFC 6749 it names one small adapter (see ``_compliance``);
adding a provider touches this one place, or one ``register_provider`` call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ._errors import ConfigurationError, UnknownProviderError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from requests_oauthlib import OAuth2Session

Grant = Literal["client_credentials", "password", "authorization_code"]
GRANTS: tuple[str, ...] = ("client_credentials", "password", "authorization_code")

# How a provider renews an access token:
#   "refresh_token": RFC 6749 section 6 (grant_type=refresh_token, form body)
#   "bearer_json":   vitalera: Bearer header + JSON {"refresh_token"} (its docs)
#   "bearer":        vidaplus: the still-valid token authenticates a refresh endpoint
RefreshStyle = Literal["refresh_token", "bearer_json", "bearer"]


@dataclass(frozen=True)
class Provider:
    """A health-data API: where it lives, which grants it offers, how it speaks.

    Register your own from data alone::

        >>> import vital_connect as vc
        >>> p = vc.Provider(name="acme", base_url="https://api.acme.test",
        ...                 grants=("client_credentials",), token_path="/oauth/token")
        >>> p.env_prefix
        'ACME_'
    """

    name: str
    base_url: str
    grants: tuple[str, ...]
    token_path: str
    title: str = ""
    api_url: str | None = None  # where data paths live, when not at base_url
    origins: tuple[str, ...] = ()  # further origins the token may be sent to
    refresh_path: str | None = None
    refresh_style: RefreshStyle = "refresh_token"
    validate_path: str | None = None
    userinfo_path: str | None = None
    userinfo_token_in_query: bool = False
    login_path: str | None = None  # the authorization (login page) endpoint
    rotate_path: str | None = None
    token_body: Literal["form", "json"] = "form"
    adapter: Callable[[OAuth2Session], OAuth2Session] | None = field(default=None, repr=False)
    docs_url: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ConfigurationError(
                f"Provider name must be letters, digits, - or _: {self.name!r}"
            )
        object.__setattr__(self, "name", self.name.lower())
        bad = [g for g in self.grants if g not in GRANTS]
        if not self.grants or bad:
            raise ConfigurationError(
                f"Provider {self.name!r}: grants must be a non-empty tuple of {GRANTS}, "
                f"got {self.grants!r}"
            )
        if "authorization_code" in self.grants and not self.login_path:
            raise ConfigurationError(f"Provider {self.name!r}: the code flow needs a login_path")

    @property
    def env_prefix(self) -> str:
        """Environment variable prefix: the name upper-cased, e.g. ``VITALERA_``."""
        return self.name.upper().replace("-", "_") + "_"

    def with_base_url(self, base_url: str) -> Provider:
        """The same provider at another deployment (staging, the sandbox)."""
        return replace(self, base_url=base_url.rstrip("/"), api_url=None)


def _vitalera_adapter(session: OAuth2Session) -> OAuth2Session:
    from ._compliance import vitalera_compliance_fix

    return vitalera_compliance_fix(session)


def _vitaldb_adapter(session: OAuth2Session) -> OAuth2Session:
    from ._compliance import vitaldb_compliance_fix

    return vitaldb_compliance_fix(session)


VITALERA = Provider(
    name="vitalera",
    title="vitalera platform API",
    base_url="https://api.vitalera.io",
    grants=("client_credentials", "password"),
    token_path="/api/auth/tokens/",
    refresh_path="/api/auth/tokens/refresh/",
    refresh_style="bearer_json",
    validate_path="/api/auth/tokens/validate/",
    rotate_path="/api/applications/rotate_credentials/",
    token_body="json",
    adapter=_vitalera_adapter,
    docs_url="https://docs.vitalera.io",
)

VIDAPLUS = Provider(
    name="vidaplus",
    title="VidaPlus API",
    base_url="https://api.vidaplus.com",
    grants=("password",),
    token_path="/auth/token/",
    # The docs name a "Refresh Token endpoint" used before expiry but give no shape; the
    # sandbox documents the choice (POST, Bearer header, no body), which we follow.
    refresh_path="/auth/refresh/",
    refresh_style="bearer",
    userinfo_path="/users/me/",
)

VITALDB = Provider(
    name="vitaldb",
    title="VitalDB",
    base_url="https://vitaldb.net",
    # The open dataset lives on its own host in production.
    api_url="https://api.vitaldb.net",
    grants=("authorization_code", "password"),
    token_path="/oauth2/token",
    login_path="/oauth2/login",
    userinfo_path="/oauth2/userinfo",
    userinfo_token_in_query=True,  # VitalDB docs: userinfo?access_token=...
    adapter=_vitaldb_adapter,
    docs_url="https://vitaldb.net/docs/?documentId=1tRDsnY_dn3xWv3PnBFBgn9jtPwmzBVWz0pVmbDYa6OE",
)

_registry: dict[str, Provider] = {}
_registry_lock = threading.Lock()


def register_provider(provider: Provider) -> Provider:
    """Add (or replace) a provider in the registry, so ``connect(name)`` finds it.

    >>> import vital_connect as vc
    >>> _ = vc.register_provider(vc.Provider(name="acme", base_url="https://api.acme.test",
    ...                          grants=("password",), token_path="/token"))
    >>> "acme" in set(vc.providers()["name"])
    True
    """
    if not isinstance(provider, Provider):
        raise ConfigurationError(
            f"register_provider() takes a vital_connect.Provider, got {provider!r}"
        )
    with _registry_lock:
        _registry[provider.name] = provider
    return provider


def get_provider(name_or_provider: str | Provider) -> Provider:
    """Look a provider up by name (case-insensitive), or pass a Provider through."""
    if isinstance(name_or_provider, Provider):
        return name_or_provider
    if not isinstance(name_or_provider, str):
        raise UnknownProviderError(
            f"provider must be a name or a vital_connect.Provider, got {name_or_provider!r}. "
            f"Known providers: {', '.join(sorted(_registry))}.",
            known=sorted(_registry),
        )
    key = name_or_provider.strip().lower()
    with _registry_lock:
        provider = _registry.get(key)
    if provider is None:
        known = sorted(_registry)
        raise UnknownProviderError(
            f"Unknown provider {name_or_provider!r}. Known providers: {', '.join(known)}. "
            "Add your own with vc.register_provider(vc.Provider(...)).",
            known=known,
        )
    return provider


def providers() -> pd.DataFrame:
    """One row per registered provider, with its grants and URLs.

    >>> import vital_connect as vc
    >>> vc.providers().set_index("name").loc["vitaldb", "token_url"]
    'https://vitaldb.net/oauth2/token'
    """
    import pandas as pd

    with _registry_lock:
        rows = list(_registry.values())
    return pd.DataFrame(
        [
            {
                "name": p.name,
                "title": p.title,
                "grants": ", ".join(p.grants),
                "base_url": p.base_url,
                "api_url": p.api_url or p.base_url,
                "token_url": p.base_url + p.token_path,
                "refresh_url": p.base_url + p.refresh_path if p.refresh_path else None,
                "login_url": p.base_url + p.login_path if p.login_path else None,
            }
            for p in sorted(rows, key=lambda p: p.name)
        ]
    )


for _p in (VITALERA, VIDAPLUS, VITALDB):
    register_provider(_p)
