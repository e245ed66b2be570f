"""Providers are data: one frozen dataclass each, in a registry.

Where a provider departs from RFC 6749 it names a dialect (``vital_connect.dialects``),
the one module that holds all of its quirks; adding a provider touches that module and
one registry entry here, or a single ``register_provider`` call with data alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ._errors import ConfigurationError, UnknownProviderError
from .dialects import Dialect, rfc6749, vidaplus, vitaldb, vitalera

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Grant = Literal["client_credentials", "password", "authorization_code"]
GRANTS: tuple[str, ...] = ("client_credentials", "password", "authorization_code")
ENDPOINTS = ("token_path", "refresh_path", "validate_path", "userinfo_path", "login_path",
             "rotate_path")  # fmt: skip


@dataclass(frozen=True)
class Provider:
    """A health-data API: where it lives, which grants it offers, how it speaks.

    Register your own from data alone (it then speaks plain RFC 6749), or with a dialect::

        >>> import vital_connect as vc
        >>> p = vc.Provider(name="acme", base_url="https://api.acme.test",
        ...                 grants=("client_credentials",), token_path="/oauth/token")
        >>> p.env_prefix, p.dialect.name
        ('ACME_', 'rfc6749')
    """

    name: str
    base_url: str
    grants: tuple[str, ...]
    token_path: str
    title: str = ""
    api_url: str | None = None  # where data paths live, when not at base_url
    origins: tuple[str, ...] = ()  # further origins the token may be sent to
    refresh_path: str | None = None
    validate_path: str | None = None
    userinfo_path: str | None = None
    login_path: str | None = None  # the authorization (login page) endpoint
    rotate_path: str | None = None
    dialect: Dialect = field(default=rfc6749.RFC6749, repr=False, compare=False)
    docs_url: str = ""

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise ConfigurationError(f"Provider name must be letters, digits, - or _: {name!r}")
        object.__setattr__(self, "name", name.lower())
        grants = self.grants
        bad = [g for g in grants if g not in GRANTS] if isinstance(grants, tuple) else [grants]
        if not grants or bad:
            raise ConfigurationError(
                f"Provider {name!r}: grants must be a non-empty tuple of {GRANTS}, got {grants!r}"
            )
        for attr in ("base_url", "token_path", "title", "docs_url"):
            if not isinstance(getattr(self, attr), str):
                raise ConfigurationError(f"Provider {name!r}: {attr} must be a string.")
        for attr in (*ENDPOINTS, "api_url"):
            value = getattr(self, attr)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"Provider {name!r}: {attr} must be a string or None.")
        if not isinstance(self.dialect, Dialect):
            raise ConfigurationError(
                f"Provider {name!r}: dialect must be a vital_connect.dialects.Dialect."
            )
        if "authorization_code" in grants and not self.login_path:
            raise ConfigurationError(f"Provider {name!r}: the code flow needs a login_path")

    @property
    def env_prefix(self) -> str:
        """Environment variable prefix: the name upper-cased, e.g. ``VITALERA_``."""
        return self.name.upper().replace("-", "_") + "_"

    @property
    def endpoint_paths(self) -> frozenset[str]:
        """The OAuth endpoints' paths (token, refresh, validate, userinfo, login, rotate)."""
        return frozenset(p for p in (getattr(self, a) for a in ENDPOINTS) if p)

    def with_base_url(self, base_url: str) -> Provider:
        """The same provider at another deployment (staging, the sandbox): every path,
        login and data, is served from that one base URL."""
        return replace(self, base_url=base_url.rstrip("/"), api_url=None)


VITALERA = Provider(
    name="vitalera",
    title="vitalera platform API",
    base_url="https://api.vitalera.io",
    grants=("client_credentials", "password"),
    token_path="/api/auth/tokens/",
    refresh_path="/api/auth/tokens/refresh/",
    validate_path="/api/auth/tokens/validate/",
    rotate_path="/api/applications/rotate_credentials/",
    dialect=vitalera.VITALERA,
    docs_url="https://docs-v2.vitalera.io",
)

VIDAPLUS = Provider(
    name="vidaplus",
    title="VidaPlus API",
    base_url="https://api.vidaplus.com",
    grants=("password",),
    token_path="/auth/token/",
    refresh_path="/auth/token/refresh_token",
    dialect=vidaplus.VIDAPLUS,
)

VITALDB = Provider(
    name="vitaldb",
    title="VitalDB",
    base_url="https://vitaldb.net",
    api_url="https://api.vitaldb.net",  # the open dataset's own host
    grants=("authorization_code", "password"),
    token_path="/oauth2/token",
    login_path="/oauth2/login",
    userinfo_path="/oauth2/userinfo",
    dialect=vitaldb.VITALDB,
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


def known_names() -> list[str]:
    with _registry_lock:
        return sorted(_registry)


def get_provider(name_or_provider: str | Provider) -> Provider:
    """Look a provider up by name (case-insensitive), or pass a Provider through."""
    if isinstance(name_or_provider, Provider):
        return name_or_provider
    known = known_names()
    if not isinstance(name_or_provider, str):
        raise UnknownProviderError(
            f"provider must be a name or a vital_connect.Provider, got {name_or_provider!r}. "
            f"Known providers: {', '.join(known)}.",
            known=known,
        )
    with _registry_lock:
        provider = _registry.get(name_or_provider.strip().lower())
    if provider is None:
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
                "dialect": p.dialect.name,
            }
            for p in sorted(rows, key=lambda p: p.name)
        ]
    )


for _p in (VITALERA, VIDAPLUS, VITALDB):
    register_provider(_p)
