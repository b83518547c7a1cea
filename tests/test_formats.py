"""aligner.formats: every writer's output parses back (TextGrids also with the independent
`textgrid` package), tiers cover the file without gaps or overlaps, writes are atomic."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path

import pytest
import textgrid as tgpkg

from aligner.alignment import Alignment, Interval
from aligner.atomic import OutputError, atomic_open
from aligner.checks import Flag
from aligner.formats import (FormatError, add_flag, NotAlignmentError, output_paths, parse_formats,
                             read_alignment, read_csv, read_ctm, read_json, read_textgrid,
                             read_transcript_textgrid, read_utterances, subtitle_cues, subtitle_time, write_file,
                             write_outputs)


def _alignment(speaker=None, offset=0.0) -> Alignment:
    words = [Interval(0.0 + offset, 0.2 + offset, ""),
             Interval(0.2 + offset, 0.5004 + offset, "héllo", 0.9),
             Interval(0.5004 + offset, 0.9 + offset, ""),
             Interval(0.9 + offset, 1.3 + offset, "world", 0.4)]
    phones = [Interval(0.2 + offset, 0.35 + offset, "HH", 0.8),
              Interval(0.35 + offset, 0.5004 + offset, "AH0", 0.9),
              Interval(0.9 + offset, 1.1 + offset, "W", 0.5),
              Interval(1.1 + offset, 1.3 + offset, "ER1", 0.3)]
    flags = [Flag("long_word", "word 'world' is long", "words", 0.9 + offset, 1.3 + offset,
                  "world")]
    return Alignment(words, phones, 2.0456, speaker, flags, {"héllo": ["HH", "AH0"]})


def _check_cover(intervals, duration):
    assert intervals[0][0] == 0
    assert intervals[-1][1] == pytest.approx(duration)
    for (s0, e0), (s1, e1) in zip(intervals, intervals[1:]):
        assert e0 == pytest.approx(s1) and s0 < e0


def test_parse_formats():
    assert parse_formats("TextGrid, json,json") == ["textgrid", "json"]
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        parse_formats("textgrid,xml")


def test_output_paths(tmp_path):
    names = [p.name for p in output_paths(tmp_path / "a b", ["textgrid", "ctm", "json", "csv"])]
    assert names == ["a b.TextGrid", "a b.ctm", "a b.phones.ctm", "a b.json", "a b.csv"]


def test_single_speaker_round_trip(tmp_path):
    a = _alignment()
    written = write_outputs(a, tmp_path / "utt", ["textgrid", "ctm", "json", "csv"])
    assert all(p.exists() for p in written) and len(written) == 5
    labelled = lambda ivs: [(i.start, i.end, i.label) for i in ivs if i.label]
    expected_words = [(0.2, 0.5, "héllo"), (0.9, 1.3, "world")]

    (back,) = read_textgrid(tmp_path / "utt.TextGrid")
    assert labelled(back.words) == expected_words
    assert [p.label for p in back.phones] == ["HH", "AH0", "W", "ER1"]

    tg = tgpkg.TextGrid.fromFile(str(tmp_path / "utt.TextGrid"))
    assert [t.name for t in tg.tiers] == ["words", "phones"]
    for tier in tg.tiers:
        _check_cover([(i.minTime, i.maxTime) for i in tier], 2.0456)  # the exact duration
    assert [i.mark for i in tg.tiers[0]] == ["", "héllo", "", "world", ""]

    (j,) = read_json(tmp_path / "utt.json")
    assert labelled(j.words) == expected_words and j.words[0].confidence == 0.9
    data = json.loads((tmp_path / "utt.json").read_text(encoding="utf-8"))
    assert data["end"] == 2.0456 and data["tiers"]["phones"]["type"] == "interval"
    assert data["flags"][0]["kind"] == "long_word" and data["unknown_words"]["héllo"]

    (c,) = read_csv(tmp_path / "utt.csv")
    assert labelled(c.words) == expected_words
    rows = list(csv.DictReader(open(tmp_path / "utt.csv", encoding="utf-8")))
    assert list(rows[0]) == ["Begin", "End", "Label", "Type", "Speaker", "Confidence", "Flags",
                             "Word"]
    assert [r["Flags"] for r in rows if r["Type"] == "words"] == ["", "long_word"]
    # each phone's word, as the JSON's "word": hello's phones, then world's
    assert [r["Word"] for r in rows if r["Type"] == "words"] == ["0", "1"]
    assert [r["Word"] for r in rows if r["Type"] == "phones"] == ["0", "0", "1", "1"]

    ctm = read_ctm(tmp_path / "utt.ctm")
    assert [(i.start, i.end, i.label) for i in ctm["utt"]] == expected_words
    phones = read_ctm(tmp_path / "utt.phones.ctm")["utt"]
    assert [i.label for i in phones] == ["HH", "AH0", "W", "ER1"]
    line = (tmp_path / "utt.ctm").read_text(encoding="utf-8").splitlines()[0].split()
    assert line == ["utt", "1", "0.200", "0.300", "héllo", "0.9"]


def test_several_speakers_use_mfa_tier_names(tmp_path):
    both = [_alignment("alice"), _alignment("bob", offset=0.5)]
    write_outputs(both, tmp_path / "talk", ["textgrid", "json", "csv", "ctm"])
    tg = tgpkg.TextGrid.fromFile(str(tmp_path / "talk.TextGrid"))
    assert [t.name for t in tg.tiers] == ["alice - words", "alice - phones", "bob - words",
                                         "bob - phones"]
    for tier in tg.tiers:
        _check_cover([(i.minTime, i.maxTime) for i in tier], 2.0456)  # the exact duration
    assert {a.speaker for a in read_textgrid(tmp_path / "talk.TextGrid")} == {"alice", "bob"}
    assert {a.speaker for a in read_json(tmp_path / "talk.json")} == {"alice", "bob"}
    assert {a.speaker for a in read_csv(tmp_path / "talk.csv")} == {"alice", "bob"}
    assert set(read_ctm(tmp_path / "talk.ctm")) == {"talk-alice", "talk-bob"}


def test_times_are_rounded_to_milliseconds(tmp_path):
    a = Alignment([Interval(0.12345, 0.98765, "x", 0.5)], [Interval(0.12345, 0.98765, "AH0")],
                  1.23456)
    write_outputs(a, tmp_path / "r", ["json", "textgrid"])
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["tiers"]["words"]["entries"][0][:2] == [0.123, 0.988]
    assert data["end"] == 1.23456  # the recording's end is exact: no tier outlasts the audio


def test_json_entries_are_mfas_three_items_with_confidences_beside_them(tmp_path):
    """MFA writes `[start, end, label]`; a fourth item broke code that unpacks three. The
    confidences are a list beside the entries, read back onto them; the four-item entries that
    earlier versions wrote still read."""
    a = Alignment([Interval(0.1, 0.5, "hello", 0.25)],
                  [Interval(0.1, 0.3, "HH", 0.5), Interval(0.3, 0.5, "spn")], 0.8)
    write_outputs(a, tmp_path / "r", ["json"])
    data = json.loads((tmp_path / "r.json").read_text())
    for name in ("words", "phones"):
        for start, end, label in data["tiers"][name]["entries"]:  # MFA's unpacking
            assert start < end and label
    assert data["tiers"]["phones"]["confidence"] == [0.5, None]
    back = read_json(tmp_path / "r.json")[0]
    assert [(p.label, p.confidence) for p in back.phones if p.label] == [("HH", 0.5), ("spn", None)]
    assert [w.confidence for w in back.words if w.label] == [0.25]
    old = {"start": 0.0, "end": 0.8, "tiers": {
        "words": {"type": "interval", "entries": [[0.1, 0.5, "hello", 0.25]]},
        "phones": {"type": "interval", "entries": [[0.1, 0.5, "HH", 0.5]]}}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert [w.confidence for w in read_json(tmp_path / "old.json")[0].words if w.label] == [0.25]
    from aligner.checks import Flag

    add_flag(tmp_path / "old.json", Flag("speaker_mismatch", "fits far worse"))  # a resumed run
    back = read_json(tmp_path / "old.json")[0]
    assert [w.confidence for w in back.words if w.label] == [0.25] and back.flags


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("partial")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_read_only_directory_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if (ro / "probe").exists() or _writable(ro):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(OutputError, match="not writable"):
            write_outputs(_alignment(), ro / "utt", ["textgrid"])
    finally:
        ro.chmod(0o700)


def _writable(path: Path) -> bool:
    try:
        (path / ".w").write_text("")
        (path / ".w").unlink()
        return True
    except OSError:
        return False


def test_missing_output_directories_are_created(tmp_path):
    write_outputs(_alignment(), tmp_path / "a" / "b" / "utt", ["csv"])
    assert (tmp_path / "a" / "b" / "utt.csv").exists()


def test_transcript_textgrid(tmp_path):
    from praatio import textgrid

    tg = textgrid.Textgrid(0, 10)
    tg.addTier(textgrid.IntervalTier("alice", [(0.5, 2.0, "hello there"), (5, 6, "bye")], 0, 10))
    tg.addTier(textgrid.IntervalTier("bob", [(2.5, 4.0, "hi alice")], 0, 10))
    tg.save(str(tmp_path / "t.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    segs = read_transcript_textgrid(tmp_path / "t.TextGrid")
    assert [(s.speaker, s.start, s.end, s.text) for s in segs] == [
        ("alice", 0.5, 2.0, "hello there"), ("alice", 5.0, 6.0, "bye"),
        ("bob", 2.5, 4.0, "hi alice")]
    assert segs[1].source == f"{tmp_path / 't.TextGrid'} [alice 5.00s]"  # errors name it
    assert not any(s.whole for s in segs)
    (tmp_path / "bad.TextGrid").write_text("not a textgrid")
    with pytest.raises(FormatError, match="bad.TextGrid"):
        read_transcript_textgrid(tmp_path / "bad.TextGrid")


def test_praat_silence_labels_are_not_utterances(tmp_path):
    """Praat's "To TextGrid (silences)" labels `silent` and `sounding`; people type their
    sentences over the `sounding` intervals and leave the rest: the word "silent" was aligned
    three times, once on a real word."""
    from praatio import textgrid

    tg = textgrid.Textgrid(0, 6)
    tg.addTier(textgrid.IntervalTier("silences", [
        (0, 0.5, "silent"), (0.5, 2.0, "hello there"), (2.0, 2.6, "silent"), (2.6, 4.0, "sounding"),
        (4.0, 4.2, "SIL"), (4.2, 5.5, "bye now"), (5.5, 5.7, "silent"), (5.7, 6, "pause.")], 0, 6))
    tg.save(str(tmp_path / "s.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert [s.text for s in read_transcript_textgrid(tmp_path / "s.TextGrid")] == [
        "hello there", "bye now", "pause."]  # the word, as docs/usage.md says to write it


@pytest.mark.parametrize("head,kind", [
    (b"ooBinaryFile\x08TextGrid" + bytes(range(256)), "a binary TextGrid"),
    ('"Praat chronological TextGrid text file"\n0 2   ! Time domain.\n'.encode(), "a chronological TextGrid"),
    ('"Praat chronological TextGrid text file"\n'.encode("utf-16"), "a chronological TextGrid")])
def test_textgrids_only_praat_reads_say_how_to_save_them(tmp_path, head, kind):
    """Read as transcripts, they failed with `'utf-8' codec can't decode byte 0xe6` or `could
    not convert string to float: ''`; evaluate's reader said what to do for binary ones only."""
    path = tmp_path / "p.TextGrid"
    path.write_bytes(head)
    for read in (read_transcript_textgrid, lambda p: read_textgrid(p, tolerant=True)):
        with pytest.raises(FormatError, match=f"{kind} .*save it with \"Save as text file\""):
            read(path)


