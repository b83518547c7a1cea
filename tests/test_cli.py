"""End-to-end through the command line (Typer's runner and a real subprocess): outputs parse
back, exit codes are the documented ones, errors are one line without a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import textgrid as tgpkg
from typer.testing import CliRunner

from aligner.cli import app
from aligner.formats import read_csv, read_ctm, read_json, read_textgrid
from cli_helpers import assert_one_line_error, cli
from conftest import speechlike


def _check_textgrid(path: Path, duration: float, n_words: int | None = None) -> None:
    tg = tgpkg.TextGrid.fromFile(str(path))
    assert [t.name for t in tg.tiers][:2] == ["words", "phones"] or " - " in tg.tiers[0].name
    for tier in tg.tiers:
        ivs = list(tier)
        assert ivs[0].minTime == 0 and ivs[-1].maxTime == pytest.approx(duration, abs=1e-3)
        for a, b in zip(ivs, ivs[1:]):
            assert a.maxTime == pytest.approx(b.minTime) and a.minTime < a.maxTime
    if n_words is not None:
        assert len([i for i in tg.tiers[0] if i.mark]) == n_words


def test_single_file_all_formats(example_pair, tiny_model_dir):
    wav, txt = example_pair
    # a list and a repeated option add up (-f json -f csv wrote only the CSV)
    result = cli(wav, txt, "--model", tiny_model_dir, "--format", "textgrid,ctm", "-f", "json",
                 "-f", "csv", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "12 words" in result.stdout and "4.72 s" in result.stdout
    base = wav.parent / "allison"
    _check_textgrid(base.with_suffix(".TextGrid"), 4.725, 12)
    (a,) = read_textgrid(base.with_suffix(".TextGrid"))
    (j,) = read_json(base.with_suffix(".json"))
    (c,) = read_csv(base.with_suffix(".csv"))
    ctm = read_ctm(base.with_suffix(".ctm"))["allison"]
    phones_ctm = read_ctm(wav.parent / "allison.phones.ctm")["allison"]
    spans = [(w.start, w.end, w.label) for w in a.words]
    assert spans == [(w.start, w.end, w.label) for w in j.words] \
        == [(w.start, w.end, w.label) for w in c.words] \
        == [(w.start, w.end, w.label) for w in ctm]
    assert [p.label for p in a.phones] == [p.label for p in phones_ctm]


def test_output_file_and_directory_options(example_pair, tiny_model_dir, tmp_path):
    wav, txt = example_pair
    result = cli(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "new" / "x.json", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "x.json").exists() and not (tmp_path / "new" / "x.TextGrid").exists()
    result = cli(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "dir", "-q")
    assert result.exit_code == 0 and (tmp_path / "dir" / "allison.TextGrid").exists()


def test_options_before_paths_and_transcript_found_beside_audio(example_pair, tiny_model_dir):
    wav, _ = example_pair
    result = cli("--format", "csv", "--model", tiny_model_dir, wav)
    assert result.exit_code == 0, result.output
    assert (wav.parent / "allison.csv").exists()


@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 1), (16000, 2), (96000, 4)])
def test_rates_and_channels(tmp_path, tiny_model_dir, rate, channels):
    mono = speechlike(2.0, rate)
    data = mono if channels == 1 else np.stack([mono] * channels, axis=1)
    sf.write(str(tmp_path / "a.wav"), data, rate)
    (tmp_path / "a.txt").write_text("hello there my friend", encoding="utf-8")
    result = cli(tmp_path / "a.wav", tmp_path / "a.txt", "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    _check_textgrid(tmp_path / "a.TextGrid", 2.0, 4)


def test_textgrid_transcript(tmp_path, tiny_model_dir):
    from praatio import textgrid

    sf.write(str(tmp_path / "talk.wav"), speechlike(5.0), 16000)
    tg = textgrid.Textgrid(0, 5)
    tg.addTier(textgrid.IntervalTier("alice", [(0.3, 1.8, "hello there")], 0, 5))
    tg.addTier(textgrid.IntervalTier("bob", [(2.5, 4.5, "hi alice how are you")], 0, 5))
    tg.save(str(tmp_path / "talk_in.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    result = cli(tmp_path / "talk.wav", tmp_path / "talk_in.TextGrid", "--model", tiny_model_dir,
                 "-o", tmp_path / "out", "-f", "textgrid,json", "-q")
    assert result.exit_code == 0, result.output
    out = tgpkg.TextGrid.fromFile(str(tmp_path / "out" / "talk.TextGrid"))
    assert [t.name for t in out.tiers] == ["alice - words", "alice - phones", "bob - words",
                                           "bob - phones"]
    _check_textgrid(tmp_path / "out" / "talk.TextGrid", 5.0)
    bob_words = [i for i in out.tiers[2] if i.mark]
    assert [i.mark for i in bob_words] == ["hi", "alice", "how", "are", "you"]
    assert bob_words[0].minTime >= 2.5 and bob_words[-1].maxTime <= 4.5


def _make_corpus(root: Path) -> None:
    for spk, utt, text, rate in [("alice", "a1", "hello there", 16000),
                                 ("alice", "a2", "good morning to you", 8000),
                                 ("bob", "b1", "see you later", 44100)]:
        (root / spk).mkdir(parents=True, exist_ok=True)
        sf.write(str(root / spk / f"{utt}.wav"), speechlike(1.5, rate, seed=len(utt)), rate)
        (root / spk / f"{utt}.lab").write_text(text, encoding="utf-8")


def test_corpus_run_resume_and_failures(tmp_path, tiny_model_dir):
    root, out = tmp_path / "corpus", tmp_path / "out"
    _make_corpus(root)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,json")
    assert result.exit_code == 0, result.output
    for name in ("alice/a1", "alice/a2", "bob/b1"):
        _check_textgrid(out / f"{name}.TextGrid", 1.5)
        assert (out / f"{name}.json").exists()
    assert (out / "alignment_report.csv").exists()
    first = (out / "alice" / "a1.TextGrid").stat().st_mtime_ns

    # an interrupted run: one output missing -> only that utterance is redone
    (out / "bob" / "b1.json").unlink()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,json")
    assert result.exit_code == 0 and "skipped" in result.stdout
    summary = result.stdout.replace("│", " ")  # the counts row: aligned, flagged, skipped, ...
    assert re.search(r"\s1\s+\d+\s+2\s+0\s+1\.5\s", summary), result.stdout  # this run's 1.5 s
    assert (out / "bob" / "b1.json").exists()
    assert (out / "alice" / "a1.TextGrid").stat().st_mtime_ns == first

    result = cli(root, "-o", out, "--model", tiny_model_dir, "--overwrite", "-q")
    assert result.exit_code == 0
    assert (out / "alice" / "a1.TextGrid").stat().st_mtime_ns != first

    (root / "bob" / "bad.wav").write_bytes(b"RIFF\x00\x00")
    (root / "bob" / "bad.lab").write_text("hello")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 1
    assert "bob/bad" in result.stderr and "bad.wav" in result.stderr
    assert "bob/bad,failed" in (out / "alignment_report.csv").read_text(encoding="utf-8")


def test_a_transcript_file_that_takes_over_from_another_is_aligned_again(tmp_path,
                                                                        tiny_model_dir):
    """A transcript file that takes over keeps its own time: `mv a1.txt a1.lab` over the .lab
    that was read (review 118), or a .lab removed so that the .txt beside it is read. Skipped by
    the files' times alone, the outputs kept the other file's words. The report records which
    file each utterance was aligned to; a report from before it (no `transcript=`) keeps them."""
    import csv
    import os

    def row(name: str) -> dict[str, str]:
        return next(r for r in csv.DictReader(open(out / "alignment_report.csv"))
                    if r["utterance"] == name)

    def words(name: str) -> list[str]:
        import textgrid

        tg = textgrid.TextGrid.fromFile(str(out / f"{name}.TextGrid"))
        return [i.mark for i in tg.getFirst("words") if i.mark]

    root, out = tmp_path / "corpus", tmp_path / "out"
    _make_corpus(root)
    older = (root / "alice" / "a1.txt")
    older.write_text("hello again", encoding="utf-8")
    os.utime(older, (1_000_000, 1_000_000))  # written long ago
    args = [root, "-o", out, "--model", tiny_model_dir, "-q"]
    assert cli(*args).exit_code == 0
    assert words("alice/a1") == ["hello", "there"]
    assert "transcript=.lab" in row("alice/a1")["settings"]

    (root / "alice" / "a1.lab").unlink()  # the .txt, older than the outputs, is read now
    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert row("alice/a1")["status"] != "skipped" and words("alice/a1") == ["hello", "again"]
    assert row("alice/a2")["status"] == "skipped"
    assert "transcript=.txt" in row("alice/a1")["settings"]

    report = out / "alignment_report.csv"  # as a version before `transcript=` wrote it
    report.write_text(report.read_text(encoding="utf-8").replace(" transcript=.txt", "")
                      .replace(" transcript=.lab", ""), encoding="utf-8")
    assert cli(*args).exit_code == 0
    assert {row(n)["status"] for n in ("alice/a1", "alice/a2", "bob/b1")} == {"skipped"}


def test_a_resumed_run_realigns_what_other_settings_wrote(tmp_path, tiny_model_dir):
    """Outputs were skipped by their files' times alone: adding --dictionary (older than the
    outputs) or changing --method kept the old alignments and said nothing. The report records
    what each utterance was aligned with; a run with other settings aligns it again and says
    why, and the same settings skip it again."""
    import csv
    import shutil

    def statuses() -> set[str]:
        return {row["status"] for row in csv.DictReader(open(out / "alignment_report.csv"))}

    root, out = tmp_path / "corpus", tmp_path / "out"
    _make_corpus(root)
    dictionary = tmp_path / "my.dict"
    dictionary.write_text("see S IY1\n", encoding="utf-8")  # older than every output
    args = [root, "-o", out, "--model", tiny_model_dir, "--method", "ot"]
    assert cli(*args).exit_code == 0
    first = (out / "alice" / "a1.TextGrid").stat().st_mtime_ns
    rows = (out / "alignment_report.csv").read_text(encoding="utf-8")
    assert "method=ot" in rows and "dictionary=none" in rows

    again = cli(*args, "--dictionary", dictionary)
    assert again.exit_code == 0, again.output
    assert "other settings" in again.stderr and "skipped" not in statuses()
    assert (out / "alice" / "a1.TextGrid").stat().st_mtime_ns != first
    assert "dictionary=none" not in (out / "alignment_report.csv").read_text(encoding="utf-8")

    same = cli(*args, "--dictionary", dictionary)
    assert same.exit_code == 0 and "other settings" not in same.stderr
    assert statuses() == {"skipped"}

    other = cli(root, "-o", out, "--model", tiny_model_dir, "--method", "viterbi",
                "--dictionary", dictionary)
    assert "other settings" in other.stderr and "skipped" not in statuses()

    kept = sorted(p.name for p in out.rglob("*.TextGrid"))  # a typo must not cost them
    for typo in (["--method", "vitterbi"], ["--dictionary", tmp_path / "missing.dict"]):
        assert cli(root, "-o", out, "--model", tiny_model_dir, *typo).exit_code == 2
        assert sorted(p.name for p in out.rglob("*.TextGrid")) == kept

    renamed = tmp_path / "copy.dict"  # the same words under another name: nothing to redo
    shutil.copy2(dictionary, renamed)  # its time kept, as cp -p does
    same = cli(root, "-o", out, "--model", tiny_model_dir, "--method", "viterbi",
               "--dictionary", renamed)
    assert "other settings" not in same.stderr and statuses() == {"skipped"}


def test_corpus_jobs(tmp_path, tiny_model_dir):
    root, out = tmp_path / "corpus", tmp_path / "out"
    _make_corpus(root)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--jobs", "2", "-q")
    assert result.exit_code == 0, result.output
    assert len(list(out.rglob("*.TextGrid"))) == 3


def test_strict(example_pair):
    wav, txt = example_pair
    txt.write_text("seven eight nine ten eleven twelve thirteen fourteen", encoding="utf-8")
    result = cli(wav, txt, "--strict")  # the shipped model: not what was said, flagged
    assert result.exit_code == 1
    assert "--strict" in result.stderr and "transcript_mismatch" in result.stderr
    assert not (wav.parent / "allison.TextGrid").exists()


def test_validate_command(tmp_path):
    root = tmp_path / "corpus"
    _make_corpus(root)
    (root / "bob" / "b1.lab").write_text("see you zorblax", encoding="utf-8")
    result = cli("validate", root)
    assert result.exit_code == 0, result.output
    assert "zorblax" in result.stdout and "no problems" in result.stdout
    (root / "alice" / "a2.lab").write_text("", encoding="utf-8")
    result = cli("validate", root, "--report", tmp_path / "v.csv")
    assert result.exit_code == 1 and "empty" in result.stdout
    assert (tmp_path / "v.csv").exists()


def test_validate_tables_of_problems_and_warnings(tmp_path):
    """A problem and a warning each get their table (title, column, the utterance and what was
    found); -q keeps the problems and drops the warnings."""
    root = tmp_path / "corpus"
    _make_corpus(root)
    (root / "alice" / "a2.lab").write_text("", encoding="utf-8")  # a problem
    (root / "alice" / "a1.txt").write_text("goodbye there", encoding="utf-8")  # a warning
    wide = CliRunner(env={"COLUMNS": "200"})
    result = wide.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    problems = lines.index(next(line for line in lines if "1 problem(s)" in line))
    warnings = lines.index(next(line for line in lines if "1 warning(s): alignable, but check" in line))
    assert problems < warnings
    assert "utterance" in lines[problems + 2] and "problem" in lines[problems + 2]
    assert "alice/a2" in lines[problems + 4] and "empty" in lines[problems + 4]
    assert "alice/a2.lab: transcript is empty" in lines[problems + 4]  # from the corpus root
    assert str(root) not in result.stdout.split("1 problem(s)")[1]
    assert "utterance" in lines[warnings + 2] and "warning" in lines[warnings + 2]
    assert "alice/a1" in lines[warnings + 4] and "a1.lab and a1.txt differ" in lines[warnings + 4]
    quiet = wide.invoke(app, ["validate", str(root), "-q"])
    assert quiet.exit_code == 1 and "1 problem(s)" in quiet.stdout and "alice/a2" in quiet.stdout
    assert "warning" not in quiet.stdout


def test_validate_names_a_recording_too_short_for_its_transcript(tmp_path, tiny_model_dir):
    """A 0.1 s recording with a sentence: validate's problem names the audio file from the
    corpus root, in the words align fails it with."""
    root = tmp_path / "corpus"
    _make_corpus(root)
    short = root / "alice" / "a2.wav"
    noise = 0.1 * np.random.default_rng(0).standard_normal(1600)
    sf.write(short, noise.astype(np.float32), 16000)
    (root / "alice" / "a2.lab").write_text("the passwords you entered did not match",
                                            encoding="utf-8")
    wide = CliRunner(env={"COLUMNS": "200"})
    validated = wide.invoke(app, ["validate", str(root)])
    aligned = wide.invoke(app, [str(root), "-o", str(tmp_path / "out"),
                                "--model", str(tiny_model_dir)])
    assert validated.exit_code == 1 and aligned.exit_code == 1, aligned.output
    row = next(x for x in validated.stdout.splitlines() if "too short" in x)
    assert "alice/a2.wav: the audio is 100 ms long" in row and str(root) not in row
    reason = next(x for x in aligned.stdout.splitlines() if "too short" in x)
    assert "alice/a2.wav: the audio is 100 ms long" in reason


def test_the_corpus_summary_shows_paths_from_the_corpus_root(tmp_path, tiny_model_dir):
    """The align summary's reasons repeated the whole path and wrapped it mid-word, where
    validate's tables show it from the corpus root."""
    root = tmp_path / "corpus"
    _make_corpus(root)
    (root / "alice" / "a2.lab").write_text("", encoding="utf-8")
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, [str(root), "-o", str(tmp_path / "out"), "--model", str(tiny_model_dir)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if "transcript is empty" in x)
    assert "alice/a2.lab: transcript is empty" in line and str(root) not in line


