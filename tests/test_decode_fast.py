"""The numpy Viterbi search (aligner/decode.py) and variant scoring (aligner/align.py) give the
same results as the torch code they replaced, with bands, optional tokens, open ends and long
windows (the torch scans). The search sums a token's frames as a difference of per-class
running sums, the reference from the token's first frame: on log-probs whose sums are exact
(a binary grid: ties are common) the segmentations, the totals and the tie-breaking are the
same bit for bit; on others the totals agree up to float64 rounding, which may break an exact
tie (two tokens of one class side by side) the other way, so there the path is checked to be an
optimum: valid, and scoring the reference's total."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aligner import decode
from aligner.decode import viterbi_segments, viterbi_segments_long
from aligner.decode_reference import (brute_force, ref_search_open_end, ref_segment_score,
                                      ref_viterbi_segments)

torch.set_num_threads(1)


def assert_same(a, b) -> None:
    """Same segmentation (int64 tensors) and the same total, bit for bit."""
    assert a[0].dtype == b[0].dtype == torch.int64 and a[1].dtype == b[1].dtype == torch.int64
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
    assert isinstance(b[2], float) and a[2] == b[2]


def assert_optimal_as(ref, new, lp, y, opt, on_grid: bool) -> None:
    """`new` (first, end, total) is `ref` bit for bit when the log-probs lie on a binary grid
    (`on_grid`); otherwise an equally good path: contiguous, every required token given a
    frame, and its frames' log-probs sum to the reference's total (up to rounding)."""
    if on_grid:
        assert_same(ref, new)
        return
    first, end, total = new
    assert first.dtype == end.dtype == torch.int64 and isinstance(total, float)
    assert total == pytest.approx(ref[2], rel=1e-12, abs=1e-12)
    assert first[0] == ref[0][0] and end[-1] == ref[1][-1] and torch.equal(first[1:], end[:-1])
    assert ((end - first)[~opt] >= 1).all()
    rescored = sum(float(lp[first[j]: end[j], y[j]].double().sum()) for j in range(y.numel()))
    assert rescored == pytest.approx(total, rel=1e-12, abs=1e-9)


# ------------------------------------------------------------------------------- inputs

@st.composite
def problems(draw, max_frames: int = 24, max_tokens: int = 10):
    """Random (log_probs, targets, optional): float32 or float64; often coarsely rounded
    log-probs, so that equal scores (ties) are common and the tie rule is exercised."""
    n_classes = draw(st.integers(1, 5))
    n_tok = draw(st.integers(1, max_tokens))
    optional = torch.tensor(draw(st.lists(st.booleans(), min_size=n_tok, max_size=n_tok)))
    n_req = int((~optional).sum())
    n_frames = draw(st.integers(max(1, n_req), max(max_frames, n_req)))
    seed = draw(st.integers(0, 2**31 - 1))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    g = torch.Generator().manual_seed(seed)
    lp = torch.randn(n_frames, n_classes, generator=g, dtype=torch.float64).log_softmax(-1)
    on_grid = draw(st.booleans())
    if on_grid:
        lp = torch.round(lp * 2) / 2  # many exact ties, and exact sums
    targets = torch.randint(0, n_classes, (n_tok,), generator=g)
    return lp.to(dtype), targets, optional, on_grid


# -------------------------------------------------------------------------------- tests

@settings(max_examples=150, deadline=None)
@given(problems())
def test_exact_search_equals_the_torch_reference(problem):
    lp, y, opt, on_grid = problem
    assert_optimal_as(ref_viterbi_segments(lp, y, opt), viterbi_segments(lp, y, opt), lp, y, opt,
                      on_grid)


@settings(max_examples=150, deadline=None)
@given(problems(), st.integers(1, 6), st.booleans(), st.integers(0, 2**31 - 1))
def test_banded_search_equals_the_torch_reference(problem, band, own_centre, seed):
    """Bands (also too narrow ones, widened) around the diagonal or an arbitrary, even
    non-monotone centre: windows that start before the previous token's window."""
    lp, y, opt, on_grid = problem
    centre = None
    if own_centre:
        g = torch.Generator().manual_seed(seed)
        centre = torch.rand(y.numel(), generator=g, dtype=torch.float64) * lp.shape[0]
    assert_optimal_as(ref_viterbi_segments(lp, y, opt, band, centre),
                      viterbi_segments(lp, y, opt, band, centre), lp, y, opt, on_grid)


