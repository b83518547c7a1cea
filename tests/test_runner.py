"""aligner/runner.py: corpus runs resume and report; a batch goes on past bad inputs and
out-of-memory failures, and writes one plot per utterance with --plots; every exception becomes
the same outcome whether it met a corpus or a single file."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from aligner import corpus, runner
from aligner.checks import FLAG_KINDS
from aligner.cli.common import exit_code
from bad_inputs import BAD
from cli_helpers import assert_no_traceback, cli, cuda_out_of_memory, leftovers, write_pair
from conftest import NOT_STRICT, speechlike


def _one_by_one(aligner, utts, out, formats, method, strict):
    """Each utterance aligned on its own (`align_one`), as a single file is."""
    write = runner.corpus_writer(out, formats, sample_rate=aligner.sample_rate)
    return [runner.align_one(aligner, u, method, strict, write) for u in utts]


def test_run_resume_and_report(aligner, small_corpus, tmp_path):
    out = tmp_path / "out"
    utts = corpus.find_utterances(small_corpus)
    todo, skipped = runner.plan(utts, out, ["textgrid", "json"], overwrite=False)
    assert len(todo) == 5 and skipped == []
    results = _one_by_one(aligner, todo, out, ["textgrid", "json"], "ot", NOT_STRICT)
    status = {r.name: r.status for r in results}
    assert status["top"] == "failed" and status["bob/broken"] == "failed"
    assert all(status[n] in ("aligned", "flagged") for n in ("alice/a1", "alice/deep/a2", "bob/b 1"))
    assert (out / "alice" / "deep" / "a2.TextGrid").exists()
    assert (out / "bob" / "b 1.json").exists()
    assert exit_code(results) == 1

    report = runner.write_report(results, out / runner.REPORT_NAME)
    rows = list(csv.DictReader(open(report, encoding="utf-8")))
    assert [r["status"] for r in rows][:2] == ["failed", "failed"]
    assert "broken.wav" in next(r["reason"] for r in rows if r["utterance"] == "bob/broken")

    # second run: finished utterances are skipped, failed ones retried
    todo, skipped = runner.plan(utts, out, ["textgrid", "json"], overwrite=False)
    assert sorted(r.name for r in skipped) == ["alice/a1", "alice/deep/a2", "bob/b 1"]
    assert sorted(u.name for u in todo) == ["bob/broken", "top"]
    # a missing format means not finished
    todo, _ = runner.plan(utts, out, ["textgrid", "csv"], overwrite=False)
    assert len(todo) == 5
    todo, _ = runner.plan(utts, out, ["textgrid"], overwrite=True)
    assert len(todo) == 5


def test_strict_turns_flags_into_failures(aligner, small_corpus, tmp_path, monkeypatch):
    """A flag of a kind --strict refuses fails the utterance and writes nothing; with no
    refused kind the same alignment is written, flagged."""
    from aligner.checks import parse_thresholds

    monkeypatch.setattr(aligner, "thresholds", parse_thresholds(["min_word_confidence=1"]))
    utt = next(u for u in corpus.find_utterances(small_corpus) if u.name == "alice/a1")
    every = frozenset(FLAG_KINDS)  # --strict-flags all
    (result,) = _one_by_one(aligner, [utt], tmp_path / "o", ["json"], "ot", strict=every)
    assert "low_confidence" in {r.split(":")[0] for r in result.flags}  # every word, forced
    assert result.status == "failed" and "--strict" in result.reason
    assert not (tmp_path / "o" / "alice" / "a1.json").exists()
    (result,) = _one_by_one(aligner, [utt], tmp_path / "o", ["json"], "ot",
                            strict=frozenset({"no_speech"}))
    assert result.status == "flagged" and (tmp_path / "o" / "alice" / "a1.json").exists()


def test_batched_run_matches_serial(aligner, small_corpus, tmp_path):
    """The corpus path (length-bucketed batches, CPU and GPU): same outputs as one by one."""
    utts = corpus.find_utterances(small_corpus)
    batched = {r.name: r for r in runner.run_batched(aligner, utts, tmp_path / "b", ["json"],
                                                     "ot", NOT_STRICT, batch_seconds=3.0)}
    serial = {r.name: r for r in _one_by_one(aligner, utts, tmp_path / "s", ["json"], "ot",
                                             NOT_STRICT)}
    assert {n: r.status for n, r in batched.items()} == {n: r.status for n, r in serial.items()}
    for name in ("alice/a1", "bob/b 1"):
        assert batched[name].words == serial[name].words
        assert (tmp_path / "b" / f"{name}.json").exists()


def test_align_batch_encodes_the_whole_file_transcripts_together(aligner, tmp_path, write_wav,
                                                                 monkeypatch):
    """Text transcripts share one padded forward pass; an utterance TextGrid's intervals are
    encoded on their own. If the batch fails (out of memory, say), each recording is encoded
    alone and gives exactly what aligning it as a single file gives."""
    from praatio import textgrid

    root = tmp_path / "c"
    write_wav(root / "a.wav", speechlike(1.5, seed=1))
    (root / "a.lab").write_text("hello there", encoding="utf-8")
    write_wav(root / "b.wav", speechlike(1.2, seed=2))
    (root / "b.lab").write_text("good morning", encoding="utf-8")
    write_wav(root / "t.wav", speechlike(4.0, seed=3))
    tg = textgrid.Textgrid(0, 4)
    tg.addTier(textgrid.IntervalTier("x", [(0.2, 1.8, "hello"), (2.0, 3.8, "good night")], 0, 4))
    tg.save(str(root / "t.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    utts = corpus.find_utterances(root)
    real = type(aligner).encode
    calls = []

    def spy(self, waves, priors=None):
        calls.append(len(waves) if isinstance(waves, list) else "alone")
        return real(self, waves, priors)

    monkeypatch.setattr(type(aligner), "encode", spy)
    done = dict(runner.align_batch(aligner, utts, "viterbi"))
    assert calls == [2, "alone", "alone"]  # a and b together, then t's two intervals
    assert [a.speaker for a in done[utts[2]][0]] == ["x"]

    def failing(self, waves, priors=None):
        if isinstance(waves, list):
            raise RuntimeError("out of memory for the batch")
        return real(self, waves, priors)

    monkeypatch.setattr(type(aligner), "encode", failing)
    for utt, (alignments, _) in runner.align_batch(aligner, utts, "viterbi"):
        assert alignments == aligner.align_speakers(utt.audio, utt.transcript)


def test_failed_maps_each_exception_to_one_outcome(tmp_path):
    """Bad input (ValueError, OSError: their message names the file), out of memory (the file
    named once, whatever the message says) and an unexpected error each get their cause."""
    from aligner.corpus import Utterance

    utt = Utterance("spk/u", tmp_path / "spk" / "u.wav", tmp_path / "spk" / "u.lab", "spk")
    cases = [
        (ValueError(f"{utt.audio}: not a readable audio file\ndetails"), runner.BAD_INPUT,
         f"{utt.audio}: not a readable audio file"),
        (OSError("disk full"), runner.BAD_INPUT, "disk full"),
        (MemoryError(), runner.OUT_OF_MEMORY, f"{utt.audio}: out of memory"),
        (MemoryError("out of memory running the model on the CPU"), runner.OUT_OF_MEMORY,
         f"{utt.audio}: out of memory running the model on the CPU"),
        (MemoryError(f"{utt.audio} is too long"), runner.OUT_OF_MEMORY, f"{utt.audio} is too long"),
        (RuntimeError("boom\nmore"), runner.CRASHED, f"{utt.audio}: RuntimeError: boom"),
    ]
    for err, cause, reason in cases:
        result = runner.failed(utt, err)
        assert (result.name, result.status, result.cause, result.reason) == (
            "spk/u", "failed", cause, reason), err
    missing = runner.align_one(None, Utterance("x", tmp_path / "x.wav", None, None), "ot", NOT_STRICT,
                               lambda *args: [])
    assert (missing.status, missing.cause, missing.reason) == (
        "failed", runner.BAD_INPUT, f"{tmp_path / 'x.wav'}: {corpus.NO_TRANSCRIPT}")


def test_a_single_file_fails_in_the_corpus_run_s_words(tmp_path, tiny_model_dir):
    """The same bad recording alone and inside a corpus: the single file's error line is the
    corpus report's reason, out of memory included (plus the single file's hint)."""
    case = BAD["too_short_for_transcript"]
    audio, transcript = case.build(tmp_path / "c" / "spk", "short")
    alone = cli(audio, transcript, "--model", tiny_model_dir, "-o", tmp_path / "one")
    assert alone.exit_code == 2, alone.output
    out = tmp_path / "out"
    assert cli(tmp_path / "c", "-o", out, "--model", tiny_model_dir, "-q").exit_code == 1
    (row,) = csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))
    assert alone.stderr.strip() == f"error: {row['reason']}"


def test_flag_kinds_counts_flags_and_their_text():
    from aligner.checks import Flag, flag_kinds

    flags = [Flag("transcript_mismatch", "mean word confidence 0.02 is very low"),
             Flag("low_confidence", "word 'a' ..."), "low_confidence: word 'b' ...",
             "long_word: word 'c' lasts 5.00 s"]
    assert flag_kinds(flags) == {"transcript_mismatch": 1, "low_confidence": 2,
                                        "long_word": 1}
    assert list(flag_kinds(flags)) == ["transcript_mismatch", "low_confidence",
                                              "long_word"]


# ------------------------------------------------------------------------ through the command line

def test_bad_inputs_inside_a_corpus_do_not_stop_the_batch(tmp_path, tiny_model_dir):
    """Every bad case in one corpus (spaces and non-ASCII in the folder names) beside two good
    recordings: the good ones are aligned, each bad one is reported with its file named, the
    run exits 1 and leaves no temporary file or partial output."""
    root, out = tmp_path / "my corpus é", tmp_path / "out dir ü"
    for case, spec in BAD.items():
        spec.build(root / "bad", case)
    write_pair(root / "spk ä", "good one", speechlike(2.0, 8000), rate=8000)
    write_pair(root / "spk ä", "good two", np.stack([speechlike(2.0, 96000)] * 3, axis=1), rate=96000)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,json")
    assert result.exit_code == 1, result.output
    assert_no_traceback(result)
    assert "failed" in result.stdout and str(len(BAD)) in result.stdout
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    for good in ("spk ä/good one", "spk ä/good two"):
        assert rows[good]["status"] in ("aligned", "flagged"), rows[good]
        assert (out / f"{good}.TextGrid").exists() and (out / f"{good}.json").exists()
    for case, spec in BAD.items():
        row = rows[f"bad/{case}"]
        assert row["status"] == "failed", (case, row)
        reason = row["reason"]
        if case == "missing_transcript":  # nothing to name but the utterance itself
            assert "no transcript" in reason
        else:
            assert case in reason, (case, reason)
            for needle in spec.needles:
                assert needle in reason, (case, reason)
        assert not list((out / "bad").glob(f"{case}.*")) if (out / "bad").exists() else True
    assert leftovers(out) == []


def test_out_of_memory_in_a_corpus_fails_each_utterance_and_goes_on(monkeypatch, tmp_path,
                                                                   tiny_model_dir):
    from aligner.model import AcousticModel

    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(3):
        write_pair(root, f"u{i}", speechlike(1.0, seed=i))
    monkeypatch.setattr(AcousticModel, "forward", cuda_out_of_memory)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 1 and "Traceback" not in result.output
    rows = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert len(rows) == 3
    for row in rows:
        assert row["status"] == "failed" and "out of memory" in row["reason"]
        assert f"{row['utterance']}.wav" in row["reason"]


def test_corpus_plots_one_png_per_utterance(tmp_path, tiny_model_dir):
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root / "s1", "u1", speechlike(1.5))
    write_pair(root / "s2", "u 2", speechlike(1.2, 8000), rate=8000)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--plots", "-q")
    assert result.exit_code == 0, result.output
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert pngs == ["s1/u1.png", "s2/u 2.png"]
    for p in out.rglob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a missing PNG means the utterance is not finished: only that one is redone
    (out / "s2" / "u 2.png").unlink()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--plots")
    assert result.exit_code == 0 and (out / "s2" / "u 2.png").exists(), result.output
    rows = {r["utterance"]: r["status"] for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    assert rows["s1/u1"] == "skipped" and rows["s2/u 2"] in ("aligned", "flagged")


def test_a_corpus_ctm_names_each_utterance_by_its_path(tmp_path, tiny_model_dir):
    """Two speakers' 001.wav: their CTMs concatenated must not merge under one id."""
    from aligner.formats import read_ctm

    root, out = tmp_path / "c", tmp_path / "o"
    for spk in ("spkX", "spkY"):
        write_pair(root / spk, "001", speechlike(1.0), text="hello there")
    write_pair(root, "top", speechlike(1.0), text="hello there")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "ctm", "-q")
    assert result.exit_code == 0, result.output
    ids = [set(read_ctm(out / name)) for name in ("spkX/001.ctm", "spkY/001.ctm", "top.ctm")]
    assert ids == [{"spkX-001"}, {"spkY-001"}, {"top"}]
    assert set(read_ctm(out / "spkX" / "001.phones.ctm")) == {"spkX-001"}


