"""The options of ``connect()``, typed and checked once, shared by the panel and the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from ._credentials import FIELDS
from ._errors import ConfigurationError
from ._i18n import check_lang
from ._transport import normalize_timeout

CREDENTIALS = FIELDS  # the credential options: the fields credentials come in


@dataclass(frozen=True, kw_only=True)
class Options:
    """Every option of :func:`vital_connect.connect`, checked when made.

    ``Options.of(**kwargs)`` refuses unknown names with a ConfigurationError that lists the
    known ones; ``timeout`` becomes a ``(connect, read)`` pair and ``lang`` a code.
    """

    base_url: str | None = None
    grant: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    application_id: str | None = None
    username: str | None = None
    password: str | None = None
    redirect_uri: str | None = None
    env_file: str | os.PathLike[str] | None = None
    cache: Any = True
    timeout: Any = None
    widget: bool | None = None
    wait: bool = True
    anonymous: bool = False
    lang: str | None = None

    def __post_init__(self) -> None:
        for name in CREDENTIALS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str | int):
                raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
        if self.grant is not None and not isinstance(self.grant, str):
            raise ConfigurationError(f"grant must be a string, got {self.grant!r}")
        if self.env_file is not None and not isinstance(self.env_file, str | os.PathLike):
            raise ConfigurationError(f"env_file must be a path, got {self.env_file!r}")
        object.__setattr__(self, "timeout", normalize_timeout(self.timeout))
        object.__setattr__(self, "lang", check_lang(self.lang))

    @classmethod
    def of(cls, **options: Any) -> Options:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown option(s) {', '.join(unknown)}; the options are: "
                f"{', '.join(sorted(known))}."
            )
        return cls(**options)

    def given(self) -> dict[str, str]:
        """The credentials given as arguments (non-empty ones), as strings."""
        values = ((name, getattr(self, name)) for name in CREDENTIALS)
        return {name: str(value) for name, value in values if value not in (None, "")}

    def __repr__(self) -> str:
        shown = {
            f.name: ("***" if f.name in ("password", "client_secret") else getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) not in (None, f.default)
        }
        return f"Options({shown})"
