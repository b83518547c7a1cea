"""A run never destroys what the user gave it or forgets what it found: outputs that would
replace a recording's own transcript are refused, and a resumed corpus run keeps the flags of
the utterances an earlier run aligned (and --strict still leaves no flagged alignment)."""

from __future__ import annotations

import csv
from pathlib import Path

from praatio import textgrid as ptg

from aligner import runner
from aligner.corpus import Utterance
from cli_helpers import assert_one_line_error, cli, write_pair
from conftest import speechlike


def _textgrid_transcript(path: Path, text: str, duration: float) -> None:
    """An utterance-interval TextGrid (one tier, the speaker), as transcribers make them."""
    tg = ptg.Textgrid()
    tg.addTier(ptg.IntervalTier("speaker", [(0.1, duration - 0.1, text)], 0, duration))
    tg.save(str(path), format="long_textgrid", includeBlankSpaces=True)


def test_output_that_is_the_input_is_found_whatever_the_spelling(tmp_path):
    utt = Utterance("a", tmp_path / "a.wav", tmp_path / "a.TextGrid", None)
    assert runner.overwritten_input([tmp_path / "x" / ".." / "a.TextGrid"], utt) is not None
    assert runner.overwritten_input([tmp_path / "out" / "a.TextGrid", tmp_path / "a.json"],
                                    utt) is None
    assert "transcript" in runner.overwrite_refusal(utt, tmp_path / "a.TextGrid")


def test_aligning_beside_a_textgrid_transcript_refuses_to_replace_it(tmp_path, tiny_model_dir):
    audio, _ = write_pair(tmp_path, "rec", speechlike(1.5), text=None)
    transcript = tmp_path / "rec.TextGrid"
    _textgrid_transcript(transcript, "hello there", 1.5)
    before = transcript.read_bytes()
    for args in ([audio, transcript], [audio]):  # given, or found beside the audio
        result = cli(*args, "--model", tiny_model_dir)
        assert_one_line_error(result, 2, "rec.TextGrid", "overwrite", "-o")
        assert transcript.read_bytes() == before
    result = cli(audio, transcript, "--model", tiny_model_dir, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "rec.TextGrid").exists() and transcript.read_bytes() == before


def test_a_corpus_aligned_into_its_own_folder_keeps_its_textgrid_transcripts(tmp_path,
                                                                             tiny_model_dir):
    root = tmp_path / "corpus"
    write_pair(root / "spk", "tg", speechlike(1.5), text=None)
    _textgrid_transcript(root / "spk" / "tg.TextGrid", "hello there", 1.5)
    write_pair(root / "spk", "lab", speechlike(1.5, seed=3), text="hello there")
    before = (root / "spk" / "tg.TextGrid").read_bytes()
    result = cli(root, "-o", root, "--model", tiny_model_dir, "-f", "textgrid", "-q")
    assert result.exit_code != 0, result.output  # not a silent "skipped"
    assert (root / "spk" / "tg.TextGrid").read_bytes() == before
    assert (root / "spk" / "lab.TextGrid").exists()  # the other recording is aligned
    rows = {r["utterance"]: r for r in csv.DictReader(open(root / runner.REPORT_NAME,
                                                           encoding="utf-8"))}
    assert rows["spk/tg"]["status"] == "failed" and "overwrite" in rows["spk/tg"]["reason"]
    assert "spk/tg" in result.stderr


def test_a_textgrid_transcript_beside_a_txt_is_never_replaced(tmp_path, tiny_model_dir):
    """x.wav with x.txt and a speaker-tier x.TextGrid made by hand: the default output (and a
    corpus aligned into its folder, with --overwrite too) replaced the TextGrid, exit 0."""
    root = tmp_path / "corpus"
    audio, _ = write_pair(root / "spk", "int1", speechlike(1.5), text="hello there")
    grid = root / "spk" / "int1.TextGrid"
    _textgrid_transcript(grid, "hello there", 1.5)
    before = grid.read_bytes()
    result = cli(audio, root / "spk" / "int1.txt", "--model", tiny_model_dir)
    assert_one_line_error(result, 2, "int1.TextGrid", "not an alignment", "speaker", "-o")
    for extra in ([], ["--overwrite"]):
        result = cli(root, "-o", root, "--model", tiny_model_dir, "-f", "textgrid", "-q", *extra)
        assert result.exit_code == 1, result.output
        assert "not an alignment" in _report(root)["spk/int1"]["reason"]
    assert grid.read_bytes() == before
    ours = tmp_path / "ours"  # an alignment there (ours, MFA's) is replaced as before
    audio, transcript = write_pair(ours, "a", speechlike(1.5), text="hello there")
    assert cli(audio, transcript, "--model", tiny_model_dir).exit_code == 0
    assert cli(audio, transcript, "--model", tiny_model_dir).exit_code == 0


