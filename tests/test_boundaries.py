"""Boundaries moved onto the spectral change that marks them (aligner/boundaries.py) and the
change curve itself (aligner/features.spectral_change)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import FUZZ
from hypothesis import given
from hypothesis import strategies as st

from aligner.alignment import Interval
from aligner.boundaries import (HOLD_BRIDGE, MIN_PHONE, RADIUS, TAIL_DB, TAIL_GAP, TAIL_MAX,
                                 extend_into_voicing, hold_single_sound, snap_to_change)
from aligner.features import CHANGE_FEATURES, frame_levels, spectral_change

HOP = CHANGE_FEATURES.frame_duration  # 2.5 ms


def curve(seconds: float, peaks: dict[float, float]) -> np.ndarray:
    """A flat change curve with a spike of the given height at each time."""
    c = np.full(int(round(seconds / HOP)), 0.1, dtype=np.float32)
    for t, height in peaks.items():
        c[int(t / HOP)] = height
    return c


def centre(t: float) -> float:
    """The time a curve index stands for: (index + 0.5) * hop."""
    return (int(t / HOP) + 0.5) * HOP


def test_a_boundary_between_manners_moves_to_the_nearby_change():
    phones = [Interval(0.0, 0.1, "S", 0.9), Interval(0.1, 0.25, "AH0", 0.8)]
    out = snap_to_change(phones, curve(0.3, {0.112: 5.0}), HOP)
    assert out[0].end == out[1].start == pytest.approx(centre(0.112))
    assert [(p.label, p.confidence) for p in out] == [("S", 0.9), ("AH0", 0.8)]
    assert out[0].start == 0.0 and out[1].end == 0.25


def test_the_prior_prefers_the_nearer_of_two_equal_changes():
    phones = [Interval(0.0, 0.1, "F", None), Interval(0.1, 0.25, "IY1", None)]
    out = snap_to_change(phones, curve(0.3, {0.092: 3.0, 0.115: 3.0}), HOP)
    assert out[0].end == pytest.approx(centre(0.092))


@pytest.mark.parametrize("left,right", [("AH0", "IY1"), ("", "S"), ("S", ""), ("spn", "AH0"),
                                        ("T", "K")])
def test_same_manner_silence_and_markup_boundaries_stay(left, right):
    phones = [Interval(0.0, 0.1, left), Interval(0.1, 0.25, right)]
    out = snap_to_change(phones, curve(0.3, {0.11: 9.0}), HOP)
    assert out == phones


def test_no_move_beyond_the_radius_or_into_the_last_bit_of_a_phone():
    phones = [Interval(0.0, 0.1, "M", None), Interval(0.1, 0.3, "AA1", None)]
    far = snap_to_change(phones, curve(0.35, {0.1 + RADIUS + 0.01: 100.0}), HOP)
    assert abs(far[0].end - 0.1) <= RADIUS
    short = [Interval(0.0, 0.02, "M", None), Interval(0.02, 0.3, "AA1", None)]
    out = snap_to_change(short, curve(0.35, {0.003: 100.0}), HOP)
    assert out[0].end - out[0].start >= MIN_PHONE - 1e-9


def test_a_phone_shorter_than_the_minimum_is_not_stretched_without_a_change():
    """A 5 ms stop between a fricative and a vowel, flat change on all sides: its boundaries
    stay on the grid point next to the model's (they used to be pushed out to MIN_PHONE)."""
    phones = [Interval(0.0, 0.1, "S", None), Interval(0.1, 0.105, "T", None),
              Interval(0.105, 0.3, "AH0", None)]
    out = snap_to_change(phones, curve(0.35, {}), HOP)
    assert out[0].end == out[1].start >= 0.1 - HOP / 2
    assert out[1].end == out[2].start <= 0.105 + HOP / 2
    assert out[1].end - out[1].start >= 0.005 - 1e-6


_LABELS = ["", "spn", "AH0", "IY1", "S", "F", "T", "K", "M", "L", "CH"]


