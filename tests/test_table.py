"""TableBuilder: one frame per pull, the cells of pd.json_normalize, however the rows are paged."""

from __future__ import annotations

import gc
import itertools
import subprocess
import sys
import weakref

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_frames import concat_frames, records_frame

from vital_connect._table import TableBuilder, build_frame

scalar = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-10, 10, allow_nan=False)
    | st.text(max_size=3)
    | st.lists(st.integers(0, 3), max_size=2)
)
record = st.recursive(
    st.dictionaries(st.sampled_from("abc"), scalar, max_size=3),
    lambda inner: st.dictionaries(st.sampled_from("abcde"), scalar | inner, max_size=4),
    max_leaves=8,
)


def paged(rows, cuts):
    bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    return [rows[a:b] for a, b in itertools.pairwise(bounds)]


def built(pages, **options):
    b = TableBuilder(**options)
    for page in pages:
        b.add(page)
    assert len(b) == sum(len(p) for p in pages)
    return b.frame()


def old(pages):
    return concat_frames([records_frame(p) for p in pages])


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(record, min_size=1, max_size=12),
    cuts=st.lists(st.integers(1, 11)),
    chunk_rows=st.integers(1, 6),
)
def test_paged_frame_equals_json_normalize(rows, cuts, chunk_rows):
    pages = paged(rows, cuts)
    ours = built(pages, chunk_rows=chunk_rows)
    theirs = pd.json_normalize(rows)
    assert isinstance(ours.index, pd.RangeIndex) and ours.index.equals(pd.RangeIndex(len(rows)))
    assert set(ours.columns) == set(theirs.columns)
    # the same cells, dtypes included: inferred for the whole column, not page by page
    pd.testing.assert_frame_equal(ours[list(theirs.columns)], theirs, check_column_type=False)
    for name in theirs.columns:  # in object columns, each cell's own type: 1 is not 1.0
        if theirs[name].dtype == object:
            assert list(map(type, ours[name])) == list(map(type, theirs[name])), name
    # and today's column order (a nested object's columns together)
    before = old(pages)
    assert list(ours.columns) == list(before.columns)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(record, min_size=1, max_size=12), depth=st.integers(0, 3))
def test_max_depth_is_json_normalize_max_level(rows, depth):
    ours = built([rows], max_depth=depth)
    theirs = pd.json_normalize(rows, max_level=depth)
    assert set(ours.columns) == set(theirs.columns)
    pd.testing.assert_frame_equal(ours[list(theirs.columns)], theirs, check_column_type=False)


def test_nested_columns_stay_together():
    rows = [{"id": 1, "v": {"kg": 70}, "src": {"d": "x"}}, {"id": 2, "v": {"bpm": 60}}]
    assert list(build_frame([rows]).columns) == ["id", "v.kg", "v.bpm", "src.d"]
    # across pages, new columns come after the known ones, as concat_frames puts them
    assert list(build_frame([rows[:1], rows[1:]]).columns) == ["id", "v.kg", "src.d", "v.bpm"]


def test_null_on_a_whole_page_keeps_the_column_numeric():
    df = build_frame([[{"id": 1, "glucose": None}] * 3, [{"id": 2, "glucose": 5.4}]])
    assert df["glucose"].dtype == "float64"
    assert df["glucose"].isna().tolist() == [True, True, True, False]
    df = build_frame([[{"id": 1}], [{"id": 2, "n": 3}]])  # absent on a whole page
    assert df["n"].dtype == "float64"


def test_ints_missing_once_become_float():
    pages = [[{"n": i} for i in range(5)], [{"m": 1}], [{"n": 2**40}]]
    df = built(pages, chunk_rows=2)
    assert df["n"].dtype == "float64"
    assert df["n"].tolist()[:5] == [0.0, 1.0, 2.0, 3.0, 4.0] and np.isnan(df["n"][5])
    assert built([[{"n": 1}], [{"n": 2}]], chunk_rows=1)["n"].dtype == "int64"


