"""aligner.corpus: finding MFA-style utterances, their transcripts and gold alignments; what a
folder holds that cannot be aligned (no audio, formats libsndfile cannot read, orphans)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligner import corpus, runner
from aligner.validate import validate_corpus
from conftest import speechlike


def test_find_utterances(small_corpus):
    utts = {u.name: u for u in corpus.find_utterances(small_corpus)}
    assert sorted(utts) == ["alice/a1", "alice/deep/a2", "bob/b 1", "bob/broken", "top"]
    assert utts["alice/deep/a2"].transcript.suffix == ".lab"  # .lab preferred over .txt
    assert utts["alice/deep/a2"].speaker == "alice"
    assert utts["top"].speaker is None and utts["top"].transcript is None
    assert [p.name for p in corpus.orphan_transcripts(small_corpus)] == ["orphan.lab"]


def test_a_dangling_recording_link_is_reported_once(tmp_path):
    """A recording whose symlink points nowhere failed as "file not found" and its transcript
    was also listed as one without a recording."""
    from cli_helpers import write_pair

    audio, transcript = write_pair(tmp_path / "c", "b")
    audio.symlink_to(tmp_path / "gone.wav")
    assert [u.name for u in corpus.find_utterances(tmp_path / "c")] == ["b"]
    assert corpus.orphan_transcripts(tmp_path / "c") == []


def test_links_in_a_loop_are_their_recordings_failure_not_the_runs(tmp_path):
    """loop1.wav -> loop2.wav -> loop1.wav ended the whole corpus run and `validate` with an
    internal error (ELOOP from the folder scan), nothing aligned."""
    from aligner.audio import AudioError, load_audio
    from cli_helpers import write_pair

    folder = tmp_path / "c"
    write_pair(folder, "good", speechlike(1.0))
    (folder / "loop1.lab").write_text("hello\n", encoding="utf-8")
    (folder / "loop1.wav").symlink_to(folder / "loop2.wav")
    (folder / "loop2.wav").symlink_to(folder / "loop1.wav")
    assert [u.name for u in corpus.find_utterances(folder)] == ["good", "loop1", "loop2"]
    with pytest.raises(AudioError, match="loop1.wav: file not found .a link to"):
        load_audio(folder / "loop1.wav")


def test_gold_is_a_textgrid_beside_a_text_transcript(tmp_path, write_wav):
    """A TextGrid beside a .lab or .txt is the utterance's gold alignment (training's dev
    figures and the benchmarks measure on those); alone it is the transcript, not a gold."""
    from aligner.dev_metrics import find_dev_utterances

    root = tmp_path / "c"
    for stem in ("a", "b", "t"):
        write_wav(root / "spk" / f"{stem}.wav", speechlike(1.0))
    (root / "spk" / "a.lab").write_text("hello", encoding="utf-8")
    (root / "spk" / "a.TextGrid").write_text("gold", encoding="utf-8")
    (root / "spk" / "b.txt").write_text("hello", encoding="utf-8")
    (root / "spk" / "t.TextGrid").write_text("utterance intervals", encoding="utf-8")
    utts = {u.name: u for u in corpus.find_utterances(root)}
    assert utts["spk/a"].gold == root / "spk" / "a.TextGrid"
    assert utts["spk/b"].gold is None
    assert utts["spk/t"].transcript == root / "spk" / "t.TextGrid" and utts["spk/t"].gold is None
    assert [u.name for u in corpus.gold_utterances(root)] == ["spk/a"]
    assert find_dev_utterances([str(root)], 0) == [
        ("c/spk/a", root / "spk" / "a.wav", root / "spk" / "a.lab", root / "spk" / "a.TextGrid")]


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
    unreadable = corpus.unreadable_inputs(root)
    assert [p.relative_to(root).as_posix() for p in unreadable] == ["c.webm", "spk/a.m4a"]
    assert corpus.orphan_transcripts(root) == []
    failed = runner.unreadable_result(root, root / "spk" / "a.m4a")
    assert (failed.name, failed.status) == ("spk/a", "failed") and "ffmpeg -i" in failed.reason
    problems = dict(validate_corpus(root).problems)
    assert "ffmpeg -i" in problems["spk/a.m4a"]
    assert "ffmpeg -i" in problems["c.webm"]
    assert list(problems) == ["c.webm", "spk/a.m4a"]  # b is fine


def test_no_audio_message_says_why():
    assert "no audio files found" in corpus.no_audio_message(Path("empty"))
    message = corpus.no_audio_message(Path("c"), [Path("c/x.m4a"), Path("c/y.m4a"),
                                                  Path("c/z.wma")])
    assert "found 2 .m4a, 1 .wma file(s)" in message and "ffmpeg -i c/x.m4a c/x.wav" in message
    assert "\n" not in message


def test_an_emu_label_file_beside_the_words_gives_way_to_them(tmp_path, write_wav):
    """emuR's databases keep time-stamped `x.lab` labels beside `x.txt` words: the .lab (read
    first, as MFA does) failed every recording, with a warning that the two differ. A label
    file alone is still read, and refused with its reason."""
    root = tmp_path / "corpus"
    write_wav(root / "spk" / "msajc003.wav", speechlike(1.0))
    (root / "spk" / "msajc003.txt").write_text("amongst her friends", encoding="utf-8")
    (root / "spk" / "msajc003.lab").write_text(
        "signal msajc003\nnfields 1\n#\n0.3000 125 V\n0.3500 125 @:\n0.4100 125 m\n",
        encoding="utf-8")
    write_wav(root / "spk" / "lone.wav", speechlike(1.0))
    (root / "spk" / "lone.lab").write_text("0.1 0.25 h\n0.25 0.4 @\n0.4 0.6 l\n",
                                           encoding="utf-8")
    utts = {u.name: u for u in corpus.find_utterances(root)}
    assert utts["spk/msajc003"].transcript.name == "msajc003.txt"
    assert corpus.transcript_conflict(utts["spk/msajc003"]) is None
    assert utts["spk/lone"].transcript.name == "lone.lab"
    report = validate_corpus(root)
    assert "spk/msajc003" not in dict(report.problems) and not report.warnings
    assert "time-stamped label file" in dict(report.problems)["spk/lone"]


def test_a_textgrid_of_turns_beside_a_text_transcript_is_a_warning(tmp_path, write_wav):
    """x.txt and a speaker-tier x.TextGrid made in Praat: the .txt was used, the turns ignored,
    nothing said; a gold alignment (words and phones tiers) beside it is expected, no warning."""
    from praatio import textgrid as ptg

    from aligner.alignment import Alignment, Interval
    from aligner.formats import write_textgrid

    root = tmp_path / "c"
    for stem in ("turns", "gold"):
        write_wav(root / "spk" / f"{stem}.wav", speechlike(1.0))
        (root / "spk" / f"{stem}.txt").write_text("hello there", encoding="utf-8")
    tg = ptg.Textgrid()
    tg.addTier(ptg.IntervalTier("ruth", [(0.1, 0.9, "hello there")], 0, 1.0))
    tg.save(str(root / "spk" / "turns.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    write_textgrid(Alignment([Interval(0.1, 0.9, "hello")], [Interval(0.1, 0.9, "HH")], 1.0),
                   root / "spk" / "gold.TextGrid")
    utts = {u.name: u for u in corpus.find_utterances(root)}
    warning = corpus.transcript_conflict(utts["spk/turns"])
    assert "turns.TextGrid holds utterance tiers (ruth)" in warning and "using turns.txt" in warning
    assert corpus.transcript_conflict(utts["spk/gold"]) is None
    # a labelled recording's tiers beside its phones (praatio's mary: phone, word, pitch) are
    # an alignment too, as the transcript reader has it: validate told to align it as turns
    tg = ptg.Textgrid()
    for name in ("phone", "word", "pitch"):
        tg.addTier(ptg.IntervalTier(name, [(0.1, 0.9, "x")], 0, 1.0))
    tg.save(str(root / "spk" / "gold.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert corpus.transcript_conflict(corpus.find_utterances(root)[0]) is None


def test_lab_and_txt_that_differ_are_a_warning(small_corpus):
    """alice/deep/a2 has a2.lab 'good evening' and a2.txt 'good morning': the .lab is used (as
    MFA does) and validate warns, naming both files; the same words laid out differently, or
    a .txt alone, are no warning."""
    utts = {u.name: u for u in corpus.find_utterances(small_corpus)}
    warning = corpus.transcript_conflict(utts["alice/deep/a2"])
    assert "a2.lab and a2.txt differ" in warning and "using a2.lab" in warning
    assert corpus.transcript_conflict(utts["bob/b 1"]) is None  # b 1.txt alone
    report = validate_corpus(small_corpus)
    assert {k: w for k, w in report.warnings if "orphan" not in k} == {"alice/deep/a2": warning}
    assert "alice/deep/a2" not in dict(report.problems)
    (small_corpus / "alice" / "deep" / "a2.txt").write_text("good\n  evening ", encoding="utf-8")
    assert corpus.transcript_conflict(utts["alice/deep/a2"]) is None
    # the same words in UTF-16 (Notepad's "Unicode") beside UTF-8: the same transcript
    (small_corpus / "alice" / "deep" / "a2.lab").write_bytes("\ufeffgood evening".encode("utf-16-le"))
    assert corpus.transcript_conflict(utts["alice/deep/a2"]) is None


def test_the_lab_and_txt_check_lists_no_folder(small_corpus, monkeypatch):
    """The .txt beside a .lab is found with the recording: the check listed the folder again for
    every .lab recording, quadratic over a flat folder of many clips."""
    utts = {u.name: u for u in corpus.find_utterances(small_corpus)}
    assert [p.name for p in utts["alice/deep/a2"].unused_text] == ["a2.txt"]
    monkeypatch.setattr(corpus.os, "scandir", lambda *_: pytest.fail("listed a folder"))
    assert "a2.lab and a2.txt differ" in corpus.transcript_conflict(utts["alice/deep/a2"])


def test_audio_and_transcript_pair_whatever_unicode_normalisation_spells_them(tmp_path,
                                                                             write_wav):
    """A macOS copy names `café.wav` with a decomposed é (NFD), an editor saves `café.lab`
    precomposed (NFC): one recording, for alignment and validate alike."""
    import unicodedata

    root = tmp_path / "c"
    nfc, nfd = (unicodedata.normalize(form, "café") for form in ("NFC", "NFD"))
    assert nfc != nfd
    write_wav(root / "spk" / f"{nfd}.wav", speechlike(1.5))
    (root / "spk" / f"{nfc}.lab").write_text("hello there", encoding="utf-8")
    write_wav(root / "spk" / f"{nfc}2.wav", speechlike(1.5, seed=1))
    (root / "spk" / f"{nfd}2.txt").write_text("hello there", encoding="utf-8")
    utts = corpus.find_utterances(root)
    assert [(u.audio.name, u.transcript.name) for u in utts] == [
        (f"{nfd}.wav", f"{nfc}.lab"), (f"{nfc}2.wav", f"{nfd}2.txt")]
    assert corpus.orphan_transcripts(root) == []
    report = validate_corpus(root)
    assert report.problems == [] and [u.words for u in report.utterances] == [2, 2]
    # spelled exactly alike wins over alike only once normalised
    (root / "spk" / f"{nfd}.lab").write_text("good morning", encoding="utf-8")
    assert corpus.find_transcript(root / "spk" / f"{nfd}.wav") == root / "spk" / f"{nfd}.lab"


def test_speaker_folders_linked_into_a_corpus_are_found(tmp_path, write_wav):
    """A corpus assembled with `ln -s elsewhere/spk corpus/spk` holds those speakers' recordings
    (they were reported as 'no audio files found'); a link back up the tree does not loop."""
    elsewhere = tmp_path / "elsewhere" / "spk"
    write_wav(elsewhere / "u1.wav", speechlike(1.0))
    (elsewhere / "u1.lab").write_text("hello", encoding="utf-8")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "spk").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)
    utts = corpus.find_utterances(root)
    assert [(u.name, u.speaker) for u in utts] == [("spk/u1", "spk")]
    assert utts[0].transcript.name == "u1.lab"


def test_links_inside_or_above_the_corpus_are_not_followed(tmp_path, write_wav):
    """A link to a folder of the corpus itself would list its recordings twice (under a name
    that sorts first, as another speaker); one to the corpus's parent would pull in its
    neighbours. Neither is followed: the recordings keep their own names."""
    root = tmp_path / "corpus"
    write_wav(root / "zspk" / "u.wav", speechlike(1.0))
    (root / "zspk" / "u.lab").write_text("hello", encoding="utf-8")
    (root / "aa_alias").symlink_to(root / "zspk", target_is_directory=True)
    (root / "zspk" / "up").symlink_to(tmp_path, target_is_directory=True)
    write_wav(tmp_path / "other" / "v.wav", speechlike(1.0))
    assert [u.name for u in corpus.find_utterances(root)] == ["zspk/u"]


def test_speaker_characters_take_the_name_s_first_characters_in_nfc(tmp_path):
    """MFA's --speaker_characters: the speaker is the start of the file's name, whatever its
    folder; a name stored decomposed (macOS) gives the same speaker as one stored composed."""
    root = tmp_path / "c"
    (root / "x").mkdir(parents=True)
    for name in ("Jose\u0301_1", "Jos\u00e9_2", "x/ab"):
        (root / f"{name}.wav").write_bytes(b"")
        (root / f"{name}.lab").write_text("hi", encoding="utf-8")
    speakers = {u.name: u.speaker for u in corpus.find_utterances(root, speaker_characters=4)}
    assert set(speakers.values()) == {"ab", "Jos\u00e9"}
    assert {u.name: u.speaker for u in corpus.find_utterances(root)}["x/ab"] == "x"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_folder_that_cannot_be_listed_is_a_failure_not_a_gap(tmp_path, monkeypatch, jobs,
                                                              tiny_model_dir):
    """A speaker folder without read permission was skipped: validate said "no problems", a
    corpus run aligned the rest and exited 0 with the folder missing from its report. It is
    named (validate: a problem; align: a failed row, exit 1) and the others are aligned.
    Simulated by refusing to list it (the tests may run as root, whom chmod does not stop)."""
    import os

    from cli_helpers import cli, write_pair

    root = tmp_path / "c"
    write_pair(root / "s1", "good", speechlike(1.0))
    write_pair(root / "s2", "hidden", speechlike(1.0))
    listing = os.scandir

    def refuse(path=".", *args):
        if Path(path).name == "s2":
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path, *args)

    monkeypatch.setattr(os, "scandir", refuse)
    assert [p.name for p in corpus.unreadable_inputs(root)] == ["s2"]
    problems = dict(validate_corpus(root).problems)
    assert list(problems) == ["s2"] and "cannot be read" in problems["s2"]
    result = cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir, "-j", jobs)
    assert result.exit_code == 1, result.output
    rows = runner.previous_rows(tmp_path / "out" / runner.REPORT_NAME)
    assert rows["s2"]["status"] == "failed" and "folder cannot be read" in rows["s2"]["reason"]
    assert rows["s1/good"]["status"] in ("aligned", "flagged")
