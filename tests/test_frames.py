"""JSON -> DataFrame: the same cells as pandas.json_normalize, however the rows are paged."""

from __future__ import annotations

import itertools

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vital_connect._frames import concat_frames, records_frame
from vital_connect._paging import page_urls

scalar = st.none() | st.integers(-5, 5) | st.floats(-10, 10, allow_nan=False) | st.text(max_size=3)
record = st.recursive(
    st.dictionaries(st.sampled_from("abc"), scalar, max_size=3),
    lambda inner: st.dictionaries(st.sampled_from("abcde"), scalar | inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(record, min_size=1, max_size=12), cuts=st.lists(st.integers(1, 11)))
def test_paged_frames_equal_json_normalize(rows, cuts):
    bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    pages = [rows[a:b] for a, b in itertools.pairwise(bounds)]
    ours = concat_frames([records_frame(p) for p in pages])
    theirs = pd.json_normalize(rows)
    if theirs.empty and not len(theirs.columns):
        assert ours.empty
        return
    assert set(ours.columns) == set(theirs.columns)

    def cells(df):  # missing is missing (None or NaN), 0 equals 0.0
        return df.astype(object).where(df.notna(), None)

    pd.testing.assert_frame_equal(
        cells(ours[list(theirs.columns)]),
        cells(theirs),
        check_dtype=False,
        check_column_type=False,
    )
    # a column is numeric in ours whenever it is in json_normalize's
    for name in theirs.columns:
        if pd.api.types.is_numeric_dtype(theirs[name]):
            assert pd.api.types.is_numeric_dtype(ours[name]), name


def test_null_on_a_whole_page_keeps_the_column_numeric():
    pages = [[{"id": 1, "glucose": None}], [{"id": 2, "glucose": 5.4}]]
    df = concat_frames([records_frame(p) for p in pages])
    assert df["glucose"].dtype == "float64"


def test_nested_columns_stay_together():
    rows = [{"id": 1, "v": {"kg": 70}, "src": {"d": "x"}}, {"id": 2, "v": {"bpm": 60}}]
    assert list(records_frame(rows).columns) == ["id", "v.kg", "v.bpm", "src.d"]


def test_page_urls_for_page_numbers_and_offsets():
    first = {"count": 45, "next": "https://x.test/api/?page=2&page_size=20"}
    assert page_urls(first, first["next"], 20) == [
        "https://x.test/api/?page=2&page_size=20",
        "https://x.test/api/?page=3&page_size=20",
    ]
    first = {"count": 25, "next": "https://x.test/api/?limit=10&offset=10"}
    assert [u.split("offset=")[1] for u in page_urls(first, first["next"], 10)] == ["10", "20"]
    assert page_urls({"next": "https://x.test/?cursor=abc"}, "https://x.test/?cursor=abc", 10) == []
