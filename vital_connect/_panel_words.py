"""The login panel's messages for what went wrong: plain words, the person's language,
never a traceback and never a secret."""

from __future__ import annotations

from collections.abc import Mapping

from ._errors import (
    APIError,
    AuthenticationError,
    InsecureTransportError,
    MissingCredentialsError,
    StateMismatchError,
    ValidationError,
    VitalConnectError,
)
from ._i18n import text
from ._redact import redact

FIELD_ORDER = ("client_id", "client_secret", "username", "password", "redirect_uri")
FIELD_KEYS = frozenset(f"field_{n}" for n in FIELD_ORDER)


def field_label(lang: str, name: str | None, server_names: Mapping[str, str] | None = None) -> str:
    """A field's label; ``server_names`` maps the provider's own field names (as its 422s
    name them, from its dialect) to ours."""
    name = (server_names or {}).get(name or "", name or "")
    return text(lang, f"field_{name}") if f"field_{name}" in FIELD_KEYS else name


def explain(
    exc: BaseException,
    *,
    lang: str,
    provider: str,
    url: str,
    grant: str | None,
    env_prefix: str,
    server_names: Mapping[str, str] | None = None,
) -> str:
    """A message for the status line: what happened, in plain words, no secret."""

    def t(key: str, **values: object) -> str:
        return text(lang, key, **values)

    if isinstance(exc, ValidationError):
        fields = [
            field_label(lang, e.get("field"), server_names)
            + (f" ({e['message']})" if e.get("message") else "")
            for e in exc.errors
            if e.get("field")
        ]
        if fields:
            return t("err_fields", provider=provider, fields="; ".join(fields))
        return t("err_fields_unknown", provider=provider)
    if isinstance(exc, StateMismatchError):
        return t("err_state")
    if isinstance(exc, AuthenticationError):
        key = {"password": "err_wrong_password", "client_credentials": "err_wrong_client"}
        return t(key.get(grant or "", "err_refused"), provider=provider)
    if isinstance(exc, MissingCredentialsError):
        names = [v.removeprefix(env_prefix).lower() for v in exc.variables]
        labels = t("and").join(field_label(lang, n) for n in names) or "?"
        return t("err_missing", fields=labels)
    if isinstance(exc, InsecureTransportError):
        return t("err_insecure", url=url)
    if isinstance(exc, APIError):
        if exc.error_type == "connection_error":
            return t("err_down", provider=provider, url=url)
        if exc.error_type == "timeout":
            return t("err_timeout", provider=provider)
        if exc.status_code:
            return t("err_server", provider=provider, status=exc.status_code)
        return t("err_other", detail=redact(exc.message))
    if isinstance(exc, VitalConnectError):
        return t("err_other", detail=redact(str(exc)))
    return t("err_unexpected", kind=type(exc).__name__)
