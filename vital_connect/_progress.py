"""Progress bars (tqdm) for pulls of many pages, downloads and cohorts.

``progress=None`` shows a bar only where a person watches: in a notebook, or on a terminal
(stderr a TTY, not a CI log); never in a pipe. ``True``/``False`` force it. A pull of a
single page shows none.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from ._waiting import in_notebook


def wanted(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    if in_notebook():
        return True
    stream = sys.stderr
    tty = stream is not None and hasattr(stream, "isatty") and stream.isatty()
    return tty and not os.environ.get("CI")


class Bar:
    """A tqdm bar made only once there is more than one step to show."""

    def __init__(
        self,
        progress: bool | None,
        desc: str,
        *,
        unit: str = "page",
        total: int | None = None,
        unit_scale: bool = False,
        min_steps: int = 2,
    ) -> None:
        self.enabled = wanted(progress)
        self.desc = desc
        self.unit = unit
        self.total = total
        self.unit_scale = unit_scale
        self.min_steps = min_steps
        self.done = 0
        self._bar: Any = None
        self._lock = threading.Lock()  # tracks and cases finish in several threads

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` steps so far (of ``total`` when known)."""
        if total is not None:
            self.total = total
        self.done = done
        if not self.enabled:
            return
        if self._bar is None:
            if max(done, self.total or 0) < self.min_steps:
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total,
                desc=self.desc,
                unit=self.unit,
                unit_scale=self.unit_scale,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        if self.total is not None and self._bar.total != self.total:
            self._bar.total = self.total
        self._bar.update(done - self._bar.n)

    def advance(self, steps: int = 1) -> None:
        with self._lock:
            self.update(self.done + steps)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def PageBar(progress: bool | None, provider: str) -> Bar:
    return Bar(progress, f"{provider} pages", unit="page")
