"""Figures 1, 2, 4, 5 and 6: a big pull against the naive loop and the transfer floor, and
pages fetched concurrently against one at a time."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import requests
from pandas.testing import assert_frame_equal

from bench.measure import Report, Row, Runs, Sizes, ms, rotate, seconds, spread
from bench.pages import PATH, PageServer, connect

try:
    import orjson
except ImportError:  # pragma: no cover - measured when installed
    orjson = None


def plain_session(token: str) -> requests.Session:
    """What a researcher would write by hand: requests with a static Bearer header."""
    raw = requests.Session()
    raw.headers["Authorization"] = f"Bearer {token}"
    return raw


def naive_rows(raw: requests.Session, url: str) -> list[dict[str, Any]]:
    """The naive loop: GET, keep the rows, follow ``next`` to the end."""
    rows: list[dict[str, Any]] = []
    nxt: str | None = url
    while nxt:
        r = raw.get(nxt, timeout=60)
        r.raise_for_status()
        page = r.json()
        rows.extend(page["results"])
        nxt = page["next"]
    return rows


def floor(raw: requests.Session, url: str, loads: Callable[[bytes], Any]) -> int:
    """The least any client can do: every page transferred and its JSON decoded (to find
    the next page), the rows let go. Returns the rows seen."""
    seen = 0
    nxt: str | None = url
    while nxt:
        r = raw.get(nxt, timeout=60)
        r.raise_for_status()
        page = loads(r.content)
        seen += len(page["results"])
        nxt = page["next"]
    return seen


def expected_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``pd.json_normalize`` of the rows, ``measured_at`` read as UTC instants (what
    ``s.get`` gives for a column of ISO-8601 date-times)."""
    df = pd.json_normalize(rows)
    df["measured_at"] = pd.to_datetime(df["measured_at"], utc=True).astype("datetime64[ns, UTC]")
    return df


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        assert_frame_equal(a, b)
    except AssertionError:
        return False
    return True


def both(t: Runs, a: str, b: str, goal: float) -> bool:
    """Met when the wall and the CPU medians both are: one thread, no latency, so on a quiet
    machine they agree; under load elsewhere wall time wanders and CPU time less."""
    return t.ratio(a, b)[0] <= goal and t.ratio(a, b, cpu=True)[0] <= goal


