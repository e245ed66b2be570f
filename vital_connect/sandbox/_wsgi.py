"""What wraps the Flask app on the wire: the record, the latency and the fault knobs.

It sits in front of Flask (a WSGI middleware) because a dropped connection needs the raw
socket, and because every request, faulted or not, routed or not, must be recorded.
"""

from __future__ import annotations

import io
import math
import socket
import time
from urllib.parse import parse_qsl

from werkzeug.datastructures import EnvironHeaders
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Response

from ._app import provider_of
from ._errors import reason_phrase, status_error
from ._faults import Fault
from ._record import RecordedRequest, mask_body, mask_headers, mask_query
from ._state import State

# Cut off mid-object, as a proxy that gave up half way would deliver it.
MALFORMED_JSON = '{"count": 3, "next": null, "previous": null, "results": [{"id": 1, "na'
_NGINX_PAGE = (
    "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n"
    "<center><h1>{status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# nginx's own wording where it differs from the RFC's reason phrase.
_NGINX_PHRASES = {503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request log line (it would fill notebook output);
    errors are still logged."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxMiddleware:
    def __init__(self, app, state: State) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ, start_response):
        state = self.state
        headers = mask_headers(dict(EnvironHeaders(environ)))  # as sent, before buffering
        body = _buffer_body(environ)
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        provider = provider_of(path)
        content_type = environ.get("CONTENT_TYPE", "")
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        seq = state.recorder.add(
            RecordedRequest(
                method=environ.get("REQUEST_METHOD", "GET"),
                path=path,
                query=mask_query(query),
                content_type=content_type,
                headers=headers,
                body=mask_body(body, content_type),
                status=0,
                provider=provider,
            )
        )

        def recording_start_response(status, headers, exc_info=None):
            state.recorder.set_status(seq, int(status.split(None, 1)[0]))
            return start_response(status, headers, exc_info)

        fault = state.faults.take(path)
        delay = state.latency + (fault.delay if fault and fault.kind == "slow" else 0.0)
        if delay > 0:
            time.sleep(delay)
        if fault is None or fault.kind == "slow":
            return self.app(environ, recording_start_response)
        if fault.kind == "drop":
            return _drop(environ, start_response)
        return _fault_response(fault, provider)(environ, recording_start_response)


def _buffer_body(environ) -> bytes:
    # Read the body once, for the record, and hand Flask a fresh stream over the same bytes.
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream for us
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _drop(environ, start_response):
    # Close our side before any byte of an answer: the client sees the connection end with
    # no response (requests raises ConnectionError). Werkzeug's write then fails with a
    # broken pipe, which it treats as a connection the client dropped, silently.
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    start_response("500 Internal Server Error", [("Content-Length", "0")])
    return []


def _fault_response(fault: Fault, provider: str) -> Response:
    if fault.kind == "malformed":
        return Response(MALFORMED_JSON, status=200, content_type="application/json")
    if fault.kind == "html":
        phrase = _NGINX_PHRASES.get(fault.status) or reason_phrase(fault.status)
        page = _NGINX_PAGE.format(status=f"{fault.status} {phrase}")
        return Response(page, status=fault.status, content_type="text/html")
    retry_after = fault.retry_after
    if retry_after is None and fault.status in (429, 503):
        retry_after = 1
    headers = None if retry_after is None else {"Retry-After": str(math.ceil(retry_after))}
    return status_error(provider, fault.status, headers)
