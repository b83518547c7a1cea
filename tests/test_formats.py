"""aligner.formats: every writer's output parses back (TextGrids also with the independent
`textgrid` package), tiers cover the file without gaps or overlaps, writes are atomic."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import textgrid as tgpkg

from aligner.alignment import Alignment, Interval
from aligner.atomic import OutputError, atomic_open
from aligner.checks import Flag
from aligner.formats import (FormatError, output_paths, parse_formats, read_csv, read_ctm,
                             read_json, read_textgrid, read_transcript_textgrid, write_outputs)


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
        _check_cover([(i.minTime, i.maxTime) for i in tier], 2.046)
    assert [i.mark for i in tg.tiers[0]] == ["", "héllo", "", "world", ""]

    (j,) = read_json(tmp_path / "utt.json")
    assert labelled(j.words) == expected_words and j.words[0].confidence == 0.9
    data = json.loads((tmp_path / "utt.json").read_text(encoding="utf-8"))
    assert data["end"] == 2.046 and data["tiers"]["phones"]["type"] == "interval"
    assert data["flags"][0]["kind"] == "long_word" and data["unknown_words"]["héllo"]

    (c,) = read_csv(tmp_path / "utt.csv")
    assert labelled(c.words) == expected_words
    rows = list(csv.DictReader(open(tmp_path / "utt.csv", encoding="utf-8")))
    assert list(rows[0]) == ["Begin", "End", "Label", "Type", "Speaker", "Confidence", "Flags"]
    assert [r["Flags"] for r in rows if r["Type"] == "words"] == ["", "long_word"]

    ctm = read_ctm(tmp_path / "utt.ctm")
    assert [(i.start, i.end, i.label) for i in ctm["utt"]] == expected_words
    phones = read_ctm(tmp_path / "utt.phones.ctm")["utt"]
    assert [i.label for i in phones] == ["HH", "AH0", "W", "ER1"]
    line = (tmp_path / "utt.ctm").read_text(encoding="utf-8").splitlines()[0].split()
    assert line == ["utt", "1", "0.200", "0.300", "héllo", "0.900"]


def test_several_speakers_use_mfa_tier_names(tmp_path):
    both = [_alignment("alice"), _alignment("bob", offset=0.5)]
    write_outputs(both, tmp_path / "talk", ["textgrid", "json", "csv", "ctm"])
    tg = tgpkg.TextGrid.fromFile(str(tmp_path / "talk.TextGrid"))
    assert [t.name for t in tg.tiers] == ["alice - words", "alice - phones", "bob - words",
                                         "bob - phones"]
    for tier in tg.tiers:
        _check_cover([(i.minTime, i.maxTime) for i in tier], 2.046)
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
    assert data["end"] == 1.235


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
    assert [(s.speaker, s.start, s.text) for s in segs] == [
        ("alice", 0.5, "hello there"), ("alice", 5.0, "bye"), ("bob", 2.5, "hi alice")]
    (tmp_path / "bad.TextGrid").write_text("not a textgrid")
    with pytest.raises(FormatError, match="bad.TextGrid"):
        read_transcript_textgrid(tmp_path / "bad.TextGrid")
