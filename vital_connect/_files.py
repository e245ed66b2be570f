"""Files that hold secrets: written atomically, in directories only their owner can use."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ._errors import warn


class UnsafeDirectory(OSError):
    """A directory someone else owns or can write to: secrets must not go there."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) or check it: ours, not a symlink, and no one else may
    write to it (a group- or world-writable folder lets others swap our files)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):  # a symlink too: lstat does not follow it
        raise UnsafeDirectory(f"{str(path)!r} is not a plain directory")
    if info.st_uid != os.getuid():
        raise UnsafeDirectory(f"{str(path)!r} belongs to another user")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        # others could have planted files or links already: not a place for secrets
        raise UnsafeDirectory(f"{str(path)!r} can be written to by other users")
    if mode != 0o700:
        os.chmod(path, 0o700)  # ours and unwritable by others: only its reading is tightened
    return path


def private_dir_or_none(path: Path, unusable: str, instead: str) -> Path | None:
    """:func:`private_dir`, or None with a VitalConnectWarning saying why and what happens
    ``instead`` (a cache is a convenience, never a reason to fail)."""
    try:
        return private_dir(path)
    except OSError as exc:  # UnsafeDirectory too: it has no strerror, only its message
        why = exc.strerror or str(exc)
        warn(f"Not using the {unusable} in {str(path)!r}: {why}. {instead}")
        return None


def write_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` in one rename; keep its mode (0600 for a new file).

    A symlink is written through: its target is replaced, so the link keeps pointing at
    the new content (replacing the link itself would leave the target stale)."""
    path = Path(os.path.realpath(path))
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o600
    with _replacing(path, mode, ".tmp") as fh:
        fh.write(text.encode("utf-8"))


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only once fully written (else nothing is
    left behind); mode as for any new file of the user (0666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    with _replacing(path, 0o666 & ~umask, ".part") as fh:
        yield fh


@contextlib.contextmanager
def _replacing(path: Path, mode: int, suffix: str) -> Iterator[BinaryIO]:
    """A temporary file beside ``path``, renamed over it once written and synced."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
