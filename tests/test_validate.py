"""aligner/validate.py: a corpus checked the way alignment reads it, without a model."""

from __future__ import annotations

import csv

import pytest

from aligner.validate import validate_corpus
from bad_inputs import BAD
from cli_helpers import cli
from conftest import speechlike


def test_validate(small_corpus):
    report = validate_corpus(small_corpus)
    problems = dict(report.problems)
    assert "no transcript" in problems["top"]
    assert "broken.wav" in problems["bob/broken"]
    assert not any("orphan.lab" in name for name in problems)  # a warning: the rest aligns
    assert any("orphan.lab" in name and "without a recording" in w for name, w in report.warnings)
    assert "zorblax" in report.unknown_words
    count, pron = report.unknown_words["zorblax"]
    assert count == 1 and pron

    rates = {u.name: u.sample_rate for u in report.utterances}
    assert rates["bob/b 1"] == 44100 and rates["alice/deep/a2"] == 8000


def test_a_transcript_named_but_for_case_or_after_the_whole_file_name_is_pointed_at(
        tmp_path, write_wav, tiny_model_dir):
    """`utt1.lab` beside `Utt1.wav` (made where disks ignore case) and `u2.wav.lab` were
    reported only as "no transcript" and, apart, as text without a recording: validate and a
    corpus run now name the file meant and the name it needs."""
    root = tmp_path / "c"
    for stem, text in (("Utt1", "utt1.lab"), ("u2", "u2.wav.lab"), ("u3", "other.lab")):
        write_wav(root / f"{stem}.wav", speechlike(1.0))
        (root / text).write_text("hello there", encoding="utf-8")
    problems = dict(validate_corpus(root).problems)
    assert problems["Utt1"].startswith("no transcript") and problems["Utt1"].endswith(
        "utt1.lab is named as the recording but for letter case: rename it Utt1.lab")
    assert problems["u2"].endswith(
        "u2.wav.lab is named after the recording's whole file name: rename it u2.lab")
    assert problems["u3"] == "no transcript (.lab, .txt, .TextGrid or .cha) beside the audio"
    result = cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir)
    assert result.exit_code == 1
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(tmp_path / "out" / "alignment_report.csv", encoding="utf-8"))}
    assert {name: rows[name]["reason"] for name in problems} == {  # the run names the file
        name: f"{root / name}.wav: {problem}" for name, problem in problems.items()}


def test_validate_flags_too_short_audio(tmp_path, write_wav):
    write_wav(tmp_path / "c" / "x.wav", speechlike(0.2))
    (tmp_path / "c" / "x.lab").write_text("this sentence is far too long for a fifth of a second")
    (tmp_path / "c" / "e.lab").write_text("  ")
    write_wav(tmp_path / "c" / "e.wav", speechlike(1.0))
    problems = dict(validate_corpus(tmp_path / "c").problems)
    assert "too short" in problems["x"]
    assert "empty" in problems["e"]


def test_a_word_that_cannot_be_pronounced_is_named_with_its_file(tmp_path, write_wav):
    """As `align` says it: the transcript file first, so that a line of the report alone says
    where to look (review 118: a .lab holding only a Chinese character)."""
    write_wav(tmp_path / "c" / "s1" / "bad.wav", speechlike(1.0))
    (tmp_path / "c" / "s1" / "bad.lab").write_text("\u6162", encoding="utf-8")
    problem = dict(validate_corpus(tmp_path / "c").problems)["s1/bad"]
    assert problem.startswith(str(tmp_path / "c" / "s1" / "bad.lab") + ": ")
    assert "cannot pronounce" in problem and problem.count("bad.lab") == 1


def test_validate_report_csv_has_warnings(small_corpus, tmp_path):
    path = validate_corpus(small_corpus).write_csv(tmp_path / "v.csv")
    rows = {r["utterance"]: r for r in csv.DictReader(open(path, encoding="utf-8"))}
    assert "differ" in rows["alice/deep/a2"]["warnings"] and rows["alice/a1"]["warnings"] == ""
    assert "no transcript" in rows["top"]["problems"]


