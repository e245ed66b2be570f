"""A local stand-in for vitalera, vidaplus and VitalDB: real HTTP, synthetic data.

One Flask app serves the three providers' protocols, as their own public documents describe
them, under ``/vitalera``, ``/vidaplus`` and ``/vitaldb`` of one loopback origin:

- ``/vitalera``: the authentication page (seeds 000/001) and the FHIR-resource pages of
  docs-v2.vitalera.io (monitoreds, observations, plans), as Django REST framework pages.
- ``/vidaplus``: the FastAPI app lRauane/SGHSS-VidaPlus, from its code and published docs
  (seed 002): /auth/token/, /auth/token/refresh_token and its eight resources.
- ``/vitaldb``: snuhvitallab/vitaldb-docs and the official client vitaldb/vitalutils:
  vitaldb.net's OAuth2 API (seed 003) and Web API (/api/...), and api.vitaldb.net's open
  dataset (/cases, /trks, /labs, /<tid>, case .vital files) on the same prefix.

Each module's docstring says which document it follows and what it chose where the
documents are silent. The server runs in a daemon thread, so it works from a notebook cell
and stops with the kernel::

    from vital_connect import sandbox

    with sandbox.serve(port=0) as sb:
        creds = sb.credentials("vitalera")      # base_url, client_id, client_secret, ...
        sb.token_ttl = 1                        # tokens issued from now on live 1 s
        sb.fail_next(2, 503, path="/vitalera")  # the next two vitalera calls fail
        sb.rows["pacientes"] = 1000             # dataset sizes
        sb.bump_dataset()                       # VitalDB's open dataset: new ETags
        sb.requests                             # what arrived, secrets masked

Tokens are HS256 JWTs signed with a random per-server key; the demo accounts and clients
are the module constants below. No real patient data: every record is computed from its
index.
"""

from __future__ import annotations

from .._errors import ConfigurationError


class _MissingExtra(ConfigurationError, ImportError):
    """The sandbox's extra is not installed: a ConfigurationError that names it, and an
    ImportError too, so the usual ``except ImportError`` around optional imports still works."""


# The check runs before the imports below (they need Flask), hence E402 for this file.
# ruff: noqa: E402
try:  # the [sandbox] extra: say how to get it, not a bare "No module named 'werkzeug'"
    import flask  # noqa: F401
    import jwt  # noqa: F401
    import werkzeug  # noqa: F401
except ModuleNotFoundError as exc:
    raise _MissingExtra(
        f"The sandbox needs Flask and PyJWT, which are not installed (no module named "
        f'{exc.name!r}). Install them with: pip install "vital-connect[sandbox]"'
    ) from None

from ._accounts import (
    SECRETS,
    VIDAPLUS_PASSWORD,
    VIDAPLUS_USERNAME,
    VITALDB_CLIENT_ID,
    VITALDB_CLIENT_SECRET,
    VITALDB_EMAIL,
    VITALDB_PASSWORD,
    VITALDB_REDIRECT_URI,
    VITALDB_USERNAME,
    VITALERA_APPLICATION_ID,
    VITALERA_CLIENT_ID,
    VITALERA_CLIENT_SECRET,
    VITALERA_PASSWORD,
    VITALERA_USER_ID,
    VITALERA_USERNAME,
)
from ._cli import run
from ._record import RecordedRequest
from ._server import Sandbox, serve
from ._state import DEFAULT_ROWS, PROVIDERS

__all__ = [
    "DEFAULT_ROWS",
    "PROVIDERS",
    "SECRETS",
    "VIDAPLUS_PASSWORD",
    "VIDAPLUS_USERNAME",
    "VITALDB_CLIENT_ID",
    "VITALDB_CLIENT_SECRET",
    "VITALDB_EMAIL",
    "VITALDB_PASSWORD",
    "VITALDB_REDIRECT_URI",
    "VITALDB_USERNAME",
    "VITALERA_APPLICATION_ID",
    "VITALERA_CLIENT_ID",
    "VITALERA_CLIENT_SECRET",
    "VITALERA_PASSWORD",
    "VITALERA_USERNAME",
    "VITALERA_USER_ID",
    "RecordedRequest",
    "Sandbox",
    "run",
    "serve",
]
