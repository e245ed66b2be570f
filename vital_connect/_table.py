"""One DataFrame from many pages of JSON rows, built column by column as the pages arrive.

:class:`TableBuilder` flattens each page's nested objects to dotted columns as it is added,
one key at a time, and keeps the page's cells per column until ``chunk_rows`` rows have
come; they are then typed into a compact chunk (``int64``, ``float64``, ``bool``, instants
for ISO-8601 date-times, pandas' string array, or ``object`` when nothing narrower holds
them exactly) and the Python values are let go. The page's dicts are never kept.
Consecutive chunks of one numeric type share one growing buffer. Each column's dtype is
decided once, in :meth:`TableBuilder.frame`, from all its chunks together, so it is the
dtype pandas infers for the whole column, whatever the page splits; the frame takes the
columns over one at a time, so nothing is held twice.

    >>> b = TableBuilder()
    >>> b.add([{"id": 1, "v": {"kg": 70.5}, "at": "2024-01-01T08:00:00Z"}])
    >>> b.add([{"id": 2, "v": {"kg": 71}, "at": "2024-01-02T08:00:00+02:00"}])
    >>> len(b)
    2
    >>> df = b.frame()
    >>> df.dtypes.astype(str).to_dict()
    {'id': 'int64', 'at': 'datetime64[ns, UTC]', 'v.kg': 'float64'}
    >>> df["at"].iloc[1]
    Timestamp('2024-01-02 06:00:00+0000', tz='UTC')

Only the standard library is imported with this module: numpy and pandas are imported
when a builder first needs them, so ``import vital_connect`` stays light.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from ._table_base import (
    _ABSENT,
    _BOOL,
    _BOOL8,
    _GAP,
    _INT,
    _INT64,
    _NULL,
    _NUM,
    _OBJ,
    _STAMP,
    _STR,
    _TEXT,
    CHUNK_ROWS,
    MAX_DEPTH,
    _Chunk,
    _Column,
)
from ._table_columns import (
    _DICT_TYPES,
    _NONE,
    _NUMBERS,
    _NUMBERS_OR_NONE,
    _fill,
    _fill_objects,
    _flatten,
    _infer,
    _nones,
    _number_chunk,
    _objects,
    _push,
    _trim,
)
from ._table_dates import _date_times, _stamp_texts, _stamps

__all__ = ["CHUNK_ROWS", "MAX_DEPTH", "TableBuilder", "build_frame"]


class TableBuilder:
    """Collect pages of JSON rows; :meth:`frame` returns them as one DataFrame.

    The frame has the cells of ``pd.json_normalize(all_rows)`` however the rows were paged:
    nested objects become dotted columns (``a.b.c``), an absent key is a missing cell, lists
    stay list cells, and a key that holds an object in some rows and a scalar in others
    gives both its dotted columns and a column of the scalars, as in ``json_normalize``.
    Non-string keys are stringified in dotted names (``json_normalize`` does the same) and
    kept as they are for top-level scalar columns. Column order is that of
    ``concat_frames([records_frame(p) for p in pages])``: per page, the top-level scalar
    columns in order of appearance, then each nested object's columns together; across
    pages, new columns after the known ones. A page whose rows are not all dicts becomes
    one ``value`` column, as ``records_frame`` does. When two paths give the same dotted
    name (``{"a.b": 1, "a": {"b": 2}}``) the later one in that order wins where it is
    present, as in ``json_normalize`` when rows list their keys in the same order.

    Each column's dtype is inferred once, at the end, as pandas infers it for the whole
    column: ints with a missing cell are ``float64``, a column null on a whole page but
    numeric elsewhere stays numeric, bools with a missing cell and mixtures are ``object``,
    strings get pandas' default string dtype.

    Args:
        parse_dates: turn a column of strings that are all ISO-8601 date-times (a date,
            ``T`` or a space, a time, optional fractional seconds and offset: ``Z``,
            ``+02:00``) into ``datetime64[ns, UTC]``. A value without an offset is taken as
            UTC. Date-only strings (``1985-03-02``) do not count: a column with one of
            them, or with any value the ISO-8601 parser refuses or ``datetime64[ns]``
            cannot hold, stays strings, wholly.
        max_depth: levels of nested objects flattened, as ``json_normalize``'s
            ``max_level``: an object deeper than that is kept whole, as a dict cell (the
            flattening is iterative, so a hostile 100,000-level object costs no recursion).
        chunk_rows: rows of Python values a column holds before typing them into a chunk
            (see ``CHUNK_ROWS``).

    The builder keeps no reference to a page or its rows once :meth:`add` returns (only
    to cells that are themselves lists or dicts): drop the page before decoding the next
    one and the pull holds one decoded page at a time. Pages must be added from one
    thread at a time, in row order. :meth:`frame` hands the columns over to the DataFrame
    it returns, freeing the chunks as it goes: it can be called once, and nothing can be
    added after it.
    """

    def __init__(
        self,
        *,
        parse_dates: bool = True,
        max_depth: int = MAX_DEPTH,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        if max_depth < 0:
            raise ValueError("max_depth must be 0 or more")
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be 1 or more")
        self.parse_dates = parse_dates
        self.max_depth = max_depth
        self.chunk_rows = chunk_rows
        self._columns: dict[Hashable, _Column] = {}
        self._rows = 0
        self._done = False
        self._text: Any = None  # pandas' default string dtype, once pandas is imported

    def __len__(self) -> int:
        return self._rows

    @property
    def columns(self) -> list[Hashable]:
        """The column names so far, in the frame's order."""
        return list(self._columns)

    def add(self, rows: Iterable[Any]) -> None:
        """Add one page: the rows as decoded from JSON (dicts, normally)."""
        if self._done:
            raise RuntimeError("frame() was called: this builder takes no more rows")
        if isinstance(rows, (dict, str, bytes)):
            raise TypeError(f"add() takes a page of rows (a list), not a {type(rows).__name__}")
        page = rows if isinstance(rows, list) else list(rows)
        if not page:
            return
        types = set(map(type, page))
        if types == _DICT_TYPES or all(issubclass(t, dict) for t in types):
            cells = _flatten(page, types == _DICT_TYPES, self.max_depth)
        else:  # as records_frame: the rows themselves, one cell each
            cells = {"value": (tuple(page), types)}
        start, n = self._rows, len(page)
        del page, rows
        columns, chunk_rows = self._columns, self.chunk_rows
        for name, (values, value_types) in cells.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = _Column(self.parse_dates)
            if column.n < start:
                self._pad(column, start)
            column.segments.append(values)
            column.types |= value_types
            column.pending += n
            column.n += n
            if column.pending >= chunk_rows:
                self._seal(column)
        self._rows += n

    def frame(self) -> pd.DataFrame:
        """The DataFrame of every row added, with a fresh 0..n-1 RangeIndex."""
        import pandas as pd

        if self._done:
            raise RuntimeError("frame() was already called on this builder")
        self._done = True
        n, columns = self._rows, self._columns
        self._columns = {}
        if not n:
            return pd.DataFrame()
        data: dict[Hashable, Any] = {}
        for name in list(columns):
            column = columns.pop(name)  # freed once assembled: one column's copy at a time
            if column.n < n:
                self._pad(column, n)
            self._seal(column)
            data[name] = self._assemble(column.chunks, n)
            del column
        return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)

    def _pad(self, column: _Column, upto: int) -> None:
        """Absent cells for the rows before ``upto`` that did not have this column."""
        gap = upto - column.n
        if column.pending and gap <= self.chunk_rows:
            column.segments.append((_ABSENT,) * gap)
            column.types.add(float)
            column.pending += gap
        else:
            self._seal(column)
            column.chunks.append(_Chunk(_GAP, gap))
        column.n = upto

    def _seal(self, column: _Column) -> None:
        """Type the pending raw values into a chunk, and let them go."""
        segments = column.segments
        if not segments:
            return
        values = segments[0] if len(segments) == 1 else list(chain.from_iterable(segments))
        column.segments = []
        column.pending = 0
        types, column.types = column.types, set()
        chunk = self._chunk(column, values, types)
        if chunk.kind not in (_TEXT, _STAMP, _NULL):
            column.dates = False  # not a column of strings: no need to try reading dates
        _push(column.chunks, chunk)

    def _text_dtype(self) -> Any:
        if self._text is None:
            import pandas as pd

            self._text = pd.Series(["x"]).dtype  # "str" in pandas 3; object before
        return self._text

    def _chunk(self, column: _Column, values: Sequence[Any], types: set[type]) -> _Chunk:
        import numpy as np
        from pandas.api.types import infer_dtype

        n = len(values)
        if types == _INT:
            try:
                return _Chunk(_INT64, n, np.array(values, dtype=np.int64))
            except OverflowError:  # beyond int64: pandas' own inference decides, at the end
                return _Chunk(_OBJ, n, _objects(values, types))
        if types == _STR:
            return self._text_chunk(column, values, None, None, True)
        if types == _BOOL:
            return _Chunk(_BOOL8, n, np.array(values, dtype=bool))
        if types <= _NUMBERS_OR_NONE and not types <= _NONE:
            return _number_chunk(values, types)
        objects = _objects(values, types)
        kind = infer_dtype(objects, skipna=True)  # one C pass; None and NaN are skipped
        if kind == "string":
            return self._text_chunk(column, values, objects, _nones(values, types), False)
        if kind == "empty":
            return _Chunk(_NULL, n, objects)
        if kind in _NUMBERS:  # int or float subclasses
            return _number_chunk(values, types, objects)
        return _Chunk(_OBJ, n, objects)

    def _text_chunk(
        self, column: _Column, values: Sequence[Any], objects: Any, nones: Any, pure: bool
    ) -> _Chunk:
        import numpy as np
        import pandas as pd

        n = len(values)
        if column.dates:
            stamps = _stamps(values, objects, nones, pure)
            if stamps is not None:
                return stamps
            column.dates = False  # one chunk is not date-times: the column stays strings
        dtype = self._text_dtype()
        if pure and getattr(dtype, "storage", None) == "pyarrow":
            arrow = _arrow_text(values, dtype)
            if arrow is not None:
                return _Chunk(_TEXT, n, arrow)
        if objects is None:  # only strings: no object array was needed so far
            objects = _objects(values, {str})
        if dtype == np.dtype(object):
            return _Chunk(_TEXT, n, objects, nones=nones)
        return _Chunk(_TEXT, n, pd.array(objects, dtype=dtype), nones=nones)

    def _assemble(self, chunks: list[_Chunk], n: int) -> Any:
        """One column's cells from its chunks, freeing each chunk once it is copied."""
        import numpy as np

        for c in chunks:
            _trim(c)
        if len(chunks) == 1 and chunks[0].kind in (_INT64, _NUM, _BOOL8):
            return chunks.pop().data  # the column grew in one buffer: it is the column
        kinds = {c.kind for c in chunks}
        typed = kinds - {_GAP, _NULL}
        if not typed:
            if kinds == {_NULL} and all(all(v is None for v in c.data) for c in chunks):
                return _fill_objects(chunks, n)  # pandas keeps a column of nulls as object
            return np.full(n, np.nan)  # an absent cell or a NaN makes it float64
        if typed == {_INT64} and kinds == typed:
            return _fill(chunks, n, np.int64)
        if typed <= {_INT64, _NUM}:
            return _fill(chunks, n, np.float64)
        if typed == {_BOOL8} and kinds == typed:
            return _fill(chunks, n, bool)
        if typed == {_STAMP}:
            return _date_times(chunks, n)
        if typed <= {_TEXT, _STAMP}:
            return self._fill_text(chunks)
        return _infer(_fill_objects(chunks, n))

    def _fill_text(self, chunks: list[_Chunk]) -> Any:
        import numpy as np
        import pandas as pd

        dtype = self._text_dtype()
        plain = dtype == np.dtype(object)
        parts = []
        chunks.reverse()
        while chunks:
            c = chunks.pop()
            if c.kind == _TEXT:
                parts.append(c.data)
            else:
                cells = _stamp_texts(c) if c.kind == _STAMP else np.full(c.n, np.nan, object)
                parts.append(cells if plain else pd.array(cells, dtype=dtype))
            del c
        if plain:
            return np.concatenate(parts)
        return parts[0] if len(parts) == 1 else type(parts[0])._concat_same_type(parts)