@st.composite
def _phones_and_change(draw):
    """Phones of any manner (silence and markup too), lasting 0 to 150 ms, touching or not,
    and a change curve of random heights over them."""
    phones, t = [], draw(st.floats(0.0, 0.05))
    for _ in range(draw(st.integers(2, 12))):
        t += draw(st.sampled_from([0.0, 0.0, 0.0, draw(st.floats(0.0, 0.05))]))  # mostly touching
        length = draw(st.sampled_from([0.0, 0.003, 0.012, draw(st.floats(0.0, 0.15))]))
        phones.append(Interval(round(t, 6), round(t + length, 6), draw(st.sampled_from(_LABELS)),
                               draw(st.sampled_from([None, 0.5]))))
        t = round(t + length, 6)
    size = int(t / HOP) + draw(st.integers(0, 8))
    heights = draw(st.lists(st.floats(0.0, 50.0), min_size=size, max_size=size))
    return phones, np.asarray(heights, dtype=np.float32)


@FUZZ
@given(case=_phones_and_change())
def test_snapping_never_reorders_phones_nor_shortens_one_below_the_minimum(case):
    phones, change = case
    out = snap_to_change(phones, change, HOP)
    assert [(p.label, p.confidence) for p in out] == [(p.label, p.confidence) for p in phones]
    for old, new in zip(phones, out):
        assert new.end - new.start >= min(MIN_PHONE, old.end - old.start) - 1e-6
        assert abs(new.start - old.start) <= RADIUS + 1e-6 and abs(new.end - old.end) <= RADIUS + 1e-6
    for a, b, old_a, old_b in zip(out, out[1:], phones, phones[1:]):
        assert a.end <= b.start + 1e-9
        if old_a.end != old_b.start:  # a gap (a pause) is never touched
            assert (a.end, b.start) == (old_a.end, old_b.start)


def test_phones_that_do_not_touch_are_left_alone():
    phones = [Interval(0.0, 0.1, "S", None), Interval(0.12, 0.25, "AH0", None)]
    assert snap_to_change(phones, curve(0.3, {0.11: 9.0}), HOP) == phones


def test_spectral_change_peaks_where_noise_turns_into_a_voiced_tone():
    rate = 16000
    rng = np.random.default_rng(0)
    t = np.arange(int(0.6 * rate)) / rate
    noise = 0.1 * rng.standard_normal(len(t))
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20)) * 0.2
    wave = np.where(t < 0.3, noise, tone).astype(np.float32)
    change = spectral_change(torch.from_numpy(wave)).numpy()
    assert change.shape == (int(np.ceil(len(wave) / CHANGE_FEATURES.hop_length)),)
    peak = (int(np.argmax(change[20:-20])) + 20 + 0.5) * HOP
    assert abs(peak - 0.3) <= 0.005


def test_spectral_change_has_no_peaks_at_its_piece_edges(monkeypatch):
    import aligner.features as features

    rng = np.random.default_rng(1)
    wave = torch.from_numpy((0.1 * rng.standard_normal(16000 * 3)).astype(np.float32))
    monkeypatch.setattr(features, "CHANGE_CHUNK", 400)  # 1 s pieces
    change = features.spectral_change(wave).numpy()
    inner = change[20:-20]
    edges = change[[398, 399, 400, 401, 798, 799, 800, 801]]
    assert np.isfinite(change).all()
    assert edges.max() <= np.percentile(inner, 99.5)


def test_spectral_change_of_silence_and_of_a_single_frame_is_finite():
    assert np.isfinite(spectral_change(torch.zeros(16000)).numpy()).all()
    assert spectral_change(torch.zeros(10)).shape == (1,)


