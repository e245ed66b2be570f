"""VitalDB's open dataset, synthesised: clinical cases, the track list, labs, track files
and case ``.vital`` files, each value computed from its case, track and index.

What follows which document (snuhvitallab/vitaldb-docs):

- ``API/Web_API_OpenDataset.md``: every file is CSV with a header row; ``/trks`` is
  ``caseid, tname, tid``; ``/labs`` is ``caseid, dt, name, result``; a track file is two
  columns, ``Time`` and the values. "Numeric data track: rows with missing values are
  omitted, therefore time intervals between rows can vary." "Waveform data track: the time
  column has three values: start time (0), time interval (s), and end time (s) ... rows with
  missing values are not omitted."
- ``OpenDataset/Overview.md``: the clinical columns, the track names and rates (SNUADC waves
  at 500 Hz, BIS EEG at 128 Hz, Solar8000 numerics every 2 s, Primus every 7 s, BIS every
  1 s) and the lab names.
- The official client (vitaldb/vitalutils, ``vitaldb/dataset.py``) reads track files with
  ``pd.read_csv(url, na_values='-nan(ind)')`` and takes NaN in ``Time`` for a wave; it reads
  ``{api}/{DATASET_VERSION}/{caseid}.vital`` for ``load_case``.

Where they are silent: a wave's three times sit in the rows they describe (row 0 holds 0, row
1 holds the interval, which is also its own time, and the last row holds the time of the last
sample), so the times that are given are true; a missing wave sample is printed
``-nan(ind)`` (the MSVC spelling the official client expects); ``/cases`` starts with a
UTF-8 byte-order mark (what third-party readers strip). Sizes are the sandbox's: tracks last
``track_seconds`` (waves only ``wave_seconds``), not the hours of the case times in
``/cases``. Nothing here is real patient data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from . import _vitalfile as vf
from ._synthetic import pick, unit

BOM = "\ufeff"
NAN = "-nan(ind)"
# The open dataset's .vital files are anonymised: VitalFile.anonymize() in the official
# client moves a file to 2100-01-01, so every case starts there.
CASE_EPOCH = 4102444800.0  # 2100-01-01T00:00:00Z

CASE_COLUMNS = (
    "caseid", "subjectid", "casestart", "caseend", "anestart", "aneend", "opstart", "opend",
    "age", "sex", "height", "weight", "bmi", "asa", "emop", "department", "optype", "dx",
    "opname", "approach", "position", "ane_type",
)  # fmt: skip
# (department, optype, dx, opname, approach, position)
_OPERATIONS = (
    ("General surgery", "Colorectal", "Rectal cancer", "Low anterior resection", "Videoscopic",
     "Lithotomy"),
    ("General surgery", "Stomach", "Stomach cancer", "Distal gastrectomy", "Videoscopic",
     "Supine"),
    ("General surgery", "Biliary/Pancreas", "Gallbladder stone", "Cholecystectomy",
     "Videoscopic", "Reverse trendelenburg"),
    ("General surgery", "Hepatic", "Hepatocellular carcinoma", "Hemihepatectomy", "Open",
     "Supine"),
    ("General surgery", "Breast", "Breast cancer", "Breast-conserving surgery", "Open",
     "Supine"),
    ("General surgery", "Thyroid", "Thyroid cancer", "Total thyroidectomy", "Open", "Supine"),
    ("Thoracic surgery", "Major resection", "Lung cancer", "Lobectomy", "Videoscopic",
     "Left lateral decubitus"),
    ("Urology", "Major resection", "Prostate cancer", "Radical prostatectomy", "Robotic",
     "Lithotomy"),
    ("Gynecology", "Minor resection", "Uterine myoma", "Myomectomy", "Videoscopic",
     "Lithotomy"),
    ("General surgery", "Vascular", "Abdominal aortic aneurysm", "Aneurysm repair", "Open",
     "Supine"),
)  # fmt: skip


@dataclass(frozen=True)
class TrackDef:
    device: str
    name: str
    wave: bool
    interval: float  # seconds between samples (1 / srate for a wave)
    unit: str
    low: float  # display range, and the range values are clamped to
    high: float
    decimals: int
    montype: int = 0  # Vital_File_Format.md's MON_* codes
    needs: str = ""  # "aline" or "bis": only cases with that monitor have the track

    @property
    def tname(self) -> str:
        return f"{self.device}/{self.name}"


TRACKS: tuple[TrackDef, ...] = (
    TrackDef("SNUADC", "ART", True, 1 / 500, "mmHg", 0, 200, 2, 4, "aline"),
    TrackDef("SNUADC", "ECG_II", True, 1 / 500, "mV", -1, 2, 4, 1),
    TrackDef("SNUADC", "PLETH", True, 1 / 500, "", 0, 100, 2, 8),
    TrackDef("BIS", "EEG1_WAV", True, 1 / 128, "uV", -100, 100, 2, 0, "bis"),
    TrackDef("Solar8000", "HR", False, 2, "/min", 0, 200, 0, 2),
    TrackDef("Solar8000", "ART_MBP", False, 2, "mmHg", 0, 200, 0, 7, "aline"),
    TrackDef("Solar8000", "PLETH_SPO2", False, 2, "%", 0, 100, 0, 10),
    TrackDef("BIS", "BIS", False, 1, "", 0, 100, 0, 0, "bis"),
    TrackDef("Primus", "ETCO2", False, 7, "mmHg", 0, 60, 0, 15),
)
BY_NAME = {t.tname: t for t in TRACKS}
# numeric track -> (baseline, swing, noise)
_LEVELS = {
    "Solar8000/HR": (74.0, 9.0, 3.0),
    "Solar8000/ART_MBP": (84.0, 11.0, 4.0),
    "Solar8000/PLETH_SPO2": (98.0, 1.5, 1.0),
    "BIS/BIS": (46.0, 9.0, 3.0),
    "Primus/ETCO2": (34.0, 3.0, 1.0),
}
# lab name -> (low, high, decimals), names from Overview.md's lab list
_LABS = {
    "hb": (8.5, 16.0, 1),
    "plt": (110, 380, 0),
    "wbc": (3.5, 14.0, 1),
    "na": (133, 146, 0),
    "k": (3.2, 5.3, 1),
    "cr": (0.5, 1.6, 2),
    "alb": (2.8, 4.9, 1),
    "gluc": (75, 210, 0),
    "ptinr": (0.9, 1.4, 2),
    "aptt": (25.0, 38.0, 1),
}


def has(caseid: int, monitor: str) -> bool:
    """Not every case has every monitor (so a search by tracks means something): an arterial
    line in 3 cases of 5 (case 1 has one, case 2 has not), BIS in 6 of 7 (not case 2)."""
    if monitor == "aline":
        return caseid % 5 in (0, 1, 3)
    if monitor == "bis":
        return caseid % 7 != 2
    return True


def case_tracks(caseid: int) -> list[TrackDef]:
    return [t for t in TRACKS if not t.needs or has(caseid, t.needs)]


def case(i: int, version: int = 0) -> tuple:
    caseid = i + 1
    v = f"v{version}:" if version else ""
    department, optype, dx, opname, approach, position = pick(_OPERATIONS, "op", i)
    sex = pick(("M", "F"), "csex", i)
    height = round((171 if sex == "M" else 158) + 14 * (unit(v + "height", i) - 0.5), 1)
    weight = round(height - 105 + 30 * (unit(v + "weight", i) - 0.4), 1)
    anestart = 300 + int(unit("anestart", i) * 900)
    opstart = anestart + 900 + int(unit("opstart", i) * 1800)
    opend = opstart + 2400 + int(unit("opdur", i) * 14400)
    aneend = opend + 600 + int(unit("aneend", i) * 900)
    caseend = aneend + 120 + int(unit("caseend", i) * 600)
    return (
        caseid,
        1000 + (i * 7919) % 9000,  # a subject id that looks unordered
        0,  # "casestart: Set to 0 for anonymization"
        caseend,
        anestart,
        aneend,
        opstart,
        opend,
        25 + int(unit(v + "age", i) * 60),
        sex,
        height,
        weight,
        round(weight / (height / 100) ** 2, 1),
        1 + int(unit("asa", i) * 3),
        int(unit("emop", i) < 0.1),
        department,
        optype,
        dx,
        opname,
        approach,
        position,
        "General" if unit("anetype", i) < 0.9 else "Spinal",
    )


def tid(caseid: int, tname: str) -> str:
    # 40 hex digits like the real track ids; a hash, so the list looks as it does upstream.
    text = f"vital-connect-sandbox/{caseid}/{tname}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def track_rows(cases: int) -> Iterator[tuple]:
    for caseid in range(1, cases + 1):
        for track in case_tracks(caseid):
            yield caseid, track.tname, tid(caseid, track.tname)


@lru_cache(maxsize=4)
def track_index(cases: int) -> dict[str, tuple[int, str]]:
    return {t: (caseid, tname) for caseid, tname, t in track_rows(cases)}


def lab(i: int, labs: int, cases: int, version: int = 0) -> tuple:
    name = tuple(_LABS)[i % len(_LABS)]
    low, high, decimals = _LABS[name]
    result = round(low + (high - low) * unit(f"v{version}:lab" if version else "lab", i), decimals)
    # Labs from a few days before to a few days after the case, in seconds from casestart.
    dt = int((unit("labdt", i) - 0.6) * 5 * 86400)
    return i * cases // labs + 1, dt, name, int(result) if decimals == 0 else result


def _rng(*parts: object) -> random.Random:
    # random.random() keeps its sequence for a given int seed across Python versions.
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def numeric_samples(
    key: str, track: TrackDef, seconds: float, version: int = 0
) -> list[tuple[float, float]]:
    """``(time, value)`` of a numeric track: every ``interval`` from a per-track phase, less
    the missing readings, which are omitted: a disconnection (a run of 5% of the samples) and
    a few single invalid readings, so the time steps vary."""
    rng = _rng("num", key, track.tname, version)
    base, swing, noise = _LEVELS[track.tname]
    base += 6 * (rng.random() - 0.5) * (track.tname != "Solar8000/PLETH_SPO2")
    n = int(seconds / track.interval)
    phase = round(rng.random() * min(track.interval, 1.0), 2)
    gap_len = max(1, n // 20)
    gap_start = int(rng.random() * max(1, n - gap_len))
    offset = rng.random() * 6
    out = []
    for j in range(n):
        jitter = noise * (rng.random() - 0.5) * 2
        invalid = rng.random() < 0.04
        if invalid or gap_start <= j < gap_start + gap_len:
            continue
        value = base + swing * math.sin(j * track.interval / 90 + offset) + jitter
        value = min(max(value, track.low), track.high)
        out.append((round(phase + j * track.interval, 3), round(value, track.decimals)))
    return out


_BEAT_POINTS = 1000


@lru_cache(maxsize=8)
def _beat(name: str) -> tuple[float, ...]:
    """One beat of a wave's shape, sampled at ``_BEAT_POINTS`` phases (looked up per sample,
    which keeps a long wave cheap)."""
    out = []
    for k in range(_BEAT_POINTS):
        p = k / _BEAT_POINTS
        if name == "ECG_II":
            value = (
                1.1 * math.exp(-(((p - 0.30) / 0.012) ** 2))
                - 0.15 * math.exp(-(((p - 0.33) / 0.015) ** 2))
                + 0.12 * math.exp(-(((p - 0.12) / 0.03) ** 2))
                + 0.25 * math.exp(-(((p - 0.60) / 0.06) ** 2))
            )
        elif name == "ART":
            x = math.sin(math.pi / 2 * p / 0.15) if p < 0.15 else math.exp(-(p - 0.15) * 3.2)
            value = 68 + 52 * (x + 0.08 * math.exp(-(((p - 0.42) / 0.03) ** 2)))
        else:  # PLETH
            value = 25 + 50 * math.sin(math.pi * p) ** 3
        out.append(value)
    return tuple(out)


_NOISE = {"ECG_II": 0.02, "ART": 0.5, "PLETH": 0.3, "EEG1_WAV": 8.0}


def wave_samples(key: str, track: TrackDef, seconds: float, version: int = 0) -> list:
    """Every sample of a wave, ``None`` where missing: a 0.2 s dropout and a few single lost
    samples. The beat follows a per-track heart rate."""
    rng = _rng("wave", key, track.tname, version)
    srate = 1 / track.interval
    n = round(seconds * srate)
    rate = (62 + 30 * rng.random()) / 60  # beats per second
    drop_len = int(0.2 * srate)
    drop_start = int(rng.random() * max(1, n - drop_len))
    eeg = track.name == "EEG1_WAV"
    beat = () if eeg else _beat(track.name)
    noise, decimals, step = _NOISE[track.name], track.decimals, rate * track.interval
    two_pi = 2 * math.pi
    out: list = []
    for j in range(n):
        r = rng.random()
        if r < 0.001 or drop_start <= j < drop_start + drop_len:
            out.append(None)
            continue
        if eeg:
            t = j * track.interval
            value = 20 * math.sin(two_pi * 10 * t) + 9 * math.sin(two_pi * 3 * t)
        else:
            value = beat[int((j * step) % 1.0 * _BEAT_POINTS)]
        out.append(round(value + noise * (r - 0.5) * 2, decimals))
    return out


def number(x: float) -> str:
    """A time as the files print it: shortest exact decimal, ``0`` not ``0.0``."""
    text = repr(round(float(x), 9))
    return text[:-2] if text.endswith(".0") else text


def _value(v, decimals: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NAN
    return str(int(v)) if decimals == 0 else f"{v:.{decimals}f}"


def track_csv_rows(caseid: int, track: TrackDef, sizes: dict, version: int = 0) -> Iterator[tuple]:
    key = f"case{caseid}"
    if not track.wave:
        for t, v in numeric_samples(key, track, sizes["track_seconds"], version):
            yield number(t), _value(v, track.decimals)
        return
    samples = wave_samples(key, track, sizes["wave_seconds"], version)
    last = len(samples) - 1
    for j, v in enumerate(samples):
        # Rows 0, 1 and the last carry start, interval and end; the others no time.
        time = number(j * track.interval) if j in (0, 1, last) else ""
        yield time, _value(v, track.decimals)


def vital_tracks(key: str, names: Sequence[str], seconds: float, wave_seconds: float,
                 start: float, version: int = 0) -> list[vf.Track]:  # fmt: skip
    """``.vital`` tracks with the samples of the CSV track files: a numeric record per
    sample at ``start + time``, a wave record per second of samples."""
    tracks = []
    for name in names:
        t = BY_NAME[name]
        if t.wave:
            samples = wave_samples(key, t, wave_seconds, version)
            per = round(1 / t.interval)
            records: list[tuple[float, object]] = [
                (start + k, samples[k * per : (k + 1) * per])
                for k in range(math.ceil(len(samples) / per))
            ]
            kind, srate = vf.TYPE_WAV, 1 / t.interval
        else:
            samples = numeric_samples(key, t, seconds, version)
            records = [(start + time, value) for time, value in samples]
            kind, srate = vf.TYPE_NUM, 0.0
        tracks.append(vf.Track(t.device, t.name, kind, t.unit, srate, t.low, t.high,
                               montype=t.montype, records=records))  # fmt: skip
    return tracks


def case_vital(caseid: int, sizes: dict, version: int = 0) -> bytes:
    """The case's ``.vital`` file: the same samples as its track files, one clock."""
    seconds, wave_seconds = sizes["track_seconds"], sizes["wave_seconds"]
    names = [t.tname for t in case_tracks(caseid)]
    tracks = vital_tracks(f"case{caseid}", names, seconds, wave_seconds, CASE_EPOCH, version)
    return vf.write(tracks, CASE_EPOCH, CASE_EPOCH + max(seconds, wave_seconds))


def gzip_csv(header: Sequence[str], rows: Iterable[Sequence], *, bom: bool = False) -> bytes:
    """CSV with a header row, gzip-compressed as it is written (only the output is held)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container, mtime 0
    chunks: list[bytes] = []
    text = io.StringIO()
    if bom:
        text.write(BOM)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if text.tell() > 1 << 16:
            chunks.append(compressor.compress(text.getvalue().encode()))
            text.seek(0)
            text.truncate()
    chunks.append(compressor.compress(text.getvalue().encode()))
    chunks.append(compressor.flush())
    return b"".join(chunks)