@settings(max_examples=150, deadline=None)
@given(problems(), st.data())
def test_open_end_search_equals_the_torch_reference(problem, data):
    lp, y, opt, on_grid = problem
    n_frames = lp.shape[0]
    stop = data.draw(st.integers(1, n_frames))
    req = (~opt).long()
    lo = torch.cumsum(req, 0)
    hi = torch.clamp(n_frames - (req.sum() - torch.cumsum(req, 0)), max=stop)
    lo = torch.minimum(lo, hi)
    args = (y, opt, lo, hi, stop)
    new = decode._search_open_end(decode._class_cumsums(lp[:stop]), *args)
    ref = ref_search_open_end(lp[:stop], *args)
    if on_grid or new is None or ref is None:
        assert new == ref
        return

    def score(first: list[int], end: list[int], last: int) -> float:  # what the search ranks
        return (sum(float(lp[f: e, y[j]].double().sum()) for j, (f, e) in enumerate(zip(first, end)))
                - decode.TOKEN_COST * last)

    assert score(*new) == pytest.approx(score(*ref), rel=1e-12, abs=1e-9)  # equally good


@settings(max_examples=80, deadline=None)
@given(problems(max_frames=7, max_tokens=5))
def test_total_is_the_brute_force_optimum_and_the_path_scores_it(problem):
    lp, y, opt, _ = problem
    first, end, total = viterbi_segments(lp, y, opt)
    assert total == pytest.approx(brute_force(lp, y.tolist(), opt.tolist()), abs=1e-9)
    assert first[0] == 0 and end[-1] == lp.shape[0] and torch.equal(first[1:], end[:-1])
    assert ((end - first)[~opt] >= 1).all()
    rescored = sum(float(lp[first[j] : end[j], y[j]].double().sum()) for j in range(y.numel()))
    assert rescored == pytest.approx(total, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_long_windows_use_the_torch_scans_and_agree(seed):
    """Windows of >= _TORCH_SCAN boundaries take the torch running maximum."""
    g = torch.Generator().manual_seed(seed)
    t, s = 1500, 220
    lp = torch.randn(t, 41, generator=g).log_softmax(-1)
    if seed:
        lp = torch.round(lp * 4) / 4
    y = torch.randint(1, 41, (s,), generator=g)
    opt = torch.rand(s, generator=g) < 0.3
    y[opt] = 1
    assert t - s > decode._TORCH_SCAN
    for band in (None, 30):
        assert_optimal_as(ref_viterbi_segments(lp, y, opt, band), viterbi_segments(lp, y, opt, band),
                          lp, y, opt, on_grid=bool(seed))


def test_long_decoder_unchanged(monkeypatch):
    """viterbi_segments_long (open-end windows, then one exact search of the rest) gives the
    same with the reference searches swapped in (log-probs on a grid: exact sums, the same ties)."""
    g = torch.Generator().manual_seed(3)
    t, s = 2600, 400
    lp = torch.round(torch.randn(t, 41, generator=g).log_softmax(-1) * 4) / 4
    y = torch.randint(1, 41, (s,), generator=g)
    opt = torch.rand(s, generator=g) < 0.3
    y[opt] = 1
    new = viterbi_segments_long(lp, y, opt, window=800)
    monkeypatch.setattr(decode, "_class_cumsums", lambda lp: lp)  # the window's log-probs
    monkeypatch.setattr(decode, "_search_open_end", ref_search_open_end)
    monkeypatch.setattr(decode, "viterbi_segments", ref_viterbi_segments)
    assert_same(viterbi_segments_long(lp, y, opt, window=800), new)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_and_grad_inputs(dtype):
    """Half-precision posteriors (widened to float64) and tensors that require grad (training
    calls the decoder on the model's output) decode as before."""
    g = torch.Generator().manual_seed(4)
    lp = torch.randn(40, 6, generator=g).log_softmax(-1).to(dtype).requires_grad_()
    y = torch.randint(0, 6, (9,), generator=g)
    opt = torch.zeros(9, dtype=torch.bool)
    opt[::3] = True
    assert_same(ref_viterbi_segments(lp.detach(), y, opt), viterbi_segments(lp, y, opt))


# ------------------------------------------------------------ variant scoring (align.py)

@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.lists(st.integers(0, 4), min_size=1, max_size=7),
       st.integers(0, 2**31 - 1), st.booleans(), st.booleans())