# ------------------------------------------------------------------------ outputs older than inputs

def _words(path) -> list[str]:
    from aligner.formats import read_textgrid

    (alignment,) = read_textgrid(path)
    return [w.label for w in alignment.words if w.label]


def _age(paths, seconds: float = 60.0) -> None:
    """Date files back, as if written a minute ago (an edit made now is then surely newer,
    whatever the file system's timestamp granularity)."""
    import os
    import time

    for path in paths:
        then = time.time() - seconds
        os.utime(path, (then, then))


def test_an_edited_transcript_audio_or_dictionary_is_aligned_again(tmp_path, tiny_model_dir):
    """Resume skips finished work, but not work whose inputs changed since: the skip is make's
    rule (outputs newer than audio, transcript and --dictionary), and outputs of formats this run
    did not ask for go too (they hold the old words)."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root / "spk", "u0", speechlike(1.5, seed=1), text="hello there")
    write_pair(root / "spk", "u1", speechlike(1.5, seed=2), text="hello there")
    dictionary = tmp_path / "extra.dict"
    dictionary.write_text("zorblax Z AO R B L AE K S\n", encoding="utf-8")
    _age([*root.rglob("u*.*"), dictionary], 120)
    run = ("-o", out, "--model", tiny_model_dir, "-f", "textgrid", "--dictionary", dictionary,
           "-q")
    assert cli(root, *run[:5], "json", *run[6:]).exit_code == 0  # an earlier -f json run
    assert cli(root, *run).exit_code == 0
    _age(out.rglob("u*.*"))

    (root / "spk" / "u0.lab").write_text("good morning", encoding="utf-8")  # the fix
    result = cli(root, *run)
    assert result.exit_code == 0, result.output
    assert _words(out / "spk" / "u0.TextGrid") == ["good", "morning"]
    assert not (out / "spk" / "u0.json").exists()  # stale, of another format: removed
    assert (out / "spk" / "u1.json").exists()  # not stale: kept
    rows = {r["utterance"]: r["status"] for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["spk/u0"] in ("aligned", "flagged") and rows["spk/u1"] == "skipped"

    utts = corpus.find_utterances(root)
    _age(out.rglob("u*.*"))
    _age([root / "spk" / "u0.lab"], 120)
    (root / "spk" / "u1.wav").touch()  # the audio edited
    todo, done = runner.plan(utts, out, ["textgrid"], overwrite=False, dictionary=dictionary)
    assert [u.name for u in todo] == ["spk/u1"] and [r.name for r in done] == ["spk/u0"]
    dictionary.touch()  # a pronunciation changed: everything is redone
    todo, done = runner.plan(utts, out, ["textgrid"], overwrite=False, dictionary=dictionary)
    assert [u.name for u in todo] == ["spk/u0", "spk/u1"] and done == []


def test_another_tools_textgrids_in_the_output_folder_are_kept_until_overwrite(tmp_path,
                                                                              tiny_model_dir):
    """TextGrids MFA wrote into -o, with no report of ours beside them, are not taken for a run
    of ours to resume; nor are they replaced: they may hold corrections made by hand in Praat
    (a phonetician lost them with one line of notice). The recording fails, saying why;
    --overwrite aligns it again and replaces them."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    _age(write_pair(root, "u0", speechlike(1.5), text="hello there"), 120)
    out.mkdir()
    tier = lambda k, name, text: (
        f'    item [{k}]:\n        class = "IntervalTier"\n        name = "{name}"\n'
        '        xmin = 0\n        xmax = 1.5\n        intervals: size = 1\n'
        f'        intervals [1]:\n            xmin = 0\n            xmax = 1.5\n'
        f'            text = "{text}"\n')
    foreign = ('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1.5\n'
               'tiers? <exists>\nsize = 2\nitem []:\n' + tier(1, "words", "mfa")
               + tier(2, "phones", "EH1"))  # MFA writes both tiers
    (out / "u0.TextGrid").write_text(foreign, encoding="utf-8")
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 1, result.output
    assert "no ottc-align run recorded" in result.stderr and "--overwrite" in result.stderr
    assert (out / "u0.TextGrid").read_text(encoding="utf-8") == foreign
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["u0"]["status"] == "failed" and "corrected by hand" in rows["u0"]["reason"]
    result = cli(root, "-o", out, "--model", tiny_model_dir)  # its failed row makes it no ours
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert result.exit_code == 1 and rows["u0"]["status"] == "failed", result.output
    assert (out / "u0.TextGrid").read_text(encoding="utf-8") == foreign
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--overwrite")
    assert result.exit_code in (0, 1), result.output
    assert _words(out / "u0.TextGrid") == ["hello", "there"]
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["u0"]["status"] in ("aligned", "flagged") and float(rows["u0"]["duration"]) > 1.4
    # the run's own outputs, recorded in its report, are then skipped as usual
    again = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert again.exit_code in (0, 1) and rows["u0"]["status"] == "skipped"


