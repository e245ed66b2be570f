"""The demo user's files in VitalDB's cloud (the Web API's "Myfiles"), and what ``receive``
answers for the user's Vital Recorder, synthesised.

``API/Web_API.md``: file names are ``bedname_yymmdd_hhmmss.vital`` ("DEMO_210415_091812.vital");
a filelist row is ``filename, filesize, dtstart, dtend, dtupload``; a tracklist row is
``filename, trks``. Where it is silent: the three times are "Datetime" strings
``YYYY-MM-DD HH:MM:SS`` in the recorder's local time (Korea, as the file name is), unix
timestamps with the official client's ``unixtimestamp=1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from . import _dataset as ds
from . import _vitalfile as vf

KST = timezone(timedelta(hours=9))
BEDS = ("DEMO", "OR1", "OR2")
FILE_SECONDS = 30  # each recording is half a minute: enough to see, small to serve
_FIRST = datetime(2024, 3, 4, 8, 30, 12, tzinfo=KST)
# The user's Vital Recorder, registered on the Web Monitoring page: "9 digit random numbers
# and alphabets".
VRCODE = "sbx7k2q9d"


@dataclass(frozen=True)
class UserFile:
    index: int
    bedname: str
    dtstart: float  # unix time
    dtend: float
    dtupload: float
    tracks: tuple[str, ...]

    @property
    def filename(self) -> str:
        local = datetime.fromtimestamp(self.dtstart, KST)
        return f"{self.bedname}_{local:%y%m%d_%H%M%S}.vital"


def user_file(i: int) -> UserFile:
    bed = BEDS[i % len(BEDS)]
    start = _FIRST + timedelta(days=i // len(BEDS), hours=2 * (i % len(BEDS)), seconds=37 * i)
    dtstart = start.timestamp()
    dtend = dtstart + FILE_SECONDS
    dtupload = dtend + 300 + 17 * i  # uploaded a few minutes after the recording stopped
    names = [t.tname for t in ds.case_tracks(i + 1)]
    return UserFile(i, bed, dtstart, dtend, dtupload, tuple(names))


def user_files(count: int) -> list[UserFile]:
    return [user_file(i) for i in range(count)]


@lru_cache(maxsize=32)
def file_bytes(i: int) -> bytes:
    """The ``.vital`` file itself (a gzip stream starting ``VITA``)."""
    f = user_file(i)
    tracks = ds.vital_tracks(f"file{i}", f.tracks, FILE_SECONDS, FILE_SECONDS, f.dtstart)
    return vf.write(tracks, f.dtstart, f.dtend)


def local_datetime(ts: float) -> str:
    return datetime.fromtimestamp(ts, KST).strftime("%Y-%m-%d %H:%M:%S")


def filelist_row(f: UserFile, unix: bool) -> dict:
    when = (lambda ts: ts) if unix else local_datetime
    return {
        "filename": f.filename,
        "filesize": len(file_bytes(f.index)),
        "dtstart": when(f.dtstart),
        "dtend": when(f.dtend),
        "dtupload": when(f.dtupload),
    }


def receive(now: float, dtstart: float, dtend: float, bednames: list[str] | None) -> dict:
    """``receive``'s answer: the recorder's data between ``dtstart`` and ``dtend``, in the
    Send section's shape (vrcode, rooms -> devs, trks -> recs). One room per bed."""
    rooms = []
    for bed in BEDS:
        if bednames and bed not in bednames:
            continue
        hr, ecg = ds.BY_NAME["Solar8000/HR"], ds.BY_NAME["SNUADC/ECG_II"]
        first = math.ceil(dtstart)
        seconds = max(0, int(dtend) - first)
        key = f"live/{bed}/{first}"
        wave = ds.wave_samples(key, ecg, seconds)
        nums = ds.numeric_samples(key, hr, seconds)
        trks = [
            {"name": "ECG_II", "type": "wav", "srate": 500, "unit": "mV",
             # a lost sample is null: JSON has no NaN
             "recs": [{"dt": first + k, "val": wave[k * 500:(k + 1) * 500]}
                      for k in range(seconds)]},
            {"name": "HR", "type": "num", "unit": "/min",
             "recs": [{"dt": round(first + t, 3), "val": v} for t, v in nums]},
        ]  # fmt: skip
        rooms.append(
            {
                "roomname": bed,
                "dtstart": dtstart,
                "dtend": dtend,
                "ptcon": 1,
                "recording": 1,
                "devs": [
                    {"name": "SNUADC", "status": "on", "port": "COM3"},
                    {"name": "Solar8000", "status": "on", "port": "COM5"},
                ],
                "trks": trks,
                "evts": [],
            }
        )
    return {"vrcode": VRCODE, "dtapp": now, "rooms": rooms}