def test_the_aligner_snaps_only_near_its_own_boundaries_and_judges_fit_before(monkeypatch):
    """On the shipped example: snapping moves some boundaries, none further than RADIUS, words
    follow their phones, and transcript_fit (judged on the model's own grid) is unchanged."""
    from pathlib import Path

    import aligner.boundaries as boundaries
    from aligner.align import Aligner

    example = Path(__file__).resolve().parent.parent / "examples"
    aligner = Aligner.load(None, device="cpu")
    text = (example / "allison.txt").read_text()
    snapped = aligner.align(example / "allison.wav", text)
    monkeypatch.setattr(boundaries, "snap_to_change", lambda phones, change, hop: list(phones))
    plain = aligner.align(example / "allison.wav", text)
    assert snapped.transcript_fit == pytest.approx(plain.transcript_fit, rel=1e-12)  # float sums' order
    assert [p.label for p in snapped.phones] == [p.label for p in plain.phones]
    moved = [abs(a.start - b.start) for a, b in zip(snapped.phones, plain.phones)]
    assert max(moved) <= RADIUS + 0.001 and sum(m > 0.001 for m in moved) >= 3
    for w in (w for w in snapped.words if w.label):
        inside = [p for p in snapped.phones if w.start - 1e-9 <= p.start < w.end and p.label]
        assert inside and inside[0].start == w.start and inside[-1].end == w.end


def test_no_spectral_change_is_computed_when_snapping_is_off(aligner):
    """Encoding pays for the change curve only when decoding will snap to it."""
    wave = np.zeros(16000, dtype=np.float32)
    assert aligner.encode(wave).change is not None
    aligner.snap_boundaries = False
    try:
        assert aligner.encode(wave).change is None
        assert aligner.encode([wave, wave])[0].change is None
    finally:
        aligner.snap_boundaries = True


# ------------------------------------------------------------------ extend_into_voicing

FRAME = 0.01


def tail(seconds: float, voiced: tuple[float, float], levels: dict[tuple[float, float], float]
         ) -> tuple[np.ndarray, np.ndarray]:
    """Voiced frames [T] over `voiced` (start, end) and levels [T] in dB (-80 elsewhere)."""
    n = int(round(seconds / FRAME))
    v = np.zeros(n, dtype=bool)
    v[int(round(voiced[0] / FRAME)): int(round(voiced[1] / FRAME))] = True
    db = np.full(n, -80.0)
    for (lo, hi), level in levels.items():
        db[int(round(lo / FRAME)): int(round(hi / FRAME))] = level
    return v, db


def word_at_a_pause(last: str = "N") -> tuple[list[Interval], list[Interval]]:
    """'again' (0.10-0.40 s) alone in a 1 s recording."""
    phones = [Interval(0.1, 0.15, "AH0", 0.5), Interval(0.15, 0.2, "G", 0.5),
              Interval(0.2, 0.33, "EH1", 0.5), Interval(0.33, 0.4, last, 0.4)]
    return [Interval(0.1, 0.4, "again", 0.45)], phones


def test_a_fading_nasal_keeps_the_voicing_after_it():
    """The voice goes on 10-20 dB below the word's peak until 0.55 s, then falls further: the
    word and its last phone end there; everything else is kept."""
    words, phones = word_at_a_pause()
    v, db = tail(1.0, (0.1, 0.62), {(0.1, 0.4): -10.0, (0.4, 0.55): -10.0 - TAIL_DB + 5,
                                    (0.55, 0.62): -10.0 - TAIL_DB - 5})
    w, p = extend_into_voicing(words, phones, v, db, FRAME, 1.0)
    assert w[0].end == p[-1].end == pytest.approx(0.55)
    assert (w[0].start, w[0].label, w[0].confidence) == (0.1, "again", 0.45)
    assert p[:-1] == phones[:-1] and (p[-1].start, p[-1].label, p[-1].confidence) == (0.33, "N", 0.4)