def test_a_corpus_run_with_another_min_pause_aligns_again(tmp_path, tiny_model_dir):
    """--min-pause changes the outputs, so a run with another value does not skip the work of
    the one before (the report's settings record it when it is not the default)."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    _age(write_pair(root, "u0", speechlike(1.5), text="hello there"), 120)
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code in (0, 1)
    assert "min_pause" not in runner.run_settings(Path(tiny_model_dir), "viterbi")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--min-pause", "0")
    assert result.exit_code in (0, 1), result.output
    assert "aligned with other settings" in result.stderr
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["u0"]["status"] in ("aligned", "flagged") and "min_pause=0" in rows["u0"]["settings"]


def test_a_corpus_run_with_pauses_in_words_aligns_again_and_records_it(tmp_path, tiny_model_dir):
    """--pauses-in-words changes the outputs: the report's settings record it, and a run
    without it after one with it aligns again (in one process and in workers)."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for k in range(2):
        _age(write_pair(root, f"u{k}", speechlike(1.5, seed=k), text="hello there"), 120)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q", "--pauses-in-words",
                 "--jobs", "2")
    assert result.exit_code in (0, 1), result.output
    rows = list(csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8")))
    assert len(rows) == 2 and all("pauses_in_words=on" in r["settings"] for r in rows)
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code in (0, 1) and "aligned with other settings" in result.stderr
    rows = list(csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8")))
    assert all("pauses_in_words" not in r["settings"] for r in rows)


def _corrected(path: Path) -> str:
    """Edit a TextGrid as a phonetician would in Praat (a phone relabelled); returns its text."""
    text = path.read_text(encoding="utf-8")
    edited = text.replace('text = "L"', 'text = "EL"', 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    return edited


@pytest.mark.parametrize("how", ["settings", "overwrite", "copied", "formats added"])
def test_a_textgrid_corrected_since_the_run_that_wrote_it_is_kept_when_realigned(
        tmp_path, tiny_model_dir, how):
    """A corpus realigned with another model or --method (a new release), with --overwrite, or
    copied (`cp -r` of the outputs, then of the corpus, so every output is older than its
    inputs) replaced the TextGrids corrected in Praat since without a word. An output that
    holds something other than what its run recorded writing (the report's `outputs_sha1`) is
    now moved to x.TextGrid.~1~ first, and the run says so; an unedited one is replaced."""
    import shutil

    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(2):
        write_pair(root, f"u{i}", speechlike(1.5, seed=i), text="hello there")
    _age(root.rglob("u*.*"), 120)
    first = ["textgrid", "json"] if how == "formats added" else ["textgrid"]
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", ",".join(first),
               "-q").exit_code in (0, 1)
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME,
                                                           encoding="utf-8"))}
    assert rows["u0"]["outputs_sha1"].startswith("u0.TextGrid:")
    _age(out.rglob("u*.*"))
    corrected = _corrected(out / "u0.TextGrid")
    run = ["-o", out, "--model", tiny_model_dir, "-f", ",".join(first)]
    if how == "formats added":  # the corrected TextGrid is kept, then a new model comes
        assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,json,csv",
                   "-q").exit_code in (0, 1)
        assert (out / "u0.TextGrid").read_text(encoding="utf-8") == corrected
        run += ["--method", "ot"]
    elif how == "settings":
        run += ["--method", "ot"]
    elif how == "overwrite":
        run += ["--overwrite"]
    else:
        copy, out = tmp_path / "copy", tmp_path / "copy" / "out"
        shutil.copytree(tmp_path / "out", out, copy_function=shutil.copy)  # cp -r: new times
        _age(out.rglob("u*.*"), 30)  # ... the outputs' a little older than the corpus's
        shutil.copytree(root, copy / "corpus", copy_function=shutil.copy)
        root, run[1] = copy / "corpus", out
    result = cli(root, *run, "-q")
    assert result.exit_code in (0, 1), result.output
    assert (out / "u0.TextGrid.~1~").read_text(encoding="utf-8") == corrected
    assert "kept the earlier" in result.stderr and "u0.TextGrid.~1~" in result.stderr
    assert _words(out / "u0.TextGrid") == ["hello", "there"]
    assert (out / "u0.TextGrid").read_text(encoding="utf-8") != corrected
    assert not list(out.glob("u1.*~"))  # unedited: simply replaced


