"""The result of aligning one utterance: what every writer, plotter and evaluator consumes.

Kept free of torch and of file formats so that readers (evaluation of other tools' output) and
writers share one plain representation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from aligner.text.phones import STAR

# The frame grid every part of ottc-align shares: frame t is [t * 0.01, (t + 1) * 0.01) s (the
# model's outputs, the voicing and level checks, the flags, the scorers; DESIGN.md). A model is
# built on it (`features.check_frame_grid`).
FRAME_SECONDS = 0.01
# A frame belongs to a span when its centre (t + 0.5) * frame lies in [start, end). Refined
# boundaries sit on frame centres, so the rule is evaluated this far inside the edge: a centre
# exactly at a start stays in its span whatever the float rounding of start / frame.
EDGE_EPS = 1e-9


def spoken_words(alignment: "Alignment") -> list[Interval]:
    """The labelled words of `alignment` without the `<star>` wildcard (it stands for what the
    transcript left out): what a word count means."""
    return [w for w in alignment.words if w.label and w.label.lower() != STAR]


def mean_word_confidence(words: list[Interval]) -> float | None:
    """The mean confidence of the words that have one (markup has none); None when none has."""
    confs = [w.confidence for w in words if w.confidence is not None]
    return sum(confs) / len(confs) if confs else None


def frame_span(start: float, end: float, n_frames: int,
               frame: float = FRAME_SECONDS) -> tuple[int, int]:
    """The frames [lo, hi) of [0, n_frames) whose centres lie in [start, end) s (hi <= lo: none).
    The one rule for confidences, the transcript fit, gold frame labels and silence scores."""
    lo = max(0, math.ceil(start / frame - 0.5 - EDGE_EPS))
    hi = min(n_frames, math.ceil(end / frame - 0.5 - EDGE_EPS))
    return lo, hi


@dataclass
class Interval:
    """One labelled stretch of time, in seconds. Silence has the label ""."""

    start: float
    end: float
    label: str
    confidence: float | None = None


class Uncovered(NamedTuple):
    """Speech that no word covers (checks.voiced_outside_words): the longest stretch
    (start, end) in seconds, and the stretches of UNCOVERED_MIN_SECONDS or more: their seconds
    together and their number (0 when even the longest is shorter)."""

    start: float
    end: float
    total: float = 0.0
    stretches: int = 0

    def shifted(self, offset: float) -> "Uncovered":
        return self._replace(start=self.start + offset, end=self.end + offset)


class Evidence(NamedTuple):
    """A doubtful word (start, end in seconds, label) and how much better the recording fits
    with it than without it (nats, `aligner/word_evidence.py`): negative, it was probably not
    said."""

    start: float
    end: float
    label: str
    nats: float

    def shifted(self, offset: float) -> "Evidence":
        return self._replace(start=round(self.start + offset, 3), end=round(self.end + offset, 3))


@dataclass
class Alignment:
    """Words and phones of one utterance (or one speaker's tier of a recording).

    `flags` holds human-readable warnings about alignments that are probably wrong (a transcript
    that does not fit, low confidence, implausible durations); `unknown_words` maps each word that was not in any
    dictionary to the pronunciation that was generated for it.
    """

    words: list[Interval]
    phones: list[Interval]
    duration: float
    speaker: str | None = None
    flags: list[str] = field(default_factory=list)
    unknown_words: dict[str, list[str]] = field(default_factory=dict)
    # OTTC frame weights (10 ms frames), for plots; optional. Left out of repr: one per frame.
    alpha: list[float] | None = field(default=None, repr=False)
    # How well the transcript explains the audio, in (0, 1]: exp(-(G + W / 2 + 3 S + D)), G how
    # far the aligned phone's log-posterior falls below the best phone's over the frames, W the
    # mean -log word confidence, S the share of squeezed phones, D how far the decoders disagree
    # (`checks.transcript_fit`, `checks.decoder_disagreement`). 1.0: the
    # transcript's phones are the model's own best guesses throughout. None: not measured
    # (other tools' files).
    transcript_fit: float | None = None
    # The share of the audio's 10 ms frames that are voiced (features.voiced_share): near 0 when
    # nobody speaks, whatever the model heard. None: not measured.
    voiced_share: float | None = None
    # Speech, voiced or heard by the model (checks.heard_speech), that no word covers
    # (checks.voiced_outside_words): speech the transcript may have left out. None: none found
    # or not measured.
    voiced_outside: Uncovered | None = None
    # How far (dB) the background in the pauses lies below the words after pre-emphasis
    # (checks.noise_margin on features.frame_levels(emphasis=True)): the `transcript_mismatch`
    # and `low_confidence` limits rise in noise (checks.noise_allowance). None: not measured
    # (too few pause frames, other tools' files).
    noise_margin: float | None = None
    # The recording's band (Hz, features.band_edge): under features.NARROW_BAND (audio recorded
    # at 8 kHz) the `transcript_mismatch` threshold is lower (checks.band_allowance). None: not
    # measured.
    band_edge: float | None = None
    # The transcript text this tier was aligned to, as typed (punctuation and case kept; a
    # TextGrid's intervals of this speaker joined): subtitles take their punctuation from it.
    # None: not known (other tools' files, an Alignment built by hand). Left out of repr and
    # of equality: a long recording's transcript is no summary, and the timings are the result.
    text: str | None = field(default=None, repr=False, compare=False)
    # Which channel of the recording file was aligned (1 the first; `--channel`), None for the
    # mix of all channels: the JSON output says so, for whoever opens it later (metadata, like
    # `text`: not part of equality).
    channel: int | None = field(default=None, compare=False)
    # The doubtful words (those of low confidence) and how much better the recording fits with
    # each than without it (`aligner/word_evidence.py`): the `unsaid_word` flag's evidence.
    # Empty: none judged (other tools' files).
    word_evidence: list[Evidence] = field(default_factory=list, repr=False)
