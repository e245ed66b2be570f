"""Paging styles, and the one loop that pulls every page of a list into one frame.

A provider's dialect names its style: links (Django REST framework's ``count``/``next``/
``results``, or any ``next`` link; the default) or offsets (``offset``/``limit`` with no
count, where the short page is the last: vidaplus). Every style obeys one rule: a pull
returns every row or raises; it never stops early in silence.

Pages whose addresses are known in advance (a count plus page numbers, or offsets) are
fetched by a few threads, at most ``2 × workers`` pages in flight, and consumed in order;
the number of workers follows the latency the first page showed (one when the network
is fast, so the threads never cost more than they save).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from ._errors import APIError

# Keys under which paginated APIs put a page's rows (DRF: results).
PAGE_KEYS = ("results", "data", "items", "records")
MAX_WORKERS = 8
DEFAULT_MAX_PAGES = 50_000


class Request(NamedTuple):
    url: str
    params: dict[str, Any] | None


Fetch = Callable[[Request], tuple[Any, str]]  # -> (payload, final URL)


def page_rows(payload: Any) -> list[Any] | None:
    """The rows of a JSON answer: the list itself, the list under a known key, or an
    object's one list of objects (vidaplus answers ``{"pacientes": [...]}``)."""
    if isinstance(payload, list):
        return payload
    if not isinstance(payload, dict):
        return None
    for key in PAGE_KEYS:
        rows = payload.get(key)
        if isinstance(rows, list):
            return rows
    if len(payload) == 1:  # {"<resource>": [...]}: nothing else beside the rows
        (only,) = payload.values()
        if isinstance(only, list) and all(isinstance(r, dict) for r in only):
            return only
    return None


class Plan(Protocol):
    """What to fetch after the first page: ``ahead()`` the requests known now, in order;
    ``after(payload, rows)`` once each page is consumed (the first one included), in
    order: a further request known only now (a ``next`` link), ``None``, or ``STOP`` (the
    list ended; pages fetched ahead of this one must then be empty). ``known_pages`` is
    the number of pages when the first one tells, for a progress bar."""

    known_pages: int | None

    def ahead(self) -> Iterator[Request]: ...
    def after(self, payload: Any, rows: int) -> Request | object | None: ...


STOP = object()


