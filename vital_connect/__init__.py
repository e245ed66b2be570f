"""vital_connect: log in to health-data APIs from Jupyter and get pandas DataFrames back.

>>> import vital_connect as vc
>>> {"vidaplus", "vitaldb", "vitalera"} <= set(vc.providers()["name"])
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    CredentialsNotSavedError,
    InsecureTransportError,
    MissingCredentialsError,
    NotSupportedError,
    StateMismatchError,
    TokenExpiredError,
    UnknownProviderError,
    ValidationError,
    VitalConnectError,
    VitalConnectWarning,
)

if TYPE_CHECKING:  # pragma: no cover
    from . import dialects as dialects
    from . import sandbox as sandbox
    from ._connect import connect as connect
    from ._panel import login_panel as login_panel
    from ._providers import Provider as Provider
    from ._providers import providers as providers
    from ._providers import register_provider as register_provider
    from ._session import Session as Session
    from ._token import Token as Token
    from .dialects import Dialect as Dialect

__version__ = "0.2.0"

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "CredentialsNotSavedError",
    "Dialect",
    "InsecureTransportError",
    "MissingCredentialsError",
    "NotSupportedError",
    "Provider",
    "Session",
    "StateMismatchError",
    "Token",
    "TokenExpiredError",
    "UnknownProviderError",
    "ValidationError",
    "VitalConnectError",
    "VitalConnectWarning",
    "__version__",
    "connect",
    "dialects",
    "login_panel",
    "providers",
    "register_provider",
    "sandbox",
]

# Where each public name lives, imported on first use (PEP 562): `import vital_connect` stays
# light (the errors only), and the sandbox (the Flask/PyJWT extra) and the panel
# (ipywidgets) load only when asked for.
_LAZY = {
    "connect": "._connect",
    "Session": "._session",
    "Token": "._token",
    "Provider": "._providers",
    "providers": "._providers",
    "register_provider": "._providers",
    "Dialect": ".dialects",
    "login_panel": "._panel",
}
_SUBMODULES = {"dialects", "sandbox"}


def __getattr__(name: str) -> object:
    import importlib

    if name in _SUBMODULES:
        value: object = importlib.import_module(f".{name}", __name__)
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module 'vital_connect' has no attribute {name!r}")
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    # what a person tab-completes: the public names, not this module's own imports
    return sorted(__all__)
