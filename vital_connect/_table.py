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

import re
from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from itertools import chain, repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["CHUNK_ROWS", "MAX_DEPTH", "TableBuilder", "build_frame"]

CHUNK_ROWS: Final = 1000
"""Rows of Python values a column holds before they become a typed chunk. Small: pending
values (about 4x an int64 column) also keep the allocator's arenas of their page in use;
larger chunks save little time (one pandas call per chunk and string column)."""
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
_GAP, _NULL, _INT64, _NUM, _BOOL8, _TEXT, _STAMP, _OBJ = range(8)
_NAT: Final = -(2**63)  # NaT as int64


class _Chunk:
    """``n`` consecutive cells of one column, held as compactly as keeps them exact.

    ``_GAP``: all absent (no data). ``_NULL``: only None/NaN (``data``: object array).
    ``_INT64``: ``data`` int64, nothing missing. ``_NUM``: ``data`` float64 with NaN for the
    missing cells; ``ints`` says which cells were Python ints (True: every present cell; an
    array: those cells; None: none), ``nones`` which missing cells were None. ``_BOOL8``:
    ``data`` bool, nothing missing. ``_TEXT``: ``data`` a pandas string array (an object
    array where pandas has no string dtype), ``nones`` as for ``_NUM``. ``_STAMP``: strings
    that all parsed as ISO-8601 date-times: ``data`` their instants (int64 ns since the
    epoch, UTC, NaT for the missing cells) and what gives the strings back if another chunk
    of the column is not date-times: ``text``, the strings joined end to end, and ``width``
    their length (an int when all have one, else an int32 array), or, when numpy writes
    them exactly, no text and ``width`` its spelling (unit, timezone, separator). ``_OBJ``:
    ``data`` the values as they came, in an object array.
    """

    __slots__ = ("data", "ints", "kind", "n", "nones", "text", "width")

    def __init__(
        self,
        kind: int,
        n: int,
        data: Any = None,
        *,
        ints: Any = None,
        nones: Any = None,
        text: str = "",
        width: Any = 0,
    ) -> None:
        self.kind = kind
        self.n = n
        self.data = data
        self.ints = ints
        self.nones = nones
        self.text = text
        self.width = width


class _Column:
    """One column under construction: typed chunks, then the cells not typed yet, as the
    per-page tuples they came in (a tuple of scalars is untracked by the garbage collector
    once it has seen it; a list would be scanned again at every collection), with the set
    of their types."""

    __slots__ = ("chunks", "dates", "n", "pending", "segments", "types")

    def __init__(self, dates: bool) -> None:
        self.chunks: list[_Chunk] = []
        self.segments: list[Sequence[Any]] = []
        self.pending = 0  # values in segments
        self.types: set[type] = set()
        self.n = 0  # rows covered by chunks and segments
        self.dates = dates  # still possibly a column of date-times


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
            return self._text_chunk(column, values, _objects(values, types), None, True)
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


_DICT_TYPES: Final = frozenset({dict})
_NUMBERS: Final = frozenset({"integer", "floating", "mixed-integer-float"})
_NUMBERS_OR_NONE: Final = frozenset({int, float, type(None)})
_NONE: Final = frozenset({type(None)})
# Values numpy never reads as a further dimension of an object array.
_FLAT: Final = frozenset({int, float, str, bool, type(None)})


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

_Cells = dict[Hashable, tuple[Sequence[Any], set[type]]]


def _columns_of(rows: Sequence[Any], plain: bool) -> list[tuple[Any, Sequence[Any]]]:
    """``rows`` (dicts; ``plain``: all exactly ``dict``) as (key, cells) pairs, keys in order
    of first appearance, an absent key's cell ``_ABSENT``. Cells come as tuples: once the GC
    has seen that they hold no containers it stops scanning them."""
    first = rows[0]
    width = len(first)
    dense = set(map(len, rows)) == {width}
    if dense and plain:
        # Every row has as many keys as the first: if each has the first's keys, they are all
        # the keys. A missing one raises KeyError (a plain dict has no __missing__).
        try:
            return [(key, tuple(map(itemgetter(key), rows))) for key in first]
        except KeyError:
            pass
    if len(set().union(*rows)) == width:  # the first row has every key: its order is the order
        keys = list(first)
        if dense:  # and so has every row
            return [(key, tuple(map(itemgetter(key), rows))) for key in keys]
    else:
        keys = list(dict.fromkeys(chain.from_iterable(rows)))
    return [(key, tuple(map(dict.get, rows, repeat(key), repeat(_ABSENT)))) for key in keys]


