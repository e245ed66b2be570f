"""The frame code of version 0.1 (a frame per page, concatenated), kept only as the
oracle of column order for the tests of vital_connect._table. Not a test module."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd


def records_frame(rows: list[Any]) -> pd.DataFrame:
    """Rows of dicts -> DataFrame, nested objects flattened to dotted columns."""
    import pandas as pd

    if not rows:
        return pd.DataFrame()
    if all(isinstance(r, dict) for r in rows):
        return _flatten(pd.DataFrame(rows), top=True)
    return pd.DataFrame({"value": rows})


def _flatten(df: pd.DataFrame, top: bool = False) -> pd.DataFrame:
    """Nested objects -> dotted columns, in place of their parent column.

    The same cells as ``pd.json_normalize``, built column by column rather than by copying
    every row into a flat dict first: faster and lighter on big pulls (see bench/). One
    difference: the columns of a nested object stay together even when later rows bring
    new keys (``json_normalize`` appends those at the end).
    """
    import pandas as pd

    parts: list[pd.DataFrame | pd.Series] = []
    nested: list[pd.DataFrame] = []  # json_normalize puts a row's own values first
    changed = False
    for name in df.columns:
        column = df[name]
        if column.dtype != object:
            parts.append(column)
            continue
        values = column.tolist()
        is_dict = [isinstance(v, dict) for v in values]
        if not any(is_dict):
            parts.append(column)
            continue
        changed = True
        # Mixed: values that are not objects stay under the parent's name, as in
        # json_normalize. A float NaN here is pandas' mark for "key absent in this row"
        # (JSON itself has no NaN), and absent keys make no column.
        present = [
            not d and not (isinstance(v, float) and v != v)
            for v, d in zip(values, is_dict, strict=True)
        ]
        if any(present):
            scalars = [v if p else float("nan") for v, p in zip(values, present, strict=True)]
            parts.append(pd.Series(scalars, index=df.index, name=name))
        inner = pd.DataFrame(
            [v if d else {} for v, d in zip(values, is_dict, strict=True)], index=df.index
        )
        if len(inner.columns):
            inner = _flatten(inner)
            inner.columns = [f"{name}.{c}" for c in inner.columns]
            (nested if top else parts).append(inner)
    if not changed:
        return df
    parts += nested
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Pages' frames -> one frame with a fresh 0..n-1 index; columns in order of appearance."""
    import pandas as pd

    kept = [f for f in frames if len(f) or len(f.columns)]
    if not kept:
        return pd.DataFrame()
    if len(kept) == 1:
        return kept[0]
    with warnings.catch_warnings():
        # pandas 2.x warns about all-NA columns in concat; the result is what we want
        warnings.simplefilter("ignore", FutureWarning)
        df = pd.concat(kept, ignore_index=True, sort=False)
    # a field null on every row of one page made that page's column object-typed
    return df.infer_objects()
