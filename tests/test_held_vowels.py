"""benchmarks/held_vowels.py: the share of a held vowel's voicing that an alignment covers."""

from __future__ import annotations

import numpy as np

from aligner.alignment import Interval
from benchmarks.held_vowels import covered, vowel_covered


def test_the_covered_share_is_the_phones_time_inside_the_voicing():
    """1 s of a 150 Hz voice between 0.5 s of quiet: a vowel over all of it covers about all,
    one over its second half about half, one on the quiet after it nothing."""
    rate = 16000
    t = np.arange(rate) / rate
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6))
    quiet = np.zeros(rate // 2)
    wave = (0.3 * np.concatenate([quiet, voice, quiet])).astype(np.float32)
    whole, span = covered(wave, [Interval(0.5, 1.5, "AA1")])
    assert 0.9 <= span <= 1.1 and whole > 0.95
    half, _ = covered(wave, [Interval(0.0, 0.5, ""), Interval(1.0, 1.5, "AA1")])
    assert 0.4 < half < 0.6  # the silence interval counts for nothing
    assert covered(wave, [Interval(1.6, 1.9, "AA1")])[0] == 0.0


def test_a_vowel_held_in_its_sentence_is_scored_by_its_own_phone():
    """The held span's share that the phone of that vowel (stress ignored) covers, the one
    overlapping it most; another vowel's phone over it counts for nothing."""
    phones = [Interval(0.0, 0.4, "K"), Interval(0.4, 1.2, "AA1"), Interval(1.2, 1.6, "T"),
              Interval(2.0, 2.1, "AA0")]
    assert abs(vowel_covered(phones, "AA1", (0.4, 1.6)) - 2 / 3) < 1e-9
    assert vowel_covered(phones, "AA", (2.0, 2.2)) == 0.5
    assert vowel_covered(phones, "IY1", (0.4, 1.6)) == 0.0