def big_pull(server: PageServer, sizes: Sizes, report: Report) -> None:
    s = connect(server.url, server.secret)  # default settings: page_workers None (automatic)
    raw = plain_session(s.token.access_token)
    params = {"page_size": sizes.page_size}
    url = f"{server.url}{PATH}?page_size={sizes.page_size}"
    frames: dict[str, Any] = {}

    def ours() -> None:
        frames.pop("ours", None)
        frames["ours"] = s.get(PATH, params=params)

    def one_worker() -> None:
        s.page_workers = 1
        try:
            frames.pop("ours, 1 worker", None)
            frames["ours, 1 worker"] = s.get(PATH, params=params)
        finally:
            s.page_workers = None

    runs: dict[str, Callable[[], Any]] = {
        "ours": ours,
        "ours, 1 worker": one_worker,
        "naive": lambda: pd.DataFrame(naive_rows(raw, url)),
        "naive + json_normalize": lambda: pd.json_normalize(naive_rows(raw, url)),
        "floor, json": lambda: floor(raw, url, json.loads),
    }
    if orjson is not None:
        runs["floor, orjson"] = lambda: floor(raw, url, orjson.loads)
    if sizes.warm:  # connections open, code paths warm, before any timing
        server.render(2, sizes.page_size)
        rotate(runs, 1)
    server.render(sizes.pages, sizes.page_size)
    cpu0 = server.cpu()
    t = rotate(runs, sizes.pull_rounds)
    server_cpu = (server.cpu() - cpu0) / (sizes.pull_rounds * len(runs))

    ours_df = frames["ours"]
    rows = sizes.pages * sizes.page_size
    report.check(
        f"1. big pull: our frame (default settings) equals `pd.json_normalize` of the naive "
        f"loop's rows, `measured_at` as UTC instants ({len(ours_df):,} rows × "
        f"{ours_df.shape[1]} columns)",
        len(ours_df) == rows and same_frame(ours_df, expected_frame(naive_rows(raw, url))),
    )
    report.check(
        f"6. zero latency: the frame with automatic workers ({ours_df.attrs['workers']}) "
        "equals the one with `page_workers = 1`",
        same_frame(ours_df, frames["ours, 1 worker"]),
    )
    what = f"{sizes.pages} pages × {sizes.page_size:,} rows"
    orjson_goal = orjson is not None
    floor_goal = 1.05 if orjson_goal else 1.2
    report.rows += [
        Row(f"1. Big pull vs naive loop ({what})", "≤ 1.0× wall and CPU",
            *t.pair("ours", "naive"), both(t, "ours", "naive", 1.0)),
        Row("1. Big pull vs naive loop + `pd.json_normalize` (like for like)", "(reported)",
            *t.pair("ours", "naive + json_normalize"), None),
        Row("2. Big pull vs transfer + `json.loads` floor",
            f"≤ {floor_goal}× wall and CPU" + (" (orjson installed)" if orjson_goal else ""),
            *t.pair("ours", "floor, json"), both(t, "ours", "floor, json", floor_goal)),
    ]  # fmt: skip
    if orjson is not None:
        report.rows.append(
            Row("2. Big pull vs transfer + `orjson.loads` floor", "(reported)",
                *t.pair("ours", "floor, orjson"), None)
        )  # fmt: skip
    report.rows.append(
        Row(
            f"6. Zero latency: default workers ({ours_df.attrs['workers']} chosen) vs one",
            "≤ 1.0× wall and CPU (±2 %)",
            *t.pair("ours", "ours, 1 worker"),
            both(t, "ours", "ours, 1 worker", 1.02),
        )
    )
    build = t.diff("ours", "floor, orjson" if orjson else "floor, json", cpu=True)
    report.notes.append(
        f"1, 2, 6. Big pull: `s.get(path, params={{'page_size': {sizes.page_size}}})` at the "
        f"default settings (`page_workers = None`: the count of workers follows the first "
        f"page; it chose {ours_df.attrs['workers']}) against, in the same {sizes.pull_rounds} "
        f"rotated rounds: the naive loop (`requests` with a static Bearer header, `.json()`, "
        f"rows collected, `pd.DataFrame(rows)`: 7 columns, `patient` and `device` left as "
        f"dict cells, `measured_at` left as strings), the same loop with `pd.json_normalize` "
        f"(the same 9 columns as ours), the floor (every page transferred by `requests` and "
        f"decoded, nothing kept) with `json.loads` and with `orjson.loads`, and ours with "
        f"`page_workers = 1`. The page server is another process; it used "
        f"{ms(server_cpu)} of CPU per pull (pre-rendered answers). Our CPU over the "
        f"{'orjson' if orjson else 'json'} floor, i.e. building the frame (flattening, "
        f"typing, reading the dates): {build:+.3f} s per pull "
        f"({build / sizes.pages * 1e3:.2f} ms per {sizes.page_size:,}-row page)."
    )
    if orjson is not None and not both(t, "ours", "floor, json", floor_goal):
        saved = t.diff("floor, json", "floor, orjson", cpu=True)
        report.notes.append(
            f"2. Missed: orjson saves {saved:+.3f} s of CPU per pull against `json.loads` "
            f"(floor against floor), and building the frame costs {build:+.3f} s; the goal "
            f"needs building to cost at most what orjson saves plus "
            f"{floor_goal - 1:.0%} of the json floor ({seconds(t.c('floor, json'))}). "
            "What remains per page is Python-level: one pass per column to gather the "
            "cells from the row dicts, one to see their types, Arrow's conversion of each "
            "string column and the date-time reading; the transfer itself costs less than "
            "requests' (our body read takes 64 kB pieces)."
        )
    frames.clear()
    raw.close()
    s.close()


