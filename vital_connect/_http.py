"""HTTP plumbing shared by sessions: retries for idempotent calls, and error mapping."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as _U3Timeout
from urllib3.util.retry import Retry

from ._errors import APIError, AuthenticationError, ValidationError, VitalConnectError
from ._redact import redact

RETRY_STATUSES = (429, 502, 503, 504)
RETRY_AFTER_CAP = 30.0  # seconds: a longer Retry-After is shortened to this, not obeyed
BACKOFF_FACTOR = 0.25  # seconds: 0.25, 0.5, 1 … between retries, plus jitter


class _CappedRetry(Retry):
    """urllib3's Retry, with the server's Retry-After capped so a notebook never hangs."""

    def get_retry_after(self, response):  # type: ignore[override]
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def retrying_adapter(pool_size: int = 10) -> HTTPAdapter:
    """GET/HEAD/OPTIONS retried on 429/502/503/504 and connection errors, with exponential
    backoff and jitter, honouring Retry-After. POSTs (token, refresh, rotation) are never
    retried after they may have reached the server: a lost answer must not burn a refresh
    token or rotate credentials twice."""
    retry = _CappedRetry(
        total=4,
        connect=3,
        read=2,
        status=3,
        other=0,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=8.0,
        backoff_jitter=0.25,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    return HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)


def decode_json(response: requests.Response) -> Any:
    """The JSON body, or an APIError that says what came instead."""
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise APIError(
            f"{redact(response.url)} answered HTTP {response.status_code} with {kind} that is "
            f"not valid JSON{_title(response)}. The server may be down or behind a proxy "
            "error page; try again later, or check base_url.",
            status_code=response.status_code,
            error_type="invalid_json",
            url=redact(response.url),
        ) from None


def _title(response: requests.Response) -> str:
    match = re.search(r"<title>(.*?)</title>", response.text[:2000], re.I | re.S)
    return f" ({match.group(1).strip()[:80]!r})" if match else ""


def error_details(response: requests.Response) -> tuple[str | None, str, list[dict[str, Any]]]:
    """(error_type, message, field errors) from any of the shapes our providers use."""
    try:
        body = response.json()
    except ValueError:
        body = None
    reason = response.reason or "error"
    if isinstance(body, dict):
        errs = body.get("errors")
        if isinstance(errs, list) and errs and isinstance(errs[0], dict):  # vitalera
            first = errs[0]
            messages = "; ".join(str(e.get("message", "")) for e in errs if isinstance(e, dict))
            return first.get("errorType") or first.get("code"), messages or reason, []
        detail = body.get("detail")
        if isinstance(detail, list):  # FastAPI / pydantic validation errors
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
            text = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or reason
            return "validation_error", text, fields
        if isinstance(detail, str):  # FastAPI HTTPException
            return None, detail, []
        if isinstance(body.get("error"), str):  # RFC 6749
            return body["error"], str(body.get("error_description") or body["error"]), []
        if isinstance(body.get("error"), dict):
            inner = body["error"]
            return inner.get("type") or inner.get("code"), str(inner.get("message", reason)), []
        if isinstance(body.get("message"), str):
            return body.get("code") or body.get("type"), body["message"], []
    return None, f"{response.status_code} {reason}{_title(response)}", []


_LOGIN_REFUSALS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_credentials"}


def error_from(
    response: requests.Response, provider: str, *, login: bool = False, hint: str = ""
) -> VitalConnectError:
    """Map an error answer to our error classes, with a message that says what to do."""
    status = response.status_code
    error_type, message, fields = error_details(response)
    url = redact(response.url)
    message = redact(message).rstrip(". ")
    where = f"{provider} ({url})"
    if status == 422:
        return ValidationError(
            f"{where} rejected the request's fields: {message}. Fix the fields named and "
            "try again.",
            errors=fields,
            status_code=status,
            error_type=error_type,
            url=url,
        )
    if login and (status in (401, 403) or (status == 400 and error_type in _LOGIN_REFUSALS)):
        return AuthenticationError(
            f"{provider} refused the login: {message}. {hint or 'Check the credentials.'}",
            status_code=status,
            error_type=error_type,
            url=url,
        )
    advice = {
        400: "The request was malformed; check the path and parameters.",
        401: "The token was refused; log in again with s.login().",
        403: "This account is not allowed to do this; ask the provider for access.",
        404: "Check the path: it is relative to base_url.",
        405: "This endpoint does not take that method.",
        415: "The endpoint wants another body encoding.",
        429: "Too many requests: wait a minute and try again.",
    }.get(status, "The provider has a problem; try again later." if status >= 500 else "")
    return APIError(
        f"{where} answered HTTP {status}: {message}. {advice}".strip(),
        status_code=status,
        error_type=error_type,
        url=url,
    )


def network_error(exc: requests.RequestException, provider: str, url: str) -> APIError:
    """A connection failure or timeout, as an APIError that does not leak the URL's secrets."""
    # after urllib3's retries, a read timeout arrives wrapped in a ConnectionError
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    timed_out = isinstance(reason, TimeoutError | _U3Timeout) and not isinstance(
        reason, NewConnectionError  # urllib3 files "connection refused" under timeouts
    )
    if isinstance(exc, requests.Timeout) or timed_out:
        kind, what = "timeout", "did not answer in time"
        advice = "Try again, or pass a longer timeout= to connect()."
    elif isinstance(exc, requests.exceptions.SSLError):
        kind, what = "ssl_error", "failed the TLS certificate check"
        advice = "Check base_url, or set REQUESTS_CA_BUNDLE to your organisation's CA bundle."
    else:
        kind, what = "connection_error", "could not be reached"
        advice = "Check your network and base_url; the server may be down."
    return APIError(
        f"{provider} at {redact(url)} {what} ({type(exc).__name__}). {advice}",
        error_type=kind,
        url=redact(url),
    )