def _warnings(root, write_wav, transcripts: dict[str, str]) -> dict[str, str]:
    """validate's warnings for a corpus of 3 s recordings with these transcripts, by name."""
    for name, text in transcripts.items():
        write_wav(root / f"{name}.wav", speechlike(3.0))
        (root / f"{name}.lab").write_text(text, encoding="utf-8")
    return dict(validate_corpus(root).warnings)


def test_validate_says_how_numbers_symbols_and_abbreviations_are_read(tmp_path, write_wav):
    """Only unknown words were listed: how `$3.50`, `1984` or `e.g.` would be read could not be
    checked before aligning. Words read as their own letters are not listed."""
    from aligner.validate import read_as

    root = tmp_path / "c"
    for name, text in {"a": "Dr. Smith paid $3.50 in 1984", "b": "e.g. 1984, re-entered U.S. don't"}.items():
        write_wav(root / f"{name}.wav", speechlike(3.0))
        (root / f"{name}.lab").write_text(text, encoding="utf-8")
    readings = validate_corpus(root).readings
    assert readings == {"Dr.": (1, "doctor"), "$3.50": (1, "three dollars and fifty cents"),
                        "1984": (2, "nineteen eighty-four"), "e.g.": (1, "for example")}
    assert read_as("3rd", ["third"]) == "third" and read_as("U.S.", ["u", "s"]) is None
    result = cli("validate", root)
    assert "nineteen eighty-four" in result.output and "read as" in result.output


def test_speaker_labels_opening_lines_are_a_warning(tmp_path, write_wav):
    """"INT: ... RUTH: ..." turns in a plain transcript were aligned as words (19 labels moved 12
    word starts by over 50 ms), with nothing said; one "Note:" line and clock times are no labels."""
    warnings = _warnings(tmp_path / "c", write_wav, {
        "turns": "INT: so where did you grow up\nRUTH: in the hill district\nINT: and your parents",
        "note": "Note: the tape starts late\nwe met at 10:30 and left",
        "said": "He said: yes\nShe said: no",
        "alone": "INT:\nso where did you grow up\nRUTH:\nin the hill district",
        "chat": "*PAR: mary rolled the barrel\n*INV: okay"})
    assert "speaker labels (INT:, RUTH:)" in warnings["turns"] and "TextGrid" in warnings["turns"]
    assert "note" not in warnings and "said" not in warnings
    # CHAT's speaker codes are no words: what is said is that, with no bullets, they share a tier
    assert "speaker labels" not in warnings["chat"]
    assert "*PAR:, *INV: share one tier" in warnings["chat"]
    assert "speaker labels (INT:, RUTH:)" in warnings["alone"]  # a label on a line of its own


def test_list_numbers_opening_lines_are_a_warning(tmp_path, write_wav):
    """A naming test's sheet, "1. bed" a line, aligned its item numbers as words said ("one
    bed two cat") with no more than a low_confidence word; numbers in sentences are no list."""
    warnings = _warnings(tmp_path / "c", write_wav, {
        "sheet": "1. bed\n2. cat\n3) scissors", "dash": "10 - bed\n11 - cat",
        "prose": "I saw 2. It was late\n1990 was a good year\n3.5 percent more"})
    assert "3 lines start with a list number (1, 2, 3)" in warnings["sheet"]
    assert "delete them if nobody says them" in warnings["sheet"]
    assert "2 lines start with a list number (10, 11)" in warnings["dash"]
    assert "prose" not in warnings


def test_brackets_that_are_not_markup_are_a_warning(tmp_path, write_wav):
    """"ba[laughter]rrel" became three words and "[laughter" a word, silently: validate names
    such tokens; well-formed markup (also with a space inside) and optional letters pass."""
    warnings = _warnings(tmp_path / "c", write_wav, {
        "glued": "mary rolled the ba[laughter]rrel", "open": "mary rolled the [laughter barrel",
        "fine": "[background noise] mary rolled item(s) {LG} <unk>",
        "chat": "*PAR: <mary rolled> [/] mary rolled the barrel"})
    assert "'ba[laughter]rrel'" in warnings["glued"] and "not read as markup" in warnings["glued"]
    assert "'[laughter'" in warnings["open"]
    assert "fine" not in warnings and "chat" not in warnings  # CHAT's scope brackets are CHAT


