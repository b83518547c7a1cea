"""Percentiles of short 1-D arrays, as numpy's default (linear) method gives them.

Why not `np.percentile`: on the few hundred frame levels of a short recording it spends some 30
µs in Python around a partition that takes 2, and a recording's checks take a handful
(`features.edge_padding`, `boundaries.sounding_frames`, `checks`): 1% of a corpus pass."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def percentile(values: np.ndarray | Sequence[float], q: float) -> np.floating:
    """`np.percentile(values, q)` of a non-empty 1-D float array without NaN, to the bit and of
    its dtype: the order statistics either side of (n - 1) * q / 100 by one partition, and
    numpy's interpolation between them (from the nearer one)."""
    values = np.asarray(values)
    n = values.size
    if n == 0:
        raise ValueError("percentile of an empty array")
    at = (n - 1) * (q / 100)
    lo = math.floor(at)
    hi = min(lo + 1, n - 1)
    part = np.partition(values, (lo, hi) if hi != lo else lo)
    below, above = part[lo], part[hi]
    t = at - lo
    step = above - below
    return above - step * (1 - t) if t >= 0.5 else below + step * t
