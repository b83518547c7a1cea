"""Tests of the CTC baseline: loss wrapper and forced alignment."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aligner.ctc import ctc_forced_align, ctc_loss, ctc_token_spans

torch.set_num_threads(1)


def frame_loop_viterbi(lp: torch.Tensor, y: list[int], blank: int = 0) -> float:
    """Textbook CTC Viterbi over frames and extended states: the reference score."""
    ext = [blank]
    for c in y:
        ext += [c, blank]
    n = len(ext)
    neg = -1e30
    d = [neg] * n
    d[0] = float(lp[0, ext[0]])
    d[1] = float(lp[0, ext[1]])
    for t in range(1, lp.shape[0]):
        new = [neg] * n
        for s in range(n):
            best = d[s]
            if s >= 1:
                best = max(best, d[s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                best = max(best, d[s - 2])
            new[s] = best + float(lp[t, ext[s]])
        d = new
    return max(d[-1], d[-2])


def collapse(path: list[int], blank: int = 0) -> list[int]:
    return [c for i, c in enumerate(path) if c != blank and (i == 0 or path[i - 1] != c)]


def test_loss_wrapper_matches_torch():
    g = torch.Generator().manual_seed(0)
    lp = torch.randn(3, 20, 6, generator=g).log_softmax(-1)
    y = torch.randint(1, 6, (3, 7), generator=g)
    il, tl = torch.tensor([20, 15, 9]), torch.tensor([7, 3, 5])
    for red in ("mean", "sum", "none"):
        ref = F.ctc_loss(lp.transpose(0, 1), y, il, tl, reduction=red)
        torch.testing.assert_close(ctc_loss(lp, y, il, tl, reduction=red), ref)


def test_forced_align_matches_frame_loop_reference():
    g = torch.Generator().manual_seed(1)
    for _ in range(150):
        t = int(torch.randint(1, 10, (), generator=g))
        s = int(torch.randint(1, 5, (), generator=g))
        lp = torch.randn(t, 4, generator=g).log_softmax(-1)
        y = torch.randint(1, 4, (s,), generator=g)
        if t < s + int((y[1:] == y[:-1]).sum()):
            with pytest.raises(ValueError):
                ctc_forced_align(lp, y)
            continue
        path = ctc_forced_align(lp, y)
        assert path.shape == (t,)
        assert collapse(path.tolist()) == y.tolist()
        score = float(lp[torch.arange(t), path].sum())
        assert abs(score - frame_loop_viterbi(lp, y.tolist())) < 1e-5


def test_token_spans_convention():
    # Frames:  0:b 1:A 2:b 3:b 4:B 5:B 6:b  -> A [1, 4), B [4, 6); trailing blank is silence.
    path = [0, 1, 0, 0, 2, 2, 0]
    p = torch.full((7, 3), 0.05)
    p[torch.arange(7), torch.tensor(path)] = 0.9
    spans = ctc_token_spans(p.log(), torch.tensor([1, 2]), frame_duration=0.01)
    torch.testing.assert_close(spans.start, torch.tensor([0.01, 0.04], dtype=torch.float64))
    torch.testing.assert_close(spans.end, torch.tensor([0.04, 0.06], dtype=torch.float64))
    torch.testing.assert_close(spans.confidence, torch.tensor([0.9, 0.9], dtype=torch.float64))
    assert ctc_forced_align(p.log(), torch.tensor([1, 2])).tolist() == path


def test_repeated_labels_need_a_blank_and_blank_targets_rejected():
    lp = torch.zeros(3, 3).log_softmax(-1)
    path = ctc_forced_align(lp, torch.tensor([1, 1]))
    assert path.tolist() == [1, 0, 1]
    with pytest.raises(ValueError):
        ctc_forced_align(lp[:2], torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="blank"):
        ctc_forced_align(lp, torch.tensor([0, 1]))
