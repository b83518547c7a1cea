"""aligner/interrupts.py: a Ctrl-C swallowed by a library (a bare `except:`) must still stop a
corpus run."""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest

from aligner.cli.align import consume
from aligner.interrupts import StopRequest, catch_interrupts


def _stream_that_swallows_ctrl_c(n: int):
    """Yields n results; during the second one SIGINT arrives inside a bare except."""
    for i in range(n):
        if i == 1:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10_000):  # the handler runs here, between bytecodes
                    pass
            except:  # noqa: E722 - what some libraries do
                pass
        yield SimpleNamespace(name=f"u{i}")


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handling, whatever the test runner inherited (a job started in the
    background with `nohup ... &` ignores SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("quiet", [True, False])
def test_swallowed_interrupt_still_stops_the_run(quiet, default_sigint):
    results: list = []
    with pytest.raises(KeyboardInterrupt):
        with catch_interrupts() as stop:
            consume(_stream_that_swallows_ctrl_c(10), results, 10, quiet, stop)
    assert [r.name for r in results] == ["u0", "u1"]  # stopped right after the utterance that was running
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_without_the_flag_a_swallowed_interrupt_is_lost(default_sigint):
    """Why the flag exists: Python's own handling alone lets the run finish."""
    results: list = []
    consume(_stream_that_swallows_ctrl_c(5), results, 5, True)
    assert len(results) == 5


def test_an_ignored_sigint_stays_ignored():
    """`nohup ottc-align corpus/ ... &`: the shell ignores SIGINT for the job; a corpus run must
    not take Ctrl-C back (it would stop when the terminal's Ctrl-C was meant for another job)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with catch_interrupts():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_stop_request_raises_only_once_set():
    stop = StopRequest()
    stop.check()
    stop.requested = True
    with pytest.raises(KeyboardInterrupt):
        stop.check()