def _holds_objects(types: set[type]) -> bool:
    return not types <= _PLAIN and (dict in types or any(issubclass(t, dict) for t in types))


def _split(
    values: Sequence[Any], types: set[type]
) -> tuple[Sequence[Any], bool, tuple[Any, ...] | None, set[type] | None]:
    """A column holding objects -> (the objects as sub-rows, whether they are all plain
    dicts, the other values or None)."""
    if types == _DICT_TYPES:
        return values, True, None, None
    plain = {t for t in types if issubclass(t, dict)} == _DICT_TYPES
    if all(issubclass(t, dict) for t in types):
        return values, plain, None, None
    sub = [v if isinstance(v, dict) else _NO_KEYS for v in values]
    scalars = tuple([_ABSENT if isinstance(v, dict) else v for v in values])
    if all(v is _ABSENT for v in scalars):
        return sub, plain, None, None
    return sub, plain, scalars, set(map(type, scalars))


def _put(out: _Cells, name: Hashable, values: Sequence[Any], types: set[type]) -> None:
    before = out.get(name)
    if before is None:
        out[name] = (values, types)
        return
    # Two paths, one dotted name: the later wins where it is present (as a dict update does).
    merged = tuple(
        [old if new is _ABSENT else new for old, new in zip(before[0], values, strict=True)]
    )
    out[name] = (merged, set(map(type, merged)))


def _flatten(rows: list[Any], plain: bool, max_depth: int) -> _Cells:
    """A page of dict rows -> {column name: (cells, their types)}, in ``records_frame`` order:
    top-level scalars first, then each nested object's columns, depth first, in place."""
    out: _Cells = {}
    nested: list[tuple[str, Sequence[Any], bool]] = []
    for key, values in _columns_of(rows, plain):
        types = set(map(type, values))
        if max_depth > 0 and _holds_objects(types):
            sub, sub_plain, scalars, scalar_types = _split(values, types)
            if scalars is not None and scalar_types is not None:
                _put(out, key, scalars, scalar_types)
            nested.append((str(key), sub, sub_plain))
        else:
            _put(out, key, values, types)
    for prefix, sub, sub_plain in nested:
        _descend(out, prefix, sub, sub_plain, max_depth)
    return out


def _descend(out: _Cells, prefix: str, rows: Sequence[Any], plain: bool, max_depth: int) -> None:
    """Flatten one nested object's sub-rows into ``out``, with a stack rather than recursion."""
    stack = [(prefix, 1, iter(_columns_of(rows, plain)))]
    while stack:
        prefix, level, pending = stack[-1]
        item = next(pending, None)
        if item is None:
            stack.pop()
            continue
        key, values = item
        # json_normalize's names: f"{parent}.{key}", the dot dropped under an empty name
        name = f"{prefix}.{key}" if prefix else str(key)
        types = set(map(type, values))
        if level < max_depth and _holds_objects(types):
            sub, sub_plain, scalars, scalar_types = _split(values, types)
            if scalars is not None and scalar_types is not None:
                _put(out, name, scalars, scalar_types)
            stack.append((name, level + 1, iter(_columns_of(sub, sub_plain))))
        else:
            _put(out, name, values, types)


# -- typing and assembling ------------------------------------------------------------------


# -- chunks that grow ------------------------------------------------------------------------
# Consecutive chunks of numbers, bools or date-times of one layout are appended to one
# buffer that grows geometrically (ndarray.resize: realloc, which remaps large blocks in
# place rather than copying them), so a column that keeps one type is, at the end, already
# its final array: no copy of it is made (and none is held twice) when the frame is built.
# A growing chunk's arrays may be longer than its ``n`` cells until ``_trim``.

_GROWS: Final = frozenset({_INT64, _NUM, _BOOL8, _STAMP})


def _push(chunks: list[_Chunk], new: _Chunk) -> None:
    import numpy as np

    last = chunks[-1] if chunks else None
    if last is None or not _joins(last, new):
        chunks.append(new)
        return
    if last.kind != new.kind:  # ints and floats: both as floats (exact: _joins checked)
        for c in (last, new):
            if c.kind == _INT64:
                c.kind, c.data, c.ints = _NUM, c.data[: c.n].astype(np.float64), True
    at, end = last.n, last.n + new.n
    last.data = _room(last.data, at, end)
    last.data[at:end] = new.data
    if last.kind == _NUM and not (last.ints is new.ints and last.ints in (None, True)):
        mask = _room(_int_mask(last), at, end)
        mask[at:end] = _int_mask(new)[: new.n]
        last.ints = mask
    if new.nones is not None:
        before = last.nones if last.nones is not None else new.nones[:0]
        last.nones = np.concatenate([before, new.nones + at])
    last.n = end


