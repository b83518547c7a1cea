"""Whether a doubtful word was said: the best path's score with the word against without it.

A word the speaker did not say (a word a reader skipped, a transcript's extra word) still gets
frames, the few the decoder can take from its neighbours, and its phones score poorly there. So
do a learner's mispronounced words, which a low confidence cannot tell apart from skipped ones.
Decoding the same stretch again without the word asks the sharper question, the one a reading
tutor's "skip arc" asks: does the audio fit better without it? A word that was said must then be
explained by its neighbours' phones or by silence, which costs many nats; leaving out a word that
was not said costs nothing or gains. The `unsaid_word` flag reads the result
(`checks.Thresholds.max_unsaid_gain`; what it catches: docs/usage.md).

Pure: log-probabilities in, numbers out. Only words named by the caller are judged (the doubtful
ones): each costs two exact searches over a few words' frames, so a long recording costs no more
per word than a short one.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection, Sequence

from torch import Tensor

from aligner.alignment import Evidence, Interval
from aligner.decode import best_totals

REACH = 2  # words either side of the judged one that are decoded again with it and without it
# Words of a lower confidence are judged (`Aligner.decode`): of learners' correct words about a
# quarter, of words that were not said nine in ten (90% of them are under 0.021).
DOUBTFUL_CONFIDENCE = 0.03


def word_evidence(log_probs: Tensor, tokens: Tensor, word: Tensor, optional: Tensor,
                  edges: Sequence[tuple[int, int] | None], judged: Sequence[int],
                  walls: Collection[int] = (), reach: int = REACH, cost: Tensor | None = None
                  ) -> dict[int, float]:
    """For each word index k in `judged`: the log-probability (nats) of the best path over the
    frames of words k - `reach` .. k + `reach`, less that of the best path over the same frames
    without word k; negative when the audio fits better without the word.

    A word that was said, beside one that was not, can seem unsaid too: left out, its frames go
    to the unsaid word, which may fit them as well. So the words that gain by leaving them out
    are taken in order, the greatest gain first, and each is judged again with those before
    it within reach already left out ("please try ELEPHANT again": 'again' gained 55 nats
    alone, and loses 61 once 'elephant' is out).

    log_probs [T, C] as decoded; tokens, word, optional [S]: the decoded token sequence, each
    token's word (-1 for the silences between words) and whether it may take no frame; edges:
    each word's (first frame, end frame) on the decoded path, None for a word that took none;
    walls: markup words (`<star>`, `[noise]`, `<unk>`), which the stretch stops short of: a
    wildcard or spoken noise takes any sound, so within reach of one every word would seem
    unsaid. Nor is a word beside one judged: the markup may already have taken part of its
    sounds. In 7 minutes of learners' sentences with `<star>` between them, 8 correct words
    were flagged with neither rule, 1 with both (2 in the plain transcript); with `<star>` or
    `[noise]` at both ends of 300 correct learner transcripts, 22 with the walls alone, 11
    with both (13 without the markup).
    A word is not judged (left out of the result) when it has no edges, when no other word with
    edges lies within reach (a one-word transcript: there is nothing to give its frames to), or
    when the stretch has too few frames for its tokens. cost [S]: what each token costs when it
    takes frames (`decode.viterbi_segments`; a pause inside a word), as the decoder had it."""
    owner = word.tolist()
    walls = set(walls)
    place: dict[int, list[int]] = {}
    for j, w in enumerate(owner):
        if w >= 0:
            place.setdefault(w, []).append(j)

    def gain(k: int, gone: Sequence[int]) -> float | None:
        """Word k's evidence with the words `gone` left out of both paths."""
        if (k >= len(edges) or edges[k] is None or k not in place
                or {k - 1, k, k + 1} & walls):
            return None
        first, last = k, k  # the words within reach, up to a wall
        while first > max(0, k - reach) and first - 1 not in walls:
            first -= 1
        while last < min(len(edges), k + reach + 1) - 1 and last + 1 not in walls:
            last += 1
        near = [w for w in range(first, last + 1) if edges[w] is not None and w in place]
        if len([w for w in near if w not in gone]) < 2:
            return None
        lo, hi = edges[near[0]][0], edges[near[-1]][1]
        span = [j for j in range(place[near[0]][0], place[near[-1]][-1] + 1)
                if owner[j] not in gone]
        without = [j for j in span if owner[j] != k]
        with_it, left_out = best_totals(log_probs[lo:hi], [
            (tokens[span], optional[span], *([] if cost is None else [cost[span]])),
            (tokens[without], optional[without], *([] if cost is None else [cost[without]]))])
        if not (math.isfinite(with_it) and math.isfinite(left_out)):  # too few frames
            return None
        return float(with_it - left_out)

    out = {k: v for k in judged if (v := gain(k, ())) is not None}
    gone: list[int] = []
    for k in sorted((k for k in out if out[k] < 0), key=out.__getitem__):
        near = [w for w in gone if abs(w - k) <= reach]
        again = gain(k, near) if near else out[k]
        if again is not None:
            out[k] = again
        if out[k] < 0:
            gone.append(k)
    return out


def word_edges(starts: Sequence[float], ends: Sequence[float], word: Sequence[int], words: int,
               frame_duration: float) -> list[tuple[int, int] | None]:
    """Each word's (first frame, end frame) from its tokens' start and end times (seconds; the
    decoded spans), None for a word whose tokens took no time."""
    edges: list[tuple[int, int] | None] = [None] * words
    for s, e, w in zip(starts, ends, word):
        if w < 0 or e - s < frame_duration / 2:
            continue
        a, b = round(s / frame_duration), round(e / frame_duration)
        old = edges[w]
        edges[w] = (a, b) if old is None else (min(old[0], a), max(old[1], b))
    return edges


def on_words(evidence: Sequence[Evidence], words: Sequence[Interval]) -> list[Evidence]:
    """`evidence` with each judged word's times those of the same word in `words` (the one of
    the same label it overlaps most): the evidence is taken on the decoder's words, and the
    steps after decoding move their edges (a word end carried over its fading voice, a short
    pause closed), so a flag's times would miss the word written out."""
    said = [w for w in words if w.label]
    starts = [w.start for w in said]
    out = []
    for e in evidence:
        i = bisect.bisect_left(starts, e.start)
        near = [w for w in said[max(0, i - 2): i + 2] if w.label == e.label]
        best = max(near, key=lambda w: min(w.end, e.end) - max(w.start, e.start), default=None)
        out.append(e if best is None else e._replace(start=best.start, end=best.end))
    return out