def test_outputs_a_run_kept_keep_the_record_of_the_run_that_wrote_them(tmp_path):
    """`carry_fingerprints`: a file older than the run (kept, not written) gets its earlier
    record, or none; one written now keeps its own. The plots are never fingerprinted."""
    import os

    kept, new, plot = tmp_path / "u.TextGrid", tmp_path / "u.json", tmp_path / "u.png"
    for path in (kept, new, plot):
        path.write_text(path.suffix, encoding="utf-8")
    os.utime(kept, (1, 1))
    result = runner.Result("u", "aligned", written=[kept, new, plot])
    result.fingerprints = runner.fingerprints(result.written)
    assert [item.split(":")[0] for item in result.fingerprints.split()] == ["u.TextGrid", "u.json"]
    now = os.stat(new).st_mtime_ns - 1
    runner.carry_fingerprints([result], {"u": {"outputs_sha1": "u.TextGrid:12345678"}}, now)
    assert result.fingerprints.split()[0] == "u.TextGrid:12345678"
    assert runner.edited_outputs([kept, new], result.fingerprints) == [kept]
    runner.carry_fingerprints([result], {}, now)
    assert result.fingerprints.startswith("u.json:")  # no record of it: not known to be edited
    assert runner.edited_outputs([kept, new], result.fingerprints) == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_adding_formats_or_subtitles_keeps_a_hand_corrected_textgrid(tmp_path, tiny_model_dir, jobs):
    """A TextGrid corrected in Praat after a corpus run survives a later run that adds JSON or
    subtitles to the folder (before, adding subtitles recorded other settings and every output
    of the utterance was deleted and written again); the new formats are written."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for name in ("u0", "u1"):
        _age(write_pair(root, name, speechlike(1.5), text="hello there world"), 120)
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-j", jobs, "-q").exit_code in (0, 1)
    edited = (out / "u0.TextGrid").read_text(encoding="utf-8").replace('"hello"', '"hullo"')
    assert '"hullo"' in edited
    (out / "u0.TextGrid").write_text(edited, encoding="utf-8")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,json,vtt", "-j", jobs)
    assert result.exit_code in (0, 1), result.output
    assert (out / "u0.TextGrid").read_text(encoding="utf-8") == edited
    for name in ("u0", "u1"):
        assert (out / f"{name}.json").is_file() and (out / f"{name}.vtt").is_file()
    assert "only their subtitles are written; their other files are kept" in result.stderr
    again = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,vtt", "--cues", "words",
                "-j", jobs)
    assert "only their subtitles are written; their other files are kept" in again.stderr
    assert (out / "u0.TextGrid").read_text(encoding="utf-8") == edited
    assert (out / "u0.vtt").read_text(encoding="utf-8").count(" --> ") == 3


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cues_reach_every_worker_and_another_choice_aligns_again(tmp_path, tiny_model_dir, jobs):
    """--cues words gives one SRT cue per word in a corpus run, in one process or several; a
    later run with the default (a cue per line of words) rewrites the subtitles rather than
    keep those of the other choice; a run that writes no subtitles records no choice and is
    not made to align again by an earlier run's."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for name in ("u0", "u1"):
        _age(write_pair(root, name, speechlike(1.5), text="hello there world"), 120)

    def cue_count(name: str) -> int:
        return (out / f"{name}.srt").read_text(encoding="utf-8").count(" --> ")

    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "srt", "--cues", "words",
                 "-j", jobs, "-q")
    assert result.exit_code in (0, 1), result.output
    assert cue_count("u0") == cue_count("u1") == 3
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert "cues=words" in rows["u0"]["settings"]
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "srt", "-j", jobs, "-q").exit_code in (0, 1)
    assert cue_count("u0") < 3 and cue_count("u1") < 3
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert "cues=lines" in rows["u0"]["settings"]  # recorded: older runs wrote word cues unrecorded
    both = tmp_path / "both"
    assert cli(root, "-o", both, "--model", tiny_model_dir, "-f", "textgrid,srt", "--cues", "words",
               "-q").exit_code in (0, 1)
    again = cli(root, "-o", both, "--model", tiny_model_dir, "-f", "textgrid")
    rows = {r["utterance"]: r for r in csv.DictReader(open(both / runner.REPORT_NAME, encoding="utf-8"))}
    assert "other settings" not in again.output and again.exit_code in (0, 1)
    assert rows["u0"]["status"] == rows["u1"]["status"] == "skipped"
    assert "cues" not in runner.run_settings(Path(tiny_model_dir), "viterbi")
    plain = tmp_path / "plain"
    assert cli(root, "-o", plain, "--model", tiny_model_dir, "--cues", "words", "-q").exit_code in (0, 1)
    rows = {r["utterance"]: r for r in csv.DictReader(open(plain / runner.REPORT_NAME, encoding="utf-8"))}
    assert "cues" not in rows["u0"]["settings"]  # no subtitles: the choice changes no output
    wav = next(root.rglob("u0.wav"))
    one = cli(wav, wav.with_suffix(".lab"), "-o", tmp_path / "one.vtt", "--model", tiny_model_dir,
              "--cues", "words", "-q")
    assert one.exit_code == 0 and (tmp_path / "one.vtt").read_text(encoding="utf-8").count(" --> ") == 3
    bad = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "srt", "--cues", "sentences")
    assert bad.exit_code == 2 and "--cues: unknown cue kind 'sentences'; choose from lines, words, karaoke" in bad.stderr
    srt = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "srt,vtt", "--cues", "karaoke")
    assert srt.exit_code == 2 and "karaoke cues need WebVTT's word timestamps" in srt.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_threshold_sets_a_flag_s_limit_in_corpus_runs(tmp_path, tiny_model_dir, jobs):
    """--threshold reaches every worker and the speaker judgement, and the report's settings
    record it, so a run with other limits flags again instead of skipping."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(3):
        write_pair(root / "spk", f"u{i}", speechlike(2.0, seed=i), text="hello there")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q", "-j", jobs).exit_code == 0
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q", "-j", jobs,
                 "--threshold", "min_word_confidence=1")  # every word is under 1
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8")))
    assert len(rows) == 3 and all(r["status"] == "flagged" for r in rows), rows
    assert all("low_confidence" in r["flags"] for r in rows)
    assert all("thresholds=min_word_confidence=1" in r["settings"] for r in rows)


def test_a_bad_threshold_is_a_usage_error(tmp_path, tiny_model_dir):
    wav, txt = write_pair(tmp_path, "u0", speechlike(1.5), text="hello there")
    for bad, needle in [("max_phone=2", "max_phone_seconds"), ("max_phone_seconds=abc", "not a number"),
                        ("max_phone_seconds", "NAME=VALUE"), ("max_phone_seconds=-1", "0 or more"),
                        ("max_phone_seconds=nan", "not a number"), ("max_phone_seconds=inf", "finite"),
                        ("squeezed_min_phones=4.5", "whole number"),
                        ("squeezed_min_phones=inf", "finite")]:
        result = cli(wav, txt, "--model", tiny_model_dir, "--threshold", bad)
        assert result.exit_code == 2 and needle in result.stderr, (bad, result.output)
        assert_no_traceback(result)
    ok = cli(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "o.json", "--strict",
             "--threshold", "min_transcript_fit=1")
    assert ok.exit_code == 1 and not (tmp_path / "o.json").exists()  # flagged, refused


def test_thresholds_parse_and_say_what_changed():
    from aligner.checks import Thresholds, parse_thresholds

    t = parse_thresholds(["max_phone_seconds=1.5", "squeezed-min-phones=6"])
    assert t == Thresholds(max_phone_seconds=1.5, squeezed_min_phones=6)
    assert isinstance(t.squeezed_min_phones, int)
    assert t.changed() == "squeezed_min_phones=6,max_phone_seconds=1.5"
    assert parse_thresholds(["max_phone_seconds=0.70000001"]).changed() == "max_phone_seconds=0.70000001"
    assert parse_thresholds(["squeezed_min_phones=6.0"]).squeezed_min_phones == 6
    assert parse_thresholds([]) == Thresholds() and Thresholds().changed() == ""


def test_a_stale_output_is_gone_even_when_aligning_again_fails(tmp_path, tiny_model_dir):
    root, out = tmp_path / "corpus", tmp_path / "out"
    _age(write_pair(root, "u0", speechlike(1.5), text="hello there"), 120)
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0
    _age([out / "u0.TextGrid"])
    (root / "u0.lab").write_text("   ", encoding="utf-8")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 1 and "empty" in result.stderr
    assert not (out / "u0.TextGrid").exists()


def test_outputs_go_with_a_deleted_transcript(tmp_path, tiny_model_dir):
    """A recording whose transcript was deleted since its outputs were written fails (no
    transcript) and loses them: the report and the folder say the same."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "u0", speechlike(1.5), text="hello there")
    write_pair(root, "u1", speechlike(1.5), text="hello again")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q", "-f", "textgrid,json").exit_code == 0
    (root / "u0.lab").unlink()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q", "-f", "textgrid")
    assert result.exit_code == 1
    assert not (out / "u0.TextGrid").exists() and not (out / "u0.json").exists()
    assert (out / "u1.TextGrid").exists() and (out / "u1.json").exists()


