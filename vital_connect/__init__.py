"""vital_connect: log in to health-data APIs from Jupyter and get pandas DataFrames back.

>>> import vital_connect as vc
>>> {"vidaplus", "vitaldb", "vitalera"} <= set(vc.providers()["name"])
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import dialects
from ._connect import connect
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
from ._providers import Provider, providers, register_provider
from ._session import Session
from ._token import Token
from .dialects import Dialect

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

if TYPE_CHECKING:  # pragma: no cover
    from . import sandbox as sandbox
    from ._panel import login_panel as login_panel


def __getattr__(name: str) -> object:
    # Imported on first use: the sandbox needs the optional Flask/PyJWT extra, and the panel
    # needs ipywidgets; `import vital_connect` stays light without them.
    if name == "sandbox":
        import importlib

        return importlib.import_module(".sandbox", __name__)
    if name == "login_panel":
        from ._panel import login_panel

        return login_panel
    raise AttributeError(f"module 'vital_connect' has no attribute {name!r}")


def __dir__() -> list[str]:
    # what a person tab-completes: the public names, not this module's own imports
    return sorted(__all__)
