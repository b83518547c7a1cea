"""A voiceless stop after a voiceless fricative starts where the frication stops, in the audio.

Why: diphone voices label the fricative-to-stop boundary inside the fricative's noise. mbrola's
us2 database, read through espeak-ng (mb-us2) or Festival (fest-us2), runs its /s/ on some
16 ms past the boundary its phones report: at fricative > stop boundaries the spectral change
(`python -m recipes.synth.landmarks`, such boundaries only) lay 15.9 and 16.0 ms after their
gold, where espeak-ng's native voices, whose gold is where their closure's silence begins, read
-1.4 and -6.5 ms. A listener, and a phonetician's labels, put the stop's start where the noise
ends and the closure's silence begins. ARPAbet segments, after the voice's bias is applied.
"""

from __future__ import annotations

import numpy as np

from .gold import Segment

VOICELESS_FRICATIVES = {"S", "SH", "F", "TH"}
VOICELESS_STOPS = {"P", "T", "K", "CH"}
FRAME_S = 0.002  # the quiet test's frame (here and in `espeak_engine.closure_start`)
QUIET_DB = -30.0  # ... quiet: this far under the recording's 99th-percentile magnitude
REACH_S = 0.04  # the boundary moves this far forward at most
BURST_GAP_S = 0.005  # ... and stays this far before the stop's end (its release)


def quiet_level(audio: np.ndarray) -> float:
    """RMS under which a 2 ms frame counts as a stop closure's silence (once per recording: a
    percentile of all of it)."""
    return float(np.percentile(np.abs(audio), 99) + 1e-6) * 10 ** (QUIET_DB / 20)


def frication_end(audio: np.ndarray, sr: int, at: float, upper: float, level: float
                  ) -> float | None:
    """Time of the first quiet 2 ms frame from `at` (s) on, starting before `upper`; None when
    the frame at `at` is quiet already (the boundary is where the noise ends) or none is."""
    step = max(1, round(FRAME_S * sr))
    b, last = round(at * sr), round(upper * sr)
    first = True
    while b < last and b + step <= len(audio):
        if np.sqrt(np.mean(audio[b:b + step] ** 2)) <= level:
            return None if first else b / sr
        first = False
        b += step
    return None


def stops_after_frication(segments: list[Segment], audio: np.ndarray, sr: int) -> list[Segment]:
    """`segments` (ARPAbet, time order) with each voiceless stop that follows a voiceless
    fricative starting where the fricative's noise ends (`frication_end`), at most REACH_S later
    and BURST_GAP_S before the stop's own end; unchanged where no quiet frame lies there."""
    out = [Segment(s.phone, s.start, s.end, s.word) for s in segments]
    level = quiet_level(audio)
    for before, stop in zip(out, out[1:]):
        if (before.phone not in VOICELESS_FRICATIVES or stop.phone not in VOICELESS_STOPS
                or abs(before.end - stop.start) > 1e-6):
            continue
        upper = min(stop.start + REACH_S, stop.end - BURST_GAP_S)
        end = frication_end(audio, sr, stop.start, upper, level)
        if end is not None:
            before.end = stop.start = end
    return out
