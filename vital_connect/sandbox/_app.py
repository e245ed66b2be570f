"""The Flask app: one blueprint per provider, each under its own prefix of one origin."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from . import _vidaplus, _vitaldb, _vitaldb_dataset, _vitalera
from ._errors import Refused, status_error
from ._state import PROVIDERS, State


def provider_of(path: str) -> str:
    """``"vitalera"`` for ``/vitalera/...``, and so on; ``""`` outside any provider."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in PROVIDERS else ""


def create_app(state: State) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented key order
    app.register_blueprint(_vitalera.blueprint(state), url_prefix="/vitalera")
    app.register_blueprint(_vidaplus.blueprint(state), url_prefix="/vidaplus")
    app.register_blueprint(_vitaldb.blueprint(state), url_prefix="/vitaldb")
    # In production the open dataset is api.vitaldb.net; here it shares the /vitaldb prefix.
    app.register_blueprint(_vitaldb_dataset.blueprint(state), url_prefix="/vitaldb")

    @app.errorhandler(Refused)
    def refused(exc: Refused):
        return exc.response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Unknown routes, wrong methods, server errors: in the provider's own error shape.
        if exc.code is None or exc.code < 400:  # e.g. the trailing-slash redirect
            return exc
        methods = getattr(exc, "valid_methods", None)  # a 405 says what is allowed
        headers = {"Allow": ", ".join(methods)} if methods else None
        return status_error(provider_of(request.path), exc.code, headers)

    @app.get("/")
    def index():
        # Not a provider: a map of the three base URLs, handy to see that the sandbox is up.
        root = request.host_url.rstrip("/")
        return {"sandbox": "vital-connect", "providers": {p: f"{root}/{p}" for p in PROVIDERS}}

    return app
