"""The sandbox's synthetic data helpers: record i is computed from i alone.

Nothing the sandbox serves is real patient data. Values come from a keyed hash of the record
index, so a page of a 100 000-row dataset costs what the page costs, and every run serves
the same data.
"""

from __future__ import annotations

import hashlib
from datetime import datetime


def unit(salt: str, i: int) -> float:
    """A deterministic number in [0, 1) for (salt, i), stable across Python versions."""
    digest = hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick(options: tuple, salt: str, i: int):
    return options[int(unit(salt, i) * len(options))]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
