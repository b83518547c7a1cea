"""Phone boundaries placed on the acoustic change that marks them.

The model sees the signal through 25 ms windows every 10 ms and decides, frame by frame, which
phone is sounding; where two phones of different manners meet (a fricative and a vowel, a vowel
and a stop closure, a nasal and a vowel), the spectrum changes abruptly, and that instant is
where people put the boundary. `snap_to_change` moves each such boundary to the strongest
spectral change (`aligner.features.spectral_change`, every 2.5 ms) near the model's boundary,
the nearer the likelier (a Gaussian of SIGMA around it). On hand-labelled real recordings this
put 5 points more of the phone boundaries within 20 ms (gold-dev, `benchmarks/real_speech.py`);
its settings were chosen on the synthetic dev split, whose gold is exact.

Boundaries next to silence, markup or a phone of the same manner stay where the model put them:
there the change is gradual or the model's silence decision is already the better evidence.
Pure: intervals and an array in, intervals out.
"""

from __future__ import annotations

import numpy as np

from aligner.alignment import Interval
from aligner.text.phones import manner

SIGMA = 0.012  # s: how far from the model's boundary the change is looked for (Gaussian width)
RADIUS = 0.03  # s: never further than this
MIN_PHONE = 0.012  # s: each of the two phones keeps at least this much (or all it had)


def snap_to_change(phones: list[Interval], change: np.ndarray, hop: float) -> list[Interval]:
    """Phones with each boundary between two touching phones of different manners moved to
    the peak of `change` (values at (t + 0.5) * hop s) times a Gaussian prior around it.
    Times, labels and confidences of everything else are kept; the order never changes."""
    out = list(phones)
    if len(out) < 2 or len(change) == 0:
        return out
    times = (np.arange(len(change)) + 0.5) * hop
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if abs(a.end - b.start) > 1e-6:
            continue
        left, right = manner(a.label), manner(b.label)
        if left is None or right is None or left == right:
            continue
        # each phone keeps MIN_PHONE, or what it has if that is less: the window always holds
        # the model's boundary, so a short phone is never stretched without a change to go to
        lo = max(a.end - RADIUS, min(a.start + MIN_PHONE, a.end))
        hi = min(a.end + RADIUS, max(b.end - MIN_PHONE, a.end))
        first, last = np.searchsorted(times, lo), np.searchsorted(times, hi, side="right")
        if last <= first:
            continue
        near = times[first:last]
        score = change[first:last] * np.exp(-0.5 * ((near - a.end) / SIGMA) ** 2)
        t = round(float(near[int(np.argmax(score))]), 6)
        out[i] = Interval(a.start, t, a.label, a.confidence)
        out[i + 1] = Interval(t, b.end, b.label, b.confidence)
    return out
