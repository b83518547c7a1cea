"""aligner/checks.py: the flags that mark probably-wrong alignments. The rules on hand-made
alignments; then the plumbing: flags reach the summary, the JSON and CSV outputs and the corpus
report, are counted rather than listed when there are many, and `--strict` turns them into
failures; a wrong transcript is flagged by a model that can tell recordings apart (trained here
for a few seconds on espeak-ng speech: the tiny random model of conftest cannot)."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from cli_helpers import cli, outputs, write_pair
from conftest import EXAMPLE_WAV, speechlike

SHIPPED = EXAMPLE_WAV.parent.parent / "models" / "english" / "model.safetensors"


def _alignment(words, phones, duration):
    from aligner.alignment import Alignment, Interval

    return Alignment([Interval(*w) for w in words], [Interval(*p) for p in phones], duration)


def _three_words():
    """"hi you there", a phone each, 0.9 s: a transcript of three words for the fit's tests."""
    words = [(0.0, 0.3, "hi", 0.9), (0.3, 0.6, "you", 0.8), (0.6, 0.9, "there", 0.8)]
    phones = [(0.0, 0.3, "HH", 0.9), (0.3, 0.6, "Y", 0.8), (0.6, 0.9, "DH", 0.8)]
    return _alignment(words, phones, 0.9)


def test_the_mismatch_threshold_rises_in_background_noise_and_only_so_far():
    """A fit a little above the threshold passes in quiet (or with no margin measured) and is
    flagged where the pauses lie 15 dB below the words in the speech band; the allowance grows
    by e^0.05 per dB below 22 dB and stops at 15 dB; `judged_fit` is what the threshold sees."""
    import math
    from dataclasses import replace

    from aligner.checks import (NOISE_ALLOWANCE_FLOOR_DB, Thresholds, find_flags, judged_fit,
                                noise_allowance)

    th = Thresholds()
    assert noise_allowance(None) == 1.0 and noise_allowance(th.noise_allowance_from_db) == 1.0
    assert noise_allowance(40.0) == 1.0
    assert noise_allowance(20.0) == math.exp(2 * th.noise_allowance_per_db)
    assert noise_allowance(NOISE_ALLOWANCE_FLOOR_DB) == noise_allowance(3.0) > noise_allowance(16.0)
    assert noise_allowance(10.0, replace(th, noise_allowance_per_db=0.0)) == 1.0
    a = _three_words()
    a.transcript_fit = 1.2 * th.min_transcript_fit
    for margin, flagged in ((None, False), (30.0, False), (15.0, True)):
        a.noise_margin = margin
        mismatch = [f for f in find_flags(a) if f.kind == "transcript_mismatch"]
        assert bool(mismatch) == flagged, margin
        assert judged_fit(a) == a.transcript_fit / noise_allowance(margin)
    quiet = f"{th.min_transcript_fit:.3g} in quiet"
    assert "background noise" in mismatch[0] and quiet in mismatch[0]
    # a word's floor rises with the square of the allowance: 2 x 0.0013 at the most
    from aligner.checks import word_confidence_floor

    a.transcript_fit = 0.5 * th.min_word_confidence  # (any fit)
    a.words[1].confidence = 1.5 * th.min_word_confidence
    for margin, flagged in ((None, False), (40.0, False), (15.0, True), (5.0, True)):
        a.noise_margin = margin
        assert word_confidence_floor(a) == th.min_word_confidence * noise_allowance(margin) ** 2
        low = [f for f in find_flags(a) if f.kind == "low_confidence"]
        assert [f.label for f in low] == (["you"] if flagged else []), margin
        assert all("background noise" in f for f in low)  # said why: 0.002 is over 0.0013
    a.noise_margin = 15.0
    assert word_confidence_floor(a) == pytest.approx(2 * th.min_word_confidence, rel=0.02)
    a.transcript_fit = 0.5 * th.min_transcript_fit  # below it in quiet: no word of noise
    a.noise_margin = 40.0
    (mismatch,) = [f for f in find_flags(a) if f.kind == "transcript_mismatch"]
    assert "noise" not in mismatch


def test_the_mismatch_threshold_is_lower_in_narrow_band_audio():
    """A fit a little under the threshold is flagged in wideband audio (or where the band was
    not measured) and passes in audio recorded at 8 kHz (band edge 3.9 kHz), whose correct
    transcripts fit worse; below the lowered threshold it is flagged, saying why; with noise
    the two factors multiply; narrow_band_factor 1 turns it off."""
    from dataclasses import replace

    from aligner.checks import Thresholds, band_allowance, find_flags, judged_fit, noise_allowance

    th = Thresholds()
    assert band_allowance(None) == band_allowance(7000.0) == 1.0
    assert band_allowance(3900.0) == th.narrow_band_factor < 1
    a = _three_words()
    a.transcript_fit = 0.95 * th.min_transcript_fit
    for edge, flagged in ((None, True), (7000.0, True), (3900.0, False)):
        a.band_edge = edge
        assert bool([f for f in find_flags(a) if f.kind == "transcript_mismatch"]) == flagged
        assert judged_fit(a) == pytest.approx(a.transcript_fit / band_allowance(edge))
    assert [f.kind for f in find_flags(a, replace(th, narrow_band_factor=1.0))
            if f.kind == "transcript_mismatch"] == ["transcript_mismatch"]
    a.transcript_fit = 0.5 * th.min_transcript_fit
    (mismatch,) = [f for f in find_flags(a) if f.kind == "transcript_mismatch"]
    assert "narrow-band (telephone) audio" in mismatch and "background noise" not in mismatch
    a.noise_margin = 15.0
    assert judged_fit(a) == pytest.approx(
        a.transcript_fit / (noise_allowance(15.0) * th.narrow_band_factor))
    (mismatch,) = [f for f in find_flags(a) if f.kind == "transcript_mismatch"]
    assert "background noise and narrow-band" in mismatch
    from aligner.checks import parse_thresholds

    assert parse_thresholds(["narrow_band_factor=1"]).narrow_band_factor == 1.0
    for bad in ("0", "1.5"):  # never judged, or judged harder than wideband audio
        with pytest.raises(ValueError, match="narrow_band_factor"):
            parse_thresholds([f"narrow_band_factor={bad}"])


def test_a_last_word_stretched_over_words_left_out_is_flagged():
    """A transcript that stops short of what was said gives the rest to its last word: over
    max_last_word_stretch (0.33 s) more than its phones take at the recording's pace (median
    seconds per phone of its words) it is flagged; phrase-final lengthening within that is not,
    nor is spoken noise at the end (the word before it is the last said), nor a transcript of
    fewer than three words (no pace to measure)."""
    from aligner.checks import Thresholds, find_flags

    def recording(last_seconds: float, n: int = 4, tail: str = "for"):
        words, phones, t = [], [], 0.0
        for i in range(n):  # three-phone words at 0.08 s a phone
            words.append((t, t + 0.24, f"w{i}", 0.5))
            phones += [(t + 0.08 * k, t + 0.08 * (k + 1), "AH0", 0.5) for k in range(3)]
            t += 0.24
        words.append((t, t + last_seconds, tail, 0.5))
        step = last_seconds / 3
        phones += [(t + step * k, t + step * (k + 1), "spn" if tail.startswith("[") else "AO1",
                    0.5) for k in range(3)]
        return _alignment(words, phones, t + last_seconds + 0.2)

    kinds = lambda a: [f.kind for f in find_flags(a)]
    flagged = [f for f in find_flags(recording(0.93)) if f.kind == "stretched_last_word"]
    assert len(flagged) == 1 and flagged[0].label == "for"
    assert "0.69 s more than its 3 phone(s)" in flagged[0] and "missing from the end" in flagged[0]
    assert "stretched_last_word" not in kinds(recording(0.5))  # 0.26 s over: lengthening
    assert "stretched_last_word" not in kinds(recording(0.93, n=1))  # two words: no pace
    assert "stretched_last_word" not in kinds(recording(0.93, tail="[laughter]"))
    looser = Thresholds(max_last_word_stretch=0.8)
    assert "stretched_last_word" not in [f.kind for f in find_flags(recording(0.93), looser)]


def test_a_pause_inside_a_word_is_flagged_and_left_out_of_its_time():
    """A 1.5 s pause between a word's phones (a block, with --pauses-in-words) is flagged
    `pause_in_word` with its times and is no part of the word's time (`stretched_last_word`,
    `dominant_token`: neither fires), and a pause word's own silence (`{SL}`) is no pause
    inside a word."""
    from aligner.checks import Thresholds, find_flags

    words, phones = [], []
    for i in range(6):
        t = 0.2 * i
        words.append((t, t + 0.2, f"w{i}", 0.9))
        phones += [(t, t + 0.1, "AA1", 0.9), (t + 0.1, t + 0.2, "B", 0.9)]
    words.append((1.2, 3.0, "ball", 0.8))  # B [1.5 s block] AO L
    phones += [(1.2, 1.25, "B", 0.8), (1.25, 2.75, "", None), (2.75, 2.9, "AO1", 0.8),
               (2.9, 3.0, "L", 0.8)]
    flags = find_flags(_alignment(words, phones, 3.0))
    assert [f.kind for f in flags] == ["pause_in_word"], flags
    assert (flags[0].label, flags[0].start) == ("ball", 1.2) and "1.50 s pause at 1.25-2.75" in flags[0]
    assert find_flags(_alignment(words, phones, 3.0), Thresholds(max_pause_in_word=2.0)) == []
    # the same word with its vowel held over those 1.5 s instead: stretched
    phones[-3:] = [(1.25, 2.75, "AO1", 0.8), (2.75, 2.9, "AO1", 0.8), (2.9, 3.0, "L", 0.8)]
    kinds = {f.kind for f in find_flags(_alignment(words, phones, 3.0))}
    assert "stretched_last_word" in kinds and "pause_in_word" not in kinds
    # a pause word's silence is the word itself
    pause = _alignment([(0.0, 0.2, "hi", 0.9), (0.2, 1.0, "{SL}", None), (1.0, 1.2, "you", 0.9)],
                       [(0.0, 0.2, "HH", 0.9), (0.2, 1.0, "", None), (1.0, 1.2, "Y", 0.9)], 1.2)
    assert "pause_in_word" not in [f.kind for f in find_flags(pause)]


