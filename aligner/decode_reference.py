"""The Viterbi search and variant scoring as they were before the numpy rewrite (commit 502e1ad),
kept verbatim, and a brute-force optimum: the references that the tests (tests/test_decode.py,
tests/test_decode_fast.py) and benchmarks/decode_speed.py compare the current code with
(bit-for-bit equality, and speed).

The aligner never calls this module. It lives in the package so that tests and benchmarks
import it the same way, without reaching into each other's folders.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from aligner import decode
from aligner.decode import viterbi_segments


# The windowed DP as it was before the numpy rewrite (commit 502e1ad), kept verbatim as the
# reference: one torch op per line, backpointers from torch.cummax (the *last* arg-max on ties).

def _ref_step(log_probs, y, is_optional, prev, plo, phi, wlo, whi):
    neg_inf = float("-inf")
    size = whi - wlo + 1
    cur = torch.full((size,), neg_inf, dtype=torch.float64)
    back = torch.zeros(size, dtype=torch.long)
    if whi > plo:
        c = torch.zeros(whi - plo + 1, dtype=torch.float64)
        c[1:] = torch.cumsum(log_probs[plo:whi, y].double(), 0)
        h = torch.full_like(c, neg_inf)
        n_prev = min(phi, whi) - plo + 1
        h[:n_prev] = prev[:n_prev] - c[:n_prev]
        best, arg = torch.cummax(h, 0)
        u0 = max(wlo, plo + 1)
        k = torch.arange(u0 - plo - 1, whi - plo)
        cur[u0 - wlo :] = c[k + 1] + best[k]
        back[u0 - wlo :] = arg[k] + plo
    skip = None
    if is_optional:
        s_lo, s_hi = max(wlo, plo), min(whi, phi)
        if s_hi >= s_lo:
            cand = torch.full_like(cur, neg_inf)
            cand[s_lo - wlo : s_hi - wlo + 1] = prev[s_lo - plo : s_hi - plo + 1]
            skip = cand > cur
            cur = torch.where(skip, cand, cur)
    return cur, back, skip


def _ref_backtrack(lo_l, backs, skips, last, u):
    first, end = [0] * (last + 1), [0] * (last + 1)
    for j in range(last, -1, -1):
        idx = u - lo_l[j]
        end[j] = u
        if skips[j] is not None and bool(skips[j][idx]):
            first[j] = u
        else:
            u = int(backs[j][idx])
            first[j] = u
    return first, end


def _ref_forward(log_probs, targets, optional, lo, hi, stop):
    lo_l, hi_l, opt_l, y_l = lo.tolist(), hi.tolist(), optional.tolist(), targets.tolist()
    prev = torch.zeros(1, dtype=torch.float64)
    plo, phi = 0, 0
    backs, skips = [], []
    best, last = float("-inf"), -1
    for j in range(len(y_l)):
        cur, back, skip = _ref_step(log_probs, y_l[j], opt_l[j], prev, plo, phi, lo_l[j], hi_l[j])
        backs.append(back)
        skips.append(skip)
        prev, plo, phi = cur, lo_l[j], hi_l[j]
        # the cost per token taken came after the rewrite (session 19): the same rule here
        if stop is not None and phi == stop and float(cur[-1]) - decode.TOKEN_COST * j > best:
            best, last = float(cur[-1]) - decode.TOKEN_COST * j, j
    if stop is None:
        best, last = float(prev[-1]), len(y_l) - 1
    return lo_l, backs, skips, best, last, phi


def ref_search(log_probs, targets, optional, lo, hi, cost=None):
    assert cost is None, "the reference search has no token costs (they came later)"
    lo_l, backs, skips, total, last, phi = _ref_forward(log_probs, targets, optional, lo, hi, None)
    if not math.isfinite(total):
        return None
    first, end = _ref_backtrack(lo_l, backs, skips, last, phi)
    return torch.tensor(first), torch.tensor(end), total


def ref_search_open_end(log_probs, targets, optional, lo, hi, stop, cost=None):
    assert cost is None, "the reference search has no token costs (they came later)"
    lo_l, backs, skips, best, last, _ = _ref_forward(log_probs, targets, optional, lo, hi, stop)
    if last < 0 or not math.isfinite(best):
        return None
    first, end = _ref_backtrack(lo_l, backs, skips, last, stop)
    return first, end, last


def ref_viterbi_segments(log_probs, targets, optional=None, band=None, centre=None, cost=None):
    """`viterbi_segments` with the reference search swapped in (the window logic is shared)."""
    saved = decode._search
    decode._search = lambda lp, *a: ref_search(log_probs, *a)  # the tensor, not its numpy copy
    try:
        return viterbi_segments(log_probs, targets, optional, band, centre, cost)
    finally:
        decode._search = saved


def ref_segment_score(log_probs: np.ndarray, ids: list[int]) -> float:
    """`align._segment_score` before the rewrite (one cumsum and five allocations a phone)."""
    n = log_probs.shape[0]
    if len(ids) > n:
        return -np.inf
    cum = np.concatenate([[0.0], np.cumsum(log_probs[:, ids[0]], dtype=np.float64)])
    prev = cum[1:].copy()
    for j, pid in enumerate(ids[1:], start=1):
        c = np.concatenate([[0.0], np.cumsum(log_probs[:, pid], dtype=np.float64)])
        h = np.full(n + 1, -np.inf)
        h[1:] = prev - c[1:]
        run = np.maximum.accumulate(h)
        cur = np.full(n, -np.inf)
        cur[1:] = c[2:] + run[1:n]
        cur[:j] = -np.inf
        prev = cur
    return float(prev[-1])


def brute_force(lp: torch.Tensor, y: list[int], optional: list[bool],
                cost: list[float] | None = None) -> float:
    """Best total over every segmentation (enumerated): the slow reference for viterbi; cost:
    what each token costs when it takes frames (`viterbi_segments`)."""
    cost = cost or [0.0] * len(y)
    t, s = lp.shape[0], len(y)
    best = -math.inf
    for cuts in itertools.combinations_with_replacement(range(t + 1), s - 1):
        b = [0, *cuts, t]
        if all(b[j + 1] - b[j] >= 1 or optional[j] for j in range(s)):
            best = max(best, sum(float(lp[b[j] : b[j + 1], y[j]].double().sum())
                                 - (cost[j] if b[j + 1] > b[j] else 0.0) for j in range(s)))
    return best
