"""JSON and CSV answers to DataFrames, as the session builds them (the builder's own
property tests against pd.json_normalize are tests/test_table.py)."""

from __future__ import annotations

import pandas as pd

from vital_connect._frames import csv_frame, object_frame
from vital_connect._table import build_frame


def test_null_on_a_whole_page_keeps_the_column_numeric():
    df = build_frame([[{"id": 1, "glucose": None}], [{"id": 2, "glucose": 5.4}]])
    assert df["glucose"].dtype == "float64"


def test_nested_columns_stay_together():
    rows = [{"id": 1, "v": {"kg": 70}, "src": {"d": "x"}}, {"id": 2, "v": {"bpm": 60}}]
    assert list(build_frame([rows]).columns) == ["id", "v.kg", "v.bpm", "src.d"]


def test_timestamps_become_utc_datetimes_and_dates_stay_text():
    df = build_frame([[{"at": "2024-01-01T09:00:00+01:00", "born": "1985-03-02"}]])
    assert str(df["at"].dtype) == "datetime64[ns, UTC]"
    assert df.loc[0, "at"] == pd.Timestamp("2024-01-01T08:00:00Z")
    assert df.loc[0, "born"] == "1985-03-02"


def test_a_plain_object_is_one_row_and_a_scalar_a_value():
    assert object_frame({"userid": "me", "n": 1}).to_dict("records") == [{"userid": "me", "n": 1}]
    assert object_frame(5).to_dict("records") == [{"value": 5}]


def test_csv_drops_the_byte_order_mark_and_reads_nan_markers():
    df = csv_frame(b"\xef\xbb\xbfcaseid,x\n1,-nan(ind)\n2,3\n", na_values=("-nan(ind)",))
    assert list(df.columns) == ["caseid", "x"] and df["x"].isna().tolist() == [True, False]
    assert csv_frame(b"  \n").empty