def _arrow_text(values: Sequence[str], dtype: Any) -> Any:
    """Strings straight into pandas' Arrow string array (what ``pd.array(objects, dtype)``
    gives, without the object array and pandas' per-value checks); None if Arrow refuses
    one (a lone surrogate cannot be UTF-8): the caller then takes pandas' way."""
    import pyarrow as pa  # type: ignore[import-untyped]  # no stubs; only with pyarrow
    from pandas.arrays import ArrowStringArray

    try:
        # pandas' stubs lack the dtype argument; pandas 3's constructor takes it
        return ArrowStringArray(  # type: ignore[call-arg]
            pa.array(values, type=pa.large_string()), dtype=dtype
        )
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        return None


def build_frame(
    pages: Iterable[Iterable[Any]],
    *,
    parse_dates: bool = True,
    max_depth: int = MAX_DEPTH,
) -> pd.DataFrame:
    """``TableBuilder`` in one call: every page added in turn, then the frame.

    >>> build_frame([[{"a": 1}], [{"a": None, "b": [1, 2]}]]).to_dict("list")
    {'a': [1.0, nan], 'b': [nan, [1, 2]]}
    """
    builder = TableBuilder(parse_dates=parse_dates, max_depth=max_depth)
    for page in pages:
        builder.add(page)
    return builder.frame()