def test_a_fading_end_runs_into_a_pause_word_which_gives_up_the_time():
    """A dictionary's `{SL} sil` word covering the pause after "again" (its phone silence, "")
    is no neighbour: the voice's fading end is taken from it, and it keeps the rest."""
    words, phones = word_at_a_pause()
    words.append(Interval(0.4, 0.9, "{SL}", 0.8))
    phones.append(Interval(0.4, 0.9, "", 0.8))
    v, db = tail(1.0, (0.1, 0.62), {(0.1, 0.4): -10.0, (0.4, 0.55): -10.0 - TAIL_DB + 5,
                                    (0.55, 0.62): -10.0 - TAIL_DB - 5})
    w, p = extend_into_voicing(words, phones, v, db, FRAME, 1.0)
    assert w[0].end == p[3].end == w[1].start == p[4].start == pytest.approx(0.55)
    assert (w[1].end, w[1].label, p[4].end, p[4].label) == (0.9, "{SL}", 0.9, "")
    # one too short for the tail to fade inside it (keeping UNHEARD) leaves the end alone
    words[1], phones[4] = Interval(0.4, 0.5, "{SL}", 0.8), Interval(0.4, 0.5, "", 0.8)
    assert extend_into_voicing(words, phones, v, db, FRAME, 1.0) == (words, phones)


def test_a_fading_end_pushes_unheard_markup_along_into_the_pause_word():
    """`again <unk> {SL}`: the `<unk>` nothing was heard for is a 10 ms sliver touching the
    word's end, and stopped the voiced end (the last word of such transcripts lost 40-110 ms).
    Markup slivers are no neighbours either: the sliver moves to the new end, and the pause
    word starts after it."""
    words, phones = word_at_a_pause()
    words += [Interval(0.4, 0.41, "<unk>"), Interval(0.41, 0.9, "{SL}")]
    phones += [Interval(0.4, 0.41, "spn"), Interval(0.41, 0.9, "")]
    v, db = tail(1.0, (0.1, 0.62), {(0.1, 0.4): -10.0, (0.4, 0.55): -10.0 - TAIL_DB + 5,
                                    (0.55, 0.62): -10.0 - TAIL_DB - 5})
    w, p = extend_into_voicing(words, phones, v, db, FRAME, 1.0)
    assert w[0].end == p[3].end == pytest.approx(0.55)
    assert [(x.start, x.end, x.label) for x in w[1:]] == [
        (0.55, 0.56, "<unk>"), (0.56, 0.9, "{SL}")]
    assert [(x.start, x.end, x.label) for x in p[4:]] == [(0.55, 0.56, "spn"), (0.56, 0.9, "")]
    # markup that took real time (a laugh) is a neighbour: the end stays
    words[1], phones[4] = Interval(0.4, 0.5, "[laughter]"), Interval(0.4, 0.5, "spn")
    words[2], phones[5] = Interval(0.5, 0.9, "{SL}"), Interval(0.5, 0.9, "")
    assert extend_into_voicing(words, phones, v, db, FRAME, 1.0) == (words, phones)


def test_nothing_moves_without_voicing_or_after_a_stop():
    words, phones = word_at_a_pause()
    v, db = tail(1.0, (0.1, 0.4), {(0.1, 0.8): -10.0})  # loud but unvoiced after the word
    assert extend_into_voicing(words, phones, v, db, FRAME, 1.0) == (words, phones)
    words, phones = word_at_a_pause(last="T")  # a stop's release is not its voice
    v, db = tail(1.0, (0.1, 0.6), {(0.1, 0.6): -10.0})
    assert extend_into_voicing(words, phones, v, db, FRAME, 1.0) == (words, phones)


def test_voicing_that_does_not_fade_is_more_speech_not_a_tail():
    """Voicing that runs on loud past TAIL_MAX (a filler said straight after, words the
    transcript left out) or into the next word's TAIL_GAP is not this word's fading end: the
    word keeps the model's end, and the stretch stays outside the words (untranscribed_speech
    can still see it). A tail that fades in time is taken, up to TAIL_GAP from the next word."""
    words, phones = word_at_a_pause()
    v, db = tail(2.0, (0.1, 0.4 + TAIL_MAX + 0.2), {(0.1, 1.5): -10.0})
    assert extend_into_voicing(words, phones, v, db, FRAME, 2.0) == (words, phones)
    words.append(Interval(0.6, 0.8, "now", 0.5))
    phones += [Interval(0.6, 0.7, "N", 0.5), Interval(0.7, 0.8, "AW1", 0.5)]
    v, db = tail(1.0, (0.1, 0.8), {(0.1, 0.8): -10.0})  # voiced straight into the next word
    assert extend_into_voicing(words, phones, v, db, FRAME, 1.0) == (words, phones)
    v, db = tail(1.0, (0.1, 0.6 - TAIL_GAP), {(0.1, 0.8): -10.0})
    w, p = extend_into_voicing(words, phones, v, db, FRAME, 1.0)
    assert w[0].end == p[3].end == pytest.approx(0.6 - TAIL_GAP)
    assert w[1:] == words[1:] and p[4:] == phones[4:]


