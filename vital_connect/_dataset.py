"""VitalDB's open dataset in the researcher's vocabulary: ``find_cases``, ``load_case``,
``load_cases``.

The names and their meaning are the official ``vitaldb`` client's; what this adds is what
it lacks: tracks and cases fetched concurrently, timeouts, retries, files kept on disk so a
cohort is downloaded once (``_dataset_cache``), a DataFrame indexed by time, waveforms put on
a grid by their own times (the official client stretches a wave to the grid's length
instead, which only agrees when the two line up). Cohorts as Dask frames: ``_cohort``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ._errors import APIError, ConfigurationError, NotSupportedError
from ._progress import Bar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._session import Session

TRACK_WORKERS = 8  # tracks of one case fetched at once
CASE_WORKERS = 4  # cases of a cohort fetched at once (so up to 32 files in flight)
_tables_lock = threading.Lock()

# One case's tracks as the track list names them: (tname, tid) for each track asked.
Plan = list[tuple[str, str]]


def _dataset_session(s: Session) -> None:
    if not s.dialect.has_dataset:
        raise NotSupportedError(
            f"{s.provider.name} has no open dataset: find_cases/load_case are VitalDB's."
        )


def track_names(tracks: Sequence[str] | str) -> list[str]:
    """``"ART,HR"`` or ``["ART", "HR"]`` -> ``["ART", "HR"]`` (as the official client)."""
    if isinstance(tracks, str):
        names = [t.strip() for t in tracks.split(",")]
    else:
        names = [str(t).strip() for t in tracks]
    names = [n for n in names if n]
    if not names:
        raise ConfigurationError("Name at least one track, e.g. ['SNUADC/ART', 'Solar8000/HR'].")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # one column per name: a second one would silently replace the first
        raise ConfigurationError(f"Name each track once; asked twice: {', '.join(twice)}.")
    return names


def check_interval(interval: Any) -> float | None:
    """``None`` or positive finite seconds."""
    if interval is None:
        return None
    try:
        seconds = float(interval)
    except (TypeError, ValueError):
        raise ConfigurationError(f"interval must be seconds, got {interval!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(f"interval must be positive seconds, got {interval!r}")
    return seconds


def trks(s: Session) -> pd.DataFrame:
    """The track list (``/trks``: caseid, tname, tid), read once per session (and kept on
    disk, revalidated, between sessions)."""
    _dataset_session(s)
    with _tables_lock:
        cached = s.__dict__.get("_vc_trks")
    if cached is not None:
        return cached
    from . import _dataset_cache as dataset_cache

    table = dataset_cache.get(s, "/trks")
    missing = {"caseid", "tname", "tid"} - set(table.columns)
    if missing:
        raise APIError(
            f"The track list has no {', '.join(sorted(missing))} column: check base_url.",
            error_type="unexpected_table",
        )
    with _tables_lock:
        s.__dict__["_vc_trks"] = table
    return table


def matches(tname: str, name: str) -> bool:
    """A track asked for by its full name (``SNUADC/ART``) or by the part after the device
    (``ART``); the official client's ``endswith`` would also take ``ST_ART`` for ``ART``."""
    return tname == name or ("/" not in name and tname.rsplit("/", 1)[-1] == name)


def _matching(tnames: pd.Series, name: str) -> pd.Series:
    """:func:`matches` over a column of track names at once."""
    if "/" in name:
        return tnames == name
    return (tnames == name) | (tnames.str.rsplit("/", n=1).str[-1] == name)


def find_cases(s: Session, tracks: Sequence[str] | str) -> list[int]:
    """The case ids that have every named track, in ascending order."""
    table = trks(s)
    names = track_names(tracks)
    found: set[int] | None = None
    tnames = table["tname"].astype(str)
    for name in names:
        cases = {int(c) for c in table.loc[_matching(tnames, name), "caseid"]}
        found = cases if found is None else found & cases
    return sorted(found or ())


