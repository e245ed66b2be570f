"""Turning decoded answers into DataFrames: rows of JSON objects, plain objects, CSV.

Which answer is which, and a provider's own fixes to its tables, are its dialect's
business (``vital_connect.dialects``); this module only builds frames.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._errors import APIError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def object_frame(payload: Any) -> pd.DataFrame:
    """A JSON answer that is not a list of rows: a plain object (or a scalar) as one row."""
    from ._table import build_frame

    return build_frame([[payload]])


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