def test_flag_rules():
    from aligner.checks import Thresholds, find_flags

    # ten two-phone words of 0.2 s, then one stretched over 6 s with a 5.5 s phone
    words, phones = [], []
    for i in range(10):
        t = 0.2 * i
        words.append((t, t + 0.2, f"w{i}", 0.9))
        phones += [(t, t + 0.1, "AA1", 0.9), (t + 0.1, t + 0.2, "B", 0.9)]
    words.append((2.0, 8.0, "there", 0.8))
    phones += [(2.0, 7.5, "EH1", 0.8), (7.5, 8.0, "R", 0.8)]
    flags = find_flags(_alignment(words, phones, 8.0))
    kinds = [f.kind for f in flags]
    assert kinds == ["long_word", "long_phone", "dominant_token", "stretched_last_word"], kinds
    long_word = flags[0]
    assert (long_word.tier, long_word.label, long_word.start) == ("words", "there", 2.0)
    assert (flags[1].tier, flags[1].label) == ("phones", "EH1")
    assert flags[2].label == "there" and "of the speech time" in flags[2]
    # one word taking most of the speech without being over 4 s is still dominant
    words[-1], phones[-2:] = (2.0, 5.5, "there", 0.8), [(2.0, 2.9, "EH1", 0.8),
                                                        (2.9, 5.5, "R", 0.8)]
    assert "dominant_token" in [f.kind for f in find_flags(_alignment(words, phones, 5.5))]
    # low confidence everywhere: the transcript probably does not match
    c = Thresholds().min_word_confidence  # below it, whatever it is calibrated to
    low = _alignment([(0.0, 0.3, "hi", 0.4 * c), (0.3, 0.6, "you", 0.8 * c)],
                     [(0.0, 0.3, "HH", 0.4 * c), (0.3, 0.6, "Y", 0.8 * c)], 0.6)
    kinds = [f.kind for f in find_flags(low)]
    assert kinds.count("low_confidence") == 2 and "transcript_mismatch" in kinds
    good = _alignment([(0.0, 0.3, "hi", 0.9), (0.3, 0.6, "you", 0.8)],
                      [(0.0, 0.3, "HH", 0.9), (0.3, 0.6, "Y", 0.8)], 0.6)
    assert find_flags(good) == []


def _force_flag(monkeypatch, kind: str = "long_word"):
    """Make every alignment carry one flag of `kind` on its first word, and no other (plumbing
    test: the rules themselves are tested above; the tiny model may put a word in one of
    `speechlike`'s quiet troughs, which `words_in_silence` would flag)."""
    import aligner.align as align_mod
    from aligner.checks import Flag

    def flags(alignment, thresholds=None):
        w = next(w for w in alignment.words if w.label)
        return [Flag(kind, f"word '{w.label}' at {w.start:.3f}-{w.end:.3f} s lasts 9 s",
                     "words", w.start, w.end, w.label)]

    monkeypatch.setattr(align_mod, "find_flags", flags)
    monkeypatch.setattr(align_mod, "words_in_silence", lambda *args: [])


def _force_two_flags(monkeypatch):
    """Every alignment carries a long_word flag and a no_speech flag."""
    import aligner.align as align_mod
    from aligner.checks import Flag

    def flags(alignment, thresholds=None):
        w = next(w for w in alignment.words if w.label)
        return [Flag("long_word", f"word '{w.label}' lasts 9 s", "words", w.start, w.end, w.label),
                Flag("no_speech", "nobody speaks")]

    monkeypatch.setattr(align_mod, "find_flags", flags)


def test_no_speech_is_flagged_from_the_voicing_alone():
    from aligner.checks import Thresholds, find_flags

    words = [(0.1 * i, 0.1 * i + 0.1, f"w{i}", 0.5) for i in range(5)]
    phones = [(0.1 * i, 0.1 * i + 0.1, "AH0", 0.5) for i in range(5)]
    a = _alignment(words, phones, 1.0)
    assert [f.kind for f in find_flags(a)] == []  # not measured: nothing to say
    a.voiced_share = 0.5 * Thresholds().min_voiced_share
    assert [f.kind for f in find_flags(a)] == ["no_speech"]
    a.voiced_share = 2 * Thresholds().min_voiced_share
    assert [f.kind for f in find_flags(a)] == []


def test_a_speaker_tier_of_markup_alone_is_not_no_speech():
    """A speaker whose only interval is `[laughter]` (spoken noise) is rarely voiced: that is
    no sign of a wrong recording, and `--strict` discarded the others' words with it."""
    from aligner.checks import Thresholds, find_flags

    a = _alignment([(6.7, 7.1, "[laughter]", None)], [(6.7, 7.1, "spn", None)], 24.0)
    a.voiced_share = 0.0
    assert [f.kind for f in find_flags(a, Thresholds())] == []


def test_a_transcript_of_voiceless_sounds_alone_is_not_no_speech():
    """A held /s/ (an s/z ratio's "sss") or a "shh" has no voice by nature; a voiced sound
    beside them ("sss ah") still asks for some."""
    from aligner.checks import Thresholds, find_flags

    a = _alignment([(0.5, 2.0, "sss", 0.5)], [(0.5, 2.0, "S", 0.5)], 2.5)
    a.voiced_share = 0.0
    assert "no_speech" not in [f.kind for f in find_flags(a, Thresholds())]
    a = _alignment([(0.5, 2.0, "sss", 0.5), (2.0, 2.4, "ah", 0.5)],
                   [(0.5, 2.0, "S", 0.5), (2.0, 2.4, "AA1", 0.5)], 2.5)
    a.voiced_share = 0.0
    assert "no_speech" in [f.kind for f in find_flags(a, Thresholds())]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_a_recording_of_noise_is_flagged_no_speech(tmp_path):
    """An open microphone in a quiet room, aligned with a sentence: the model hears speech in
    steady noise, but nobody is voiced, and the flag says so (a `recording` row in the CSV)."""
    import numpy as np

    noise = (0.01 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32)
    wav, txt = write_pair(tmp_path, "room", noise, text="the quick brown fox jumps over the dog")
    result = cli(str(wav), str(txt), "-o", str(tmp_path / "out"), "-f", "json,csv")
    assert result.exit_code == 0 and "no_speech" in result.output
    data = json.loads((tmp_path / "out" / "room.json").read_text())
    assert any("no_speech" in str(f) for f in data["flags"])
    # the words lie on the noise: "pauses only 0.4 dB quieter than the words" said nothing more
    assert not any("noisy_audio" in str(f) for f in data["flags"])
    # steady noise varies little, so speech's statistics count in its normalisation
    # (model.NormPrior), and the sentence no longer fits it: normalised by itself the noise
    # fitted well enough to pass (0.008) and its best word had a confidence of 0.24
    assert any("transcript_mismatch" in str(f) for f in data["flags"])
    assert max(c for c in data["tiers"]["words"]["confidence"] if c is not None) < 0.01
    rows = list(csv.reader((tmp_path / "out" / "room.csv").open()))
    assert any(r[3] == "recording" and "no_speech" in r[6].split(";") for r in rows)


def test_voiced_outside_words_known_answers():
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import voiced_outside_words

    voiced = np.zeros(300, dtype=bool)
    voiced[[*range(10, 40), *range(100, 120), *range(125, 160), *range(200, 230)]] = True
    words = [Interval(0.0, 0.5, "a"), Interval(1.9, 2.4, "b")]
    # 1.00-1.20 and 1.25-1.60 s are one stretch (a 50 ms gap), 2.00-2.30 s is inside "b"
    assert voiced_outside_words(words, voiced) == pytest.approx((1.0, 1.6, 0.6, 1))
    assert voiced_outside_words([Interval(0.0, 3.0, "a")], voiced) is None
    # apart: 1.25-1.60 the longest; 1.00-1.20 is under UNCOVERED_MIN_SECONDS, not counted
    assert voiced_outside_words(words, voiced, bridge=0.01) == pytest.approx((1.25, 1.6, 0.35, 1))


