"""Flattening a page's rows into columns, and typing the columns' chunks (see ``_table``)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from itertools import chain, repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

from ._table_base import (
    _ABSENT,
    _BOOL8,
    _EXACT_FLOAT_INT,
    _GAP,
    _INT64,
    _NO_KEYS,
    _NONE_TYPE,
    _NULL,
    _NUM,
    _OBJ,
    _PLAIN,
    _STAMP,
    _TEXT,
    _Cells,
    _Chunk,
)
from ._table_dates import _stamp_texts

_DICT_TYPES: Final = frozenset({dict})


_NUMBERS: Final = frozenset({"integer", "floating", "mixed-integer-float"})


_NUMBERS_OR_NONE: Final = frozenset({int, float, type(None)})


_NONE: Final = frozenset({type(None)})


# Values numpy never reads as a further dimension of an object array.
_FLAT: Final = frozenset({int, float, str, bool, type(None)})


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


def _fill(chunks: list[_Chunk], n: int, dtype: Any) -> np.ndarray:
    """A numeric column: one array of ``n`` cells, each chunk copied in and then let go."""
    import numpy as np

    out = np.empty(n, dtype=dtype)
    for part, c in _parts(chunks, out):
        part[:] = np.nan if c.kind in (_GAP, _NULL) else c.data
    return out


def _parts(chunks: list[_Chunk], out: np.ndarray) -> Iterator[tuple[np.ndarray, _Chunk]]:
    """Each chunk with its slice of ``out``, the chunk list emptied as it goes, so each
    chunk's buffer is let go once copied."""
    at = 0
    chunks.reverse()
    while chunks:
        c = chunks.pop()
        yield out[at : at + c.n], c
        at += c.n
        del c


def _fill_objects(chunks: list[_Chunk], n: int) -> np.ndarray:
    """The column's cells as the Python values they came as (ints, floats, None, NaN...)."""
    import numpy as np

    out = np.empty(n, dtype=object)
    for part, c in _parts(chunks, out):
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
    return out


def _infer(objects: np.ndarray) -> Any:
    """pandas' dtype for a column of Python values (what ``pd.DataFrame(rows)`` infers)."""
    import pandas as pd

    return pd.Series(objects, dtype=object, copy=False).infer_objects().array
