"""The kernel's interrupt button stops the runs the task widgets started in this kernel.

A widget runs a task on a thread of its own (:mod:`flyte_nb.notebook.executor`), so the kernel stays free
while it runs. Jupyter's *Interrupt* sends ``SIGINT`` to the kernel process; Python delivers it to the
main thread only, and between messages ipykernel ignores it (``SIG_IGN``): the run's thread never hears of
it. So once a widget starts its first local run, a handler is installed for the idle kernel:

* while runs started by widgets are in progress, ``SIGINT`` stops them (a kernel run gets ``RunCancelled``
  raised in its thread, a process run has its process group killed) and they are reported ``ABORTED``;
* otherwise it does what ipykernel's idle handler does: nothing.

ipykernel installs Python's default handler around each message it handles (and puts the idle one back
after), so an interrupt during a running cell still interrupts that cell as before. The handler is only
installed while the kernel is idle (``SIG_IGN``), from the kernel's own event loop, so it never replaces
a handler someone else chose. It stays installed until the kernel exits (README, "Global state").
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyte_nb.notebook.executor import RunHandle

__all__ = ["installed", "watch"]

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_runs: set[RunHandle] = set()
_state = {"installed": False, "scheduled": False}
_RETRY = 0.05  # seconds between looks for the idle kernel (the click's own message must end first)
_TRIES = 400  # … for at most 20 s


def installed() -> bool:
    """Whether the interrupt handler is installed in this process."""
    return _state["installed"]


def watch(handle: RunHandle) -> None:
    """Stop ``handle`` when the kernel is interrupted, until it ends (call from the kernel's main thread)."""
    with _lock:
        _runs.add(handle)
    handle.add_callback(_forget_when_done)
    _install_soon()


def _forget_when_done(handle: RunHandle) -> None:
    if handle.done:
        with _lock:
            _runs.discard(handle)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    with _lock:
        runs = list(_runs)
    if runs:
        # Not here: a signal handler runs between two bytecodes of whatever the main thread was doing,
        # maybe inside a lock a cancel needs. A thread of its own stops the runs.
        threading.Thread(target=_stop, args=(runs,), name="flyte-nb-interrupt", daemon=True).start()


def _stop(runs: list[RunHandle]) -> None:
    for handle in runs:
        _stop_one(handle)


def _stop_one(handle: RunHandle) -> None:
    try:
        handle.cancel(by="the kernel's interrupt")
    except Exception:  # noqa: BLE001 - one run that cannot be stopped must not keep the others running
        _log.exception("interrupting the run of %r failed", handle.task.name)


def _install_soon() -> None:
    """Install the handler from the kernel's event loop once it is idle (outside any message handler)."""
    if (
        _state["installed"]
        or _state["scheduled"]
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop runs this thread: not a Jupyter kernel (a script, a test)
        return
    _state["scheduled"] = True
    loop.call_soon(_install_when_idle, loop, 0)


def _install_when_idle(loop: asyncio.AbstractEventLoop, tries: int) -> None:
    current = signal.getsignal(signal.SIGINT)
    if current is _on_sigint:
        _state["installed"] = True
    elif current is signal.SIG_IGN:  # ipykernel between messages: nobody listens to SIGINT
        signal.signal(signal.SIGINT, _on_sigint)
        _state["installed"] = True
    elif current is signal.default_int_handler and tries < _TRIES:
        loop.call_later(_RETRY, _install_when_idle, loop, tries + 1)  # still inside the click's message
        return
    _state["scheduled"] = False
