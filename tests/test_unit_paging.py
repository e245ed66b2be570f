"""Paging styles and the pull, with a handler function for a server (nothing to serve
here but pages): every row or an error, never a silent stop."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest

import vital_connect as vc
from vital_connect._paging import (
    STOP,
    NoPaging,
    OffsetPaging,
    Paging,
    Pull,
    Request,
    auto_workers,
    next_link,
    page_rows,
    page_urls,
)

BASE = "https://api.test/items/"


def drf(total: int, size: int):
    """A DRF list of ``total`` rows, ``size`` per page, as a fetch function."""
    seen: list[int] = []
    lock = threading.Lock()

    def fetch(req: Request):
        q = parse_qs(urlsplit(req.url).query)
        page = int(q.get("page", ["1"])[0])
        with lock:
            seen.append(page)
        start = (page - 1) * size
        nxt = f"{BASE}?page={page + 1}" if start + size < total else None
        rows = [{"id": i} for i in range(start, min(start + size, total))]
        return {"count": total, "next": nxt, "results": rows}, req.url

    return fetch, seen


def pull_all(fetch, paging=None, first_req=None, workers=None, **kw):
    paging = paging or Paging()
    rows: list = []
    pull = Pull(fetch, paging, rows.extend, workers=workers, **kw)
    req = first_req or Request(BASE, None)
    first, url = fetch(req)
    pull.run(first, url, req.params, (0.05, 0.001))
    return rows, pull


def test_page_rows_shapes():
    assert page_rows([1, 2]) == [1, 2]
    assert page_rows({"results": [{"a": 1}], "count": 1}) == [{"a": 1}]
    assert page_rows({"items": []}) == []
    assert page_rows({"pacientes": [{"id": 1}]}) == [{"id": 1}]
    assert page_rows({"id": 1, "tags": [{"a": 1}]}) is None  # a plain object
    assert page_rows({"values": [1, 2]}) is None  # a list, but not of objects
    assert page_rows("x") is None and page_rows(None) is None


def test_next_link():
    assert next_link({"next": "https://x/?page=2"}) == "https://x/?page=2"
    assert next_link({"links": {"next": "https://x/n"}}) == "https://x/n"
    assert next_link({"next": ""}) is None and next_link({"next": 5}) is None
    assert next_link([]) is None


def test_page_urls_by_number_and_offset():
    first = {"count": 45, "next": "https://x.test/api/?page=2&page_size=20"}
    assert [parse_qs(urlsplit(u).query)["page"] for u in page_urls(first, first["next"], 20)] == [
        ["2"],
        ["3"],
    ]
    first = {"count": 30, "next": "https://x.test/api/?limit=10&offset=10"}
    assert [u.split("offset=")[1] for u in page_urls(first, first["next"], 10)] == ["10", "20"]
    assert page_urls({"count": True, "next": "https://x/?page=2"}, "https://x/?page=2", 10) == []
    assert page_urls({"count": 5}, None, 10) == []
    assert page_urls({"count": 10**9, "next": "https://x/?page=2"}, "https://x/?page=2", 1) == []


@pytest.mark.parametrize("workers", [1, 3])
def test_a_drf_list_every_row_once(workers):
    fetch, seen = drf(95, 10)
    rows, pull = pull_all(fetch, workers=workers)
    assert [r["id"] for r in rows] == list(range(95))  # in order, whatever the workers
    assert sorted(seen) == list(range(1, 11)) and pull.pages == 10
    assert pull.chosen_workers == workers


def test_rows_that_do_not_add_up_raise():
    fetch, _ = drf(30, 10)

    def short(req):
        payload, url = fetch(req)
        if "page=3" in url:
            payload["results"] = payload["results"][:-1]  # a row lost on the way
        return payload, url

    with pytest.raises(vc.APIError, match="says 30 rows but 29 arrived"):
        pull_all(short, workers=2)


def test_a_link_back_to_a_seen_page_ends_the_list():
    def fetch(req):
        return {"results": [{"id": 1}], "next": BASE}, BASE  # next points at itself

    rows, pull = pull_all(fetch)
    assert rows == [{"id": 1}] and pull.pages == 1


def test_next_links_without_a_count_one_at_a_time():
    def fetch(req):
        n = int(parse_qs(urlsplit(req.url).query).get("p", ["1"])[0])
        nxt = f"{BASE}?p={n + 1}" if n < 4 else None
        return {"data": [{"n": n}], "next": nxt}, req.url

    rows, _ = pull_all(fetch, workers=4)
    assert [r["n"] for r in rows] == [1, 2, 3, 4]


def test_a_page_of_another_shape_raises():
    def fetch(req):
        if "p=2" in req.url:
            return {"error": "half way"}, req.url
        return {"results": [{"id": 1}], "next": f"{BASE}?p=2"}, req.url

    with pytest.raises(vc.APIError, match="shape changed"):
        pull_all(fetch)


def test_the_page_cap_raises_rather_than_truncates():
    def fetch(req):
        n = int(parse_qs(urlsplit(req.url).query).get("p", ["1"])[0])
        return {"results": [{"n": n}], "next": f"{BASE}?p={n + 1}"}, req.url

    with pytest.raises(vc.APIError, match="past 7 pages") as info:
        pull_all(fetch, max_pages=7)
    assert info.value.error_type == "too_many_pages"


def offsets(total: int):
    calls: list[int] = []

    def fetch(req):
        p = req.params or {}
        offset, limit = int(p.get("offset", 0)), int(p.get("limit", 100))
        calls.append(offset)
        return {"pacientes": [{"id": i} for i in range(offset, min(offset + limit, total))]}, BASE

    return fetch, calls


@pytest.mark.parametrize("workers", [1, 4])
def test_offset_paging_to_the_short_page(workers):
    style = OffsetPaging(limit=10)
    fetch, calls = offsets(35)
    params = style.first(BASE, None)
    assert params == {"offset": 0, "limit": 10}
    rows, _ = pull_all(fetch, style, Request(BASE, params), workers=workers)
    assert [r["id"] for r in rows] == list(range(35))
    assert sorted(set(calls))[:4] == [0, 10, 20, 30]
    # fetched ahead blindly: one page, doubling with each full one, so past the end at
    # most as many again as the list had
    assert len(calls) <= 2 * 4 - 1 if workers > 1 else calls == [0, 10, 20, 30]


def test_offset_paging_an_exact_multiple_ends_on_an_empty_page():
    style = OffsetPaging(limit=10)
    fetch, calls = offsets(30)
    rows, _ = pull_all(fetch, style, Request(BASE, style.first(BASE, None)), workers=1)
    assert len(rows) == 30 and calls == [0, 10, 20, 30]


def test_offset_rows_past_the_end_mean_the_list_grew():
    style = OffsetPaging(limit=10)
    ahead = threading.Event()

    def fetch_growing(req):
        offset = int((req.params or {}).get("offset", 0))
        if offset == 20:
            ahead.wait(5)  # the page after it is on its way when this short one arrives
            return {"pacientes": [{"id": i} for i in range(20, 25)]}, BASE
        if offset == 30:
            ahead.set()
            return {"pacientes": [{"id": i} for i in range(30, 35)]}, BASE  # rows appeared
        return {"pacientes": [{"id": i} for i in range(offset, offset + 10)]}, BASE

    with pytest.raises(vc.APIError, match="changed while it was being fetched"):
        pull_all(fetch_growing, style, Request(BASE, style.first(BASE, None)), workers=4)


def test_a_server_that_ignores_the_offset_is_refused():
    style = OffsetPaging(limit=3)

    def same(req):
        return {"pacientes": [{"id": 1}, {"id": 2}, {"id": 3}]}, BASE

    with pytest.raises(vc.APIError, match="whatever the offset") as info:
        pull_all(same, style, Request(BASE, style.first(BASE, None)), workers=1)
    assert info.value.error_type == "paging_ignored"


def test_offset_paging_adds_its_parameters_to_lists_only():
    style = OffsetPaging(limit=50, end_statuses=(404,))
    assert style.first("/pacientes/42", {"x": 1}) == {"x": 1}
    assert style.first("/pacientes/", {"limit": 5}) == {"limit": 5, "offset": 0}
    assert style.end_of_list(404, Request(BASE, {"offset": 100}))
    assert not style.end_of_list(404, Request(BASE, {"offset": 0}))
    assert not style.end_of_list(500, Request(BASE, {"offset": 100}))
    assert not Paging().end_of_list(404, Request(BASE, {"offset": 100}))


def test_no_paging_is_one_answer():
    style = NoPaging()
    plan = style.plan([{"a": 1}], BASE, None, 1)
    assert list(plan.ahead()) == [] and plan.after([], 1) is STOP and plan.known_pages == 1
    style.check([], [], 5)  # nothing to check


@pytest.mark.parametrize(
    ("wall", "cpu", "expected"),
    [(0.010, 0.010, 1), (0.010, 0.008, 1), (0.050, 0.005, 8), (0.030, 0.010, 3),
     (0.0, 0.0, 1), (1.0, 0.0, 8)],
)  # fmt: skip
def test_auto_workers(wall, cpu, expected):
    assert auto_workers(wall, cpu) == expected