def test_speech_in_a_long_pause_between_words_is_summed_over_the_pause():
    """Review 121: a sentence said twice was aligned across the two attempts, and what lay
    between came in pieces too short for `max_speech_outside`: summed over the pause, flagged."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import Thresholds, flag_kind, speech_in_pauses, voiced_outside_words

    speech = np.zeros(600, dtype=bool)
    for lo in (160, 220, 300):  # three 0.15 s pieces, 0.45 s in all, in a 2.5 s pause
        speech[lo: lo + 15] = True
    words = [Interval(0.5, 1.0, "how"), Interval(3.5, 4.0, "thank")]
    assert voiced_outside_words(words, speech).end - voiced_outside_words(words, speech).start < 0.9
    (flag,) = speech_in_pauses(words, speech)
    assert flag_kind(flag) == "speech_in_pause" and (flag.start, flag.end) == (1.0, 3.5)
    assert "0.5 s of speech lies in the 2.5 s pause at 1.00-3.50 s" in flag
    moved = speech_in_pauses(words, speech, offset=10.0)[0]  # a TextGrid interval at 10 s
    assert (moved.start, moved.end) == (11.0, 13.5) and "at 11.00-13.50 s" in moved
    assert speech_in_pauses(words, speech, Thresholds(max_speech_in_pause=0.5)) == []
    # a pause shorter than LONG_PAUSE is not looked into, however much speech it holds
    speech[100:150] = True
    assert speech_in_pauses([Interval(0.5, 1.0, "how"), Interval(2.0, 2.5, "thank")],
                            speech) == []


def test_voiced_outside_words_counts_every_stretch_not_only_the_longest():
    """A long recording whose last minute has no words: a dozen sentences outside the words,
    each in its own stretch. The flag said "1.7 s" (the longest) where 24 s were uncovered."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import find_flags, voiced_outside_words

    voiced = np.zeros(6000, dtype=bool)
    for k in range(12):  # 2 s of voice every 4 s from 10 s on
        voiced[1000 + 400 * k: 1200 + 400 * k] = True
    voiced[200:300] = True  # covered by the one word
    words = [Interval(1.9, 3.1, "said")]
    found = voiced_outside_words(words, voiced)
    assert found[:2] == pytest.approx((10.0, 12.0))
    assert found.total == pytest.approx(24.0) and found.stretches == 12
    a = _alignment([(1.9, 3.1, "said", 0.5)], [(1.9, 3.1, "S", 0.5)], 60.0)
    a.voiced_outside = found
    (flag,) = [f for f in find_flags(a) if f.kind == "untranscribed_speech"]
    assert "2.0 s of speech at 10.00-12.00 s" in flag and "24.0 s in all, in 12 stretches" in flag


def test_untranscribed_speech_rule():
    from aligner.alignment import Uncovered
    from aligner.checks import Thresholds, find_flags

    limit = Thresholds().max_speech_outside  # a text transcript's words: speech heard too
    a = _alignment([(0.1, 0.4, "hi", 0.5)], [(0.1, 0.4, "HH", 0.5)], 5.0)
    a.voiced_outside = Uncovered(1.0, 1.0 + 0.5 * limit)
    assert find_flags(a) == []
    a.voiced_outside = Uncovered(1.0, 1.1 + limit)
    (flag,) = find_flags(a)
    assert flag.kind == "untranscribed_speech" and "1.00-" in flag
    assert (flag.tier, flag.start) == ("", 1.0)  # the recording's, with its times


def test_speech_is_what_the_model_hears_as_some_phone():
    """A frame is heard as speech when blank and silence together are under 5% likely; a
    learner's quiet sentence left out of the transcript was voiced in only a third of its
    frames, and the model's ear finds the rest (`heard_speech`)."""
    import numpy as np

    from aligner.checks import heard_speech

    def frame(silence: float) -> list[float]:  # blank, silence, then 4 phone classes
        rest = (1.0 - silence - 0.001) / 4
        return np.log([0.001, silence] + [rest] * 4).tolist()

    lp = np.array([frame(0.9), frame(0.2), frame(0.06), frame(0.03), frame(0.0001)])
    assert heard_speech(lp).tolist() == [False, False, False, True, True]


