"""Ctrl-C that cannot be lost.

Python turns SIGINT into a KeyboardInterrupt at whatever line happens to be running; a library
with a bare `except:` at that moment (some plotting and file-format code has them) swallows it
and the run goes on as if nothing happened, then exits 0. A corpus run therefore also records the
request in a flag and checks it between utterances, so an interrupted run always stops, writes its
report and exits 130. Its worker processes (`--jobs`) leave Ctrl-C to it, from their very
start (`sigint_held_for_workers`, `ignore_sigint`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class StopRequest:
    """Set by the SIGINT handler; `check()` raises KeyboardInterrupt once it is set."""

    requested: bool = False

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def catch_interrupts() -> Iterator[StopRequest]:
    """Within the block, SIGINT sets the returned flag and raises KeyboardInterrupt as usual.
    Outside the main thread (where handlers cannot be installed) the flag is never set and
    Python's own handling applies; where SIGINT is ignored (a job started with `nohup ... &`)
    it stays ignored, as whoever started the job asked."""
    stop = StopRequest()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
        yield stop
        return

    def handler(signum, frame) -> None:
        stop.requested = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def sigint_held_for_workers() -> Iterator[None]:
    """Start worker processes in this block: they begin life with SIGINT blocked, so that a
    Ctrl-C while one is still starting Python (site, numpy, then torch in its initializer) does
    not kill it with a screenful of traceback; `ignore_sigint` then drops it for good. A Ctrl-C
    meant for this process meanwhile is held and handled as usual when the block ends, never
    halfway through starting a worker (one the pool does not yet know would stall its shutdown).

    Why a blocked mask and not a handler: a spawned worker is a fresh interpreter, which keeps
    only the signal mask (and ignored signals) of the process that started it."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no masks; the initializer still ignores
        yield
        return
    from multiprocessing import resource_tracker

    # started first: starting it later would unblock SIGINT (it blocks and unblocks it around
    # its own start)
    resource_tracker.ensure_running()
    held: list[int] = []
    previous = (signal.getsignal(signal.SIGINT)
                if threading.current_thread() is threading.main_thread() else None)
    if previous in (None, signal.SIG_IGN):  # not ours to hold (another thread; `nohup`)
        previous = None
    else:
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending Ctrl-C arrives here
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if held:
        if callable(previous):
            previous(signal.SIGINT, None)
        else:  # SIG_DFL
            signal.raise_signal(signal.SIGINT)


def ignore_sigint() -> None:
    """The first thing a worker process does: Ctrl-C is its parent's to handle (stop the run,
    write the report, shut the pool down). Ignored, then unblocked, so that one which arrived
    while the worker started (`sigint_held_for_workers`) is dropped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
