"""recipes/train/calibrate.py: a threshold suggestion written into Thresholds' defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.train.calibrate import set_threshold

CHECKS = Path(__file__).resolve().parent.parent / "aligner" / "checks.py"


def test_set_threshold_rewrites_only_that_default():
    source = CHECKS.read_text(encoding="utf-8")
    new = set_threshold(source, "min_transcript_fit", 0.00412345)
    assert "    min_transcript_fit: float = 0.0041\n" in new
    changed = [(a, b) for a, b in zip(source.splitlines(), new.splitlines()) if a != b]
    assert len(changed) == 1 and len(new.splitlines()) == len(source.splitlines())
    assert set_threshold(new, "min_relative_fit", 0.05).count("min_relative_fit: float = 0.0500") == 1


def test_set_threshold_refuses_a_name_it_cannot_find_once():
    with pytest.raises(ValueError, match="found 0"):
        set_threshold("x: float = 1.0\n", "min_transcript_fit", 0.1)
    with pytest.raises(ValueError, match="found 2"):
        set_threshold("    a: float = 1.0\n    a: float = 2.0\n", "a", 0.1)
