"""Tests of the target sequence builder (silence tokens between words)."""

from __future__ import annotations

import pytest
import torch

from aligner.targets import build_targets
from aligner.text.phones import SILENCE_ID


def test_layout_masses_words_and_optional():
    t = build_targets([[5, 6], [7]], sil_mass=0.5)
    assert t.tokens.tolist() == [SILENCE_ID, 5, 6, SILENCE_ID, 7, SILENCE_ID]
    assert t.word.tolist() == [-1, 0, 0, -1, 1, -1]
    assert t.optional.tolist() == [True, False, False, True, False, True]
    expected = torch.tensor([0.5, 1, 1, 0.5, 1, 0.5], dtype=torch.float64) / 4.5
    torch.testing.assert_close(t.beta, expected)
    assert t.beta.dtype == torch.float64 and t.tokens.dtype == torch.long


def test_empty_transcript_is_one_silence_and_bad_input_raises():
    t = build_targets([])
    assert t.tokens.tolist() == [SILENCE_ID] and float(t.beta.sum()) == 1.0
    with pytest.raises(ValueError, match="word 1 has no phones"):
        build_targets([[3], []])
    with pytest.raises(ValueError, match="sil_mass"):
        build_targets([[3]], sil_mass=-1.0)


def test_zero_sil_mass_keeps_tokens_without_mass():
    t = build_targets([[3, 4]], sil_mass=0.0)
    assert t.beta.tolist() == [0.0, 0.5, 0.5, 0.0]


def test_phone_masses_scale_each_phone_token():
    ids = [[2, 3], [4]]
    mass = [1.0] * 41
    mass[2], mass[4] = 2.0, 0.5
    t = build_targets(ids, sil_mass=0.25, phone_mass=mass)
    raw = torch.tensor([0.25, 2.0, 1.0, 0.25, 0.5, 0.25], dtype=torch.float64)
    torch.testing.assert_close(t.beta, raw / raw.sum())
    assert build_targets(ids, 0.25, None).beta.tolist() == build_targets(ids, 0.25, [1.0] * 41).beta.tolist()
    with pytest.raises(ValueError, match="phone_mass"):
        build_targets(ids, 0.25, [0.0] * 41)
