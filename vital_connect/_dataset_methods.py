"""VitalDB's open dataset as ``Session`` methods (``find_cases``, ``load_case``,
``load_cases``); the code behind them (``_dataset``, ``_cohort``, the dataset cache) loads
only when one is called, so a session of another provider never imports it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._session import Session


class DatasetMethods:
    """VitalDB's open dataset in the researcher's vocabulary, as ``Session`` methods (a
    provider without a dataset raises NotSupportedError)."""

    def find_cases(self, tracks: Sequence[str] | str) -> list[int]:
        """VitalDB open dataset: the case ids that have every named track."""
        from ._dataset import find_cases

        return find_cases(cast("Session", self), tracks)

    def load_case(
        self,
        caseid: int,
        tracks: Sequence[str] | str,
        interval: float | None = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """VitalDB open dataset: the named tracks of one case, one column each, by time
        (``progress``: a bar over its tracks; ``None`` in a notebook or terminal only)."""
        from ._dataset import load_case

        return load_case(cast("Session", self), caseid, tracks, interval, progress=progress)

    def load_cases(
        self,
        caseids: Sequence[int],
        tracks: Sequence[str] | str,
        interval: float | None = None,
        *,
        dask: bool = False,
        progress: bool | None = None,
    ) -> Any:
        """VitalDB open dataset: many cases in one frame with a ``caseid`` index level;
        ``dask=True``: a Dask frame, one partition per case (the ``[dask]`` extra)."""
        from ._cohort import load_cases

        s = cast("Session", self)
        return load_cases(s, caseids, tracks, interval, dask=dask, progress=progress)
