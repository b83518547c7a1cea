"""aligner.corpus: finding MFA-style utterances, resuming, reporting, validating; a batch goes on
past bad inputs and out-of-memory failures, and writes one plot per utterance with --plots."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from aligner import corpus
from bad_inputs import BAD
from cli_helpers import assert_no_traceback, cli, cuda_out_of_memory, leftovers, write_pair
from conftest import speechlike


@pytest.fixture
def small_corpus(tmp_path, write_wav):
    root = tmp_path / "corpus"
    write_wav(root / "alice" / "a1.wav", speechlike(1.5, seed=1))
    (root / "alice" / "a1.lab").write_text("hello there", encoding="utf-8")
    write_wav(root / "alice" / "deep" / "a2.flac", speechlike(1.2, 8000, seed=2), 8000)
    (root / "alice" / "deep" / "a2.txt").write_text("good morning", encoding="utf-8")
    (root / "alice" / "deep" / "a2.lab").write_text("good evening", encoding="utf-8")
    write_wav(root / "bob" / "b 1.wav", speechlike(1.0, 44100, seed=3), 44100)
    (root / "bob" / "b 1.txt").write_text("zorblax is here", encoding="utf-8")
    write_wav(root / "top.wav", speechlike(1.0))  # no transcript
    (root / "bob" / "orphan.lab").write_text("nobody", encoding="utf-8")
    (root / "bob" / "broken.wav").write_text("not audio")
    (root / "bob" / "broken.lab").write_text("hello")
    return root


def test_find_utterances(small_corpus):
    utts = {u.name: u for u in corpus.find_utterances(small_corpus)}
    assert sorted(utts) == ["alice/a1", "alice/deep/a2", "bob/b 1", "bob/broken", "top"]
    assert utts["alice/deep/a2"].transcript.suffix == ".lab"  # .lab preferred over .txt
    assert utts["alice/deep/a2"].speaker == "alice"
    assert utts["top"].speaker is None and utts["top"].transcript is None
    assert [p.name for p in corpus.orphan_transcripts(small_corpus)] == ["orphan.lab"]


def test_run_resume_and_report(aligner, small_corpus, tmp_path):
    out = tmp_path / "out"
    utts = corpus.find_utterances(small_corpus)
    todo, skipped = corpus.plan(utts, out, ["textgrid", "json"], overwrite=False)
    assert len(todo) == 5 and skipped == []
    results = list(corpus.run_serial(aligner, todo, out, ["textgrid", "json"], "ot", False))
    status = {r.name: r.status for r in results}
    assert status["top"] == "failed" and status["bob/broken"] == "failed"
    assert all(status[n] in ("aligned", "flagged") for n in ("alice/a1", "alice/deep/a2", "bob/b 1"))
    assert (out / "alice" / "deep" / "a2.TextGrid").exists()
    assert (out / "bob" / "b 1.json").exists()
    assert corpus.exit_code(results) == 1

    report = corpus.write_report(results, out / corpus.REPORT_NAME)
    rows = list(csv.DictReader(open(report, encoding="utf-8")))
    assert [r["status"] for r in rows][:2] == ["failed", "failed"]
    assert "broken.wav" in next(r["reason"] for r in rows if r["utterance"] == "bob/broken")

    # second run: finished utterances are skipped, failed ones retried
    todo, skipped = corpus.plan(utts, out, ["textgrid", "json"], overwrite=False)
    assert sorted(r.name for r in skipped) == ["alice/a1", "alice/deep/a2", "bob/b 1"]
    assert sorted(u.name for u in todo) == ["bob/broken", "top"]
    # a missing format means not finished
    todo, _ = corpus.plan(utts, out, ["textgrid", "csv"], overwrite=False)
    assert len(todo) == 5
    todo, _ = corpus.plan(utts, out, ["textgrid"], overwrite=True)
    assert len(todo) == 5


def test_strict_turns_flags_into_failures(aligner, small_corpus, tmp_path):
    utt = next(u for u in corpus.find_utterances(small_corpus) if u.name == "alice/a1")
    result = corpus.align_one(aligner, utt, tmp_path / "o", ["json"], "ot", strict=True)
    if result.flags:  # the tiny random model is not confident, so it is normally flagged
        assert result.status == "failed" and "--strict" in result.reason
        assert not (tmp_path / "o" / "alice" / "a1.json").exists()
    else:
        assert result.status == "aligned"


def test_validate(small_corpus):
    report = corpus.validate_corpus(small_corpus)
    problems = dict(report.problems)
    assert "no transcript" in problems["top"]
    assert "broken.wav" in problems["bob/broken"]
    assert any("orphan.lab" in name for name in problems)
    assert "zorblax" in report.unknown_words
    count, pron = report.unknown_words["zorblax"]
    assert count == 1 and pron
    rates = {u.name: u.sample_rate for u in report.utterances}
    assert rates["bob/b 1"] == 44100 and rates["alice/deep/a2"] == 8000


def test_validate_flags_too_short_audio(tmp_path, write_wav):
    write_wav(tmp_path / "c" / "x.wav", speechlike(0.2))
    (tmp_path / "c" / "x.lab").write_text("this sentence is far too long for a fifth of a second")
    (tmp_path / "c" / "e.lab").write_text("  ")
    write_wav(tmp_path / "c" / "e.wav", speechlike(1.0))
    problems = dict(corpus.validate_corpus(tmp_path / "c").problems)
    assert "too short" in problems["x"]
    assert "empty" in problems["e"]


def test_batched_run_matches_serial(aligner, small_corpus, tmp_path):
    """The corpus path (length-bucketed batches, CPU and GPU): same outputs as one by one."""
    utts = corpus.find_utterances(small_corpus)
    batched = {r.name: r for r in corpus.run_batched(aligner, utts, tmp_path / "b", ["json"],
                                                     "ot", False, batch_seconds=3.0)}
    serial = {r.name: r for r in corpus.run_serial(aligner, utts, tmp_path / "s", ["json"],
                                                   "ot", False)}
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

    def spy(self, waves):
        calls.append(len(waves) if isinstance(waves, list) else "alone")
        return real(self, waves)

    monkeypatch.setattr(type(aligner), "encode", spy)
    done = dict(corpus.align_batch(aligner, utts, "viterbi"))
    assert calls == [2, "alone", "alone"]  # a and b together, then t's two intervals
    assert [a.speaker for a in done[utts[2]][0]] == ["x"]

    def failing(self, waves):
        if isinstance(waves, list):
            raise RuntimeError("out of memory for the batch")
        return real(self, waves)

    monkeypatch.setattr(type(aligner), "encode", failing)
    for utt, (alignments, _) in corpus.align_batch(aligner, utts, "viterbi"):
        assert alignments == aligner.align_speakers(utt.audio, utt.transcript)


def test_recordings_libsndfile_cannot_read_are_found_with_a_conversion_hint(tmp_path, write_wav):
    """.m4a/.webm recordings are not silently ignored: listed (unless a converted copy sits
    beside them), their transcripts are not orphans, and validate reports how to convert."""
    root = tmp_path / "c"
    (root / "spk").mkdir(parents=True)
    (root / "spk" / "a.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(32))
    (root / "spk" / "a.lab").write_text("hello there", encoding="utf-8")
    (root / "c.webm").write_bytes(bytes(40))
    write_wav(root / "b.wav", speechlike(1.0))
    (root / "b.m4a").write_bytes(bytes(40))  # already converted to b.wav: not reported
    (root / "b.lab").write_text("hello", encoding="utf-8")
    unreadable = corpus.unreadable_audio(root)
    assert [p.relative_to(root).as_posix() for p in unreadable] == ["c.webm", "spk/a.m4a"]
    assert corpus.orphan_transcripts(root) == []
    failed = corpus.unreadable_result(root, root / "spk" / "a.m4a")
    assert (failed.name, failed.status) == ("spk/a", "failed") and "ffmpeg -i" in failed.reason
    problems = dict(corpus.validate_corpus(root).problems)
    assert "ffmpeg -i" in problems[str(root / "spk" / "a.m4a")]
    assert "ffmpeg -i" in problems[str(root / "c.webm")]
    assert list(problems) == [str(root / "c.webm"), str(root / "spk" / "a.m4a")]  # b is fine


def test_no_audio_message_says_why():
    from pathlib import Path

    assert "no audio files found" in corpus.no_audio_message(Path("empty"))
    message = corpus.no_audio_message(Path("c"), [Path("c/x.m4a"), Path("c/y.m4a"),
                                                  Path("c/z.wma")])
    assert "found 2 .m4a, 1 .wma file(s)" in message and "ffmpeg -i c/x.m4a c/x.wav" in message
    assert "\n" not in message


def test_lab_and_txt_that_differ_are_a_warning(small_corpus):
    """alice/deep/a2 has a2.lab 'good evening' and a2.txt 'good morning': the .lab is used (as
    MFA does) and validate warns, naming both files; the same words laid out differently, or
    a .txt alone, are no warning."""
    utts = {u.name: u for u in corpus.find_utterances(small_corpus)}
    warning = corpus.transcript_conflict(utts["alice/deep/a2"])
    assert "a2.lab and a2.txt differ" in warning and "using a2.lab" in warning
    assert corpus.transcript_conflict(utts["bob/b 1"]) is None  # b 1.txt alone
    report = corpus.validate_corpus(small_corpus)
    assert dict(report.warnings) == {"alice/deep/a2": warning}
    assert "alice/deep/a2" not in dict(report.problems)
    (small_corpus / "alice" / "deep" / "a2.txt").write_text("good\n  evening ", encoding="utf-8")
    assert corpus.transcript_conflict(utts["alice/deep/a2"]) is None


def test_validate_report_csv_has_warnings(small_corpus, tmp_path):
    path = corpus.validate_corpus(small_corpus).write_csv(tmp_path / "v.csv")
    rows = {r["utterance"]: r for r in csv.DictReader(open(path, encoding="utf-8"))}
    assert "differ" in rows["alice/deep/a2"]["warnings"] and rows["alice/a1"]["warnings"] == ""
    assert "no transcript" in rows["top"]["problems"]


def test_flag_kinds_counts_flags_and_their_text():
    from aligner.checks import Flag

    flags = [Flag("transcript_mismatch", "mean word confidence 0.02 is very low"),
             Flag("low_confidence", "word 'a' ..."), "low_confidence: word 'b' ...",
             "long_word: word 'c' lasts 5.00 s"]
    assert corpus.flag_kinds(flags) == {"transcript_mismatch": 1, "low_confidence": 2,
                                        "long_word": 1}
    assert list(corpus.flag_kinds(flags)) == ["transcript_mismatch", "low_confidence",
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
    assert result.exit_code == 0 and (out / "s2" / "u 2.png").exists()
    rows = {r["utterance"]: r["status"] for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    assert rows["s1/u1"] == "skipped" and rows["s2/u 2"] in ("aligned", "flagged")
