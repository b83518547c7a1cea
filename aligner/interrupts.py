"""Ctrl-C and SIGTERM that cannot be lost.

Python turns SIGINT into a KeyboardInterrupt at whatever line happens to be running; a library
with a bare `except:` at that moment (some plotting and file-format code has them) swallows it
and the run goes on as if nothing happened, then exits 0. A corpus run therefore also records the
request in a flag and checks it between utterances, so an interrupted run always stops, writes its
report and exits 130.

SIGTERM (`kill`, `timeout`, job schedulers, a shutdown) asks for the same stop, so it is handled
the same way, with exit 143 (128 + 15, what a shell reports after SIGTERM). Left to its default it
ended the run on the spot: no report, no summary line, and the worker processes' semaphores
reported as leaked.

Worker processes (`--jobs`) leave Ctrl-C to the run from their very start
(`interrupts_held_for_workers`, `ignore_sigint`); a SIGTERM of their own ends them.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

# The signals that stop a run: Ctrl-C; and kill, timeout, job schedulers, shutdowns.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class StopRequest:
    """Set by the signal handler; `check()` raises KeyboardInterrupt once it is set."""

    signum: int | None = None  # the signal that asked the run to stop

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended: 130 for
        Ctrl-C (also a KeyboardInterrupt that came some other way), 143 for SIGTERM."""
        return 128 + (self.signum or signal.SIGINT)

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def catch_interrupts(stop: StopRequest | None = None) -> Iterator[StopRequest]:
    """Within the block, SIGINT and SIGTERM set the returned flag (`stop`, or a new one) and
    raise KeyboardInterrupt, so that both unwind the run as Ctrl-C does. Outside the main
    thread (where handlers cannot be installed) the flag is never set and Python's own handling
    applies; a signal that is ignored (SIGINT of a job started with `nohup ... &`) stays
    ignored, as whoever started the job asked."""
    stop = stop if stop is not None else StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame) -> None:
        stop.signum = signum
        raise KeyboardInterrupt

    hook = sys.unraisablehook

    def unraisable(args) -> None:
        # the KeyboardInterrupt raised where Python cannot propagate it (a weakref callback,
        # a __del__) printed "Exception ignored in ... Traceback" on Ctrl-C; the flag already
        # holds the request, and the run stops at its next check
        if not (stop.requested and issubclass(args.exc_type, KeyboardInterrupt)):
            hook(args)

    previous = {sig: signal.signal(sig, handler) for sig in _ours()}
    sys.unraisablehook = unraisable
    try:
        yield stop
    finally:
        sys.unraisablehook = hook
        for sig, old in previous.items():
            signal.signal(sig, old)


def _ours() -> list[int]:
    """The interrupts this process may take over: not ignored ones, nor ones whose handler was
    installed outside Python (it could not be put back)."""
    return [sig for sig in INTERRUPTS if signal.getsignal(sig) not in (None, signal.SIG_IGN)]


@contextlib.contextmanager
def interrupts_held_for_workers() -> Iterator[None]:
    """Start worker processes in this block: they begin life with SIGINT and SIGTERM blocked,
    so that a Ctrl-C while one is still starting Python (site, numpy, then torch in its
    initializer) does not kill it with a screenful of traceback; `ignore_sigint` then drops
    Ctrl-C for good. An interrupt meant for this process meanwhile is held and handled as usual
    when the block ends, never halfway through starting a worker (one the pool does not yet
    know would stall its shutdown).

    Why a blocked mask and not a handler: a spawned worker is a fresh interpreter, which keeps
    only the signal mask (and ignored signals) of the process that started it."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no masks; the initializer still ignores
        yield
        return
    from multiprocessing import resource_tracker

    # started first: starting it later would unblock SIGINT and SIGTERM (it blocks and unblocks
    # them around its own start)
    resource_tracker.ensure_running()
    held: list[int] = []
    # not ours to hold: another thread's, or ignored (`nohup`)
    ours = _ours() if threading.current_thread() is threading.main_thread() else []
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum)) for sig in ours}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, set(INTERRUPTS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending interrupt arrives here
        for sig, old in previous.items():
            signal.signal(sig, old)
    for sig in dict.fromkeys(held):
        if callable(previous[sig]):
            previous[sig](sig, None)
        else:  # SIG_DFL
            signal.raise_signal(sig)


def ignore_sigint() -> None:
    """The first thing a worker process does: Ctrl-C is its parent's to handle (stop the run,
    write the report, shut the pool down). Ignored, then both interrupts unblocked, so that a
    Ctrl-C which arrived while the worker started (`interrupts_held_for_workers`) is dropped.

    SIGTERM keeps its default and ends the worker: the pool itself stops the workers of a
    broken pool (one died) with SIGTERM and waits for them, so one that ignored it would hang
    the run. One sent to the whole process group (`timeout`, a job scheduler) ends the workers
    with the run; what they finished is in the report's journal (aligner/runner.py)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(INTERRUPTS))