def test_files_beside_a_recording_never_transcribed_are_left_alone(tmp_path, tiny_model_dir):
    """A recording without a transcript that no run of ours aligned: the files of its name are
    the user's (notes.json beside notes.wav in a corpus aligned into itself, another tool's
    TextGrid in the output folder), never removed."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "u0", speechlike(1.5), text="hello there")
    write_pair(root, "notes", speechlike(1.5), text=None)
    (root / "notes.json").write_text("{}", encoding="utf-8")
    (out).mkdir()
    (out / "notes.TextGrid").write_text("theirs", encoding="utf-8")
    for target in (root, out):
        result = cli(root, "-o", target, "--model", tiny_model_dir, "-f", "textgrid,json")
        assert result.exit_code == 1 and "no ottc-align run recorded" not in result.output
    assert (root / "notes.json").read_text(encoding="utf-8") == "{}"
    assert (out / "notes.TextGrid").read_text(encoding="utf-8") == "theirs"


# ------------------------------------------------------------------------ what the summary says

def test_failed_rows_have_the_duration_of_readable_audio(tmp_path, tiny_model_dir):
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "no_text", speechlike(1.25), text=None)
    write_pair(root, "empty", speechlike(0.75), text="  ")
    write_pair(root, "broken", audio_bytes=b"not audio")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 1
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert {n: (r["status"], r["duration"]) for n, r in rows.items()} == {
        "no_text": ("failed", "1.250"), "empty": ("failed", "0.750"),
        "broken": ("failed", "")}  # unknown, not 0 s


def test_an_interrupt_says_how_many_were_aligned_and_how_many_failed():
    from aligner.cli.align import _interrupted_line

    results = [runner.Result(f"f{i}", "failed") for i in range(6)]
    line = _interrupted_line(results, 44)
    assert line.startswith("interrupted after 0 aligned, 6 failed, of 44 utterances;")
    results += [runner.Result("a", "flagged"), runner.Result("s", "skipped")]
    assert "after 1 aligned, 6 failed, 1 skipped (done before), of 44" in _interrupted_line(
        results, 44)


def test_a_corpus_summary_counts_its_unknown_words_in_one_line(tmp_path, tiny_model_dir):
    """Single files list each unknown word; a corpus may have thousands: one line with the
    count, the most frequent ones, and the validate command that lists them all."""
    root, out = tmp_path / "my corpus", tmp_path / "out"
    texts = ["zorblax zorblax quuxly", "zorblax frobnitz", "blorft snazzle wibbert hello"]
    for i, text in enumerate(texts):
        write_pair(root, f"u{i}", speechlike(3.0, seed=i), text=text)
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "zorblax" in line]
    assert len(lines) == 1, result.stdout
    line = " ".join(result.stdout.split("6 word(s) not in the dictionary")[1].split())
    assert line.startswith(", pronounced by rule: zorblax, blorft, frobnitz, quuxly, snazzle, ...")
    assert f"ottc-align validate '{root}' --export-dictionary words.dict" in line
    assert cli("validate", root, "--export-dictionary", tmp_path / "w.dict").exit_code == 0
    assert "zorblax" in (tmp_path / "w.dict").read_text(encoding="utf-8")


def test_a_corpus_run_lists_its_unknown_words_as_mfa_does(tmp_path, tiny_model_dir):
    """oovs_found.txt (most frequent first) and utterance_oovs.txt, in the report's column too;
    a resumed run keeps them; once a --dictionary has the words, the lists are gone."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i, text in enumerate(["Zorblax zorblax quuxly", "zorblax hello", "hello there"]):
        write_pair(root / "spk", f"u{i}", speechlike(3.0, seed=i), text=text)
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0
    expected_oovs = "zorblax\nquuxly\n"
    expected_utts = "spk/u0\tquuxly zorblax\nspk/u1\tzorblax\n"
    assert (out / "oovs_found.txt").read_text(encoding="utf-8") == expected_oovs
    assert (out / "utterance_oovs.txt").read_text(encoding="utf-8") == expected_utts
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert [rows[f"spk/u{i}"]["unknown_words"] for i in range(3)] == ["quuxly zorblax", "zorblax", ""]
    (out / "oovs_found.txt").unlink()
    resumed = cli(root, "-o", out, "--model", tiny_model_dir)  # everything skipped
    assert resumed.exit_code == 0 and "2 word(s) not in the dictionary" in resumed.stdout
    assert (out / "oovs_found.txt").read_text(encoding="utf-8") == expected_oovs
    words = tmp_path / "words.dict"
    words.write_text("zorblax Z AO1 R B L AE0 K S\nquuxly K W AH1 K S L IY0\n", encoding="utf-8")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q", "--dictionary", words).exit_code == 0
    assert not (out / "oovs_found.txt").exists() and not (out / "utterance_oovs.txt").exists()


def test_reports_and_journals_of_the_version_before_the_unknown_words_column(tmp_path,
                                                                            tiny_model_dir):
    """A report without `unknown_words` (the version before): a resumed run finds the skipped
    utterances' unknown words again from their transcripts; a journal line without the column
    still counts; a report with a column of the user's own does not stop the next report."""
    import json

    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "u0", speechlike(3.0), text="zorblax hello")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0
    report = out / runner.REPORT_NAME
    rows = list(csv.DictReader(open(report, encoding="utf-8")))
    old_columns = [c for c in runner.REPORT_COLUMNS if c != "unknown_words"]
    with open(report, "w", newline="", encoding="utf-8") as handle:  # as the version before wrote it
        writer = csv.DictWriter(handle, old_columns + ["my notes"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**r, "my notes": "checked"} for r in rows)
    (out / "oovs_found.txt").unlink()
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-q").exit_code == 0  # all skipped
    assert (out / "oovs_found.txt").read_text(encoding="utf-8") == "zorblax\n"
    journal = runner.journal_path(tmp_path / runner.REPORT_NAME)
    line = {c: "" for c in old_columns} | {"utterance": "s/a", "status": "aligned", "words": "2"}
    journal.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert "s/a" in runner.previous_rows(tmp_path / runner.REPORT_NAME)
    runner.write_report([], report, everyone=["u0"])  # keeps u0's row, not the user's column
    assert list(csv.DictReader(open(report, encoding="utf-8")))[0]["utterance"] == "u0"


def test_word_lists_in_a_corpus_aligned_into_itself_are_not_transcripts(tmp_path, tiny_model_dir):
    root = tmp_path / "c"
    write_pair(root, "u0", speechlike(3.0), text="zorblax hello")
    assert cli(root, "-o", root, "--model", tiny_model_dir, "-q").exit_code == 0
    assert (root / "oovs_found.txt").is_file()
    again = cli(root, "-o", root, "--model", tiny_model_dir)
    assert again.exit_code == 0 and "without a recording" not in again.output, again.output
    assert corpus.orphan_transcripts(root) == []
    assert cli(root, "-o", root / "aligned", "--model", tiny_model_dir, "-q").exit_code == 0
    assert (root / "aligned" / "oovs_found.txt").is_file() and corpus.orphan_transcripts(root) == []


def test_a_corpus_aligned_into_its_own_folder_keeps_the_user_s_other_files(tmp_path):
    """Beside x.wav, an x.srt or x.json may be the user's own: a stale-output check or --strict
    may clear only what this run writes there (in a folder of its own, every format)."""
    import os

    root = tmp_path / "c"
    (root / "spk").mkdir(parents=True)
    mine = [root / "spk" / "x.srt", root / "spk" / "x.json"]
    for path in mine:
        path.write_text("the user's file", encoding="utf-8")
        os.utime(path, (1_000_000, 1_000_000))  # older than the recording
    write_pair(root / "spk", "x", speechlike(1.0))
    utts = corpus.find_utterances(root)
    runner.plan(utts, root, ["textgrid"], False)
    runner.remove_kept_edits(runner.utterance_outputs(root, utts[0], ["textgrid"]), "")
    assert all(p.exists() for p in mine)
    out = tmp_path / "out"
    (out / "spk").mkdir(parents=True)
    theirs = out / "spk" / "x.json"
    theirs.write_text("{}", encoding="utf-8")
    os.utime(theirs, (1_000_000, 1_000_000))
    runner.plan(utts, out, ["textgrid"], False)
    assert not theirs.exists()  # an output folder's old x.json is an old alignment


def test_a_closed_parallel_run_reports_the_batches_its_workers_finished(tmp_path, tiny_model_dir):
    """Closing the stream early (as Ctrl-C and SIGTERM do) lets each worker finish the utterance
    it is aligning; every utterance whose outputs were written is in what was read or in
    `late`."""
    root, out = tmp_path / "c", tmp_path / "out"
    for i in range(6):
        write_pair(root / f"spk{i % 2}", f"u{i}", speechlike(1.0, seed=i))
    utts = corpus.find_utterances(root)
    late: list = []
    stream = runner.run_parallel(tiny_model_dir, "cpu", None, utts, out, ["json"], "viterbi",
                                 NOT_STRICT, 2, batch_seconds=0.5, late=late)
    first = next(stream)
    stream.close()
    reported = {first.name, *(r.name for r in late)}
    written = {u.name for u in utts if (out / f"{u.name}.json").exists()}
    assert written and written <= reported


def _dies_on_boom(args):
    """`runner._work` in a worker, except that the process dies (as when the system kills it
    for its memory) when its batch holds the recording named "boom"."""
    import os

    if any(u.name.endswith("boom") for u in args[1]):
        runner._WORKER["started"][args[0]] = 1  # as `_work` does first
        if os.environ.get("OTTC_TEST_NO_RESTART"):  # and the next workers will not start
            Path(os.environ["OTTC_TEST_NO_RESTART"]).touch()
        os._exit(9)
    return runner._work(args)


def _init_unless_told_not_to(*args):
    """`runner._init_worker`, except that the process dies at start-up once the file named by
    OTTC_TEST_NO_RESTART exists."""
    import os

    flag = os.environ.get("OTTC_TEST_NO_RESTART")
    if flag and Path(flag).exists():
        os._exit(9)
    runner._init_worker(*args)


