"""Django REST framework's PageNumberPagination, as vitalera's list endpoints answer.

``{count, next, previous, results}`` with absolute next/previous links; ``?page=N`` (or
``last``) and ``?page_size=M`` capped at 1000; a bad page is 404 "Invalid page.".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

MAX_PAGE_SIZE = 1000


class InvalidPage(ValueError):
    pass


@dataclass(frozen=True)
class Page:
    start: int
    stop: int
    next: str | None
    previous: str | None


def paginate(url: str, args, count: int, default_size: int) -> Page:
    """The slice of ``count`` rows that ``args`` (the query) asks for, with its links."""
    size = _page_size(args.get("page_size"), default_size)
    pages = max(1, math.ceil(count / size))  # Django's allow_empty_first_page
    raw = args.get("page", "1")
    try:
        number = pages if raw == "last" else int(raw)
    except ValueError:
        raise InvalidPage(raw) from None
    if not 1 <= number <= pages:
        raise InvalidPage(raw)
    next_url = _with_page(url, number + 1) if number < pages else None
    # DRF drops the page parameter from the link back to page 1.
    previous = None if number == 1 else _with_page(url, number - 1 if number > 2 else None)
    start = (number - 1) * size
    return Page(start, min(start + size, count), next_url, previous)


def _page_size(raw: str | None, default: int) -> int:
    # DRF's _positive_int(strict=True, cutoff=max_page_size): an unusable value means default.
    # The server's own default is not capped, as in DRF.
    try:
        size = int(raw) if raw is not None else 0
    except ValueError:
        size = 0
    return min(size, MAX_PAGE_SIZE) if size > 0 else max(1, int(default))


def _with_page(url: str, number: int | None) -> str:
    # DRF's replace_query_param / remove_query_param: re-encode the query sorted by key.
    scheme, netloc, path, query, _fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop("page", None)
    if number is not None:
        params["page"] = [str(number)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), ""))
