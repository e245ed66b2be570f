"""One DataFrame from many pages of JSON rows, built column by column as the pages arrive.

:class:`TableBuilder` flattens each page's nested objects to dotted columns as it is added
and keeps, per column, a short list of raw values that is turned into a compact typed chunk
(``int64``, ``float64``, ``bool``, pandas' string array, or ``object`` when nothing narrower
holds the values exactly) every ``chunk_rows`` rows. The page's dicts are not kept. The
column's dtype is decided once, in :meth:`TableBuilder.frame`, from all its chunks together,
so it is the dtype pandas infers for the whole column, whatever the page splits.

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

import re
from collections.abc import Hashable, Iterable
from itertools import chain, repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["CHUNK_ROWS", "MAX_DEPTH", "TableBuilder", "build_frame"]

CHUNK_ROWS: Final = 4096
"""Rows of raw values a column holds before they become a typed chunk."""
MAX_DEPTH: Final = 32
"""Levels of nested objects flattened by default; deeper objects stay dict cells."""

# The cell of an absent key: pandas' own mark (json_normalize and pd.DataFrame give NaN).
# Absent cells are told from JSON's null (None) and from a float NaN a row may carry by
# identity with this one object, never by value.
_ABSENT: Final = float("nan")
# Stands in for a row whose value under a nested key is not an object: it has no sub-keys.
_NO_KEYS: Final[dict[Any, Any]] = {}
_END: Final = object()
# Types of JSON values that are certainly not objects (a set test instead of issubclass).
_PLAIN: Final = frozenset({int, float, str, bool, type(None), list})
_INT: Final = frozenset({int})
_FLOAT: Final = frozenset({float})
_STR: Final = frozenset({str})
_BOOL: Final = frozenset({bool})
_NONE_TYPE: Final = type(None)
_EXACT_FLOAT_INT: Final = 2**53  # ints up to this size survive a trip through float64

# A value may be a date-time if it starts like one: date, separator, hour. The whole value
# is then checked by pandas' ISO-8601 parser, which raises on anything it does not read.
_ISO_HEAD: Final = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d")
_DATE_TIME_SEPARATORS: Final = frozenset("Tt ")
_SHORTEST_DATE_TIME: Final = len("2024-01-01T08")

# Chunk kinds.
_GAP, _NULL, _INT64, _NUM, _BOOL8, _TEXT, _OBJ = range(7)


class _Chunk:
    """``n`` consecutive cells of one column, held as compactly as keeps them exact.

    ``_GAP``: all absent (no data). ``_NULL``: only None/NaN (``data``: object array).
    ``_INT64``: ``data`` int64, nothing missing. ``_NUM``: ``data`` float64 with NaN for the
    missing cells; ``ints`` says which cells were Python ints (True: every present cell; an
    array: those cells; None: none), ``nones`` which missing cells were None. ``_BOOL8``:
    ``data`` bool, nothing missing. ``_TEXT``: ``data`` a pandas string array (an object
    array where pandas has no string dtype), ``nones`` as for ``_NUM``, ``dates`` whether
    every string starts like an ISO-8601 date-time. ``_OBJ``: ``data`` the values as they
    came, in an object array.
    """

    __slots__ = ("data", "dates", "ints", "kind", "n", "nones")

    def __init__(
        self,
        kind: int,
        n: int,
        data: Any = None,
        *,
        ints: Any = None,
        nones: Any = None,
        dates: bool = False,
    ) -> None:
        self.kind = kind
        self.n = n
        self.data = data
        self.ints = ints
        self.nones = nones
        self.dates = dates


class _Column:
    """One column under construction: typed chunks, then the raw values not yet chunked."""

    __slots__ = ("chunks", "n", "pending", "types")

    def __init__(self) -> None:
        self.chunks: list[_Chunk] = []
        self.pending: list[Any] = []
        self.types: set[type] = set()
        self.n = 0  # rows covered by chunks and pending values


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
        chunk_rows: rows of raw values a column holds before typing them into a chunk.

    Pages must be added from one thread at a time, in row order. :meth:`frame` hands the
    columns over to the DataFrame it returns, freeing the chunks as it goes: it can be
    called once, and nothing can be added after it.
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
        page = rows if isinstance(rows, list) else list(rows)
        if not page:
            return
        types = set(map(type, page))
        if types <= _DICT_TYPES or all(issubclass(t, dict) for t in types):
            cells = _flatten(page, self.max_depth)
        else:
            cells = {"value": (list(page), types)}
        start, n = self._rows, len(page)
        del page
        columns, chunk_rows = self._columns, self.chunk_rows
        for name, (values, value_types) in cells.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = _Column()
            if column.n < start:
                self._pad(column, start)
            if column.pending:
                column.pending += values
                column.types |= value_types
            else:
                column.pending, column.types = values, value_types
            column.n += n
            if len(column.pending) >= chunk_rows:
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
        if gap <= self.chunk_rows and column.pending:
            column.pending += repeat(_ABSENT, gap)
            column.types.add(float)
        else:
            self._seal(column)
            column.chunks.append(_Chunk(_GAP, gap))
        column.n = upto

    def _seal(self, column: _Column) -> None:
        """Type the pending raw values into a chunk, and let them go."""
        if column.pending:
            column.chunks.append(self._chunk(column.pending, column.types))
            column.pending, column.types = [], set()

    def _text_dtype(self) -> Any:
        if self._text is None:
            import pandas as pd

            self._text = pd.Series(["x"]).dtype  # "str" in pandas 3; object before
        return self._text

    def _chunk(self, values: list[Any], types: set[type]) -> _Chunk:
        import numpy as np
        from pandas.api.types import infer_dtype

        n = len(values)
        if types == _INT:
            try:
                return _Chunk(_INT64, n, np.array(values, dtype=np.int64))
            except OverflowError:  # beyond int64: pandas' own inference decides, at the end
                return _Chunk(_OBJ, n, _objects(values))
        if types == _STR:
            return self._text_chunk(values, n, None)
        if types == _BOOL:
            return _Chunk(_BOOL8, n, np.array(values, dtype=bool))
        if types == _FLOAT:
            floats = np.array(values, dtype=np.float64)
            if np.isnan(floats).all():
                return _Chunk(_NULL, n, _objects(values))
            return _Chunk(_NUM, n, floats)
        objects = _objects(values)
        kind = infer_dtype(objects, skipna=True)  # one C pass; None and NaN are skipped
        nones = None
        if _NONE_TYPE in types and kind in ("integer", "floating", "mixed-integer-float", "string"):
            nones = np.flatnonzero(np.fromiter(map(is_, values, repeat(None)), bool, n))
        if kind == "string":
            return self._text_chunk(values, n, nones, objects)
        if kind == "empty":
            return _Chunk(_NULL, n, objects)
        if kind in ("integer", "floating", "mixed-integer-float"):
            floats = np.array(values, dtype=np.float64)  # None -> NaN
            present = ~np.isnan(floats)
            if kind == "integer" and present.all():
                try:
                    return _Chunk(_INT64, n, np.array(values, dtype=np.int64))
                except OverflowError:
                    return _Chunk(_OBJ, n, objects)
            ints: Any = None
            if kind == "integer":
                ints = True
            elif int in types:
                ints = np.fromiter(map(int.__instancecheck__, values), bool, n)
            if ints is not None:
                where = present if ints is True else ints
                if where.any() and np.abs(floats[where]).max() > _EXACT_FLOAT_INT:
                    return _Chunk(_OBJ, n, objects)  # float64 would round them
            return _Chunk(_NUM, n, floats, ints=ints, nones=nones)
        return _Chunk(_OBJ, n, objects)

    def _text_chunk(self, values: list[Any], n: int, nones: Any, objects: Any = None) -> _Chunk:
        import numpy as np
        import pandas as pd

        dates = self.parse_dates and _may_be_date_times(values, nones is None and objects is None)
        if objects is None:
            objects = _objects(values)
        dtype = self._text_dtype()
        if dtype == np.dtype(object):
            return _Chunk(_TEXT, n, objects, nones=nones, dates=dates)
        return _Chunk(_TEXT, n, pd.array(objects, dtype=dtype), nones=nones, dates=dates)

    def _assemble(self, chunks: list[_Chunk], n: int) -> Any:
        """One column's cells from its chunks, freeing each chunk once it is copied."""
        import numpy as np

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
        if typed == {_TEXT}:
            if self.parse_dates and all(c.dates for c in chunks if c.kind == _TEXT):
                stamps = _date_times(chunks)
                if stamps is not None:
                    chunks.clear()
                    return stamps
            return self._fill_text(chunks, n)
        return _infer(_fill_objects(chunks, n))

    def _fill_text(self, chunks: list[_Chunk], n: int) -> Any:
        import numpy as np
        import pandas as pd

        dtype = self._text_dtype()
        parts = []
        for c in chunks:
            if c.kind == _TEXT:
                parts.append(c.data)
            else:
                parts.append(np.full(c.n, np.nan, dtype=object))
        chunks.clear()
        if dtype == np.dtype(object):
            return np.concatenate(parts)
        parts = [p if not isinstance(p, np.ndarray) else pd.array(p, dtype=dtype) for p in parts]
        return parts[0] if len(parts) == 1 else type(parts[0])._concat_same_type(parts)