def test_a_worker_that_dies_fails_only_its_own_recording(tmp_path, tiny_model_dir, monkeypatch):
    """With --jobs 2, one worker killed (the OOM killer) failed every recording not yet done
    with "worker failed: A process in the process pool was terminated abruptly", naming none.
    Now the batches no worker held go on in a new pool, the held ones are aligned again one at
    a time, and only the recording that kills its worker again fails, by name."""
    root, out = tmp_path / "c", tmp_path / "out"
    for i in range(7):
        write_pair(root / "spk", f"u{i}", speechlike(1.0, seed=i))
    write_pair(root / "spk", "boom", speechlike(1.0, seed=9))
    utts = corpus.find_utterances(root)
    monkeypatch.setattr(runner, "_work", _dies_on_boom)  # pickled by name: workers run it
    results = list(runner.run_parallel(tiny_model_dir, "cpu", None, utts, out, ["json"],
                                       "viterbi", NOT_STRICT, 2, batch_seconds=1.5))
    assert sorted(r.name for r in results) == sorted(u.name for u in utts)  # each once
    failed = {r.name: r.reason for r in results if r.status == "failed"}
    assert list(failed) == ["spk/boom"], failed
    assert "boom.wav: the worker process aligning it died" in failed["spk/boom"]
    assert all((out / f"{u.name}.json").exists() for u in utts if u.name != "spk/boom")


def test_when_no_worker_starts_again_every_recording_left_is_failed_once(tmp_path,
                                                                         tiny_model_dir,
                                                                         monkeypatch):
    """A worker died on "boom" and the next pool's workers died at start-up: the recordings
    held for a second look (boom's batch) vanished from the results, unreported."""
    root, out = tmp_path / "c", tmp_path / "out"
    for i in range(7):
        write_pair(root / "spk", f"u{i}", speechlike(1.0, seed=i))
    write_pair(root / "spk", "boom", speechlike(1.0, seed=9))
    utts = corpus.find_utterances(root)
    monkeypatch.setattr(runner, "_work", _dies_on_boom)
    monkeypatch.setattr(runner, "_init_worker", _init_unless_told_not_to)
    monkeypatch.setenv("OTTC_TEST_NO_RESTART", str(tmp_path / "no-restart"))
    results = list(runner.run_parallel(tiny_model_dir, "cpu", None, utts, out, ["json"],
                                       "viterbi", NOT_STRICT, 2, batch_seconds=1.5))
    assert sorted(r.name for r in results) == sorted(u.name for u in utts)  # each once
    failed = {r.name: r.reason for r in results if r.status == "failed"}
    assert "spk/boom" in failed and "worker processes died before they aligned it" in failed["spk/boom"]
    assert all((out / f"{u.name}.json").exists() for u in utts if u.name not in failed)


def test_the_journal_keeps_what_a_run_killed_before_its_report_found(tmp_path):
    """A run killed before it writes its report (kill -9, a power cut) leaves its journal: a
    resumed run's skipped utterances get their flags and fit from it, its row winning over an
    older report's, a line cut short skipped; writing the report folds the journal in (rows of
    utterances without a Result kept) and removes it."""
    import os

    report = tmp_path / runner.REPORT_NAME
    runner.write_report([runner.Result("s/a", "aligned", duration=1.0, transcript_fit=0.5),
                         runner.Result("s/b", "aligned", duration=2.0, transcript_fit=0.4)], report)
    os.utime(report, (1_000_000, 1_000_000))  # the killed run came after it
    journal = runner.Journal(runner.journal_path(report))
    mismatch = "transcript_mismatch: transcript fit 0.01 is very low"
    journal.record(runner.Result("s/a", "flagged", duration=1.0, words=2, transcript_fit=0.01,
                                 flags=[mismatch, "long_word: 'x' lasts 2 s"]))
    with open(journal.path, "ab") as handle:  # a power cut in the middle of a line
        handle.write(b'\n{"utterance": "s/c", "status": "aligned", "reas')
    journal.record(runner.Result("s/d", "aligned", duration=3.0, words=4, transcript_fit=0.3))

    again = [runner.Result(name, "skipped") for name in ("s/a", "s/b", "s/c", "s/d")]
    runner.recall_previous(again, report, strict=NOT_STRICT)
    a, b, c, d = again
    assert a.flags == [mismatch, "long_word: 'x' lasts 2 s"] and a.words == 2
    assert a.transcript_fit == pytest.approx(0.01) and "flagged when aligned" in a.reason
    assert b.transcript_fit == pytest.approx(0.4) and b.duration == 2.0  # the report's row
    assert c.transcript_fit is None and c.flags == []  # nothing whole was recorded
    assert d.transcript_fit == pytest.approx(0.3) and d.words == 4

    runner.write_report(again[:2], report)  # a run stopped before it reached s/d
    rows = {r["utterance"]: r for r in csv.DictReader(open(report, encoding="utf-8"))}
    assert sorted(rows) == ["s/a", "s/b", "s/d"] and rows["s/d"]["transcript_fit"] == "0.3"
    assert rows["s/a"]["status"] == "skipped" and rows["s/a"]["flags"].startswith(mismatch)
    assert not journal.path.exists()


def test_the_report_marks_a_journal_row_whose_outputs_did_not_all_land(tmp_path):
    """The journal records an utterance just before its outputs are written; a Ctrl-C between
    its TextGrid and its JSON left a report that listed it as aligned. Such a row is
    `interrupted` (the next run aligns it again), its flags kept; the other stays aligned."""
    from aligner.corpus import Utterance

    out = tmp_path / "out"
    utts = [Utterance(f"s/{n}", tmp_path / f"{n}.wav", tmp_path / f"{n}.lab", "s") for n in "ab"]
    (out / "s").mkdir(parents=True)
    report = out / runner.REPORT_NAME
    journal = runner.Journal(runner.journal_path(report))
    for u in utts:
        journal.record(runner.Result(u.name, "flagged", duration=1.0, words=2,
                                     flags=["long_word: 'x' lasts 5 s"]))
    for path in runner.expected_outputs(out, utts[0], ["textgrid", "json"]):
        path.write_text("x")
    (out / "s" / "b.TextGrid").write_text("x")  # b's JSON never came
    runner.write_report([], report, runner.lacks_outputs(out, utts, ["textgrid", "json"]))
    rows = {r["utterance"]: r for r in csv.DictReader(open(report, encoding="utf-8"))}
    assert rows["s/a"]["status"] == "flagged"
    assert rows["s/b"]["status"] == "interrupted" and "run it again" in rows["s/b"]["reason"]
    assert rows["s/b"]["flags"] == "long_word: 'x' lasts 5 s"


def test_an_overwrite_run_stopped_early_keeps_the_rows_of_what_it_did_not_reach(tmp_path):
    """An --overwrite run stopped before it reached some utterances left their earlier outputs
    as they were; its report listed them as never aligned, so the next run called them outputs
    "no ottc-align run recorded" and aligned all again. Their earlier rows are kept now; one
    whose outputs are not all there is still `interrupted`."""
    from aligner.corpus import Utterance

    out = tmp_path / "out"
    utts = [Utterance(f"s/{n}", tmp_path / f"{n}.wav", tmp_path / f"{n}.lab", "s") for n in "abc"]
    (out / "s").mkdir(parents=True)
    report = out / runner.REPORT_NAME
    runner.write_report([runner.Result(u.name, "aligned", duration=1.0, words=2, settings="method=x")
                         for u in utts], report)
    for u in utts[:2]:
        for path in runner.expected_outputs(out, u, ["textgrid"]):
            path.write_text("x")
    runner.write_report([runner.Result("s/a", "aligned", duration=1.5, words=3, settings="method=x")],
                        report, runner.lacks_outputs(out, utts, ["textgrid"]),
                        [u.name for u in utts])
    rows = {r["utterance"]: r for r in csv.DictReader(open(report, encoding="utf-8"))}
    assert rows["s/a"]["duration"] == "1.500"  # this run's
    assert rows["s/b"]["status"] == "aligned" and rows["s/b"]["settings"] == "method=x"
    assert rows["s/c"]["status"] == "interrupted"  # no outputs: it must be aligned again
    assert rows["s/c"]["reason"] == runner.NOT_REACHED_REASON