def _joins(last: _Chunk, new: _Chunk) -> bool:
    import numpy as np

    kinds = {last.kind, new.kind}
    if not kinds <= _GROWS:
        return False
    if len(kinds) == 1:
        # date-times join when numpy can write them back (no text kept), in one spelling
        spellings = (last.width, new.width)
        return last.kind != _STAMP or (
            all(isinstance(w, tuple) for w in spellings) and spellings[0] == spellings[1]
        )
    if kinds != {_INT64, _NUM}:
        return False
    ints = last if last.kind == _INT64 else new
    return not ints.n or int(np.abs(ints.data[: ints.n]).max()) <= _EXACT_FLOAT_INT


def _room(buffer: Any, used: int, needed: int) -> Any:
    """``buffer`` (its first ``used`` cells kept) with room for ``needed`` cells."""
    if len(buffer) >= needed:
        return buffer
    if not buffer.flags.owndata or not buffer.flags.c_contiguous:
        buffer = buffer[:used].copy()
    buffer.resize(max(needed, len(buffer) * 3 // 2), refcheck=False)  # nothing else sees it
    return buffer


def _int_mask(c: _Chunk) -> Any:
    """Which cells of a ``_NUM`` chunk were ints, as a bool array (a growing buffer as is)."""
    import numpy as np

    if c.ints is None:
        return np.zeros(c.n, dtype=bool)
    if c.ints is True:
        return ~np.isnan(c.data[: c.n])
    return c.ints


def _trim(c: _Chunk) -> None:
    """A chunk's arrays cut to its ``n`` cells (in place: no copy)."""
    for name in ("data", "ints"):
        value = getattr(c, name)
        if c.kind in _GROWS and hasattr(value, "resize") and len(value) != c.n:
            value.resize(c.n, refcheck=False)


def _nones(values: Sequence[Any], types: set[type]) -> Any:
    """Where ``values`` holds None (JSON's null), or None if nowhere."""
    import numpy as np

    if _NONE_TYPE not in types:
        return None
    return np.flatnonzero(np.fromiter(map(is_, values, repeat(None)), bool, len(values)))


def _number_chunk(values: Sequence[Any], types: set[type], objects: Any = None) -> _Chunk:
    """Ints and floats, with None or absent cells: float64, and which cells were ints."""
    import numpy as np

    n = len(values)
    try:
        floats = np.array(values, dtype=np.float64)  # None -> NaN
    except OverflowError:  # an int beyond float64
        return _Chunk(_OBJ, n, _objects(values, types) if objects is None else objects)
    present = ~np.isnan(floats)
    ints: Any = None
    if any(issubclass(t, int) for t in types):
        ints = np.fromiter(map(int.__instancecheck__, values), bool, n)
        if ints.all():  # ints only (subclasses of int, as exact ints come as _INT)
            try:
                return _Chunk(_INT64, n, np.array(values, dtype=np.int64))
            except OverflowError:
                return _Chunk(_OBJ, n, _objects(values, types) if objects is None else objects)
        if np.array_equal(ints, present):
            ints = True  # every present cell is an int: a column of ints with missing cells
        where = present if ints is True else ints
        if where.any() and np.abs(floats[where]).max() > _EXACT_FLOAT_INT:
            # float64 would round them: keep them exact, for an object column if need be
            return _Chunk(_OBJ, n, _objects(values, types) if objects is None else objects)
    elif not present.any():
        return _Chunk(_NULL, n, _objects(values, types) if objects is None else objects)
    return _Chunk(_NUM, n, floats, ints=ints, nones=_nones(values, types))


def _objects(values: Sequence[Any], types: set[type]) -> np.ndarray:
    """A 1-d object array of ``values``, never reading list cells as a second dimension."""
    import numpy as np

    if types <= _FLAT:
        return np.array(values, dtype=object)
    return np.fromiter(values, dtype=object, count=len(values))


def _stamps(values: Sequence[Any], objects: Any, nones: Any, pure: bool) -> _Chunk | None:
    """A chunk of strings as instants, if every one is an ISO-8601 date-time; else None.

    Strings of one width and one layout are read with numpy, which checks every character.
    Otherwise a cheap test comes first, so that date-only strings never count (each is long
    enough for an hour and has a date-time separator after its date), then pandas'
    ISO-8601 parser reads them all or raises.
    """
    import numpy as np
    import pandas as pd

    texts = values if pure else [v for v in values if isinstance(v, str)]
    first = texts[0]
    if not _ISO_HEAD.match(first):
        return None
    widths = set(map(len, texts))
    if len(widths) == 1:
        width = len(first)
        layout = _iso_layout(first, width)
        text = "".join(texts)
        found = None if layout is None else _fixed_width_instants(text, width, layout)
        if found is not None and layout is not None:
            instants, separator = found
            if not pure:  # place the instants among the missing cells
                instants = np.full(len(values), _NAT, dtype=np.int64)
                instants[~pd.isna(objects)] = found[0]
            unit = _UNITS.get(layout[:2])
            if unit is not None and separator and layout[2] != "+":
                # numpy writes these strings back exactly: no need to keep them
                spelling = (unit, "UTC" if layout[2] == "Z" else "naive", separator)
                return _Chunk(_STAMP, len(values), instants, nones=nones, width=spelling)
            return _Chunk(_STAMP, len(values), instants, nones=nones, text=text, width=width)
    if min(widths) < _SHORTEST_DATE_TIME:
        return None
    if not set(map(itemgetter(10), texts)) <= _DATE_TIME_SEPARATORS:
        return None
    try:
        parsed = pd.to_datetime(objects, format="ISO8601", utc=True, cache=False)
        instants = parsed.as_unit("ns").asi8  # OutOfBoundsDatetime past 2262
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        return None
    lengths: Any = len(first)
    if len(widths) > 1:
        lengths = np.fromiter(map(len, texts), dtype=np.int32, count=len(texts))
    return _Chunk(_STAMP, len(values), instants, nones=nones, text="".join(texts), width=lengths)


_MONTH_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_UNITS: Final = {(False, 0): "m", (True, 0): "s", (True, 3): "ms", (True, 6): "us", (True, 9): "ns"}


def _iso_layout(sample: str, width: int) -> tuple[bool, int, str] | None:
    """The layout of one ISO-8601 date-time as (seconds?, fraction digits, offset form:
    "" none, "Z", "+" for ±HH:MM), if it is one this module reads itself."""
    if len(sample) != width or width < 16 or sample[13] != ":":
        return None
    at, seconds, digits = 16, False, 0
    if width > at and sample[at] == ":":
        seconds, at = True, at + 3
        if width > at and sample[at] == ".":
            end = at + 1
            while end < width and sample[end].isdigit():
                end += 1
            digits, at = end - at - 1, end
            if not 1 <= digits <= 9:
                return None
    rest = sample[at:]
    if rest in ("", "Z"):
        return seconds, digits, rest
    if len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        return seconds, digits, "+"
    return None


@lru_cache(maxsize=64)
def _template(width: int, layout: tuple[bool, int, str]) -> tuple[Any, ...]:
    """What every string of this width and layout must be, character by character (lowest
    and highest byte: digits, or one fixed character; the T-or-space separator and an
    offset's sign are checked apart), and where its two-digit fields are, with their
    ranges: century, year, month, day, hour, minute[, second][, offset hour, minute]."""
    import numpy as np

    seconds, digits, offset = layout
    lo = np.full(width, ord("0"), dtype=np.uint8)
    hi = np.full(width, ord("9"), dtype=np.uint8)
    fixed = {4: "-", 7: "-", 13: ":"}
    pairs = [0, 2, 5, 8, 11, 14]
    low, high = [0, 0, 1, 1, 0, 0], [99, 99, 12, 31, 23, 59]
    if seconds:
        fixed[16] = ":"
        pairs.append(17)
        low.append(0)
        high.append(59)
    if digits:
        fixed[19] = "."
    tz = width - 6
    if offset == "Z":
        fixed[width - 1] = "Z"
    elif offset:
        fixed[tz + 3] = ":"
        pairs += [tz + 1, tz + 4]
        low += [0, 0]
        high += [23, 59]
        lo[tz], hi[tz] = ord("+"), ord("-")
    for at, char in fixed.items():
        lo[at] = hi[at] = ord(char)
    lo[10], hi[10] = ord(" "), ord("T")
    tens = np.array(pairs)
    powers = 10 ** np.arange(8, 8 - digits, -1, dtype=np.int64)
    return lo, hi, tens, np.array(low), np.array(high), powers, tz


def _fixed_width_instants(
    text: str, width: int, layout: tuple[bool, int, str]
) -> tuple[Any, str] | None:
    """Instants (int64 ns, UTC) of ``text``: date-times of one ``width`` and ``layout``
    (``YYYY-MM-DD``, ``T`` or a space, ``HH:MM``, optional ``:SS`` and fraction, then ``Z``,
    ``±HH:MM`` or nothing, taken as UTC), read at once with numpy; and the separator they
    all use ("" if both). None when any of them is not exactly that, or is outside
    1678-2261: pandas' parser then decides."""
    import numpy as np

    if not text.isascii():
        return None
    seconds, digits, offset = layout
    lo, hi, tens, low, high, powers, tz = _template(width, layout)
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(-1, width)
    if not ((chars >= lo) & (chars <= hi)).all():
        return None
    tees = chars[:, 10] == ord("T")
    if tees.all():
        separator = "T"
    elif (chars[:, 10] == ord(" ")).all():
        separator = " "
    elif (tees | (chars[:, 10] == ord(" "))).all():
        separator = ""
    else:
        return None
    if offset == "+" and (chars[:, tz] == ord(",")).any():  # between "+" and "-"
        return None
    fields = chars[:, tens].astype(np.int64) * 10 + chars[:, tens + 1] - 11 * ord("0")
    if not ((fields >= low) & (fields <= high)).all():
        return None
    year = fields[:, 0] * 100 + fields[:, 1]
    month, day, hour, minute = fields[:, 2], fields[:, 3], fields[:, 4], fields[:, 5]
    if not ((year >= 1678) & (year <= 2261)).all():
        return None
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = np.array(_MONTH_DAYS)[month - 1] + ((month == 2) & leap)
    if not (day <= last).all():
        return None
    # days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    total = ((days * 24 + hour) * 60 + minute) * 60
    if seconds:
        total += fields[:, 6]
    if offset == "+":
        sign = np.where(chars[:, tz] == ord("-"), -1, 1)
        total -= sign * (fields[:, -2] * 3600 + fields[:, -1] * 60)
    instants = total * 1_000_000_000
    if digits:
        instants += (chars[:, 20 : 20 + digits].astype(np.int64) - ord("0")) @ powers
    return instants, separator


def _stamp_texts(c: _Chunk) -> np.ndarray:
    """The strings a ``_STAMP`` chunk was parsed from (NaN or None where cells were missing)."""
    import numpy as np

    text, width = c.text, c.width
    present = c.data != _NAT
    texts: Any
    if isinstance(width, tuple):  # a layout numpy writes exactly as it was read
        unit, timezone, separator = width
        stamps = c.data[present].view("M8[ns]")
        texts = np.datetime_as_string(stamps, unit=unit, timezone=timezone).tolist()
        if separator != "T":
            texts = [t[:10] + separator + t[11:] for t in texts]
    elif isinstance(width, int):
        texts = [text[i : i + width] for i in range(0, len(text), width)]
    else:
        ends = np.cumsum(width).tolist()
        texts = [text[a:b] for a, b in zip([0, *ends], ends, strict=False)]
    out = np.full(c.n, np.nan, dtype=object)
    out[present] = texts
    if c.nones is not None:
        out[c.nones] = None
    return out


def _date_times(chunks: list[_Chunk], n: int) -> Any:
    """A column of ``_STAMP`` chunks (and missing cells) as ``datetime64[ns, UTC]``."""
    import numpy as np
    import pandas as pd

    if len(chunks) == 1:  # the column grew in one buffer
        instants = chunks.pop().data
    else:
        instants = np.empty(n, dtype=np.int64)
        at = 0
        chunks.reverse()
        while chunks:
            c = chunks.pop()
            instants[at : at + c.n] = c.data if c.kind == _STAMP else _NAT
            at += c.n
            del c
    # one copy (pandas' public constructors all copy); tz_localize would make a second
    return pd.array(instants.view("M8[ns]"), dtype=pd.DatetimeTZDtype("ns", "UTC"))


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
        elif c.kind == _STAMP:
            part[:] = _stamp_texts(c)
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