def test_voicing_that_runs_to_the_end_of_the_recording_is_not_a_tail():
    """voiced_frames cannot judge a recording's last frames: a voice still going there (a
    recording or segment cut mid-speech) has not been seen to fade, and the word keeps its end."""
    words, phones = word_at_a_pause()
    v, db = tail(0.6, (0.1, 0.6), {(0.1, 0.6): -10.0})
    v[-2:] = False  # as voiced_frames leaves them
    assert extend_into_voicing(words, phones, v, db, FRAME, 0.6) == (words, phones)


def held(word: str = "ah", phone: str = "AA1") -> tuple[list[Interval], list[Interval]]:
    """A one-sound transcript the model put on 1.00-1.12 s of a 3 s recording."""
    return [Interval(1.0, 1.12, word, 0.03)], [Interval(1.0, 1.12, phone, 0.03)]


def test_a_held_sound_gets_the_whole_voicing_it_lies_in():
    """A sustained vowel voiced 0.5-2.5 s, with a voice break shorter than HOLD_BRIDGE and a
    quieter stretch still within TAIL_DB of the loudest: the word and its phone cover it all,
    far beyond TAIL_MAX on both sides; labels and confidences kept."""
    v, db = tail(3.0, (0.5, 2.5), {(0.5, 1.8): -10.0, (1.8, 2.5): -10.0 - TAIL_DB + 3})
    v[150: 150 + int(round(HOLD_BRIDGE / FRAME))] = False
    w, p = hold_single_sound(*held(), v, db, FRAME, 3.0)
    assert (w[0].start, w[0].end) == (p[0].start, p[0].end) == (pytest.approx(0.5),
                                                                pytest.approx(2.5))
    assert (w[0].label, w[0].confidence, p[0].label, p[0].confidence) == ("ah", 0.03, "AA1", 0.03)
    assert isinstance(w[0].start, float) and isinstance(w[0].end, float)


def test_a_held_sound_ends_at_a_longer_break_or_far_below_the_loudest():
    """Voicing after a break longer than HOLD_BRIDGE, or more than TAIL_DB below the loudest
    voiced frame, is something else (a second try, a murmur): it stays outside the word."""
    v, db = tail(3.0, (0.5, 2.5), {(0.5, 2.5): -10.0})
    v[150:170] = False  # 0.2 s without voice
    w, _ = hold_single_sound(*held(), v, db, FRAME, 3.0)
    assert (w[0].start, w[0].end) == (pytest.approx(0.5), pytest.approx(1.5))
    v, db = tail(3.0, (0.5, 2.5), {(0.5, 1.5): -10.0, (1.5, 2.5): -10.0 - TAIL_DB - 3})
    w, _ = hold_single_sound(*held(), v, db, FRAME, 3.0)
    assert (w[0].start, w[0].end) == (pytest.approx(0.5), pytest.approx(1.5))


