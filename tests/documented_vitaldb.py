"""A second, independent VitalDB server for the tests: what the public documents describe.

Not a test module, and deliberately not built on ``vital_connect`` (nothing here imports
it): it serves the answers that VitalDB's own documents and its official Python client
(the ``vitaldb`` package) describe, so that a test of our client against it does not share
our client's guesses. Every answer is built from the literal text and numbers below; each
carries a comment naming the document line it reproduces. Where the documents are silent
the comment says ``CHOICE`` and why. The same facts, with their sources, are written out in
``docs/vitaldb-wire-facts.md``.

Sources, abbreviated in the comments:

- ``OD``: snuhvitallab/vitaldb-docs ``API/Web_API_OpenDataset.md`` (open dataset endpoints)
- ``WA``: snuhvitallab/vitaldb-docs ``API/Web_API.md`` (Web API: login, filelist, ...)
- ``OV``: snuhvitallab/vitaldb-docs ``OpenDataset/Overview.md`` (parameter lists)
- ``VF``: snuhvitallab/vitaldb-docs ``VitalRecorder/Vital_File_Format.md``
- ``API.PY`` / ``DATASET.PY`` / ``UTILS.PY``: the official client, ``vitaldb`` 1.7.2 as
  installed (source in vitaldb/vitalutils ``python/vitaldb-pypi/vitaldb/``)

Both hosts are served under one origin, as a deployment-specific base URL would be:
``api.vitaldb.net`` paths at the root (``/cases``, ``/trks``, ``/labs``, ``/{tid}``,
``/{caseid}.vital``, ``/1.0.1/{caseid}.vital``) and ``vitaldb.net`` Web API paths under
``/api/``. Point the official client at it with ``vitaldb.dataset.api_url = server.url``
and ``vitaldb.api.login(id, pw, host="127.0.0.1", port=server.port)``.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import struct
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

NAN = math.nan

# --------------------------------------------------------------------------------------
# Open dataset (api.vitaldb.net)
# --------------------------------------------------------------------------------------

# OD: "The responses are files with **GZip-compressed** comma separated values (CSV)
# format." The official client reads every one with ``pd.read_csv(url)`` (DATASET.PY),
# and pandas decompresses a URL's body only when the answer says ``Content-Encoding:
# gzip`` (pandas/io/common.py: ``if content_encoding == "gzip"``); urllib, which pandas
# uses, sends ``Accept-Encoding: identity``. So the gzip is HTTP content coding, sent
# whatever the request accepts (a third-party reader notes "the API gzips regardless of
# Accept-Encoding").
OPEN_DATASET_CONTENT_ENCODING = "gzip"
# CHOICE: no document or reader names the media type. The track paths have no file
# extension, so a static file server's default type is the plausible answer; nothing in
# the official client looks at it. Clients must not depend on ``text/csv``.
OPEN_DATASET_CONTENT_TYPE = "application/octet-stream"

# Third-party readers of /cases key the first column as '\ufeffcaseid' (e.g. a
# ``case['\ufeffcaseid']`` lookup on ``https://api.vitaldb.net/cases`` in three public
# repositories) while keying /trks rows as plain 'caseid'; another notes "the cases
# endpoint begins with a BOM". So /cases starts with a UTF-8 byte-order mark and /trks
# does not. CHOICE: /labs and the track files carry none (no evidence either way).
UTF8_BOM = b"\xef\xbb\xbf"

# OV "Parameter List / Clinical Information": the first 22 parameters, in the documented
# order and spelling (the real table continues with adm, dis, los_postop, ... intraop_ca).
# OD: "all timepoints are in seconds from casestart. Therefore, the casestart is always
# zero". The row values are fixture values. CHOICE: "\n" line ends, no quoting needed.
CASES_COLUMNS = (
    "caseid", "subjectid", "casestart", "caseend", "anestart", "aneend", "opstart",
    "opend", "age", "sex", "height", "weight", "bmi", "asa", "emop", "department",
    "optype", "dx", "opname", "approach", "position", "ane_type",
)  # fmt: skip
CASES_CSV = (
    "caseid,subjectid,casestart,caseend,anestart,aneend,opstart,opend,age,sex,height,"
    "weight,bmi,asa,emop,department,optype,dx,opname,approach,position,ane_type\n"
    "1,5955,0,11542,-552,10848,1668,10368,77,M,160.2,67.5,26.3,2,0,General surgery,"
    "Colorectal,Rectal cancer,Low anterior resection,Videoscopic,Lithotomy,General\n"
    "2,2487,0,15741,-1039,14921,1721,14621,54,M,167.3,54.8,19.6,2,0,General surgery,"
    "Stomach,Gastric cancer,Subtotal gastrectomy,Open,Supine,General\n"
)
CASES_BODY = UTF8_BOM + CASES_CSV.encode("utf-8")

# The two tracks of case 1 and the one of case 2. OV lists "Solar8000/HR | Heart rate | N"
# and "BIS/EEG1_WAV | EEG wave from channel 1 | W/128" (numeric; wave at 128 Hz).
NUMERIC_TNAME = "Solar8000/HR"
WAVE_TNAME = "BIS/EEG1_WAV"
# CHOICE: 40 hexadecimal digits, the form of the tids in the official client's own
# examples (DATASET.PY: 'eb1e6d9a963d7caab8f00993cd85bf31931b7a32'). OD's sample link
# shows a 16-digit one (https://api.vitaldb.net/d3b01ea0d7080f0d); the replica answers
# any run of hex digits it knows and 404 for the rest.
NUMERIC_TID = "5f0c3a8e9b6d4f21a7c03e5d8b1f62a4c9e07d13"
WAVE_TID = "b83e1d7a04c95f2e6a1b7c3d9e8f0a4b5c6d7e81"
CASE2_NUMERIC_TID = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"

# OD "Track list": columns "caseid | tname | tid".
TRKS_CSV = (
    "caseid,tname,tid\n"
    f"1,{WAVE_TNAME},{WAVE_TID}\n"
    f"1,{NUMERIC_TNAME},{NUMERIC_TID}\n"
    f"2,{NUMERIC_TNAME},{CASE2_NUMERIC_TID}\n"
)
TRKS_BODY = TRKS_CSV.encode("utf-8")

# OD "Laboratory results": "caseid | dt | name | result", dt in "seconds based on
# casestart" (so a preoperative test has a negative dt). Names from OV "Lab Results".
LABS_CSV = """\
caseid,dt,name,result
1,-26047,alb,4.3
1,594,hb,14.1
1,594,plt,260
2,3012,gluc,110
"""
LABS_BODY = LABS_CSV.encode("utf-8")

# OD "Track data": "Track data has two columns: Time and Values"; the header is ``Time``
# and the track's full name, which is how readers index it (the official package's own
# comment: ``pd.read_csv('https://api.vitaldb.net/' + tid)[tname].max()``; a third-party
# reader indexes ``trackdata['Time']``).
# OD "Numeric data track": "Rows with missing values are omitted. Therefore, time
# intervals between rows can vary." So the times below are irregular: 0.5, 2.5, then two
# rows in the same second, a gap. CHOICE: one recorded value printed as ``-nan(ind)``
# (MSVC's printf of a NaN), which the official client reads as missing (DATASET.PY:
# ``pd.read_csv(url, na_values='-nan(ind)', dtype=np.float32)``); the R sample in
# vitalutils (R/load_case.r) likewise passes ``na.strings=c("", "-nan(ind)")``.
NUMERIC_CSV = """\
Time,Solar8000/HR
0.5,71
2.5,72
4.25,73
4.75,74
6.5,-nan(ind)
8.75,75
9.25,76
"""
NUMERIC_TIMES = (0.5, 2.5, 4.25, 4.75, 6.5, 8.75, 9.25)
NUMERIC_VALUES = (71.0, 72.0, 73.0, 74.0, NAN, 75.0, 76.0)
# What the official ``load_trk(NUMERIC_TID, 1)`` returns (see docs/vitaldb-wire-facts.md):
# ``ret[int(t / interval)] = v`` row by row on an array of ``int(max t / interval) + 1``
# cells, so a later row in the same cell overwrites (74 wins over 73 in cell 4) and empty
# cells are NaN.
NUMERIC_LOAD_TRK_1S = (71.0, NAN, 72.0, NAN, 74.0, NAN, NAN, NAN, 75.0, 76.0)

# OD "Waveform data track": "The time column has three values: start time (0), time
# interval (s), and end time (s). Time intervals between rows are assumed constant ...
# Rows with missing values are not omitted, therefore the data is loadable as an array."
# Which rows carry the three values is in the official client (vitaldb 1.6.0,
# UTILS.PY ``load_opendata``): ``interval = dtvals[1,0] - dtvals[0,0]`` (row 0 holds the
# start, row 1 holds start + interval, i.e. the interval since the start is 0) and
# "open dataset always starts with 0 / dt = dtvals[-1,0]" (the last row holds the end).
# The end is the time of the last sample, (n - 1) * interval: with it, 1.7.2's
# ``load_trk(tid, interval=1/srate)`` computes ``int(end / interval) + 1 == n`` cells and
# returns the values unchanged. Every other Time cell is empty. 128 Hz makes every time
# exact in binary (1/128 = 0.0078125), so float32 reading loses nothing.
WAVE_SRATE = 128
WAVE_INTERVAL = 1 / WAVE_SRATE
WAVE_CSV = """\
Time,BIS/EEG1_WAV
0,12.5
0.0078125,13.25
,14
,-nan(ind)
,15.5
,16
,15.75
,14.5
,12
,9.25
,7
,6.5
,-nan(ind)
,8
,10.5
,11.25
0.125,3.5
"""
WAVE_VALUES = (
    12.5, 13.25, 14.0, NAN, 15.5, 16.0, 15.75, 14.5, 12.0,
    9.25, 7.0, 6.5, NAN, 8.0, 10.5, 11.25, 3.5,
)  # fmt: skip
# The Time column as printed (NaN where the cell is empty) and the times a reader rebuilds
# from it: start + i * interval for each of the n rows.
WAVE_TIME_COLUMN = (0.0, WAVE_INTERVAL) + (NAN,) * (len(WAVE_VALUES) - 3) + (0.125,)
WAVE_TIMES = tuple(i * WAVE_INTERVAL for i in range(len(WAVE_VALUES)))

CASE2_NUMERIC_CSV = "Time,Solar8000/HR\n1,88\n3.5,90\n"
CASE2_NUMERIC_TIMES = (1.0, 3.5)
CASE2_NUMERIC_VALUES = (88.0, 90.0)

TRACK_CSVS = {
    NUMERIC_TID: NUMERIC_CSV,
    WAVE_TID: WAVE_CSV,
    CASE2_NUMERIC_TID: CASE2_NUMERIC_CSV,
}

# --------------------------------------------------------------------------------------
# .vital files (VF), for /{caseid}.vital, /1.0.1/{caseid}.vital and /api/download
# --------------------------------------------------------------------------------------

# VF: "It is a single gzip compressed binary file starting with (1F 8B 08 00)";
# "Multi-byte variables are encoded using little-endian"; strings are "4-byte length ...
# followed by a character array", no NUL.
VITAL_CONTENT_TYPE = "application/octet-stream"  # CHOICE: no document names one
TZBIAS_KST = -540  # VF footnote: "// -540 for Korea"
# CHOICE: the open dataset's files are anonymised to 2100-01-01 00:00:00 UTC, the default
# of the official ``VitalFile.anonymize(dt=datetime(2100,1,1))`` (UTILS.PY) and the epoch
# of api.vitaldb.net's FHIR dates ("date=ge2100-01-01T00:01:00Z").
OPEN_DATASET_DTSTART = 4102444800.0
CASE_LENGTH = 10.0  # seconds covered by each fixture file: dtend = dtstart + 10


def _vstr(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<L", len(data)) + data  # VF "String data format"


def _packet(ptype: int, data: bytes) -> bytes:
    # VF "Packet structure": type BYTE, datalen DWORD ("exclude type and datalen"), data
    return struct.pack("<BL", ptype, len(data)) + data


def _devinfo(devid: int, typename: str, devname: str, port: str = "") -> bytes:
    # VF "DEVINFO" (SAVE_DEVINFO = 9): devid DWORD, typename, devname, port
    return _packet(9, struct.pack("<L", devid) + _vstr(typename) + _vstr(devname) + _vstr(port))


def _trkinfo(
    trkid: int, rec_type: int, name: str, unit: str, mindisp: float, maxdisp: float,
    srate: float, devid: int,
) -> bytes:  # fmt: skip
    # VF "TRKINFO" (SAVE_TRKINFO = 0): trkid WORD, rec_type BYTE (TYPE_WAV = 1, TYPE_NUM =
    # 2), recfmt BYTE (FMT_FLOAT = 1), name, unit, mindisp float, maxdisp float, color
    # DWORD (ARGB), srate float, adc_gain double, adc_offset double, montype BYTE, devid
    # DWORD, reclen DWORD ("It can be zero if ... not calculated").
    data = (
        struct.pack("<HBB", trkid, rec_type, 1)
        + _vstr(name)
        + _vstr(unit)
        + struct.pack("<ffLfddBLL", mindisp, maxdisp, 0xFF00FF00, srate, 1.0, 0.0, 0, devid, 0)
    )
    return _packet(0, data)


def _rec(dt: float, trkid: int, values: bytes) -> bytes:
    # VF "REC" (SAVE_REC = 1): infolen WORD ("currently 10"), dt double, trkid WORD, values
    return _packet(1, struct.pack("<HdH", 10, dt, trkid) + values)


def build_vital(dtstart: float, tracks: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]):
    """The uncompressed bytes of a .vital file holding ``tracks``.

    ``tracks`` maps a track name to its (times, values) as the open dataset prints them;
    the wave track (``WAVE_TNAME``) becomes one WAV record at ``dtstart``, numeric tracks
    one NUM record per row at ``dtstart + time``. Devices: Solar8000 (devid 1), BIS (2).
    """
    # VF "Header": sign "VITA", format_ver DWORD ("currently 3"), headerlen WORD
    # ("currently 26"), tzbias short, inst_id DWORD, prog_ver DWORD, dtstart double,
    # dtend double.
    out = [
        b"VITA",
        struct.pack("<LH", 3, 26),
        struct.pack("<hLLdd", TZBIAS_KST, 0, 0, dtstart, dtstart + CASE_LENGTH),
        _devinfo(1, "Solar8000", "Solar8000"),
        _devinfo(2, "BIS", "BIS"),
    ]
    recs = []
    for trkid, (dtname, (times, values)) in enumerate(tracks.items(), start=1):
        dname, tname = dtname.split("/", 1)
        devid = 1 if dname == "Solar8000" else 2
        if dtname == WAVE_TNAME:
            out.append(_trkinfo(trkid, 1, tname, "uV", -100.0, 100.0, WAVE_SRATE, devid))
            # VF "WAV records": num DWORD, then the samples in recfmt (float)
            samples = struct.pack(f"<L{len(values)}f", len(values), *values)
            recs.append(_rec(dtstart + times[0], trkid, samples))
        else:
            out.append(_trkinfo(trkid, 2, tname, "/min", 0.0, 200.0, 0.0, devid))
            for t, v in zip(times, values, strict=True):
                recs.append(_rec(dtstart + t, trkid, struct.pack("<f", v)))  # "NUM records"
    return b"".join(out + recs)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


CASE_TRACKS = {
    1: {
        NUMERIC_TNAME: (NUMERIC_TIMES, NUMERIC_VALUES),
        WAVE_TNAME: (WAVE_TIMES, WAVE_VALUES),
    },
    2: {NUMERIC_TNAME: (CASE2_NUMERIC_TIMES, CASE2_NUMERIC_VALUES)},
}
CASE_VITAL_FILES = {
    caseid: _gzip(build_vital(OPEN_DATASET_DTSTART, tracks))
    for caseid, tracks in CASE_TRACKS.items()
}

# --------------------------------------------------------------------------------------
# Web API (vitaldb.net/api)
# --------------------------------------------------------------------------------------

# The credentials of the docs' own samples (WA: ``vitaldb.login(id="vitaldb_test",
# pw="vitaldb_test")``). CHOICE: the token is a fixed literal.
USER_ID = "vitaldb_test"
USER_PW = "vitaldb_test"
ACCESS_TOKEN = "3c1f9e0b7d2a4c6e8f1a3b5d7c9e0f2a"
# WA "Login API / Return Value": "Content-type: application/json"; access_token String;
# token_type 'Always "bearer"'; expires_in 'Always 3600'.
LOGIN_CONTENT_TYPE = "application/json"
LOGIN_JSON = '{"access_token":"' + ACCESS_TOKEN + '","token_type":"bearer","expires_in":3600}'

# WA "File List" / "Track List" "Return Value": "Content-Disposition:
# attachment;filename=json.gz;" and "Content-Type: application/x-gzip", "A gzip
# compressed file that contains a list of file information in JSON format". The trailing
# ";" is in the document (and in the older Myfiles API page, vitaldb.net/docs
# documentId=1v2XkMVV...), so it is reproduced. Not content coding: the official client
# does ``json.loads(gzip.decompress(res.content))`` (API.PY), which would fail if requests
# had already undone a ``Content-Encoding: gzip``.
JSON_GZ_CONTENT_TYPE = "application/x-gzip"
JSON_GZ_CONTENT_DISPOSITION = "attachment;filename=json.gz;"

# Two files, named as in the docs' own examples (WA: "File name (ex)
# DEMO_210415_091812.vital"; the Download sample ``vitaldb.download(
# 'TEST1_211020_142621.vital')``): bedname_yymmdd_hhmmss.vital, recorded in Korea.
DEMO_FILENAME = "DEMO_210415_091812.vital"
TEST1_FILENAME = "TEST1_211020_142621.vital"
DEMO_DTSTART = 1618445892.0  # 2021-04-15 09:18:12 +09:00
TEST1_DTSTART = 1634707581.0  # 2021-10-20 14:26:21 +09:00
WEB_FILES = {
    DEMO_FILENAME: _gzip(build_vital(DEMO_DTSTART, CASE_TRACKS[1])),
    TEST1_FILENAME: _gzip(build_vital(TEST1_DTSTART, CASE_TRACKS[2])),
}
WEB_FILE_TRACKS = {
    DEMO_FILENAME: [NUMERIC_TNAME, WAVE_TNAME],
    TEST1_FILENAME: [NUMERIC_TNAME],
}

# WA "File List" fields: filename String, filesize Number ("File size in bytes"), dtstart
# / dtend / dtupload Datetime. The official client returns the decoded JSON as is and the
# docs iterate it as ``for f in vitaldb.filelist(...): f['filename']`` and
# ``pd.DataFrame(filelist)``: a JSON array of objects. CHOICE: Datetime as local
# "YYYY-MM-DD HH:MM:SS" (the Python_Library.md filter format "Y-m-d h:m:s"), and PHP's
# ``json_encode`` defaults (compact, "/" escaped as "\/"): the server is PHP (the older
# upload endpoint is https://vitaldb.net/noti_post3.php).
FILELIST = [
    {
        "filename": DEMO_FILENAME,
        "filesize": len(WEB_FILES[DEMO_FILENAME]),
        "dtstart": "2021-04-15 09:18:12",
        "dtend": "2021-04-15 09:18:22",
        "dtupload": "2021-04-15 09:30:05",
    },
    {
        "filename": TEST1_FILENAME,
        "filesize": len(WEB_FILES[TEST1_FILENAME]),
        "dtstart": "2021-10-20 14:26:21",
        "dtend": "2021-10-20 14:26:31",
        "dtupload": "2021-10-20 15:02:44",
    },
]
# WA "Track List" fields: filename String, trks "Array/List" ("Track list (ex)
# ['SNUH/SNUADC',...]").
TRACKLIST = [{"filename": f, "trks": WEB_FILE_TRACKS[f]} for f in WEB_FILES]


def php_json(value: Any) -> str:
    """JSON as PHP's ``json_encode`` writes it by default: compact, "/" escaped."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