class Paging:
    """The default style: ``next`` links (DRF, JSON:API ``links.next``), with the rest
    of the pages addressed directly when the first page gives a ``count``."""

    name = "links"

    def rows(self, payload: Any) -> list[Any] | None:
        return page_rows(payload)

    def first(self, path: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
        """The first page's query parameters for ``path``."""
        return params

    def plan(self, first: Any, url: str, params: dict[str, Any] | None, rows: int) -> Plan:
        return _LinkPlan(first, url, rows)

    def end_of_list(self, status: int, request: Request) -> bool:
        """Does an error ``status`` on a further page mean "no more rows"? (Never, here.)"""
        return False

    def check(self, first: Any, last: Any, total: int) -> None:
        """Raise when the rows do not add up (a DRF ``count`` other than the rows got)."""
        count = _count(last) if last is not None else _count(first)
        if count is not None and count != total:
            raise APIError(
                f"The list changed while it was being fetched: it says {count:,} rows but "
                f"{total:,} arrived. Run the same call again.",
                error_type="incomplete_pull",
            )


def next_link(payload: Any) -> str | None:
    """The next page's URL of a page object (DRF ``next``, or ``links.next``)."""
    if not isinstance(payload, dict):
        return None
    nxt = payload.get("next")
    if nxt is None and isinstance(payload.get("links"), dict):
        nxt = payload["links"].get("next")
    return nxt if isinstance(nxt, str) and nxt else None


def _count(payload: Any) -> int | None:
    count = payload.get("count") if isinstance(payload, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def page_urls(first: Any, nxt: str | None, page_len: int) -> list[str]:
    """The URLs of pages 2..N when the first page lets them be addressed directly: a total
    ``count`` plus a ``next`` link numbered by ``page`` (DRF) or ``offset`` (limit/offset).
    Empty when they cannot be known; the caller then follows ``next`` one page at a time."""
    count = _count(first)
    if not nxt or count is None or page_len <= 0:
        return []
    parts = urlsplit(nxt)
    single = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    total = -(-count // page_len)
    if total > DEFAULT_MAX_PAGES:
        return []
    if single.get("page") == "2":
        return [
            urlunsplit(parts._replace(query=urlencode({**single, "page": n})))
            for n in range(2, total + 1)
        ]
    if single.get("offset", "").isdigit() and int(single["offset"]) == page_len:
        return [
            urlunsplit(parts._replace(query=urlencode({**single, "offset": n * page_len})))
            for n in range(1, total)
        ]
    return []


class _LinkPlan:
    def __init__(self, first: Any, url: str, rows: int) -> None:
        self._addressed = page_urls(first, next_link(first), rows)
        self._seen = {url, *self._addressed}
        self._remaining = len(self._addressed)  # addressed pages not consumed yet
        self._first = True
        self.known_pages = 1 + len(self._addressed) if self._addressed else None

    def ahead(self) -> Iterator[Request]:
        for url in self._addressed:
            yield Request(url, None)

    def after(self, payload: Any, rows: int) -> Request | object | None:
        if self._first:
            self._first = False
            if self._addressed:
                return None
        elif self._remaining > 0:
            self._remaining -= 1
            if self._remaining > 0:  # the next addressed page is already on its way
                return None
        nxt = next_link(payload)
        if nxt is None or nxt in self._seen:  # a link back to a page seen: the list ended
            return STOP
        self._seen.add(nxt)  # the data grew meanwhile, or no count: one page at a time
        return Request(nxt, None)


class OffsetPaging(Paging):
    """``offset``/``limit`` query parameters, no count, no next link: the short page is
    the last (vidaplus, per its FastAPI app: ``limit`` defaults to 100)."""

    name = "offset"

    def __init__(
        self,
        limit: int = 100,
        offset_param: str = "offset",
        limit_param: str = "limit",
        end_statuses: tuple[int, ...] = (),
    ) -> None:
        self.limit = limit
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.end_statuses = end_statuses

    def end_of_list(self, status: int, request: Request) -> bool:
        # Some list endpoints answer an empty page with an error status instead of an
        # empty list; past the first page (which proved the path right) that is the end.
        offset = (request.params or {}).get(self.offset_param, 0)
        return status in self.end_statuses and str(offset) not in ("", "0")

    def first(self, path: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
        # Ask for the page size explicitly: a deployment with another default must not
        # make a full page look like the short last one. Only for a list's path: FastAPI
        # routes a list as "/<resource>/" and one item as "/<resource>/{id}".
        if not path.split("?", 1)[0].endswith("/"):
            return params
        given = dict(params or {})
        given.setdefault(self.offset_param, 0)
        given.setdefault(self.limit_param, self.limit)
        return given

    def plan(self, first: Any, url: str, params: dict[str, Any] | None, rows: int) -> Plan:
        return _OffsetPlan(self, url, params or {}, rows)

    def check(self, first: Any, last: Any, total: int) -> None:
        return None


class _OffsetPlan:
    def __init__(self, style: OffsetPaging, url: str, params: dict[str, Any], rows: int):
        self.style = style
        base = urlsplit(url)
        self.url = urlunsplit(base._replace(query=""))
        query = {k: v[-1] for k, v in parse_qs(base.query, keep_blank_values=True).items()}
        self.params = {**query, **params}
        try:
            self.limit = int(self.params.get(style.limit_param, style.limit))
            self.start = int(self.params.get(style.offset_param, 0))
        except (TypeError, ValueError):
            self.limit, self.start = 0, 0
        self.done = rows < self.limit or self.limit <= 0
        self.known_pages: int | None = 1 if self.done else None
        self.first_row: Any = None

    def ahead(self) -> Iterator[Request]:
        n = 1
        while not self.done:
            offset = self.start + n * self.limit
            yield Request(self.url, {**self.params, self.style.offset_param: offset})
            n += 1

    def after(self, payload: Any, rows: int) -> Request | object | None:
        page = self.style.rows(payload) or []
        if self.first_row is None:
            self.first_row = page[0] if page else None
        elif page and page[0] == self.first_row:
            # every page starts with the first page's first row: the server ignores the
            # offset, and following it would repeat the same rows for ever
            raise APIError(
                f"The server answers the same rows whatever the {self.style.offset_param} "
                "parameter: it does not page this way. Use s.get_json() for one page.",
                error_type="paging_ignored",
            )
        if rows < self.limit or self.limit <= 0:
            self.done = True
            return STOP
        return None


class NoPaging(Paging):
    """One answer is the whole table (VitalDB's files)."""

    name = "none"

    def plan(self, first: Any, url: str, params: dict[str, Any] | None, rows: int) -> Plan:
        return _Nothing()

    def check(self, first: Any, last: Any, total: int) -> None:
        return None


class _Nothing:
    known_pages: int | None = 1

    def ahead(self) -> Iterator[Request]:
        return iter(())

    def after(self, payload: Any, rows: int) -> Request | object | None:
        return STOP


def auto_workers(wall: float, cpu: float, limit: int = MAX_WORKERS) -> int:
    """Threads worth running for pages like the first: one while this process's CPU is
    what a page costs; more as waiting on the network grows (wall / cpu of a page)."""
    if wall <= 0 or wall - cpu <= 0.25 * wall:
        return 1
    return max(1, min(limit, math.ceil(wall / max(cpu, 1e-4))))


def _without_rows(payload: Any) -> Any:
    """What :meth:`Paging.check` reads of a consumed page (its ``count``), without the
    rows: a page object's other keys, or an empty list for a list."""
    if isinstance(payload, dict):
        return {k: v for k, v in payload.items() if not isinstance(v, list)}
    return []


class Pull:
    """One list, every page: ``run()`` feeds each page's rows, in order, to ``add``.

    ``fetch`` runs in the page threads; ``decode``, when given, turns what it returned into
    the payload in the consuming thread, just before the page is consumed: pages waiting
    in flight are then held as their raw bodies (a tenth of their decoded size), and the
    decoding, which holds the GIL anyway, is not run ahead of need."""

    def __init__(
        self,
        fetch: Fetch,
        paging: Paging,
        add: Callable[[list[Any]], None],
        *,
        workers: int | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        on_page: Callable[[int, int | None], None] | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> None:
        self.fetch = fetch
        self.decode = decode or (lambda fetched: fetched)
        self.paging = paging
        self.add = add
        self.workers = workers
        self.max_pages = max_pages
        self.on_page = on_page or (lambda pages, total: None)
        self.pages = 0
        self.rows = 0
        self.chosen_workers = 1

    def run(
        self, first: Any, url: str, params: dict[str, Any] | None, cost: tuple[float, float]
    ) -> None:
        """Consume ``first`` (fetched from ``url``), then every further page. ``cost``: the
        wall and CPU seconds fetching and decoding the first page took, which choose the
        number of workers."""
        rows = self.paging.rows(first)
        if rows is None:
            raise APIError("The answer is not a list of rows.", error_type="unknown_page_shape")
        self._consume(rows)
        plan = self.paging.plan(first, url, params, len(rows))
        wall, cpu = cost
        self.chosen_workers = self.workers or auto_workers(wall, cpu)
        self.on_page(self.pages, plan.known_pages)
        verdict = plan.after(first, len(rows))
        del rows
        first = _without_rows(first)  # the page's rows are in the table now: let them go
        last = first
        if verdict is not STOP:
            last = self._rest(plan, verdict) or first
        self.paging.check(first, last, self.rows)

    def _consume(self, rows: list[Any]) -> None:
        self.pages += 1
        if self.pages > self.max_pages:
            raise APIError(
                f"The list goes on past {self.max_pages:,} pages ({self.rows:,} rows so far), "
                "so it was stopped rather than fill the memory. If it really is that long, "
                "raise s.max_pages.",
                error_type="too_many_pages",
            )
        self.rows += len(rows)
        self.add(rows)

    def _rest(self, plan: Plan, verdict: Request | object | None) -> Any:
        workers = self.chosen_workers
        pool = ThreadPoolExecutor(workers, "vital-connect-page") if workers > 1 else None
        pending: deque[Future[tuple[Any, str]] | Request] = deque()
        source = plan.ahead()
        # Pages in flight: twice the workers when their addresses are known (a count). When
        # fetching ahead blindly (offsets, no count), pages past the end are waste: start
        # with one ahead and double with every full page, up to the workers (TCP's slow
        # start), so a short list costs at most one request more than its pages.
        blind = plan.known_pages is None
        window = 1 if blind else 2 * workers

        def submit(req: Request) -> None:
            pending.append(pool.submit(self.fetch, req) if pool else req)

        def refill() -> None:
            while len(pending) < window:
                req = next(source, None)
                if req is None:
                    return
                submit(req)

        last = None
        try:
            if isinstance(verdict, Request):
                submit(verdict)
            refill()
            while pending:
                item = pending.popleft()
                fetched, _url = item.result() if isinstance(item, Future) else self.fetch(item)
                del item  # the future let go: only this page's payload is held, once
                payload = self.decode(fetched)
                del fetched
                rows = self.paging.rows(payload)
                if rows is None:
                    raise APIError(
                        "A page of the list is not a list of rows (its shape changed part "
                        "way). Nothing was returned, so no rows are missing silently.",
                        error_type="unknown_page_shape",
                    )
                self._consume(rows)
                self.on_page(self.pages, None)
                verdict = plan.after(payload, len(rows))
                # what check() reads of the last page (when it has nothing, `or first`
                # takes the first's)
                last = _without_rows(payload)
                del payload, rows  # freed before the next page is decoded
                if verdict is STOP:
                    self._drain(pending)
                    break
                if isinstance(verdict, Request):
                    submit(verdict)
                if blind:
                    window = min(2 * window, workers)
                refill()
        finally:
            if pool is not None:  # pages not started yet are never sent; running ones end
                pool.shutdown(wait=True, cancel_futures=True)
        return last

    def _drain(self, pending: deque[Future[tuple[Any, str]] | Request]) -> None:
        # Pages fetched ahead of the last one must be empty; rows there mean the list grew
        # under us, and stopping quietly would drop them.
        while pending:
            item = pending.popleft()
            if not isinstance(item, Future) or item.cancel():  # never sent: nothing to check
                continue
            fetched, _url = item.result()
            if self.paging.rows(self.decode(fetched)):
                raise APIError(
                    "The list changed while it was being fetched (rows appeared after its "
                    "last page). Run the same call again.",
                    error_type="incomplete_pull",
                )
