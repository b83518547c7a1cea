"""The token sequence the OTTC model aligns: words' phones with optional silences between them.

A forced aligner is given words, not pauses. The first design (docs/DESIGN.md, "Silence in the
target sequence") puts one silence token at each end and between every two words:
`sil w1-phones sil w2-phones ... sil`. Each silence token has a small mass `sil_mass` (relative to
1.0 for a phone) so that, where there is no pause, alpha can squeeze it into a fraction of a
frame; where there is an unannounced pause, the silence token around it absorbs the frames.
Viterbi decoding treats these tokens as optional (0 frames allowed), hence the `optional` mask.

Transcript markup has no phones: spoken noise (`SPN_ID`, `[laughter]`) is one optional token
with a phone's mass; the wildcard (`STAR_ID`, `<star>`) is one optional token with a silence's
mass. Optional, because a transcriber's `[laughter]` or `{LG}` is often not heard where the
words put it: forced to take a frame, it took its neighbour's first or last one (a 10 ms bite
out of the word). A word a user dictionary pronounces `sil` (MFA's `{SL} sil`) is an optional
silence that replaces the inserted silences around it, so that it, not they, covers the pause. How long either really lasts is not known from the text, so for
OT `fit_markup_mass` replaces their masses with the frame weight a Viterbi pass gave them.
Pure: no I/O.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor

from aligner.text.phones import SILENCE_ID, SPN_ID, STAR_ID

__all__ = ["Targets", "build_targets", "fit_markup_mass", "SPN_MASS"]

SPN_MASS = 1.0  # spoken noise's mass relative to a phone's (until `fit_markup_mass` sets it)


class Targets(NamedTuple):
    """One utterance's target sequence.

    tokens:   [S] int64 class ids (sil = SILENCE_ID = 1)
    beta:     [S] float64 token masses, summing to 1
    word:     [S] int64 index of the word each token belongs to, -1 for silence tokens
    optional: [S] bool, True for the inserted silence tokens, markup and silence words
    """

    tokens: Tensor
    beta: Tensor
    word: Tensor
    optional: Tensor


def build_targets(word_phone_ids: list[list[int]], sil_mass: float = 0.5,
                  phone_mass: Sequence[float] | None = None) -> Targets:
    """`sil w1 sil w2 ... sil` with phone mass 1 and silence mass `sil_mass`, normalised.

    word_phone_ids: one list of phone class ids per word (each non-empty); SPN_ID and STAR_ID
    (markup) get masses SPN_MASS and `sil_mass` and are optional, as is a word of SILENCE_ID
    alone (mass `sil_mass`), which takes the place of the inserted silences on either side.
    sil_mass: relative mass of each silence token, >= 0 (0 keeps the token in the sequence but
    gives it no frames under OT).
    phone_mass: optional relative mass per class id (> 0), e.g. proportional to each phone's
    typical duration. Why: with equal masses the frame weights must swing between long vowels
    and short consonants, and a smooth alpha then lends the edge frames of a vowel to its
    consonant neighbours; masses near the expected durations ask less of alpha.
    An empty word list gives the single token `sil` (an utterance of silence).
    """
    if sil_mass < 0 or sil_mass != sil_mass:
        raise ValueError(f"sil_mass must be >= 0, got {sil_mass}")
    if phone_mass is not None and not all(m > 0 for m in phone_mass):
        raise ValueError("phone_mass must be > 0 for every class")
    tokens: list[int] = [SILENCE_ID]
    mass: list[float] = [sil_mass]
    word: list[int] = [-1]
    for w, phones in enumerate(word_phone_ids):
        if len(phones) == 0:
            raise ValueError(f"word {w} has no phones")
        silent = all(int(p) == SILENCE_ID for p in phones)
        if silent and word[-1] == -1:  # the word is the pause: no inserted silence before it
            tokens.pop(), mass.pop(), word.pop()
        tokens.extend(int(p) for p in phones)
        # a pause inside a word (between a reading's words, `with_pauses_in_words`) has no
        # mass: OT, and the OT guide of a banded Viterbi search, would give each as many frames
        # as an inserted silence, and it is rarely used
        mass.extend(0.0 if int(p) == SILENCE_ID and not silent else
                    _mass(int(p), sil_mass, phone_mass) for p in phones)
        word.extend([w] * len(phones))
        if not silent:
            tokens.append(SILENCE_ID)
            mass.append(sil_mass)
            word.append(-1)
    beta = torch.tensor(mass, dtype=torch.float64)
    total = float(beta.sum())
    beta = beta / total if total > 0 else torch.full_like(beta, 1.0 / len(mass))
    word_t = torch.tensor(word, dtype=torch.long)
    tokens_t = torch.tensor(tokens, dtype=torch.long)
    markup = (tokens_t == STAR_ID) | (tokens_t == SPN_ID) | (tokens_t == SILENCE_ID)
    return Targets(tokens_t, beta, word_t, (word_t < 0) | markup)


def _mass(token: int, sil_mass: float, phone_mass: Sequence[float] | None) -> float:
    """Relative mass of one word token (a phone, or markup)."""
    if token in (STAR_ID, SILENCE_ID):
        return sil_mass
    if token == SPN_ID:
        return SPN_MASS
    return 1.0 if phone_mass is None else float(phone_mass[token])


def fit_markup_mass(beta: Tensor, markup: Tensor, alpha: Tensor, first: Tensor,
                    end: Tensor) -> Tensor:
    """beta [S] with each markup token's mass set to the frame weight of its Viterbi span, the
    other tokens scaled to share the rest: [S] float64, sums to 1.

    markup [S] bool; alpha [T] frame weights (sum 1); first, end [S] int64 frame spans of a
    Viterbi path over the same tokens. Why: OT places boundaries where the cumulative frame
    weight reaches each token's cumulative mass, so a token whose length the text does not tell
    (a laugh, an untranscribed aside) needs the mass of the frames it covers, or the words around
    it are dragged over them; a wildcard given no frames gets no mass."""
    a = alpha.double() / alpha.double().sum()
    cum = torch.cat([a.new_zeros(1), torch.cumsum(a, 0)])
    weight = (cum[end.long()] - cum[first.long()]).clamp_min(0.0)
    fitted = torch.where(markup, weight, torch.zeros_like(weight))
    rest = 1.0 - float(fitted.sum())
    others = torch.where(markup, torch.zeros_like(beta, dtype=torch.float64), beta.double())
    total = float(others.sum())
    if total <= 0 or rest <= 0:
        return beta.double() / beta.double().sum()
    return fitted + others * (rest / total)