def plan(s: Session, caseids: Sequence[int], names: list[str]) -> list[Plan]:
    """For each case, the ``(tname, tid)`` of each named track, in the order asked; an
    unknown case or track raises before anything is fetched (listing the case's tracks)."""
    table = trks(s)
    ids = [int(c) for c in caseids]
    rows = table[table["caseid"].isin(set(ids))]
    # a case has a few dozen tracks: grouped and matched in Python, not by pandas per case
    # and per name (what took most of a load_case's CPU after the downloads)
    tnames = rows["tname"].astype(str).tolist()
    given, tids = rows["tname"].tolist(), rows["tid"].tolist()
    by_case: dict[int, list[int]] = {}
    for at, c in enumerate(rows["caseid"].tolist()):
        by_case.setdefault(int(c), []).append(at)
    plans = []
    for caseid in ids:
        where = by_case.get(caseid)
        if where is None:
            raise ConfigurationError(
                f"VitalDB has no case {caseid!r} in its track list. vc.connect('vitaldb', "
                "anonymous=True).find_cases([...]) lists the cases that have given tracks."
            )
        chosen = []
        for name in names:
            hit = next(
                (i for i in where if isinstance(tnames[i], str) and matches(tnames[i], name)),
                None,
            )
            if hit is None:
                have = ", ".join(sorted(tnames[i] for i in where))
                raise ConfigurationError(
                    f"Case {caseid} has no track {name!r}. Its tracks: {have}."
                )
            chosen.append((str(given[hit]), str(tids[hit])))
        plans.append(chosen)
    return plans


def _track(s: Session, tid: str) -> pd.DataFrame:
    from . import _dataset_cache as dataset_cache

    return dataset_cache.get(s, f"/{tid}")


def load_case(
    s: Session,
    caseid: int,
    tracks: Sequence[str] | str,
    interval: float | None = None,
    *,
    progress: bool | None = None,
) -> pd.DataFrame:
    """One case's named tracks, one column each in the order asked, indexed by ``time``
    (seconds from the case's start).

    Without ``interval``: every time any track has a sample (the union). With
    ``interval``: a grid 0, interval, 2·interval… up to the last sample; a numeric track
    gives its sample in each time bin (the last one, as the official client), a
    waveform its sample at the grid time; NaN where there is none.
    """
    _dataset_session(s)
    seconds = check_interval(interval)
    names = track_names(tracks)
    (chosen,) = plan(s, [caseid], names)
    with Bar(progress, f"case {caseid}", unit="track", total=len(chosen)) as bar:
        return case_frame(s, int(caseid), chosen, names, seconds, bar)


def case_frame(
    s: Session,
    caseid: int,
    chosen: Plan,
    names: list[str],
    interval: float | None,
    bar: Bar | None = None,
) -> pd.DataFrame:
    """The frame of one planned case: its track files fetched concurrently, put side by
    side (float64 columns named as asked, a float64 ``time`` index)."""
    import pandas as pd

    def fetch(pair: tuple[str, str]) -> pd.DataFrame:
        frame = _track(s, pair[1])
        if bar is not None:
            bar.advance()
        return frame

    workers = max(1, min(TRACK_WORKERS, len(chosen)))
    with ThreadPoolExecutor(workers, thread_name_prefix="vital-connect-track") as pool:
        frames = list(pool.map(fetch, chosen))
    series = [_as_series(df, asked) for df, asked in zip(frames, names, strict=True)]
    if interval is None:
        out = pd.concat(series, axis=1, sort=True)
        out.index = out.index.astype("float64")
        out.index.name = "time"
        out = out.astype("float64")
        out.attrs.update({"caseid": caseid, "interval": None})
        return out
    end = max((float(x.index.max()) for x in series if len(x)), default=0.0)
    steps = math.floor(end / interval + 1e-9) + 1
    grid = pd.Index([i * interval for i in range(steps)], name="time", dtype="float64")
    columns = {x.name: _on_grid(x, interval, steps) for x in series}
    out = pd.DataFrame(columns, index=grid, dtype="float64")
    out.attrs.update({"caseid": caseid, "interval": interval})
    return out