def test_bools_and_mixtures():
    assert build_frame([[{"b": True}], [{"b": False}]])["b"].dtype == bool
    df = build_frame([[{"b": True}], [{"c": 1}]])
    assert df["b"].dtype == object and df["b"].tolist()[0] is True
    df = build_frame([[{"x": 1}], [{"x": "one"}], [{"x": 2.5}], [{"x": True}]])
    assert df["x"].dtype == object
    assert [type(v) for v in df["x"]] == [int, str, float, bool]  # kept as they came
    df = build_frame([[{"x": 1}, {"x": 2.5}], [{"x": "s"}]])  # a float chunk, then text
    assert [type(v) for v in df["x"]] == [int, float, str]


def test_strings_get_pandas_default_string_dtype():
    df = build_frame([[{"s": "a"}], [{"s": None}], [{}]])
    assert df["s"].dtype == pd.Series(["a"]).dtype
    assert df["s"].tolist()[0] == "a" and df["s"].isna().tolist() == [False, True, True]


def test_big_ints_as_pandas_infers_them():
    assert build_frame([[{"n": 2**63}], [{"n": 1}]])["n"].dtype == "uint64"
    df = build_frame([[{"n": 2**64}], [{"n": 1}]])
    assert df["n"].dtype == object and df["n"][0] == 2**64
    df = build_frame([[{"n": 2**60 + 1}, {"n": 0.5}], [{"n": "x"}]])  # exact in object
    assert df["n"][0] == 2**60 + 1


# -- timestamps ----------------------------------------------------------------------------


def test_iso_date_times_become_utc_timestamps():
    stamps = [
        "2024-01-01T08:00:00Z",
        "2024-01-01T10:00:00+02:00",
        "2024-01-01 08:00:00.250Z",
        "2024-01-01T08:00:00.123456789-05:30",
        None,
    ]
    df = built([[{"t": s}] for s in stamps] + [[{"other": 1}]], chunk_rows=2)
    assert df["t"].dtype == "datetime64[ns, UTC]"
    assert df["t"][0] == df["t"][1] == pd.Timestamp("2024-01-01T08:00:00Z")
    assert df["t"][2] == pd.Timestamp("2024-01-01T08:00:00.25Z")
    assert df["t"][3] == pd.Timestamp("2024-01-01T13:30:00.123456789Z")
    assert df["t"].isna().tolist() == [False] * 4 + [True, True]


def test_a_time_without_offset_is_taken_as_utc():
    df = build_frame([[{"t": "2024-06-01T12:30:00"}, {"t": "2024-06-01 12:30"}]])
    assert df["t"].dtype == "datetime64[ns, UTC]"
    assert (df["t"] == pd.Timestamp("2024-06-01T12:30:00Z")).all()


@pytest.mark.parametrize(
    "odd",
    [
        "1985-03-02",  # a date, not a date-time
        "2024-01-01T25:00:00Z",  # no such hour
        "2024-01-01T08:00:00 UTC",
        "yesterday",
        "2024-13-01T08:00:00Z",
        "3000-01-01T00:00:00Z",  # beyond datetime64[ns]
        "",
    ],
)
def test_one_value_that_is_not_a_date_time_leaves_the_column_alone(odd):
    good = [{"t": f"2024-01-{d:02d}T08:00:00Z"} for d in range(1, 11)]
    pages = [good[:5], good[5:], [{"t": odd}], good[:3]]
    df = built(pages, chunk_rows=4)
    assert df["t"].dtype == pd.Series(["a"]).dtype
    assert df["t"].tolist() == [r["t"] for p in pages for r in p]


@pytest.mark.parametrize(
    "layout",
    [
        "2024-01-{:02d}T08:00Z",
        "2024-01-{:02d} 08:00:00",
        "2024-01-{:02d}T08:00:00.120Z",
        "2024-01-{:02d} 08:00:00.123456",
        "2024-01-{:02d}T08:00:00.123456789Z",
        "2024-01-{:02d}T08:00:00.12+02:00",  # kept as text: numpy would not write it so
        "2024-01-{:02d}T08:00:00-05:30",
    ],
)
def test_strings_read_as_date_times_come_back_exactly(layout):
    good = [{"t": layout.format(d)} if d % 3 else {} for d in range(1, 21)]
    pages = [good[:7], good[7:14], good[14:], [{"t": "not a date"}]]
    df = built(pages, chunk_rows=5)
    assert df["t"].tolist()[:20] == [r.get("t", np.nan) for r in good]
    assert df["t"].tolist()[20] == "not a date"