def test_audible_frames_are_those_near_the_words_loudness():
    """What the model hears counts as speech only within 40 dB of the 90th percentile of the
    words' frames: white noise 60 dB under a sentence, after it, was heard as 20 s of speech."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import audible

    levels = np.array([-30.0] * 10 + [-70.0] * 5 + [-100.0] * 5)  # words, whisper, hiss
    words = [Interval(0.0, 0.1, "hello"), Interval(0.1, 0.12, "")]
    assert audible(levels, words, 0.01).tolist() == [True] * 15 + [False] * 5
    assert audible(levels, [], 0.01).sum() == 15  # no words: judged on all the frames


def test_merged_parts_count_only_stretches_long_enough():
    """Utterance intervals aligned apart are merged: only stretches of UNCOVERED_MIN_SECONDS or
    more add up (nine 0.1 s stretches and one of 0.98 s read "1.9 s in all, in 10 stretches")."""
    from aligner.align import _merge
    from aligner.alignment import Uncovered

    parts = []
    for k in range(10):
        a = _alignment([(k + 0.1, k + 0.4, "hi", 0.5)], [(k + 0.1, k + 0.4, "HH", 0.5)], 10.0)
        length = 0.98 if k == 4 else 0.1
        a.voiced_outside = Uncovered(k + 0.5, k + 0.5 + length, *((length, 1) if length >= 0.3 else ()))
        parts.append(a)
    merged = _merge(parts, 10.0, None).voiced_outside
    assert merged == pytest.approx((4.5, 5.48, 0.98, 1))


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_a_transcript_missing_its_end_is_flagged(tmp_path):
    """The example's first four words of its fifteen: the model aligns them, the rest of the
    speech is left to silence and still voiced; with the whole transcript no such flag."""
    from aligner.align import Aligner
    from conftest import EXAMPLE_TXT, EXAMPLE_WAV

    aligner = Aligner.load()
    full = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT.read_text())
    assert "untranscribed_speech" not in [f.kind for f in full.flags]
    short = aligner.align(EXAMPLE_WAV, "The passwords you entered")
    assert "untranscribed_speech" in [f.kind for f in short.flags]


def test_flags_reach_summary_json_csv_and_report(monkeypatch, tmp_path, tiny_model_dir):
    _force_flag(monkeypatch)
    audio, transcript = write_pair(tmp_path / "one", "clip", speechlike(2.0))
    result = cli(audio, transcript, "--model", tiny_model_dir, "-f", "json,csv")
    assert result.exit_code == 0, result.output
    assert "1 warning(s)" in result.stdout and "warnings: 1 long_word" in result.stdout
    assert "word 'hello'" in result.stdout  # a single flag is printed in full
    data = json.loads((tmp_path / "one" / "clip.json").read_text())
    assert [f["kind"] for f in data["flags"]] == ["long_word"]
    assert data["flags"][0]["label"] == "hello"
    rows = list(csv.DictReader(open(tmp_path / "one" / "clip.csv", encoding="utf-8")))
    assert [r["Flags"] for r in rows if r["Label"] == "hello" and r["Type"] == "words"] \
        == ["long_word"]

    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "u1", speechlike(1.5))
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 0 and "aligned, flagged" in result.stdout
    assert "1 long_word" in result.stdout
    (row,) = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert row["status"] == "flagged" and "long_word" in row["flags"]


def _force_many_flags(monkeypatch):
    """One long_word flag, then a low_confidence flag on every word: more than the summary
    prints in full."""
    import aligner.align as align_mod
    from aligner.checks import Flag

    def flags(alignment, thresholds=None):
        words = [w for w in alignment.words if w.label]
        out = [Flag("long_word", f"word '{words[-1].label}' lasts 9 s", "words", words[-1].start,
                    words[-1].end, words[-1].label)]
        return out + [Flag("low_confidence", f"word '{w.label}' at {w.start:.3f} s confidence "
                           "0.01", "words", w.start, w.end, w.label) for w in words]

    monkeypatch.setattr(align_mod, "find_flags", flags)
    monkeypatch.setattr(align_mod, "words_in_silence", lambda *args: [])  # as _force_flag


def _lines(text: str, start: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(start)]


def test_many_flags_are_counted_not_listed(monkeypatch, tmp_path, tiny_model_dir):
    """A long recording can carry hundreds of flags: the summary counts them per kind, prints a
    few examples (one of each kind first) and says where the full list is; --verbose prints
    them all; --strict-flags all counts them too before failing."""
    _force_many_flags(monkeypatch)
    audio, transcript = write_pair(tmp_path / "one", "clip", speechlike(2.0))  # 4 words: 5 flags
    result = cli(audio, transcript, "--model", tiny_model_dir, "-f", "textgrid,json")
    assert result.exit_code == 0, result.output
    assert "5 warning(s)" in result.stdout
    (counts,) = _lines(result.stdout, "warnings:")
    assert "1 long_word, 4 low_confidence" in counts and "clip.json" in counts
    examples = _lines(result.stdout, "warning:")
    assert len(examples) == 3 and "long_word" in examples[0] and "'hello'" in examples[1]
    assert len(json.loads((tmp_path / "one" / "clip.json").read_text())["flags"]) == 5

    result = cli(audio, transcript, "--model", tiny_model_dir)  # TextGrid only: no list
    assert "-f json or csv lists them all" in _lines(result.stdout, "warnings:")[0]
    result = cli(audio, transcript, "--model", tiny_model_dir, "--verbose")
    assert len(_lines(result.stdout, "warning:")) == 5 and "--verbose" not in result.stdout
    result = cli(audio, transcript, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0 and result.stdout == ""
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict-flags", "all", "-o",
                 tmp_path / "s")
    assert result.exit_code == 1 and "1 long_word, 4 low_confidence" in result.stderr
    assert "(--strict: long_word, low_confidence)" in result.stderr
    assert len(_lines(result.stderr, "flag:")) == 3 and not (tmp_path / "s").exists()


def test_corpus_summary_counts_flagged_utterances_as_aligned(monkeypatch, tmp_path,
                                                             tiny_model_dir):
    """'aligned 0 | flagged 2' read as if nothing was aligned: flagged utterances are counted
    as aligned, with how many of them have flags, the flags counted per kind."""
    _force_many_flags(monkeypatch)
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "u1", speechlike(1.5))
    write_pair(root, "u2", speechlike(1.5))
    write_pair(root, "bad", audio_bytes=b"not audio")
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 1, result.output
    (row,) = [line for line in result.stdout.splitlines() if line.count("│") == 6]
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["2", "2", "0", "1"]
    outcomes = {line.split("│")[1].strip(): line.split("│")[2].strip()
                for line in result.stdout.splitlines() if line.count("│") == 4}
    assert {k: outcomes[k] for k in ("bad", "u1", "u2")} == {
        "bad": "failed", "u1": "aligned, flagged", "u2": "aligned, flagged"}
    assert "2 aligned utterance(s) have flags" in result.stdout
    assert "2 long_word, 8 low_confidence" in result.stdout
    assert "u1: low_confidence" not in result.stdout
    assert (out / "u1.TextGrid").exists() and (out / "u2.TextGrid").exists()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--overwrite", "--verbose")
    assert len([line for line in result.stdout.splitlines() if "u1: low_confidence" in line]) == 4
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--overwrite", "-q")
    assert result.stdout == "" and _lines(result.stderr, "failed:")[0].startswith("failed: bad")
    # resumed: the table counts this run's work, the line says which flags are from before
    write_pair(root, "u3", speechlike(1.5))
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    (row,) = [line for line in result.stdout.splitlines() if line.count("│") == 6]
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["1", "1", "2", "1"]
    assert "3 aligned utterance(s) have flags (outputs written: 1 aligned in this run, 2 before" \
        in " ".join(result.stdout.split())


def test_strict_turns_flags_into_failures(monkeypatch, tmp_path, tiny_model_dir):
    """--strict refuses what doubts the alignment as a whole; a flag on one word (here
    long_word) is reported and the alignment written, unless --strict-flags names its kind."""
    _force_flag(monkeypatch, "untranscribed_speech")
    audio, transcript = write_pair(tmp_path / "one", "clip", speechlike(2.0))
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "clip.wav" in result.stderr and "(--strict: untranscribed_speech)" in result.stderr
    assert outputs(tmp_path / "one") == []
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_pair(root, "u1", speechlike(1.5))
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--strict", "-q")
    assert result.exit_code == 1 and "u1" in result.stderr
    (row,) = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert row["status"] == "failed" and "--strict" in row["reason"]
    assert outputs(out) == []

    _force_two_flags(monkeypatch)  # one refused, one only reported: told apart
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict", "-o", tmp_path / "t")
    assert result.exit_code == 1, result.output
    assert "flags --strict refuses: 1 no_speech; only reported: 1 long_word" in result.stderr
    assert "flag: no_speech" in result.stderr and "flag (only reported): long_word" in result.stderr

    _force_flag(monkeypatch, "noisy_audio")  # refused when named: the recording is flagged
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict-flags", "noisy_audio")
    assert result.exit_code == 1 and "clip.wav: the recording is flagged (--strict: noisy_audio)" \
        in " ".join(result.stderr.split()), result.output
    assert "probably wrong" not in result.stderr

    _force_flag(monkeypatch, "long_word")
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict")
    assert result.exit_code == 0 and "1 long_word" in result.stdout, result.output
    assert [p.name for p in outputs(tmp_path / "one")] == ["clip.TextGrid"]
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict-flags",
                 "default, long-word", "-o", tmp_path / "two")
    assert result.exit_code == 1 and "(--strict: long_word)" in result.stderr, result.output
    assert not (tmp_path / "two").exists()
    root, out = tmp_path / "corpus2", tmp_path / "out2"
    write_pair(root, "u1", speechlike(2.0))
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--strict", "-q")
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert row["status"] == "flagged" and row["flags"].startswith("long_word")
    assert [p.name for p in outputs(out)] == ["u1.TextGrid"]
    assert "none of a kind --strict refuses" in " ".join(
        cli(root, "-o", out, "--model", tiny_model_dir, "--strict", "--overwrite").stdout.split())


def test_strict_flags_names_known_kinds():
    """--strict-flags takes flag kinds as the outputs write them ('-' for '_' too), 'default'
    and 'all'; a kind it does not know is a usage error that lists the kinds."""
    from aligner.checks import FLAG_KINDS, STRICT_KINDS, parse_strict_flags

    assert parse_strict_flags("default") == STRICT_KINDS
    assert parse_strict_flags("all") == frozenset(FLAG_KINDS)
    assert parse_strict_flags("Low-Confidence,") == {"low_confidence"}
    assert STRICT_KINDS < frozenset(FLAG_KINDS) and "low_confidence" not in STRICT_KINDS
    for bad, needle in [("low_confidense", "unknown flag kind 'low_confidense'"),
                        (" , ", "at least one")]:
        with pytest.raises(ValueError, match=needle):
            parse_strict_flags(bad)


def test_flag_kinds_lists_every_kind_the_checks_raise():
    """--strict-flags accepts the kinds in FLAG_KINDS: a kind a check raises but the list lacks
    could never be refused by name (and one listed but never raised is a stale name)."""
    import re

    import aligner
    from aligner.checks import FLAG_KINDS

    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in Path(aligner.__file__).parent.rglob("*.py"))
    raised = set(re.findall(r'(?:Flag|_entry_flag)\(\s*"([a-z_]+)"', source))
    assert raised == set(FLAG_KINDS) and len(FLAG_KINDS) == len(set(FLAG_KINDS))


def test_strict_flags_is_a_usage_error_before_any_work(tmp_path, tiny_model_dir):
    audio, transcript = write_pair(tmp_path, "clip", speechlike(1.0))
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict-flags", "lowconf")
    assert result.exit_code == 2 and "--strict-flags: unknown flag kind 'lowconf'" in result.stderr
    assert "transcript_mismatch" in result.stderr and "Traceback" not in result.output
    assert outputs(tmp_path) == []
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict-flags", " Low-Confidense")
    assert result.exit_code == 2 and "unknown flag kind 'Low-Confidense'" in result.stderr
    result = cli(audio, transcript, "--model", tiny_model_dir, "--no-strict", "--strict-flags",
                 "all")  # a script spelling out --no-strict must not be overridden
    assert result.exit_code == 2 and "--no-strict and --strict-flags" in result.stderr
    assert outputs(tmp_path) == []
    result = cli(audio, transcript, "--model", tiny_model_dir, "--no-strict",
                 "--threshold", "min_transcript_fit=1")
    assert result.exit_code == 0 and "transcript_mismatch" in result.stdout, result.output


# ----------------------------------------------------------------------------- wrong transcript

MISMATCH_TEXTS = {"a": "she sells sea shells by the sea shore",
                  "b": "a good dog bit a big bad rat",
                  "c": "we owe you more money now"}


@pytest.fixture(scope="module")
def trained_model_dir(tmp_path_factory) -> Path:
    """A small OTTC model trained for a few seconds on three espeak-ng utterances: enough to
    know which phones are in which recording, so a wrong transcript shows in the confidence.
    (The tiny random model of conftest cannot tell; the shipped model is not needed.)"""
    import shutil

    import torch

    from aligner.align import Aligner
    from aligner.audio import load_audio
    from aligner.features import edge_padding, log_mel, pad_edges
    from aligner.model import AcousticModel, ModelConfig, save_model
    from aligner.ottc import ottc_loss
    from aligner.targets import build_targets
    from aligner.text.phones import phone_ids

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (this test synthesises its speech with it)")
    folder = tmp_path_factory.mktemp("mismatch")
    for key, text in MISMATCH_TEXTS.items():
        subprocess.run(["espeak-ng", "-w", str(folder / f"{key}.wav"), text], check=True)
        (folder / f"{key}.lab").write_text(text, encoding="utf-8")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = ModelConfig(fine_dim=32, dim=48, expand=1, blocks=2, dilations=[1, 2], dropout=0.0,
                      name="mismatch-test")
    model = AcousticModel(cfg)
    helper = Aligner(model)
    feats, targets = [], []
    for key, text in MISMATCH_TEXTS.items():
        wave = load_audio(folder / f"{key}.wav")  # as aligning gives it the model: espeak-ng
        wave = pad_edges(wave, *edge_padding(wave))  # starts speaking at its first sample
        feats.append(log_mel(torch.from_numpy(wave), cfg.feature_config))
        prepared = helper.prepare_text(text)
        targets.append(build_targets([phone_ids(p) for p in prepared.phones], cfg.sil_mass))
    n, t_max, s_max = len(feats), max(f.shape[0] for f in feats), max(len(t.tokens) for t in targets)
    x = torch.zeros(n, t_max, feats[0].shape[1])
    y = torch.ones(n, s_max, dtype=torch.long)
    beta = torch.zeros(n, s_max, dtype=torch.float64)
    for i, (f, t) in enumerate(zip(feats, targets)):
        x[i, : f.shape[0]], y[i, : len(t.tokens)], beta[i, : len(t.tokens)] = f, t.tokens, t.beta
    lengths = torch.tensor([f.shape[0] for f in feats])
    target_lengths = torch.tensor([len(t.tokens) for t in targets])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(200):
        log_probs, weight_logits = model(x, lengths)
        loss = ottc_loss(log_probs, weight_logits, y, lengths, target_lengths, beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    save_model(model.eval(), folder / "model")
    return folder


def test_mismatched_transcript_is_flagged(trained_model_dir, tmp_path):
    """Utterance A's audio with utterance B's text: aligned (an aligner always can) but flagged
    transcript_mismatch, in the summary, the JSON, the corpus report, and failed with --strict;
    the right transcript is not flagged."""
    data, model = trained_model_dir, trained_model_dir / "model"
    result = cli(data / "a.wav", data / "a.lab", "--model", model, "-o", tmp_path / "right.json")
    assert result.exit_code == 0 and "0 warning(s)" in result.stdout, result.output
    assert json.loads((tmp_path / "right.json").read_text())["flags"] == []

    result = cli(data / "a.wav", data / "b.lab", "--model", model, "-o", tmp_path / "wrong.json")
    assert result.exit_code == 0, result.output
    assert "transcript_mismatch" in result.stdout and "may not match the audio" in result.stdout
    flags = json.loads((tmp_path / "wrong.json").read_text())["flags"]
    assert "transcript_mismatch" in [f["kind"] for f in flags]

    result = cli(data / "a.wav", data / "b.lab", "--model", model, "--strict",
                 "-o", tmp_path / "strict.json")
    assert result.exit_code == 1 and "--strict" in result.stderr and "a.wav" in result.stderr
    assert not (tmp_path / "strict.json").exists()

    root, out = tmp_path / "corpus", tmp_path / "out"
    root.mkdir()
    for audio_key, text_key in (("a", "a"), ("b", "c"), ("c", "a")):
        (root / f"{audio_key}.wav").write_bytes((data / f"{audio_key}.wav").read_bytes())
        (root / f"{audio_key}.lab").write_text(MISMATCH_TEXTS[text_key], encoding="utf-8")
    result = cli(root, "-o", out, "--model", model, "-q")
    assert result.exit_code == 0, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    assert rows["a"]["status"] == "aligned" and rows["a"]["flags"] == ""
    for name in ("b", "c"):
        assert rows[name]["status"] == "flagged" and "transcript_mismatch" in rows[name]["flags"]



def test_a_word_of_four_phones_all_squeezed_is_flagged_and_shorter_or_longer_ones_are_not():
    from aligner.checks import Thresholds, find_flags

    th = Thresholds()
    words = [(0.0, 0.2, "blonter", 0.5), (0.2, 0.335, "and", 0.5), (0.35, 0.85, "cats", 0.5)]
    phones = [(0.0 + 0.05 * i, 0.05 + 0.05 * i, ph, 0.5) for i, ph in enumerate("B L AA1 N".split())]
    phones += [(0.2, 0.245, "AH0", 0.5), (0.245, 0.29, "N", 0.5), (0.29, 0.335, "D", 0.5)]
    phones += [(0.35 + 0.125 * i, 0.475 + 0.125 * i, ph, 0.5) for i, ph in enumerate("K AE1 T S".split())]
    flags = [f for f in find_flags(_alignment(words, phones, 0.85)) if f.kind == "squeezed_word"]
    assert [(f.label, f.tier, f.start) for f in flags] == [("blonter", "words", 0.0)]
    assert f"{1000 * th.squeezed_phone_seconds:.0f} ms or less" in flags[0]


def _read_aloud(n_words: int, poor: set[int], squeezed: set[int] = frozenset(),
                short: dict[int, float] | None = None, markup: set[int] = frozenset()):
    """`n_words` words of two phones, 0.3 s each, confidence 0.5; those in `poor` at 0.001,
    those in `squeezed` of four 40 ms phones (0.16 s), those in `short` of two 40 ms phones at
    the confidence given, those in `markup` spoken noise (`[noise]`, spn)."""
    short = short or {}
    words, phones, t = [], [], 0.0
    for k in range(n_words):
        if k in markup:
            phones.append((t, t + 0.3, "spn", 0.5))
            words.append((t, t + 0.3, "[noise]", 0.5))
            t += 0.3
            continue
        if k in squeezed:
            phones += [(t + 0.04 * i, t + 0.04 * (i + 1), "AH0", 0.5) for i in range(4)]
            length = 0.16
        elif k in short:
            phones += [(t, t + 0.04, "N", 0.5), (t + 0.04, t + 0.08, "UW1", 0.5)]
            length = 0.08
        else:
            phones += [(t, t + 0.15, "AA1", 0.5), (t + 0.15, t + 0.3, "B", 0.5)]
            length = 0.3
        words.append((t, t + length, f"w{k}", 0.001 if k in poor else short.get(k, 0.5)))
        t += length
    return _alignment(words, phones, t)


def test_a_dense_stretch_of_unheard_or_squeezed_words_is_flagged_as_unspoken_text():
    from aligner.checks import Thresholds, find_flags, parse_thresholds

    UNSPOKEN_POOR, UNSPOKEN_WINDOW = Thresholds().unspoken_poor, Thresholds().unspoken_window

    def unspoken(alignment, limits=Thresholds()):
        return [f for f in find_flags(alignment, limits) if f.kind == "unspoken_text"]

    # 30 words, five of them crammed in (two barely heard, three squeezed) around word 12
    (flag,) = unspoken(_read_aloud(30, poor={11, 13}, squeezed={12, 14, 15}))
    assert (flag.tier, flag.label) == ("", "")  # a stretch, as untranscribed_speech's
    assert flag.start == pytest.approx(0.3 * 11)
    assert flag.end == pytest.approx(0.3 * 11 + 0.3 + 0.16 + 0.3 + 2 * 0.16)
    assert "5 of the 5 words 'w11' ... 'w15' at 3.300-" in flag
    # words of two phones crammed into 80 ms count when poorly heard too, not when heard well
    assert unspoken(_read_aloud(30, poor={11}, short={12: 0.02, 13: 0.02, 14: 0.02}))
    assert not unspoken(_read_aloud(30, poor={11}, short={12: 0.2, 13: 0.2, 14: 0.2}))
    # markup between the words is no word: it does not thin them out
    assert unspoken(_read_aloud(30, poor={10, 12, 14, 16}, markup={11, 13, 15}))
    assert not unspoken(_read_aloud(14, poor=set(range(4)), markup={5, 6}))  # 12 words said
    # two such stretches far apart are two flags
    assert len(unspoken(_read_aloud(40, poor={3, 4, 5, 6, 30, 31, 33, 35}))) == 2
    # one fewer than UNSPOKEN_POOR in any window: scattered poor words, as in correct speech
    scattered = {k for k in range(0, 40, UNSPOKEN_WINDOW // 2)}
    assert not unspoken(_read_aloud(40, poor=scattered))
    assert not unspoken(_read_aloud(30, poor=set(range(10, 10 + UNSPOKEN_POOR - 1))))
    # a transcript of two windows or fewer is judged whole by transcript_mismatch instead
    assert not unspoken(_read_aloud(2 * UNSPOKEN_WINDOW, poor=set(range(2 * UNSPOKEN_WINDOW))))
    assert unspoken(_read_aloud(2 * UNSPOKEN_WINDOW + 1, poor=set(range(UNSPOKEN_POOR))))
    # its limits are --threshold's (a study of aphasia may want fewer such flags, or more)
    dense = _read_aloud(30, poor={11, 13}, squeezed={12, 14, 15})
    assert not unspoken(dense, parse_thresholds(["unspoken_poor=6"]))
    assert unspoken(dense, parse_thresholds(["unspoken_window=8", "unspoken_poor=5"]))
    assert not unspoken(_read_aloud(30, poor={11, 13}), parse_thresholds(["unspoken_window=0"]))
    assert unspoken(_read_aloud(30, poor={11, 13}), parse_thresholds(["unspoken_poor=2"]))
    assert not unspoken(_read_aloud(30, poor=set()), parse_thresholds(["unspoken_poor=0"]))
    heard = _read_aloud(30, poor=set(), short={k: 0.3 for k in range(8, 14)})  # short, heard
    assert not unspoken(heard)
    assert unspoken(heard, parse_thresholds(["unspoken_short_confidence=0.6"]))
    assert not unspoken(heard, parse_thresholds(["unspoken_short_confidence=0.6",
                                                 "unspoken_short_phone=0.03"]))
    with pytest.raises(ValueError, match="whole number"):
        parse_thresholds(["unspoken_window=5.5"])


def test_phones_by_word_is_the_phones_inside_each_word():
    """One pass over words and phones gives what asking every phone of every word gives."""
    import random

    from aligner.alignment import Interval
    from aligner.checks import phones_by_word

    rng = random.Random(0)
    for _ in range(300):
        t, words, phones = 0.0, [], []
        for k in range(rng.randint(0, 12)):
            t += rng.choice([0.0, 0.0, 0.1])  # words back to back, or a pause between
            start = t
            for _ in range(rng.randint(0, 4)):
                d = rng.choice([0.01, 0.03, 0.05])
                phones.append(Interval(round(t, 3), round(t + d, 3), "AA"))
                t += d
            t += 0.02 if t == start else 0.0
            words.append(Interval(round(start, 3), round(t, 3), f"w{k}"))
        inside = [[p for p in phones if p.start >= w.start - 1e-6 and p.end <= w.end + 1e-6]
                  for w in words]
        assert phones_by_word(words, phones) == inside


def test_a_recording_too_quiet_or_clipped_is_flagged():
    """The features are normalised, so a recording 70 dB too quiet, or clipped flat, aligns as
    if nothing were wrong: only the waveform tells, and a clinician wants to know."""
    import numpy as np

    from aligner.checks import CLIPPED_SHARE, QUIET_DBFS, recording_level

    voice = speechlike(2.0)
    voice = 0.5 * voice / np.abs(voice).max()
    assert recording_level(voice) == []
    (quiet,) = recording_level(voice * 10 ** ((QUIET_DBFS - 15) / 20) / 0.5)
    assert quiet.kind == "quiet_audio" and "-60 dBFS" in quiet and not quiet.tier
    (clipped,) = recording_level(np.clip(voice * 40, -1, 1))
    assert clipped.kind == "clipped" and "full scale" in clipped and "floating" not in clipped
    (beyond,) = recording_level(voice * 6.2)  # a float file scaled beyond 1.0: peak 3.10
    assert beyond.kind == "clipped" and "the peak is 3.10" in beyond
    assert "floating-point file scaled beyond 1.0, which is intact" in beyond
    edge = voice.copy()
    edge[: int(CLIPPED_SHARE * len(edge)) - 1] = 1.0  # just under the share: not clipped
    assert recording_level(edge) == []
    assert [f.kind for f in recording_level(np.zeros(100, dtype=np.float32))] == ["quiet_audio"]
    assert recording_level(np.zeros(0, dtype=np.float32)) == []
    # a muted input on a sound card's offset (-34 dBFS) is as quiet as one at zero; digital
    # silence beside it (zeros) is not a swing of the offset's size (review 119)
    muted = (voice * 10 ** ((QUIET_DBFS - 15) / 20) / 0.5 + 0.02).astype(np.float32)
    padded = np.concatenate([np.zeros(1600, np.float32), muted])
    for wave in (muted, padded):
        (quiet,) = recording_level(wave)
        assert quiet.kind == "quiet_audio" and "-60 dBFS" in quiet
    assert recording_level(voice + np.float32(0.02)) == []


@pytest.mark.parametrize("rate,gain", [(44100, 8), (8000, 30)])
def test_a_clipped_recording_at_another_rate_is_still_clipped(tmp_path, rate, gain):
    """Resampled to 16 kHz, a clipped recording's flat tops ring past 1.0 (to 1.1 from 44.1
    kHz, 2.4 from 8 kHz when clipped hard): 'full scale' stays 1.0. Judged against its own
    peak, as was tried so that a float file scaled beyond 1.0 would not be called clipped,
    these were missed (recipes/train/README.md section 4)."""
    import numpy as np
    import soundfile as sf

    from aligner.audio import load_audio
    from aligner.checks import recording_level

    voice = speechlike(2.0)
    t = np.arange(int(2.0 * rate)) / rate
    loud = np.interp(t, np.arange(len(voice)) / 16000, voice / np.abs(voice).max())
    path = tmp_path / "hot.wav"
    sf.write(path, np.clip(loud * gain, -1, 1), rate, subtype="PCM_16")
    wave = load_audio(path)
    assert np.abs(wave).max() > 1.0  # the ringing this is about
    assert [f.kind for f in recording_level(wave)] == ["clipped"]


def test_the_level_flags_reach_the_outputs(tmp_path, tiny_model_dir):
    import numpy as np
    import soundfile as sf

    audio = tmp_path / "quiet.wav"
    voice = speechlike(1.5)
    sf.write(audio, (voice / np.abs(voice).max() * 1e-3).astype(np.float32), 16000,
             subtype="PCM_24")  # -60 dBFS
    text = tmp_path / "quiet.txt"
    text.write_text("hello there", encoding="utf-8")
    result = cli(audio, text, "--model", tiny_model_dir, "-o", tmp_path / "q.json")
    assert result.exit_code == 0, result.output
    assert "quiet_audio" in result.output
    kinds = [f["kind"] for f in json.loads((tmp_path / "q.json").read_text())["flags"]]
    assert "quiet_audio" in kinds


def test_a_word_placed_on_silence_is_flagged():
    """A word whose loudest moment is 40 dB below the speech around it sat on a pause: a long
    file's decoding put "you" 8.6 s early on near-silence with no flag but low confidence,
    which many correct words share. Markup (no confidence) and words said softly pass."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import SILENT_WORD_DB, words_in_silence

    levels = np.full(3000, -90.0)  # 30 s of near-silence
    levels[100:300] = -20.0  # speech at 1-3 s
    levels[2500:2700] = -25.0  # and at 25-27 s
    words = [Interval(1.0, 1.5, "hello", 0.4), Interval(1.6, 2.9, "there", 0.3),
             Interval(2.95, 3.2, "soft", 0.05),  # its last frames are speech
             Interval(15.0, 15.3, "you", 0.056),  # in the long pause
             Interval(24.0, 24.4, "lost", 0.2),  # in the pause too, 0.6 s before speech
             Interval(5.0, 5.2, "[laughter]", None)]
    flags = words_in_silence(words, levels)
    assert [(f.kind, f.label, f.start) for f in flags] == [("word_in_silence", "you", 15.0),
                                                            ("word_in_silence", "lost", 24.0)]
    assert "65 dB quieter" in flags[1] and flags[1].tier == "words"
    levels[2400:2440] = -25.0 - SILENT_WORD_DB + 1  # quiet, but not that quiet
    assert [f.label for f in words_in_silence(words, levels)] == ["you"]
    levels[:] = -90.0
    levels[1500:1530] = -60.0  # 10 s and more from any louder sound: judged on its own
    assert words_in_silence(words[3:4], levels) == []
    assert words_in_silence([], levels) == [] and words_in_silence(words[:1], np.zeros(0)) == []


