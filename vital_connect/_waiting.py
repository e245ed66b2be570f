"""Keeping a notebook cell waiting while the login panel's widgets stay live.

ipykernel 6 has ``do_one_iteration`` and jupyter-ui-poll drives it; ipykernel 7.4 dropped
it (jupyter-ui-poll 1.1.0 then silently does nothing, upstream issue #54), so the panel's
comm messages go to an ipykernel 7 subshell whose own thread runs the click handlers.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from ._errors import NotSupportedError

POLL_INTERVAL = 0.05  # seconds between two looks at the panel while waiting


def current_kernel() -> Any:
    """The running IPython kernel, or None outside one."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a widget frontend may be attached)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def subshell_manager(kernel: Any) -> Any:
    """ipykernel 7's subshell manager, or None where there is none."""
    thread = getattr(kernel, "shell_channel_thread", None)
    manager = getattr(thread, "manager", None)
    if manager is None or not hasattr(manager, "_create_subshell"):
        return None
    return manager


@contextmanager
def ui_poller(widgets: Iterable[Any] = ()) -> Iterator[Callable[[], None]]:
    """A function that lets the panel's widgets work for a moment while the cell waits.

    - ipykernel with ``do_one_iteration`` (6.x): jupyter-ui-poll handles pending widget
      messages and holds back the cells queued by "Run All" until this one ends.
    - ipykernel 7.4 has no ``do_one_iteration`` (jupyter-ui-poll 1.1.0 then silently does
      nothing), but has subshells: the panel's comm messages are routed to a subshell,
      whose own thread and event loop run the click handlers while this cell sleeps. Cells
      queued behind this one stay queued on the main shell, so "Run All" waits too.
    - Outside a kernel: a sleep (clicks then come from other threads, as in tests).
    """
    kernel = current_kernel()
    if kernel is None:
        yield lambda: time.sleep(POLL_INTERVAL)
        return
    if hasattr(kernel, "do_one_iteration"):
        from jupyter_ui_poll import ui_events

        with ui_events() as ui_poll:

            def poll() -> None:
                ui_poll(20)
                time.sleep(POLL_INTERVAL)

            yield poll
        return
    manager = subshell_manager(kernel)
    if manager is None:
        raise NotSupportedError(
            "This Jupyter kernel cannot process widget events while a cell waits. Use "
            "vc.connect(..., wait=False) and run the next cells after logging in."
        )
    with comms_in_subshell(manager, widgets):
        yield lambda: time.sleep(POLL_INTERVAL)


@contextmanager
def comms_in_subshell(manager: Any, widgets: Iterable[Any]) -> Iterator[None]:
    # The subshell manager lives on the shell channel thread; its IOLoop's add_callback is
    # the thread-safe way in. The routing hook is the one ipykernel 7.4 uses to send a
    # comm's replies to the subshell that sent it (ipykernel/comm/comm.py).
    loop = manager._shell_channel_io_loop
    created: Future[str] = Future()

    def create() -> None:
        try:
            created.set_result(manager._create_subshell())
        except BaseException as exc:
            created.set_exception(exc)

    loop.add_callback(create)
    subshell = created.result(timeout=10)
    comms = [c for c in (getattr(x, "comm", None) for x in widgets) if c is not None]
    for comm in comms:
        comm._reply_subshell_for = lambda data, default, _id=subshell: _id
    try:
        yield
    finally:
        for comm in comms:
            comm.__dict__.pop("_reply_subshell_for", None)  # back to the main shell
        loop.add_callback(manager._delete_subshell, subshell)


def wait_for(done: Callable[[], bool], limit: float, widgets: Iterable[Any] = ()) -> bool:
    """Let the widgets work until ``done()`` or ``limit`` seconds passed; True if done."""
    deadline = time.monotonic() + limit
    with ui_poller(widgets) as poll:
        while not done():
            if time.monotonic() >= deadline:
                return False
            poll()
    return True
