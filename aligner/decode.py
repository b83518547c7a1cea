"""Forced-alignment decoding with a known transcript: token spans from OTTC outputs.

Pure torch, no I/O. Two decoders and one confidence measure:

- `align_ot`: boundaries from the frame weights alone. The cumulative weight A(t) is piecewise
  linear in time (each frame spreads its weight uniformly over its 10 ms), so the time at which
  it crosses a token's cumulative mass B_j can be placed *inside* a frame. Linear time.
- `align_viterbi`: the best single monotone segmentation of the frames into the tokens under the
  label posteriors (each frame belongs to exactly one token, order kept, every token >= 1 frame
  except the `optional` ones, e.g. inserted silences, which may take 0 frames).
- `token_confidence`: the geometric-mean posterior of each token over the frames (or transport
  mass) it was given.

Viterbi is written as a loop over *tokens*, vectorised over frames: with prefix sums C_j of the
token's log-posterior, the best score of ending token j at boundary u is
    G_j[u] = C_j[u] + max_{v < u} (F_{j-1}[v] - C_j[v]),
a running maximum (`torch.cummax`, which also returns the arg-max backpointer). Each token only
looks at a window of candidate boundaries: the exact feasible range, optionally intersected with
a band around a guide path (the OT boundaries when `alpha` is given). Memory is the sum of the
window sizes, O(T + S * band), so a 1-hour input (360 000 frames, ~40 000 tokens) fits easily,
and the Python loop runs S times rather than T times. The CTC baseline (`aligner/ctc.py`) reuses
the same search over its blank-extended sequence.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from aligner.ottc import transport_plan

__all__ = [
    "TokenSpans",
    "align_ot",
    "align_viterbi",
    "ot_boundaries",
    "ot_frame_spans",
    "token_confidence",
    "viterbi_segments",
    "AUTO_BAND",
    "AUTO_EXACT_CELLS",
    "METHODS",
]

# Decoding methods offered to callers (`align_<name>`); align.py lists them for --method.
METHODS = ("ot", "viterbi")

# Exact search when T * S is at most this many cells; otherwise a band of AUTO_BAND frames
# either side of the guide path (2 s at 10 ms frames).
AUTO_EXACT_CELLS = 20_000_000
AUTO_BAND = 200


class TokenSpans(NamedTuple):
    """Per-token times of one utterance.

    start:      [S] float64 seconds
    end:        [S] float64 seconds (end >= start; equal for a token given no time)
    confidence: [S] float64 in (0, 1]
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


def ot_frame_spans(alpha: Tensor, beta: Tensor) -> tuple[Tensor, Tensor]:
    """Integer frame spans [first, end) (int64, [S] each) of the OT alignment.

    A frame is given to every token whose time stretch overlaps it, so neighbouring tokens may
    share their boundary frame (and with T < S several tokens share one frame). A token of mass
    0 gets an empty span.
    """
    start, end = ot_boundaries(alpha, beta)
    first = torch.floor(start).long()
    stop = torch.maximum(torch.ceil(end).long(), first)
    return first, stop


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
    frame_duration: float = 0.01,
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


def _feasible_windows(n_frames: int, required: Tensor) -> tuple[Tensor, Tensor]:
    """Exact range [lo_j, hi_j] of the boundary after token j (frames consumed by tokens 0..j)."""
    req = required.long().cpu()
    before = torch.cumsum(req, 0)  # non-optional tokens among 0..j
    after = req.sum() - before  # non-optional tokens among j+1..S-1
    return before, n_frames - after


def viterbi_segments(
    log_probs: Tensor,
    targets: Tensor,
    optional: Tensor | None = None,
    band: int | None = None,
    centre: Tensor | None = None,
) -> tuple[Tensor, Tensor, float]:
    """Best monotone segmentation: token j gets frames [first_j, end_j) (int64 [S] each).

    log_probs [T, C]; targets [S]; optional [S] bool (tokens allowed 0 frames; others >= 1).
    band: None = exact search when T * S <= AUTO_EXACT_CELLS, otherwise AUTO_BAND; an int
    restricts the boundary after token j to within `band` frames of `centre[j]` (float frames,
    default: the uniform diagonal T * (j + 1) / S). If a band admits no path it is doubled until
    one does (at worst the search becomes exact). Returns (first, end, best total log-prob).
    Raises ValueError when T is smaller than the number of non-optional tokens.
    """
    _check_inputs(log_probs, targets)
    n_frames, n_tok = log_probs.shape[0], targets.numel()
    if optional is None:
        optional = torch.zeros(n_tok, dtype=torch.bool)
    optional = optional.bool().cpu()
    if optional.shape != (n_tok,):
        raise ValueError(f"optional must be [S] = [{n_tok}], got {tuple(optional.shape)}")
    n_required = int((~optional).sum())
    if n_frames < n_required:
        raise ValueError(
            f"viterbi needs at least one frame per non-optional token: {n_frames} frames for "
            f"{n_required} tokens"
        )
    lo_exact, hi_exact = _feasible_windows(n_frames, ~optional)
    if band is None:
        band = AUTO_BAND if n_frames * n_tok > AUTO_EXACT_CELLS else n_frames
    if centre is None:
        centre = torch.arange(1, n_tok + 1, dtype=torch.float64) * (n_frames / n_tok)
    centre = centre.double().cpu()
    band = max(int(band), 1)
    while True:
        lo = torch.maximum(lo_exact, torch.floor(centre).long() - band)
        hi = torch.minimum(hi_exact, torch.ceil(centre).long() + band)
        hi[-1] = n_frames  # the last token always ends at the last frame
        lo = torch.minimum(lo, hi)
        result = _search(log_probs, targets, optional, lo, hi)
        if result is not None or band >= n_frames:
            break
        band *= 2
    if result is None:  # unreachable: the exact windows always admit a path
        raise RuntimeError("viterbi found no path")
    return result