def test_a_word_placed_amid_a_long_break_is_flagged():
    """A long recording paused for two minutes of room tone: a long file's decoding put "Going to
    come" 60-95 s before they were said, amid the break, with no flag, because nothing within
    10 s of them was speech to compare with. Where nothing near is, the speech around is sought
    up to a minute away; a sound that far from any speech still passes."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import SILENT_WORD_FAR, words_in_silence

    rng = np.random.default_rng(0)
    levels = -65.0 + rng.normal(0, 2.0, 20000)  # 200 s of room tone at -65 dB
    levels[:2000] = -20.0  # speech up to 20 s
    levels[18000:] = -22.0  # and after 180 s
    words = [Interval(56.0, 56.3, "going", 0.1), Interval(65.0, 65.2, "to", 0.2),
             Interval(10.0, 10.4, "said", 0.3)]
    assert [f.label for f in words_in_silence(words, levels)] == ["going", "to"]
    far = words_in_silence([Interval(100.0, 100.3, "come", 0.1)], levels)
    assert far == [] and 100.0 - 20.0 > SILENT_WORD_FAR  # no speech within a minute: not judged
    for k in range(5000, 6000, 50):  # a question from the floor at 50-60 s, 10 dB over the room
        levels[k:k + 30] = -55.0
    question = [Interval(k / 100, (k + 30) / 100, "what", 0.3) for k in range(5000, 6000, 50)]
    assert words_in_silence(question, levels) == []  # speech, though 35 dB below the lecture


def test_a_word_on_the_background_of_a_noisy_recording_is_flagged():
    """In a recording whose background is only 23 dB below its speech (LibriSpeech's room
    noise) a word placed on a pause is never 40 dB quieter than the speech: "who" sat on the
    background, 3 dB above it, with no flag. Judged against the background too; a digit that
    fills its recording (as loud as all else there is) and digital silence are not."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import words_in_silence

    rng = np.random.default_rng(0)
    levels = -43.0 + rng.normal(0, 1.5, 500)  # 5 s of room noise at -43 dB
    levels[50:240] = -20.0  # speech at 0.5-2.4 s
    levels[270:480] = -22.0  # and at 2.7-4.8 s
    words = [Interval(0.5, 2.4, "confused", 0.3), Interval(2.45, 2.55, "who", 0.2),
             Interval(2.7, 3.0, "against", 0.3)]
    flags = words_in_silence(words, levels)
    assert [f.label for f in flags] == ["who"] and "background" in flags[0]
    levels[245:265] = -34.0  # said softly, 9 dB above the background: a word
    assert words_in_silence(words, levels) == []
    digit = np.full(40, -30.0)
    digit[5:35] = -24.0  # the word is most of the recording: its background is itself
    assert words_in_silence([Interval(0.05, 0.35, "zero", 0.5)], digit) == []
    zeros = np.full(300, -120.0)  # digital silence around speech: no background to judge by
    zeros[100:200] = -20.0
    assert words_in_silence([Interval(1.0, 2.0, "hello", 0.5)], zeros) == []


