"""VitalDB's open dataset kept on disk, so that a cohort is downloaded once.

What is kept: answers of the dataset's public paths only — the tables (``/cases``,
``/trks``, ``/labs``) and track files (``/{tid}``), the paths the dialect sends no token to
(``placement(...) is None``). An authenticated answer is never stored.

Where: ``cache_root() / "dataset"`` (``$VITAL_CONNECT_CACHE_DIR/dataset`` when that is set,
else the user cache directory, e.g. ``~/.cache/vital-connect/dataset``), a 0700 folder of the
user's own. One entry per URL: ``<name>-<hash>.json`` (the URL, ``ETag``, ``Last-Modified``,
when it was stored, the data file's size and SHA-256) and the data file it names,
``<name>-<hash>-<sha>.csv.gz``. Delete the folder to clear it.

How long: when the server gave ``ETag`` or ``Last-Modified``, every use asks it again with
``If-None-Match``/``If-Modified-Since`` and a ``304 Not Modified`` means "use the file": a
changed file is never missed, an unchanged one costs an empty answer, no body. Without
either, a file is used without asking for :data:`UNVALIDATED_TTL` (7 days), then fetched
again. ``Cache-Control: no-store`` is obeyed. ``connect(..., cache=False)`` bypasses it all.

The bytes kept are the gzip stream as served (the dataset is sent with
``Content-Encoding: gzip``): storing it costs no CPU (re-compressing a large wave track
would cost more than parsing it), it is a plain ``.csv.gz`` anyone can read, and the
frame is decoded from it by the same dialect code as a fresh answer, so a cached frame
equals a fetched one. A body sent without content coding is gzipped (fast level) unless it
is a gzip file already. (Parquet would reload faster, but would make pyarrow a dependency
of the core and add a second decoding path.)

Several workers of one machine may fill it at once: each entry has a file lock
(``filelock``) held while it is checked, fetched and stored, so a file is downloaded once
and the others revalidate it; data and index files are written atomically (the index last,
so it never names a file that is not complete). A damaged entry (a wrong checksum, an index
that is not ours) is dropped with a :class:`VitalConnectWarning` and fetched again. The
cache is never a reason to fail: an unusable folder or a full disk is warned about and the
data is fetched without it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ._cache import CACHE_ENV, cache_root
from ._dataset_files import Damaged, Entry, read_own
from ._errors import APIError, VitalConnectError, warn
from ._files import atomic_output, private_dir_or_none, write_atomically
from ._frames import stamp
from ._http import GZIP_MAGIC, budget, gunzip, network_error, read_body
from ._redact import redact
from .dialects import Json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._session import Session

MAX_INDEX_BYTES = 1 << 16  # an index file is a few hundred bytes
LOCK_MARGIN = 30.0  # seconds beyond a call's budget to wait for another worker's download
FAST_GZIP = 1  # compression level for a body sent without content coding
_SLUG = re.compile(r"[^A-Za-z0-9_.]+")


def default_dir() -> Path:
    """``cache_root() / "dataset"``: beside the token files, in the user's cache."""
    return cache_root() / "dataset"


def enabled(s: Session) -> bool:
    """The session keeps dataset files (``connect(cache=...)`` not False)."""
    return s.options.cache not in (False, None)


def cacheable(s: Session, path: str) -> bool:
    """A public dataset path: no token goes there, so its answer is anyone's to keep."""
    return (
        s.dialect.has_dataset
        and not path.startswith(("http://", "https://"))
        and "?" not in path
        and s.dialect.placement(s.provider, path) is None
    )


def get(s: Session, path: str) -> pd.DataFrame:
    """The dataset table or track file at ``path`` as a frame, from the cache when it
    holds it unchanged (see the module's docstring), else fetched and kept."""
    if not enabled(s) or not cacheable(s, path):
        return s.get(path, progress=False)
    return DatasetCache().get(s, path)