def _search(
    log_probs: Tensor, targets: Tensor, optional: Tensor, lo: Tensor, hi: Tensor
) -> tuple[Tensor, Tensor, float] | None:
    """Windowed DP over tokens; None if the windows admit no path."""
    neg_inf = float("-inf")
    dev = log_probs.device
    lo_l, hi_l, opt_l, y_l = lo.tolist(), hi.tolist(), optional.tolist(), targets.tolist()
    prev = torch.zeros(1, dtype=torch.float64, device=dev)  # F_{-1} on window [0, 0]
    plo, phi = 0, 0
    backs: list[Tensor] = []
    skips: list[Tensor | None] = []
    for j in range(len(y_l)):
        wlo, whi = lo_l[j], hi_l[j]
        size = whi - wlo + 1
        cur = torch.full((size,), neg_inf, dtype=torch.float64, device=dev)
        back = torch.zeros(size, dtype=torch.long, device=dev)
        # Non-empty: frames v..u-1 with v in [plo, phi], u in [wlo, whi], v < u.
        if whi > plo:
            c = torch.zeros(whi - plo + 1, dtype=torch.float64, device=dev)
            c[1:] = torch.cumsum(log_probs[plo:whi, y_l[j]].double(), 0)
            h = torch.full_like(c, neg_inf)
            n_prev = min(phi, whi) - plo + 1
            h[:n_prev] = prev[:n_prev] - c[:n_prev]
            best, arg = torch.cummax(h, 0)
            u0 = max(wlo, plo + 1)
            k = torch.arange(u0 - plo - 1, whi - plo, device=dev)
            cur[u0 - wlo :] = c[k + 1] + best[k]
            back[u0 - wlo :] = arg[k] + plo
        skip = None
        if opt_l[j]:
            s_lo, s_hi = max(wlo, plo), min(whi, phi)
            if s_hi >= s_lo:
                cand = torch.full_like(cur, neg_inf)
                cand[s_lo - wlo : s_hi - wlo + 1] = prev[s_lo - plo : s_hi - plo + 1]
                skip = cand > cur
                cur = torch.where(skip, cand, cur)
        backs.append(back)
        skips.append(skip)
        prev, plo, phi = cur, wlo, whi
    total = float(prev[-1])
    if not math.isfinite(total):
        return None
    first = [0] * len(y_l)
    end = [0] * len(y_l)
    u = phi
    for j in range(len(y_l) - 1, -1, -1):
        idx = u - lo_l[j]
        end[j] = u
        if skips[j] is not None and bool(skips[j][idx]):
            first[j] = u
        else:
            u = int(backs[j][idx])
            first[j] = u
    return torch.tensor(first), torch.tensor(end), total


def align_viterbi(
    log_probs: Tensor,
    targets: Tensor,
    frame_duration: float = 0.01,
    optional: Tensor | None = None,
    band: int | None = None,
    alpha: Tensor | None = None,
    beta: Tensor | None = None,
) -> TokenSpans:
    """Best single monotone path under the label posteriors: log_probs [T, C], targets [S].

    optional [S] bool: tokens that may take 0 frames (the inserted silences); every other token
    gets >= 1 frame, so T must be >= their number (ValueError otherwise).
    band: see `viterbi_segments`. The band follows the OT boundaries when `alpha` [T] is given
    (beta [S] as in training, default uniform), else the uniform diagonal.
    Confidence: geometric-mean posterior over the token's frames (a 0-frame token: its posterior
    at the frame where its empty span sits).
    """
    _check_inputs(log_probs, targets)
    centre = None
    if alpha is not None:
        b = _uniform(targets.numel(), alpha.device) if beta is None else beta
        s, e = ot_boundaries(alpha.detach(), b.detach())
        nxt = torch.cat([s[1:], e[-1:]])
        centre = (e + nxt) / 2  # boundary after token j: between its end and the next start
    lp = log_probs.detach()
    first, end, _ = viterbi_segments(lp, targets, optional, band, centre)
    n_frames = lp.shape[0]
    lengths = end - first
    token = torch.repeat_interleave(torch.arange(targets.numel()), lengths).to(lp.device)
    frames = torch.arange(n_frames, device=lp.device)
    conf = token_confidence(lp, targets, frames, token, torch.ones(n_frames, device=lp.device),
                            fallback_frame=first.to(lp.device))
    return TokenSpans(first.double() * frame_duration, end.double() * frame_duration, conf)
