"""A whole CHAT file (CLAN's .cha) as a transcript: main tiers only, timed by media bullets."""

from __future__ import annotations

import pytest
import soundfile as sf

from aligner.align import Aligner
from aligner.chat import is_chat_file, read_chat
from aligner.corpus import find_utterances, transcript_conflict
from aligner.formats import read_transcript_file
from aligner.text.errors import TranscriptError
from aligner.validate import chat_warnings
from conftest import speechlike

# As CLAN writes it: headers, dependent tiers, a continuation line, NAK-quoted bullets (ms).
CHA = ("@UTF8\n@Begin\n@Languages:\teng\n@Participants:\tPAR Participant, INV Investigator\n"
       "@ID:\teng|aphasia|PAR|62;|male|Broca||Participant|||\n@Media:\tkate, audio\n"
       "*PAR:\tkate got the tomato [: potato] [* p:w] . \x15200_1400\x15\n"
       "%mor:\tn:prop|Kate v|get&PAST det:art|the n|tomato .\n"
       "%gra:\t1|2|SUBJ 2|0|ROOT 3|4|DET 4|2|OBJ 5|2|PUNCT\n"
       "*INV:\tand then [/] then\n\twhat happened ? \x151500_2600\x15\n"
       "%com:\tpatient points\n"
       "*PAR:\t0 [=! points] . \x152600_2900\x15\n"
       "*PAR:\txxx &-um mark lived (1.5) in york . \x153000_4400\x15\n@End\n")


def test_a_cha_file_gives_its_main_tiers_timed_by_their_bullets(tmp_path):
    """Read as plain text, a whole .cha was aligned as words headers, %mor and all (`n:prop`,
    `det:art` among the unknown words), and failed as too short for its 360 phones."""
    path = tmp_path / "kate.cha"
    path.write_text(CHA, encoding="utf-8")
    segments = read_transcript_file(path)
    assert [(g.speaker, g.start, g.end) for g in segments] == [
        ("PAR", 0.2, 1.4), ("INV", 1.5, 2.6), ("PAR", 3.0, 4.4)]  # "0 ." is no speech
    assert segments[1].text == "*INV:\tand then [/] then what happened ?"  # continuation joined
    assert all("%mor" not in g.text and "\x15" not in g.text and "@" not in g.text
               for g in segments)
    assert segments[0].source == f"{path} [PAR 0.20s]"
    # the same text under a .txt name is read the same way: it is a CHAT file
    (tmp_path / "kate.txt").write_text(CHA, encoding="utf-8")
    same = [(g.text, g.speaker, g.start, g.end) for g in segments]
    assert [(g.text, g.speaker, g.start, g.end)
            for g in read_transcript_file(tmp_path / "kate.txt")] == same


def test_without_bullets_the_utterances_are_one_text_in_order_and_validate_warns(tmp_path):
    text = "@Begin\n*PAR:\tthe dog ran .\n%mor:\tdet|the n|dog v|run&PAST .\n*INV:\tand then ?\n"
    (whole,) = read_chat(text, "x.cha")
    assert whole.whole and whole.text == "*PAR:\tthe dog ran .\n*INV:\tand then ?"
    path = tmp_path / "x.cha"
    path.write_text(text, encoding="utf-8")
    warning, = chat_warnings(path, [whole])
    assert "*PAR:, *INV: share one tier" in warning
    path.write_text("@Begin\n*PAR:\tthe dog ran .\n", encoding="utf-8")
    assert chat_warnings(path, read_chat(path.read_text(), "x.cha")) == []
    # one bullet missing: no time for that turn, so none is timed, and validate says so
    part_text = "*PAR:\tthe dog . \x150_900\x15\n*PAR:\tit ran .\n"
    part = read_chat(part_text, "x.cha")
    assert len(part) == 1 and part[0].whole
    path.write_text(part_text, encoding="utf-8")
    assert chat_warnings(path, part) == [
        "1 of 2 CHAT utterances have no usable media bullet (start_end in ms): the file is "
        "aligned as one text, untimed; give each a bullet"]


