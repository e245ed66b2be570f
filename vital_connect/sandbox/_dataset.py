"""VitalDB's open dataset, synthesised: cases, track list, labs and numeric tracks as gzip CSV.

Columns follow the real dataset's (caseid, subjectid, casestart, ..., ane_type); every value
is computed from the row index. Nothing here is real patient data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import zlib
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from ._synthetic import pick, unit

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

# track name -> (seconds between samples, baseline, swing, noise, decimals)
TRACKS = {
    "SNUADC/ECG_II": (0.002, 0.0, 0.0, 0.03, 3),  # a 500 Hz waveform, shaped below
    "Solar8000/HR": (2.0, 74.0, 9.0, 3.0, 0),
    "Solar8000/ART_MBP": (2.0, 84.0, 11.0, 4.0, 0),
    "BIS/BIS": (1.0, 46.0, 9.0, 3.0, 0),
    "Primus/ETCO2": (2.0, 34.0, 3.0, 1.0, 0),
}
# lab name -> (low, high, decimals)
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


def case(i: int) -> tuple:
    caseid = i + 1
    department, optype, dx, opname, approach, position = pick(_OPERATIONS, "op", i)
    sex = pick(("M", "F"), "csex", i)
    height = round((171 if sex == "M" else 158) + 14 * (unit("height", i) - 0.5), 1)
    weight = round(height - 105 + 30 * (unit("weight", i) - 0.4), 1)
    anestart = 300 + int(unit("anestart", i) * 900)
    opstart = anestart + 900 + int(unit("opstart", i) * 1800)
    opend = opstart + 2400 + int(unit("opdur", i) * 14400)
    aneend = opend + 600 + int(unit("aneend", i) * 900)
    caseend = aneend + 120 + int(unit("caseend", i) * 600)
    return (
        caseid,
        1000 + (i * 7919) % 9000,  # a subject id that looks unordered
        0,
        caseend,
        anestart,
        aneend,
        opstart,
        opend,
        25 + int(unit("age", i) * 60),
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
        for tname in TRACKS:
            yield caseid, tname, tid(caseid, tname)


@lru_cache(maxsize=4)
def track_index(cases: int) -> dict[str, tuple[int, str]]:
    return {t: (caseid, tname) for caseid, tname, t in track_rows(cases)}


def lab(i: int, labs: int, cases: int) -> tuple:
    name = tuple(_LABS)[i % len(_LABS)]
    low, high, decimals = _LABS[name]
    result = round(low + (high - low) * unit("lab", i), decimals)
    # Labs from a few days before to a few days after the case, in seconds from casestart.
    dt = int((unit("labdt", i) - 0.6) * 5 * 86400)
    return i * cases // labs + 1, dt, name, int(result) if decimals == 0 else result


def samples(caseid: int, tname: str, count: int) -> Iterator[tuple]:
    interval, base, swing, noise, decimals = TRACKS[tname]
    salt = f"{caseid}/{tname}"
    base += 6 * (unit("trackbase", caseid) - 0.5) * bool(base)
    for j in range(count):
        t = round(j * interval, 3)
        jitter = noise * (unit(salt, j) - 0.5) * 2
        if tname == "SNUADC/ECG_II":
            beat = (j % 400) - 200  # 75 beats a minute at 500 Hz
            value = 1.2 * math.exp(-(beat**2) / 18) + 0.15 * math.exp(-((beat - 90) ** 2) / 600)
        else:
            value = base + swing * math.sin(j / 45 + caseid)
        value = round(value + jitter, decimals)
        yield t, int(value) if decimals == 0 else value


def gzip_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """CSV with a header row, gzip-compressed as it is written (only the output is held)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    chunks: list[bytes] = []
    text = io.StringIO()
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