def test_date_time_chunks_of_different_spellings_join_or_stay_apart():
    # numpy-written, then of two widths (pandas-read), then numpy-written again
    pages = [
        [{"t": "2024-01-01T08:00:00Z"}] * 3,
        [{"t": "2024-01-01T08:00:00.5Z"}, {"t": "2024-01-01T08:00:00Z"}],
        [{"t": "2024-01-01 08:00:00"}] * 2,
        [{"t": "2024-01-01T08:00:00Z"}] * 2,
    ]
    df = built(pages, chunk_rows=1)
    assert df["t"].dtype == "datetime64[ns, UTC]"
    assert df["t"][3] == pd.Timestamp("2024-01-01T08:00:00.5Z")
    assert (df["t"].drop(3) == pd.Timestamp("2024-01-01T08:00:00Z")).all()
    strings = built([*pages, [{"t": "soon"}]], chunk_rows=1)["t"]
    assert strings.tolist() == [r["t"] for p in pages for r in p] + ["soon"]


def test_date_only_strings_stay_strings():
    df = build_frame([[{"born": "1985-03-02"}, {"born": "1990-12-31"}]])
    assert df["born"].dtype == pd.Series(["a"]).dtype


def test_parse_dates_off_keeps_strings():
    df = build_frame([[{"t": "2024-01-01T08:00:00Z"}]], parse_dates=False)
    assert df["t"].tolist() == ["2024-01-01T08:00:00Z"]


def test_timestamps_mixed_with_other_types_stay_as_pandas_infers():
    df = build_frame([[{"t": "2024-01-01T08:00:00Z"}], [{"t": 5}]])
    assert df["t"].dtype == object and df["t"].tolist() == ["2024-01-01T08:00:00Z", 5]


@st.composite
def date_time(draw, valid=True):
    """An ISO-8601 date-time string in one of the layouts APIs write; with ``valid=False``,
    one whose fields may be out of range (month 13, 31 April, 24:00, an offset of 24 h)."""
    lo, hi = (1678, 2261) if valid else (1600, 2300)
    y = draw(st.integers(lo, hi))
    if valid:
        moment = draw(st.datetimes(pd.Timestamp(f"{y}-01-01"), pd.Timestamp(f"{y}-12-31")))
        fields = (moment.month, moment.day, moment.hour, moment.minute, moment.second)
        micro = moment.microsecond
    else:
        fields = tuple(draw(st.integers(0, top)) for top in (13, 31, 24, 60, 60))
        micro = draw(st.integers(0, 999_999))
    month, day, hour, minute, second = fields
    text = f"{y:04d}-{month:02d}-{day:02d}{draw(st.sampled_from('T '))}{hour:02d}:{minute:02d}"
    if draw(st.booleans()):
        text += f":{second:02d}"
        digits = draw(st.sampled_from([0, 1, 3, 6, 9]))
        if digits:
            text += "." + f"{micro:06d}000"[:digits]
    offset = draw(st.sampled_from(["", "Z", "+00:00", "-00:00", "+02:00", "-05:30", "+23:59"]))
    if not valid and draw(st.booleans()):
        offset = "+24:00"
    return text + offset


def expected_times(cells):
    """What the builder must give: instants if pandas' ISO-8601 parser reads every string
    (none of them date-only), else the strings untouched."""
    strings = pd.Series(cells, dtype=pd.Series(["a"]).dtype)
    if any(len(c) == len("2024-01-01") for c in cells if c is not None):
        return strings  # a date is not a date-time
    try:
        parsed = pd.to_datetime(pd.Series(cells, dtype=object), format="ISO8601", utc=True)
        return parsed.dt.as_unit("ns")
    except ValueError:
        return strings


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(date_time() | st.none(), min_size=1, max_size=14),
    odd=st.none() | date_time(valid=False) | st.sampled_from(["2024-01-01", "2024-01-01T08"]),
    where=st.integers(0, 14),
    chunk_rows=st.integers(1, 5),
    cuts=st.lists(st.integers(1, 14)),
)
def test_date_times_become_timestamps_only_when_all_are(cells, odd, where, chunk_rows, cuts):
    if odd is not None:
        cells = [*cells[:where], odd, *cells[where:]]
    if all(c is None for c in cells):
        cells.append("2024-01-01T08:00:00Z")
    rows = [{"t": c} for c in cells]
    df = built(paged(rows, cuts), chunk_rows=chunk_rows)
    expected = expected_times(cells)
    pd.testing.assert_series_equal(df["t"], expected, check_names=False)