def test_two_runs_never_write_one_folder_at_once(tmp_path, tiny_model_dir):
    """Shards of a dump started side by side into one folder each wrote its report, and the
    second replaced the first's rows, exit 0: a run holds the folder; a killed run's lock is
    taken over; a sequential run of another corpus is warned that it replaces the report."""
    import os
    import socket
    import subprocess
    import sys

    from aligner.atomic import LOCK_NAME

    first, second, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    write_pair(first, "a1", speechlike(1.5), text="hello there")
    write_pair(second, "b1", speechlike(1.5), text="hello there")
    out.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a live run in another process holds the folder
        (out / LOCK_NAME).write_text(f"{other.pid} {socket.gethostname()}\n")
        result = cli(second, "-o", out, "--model", tiny_model_dir, "-q")
        assert_one_line_error(result, 2, str(out), f"process {other.pid}", LOCK_NAME, "-o")
    finally:
        other.kill()
        other.wait()
    for stale in ("999999999", str(os.getpid())):  # a killed run's; this id reused
        (out / LOCK_NAME).write_text(f"{stale} {socket.gethostname()}\n")
        assert cli(first, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0
        assert not (out / LOCK_NAME).exists()
    (out / LOCK_NAME).write_text("4242 another-host\n")  # a run elsewhere: not judged, named
    assert_one_line_error(cli(first, "-o", out, "--model", tiny_model_dir, "-q"), 2,
                          "another-host", "delete")
    (out / LOCK_NAME).unlink()
    result = cli(second, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 0 and "none of them in this corpus" in result.stderr


def _flag_one(monkeypatch, name: str,
              flag: str = "untranscribed_speech: voiced 0.1-1.0 s lies outside every word") -> None:
    """The tiny model's own flags are random: flag exactly `name` (with `flag`, by default one
    that --strict refuses), nothing else."""
    real = runner.summarise

    def summarise(utt, alignments):
        result = real(utt, alignments)
        result.flags = [flag] if utt.name == name else []
        result.status = "flagged" if result.flags else "aligned"
        return result

    monkeypatch.setattr(runner, "summarise", summarise)


def _report(out: Path) -> dict[str, dict]:
    return {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME,
                                                           encoding="utf-8"))}


def test_a_resumed_run_keeps_the_flags_of_what_it_skips(tmp_path, tiny_model_dir, monkeypatch):
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(3):
        write_pair(root / "spk", f"u{i}", speechlike(1.2, seed=i), text="hello there")
    _flag_one(monkeypatch, "spk/u1")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json").exit_code == 0
    first = _report(out)
    for _ in range(2):  # resumed twice: the flags survive a report that was itself a resume
        result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json")
        assert result.exit_code == 0, result.output
        rows = _report(out)
        assert {r["status"] for r in rows.values()} == {"skipped"}
        assert rows["spk/u1"]["flags"] == first["spk/u1"]["flags"] != ""
        assert rows["spk/u1"]["duration"] == first["spk/u1"]["duration"]
        assert rows["spk/u0"]["flags"] == ""
        assert "aligned before, flagged" in result.stdout


def test_a_recording_away_for_one_run_is_still_ours_when_it_comes_back(tmp_path, tiny_model_dir):
    """A recording moved away for one run (a sync not finished, a drive not mounted) keeps its
    report row while its outputs are still there: back, it is skipped as aligned before. Its
    row used to go, and the next run refused its TextGrid as no run of ours had written it."""
    root, out, away = tmp_path / "corpus", tmp_path / "out", tmp_path / "away.wav"
    for i in range(2):
        write_pair(root / "spk", f"u{i}", speechlike(1.2, seed=i), text="hello there")
    assert cli(root, "-o", out, "--model", tiny_model_dir).exit_code == 0
    first = _report(out)["spk/u1"]
    (root / "spk" / "u1.wav").rename(away)
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0
    assert _report(out)["spk/u1"] == first
    away.rename(root / "spk" / "u1.wav")
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert {r["status"] for r in _report(out).values()} == {"skipped"}
    (out / "spk" / "u1.TextGrid").unlink()  # its outputs gone too: its row goes
    (root / "spk" / "u1.wav").rename(away)
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0
    assert set(_report(out)) == {"spk/u0"}