def test_validate_and_align_refuse_a_fast_transcript_in_the_same_words(tmp_path, tiny_model_dir):
    """One speaking-rate limit and one wording: what validate calls a problem is the error an
    alignment of the same file stops with."""
    audio, transcript = BAD["too_short_for_transcript"].build(tmp_path / "c", "fast")
    problem = dict(validate_corpus(tmp_path / "c").problems)["fast"]
    assert "too short" in problem and "needs at least" in problem
    assert problem.startswith(f"{audio}: ")  # the recording, named as align names it
    result = cli(audio, transcript, "--model", tiny_model_dir)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {problem}"


def test_validate_corpus_summary_fits_an_80_column_terminal(tmp_path, write_wav, monkeypatch):
    """Seven quantities side by side broke their own names ("utteranc…") at 80 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    write_wav(tmp_path / "c" / "x.wav", speechlike(1.0))
    (tmp_path / "c" / "x.lab").write_text("hello there")
    result = cli("validate", tmp_path / "c")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for quantity in ("utterances", "speakers", "audio (s)", "shortest (s)", "longest (s)",
                     "sample rates", "channels", "words"):
        assert any(quantity in line for line in lines), (quantity, result.output)
    assert any("none (no speaker folders)" in line for line in lines)
    for speaker in ("s1", "s2"):  # MFA's speakers: the first folder below the corpus
        write_wav(tmp_path / "c" / speaker / "y.wav", speechlike(1.0))
        (tmp_path / "c" / speaker / "y.lab").write_text("hello there")
    result = cli("validate", tmp_path / "c")
    (row,) = [line for line in result.output.splitlines() if "speakers" in line]
    assert "2 (+ 1 recording(s) in no speaker folder)" in " ".join(row.split())
    flat = tmp_path / "flat"  # MFA's -s N: the speaker is the name's first N characters
    for name in ("ab01", "ab02", "cd01"):
        write_wav(flat / f"{name}.wav", speechlike(1.0))
        (flat / f"{name}.lab").write_text("hello there")
    result = cli("validate", flat, "-s", "2")
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.output.splitlines() if "speakers" in line]
    assert row.split()[-2] == "2", result.output


def test_validate_never_writes_its_report_or_dictionary_over_the_corpus(small_corpus, tmp_path):
    audio, lab = small_corpus / "alice" / "a1.wav", small_corpus / "alice" / "a1.lab"
    before = audio.read_bytes(), lab.read_bytes()
    for option, target, what in (("--export-dictionary", audio, "the recording alice/a1"),
                                 ("--report", lab, "the transcript of alice/a1"),
                                 ("--report", small_corpus / "alice" / "deep" / "a2.flac", "a2")):
        result = cli("validate", small_corpus, option, target)
        assert result.exit_code == 2, result.output
        assert what in result.stderr and "write it somewhere else" in result.stderr
    assert (audio.read_bytes(), lab.read_bytes()) == before
    result = cli("validate", small_corpus, "--report", small_corpus / "validation.csv")
    assert result.exit_code == 1 and (small_corpus / "validation.csv").exists()  # a new file is fine


def test_validate_counts_an_unknown_word_once_whatever_its_case(tmp_path, write_wav):
    for i, text in enumerate(["BRÛLÉE please", "the Brûlée", "brûlée again"]):
        write_wav(tmp_path / "c" / f"u{i}.wav", speechlike(1.5, seed=i))
        (tmp_path / "c" / f"u{i}.lab").write_text(text, encoding="utf-8")
    report = validate_corpus(tmp_path / "c")
    assert report.unknown_words["brûlée"][0] == 3 and len(report.unknown_words) == 1


def test_validate_reports_a_textgrid_interval_after_the_audio(tmp_path):
    """An utterance interval that starts after the recording ends is left out by `align` (the
    others aligned, `interval_not_aligned`); validate said "no problems found"."""
    import soundfile as sf
    from praatio import textgrid

    from conftest import speechlike

    folder = tmp_path / "c" / "s"
    folder.mkdir(parents=True)
    sf.write(str(folder / "talk.wav"), speechlike(3.0), 16000)
    tg = textgrid.Textgrid(0, 20)
    tg.addTier(textgrid.IntervalTier("alice", [(0.3, 1.4, "hello there"), (5.0, 6.0, "goodbye")],
                                     0, 20))
    tg.save(str(folder / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (check,) = validate_corpus(tmp_path / "c").utterances
    assert check.problems == []  # the other interval is aligned, this one left out and flagged
    (warning,) = check.warnings
    assert "outside the audio (3.00 s)" in warning and "interval_not_aligned" in warning


def test_a_textgrid_interval_that_cannot_be_aligned_is_left_out_and_flagged(tmp_path,
                                                                          tiny_model_dir):
    """A 0.2 s interval holding a long sentence failed the whole recording in `align` (MFA
    aligns each utterance on its own) and validate, judging the whole recording's rate, said
    "no problems found". Now align aligns the other intervals and flags this one
    `interval_not_aligned` (its words left out), validate warns about it in the same words, and
    a transcript whose every interval fails still fails."""
    import soundfile as sf
    from praatio import textgrid

    from aligner.align import AlignmentError, Aligner
    from conftest import speechlike

    folder = tmp_path / "c" / "s"
    folder.mkdir(parents=True)
    sf.write(str(folder / "talk.wav"), speechlike(6.0), 16000)
    long = "the quick brown fox jumps over the lazy dog near the riverbank every single morning"

    def transcript(intervals):
        tg = textgrid.Textgrid(0, 6.0)
        tg.addTier(textgrid.IntervalTier("alice", intervals, 0, 6.0))
        tg.save(str(folder / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)

    transcript([(0.3, 1.4, "hello there"), (2.0, 2.2, long)])
    (check,) = validate_corpus(tmp_path / "c").utterances
    assert check.problems == [] and len(check.warnings) == 1 and "200 ms" in check.warnings[0]
    aligner = Aligner.load(tiny_model_dir)
    result = aligner.align(folder / "talk.wav", folder / "talk.TextGrid")
    assert [w.label for w in result.words if w.label] == ["hello", "there"]
    (flag,) = [f for f in result.flags if f.kind == "interval_not_aligned"]
    assert (flag.start, flag.end) == (2.0, 2.2) and "200 ms" in flag
    transcript([(2.0, 2.2, long), (3.0, 3.1, long)])  # nothing left to align
    (check,) = validate_corpus(tmp_path / "c").utterances
    assert len(check.problems) == 2
    with pytest.raises(AlignmentError, match="200 ms"):
        aligner.align(folder / "talk.wav", folder / "talk.TextGrid")


def test_validate_counts_words_as_align_does(tmp_path):
    """`<star>` is not a word of the transcript (validate said 11 where align said 10)."""
    import soundfile as sf

    from conftest import speechlike

    folder = tmp_path / "c" / "s"
    folder.mkdir(parents=True)
    sf.write(str(folder / "u.wav"), speechlike(2.0), 16000)
    (folder / "u.lab").write_text("hello <star> there [laughter] <star>", encoding="utf-8")
    (check,) = validate_corpus(tmp_path / "c").utterances
    assert check.words == 3


def test_stray_text_is_a_warning_and_every_path_is_shown_from_the_corpus_root(tmp_path, write_wav,
                                                                             monkeypatch):
    """A LICENSE.txt in a corpus made validate exit 1 (MFA ignores such files); an .m4a row was
    named by the root as typed plus its suffix, and a transcript without a recording by its
    absolute path, while utterances are named from the root."""
    root = tmp_path / "corpus"
    write_wav(root / "spk" / "a.wav", speechlike(1.0))
    (root / "spk" / "a.lab").write_text("hello there", encoding="utf-8")
    (root / "LICENSE.txt").write_text("CC BY 4.0", encoding="utf-8")
    (root / "spk" / "phone.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "corpus")
    assert result.exit_code == 1, result.output  # the .m4a is a problem; the licence is not
    # named from the root; the command to paste keeps the path it runs with from here
    assert "spk/phone.m4a: " in result.output and "corpus/spk/phone.m4a: " not in result.output
    assert "corpus/spk/phone.wav" in result.output
    assert "LICENSE.txt" in result.output and str(root) not in result.output
    (root / "spk" / "phone.m4a").unlink()
    result = cli("validate", str(root))
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "without a recording" in result.output
