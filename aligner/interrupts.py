"""Ctrl-C that cannot be lost.

Python turns SIGINT into a KeyboardInterrupt at whatever line happens to be running; a library
with a bare `except:` at that moment (some plotting and file-format code has them) swallows it
and the run goes on as if nothing happened, then exits 0. A corpus run therefore also records the
request in a flag and checks it between utterances, so an interrupted run always stops, writes its
report and exits 130.
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