_DICT_TYPES: Final = frozenset({dict})


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


# -- flattening a page ------------------------------------------------------------------------


def _keys(rows: list[Any]) -> tuple[list[Any], bool]:
    """The keys of ``rows`` in order of first appearance, and whether every row has them all."""
    first = rows[0]
    width = len(first)
    union = set().union(*rows)
    if len(union) == width:  # the first row has every key: its order is the order
        return list(first), set(map(len, rows)) == {width}
    return list(dict.fromkeys(chain.from_iterable(rows))), False


def _holds_objects(types: set[type]) -> bool:
    return not types <= _PLAIN and (dict in types or any(issubclass(t, dict) for t in types))


def _take(rows: list[Any], key: Any, dense: bool) -> list[Any]:
    if dense:
        return list(map(itemgetter(key), rows))
    return [r.get(key, _ABSENT) for r in rows]


def _split(
    values: list[Any], types: set[type]
) -> tuple[list[Any], list[Any] | None, set[type] | None]:
    """A column holding objects -> (the objects as sub-rows, the other values or None)."""
    if all(issubclass(t, dict) for t in types):
        return values, None, None
    sub = [v if isinstance(v, dict) else _NO_KEYS for v in values]
    scalars = [_ABSENT if isinstance(v, dict) else v for v in values]
    if all(v is _ABSENT for v in scalars):
        return sub, None, None
    return sub, scalars, set(map(type, scalars))