def test_segment_score_equals_the_previous_code(n, ids, seed, single, rounded):
    from aligner.align import _segment_score

    lp = np.log(np.random.default_rng(seed).dirichlet(np.ones(5), size=n))
    if rounded:
        lp = np.round(lp)
    lp = lp.astype(np.float32 if single else np.float64)
    # the reference predates the optional pause between a reading's words (silence, id 1, after
    # the first phone; tests/test_align.py's brute force covers it): phones only there
    ids = ids[:1] + [2 if i == 1 else i for i in ids[1:]]
    assert _segment_score(lp, ids) == ref_segment_score(lp, ids)


def test_choose_variants_scores_each_word_on_its_own_frames():
    """Two ambiguous words separated by silences (token_word -1): each word's variants are
    scored on the frames of that word's first..last token only."""
    from aligner.align import choose_variants
    from aligner.decode import TokenSpans
    from aligner.text.frontend import Word
    from aligner.text.phones import PHONE_TO_ID

    lp = np.full((40, 41), np.log(0.01 / 40), dtype=np.float32)
    lp[0:5, 1] = lp[35:40, 1] = lp[18:22, 1] = np.log(0.99)  # silences
    lp[5:10, PHONE_TO_ID["DH"]] = np.log(0.99)
    lp[10:18, PHONE_TO_ID["IY"]] = np.log(0.99)  # the 1st "the": DH IY
    lp[22:28, PHONE_TO_ID["DH"]] = np.log(0.99)
    lp[28:35, PHONE_TO_ID["AH"]] = np.log(0.99)  # the 2nd "the": DH AH
    words = [Word("the", [["DH", "AH0"], ["DH", "IY0"]], False, ["the"]),
             Word("the", [["DH", "IY0"], ["DH", "AH0"]], False, ["the"])]
    # Tokens: sil DH AH sil DH IY sil (the first alignment used each word's first variant).
    bounds = [0, 5, 10, 18, 22, 28, 35, 40]
    spans = TokenSpans(torch.tensor(bounds[:-1], dtype=torch.float64) * 0.01,
                       torch.tensor(bounds[1:], dtype=torch.float64) * 0.01, torch.ones(7))
    token_word = torch.tensor([-1, 0, 0, -1, 1, 1, -1])
    assert choose_variants(lp, words, spans, token_word, 0.01) == [["DH", "IY0"], ["DH", "AH0"]]


def test_minus_infinity_and_nan_log_probs_give_a_path_quietly():
    """-inf or NaN log-probs (a model broken by adapting) made every later running sum of their
    class -inf and the search's differences NaN, with numpy's warnings printed: they count as
    LOG_FLOOR, so the path is whole and goes round them where it can."""
    import warnings

    g = torch.Generator().manual_seed(5)
    lp = torch.randn(30, 4, generator=g).log_softmax(-1)
    lp[5:8, 2] = float("-inf")
    lp[20, 3] = float("nan")
    y = torch.tensor([1, 2, 3, 2, 1])
    opt = torch.tensor([True, False, False, False, True])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first, end, total = viterbi_segments(lp, y, opt)
    assert first[0] == 0 and end[-1] == 30 and torch.equal(first[1:], end[:-1])
    assert ((end - first)[~opt] >= 1).all()
    frames = [t for j in range(5) for t in range(int(first[j]), int(end[j])) if int(y[j]) == 2]
    assert not set(frames) & {5, 6, 7}  # class 2 never takes its impossible frames
    assert total > decode.LOG_FLOOR  # and nothing else does either
