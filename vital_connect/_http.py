"""HTTP plumbing every session shares: retries, a wall-clock budget per call, bounded bodies.

- GETs are retried on 429/502/503/504 and connection errors (urllib3's ``Retry``), never a
  POST that may have reached the server (a token, refresh or rotation answer lost in
  transit must not be asked for twice).
- Each call has a budget (``Session.deadline``) besides its socket timeouts: a server
  trickling a byte a second, or answering Retry-After three times, cannot hold a cell
  much longer than that.
- Bodies are read with a size limit, decompressed ones too, so a small hostile answer
  cannot expand into the kernel's whole memory.
- requests never follows a redirect by itself here: the session follows GET redirects only
  within the provider's origins, re-checking each hop (see ``_session``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import time
import zlib
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as _U3Timeout
from urllib3.util.retry import Retry

from ._errors import APIError
from ._redact import redact

RETRY_STATUSES = (429, 502, 503, 504)
RETRY_AFTER_CAP = 30.0  # seconds: a longer Retry-After is shortened to this, not obeyed
BACKOFF_FACTOR = 0.25  # seconds: 0.25, 0.5, 1 … between retries, plus jitter
DEFAULT_DEADLINE = 300.0  # seconds one call may take in all, retries and slow bodies included
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB of (decompressed) body per answer
CHUNK = 1 << 16
USER_AGENT = "vital-connect/0.2"


class Clock:
    """Time as the HTTP layer sees it (a seam: tests replace it to count the sleeps)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


CLOCK = Clock()

# The deadline of the call running in this thread (None outside any call).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "vital_connect_deadline", default=None
)


class DeadlineExceeded(Exception):
    """The call's wall-clock budget ran out. Deliberately not an OSError: urllib3 and
    requests would take it for a broken socket and retry or rewrap it."""


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Run a call within ``seconds`` of wall-clock time (nested budgets keep the earliest)."""
    end = CLOCK.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    end = _deadline.get()
    return None if end is None else end - CLOCK.monotonic()


def check_deadline() -> None:
    left = time_left()
    if left is not None and left <= 0:
        raise DeadlineExceeded("the call's time budget ran out")


class BudgetedRetry(Retry):
    """urllib3's Retry with the server's Retry-After capped at ``RETRY_AFTER_CAP``, every
    wait taken from the call's budget (a wait that would overrun it ends the call)."""

    def sleep(self, response: Any = None) -> None:
        wait = None
        if self.respect_retry_after_header and response is not None:
            wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time()
        wait = max(0.0, min(float(wait), RETRY_AFTER_CAP))
        left = time_left()
        if left is not None and wait >= left:
            raise DeadlineExceeded("waiting to retry would overrun the call's time budget")
        if wait > 0:
            CLOCK.sleep(wait)


def retrying_adapter(pool_size: int = 10) -> HTTPAdapter:
    """GET/HEAD/OPTIONS retried on 429/502/503/504 and connection errors, with exponential
    backoff and jitter, honouring Retry-After. POSTs are never retried once they may have
    reached the server."""
    retry = BudgetedRetry(
        total=4,
        connect=3,
        read=2,
        status=3,
        other=0,
        redirect=0,
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


class HttpSession(requests.Session):
    """A requests session that never follows redirects by itself (the caller decides,
    hop by hop) and retries only what is safe to retry."""

    def __init__(self, pool_size: int = 16) -> None:
        super().__init__()
        adapter = retrying_adapter(pool_size)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.headers["User-Agent"] = USER_AGENT

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        check_deadline()
        return super().send(request, **kwargs)


# ---------------------------------------------------------------------------- bodies


def too_big(what: str, limit: int, url: str = "") -> APIError:
    return APIError(
        f"The answer{f' from {redact(url)}' if url else ''} is larger than {limit:,} bytes "
        f"{what}. If that is expected, raise the session's limit (s.max_bytes = ...).",
        error_type="too_large",
        url=redact(url) if url else None,
    )


def read_body(
    response: requests.Response, limit: int = DEFAULT_MAX_BYTES, *, decode: bool = True
) -> bytes:
    """The whole body, HTTP content coding undone, at most ``limit`` bytes (else APIError);
    stored on the response so ``.content``/``.json()`` work afterwards. With
    ``decode=False``: the bytes as sent (a gzip-coded answer still gzip), not stored."""
    if decode and getattr(response, "_content_consumed", False):  # already read
        content = response.content or b""
        if len(content) > limit:
            raise too_big("once decoded", limit, response.url)
        return content
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in iter_body(response, decode=decode):
            size += len(chunk)
            if size > limit:
                raise too_big("once decoded" if decode else "as sent", limit, response.url)
            chunks.append(chunk)
    finally:
        response.close()
    body = b"".join(chunks)
    if decode:
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]  # requests' own flag
    return body