def test_a_recording_flag_is_given_once_whatever_the_speakers(aligner):
    """quiet_audio concerns the recording: with two speakers it was on each one's alignment,
    and the report, which joins them, listed it twice."""
    import numpy as np

    from aligner.formats import Segment

    voice = speechlike(3.0)
    wave = (voice / np.abs(voice).max() * 1e-3).astype(np.float32)  # -60 dBFS
    segments = [Segment("hello there", "a", "alice", 0.1, 1.4), Segment("good day", "b", "bob", 1.6, 2.9)]
    alignments = aligner.align_waveform(wave, segments)
    assert len(alignments) == 2
    kinds = [getattr(f, "kind", "") for a in alignments for f in a.flags]
    assert kinds.count("quiet_audio") == 1


def test_overlapping_speech_finds_every_overlap_of_a_long_conversation():
    """Two speakers taking turns with a 0.2 s overlap at every change (an hour of them): every
    overlap found, the same pairs as comparing every pair, and 0.05 s ones not flagged."""
    from aligner.checks import _overlapping_pairs, overlapping_speech

    turns = [(i * 2.0, i * 2.0 + 2.2) for i in range(1800)]  # an hour of 2 s turns
    ann = turns[0::2]
    bob = [(a, b, "bob") for a, b in turns[1::2]]
    flags = overlapping_speech(ann, bob)
    assert len(flags) == 1799 and all(abs((f.end - f.start) - 0.2) < 1e-9 for f in flags)
    brute = [(x, y) for x in ann for y in [(a, b) for a, b, _ in bob]
             if min(x[1], y[1]) > max(x[0], y[0])]
    assert list(_overlapping_pairs(sorted(ann), sorted((a, b) for a, b, _ in bob))) == brute
    assert overlapping_speech([(0.0, 1.0)], [(0.95, 2.0, "bob")]) == []  # 0.05 s: a handover