def test_strict_on_a_folder_of_an_earlier_run_removes_its_flagged_alignments(
        tmp_path, tiny_model_dir, monkeypatch):
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(3):
        write_pair(root / "spk", f"u{i}", speechlike(1.2, seed=i), text="hello there")
    _flag_one(monkeypatch, "spk/u1")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json").exit_code == 0
    assert (out / "spk" / "u1.json").exists()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json", "--strict")
    assert result.exit_code == 1, result.output
    assert not (out / "spk" / "u1.json").exists() and (out / "spk" / "u0.json").exists()
    rows = _report(out)
    assert rows["spk/u1"]["status"] == "failed" and "--strict" in rows["spk/u1"]["reason"]
    assert rows["spk/u0"]["status"] == "skipped"


def test_a_resumed_run_with_other_strict_kinds_brings_the_folder_into_line(
        tmp_path, tiny_model_dir, monkeypatch):
    """--strict-flags all refused a recording for a word flag; a later plain --strict (which
    does not refuse that kind) aligns and writes it; a later --strict-flags all again removes
    the outputs it finds for it, as if refused now."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(2):
        write_pair(root / "spk", f"u{i}", speechlike(1.2, seed=i), text="hello there")
    _flag_one(monkeypatch, "spk/u1", "low_confidence: word 'x' at 0.1-0.2 s confidence 0.0001")
    args = ("-o", out, "--model", tiny_model_dir, "-f", "json", "-q")
    result = cli(root, *args, "--strict-flags", "all")
    assert result.exit_code == 1 and not (out / "spk" / "u1.json").exists(), result.output
    assert _report(out)["spk/u1"]["status"] == "failed"
    result = cli(root, *args, "--strict")
    assert result.exit_code == 0 and (out / "spk" / "u1.json").exists(), result.output
    rows = _report(out)
    assert rows["spk/u1"]["status"] == "flagged" and rows["spk/u0"]["status"] == "skipped"
    result = cli(root, *args, "--strict-flags", "low-confidence")
    assert result.exit_code == 1 and not (out / "spk" / "u1.json").exists(), result.output
    rows = _report(out)
    assert rows["spk/u1"]["status"] == "failed" and "low_confidence" in rows["spk/u1"]["reason"]
    assert (out / "spk" / "u0.json").exists() and rows["spk/u0"]["status"] == "skipped"


def test_strict_removes_every_format_an_earlier_run_wrote_for_a_refused_utterance(
        tmp_path, tiny_model_dir, monkeypatch):
    """An earlier run wrote JSON, CTM and plots; this one asks for TextGrids with --strict: the
    flagged utterance must not keep its old JSON, CTMs or PNG pages (they hold the alignment
    --strict refuses), and the other utterances keep theirs."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(2):
        write_pair(root / "spk", f"u{i}", speechlike(1.2, seed=i), text="hello there")
    _flag_one(monkeypatch, "spk/u1")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json,ctm").exit_code == 0
    for name in ("u0.png", "u1.png", "u1.page2.png"):  # as --plots draws a long recording
        (out / "spk" / name).write_bytes(b"\x89PNG")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid", "--strict", "-q")
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in (out / "spk").iterdir()) == [
        "u0.TextGrid", "u0.ctm", "u0.json", "u0.phones.ctm", "u0.png"]
    assert _report(out)["spk/u1"]["status"] == "failed"


def test_strict_on_one_file_names_the_earlier_output_it_leaves(tmp_path, tiny_model_dir,
                                                               monkeypatch):
    """Beside the audio an output may be a file the user keeps, so a refused single file
    deletes nothing; "nothing written" names what an earlier run left at its path instead."""
    audio, transcript = write_pair(tmp_path, "clip", speechlike(1.5))
    _flag_one(monkeypatch, "clip")
    assert cli(audio, transcript, "--model", tiny_model_dir).exit_code == 0
    earlier = tmp_path / "clip.TextGrid"
    before = earlier.read_bytes()
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict")
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.endswith(f"nothing written (an earlier {earlier} is left as it was)"), error
    assert earlier.read_bytes() == before
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict", "-o", tmp_path / "new")
    assert result.stderr.strip().endswith("nothing written"), result.stderr


def test_one_file_warns_when_its_lab_and_txt_differ(tmp_path, tiny_model_dir):
    """As a corpus run and validate do: the transcript found beside the audio is the .lab, and a
    different .txt beside it is named (a correction made there would go unseen)."""
    audio, _ = write_pair(tmp_path, "clip", speechlike(1.5), text="hello there")
    (tmp_path / "clip.txt").write_text("good morning", encoding="utf-8")
    result = cli(audio, "--model", tiny_model_dir, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "clip.lab and clip.txt differ; using clip.lab" in result.stderr
    (tmp_path / "clip.txt").write_text("hello  there\n", encoding="utf-8")
    result = cli(audio, "--model", tiny_model_dir, "-o", tmp_path / "out")
    assert result.exit_code == 0 and "differ" not in result.stderr