class DatasetCache:
    """The folder of dataset files (:func:`default_dir` unless given)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_dir()

    def __repr__(self) -> str:
        return f"DatasetCache({str(self.directory)!r})"

    @staticmethod
    def key(url: str) -> str:
        """The entry's file name stem: the path's last segment (readable) and the URL's
        hash (unique: the same path on another server is another entry)."""
        tail = _SLUG.sub("_", url.rstrip("/").rsplit("/", 1)[-1])[:48] or "root"
        return f"{tail}-{hashlib.sha256(url.encode()).hexdigest()[:24]}"

    def _folder(self) -> Path | None:
        return private_dir_or_none(
            self.directory,
            "dataset cache",
            f"The files are downloaded every time; set {CACHE_ENV} to a folder of your own "
            "to keep them.",
        )

    # ------------------------------------------------------------------ the one entry point

    def get(self, s: Session, path: str) -> pd.DataFrame:
        folder = self._folder()
        if folder is None:
            return s.get(path, progress=False)
        url = s.url_for(path)
        key = self.key(url)
        # the lock first: waiting for another worker's download is not this call's time
        with self._locked(folder, key, s.deadline) as locked, budget(s.deadline):
            if not locked:
                return s.get(path, progress=False)
            entry, body = self._load(folder, key, url, s.max_bytes)
            if entry is not None and body is not None:
                if entry.fresh_unasked(time.time()):
                    return self._frame(s, path, entry, body, "hit", folder, key)
                response = s.request("GET", path, headers=entry.validators(), stream=True)
                if response.status_code == 304:
                    response.close()
                    self._revalidated(folder, key, entry, response)
                    return self._frame(s, path, entry, body, "revalidated", folder, key)
            else:
                response = s.request("GET", path, stream=True)
            return self._fresh(s, path, url, response, folder, key, entry)

    # ------------------------------------------------------------------ reading

    @contextlib.contextmanager
    def _locked(self, folder: Path, key: str, deadline: float) -> Iterator[bool]:
        """The entry's lock (across processes and threads); False when it cannot be had
        (the caller then fetches without the cache)."""
        from filelock import FileLock
        from filelock import Timeout as LockTimeout

        path = folder / f"{key}.lock"
        if path.is_symlink():
            warn(f"Not using the dataset cache entry {str(path)!r}: its lock is a symbolic link.")
            yield False
            return
        lock = FileLock(str(path), timeout=deadline + LOCK_MARGIN, mode=0o600)
        try:
            lock.acquire()
        except LockTimeout:
            warn(
                f"Another program has held {str(path)!r} for over {deadline + LOCK_MARGIN:.0f} "
                "s; fetching without the dataset cache."
            )
            yield False
            return
        except OSError as exc:
            warn(f"Fetching without the dataset cache: no lock ({exc.strerror or exc}).")
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def _load(
        self, folder: Path, key: str, url: str, limit: int
    ) -> tuple[Entry | None, bytes | None]:
        """The entry and its stored bytes, checked; (None, None) when there is none or it
        is damaged (then dropped, with a warning)."""
        index = folder / f"{key}.json"
        try:
            entry = Entry.from_json(read_own(index, MAX_INDEX_BYTES), url)
            data = read_own(folder / entry.file, max(limit, 0), binary=True)
            if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
                raise Damaged("its data file does not match its checksum")
        except FileNotFoundError:
            if not index.exists():
                return None, None
            self._drop(folder, key, url, "its data file is missing")
            return None, None
        except Damaged as exc:
            self._drop(folder, key, url, str(exc))
            return None, None
        except OSError as exc:
            self._drop(folder, key, url, f"it cannot be read ({exc.strerror or exc})")
            return None, None
        return entry, data

    def _drop(self, folder: Path, key: str, url: str, why: str) -> None:
        warn(
            f"Ignoring the cached dataset file for {redact(url)} in {str(folder)!r}: {why}. "
            "It is downloaded again."
        )
        self._remove(folder, key)

    @staticmethod
    def _remove(folder: Path, key: str, keep: str | None = None) -> None:
        for path in folder.glob(f"{key}*"):
            if path.name not in (keep, f"{key}.lock", f"{key}.json"):
                with contextlib.suppress(OSError):
                    path.unlink()
        if keep is None:
            with contextlib.suppress(OSError):
                (folder / f"{key}.json").unlink()

    def _frame(
        self, s: Session, path: str, entry: Entry, stored: bytes, how: str, folder: Path, key: str
    ) -> pd.DataFrame:
        """The stored file as the frame a fresh answer gives (the dialect's own decoding)."""
        try:
            body = gunzip(stored, s.max_bytes, "cached csv.gz file")
            frame = s.dialect.decode(_replay(entry), body, path, s.max_bytes)
        except APIError as exc:
            if exc.error_type == "too_large":
                raise
            self._drop(folder, key, entry.url, f"it cannot be read ({exc.error_type})")
            response = s.request("GET", path, stream=True)
            return self._fresh(s, path, entry.url, response, folder, key, None)
        return _stamped(s, path, frame, entry.url, how, entry.stored_at)

    # ------------------------------------------------------------------ fetching

    def _fresh(
        self,
        s: Session,
        path: str,
        url: str,
        response: requests.Response,
        folder: Path,
        key: str,
        entry: Entry | None,
    ) -> pd.DataFrame:
        """A full answer: decode it (an error page raises, and is never stored), keep it."""
        if response.status_code >= 400:
            _read(s, response, decoded=True)
            raise s.dialect.error(response, s.provider.name)
        if response.status_code == 304:  # asked unconditionally, or for a file we lost
            response.close()
            raise APIError(
                f"{redact(response.url)} answered 304 Not Modified to a request that had "
                "nothing to compare with. Try again; connect(..., cache=False) avoids it.",
                status_code=304,
                error_type="unexpected_not_modified",
                url=redact(response.url),
            )
        stored, body = _wire(s, response)
        frame = s.dialect.decode(response, body, path, s.max_bytes)
        if isinstance(frame, Json):
            raise APIError(f"{path!r} is not a dataset table.", error_type="unexpected_table")
        now = time.time()
        if "no-store" not in response.headers.get("Cache-Control", "").lower():
            self._store(folder, key, url, response, stored, now, entry)
        return _stamped(s, path, frame, url, "stored", now)

    def _store(
        self,
        folder: Path,
        key: str,
        url: str,
        response: requests.Response,
        stored: bytes,
        now: float,
        old: Entry | None,
    ) -> None:
        digest = hashlib.sha256(stored).hexdigest()
        entry = Entry(
            url=url,
            file=f"{key}-{digest[:16]}.csv.gz",
            size=len(stored),
            sha256=digest,
            stored_at=now,
            etag=response.headers.get("ETag") or None,
            last_modified=response.headers.get("Last-Modified") or None,
            content_type=response.headers.get("Content-Type", ""),
        )
        try:
            with atomic_output(folder / entry.file) as fh:
                fh.write(stored)
            # the index last: it never names a file that is not complete
            write_atomically(folder / f"{key}.json", entry.to_json(), mode=0o600)
        except OSError as exc:
            warn(
                f"Could not keep {redact(url)} in the dataset cache {str(folder)!r} "
                f"({exc.strerror or exc}); it will be downloaded again next time."
            )
            return
        self._remove(folder, key, keep=entry.file)

    def _revalidated(
        self, folder: Path, key: str, entry: Entry, response: requests.Response
    ) -> None:
        """A 304 may carry newer validators (RFC 9111 section 4.3.4): keep them."""
        etag = response.headers.get("ETag") or entry.etag
        modified = response.headers.get("Last-Modified") or entry.last_modified
        if (etag, modified) == (entry.etag, entry.last_modified):
            return
        entry.etag, entry.last_modified = etag, modified
        with contextlib.suppress(OSError):
            write_atomically(folder / f"{key}.json", entry.to_json(), mode=0o600)


# ---------------------------------------------------------------------- helpers


def _stamped(
    s: Session, path: str, frame: Any, url: str, how: str, fetched_at: float
) -> pd.DataFrame:
    from datetime import UTC, datetime

    df = stamp(s.dialect.tidy(frame, path), redact(url), s.provider.name)
    df.attrs["fetched_at"] = datetime.fromtimestamp(fetched_at, UTC)  # when downloaded
    df.attrs["cache"] = how  # "stored" (downloaded now), "revalidated" (304) or "hit"
    return df


def _replay(entry: Entry) -> requests.Response:
    """The stored answer as a response object for the dialect's decoder (which reads its
    status, media type and address, never the network)."""
    response = requests.Response()
    response.status_code = 200
    response.url = entry.url
    if entry.content_type:
        response.headers["Content-Type"] = entry.content_type
    response._content = b""
    response._content_consumed = True  # type: ignore[attr-defined]  # requests' own flag
    return response


def _wire(s: Session, response: requests.Response) -> tuple[bytes, bytes]:
    """``(stored, body)``: the bytes to keep and the body with its content coding undone.
    A gzip content coding is read as sent (kept as is, then unpacked within the limit)."""
    coding = response.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("gzip", "x-gzip"):
        wire = _read(s, response, decoded=False)
        body = gunzip(wire, s.max_bytes, "gzip-coded answer")
    else:
        body = _read(s, response, decoded=True)
        if body.startswith(GZIP_MAGIC):
            return body, body  # a gzip file itself: keep it as it is
        wire = gzip.compress(body, FAST_GZIP, mtime=0)
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]
    return wire, body


def _read(s: Session, response: requests.Response, *, decoded: bool) -> bytes:
    """The body (within ``s.max_bytes`` and the call's budget), network failures mapped to
    APIError as the session maps them."""
    try:
        if decoded:
            return s._read(response)
        return read_body(response, s.max_bytes, decode=False)
    except requests.RequestException as exc:
        error: VitalConnectError = network_error(exc, s.provider.name, response.url)
    raise error  # outside the except block: no exception chain holding the response