def test_two_speakers_flags_say_whose_tier(tmp_path, tiny_model_dir):
    """The report and the terminal pool a recording's speakers: "interval ... not aligned" or
    "transcript fit 0.0008 is very low" did not say whose transcript to look at."""
    import soundfile as sf
    from praatio import textgrid

    from aligner.align import Aligner
    from conftest import speechlike

    sf.write(str(tmp_path / "talk.wav"), speechlike(6.0), 16000)
    long = "the quick brown fox jumps over the lazy dog near the riverbank every single morning"
    tg = textgrid.Textgrid(0, 6.0)
    tg.addTier(textgrid.IntervalTier("alice", [(0.3, 1.4, "hello there")], 0, 6.0))
    tg.addTier(textgrid.IntervalTier("bob", [(2.0, 3.2, "good morning"), (4.0, 4.2, long)], 0, 6.0))
    tg.save(str(tmp_path / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    alice, bob = Aligner.load(tiny_model_dir).align_speakers(tmp_path / "talk.wav",
                                                             tmp_path / "talk.TextGrid")
    (flag,) = [f for f in bob.flags if f.kind == "interval_not_aligned"]
    assert str(flag).startswith("interval_not_aligned: [bob] ") and (flag.start, flag.end) == (4.0, 4.2)
    assert all("[bob]" in str(f) for f in bob.flags if f.kind != "clipped")
    assert all(f.tier.startswith("bob - ") for f in bob.flags if f.tier)
    assert not any("[bob]" in str(f) for f in alice.flags)


def test_speech_outside_every_interval_of_a_textgrid_is_flagged(tmp_path, tiny_model_dir):
    """Each speaker's check looks inside their own intervals, so a turn left out of a TextGrid
    (an empty interval over 9 s of an interview) went unflagged, where the same audio with a
    text transcript is flagged `untranscribed_speech`."""
    import soundfile as sf
    from praatio import textgrid

    from aligner.align import Aligner
    from conftest import speechlike

    sf.write(str(tmp_path / "talk.wav"), speechlike(4.0), 16000)
    aligner = Aligner.load(tiny_model_dir)

    def flags(alice, bob):
        tg = textgrid.Textgrid(0, 4.0)
        tg.addTier(textgrid.IntervalTier("alice", [alice], 0, 4.0))
        tg.addTier(textgrid.IntervalTier("bob", [bob], 0, 4.0))
        tg.save(str(tmp_path / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
        out = aligner.align_speakers(tmp_path / "talk.wav", tmp_path / "talk.TextGrid")
        return [f for a in out for f in a.flags if f.kind == "untranscribed_speech"
                and "every interval" in str(f)]

    (gap,) = flags((0.0, 1.0, "hello there"), (2.5, 4.0, "good morning"))
    assert 1.0 <= gap.start <= 1.1 and 2.3 <= gap.end <= 2.5 and "turn missing" in str(gap)
    assert flags((0.0, 2.0, "hello there"), (2.0, 4.0, "good morning")) == []


def test_a_recording_that_ends_in_speech_is_flagged():
    """A clip cut before its last word ended (a corpus cut at the wrong times) aligned without a
    word: the last phones were squeezed into what was left. Voicing in its last 50 ms close to
    the level of its loud parts says so; speech that fades out, or a pause at the end, does not."""
    import numpy as np

    from aligner.checks import CUT_LEVEL_DB, ends_in_speech
    from aligner.features import frame_levels, voiced_frames

    def flags(wave):
        return ends_in_speech(voiced_frames(wave).numpy(), frame_levels(wave).numpy(),
                              len(wave) / 16000)

    voice = speechlike(1.5)  # voiced throughout, its level rising and falling three times a second
    (cut,) = flags(voice[: int(1.42 * 16000)])  # cut at a loud moment (its envelope's peak)
    assert cut.kind == "ends_in_speech" and (cut.start, cut.end) == pytest.approx((1.37, 1.42))
    faded = voice * np.clip((1.5 - np.arange(len(voice)) / 16000) / 0.3, 0, 1)  # a 0.3 s fade
    assert flags(faded) == []
    paused = np.concatenate([voice, 0.001 * speechlike(0.3, seed=1)])  # a quiet tail
    assert flags(paused) == []
    quieter = voice[: int(1.42 * 16000)] * np.linspace(1, 10 ** ((CUT_LEVEL_DB - 6) / 20), 22720)
    assert flags(quieter) == []  # ends well below its loud parts


def test_the_wildcard_may_take_any_length_unflagged():
    """`<star>` stands for what the transcript left out (a naming response's "what about
    the..." before the word): over 0.7 s it was flagged `long_phone` in 13 of 18 responses,
    and a long one could be `dominant_token`, which --strict refuses. A laugh still is."""
    from aligner.checks import find_flags

    words = [(0.0, 3.0, "<star>", None), (3.0, 3.3, "the", 0.9), (3.3, 3.6, "bus", 0.9)]
    phones = [(0.0, 3.0, "spn", None), (3.0, 3.1, "DH", 0.9), (3.1, 3.3, "AH0", 0.9),
              (3.3, 3.4, "B", 0.9), (3.4, 3.5, "AH1", 0.9), (3.5, 3.6, "S", 0.9)]
    assert find_flags(_alignment(words, phones, 3.6)) == []
    words[0], words[2] = (0.0, 3.0, "[laughter]", None), (3.3, 3.6, "bus", 0.9)
    kinds = [f.kind for f in find_flags(_alignment(words, phones, 3.6))]
    assert sorted(kinds) == ["dominant_token", "long_phone"], kinds


def test_an_interval_after_the_end_is_not_said_to_be_cut():
    """An interval starting after the audio's end is not aligned at all (interval_not_aligned);
    it was also flagged `interval_beyond_audio: ... was cut there`."""
    from aligner.checks import beyond_audio

    flags = beyond_audio([(4.0, 5.0), (5.2, 7.0)], 4.72)
    assert [(f.start, f.end) for f in flags] == [(4.0, 5.0)]


def test_a_textgrid_whose_intervals_all_lie_past_the_audio_names_the_excerpt(tmp_path, aligner):
    """An excerpt's TextGrid saved with the long recording's times (xmin 10 s): the error said
    only that the first interval lies outside the audio; it now says what probably happened."""
    from praatio import textgrid

    from aligner.align import AlignmentError

    tg = textgrid.Textgrid(10, 13)
    tg.addTier(textgrid.IntervalTier("spk", [(10.2, 11.5, "please call"), (11.6, 12.8, "her")],
                                     10, 13))
    tg.save(str(tmp_path / "x.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(AlignmentError, match=r"starts after the audio ends \(3.00 s; the first at "
                                             r"10.20 s\).*Shift times to"):
        aligner.align(speechlike(3.0), tmp_path / "x.TextGrid", sample_rate=16000)
    one = textgrid.Textgrid(10, 13)  # an excerpt of one utterance, the commonest
    one.addTier(textgrid.IntervalTier("spk", [(10.2, 11.5, "please call")], 10, 13))
    one.save(str(tmp_path / "one.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(AlignmentError, match=r"the first at 10.20 s\).*Shift times to"):
        aligner.align(speechlike(3.0), tmp_path / "one.TextGrid", sample_rate=16000)
    corpus = tmp_path / "corpus"  # validate says it the same way, once
    corpus.mkdir()
    (tmp_path / "one.TextGrid").rename(corpus / "one.TextGrid")
    import soundfile as sf

    sf.write(str(corpus / "one.wav"), speechlike(3.0), 16000)
    result = cli("validate", corpus, "--report", tmp_path / "v.csv")
    assert result.exit_code == 1
    assert "Shift times to" in (tmp_path / "v.csv").read_text(encoding="utf-8")


def test_noise_margin_is_the_speech_over_the_pauses_median():
    """Words at 0 dB (their 95th percentile), pauses at -12 dB: 12 dB. Frames beside a word (a
    sound's fading edge), voiced pause frames (untranscribed speech) and digital silence are no
    background; too few pause frames are not judged."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import NOISE_MIN_FRAMES, noise_margin, noisy_audio

    levels = np.full(300, -12.0)
    levels[100:200] = 0.0
    levels[95:100] = levels[200:205] = -1.0  # the edges: left out
    voiced = np.zeros(300, dtype=bool)
    words = [Interval(1.0, 2.0, "hello")]
    assert noise_margin(words, levels, voiced) == pytest.approx(12.0)
    assert [f.kind for f in noisy_audio(words, levels, voiced)] == ["noisy_audio"]
    assert "only 12.0 dB quieter than the words" in noisy_audio(words, levels, voiced)[0]
    quiet = np.where(levels == -12.0, -50.0, levels)
    assert noisy_audio(words, quiet, voiced) == []
    talk = voiced.copy()
    talk[:90] = talk[210:] = True  # someone else speaking in every pause
    assert noise_margin(words, levels, talk) is None
    padded = levels.copy()
    padded[:95] = padded[205:] = -120.0  # digital silence
    assert noise_margin(words, padded, voiced) is None
    quiet_edges = np.concatenate([np.full(200, -70.0), levels, np.full(200, -70.0)])
    shifted = [Interval(3.0, 4.0, "hello")]  # padding at -70 dB outnumbers the noisy pauses
    assert noise_margin(shifted, quiet_edges, np.zeros(700, dtype=bool)) == pytest.approx(12.0)
    cough = np.full(300, -55.0)  # a clean recording: a loud unvoiced sound far from the words
    cough[100:200] = 0.0
    cough[240:280] = -12.0
    assert noise_margin(words, cough, voiced) == pytest.approx(55.0)
    short = levels[90: 210 + NOISE_MIN_FRAMES // 2]  # trimmed close: too few pause frames
    assert noise_margin([Interval(0.1, 1.1, "hello")], short, voiced[: len(short)]) is None


def test_noise_over_part_of_a_long_recording_is_flagged_with_its_times():
    """A 100 s session of a word every 2 s, its pauses 50 dB below the words except from 40 to
    70 s, where noise lifts them to 12 dB below: one flag for that stretch (the windows that
    reach into it, 15 s apart), with its times; the whole file's median pause would read 50 dB
    and flag nothing. The same session without the noise: no flag."""
    import numpy as np

    from aligner.alignment import Interval
    from aligner.checks import NOISE_WINDOW_FRAMES, noise_margin, noisy_audio

    n = 10000  # 100 s
    levels = np.full(n, -50.0)
    words = [Interval(t + 0.5, t + 1.0, "word") for t in range(0, 100, 2)]
    for w in words:
        levels[int(w.start * 100): int(w.end * 100)] = 0.0
    voiced = np.zeros(n, dtype=bool)
    assert n > NOISE_WINDOW_FRAMES and noisy_audio(words, levels, voiced) == []
    noisy = levels.copy()
    noisy[4000:7000] = np.maximum(noisy[4000:7000], -12.0)
    assert noise_margin(words, noisy, voiced) == pytest.approx(50.0)  # the whole: quiet
    (flag,) = noisy_audio(words, noisy, voiced)
    assert flag.kind == "noisy_audio" and "only 12.0 dB quieter" in flag
    assert flag.start <= 40.0 and flag.end >= 70.0 and flag.end - flag.start <= 75.0
    assert f"from {flag.start:.1f} to {flag.end:.1f} s" in flag
    # noise at 0-22 s and 38-60 s: the windows 0-30 and 30-60 s are noisy, 15-45 s is not (14 s
    # of 30): two stretches that touch, not one across the clean window
    bursts = levels.copy()
    bursts[:2200] = bursts[3800:6000] = np.maximum(bursts[:2200], -12.0)
    assert [(f.start, f.end) for f in noisy_audio(words, bursts, voiced)] == [(0.0, 30.0),
                                                                           (30.0, 60.0)]
    # noise to the end: the stretch ends with the recording, not with its last frame
    tail = levels.copy()
    tail[7000:] = np.maximum(tail[7000:], -12.0)
    (flag,) = noisy_audio(words, tail, voiced, duration=99.996)
    assert flag.end == 99.996 and "to 100.0 s" in flag
    # noise throughout: a flag on the recording, as a short recording's, without times
    (flag,) = noisy_audio(words, np.maximum(levels, -12.0), voiced, duration=100.0)
    assert flag.start is None and flag.end is None and "from" not in flag


def test_the_example_in_loud_noise_is_flagged_noisy_and_as_recorded_is_not():
    from aligner.align import Aligner
    from aligner.checks import flag_kind
    from benchmarks.accuracy_in_noise import with_noise

    aligner = Aligner.load(device="cpu")
    wave, _ = aligner.load_waveform(EXAMPLE_WAV)
    clean = aligner.align(wave, EXAMPLE_WAV.with_suffix(".txt"), sample_rate=16000)
    assert "noisy_audio" not in [flag_kind(f) for f in clean.flags]
    noisy = aligner.align(with_noise(wave, "white", 5, 0), EXAMPLE_WAV.with_suffix(".txt"),
                          sample_rate=16000)
    assert "noisy_audio" in [flag_kind(f) for f in noisy.flags]
    # the speech band's margin, which the mismatch threshold's allowance reads, is measured
    # and falls with the noise
    assert clean.noise_margin > 25 > 12 > noisy.noise_margin


def test_a_constant_offset_is_no_background_noise(tmp_path, tiny_model_dir):
    """A cheap microphone's DC offset of 0.02 (-34 dBFS) read a clean recording's pauses as 11 dB
    below its words (`noisy_audio`): levels are measured about the recording's mean, so an
    offset leaves speech's as they were and quiet stays quiet; digital silence stays silence."""
    import numpy as np
    import soundfile as sf

    from aligner.features import frame_levels

    wave = np.concatenate([np.zeros(8000), speechlike(1.5), np.full(8000, 1e-4)]).astype(np.float32)
    plain = frame_levels(wave).numpy()
    shifted = frame_levels(wave + 0.3).numpy()
    loud = plain > -70
    assert np.abs(shifted[loud] - plain[loud]).max() < 0.1 and shifted[~loud].max() < -70
    assert plain[10] < -100  # digital silence: no level at all
    sf.write(tmp_path / "dc.wav", wave + 0.02, 16000, subtype="FLOAT")
    (tmp_path / "dc.txt").write_text("hello there\n")
    result = cli(tmp_path / "dc.wav", tmp_path / "dc.txt", "--model", tiny_model_dir, "-f", "json",
                 "-o", tmp_path / "dc.json")
    assert result.exit_code == 0, result.output
    assert "noisy_audio" not in (tmp_path / "dc.json").read_text()


def test_thresholds_refuse_what_no_check_can_use():
    """Thresholds(min_transcript_fit="0.1") loaded and then failed inside a check with a bare
    TypeError; -1 or NaN turned the flag off without a word."""
    import math

    import numpy as np

    from aligner.checks import Thresholds

    for bad in ({"min_transcript_fit": "0.1"}, {"max_word_seconds": None},
                {"min_transcript_fit": -1}, {"min_transcript_fit": math.nan},
                {"unspoken_window": 6.5}, {"narrow_band_factor": 0}, {"max_phone_seconds": True}):
        with pytest.raises(ValueError, match=rf"Thresholds\({next(iter(bad))}="):
            Thresholds(**bad)
    assert Thresholds(min_transcript_fit=np.float64(0.01), unspoken_window=np.int64(5))


def test_a_stressed_vowel_given_a_sliver_it_is_not_heard_in_is_flagged():
    """EGGPLANT's EH1 came out 12 ms long on silence with a confidence of 3.4e-05, unflagged: a
    phonetician measured its duration. A short vowel that is heard, a short consonant, and an
    unstressed vowel are not flagged."""
    from aligner.checks import Thresholds, find_flags

    words = [(0.1, 0.6, "eggplant", 0.05)]
    phones = [(0.1, 0.112, "EH1", 3.4e-5), (0.112, 0.124, "G", 1e-5), (0.124, 0.136, "AH0", 1e-5),
              (0.136, 0.148, "AE2", 0.2), (0.148, 0.6, "N", 0.5)]
    flags = [f for f in find_flags(_alignment(words, phones, 1.0)) if f.kind == "unheard_vowel"]
    assert [(f.label, f.start) for f in flags] == [("EH1", 0.1)] and "12 ms" in flags[0]
    looser = Thresholds(unheard_vowel_confidence=0.5)
    assert len([f for f in find_flags(_alignment(words, phones, 1.0), looser)
                if f.kind == "unheard_vowel"]) == 2


def test_an_interval_whose_own_words_do_not_fit_is_flagged_with_its_times():
    """Of one speaker's utterance intervals, the one whose own fit is under the
    transcript_mismatch threshold is flagged interval_mismatch with its words' times, the
    others not; noise raises the threshold as it does for a recording; a transcript of one
    interval is judged whole (transcript_mismatch), not here."""
    from aligner.alignment import Alignment
    from aligner.checks import Thresholds, interval_mismatches

    def part(start: float, fit: float) -> Alignment:
        a = _alignment([(start, start + 0.4, "hello"), (start + 0.4, start + 0.9, "there")], [],
                       10.0)
        a.transcript_fit = fit
        return a

    limit = Thresholds().min_transcript_fit
    parts = [part(1.0, 20 * limit), part(3.0, limit / 2), part(6.0, 20 * limit)]
    (flag,) = interval_mismatches(parts)
    assert flag.kind == "interval_mismatch" and (flag.start, flag.end) == (3.0, 3.9)
    assert "3.00-3.90 s" in str(flag)
    assert interval_mismatches(parts[1:2]) == []
    assert interval_mismatches([part(1.0, 1.3 * limit), part(3.0, 20 * limit)]) == []
    noisy = interval_mismatches([part(1.0, 1.3 * limit), part(3.0, 20 * limit)],
                                noise_margin=0.0)  # words no louder than the pauses
    assert [f.start for f in noisy] == [1.0]
