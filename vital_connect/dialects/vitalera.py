"""vitalera: everything it does differently from RFC 6749, in one place.

Sources: its authentication page (seeds 000 EN / 001 NL) and the FHIR-resource pages of
docs-v2.vitalera.io (``/api/monitoreds/``, ``/api/observations/``, ``/api/plans/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .rfc6749 import Dialect

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import requests
    from requests_oauthlib import OAuth2Session

    from .._credentials import Credentials
    from .._grants import TokenEndpoint
    from .._token import Token

# value_type values whose value is a number (the docs name int and float)
NUMERIC_TYPES = frozenset({"int", "integer", "float", "double", "decimal", "number", "quantity"})


class Vitalera(Dialect):
    name = "vitalera"

    def fix_token_session(self, oauth: OAuth2Session, grant: str) -> None:
        # The token endpoint takes a JSON body only (seed 000: "-H Content-Type:
        # application/json -d '{...}'"); oauthlib builds a form body, so re-encode it.
        def to_json(
            url: str, headers: dict[str, str], request_kwargs: dict[str, Any]
        ) -> tuple[str, dict[str, str], dict[str, Any]]:
            data = request_kwargs.pop("data", None) or {}
            request_kwargs["json"] = dict(data)
            headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
            return url, headers, request_kwargs

        oauth.register_compliance_hook("access_token_request", to_json)

    def refresh(self, endpoint: TokenEndpoint, stale: Token, creds: Credentials) -> Token | None:
        # Seed 000: POST /api/auth/tokens/refresh/ with "Authorization: Bearer <token>" (an
        # expired one is fine) and the JSON body {"refresh_token"}. requests-oauthlib can
        # only send a form body, so this is a token POST of our own.
        if not stale.refresh_token:
            return None
        return endpoint.post_token(
            endpoint.provider.refresh_path or endpoint.provider.token_path,
            json={"refresh_token": stale.refresh_token},
            headers={"Authorization": f"Bearer {stale.access_token}"},
            keep_refresh_token=stale.refresh_token,
        )

    def error_details(
        self, body: Any, response: requests.Response
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        # Seeds 000/001: every error is {"errors": [{"errorType", "message"}]}.
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            kind = errors[0].get("errorType") or errors[0].get("code")
            text = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
            return (str(kind) if kind is not None else None), text or (response.reason or ""), []
        return super().error_details(body, response)

    def tidy(self, df: pd.DataFrame, path: str) -> pd.DataFrame:
        # Observations carry value as a string and say its type in value_type (docs'
        # observation resource): numbers where the type is numeric.
        if "value" not in df.columns or "value_type" not in df.columns:
            return df
        import pandas as pd

        kinds = df["value_type"].astype("string").str.lower()
        numeric = kinds.isin(NUMERIC_TYPES)
        if not numeric.any():
            return df
        numbers = pd.to_numeric(df["value"].where(numeric), errors="coerce")
        if numeric[df["value_type"].notna()].all():
            df["value"] = numbers
        else:  # mixed types: numbers where the type says so, the text elsewhere
            df["value"] = df["value"].astype(object).where(~numeric, numbers.astype(object))
        return df

    def rotation_answer(self, body: Any) -> dict[str, str]:
        # Seed 000's answer: {"id", "name", "organization", "client_id", "client_secret", ...}
        try:
            new = {"client_id": body["client_id"], "client_secret": body["client_secret"]}
        except (KeyError, TypeError):
            raise ValueError("no client_id/client_secret") from None
        if not all(isinstance(v, str) and v for v in new.values()):
            raise ValueError("client_id/client_secret are not strings")
        return new


VITALERA = Vitalera()