def test_a_tier_of_remarks_beside_the_speakers_is_not_aligned(tmp_path):
    """`notes` / `Comments` tiers (a clinician's remarks) were aligned as a third speaker,
    overlapping the others' turns; alone in the TextGrid, such a tier is the transcript."""
    from praatio import textgrid

    tg = textgrid.Textgrid(0, 4)
    tg.addTier(textgrid.IntervalTier("child", [(0.2, 1.5, "a red ball")], 0, 4))
    tg.addTier(textgrid.IntervalTier("Comments", [(0.2, 3.0, "points at the picture")], 0, 4))
    tg.addTier(textgrid.IntervalTier("notes", [(2.0, 3.0, "cough")], 0, 4))
    tg.addTier(textgrid.IntervalTier("clinician notes", [(3.0, 3.5, "pt tired")], 0, 4))
    tg.addTier(textgrid.IntervalTier("notes (SLP)", [(3.5, 3.9, "fast")], 0, 4))
    tg.save(str(tmp_path / "r.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert [(s.speaker, s.text) for s in read_transcript_textgrid(tmp_path / "r.TextGrid")] == [
        ("child", "a red ball")]
    alone = textgrid.Textgrid(0, 4)
    alone.addTier(textgrid.IntervalTier("Notes", [(0.2, 1.5, "a red ball")], 0, 4))
    alone.addTier(textgrid.IntervalTier("child - notes", [(2.0, 3.0, "silence")], 0, 4))
    alone.save(str(tmp_path / "n.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert [s.text for s in read_transcript_textgrid(tmp_path / "n.TextGrid")] == ["a red ball"]
    pauses = textgrid.Textgrid(0, 4)  # the other tier holds pauses only: the notes are it
    pauses.addTier(textgrid.IntervalTier("spk", [(0.0, 0.2, "sil")], 0, 4))
    pauses.addTier(textgrid.IntervalTier("child - notes", [(0.2, 1.5, "a red ball")], 0, 4))
    pauses.save(str(tmp_path / "p.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert [s.text for s in read_transcript_textgrid(tmp_path / "p.TextGrid")] == ["a red ball"]


def test_a_tier_named_chronological_is_no_chronological_textgrid(tmp_path):
    from praatio import textgrid

    tg = textgrid.Textgrid(0, 2)
    tg.addTier(textgrid.IntervalTier("chronological", [(0.2, 1.5, "hello there")], 0, 2))
    tg.save(str(tmp_path / "c.TextGrid"), format="short_textgrid", includeBlankSpaces=True)
    assert [s.text for s in read_transcript_textgrid(tmp_path / "c.TextGrid")] == ["hello there"]


def test_a_hand_labelled_textgrid_is_no_transcript(tmp_path):
    """praatio's and Parselmouth's examples name their tiers 'word'/'phone' or 'phonemes', emuR
    'Phonetic': each phone was aligned as an utterance, with errors about 0.07 s of audio."""
    from praatio import textgrid

    for names in (("word", "phone"), ("Text", "Phonetic"), ("words", "phonemes")):
        tg = textgrid.Textgrid(0, 2)
        tg.addTier(textgrid.IntervalTier(names[0], [(0.1, 0.5, "hello")], 0, 2))
        tg.addTier(textgrid.IntervalTier(names[1], [(0.1, 0.3, "h"), (0.3, 0.5, "o")], 0, 2))
        tg.save(str(tmp_path / "g.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
        with pytest.raises(FormatError, match=f"an alignment \\(a phones tier, '{names[1]}'\\), not a transcript"):
            read_transcript_textgrid(tmp_path / "g.TextGrid")
    tg = textgrid.Textgrid(0, 2)  # Praat's words-and-phones template, only the words typed in
    tg.addTier(textgrid.IntervalTier("words", [(0.1, 0.9, "hello there")], 0, 2))
    tg.addTier(textgrid.IntervalTier("phones", [], 0, 2))
    tg.save(str(tmp_path / "e.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert [s.text for s in read_transcript_textgrid(tmp_path / "e.TextGrid")] == ["hello there"]
    for name in ("segments", "Mau", "Mobile phone", "spk1_segments", "Speaker_phone"):
        tg = textgrid.Textgrid(0, 2)  # speaker tiers that only sound like phones: transcripts
        tg.addTier(textgrid.IntervalTier(name, [(0.1, 0.5, "hello there")], 0, 2))
        tg.save(str(tmp_path / "t.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
        assert [s.text for s in read_transcript_textgrid(tmp_path / "t.TextGrid")] == ["hello there"]


def test_a_transcript_textgrid_with_two_tiers_of_one_name_says_what_to_do(tmp_path):
    """praatio's error told a command-line user to pass `duplicateNamesMode='rename'` to its
    API."""
    from praatio import textgrid

    tg = textgrid.Textgrid(0, 2)
    tg.addTier(textgrid.IntervalTier("alice", [(0.1, 0.5, "hello there")], 0, 2))
    tg.save(str(tmp_path / "d.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    head, tier = (tmp_path / "d.TextGrid").read_text().split("item [1]:")
    (tmp_path / "d.TextGrid").write_text(head.replace("size = 1", "size = 2") + "item [1]:" + tier
                                         + "    item [2]:" + tier)
    with pytest.raises(FormatError, match="two tiers named 'alice': each speaker's tier needs"
                                          " a name of its own") as err:
        read_transcript_textgrid(tmp_path / "d.TextGrid")
    assert "duplicateNamesMode" not in str(err.value)


# ----------------------------------------------------------------------------------- subtitles
def test_srt_and_vtt_cues_of_words_or_of_lines_without_silence(tmp_path):
    written = write_outputs(_alignment(), tmp_path / "utt", ["srt", "vtt"], cues="words")
    assert [p.name for p in written] == ["utt.srt", "utt.vtt"]
    assert (tmp_path / "utt.srt").read_text(encoding="utf-8") == (
        "1\n00:00:00,200 --> 00:00:00,500\nhéllo\n\n"
        "2\n00:00:00,900 --> 00:00:01,300\nworld\n\n")
    assert (tmp_path / "utt.vtt").read_text(encoding="utf-8") == (
        "WEBVTT\n\n"
        "00:00:00.200 --> 00:00:00.500\nhéllo\n\n"
        "00:00:00.900 --> 00:00:01.300\nworld\n\n")
    # lines (the default): the two words, 0.4 s apart, are one cue; karaoke (WebVTT only)
    # stamps the second word's start inline, for pages that highlight each word as it is said
    write_outputs(_alignment(), tmp_path / "utt", ["srt", "vtt"])
    assert (tmp_path / "utt.srt").read_text(encoding="utf-8") == (
        "1\n00:00:00,200 --> 00:00:01,300\nhéllo world\n\n")
    assert (tmp_path / "utt.vtt").read_text(encoding="utf-8") == (
        "WEBVTT\n\n00:00:00.200 --> 00:00:01.300\nhéllo world\n\n")
    write_outputs(_alignment(), tmp_path / "utt", ["vtt"], cues="karaoke")
    assert (tmp_path / "utt.vtt").read_text(encoding="utf-8") == (
        "WEBVTT\n\n00:00:00.200 --> 00:00:01.300\nhéllo <00:00:00.900>world\n\n")
    with pytest.raises(ValueError, match="unknown cue kind 'sentences'"):
        write_outputs(_alignment(), tmp_path / "bad", ["textgrid", "srt"], cues="sentences")
    with pytest.raises(ValueError, match="karaoke cues need WebVTT"):
        write_outputs(_alignment(), tmp_path / "bad", ["textgrid", "vtt", "srt"], cues="karaoke")
    assert not list(tmp_path.glob("bad*"))  # refused before anything is written


def _words(*spec) -> list[Interval]:
    """Words from (label, start, end) triples."""
    return [Interval(start, end, label) for label, start, end in spec]


def test_line_cues_end_at_pauses_at_seven_seconds_and_at_two_lines():
    # a pause of 0.5 s ends a cue; 0.49 s does not
    a = Alignment(_words(("one", 0.0, 0.3), ("two", 0.79, 1.0), ("three", 1.5, 1.8)), [], 2.0)
    assert [c.text_lines for c in subtitle_cues(a)] == [["one two"], ["three"]]
    # a short cue stays up 0.8 s, as far as the next cue and the recording's end let it
    assert [(c.start, c.end) for c in subtitle_cues(a)] == [(0.0, 1.0), (1.5, 2.0)]
    quick = Alignment(_words(("yes", 1.0, 1.12), ("no", 1.7, 1.8)), [], 5.0)
    assert [(c.start, c.end) for c in subtitle_cues(quick)] == [(1.0, 1.7), (1.7, 2.5)]
    assert [(c.start, c.end) for c in subtitle_cues(quick, "words")] == [(1.0, 1.12), (1.7, 1.8)]
    # ... and long enough to read its characters at 17 a second
    said = "she sells sea shells by the sea shore today"  # 43 characters, said in 1.5 s
    fast = Alignment([Interval(0.15 * k, 0.15 * k + 0.15, w) for k, w in enumerate(said.split())], [], 9.0)
    (cue,) = subtitle_cues(fast)
    assert len(cue.text_lines) == 2 and cue.end == pytest.approx(
        sum(len(line) for line in cue.text_lines) / 17)
    # a cue lasts at most 7 s, however fluent the speech
    steady = Alignment([Interval(0.5 * k, 0.5 * k + 0.5, "la") for k in range(20)], [], 10.0)
    cues = subtitle_cues(steady)
    assert [len(c.text_lines[0].split()) for c in cues] == [14, 6]
    assert max(c.end - c.start for c in cues) <= 7.0
    # at most two lines of 42 characters, broken where the lines are most even
    words = "the quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat by the door".split()
    fluent = Alignment([Interval(0.25 * k, 0.25 * k + 0.25, w) for k, w in enumerate(words)], [], 6.0)
    cues = subtitle_cues(fluent)
    assert " ".join(line for c in cues for line in c.text_lines) == " ".join(words)  # none lost
    assert all(len(c.text_lines) <= 2 and all(len(line) <= 42 for line in c.text_lines) for c in cues)
    assert cues[0].text_lines == ["the quick brown fox jumps over the lazy",
                                  "dog while the cat sleeps on a warm mat by"]  # 39 and 41
    assert cues[1].text_lines == ["the door"]
    # a word longer than a line stands alone
    long = Alignment(_words(("a", 0.0, 0.2), ("x" * 50, 0.2, 1.0), ("b", 1.0, 1.2)), [], 2.0)
    assert [c.text_lines for c in subtitle_cues(long)] == [["a"], ["x" * 50], ["b"]]


def test_line_cues_keep_each_speaker_apart_in_time_order(tmp_path):
    alice = Alignment(_words(("so", 0.0, 0.3), ("anyway", 0.3, 0.8), ("yes", 3.0, 3.3)), [], 4.0, "alice")
    bob = Alignment(_words(("right", 0.5, 0.9), ("okay", 0.9, 1.2)), [], 4.0, "bob")
    cues = subtitle_cues([alice, bob])
    assert [(c.speaker, c.text_lines) for c in cues] == [
        ("alice", ["so anyway"]), ("bob", ["right okay"]), ("alice", ["yes"])]
    write_outputs([alice, bob], tmp_path / "talk", ["srt", "vtt"])
    assert "2\n00:00:00,500 --> 00:00:01,300\nbob: right okay\n" in (
        tmp_path / "talk.srt").read_text(encoding="utf-8")
    assert "<v bob>right okay\n" in (tmp_path / "talk.vtt").read_text(encoding="utf-8")
    # the "speaker: " prefix counts in its first line's 42 characters
    words = "the quick brown fox jumps over the lazy dog".split()  # 43 characters
    line = [Interval(0.2 * k, 0.2 * k + 0.2, w) for k, w in enumerate(words)]
    (alone,) = subtitle_cues(Alignment(line, [], 2.0))
    assert alone.text_lines == ["the quick brown fox", "jumps over the lazy dog"]
    talk = subtitle_cues([Alignment(line, [], 2.0, "interviewer"), Alignment([], [], 2.0, "guest")])
    assert all(len("interviewer: " + c.text_lines[0]) <= 42 for c in talk)
    # SubRip has no escapes: an arrow in a label would read as a timing line
    arrow = Alignment([Interval(0.0, 0.5, "a-->b")], [], 1.0, "x --> y")
    write_file([arrow, _alignment("bob")], tmp_path / "arrow.srt", "srt")
    assert [line for line in (tmp_path / "arrow.srt").read_text(encoding="utf-8").splitlines()
            if "--" in line and "," not in line] == []
    assert "x -> y: a->b" in (tmp_path / "arrow.srt").read_text(encoding="utf-8")


def test_vtt_karaoke_cue_stamps_every_word_after_the_first_within_the_cue(tmp_path):
    words = [Interval(0.3 * k + 0.1, 0.3 * k + 0.35, f"w{k}&") for k in range(12)]
    write_file(Alignment(words, [], 5.0), tmp_path / "x.vtt", "vtt", cues="karaoke")
    (cue,) = (tmp_path / "x.vtt").read_text(encoding="utf-8").split("\n\n")[1:-1]
    timing, *lines = cue.split("\n")
    assert timing == "00:00:00.100 --> 00:00:03.650" and len(lines) == 2
    stamps = [t for line in lines for t in re.findall(r"<(\d\d:\d\d:\d\d\.\d{3})>", line)]
    assert stamps == [subtitle_time(w.start, ".") for w in words[1:]]
    assert "00:00:00.100" < stamps[0] and stamps[-1] < "00:00:03.650"  # inside the cue, as WebVTT requires
    assert lines[0].startswith("w0&amp; <")


def test_subtitles_take_the_transcript_s_punctuation_and_end_cues_at_sentence_ends(tmp_path):
    from aligner.formats import written_words

    text = 'Dr. Smith said: "It\'s late." (Really?) Yes -- the U.S. team... won, 3-2!'
    labels = ["Dr.", "Smith", "said", "It's", "late", "Really", "Yes", "the", "U.S.", "team", "won", "3-2"]
    assert written_words(labels, text) == ["Dr.", "Smith", "said:", '"It\'s', 'late."', "(Really?)",
                                           "Yes --", "the", "U.S.", "team...", "won,", "3-2!"]
    # a dash breaking off a phrase stays with the word before it, spaced or not (subtitles had
    # "to him and painful to myself."); a cutoff's hyphen is the word's own
    assert written_words(["to", "him", "and", "painful", "to", "myself"],
                         "to him\u2014 and painful \u2013 to myself.") == [
        "to", "him\u2014", "and", "painful \u2013", "to", "myself."]
    assert written_words(["I", "w-", "went"], "I w- went") == ["I", "w-", "went"]
    # a label the text does not hold (rewritten, joined across a line) stays bare, and the
    # words after it still find theirs; a word is never found inside another
    assert written_words(["example", "of", "it"], "an exam-\nple of it.") == ["example", "of", "it."]
    assert written_words(["a", "cat", "sat"], "the cat sat.") == ["a", "cat", "sat."]
    # transcript codes between words are found as words are; a run of words not found is
    # outrun, so the words after it find theirs again
    coded = "Hello <unk> <unk> {LG} <unk> world. And more. Yes!"
    assert written_words(["Hello", "<unk>", "<unk>", "{LG}", "<unk>", "world", "And", "more", "Yes"],
                         coded)[5:] == ["world.", "And", "more.", "Yes!"]
    assert written_words(["Hello", "world", "And", "more", "Yes"], coded)[2:] == ["And", "more.", "Yes!"]
    # text in decomposed Unicode (labels are composed); CHAT codes glued to a word stay out
    decomposed = unicodedata.normalize("NFD", "Our café’s crème brûlée, naïve. Yes.")
    assert written_words(["Our", "café’s", "crème", "brûlée", "naïve", "Yes"], decomposed) == [
        "Our", "café’s", "crème", "brûlée,", "naïve.", "Yes."]
    assert written_words(["I", "want", "uh", "the", "ball", "um"], "I want &-uh the ball, um@fp.") == [
        "I", "want", "uh", "the", "ball,", "um"]
    # sentence ends end cues (not the full stop of Dr. or U.S.), in both SRT and WebVTT
    words = [Interval(0.3 * k, 0.3 * k + 0.3, w) for k, w in enumerate(labels)]
    a = Alignment(words, [], 4.0, text=text)
    assert [c.text_lines for c in subtitle_cues(a)] == [
        ['Dr. Smith said: "It\'s late."'], ["(Really?)"], ["Yes -- the U.S. team... won, 3-2!"]]
    assert [c.text_lines for c in subtitle_cues(a, "words")][:2] == [["Dr."], ["Smith"]]
    write_outputs(a, tmp_path / "p", ["srt", "vtt", "textgrid"])
    assert "\n(Really?)\n" in (tmp_path / "p.srt").read_text(encoding="utf-8")
    assert '"It\'s late."' in (tmp_path / "p.vtt").read_text(encoding="utf-8")
    assert "(Really" not in (tmp_path / "p.TextGrid").read_text(encoding="utf-8")  # tiers stay bare


def test_subtitle_times_escaping_and_speakers(tmp_path):
    assert subtitle_time(3723.0456, ",") == "01:02:03,046"
    assert subtitle_time(59.9996, ".") == "00:01:00.000"
    a = Alignment([Interval(0.0, 1.0, "a<b"), Interval(3600.5, 3601.25, "R&D")], [], 3700.0)
    write_outputs(a, tmp_path / "x", ["vtt", "srt"])
    vtt = (tmp_path / "x.vtt").read_text(encoding="utf-8").split("\n\n")
    assert vtt[1:3] == ["00:00:00.000 --> 00:00:01.000\na&lt;b",
                        "01:00:00.500 --> 01:00:01.300\nR&amp;D"]  # up 0.8 s
    assert "01:00:00,500 --> 01:00:01,300\nR&D" in (tmp_path / "x.srt").read_text(encoding="utf-8")
    # transcript codes are no words for a viewer (players took <unk> for a tag, {LG} for a
    # style override); a sound described in square brackets stays, as SDH subtitles write it
    coded = Alignment([Interval(0.0, 0.5, "<unk>"), Interval(0.5, 0.8, "{LG}"),
                       Interval(0.8, 1.2, "[laughter]"), Interval(1.2, 1.5, "yes")], [], 2.0)
    for cues in ("lines", "words"):
        write_outputs(coded, tmp_path / "c", ["srt", "vtt"], cues=cues)
        for name in ("c.srt", "c.vtt"):
            text = (tmp_path / name).read_text(encoding="utf-8")
            assert "unk" not in text and "LG" not in text and "[laughter]" in text and "yes" in text
    both = [_alignment("alice"), _alignment("bob", offset=0.5)]
    write_outputs(both, tmp_path / "talk", ["srt", "vtt"], cues="words")
    srt = (tmp_path / "talk.srt").read_text(encoding="utf-8")
    assert [line for line in srt.splitlines() if ":" in line and "-->" not in line] == [
        "alice: héllo", "bob: héllo", "alice: world", "bob: world"]  # time order
    assert "<v bob>world" in (tmp_path / "talk.vtt").read_text(encoding="utf-8")


def test_write_file_keeps_the_name_it_is_given(tmp_path):
    assert write_file(_alignment(), tmp_path / "Out.textgrid", "textgrid") == [tmp_path / "Out.textgrid"]
    assert write_file(_alignment(), tmp_path / "w.CTM", "ctm", "utt") == [
        tmp_path / "w.CTM", tmp_path / "w.phones.CTM"]
    assert (tmp_path / "w.CTM").read_text().startswith("utt 1 0.200")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Out.textgrid", "w.CTM", "w.phones.CTM"]
    assert parse_formats("srt,VTT") == ["srt", "vtt"]
    assert [p.name for p in output_paths(tmp_path / "a", ["srt", "vtt"])] == ["a.srt", "a.vtt"]


# ----------------------------------------------------------------------------------- tolerant readers
def test_strict_readers_refuse_what_tolerant_ones_read(tmp_path):
    plain = tmp_path / "g.json"
    plain.write_text(json.dumps({"words": [["hi", 0.1, 0.4]], "phones": [[0.1, 0.2, "HH"], [0.2, 0.4, "AY1"]]}))
    with pytest.raises(FormatError, match="g.json"):
        read_json(plain)
    (a,) = read_json(plain, tolerant=True)
    assert [(w.start, w.end, w.label) for w in a.words] == [(0.1, 0.4, "hi")]
    assert [p.label for p in a.phones] == ["HH", "AY1"] and a.duration == 0.4
    tsv = tmp_path / "g.tsv"
    tsv.write_text("0.1\t0.2\tHH\n0.2\t0.4\tAY1\n", encoding="utf-8")
    with pytest.raises(FormatError, match="header"):
        read_csv(tsv)
    (b,) = read_csv(tsv, tolerant=True)
    assert [p.label for p in b.phones] == ["HH", "AY1"] and not b.words
    bad = tmp_path / "bad.csv"
    bad.write_text("start,end,label\n0.1,0.2,a\n0.5,0.3,b\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad.csv:3: ends \(0.3\) before it starts"):
        read_csv(bad, tolerant=True)


def test_tolerant_textgrid_takes_other_tools_tier_names(tmp_path):
    from praatio import textgrid

    tg = textgrid.Textgrid(0, 1)
    tg.addTier(textgrid.IntervalTier("ORT-MAU", [(0.1, 0.5, "hallo")], 0, 1))
    tg.addTier(textgrid.IntervalTier("KAN-MAU", [(0.1, 0.5, "halo:")], 0, 1))
    tg.addTier(textgrid.IntervalTier("MAU", [(0.1, 0.3, "h"), (0.3, 0.5, "a")], 0, 1))
    tg.save(str(tmp_path / "m.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert read_textgrid(tmp_path / "m.TextGrid") == []  # strict: not our tiers (plot: a transcript)
    (a,) = read_textgrid(tmp_path / "m.TextGrid", tolerant=True)
    assert [w.label for w in a.words] == ["hallo"] and [p.label for p in a.phones] == ["h", "a"]
    other = textgrid.Textgrid(0, 1)
    other.addTier(textgrid.IntervalTier("notes", [(0.1, 0.5, "x")], 0, 1))
    other.save(str(tmp_path / "n.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(FormatError, match="no words or phones tier"):
        read_textgrid(tmp_path / "n.TextGrid", tolerant=True)


def test_whisperx_json_words_are_words_and_its_segments_are_not_phones(tmp_path):
    path = tmp_path / "wx.json"
    words = [{"word": "hello", "start": 0.1, "end": 0.4, "score": 0.9},
             {"word": "world", "start": 0.5, "end": 0.9, "score": 0.8}]
    path.write_text(json.dumps({"segments": [{"start": 0.1, "end": 0.9, "text": " hello world",
                                              "words": words}],
                                "word_segments": words, "language": "en"}), encoding="utf-8")
    (a,) = read_json(path, tolerant=True)
    assert [(w.start, w.end, w.label, w.confidence) for w in a.words] == [
        (0.1, 0.4, "hello", 0.9), (0.5, 0.9, "world", 0.8)]
    assert a.phones == []  # " hello world" is a sentence, not a phone
    path.write_text(json.dumps({"segments": [{"start": 0.1, "end": 0.2, "text": "HH"},
                                             {"start": 0.2, "end": 0.4, "text": "AY1"}]}))
    (b,) = read_json(path, tolerant=True)  # a segments tier of single symbols is still phones
    assert [p.label for p in b.phones] == ["HH", "AY1"]


@pytest.mark.parametrize("text", ['{"end": 1e400, "phones": [["AH", 0, 1]]}',
                                  '{"end": NaN, "phones": [["AH", 0, 1]]}',
                                  '{"phones": [["AH", 0, 1e400]]}'])
def test_json_with_infinite_times_is_a_format_error(tmp_path, text):
    path = tmp_path / "inf.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError, match="inf.json.*finite") as info:
        read_json(path, tolerant=True)
    assert "\n" not in str(info.value)


def test_textgrid_with_infinite_times_is_a_format_error(tmp_path):
    path = tmp_path / "inf.TextGrid"  # praatio refuses it; the tolerant fallback must too
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n1e400\n<exists>\n1\n'
                    '"IntervalTier"\n"phones"\n0\n1e400\n1\n0\n1e400\n"AH"\n', encoding="utf-8")
    with pytest.raises(FormatError, match="inf.TextGrid: times must be finite"):
        read_textgrid(path, tolerant=True)


def test_csv_field_over_the_csv_modules_limit_is_a_format_error(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text('start,end,label\n0.1,0.2,"' + "a" * 140_000 + '"\n', encoding="utf-8")
    with pytest.raises(FormatError, match="huge.csv: not a readable CSV/TSV file .*field limit"):
        read_csv(path, tolerant=True)


def test_files_without_an_alignments_shape_raise_not_alignment_error(tmp_path):
    """Reports and configs are told apart from broken alignments (evaluate skips the former)."""
    for name, text in (("report.csv", "utterance,status,reason\na,ok,\n"),
                       ("summary.json", json.dumps({"phones": {"mean_ms": 8.0}})),
                       ("list.json", "[1, 2]")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        reader = read_csv if name.endswith(".csv") else read_json
        with pytest.raises(NotAlignmentError, match=name):
            reader(tmp_path / name, tolerant=True)
    broken = tmp_path / "broken.csv"  # an alignment's header, a broken row: not that error
    broken.write_text("start,end,label\n0.1,zero,HH\n", encoding="utf-8")
    with pytest.raises(FormatError, match="broken.csv:2") as info:
        read_csv(broken, tolerant=True)
    assert not isinstance(info.value, NotAlignmentError)


def test_read_alignment_takes_any_format_by_suffix_and_pools_speakers(tmp_path):
    """One reader for any tool's file: the tolerant reader of its suffix, speakers (and a CTM's
    utterances) pooled in time order; an unknown suffix or a broken file is a FormatError that
    names the file and the formats read."""
    written = tmp_path / "two.json"
    write_file([_alignment("bob", offset=0.05), _alignment("alice")], written, "json")
    pooled = read_alignment(written)
    assert [w.label for w in pooled.words] == ["héllo", "héllo", "world", "world"]
    assert [w.start for w in pooled.words] == [0.2, 0.25, 0.9, 0.95]
    assert pooled.speaker is None and pooled.duration == pytest.approx(2.0456)
    plain = tmp_path / "g.tsv"
    plain.write_text("0.1\t0.2\tHH\n0.2\t0.4\tAY1\n", encoding="utf-8")
    assert [p.label for p in read_alignment(plain).phones] == ["HH", "AY1"]
    assert [w.label for w in read_alignment(plain, tier="words").words] == ["HH", "AY1"]
    ctm = tmp_path / "all.ctm"
    ctm.write_text("u2 1 0.50 0.20 world\nu1 1 0.10 0.20 hello\n", encoding="utf-8")
    by_utterance = read_utterances(ctm)
    assert set(by_utterance) == {"u1", "u2"} and by_utterance["u1"].duration == pytest.approx(0.3)
    assert [w.label for w in read_alignment(ctm).words] == ["hello", "world"]
    (tmp_path / "x.lab").write_text("hello", encoding="utf-8")
    with pytest.raises(FormatError, match=r"x.lab: not a TextGrid, JSON, CSV/TSV or CTM file; "
                                          r"evaluate reads TextGrid"):
        read_alignment(tmp_path / "x.lab")
    (tmp_path / "notes.csv").write_text("speaker,age\nann,30\n", encoding="utf-8")
    with pytest.raises(NotAlignmentError, match="notes.csv.*CSV/TSV"):
        read_alignment(tmp_path / "notes.csv")


def test_recording_flags_reach_the_csv_and_small_confidences_stay_above_zero(tmp_path):
    """A CSV user sees `transcript_mismatch` (a row of Type `recording`), also when a corpus
    run adds it afterwards; a confidence of 0.00042 is written as such in every format, not 0,
    and one of 0.0000097641 as 0.000009764 in the text columns (CSV, CTM), not `9.764e-06`,
    which `sort -n` reads as 9.764."""
    from aligner.formats import add_flag

    a = _alignment()
    a.words[1] = Interval(0.2, 0.5004, "héllo", 0.00042)
    a.words[3] = Interval(0.9, 1.3, "world", 0.0000097641)
    a.flags.insert(0, Flag("transcript_mismatch", "transcript fit 0.001 is very low"))
    write_outputs(a, tmp_path / "u", ["csv", "json", "ctm"])
    rows = list(csv.DictReader(open(tmp_path / "u.csv", encoding="utf-8")))
    assert (rows[0]["Type"], rows[0]["Flags"], rows[0]["Begin"], rows[0]["End"]) == (
        "recording", "transcript_mismatch", "0.000", "2.0456")
    assert next(r["Confidence"] for r in rows if r["Label"] == "héllo") == "0.00042"
    assert next(r["Confidence"] for r in rows if r["Label"] == "world") == "0.000009764"
    assert (tmp_path / "u.ctm").read_text().splitlines()[1].split()[-1] == "0.000009764"
    assert read_json(tmp_path / "u.json")[0].words[0].confidence == 0.00042
    assert read_ctm(tmp_path / "u.ctm")["u"][0].confidence == 0.00042
    back = read_csv(tmp_path / "u.csv")[0]  # the recording row is not an interval of a tier
    assert [w.label for w in back.words if w.label] == ["héllo", "world"]

    plain = _alignment()
    plain.flags = []
    write_outputs(plain, tmp_path / "v", ["csv"])
    add_flag(tmp_path / "v.csv", Flag("transcript_mismatch", "fit far below the speaker's"),
             plain.duration)
    add_flag(tmp_path / "v.csv", Flag("dominant_token", "x"))
    rows = list(csv.DictReader(open(tmp_path / "v.csv", encoding="utf-8")))
    assert [r["Type"] for r in rows].count("recording") == 1
    # the row spans the recording (the corpus run passes its duration), not its last word
    assert (rows[0]["End"], read_csv(tmp_path / "v.csv")[0].duration) == ("2.0456", 2.0456)
    assert float(rows[-1]["End"]) < 2.046
    assert rows[0]["Flags"] == "dominant_token;transcript_mismatch"
    assert len(read_csv(tmp_path / "v.csv")[0].phones) == 4
    # judged again (a run resumed after a kill): the flag is not added twice
    add_flag(tmp_path / "v.csv", Flag("transcript_mismatch", "fit far below the speaker's"))
    assert list(csv.DictReader(open(tmp_path / "v.csv", encoding="utf-8")))[0]["Flags"] == \
        "dominant_token;transcript_mismatch"
    write_outputs(plain, tmp_path / "v", ["json"])
    for _ in range(2):
        add_flag(tmp_path / "v.json", Flag("transcript_mismatch", "fit far below the speaker's"))
    assert [f.kind for f in read_json(tmp_path / "v.json")[0].flags] == ["transcript_mismatch"]


def test_our_json_gives_back_its_flags_and_transcript_fit(tmp_path):
    """read_json dropped both: a flagged alignment read back looked clean (fit None, no flags)."""
    one = _alignment()
    one.transcript_fit = 0.25
    one.flags.insert(0, Flag("transcript_mismatch", "transcript fit 0.25 is low"))
    write_outputs(one, tmp_path / "one", ["json"])
    (back,) = read_json(tmp_path / "one.json")
    assert back.transcript_fit == 0.25
    assert [str(f) for f in back.flags] == [str(f) for f in one.flags]
    word_flag = back.flags[1]
    assert (word_flag.kind, word_flag.tier, word_flag.start, word_flag.label) == (
        "long_word", "words", 0.9, "world")

    alice, bob = _alignment("alice"), _alignment("bob", offset=0.5)
    alice.transcript_fit, bob.transcript_fit, bob.flags = 0.5, 0.75, []
    write_outputs([alice, bob], tmp_path / "two", ["json"])
    found = {a.speaker: a for a in read_json(tmp_path / "two.json")}
    assert (found["alice"].transcript_fit, found["bob"].transcript_fit) == (0.5, 0.75)
    assert [f.kind for f in found["alice"].flags] == ["long_word"] and found["bob"].flags == []
    add_flag(tmp_path / "two.json", Flag("transcript_mismatch", "far below the speaker's"))
    found = {a.speaker: a for a in read_json(tmp_path / "two.json")}  # no speaker: the recording
    assert [f.kind for f in found["bob"].flags] == ["transcript_mismatch"]
    assert [f.kind for f in found["alice"].flags] == ["transcript_mismatch", "long_word"]


def test_our_json_gives_back_the_noise_margin_and_band_the_fit_was_judged_with(tmp_path):
    """The transcript fit is judged against limits that move with the background noise and the
    band (checks.judged_fit): read back without them, a fit of noisy or telephone audio was
    judged as if in quiet wideband audio. They are also what a user checks a recording by."""
    from aligner.checks import Thresholds, judged_fit

    one = _alignment()
    one.transcript_fit, one.noise_margin, one.band_edge = 0.004, 16.0371, 3437.6
    write_outputs(one, tmp_path / "one", ["json"])
    text = (tmp_path / "one.json").read_text(encoding="utf-8")
    assert '"noise_margin": 16.04' in text and '"band_edge": 3438' in text
    (back,) = read_json(tmp_path / "one.json")
    assert (back.noise_margin, back.band_edge) == (16.04, 3438.0)
    judged = judged_fit(back, Thresholds())
    assert judged != back.transcript_fit  # the allowances apply again
    assert judged == pytest.approx(judged_fit(one, Thresholds()), rel=1e-3)
    alice, bob = _alignment("alice"), _alignment("bob", offset=0.5)
    alice.noise_margin = 30.0  # bob's not measured: null, read back as None
    write_outputs([alice, bob], tmp_path / "two", ["json"])
    assert json.loads((tmp_path / "two.json").read_text(encoding="utf-8"))["noise_margin"] == {
        "alice": 30.0, "bob": None}  # every speaker a key
    found = {a.speaker: a for a in read_json(tmp_path / "two.json")}
    assert (found["alice"].noise_margin, found["bob"].noise_margin) == (30.0, None)
    plain = _alignment()
    write_outputs(plain, tmp_path / "plain", ["json"])
    assert read_json(tmp_path / "plain.json")[0].noise_margin is None


def test_json_names_a_single_recordings_speaker_as_the_csv_does(tmp_path):
    """A corpus run's speaker (its folder) is in the CSV's Speaker column; the JSON, which a web
    app reads alone, says it too, and it is read back; an alignment with no speaker has no
    key."""
    write_outputs(_alignment("george"), tmp_path / "g", ["json", "csv"])
    assert json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["speaker"] == "george"
    assert read_json(tmp_path / "g.json")[0].speaker == "george"
    assert {r["Speaker"] for r in csv.DictReader(open(tmp_path / "g.csv", encoding="utf-8"))} \
        == {"george"}
    write_outputs(_alignment(), tmp_path / "n", ["json"])
    assert "speaker" not in json.loads((tmp_path / "n.json").read_text(encoding="utf-8"))


def test_json_holds_the_transcript_as_typed_per_speaker(tmp_path):
    """The words tier has no punctuation or case; a tool showing a learner the sentence wants
    it as typed. One speaker: a string; several: one per speaker, every speaker a key (null
    for one without), so a reader need not test for the key; read back onto each."""
    one = _alignment()
    one.text = "Héllo, World!"
    write_outputs(one, tmp_path / "one", ["json"])
    assert json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))["text"] == \
        "Héllo, World!"
    assert read_json(tmp_path / "one.json")[0].text == "Héllo, World!"

    alice, bob = _alignment("alice"), _alignment("bob", offset=0.5)
    alice.text = "Héllo? World."
    write_outputs([alice, bob], tmp_path / "two", ["json"])
    assert json.loads((tmp_path / "two.json").read_text(encoding="utf-8"))["text"] == {
        "alice": "Héllo? World.", "bob": None}
    found = {a.speaker: a for a in read_json(tmp_path / "two.json")}
    assert (found["alice"].text, found["bob"].text) == ("Héllo? World.", None)
    write_outputs(_alignment(), tmp_path / "none", ["json"])  # not known: null
    assert json.loads((tmp_path / "none.json").read_text(encoding="utf-8"))["text"] is None


def test_json_read_back_keeps_the_unknown_words(tmp_path):
    """The words pronounced by rule, written pooled, come back on the speaker who said them
    (review 116: read back, `unknown_words` was empty, and writing it again lost them)."""
    write_outputs(_alignment(), tmp_path / "one", ["json"])
    assert read_json(tmp_path / "one.json")[0].unknown_words == {"héllo": ["HH", "AH0"]}
    alice, bob = _alignment("alice"), _alignment("bob", offset=0.5)
    bob.words[1] = Interval(0.7, 1.0004, "hullo", 0.9)
    bob.unknown_words = {"hullo": ["HH", "AH1", "L", "OW0"]}
    write_outputs([alice, bob], tmp_path / "two", ["json"])
    found = {a.speaker: a for a in read_json(tmp_path / "two.json")}
    assert found["alice"].unknown_words == {"héllo": ["HH", "AH0"]}
    assert found["bob"].unknown_words == {"hullo": ["HH", "AH1", "L", "OW0"]}


def test_json_already_parsed_is_read_as_the_file_is(tmp_path):
    """A service holds the JSON as a dict (a request body): read_json took paths only."""
    from aligner.formats import to_json_dict

    one = _alignment()
    one.transcript_fit, one.text = 0.25, "Héllo, world!"
    write_outputs(one, tmp_path / "one", ["json"])
    from_file = read_json(tmp_path / "one.json")
    from_dict = read_json(json.loads((tmp_path / "one.json").read_text(encoding="utf-8")))
    assert from_dict == from_file and from_dict[0].text == "Héllo, world!"
    assert read_json(to_json_dict(one))[0].words == from_file[0].words
    with pytest.raises(FormatError, match="<json>"):
        read_json({"tiers": {"words": {"entries": [[0.5, 0.2, "x"]]}}})


def test_json_says_which_word_each_phone_belongs_to(tmp_path):
    """Feedback on a word's sounds had to match phones to words by time."""
    two = [_alignment("alice"), _alignment("bob", offset=0.5)]
    write_outputs(two, tmp_path / "two", ["json"])
    tiers = json.loads((tmp_path / "two.json").read_text(encoding="utf-8"))["tiers"]
    for speaker in ("alice", "bob"):
        words, phones = tiers[f"{speaker} - words"], tiers[f"{speaker} - phones"]
        assert phones["word"] == [0, 0, 1, 1]
        assert [words["entries"][k][2] for k in phones["word"]] == ["héllo", "héllo", "world", "world"]
    assert [len(a.phones) for a in read_json(tmp_path / "two.json")] == [4, 4]  # read back as before
    lone = _alignment()
    lone.phones.append(Interval(1.5, 1.6, "S", 0.5))  # no word holds it
    write_outputs(lone, tmp_path / "lone", ["json"])
    tiers = json.loads((tmp_path / "lone.json").read_text(encoding="utf-8"))["tiers"]
    assert tiers["phones"]["word"] == [0, 0, 1, 1, None]


def test_csv_with_a_recording_row_gives_the_recording_duration(tmp_path):
    """Its `recording` row spans the recording: not the last word's end (1.3 s) but 2.0456 s."""
    a = _alignment()
    a.flags.insert(0, Flag("transcript_mismatch", "transcript fit 0.001 is very low"))
    write_outputs(a, tmp_path / "u", ["csv"])
    assert read_csv(tmp_path / "u.csv")[0].duration == 2.0456
    plain = _alignment()
    plain.flags = []
    write_outputs(plain, tmp_path / "v", ["csv"])  # no recording row: the file has no duration
    assert read_csv(tmp_path / "v.csv")[0].duration == 1.3


def test_a_flag_on_an_interval_that_is_not_written_reaches_the_csv(tmp_path):
    """`interval_beyond_audio` names a transcript interval past the end of the audio: no row
    of the words tier carries it, so it went missing from the CSV (JSON and the report had it).
    It has a `span` row of its own, with the interval's times."""
    a = _alignment()
    a.flags.append(Flag("interval_beyond_audio", "interval 2.1-2.5 s ends after the audio",
                        "words", 2.1, 2.5, "late"))
    write_outputs(a, tmp_path / "u", ["csv"])
    rows = list(csv.DictReader(open(tmp_path / "u.csv", encoding="utf-8")))
    assert [rows[0][k] for k in ("Type", "Begin", "End", "Flags")] == [
        "span", "2.100", "2.500", "interval_beyond_audio"]
    assert next(r for r in rows if r["Label"] == "world")["Flags"] == "long_word"  # still on its word
    assert sum("interval_beyond_audio" in r["Flags"] for r in rows) == 1


@pytest.mark.parametrize("seconds,text", [(3.0, "3.000"), (3.36, "3.360"), (1.8696875, "1.8696875"),
                                          (0.5, "0.500")])
def test_the_csv_recording_row_gives_three_decimals_at_least(seconds, text):
    from aligner.formats import exact_seconds

    assert exact_seconds(seconds) == text and float(text) == seconds


def test_a_csv_gold_lasts_to_its_last_row_a_pause_included(tmp_path):
    """A trailing unlabelled row (the pause after the last phone, as praatio's TSV exports
    have) was dropped with its time, so evaluate's silence share left that pause out."""
    path = tmp_path / "g.phones.tsv"
    path.write_text("0.0\t0.3\t\n0.3\t0.5\tm\n0.5\t0.9\tiy\n0.9\t1.6\t\n", encoding="utf-8")
    (a,) = read_csv(path, tolerant=True)
    assert a.duration == 1.6 and [p.label for p in a.phones if p.label] == ["m", "iy"]


def test_a_ctm_line_keeps_six_fields_whatever_the_names(tmp_path):
    """Only spaces were replaced in CTM ids: a tab or a newline in a file name split the line."""
    from aligner.alignment import Alignment, Interval
    from aligner.formats import write_ctm

    a = Alignment([Interval(0.0, 0.5, "new york")], [Interval(0.0, 0.5, "N")], 0.5)
    paths = write_ctm(a, tmp_path / "w.ctm", tmp_path / "p.ctm", "take\t2\nfinal cut")
    for path in paths:
        lines = path.read_text().splitlines()
        assert len(lines) == 1 and len(lines[0].split()) == 6, lines
        assert lines[0].startswith("take_2_final_cut 1 0.000 0.500 ")
    assert list(read_ctm(paths[0])) == ["take_2_final_cut"]


def test_a_ctm_with_a_byte_order_mark_keeps_its_first_utterance_id(tmp_path):
    """Saved by an editor that writes a BOM, the first id was read as '\\ufeffspkA-001'."""
    path = tmp_path / "all.ctm"
    path.write_bytes("\ufeffspkA-001 1 0.00 0.50 hi\nspkB-002 1 0.10 0.20 yo\n".encode("utf-8"))
    assert sorted(read_ctm(path)) == ["spkA-001", "spkB-002"]


def test_textgrid_tier_names_are_read_in_long_short_and_utf16_files(tmp_path):
    """`is_alignment_textgrid` decides what a run may replace, by pattern (no parse)."""
    from praatio import textgrid as ptg

    from aligner.formats import is_alignment_textgrid, textgrid_tier_names, write_textgrid

    tg = ptg.Textgrid()
    tg.addTier(ptg.IntervalTier('Ann "A"', [(0.1, 0.5, "hi")], 0, 1))
    tg.addTier(ptg.IntervalTier("bob", [(0.5, 0.9, "yo")], 0, 1))
    for fmt in ("long_textgrid", "short_textgrid"):
        path = tmp_path / f"{fmt}.TextGrid"
        tg.save(str(path), format=fmt, includeBlankSpaces=True)
        assert textgrid_tier_names(path) == ['Ann "A"', "bob"]
        assert not is_alignment_textgrid(path)
        utf16 = tmp_path / f"{fmt}16.TextGrid"
        utf16.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
        assert textgrid_tier_names(utf16) == ['Ann "A"', "bob"]
    ours = tmp_path / "ours.TextGrid"
    write_textgrid(Alignment([Interval(0.1, 0.5, "hi")], [Interval(0.1, 0.5, "HH")], 1.0), ours)
    assert is_alignment_textgrid(ours)
    assert not is_alignment_textgrid(tmp_path / "missing.TextGrid")
    for tiers in (["words"], ["words", "phones", "notes"], ["ORT-MAU", "MAU"]):  # made by hand
        other = ptg.Textgrid()
        for name in tiers:
            other.addTier(ptg.IntervalTier(name, [(0.1, 0.5, "hi")], 0, 1))
        other.save(str(tmp_path / "hand.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
        assert not is_alignment_textgrid(tmp_path / "hand.TextGrid"), tiers


def test_one_judgement_of_an_interval_for_align_and_validate():
    """validate measured an interval in floats, unclamped at 0 and without the states rule, and
    disagreed with align on 74 of 299 intervals of exactly 10 ms: both now ask this."""
    from aligner.formats import Segment, segment_problem

    n = 3 * 16000
    at = lambda start, end: Segment("x", "t.TextGrid [a 0.00s]", "a", start, end)
    assert "outside the audio (3.00 s)" in segment_problem(at(3.5, 4.0), 5, n)
    assert segment_problem(at(0.07, 0.08), 0, n) is None  # 10 ms: one frame, as align cuts it
    # measured from 0, not -1; the interval is short, not the 3 s of audio
    assert segment_problem(at(-1.0, 0.5), 20, n).startswith(
        "the interval is 500 ms long, too short")
    assert segment_problem(at(0.0, 1.0), 20, n) is None
    assert "needs 4 per phone" in segment_problem(at(0.0, 1.0), 28, n, states=4)
    assert segment_problem(Segment("x", "t.lab"), 20, n) is None  # the whole recording
    # 9 ms of audio with a plain transcript: no interval to blame, as the message said
    assert segment_problem(Segment("x", "t.lab"), 4, 144).startswith(
        "the audio is 9 ms long, too short")
    assert segment_problem(Segment("x", "t.lab"), 0, 159) == (
        "the audio is 9.9 ms long, shorter than one 10 ms frame")


def test_a_speakers_flag_lands_on_its_csv_row(tmp_path):
    """In a recording of several speakers a flag's tier is the output's (`bob - words`); the CSV
    matched only `words`, so every such flag fell to the recording row."""
    from aligner.checks import Flag, for_speaker

    words = [Interval(0.1, 0.5, "hello", 0.001)]
    bob = Alignment(words, [Interval(0.1, 0.5, "HH")], 1.0, "bob",
                    flags=[for_speaker(Flag("low_confidence", "word 'hello'", "words", 0.1, 0.5,
                                            "hello"), "bob")])
    ann = Alignment([Interval(0.6, 0.9, "yes")], [Interval(0.6, 0.9, "Y")], 1.0, "ann")
    (path,) = write_file([ann, bob], tmp_path / "two.csv", "csv")
    rows = list(csv.reader(open(path, encoding="utf-8")))
    (hello,) = [r for r in rows if r[2] == "hello"]
    assert hello[4] == "bob" and hello[6] == "low_confidence"
    assert not [r for r in rows if r[3] == "recording"]


def test_a_flag_on_a_stretch_no_entry_covers_keeps_its_times_in_the_csv(tmp_path):
    """An overlap of two speakers, a turn nobody transcribed or an interval past the end of the
    audio fell to the `recording` row, 0 to the end: a CSV reader lost where it was. Each now has
    a `span` row with its own times, which reading the CSV back leaves out of the tiers."""
    from aligner.checks import Flag

    a = _alignment()
    a.flags = [Flag("transcript_mismatch", "fit 0.001"),
               Flag("untranscribed_speech", "1.2 s of voiced speech", start=1.5, end=1.8),
               Flag("overlapping_speech", "overlaps ann's", "words", 0.25, 0.4)]
    (path,) = write_file(a, tmp_path / "u.csv", "csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    assert [(r["Type"], r["Begin"], r["End"], r["Flags"]) for r in rows[:3]] == [
        ("recording", "0.000", "2.0456", "transcript_mismatch"),
        ("span", "0.250", "0.400", "overlapping_speech"),
        ("span", "1.500", "1.800", "untranscribed_speech")]
    back = read_csv(path)[0]
    assert [w.label for w in back.words if w.label] == ["héllo", "world"]
    assert back.duration == a.duration


def test_outputs_are_written_all_or_none(tmp_path, monkeypatch):
    """On a full disk the JSON failed after the TextGrid was written: the TextGrid stayed, and a
    corpus run resumed later took the recording as done. The formats written are removed."""
    import aligner.formats as formats

    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(formats, "write_json", full)
    with pytest.raises(OSError, match="No space"):
        write_outputs(_alignment(), tmp_path / "u", ["textgrid", "csv", "json"])
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "v.phones.ctm").mkdir()  # CTM's second file cannot be written: not the first
    with pytest.raises(OSError):
        write_outputs(_alignment(), tmp_path / "v", ["textgrid", "ctm"])
    assert [p.name for p in tmp_path.iterdir()] == ["v.phones.ctm"]


def test_the_transcript_fit_is_written_to_four_significant_figures(tmp_path):
    """With all its digits the fit differed in its last ones between runs on 1 and 2 threads,
    so the same command's JSON could not be compared or hashed."""
    a = _alignment()
    a.transcript_fit = 0.049587552258847575
    (path,) = write_file(a, tmp_path / "u.json", "json")
    assert '"transcript_fit": 0.04959' in path.read_text(encoding="utf-8")


def test_a_transcript_file_with_html_is_refused_as_html_not_xml(tmp_path):
    """Two kinds of closed tag made a web page's text "XML, not a transcript"."""
    from aligner.formats import read_transcript_file
    from aligner.text.errors import TranscriptError

    path = tmp_path / "h.txt"
    path.write_text("The <b>passwords</b> you <i>entered</i>", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"h\.txt: transcript holds HTML \(<b>, </b>, <i>\)"):
        read_transcript_file(path)


@pytest.mark.parametrize("body,says", [
    ("garbage, not a textgrid\n",
     'does not start as a TextGrid does, with File type = "ooTextFile"'),
    ('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = nan\n'
     'tiers? <exists>\nsize = 1\nitem []:\n    item [1]:\n'
     '        class = "IntervalTier"\n        name = "a"\n'
     '        xmin = 0\n        xmax = nan\n        intervals: size = 1\n'
     '        intervals [1]:\n            xmin = 0\n            xmax = nan\n'
     '            text = "hello"\n', "a time is not a number: xmax = nan"),
    ('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 2\ntiers? <exists>\n'
     'size = 1\nitem []:\n    item [1]:\n        class = "IntervalTier"\n        name = "a"\n'
     '        xmin = 0\n        xmax = 2\n        intervals: size = 2\n'
     '        intervals [1]:\n            xmin = 0\n            xmax = 1.5\n'
     '            text = "hello"\n        intervals [2]:\n            xmin = 1\n'
     '            xmax = 2\n            text = "world"\n',
     "overlap in time: (0.0, 1.5, hello) and (1.0, 2.0, world)")])
def test_a_broken_transcript_textgrid_says_what_is_wrong_in_the_files_terms(tmp_path, body, says):
    """praatio's words were a parser's: "list index out of range" for a file that is no
    TextGrid, "Expected field in Textgrid missing." for a time written nan, and an overlap
    announced with a colon and then nothing (its second line, the intervals, was cut)."""
    from aligner.formats import read_transcript_textgrid

    path = tmp_path / "t.TextGrid"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        read_transcript_textgrid(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a readable TextGrid (") and says in message, message
    assert "\n" not in message
