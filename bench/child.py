"""A server in a process of its own, driven over a pipe: the bench's page server and the
cohort bench's sandbox, so that the client measured and the server it talks to never share
a GIL. Spawned, not forked: fork is unsafe in a process that runs threads."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


class ChildServer:
    """``target(conn)`` runs in the child: it answers ``(op, arg)`` messages with
    ``(ok, value)`` until it is sent ``"stop"``. ``what`` names it in errors."""

    what = "the server process"

    def __init__(self, target: Callable[[Any], None], name: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=target, args=(child,), name=name)
        self._process.daemon = True
        self._process.start()
        child.close()

    def call(self, op: str, arg: Any = None, wait: float = 120) -> Any:
        self._conn.send((op, arg))
        if not self._conn.poll(wait):
            raise RuntimeError(f"{self.what} did not answer {op!r} in {wait} s")
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"{self.what} refused {op!r}: {value}")
        return value

    def close(self) -> None:
        try:
            if self._process.is_alive():
                self.call("stop", wait=10)
        except (OSError, EOFError, RuntimeError):
            pass  # it died or hangs: terminated below
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)
            self._conn.close()
            self._process.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def obey(conn: Any, command: Callable[[str, Any], Any]) -> None:
    """The child's side: answer each ``(op, arg)`` with ``(True, command(op, arg))``, or
    ``(False, why)`` when it raises, until ``"stop"`` (or the parent is gone)."""
    while True:
        try:
            op, arg = conn.recv()
        except EOFError:  # the bench died: stop serving
            return
        if op == "stop":
            conn.send((True, None))
            return
        try:
            conn.send((True, command(op, arg)))
        except Exception as exc:  # report it to the bench rather than die silently
            conn.send((False, f"{type(exc).__name__}: {exc}"))
