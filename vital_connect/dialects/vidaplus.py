"""vidaplus: what its FastAPI application (``lRauane/SGHSS-VidaPlus``) does differently.

Sources: seed 002 and the app's published docs: ``OAuth2PasswordRequestForm`` at
``/auth/token/``, ``POST /auth/token/refresh_token`` with a still-valid Bearer token,
lists as ``{"<resource>": [...]}`` paged by ``offset``/``limit`` (default 100) with no
count, FastAPI's ``{"detail": ...}`` errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._paging import OffsetPaging
from .rfc6749 import Dialect

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from .._credentials import Credentials
    from .._grants import TokenEndpoint
    from .._token import Token

# The refresh call must reach the server while the token still verifies (it checks exp).
ARRIVAL_MARGIN = 0.5  # seconds


class Vidaplus(Dialect):
    name = "vidaplus"
    # /prontuario/ answers a page past its last row with 404 "Nenhum prontuário encontrado."
    # (api/endpoints/prontuario.py raises it for an empty result): the end of the list there
    paging = OffsetPaging(limit=100, end_statuses=(404,))

    def refresh(self, endpoint: TokenEndpoint, stale: Token, creds: Credentials) -> Token | None:
        # No refresh token is issued: the still-valid access token authenticates the
        # refresh endpoint (Bearer, no body). An expired one cannot: run the grant again.
        path = endpoint.provider.refresh_path
        if not path or stale.is_expired(leeway=ARRIVAL_MARGIN):
            return None
        return endpoint.post_token(path, headers={"Authorization": stale.authorization()})

    def error_details(
        self, body: Any, response: requests.Response
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, list):  # FastAPI / pydantic v2 validation errors
            fields = []
            for item in detail:
                if not isinstance(item, dict):
                    continue
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query")]
                fields.append(
                    {
                        "field": ".".join(loc) or None,
                        "message": str(item.get("msg", "")),
                        "type": item.get("type"),
                    }
                )
            text = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
            return "validation_error", text or (response.reason or ""), fields
        return super().error_details(body, response)


VIDAPLUS = Vidaplus()