def iter_body(
    response: requests.Response, chunk_size: int = CHUNK, *, decode: bool = True
) -> Iterator[bytes]:
    """The body in pieces as they arrive (content coding undone unless ``decode=False``),
    within the call's budget.

    ``read1`` returns whatever one read of the socket gave, so a server trickling bytes
    cannot keep one read waiting for a full chunk past the budget."""
    raw = response.raw
    while True:
        check_deadline()
        try:
            # urllib3 decodes at most chunk_size bytes per call (no decompression bomb),
            # and returns b"" only at the end of the body
            chunk = raw.read1(chunk_size, decode_content=decode)
        except (requests.RequestException, DeadlineExceeded):
            raise
        except ReadTimeoutError:
            raise requests.exceptions.ReadTimeout("the body stopped arriving") from None
        except DecodeError:
            raise requests.exceptions.ContentDecodingError("undecodable body") from None
        except (ProtocolError, OSError) as exc:  # the connection broke mid-body
            error = requests.exceptions.ChunkedEncodingError(type(exc).__name__)
            raise error from None
        if not chunk:
            return
        yield chunk


GZIP_MAGIC = b"\x1f\x8b"


def gunzip(data: bytes, limit: int, what: str = "gzip file") -> bytes:
    """Decompress a gzip file (VitalDB's ``json.gz``, a ``.csv.gz``) at most ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib container
    out: list[bytes] = []
    size = 0
    pending = data
    try:
        while pending:
            piece = inflater.decompress(pending, CHUNK)
            size += len(piece)
            if size > limit:
                raise too_big(f"once its {what} is decompressed", limit)
            out.append(piece)
            pending = inflater.unconsumed_tail
            if inflater.eof and inflater.unused_data.startswith(GZIP_MAGIC):
                pending = inflater.unused_data  # a multi-member gzip file
                inflater = zlib.decompressobj(wbits=47)
            elif inflater.eof:
                break
    except zlib.error:
        pass
    else:
        return b"".join(out)
    raise APIError(
        f"The answer is announced as a {what} but could not be decompressed. Check the "
        "path; s.request(...) shows the raw answer.",
        error_type="invalid_gzip",
    )


def loads(data: bytes | str) -> Any:
    """JSON text -> Python, with orjson when it is installed (the ``[fast]`` extra)."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - exercised where orjson is absent
        return json.loads(data)
    return orjson.loads(data)


def decode_json(response: requests.Response, data: bytes | None = None) -> Any:
    """The JSON body, or an APIError that says what came instead (also for JSON nested
    too deep to decode, which the decoders refuse rather than overflow the stack)."""
    body = response.content if data is None else data
    try:
        return loads(body)
    except (ValueError, RecursionError, TypeError):
        pass  # raised below, outside this block: the decoder's error holds the whole body
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    raise APIError(
        f"{redact(response.url)} answered HTTP {response.status_code} with {kind} that is "
        f"not valid JSON{title_of(body)}. The server may be down or behind a proxy "
        "error page; try again later, or check base_url.",
        status_code=response.status_code,
        error_type="invalid_json",
        url=redact(response.url),
    )


def title_of(body: bytes | None) -> str:
    text = (body or b"")[:2000].decode("utf-8", "replace")
    match = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    return f" ({redact(match.group(1).strip()[:80])!r})" if match else ""


# ---------------------------------------------------------------------------- failures


NETWORK_ERRORS = (requests.RequestException, DeadlineExceeded)


def network_error(exc: BaseException, provider: str, url: str) -> APIError:
    """A connection failure or timeout, as an APIError that does not leak the URL's secrets."""
    # after urllib3's retries, a read timeout arrives wrapped in a ConnectionError
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    timed_out = isinstance(reason, TimeoutError | _U3Timeout) and not isinstance(
        reason,
        NewConnectionError,  # urllib3 files "connection refused" under timeouts
    )
    if isinstance(exc, DeadlineExceeded):
        kind, what = "timeout", "did not finish within the call's time budget"
        advice = "Try again, or allow more time (s.deadline = seconds)."
    elif isinstance(exc, requests.Timeout) or timed_out:
        kind, what = "timeout", "did not answer in time"
        advice = "Try again, or pass a longer timeout= to connect()."
    elif isinstance(exc, requests.exceptions.SSLError):
        kind, what = "ssl_error", "failed the TLS certificate check"
        advice = "Check base_url, or set REQUESTS_CA_BUNDLE to your organisation's CA bundle."
    elif isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        kind, what = "connection_error", "broke off or garbled its answer"
        advice = "Try again; the server or a proxy on the way may be failing."
    else:
        kind, what = "connection_error", "could not be reached"
        advice = "Check your network and base_url; the server may be down."
    return APIError(
        f"{provider} at {redact(url)} {what} ({type(exc).__name__}). {advice}",
        error_type=kind,
        url=redact(url),
    )
