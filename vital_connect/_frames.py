"""Turning decoded answers into DataFrames: rows of JSON objects, plain objects, CSV.

Which answer is which, and a provider's own fixes to its tables, are its dialect's
business (``vital_connect.dialects``); this module only builds frames.
"""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._errors import APIError

if TYPE_CHECKING:  # pragma: no cover
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


class FrameBuilder:
    """Rows arrive page by page; one frame comes out at the end."""

    def __init__(self) -> None:
        self._frames: list[pd.DataFrame] = []
        self._rows = 0

    def add(self, rows: list[Any]) -> None:
        self._rows += len(rows)
        self._frames.append(records_frame(rows))

    def __len__(self) -> int:
        return self._rows

    def frame(self) -> pd.DataFrame:
        frames, self._frames = self._frames, []
        return concat_frames(frames)


def object_frame(payload: Any) -> pd.DataFrame:
    """A JSON answer that is not a list of rows: a plain object (or a scalar) as one row."""
    return records_frame([payload])


def csv_frame(data: bytes, na_values: tuple[str, ...] = ()) -> pd.DataFrame:
    """CSV bytes (already decompressed) -> DataFrame; a UTF-8 byte-order mark is dropped."""
    import pandas as pd

    if not data.strip():
        return pd.DataFrame()
    try:
        return pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8-sig",
            na_values=list(na_values) or None,
            low_memory=False,
        )
    except (ValueError, UnicodeDecodeError) as exc:  # ParserError is a ValueError
        kind = type(exc).__name__
    raise APIError(
        f"The answer was taken for CSV but could not be read as CSV ({kind})."
        " Check the path; use s.request(...) to see the raw answer.",
        error_type="invalid_csv",
    )


def stamp(df: pd.DataFrame, source_url: str, provider: str, pages: int = 1) -> pd.DataFrame:
    """Record where and when the data came from in ``df.attrs``."""
    df.attrs.update(
        {
            "source_url": source_url,
            "provider": provider,
            "fetched_at": datetime.now(UTC),
            "pages": pages,
        }
    )
    return df
