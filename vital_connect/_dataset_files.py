"""The dataset cache's files on disk: one index per URL, naming the data file it keeps
(the format is described in ``_dataset_cache``)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNVALIDATED_TTL = 7 * 24 * 3600  # seconds a file without ETag/Last-Modified is used unasked
FORMAT = 1  # of the index files; another value is not ours


class Damaged(Exception):
    """A cache entry that cannot be used; the message says why (for the warning)."""


@dataclass
class Entry:
    """One URL's index: where its data file is and how to revalidate it."""

    url: str
    file: str
    size: int
    sha256: str
    stored_at: float
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""

    def validators(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def fresh_unasked(self, now: float) -> bool:
        """No validators: used without asking while younger than UNVALIDATED_TTL."""
        return not self.validators() and 0 <= now - self.stored_at < UNVALIDATED_TTL

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **self.__dict__}, indent=1)

    @classmethod
    def from_json(cls, text: str, url: str) -> Entry:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise Damaged("its index is not JSON") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Damaged("its index is not one this version wrote")
        fields = {
            "url": str,
            "file": str,
            "size": int,
            "sha256": str,
            "stored_at": float | int,
            "etag": str | None,
            "last_modified": str | None,
            "content_type": str,
        }
        for name, kind in fields.items():
            if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
                raise Damaged(f"its index has no valid {name}")
        if data["url"] != url:
            raise Damaged("its index is for another address")
        if Path(data["file"]).name != data["file"] or not data["file"].endswith(".csv.gz"):
            raise Damaged("its index names a file elsewhere")
        return cls(**{name: data[name] for name in fields})


def read_own(path: Path, limit: int, *, binary: bool = False) -> Any:
    """A regular file of ours, at most ``limit`` bytes (else Damaged)."""
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise Damaged("it is not a regular file")
    if info.st_uid != os.getuid():
        raise Damaged("it belongs to another user")
    if info.st_size > limit:
        raise Damaged("it is larger than a cached file can be")
    data = path.read_bytes()
    return data if binary else data.decode("utf-8", "replace")
