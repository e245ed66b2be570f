"""Each provider's error body, used by the views, the HTTP error handler and ``fail_next``."""

from __future__ import annotations

import json
from http import HTTPStatus

from werkzeug.wrappers import Response


def json_response(
    body: object, status: int = 200, headers: dict | None = None, *, compact: bool = False
) -> Response:
    # compact: as Starlette writes JSON (UTF-8 as is, no spaces); else json.dumps' default.
    text = (
        json.dumps(body, ensure_ascii=False, separators=(",", ":")) if compact else json.dumps(body)
    )
    return Response(text.encode(), status=status, headers=headers, mimetype="application/json")


def vitalera_error(
    status: int, error_type: str, message: str, headers: dict | None = None
) -> Response:
    # Seeds 000/001 show one error body: {"errors":[{"errorType","message"}]}; all use it.
    return vitalera_errors(status, [(error_type, message)], headers)


def vitalera_errors(
    status: int, errors: list[tuple[str, str]], headers: dict | None = None
) -> Response:
    body = {"errors": [{"errorType": kind, "message": message} for kind, message in errors]}
    return json_response(body, status, headers)


def vidaplus_error(status: int, detail: object, headers: dict | None = None) -> Response:
    # FastAPI's HTTPException body: {"detail": ...}, written as Starlette writes JSON.
    return json_response({"detail": detail}, status, headers, compact=True)


def vitaldb_error(
    status: int, error: str, description: str, headers: dict | None = None
) -> Response:
    # Seed 003 gives no error bodies: RFC 6749 section 5.2's {"error","error_description"}.
    return json_response({"error": error, "error_description": description}, status, headers)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


_VITALERA_TYPES = {
    400: "validation_error",
    401: "invalid_token",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    415: "unsupported_media_type",
    429: "throttled",
    503: "service_unavailable",
}
# RFC 6749 has no per-status codes; these are the nearest of its (and RFC 6750's) names.
_VITALDB_ERRORS = {
    400: "invalid_request",
    401: "invalid_token",
    403: "access_denied",
    404: "not_found",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}


def status_error(provider: str, status: int, headers: dict | None = None) -> Response:
    """A generic error for ``status`` in ``provider``'s shape (unknown routes, faults)."""
    phrase = reason_phrase(status)
    if provider == "vitalera":
        kind = _VITALERA_TYPES.get(status, "server_error" if status >= 500 else "error")
        return vitalera_error(status, kind, phrase, headers)
    if provider == "vitaldb":
        kind = _VITALDB_ERRORS.get(status, "server_error" if status >= 500 else "invalid_request")
        return vitaldb_error(status, kind, phrase, headers)
    return vidaplus_error(status, phrase, headers)  # vidaplus, and paths outside any provider


class Refused(Exception):
    """Raised by a view's helper to answer at once with ``response`` (an error reply)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response