def concurrent(server: PageServer, sizes: Sizes, report: Report) -> None:
    s = connect(server.url, server.secret)
    pages, latency = sizes.pages, sizes.latency
    server.render(pages, sizes.page_size)
    server.render(pages, sizes.small_page_size)
    server.set(latency=latency)
    results: list[tuple[int, Runs, dict[str, Any], float]] = []
    try:
        for size in (sizes.page_size, sizes.small_page_size):
            frames: dict[str, Any] = {}
            params = {"page_size": size}

            def pull(name: str, workers: int | None, params: dict[str, Any] = params,
                     frames: dict[str, Any] = frames) -> Callable[[], None]:  # fmt: skip
                def run() -> None:
                    s.page_workers = workers
                    frames.pop(name, None)
                    frames[name] = s.get(PATH, params=params)

                return run

            runs = {"default": pull("default", None), "sequential": pull("sequential", 1)}
            if sizes.warm:
                rotate(runs, 1)
            cpu0 = server.cpu()
            t = rotate(runs, sizes.concurrent_rounds)
            server_cpu = (server.cpu() - cpu0) / (2 * sizes.concurrent_rounds)
            results.append((size, t, frames, server_cpu))
    finally:
        server.set(latency=0.0)
        s.page_workers = None
    lat = f"{latency * 1e3:.0f} ms latency"
    for (size, t, frames, server_cpu), (number, goal) in zip(results, ((4, 2.5), (5, 5.0)),
                                                             strict=True):  # fmt: skip
        workers = frames["default"].attrs["workers"]
        report.check(
            f"{number}. concurrent pull ({size:,}-row pages): the frame fetched with "
            f"{workers} page workers (automatic) equals the sequential one "
            f"(`assert_frame_equal`, {len(frames['default']):,} rows)",
            same_frame(frames["default"], frames["sequential"])
            and len(frames["default"]) == pages * size,
        )
        speed = t.ratio("sequential", "default")
        cpu = t.ratio("default", "sequential", cpu=True)
        report.rows.append(
            Row(
                f"{number}. {lat}, {pages} pages × {size:,} rows: default ({workers} workers) "
                "vs sequential",
                f"≥ {goal}× faster",
                f"{seconds(t.t('default'))} wall, {seconds(t.c('default'))} CPU",
                f"{seconds(t.t('sequential'))} wall, {seconds(t.c('sequential'))} CPU "
                "(`page_workers = 1`)",
                f"{spread(speed)} faster",
                spread(cpu),
                speed[0] >= goal,
            )
        )
        per_page = t.t("sequential") / pages
        client = t.c("default")
        # the first page alone, then the others `workers` at a time; or the client's CPU
        bound = max(client, latency * (1 + math.ceil((pages - 1) / max(workers, 1))))
        report.notes.append(
            f"{number}. Concurrent pull, {size:,}-row pages: the server sleeps "
            f"{ms(latency)} before every answer (in a thread per connection); `s.get` at the "
            f"default settings (it chose {workers} workers from the first page) against "
            f"`page_workers = 1`, {sizes.concurrent_rounds} rotated rounds; speed-up = median "
            f"of the per-round ratios sequential / default. A sequential page costs "
            f"{ms(per_page)}, of which {ms(latency)} is the latency concurrency hides; the "
            f"client's CPU for the pull ({seconds(client)}, one GIL for decoding and "
            f"building) and the waits ({workers} at a time) bound the concurrent pull below "
            f"by about {seconds(bound)}: a ceiling of {t.t('sequential') / bound:.1f}×. "
            f"Server CPU per pull: {ms(server_cpu)}."
        )
    s.close()
