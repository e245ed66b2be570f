"""The errors vital_connect raises.

Every error derives from :class:`VitalConnectError`, and every message says what happened
and what to do next, without any secret in it::

    VitalConnectError
    ├── AuthenticationError        the provider refused the credentials (401 at login)
    ├── TokenExpiredError          the token expired and could not be renewed
    ├── ValidationError            the provider rejected the request's fields (422); .errors
    ├── APIError                   any other error status; .status_code .error_type .message
    ├── MissingCredentialsError    nothing to log in with; .variables names what to set
    ├── UnknownProviderError       (also ValueError) no provider by that name; .known
    ├── InsecureTransportError     plain http to a non-loopback host, or a foreign origin
    ├── StateMismatchError         the code-flow redirect does not carry our state
    ├── NotSupportedError          the provider has no such feature
    ├── ConfigurationError         (also ValueError) an argument or setting is not valid
    └── CredentialsNotSavedError   rotated credentials could not be written; .credentials

Catch the base to handle them all, or one class for one case:

    >>> import vital_connect as vc
    >>> try:
    ...     vc.connect("vitalera", widget=False, cache=False)  # nothing configured
    ... except vc.MissingCredentialsError as exc:
    ...     print(exc.variables[:2])
    ['VITALERA_CLIENT_ID', 'VITALERA_CLIENT_SECRET']
    >>> issubclass(vc.UnknownProviderError, ValueError)
    True
"""

from __future__ import annotations

from typing import Any


class VitalConnectError(Exception):
    """Base of every error raised by vital_connect.

    ``status_code``, ``error_type`` and ``url`` are set when the error comes from an HTTP
    answer (``url`` has any secret masked).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_type: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_type = error_type
        self.url = url

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class AuthenticationError(VitalConnectError):
    """Raised when the provider refuses the credentials (wrong password, unknown client).

    Not raised for an expired token that could be renewed: that is handled silently.
    """


class TokenExpiredError(VitalConnectError):
    """Raised when the access token expired and no renewal path worked.

    The message says how to log in again (``s.login()``, or the variables to set).
    """


class ValidationError(VitalConnectError, ValueError):
    """Raised on a 422: the provider rejected fields of the request.

    ``errors`` is a list of dicts with ``field``, ``message`` and ``type``.
    """

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.errors = errors or []


class APIError(VitalConnectError):
    """Raised for any other error status (4xx/5xx), or an answer that is not what was asked.

    ``status_code``, ``error_type`` (the provider's own code when it gives one) and
    ``message`` describe it.
    """


class MissingCredentialsError(VitalConnectError):
    """Raised when there is nothing to log in with and nobody to ask.

    ``variables`` lists the environment variables that would make it work.
    """

    def __init__(self, message: str, *, variables: list[str] | None = None) -> None:
        super().__init__(message)
        self.variables = variables or []


class UnknownProviderError(VitalConnectError, ValueError):
    """Raised for a provider name that is not registered; ``known`` lists the names."""

    def __init__(self, message: str, *, known: list[str] | None = None) -> None:
        super().__init__(message)
        self.known = known or []


class InsecureTransportError(VitalConnectError):
    """Raised before sending anything over plain http to a host that is not loopback,
    or before sending the bearer token to an origin the provider does not declare."""


class StateMismatchError(VitalConnectError):
    """Raised when the redirected URL's ``state`` is missing, wrong or already used."""


class NotSupportedError(VitalConnectError):
    """Raised when asking a provider for a feature it does not have (e.g. rotation)."""


class ConfigurationError(VitalConnectError, ValueError):
    """Raised for an argument or setting that cannot work (a negative timeout, an unknown
    language, a malformed provider); the message names the accepted values."""


class CredentialsNotSavedError(VitalConnectError):
    """Raised when rotated credentials could not be written to the ``env_file``.

    The rotation itself succeeded and the session already uses the new credentials;
    ``credentials`` holds them (never shown in the message) and ``fallback_path`` names the
    0600 file they were saved to instead, when that worked.
    """

    def __init__(
        self, message: str, *, credentials: dict[str, Any], fallback_path: str | None = None
    ) -> None:
        super().__init__(message)
        self.credentials = credentials
        self.fallback_path = fallback_path


class VitalConnectWarning(UserWarning):
    """Warned when something was skipped safely, e.g. an unreadable token cache file."""


def warn(message: str) -> None:
    """A :class:`VitalConnectWarning` shown at the first line outside this package (the
    user's call), however deep inside it the thing was skipped."""
    import sys
    import warnings

    package = __name__.rpartition(".")[0]  # "vital_connect"
    frame = sys._getframe(1)  # warn()'s caller: stacklevel 2
    level = 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == package:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, VitalConnectWarning, stacklevel=level)
