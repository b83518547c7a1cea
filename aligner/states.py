"""Ordered sub-phonetic states: each phone token becomes `states` consecutive tokens.

Why: with one token per phone, the label head must call a phone's first frame (the transition
out of the previous phone) the same class as its steady middle, and the frame weights alone must
say where the phone starts. With ordered states (as in HMM aligners, and the OTTC follow-up "OTTC
over ordered sub-phonetic states"), the start of a phone is its own class, learned from every
occurrence, and both decoders must pass through every state in order: boundaries sharpen (phone
boundaries within 20 ms on the unseen-voice split: 53.1% with one state, where more epochs
gained well under a point on dev; 58.4% after 10 epochs with three, recipes/train/README.md).

Class layout: 0 blank, 1 silence, then phone k's state s at `2 + k * states + s`. Silence keeps
one state (its length varies from nothing to seconds). A model with `states == 1` is the plain
phone model: `expand_targets`, `merge_spans` and `phone_log_probs` are then the identity.

Markup tokens (spoken noise `SPN_ID`, the `<star>` wildcard `STAR_ID`) are one token each and
come right after the model's classes: ids C and C + 1 for C = 2 + 39 * states, in phone space
(states = 1) as in state space. The model has no output for them; `with_markup_scores` appends
their per-frame scores to the log-probabilities (see there).
Pure: no I/O.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from aligner.alignment import EDGE_EPS
from aligner.targets import Targets
from aligner.text.phones import PHONES, SILENCE_ID, SPN_ID

__all__ = ["expand_targets", "merge_spans", "phone_log_probs", "span_confidence", "state_ids",
           "with_markup_scores", "SPN_PENALTY", "STAR_PENALTY"]

FIRST_PHONE = 2  # class ids below this (blank, silence) have a single state
# Nats per frame that markup pays over a phone the model is sure of (`with_markup_scores`).
# Chosen for the shipped model on 40 recordings of speechocean762's held-out learners (one
# interior word at a time left out, written `<star>` or `<unk>`, or `<unk>` or `<star>` put
# where nothing is missing; the neighbours' boundaries compared with the full transcript's),
# checked on 60 others (benchmarks/star_drift.py, docs/usage.md "Transcript markup"). Lower
# penalties let markup eat into words: the 2.5 and 3.5 chosen earlier on one voice the model
# was trained on moved a needless `<unk>`'s neighbours 332 ms on learners; higher ones leave
# the missing word's frames to its neighbours.
SPN_PENALTY = 4.5
STAR_PENALTY = 4.5


def state_ids(phone_id: int, states: int) -> list[int]:
    """Class ids of one phone's states in order (blank and silence: themselves): the class layout
    spelled out for one token, the reference `expand_targets` is tested against."""
    if phone_id < FIRST_PHONE or states == 1:
        return [phone_id]
    if phone_id >= SPN_ID:  # markup: one token after the model's classes
        return [phone_id - SPN_ID + FIRST_PHONE + len(PHONES) * states]
    return [FIRST_PHONE + (phone_id - FIRST_PHONE) * states + s for s in range(states)]


def expand_targets(targets: Targets, states: int) -> tuple[Targets, Tensor, Tensor]:
    """(state targets, first [S], last [S]): every phone token split into `states` tokens that
    share its mass equally (same word, not optional); first/last index each original token's
    first and last state token. Vectorised, in numpy on the CPU: a two-hour file has ~10^5
    tokens, a sentence a hundred, for which torch's fixed cost per call was most of the time."""
    if states < 1:
        raise ValueError(f"states must be >= 1, got {states}")
    if states == 1:  # the one-state model: every decode and training batch passes here
        index = torch.arange(targets.tokens.numel())
        return targets, index, index
    tok = targets.tokens.cpu().long().numpy()
    counts = np.where((tok >= FIRST_PHONE) & (tok < SPN_ID), states, 1).astype(np.int64)
    last = np.cumsum(counts) - 1
    owner = np.repeat(np.arange(tok.size), counts)
    base = tok[owner]
    place = np.arange(owner.size) - (last - counts + 1)[owner]  # 0..states-1 within its phone
    tokens = np.where(base >= FIRST_PHONE, FIRST_PHONE + (base - FIRST_PHONE) * states + place,
                      base)
    tokens = np.where(base >= SPN_ID, base - SPN_ID + FIRST_PHONE + len(PHONES) * states, tokens)
    beta = targets.beta.cpu().numpy()
    expanded = Targets(torch.from_numpy(tokens),
                       torch.from_numpy((beta[owner] / counts[owner]).astype(beta.dtype)),
                       torch.from_numpy(targets.word.cpu().numpy()[owner]),
                       torch.from_numpy(targets.optional.cpu().numpy()[owner]))
    return expanded, torch.from_numpy(last - counts + 1), torch.from_numpy(last)


