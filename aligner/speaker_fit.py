"""A recording's transcript fit judged against the same speaker's other recordings.

`transcript_fit` (aligner/checks.py) runs low for every recording of some speakers: a strong
accent, a child's voice, a poor microphone. A single threshold that catches wrong transcripts
for most voices therefore either flags correct transcripts of those speakers or lets wrong ones
of clear speakers through (`Thresholds.min_transcript_fit` is set to flag 1.75% of correct ones). In
a corpus the speaker's other recordings say what is normal for that voice, and a wrong transcript
stands out against them: the relative fit divides a recording's fit by the square root of the
median fit of the speaker's other recordings, i.e. moves its log half-way towards the speaker's
norm. The half (SPEAKER_WEIGHT) was chosen on each half of speechocean762's held-out speakers
separately (0.55 and 0.5); with the whole median divided out, hard voices' wrong transcripts
passed more often (89% of swapped transcripts caught against 92% at one half, both flagging 1%
of correct ones). The median keeps the norm from following the few wrong transcripts a corpus
may hold.

On those speakers (benchmarks/real_speech.py) the single-recording test flags 1.6% of correct
and 95.0% of swapped transcripts; with this one beside it, 1.8% and 96.2%. Pure: numbers in,
numbers out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SPEAKER_WEIGHT = 0.5  # how far a recording's log fit is moved towards its speaker's median
MIN_OTHERS = 4  # other recordings of the speaker needed before their median means anything
_FLOOR = 1e-12


@dataclass(frozen=True)
class RelativeFit:
    """A recording's fit against its speaker's other recordings."""

    relative: float  # fit / speaker_median ** SPEAKER_WEIGHT
    speaker_median: float  # median fit of the speaker's other recordings
    others: int  # how many those are


def relative_fits(fits: Sequence[tuple[str, float]]) -> list[RelativeFit | None]:
    """For each (speaker, fit): its relative fit, `fit / m ** SPEAKER_WEIGHT` with `m` the
    median fit of the speaker's other recordings (for an even count, the geometric mean of the
    middle two); None for a speaker with fewer than MIN_OTHERS other recordings.
    One sort per speaker, so a single-speaker corpus of 100 000 files costs no more than one
    of a hundred speakers."""
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i, (speaker, _) in enumerate(fits):
        by_speaker[speaker].append(i)
    out: list[RelativeFit | None] = [None] * len(fits)
    for members in by_speaker.values():
        n = len(members)
        if n - 1 < MIN_OTHERS:
            continue
        logs = np.log(np.maximum([fits[i][1] for i in members], _FLOOR))
        order = np.argsort(logs, kind="stable")
        ranked = logs[order]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        for k, i in enumerate(members):
            norm = _median_without(ranked, int(rank[k]))
            out[i] = RelativeFit(float(np.exp(logs[k] - SPEAKER_WEIGHT * norm)),
                                 float(np.exp(norm)), n - 1)
    return out


def _median_without(ranked: np.ndarray, r: int) -> float:
    """Median of the sorted array `ranked` with its element at index r left out."""
    m = len(ranked) - 1

    def at(j: int) -> float:  # the j-th smallest of the remaining elements
        return float(ranked[j if j < r else j + 1])

    return at(m // 2) if m % 2 else 0.5 * (at(m // 2 - 1) + at(m // 2))