def test_chat_as_text_exports_and_editors_write_it():
    """CRLF line ends, continuation lines indented with spaces (their words and bullet were
    dropped), bullets shown as U+2022 (left in the text) or glued to the terminator (read as a
    word)."""
    text = ("@Begin\r\n*PAR:\tthe dog\r\n    ran away . \u20220_900\u2022\r\n"
            "*INV:\tok.1000_1500\r\n@End\r\n")
    assert [(g.text, g.start, g.end) for g in read_chat(text, "x.cha")] == [
        ("*PAR:\tthe dog ran away .", 0.0, 0.9), ("*INV:\tok.", 1.0, 1.5)]


@pytest.mark.parametrize("text,chat", [
    (CHA, True),
    ("*PAR:\tthe dog ran .", False),  # one line of CHAT: the front-end reads its codes
    ("*PAR:\tthe dog .\n*INV:\tyes .", True),
    ("@Begin\n*CHI:\tmore juice .", True),
    ("the cat sat\non the mat *really*", False),
    ("Note: *PAR: is a code", False),
])
def test_what_is_a_chat_file(text, chat):
    assert is_chat_file(text) is chat


def test_a_cha_with_no_speech_is_one_clear_error(tmp_path):
    path = tmp_path / "empty.cha"
    path.write_text("@Begin\n@Participants:\tPAR Participant\n*PAR:\t0 .\n@End\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"empty\.cha: a CHAT file whose main tiers"):
        read_transcript_file(path)


def test_a_corpus_finds_a_cha_beside_its_recording_after_mfa_s_transcripts(tmp_path):
    (tmp_path / "pt01").mkdir()
    sf.write(tmp_path / "pt01" / "a.wav", speechlike(1.0), 16000)
    (tmp_path / "pt01" / "a.cha").write_text(CHA, encoding="utf-8")
    sf.write(tmp_path / "pt01" / "b.wav", speechlike(1.0), 16000)
    (tmp_path / "pt01" / "b.cha").write_text(CHA, encoding="utf-8")
    (tmp_path / "pt01" / "b.lab").write_text("the dog", encoding="utf-8")
    found = {u.name: u for u in find_utterances(tmp_path)}
    assert {n: u.transcript.name for n, u in found.items()} == {"pt01/a": "a.cha", "pt01/b": "b.lab"}
    # the CHAT file beside the .lab is not read: said, as for a .lab and a .txt
    assert "b.cha is a CHAT transcript too; using b.lab" in transcript_conflict(found["pt01/b"])
    assert transcript_conflict(found["pt01/a"]) is None


def test_each_chat_speaker_gets_tiers_of_their_own_words(tmp_path, tiny_model_dir):
    sf.write(tmp_path / "kate.wav", speechlike(4.6), 16000)
    (tmp_path / "kate.cha").write_text(CHA, encoding="utf-8")
    aligner = Aligner.load(tiny_model_dir)
    result = {a.speaker: a for a in aligner.align_speakers(tmp_path / "kate.wav",
                                                                  tmp_path / "kate.cha")}
    words = {spk: [w.label for w in a.words if w.label] for spk, a in result.items()}
    assert words == {"PAR": ["kate", "got", "the", "tomato", "xxx", "um", "mark", "lived", "in",
                             "york"],
                     "INV": ["and", "then", "then", "what", "happened"]}
    inv = [w for w in result["INV"].words if w.label]
    assert inv[0].start >= 1.5 - 1e-6 and inv[-1].end <= 2.6 + 1e-6  # inside its bullet


def test_chat_given_as_text_is_read_as_a_file_is(tmp_path, tiny_model_dir):
    """`text=` with a whole .cha's contents aligned its headers and %mor tiers as words."""
    sf.write(tmp_path / "kate.wav", speechlike(4.6), 16000)
    aligner = Aligner.load(tiny_model_dir)
    from_text = aligner.align_speakers(tmp_path / "kate.wav", text=CHA)
    words = {a.speaker: [w.label for w in a.words if w.label] for a in from_text}
    assert words["INV"] == ["and", "then", "then", "what", "happened"]
    assert "mor" not in words["PAR"] and "Begin" not in words["PAR"]
