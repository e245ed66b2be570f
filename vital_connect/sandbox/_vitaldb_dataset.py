"""VitalDB's open dataset (api.vitaldb.net), mounted at ``/vitaldb`` beside the Web API.

What follows which document (snuhvitallab/vitaldb-docs, ``API/Web_API_OpenDataset.md``):
``/cases``, ``/trks``, ``/labs`` and ``/{tid}``, public (no login), each "GZip-compressed"
CSV with a header row; the content of each file is ``_dataset``'s. The official client
(vitaldb/vitalutils, ``vitaldb/dataset.py``) reads them with ``pd.read_csv(url)``, which
undoes gzip only for ``Content-Encoding: gzip``: so the gzip is HTTP content coding, sent
whatever ``Accept-Encoding`` says (the files are stored compressed). It also reads
``/{DATASET_VERSION}/{caseid}.vital`` (``1.0.1``) for ``load_case``, and
``Vital_File_Format.md`` links a sample ``/0001.vital``: both are served, as the file itself
(a gzip stream, no content coding).

Where the documents are silent: the media type is ``application/octet-stream`` (what a
static-file server gives a path with no extension; nothing says ``text/csv``), and the files
carry ``ETag``/``Last-Modified`` and answer conditional requests with 304 (``_httpcache``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from flask import Blueprint

from . import _dataset as ds
from ._errors import Refused, vitaldb_error
from ._httpcache import static_file
from ._state import State

MEDIA_TYPE = "application/octet-stream"
DATASET_VERSION = "1.0.1"  # the official client's dataset.DATASET_VERSION
_TID = re.compile(r"[0-9a-f]{40}")
_VITAL = re.compile(r"0*([1-9][0-9]*)\.vital")


@lru_cache(maxsize=8)
def _cases(n: int, version: int) -> bytes:
    rows = (ds.case(i, version) for i in range(n))
    return ds.gzip_csv(ds.CASE_COLUMNS, rows, bom=True)


@lru_cache(maxsize=8)
def _trks(n: int, version: int) -> bytes:
    return ds.gzip_csv(("caseid", "tname", "tid"), ds.track_rows(n))


@lru_cache(maxsize=8)
def _labs(labs: int, cases: int, version: int) -> bytes:
    rows = (ds.lab(i, labs, cases, version) for i in range(labs if cases else 0))
    return ds.gzip_csv(("caseid", "dt", "name", "result"), rows)


@lru_cache(maxsize=64)
def _track(caseid: int, tname: str, seconds: int, wave_seconds: int, version: int) -> bytes:
    sizes = {"track_seconds": seconds, "wave_seconds": wave_seconds}
    rows = ds.track_csv_rows(caseid, ds.BY_NAME[tname], sizes, version)
    return ds.gzip_csv(("Time", tname), rows)


@lru_cache(maxsize=16)
def _case_vital(caseid: int, seconds: int, wave_seconds: int, version: int) -> bytes:
    sizes = {"track_seconds": seconds, "wave_seconds": wave_seconds}
    return ds.case_vital(caseid, sizes, version)


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("vitaldb_dataset", __name__)

    def answer(path: str, render, media_type: str = MEDIA_TYPE, encoding: str | None = "gzip"):
        version = state.dataset_version(path)
        body = render(version)
        etag, mtime = state.file_stamp(path, body, version)
        return static_file(body, etag, mtime, media_type, encoding=encoding)

    def not_found(what: str) -> Refused:
        return Refused(vitaldb_error(404, "not_found", f"Unknown {what}."))

    @bp.get("/cases")
    def cases():
        n = state.row_count("cases")
        return answer("/cases", lambda v: _cases(n, v))

    @bp.get("/trks")
    def trks():
        n = state.row_count("cases")
        return answer("/trks", lambda v: _trks(n, v))

    @bp.get("/labs")
    def labs():
        labs, cases = state.sizes("labs", "cases")
        return answer("/labs", lambda v: _labs(labs, cases, v))

    def vital_file(path: str, name: str):
        match = _VITAL.fullmatch(name)
        caseid = int(match.group(1)) if match else 0
        if not 1 <= caseid <= state.row_count("cases"):
            raise not_found(f"case file {name!r}")
        seconds, wave = state.sizes("track_seconds", "wave_seconds")
        render = lambda v: _case_vital(caseid, seconds, wave, v)  # noqa: E731
        return answer(path, render, encoding=None)

    @bp.get("/<name>")
    def track(name: str):
        if name.endswith(".vital"):
            return vital_file(f"/{name}", name)
        found = ds.track_index(state.row_count("cases")).get(name) if _TID.fullmatch(name) else None
        if found is None:
            raise not_found(f"track id {name!r}")
        caseid, tname = found
        seconds, wave = state.sizes("track_seconds", "wave_seconds")
        return answer(f"/{name}", lambda v: _track(caseid, tname, seconds, wave, v))

    @bp.get(f"/{DATASET_VERSION}/<name>")
    def versioned_vital(name: str):
        return vital_file(f"/{DATASET_VERSION}/{name}", name)

    return bp