def test_a_held_fricative_gets_the_whole_of_its_noise():
    """A sustained /s/ (no voice) 0.5-2.5 s at -20 dB over room tone at -60 dB: the word covers
    the hiss. A fainter /s/, 15 dB above the room tone (within TAIL_DB of it): the room tone,
    within HOLD_ABOVE_QUIET of the quietest frames, is still left out."""
    v, db = tail(3.0, (0.0, 0.0), {(0.0, 3.0): -60.0, (0.5, 2.5): -20.0})
    w, p = hold_single_sound(*held("sss", "S"), v, db, FRAME, 3.0)
    assert (w[0].start, w[0].end, p[0].label) == (pytest.approx(0.5), pytest.approx(2.5), "S")
    v, db = tail(3.0, (0.0, 0.0), {(0.0, 3.0): -60.0, (0.5, 2.5): -45.0})
    w, _ = hold_single_sound(*held("sss", "S"), v, db, FRAME, 3.0)
    assert (w[0].start, w[0].end) == (pytest.approx(0.5), pytest.approx(2.5))


def test_a_held_fricative_padded_with_zeros_or_filling_the_recording():
    """Exact zeros around the room tone (an editor's padding) are not the room's quiet: the
    room tone stays outside the word. A hiss that fills the recording (a clip cut at the /s/)
    has no quiet at all: the word covers it."""
    v = np.zeros(400, dtype=bool)
    db = np.full(400, -120.0)  # zeros
    db[50:350] = -50.0  # room tone
    db[100:300] = -20.0  # the /s/, 1.0-3.0 s
    w, _ = hold_single_sound(*held("sss", "S"), v, db, FRAME, 4.0)
    assert (w[0].start, w[0].end) == (pytest.approx(1.0), pytest.approx(3.0))
    db = -20.0 + np.random.default_rng(0).uniform(-3, 0, 300)
    w, _ = hold_single_sound(*held("sss", "S"), v[:300], db, FRAME, 3.0)
    assert (w[0].start, w[0].end) == (pytest.approx(0.0), pytest.approx(3.0))


def test_only_a_transcript_of_one_sound_is_held():
    """Two words, a word of several sounds, a stop, or a pause word beside the sound: the voice
    around them may be words the transcript left out, and nothing moves."""
    v, db = tail(3.0, (0.5, 2.5), {(0.5, 2.5): -10.0})
    cases = [([Interval(1.0, 1.12, "ah", 0.03), Interval(1.3, 1.5, "ah", 0.5)],
              [Interval(1.0, 1.12, "AA1", 0.03), Interval(1.3, 1.5, "AA1", 0.5)]),
             word_at_a_pause(), held("two", "T"),
             ([*held()[0], Interval(1.12, 1.5, "{SL}", 0.8)],
              [*held()[1], Interval(1.12, 1.5, "", 0.8)])]
    for words, phones in cases:
        assert hold_single_sound(words, phones, v, db, FRAME, 3.0) == (words, phones)
    assert hold_single_sound(*held(), np.zeros(300, bool), db, FRAME, 3.0) == held()


def test_a_word_before_a_short_gap_keeps_its_end():
    """Inside a phrase (less than TAIL_PAUSE to the next word) the model's end stands."""
    words, phones = word_at_a_pause()
    words.append(Interval(0.45, 0.8, "now", 0.5))
    phones += [Interval(0.45, 0.6, "N", 0.5), Interval(0.6, 0.8, "AW1", 0.5)]
    v, db = tail(1.0, (0.1, 0.8), {(0.1, 0.8): -10.0})
    assert extend_into_voicing(words, phones, v, db, FRAME, 1.0) == (words, phones)


def test_frame_levels_are_the_power_of_each_frame_in_db():
    """A tone at amplitude 0.1 (power 0.005: -23 dB) from 0.5 s, silence before: one level per
    10 ms frame, on the model's grid."""
    x = np.zeros(16000, dtype=np.float32)
    t = np.arange(8000) / 16000
    x[8000:] = 0.1 * np.sin(2 * np.pi * 200 * t)
    db = frame_levels(x).numpy()
    assert db.shape == (100,)
    assert db[:49].max() < -100 and abs(db[51:].mean() - 10 * np.log10(0.005)) < 0.2


