"""An interrupted corpus run (`ottc-align CORPUS`) loses no work and leaves nothing half-written.

A real `python -m aligner.cli` process aligns a corpus of 20 short utterances (with `--plots`,
so each takes long enough to be caught mid-run); it is killed (SIGKILL: no chance to clean up,
also with `--jobs 2` where the worker processes must not outlive it; or SIGINT: Ctrl-C) once
some outputs exist. Then:
- every output file that exists is complete (parses; the PNG has its end marker), and after
  SIGINT no temporary file is left;
- the same command run again removes what a killed run left, skips exactly the utterances that
  were finished, aligns the others, and leaves all 20 complete: each utterance aligned exactly
  once over the two runs;
- the report of that run keeps, for each skipped utterance, what the first run found (its
  flags and transcript fit, as its JSON output has them), even when the first run was killed
  before it could write a report.
A run stopped with SIGTERM (`kill`, `timeout`, a job scheduler) stops as Ctrl-C does: the
interrupted line, the report, exit 143.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from aligner.formats import read_csv, read_textgrid
from conftest import speechlike

N_UTTERANCES = 20
FORMATS = ("TextGrid", "json", "csv", "png")
WORDS = ["hello there", "good morning to you", "see you later", "how are you today"]


def _corpus(root: Path) -> list[str]:
    names = []
    for i in range(N_UTTERANCES):
        spk = f"spk{i % 2}"
        (root / spk).mkdir(parents=True, exist_ok=True)
        sf.write(str(root / spk / f"u{i:02d}.wav"), speechlike(1.5, seed=i), 16000)
        (root / spk / f"u{i:02d}.lab").write_text(WORDS[i % len(WORDS)], encoding="utf-8")
        names.append(f"{spk}/u{i:02d}")
    return names


def _command(root: Path, out: Path, model: Path, jobs: int = 1) -> list[str]:
    return [sys.executable, "-m", "aligner.cli", str(root), "-o", str(out), "--model", str(model),
            "-f", "textgrid,json,csv", "--plots", "-q", "--device", "cpu", "--jobs", str(jobs)]


def _finished(out: Path, names: list[str]) -> dict[str, int]:
    """Utterances whose outputs all exist -> newest mtime among them."""
    done = {}
    for name in names:
        paths = [out / f"{name}.{ext}" for ext in FORMATS]
        if all(p.exists() for p in paths):
            done[name] = max(p.stat().st_mtime_ns for p in paths)
    return done


def _temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def _check_complete(out: Path) -> int:
    """Every output file present parses completely; returns how many were checked."""
    n = 0
    for path in out.rglob("*"):
        if path.name.startswith(".") or not path.is_file() or path.name == "alignment_report.csv":
            continue
        if path.name == "corpus_alignments.csv":  # the corpus table: whole rows, not an output
            rows = list(csv.reader(path.open(encoding="utf-8")))
            assert rows[0][0] == "Utterance" and all(len(r) == len(rows[0]) for r in rows), path
            continue
        n += 1
        if path.suffix == ".TextGrid":
            (a,) = read_textgrid(path)
            assert a.words and a.duration == pytest.approx(1.5, abs=1e-3), path
        elif path.suffix == ".json":
            assert json.loads(path.read_text(encoding="utf-8"))["tiers"]["words"], path
        elif path.suffix == ".csv":
            assert read_csv(path)[0].words, path
        elif path.suffix == ".png":
            data = path.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[-8:-4] == b"IEND", path
        else:
            raise AssertionError(f"unexpected file {path}")
    return n


def _report_rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "alignment_report.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["utterance"] for r in rows}) == len(rows), "an utterance reported twice"
    return {r["utterance"]: r for r in rows}


def _report(out: Path) -> dict[str, str]:
    return {name: row["status"] for name, row in _report_rows(out).items()}


def _assert_row_says_what_was_found(row: dict[str, str], out: Path) -> None:
    """The report row of an utterance holds the flags and transcript fit its JSON output was
    written with (a skipped one's row was blank when the run that aligned it was killed)."""
    data = json.loads((out / f"{row['utterance']}.json").read_text(encoding="utf-8"))
    assert row["flags"] == " | ".join(f["message"] for f in data["flags"]), row
    assert row["transcript_fit"] and float(row["transcript_fit"]) == pytest.approx(
        data["transcript_fit"], rel=1e-3), row
    assert float(row["duration"]) == pytest.approx(1.5, abs=1e-3) and int(row["words"]) > 0, row


def _run_and_kill(cmd: list[str], out: Path, names: list[str], sig: int,
                  group: bool | None = None) -> tuple[int, str]:
    """Start the run, send `sig` once three utterances are finished, to the whole process group
    (`group`; by default for SIGINT only, as a terminal's Ctrl-C) or to the main process only;
    (exit status, stderr)."""
    # Ctrl-C as a terminal delivers it: a suite started in the background (`nohup ... &`) hands
    # its children SIGINT ignored, which the run rightly keeps (aligner/interrupts.py)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len(_finished(out, names)) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted: " + \
        proc.communicate()[1]
    if group is None:
        group = sig == signal.SIGINT
    if group:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group (worker processes too)
    else:
        proc.send_signal(sig)  # kill -9 of the main process only: its workers must not go on
    _, stderr = proc.communicate(timeout=120)
    # worker processes must end with the run (a kill -9 gives them no notice: they watch for it)
    deadline = time.monotonic() + 30
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _session_processes(proc.pid), "worker processes outlived the killed run"
    return proc.returncode, stderr


def _session_processes(session: int) -> list[int]:
    """Live (non-zombie) processes of the session the run was started in."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.parametrize("sig,jobs", [(signal.SIGKILL, 1), (signal.SIGINT, 1),
                                      (signal.SIGKILL, 2)],
                         ids=["SIGKILL", "SIGINT", "SIGKILL-jobs2"])
def test_interrupted_corpus_run_resumes(tmp_path, tiny_model_dir, sig, jobs):
    root, out = tmp_path / "corpus", tmp_path / "out"
    names = sorted(_corpus(root))
    cmd = _command(root, out, tiny_model_dir, jobs)

    returncode, stderr = _run_and_kill(cmd, out, names, sig)
    if sig == signal.SIGINT:
        assert returncode == 130, stderr
        assert "Traceback" not in stderr and "run the same command again" in stderr
        assert _temporaries(out) == []  # cleaned up on the way out
        # the report lists every utterance, those the run did not reach as `interrupted`
        rows = _report_rows(out)
        assert sorted(rows) == names
        unfinished = set(names) - set(_finished(out, names))
        assert unfinished and all(rows[n]["status"] == "interrupted" for n in unfinished)
        assert any(rows[n]["reason"].startswith("not aligned: the run was stopped") for n in unfinished)
    else:
        assert returncode == -signal.SIGKILL
        # what a kill in the middle of a write leaves: a temporary file of a dead process
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
        (out / "spk0").mkdir(parents=True, exist_ok=True)
        (out / "spk0" / f".u18.TextGrid.{dead}.k1ll3d_x.tmp").write_text("File type = ")
    _check_complete(out)
    before = _finished(out, names)
    assert 3 <= len(before) < N_UTTERANCES

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert _temporaries(out) == []
    after = _finished(out, names)
    assert sorted(after) == names
    assert _check_complete(out) == N_UTTERANCES * len(FORMATS)
    for name, mtime in before.items():  # finished work was not redone
        assert after[name] == mtime, name
    rows = _report_rows(out)
    report = {name: row["status"] for name, row in rows.items()}
    assert sorted(report) == names
    skipped = {n for n, s in report.items() if s == "skipped"}
    assert skipped == set(before)
    assert all(report[n] in ("aligned", "flagged") for n in names if n not in before)
    for name in names:  # the skipped ones' as the first run found them
        _assert_row_says_what_was_found(rows[name], out)

    # a third run has nothing left to do
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and set(_report(out).values()) == {"skipped"}


@pytest.mark.parametrize("group", [False, True], ids=["kill-TERM", "process-group"])
def test_sigterm_stops_a_corpus_run_as_ctrl_c_does(tmp_path, tiny_model_dir, group):
    """`kill -TERM` of the run (or SIGTERM to its whole process group, as `timeout` and job
    schedulers send it) with worker processes: it used to die at once with 143, no summary line,
    no report, and "leaked semaphore objects" from multiprocessing. Now it stops as Ctrl-C does,
    with 143, and its report lists every utterance whose outputs were written, with what was
    found (also those of workers the signal ended before they handed their batch back)."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    names = sorted(_corpus(root))
    returncode, stderr = _run_and_kill(_command(root, out, tiny_model_dir, jobs=2), out, names,
                                       signal.SIGTERM, group)
    assert returncode == 143, stderr
    assert "interrupted after" in stderr and "run the same command again" in stderr, stderr
    assert "Traceback" not in stderr and "leaked" not in stderr, stderr
    finished = _finished(out, names)
    rows = _report_rows(out)
    assert 3 <= len(finished) < N_UTTERANCES and set(finished) <= set(rows)
    for name in finished:
        assert rows[name]["status"] in ("aligned", "flagged"), rows[name]
        _assert_row_says_what_was_found(rows[name], out)
    assert not (out / ".alignment_report.csv.journal").exists()  # folded into the report