def test_recordings_that_share_a_name_are_both_refused(tmp_path, tiny_model_dir, write_wav):
    """`u.wav` and `u.flac` beside one `u.lab` were two utterances of one name: the report had
    two `s/u` rows and one result overwrote the other's TextGrid. Neither is aligned now, the
    report and validate say why, the others go on and the run ends non-zero."""
    import soundfile as sf

    from aligner.validate import validate_corpus

    root = tmp_path / "c"
    write_wav(root / "s" / "u.wav", speechlike(1.0))
    sf.write(root / "s" / "u.flac", speechlike(1.2), 16000)
    (root / "s" / "u.lab").write_text("hello there", encoding="utf-8")
    write_wav(root / "s" / "v.wav", speechlike(1.0))
    (root / "s" / "v.lab").write_text("hello there", encoding="utf-8")
    out = tmp_path / "out"
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 1, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert sorted(rows) == ["s/u", "s/v"] and rows["s/v"]["status"] != "failed"
    assert rows["s/u"]["status"] == "failed" and "u.flac, u.wav" in rows["s/u"]["reason"]
    assert not (out / "s" / "u.TextGrid").exists() and (out / "s" / "v.TextGrid").exists()
    checks = validate_corpus(root).utterances
    assert sorted(c.name for c in checks) == ["s/u", "s/v"]  # one row for the name, as above
    problems = {c.name: c.problems for c in checks}
    assert [p for p in problems["s/u"] if "2 recordings share this name" in p] == problems["s/u"]
    assert len(problems["s/u"]) == 1 and problems["s/v"] == []


def test_recordings_whose_outputs_would_be_one_file_are_refused(tmp_path, tiny_model_dir,
                                                               write_wav):
    """`x.phones.ctm` is both the phones of x's CTM and the words of a recording named
    `x.phones`: both were reported aligned while one CTM replaced the other (and a rerun skipped
    both as done). A recording named like the run's own report, aligned to CSV, would replace
    the report. Such recordings are refused with the reason; the others go on."""
    root = tmp_path / "c"
    for stem in ("x", "x.phones", "alignment_report", "v"):
        write_wav(root / f"{stem}.wav", speechlike(1.0))
        (root / f"{stem}.lab").write_text("hello there", encoding="utf-8")
    out = tmp_path / "out"
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q", "-f", "ctm,csv")
    assert result.exit_code == 1, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert {n for n, r in rows.items() if r["status"] == "failed"} == {"x", "x.phones",
                                                                        "alignment_report"}
    assert "x.phones.ctm would also be the output of x.phones" in rows["x"]["reason"]
    assert "replace the run's own file" in rows["alignment_report"]["reason"]
    assert not (out / "x.ctm").exists() and not (out / "x.phones.ctm").exists()
    assert (out / "v.ctm").exists() and (out / "v.phones.ctm").exists()
    # as TextGrids only, nothing clashes
    assert runner.output_clashes(corpus.find_utterances(root), out, ["textgrid"]) == {}


def test_a_folder_where_an_output_goes_is_not_an_output(tmp_path, tiny_model_dir, write_wav):
    """A folder at `out/x.TextGrid` made the utterance "skipped: outputs exist", exit 0, with
    nothing written. It fails naming the path; the others go on."""
    root = tmp_path / "c"
    for stem in ("x", "y"):
        write_wav(root / f"{stem}.wav", speechlike(1.0))
        (root / f"{stem}.lab").write_text("hello there", encoding="utf-8")
    out = tmp_path / "out"
    (out / "x.TextGrid").mkdir(parents=True)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 1, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["x"]["status"] == "failed" and "x.TextGrid" in rows["x"]["reason"]
    assert rows["y"]["status"] != "failed" and (out / "y.TextGrid").is_file()


def test_a_run_off_a_terminal_logs_its_progress(tmp_path, tiny_model_dir, write_wav,
                                                monkeypatch):
    """With stderr in a file (CI, cron, `2>log`) the progress bar printed nothing until the
    summary: now a plain line every PROGRESS_LOG_SECONDS, and one at the end; none with -q."""
    from aligner.cli import align as align_cli

    root = tmp_path / "c"
    for stem in ("a", "b", "c"):
        write_wav(root / f"{stem}.wav", speechlike(1.0))
        (root / f"{stem}.lab").write_text("hello there", encoding="utf-8")
    monkeypatch.setattr(align_cli, "PROGRESS_LOG_SECONDS", 0.0)
    result = cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir)
    lines = [x for x in result.stderr.splitlines() if x.startswith("aligning: ")]
    assert [x.split(" done")[0] for x in lines] == [f"aligning: {n} of 3" for n in (1, 2, 3)]
    assert "(0 failed)" in lines[-1] and "s left" in lines[-1]
    quiet = cli(root, "-o", tmp_path / "out2", "--model", tiny_model_dir, "-q")
    assert "aligning: " not in quiet.stderr


def test_the_summary_counts_words_not_wildcards():
    """`<star>` stretches are on the words tier but are not words of the transcript (a list of
    19 words with a `<star>` after each was summarised as 30 words)."""
    from aligner.alignment import Alignment, Interval

    a = Alignment([Interval(0.0, 0.5, "hello", 0.5), Interval(0.5, 0.9, "<star>"),
                   Interval(0.9, 1.3, "there", 0.3)], [], 1.3)
    utt = corpus.Utterance("u", Path("u.wav"), Path("u.lab"), None, None)
    result = runner.summarise(utt, [a])
    assert result.words == 2 and result.confidence == pytest.approx(0.4)


def test_a_csv_corpus_run_also_writes_one_table_of_the_corpus(tmp_path, tiny_model_dir):
    """Per-recording CSVs do not say which recording a row came from; `corpus_alignments.csv`
    holds every aligned utterance's rows behind an `Utterance` column, resumed runs included,
    and nothing of a failed one."""
    root = tmp_path / "c"
    write_pair(root / "a", "u1", speechlike(1.5))
    write_pair(root / "b", "u2", speechlike(1.5))
    write_pair(root / "b", "bad", np.zeros(0, dtype=np.float32))
    out = tmp_path / "out"
    for _ in range(2):  # the second run skips both and still writes the table
        assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "csv", "-q").exit_code == 1
        rows = list(csv.DictReader(open(out / runner.TABLE_NAME, encoding="utf-8")))
        assert {r["Utterance"] for r in rows} == {"a/u1", "b/u2"}
        own = list(csv.DictReader(open(out / "a" / "u1.csv", encoding="utf-8")))
        mine = [{k: v for k, v in r.items() if k != "Utterance"} for r in rows
                if r["Utterance"] == "a/u1"]
        assert mine == own and {"words", "phones"} <= {r["Type"] for r in own}
    # realigned with a --dictionary into TextGrids only: the old CSVs are stale and removed,
    # and so is the table that listed their rows (it was kept, holding alignments no file had)
    dictionary = tmp_path / "my.dict"
    dictionary.write_text("hello HH AH0 L OW1\n", encoding="utf-8")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid", "--dictionary",
               dictionary, "-q").exit_code == 1
    assert not (out / "a" / "u1.csv").exists() and (out / "a" / "u1.TextGrid").exists()
    assert not (out / runner.TABLE_NAME).exists()


def test_a_small_corpus_is_cut_into_batches_enough_for_every_worker(tmp_path, write_wav):
    """With worker processes the run ends when the last batch does: a 10-minute corpus of 5 s
    recordings in 60 s batches left one of 2 workers idle for up to a batch; cut for 2 workers it
    gets BATCHES_PER_WORKER batches each, never below MIN_SHARED_BATCH_SECONDS, the batches
    taken last (listed first) shrink down to TAIL_MIN_SECONDS, and one process keeps the 60 s
    batches."""
    utts = []
    for i in range(120):
        audio = write_wav(tmp_path / f"u{i}.wav", np.zeros(5 * 8000, np.float32), 8000)
        utts.append(corpus.Utterance(f"u{i}", audio, None, None))
    one = runner.length_batches(utts, 60.0)
    two = runner.length_batches(utts, 60.0, workers=2)
    assert [len(b) for b in one] == [12] * 10
    # 600 s / (2 x 8) = 37.5 s: 7 recordings a batch (at least 8 batches for each worker), and
    # fewer in the batches taken last
    sizes = [len(b) for b in two]
    assert max(sizes) == 7 and sizes.count(7) >= 8 and len(sizes) >= 2 * runner.BATCHES_PER_WORKER
    assert sizes == sorted(sizes) and sizes[0] * 5 <= runner.TAIL_MIN_SECONDS < sizes[-1] * 5
    assert sorted(u.name for b in two for u in b) == sorted(u.name for u in utts)
    few = runner.length_batches(utts[:8], 60.0, workers=2)  # 40 s: no 2.5 s batches
    assert [len(b) for b in few] == [2, 3, 3]


