"""The mutable state of one sandbox: settings, credentials, issued grants, faults, record.

The views read the settings at request time, so a change (``sb.token_ttl = 1``) is honoured
by the next request. Everything a request can change is guarded by one lock.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from . import _accounts as acc
from ._faults import Faults
from ._record import Recorder
from ._tokens import TokenIssuer

PROVIDERS = ("vitalera", "vidaplus", "vitaldb")

DEFAULT_ROWS: dict[str, int] = {
    "plans": 12,  # vitalera /api/plans/
    "patients": 120,  # vitalera /api/patients/
    "measurements": 2500,  # vitalera /api/measurements/
    "records": 300,  # vidaplus /records/
    "cases": 40,  # VitalDB /cases (5 tracks each in /trks)
    "labs": 400,  # VitalDB /labs
    "samples": 600,  # VitalDB /<tid>: rows per track
}


@dataclass(frozen=True)
class Settings:
    token_ttl: float
    code_ttl: float
    page_size: int
    latency: float
    rows: dict[str, int]


@dataclass
class _Code:
    client_id: str
    userid: str
    expires_at: float


def same(given: object, expected: str) -> bool:
    """Constant-time comparison, as a real server would compare secrets."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


class State:
    def __init__(self, settings: Settings) -> None:
        self._initial = settings
        self.lock = threading.Lock()
        self.issuers = {name: TokenIssuer(name) for name in PROVIDERS}
        self.faults = Faults()
        self.recorder = Recorder()
        self.rows: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        s = self._initial
        with self.lock:
            self.token_ttl = s.token_ttl
            self.code_ttl = s.code_ttl
            self.page_size = s.page_size
            self.latency = s.latency
            self.rows.clear()
            self.rows.update(s.rows)  # in place: a reference someone holds stays live
            self.vitalera_client_id = acc.VITALERA_CLIENT_ID
            self.vitalera_client_secret = acc.VITALERA_CLIENT_SECRET
            self._refresh_tokens: dict[str, str] = {}  # jti -> sub, removed once used
            self._codes: dict[str, _Code] = {}
        self.faults.clear()
        self.recorder.clear()

    def row_count(self, name: str) -> int:
        return max(0, int(self.rows.get(name, DEFAULT_ROWS[name])))

    # vitalera
    def vitalera_client_ok(self, client_id: object, client_secret: object) -> bool:
        with self.lock:
            return same(client_id, self.vitalera_client_id) & same(
                client_secret, self.vitalera_client_secret
            )

    def rotate_vitalera(self) -> tuple[str, str]:
        # Fresh random values (not seeded): a real rotation returns unguessable secrets; the
        # prefix keeps them findable by a leak scan.
        with self.lock:
            self.vitalera_client_id = f"sbx-vitalera-client-{secrets.token_hex(6)}"
            self.vitalera_client_secret = f"sbx-vitalera-secret-{secrets.token_urlsafe(18)}"
            return self.vitalera_client_id, self.vitalera_client_secret

    def remember_refresh(self, jti: str, sub: str) -> None:
        with self.lock:
            self._refresh_tokens[jti] = sub

    def use_refresh(self, jti: str, sub: str) -> bool:
        """True once for a refresh token issued to ``sub`` (single use)."""
        with self.lock:
            if self._refresh_tokens.get(jti) != sub:
                return False
            del self._refresh_tokens[jti]
            return True

    # VitalDB
    def new_code(self, client_id: str, userid: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = _Code(client_id, userid, time.monotonic() + self.code_ttl)
        return code

    def use_code(self, code: str, client_id: str) -> str | None:
        """The user id the code was issued for, once; None if unknown, used, expired or
        issued to another client."""
        with self.lock:
            entry = self._codes.pop(code, None)
        if entry is None or entry.expires_at <= time.monotonic():
            return None
        return entry.userid if same(client_id, entry.client_id) else None
