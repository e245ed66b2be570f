"""Token storage between kernel restarts: a small strategy object, as in pydata-google-auth.

``FileCache`` keeps one JSON file per provider + base URL + user, mode 0600 in a 0700
directory, written atomically under a file lock (two kernels may share it). Passwords and
client secrets are never stored: only what the token endpoint returned.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

from ._errors import ConfigurationError, VitalConnectWarning
from ._files import write_atomically
from ._token import Token

CACHE_ENV = "VITAL_CONNECT_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$VITAL_CONNECT_CACHE_DIR``, else the per-user cache directory of the platform."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vital-connect", appauthor=False)) / "tokens"


def cache_key(provider: str, base_url: str, user: str) -> str:
    digest = hashlib.sha256(f"{provider}\n{base_url}\n{user}".encode()).hexdigest()[:24]
    return f"{provider}-{digest}"


class NoCache:
    """Keeps nothing: every kernel logs in anew."""

    def load(self, key: str) -> Token | None:
        return None

    def save(self, key: str, token: Token) -> None:
        return None

    def delete(self, key: str) -> None:
        return None

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        yield

    def __repr__(self) -> str:
        return "NoCache()"


class FileCache:
    """One 0600 JSON file per key in a 0700 directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()

    def __repr__(self) -> str:
        return f"FileCache({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.directory.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(self.directory, 0o700)

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the file lock of ``key`` (across processes)."""
        from filelock import FileLock

        self._ensure_dir()
        lock_path = self.directory / f"{key}.lock"
        with FileLock(str(lock_path), timeout=30, mode=0o600):
            yield

    def load(self, key: str) -> Token | None:
        path = self.path(key)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._skip(path, f"it cannot be read ({exc.strerror})")
        if info.st_uid != os.getuid():
            return self._skip(path, "it belongs to another user")
        if stat.S_IMODE(info.st_mode) & 0o077:
            return self._skip(path, "other users can read it (expected mode 0600)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Token.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError):
            return self._skip(path, "it is not a valid token file")

    def _skip(self, path: Path, why: str) -> None:
        warnings.warn(
            f"Ignoring the cached token {str(path)!r}: {why}. You will be asked to log in; "
            "delete the file to stop this warning.",
            VitalConnectWarning,
            stacklevel=4,
        )
        return None

    def save(self, key: str, token: Token) -> None:
        self._ensure_dir()
        write_atomically(self.path(key), json.dumps(token.to_dict()), mode=0o600)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()


def make_cache(cache: bool | NoCache | FileCache) -> NoCache | FileCache:
    if cache is True:
        return FileCache()
    if cache is False or cache is None:
        return NoCache()
    if hasattr(cache, "load") and hasattr(cache, "save"):
        return cache
    raise ConfigurationError(f"cache must be True, False or a cache object, got {cache!r}")