def _as_series(df: pd.DataFrame, name: str) -> pd.Series:
    if len(df.columns) != 2:
        raise APIError(
            f"A track file of {name!r} has {len(df.columns)} columns, not Time and values.",
            error_type="unexpected_table",
        )
    import pandas as pd

    times = pd.to_numeric(df.iloc[:, 0], errors="coerce")
    values = pd.to_numeric(df.iloc[:, 1], errors="coerce")
    series = pd.Series(
        values.to_numpy(dtype="float64", na_value=float("nan")),
        index=times.to_numpy(dtype="float64", na_value=float("nan")),
        name=name,
        dtype="float64",
    )
    series = series[series.index.notna()]
    series.attrs["wave"] = df.attrs.get("vitaldb_wave")
    if not series.index.is_monotonic_increasing:
        series = series.sort_index(kind="stable")
    return series[~series.index.duplicated(keep="last")]


def _on_grid(x: pd.Series, interval: float, steps: int) -> Any:
    import numpy as np

    out = np.full(steps, np.nan)
    if not len(x):
        return out
    times = x.index.to_numpy(dtype="float64")
    values = x.to_numpy(dtype="float64")
    wave = x.attrs.get("wave")
    if wave:  # the sample at each grid time, by the wave's own clock
        start, step = float(wave["start"]), float(wave["interval"])
        grid = np.arange(steps) * interval
        idx = np.rint((grid - start) / step).astype(np.int64)
        ok = (idx >= 0) & (idx < len(values)) & (np.abs(start + idx * step - grid) <= step / 2)
        out[ok] = values[idx[ok]]
        return out
    # a numeric track: the sample in each bin, the last one when several fall in it
    bins = np.floor(times / interval + 1e-9).astype(np.int64)
    keep = (bins >= 0) & (bins < steps)
    out[bins[keep]] = values[keep]  # numpy assigns in order: the last sample wins
    return out


def empty_cohort(names: list[str]) -> pd.DataFrame:
    """A cohort frame with no rows: ``caseid`` (int64) and one float64 column per track,
    indexed by ``time`` (float64) — the shape of every Dask partition."""
    import pandas as pd

    columns = {"caseid": pd.Series(dtype="int64")}
    columns.update({name: pd.Series(dtype="float64") for name in names})
    return pd.DataFrame(columns, index=pd.Index([], dtype="float64", name="time"))


def cohort_args(
    s: Session, caseids: Sequence[int], tracks: Sequence[str] | str, interval: float | None
) -> tuple[list[int], list[str], float | None]:
    """A cohort's case ids, track names and interval, checked."""
    _dataset_session(s)
    if isinstance(caseids, int | str):
        raise ConfigurationError("caseids must be a list of case ids, e.g. [1, 2, 3].")
    return [int(c) for c in caseids], track_names(tracks), check_interval(interval)


def load_cases(
    s: Session,
    caseids: Sequence[int],
    tracks: Sequence[str] | str,
    interval: float | None = None,
    *,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Many cases: one frame with a ``(caseid, time)`` index, cases fetched concurrently;
    every case and track name is checked against the track list before any file is
    fetched. (A Dask frame, one partition per case: :mod:`._cohort`.)"""
    import pandas as pd

    ids, names, seconds = cohort_args(s, caseids, tracks, interval)
    plans = plan(s, ids, names)
    if not ids:
        out = empty_cohort(names).set_index("caseid", append=True).swaplevel()
        out.attrs = {"caseids": [], "interval": seconds}
        return out
    workers = max(1, min(CASE_WORKERS, len(ids)))
    with ThreadPoolExecutor(workers, thread_name_prefix="vital-connect-case") as pool:
        with Bar(progress, "cases", unit="case", total=len(ids)) as bar:

            def one(caseid: int, chosen: Plan) -> pd.DataFrame:
                frame = case_frame(s, caseid, chosen, names, seconds)
                bar.advance()
                return frame

            frames = list(pool.map(one, ids, plans))
    out = pd.concat(frames, keys=ids, names=["caseid", "time"])
    out.attrs = {"caseids": ids, "interval": seconds}
    return out
