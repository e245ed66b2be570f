"""Writing rotated credentials into a .env file without ever losing them.

The old credentials die the moment the server answers a rotation, so the new ones are
written atomically (temp file + rename, the file's mode kept, other lines untouched); if
that fails they go to a 0600 fallback file, and the error carries them too.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from ._errors import CredentialsNotSavedError
from ._files import write_atomically
from ._providers import Provider

_SAFE = re.compile(r"^[A-Za-z0-9_.:/+=@-]*$")


def _quote(value: str) -> str:
    # python-dotenv reads single-quoted values literally, apart from \\ and \'
    if _SAFE.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def updated_lines(text: str, updates: dict[str, str]) -> str:
    """``text`` with each ``KEY=`` line of ``updates`` replaced (or appended)."""
    lines = text.splitlines(keepends=True)
    done: set[str] = set()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if m and m.group(2) in updates:
            key = m.group(2)
            end = "\n" if line.endswith("\n") else ""
            lines[i] = f"{m.group(1)}{key}={_quote(updates[key])}{end}"
            done.add(key)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for key, value in updates.items():
        if key not in done:
            lines.append(f"{key}={_quote(value)}\n")
    return "".join(lines)


def _fallback(provider: Provider, updates: dict[str, str]) -> Path | None:
    from ._cache import default_cache_dir

    folder = default_cache_dir().parent / "rotated"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{provider.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.env"
        write_atomically(path, updated_lines("", updates), mode=0o600)
        return path
    except OSError:
        return None


def save_rotated(
    provider: Provider, env_file: Path, new: dict[str, str], result: dict[str, Any]
) -> None:
    """Write ``new`` (client_id/client_secret) into ``env_file`` under the provider's names."""
    updates = {provider.env_prefix + k.upper(): v for k, v in new.items()}
    try:
        try:
            text = env_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        write_atomically(env_file, updated_lines(text, updates))
    except OSError as exc:
        fallback = _fallback(provider, updates)
        where = (
            f"They were saved to {str(fallback)!r} (mode 0600) instead"
            if fallback
            else "They could not be saved anywhere either"
        )
        raise CredentialsNotSavedError(
            f"The credentials were rotated (the old ones no longer work) but could not be "
            f"written to {str(env_file)!r}: {exc.strerror or exc}. {where}; they are also in "
            "this error's .credentials. Copy them into your .env now.",
            credentials=result,
            fallback_path=str(fallback) if fallback else None,
        ) from None
