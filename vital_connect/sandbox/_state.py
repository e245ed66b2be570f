"""The mutable state of one sandbox: settings, credentials, issued grants, faults, record.

The views read the settings at request time, so a change (``sb.token_ttl = 1``) is honoured
by the next request. Everything a request can change is guarded by one lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from . import _accounts as acc
from ._faults import Faults
from ._httpcache import DATASET_MTIME, REWRITE_STEP
from ._record import Recorder
from ._tokens import TokenIssuer

PROVIDERS = ("vitalera", "vidaplus", "vitaldb")

DEFAULT_ROWS: dict[str, int] = {
    # vitalera (docs-v2.vitalera.io, FHIR resources)
    "plans": 12,  # /api/plans/
    "monitoreds": 120,  # /api/monitoreds/
    "observations": 120,  # /api/monitoreds/{id}/observations/: per monitored
    # vidaplus (lRauane/SGHSS-VidaPlus), each its list's key
    "pacientes": 250,  # /pacientes/ (more than the default limit of 100: paging shows)
    "profissionais": 40,  # /profissionais/
    "consultas": 600,  # /consultas/
    "prescricoes": 400,  # /prescricoes/
    "exames": 500,  # /exames/
    "prontuarios": 250,  # /prontuario/: one per paciente, so at most "pacientes"
    "leitos": 80,  # /leitos/
    "estoques": 150,  # /estoque/
    # VitalDB open dataset
    "cases": 40,  # /cases
    "labs": 400,  # /labs
    "track_seconds": 1200,  # length of each numeric track of a case (/<tid>, .vital)
    "wave_seconds": 10,  # length of each wave track of a case: 500 rows a second
    # VitalDB Web API
    "files": 6,  # the demo user's .vital files: /api/filelist, /api/download
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
            self.monitoreds_created: list[dict] = []  # vitalera POSTs, gone on reset
            self._bumps: dict[str, int] = {}  # "" for the whole dataset, else one path
            self._files: dict[str, tuple[str, int, int]] = {}  # path -> digest, version, mtime
        self.faults.clear()
        self.recorder.clear()

    def row_count(self, name: str) -> int:
        return max(0, int(self.rows.get(name, DEFAULT_ROWS[name])))

    def sizes(self, *names: str) -> tuple[int, ...]:
        return tuple(self.row_count(n) for n in names)

    # VitalDB open dataset: a version per file, and each file's stamp
    def dataset_version(self, path: str) -> int:
        with self.lock:
            return self._bumps.get("", 0) + self._bumps.get(path, 0)

    def bump_dataset(self, path: str = "") -> None:
        with self.lock:
            self._bumps[path] = self._bumps.get(path, 0) + 1

    def file_stamp(self, path: str, body: bytes, version: int) -> tuple[str, int]:
        """The ETag and mtime of the file at ``path`` now holding ``body``: the mtime moves
        on when the content or the version changed since the last answer (a rewrite)."""
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        with self.lock:
            old = self._files.get(path)
            if old is None:
                mtime = DATASET_MTIME + REWRITE_STEP * version
            elif old[:2] == (digest, version):
                mtime = old[2]
            else:
                mtime = old[2] + REWRITE_STEP * max(1, version - old[1])
            self._files[path] = (digest, version, mtime)
        return f'"{mtime:x}-{len(body):x}"', mtime

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
