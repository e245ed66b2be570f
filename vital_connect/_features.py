"""What a session can ask of its provider beyond data: is the token valid, who is
logged in, new client credentials (vitalera's rotation)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import APIError, MissingCredentialsError, NotSupportedError
from ._http import loads
from ._redact import register_secret
from ._token import jwt_claims

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session


class SecretDict(dict[str, Any]):
    """A dict whose repr masks secret values (rotated credentials shown in a notebook)."""

    def __repr__(self) -> str:
        return repr({k: ("***" if "secret" in k else v) for k, v in self.items()})


def validate(s: Session) -> bool:
    """Ask the provider's validate endpoint about the current token (never renews)."""
    token = s.token
    if token is None or s.auth is None:
        return False
    if not s.provider.validate_path:
        return not token.is_expired(leeway=0)
    response = s.request("GET", s.provider.validate_path, auth=s.auth.fixed(token))
    if response.status_code in (401, 403):
        return False
    if response.status_code >= 400:
        raise s.dialect.error(response, s.provider.name)
    return True


def userinfo(s: Session) -> dict[str, Any]:
    """The provider's userinfo answer, else what the token says about its holder."""
    if s.provider.userinfo_path:
        data = s.get_json(s.provider.userinfo_path)
        if not isinstance(data, dict):
            raise APIError(f"{s.provider.name}'s userinfo answer is not an object.")
        return data
    token = s._auth().valid_token()
    claims = jwt_claims(token.id_token) or jwt_claims(token.access_token)
    info = {k: v for k, v in claims.items() if k not in {"jti", "typ"}}
    info["sub"] = token.sub or claims.get("sub")
    return info


def rotate_credentials(
    s: Session, application_id: str | None, env_file: str | os.PathLike[str] | None
) -> dict[str, Any]:
    """Rotate, switch the session to the new credentials, write them to ``env_file``."""
    if not s.provider.rotate_path:
        raise NotSupportedError(f"{s.provider.name} has no credential rotation.")
    auth = s._auth()
    app_id = application_id or auth.credentials.resolve().get("application_id")
    if not app_id:
        var = s.provider.env_prefix + "APPLICATION_ID"
        raise MissingCredentialsError(
            f"Rotation needs the application id: pass rotate_credentials(application_id=...)"
            f" or set {var}.",
            variables=[var],
        )
    # POST is never retried: a second call would rotate again and lose the first answer.
    response = s.request("POST", s.provider.rotate_path, json={"application_id": app_id})
    if response.status_code >= 400:
        raise s.dialect.error(response, s.provider.name)
    try:
        body = loads(response.content)
        new = s.dialect.rotation_answer(body)
    except (ValueError, RecursionError, TypeError):
        body = new = None  # the error below is raised outside: no chain holds the answer
    if new is None:
        raise APIError(
            f"{s.provider.name} answered the rotation with HTTP {response.status_code} "
            "but no readable client_id/client_secret. The old credentials may already be "
            "invalid: ask the provider's support for the new ones.",
            status_code=response.status_code,
            error_type="invalid_rotation_response",
        )
    register_secret(new["client_secret"])
    auth.rotated(new)
    result = SecretDict(body)
    if env_file is not None:
        from ._envfile import save_rotated

        save_rotated(s.provider.env_prefix, Path(env_file), new, result)
    return result
