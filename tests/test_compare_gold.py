"""recipes/train/compare_gold.py: the paired tests that say whether two models differ."""

from __future__ import annotations

import numpy as np
import pytest

from recipes.train.compare_gold import mcnemar_exact, sign_flip_p


def test_mcnemar_exact_matches_the_binomial_tail():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)  # 2 * P(X <= 0), X ~ B(10, 1/2)
    assert mcnemar_exact(14, 12) == mcnemar_exact(12, 14) > 0.8  # this session's W5 vs W10


def test_sign_flip_tells_a_real_difference_from_noise():
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 5.0, 300)
    assert sign_flip_p(noise) > 0.05
    assert sign_flip_p(noise + 2.0) < 0.001
    assert sign_flip_p(np.zeros(10)) == 1.0
