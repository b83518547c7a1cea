"""recipes/train/phone_durations.py: durations to OTTC token masses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recipes.train.phone_durations import masses_from_durations, typical_duration  # noqa: E402


def test_masses_are_relative_to_the_token_weighted_mean_duration():
    per_phone = {"AA": [0.12] * 30, "T": [0.06] * 60, "ZH": [0.2] * 3}
    m = masses_from_durations(per_phone, min_count=20)
    mean = (0.12 * 30 + 0.06 * 60) / 90
    assert m["AA"] == pytest.approx(0.12 / mean, abs=1e-4)
    assert m["T"] == pytest.approx(0.06 / mean, abs=1e-4)
    assert m["ZH"] == 1.0 and m["B"] == 1.0  # too rare / unseen: the mean
    assert set(m) >= {"AA", "T", "IY"}


def test_no_phone_seen_enough_is_an_error():
    with pytest.raises(ValueError, match="often enough"):
        masses_from_durations({"AA": [0.1]}, min_count=20)


def test_typical_duration_drops_the_extreme_tenth():
    d = [0.05] * 18 + [0.5, 0.001]  # one stretched and one squeezed phone among 20
    assert typical_duration(d) == pytest.approx(0.05)
    assert typical_duration([0.07]) == 0.07
