"""aligner/interrupts.py: a Ctrl-C swallowed by a library (a bare `except:`) must still stop a
corpus run, and one that reaches worker processes while they start is left to the run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from aligner.cli.align import consume
from aligner.interrupts import StopRequest, catch_interrupts, interrupts_held_for_workers
from aligner.runner import Result


def _stream_that_swallows(n: int, sig: int = signal.SIGINT):
    """Yields n results; during the second one `sig` (Ctrl-C by default) arrives inside a bare
    except."""
    for i in range(n):
        if i == 1:
            try:
                os.kill(os.getpid(), sig)
                for _ in range(10_000):  # the handler runs here, between bytecodes
                    pass
            except:  # noqa: E722 - what some libraries do
                pass
        yield Result(f"u{i}", "aligned")


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
            consume(_stream_that_swallows(10), results, 10, quiet, stop)
    assert [r.name for r in results] == ["u0", "u1"]  # stopped right after the utterance that was running
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_an_interrupt_raised_where_python_cannot_raise_it_prints_no_traceback(
        default_sigint, monkeypatch):
    """Ctrl-C landing in a weakref callback (a fresh-clone CI run met it: "Exception ignored in
    <function WeakValueDictionary...remove>", then a Traceback, on stderr of an interrupted
    corpus run) is dropped quietly once the flag holds it; other unraisable errors still print,
    and the hook is put back after the block."""
    import gc
    import sys
    import weakref

    class Thing:
        pass

    seen: list = []  # what reaches the hook outside the block (Python's printer, here a list)
    monkeypatch.setattr(sys, "unraisablehook", lambda args: seen.append(args.exc_type))
    hook = sys.unraisablehook
    with catch_interrupts() as stop:
        thing = Thing()

        def interrupted(_ref) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):  # the handler runs here, inside the callback
                pass

        ref = weakref.ref(thing, interrupted)
        del thing
        gc.collect()
        assert stop.requested and ref() is None
        sys.unraisablehook(type("Args", (), {"exc_type": ValueError, "exc_value": ValueError("x"),
                                            "exc_traceback": None, "err_msg": "odd",
                                            "object": None})())
    assert seen == [ValueError]  # the interrupt was dropped, the other error passed on
    assert sys.unraisablehook is hook


def test_without_the_flag_a_swallowed_interrupt_is_lost(default_sigint):
    """Why the flag exists: Python's own handling alone lets the run finish."""
    results: list = []
    consume(_stream_that_swallows(5), results, 5, True)
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
    stop.signum = signal.SIGINT
    with pytest.raises(KeyboardInterrupt):
        stop.check()


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigterm_stops_the_run_as_ctrl_c_does_with_its_own_exit_code(sig, code, default_sigint):
    """A swallowed SIGTERM stops the run too, and the exit code says which signal it was."""
    results: list = []
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with catch_interrupts() as stop:
            consume(_stream_that_swallows(10, sig), results, 10, True, stop)
    assert len(results) == 2 and stop.exit_code == code
    assert signal.getsignal(signal.SIGTERM) is previous


# ------------------------------------------------------------------------ worker processes

def _sigint_blocked(pid: int) -> bool:
    """Whether process `pid` has SIGINT in its blocked mask (Linux /proc)."""
    for line in open(f"/proc/{pid}/status", encoding="ascii"):
        if line.startswith("SigBlk:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError("no SigBlk line")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_workers_start_with_sigint_blocked_and_a_held_ctrl_c_still_stops(default_sigint):
    """A spawned worker keeps only the signal mask of its parent: started inside the block it
    cannot take a Ctrl-C before its initializer ignores it. The parent's own Ctrl-C during the
    block is held, then raised as usual."""
    import multiprocessing as mp
    import time

    ctx = mp.get_context("spawn")
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held_for_workers():
            worker = ctx.Process(target=time.sleep, args=(30,))
            worker.start()
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):  # a handler would run here, between bytecodes
                pass
            held = True
    try:
        assert held  # the block ran to its end
        assert _sigint_blocked(worker.pid)
        assert not _sigint_blocked(os.getpid())
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        worker.kill()
        worker.join()


def _spawned_workers(session: int) -> int:
    """Worker processes (`multiprocessing` spawn) of the session the run was started in."""
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if (b"--multiprocessing-fork" in cmdline.read_bytes()
                    and os.getsid(int(cmdline.parent.name)) == session):
                count += 1
        except (OSError, ValueError):
            pass
    return count


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
@pytest.mark.parametrize("delay", [0.1, 0.6], ids=["starting-python", "importing-torch"])
def test_ctrl_c_while_workers_start_prints_no_traceback(tmp_path, tiny_model_dir, delay):
    """Ctrl-C reaches the whole process group, workers too: one still starting Python (site,
    numpy) or importing torch in its initializer printed a screenful of KeyboardInterrupt
    traceback each. They leave it to the parent, which stops with its one line and 130."""
    import subprocess
    import sys
    import time

    import soundfile as sf

    from conftest import speechlike

    root = tmp_path / "corpus"
    for i in range(12):  # enough work that the run is still going when the Ctrl-C comes
        (root / f"spk{i % 2}").mkdir(parents=True, exist_ok=True)
        sf.write(str(root / f"spk{i % 2}" / f"u{i}.wav"), speechlike(3.0, seed=i), 16000)
        (root / f"spk{i % 2}" / f"u{i}.lab").write_text("hello there", encoding="utf-8")
    cmd = [sys.executable, "-m", "aligner.cli", str(root), "-o", str(tmp_path / "out"),
           "--model", str(tiny_model_dir), "-q", "--device", "cpu", "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not _spawned_workers(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before its workers started"
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Exception in initializer" not in stderr, stderr
    assert "interrupted after" in stderr and "run the same command again" in stderr, stderr


@pytest.mark.parametrize("typer_like", [False, True])
def test_sigterm_ends_any_command_with_143_and_a_word(monkeypatch, capsys, typer_like):
    """Outside a corpus run (one file, train, validate) SIGTERM killed the process silently;
    now it stops as Ctrl-C does, says so, and exits 143. Typer turns a KeyboardInterrupt inside
    a command into exit 130, which is read back as the signal that caused it."""
    import aligner.cli as cli_mod

    def command(**_):
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises here
        except KeyboardInterrupt:
            if typer_like:
                raise SystemExit(130) from None
            raise

    monkeypatch.setattr(cli_mod, "app", command)
    with pytest.raises(SystemExit) as done:
        cli_mod.main()
    assert done.value.code == 143
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back