def test_frame_levels_are_each_windows_power_about_the_offset(monkeypatch):
    """Each level is the mean power of the 20 ms around its frame's centre, about the
    recording's offset (digital silence, a run of 10 ms of exact zeros, kept at zero; a lone
    zero sample is a sample like any other), the same across the pieces it is measured in
    (LEVEL_CHUNK made small), and the caller's samples are left as they were."""
    import aligner.features as features

    monkeypatch.setattr(features, "LEVEL_CHUNK", 7)
    x = (0.02 + 0.1 * np.random.default_rng(0).standard_normal(1630)).astype(np.float32)
    x[400:600] = 0.0
    x[900] = x[1000:1100] = 0.0  # zeros that are no silence: too short a run
    kept = x.copy()
    db = frame_levels(x).numpy()
    assert np.array_equal(x, kept)
    silent = np.zeros(len(x), bool)
    silent[400:600] = True
    offset = x[~silent].astype(np.float64).mean()
    centred = np.where(silent, 0.0, x - offset)
    padded = np.concatenate([np.zeros(80), centred, np.zeros(400)])
    want = [10 * np.log10((padded[t * 160: t * 160 + 320] ** 2).mean() + 1e-12)
            for t in range(len(db))]
    assert len(db) == 11 and np.allclose(db, want, atol=1e-3)