# CHOICE (the documents are silent on failures): a missing or wrong access_token, or a
# failed login, is 401 with a short text body. The official client only tests
# ``200 != res.status_code`` and then shows the body ("API Server Error: " + body).
ERROR_CONTENT_TYPE = "text/plain; charset=utf-8"
BAD_TOKEN_BODY = "invalid access token"
BAD_LOGIN_BODY = "invalid id or pw"
# CHOICE: where ``asurl=1`` points. WA: "If asurl is 1, the url for downloading the vital
# file will be sent"; the official client returns the body text as that URL and the docs
# pass it to ``vitaldb.VitalFile(...)``. The real link's form is undocumented; the replica
# answers its own token-free ``/dl/{filename}``, as a presigned storage link would be.
DOWNLOAD_LINK_PREFIX = "/dl/"

MASK = "***"
_MASKED_PARAMS = {"access_token", "pw"}
_HEX = re.compile(r"/([0-9a-f]+)")
_VITAL = re.compile(r"/(?:1\.0\.1/)?0*([0-9]+)\.vital")


class _QuietHandler(WSGIRequestHandler):
    """No request log: werkzeug's would print the raw query line, token and pw included."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _text(body: str, status: int) -> Response:
    return Response(body, status, content_type=ERROR_CONTENT_TYPE)


class DocumentedVitalDB:
    """The documented VitalDB open dataset and Web API on a free loopback port.

    ``start()``/``stop()`` or ``with DocumentedVitalDB() as server:``; ``server.url`` is
    the one origin both hosts' paths are served under. ``server.requests`` records every
    request received (method, path, query pairs and headers, with ``access_token``,
    ``pw`` and ``Authorization`` values masked, and the form fields likewise).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> DocumentedVitalDB:
        app = Request.application(self._handle)
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DocumentedVitalDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("not started")
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # -- the record --------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, request: Request) -> None:
        def pairs(multidict: Any) -> list[tuple[str, str]]:
            return [(k, MASK if k in _MASKED_PARAMS else v) for k, v in multidict.items(multi=True)]

        headers = {
            k: (MASK if k.lower() == "authorization" else v) for k, v in request.headers.items()
        }
        entry = {
            "method": request.method,
            "path": request.path,
            "query": pairs(request.args),
            "headers": headers,
            "form": pairs(request.form),
        }
        with self._lock:
            self._requests.append(entry)

    # -- dispatch ------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        self._record(request)
        path = request.path
        if path.startswith("/api/"):
            return self._web_api(request, path[len("/api/") :])
        if path.startswith(DOWNLOAD_LINK_PREFIX):
            return self._vital_file(WEB_FILES.get(path[len(DOWNLOAD_LINK_PREFIX) :]))
        if request.method != "GET":
            # OD: "All Web API's endpoint can be accessed by sending HTTP requests with GET
            # method". CHOICE: anything else is 405.
            return _text("method not allowed", 405)
        if path == "/cases":
            return self._csv(CASES_BODY)
        if path == "/trks":
            return self._csv(TRKS_BODY)
        if path == "/labs":
            return self._csv(LABS_BODY)
        match = _VITAL.fullmatch(path)
        if match:
            # VF: "Sample vital file can be downloadable from https://api.vitaldb.net/
            # 0001.vital"; vitalutils python/download_open_dataset.py fetches
            # f'https://api.vitaldb.net/{caseid}.vital'; DATASET.PY 1.7.2 reads
            # f"{api_url}/{DATASET_VERSION}/{caseid}.vital" with DATASET_VERSION "1.0.1".
            # CHOICE: all three answer the same classic (not "packed") file of VF.
            return self._vital_file(CASE_VITAL_FILES.get(int(match.group(1))))
        match = _HEX.fullmatch(path)
        if match and match.group(1) in TRACK_CSVS:
            return self._csv(TRACK_CSVS[match.group(1)].encode("utf-8"))
        return _text("not found", 404)  # CHOICE: unknown path or tid

    @staticmethod
    def _csv(body: bytes) -> Response:
        response = Response(_gzip(body), 200, content_type=OPEN_DATASET_CONTENT_TYPE)
        response.headers["Content-Encoding"] = OPEN_DATASET_CONTENT_ENCODING
        return response

    @staticmethod
    def _vital_file(data: bytes | None, filename: str | None = None) -> Response:
        if data is None:
            return _text("not found", 404)
        response = Response(data, 200, content_type=VITAL_CONTENT_TYPE)
        if filename:
            # CHOICE: the same header spelling the json.gz answers use (WA).
            response.headers["Content-Disposition"] = f"attachment;filename={filename};"
        return response

    def _web_api(self, request: Request, name: str) -> Response:
        params = request.values  # query string and form body, as PHP's $_REQUEST
        if name == "login":
            # WA: "Method POST"; fields id, pw; sample ``curl -v -d "id=userid&pw=password"``
            # (a form body). The official client sends them as query parameters instead
            # (API.PY: ``requests.post(API_URL + "login", params={"id":id, "pw":pw})``),
            # so both are read.
            if request.method != "POST":
                return _text("method not allowed", 405)
            if params.get("id") != USER_ID or params.get("pw") != USER_PW:
                return _text(BAD_LOGIN_BODY, 401)
            return Response(LOGIN_JSON, 200, content_type=LOGIN_CONTENT_TYPE)
        if name not in ("filelist", "tracklist", "download"):
            return _text("not found", 404)
        if request.method != "GET":  # WA: these three are "Method GET"
            return _text("method not allowed", 405)
        # WA: every one lists "access_token | String | Required" among its parameters; the
        # official client sends ``params={"access_token": access_token, ...}``. No
        # document mentions an Authorization header, so one is not accepted instead.
        if params.get("access_token") != ACCESS_TOKEN:
            return _text(BAD_TOKEN_BODY, 401)
        if name == "download":
            filename = params.get("filename", "")
            if filename not in WEB_FILES:
                return _text("not found", 404)  # CHOICE
            if params.get("asurl") == "1":
                link = request.host_url.rstrip("/") + DOWNLOAD_LINK_PREFIX + filename
                return Response(link, 200, content_type=ERROR_CONTENT_TYPE)
            # WA: "Vital File | File | A vital file (if asurl is not 1)"
            return self._vital_file(WEB_FILES[filename], filename)
        # WA filelist/tracklist filter "bedname"; the older Myfiles page: "Filter file list
        # by bedname (filename LIKE %bedname%)"; the official client joins a list with ",".
        # CHOICE: the date filters are accepted (and recorded) but do not filter.
        rows = FILELIST if name == "filelist" else TRACKLIST
        bednames = [b for b in params.get("bedname", "").split(",") if b]
        if bednames:
            rows = [r for r in rows if any(b in r["filename"] for b in bednames)]
        response = Response(
            _gzip(php_json(rows).encode("utf-8")), 200, content_type=JSON_GZ_CONTENT_TYPE
        )
        response.headers["Content-Disposition"] = JSON_GZ_CONTENT_DISPOSITION
        return response
