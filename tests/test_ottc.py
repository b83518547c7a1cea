"""Tests of the OTTC transport plan and loss against slow, obviously-correct references."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner.ottc import frame_weights, ottc_loss, transport_plan, uniform_beta
from conftest import FUZZ, extreme_masses, normalised

torch.set_num_threads(1)


def two_pointer_plan(alpha: list[float], beta: list[float]) -> dict[tuple[int, int], float]:
    """North-west corner rule, in plain Python floats: the slow reference."""
    sa, sb = sum(alpha), sum(beta)
    a = [x / sa for x in alpha]
    b = [x / sb for x in beta]
    i = j = 0
    ra, rb = a[0], b[0]
    plan: dict[tuple[int, int], float] = {}
    while i < len(a) and j < len(b):
        h = min(ra, rb)
        if h > 0:
            plan[(i, j)] = plan.get((i, j), 0.0) + h
        ra -= h
        rb -= h
        # Advance whichever ran out (both on a tie); the last frame/token absorbs rounding.
        if ra <= 1e-15 and i < len(a) - 1:
            i += 1
            ra = a[i]
        elif rb <= 1e-15 and j < len(b) - 1:
            j += 1
            rb = b[j]
        elif ra <= 1e-15 and rb <= 1e-15:
            break
        elif i == len(a) - 1 and j == len(b) - 1:
            plan[(i, j)] = plan.get((i, j), 0.0) + max(ra, rb)
            break
    return plan


def dense_gamma(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """gamma_ij = max(0, min(A_i, B_j) - max(A_{i-1}, B_{j-1})): the closed form, dense."""
    a = torch.cumsum(alpha.double() / alpha.double().sum(), 0)
    b = torch.cumsum(beta.double() / beta.double().sum(), 0)
    a0 = torch.cat([a.new_zeros(1), a[:-1]])
    b0 = torch.cat([b.new_zeros(1), b[:-1]])
    return (torch.minimum(a[:, None], b[None, :]) - torch.maximum(a0[:, None], b0[None, :])).clamp_min(0)


def plan_to_dense(frame, token, mass, n: int, m: int) -> torch.Tensor:
    g = torch.zeros(n, m, dtype=torch.float64)
    g.index_put_((frame, token), mass.detach().double(), accumulate=True)
    return g


def test_plan_matches_two_pointer_and_marginals():
    g = torch.Generator().manual_seed(0)
    for n, m in [(1, 1), (1, 5), (5, 1), (7, 3), (3, 7), (20, 20), (50, 9)]:
        alpha = torch.rand(n, generator=g, dtype=torch.float64)
        alpha /= alpha.sum()
        beta = torch.rand(m, generator=g, dtype=torch.float64) + 0.1
        beta /= beta.sum()
        frame, token, mass = transport_plan(alpha, beta)
        assert frame.shape == (n + m - 1,)
        dense = plan_to_dense(frame, token, mass, n, m)
        ref = two_pointer_plan(alpha.tolist(), beta.tolist())
        ref_dense = torch.zeros(n, m, dtype=torch.float64)
        for (i, j), h in ref.items():
            ref_dense[i, j] = h
        torch.testing.assert_close(dense, ref_dense, atol=1e-12, rtol=0)
        torch.testing.assert_close(dense, dense_gamma(alpha, beta), atol=1e-12, rtol=0)
        torch.testing.assert_close(dense.sum(1), alpha, atol=1e-12, rtol=0)
        torch.testing.assert_close(dense.sum(0), beta, atol=1e-12, rtol=0)
        assert (mass >= 0).all()
        # Monotone: indices never go back, and they move by at most one at a time.
        assert (frame.diff() >= 0).all() and (token.diff() >= 0).all()
        assert ((frame.diff() + token.diff()) == 1).all()


def test_ties_and_zero_weights_give_zero_pieces_not_nan():
    alpha = torch.tensor([0.25, 0.0, 0.25, 0.5, 0.0], dtype=torch.float64)
    beta = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    frame, token, mass = transport_plan(alpha, beta)
    assert torch.isfinite(mass).all() and (mass >= 0).all()
    dense = plan_to_dense(frame, token, mass, 5, 3)
    torch.testing.assert_close(dense, dense_gamma(alpha, beta), atol=1e-15, rtol=0)
    assert dense[1].sum() == 0 and dense[4].sum() == 0  # dropped frames get nothing


def test_padding_never_receives_mass_and_batched_equals_single():
    g = torch.Generator().manual_seed(1)
    lens_a = torch.tensor([6, 2, 9])
    lens_b = torch.tensor([3, 5, 1])
    alpha = frame_weights(torch.randn(3, 9, generator=g), lens_a)
    beta = uniform_beta(lens_b, 5)
    plan = transport_plan(alpha, beta, lens_a, lens_b)
    for b in range(3):
        n, m = int(lens_a[b]), int(lens_b[b])
        assert (plan.frame[b] < n).all() and (plan.token[b] < m).all()
        assert plan.mass[b, n + m - 1 :].abs().sum() == 0
        single = transport_plan(alpha[b, :n], beta[b, :m])
        torch.testing.assert_close(plan.mass[b, : n + m - 1], single.mass, atol=1e-15, rtol=0)
        assert torch.equal(plan.frame[b, : n + m - 1], single.frame)
        assert torch.equal(plan.token[b, : n + m - 1], single.token)


def _dense_loss(log_probs, weight_logits, targets, n, m):
    alpha = torch.softmax(weight_logits[:n].double(), 0)
    gamma = dense_gamma(alpha, torch.full((m,), 1.0 / m, dtype=torch.float64))
    nll = -log_probs[:n][:, targets[:m]].double()
    return (gamma * nll).sum()


def test_loss_equals_dense_sum_and_reductions():
    g = torch.Generator().manual_seed(2)
    bsz, t, c, s = 3, 12, 6, 15
    lp = torch.log_softmax(torch.randn(bsz, t, c, generator=g), -1)
    w = torch.randn(bsz, t, generator=g)
    y = torch.randint(0, c, (bsz, s), generator=g)
    il = torch.tensor([12, 5, 1])
    tl = torch.tensor([4, 15, 3])  # second utterance: more tokens than frames
    per = ottc_loss(lp, w, y, il, tl, reduction="none")
    ref = torch.stack([_dense_loss(lp[b], w[b], y[b], int(il[b]), int(tl[b])) for b in range(bsz)])
    torch.testing.assert_close(per.double(), ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ottc_loss(lp, w, y, il, tl, reduction="sum"), per.sum())
    torch.testing.assert_close(ottc_loss(lp, w, y, il, tl), per.mean())
    with pytest.raises(ValueError):
        ottc_loss(lp, w, y, il, tl, reduction="avg")


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    bsz, t, c, s = 2, 6, 4, 4
    logits = torch.randn(bsz, t, c, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(bsz, t, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, c, (bsz, s), generator=g)
    il = torch.tensor([6, 4])
    tl = torch.tensor([3, 4])

    def f(logits, w):
        return ottc_loss(torch.log_softmax(logits, -1), w, y, il, tl, reduction="sum")

    assert torch.autograd.gradcheck(f, (logits, w), eps=1e-6, atol=1e-6)


def test_gradients_reach_both_heads_and_padding_gets_none():
    g = torch.Generator().manual_seed(4)
    lp_raw = torch.randn(2, 8, 5, generator=g, requires_grad=True)
    w = torch.randn(2, 8, generator=g, requires_grad=True)
    y = torch.randint(0, 5, (2, 3), generator=g)
    loss = ottc_loss(torch.log_softmax(lp_raw, -1), w, y, torch.tensor([8, 5]), torch.tensor([3, 2]))
    loss.backward()
    assert lp_raw.grad[0].abs().sum() > 0 and w.grad[0].abs().sum() > 0
    assert lp_raw.grad[1, 5:].abs().sum() == 0 and w.grad[1, 5:].abs().sum() == 0


def test_length_one_and_more_tokens_than_frames_are_finite():
    lp = torch.log_softmax(torch.randn(1, 1, 5), -1).requires_grad_()
    w = torch.zeros(1, 1, requires_grad=True)
    loss = ottc_loss(lp, w, torch.tensor([[1, 2, 3]]), torch.tensor([1]), torch.tensor([3]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(lp.grad).all() and torch.isfinite(w.grad).all()
    expected = -lp[0, 0, [1, 2, 3]].mean()
    torch.testing.assert_close(loss, expected)


def test_zero_probability_on_a_dropped_frame_is_not_nan():
    # Frame 1 gets weight exactly 0 (exp(-1e4) underflows) and the target has probability 0 there.
    lp = torch.log_softmax(torch.randn(1, 3, 4), -1).detach()
    lp[0, 1, :] = float("-inf")
    lp[0, 1, 3] = 0.0
    lp.requires_grad_()
    w = torch.tensor([[0.0, -1e4, 0.0]], requires_grad=True)
    loss = ottc_loss(lp, w, torch.tensor([[1, 2]]), torch.tensor([3]), torch.tensor([2]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(lp.grad).all() and torch.isfinite(w.grad).all()
    torch.testing.assert_close(loss, -(lp[0, 0, 1] + lp[0, 2, 2]) / 2)


def test_float64_break_points_on_long_inputs():
    # 200 000 equal frames and 30 000 tokens: boundaries must land where exact arithmetic puts them.
    n, m = 200_000, 30_000
    alpha = torch.full((n,), 1.0 / n, dtype=torch.float32)
    beta = torch.full((m,), 1.0 / m, dtype=torch.float32)
    frame, token, mass = transport_plan(alpha, beta)
    per_token = torch.zeros(m, dtype=torch.float64).index_add_(0, token, mass)
    torch.testing.assert_close(per_token, torch.full((m,), 1.0 / m, dtype=torch.float64), atol=1e-12, rtol=0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 25),
    m=st.integers(1, 25),
    data=st.data(),
)
def test_property_marginals_and_dense(n, m, data):
    weights = st.one_of(st.just(0.0), st.floats(1e-12, 1e6), st.just(1.0))
    a = data.draw(st.lists(weights, min_size=n, max_size=n))
    b = data.draw(st.lists(st.floats(1e-9, 1e3), min_size=m, max_size=m))
    if sum(a) == 0:
        a[0] = 1.0
    alpha = torch.tensor(a, dtype=torch.float64)
    beta = torch.tensor(b, dtype=torch.float64)
    frame, token, mass = transport_plan(alpha, beta)
    assert torch.isfinite(mass).all() and (mass >= 0).all()
    assert (frame < n).all() and (token < m).all()
    dense = plan_to_dense(frame, token, mass, n, m)
    torch.testing.assert_close(dense.sum(1), alpha / alpha.sum(), atol=1e-12, rtol=0)
    torch.testing.assert_close(dense.sum(0), beta / beta.sum(), atol=1e-12, rtol=0)
    torch.testing.assert_close(dense, dense_gamma(alpha, beta), atol=1e-12, rtol=0)
    assert int((mass > 0).sum()) <= n + m - 1


@settings(max_examples=30, deadline=None)
@given(
    lens=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12)), min_size=1, max_size=4),
    scale=st.sampled_from([0.0, 1.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_property_loss_batched_equals_single_and_finite(lens, scale, seed):
    g = torch.Generator().manual_seed(seed)
    il = torch.tensor([a for a, _ in lens])
    tl = torch.tensor([b for _, b in lens])
    t, s, c = int(il.max()), int(tl.max()), 5
    lp = torch.log_softmax(torch.randn(len(lens), t, c, generator=g) * scale, -1).requires_grad_()
    w = (torch.randn(len(lens), t, generator=g) * scale).requires_grad_()
    y = torch.randint(0, c, (len(lens), s), generator=g)
    per = ottc_loss(lp, w, y, il, tl, reduction="none")
    per.sum().backward()
    assert torch.isfinite(per).all() and torch.isfinite(lp.grad).all() and torch.isfinite(w.grad).all()
    for b, (n, m) in enumerate(lens):
        single = ottc_loss(lp[b : b + 1, :n], w[b : b + 1, :n], y[b : b + 1, :m],
                           torch.tensor([n]), torch.tensor([m]), reduction="sum")
        assert math.isclose(float(single.detach()), float(per[b].detach()), rel_tol=1e-5, abs_tol=1e-5)


def test_explicit_beta_changes_the_plan():
    lp = torch.log_softmax(torch.randn(1, 4, 3), -1)
    w = torch.zeros(1, 4)
    y = torch.tensor([[0, 1]])
    beta = torch.tensor([[0.75, 0.25]], dtype=torch.float64)
    loss = ottc_loss(lp, w, y, torch.tensor([4]), torch.tensor([2]), beta=beta, reduction="sum")
    expected = -(lp[0, :3, 0].sum() + lp[0, 3, 1]) / 4
    torch.testing.assert_close(loss, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu():
    g = torch.Generator().manual_seed(5)
    lp = torch.log_softmax(torch.randn(3, 50, 7, generator=g), -1)
    w = torch.randn(3, 50, generator=g)
    y = torch.randint(0, 7, (3, 20), generator=g)
    il, tl = torch.tensor([50, 31, 7]), torch.tensor([20, 9, 12])
    cpu = ottc_loss(lp, w, y, il, tl, reduction="none")
    lp_c, w_c = lp.cuda().requires_grad_(), w.cuda().requires_grad_()
    lp_h, w_h = lp.clone().requires_grad_(), w.clone().requires_grad_()
    gpu = ottc_loss(lp_c, w_c, y.cuda(), il.cuda(), tl.cuda(), reduction="none")
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-5)
    gpu.sum().backward()
    ottc_loss(lp_h, w_h, y, il, tl, reduction="none").sum().backward()
    torch.testing.assert_close(lp_c.grad.cpu(), lp_h.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w_c.grad.cpu(), w_h.grad, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------- extreme masses (property tests)

@FUZZ
@given(a=extreme_masses(1, 60), b=extreme_masses(1, 40))
def test_transport_plan_extreme_masses(a, b):
    alpha, beta = normalised(a), normalised(b)
    plan = transport_plan(alpha, beta)
    k = len(a) + len(b) - 1
    assert plan.frame.shape == plan.token.shape == plan.mass.shape == (k,)
    assert torch.isfinite(plan.mass).all() and (plan.mass >= 0).all()
    assert plan.mass.sum().item() == pytest.approx(1.0, abs=1e-9)
    # a monotone plan: frames and tokens never go back
    assert (plan.frame.diff() >= 0).all() and (plan.token.diff() >= 0).all()
    assert int(plan.frame.min()) >= 0 and int(plan.frame.max()) < len(a)
    assert int(plan.token.min()) >= 0 and int(plan.token.max()) < len(b)
    # marginals: each frame gives away its alpha, each token receives its beta
    per_frame = torch.zeros(len(a), dtype=torch.float64).index_add_(0, plan.frame, plan.mass)
    per_token = torch.zeros(len(b), dtype=torch.float64).index_add_(0, plan.token, plan.mass)
    assert torch.allclose(per_frame, alpha, atol=1e-9)
    assert torch.allclose(per_token, beta, atol=1e-9)


@FUZZ
@given(a=extreme_masses(1, 30), b=extreme_masses(1, 30), n_batch=st.integers(1, 3))
def test_transport_plan_batched_with_padding_matches_unbatched(a, b, n_batch):
    alpha, beta = normalised(a), normalised(b)
    pad_a, pad_b = torch.zeros(n_batch, len(a) + 3, dtype=torch.float64), \
        torch.zeros(n_batch, len(b) + 2, dtype=torch.float64)
    pad_a[:, : len(a)] = alpha
    pad_b[:, : len(b)] = beta
    plan = transport_plan(pad_a, pad_b, torch.full((n_batch,), len(a)),
                          torch.full((n_batch,), len(b)))
    single = transport_plan(alpha, beta)
    k = len(a) + len(b) - 1
    for row in range(n_batch):
        assert torch.isfinite(plan.mass[row]).all()
        assert torch.allclose(plan.mass[row, :k], single.mass, atol=1e-12)
        assert plan.mass[row, k:].abs().sum().item() == 0.0
