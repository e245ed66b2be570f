"""Static-file answers for the open dataset: ETag, Last-Modified and ``304 Not Modified``.

The VitalDB documents say nothing of caching. A static-file server (nginx, say) stamps each
file with ``Last-Modified`` (its mtime) and an ``ETag`` of ``"<mtime hex>-<size hex>"``, and
answers ``If-None-Match`` / ``If-Modified-Since`` with 304 (RFC 9110 section 13): that is
what the sandbox does. A file's mtime starts at the dataset's publication and moves on each
time its content changes (``Sandbox.bump_dataset()``, or new ``rows``).
"""

from __future__ import annotations

from flask import Response, request
from werkzeug.http import http_date, parse_date

# The VitalDB dataset paper's publication (Sci Data, 2022-06-08): the files' first mtime.
DATASET_MTIME = 1654646400
REWRITE_STEP = 3600  # each rewrite of a file moves its mtime on by an hour: no wall clock


class StaticResponse(Response):
    """Keeps ``Last-Modified`` on a 304, as nginx does (werkzeug would drop it). A Flask
    Response, so that Flask does not recast it and lose this."""

    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        if self.status_code == 304 and "Last-Modified" in self.headers:
            headers["Last-Modified"] = self.headers["Last-Modified"]
        return headers


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag  # weak comparison, RFC 9110 8.8.3.2


def not_modified(etag: str, mtime: int) -> bool:
    # If-None-Match wins; If-Modified-Since counts only without it (RFC 9110 13.2.2).
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        tags = [t for t in (part.strip() for part in inm.split(",")) if t]
        return "*" in tags or any(_opaque(t) == _opaque(etag) for t in tags)
    ims = parse_date(request.headers.get("If-Modified-Since"))
    return ims is not None and mtime <= ims.timestamp()


def static_file(
    body: bytes, etag: str, mtime: int, content_type: str, *, encoding: str | None = None
) -> Response:
    headers = {"ETag": etag, "Last-Modified": http_date(mtime)}
    if encoding:
        headers["Content-Encoding"] = encoding
    if not_modified(etag, mtime):
        return StaticResponse(status=304, headers=headers)
    return StaticResponse(body, status=200, headers=headers, content_type=content_type)
