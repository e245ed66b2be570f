"""Writing rotated credentials into a .env file without ever losing them.

The old credentials die the moment the server answers a rotation, so the new ones are
written atomically (temp file + rename, the file's mode kept, other lines and a line's own
comment untouched, a symlinked ``.env`` written through to its target); if that fails they
go to a 0600 fallback file in a private folder, and the error carries them too.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from ._cache import cache_root
from ._errors import CredentialsNotSavedError
from ._files import private_dir, write_atomically

_SAFE = re.compile(r"^[A-Za-z0-9_.:/+=@-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINE = re.compile(
    r"^(?P<lead>\s*(?:export\s+)?)(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^#\r\n]*?)"
    r"(?P<comment>\s+#.*)?(?P<end>\r?\n)?$"
)


def _quote(value: str) -> str:
    # python-dotenv reads single-quoted values literally, apart from \\ and \'
    if _SAFE.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def updated_lines(text: str, updates: dict[str, str]) -> str:
    """``text`` with each ``KEY=`` line of ``updates`` replaced (or appended), keeping the
    line's ``export`` and its inline ``# comment``."""
    lines = text.splitlines(keepends=True)
    done: set[str] = set()
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m and m["key"] in updates:
            key = m["key"]
            lines[i] = (
                f"{m['lead']}{key}={_quote(updates[key])}{m['comment'] or ''}{m['end'] or ''}"
            )
            done.add(key)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for key, value in updates.items():
        if key not in done:
            lines.append(f"{key}={_quote(value)}\n")
    return "".join(lines)


def _escaped(value: str) -> str:
    # a double-quoted python-dotenv value: \n, \r, \t and quotes decode back exactly; other
    # control characters (never seen in a real secret) are written as \xNN, which dotenv
    # keeps literally: the exact values are in the error's .credentials as well
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", out) + '"'


def _fallback(prefix: str, updates: dict[str, str]) -> Path | None:
    """A 0600 .env file in a 0700 folder of the user's own (never a shared one)."""
    try:
        # the cache root must be private too: never a folder inside a shared one like /tmp
        folder = private_dir(private_dir(cache_root()) / "rotated")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{prefix.lower().rstrip('_')}-{stamp}-{os.getpid()}.env"
        text = "".join(f"{key}={_escaped(value)}\n" for key, value in updates.items())
        write_atomically(path, text, mode=0o600)
        return path
    except OSError:
        return None


def save_rotated(
    env_prefix: str, env_file: Path, new: dict[str, str], result: dict[str, Any]
) -> None:
    """Write ``new`` (client_id/client_secret) into ``env_file`` under the provider's names."""
    updates = {env_prefix + k.upper(): v for k, v in new.items()}
    problem: str
    if any(_CONTROL.search(v) for v in updates.values()):
        # a newline would inject lines into the .env (a later rotation could then override
        # VITALERA_BASE_URL): such values go only to the fallback file, escaped
        problem = "the new values contain control characters (a line break, say)"
    else:
        try:
            try:
                text = env_file.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            write_atomically(env_file, updated_lines(text, updates))
            return
        except (OSError, UnicodeDecodeError) as exc:
            problem = getattr(exc, "strerror", None) or str(exc)
    fallback = _fallback(env_prefix, updates)
    where = (
        f"They were saved to {str(fallback)!r} (mode 0600) instead"
        if fallback
        else "They could not be saved anywhere either"
    )
    raise CredentialsNotSavedError(
        f"The credentials were rotated (the old ones no longer work) but could not be "
        f"written to {str(env_file)!r}: {problem}. {where}; they are also in this error's "
        ".credentials. Copy them into your .env now.",
        credentials=result,
        fallback_path=str(fallback) if fallback else None,
    )