def _put(
    out: dict[Hashable, tuple[list[Any], set[type]]],
    name: Hashable,
    values: list[Any],
    types: set[type],
) -> None:
    before = out.get(name)
    if before is None:
        out[name] = (values, types)
        return
    # Two paths, one dotted name: the later wins where it is present (as a dict update does).
    merged = [old if new is _ABSENT else new for old, new in zip(before[0], values, strict=True)]
    out[name] = (merged, set(map(type, merged)))


def _flatten(rows: list[Any], max_depth: int) -> dict[Hashable, tuple[list[Any], set[type]]]:
    """A page of dict rows -> {column name: (cells, their types)}, in ``records_frame`` order:
    top-level scalars first, then each nested object's columns, depth first, in place."""
    out: dict[Hashable, tuple[list[Any], set[type]]] = {}
    nested: list[tuple[str, list[Any]]] = []
    keys, dense = _keys(rows)
    for key in keys:
        values = _take(rows, key, dense)
        types = set(map(type, values))
        if max_depth > 0 and _holds_objects(types):
            sub, scalars, scalar_types = _split(values, types)
            if scalars is not None and scalar_types is not None:
                _put(out, key, scalars, scalar_types)
            nested.append((str(key), sub))
        else:
            _put(out, key, values, types)
    for prefix, sub in nested:
        _descend(out, prefix, sub, max_depth)
    return out