def test_a_report_that_cannot_be_written_is_not_named_and_fails_the_run(tmp_path, tiny_model_dir,
                                                                        monkeypatch):
    """On a full disk the report failed to write, the error said so, and the summary still
    ended with "report: .../alignment_report.csv (every utterance with its flags)", exit 0."""
    from aligner import runner

    def full(*_, **__):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "write_report", full)
    root = tmp_path / "corpus"
    _make_corpus(root)
    result = cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir)
    assert result.exit_code == 2, result.output
    assert "No space left" in result.stderr and "report: not written" in result.stdout
    assert "alignment_report.csv" not in result.stdout
    monkeypatch.undo()
    monkeypatch.setattr(runner, "write_table", full)  # the report written, the table not
    result = cli(root, "-o", tmp_path / "out2", "-f", "csv", "--model", tiny_model_dir)
    assert result.exit_code == 2 and "No space left" in result.stderr, result.output
    assert "alignment_report.csv" in result.stdout


def test_only_a_path_s_start_is_cut_to_the_corpus_root():
    """The root's name inside a longer one stayed cut: `corpus/subcorpus/a.lab` became
    `suba.lab`."""
    from aligner.cli.common import from_root

    assert from_root("corpus/subcorpus/a.lab: transcript is empty", Path("corpus")) == \
        "subcorpus/a.lab: transcript is empty"
    assert from_root("see data/metadata/x.lab (or 'data/y.txt')", Path("data/")) == \
        "see metadata/x.lab (or 'y.txt')"
    assert from_root("/a/b.lab: empty", Path("/")) == "/a/b.lab: empty"
    # a command to paste runs from where the user is: its paths stay whole
    assert from_root("corpus/s/a.m4a: cannot be read; convert it first, e.g. ffmpeg -i "
                     "corpus/s/a.m4a corpus/s/a.wav", Path("corpus")) == (
        "s/a.m4a: cannot be read; convert it first, e.g. ffmpeg -i corpus/s/a.m4a corpus/s/a.wav")


