"""The record of every request the sandbox received, with secrets masked.

Masking keeps keys and schemes (``"Bearer ***"``, ``{"refresh_token": "***"}``) so a test can
still assert on the wire format, but no secret or token value survives in the record.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode

MASK = "***"
SECRET_FIELDS = frozenset(
    {"password", "pw", "client_secret", "refresh_token", "access_token", "id_token", "code"}
)
_MAX_RECORDS = 100_000  # a long benchmark must not grow the record without bound
_MAX_BODY = 64 * 1024
# A safety net for bodies we cannot parse: any JWT-shaped string, any secret-named field.
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_FIELDS = "|".join(sorted(SECRET_FIELDS))
_JSON_FIELD = re.compile(rf'("(?:{_FIELDS})"\s*:\s*)"(?:[^"\\]|\\.)*"')
_FORM_FIELD = re.compile(rf"(^|[&;?\s])((?:{_FIELDS})=)[^&;\s]*")
# A multipart part: its headers name the field, its value follows the blank line.
_MULTIPART_FIELD = re.compile(
    rf'(name="(?:{_FIELDS})"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)[^\r\n]*'
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox saw it, secrets masked.

    ``path`` is the full path (``/vitalera/api/plans/``); ``status`` is the response status,
    or 0 while the answer is pending and for a dropped connection (``drop_next``);
    ``provider`` is ``"vitalera"``, ``"vidaplus"``, ``"vitaldb"`` or ``""`` for other paths.
    """

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    headers: dict[str, str]
    body: str
    status: int
    provider: str


def mask_query(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {k: MASK if k in SECRET_FIELDS else _scrub(v) for k, v in pairs}


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    masked = {}
    for name, value in headers.items():
        low = name.lower()
        if low in ("authorization", "proxy-authorization"):
            scheme = value.split(None, 1)[0] if value.strip() else ""
            masked[name] = f"{scheme} {MASK}" if scheme else MASK
        elif low == "cookie":
            masked[name] = "; ".join(
                f"{part.split('=', 1)[0].strip()}={MASK}" for part in value.split(";") if part
            )
        else:
            masked[name] = _scrub(value)
    return masked


def mask_body(body: bytes, content_type: str) -> str:
    text = body[:_MAX_BODY].decode("utf-8", errors="replace")
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            return json.dumps(_mask_json(json.loads(text)))
        except ValueError:
            pass
    elif mimetype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True)
        masked = [(k, MASK if k in SECRET_FIELDS else _scrub(v)) for k, v in pairs]
        return urlencode(masked, safe="*")
    text = _JSON_FIELD.sub(rf'\1"{MASK}"', text)
    text = _MULTIPART_FIELD.sub(rf"\1{MASK}", text)
    return _scrub(_FORM_FIELD.sub(rf"\1\2{MASK}", text))


def _mask_json(value):
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS else _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    if isinstance(value, str):
        return _scrub(value)
    return value


def _scrub(text: str) -> str:
    return _JWT.sub(MASK, text)


class Recorder:
    """Thread-safe record, in arrival order; the status is filled in when the answer starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[int, RecordedRequest] = OrderedDict()
        self._seq = 0

    def add(self, item: RecordedRequest) -> int:
        with self._lock:
            self._seq += 1
            self._items[self._seq] = item
            if len(self._items) > _MAX_RECORDS:
                self._items.popitem(last=False)
            return self._seq

    def set_status(self, seq: int, status: int) -> None:
        with self._lock:
            item = self._items.get(seq)
            if item is not None:  # gone if cleared meanwhile
                self._items[seq] = replace(item, status=status)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
