"""Fault knobs: each one applies to the next n matching requests, then expires."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str  # "fail", "drop", "slow", "malformed", "html"
    remaining: int
    path: str | None = None
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


class Faults:
    """Pending faults in the order they were set; one fault per request, the first that matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError(f"n must be at least 1, got {fault.remaining}")
        with self._lock:
            self._pending.append(fault)

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._pending:
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
