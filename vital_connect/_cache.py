"""Token storage between kernel restarts: a small strategy object, as in pydata-google-auth.

``FileCache`` keeps one JSON file per provider + base URL + user, mode 0600 in a 0700
directory of the user's own, written atomically under a file lock (two kernels may share
it). Passwords and client secrets are never stored: only what the token endpoint returned.

The cache is a convenience, never a reason to fail: a file of the wrong shape, a folder
someone else owns or can write to, a disk that refuses the write — each is skipped with a
warning, and the login goes on in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ._errors import ConfigurationError, TokenExpiredError, warn
from ._files import private_dir_or_none, write_atomically
from ._token import BadToken, Token

CACHE_ENV = "VITAL_CONNECT_CACHE_DIR"
MAX_FILE_BYTES = 1 << 20  # a token file is a few kB; anything bigger is not ours


def cache_root() -> Path:
    """``$VITAL_CONNECT_CACHE_DIR``, else the per-user cache directory of the platform."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vital-connect", appauthor=False))


def default_cache_dir() -> Path:
    """Where token files go: ``tokens`` under :func:`cache_root` (or the override itself)."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else cache_root() / "tokens"


def cache_key(provider: str, base_url: str, user: str) -> str:
    digest = hashlib.sha256(f"{provider}\n{base_url}\n{user}".encode()).hexdigest()[:24]
    return f"{provider}-{digest}"


class TokenCache(Protocol):
    """What a session needs of a token store (pass your own as ``connect(cache=...)``)."""

    def load(self, key: str) -> Token | None: ...
    def save(self, key: str, token: Token) -> None: ...
    def delete(self, key: str) -> None: ...
    def locked(self, key: str, timeout: float) -> contextlib.AbstractContextManager[None]: ...


class NoCache:
    """Keeps nothing: every kernel logs in anew."""

    def load(self, key: str) -> Token | None:
        return None

    def save(self, key: str, token: Token) -> None:
        return None

    def delete(self, key: str) -> None:
        return None

    @contextlib.contextmanager
    def locked(self, key: str, timeout: float = 30.0) -> Iterator[None]:
        yield

    def __repr__(self) -> str:
        return "NoCache()"


class FileCache:
    """One 0600 JSON file per key in a 0700 directory of the user's own."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()

    def __repr__(self) -> str:
        return f"FileCache({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def _folder(self) -> Path | None:
        return private_dir_or_none(
            self.directory,
            "token cache",
            f"Tokens are kept in memory only; set {CACHE_ENV} to a folder of your own "
            "to cache them.",
        )

    @contextlib.contextmanager
    def locked(self, key: str, timeout: float = 30.0) -> Iterator[None]:
        """Hold the file lock of ``key`` (across processes) for at most ``timeout`` seconds
        of waiting. Without a usable lock file the renewal goes on unlocked, with a warning."""
        from filelock import FileLock
        from filelock import Timeout as LockTimeout

        folder = self._folder()
        lock_path = (folder or self.directory) / f"{key}.lock"
        if folder is None or lock_path.is_symlink():
            if folder is not None:
                warn(f"Ignoring the lock file {str(lock_path)!r}: it is a symbolic link.")
            yield
            return
        lock = FileLock(str(lock_path), timeout=timeout, mode=0o600)
        try:
            lock.acquire()
        except LockTimeout:
            raise TokenExpiredError(
                f"Another program sharing the token cache has been renewing this login for "
                f"over {timeout:.0f} s ({str(lock_path)!r}). Try again in a minute; if it "
                "keeps happening, stop the other kernel or connect(..., cache=False)."
            ) from None
        except OSError as exc:
            warn(f"Renewing without the cache's lock ({exc.strerror or exc}).")
            yield
            return
        try:
            yield
        finally:
            lock.release()

    def load(self, key: str) -> Token | None:
        path = self.path(key)
        try:
            info = path.lstat()
        except (FileNotFoundError, NotADirectoryError):  # nothing cached (the folder warns)
            return None
        except OSError as exc:
            return self._skip(path, f"it cannot be read ({exc.strerror})")
        if not stat.S_ISREG(info.st_mode):
            return self._skip(path, "it is not a regular file")
        if info.st_uid != os.getuid():
            return self._skip(path, "it belongs to another user")
        if stat.S_IMODE(info.st_mode) & 0o077:
            return self._skip(path, "other users can read it (expected mode 0600)")
        if info.st_size > MAX_FILE_BYTES:
            return self._skip(path, "it is not a valid token file")
        try:
            return Token.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, BadToken, RecursionError, TypeError):
            return self._skip(path, "it is not a valid token file")

    def _skip(self, path: Path, why: str) -> Token | None:
        warn(
            f"Ignoring the cached token {str(path)!r}: {why}. You will be asked to log in; "
            "delete the file to stop this warning."
        )
        return None

    def save(self, key: str, token: Token) -> None:
        folder = self._folder()
        if folder is None:
            return
        try:
            write_atomically(self.path(key), json.dumps(token.to_dict()), mode=0o600)
        except OSError as exc:
            warn(
                f"Could not save the token in {str(folder)!r} ({exc.strerror or exc}); the "
                "login works, but a restarted kernel will ask again."
            )

    def delete(self, key: str) -> None:
        with contextlib.suppress(OSError):
            self.path(key).unlink()


def make_cache(cache: object) -> TokenCache:
    if cache is True:
        return FileCache()
    if cache is False or cache is None:
        return NoCache()
    if all(hasattr(cache, name) for name in ("load", "save", "delete", "locked")):
        return cache  # type: ignore[return-value]
    raise ConfigurationError(f"cache must be True, False or a cache object, got {cache!r}")
