"""Paging behaviour the mutation run found untested (``python -m tools.mutation``): the
edges of the page arithmetic, the error types, the addresses and parameters of further
pages, and how many pages are fetched, and by how many threads, at a time.

Pages come from fetch functions that count what they are asked (the pull's one seam to
the network). Nothing is timed: a page held back waits for an event that a wrong window
or pool would cause, at most a few tenths of a second, and the assertions need no more
of the clock than a page thread starting within that time."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import vital_connect as vc
from vital_connect._paging import (
    DEFAULT_MAX_PAGES,
    OffsetPaging,
    Paging,
    Pull,
    Request,
    auto_workers,
    page_urls,
)

BASE = "https://api.test/items/"
FAST = (0.05, 0.001)  # a page's wall and CPU seconds: network-bound, many workers


def run_pull(
    fetch: Any,
    paging: Paging | None = None,
    first: Request | None = None,
    cost: tuple[float, float] = FAST,
    add: Any = None,
    **kw: Any,
) -> tuple[list[Any], Pull, list[tuple[int, int | None]]]:
    """Fetch the first page as the session does, then pull the rest."""
    rows: list[Any] = []
    progress: list[tuple[int, int | None]] = []
    paging = paging or Paging()
    pull = Pull(fetch, paging, add or rows.extend, on_page=lambda *a: progress.append(a), **kw)
    req = first or Request(BASE, None)
    payload, url = fetch(req)
    pull.run(payload, url, req.params, cost)
    return rows, pull, progress


# ------------------------------------------------------------------ page arithmetic


def test_a_count_is_an_integer_not_a_string_or_a_bool():
    Paging().check({"count": "5"}, None, 3)  # not a count: nothing to compare
    Paging().check({"count": True}, None, 3)
    with pytest.raises(vc.APIError) as info:
        Paging().check({"count": 5}, None, 4)
    assert info.value.error_type == "incomplete_pull"


def test_check_reads_the_last_page_when_there_is_one():
    Paging().check({"count": 30}, {"count": 31}, 31)  # the list grew: the last page says so
    with pytest.raises(vc.APIError, match="says 31 rows but 30 arrived"):
        Paging().check({"count": 30}, {"count": 31}, 30)


def test_auto_workers_edges():
    assert auto_workers(1.0, 0.75) == 1  # waiting is exactly a quarter: still one
    assert auto_workers(1.0, 0.0, limit=1) == 1  # the limit holds, even at one
    assert auto_workers(1.0, 0.5, limit=8) == 2


def test_page_urls_keep_blank_parameters():
    nxt = "https://x.test/api/?page=2&q="
    urls = page_urls({"count": 30}, nxt, 10)
    assert [parse_qs(urlsplit(u).query, keep_blank_values=True) for u in urls] == [
        {"page": ["2"], "q": [""]},
        {"page": ["3"], "q": [""]},
    ]


def test_page_urls_with_one_row_a_page_and_none():
    nxt = "https://x.test/api/?page=2"
    assert len(page_urls({"count": 3}, nxt, 1)) == 2
    assert page_urls({"count": 3}, nxt, 0) == []  # no page length: nothing to address


def test_page_urls_up_to_the_page_cap_itself():
    nxt = "https://x.test/api/?page=2"
    urls = page_urls({"count": DEFAULT_MAX_PAGES}, nxt, 1)
    assert len(urls) == DEFAULT_MAX_PAGES - 1
    assert page_urls({"count": DEFAULT_MAX_PAGES + 1}, nxt, 1) == []


# ------------------------------------------------------------------ offset style


def test_offset_paging_defaults_to_a_hundred_rows_a_page():
    assert OffsetPaging().first("/pacientes/", None) == {"offset": 0, "limit": 100}


def test_offset_first_reads_the_path_before_the_query():
    style = OffsetPaging(limit=10)
    # a list's path with a query (one that itself holds a "?"): still a list
    assert style.first("/pacientes/?q=a?b", None) == {"offset": 0, "limit": 10}
    assert style.first("/pacientes/?sort=id", {"x": 1}) == {"x": 1, "offset": 0, "limit": 10}
    assert style.first("/pacientes/42?next=/", None) is None  # one item, whatever the query


def test_end_of_list_needs_an_offset_past_the_first_page():
    style = OffsetPaging(end_statuses=(404,))
    assert not style.end_of_list(404, Request(BASE, None))  # no offset: the first page
    assert not style.end_of_list(404, Request(BASE, {"limit": 10}))
    assert not style.end_of_list(404, Request(BASE, {"offset": ""}))
    assert not style.end_of_list(404, Request(BASE, {"offset": "0"}))
    assert style.end_of_list(404, Request(BASE, {"offset": 1}))


def offset_pages(total: int, base: str = BASE):
    """An offset list of ``total`` rows that records each request (URL and parameters)."""
    asked: list[Request] = []
    lock = threading.Lock()

    def fetch(req: Request):
        with lock:
            asked.append(req)
        query = {k: v[-1] for k, v in parse_qs(urlsplit(req.url).query).items()}
        p = {**query, **(req.params or {})}
        offset, limit = int(p.get("offset", 0)), int(p.get("limit", 100))
        rows = [{"id": i} for i in range(offset, min(offset + limit, total))]
        return {"pacientes": rows}, req.url

    return fetch, asked


def test_offset_further_pages_go_to_the_list_path_with_its_parameters():
    fetch, asked = offset_pages(25)
    style = OffsetPaging(limit=100)  # the query asks for 10: the query wins
    first = Request(f"{BASE}?limit=10&q=&offset=0", None)
    rows, _, _ = run_pull(fetch, style, first, workers=1)
    assert [r["id"] for r in rows] == list(range(25))
    assert [(r.url, r.params) for r in asked[1:]] == [
        (BASE, {"limit": "10", "q": "", "offset": 10}),
        (BASE, {"limit": "10", "q": "", "offset": 20}),
    ]


def test_offset_paging_from_a_given_start():
    fetch, asked = offset_pages(35)
    rows, _, _ = run_pull(
        fetch, OffsetPaging(limit=10), Request(BASE, {"offset": 5, "limit": 10}), workers=1
    )
    assert [r["id"] for r in rows] == list(range(5, 35))
    assert [r.params["offset"] for r in asked] == [5, 15, 25, 35]


def test_offset_paging_without_an_offset_parameter_starts_at_zero():
    fetch, asked = offset_pages(25)
    rows, _, _ = run_pull(fetch, OffsetPaging(limit=10), Request(BASE, {"limit": 10}), workers=1)
    assert [r["id"] for r in rows] == list(range(25))
    assert [r.params.get("offset") for r in asked] == [None, 10, 20]


def test_offset_paging_without_a_limit_parameter_uses_the_styles():
    fetch, asked = offset_pages(25)
    style = OffsetPaging(limit=10)

    def fetch_limited(req: Request):  # the server's own page size is the style's
        return fetch(Request(req.url, {"limit": 10, **(req.params or {})}))

    rows, _, _ = run_pull(fetch_limited, style, Request(BASE, {"offset": 0}), workers=1)
    assert [r["id"] for r in rows] == list(range(25))
    assert [r.params["offset"] for r in asked] == [0, 10, 20]


def test_offset_paging_with_a_limit_that_is_not_a_number_is_one_page():
    fetch, asked = offset_pages(3)

    def fetch_all(req: Request):
        return fetch(Request(req.url, {**(req.params or {}), "limit": 100}))

    rows, pull, progress = run_pull(
        fetch_all, OffsetPaging(limit=10), Request(BASE, {"limit": "all"}), workers=1
    )
    assert len(rows) == 3 and len(asked) == 1 and pull.pages == 1
    assert progress == [(1, 1)]


def test_offset_paging_one_row_a_page():
    fetch, asked = offset_pages(3)
    rows, _, _ = run_pull(fetch, OffsetPaging(limit=1), Request(BASE, {"limit": 1}), workers=1)
    assert [r["id"] for r in rows] == [0, 1, 2]
    assert [r.params.get("offset", 0) for r in asked] == [0, 1, 2, 3]


def test_offset_paging_with_no_page_size_is_one_page():
    fetch, asked = offset_pages(0)
    rows, _, progress = run_pull(
        fetch, OffsetPaging(limit=10), Request(BASE, {"limit": 0}), workers=1
    )
    assert rows == [] and len(asked) == 1 and progress == [(1, 1)]


def test_offset_a_short_first_page_is_known_to_be_the_only_one():
    fetch, asked = offset_pages(4)
    _, _, progress = run_pull(fetch, OffsetPaging(limit=10), Request(BASE, {"limit": 10}))
    assert progress == [(1, 1)] and len(asked) == 1


def test_offset_an_empty_list_is_no_rows_not_an_error():
    fetch, asked = offset_pages(0)
    rows, pull, _ = run_pull(fetch, OffsetPaging(limit=10), Request(BASE, {"limit": 10}))
    assert rows == [] and pull.pages == 1 and len(asked) == 1


# ------------------------------------------------------------------ the pull


class Pages:
    """A list of ``total`` rows, ``size`` a page, served by ``fetch`` (DRF pages with a
    count, or offsets), that records for every page asked: the thread that asked, how many
    pages the pull had consumed then, and how many fetches were in flight at once.

    ``hold[k]``: page ``k`` (0 = the first) is answered once ``hold[k][0](self)`` is true
    or ``hold[k][1]`` seconds have passed."""

    def __init__(self, total: int, size: int, style: str = "drf") -> None:
        self.total, self.size, self.style = total, size, style
        self.cond = threading.Condition()
        self.started: list[int] = []
        self.consumed_at: dict[int, int] = {}
        self.threads: list[str] = []
        self.inflight = self.max_inflight = self.consumed = 0
        self.rows: list[Any] = []
        self.hold: dict[int, tuple[Any, float]] = {}
        self.bad: set[int] = set()  # pages answered in another shape

    def fetch(self, req: Request) -> tuple[Any, str]:
        if self.style == "drf":
            k = int(parse_qs(urlsplit(req.url).query).get("page", ["1"])[0]) - 1
        else:
            k = int((req.params or {}).get("offset", 0)) // self.size
        with self.cond:
            self.started.append(k)
            self.consumed_at[k] = self.consumed
            self.threads.append(threading.current_thread().name)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            self.cond.notify_all()
            if k in self.hold:
                until, timeout = self.hold[k]
                self.cond.wait_for(lambda: until(self), timeout)
            self.inflight -= 1
        if k in self.bad:
            return {"detail": "the list moved"}, req.url
        start = k * self.size
        rows = [{"id": i} for i in range(start, min(start + self.size, self.total))]
        if self.style != "drf":
            return {"pacientes": rows}, BASE
        nxt = f"{BASE}?page={k + 2}" if start + self.size < self.total else None
        return {"count": self.total, "next": nxt, "results": rows}, req.url

    def add(self, rows: list[Any]) -> None:
        with self.cond:
            self.rows.extend(rows)
            self.consumed += 1
            self.cond.notify_all()

    def pull(self, workers: int) -> Pull:
        paging: Paging = Paging() if self.style == "drf" else OffsetPaging(limit=self.size)
        params = None if self.style == "drf" else {"offset": 0, "limit": self.size}
        _, pull, _ = run_pull(
            self.fetch, paging, Request(BASE, params), add=self.add, workers=workers
        )
        assert [r["id"] for r in self.rows] == list(range(self.total))
        return pull


def test_the_progress_bar_learns_the_page_count_from_the_first_page():
    pages = Pages(30, 10)
    progress: list[tuple[int, int | None]] = []
    pull = Pull(pages.fetch, Paging(), pages.add, workers=1, on_page=lambda *a: progress.append(a))
    first, url = pages.fetch(Request(BASE, None))
    pull.run(first, url, None, FAST)
    assert progress == [(1, 3), (2, None), (3, None)]


def test_a_pull_not_run_yet_reports_one_worker():
    assert Pull(Pages(1, 1).fetch, Paging(), list).chosen_workers == 1


def test_one_worker_fetches_in_the_calling_thread():
    pages = Pages(30, 10)
    pages.pull(workers=1)
    assert set(pages.threads) == {threading.current_thread().name}


def test_two_workers_fetch_in_two_page_threads():
    pages = Pages(80, 10)
    # pages 2 to 4 each wait for a third fetch in flight: there must never be one
    third = (lambda p: p.max_inflight >= 3, 0.3)
    pages.hold[1] = pages.hold[2] = pages.hold[3] = third
    pull = pages.pull(workers=2)
    assert pull.chosen_workers == 2
    assert all(t.startswith("vital-connect-page") for t in pages.threads[1:])
    assert pages.max_inflight == 2


def test_addressed_pages_in_flight_are_twice_the_workers():
    pages = Pages(80, 10)  # 8 pages, 4 (2 × 2 workers) fetched ahead of the one consumed
    # page 2 is consumed only once page 6 has had its chance to be asked too early
    pages.hold[1] = (lambda p: 5 in p.started, 0.3)
    pages.pull(workers=2)
    assert sorted(pages.started) == list(range(8))
    for k in range(1, 8):
        assert pages.consumed_at[k] >= max(1, k - 3), (k, pages.consumed_at)


def test_blind_pages_in_flight_start_at_one_and_double_up_to_the_workers():
    pages = Pages(35, 10, style="offset")  # three full pages, then a short one
    # a second page asked before the first further one is consumed, or page 5 before
    # page 3 is, would come too early; the short page waits for the three asked after it
    pages.hold[1] = (lambda p: len(p.started) > 2, 0.3)
    pages.hold[2] = (lambda p: 4 in p.started, 0.3)
    pages.hold[3] = (lambda p: {4, 5, 6} <= set(p.started), 5)
    pages.pull(workers=4)
    assert sorted(pages.started) == list(range(7))  # 3 asked past the end (4 workers)
    at = pages.consumed_at  # pages consumed when each was asked
    assert (at[1], at[2], at[4], at[5], at[6]) == (1, 2, 3, 3, 3) and at[3] in (2, 3)


def test_a_first_answer_that_is_not_rows_is_an_unknown_page_shape():
    pull = Pull(Pages(1, 1).fetch, Paging(), list)
    with pytest.raises(vc.APIError) as info:
        pull.run({"id": 1, "name": "x"}, BASE, None, FAST)
    assert info.value.error_type == "unknown_page_shape"
    assert info.value.message == "The answer is not a list of rows."


def test_a_further_page_that_is_not_rows_is_an_unknown_page_shape():
    def fetch(req: Request):
        if "page=2" in req.url:
            return {"detail": "gone"}, req.url
        return {"count": 20, "next": f"{BASE}?page=2", "results": [{"id": 1}] * 10}, req.url

    with pytest.raises(vc.APIError, match="shape changed") as info:
        run_pull(fetch, workers=1)
    assert info.value.error_type == "unknown_page_shape"


def test_a_list_that_grew_is_checked_against_its_last_count():
    def fetch(req: Request):  # 30 rows when page 1 is read; 31 by the time page 3 is
        page = int(parse_qs(urlsplit(req.url).query).get("page", ["1"])[0])
        count = 30 if page < 3 else 31
        nxt = f"{BASE}?page={page + 1}" if page * 10 < count else None
        rows = [{"id": i} for i in range((page - 1) * 10, min(page * 10, count))]
        return {"count": count, "next": nxt, "results": rows}, req.url

    rows, pull, _ = run_pull(fetch, workers=1)
    assert [r["id"] for r in rows] == list(range(31)) and pull.pages == 4


def test_decode_runs_in_the_consuming_thread_on_every_further_page():
    pages = Pages(50, 10)
    decoded: list[str] = []

    def fetch_raw(req: Request):
        payload, url = pages.fetch(req)
        return json.dumps(payload), url  # what a page thread holds: the raw body

    def decode(raw: str) -> Any:
        decoded.append(threading.current_thread().name)
        return json.loads(raw)

    pull = Pull(fetch_raw, Paging(), pages.add, workers=3, decode=decode)
    first, url = pages.fetch(Request(BASE, None))
    pull.run(first, url, None, FAST)
    assert [r["id"] for r in pages.rows] == list(range(50))
    assert decoded == [threading.current_thread().name] * 4


def test_rows_past_the_end_are_found_in_raw_pages_too():
    ahead = threading.Event()

    def fetch_growing(req: Request):
        offset = int((req.params or {}).get("offset", 0))
        if offset == 20:
            ahead.wait(5)  # the page after it is on its way when this short one arrives
            rows = range(20, 25)
        elif offset == 30:
            ahead.set()
            rows = range(30, 35)  # rows appeared past the short page
        else:
            rows = range(offset, offset + 10)
        return json.dumps({"pacientes": [{"id": i} for i in rows]}), BASE

    style = OffsetPaging(limit=10)
    pull = Pull(fetch_growing, style, list, workers=4, decode=json.loads)
    first = json.loads(fetch_growing(Request(BASE, style.first(BASE, None)))[0])
    with pytest.raises(vc.APIError, match="rows appeared after") as info:
        pull.run(first, BASE, style.first(BASE, None), FAST)
    assert info.value.error_type == "incomplete_pull"


def test_a_single_page_whose_count_disagrees_raises():
    def fetch(req: Request):
        return {"count": 5, "next": None, "results": [{"id": 1}]}, req.url

    with pytest.raises(vc.APIError, match="says 5 rows but 1 arrived") as info:
        run_pull(fetch)
    assert info.value.error_type == "incomplete_pull"


def test_links_that_loop_back_to_a_followed_page_end_the_list():
    def fetch(req: Request):  # no count: 1 -> 2 -> 3 -> 2 again
        n = int(parse_qs(urlsplit(req.url).query).get("p", ["1"])[0])
        return {"results": [{"n": n}], "next": f"{BASE}?p={2 if n == 3 else n + 1}"}, req.url

    rows, pull, _ = run_pull(fetch, workers=1, max_pages=10)
    assert [r["n"] for r in rows] == [1, 2, 3] and pull.pages == 3


def test_an_error_mid_pull_waits_for_pages_in_flight_and_sends_no_more():
    pages = Pages(80, 10)  # 2 workers: pages 2-5 are asked at once, two of them run
    pages.bad.add(1)  # page 2 is of another shape: the pull fails on it
    never = (lambda p: False, 0.3)
    pages.hold[2] = pages.hold[3] = never  # pages 3 and 4 are still being fetched then
    with pytest.raises(vc.APIError) as info:
        pages.pull(workers=2)
    assert info.value.error_type == "unknown_page_shape"
    assert pages.inflight == 0  # the page threads ended before the error came out
    assert 4 not in pages.started and max(pages.started) <= 3  # page 5 was never sent


def test_next_links_without_a_count_tell_no_page_count():
    def fetch(req: Request):
        n = int(parse_qs(urlsplit(req.url).query).get("p", ["1"])[0])
        return {"results": [{"n": n}], "next": f"{BASE}?p={n + 1}" if n < 3 else None}, req.url

    rows, _, progress = run_pull(fetch, workers=1)
    assert len(rows) == 3 and progress == [(1, None), (2, None), (3, None)]
