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


def test_errors_are_keyed_by_the_gold_boundary_so_two_systems_pair_up():
    from aligner.alignment import Interval
    from recipes.train.compare_gold import errors_by_gold_time

    gold = [Interval(0.0, 0.1, "AA"), Interval(0.1, 0.2, "B"), Interval(0.2, 0.3, "AA")]
    a = errors_by_gold_time(gold, [Interval(0.0, 0.11, "AA"), Interval(0.11, 0.2, "B"),
                                   Interval(0.2, 0.33, "AA")])
    assert sorted(a) == [0.0, 0.1, 0.2, 0.3]
    assert a[0.1] == pytest.approx(10.0) and a[0.3] == pytest.approx(30.0)
    b = errors_by_gold_time(gold, [Interval(0.0, 0.2, "AA"), Interval(0.2, 0.3, "AA")])  # no B
    assert b == pytest.approx({0.0: 0.0, 0.1: 100.0, 0.2: 0.0, 0.3: 0.0})  # same keys as a's
