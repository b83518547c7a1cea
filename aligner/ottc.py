"""Optimal Temporal Transport Classification (OTTC): the transport plan and the loss.

Pure torch, no I/O. The idea (the OTTC paper's): frames carry weights `alpha` (a masked
softmax of one scalar per frame), target tokens carry masses `beta` (uniform by default). In one
dimension the optimal transport plan between the two is monotone: merge the cumulative sums
`A_i` and `B_j` as break points on [0, 1]; every piece between two consecutive break points lies
in exactly one frame and one token and carries the piece's length as mass. The loss is the
mass-weighted cross-entropy of each piece's token at its frame.

Why this shape:
- The merge is done with one `sort` of the inner break points per utterance, and the frame /
  token index of each piece is an exclusive running count of the frame / token break points
  before it. Indices are therefore exact integers (no float `searchsorted` ambiguity), and the
  plan never materialises the n x m matrix: O(n + m) memory, O((n + m) log(n + m)) time.
- Break points are float64: float32 cumulative sums drift on long inputs.
- Ties (`A_i == B_j`, zero weights) give pieces of length 0 with a valid index; they carry no
  mass, and their gradient is the correct one-sided derivative (the piece could grow).
- Padded frames / tokens are pushed past the end (break point 2.0, clamped to 1) so they only
  produce pieces of mass exactly 0; their indices are clamped to the last valid frame / token,
  so a gather never reads padding.
- Gradients: to `alpha` through the piece lengths (sort is differentiable in its values), to the
  log-probabilities through the gathered cross-entropy. The indices are piecewise constant.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["TransportPlan", "frame_weights", "transport_plan", "ottc_loss", "uniform_beta"]


class TransportPlan(NamedTuple):
    """Sparse monotone plan, one row per utterance.

    frame: [B, K] int64 frame index i(k) of each piece (always a valid frame of that utterance)
    token: [B, K] int64 token index j(k) (always a valid token of that utterance)
    mass:  [B, K] float64 h_k >= 0; 0 for padding and for zero-length pieces; differentiable
           with respect to alpha (and beta, if beta requires grad).
    K = n_max + m_max - 1; utterance b has at most n_b + m_b - 1 non-zero pieces, stored first,
    in increasing order of time (so `frame` and `token` are non-decreasing along k).
    """

    frame: Tensor
    token: Tensor
    mass: Tensor


def _lengths_or_full(x: Tensor, lengths: Tensor | None) -> Tensor:
    if lengths is None:
        return torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
    lengths = torch.as_tensor(lengths, device=x.device).long().reshape(-1)
    if lengths.shape[0] != x.shape[0]:
        raise ValueError(f"lengths has {lengths.shape[0]} entries for a batch of {x.shape[0]}")
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]):
        raise ValueError(f"lengths must lie in [1, {x.shape[1]}], got {lengths.tolist()}")
    return lengths


def valid_mask(lengths: Tensor, size: int) -> Tensor:
    """[B, size] bool, True where the position is inside the utterance (frames of a padded
    batch for the model and the loss, tokens of padded targets)."""
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


def frame_weights(weight_logits: Tensor, lengths: Tensor) -> Tensor:
    """Masked softmax: alpha [B, T] (float64) from weight_logits [B, T] and lengths [B].

    Padded frames get weight exactly 0. Computed in float64 so that alpha of a 1-hour input
    (weights ~3e-6) keeps its relative precision before the cumulative sums.
    """
    if weight_logits.dim() != 2:
        raise ValueError(f"weight_logits must be [B, T], got shape {tuple(weight_logits.shape)}")
    lengths = _lengths_or_full(weight_logits, lengths)
    valid = valid_mask(lengths, weight_logits.shape[1])
    logits = weight_logits.double().masked_fill(~valid, float("-inf"))
    return torch.softmax(logits, dim=1)


def uniform_beta(target_lengths: Tensor, max_length: int) -> Tensor:
    """beta [B, max_length] float64: 1/m_b on the valid tokens, 0 on padding (the paper's choice)."""
    target_lengths = torch.as_tensor(target_lengths).long()
    valid = valid_mask(target_lengths, max_length)
    return valid.double() / target_lengths.clamp_min(1)[:, None].double()


def _inner_break_points(weights: Tensor, lengths: Tensor) -> Tensor:
    """[B, L-1] float64 normalised cumulative sums A_1..A_{L-1}; padding set to 2.0.

    Normalising by the total (A_L) makes the last break point exactly 1 and all inner ones lie
    in [0, 1] despite rounding; for weights that already sum to 1 this is a no-op whose
    gradient, composed with a softmax, is unchanged (the softmax Jacobian kills the constant
    direction).
    """
    w = weights.double() * valid_mask(lengths, weights.shape[1])
    cum = torch.cumsum(w, dim=1)
    total = cum.gather(1, (lengths - 1)[:, None])
    inner = (cum / total)[:, :-1]
    pad = ~valid_mask(lengths - 1, weights.shape[1] - 1)
    return inner.masked_fill(pad, 2.0)


def transport_plan(
    alpha: Tensor,
    beta: Tensor,
    alpha_lengths: Tensor | None = None,
    beta_lengths: Tensor | None = None,
) -> TransportPlan:
    """Monotone 1-D optimal transport plan between frame weights and token masses.

    alpha: [B, n] or [n], >= 0, each row summing to 1 over its valid part (renormalised here).
    beta:  [B, m] or [m], >= 0, same.
    alpha_lengths / beta_lengths: [B] int64 valid lengths (default: full rows).
    Returns a TransportPlan with [B, n + m - 1] tensors (or [n + m - 1] for unbatched input).
    Never builds the n x m matrix.
    """
    unbatched = alpha.dim() == 1
    if unbatched:
        alpha, beta = alpha[None], beta[None]
    if alpha.dim() != 2 or beta.dim() != 2 or alpha.shape[0] != beta.shape[0]:
        raise ValueError(
            f"alpha and beta must be [B, n] and [B, m], got {tuple(alpha.shape)} and {tuple(beta.shape)}"
        )
    if alpha.shape[1] == 0 or beta.shape[1] == 0:
        raise ValueError("transport_plan needs at least one frame and one token")
    a_len = _lengths_or_full(alpha, alpha_lengths)
    b_len = _lengths_or_full(beta, beta_lengths)

    a_pts = _inner_break_points(alpha, a_len)  # [B, n-1]
    b_pts = _inner_break_points(beta.to(alpha.device), b_len)  # [B, m-1]
    pts = torch.cat([a_pts, b_pts], dim=1)  # [B, K-1]
    is_frame = torch.cat(
        [torch.ones_like(a_pts, dtype=torch.long), torch.zeros_like(b_pts, dtype=torch.long)], dim=1
    )
    sorted_pts, order = torch.sort(pts, dim=1, stable=True)
    frame_step = is_frame.gather(1, order)
    zero_col = frame_step.new_zeros(frame_step.shape[0], 1)
    # Exclusive running counts: piece k lies after k break points, of which some are frames.
    frame = torch.cat([zero_col, torch.cumsum(frame_step, dim=1)], dim=1)
    token = torch.cat([zero_col, torch.cumsum(1 - frame_step, dim=1)], dim=1)
    frame = torch.minimum(frame, (a_len - 1)[:, None])
    token = torch.minimum(token, (b_len - 1)[:, None])

    # Piece k spans (t_{k-1}, t_k] with t_{-1} = 0 and the final point 1; padding points (2.0)
    # become 1 so the pieces after the last valid one have mass exactly 0.
    ones = sorted_pts.new_ones(sorted_pts.shape[0], 1)
    ends = torch.cat([torch.where(sorted_pts > 1.5, ones, sorted_pts), ones], dim=1)
    starts = torch.cat([torch.zeros_like(ones), ends[:, :-1]], dim=1)
    mass = ends - starts
    plan = TransportPlan(frame, token, mass)
    if unbatched:
        plan = TransportPlan(frame[0], token[0], mass[0])
    return plan


def ottc_loss(
    log_probs: Tensor,
    weight_logits: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    beta: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """OTTC loss, batch-first, with `torch.nn.functional.ctc_loss`-like conventions.

    log_probs:      [B, T, C] log-probabilities (log_softmax over C)
    weight_logits:  [B, T] one scalar per frame; alpha = masked softmax (frame_weights)
    targets:        [B, S] int64 class ids (padding arbitrary but in range [0, C))
    input_lengths:  [B] int64 in [1, T]; target_lengths: [B] int64 in [1, S]
    beta:           [B, S] token masses (default uniform 1/m_b); need not be normalised
    reduction:      "mean" (mean over the batch of each utterance's loss; each utterance's mass
                    sums to 1), "sum", or "none" ([B]).
    Returns a scalar (or [B]) in log_probs' dtype.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be [B, T, C], got shape {tuple(log_probs.shape)}")
    bsz, t_max, n_cls = log_probs.shape
    if weight_logits.shape != (bsz, t_max):
        raise ValueError(
            f"weight_logits must be [B, T] = {(bsz, t_max)}, got {tuple(weight_logits.shape)}"
        )
    if targets.dim() != 2 or targets.shape[0] != bsz:
        raise ValueError(f"targets must be [B, S], got shape {tuple(targets.shape)}")
    device = log_probs.device
    input_lengths = _lengths_or_full(log_probs[:, :, 0], input_lengths)
    target_lengths = _lengths_or_full(targets, target_lengths)
    targets = targets.to(device).long()
    if beta is None:
        beta = uniform_beta(target_lengths, targets.shape[1]).to(device)

    alpha = frame_weights(weight_logits, input_lengths)
    plan = transport_plan(alpha, beta, input_lengths, target_lengths)
    labels = targets.clamp(0, n_cls - 1).gather(1, plan.token)  # [B, K]
    flat = log_probs.reshape(bsz, t_max * n_cls)
    nll = -flat.gather(1, plan.frame * n_cls + labels).double()  # [B, K]
    # Pieces beyond the valid count, and empty pieces at a frame where the target has
    # probability 0 (e.g. a frame dropped by alpha), must not leak inf * 0 = NaN. Other empty
    # pieces keep their finite CE: it is the one-sided derivative at a tie.
    n_valid = (input_lengths + target_lengths - 1)[:, None]
    in_range = torch.arange(plan.mass.shape[1], device=device)[None, :] < n_valid
    keep = in_range & (torch.isfinite(nll) | (plan.mass > 0))
    nll = torch.where(keep, nll, torch.zeros_like(nll))
    per_utt = (plan.mass * nll).sum(dim=1).to(log_probs.dtype)
    if reduction == "none":
        return per_utt
    if reduction == "sum":
        return per_utt.sum()
    return per_utt.mean()
