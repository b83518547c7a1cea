"""The IPA, SAMPA and EMU (Australian English) foldings onto the model's 39 phones."""

from __future__ import annotations

import pytest

from aligner.alignment import Interval
from aligner.phone_folding import load_folding


def _tier(*labels_and_ms: tuple[str, int]) -> list[Interval]:
    """Contiguous intervals from (label, duration in ms) pairs, starting at 0."""
    out, t = [], 0.0
    for label, ms in labels_and_ms:
        out.append(Interval(round(t, 3), round(t + ms / 1000, 3), label))
        t += ms / 1000
    return out


def _fold(name: str, *labels_and_ms: tuple[str, int]) -> list[tuple[str, float, float]]:
    return [(iv.label, iv.start, iv.end) for iv in load_folding(name).fold_phones(_tier(*labels_and_ms))]


def test_emu_aspiration_stays_with_its_stop():
    # "k H @" (a released /k/, its aspiration, schwa): the stop runs to voicing onset
    assert _fold("emu-ae", ("k", 30), ("H", 40), ("@", 50)) == [("K", 0.0, 0.07), ("AH", 0.07, 0.12)]


def test_emu_affricates_and_two_phone_labels():
    assert [p for p, _, _ in _fold("emu-ae", ("I", 60), ("t", 40), ("S", 80))] == ["IH", "CH"]
    assert [p for p, _, _ in _fold("emu-ae", ("E", 60), ("d", 30), ("Z", 70))] == ["EH", "JH"]
    # an unreleased /k/ fused with /t/ keeps the first phone; EMU's TRAP vowel is `A`
    assert [p for p, _, _ in _fold("emu-ae", ("r", 40), ("A", 90), ("kt", 60), ("s", 80))] == [
        "R", "AE", "K", "S"]


def test_emu_sonorant_onsets_join_their_sonorant():
    # "Or r" in "strengths": the onset label joins the /r/ that follows
    assert _fold("emu-ae", ("t", 40), ("Or", 20), ("r", 50), ("E", 60)) == [
        ("T", 0.0, 0.04), ("R", 0.04, 0.11), ("EH", 0.11, 0.17)]


def test_emu_vowels_and_silence():
    assert [p for p, _, _ in _fold("emu-ae", ("", 100), ("@:", 80), ("ai", 90), ("@u", 90),
                                    ("o:", 80), ("V", 60), ("", 50))] == ["ER", "AY", "OW", "AO", "AH"]


def test_sampa_is_case_sensitive():
    # SAMPA: S is SH, s is S; D is DH, d is D; T is TH, t is T; N is NG, n is N
    got = [p for p, _, _ in _fold("ipa", ("S", 50), ("s", 50), ("D", 50), ("d", 50), ("T", 50),
                                   ("t", 50), ("N", 50), ("n", 50))]
    assert got == ["SH", "S", "DH", "D", "TH", "T", "NG", "N"]


@pytest.mark.parametrize("label, phone", [
    ("ð", "DH"), ("θ", "TH"), ("ə", "AH"), ("ɚ", "ER"), ("ʃ", "SH"), ("ŋ", "NG"), ("ɹ", "R"),
    ("iː", "IY"), ("ˈæ", "AE"), ("aɪ", "AY"), ("oʊ", "OW"), ("tʃ", "CH"), ("dʒ", "JH"),
    ("eI", "EY"), ("@U", "OW"), ("{", "AE"), ("i:", "IY"),
    # a narrow transcription's diacritics: they counted as label mismatches
    ("b̥", "B"), ("d̥", "D"), ("o͡ʊ", "OW"), ("tʰ", "T"), ("kʰ", "K"), ("æ̃", "AE"), ("t͡ʃ", "CH"),
])
def test_ipa_and_sampa_symbols(label, phone):
    assert _fold("ipa", (label, 60)) == [(phone, 0.0, 0.06)]


def test_arpabet_folding_stays_case_blind():
    assert [p for p, _, _ in _fold("cmu39", ("t", 50), ("AH0", 50), ("s", 50))] == ["T", "AH", "S"]
