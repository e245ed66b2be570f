"""ISO-8601 date-times in a column of strings, read fast and exactly (see ``_table``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

from ._table_base import _NAT, _STAMP, _Chunk

# A value may be a date-time if it starts like one: date, separator, hour. The whole value
# is then checked by pandas' ISO-8601 parser, which raises on anything it does not read.
_ISO_HEAD: Final = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d")


_DATE_TIME_SEPARATORS: Final = frozenset("Tt ")


_SHORTEST_DATE_TIME: Final = len("2024-01-01T08")


def _stamps(values: Sequence[Any], objects: Any, nones: Any, pure: bool) -> _Chunk | None:
    """A chunk of strings as instants, if every one is an ISO-8601 date-time; else None.
    ``objects``: the values as an object array, or None when ``pure`` (all strings).

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
    if objects is None:  # strings only, not made an object array yet
        objects = np.array(values, dtype=object)
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
