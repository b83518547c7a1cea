"""Forced-alignment decoding with a known transcript: token spans from OTTC outputs.

Torch in and out, no I/O (the Viterbi search runs on numpy arrays inside). Two decoders and
one confidence measure:

- `align_ot`: boundaries from the frame weights alone. The cumulative weight A(t) is piecewise
  linear in time (each frame spreads its weight uniformly over its 10 ms), so the time at which
  it crosses a token's cumulative mass B_j can be placed *inside* a frame. Linear time.
- `align_viterbi`: the best single monotone segmentation of the frames into the tokens under the
  label posteriors (each frame belongs to exactly one token, order kept, every token >= 1 frame
  except the `optional` ones, e.g. inserted silences, which may take 0 frames).
- `token_confidence`: the geometric-mean posterior of each token over the frames (or transport
  mass) it was given; a model of several states per phone has its phones' confidence from
  `states.span_confidence` on the Viterbi path instead (over the frames' centres).

`DECODERS` is the table of the methods users choose from (`--method`): each name with its
function for short inputs and its anchored one for long inputs (see "long recordings" below),
what it needs (a CTC model has no frame weights), and `DEFAULT_METHOD`.

Viterbi is written as a loop over *tokens*, vectorised over frames: with prefix sums C_j of the
token's log-posterior, the best score of ending token j at boundary u is
    G_j[u] = C_j[u] + max_{v < u} (F_{j-1}[v] - C_j[v]),
a running maximum; the backtrack recovers the arg-max (the last one of equal maxima) for the one
boundary on the best path. The per-token work is a few vector operations over one window, so
their fixed cost matters: they run on numpy arrays (a numpy call costs a few times less than a
torch one; long windows use torch's faster scans on the same memory). Each token only
looks at a window of candidate boundaries: the exact feasible range, optionally intersected with
a band around a guide path (the OT boundaries when `alpha` is given). Memory is the sum of the
window sizes, O(T + S * band), so a 1-hour input (360 000 frames, ~40 000 tokens) fits easily,
and the Python loop runs S times rather than T times. The CTC baseline (`aligner/ctc.py`) reuses
the same search over its blank-extended sequence.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor

from aligner.alignment import FRAME_SECONDS
from aligner.ottc import transport_plan
from aligner.text.phones import SILENCE_ID

if TYPE_CHECKING:
    from aligner.model import ModelConfig

__all__ = [
    "TokenSpans",
    "align_ot",
    "align_viterbi",
    "ot_boundaries",
    "token_confidence",
    "viterbi_segments",
    "align_ot_long",
    "align_viterbi_long",
    "ot_cuts",
    "viterbi_segments_long",
    "AUTO_BAND",
    "AUTO_EXACT_CELLS",
    "LONG_FRAMES",
    "DecoderInput",
    "Decoder",
    "DECODERS",
    "DEFAULT_METHOD",
    "decoder_for",
    "is_long",
    "supported_methods",
]

# Exact search when T * S is at most this many cells; otherwise a band of AUTO_BAND frames
# either side of the guide path (2 s at 10 ms frames).
AUTO_EXACT_CELLS = 20_000_000
AUTO_BAND = 200


class TokenSpans(NamedTuple):
    """Per-token times of one utterance.

    start:      [S] float64 seconds
    end:        [S] float64 seconds (end >= start; equal for a token given no time)
    confidence: [S] float64 in (0, 1]; NaN where the caller asked for none (`scored`)
    """

    start: Tensor
    end: Tensor
    confidence: Tensor


def _uniform(n: int, device: torch.device) -> Tensor:
    return torch.full((n,), 1.0 / n, dtype=torch.float64, device=device)


def _normalised_cumsum(w: Tensor) -> Tensor:
    cum = torch.cumsum(w.double(), 0)
    total = cum[-1]
    if not bool(total > 0):
        raise ValueError("weights must have a positive sum")
    return cum / total


def ot_boundaries(alpha: Tensor, beta: Tensor) -> tuple[Tensor, Tensor]:
    """Sub-frame start and end of every token, in frames (float64), from alpha [T] and beta [S].

    Token j covers the stretch of time where the cumulative frame weight lies in (B_{j-1}, B_j].
    Its start is the last time A(t) is still at B_{j-1} and its end the first time A(t) reaches
    B_j, so frames with zero weight at a boundary (dropped frames, e.g. a pause) go to no token.
    A frame may host several tokens (T < S is fine). A token of mass 0 gets start == end.
    """
    if alpha.dim() != 1 or beta.dim() != 1 or alpha.numel() == 0 or beta.numel() == 0:
        raise ValueError("alpha and beta must be non-empty 1-D tensors")
    if bool((alpha < 0).any()) or bool((beta < 0).any()):
        raise ValueError("alpha and beta must be non-negative")
    a = _normalised_cumsum(alpha)
    b = _normalised_cumsum(beta.to(alpha.device))
    a_prev = torch.cat([a.new_zeros(1), a[:-1]])
    b_prev = torch.cat([b.new_zeros(1), b[:-1]])
    width = a - a_prev
    last = alpha.numel() - 1

    def crossing(x: Tensor, right: bool) -> Tensor:
        i = torch.searchsorted(a, x, right=right).clamp_max(last)
        w = width[i]
        safe = torch.where(w > 0, w, torch.ones_like(w))
        frac = torch.where(w > 0, (x - a_prev[i]) / safe, (x >= a[i]).double())
        return i.double() + frac.clamp(0.0, 1.0)

    start = crossing(b_prev, right=True)
    end = torch.maximum(crossing(b, right=False), start)
    return start, end


def refine_boundaries(phone_lp: Tensor, tokens: Tensor, start: Tensor, end: Tensor,
                      frame_duration: float = FRAME_SECONDS) -> tuple[Tensor, Tensor]:
    """Move each boundary between two contiguous tokens to where their posteriors cross, within
    half a frame: phone_lp [T, C] log-posteriors, tokens [S] class ids, start/end [S] seconds on
    the frame grid (a frame-level path, e.g. Viterbi's). Returns new (start, end).

    Why: a frame path puts every boundary on the 10 ms grid and, with three states per phone,
    gives no phone less than 30 ms, so on real speech a quarter of all phones came out at
    exactly 30 ms. Between the last frame of token a (centre u - 0.5) and the first of b
    (centre u + 0.5), d = log p(b) - log p(a) rises through 0 where the sound changes; the
    boundary goes to that crossing by linear interpolation, half a frame earlier when b already
    wins at frame u - 1, half a frame later when a still wins at u. Tokens shorter than two
    frames (short pauses) keep their edges; a pause split between two silence tokens (around a
    wildcard that took no time: `text.frontend.with_sentence_gaps`) is one pause, as long as
    both together. Linear in the number of tokens; numpy on the CPU
    (once or twice per recording on arrays of its tokens, where a torch call's fixed cost
    was most of the time). Returns float64 tensors."""
    from aligner.states import numpy_floats

    s = start.detach().cpu().double().numpy().copy()
    e = end.detach().cpu().double().numpy().copy()
    n = phone_lp.shape[0]
    frames = np.round((e - s) / frame_duration)
    keep = np.flatnonzero(frames > 0)
    if keep.size >= 2 and n >= 2:
        a, b = keep[:-1], keep[1:]
        tok = tokens.cpu().numpy()
        touch = np.abs(e[a] - s[b]) < 1e-9
        split = touch & (tok[a] == SILENCE_ID) & (tok[b] == SILENCE_ID)  # one pause
        run = _run_frames(frames, keep, split)
        u = np.round(e[a] / frame_duration).astype(np.int64)
        ok = touch & ~split & (run[a] >= 2) & (run[b] >= 2) & (u >= 1) & (u < n)
        a, b, u = a[ok], b[ok], u[ok]
        lp = numpy_floats(phone_lp)
        ta, tb = tok[a], tok[b]
        with np.errstate(invalid="ignore"):  # -inf both sides (a broken model): stays on the grid
            d1 = lp[u - 1, tb].astype(np.float64) - lp[u - 1, ta]
            d2 = lp[u, tb].astype(np.float64) - lp[u, ta]
            crossing = (u - 0.5) + (-d1) / np.maximum(d2 - d1, 1e-12)
        x = np.where((d1 < 0) & (d2 > 0), crossing,
                     np.where((d1 >= 0) & (d2 >= 0), u - 0.5,
                              np.where((d1 < 0) & (d2 <= 0), u + 0.5, u.astype(np.float64))))
        e[a] = s[b] = x * frame_duration
    return torch.from_numpy(s), torch.from_numpy(e)


def _run_frames(frames: np.ndarray, keep: np.ndarray, joined: np.ndarray) -> np.ndarray:
    """Per token, the frames of the run of touching tokens it lies in (its own where it is
    alone): frames [S]; keep, the tokens with frames, in order; joined [len(keep) - 1], whether
    keep[i] and keep[i + 1] are of one run."""
    run = frames.copy()
    if not joined.any():
        return run
    starts = np.flatnonzero(np.concatenate(([True], ~joined)))  # each run's first in `keep`
    total = np.add.reduceat(frames[keep], starts)
    run[keep] = np.repeat(total, np.diff(np.append(starts, len(keep))))
    return run


def token_confidence(
    log_probs: Tensor,
    targets: Tensor,
    frame: Tensor,
    token: Tensor,
    weight: Tensor,
    fallback_frame: Tensor | None = None,
) -> Tensor:
    """Geometric-mean posterior of each token over what it was given: [S] float64 in (0, 1].

    log_probs [T, C]; targets [S]; frame, token, weight [K]: pieces (a frame, the token it went
    to, and how much of it: transport mass for OT, 1 per frame for Viterbi).
    conf_j = exp(sum_k w_k log p(y_j | x_{frame_k}) / sum_k w_k) over the pieces of token j,
    i.e. exp(-(gamma-weighted CE of token j) / beta_j) for the OT plan.
    A token with no weight gets its posterior at `fallback_frame[j]` (default: frame 0).
    """
    s = targets.numel()
    frame, token = frame.long(), token.long()
    lp = log_probs[frame, targets[token]].double()
    w = weight.double()
    num = torch.zeros(s, dtype=torch.float64, device=log_probs.device).index_add_(0, token, w * lp)
    den = torch.zeros(s, dtype=torch.float64, device=log_probs.device).index_add_(0, token, w)
    if fallback_frame is None:
        fallback_frame = torch.zeros(s, dtype=torch.long, device=log_probs.device)
    fb = fallback_frame.long().clamp(0, log_probs.shape[0] - 1)
    fallback = log_probs[fb, targets].double()
    mean = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), fallback)
    # exp of a mean log-probability is a probability; clamp keeps it in (0, 1] under rounding.
    return torch.exp(mean).clamp(min=torch.finfo(torch.float64).tiny, max=1.0)


def align_ot(
    alpha: Tensor,
    log_probs: Tensor,
    targets: Tensor,
    beta: Tensor | None = None,
    frame_duration: float = FRAME_SECONDS,
) -> TokenSpans:
    """Token spans from the frame weights: alpha [T], log_probs [T, C], targets [S] -> TokenSpans.

    Boundaries are sub-frame (see `ot_boundaries`); confidence is the geometric-mean posterior
    over the transport plan's mass. beta [S] defaults to uniform.
    """
    _check_inputs(log_probs, targets)
    if alpha.shape != (log_probs.shape[0],):
        raise ValueError(f"alpha must be [T] = [{log_probs.shape[0]}], got {tuple(alpha.shape)}")
    beta = _uniform(targets.numel(), alpha.device) if beta is None else beta
    if beta.shape != targets.shape:
        raise ValueError(f"beta must be [S] = {tuple(targets.shape)}, got {tuple(beta.shape)}")
    start, end = ot_boundaries(alpha, beta)
    with torch.no_grad():
        plan = transport_plan(alpha.detach().double(), beta.detach().double())
    conf = token_confidence(log_probs.detach(), targets, plan.frame, plan.token, plan.mass,
                            fallback_frame=torch.floor(start).long())
    return TokenSpans(start * frame_duration, end * frame_duration, conf)


def _check_inputs(log_probs: Tensor, targets: Tensor) -> None:
    if log_probs.dim() != 2 or log_probs.shape[0] == 0:
        raise ValueError(f"log_probs must be [T, C] with T >= 1, got {tuple(log_probs.shape)}")
    if targets.dim() != 1 or targets.numel() == 0:
        raise ValueError(f"targets must be a non-empty [S] tensor, got {tuple(targets.shape)}")
    if int(targets.min()) < 0 or int(targets.max()) >= log_probs.shape[1]:
        raise ValueError(f"targets must be class ids in [0, {log_probs.shape[1]})")


def _checked_optional(log_probs: Tensor, targets: Tensor, optional: Tensor | None) -> Tensor:
    """The Viterbi searches' inputs checked (ValueError, naming what is wrong): `optional` as
    a bool [S] tensor on the CPU (no token optional when None), with at least one frame for
    each token that is not."""
    _check_inputs(log_probs, targets)
    n_frames, n_tok = log_probs.shape[0], targets.numel()
    optional = torch.zeros(n_tok, dtype=torch.bool) if optional is None else optional.bool().cpu()
    if optional.shape != (n_tok,):
        raise ValueError(f"optional must be [S] = [{n_tok}], got {tuple(optional.shape)}")
    n_required = n_tok - int(optional.sum())
    if n_frames < n_required:
        raise ValueError(
            f"viterbi needs at least one frame per non-optional token: {n_frames} frames for "
            f"{n_required} tokens"
        )
    return optional


def _searches_exactly(n_frames: int, n_tokens: int, band: int | None) -> bool:
    """Whether `viterbi_segments` searches every boundary (no band): band None and a small
    enough T * S. `align_viterbi` then needs no OT guide path."""
    return band is None and n_frames * n_tokens <= AUTO_EXACT_CELLS


def viterbi_segments(
    log_probs: Tensor,
    targets: Tensor,
    optional: Tensor | None = None,
    band: int | None = None,
    centre: Tensor | None = None,
    cost: Tensor | None = None,
) -> tuple[Tensor, Tensor, float]:
    """Best monotone segmentation: token j gets frames [first_j, end_j) (int64 [S] each).

    log_probs [T, C]; targets [S]; optional [S] bool (tokens allowed 0 frames; others >= 1);
    cost [S] (None: none): nats a token costs when it takes frames, counted in the total (an
    optional token given none costs nothing).
    band: None = exact search when T * S <= AUTO_EXACT_CELLS, otherwise AUTO_BAND; an int
    restricts the boundary after token j to within `band` frames of `centre[j]` (float frames,
    default: the uniform diagonal T * (j + 1) / S). If a band admits no path it is doubled until
    one does (at worst the search becomes exact). Returns (first, end, best total log-prob).
    Raises ValueError when T is smaller than the number of non-optional tokens.
    """
    optional = _checked_optional(log_probs, targets, optional)
    n_frames, n_tok = log_probs.shape[0], targets.numel()
    lo_exact, hi_exact = _exact_windows(optional, n_frames)
    if band is None:
        band = n_frames if _searches_exactly(n_frames, n_tok, band) else AUTO_BAND
    if centre is None:
        centre_np = np.arange(1, n_tok + 1, dtype=np.float64) * (n_frames / n_tok)
    else:
        centre_np = centre.detach().double().cpu().numpy()
    c_floor = np.floor(centre_np).astype(np.int64)
    c_ceil = np.ceil(centre_np).astype(np.int64)
    band = max(int(band), 1)
    cum = _class_cumsums(log_probs)  # once: a too narrow band searches again
    while True:
        lo = np.maximum(lo_exact, c_floor - band)
        hi = np.minimum(hi_exact, c_ceil + band)
        hi[-1] = n_frames  # the last token always ends at the last frame
        lo = np.minimum(lo, hi)
        result = _search(cum, targets, optional, lo, hi, cost)
        if result is not None or band >= n_frames:
            break
        band *= 2
    if result is None:  # unreachable: the exact windows always admit a path
        raise RuntimeError("viterbi found no path")
    return result


# What the search counts for a log-prob of -inf or NaN: a frame no path takes unless it must.
LOG_FLOOR = -1e4


def best_totals(log_probs: Tensor, sequences: Sequence[tuple[Tensor, ...]]) -> list[float]:
    """For each (targets, optional) or (targets, optional, cost) of `sequences` (cost as in
    `viterbi_segments`): the total log-prob of the best monotone
    segmentation of all of `log_probs` [T, C] into those tokens, searched exactly
    (`viterbi_segments`'s third result), without backtracking the path; -inf when T is smaller
    than the number of tokens that are not optional. Why: `word_evidence` compares two token
    sequences over the same frames for each doubtful word, and needs only their totals; the
    class sums are taken once for both."""
    cum = _class_cumsums(log_probs)
    n_frames = log_probs.shape[0]
    totals = []
    for targets, optional, *cost in sequences:
        optional = optional.bool().cpu()
        lo, hi = _exact_windows(optional, n_frames)
        if targets.numel() == 0 or lo[-1] > n_frames:  # more required tokens than frames
            totals.append(-math.inf)
            continue
        hi[-1] = n_frames
        totals.append(_forward(cum, targets, optional, np.minimum(lo, hi), hi, None,
                               cost[0] if cost else None)[3])
    return totals


def _exact_windows(optional: Tensor, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) [S] int64: where the boundary after token j may lie on any path of `n_frames`
    frames that gives every token not `optional` (bool [S], CPU) a frame at least: the tokens
    before it need lo[j], the ones after it leave hi[j]. Why numpy: this bookkeeping is a
    handful of O(S) integer operations, whose numpy calls cost a few times less than torch's."""
    req = (~optional.numpy()).astype(np.int64)
    lo = np.cumsum(req)  # non-optional tokens among 0..j
    return lo, n_frames - (int(req.sum()) - lo)


def _class_cumsums(log_probs: Tensor) -> np.ndarray:
    """Each class's running sum of log_probs [T, C] over the frames, [C, T + 1] float64 on the
    CPU: cum[y, i] = log_probs[0, y] + ... + log_probs[i - 1, y] (cum[y, 0] = 0), summed in order.

    Why: the DP needs a token's log-prob over frames v..u-1, cum[y, u] - cum[y, v]; one scan of
    the whole array replaces a scan of the token's window for every token (a third of the
    search's time, whose calls are short and many). The difference of two sums, not a sum from
    the window's start, so totals agree with a sum over the path's frames up to float64
    rounding (not bit for bit). Classes major: one class's sums over a window are contiguous;
    float64 up front (widening float32 is exact). torch's scan writes the class-major rows
    straight from the frames-major input, in under half numpy's time with its copy.
    A log-prob of -inf or NaN (a model broken by adapting at a huge rate) counts as LOG_FLOOR:
    as -inf it made every later sum of its class -inf and their differences NaN."""
    lp = torch.nan_to_num(log_probs.detach().to("cpu", torch.float64), nan=LOG_FLOOR,
                          posinf=0.0, neginf=LOG_FLOOR)
    cum = torch.zeros(lp.shape[1], lp.shape[0] + 1, dtype=torch.float64)
    torch.cumsum(lp.T, 1, out=cum[:, 1:])
    return cum.numpy()


# Windows at least this long use torch's running maximum on the same memory: numpy's
# `accumulate` costs ~3.5 ns an element, torch's cummax ~1, while a torch call has a few
# microseconds more fixed cost. Results are the same bits either way (a maximum is exact).
_TORCH_SCAN = 768


def _running_max(h: np.ndarray) -> np.ndarray:
    """Running maximum of a float64 1-D array."""
    if h.size >= _TORCH_SCAN:
        return torch.cummax(torch.from_numpy(h), 0).values.numpy()
    return np.maximum.accumulate(h)


# A skip record of an optional token: (offset, mask): mask[i] is True when ending the token at
# boundary wlo + offset + i is best done by giving it no frames.
_Skip = tuple[int, np.ndarray]


def _step(
    cum: np.ndarray, y: int, is_optional: bool, prev: np.ndarray, plo: int, phi: int, wlo: int,
    whi: int, cost: float = 0.0,
) -> tuple[np.ndarray, np.ndarray | None, _Skip | None]:
    """One token of the windowed DP: scores of ending token j at boundaries [wlo, whi], given
    `prev` = the best scores of ending token j-1 at boundaries [plo, phi]; cum: the
    `_class_cumsums` [C, T + 1].

    Returns (cur, h, skip): cur float64 [whi - wlo + 1]; h[i] = prev[plo + i] - cum[y, plo + i],
    the candidates for the start boundary plo + i of token j (None when no frame fits), from
    which `_backtrack` recovers the start; skip (optional tokens only, else None) marks the
    boundaries reached by giving token j no frames.

    Numpy, not torch: the arrays are one window long and the loop runs once per token, so a
    call's fixed cost matters, and a numpy call costs a few times less than a torch one. Three
    passes over the window (subtract, running max, add): the arg-max of the running max (the
    backpointer) is not kept for every boundary, `_backtrack` finds it for the one boundary on
    the best path. cost: nats token j costs when it takes frames (`viterbi_segments`)."""
    h = None
    # Non-empty: frames v..u-1 with v in [plo, phi], u in [wlo, whi], v < u.
    if whi > plo:
        cy = cum[y]
        m = whi - plo
        n_h = min(phi - plo + 1, m)  # start boundaries v in [plo, min(phi, whi - 1)]
        if n_h == m:  # the usual case (a required token's window is its predecessor's + 1)
            h = prev[:m] - cy[plo:whi]
        else:
            h = np.empty(m)
            np.subtract(prev[:n_h], cy[plo: plo + n_h], h[:n_h])
            h[n_h:] = -np.inf
        best = _running_max(h)
        if wlo > plo:  # u0 = wlo: every boundary of the window can close a non-empty token
            cur = cy[wlo: whi + 1] + best[wlo - plo - 1:]
        else:  # boundaries u <= plo cannot: token j would need frames before its start
            cur = np.empty(whi - wlo + 1)
            cur[: plo + 1 - wlo] = -np.inf
            np.add(cy[plo + 1: whi + 1], best, cur[plo + 1 - wlo:])
    else:
        cur = np.full(whi - wlo + 1, -np.inf)
    if cost:  # taking frames costs; giving none (below) does not
        cur -= cost
    skip = None
    if is_optional:
        s_lo, s_hi = max(wlo, plo), min(whi, phi)
        if s_hi >= s_lo:
            cand = prev[s_lo - plo : s_hi - plo + 1]
            seg = cur[s_lo - wlo : s_hi - wlo + 1]
            mask = cand > seg
            np.maximum(seg, cand, out=seg)  # = where(mask, cand, seg): equal where not mask
            skip = (s_lo - wlo, mask)
    return cur, h, skip


def _backtrack(
    lo_l: list[int], hs: list[np.ndarray | None], skips: list[_Skip | None], last: int, u: int
) -> tuple[list[int], list[int]]:
    """First and end boundary of tokens 0..last on the best path that ends token `last` at u.

    Token j ending at u (not skipped) started at the boundary v = plo + i maximising
    h_j[i] over i <= u - plo - 1; of equal maxima the *last*, the tie rule of the
    `torch.cummax` backpointers this replaces (so paths are unchanged)."""
    first = [0] * (last + 1)
    end = [0] * (last + 1)
    for j in range(last, -1, -1):
        end[j] = u
        skip = skips[j]
        if skip is not None:
            i = u - lo_l[j] - skip[0]
            if 0 <= i < skip[1].size and skip[1][i]:
                first[j] = u
                continue
        plo = lo_l[j - 1] if j > 0 else 0
        cand = hs[j][u - plo - 1:: -1] if u > plo else hs[j][:0]  # start boundaries u - 1 .. plo
        u = u - 1 - int(cand.argmax())  # the first maximum from the end: the last one
        first[j] = u
    return first, end


def _forward(
    cum: np.ndarray, targets: Tensor, optional: Tensor, lo: Tensor | np.ndarray,
    hi: Tensor | np.ndarray, stop: int | None, cost: Tensor | None = None,
) -> tuple[list[int], list[np.ndarray | None], list[_Skip | None], float, int]:
    """The DP over all tokens: (lo list, h per token, skips, best total, last token).

    stop None: the path ends with the last token at hi[-1] (`_search`); an int: the path may
    end with any token whose window ends at `stop` (`_search_open_end`), the best one wins
    (the first of equal ones) after TOKEN_COST per token it has reached (optional silences it
    skipped included). Why the cost: for the same frames, a path that takes more tokens has more
    labels to choose from to fit them, so on weak posteriors the best cut-off path ran ahead of
    the file's best path, and the window committed that; every complete path reaches every
    token, so the cost changes nothing else. cost [S]: each token's cost for taking frames
    (`viterbi_segments`), None: none."""
    lo_l, hi_l, opt_l, y_l = lo.tolist(), hi.tolist(), optional.tolist(), targets.tolist()
    cost_l = cost.tolist() if cost is not None else [0.0] * len(y_l)
    prev = np.zeros(1)  # F_{-1} on window [0, 0]
    plo, phi = 0, 0
    hs: list[np.ndarray | None] = []
    skips: list[_Skip | None] = []
    best, last = -math.inf, -1
    for j in range(len(y_l)):
        wlo, whi = lo_l[j], hi_l[j]
        cur, h, skip = _step(cum, y_l[j], opt_l[j], prev, plo, phi, wlo, whi, cost_l[j])
        hs.append(h)
        skips.append(skip)
        prev, plo, phi = cur, wlo, whi
        if stop is not None and whi == stop:
            score = float(cur[-1]) - TOKEN_COST * j
            if score > best:
                best, last = score, j
    if stop is None:
        best, last = float(prev[-1]), len(y_l) - 1
    return lo_l, hs, skips, best, last


def _search(
    cum: np.ndarray, targets: Tensor, optional: Tensor, lo: Tensor | np.ndarray,
    hi: Tensor | np.ndarray, cost: Tensor | None = None,
) -> tuple[Tensor, Tensor, float] | None:
    """Windowed DP over tokens; None if the windows admit no path. cum: `_class_cumsums`'s
    [C, T + 1] array (computed once: a too narrow band searches again); cost as `_forward`'s."""
    lo_l, hs, skips, total, last = _forward(cum, targets, optional, lo, hi, None, cost)
    if not math.isfinite(total):
        return None
    first, end = _backtrack(lo_l, hs, skips, last, int(hi[-1]))
    # via numpy: torch.tensor of a list of ints took five times as long
    return (torch.from_numpy(np.array(first, dtype=np.int64)),
            torch.from_numpy(np.array(end, dtype=np.int64)), total)


def _search_open_end(
    cum: np.ndarray, targets: Tensor, optional: Tensor, lo: Tensor, hi: Tensor, stop: int,
    cost: Tensor | None = None,
) -> tuple[list[int], list[int], int] | None:
    """Like `_search`, but the path may end with any token: the best segmentation of frames
    [0, stop) into a prefix 0..last of the tokens. Returns (first, end, last) or None. cum:
    `_class_cumsums` of the window's log-probs; cost as `_forward`'s."""
    lo_l, hs, skips, best, last = _forward(cum, targets, optional, lo, hi, stop, cost)
    if last < 0 or not math.isfinite(best):
        return None
    first, end = _backtrack(lo_l, hs, skips, last, stop)
    return first, end, last


def align_viterbi(
    log_probs: Tensor,
    targets: Tensor,
    frame_duration: float = FRAME_SECONDS,
    optional: Tensor | None = None,
    band: int | None = None,
    alpha: Tensor | None = None,
    beta: Tensor | None = None,
    scored: bool = True,
    cost: Tensor | None = None,
) -> TokenSpans:
    """Best single monotone path under the label posteriors: log_probs [T, C], targets [S].

    optional [S] bool: tokens that may take 0 frames (the inserted silences); every other token
    gets >= 1 frame, so T must be >= their number (ValueError otherwise). cost [S]: as in
    `viterbi_segments`.
    band: see `viterbi_segments`. The band follows the OT boundaries when `alpha` [T] is given
    (beta [S] as in training, default uniform), else the uniform diagonal.
    Confidence: geometric-mean posterior over the token's frames (a 0-frame token: its posterior
    at the frame where its empty span sits); NaN when not `scored` (a caller that scores merged
    tokens itself spares the work).
    """
    _check_inputs(log_probs, targets)
    centre = None
    exact = _searches_exactly(log_probs.shape[0], targets.numel(), band)
    if alpha is not None and not exact:  # an exact search has no band to centre
        b = _uniform(targets.numel(), alpha.device) if beta is None else beta
        s, e = ot_boundaries(alpha.detach(), b.detach())
        nxt = torch.cat([s[1:], e[-1:]])
        centre = (e + nxt) / 2  # boundary after token j: between its end and the next start
    lp = log_probs.detach()
    first, end, _ = viterbi_segments(lp, targets, optional, band, centre, cost)
    return _viterbi_spans(lp, targets, first, end, frame_duration, scored)


def viterbi_respliced(x: DecoderInput, word: np.ndarray, path: tuple[np.ndarray, np.ndarray],
                      old_tokens: np.ndarray, old_word: np.ndarray, changed: Sequence[int]
                      ) -> TokenSpans | None:
    """The Viterbi decoders' spans for `x`, whose tokens differ from `old_tokens` only in the
    words `changed` (another pronunciation of each), from `path` (first, end [S] frames), the
    old tokens' path: each changed word is searched again with the word and the pause on
    either side, over the frames those held on `path` (`viterbi_segments`, exactly), and the
    rest of `path` is kept. None when the tokens outside those words differ, or when a new
    pronunciation needs more frames than its words held: the caller searches the whole
    recording again. On the synthetic test and dev splits (878 utterances) the paths are those
    of the whole search; where the first path was wrong over the whole recording (a transcript
    that is not what was said), the whole search may move other words too, and this does not.

    Why: choosing pronunciations (`align.choose_variants`) changes a word in seven utterances
    of ten, and searching all of a long recording again for it took a third of its time (an
    hour's: 67 s against 44-50 s), while a word's new phones move the path only around it.
    word, old_word: the word of each new and old token (-1 between words)."""
    first, end = np.asarray(path[0]), np.asarray(path[1])
    old_word, word = np.asarray(old_word), np.asarray(word)
    targets, optional, cost = x.targets, x.optional, x.cost
    old_tokens, new_tokens = np.asarray(old_tokens), targets.cpu().numpy()
    old_lo, old_hi = word_token_ranges(old_word)
    new_lo, new_hi = word_token_ranges(word)
    if len(old_lo) != len(new_lo):
        return None
    silent = np.ones(len(new_lo), dtype=bool)  # words of optional tokens only: sentence gaps,
    np.logical_and.at(silent, word[word >= 0], optional.cpu().numpy()[word >= 0])  # markup
    out_first, out_end = [], []
    old_at = new_at = 0
    for a, b in _word_clusters(changed, silent):
        oa, ob, na, nb = int(old_lo[a]), int(old_hi[b]), int(new_lo[a]), int(new_hi[b])
        # with the silences either side: a word first or last in the recording keeps its edge
        # on the recording's first or last pause otherwise
        # (`build_targets` never puts two silences side by side)
        if oa > 0 and old_word[oa - 1] < 0 and na > 0 and word[na - 1] < 0:
            oa, na = oa - 1, na - 1
        if ob + 1 < len(old_word) and old_word[ob + 1] < 0 and nb + 1 < len(word) \
                and word[nb + 1] < 0:
            ob, nb = ob + 1, nb + 1
        if not np.array_equal(old_tokens[old_at:oa], new_tokens[new_at:na]):
            return None
        f0, f1 = int(first[oa]), int(end[ob])
        part = slice(na, nb + 1)
        try:
            sub_first, sub_end, _ = viterbi_segments(
                x.log_probs[f0:f1], targets[part], optional[part],
                cost=None if cost is None else cost[part])
        except ValueError:  # too few frames for the new phones
            return None
        out_first += [first[old_at:oa], sub_first.numpy() + f0]
        out_end += [end[old_at:oa], sub_end.numpy() + f0]
        old_at, new_at = ob + 1, nb + 1
    if not np.array_equal(old_tokens[old_at:], new_tokens[new_at:]):
        return None
    out_first.append(first[old_at:])
    out_end.append(end[old_at:])
    return _viterbi_spans(x.log_probs.detach(), targets,
                          torch.from_numpy(np.concatenate(out_first).astype(np.int64)),
                          torch.from_numpy(np.concatenate(out_end).astype(np.int64)),
                          x.frame_duration, x.scored)


def word_token_ranges(word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) token index of each word 0..max(word), from each token's word (-1 between
    words), in one pass (a search per word is O(S) each: slow on a long recording's tens of
    thousands of tokens)."""
    at = np.flatnonzero(word >= 0)
    owners = word[at]
    n_words = int(owners.max()) + 1 if len(owners) else 0
    lo, hi = np.zeros(n_words, np.int64), np.zeros(n_words, np.int64)
    lo[owners[::-1]] = at[::-1]  # the last write wins: the word's first token
    hi[owners] = at  # ... its last
    return lo, hi


def _word_clusters(changed: Sequence[int], silent: np.ndarray) -> list[tuple[int, int]]:
    """The runs of words (first, last) searched again for `changed` words: each with the word
    either side that must take frames (past `silent` words, [W] bool, whose tokens are all
    optional: a sentence gap between two sentences of one word each would leave the changed
    word alone, and a longer reading of it could not take its neighbours' frames), runs that
    meet or overlap joined."""
    runs: list[tuple[int, int]] = []
    last = len(silent) - 1
    for k in sorted(set(changed)):
        a, b = max(0, k - 1), min(last, k + 1)
        while a > 0 and silent[a]:
            a -= 1
        while b < last and silent[b]:
            b += 1
        if runs and a <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(runs[-1][1], b))
        else:
            runs.append((a, b))
    return runs


# --------------------------------------------------------------------------- long recordings
#
# On a long recording (an hour: 360 000 frames, ~40 000 tokens) both global decoders drift:
# `align_ot` places every boundary from the cumulative frame weight of the whole file, so small
# local errors of alpha add up (seconds after tens of minutes), and the banded Viterbi follows
# that drifting guide. The long decoders instead re-anchor on the acoustics all along:
#
# - `viterbi_segments_long`: the Viterbi path in overlapping windows of `window` frames. Each
#   window is searched exactly (every token may end anywhere in it; the path may stop at any
#   token, "open end"), starting from the state the previous window committed; only the part
#   before an anchor past the window's middle is committed (preferably the middle of a pause),
#   so each committed boundary saw at least a quarter window of audio after it. Memory is
#   one window's DP (O(window * tokens in a window)), time O(T * tokens per window).
# - `align_ot_long`: the OT decoder run separately between anchors taken from that path (the
#   middle of a pause every `segment` frames or so): inside each piece alpha is renormalised
#   over the piece's frames and beta over its tokens, so an error of alpha cannot travel past
#   an anchor. The pause's silence token is shared by the two pieces around the cut.

# Inputs longer than this (60 s) are decoded by the long decoders (`Decoder` dispatches).
LONG_FRAMES = 6000
# Window of the long Viterbi (30 s); the last 1.5 windows are searched in one piece.
WINDOW_FRAMES = 3000
# The windows `viterbi_segments_long` searches with, the best path kept (30 s, 60 s and 90 s).
LONG_WINDOWS = (WINDOW_FRAMES, 2 * WINDOW_FRAMES, 3 * WINDOW_FRAMES)
# Anchored OT pieces: at least SEGMENT_FRAMES[0] frames (2 s), cut at the first pause of
# GOOD_PAUSE_FRAMES after that; without one, at most [1] frames (60 s), cut at the longest
# pause / word boundary, nearest [2] frames (30 s). Short pieces matter: the model learnt alpha
# normalised over one utterance (a few seconds), so its weight level differs between
# utterances, and OT over several of them misplaces mass between them (measured on the
# 60-minute benchmark: 30 s pieces 5.9 % of phone boundaries within 20 ms).
SEGMENT_FRAMES = (200, 6000, 3000)
# What taking one more token costs a long-Viterbi window's path where it is cut off (nats; see
# `_forward`). Tried on planted posteriors (tests/test_decode_long.py, weak ones): 0 fell
# 3000-5000 nats short of the exact optimum at windows of 8 and 16 s; 2 reached it in all six
# cases at 16 s (at 8 s in five, 3 nats short in the sixth); 4 fell short again (the path held
# back). On real recordings (learners' sentences, 5-60 min) 2 and 3 found the same paths.
TOKEN_COST = 2.0
# A pause at least this long (200 ms) is as good an anchor as any longer one.
GOOD_PAUSE_FRAMES = 20


def _choose_anchor(first: list[int], end: list[int], optional: list[bool], lo: int, hi: int,
                   middle: int) -> tuple[int, int]:
    """(frame, token) on a path to restart from: a frame in [lo, hi] and the token owning it.

    Preference: the middle of the longest pause (optional token with >= 2 frames) whose middle
    lies in [lo, hi]; else the start of the token nearest `middle`; else `middle` itself."""
    best: tuple[int, int, int] | None = None  # (length, frame, token)
    for j, (f, e, opt) in enumerate(zip(first, end, optional)):
        if f > hi:
            break
        if opt and e - f >= 2:
            mid = f + (e - f) // 2
            if lo <= mid <= hi and (best is None or e - f > best[0]):
                best = (e - f, mid, j)
    if best is not None:
        return best[1], best[2]
    starts = [(abs(f - middle), f, j) for j, (f, e) in enumerate(zip(first, end))
              if lo <= f <= hi and e > f]
    if starts:
        _, f, j = min(starts)
        return f, j
    for j, (f, e) in enumerate(zip(first, end)):
        if f <= middle < e:
            return middle, j
    raise RuntimeError("no anchor on the path")  # unreachable: the path covers every frame


def viterbi_segments_long(
    log_probs: Tensor,
    targets: Tensor,
    optional: Tensor | None = None,
    window: int | Sequence[int] = LONG_WINDOWS,
    cost: Tensor | None = None,
) -> tuple[Tensor, Tensor, float]:
    """Best monotone segmentation of a long input: `viterbi_windowed` with each window size in
    `window` (an int: that one), the path with the best total log-prob.

    Why more than one: a window commits its path before it has seen the rest of the file, and
    where the model hears a stretch poorly (learners' speech, a sentence with untranscribed
    speech around it) the best path of a window can run a sentence ahead of the best path of
    the file; from there no later window can bring it back, and every sentence after it lands
    in the audio of the one before (a 284 s recording of learners: 217 of 261 words outside
    their sentence with 30 s windows, 5 with 60 s ones; in other recordings 60 s windows or
    larger ones failed where 30 s ones did not). A passage left out of the transcript that is
    longer than a window is the same: after 46 s of sentences left out of a 7-minute
    recording, 145-160 of its 493 words lay outside their sentence with 30 s and 60 s windows,
    22-34 with 90 s ones as well (`benchmarks/long_real.py`), for a third more time on an hour.
    The file's total log-prob, what the exact search maximises, says which of the paths is
    better, so the searches are run and compared.
    cost [S]: as in `viterbi_segments` (counted in the totals compared).
    """
    sizes = [int(w) for w in np.atleast_1d(np.asarray(window))]  # an int, numpy or torch alike
    if not sizes:
        raise ValueError("window: give at least one window size")
    best: tuple[Tensor, Tensor, float] | None = None
    for size in sizes:
        found = viterbi_windowed(log_probs, targets, optional, size, cost)
        if best is None or found[2] > best[2]:
            best = found
        if log_probs.shape[0] <= max(size, 16) * 3 // 2:
            break  # searched in one piece: exact, no other size can do better
    return best


def viterbi_windowed(
    log_probs: Tensor,
    targets: Tensor,
    optional: Tensor | None = None,
    window: int = WINDOW_FRAMES,
    cost: Tensor | None = None,
) -> tuple[Tensor, Tensor, float]:
    """A monotone segmentation of a long input, found window by window (no global guide).

    Same arguments and result as `viterbi_segments` (first, end [S] int64, total log-prob);
    inputs up to 1.5 windows are searched in one piece, exactly as there.
    Each window [t0, t0 + window) is searched exactly with an open end over the next tokens
    (twice the average token rate plus a margin, doubled while the window uses them all),
    starting at the committed state (frame t0 belongs to token j0); every boundary is kept
    feasible for the rest of the file. The path is committed up to an anchor between 1/2 and 3/4
    of the window (so at least a quarter window, 7.5 s, of audio after it was seen).
    The result equals the global optimum whenever the best paths of the window and of the whole
    input agree before the anchor: usually (the tests compare with the exact search), not
    always (`viterbi_segments_long` says when not, and what it does about it).
    """
    optional = _checked_optional(log_probs, targets, optional)
    n_frames, n_tok = log_probs.shape[0], targets.numel()
    window = max(int(window), 16)
    req = (~optional).long()
    n_required = int(req.sum())
    req_after = n_required - torch.cumsum(req, 0)  # non-optional tokens after token j
    rate = n_tok / n_frames
    first = torch.zeros(n_tok, dtype=torch.long)
    end = torch.zeros(n_tok, dtype=torch.long)
    opt_list = optional.tolist()
    t0, j0, pending = 0, 0, 0  # frame t0 belongs to token j0, which started at frame `pending`
    while n_frames - t0 > window + window // 2:
        stop = window
        n_win = min(n_tok - j0, math.ceil(2 * rate * window) + 32)
        cum = _class_cumsums(log_probs[t0 : t0 + stop])  # once per window, not per widening
        while True:
            sl = slice(j0, j0 + n_win)
            lo = torch.cumsum(req[sl], 0)
            hi = torch.clamp(n_frames - t0 - req_after[sl], max=stop)
            lo = torch.minimum(lo, hi)
            found = _search_open_end(cum, targets[sl], optional[sl], lo, hi, stop,
                                     _costs_from(cost, j0, pending < t0))
            if found is None or found[2] < n_win - 1 or j0 + n_win >= n_tok:
                break
            n_win = min(n_tok - j0, 2 * n_win)  # the window used every token offered: more
        if found is None:  # the rest of the tokens cannot reach the window's end: finish in one
            break
        f_loc, e_loc, _ = found
        opt_win = opt_list[j0 : j0 + len(f_loc)]
        t_rel, i = _choose_anchor(f_loc, e_loc, opt_win, window // 2, 3 * window // 4,
                                  3 * window // 5)
        for k in range(i):
            first[j0 + k] = pending if k == 0 else t0 + f_loc[k]
            end[j0 + k] = t0 + e_loc[k]
        if i > 0:
            pending = t0 + f_loc[i]
        t0, j0 = t0 + t_rel, j0 + i
    sub_opt = optional[j0:]
    f_rest, e_rest, _ = viterbi_segments(log_probs[t0:], targets[j0:], sub_opt,
                                         cost=_costs_from(cost, j0, pending < t0))
    first[j0:] = f_rest + t0
    end[j0:] = e_rest + t0
    first[j0] = pending
    lengths = end - first
    token = torch.repeat_interleave(torch.arange(n_tok), lengths)
    frames = torch.arange(n_frames)
    total = float(log_probs[frames, targets.cpu()[token]].double().sum())
    if cost is not None:
        total -= float(cost.double()[lengths > 0].sum())
    return first, end, total


def _costs_from(cost: Tensor | None, j0: int, paid: bool) -> Tensor | None:
    """`cost` from token j0 on, for a window whose path starts inside token j0: nothing for
    j0 when it took frames before the window (`paid`). Why: a token's cost is paid once, for
    taking frames at all (the totals compared count it once); charged again in each window
    that starts inside it, a long sentence gap or pause inside a word was left for the tokens
    after it where staying in it was the file's best path (tests/test_decode_long.py)."""
    if cost is None:
        return None
    cost = cost[j0:]
    if paid and len(cost) and float(cost[0]) != 0:
        cost = cost.clone()
        cost[0] = 0
    return cost


def align_viterbi_long(
    log_probs: Tensor,
    targets: Tensor,
    frame_duration: float = FRAME_SECONDS,
    optional: Tensor | None = None,
    scored: bool = True,
    cost: Tensor | None = None,
) -> TokenSpans:
    """`align_viterbi` for long inputs: the path of `viterbi_segments_long` (no drifting guide).

    Confidence, `scored` and `cost` as in `align_viterbi`."""
    _check_inputs(log_probs, targets)
    lp = log_probs.detach()
    first, end, _ = viterbi_segments_long(lp, targets, optional, cost=cost)
    return _viterbi_spans(lp, targets, first, end, frame_duration, scored)


def _viterbi_spans(lp: Tensor, targets: Tensor, first: Tensor, end: Tensor,
                   frame_duration: float, scored: bool = True) -> TokenSpans:
    if not scored:
        nan = torch.full((targets.numel(),), math.nan, dtype=torch.float64)
        return TokenSpans(first.double() * frame_duration, end.double() * frame_duration, nan)
    n_frames = lp.shape[0]
    lengths = end - first
    token = torch.repeat_interleave(torch.arange(targets.numel()), lengths).to(lp.device)
    frames = torch.arange(n_frames, device=lp.device)
    conf = token_confidence(lp, targets, frames, token, torch.ones(n_frames, device=lp.device),
                            fallback_frame=first.to(lp.device))
    return TokenSpans(first.double() * frame_duration, end.double() * frame_duration, conf)


def ot_cuts(
    first: Tensor,
    end: Tensor,
    optional: Tensor,
    segment: tuple[int, int, int] = SEGMENT_FRAMES,
) -> list[tuple[int, int, bool]]:
    """Where to cut a long input for anchored OT, from a segmentation (first, end [S] frames).

    Returns cuts (frame, token, shared) in increasing order: `shared` cuts lie in the middle of
    an optional token's span (a pause, or a 0-frame word boundary), which both neighbouring
    pieces keep (one's last token, the other's first); the others lie at the start of token
    `token` (a fallback when no optional token is near). Consecutive cuts are `segment[0]` to
    `segment[1]` frames apart where the path allows it: the first pause of at least
    GOOD_PAUSE_FRAMES after `segment[0]` frames, else the longest pause (or word boundary) in
    range, nearest `segment[2]` frames after the previous cut.
    """
    min_len, max_len, target = segment
    n_frames = int(end[-1])
    f_l, e_l, o_l = first.tolist(), end.tolist(), optional.bool().tolist()
    cand: list[tuple[int, int, bool, int]] = []  # (frame, token, shared, pause length)
    for j, (f, e, o) in enumerate(zip(f_l, e_l, o_l)):
        if o:
            cand.append((f + (e - f) // 2, j, True, e - f))
        elif e > f:
            cand.append((f, j, False, -1))
    frames = [c[0] for c in cand]
    cuts: list[tuple[int, int, bool]] = []
    c = 0
    while n_frames - c > max_len:
        a = bisect.bisect_left(frames, c + min_len)
        b = bisect.bisect_right(frames, c + max_len)
        if a >= len(cand):
            break
        pool = cand[a:b] if b > a else [cand[a]]
        pauses = [x for x in pool if x[3] >= GOOD_PAUSE_FRAMES]
        if pauses:  # the first real pause: pieces as short as the model's training utterances
            pick = pauses[0]
        else:
            pick = max(pool, key=lambda x: (x[3], -abs(x[0] - c - target)))
        if pick[0] <= c or pick[0] >= n_frames:
            break
        if cuts and pick[1] <= cuts[-1][1]:
            break
        cuts.append((pick[0], pick[1], pick[2]))
        c = pick[0]
    return cuts


def align_ot_long(
    alpha: Tensor,
    log_probs: Tensor,
    targets: Tensor,
    beta: Tensor | None = None,
    frame_duration: float = FRAME_SECONDS,
    optional: Tensor | None = None,
    segment: tuple[int, int, int] = SEGMENT_FRAMES,
    path: tuple[Tensor, Tensor] | None = None,
    cost: Tensor | None = None,
) -> TokenSpans:
    """`align_ot` for long inputs, anchored: OT inside pieces cut at pauses of the long Viterbi
    path (`ot_cuts`), alpha renormalised over each piece's frames and beta over its tokens.

    A silence token shared by two pieces (the cut lies in its pause) has its mass split between
    them by alpha's weight on each side of the cut; it takes its start from the first piece,
    its end from the second, and the geometric mean of the two confidences.
    path: (first, end) of `viterbi_segments_long` if already computed (else computed here,
    with `cost` as in `viterbi_segments`)."""
    _check_inputs(log_probs, targets)
    n_frames, n_tok = log_probs.shape[0], targets.numel()
    if alpha.shape != (n_frames,):
        raise ValueError(f"alpha must be [T] = [{n_frames}], got {tuple(alpha.shape)}")
    beta = _uniform(n_tok, alpha.device) if beta is None else beta
    if beta.shape != targets.shape:
        raise ValueError(f"beta must be [S] = {tuple(targets.shape)}, got {tuple(beta.shape)}")
    if optional is None:
        optional = torch.zeros(n_tok, dtype=torch.bool)
    lp = log_probs.detach()
    if path is None:
        first, end, _ = viterbi_segments_long(lp, targets, optional, cost=cost)
    else:
        first, end = path
    cuts = ot_cuts(first, end, optional, segment)
    bounds = [(0, 0, False), *cuts, (n_frames, n_tok, False)]
    start = torch.zeros(n_tok, dtype=torch.float64)
    stop = torch.zeros(n_tok, dtype=torch.float64)
    conf = torch.zeros(n_tok, dtype=torch.float64)
    a = alpha.detach().double()
    b = beta.detach().double()
    # A shared silence's mass is split between the two pieces in proportion to alpha on each
    # side of the cut (half each if its span has no weight): then, without noise, each piece
    # gets exactly the mass the global plan would give it, and a pause is not counted twice.
    left = {}
    for f, j, shared in cuts:
        if shared:
            w_l = float(a[int(first[j]) : f].sum())
            w_r = float(a[f : int(end[j])].sum())
            left[f] = w_l / (w_l + w_r) if w_l + w_r > 0 else 0.5
    for (f0, j0, begun), (f1, j1, shared) in zip(bounds[:-1], bounds[1:]):
        j_last = j1 if shared else j1 - 1  # inclusive
        seg_alpha = a[f0:f1]
        if not bool(seg_alpha.sum() > 0):
            seg_alpha = torch.ones_like(seg_alpha)
        seg_beta = b[j0 : j_last + 1].clone()
        if begun:
            seg_beta[0] *= 1.0 - left[f0]
        if shared:
            seg_beta[-1] *= left[f1]
        if not bool(seg_beta.sum() > 0):
            seg_beta = torch.ones_like(seg_beta)
        spans = align_ot(seg_alpha, lp[f0:f1], targets[j0 : j_last + 1], seg_beta, frame_duration)
        offset = f0 * frame_duration
        s_seg, e_seg, c_seg = spans.start + offset, spans.end + offset, spans.confidence.double()
        if begun:  # token j0 (a pause's silence) was begun by the previous piece
            stop[j0] = e_seg[0]
            conf[j0] = torch.sqrt(conf[j0] * c_seg[0])
            s_seg, e_seg, c_seg, j_from = s_seg[1:], e_seg[1:], c_seg[1:], j0 + 1
        else:
            j_from = j0
        start[j_from : j_last + 1] = s_seg
        stop[j_from : j_last + 1] = e_seg
        conf[j_from : j_last + 1] = c_seg
    return TokenSpans(start, stop, conf)


# --------------------------------------------------------------------------- the decoder table
#
# Every decoding method a user can ask for (`--method`), with its function for inputs up to
# LONG_FRAMES and its anchored one beyond. All of them take a `DecoderInput`, so a caller
# passes one thing whatever the method; each picks what it uses from it.


@dataclass(frozen=True)
class DecoderInput:
    """One utterance ready to decode.

    log_probs [T, C] label log-posteriors; targets [S] class ids; optional [S] bool (tokens that
    may take no frames, e.g. the inserted silences); alpha [T] frame weights and beta [S] token
    masses (an OTTC model's; None for a model without frame weights); path: (first, end) of
    `viterbi_segments_long`, when the caller has already searched it; scored: False when the
    caller scores the tokens itself (merged sub-phonetic states): the Viterbi decoders then
    leave each token's confidence NaN; cost [S]: what a token costs the Viterbi decoders when it
    takes frames (`viterbi_segments`; a pause inside a word), None: nothing."""

    log_probs: Tensor
    targets: Tensor
    optional: Tensor
    frame_duration: float
    alpha: Tensor | None = None
    beta: Tensor | None = None
    path: tuple[Tensor, Tensor] | None = None
    scored: bool = True
    cost: Tensor | None = None


@dataclass(frozen=True)
class Decoder:
    """A decoding method: what it runs, what it needs, and one line for `--help`."""

    short: Callable[[DecoderInput], TokenSpans]
    long: Callable[[DecoderInput], TokenSpans]  # beyond LONG_FRAMES: re-anchors, cannot drift
    needs_weights: bool  # boundaries come from alpha and beta: OTTC models only
    on_grid: bool  # boundaries on the frame grid, which `refine_boundaries` may move off it
    summary: str

    def __call__(self, x: DecoderInput) -> TokenSpans:
        return (self.long if is_long(x.log_probs.shape[0]) else self.short)(x)


def is_long(n_frames: int) -> bool:
    """Whether an input of `n_frames` frames goes to the long (anchored) decoders."""
    return n_frames > LONG_FRAMES


def _ot(x: DecoderInput) -> TokenSpans:
    return align_ot(x.alpha, x.log_probs, x.targets, x.beta, x.frame_duration)


def _ot_long(x: DecoderInput) -> TokenSpans:
    return align_ot_long(x.alpha, x.log_probs, x.targets, x.beta, x.frame_duration, x.optional,
                         path=x.path, cost=x.cost)


def _viterbi(x: DecoderInput) -> TokenSpans:
    return align_viterbi(x.log_probs, x.targets, x.frame_duration, x.optional, alpha=x.alpha,
                         beta=x.beta, scored=x.scored, cost=x.cost)


def _viterbi_long(x: DecoderInput) -> TokenSpans:
    return align_viterbi_long(x.log_probs, x.targets, x.frame_duration, x.optional,
                              scored=x.scored, cost=x.cost)


DECODERS: dict[str, Decoder] = {
    "ot": Decoder(_ot, _ot_long, needs_weights=True, on_grid=False,
                  summary="boundaries from the OTTC frame weights, between frames; far "
                          "less accurate on real speech (48.8% of hand-labelled phone "
                          "boundaries within 20 ms, viterbi 85.3%), and the flags are "
                          "calibrated for viterbi (it flags half of correct transcripts)"),
    "viterbi": Decoder(_viterbi, _viterbi_long, needs_weights=False, on_grid=True,
                       summary="best path under the phone posteriors (searched exactly up "
                               "to 60 s, in overlapping windows beyond); the most accurate"),
}
# Viterbi beats ot on every accuracy metric with the shipped model (gold-dev's hand-labelled
# real recordings: 85.3% against 48.8% of phone boundaries within 20 ms, mean error 11.3 against
# 42.4 ms; docs/benchmarks/real_speech_ot.md), so it is the default.
DEFAULT_METHOD = "viterbi"


def supported_methods(config: ModelConfig) -> tuple[str, ...]:
    """The methods a model can decode with. A CTC model has no frame weights: it takes the
    methods that need none (its Viterbi path runs over the blank-extended sequence)."""
    if config.loss == "ctc":
        return tuple(name for name, d in DECODERS.items() if not d.needs_weights)
    return tuple(DECODERS)


def decoder_for(method: str, config: ModelConfig) -> Decoder:
    """The table's entry for `method`, if `config`'s model can use it; ValueError (one line)
    otherwise, so that a CTC model asked for `ot` says so instead of doing something else."""
    if method not in DECODERS:
        raise ValueError(f"unknown decoding method {method!r} (choose from {', '.join(DECODERS)})")
    supported = supported_methods(config)
    if method not in supported:
        raise ValueError(f"decoding method {method!r} needs an OTTC model's frame weights; this "
                         f"{config.loss.upper()} model supports {', '.join(supported)}")
    return DECODERS[method]
