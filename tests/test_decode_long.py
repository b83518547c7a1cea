"""Tests of the long-recording decoders (no drift over tens of minutes, bounded memory) and of
their dispatch by the decoder table (short inputs keep the global decoders)."""

from __future__ import annotations

import pytest
import torch

from aligner import decode
from aligner.decode import (
    LONG_FRAMES,
    align_ot,
    align_ot_long,
    align_viterbi_long,
    ot_boundaries,
    ot_cuts,
    viterbi_segments,
    viterbi_segments_long,
)
from aligner.targets import build_targets

torch.set_num_threads(1)


def planted(n_frames: int, seed: int = 0, sharp: float = 4.0, slow: float = 0.05):
    """Synthetic long posteriors with a known segmentation: `sil w1 sil w2 ... sil` with phones
    of 3-15 frames, silences mostly absent, sometimes short (5-25 frames), now and then a long
    pause (0.8-4 s). Label posteriors: noisy logits with the true class raised by `sharp`.
    alpha: the ideal frame weights (each token's mass spread over its frames) times white noise
    and a slow multiplicative bias (a random walk over minutes in log space), the kind of local
    error that a cumulative sum over the whole file turns into drift.
    Returns (targets, log_probs [T, C], alpha [T], first [S], end [S])."""
    g = torch.Generator().manual_seed(seed)
    words, planned = [], 0
    while planned < 0.85 * n_frames:
        ph = torch.randint(2, 41, (int(torch.randint(2, 7, (), generator=g)),), generator=g)
        for i in range(1, len(ph)):
            if ph[i] == ph[i - 1]:
                ph[i] = 2 + (ph[i] - 1) % 39
        words.append(ph.tolist())
        planned += 9 * len(ph)
    t = build_targets(words, 0.5)
    s = t.tokens.numel()
    r = torch.rand(s, generator=g)
    d = torch.randint(3, 16, (s,), generator=g)
    pause = torch.where(r < 0.6, torch.zeros_like(d),
                        torch.where(r < 0.97, torch.randint(5, 25, (s,), generator=g),
                                    torch.randint(80, 400, (s,), generator=g)))
    d = torch.where(t.optional, pause, d)
    end = torch.cumsum(d, 0)
    first = end - d
    n = int(end[-1])
    truth = torch.repeat_interleave(t.tokens, d)
    logits = torch.randn(n, 41, generator=g)
    logits[torch.arange(n), truth] += sharp
    owner = torch.repeat_interleave(torch.arange(s), d)
    alpha = (t.beta / d.clamp(min=1))[owner]
    spikes = (d == 0).nonzero().flatten()  # a 0-frame silence: its mass on the next frame
    alpha.index_add_(0, first[spikes].clamp(max=n - 1), t.beta[spikes])
    knots = torch.cumsum(torch.randn(n // 3000 + 2, generator=g, dtype=torch.float64), 0)
    walk = torch.nn.functional.interpolate(knots[None, None], size=n, mode="linear",
                                           align_corners=True)[0, 0]
    white = 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    alpha = alpha * torch.exp(white + slow * (walk - walk.mean()))
    return t, logits.log_softmax(-1), alpha / alpha.sum(), first, end


@pytest.fixture(scope="module")
def long_case():
    """20 minutes of synthetic posteriors and their long-Viterbi path (computed once)."""
    t, lp, alpha, first, end = planted(120_000, seed=0)
    f, e, total = viterbi_segments_long(lp, t.tokens, t.optional)
    return t, lp, alpha, first, end, f, e, total


def test_long_viterbi_recovers_planted_boundaries_to_the_end(long_case):
    t, lp, _, first, end, f, e, total = long_case
    assert lp.shape[0] > 100_000
    assert f[0] == 0 and e[-1] == lp.shape[0] and torch.equal(f[1:], e[:-1])
    assert ((e - f)[~t.optional] >= 1).all()
    spoken = (end - first) > 0
    err = (f - first)[spoken].abs()
    assert float((err == 0).double().mean()) > 0.98 and float((err <= 2).double().mean()) > 0.995
    tail = err[-len(err) // 10 :]  # the last tenth of the file: no drift
    assert int(tail.max()) <= 30 and float((tail <= 2).double().mean()) > 0.995
    frames = torch.arange(lp.shape[0])
    owner = torch.repeat_interleave(torch.arange(t.tokens.numel()), e - f)
    assert total == pytest.approx(float(lp[frames, t.tokens[owner]].double().sum()))


def test_anchored_ot_does_not_drift_where_global_ot_does(long_case):
    t, lp, alpha, first, _, f, e, _ = long_case
    phones = ~t.optional
    start_global, _ = ot_boundaries(alpha, t.beta)
    global_err = (start_global - first.double())[phones].abs()
    assert float(global_err.median()) > 100  # the global decoder wanders off (> 1 s)
    spans = align_ot_long(alpha, lp, t.tokens, t.beta, 1.0, t.optional, path=(f, e))
    err = (spans.start - first.double())[phones].abs()
    assert float(err.median()) < 3
    assert float(err[-len(err) // 10 :].median()) < 3  # the end is as good as the start
    assert float(torch.quantile(err, 0.9)) < 10
    assert (spans.end >= spans.start).all() and (spans.start[1:] >= spans.end[:-1] - 1e-9).all()
    assert spans.start[0] == 0 and spans.end[-1] == pytest.approx(lp.shape[0])
    assert ((spans.confidence > 0) & (spans.confidence <= 1)).all()


def test_long_viterbi_equals_the_exact_search():
    """Several windows (window 2000 on 12 000+ frames) against the exact global optimum, on
    posteriors noisy enough that the answer is not trivially the planted one."""
    t, lp, _, _, _ = planted(12_000, seed=3, sharp=1.5)
    n, s = lp.shape[0], t.tokens.numel()
    exact_first, exact_end, exact_total = viterbi_segments(lp, t.tokens, t.optional, band=n)
    f, e, total = viterbi_segments_long(lp, t.tokens, t.optional, window=2000)
    assert n > 3 * 2000 and s > 1000
    assert total == pytest.approx(exact_total, abs=1e-6)
    assert torch.equal(f, exact_first) and torch.equal(e, exact_end)


def test_long_viterbi_with_token_costs_equals_the_exact_search():
    """Costs on the optional tokens (as on pauses inside words): the windows pay them as the
    exact search does, and the totals compared count them."""
    t, lp, _, _, _ = planted(12_000, seed=3, sharp=1.5)
    n = lp.shape[0]
    cost = torch.where(t.optional, 3.0, 0.0).double()
    exact_first, exact_end, exact_total = viterbi_segments(lp, t.tokens, t.optional, band=n,
                                                           cost=cost)
    plain = viterbi_segments(lp, t.tokens, t.optional, band=n)
    assert not torch.equal(plain[0], exact_first)  # the costs change the path
    f, e, total = viterbi_segments_long(lp, t.tokens, t.optional, window=2000, cost=cost)
    assert total == pytest.approx(exact_total, abs=1e-6)
    assert torch.equal(f, exact_first) and torch.equal(e, exact_end)


@pytest.mark.parametrize("seed", [0, 2])
def test_long_viterbi_does_not_run_ahead_on_weak_posteriors(seed):
    """Posteriors barely above noise (the true label raised by 0.6 of a logit): windows cut
    off with no cost per token took more tokens than the file's best path (more labels to fit
    noise with) and committed that, 3600-4000 nats short of the exact optimum; with the cost
    they reach it."""
    t, lp, _, _, _ = planted(12_000, seed=seed, sharp=0.6)
    exact_first, _, exact_total = viterbi_segments(lp, t.tokens, t.optional, band=lp.shape[0])
    f, _, total = viterbi_segments_long(lp, t.tokens, t.optional, window=1600)
    assert total == pytest.approx(exact_total, abs=1e-6) and torch.equal(f, exact_first)


def test_long_viterbi_keeps_the_best_of_its_window_sizes(monkeypatch):
    """Several window sizes: each searched, the path with the best total kept (the file's
    total is what the exact search maximises)."""
    t, lp, _, _, _ = planted(12_000, seed=1, sharp=0.6)
    monkeypatch.setattr(decode, "TOKEN_COST", 0.0)  # windows that fall short, by different amounts
    single = {w: decode.viterbi_windowed(lp, t.tokens, t.optional, w) for w in (400, 1600)}
    assert single[400][2] != pytest.approx(single[1600][2])
    best = max(single.values(), key=lambda r: r[2])
    for order in ((400, 1600), (1600, 400)):  # the best, not the last or the largest
        f, e, total = viterbi_segments_long(lp, t.tokens, t.optional, window=order)
        assert total == best[2] and torch.equal(f, best[0]) and torch.equal(e, best[1])
    with pytest.raises(ValueError, match="at least one window"):
        viterbi_segments_long(lp, t.tokens, t.optional, window=())


def test_long_viterbi_memory_is_one_window(monkeypatch):
    """The DP never holds more than one window's cells, however long the input: the largest
    search on 80 000 frames is no larger than on 40 000 (and far below T x S)."""
    sizes: list[int] = []
    inner = decode._search_open_end

    def spy(log_probs, targets, optional, lo, hi, stop, cost=None):
        sizes.append(int((hi - lo + 1).sum()))
        return inner(log_probs, targets, optional, lo, hi, stop, cost)

    monkeypatch.setattr(decode, "_search_open_end", spy)
    peaks = []
    for n in (40_000, 80_000):
        t, lp, _, _, _ = planted(n, seed=4, sharp=6.0)
        sizes.clear()
        viterbi_segments_long(lp, t.tokens, t.optional, window=1000)
        peaks.append(max(sizes))
        assert max(sizes) < 0.01 * lp.shape[0] * t.tokens.numel()
    assert peaks[1] <= 1.5 * peaks[0]


def test_short_inputs_search_in_one_piece_as_before():
    t, lp, _, _, _ = planted(3000, seed=5, sharp=2.0)
    assert lp.shape[0] <= 1.5 * decode.WINDOW_FRAMES
    f, e, total = viterbi_segments_long(lp, t.tokens, t.optional)
    f0, e0, total0 = viterbi_segments(lp, t.tokens, t.optional)
    assert torch.equal(f, f0) and torch.equal(e, e0) and total == pytest.approx(total0)
    spans = align_viterbi_long(lp, t.tokens, 0.01, t.optional)
    torch.testing.assert_close(spans.start, f0.double() * 0.01)


def test_ot_cuts_prefer_pauses_and_shared_silences_are_stitched():
    # tokens: sil a sil b sil c sil; the middle silences are pauses of 30 and 40 frames.
    y = torch.tensor([1, 2, 1, 3, 1, 4, 1])
    opt = y == 1
    d = torch.tensor([0, 300, 30, 300, 40, 300, 0])
    end = torch.cumsum(d, 0)
    first = end - d
    cuts = ot_cuts(first, end, opt, segment=(200, 600, 300))
    assert cuts == [(315, 2, True), (650, 4, True)]  # middles of the two pauses
    # Ideal alpha: each token's mass spread over its frames (a 0-frame silence: on the next
    # frame). Anchored OT then gives the planted boundaries exactly: a shared silence's mass is
    # split between the two pieces by alpha on each side of the cut, never counted twice.
    beta = torch.tensor([0.5, 1, 0.5, 1, 0.5, 1, 0.5], dtype=torch.float64)
    alpha = torch.repeat_interleave(beta / d.clamp(min=1), d)
    alpha[0] += 0.5
    alpha[-1] += 0.5
    lp = torch.zeros(int(end[-1]), 5).log_softmax(-1)
    spans = align_ot_long(alpha, lp, y, beta, 1.0, opt, segment=(200, 600, 300),
                          path=(first, end))
    glob_start, glob_end = ot_boundaries(alpha, beta)
    torch.testing.assert_close(spans.start, glob_start, atol=1e-6, rtol=0)
    torch.testing.assert_close(spans.end, glob_end, atol=1e-6, rtol=0)
    planted_edges = torch.tensor([300, 330, 630, 670], dtype=torch.float64)
    torch.testing.assert_close(spans.end[1:5], planted_edges, atol=1.0, rtol=0)


def test_long_decoders_reject_bad_inputs():
    lp = torch.zeros(10, 5).log_softmax(-1)
    with pytest.raises(ValueError, match="at least one frame per non-optional token"):
        viterbi_segments_long(lp, torch.tensor([2] * 11))
    with pytest.raises(ValueError, match="optional must be"):
        viterbi_segments_long(lp, torch.tensor([2, 3]), torch.tensor([True]))
    with pytest.raises(ValueError, match="alpha must be"):
        align_ot_long(torch.ones(9), lp, torch.tensor([2, 3]))


def test_align_uses_the_long_decoders_only_beyond_long_frames(aligner, monkeypatch):
    """Short recordings keep align_ot / align_viterbi exactly; long ones get the anchored ones."""
    from conftest import speechlike

    assert LONG_FRAMES >= 6000
    calls: list[str] = []
    for name in ("align_ot", "align_viterbi", "align_ot_long", "align_viterbi_long"):
        inner = getattr(decode, name)

        def spy(*args, _inner=inner, _name=name, **kwargs):
            calls.append(_name)
            return _inner(*args, **kwargs)

        monkeypatch.setattr(decode, name, spy)
    wave = speechlike(3.0)
    text = "hello world how are you today"
    for method in ("ot", "viterbi"):
        aligner.align(wave, text, sample_rate=16000, method=method)
    assert set(calls) == {"align_ot", "align_viterbi"}
    calls.clear()
    monkeypatch.setattr(decode, "LONG_FRAMES", 100)
    for method in ("ot", "viterbi"):
        a = aligner.align(wave, text, sample_rate=16000, method=method)
        assert [w.label for w in a.words if w.label] == text.split()
    assert {"align_ot_long", "align_viterbi_long"} <= set(calls)  # (ot_long runs align_ot
    assert "align_viterbi" not in calls                            # on each piece)


@pytest.mark.parametrize("method", ["ot", "viterbi"])
def test_the_table_runs_the_long_function_beyond_long_frames(method):
    """A table entry gives, on the same input, exactly what its short function gives up to
    LONG_FRAMES frames and what its long one gives beyond."""
    t, lp, alpha, _, _ = planted(LONG_FRAMES + 600, seed=3)
    decoder = decode.DECODERS[method]
    head = slice(0, LONG_FRAMES)
    short_in = decode.DecoderInput(lp[head], t.tokens, t.optional, 0.01, alpha[head], t.beta)
    long_in = decode.DecoderInput(lp, t.tokens, t.optional, 0.01, alpha, t.beta)
    for x, fn in ((short_in, decoder.short), (long_in, decoder.long)):
        for got, want in zip(decoder(x), fn(x)):
            assert torch.equal(got, want)
    if method == "ot":
        direct = align_ot_long(alpha, lp, t.tokens, t.beta, 0.01, t.optional)
    else:
        direct = align_viterbi_long(lp, t.tokens, 0.01, t.optional)
    for got, want in zip(decoder(long_in), direct):
        assert torch.equal(got, want)


def test_align_ot_unchanged_on_short_inputs():
    """The global decoder is untouched: a short planted input gives the plain OT boundaries."""
    t, lp, alpha, _, _ = planted(2000, seed=6)
    spans = align_ot(alpha, lp, t.tokens, t.beta, frame_duration=1.0)
    start, end = ot_boundaries(alpha, t.beta)
    torch.testing.assert_close(spans.start, start)
    torch.testing.assert_close(spans.end, end)


def test_a_token_spanning_windows_pays_its_cost_once():
    """A costly optional token over many windows (a sentence gap over missing sentences): a
    window that starts inside it does not charge it again. Charged in each, the path left it
    for the next token as soon as one window's gain from staying fell under the cost."""
    n, mid = 7200, (100, 7100)
    lp = torch.full((n, 5), -1.0)
    lp[: mid[0], 2] = 0.0  # A
    lp[mid[0]: 1100, 3] = -0.5  # X, clearly better at first (500 over B stretched back)
    lp[1100: mid[1], 3] = -0.97  # ... then by 0.03 a frame: under 100 in any one window
    lp[mid[1]:, 4] = 0.0  # B
    tokens, optional = torch.tensor([2, 3, 4]), torch.tensor([False, True, False])
    cost = torch.tensor([0.0, 100.0, 0.0], dtype=torch.float64)
    exact = viterbi_segments(lp, tokens, optional, band=n, cost=cost)
    assert exact[0].tolist() == [0, 100, 7100]  # worth its cost once
    f, e, total = viterbi_segments_long(lp, tokens, optional, window=2000, cost=cost)
    assert total == pytest.approx(exact[2], abs=1e-6)
    assert f.tolist() == [0, 100, 7100] and e.tolist() == [100, 7100, n]