def test_validate_warns_when_lab_and_txt_differ(tmp_path, tiny_model_dir):
    """Both a1.lab and a1.txt, with different words: validate and a corpus run warn, naming
    both files and the one used (.lab, as MFA); it is not a problem (exit 0)."""
    root = tmp_path / "corpus"
    _make_corpus(root)
    (root / "alice" / "a1.txt").write_text("goodbye there", encoding="utf-8")
    result = cli("validate", root, "--report", tmp_path / "v.csv")
    assert result.exit_code == 0, result.output
    assert "1 warning(s)" in result.stdout and "no problems found" in result.stdout
    assert "a1.lab and a1.txt differ" in (tmp_path / "v.csv").read_text(encoding="utf-8")
    result = cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert "a1.lab and a1.txt differ; using a1.lab" in result.stderr
    result = cli(root, "-o", tmp_path / "out2", "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0 and result.stderr == ""


def test_two_transcripts_named_alike_but_for_letter_case_are_a_warning(tmp_path, tiny_model_dir):
    """a1.lab beside a1.LAB (a copy from a case-blind disk, corrected under the other name): one
    was read without a word; the single-file command warns too. The same words: no warning."""
    root = tmp_path / "corpus"
    _make_corpus(root)
    (root / "alice" / "a1.LAB").write_text("goodbye there", encoding="utf-8")
    result = cli("validate", root, "--report", tmp_path / "v.csv")
    assert result.exit_code == 0, result.output
    assert "a1.lab and a1.LAB differ; using a1.lab" in (tmp_path / "v.csv").read_text(encoding="utf-8")
    result = cli(root / "alice" / "a1.wav", "-o", tmp_path / "a1.json", "--model", tiny_model_dir)
    assert result.exit_code == 0 and "letter case" in result.stderr, result.output
    (root / "alice" / "a1.LAB").write_text((root / "alice" / "a1.lab").read_text())
    result = cli("validate", root, "--report", tmp_path / "v2.csv")
    assert result.exit_code == 0 and "warning" not in result.stdout, result.output
    (root / "alice" / "a1.txt").write_text("goodbye there", encoding="utf-8")  # still seen
    result = cli("validate", root, "--report", tmp_path / "v3.csv")
    assert "a1.lab and a1.txt differ" in (tmp_path / "v3.csv").read_text(encoding="utf-8")


def test_validate_and_align_agree_when_there_is_no_audio(tmp_path, tiny_model_dir):
    """An empty folder, or one holding only recordings libsndfile cannot read (.m4a): both
    commands say so in the same line, exit 2; for .m4a they say how many and how to convert."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a transcript of anything", encoding="utf-8")
    phone = tmp_path / "phone"
    phone.mkdir()
    for stem in ("a", "b"):
        (phone / f"{stem}.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(32))
        (phone / f"{stem}.lab").write_text("hello there", encoding="utf-8")
    for folder, needles in ((empty, ("no audio files found",)),
                            (phone, ("found 2 .m4a file(s)", "ffmpeg -i"))):
        validated = cli("validate", folder)
        assert_one_line_error(validated, 2, str(folder), *needles)
        aligned = cli(folder, "-o", tmp_path / "out", "--model", tiny_model_dir)
        assert_one_line_error(aligned, 2, *needles)
        assert aligned.stderr == validated.stderr
        assert not (tmp_path / "out").exists()  # nothing written: no empty folder left behind
    kept = tmp_path / "mine"  # a folder the user made is theirs: it stays
    kept.mkdir()
    assert_one_line_error(cli(empty, "-o", kept, "--model", tiny_model_dir), 2)
    assert kept.is_dir()
    # the folders made on the way to a deeper -o go too, up to the user's own
    assert_one_line_error(cli(empty, "-o", kept / "new" / "deeper" / "out",
                              "--model", tiny_model_dir), 2)
    assert kept.is_dir() and not (kept / "new").exists()


def test_bad_usage_and_bad_input_exit_2(example_pair, tiny_model_dir, tmp_path):
    wav, txt = example_pair
    m = ["--model", str(tiny_model_dir)]
    assert_one_line_error(cli(tmp_path / "missing.wav", txt, *m), 2, "missing.wav", "not found")
    fake = tmp_path / "fake.wav"
    fake.write_text("hello")
    assert_one_line_error(cli(fake, txt, *m), 2, "fake.wav")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert_one_line_error(cli(wav, empty, *m), 2, "empty.txt", "empty")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\xfa not utf8")
    assert_one_line_error(cli(wav, bad, *m), 2, "bad.txt")
    sf.write(str(tmp_path / "short.wav"), speechlike(0.2), 16000)
    assert_one_line_error(cli(tmp_path / "short.wav", txt, *m), 2, "short.wav")
    sf.write(str(tmp_path / "quiet.wav"), np.zeros(16000), 16000)
    assert_one_line_error(cli(tmp_path / "quiet.wav", txt, *m), 2, "quiet.wav", "silent")
    assert_one_line_error(cli(wav, txt, *m, "--format", "xml"), 2, "xml")
    assert_one_line_error(cli(wav, txt, *m, "--method", "magic"), 2, "magic")
    assert_one_line_error(cli(wav, txt, "--model", tmp_path / "nomodel"), 2, "nomodel")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    (damaged / "model.safetensors").write_bytes(b"\x00" * 64)
    assert_one_line_error(cli(wav, txt, "--model", damaged), 2, "model.safetensors")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_one_line_error(cli(wav, txt, *m, "-o", blocker / "out"), 2, "file")
    assert_one_line_error(cli(tmp_path, *m), 2, "-o OUT_DIR")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu(example_pair, tiny_model_dir):
    wav, txt = example_pair
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "--device", "cuda"), 2, "CUDA")


def test_subcommands_coexist():
    result = cli("--help")
    assert result.exit_code == 0 and "validate" in result.stdout and "align" in result.stdout
    assert cli("validate", "--help").exit_code == 0
    assert cli("--version").stdout.startswith("ottc-align ")


def test_help_reflows_paragraphs_and_keeps_placeholders():
    """--help joins a docstring's wrapped lines into one paragraph (rendered as written, a source
    line break fell mid-sentence at any terminal width) and keeps every placeholder (markdown
    would swallow an `<utt>` as an HTML tag)."""
    wide = CliRunner().invoke(app, ["align", "--help"], env={"COLUMNS": "200"}).stdout
    assert "2 bad usage or bad input (single file)" in wide
    for command, needle in [("adapt", "SPEAKER/UTTERANCE.wav"), ("train", "WORK_DIR/features")]:
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).stdout
        assert needle in " ".join(text.replace("│", " ").split()), command


def test_model_and_device_mean_the_same_in_every_command(example_pair, tiny_model_dir, tmp_path):
    """`--model/-m` and `--device`: one name wherever a model is loaded, one help text where it
    is the model to align with (train's is the model it starts from, --init its former name);
    -m works for align, plot and train alike."""
    import typer

    commands = typer.main.get_command(app).commands
    options = {name: {p.name: p for p in commands[name].params} for name in commands}
    models = [options[name]["model"] for name in ("align", "plot", "adapt")]
    assert all(m.opts == ["--model", "-m"] and m.help == models[0].help for m in models)
    devices = [options[name]["device"] for name in ("align", "plot", "train", "adapt")]
    assert all(d.opts == ["--device"] and d.help == devices[0].help for d in devices)
    assert options["train"]["init"].opts[:2] == ["--model", "-m"]
    assert "--init" in options["train"]["init"].opts
    assert not any("-m" in p.opts for name in ("evaluate", "validate")
                   for p in options[name].values())
    wav, txt = example_pair
    assert cli(wav, txt, "-m", tiny_model_dir, "-o", tmp_path / "a.json", "-q").exit_code == 0
    plotted = cli("plot", wav, txt, "-m", tiny_model_dir, "-o", tmp_path / "a.png", "-q")
    assert plotted.exit_code == 0 and (tmp_path / "a.png").exists()
    for args in ((wav, txt), ("plot", wav, txt), ("train", wav.parent, "-o", tmp_path / "t")):
        assert_one_line_error(cli(*args, "-m", tmp_path / "none"), 2,
                              f"{tmp_path / 'none'}: model directory not found")


def test_real_subprocess(tmp_path, tiny_model_dir):
    """The installed entry point, with a path holding spaces and non-ASCII characters."""
    folder = tmp_path / "my files é"
    folder.mkdir()
    sf.write(str(folder / "clip one.wav"), np.stack([speechlike(2.0, 44100)] * 2, axis=1), 44100)
    (folder / "clip one.txt").write_text("héllo wörld again", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    cmd = [sys.executable, "-c", "from aligner.cli import main; main()"]
    done = subprocess.run(cmd + [str(folder / "clip one.wav"), str(folder / "clip one.txt"),
                                 "--model", str(tiny_model_dir), "-f", "textgrid,json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_textgrid(folder / "clip one.TextGrid", 2.0, 3)
    data = json.loads((folder / "clip one.json").read_text(encoding="utf-8"))
    assert [e[2] for e in data["tiers"]["words"]["entries"]] == ["héllo", "wörld", "again"]
    done = subprocess.run(cmd + [str(folder / "nothing.wav"), "x.txt"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nothing.wav" in done.stderr


@pytest.mark.parametrize("corpus", [False, True])
def test_a_reader_that_goes_away_does_not_fail_the_run(tmp_path, tiny_model_dir, corpus):
    """`ottc-align a.wav a.txt | true` exited 1 with no message although every output was
    written: the summary's print met a closed pipe. Here the pipe is closed before the run."""
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(str(folder / "a.wav"), speechlike(2.0), 16000)
    (folder / "a.lab").write_text("hello world again", encoding="utf-8")
    args = ([folder, "-o", tmp_path / "out"] if corpus
            else [folder / "a.wav", folder / "a.lab", "-o", tmp_path / "out" / "a.TextGrid"])
    for command in (["--version"], [*args, "--model", tiny_model_dir]):
        process = subprocess.Popen([sys.executable, "-m", "aligner.cli", *map(str, command)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   cwd=Path(__file__).resolve().parent.parent)
        process.stdout.close()  # the reader is gone before anything is printed
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        assert err.decode().strip() == ""
    _check_textgrid(tmp_path / "out" / "a.TextGrid", 2.0, 3)


def test_a_terminal_that_cannot_show_a_name_does_not_fail_the_run(tmp_path, tiny_model_dir):
    """In an ASCII-only terminal (`LANG=C`, an old CI runner) printing "Zoë café.wav" raised
    UnicodeEncodeError after the outputs were written: "internal error", exit 1."""
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(str(folder / "Zoë café.wav"), speechlike(2.0), 16000)
    (folder / "Zoë café.txt").write_text("hello world again", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "aligner.cli", str(folder / "Zoë café.wav"), "--model",
         str(tiny_model_dir), "-o", str(tmp_path / "out"), "-f", "json"],
        capture_output=True, cwd=Path(__file__).resolve().parent.parent, timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr.decode()
    assert "Zo\\xeb caf\\xe9.wav" in done.stdout.decode()
    assert (tmp_path / "out" / "Zoë café.json").is_file()


def test_a_corpus_run_warns_about_transcripts_without_a_recording(tmp_path, tiny_model_dir):
    """A transcript whose recording is missing (renamed, not copied) is not aligned and the
    report, which lists recordings, cannot show it: a warning names it (validate did alone)."""
    from cli_helpers import write_pair

    corpus = tmp_path / "corpus"
    write_pair(corpus / "spk", "u1", speechlike(1.5))
    (corpus / "spk" / "lost.lab").write_text("hello there", encoding="utf-8")
    result = cli(corpus, "-o", tmp_path / "out", "-m", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert "1 transcript(s) without a recording, not aligned" in result.stderr
    assert "lost.lab" in result.stderr


def test_the_progress_bar_moves_on_to_the_search_once_the_model_is_done():
    """On a 15-minute file the bar sat at 100% for 7 of its 10 s: the model's frames were all
    it counted. Now it says when the search and the checks run, and pulses (no total)."""
    from aligner.cli.align import _frame_progress

    progress, update = _frame_progress("Aligning long.wav")
    try:
        update(300, 1200)
        task = progress.tasks[0]
        assert (task.description, task.total, task.fields["share"]) == (
            "Aligning long.wav: model", 1200, " 25%")
        update(1200, 1200)
        update(1200, 1200)
        shown = [t for t in progress.tasks if t.visible]
        assert [t.description for t in shown] == ["Aligning long.wav: search and checks"]
        assert shown[0].total is None and shown[0].fields["share"] == ""
        # the next interval of a timed transcript: its model frames again
        update(100, 800)
        assert [t.description for t in progress.tasks if t.visible] == ["Aligning long.wav: model"]
    finally:
        progress.stop()