def test_frame_levels_after_pre_emphasis_hear_the_speech_band_not_the_hum(monkeypatch):
    """emphasis: the levels of x[n] - 0.97 x[n-1], the same when measured piece by piece
    (a recording longer than LEVEL_CHUNK); 50 Hz mains hum drops some 30 dB, 1 kHz about 8."""
    import aligner.features as features

    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000 * 3).astype(np.float32)
    emphasised = np.concatenate([x[:1], x[1:] - 0.97 * x[:-1]])
    monkeypatch.setattr(features, "LEVEL_CHUNK", 70)  # pieces of 0.7 s
    assert np.allclose(frame_levels(x, emphasis=True).numpy(), frame_levels(emphasised).numpy(),
                       atol=1e-4)
    t = np.arange(16000) / 16000
    for hz, drop in ((50, 29.0), (1000, 8.0)):
        tone = (0.1 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        lost = frame_levels(tone).numpy()[5:-5] - frame_levels(tone, emphasis=True).numpy()[5:-5]
        assert abs(lost.mean() - drop) < 1.5, (hz, lost.mean())


# ------------------------------------------------------------------ close_short_pauses

def test_a_gap_too_short_to_be_a_pause_is_closed():
    """20 ms between "a" and "big": the gap is B's closure, so "big" starts where "a" ends;
    20 ms between "big" and "one": "big" runs on; 40 ms (>= MIN_PAUSE) stays a pause."""
    from aligner.boundaries import MIN_PAUSE, close_short_pauses

    words = [Interval(0.1, 0.2, "a", 0.5), Interval(0.22, 0.5, "big", 0.5),
             Interval(0.52, 0.8, "one", 0.5), Interval(0.84, 1.0, "more", 0.5)]
    phones = [Interval(0.1, 0.2, "AH0", 0.5), Interval(0.22, 0.3, "B", 0.5),
              Interval(0.3, 0.4, "IH1", 0.5), Interval(0.4, 0.5, "G", 0.5),
              Interval(0.52, 0.6, "W", 0.5), Interval(0.6, 0.7, "AH1", 0.5),
              Interval(0.7, 0.8, "N", 0.5), Interval(0.84, 0.9, "M", 0.5),
              Interval(0.9, 1.0, "AO1", 0.5)]
    w, p = close_short_pauses(words, phones)
    assert [(x.start, x.end) for x in w] == [(0.1, 0.2), (0.2, 0.52), (0.52, 0.8), (0.84, 1.0)]
    assert [(x.start, x.end) for x in p][:5] == [(0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.52),
                                                 (0.52, 0.6)]
    assert [(x.label, x.confidence) for x in w] == [(x.label, x.confidence) for x in words]
    assert close_short_pauses(words, phones, 0.0) == (words, phones)  # --min-pause 0
    # markup keeps its edges (a sliver where nothing was heard must not grow)
    marked = [words[0], Interval(0.22, 0.23, "[noise]")]
    marked_phones = [phones[0], Interval(0.22, 0.23, "spn")]
    assert close_short_pauses(marked, marked_phones) == (marked, marked_phones)
    assert MIN_PAUSE == pytest.approx(0.03)


def test_a_gap_voiced_throughout_at_speech_level_is_no_pause():
    """"young | man": a 50 ms gap inside continuous voicing at the words' level was written as
    a pause. Voiced and loud throughout: closed at its middle; one frame quiet or unvoiced, or
    0.1 s or longer: kept."""
    from aligner.boundaries import VOICED_GAP, close_short_pauses

    words = [Interval(0.1, 0.4, "young", 0.5), Interval(0.45, 0.7, "man", 0.5)]
    phones = [Interval(0.1, 0.2, "Y", 0.5), Interval(0.2, 0.3, "AH1", 0.5),
              Interval(0.3, 0.4, "NG", 0.5), Interval(0.45, 0.55, "M", 0.5),
              Interval(0.55, 0.65, "AE1", 0.5), Interval(0.65, 0.7, "N", 0.5)]
    voiced, levels = np.ones(100, dtype=bool), np.full(100, -20.0)
    w, p = close_short_pauses(words, phones, voiced=voiced, levels=levels)
    assert [(x.start, x.end) for x in w] == [(0.1, 0.425), (0.425, 0.7)]
    assert (p[2].end, p[3].start) == (0.425, 0.425)
    quiet = levels.copy()
    quiet[42] = -60.0  # a real pause dips
    assert close_short_pauses(words, phones, voiced=voiced, levels=quiet) == (words, phones)
    unvoiced = voiced.copy()
    unvoiced[43] = False
    assert close_short_pauses(words, phones, voiced=unvoiced, levels=levels) == (words, phones)
    assert close_short_pauses(words, phones) == (words, phones)  # no arrays: by length alone
    longer = [words[0], Interval(0.4 + VOICED_GAP, 0.7, "man", 0.5)]
    longer_phones = [*phones[:3], Interval(0.5, 0.55, "M", 0.5), *phones[4:]]
    assert close_short_pauses(longer, longer_phones, voiced=voiced, levels=levels) == (
        longer, longer_phones)


def test_a_gap_beside_a_stop_shorter_than_a_pause_is_its_closure():
    """60 ms before "big" is B's closure ("big" starts where "a" ends), 60 ms after it is G's
    ("big" runs on); 60 ms between "one" and "more" (no stop) and 150 ms before "toe" stay."""
    from aligner.boundaries import STOP_GAP, close_short_pauses

    words = [Interval(0.1, 0.2, "a", 0.5), Interval(0.26, 0.5, "big", 0.5),
             Interval(0.56, 0.8, "one", 0.5), Interval(0.86, 1.0, "more", 0.5),
             Interval(1.15, 1.4, "toe", 0.5)]
    phones = [Interval(0.1, 0.2, "AH0", 0.5), Interval(0.26, 0.3, "B", 0.5),
              Interval(0.3, 0.4, "IH1", 0.5), Interval(0.4, 0.5, "G", 0.5),
              Interval(0.56, 0.6, "W", 0.5), Interval(0.6, 0.7, "AH1", 0.5),
              Interval(0.7, 0.8, "N", 0.5), Interval(0.86, 0.9, "M", 0.5),
              Interval(0.9, 1.0, "AO1", 0.5), Interval(1.15, 1.3, "T", 0.5),
              Interval(1.3, 1.4, "OW1", 0.5)]
    w, p = close_short_pauses(words, phones)
    assert [(x.start, x.end) for x in w] == [(0.1, 0.2), (0.2, 0.56), (0.56, 0.8), (0.86, 1.0),
                                             (1.15, 1.4)]
    assert (p[1].start, p[3].end) == (0.2, 0.56)  # B takes its closure, G runs on
    assert STOP_GAP == pytest.approx(0.1)
    assert close_short_pauses(words, phones, 0.0) == (words, phones)