def test_a_skipped_recordings_flags_keep_it_among_the_flagged(tmp_path):
    """On a no-op rerun the recordings flagged when aligned became `skipped` rows scattered
    among the clean ones; the report promises failures and flags first."""
    results = [runner.Result("a", "skipped", "outputs exist (use --overwrite)"),
               runner.Result("b", "skipped", "outputs exist (use --overwrite); flagged when aligned",
                             flags=["low_confidence: word 'x' at 0.1-0.2 s confidence 0.00"]),
               runner.Result("c", "failed", "no transcript"),
               runner.Result("d", "aligned")]
    report = runner.write_report(results, tmp_path / runner.REPORT_NAME)
    rows = list(csv.DictReader(open(report, encoding="utf-8")))
    assert [r["utterance"] for r in rows] == ["c", "b", "d", "a"]
    assert rows[1]["status"] == "skipped" and rows[1]["flags"].startswith("low_confidence")


def test_outputs_of_our_own_run_stay_ours_after_another_failure():
    """A recording aligned, then failed for another reason (a second file of its name), left
    its outputs; once that was fixed, the next run took them for another aligner's."""
    rows = {"spk/a": {"status": "failed", "reason": "2 recordings share this name (a.flac, a.wav)"},
            "spk/b": {"status": "failed", "reason": runner.unrecorded_refusal(Path("o/b.TextGrid"))},
            "spk/c": {"status": "aligned", "reason": ""}}
    assert runner.written_by_us(rows) == {"spk/a", "spk/c"}


def _aligned_corpus(tmp_path, tiny, names=("u0", "u1"), fmts="textgrid", extra=()):
    """A corpus aligned once into tmp_path/out, inputs and outputs dated back."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    for i, name in enumerate(names):
        write_pair(root, name, speechlike(1.5, seed=i), text="hello there")
    _age(root.rglob("*.*"), 120)
    result = cli(root, "-o", out, "--model", tiny, "-f", fmts, "-q", *extra)
    assert result.exit_code in (0, 1), result.output
    _age(out.rglob("u*.*"))
    return root, out


@pytest.mark.parametrize("formats", ["textgrid", "textgrid,json"])
def test_strict_refusing_a_corrected_textgrid_keeps_it_as_a_backup(tmp_path, tiny_model_dir,
                                                                   formats):
    """--strict removes the outputs of a recording it refuses, a skipped one an earlier run
    flagged included, and of every format (a TextGrid kept while JSON is added): one corrected
    since is moved to x.TextGrid.~1~ instead, and the report's reason says so."""
    limits = ["--threshold", "min_word_confidence=1"]  # every recording flagged low_confidence
    root, out = _aligned_corpus(tmp_path, tiny_model_dir, extra=limits)
    corrected = _corrected(out / "u0.TextGrid")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", formats, *limits,
                 "--strict-flags", "all", "-q")
    assert result.exit_code == 1, result.output
    assert not (out / "u0.TextGrid").exists() and not (out / "u1.TextGrid").exists()
    assert (out / "u0.TextGrid.~1~").read_text(encoding="utf-8") == corrected
    assert not list(out.glob("u1.*~"))
    reason = {r["utterance"]: r["reason"] for r in csv.DictReader(
        open(out / runner.REPORT_NAME, encoding="utf-8"))}["u0"]
    assert "kept the edited u0.TextGrid as u0.TextGrid.~1~" in reason


def test_a_run_of_other_formats_keeps_the_record_of_a_corrected_textgrid(tmp_path,
                                                                         tiny_model_dir):
    """-f json,csv after -f textgrid,json leaves the TextGrid on disk: its record stays in the
    report, so a later run that replaces it still sees the correction; and a recording whose
    name holds a space is recorded and protected as any other."""
    root, out = _aligned_corpus(tmp_path, tiny_model_dir, names=("u 0", "u1"), fmts="textgrid,json")
    corrected = _corrected(out / "u 0.TextGrid")
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json,csv",
               "-q").exit_code in (0, 1)
    _age(out.rglob("u*.*"))
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid", "--method", "ot",
                 "-q")
    assert result.exit_code in (0, 1), result.output
    assert (out / "u 0.TextGrid.~1~").read_text(encoding="utf-8") == corrected
    assert not list(out.glob("u1.*~"))


def test_a_file_this_run_rewrote_is_recorded_as_it_is_now(tmp_path):
    """`carry_fingerprints`: a JSON the run changed after `finish` hashed it (a speaker's flag
    added) is recorded with what it holds now, so the next run does not take it for edited."""
    import os
    import time

    json_path, grid = tmp_path / "u.json", tmp_path / "u.TextGrid"
    grid.write_text("grid", encoding="utf-8")
    os.utime(grid, (1, 1))
    since = time.time_ns() - 1
    json_path.write_text("{}", encoding="utf-8")
    result = runner.Result("u", "aligned", written=[json_path, grid])
    result.fingerprints = runner.fingerprints(result.written)
    json_path.write_text('{"flags": ["transcript_mismatch"]}', encoding="utf-8")
    runner.carry_fingerprints([result], {"u": {"outputs_sha1": "u.TextGrid:12345678"}}, since)
    assert runner.edited_outputs([json_path], result.fingerprints) == []
    assert runner.edited_outputs([grid], result.fingerprints) == [grid]


def test_durations_read_each_header_once_while_the_file_is_unchanged(tmp_path, write_wav,
                                                                     monkeypatch):
    """A corpus run asks for every duration twice (speakers' statistics, length batches): one
    header read per file, read again when the file changes; a missing file is 0.0."""
    import os

    a = write_wav(tmp_path / "a.wav", speechlike(1.0))
    reads = []
    real = runner.audio_seconds
    monkeypatch.setattr(runner, "audio_seconds", lambda path: reads.append(path) or real(path))
    utts = [corpus.Utterance("a", a, None, None),
            corpus.Utterance("gone", tmp_path / "gone.wav", None, None)]
    assert runner.durations(utts) == runner.durations(utts) == {"a": 1.0, "gone": 0.0}
    assert reads == [a]
    write_wav(a, speechlike(2.0))
    os.utime(a, ns=(1, 1))  # a new modification time, whatever the clock's resolution
    assert runner.durations(utts)["a"] == 2.0 and len(reads) == 2


SHIPPED = Path(__file__).resolve().parent.parent / "models" / "english" / "model.safetensors"


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_no_sentence_gaps_reaches_the_workers_and_the_report(tmp_path):
    """--no-sentence-gaps turns the gaps off in one process and in workers, and the report
    records it: the example said twice, the second time's first sentence left out of the
    transcript; with the gaps 'Please' stays where it is said, without them it is pulled
    onto the missing sentence (1.9 s early)."""
    import json

    import soundfile as sf

    from conftest import EXAMPLE_TXT, EXAMPLE_WAV

    wave, rate = sf.read(str(EXAMPLE_WAV), dtype="float32")
    text = EXAMPLE_TXT.read_text().strip() + "\nPlease try again."
    root = tmp_path / "corpus"
    for k in range(2):
        write_pair(root, f"u{k}", np.concatenate([wave, wave]), rate, text=text)
    said = len(wave) / rate + 3.39  # where the second 'Please' starts (3.39 s into a reading)

    def please(out: Path) -> list[float]:
        starts = []
        for k in range(2):
            words = json.loads((out / f"u{k}.json").read_text())["tiers"]["words"]["entries"]
            starts.append([s for s, _, w in words if w == "Please"][-1])
        return starts

    on, off = tmp_path / "on", tmp_path / "off"
    assert cli(root, "-o", on, "-f", "json", "-q").exit_code in (0, 1)
    result = cli(root, "-o", off, "-f", "json", "-q", "--no-sentence-gaps", "--jobs", "2")
    assert result.exit_code in (0, 1), result.output
    assert all(abs(t - said) < 0.03 for t in please(on))
    assert all(said - t > 1.0 for t in please(off))
    rows = list(csv.DictReader(open(off / runner.REPORT_NAME, encoding="utf-8")))
    assert len(rows) == 2 and all("sentence_gaps=off" in r["settings"] for r in rows)
    assert "sentence_gaps" not in runner.run_settings(SHIPPED.parent, "viterbi")