def merge_spans(start: Tensor, end: Tensor, first: Tensor, last: Tensor) -> tuple[Tensor, Tensor]:
    """Per-state times back to per-token times: a token runs from its first state's start to its
    last state's end."""
    return start[first], end[last]


def numpy_floats(x: Tensor) -> np.ndarray:
    """x on the CPU as a float32 or float64 numpy array (half precision widened, exactly)."""
    x = x.detach().cpu()
    return (x if x.dtype in (torch.float32, torch.float64) else x.float()).numpy()


def span_confidence(phone_lp: Tensor, tokens: Tensor, start: Tensor, end: Tensor,
                    frame_duration: float) -> Tensor:
    """[S] geometric-mean posterior of each token's class over the frames whose centres fall in
    its span (`alignment.frame_span`'s rule; the frame at its start when none does), from phone
    posteriors [T, 2 + P].

    Why phone posteriors and not the states': a state's posterior is split with its neighbours
    near every state change, so the states' confidences run lower than the phone's, and the
    thresholds behind the low-confidence and transcript-mismatch flags mean "is this the phone".

    Numpy on the CPU: it runs once or twice per recording on arrays of its tokens, where a
    torch call's fixed cost was most of the time."""
    lp, tok = numpy_floats(phone_lp), tokens.cpu().numpy()
    first = start.detach().cpu().double().numpy() / frame_duration
    n_frames = lp.shape[0]
    lo = np.clip(np.ceil(first - 0.5 - EDGE_EPS), 0, n_frames).astype(np.int64)
    hi = np.clip(np.ceil(end.detach().cpu().double().numpy() / frame_duration - 0.5 - EDGE_EPS),
                 0, n_frames).astype(np.int64)
    counts = np.maximum(hi - lo, 0)
    mean = lp[np.clip(np.floor(first).astype(np.int64), 0, n_frames - 1), tok].astype(np.float64)
    has = counts > 0
    if has.any():
        owner = np.repeat(np.arange(tok.size), counts)  # the token each of the frames is for
        begin = np.cumsum(counts) - counts  # where each token's frames begin among all
        frame = np.arange(owner.size) - begin[owner] + lo[owner]
        picked = torch.from_numpy(lp[frame, tok[owner]].astype(np.float64))
        sums = torch.zeros(tok.size, dtype=torch.float64).index_add_(
            0, torch.from_numpy(owner), picked).numpy()
        mean[has] = sums[has] / counts[has]  # summed in frame order (numpy's reduceat: pairwise)
    # exp of a mean log-probability is a probability; clip keeps it in (0, 1] under rounding
    return torch.from_numpy(np.clip(np.exp(mean), np.finfo(np.float64).tiny, 1.0))


def with_markup_scores(log_probs: Tensor, spn_penalty: float = SPN_PENALTY,
                       star_penalty: float = STAR_PENALTY) -> Tensor:
    """[T, C] log-probabilities -> [T, C + 2]: columns C (spoken noise) and C + 1 (wildcard).

    spoken noise: log P(any phone) - spn_penalty, i.e. a "garbage" phone that fits any speech,
    laughter or partial word, but pays spn_penalty nats a frame more than a phone the model is
    sure of, so it does not take frames the transcript's own words explain well;
    wildcard: log P(not blank) - star_penalty (speech or silence alike; in a pause the silence
    tokens around it, with no penalty, win). Works the same on state and phone
    log-probabilities (the sum over a phone's states is the phone's probability)."""
    speech = torch.logsumexp(log_probs[:, FIRST_PHONE:], dim=-1)
    anything = torch.logsumexp(log_probs[:, SILENCE_ID:], dim=-1)
    return torch.cat([log_probs, (speech - spn_penalty)[:, None],
                      (anything - star_penalty)[:, None]], dim=-1)


def phone_log_probs(log_probs: Tensor, states: int) -> Tensor:
    """[..., 2 + P * states] state log-probabilities -> [..., 2 + P] phone log-probabilities
    (a phone's probability is the sum over its states)."""
    if states == 1:
        return log_probs
    phones = log_probs[..., FIRST_PHONE:]
    # exp/sum/log rather than logsumexp: these are log-probabilities (<= 0), so exp cannot
    # overflow, and it is twice as fast on a long recording's posteriors.
    merged = phones.reshape(*phones.shape[:-1], phones.shape[-1] // states, states).exp().sum(-1).log()
    return torch.cat([log_probs[..., :FIRST_PHONE], merged], dim=-1)