def _descend(
    out: dict[Hashable, tuple[list[Any], set[type]]],
    prefix: str,
    rows: list[Any],
    max_depth: int,
) -> None:
    """Flatten one nested object's sub-rows into ``out``, with a stack rather than recursion."""
    keys, dense = _keys(rows)
    stack = [(prefix, rows, 1, iter(keys), dense)]
    while stack:
        prefix, rows, level, pending, dense = stack[-1]
        key = next(pending, _END)
        if key is _END:
            stack.pop()
            continue
        # json_normalize's names: f"{parent}.{key}", the dot dropped under an empty name
        name = f"{prefix}.{key}" if prefix else str(key)
        values = _take(rows, key, dense)
        types = set(map(type, values))
        if level < max_depth and _holds_objects(types):
            sub, scalars, scalar_types = _split(values, types)
            if scalars is not None and scalar_types is not None:
                _put(out, name, scalars, scalar_types)
            sub_keys, sub_dense = _keys(sub)
            stack.append((name, sub, level + 1, iter(sub_keys), sub_dense))
        else:
            _put(out, name, values, types)


# -- typing and assembling ------------------------------------------------------------------


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array of ``values``, never reading list cells as a second dimension."""
    import numpy as np

    return np.fromiter(values, dtype=object, count=len(values))


def _may_be_date_times(values: list[Any], pure: bool) -> bool:
    """Whether every string starts like an ISO-8601 date-time (date, separator, an hour):
    a test of the first one and of two characters' worth of every other."""
    texts = values if pure else [v for v in values if isinstance(v, str)]
    if not texts or not _ISO_HEAD.match(texts[0]):
        return False
    if min(map(len, texts)) < _SHORTEST_DATE_TIME:
        return False
    return set(map(itemgetter(10), texts)) <= _DATE_TIME_SEPARATORS


def _date_times(chunks: list[_Chunk]) -> Any:
    """The column as ``datetime64[ns, UTC]``, or None if any string is not a date-time."""
    import pandas as pd

    parts = []
    try:
        for c in chunks:
            if c.kind == _TEXT:
                stamps = pd.to_datetime(c.data, format="ISO8601", utc=True, cache=False)
                parts.append(pd.Series(stamps.as_unit("ns"), copy=False))
            else:
                parts.append(pd.Series(pd.NaT, index=pd.RangeIndex(c.n), dtype="M8[ns, UTC]"))
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        return None
    if len(parts) == 1:
        return parts[0].array
    return pd.concat(parts, ignore_index=True).array


def _fill(chunks: list[_Chunk], n: int, dtype: Any) -> np.ndarray:
    """A numeric column: one array of ``n`` cells, each chunk copied in and then let go."""
    import numpy as np

    out = np.empty(n, dtype=dtype)
    at = 0
    chunks.reverse()
    while chunks:
        c = chunks.pop()
        end = at + c.n
        if c.kind in (_GAP, _NULL):
            out[at:end] = np.nan
        else:
            out[at:end] = c.data
        at = end
        del c
    return out


def _fill_objects(chunks: list[_Chunk], n: int) -> np.ndarray:
    """The column's cells as the Python values they came as (ints, floats, None, NaN...)."""
    import numpy as np

    out = np.empty(n, dtype=object)
    at = 0
    chunks.reverse()
    while chunks:
        c = chunks.pop()
        end = at + c.n
        part = out[at:end]
        if c.kind == _GAP:
            part[:] = np.nan
        elif c.kind in (_NULL, _OBJ):
            part[:] = c.data
        elif c.kind == _NUM:
            part[:] = c.data.astype(object)
            if c.ints is not None:
                where = ~np.isnan(c.data) if c.ints is True else c.ints
                part[where] = [int(v) for v in c.data[where]]
        elif c.kind == _TEXT:
            part[:] = c.data if isinstance(c.data, np.ndarray) else c.data.to_numpy(object)
        else:  # _INT64, _BOOL8: numpy gives Python ints and bools
            part[:] = c.data.astype(object)
        if c.nones is not None:
            part[c.nones] = None
        at = end
        del c
    return out


def _infer(objects: np.ndarray) -> Any:
    """pandas' dtype for a column of Python values (what ``pd.DataFrame(rows)`` infers)."""
    import pandas as pd

    return pd.Series(objects, dtype=object, copy=False).infer_objects().array
