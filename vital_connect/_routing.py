"""Where a path goes: the provider's hosts, its declared origins, and nowhere else.

A path is relative to the provider: its dialect says whether it belongs to the login host
(``base_url``) or the data host (``api_url``; VitalDB's open dataset lives on its own
host). An absolute URL is accepted only on an origin the provider declares. A redirect is
followed only by GET, only to such an origin, and each hop is checked again.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from ._errors import ConfigurationError, InsecureTransportError
from ._transport import check_destination, check_transport, is_absolute, origin, parse

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from ._providers import Provider

MAX_REDIRECTS = 5
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


class Router:
    def __init__(self, provider: Provider, base_url: str | None = None) -> None:
        self.provider = provider
        self.dialect = provider.dialect
        given = (base_url or provider.base_url).rstrip("/")
        try:
            parse(given)
        except ConfigurationError as exc:
            raise ConfigurationError(f"base_url: {exc.message}") from None
        check_transport(given)
        self.base_url = given
        custom = given != provider.base_url.rstrip("/")
        # another deployment (staging, the sandbox) serves every path from its one base URL
        self.api_url = given if custom else (provider.api_url or given).rstrip("/")
        check_transport(self.api_url)
        declared = () if custom else provider.origins
        self.origins = frozenset(
            {origin(self.base_url), origin(self.api_url), *(origin(o) for o in declared)}
        )

    def url(self, path: str) -> str:
        """The absolute URL for ``path`` (relative to the provider), checked."""
        path = str(path)
        if is_absolute(path):
            check_destination(path, self.origins, f"the {self.provider.name} token")
            return path
        if not path.startswith("/"):
            path = "/" + path
        bare = path.split("?", 1)[0].split("#", 1)[0]
        if _DOT_SEGMENT.search(unquote(bare)):
            raise InsecureTransportError(
                f"The path {path[:120]!r} climbs out of the provider's base URL ('.' or '..' "
                "segments). Give the path as the provider documents it."
            )
        base = self.base_url if self.dialect.auth_host_path(self.provider, bare) else self.api_url
        url = base + path
        try:
            leaves = origin(url) != origin(base)
        except ConfigurationError:
            leaves = True
        if leaves:  # e.g. a path with '@' or '\\' tricks
            raise InsecureTransportError(f"The path {path[:120]!r} leaves {origin(base)}.")
        return url

    def path_of(self, url: str) -> str:
        """The provider-relative path of an absolute URL (no query)."""
        for base in sorted({self.base_url, self.api_url}, key=len, reverse=True):
            if url.startswith(base + "/") or url == base:
                rest = url[len(base) :] or "/"
                return rest.split("?", 1)[0].split("#", 1)[0]
        return urlsplit(url).path or "/"

    def placement(self, url: str) -> str | None:
        """Where the token goes for ``url``: ``"header"``, ``"query"`` or None."""
        return self.dialect.placement(self.provider, self.path_of(url))

    def redirect_target(self, response: requests.Response, method: str, hops: int) -> str:
        """The next hop of a redirect, if it may be followed at all; else raise."""
        if method.upper() not in ("GET", "HEAD"):
            raise InsecureTransportError(
                f"{self.provider.name} answered a {method} with a redirect (HTTP "
                f"{response.status_code}); it was not followed, so nothing was sent again."
            )
        if hops >= MAX_REDIRECTS:
            raise InsecureTransportError(
                f"{self.provider.name} redirected more than {MAX_REDIRECTS} times; stopped."
            )
        # no local keeps the raw Location: a server may have echoed a token into it
        target = strip_token(urljoin(response.url, response.headers.get("Location", "")))
        check_destination(target, self.origins, "the request (a redirect)")
        return target


def strip_token(url: str) -> str:
    """``url`` without an ``access_token`` parameter: a hop gets the token only as its own
    path's placement says (VitalDB's dataset host none), never one a server echoed back."""
    parts = urlsplit(url)
    if "access_token" not in parts.query:
        return url
    kept = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"
    ]
    return urlunsplit(parts._replace(query=urlencode(kept)))
