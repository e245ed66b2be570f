"""The frame builder's shared pieces: its limits, the kinds of chunk, the chunk and the
column (see ``_table``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    pass


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


_Cells = dict[Hashable, tuple[Sequence[Any], set[type]]]
