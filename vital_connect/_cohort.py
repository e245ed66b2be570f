"""A VitalDB cohort as a Dask DataFrame: one partition per case, computable on any cluster.

``s.load_cases(caseids, tracks, interval, dask=True)`` returns a lazy
``dask.dataframe.DataFrame`` built with ``dd.from_map``:

- one partition per case, in the order given; each is that case's ``load_case`` frame with
  a ``caseid`` column (int64) in front. Dask has no MultiIndex, so where the pandas result
  has a ``(caseid, time)`` index this one has the ``time`` index (float64 seconds, restarting
  at each case: its divisions are unknown) and the ``caseid`` column:
  ``ddf.compute()`` equals ``s.load_cases(...).reset_index("caseid")``. Per-case work is
  ``ddf.groupby("caseid")`` or ``ddf.map_partitions(f)`` (each partition is one case).
- ``meta`` is known without fetching a track: ``caseid`` then one float64 column per track,
  named as asked. The track list is read on the client (it already is after
  ``find_cases``) so that a wrong case or track name fails here, at once, and the workers
  only fetch track files.
- the session goes to the workers pickled (``Session.__reduce__``): an anonymous one with no
  token, a logged-in one with its access token only, never a password, client secret,
  refresh or id token. The open dataset needs no token anyway.
- each worker keeps the files it fetched in its own machine's dataset cache
  (``_dataset_cache``) unless the session was made with ``cache=False``; workers of one
  machine share it safely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._dataset import Plan, case_frame, cohort_args, empty_cohort, plan
from ._dataset import load_cases as load_pandas
from ._errors import NotSupportedError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._session import Session

LABEL = "vitaldb-case"  # the tasks' name in the Dask dashboard


def _dask_dataframe() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError:
        raise NotSupportedError(
            "load_cases(..., dask=True) needs Dask: pip install 'vital-connect[dask]' "
            "(dask[dataframe] and distributed)."
        ) from None
    return dd


class CaseReader:
    """Makes one partition: a case's frame with its ``caseid`` column. Sent to the workers
    with the session inside (pickled without secrets)."""

    def __init__(self, s: Session, names: list[str], interval: float | None) -> None:
        self.session = s
        self.names = list(names)
        self.interval = interval

    def __call__(self, case: tuple[int, Plan]) -> pd.DataFrame:
        caseid, chosen = case
        df = case_frame(self.session, caseid, chosen, self.names, self.interval)
        df.insert(0, "caseid", caseid)
        df["caseid"] = df["caseid"].astype("int64")
        return df

    def __dask_tokenize__(self) -> Any:
        # what the partitions depend on; the token itself never enters the graph's names
        s = self.session
        return (type(self).__name__, s.provider.name, s.base_url, s.api_url, self.names,
                self.interval)  # fmt: skip

    def __repr__(self) -> str:
        return f"CaseReader({self.session.provider.name}, {self.names}, {self.interval})"


def dask_frame(s: Session, ids: list[int], names: list[str], interval: float | None) -> Any:
    """The cohort as a Dask DataFrame (see the module's docstring)."""
    dd = _dask_dataframe()
    meta = empty_cohort(names)
    plans = plan(s, ids, names)  # the track list only: no track file is fetched here
    if not ids:
        return dd.from_pandas(meta, npartitions=1)
    cases = list(zip(ids, plans, strict=True))
    return dd.from_map(
        CaseReader(s, names, interval),
        cases,
        meta=meta,
        divisions=None,
        label=LABEL,
        enforce_metadata=True,
    )


def load_cases(
    s: Session,
    caseids: Any,
    tracks: Any,
    interval: float | None,
    *,
    dask: bool,
    progress: bool | None = None,
) -> Any:
    """``Session.load_cases``: a pandas frame, or with ``dask`` one partition per case
    (Dask shows its own progress: its dashboard, or ``dask.diagnostics``)."""
    if not dask:
        return load_pandas(s, caseids, tracks, interval, progress=progress)
    ids, names, seconds = cohort_args(s, caseids, tracks, interval)
    return dask_frame(s, ids, names, seconds)