layouts = st.tuples(
    st.sampled_from("T "),
    st.booleans(),  # seconds
    st.sampled_from([0, 1, 3, 6, 9]),  # fraction digits
    st.sampled_from(["", "Z", "+00:00", "-00:00", "+02:00", "-05:30", "+23:59"]),
)


def formatted(layout, fields):
    sep, seconds, digits, offset = layout
    y, month, day, hour, minute, second, nanos = fields
    text = f"{y:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}"
    if seconds:
        text += f":{second:02d}" + (("." + f"{nanos:09d}"[:digits]) if digits else "")
    return text + offset


@settings(max_examples=300, deadline=None)
@given(
    layout=layouts,
    moments=st.lists(
        st.datetimes(pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")), min_size=1
    ),
    odd=st.none()
    | st.tuples(*(st.integers(0, top) for top in (2300, 13, 32, 24, 60, 60, 10**9 - 1))),
    where=st.integers(0, 20),
    chunk_rows=st.integers(1, 8),
    cuts=st.lists(st.integers(1, 20)),
)
def test_one_layout_is_read_as_pandas_reads_it(layout, moments, odd, where, chunk_rows, cuts):
    # one layout per chunk: numpy reads it, and must agree with pandas' parser; when one
    # value is not a date-time, the chunks already read give their strings back exactly
    fields = [
        (m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond * 1000) for m in moments
    ]
    if odd is not None:
        fields.insert(where, odd)
    cells = [formatted(layout, f) for f in fields]
    df = built(paged([{"t": c} for c in cells], cuts), chunk_rows=chunk_rows)
    pd.testing.assert_series_equal(df["t"], expected_times(cells), check_names=False)


# -- hostile input -------------------------------------------------------------------------


def deep(levels):
    node = {"leaf": 1}
    for _ in range(levels):
        node = {"a": node}
    return node


def test_deep_nesting_is_kept_as_a_dict_cell_not_recursed():
    row = deep(100_000)
    df = build_frame([[row, {"b": 2}]])  # no RecursionError
    name = ".".join(["a"] * 33)  # 32 levels flattened, the 33rd key holds the rest
    assert list(df.columns) == ["b", name]
    cell = df[name][0]
    inner = row
    for _ in range(33):
        inner = inner["a"]
    assert cell is inner
    assert build_frame([[deep(3)]], max_depth=1).columns.tolist() == ["a.a"]


def test_a_deep_object_under_a_small_max_depth_matches_json_normalize():
    rows = [deep(5), {"a": {"a": 1}}]
    ours = build_frame([rows], max_depth=2)
    theirs = pd.json_normalize(rows, max_level=2)
    pd.testing.assert_frame_equal(ours[list(theirs.columns)], theirs, check_column_type=False)


def test_non_string_keys_are_stringified_as_json_normalize_does():
    rows = [{1: "top", 2: {3: "x", None: "y"}, "k": {(1, 2): 4}}]
    ours = build_frame([rows])
    theirs = pd.json_normalize(rows)
    assert set(ours.columns) == set(theirs.columns) == {1, "2.3", "2.None", "k.(1, 2)"}
    pd.testing.assert_frame_equal(ours[list(theirs.columns)], theirs, check_column_type=False)


def test_a_dotted_key_and_a_nested_path_share_one_column():
    rows = [{"a.b": 1, "a": {"b": 2}}, {"a.b": 3}, {"a": {"b": 4}}]
    ours = build_frame([rows])
    theirs = pd.json_normalize(rows)
    assert list(ours.columns) == ["a.b"]
    pd.testing.assert_frame_equal(ours, theirs)


def test_rows_that_are_not_all_dicts_make_a_value_column_as_today():
    pages = [[{"a": 1}], [1, "two", {"a": 3}], [{"a": 4}]]
    ours = built(pages)
    pd.testing.assert_frame_equal(ours, old(pages))
    assert ours["value"].tolist()[1:4] == [1, "two", {"a": 3}]


def test_dict_subclass_rows_are_rows():
    class Row(dict):
        pass

    df = build_frame([[Row(a=1, b=Row(c=2))]])
    assert df.to_dict("list") == {"a": [1], "b.c": [2]}


def test_rows_with_a_default_are_read_not_written():
    from collections import defaultdict

    rows = [defaultdict(int, a=1), defaultdict(int, b=2), defaultdict(int, a=3)]
    df = build_frame([rows])
    assert [dict(r) for r in rows] == [{"a": 1}, {"b": 2}, {"a": 3}]  # no key added
    assert df["a"].tolist()[::2] == [1.0, 3.0] and df["a"].isna().tolist()[1]
    same = [defaultdict(int, a=1, b=1), defaultdict(int, a=2, c=2)]  # same width, other keys
    df = build_frame([same])
    assert [dict(r) for r in same] == [{"a": 1, "b": 1}, {"a": 2, "c": 2}]
    assert list(df.columns) == ["a", "b", "c"]


def test_plain_rows_of_one_width_with_other_keys():
    rows = [{"a": 1, "b": 1}, {"a": 2, "c": 2}, {"c": 3, "a": 3}]
    pd.testing.assert_frame_equal(build_frame([rows]), pd.json_normalize(rows))


def test_subclasses_of_int_and_float_are_numbers():
    from enum import IntEnum

    class Level(IntEnum):
        LOW = 1

    class Reading(float):
        pass

    df = build_frame([[{"n": Level.LOW, "x": Reading(1.5)}], [{"n": 2, "x": None}]])
    assert df["n"].dtype == "int64" and df["n"].tolist() == [1, 2]
    assert df["x"].dtype == "float64" and df["x"][0] == 1.5


def test_add_takes_pages_not_single_objects():
    b = TableBuilder()
    with pytest.raises(TypeError):
        b.add({"a": 1})
    b.add(iter([{"a": 1}]))  # any iterable of rows
    assert len(b) == 1


@pytest.mark.parametrize("pages", [[], [[]], [[], []]])
def test_empty_input_gives_an_empty_frame(pages):
    df = build_frame(pages)
    assert df.empty and not len(df.columns) and len(df) == 0


def test_rows_without_keys_are_rows():
    df = build_frame([[{}, {}], [{"a": 1}]])
    assert len(df) == 3 and df["a"].isna().tolist() == [True, True, False]


def test_frame_hands_the_columns_over_once():
    b = TableBuilder()
    b.add([{"a": 1}])
    b.frame()
    with pytest.raises(RuntimeError):
        b.frame()
    with pytest.raises(RuntimeError):
        b.add([{"a": 2}])


def test_options_are_checked():
    with pytest.raises(ValueError):
        TableBuilder(max_depth=-1)
    with pytest.raises(ValueError):
        TableBuilder(chunk_rows=0)


# -- pages are not kept --------------------------------------------------------------------


class Row(dict):
    """A dict that can be weakly referenced (plain dicts cannot)."""

    __slots__ = ("__weakref__",)


def test_added_pages_are_not_kept_alive():
    b = TableBuilder(chunk_rows=10_000)  # nothing is typed yet: raw values are pending
    page = [Row(id=i, patient=Row(id=i, name=f"p{i}"), tags=[i]) for i in range(50)]
    refs = [weakref.ref(r) for r in page] + [weakref.ref(r["patient"]) for r in page]
    b.add(page)
    del page
    gc.collect()
    assert all(ref() is None for ref in refs)
    df = b.frame()
    assert df["patient.name"].tolist()[:2] == ["p0", "p1"] and df["tags"][3] == [3]


def test_a_page_list_is_not_kept_by_reference():
    b = TableBuilder(chunk_rows=10_000)
    page = [1, 2, 3]  # a non-dict page: the one case where rows are cells
    b.add(page)
    page.append(4)  # the builder copied the list: the caller may reuse it
    assert b.frame()["value"].tolist() == [1, 2, 3]


def test_the_page_test_can_fail():
    # the weakref check above is live: a builder that kept its pages would fail it
    class Keeper(TableBuilder):
        def add(self, rows):
            self.kept = rows
            super().add(rows)

    b = Keeper()
    page = [Row(a=1)]
    ref = weakref.ref(page[0])
    b.add(page)
    del page
    gc.collect()
    assert ref() is not None


def test_import_stays_light():
    code = "import sys, vital_connect._table; print(sorted({'pandas', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
