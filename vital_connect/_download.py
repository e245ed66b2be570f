"""``Session.download``: an authenticated GET streamed to a file, written atomically.

The bytes are kept as served, HTTP content coding undone (a ``.vital`` or ``.csv.gz`` stays
compressed: that is the file's own format). The name comes from ``Content-Disposition``,
else a ``filename`` parameter, else the last path segment; it is reduced to a plain file
name (no folders, no ``..``), so a server cannot write outside the folder chosen.
"""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import requests

from ._errors import APIError, ConfigurationError
from ._files import atomic_output
from ._http import NETWORK_ERRORS, budget, iter_body, network_error, too_big
from ._progress import Bar

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]")


def file_name(response: requests.Response, params: dict[str, Any] | None) -> str:
    """The name to save an answer under, made safe."""
    header = response.headers.get("Content-Disposition", "")
    name = ""
    if header:
        message = Message()
        message["Content-Disposition"] = header
        name = message.get_filename() or ""  # filename*=UTF-8''… decoded too
    if not name and params and isinstance(params.get("filename"), str):
        name = params["filename"]
    if not name:
        name = unquote(urlsplit(response.url).path.rstrip("/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name or "download"


def save(
    session: Session,
    path: str,
    params: dict[str, Any] | None,
    *,
    to: Path,
    progress: bool | None,
) -> Path:
    """Stream ``path`` to ``to`` (a folder, or a file path); return where it went."""
    with budget(session.deadline):
        response = session.request("GET", path, params=params, stream=True)
        if response.status_code >= 400:
            session._read(response)
            raise session.dialect.error(response, session.provider.name)
        target = to / file_name(response, params) if to.is_dir() else to
        if not target.parent.is_dir():
            response.close()
            raise ConfigurationError(
                f"Cannot save to {str(target)!r}: the folder {str(target.parent)!r} does not "
                "exist. Create it, or pass to= an existing folder."
            )
        coded = response.headers.get("Content-Encoding", "identity") not in ("", "identity")
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() and not coded else None
        size = 0
        try:
            with (
                Bar(
                    progress, target.name, unit="B", total=total, unit_scale=True, min_steps=1
                ) as bar,
                atomic_output(target) as out,
            ):
                for chunk in iter_body(response):
                    size += len(chunk)
                    if size > session.max_bytes:
                        raise too_big("for a download", session.max_bytes, response.url)
                    out.write(chunk)
                    bar.update(size)
        except NETWORK_ERRORS as exc:
            error: APIError = network_error(exc, session.provider.name, response.url)
        else:
            return target
        finally:
            response.close()
    raise error
