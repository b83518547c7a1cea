"""Tests of the alignment decoders (ot, viterbi) and the token confidence."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aligner.decode import (
    DecoderInput,
    align_ot,
    align_viterbi,
    best_totals,
    ot_boundaries,
    token_confidence,
    viterbi_respliced,
    viterbi_segments,
)
from aligner.decode_reference import brute_force
from aligner.ottc import transport_plan
from conftest import FUZZ, extreme_masses, normalised

torch.set_num_threads(1)


def test_ot_boundaries_interpolate_inside_frames():
    alpha = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    beta = torch.tensor([0.35, 0.65], dtype=torch.float64)
    start, end = ot_boundaries(alpha, beta)
    # A crosses 0.35 in frame 1, half-way: (0.35 - 0.2) / 0.3 = 0.5.
    torch.testing.assert_close(start, torch.tensor([0.0, 1.5], dtype=torch.float64))
    torch.testing.assert_close(end, torch.tensor([1.5, 3.0], dtype=torch.float64))
    spans = align_ot(alpha, torch.zeros(3, 2).log_softmax(-1), torch.tensor([0, 1]), beta,
                     frame_duration=0.01)
    torch.testing.assert_close(spans.start, torch.tensor([0.0, 0.015], dtype=torch.float64))


def test_ot_dropped_frames_go_to_no_token_and_more_tokens_than_frames():
    alpha = torch.tensor([0.5, 0.0, 0.0, 0.5], dtype=torch.float64)
    start, end = ot_boundaries(alpha, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert end[0] == 1.0 and start[1] == 3.0  # frames 1, 2 (weight 0) lie in the gap
    # 2 frames, 5 tokens: several tokens share a frame, spans are ordered and finite.
    s, e = ot_boundaries(torch.tensor([0.5, 0.5]), torch.full((5,), 0.2))
    torch.testing.assert_close(s, torch.tensor([0.0, 0.4, 0.8, 1.2, 1.6], dtype=torch.float64))
    torch.testing.assert_close(e, torch.tensor([0.4, 0.8, 1.2, 1.6, 2.0], dtype=torch.float64))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 30), m=st.integers(1, 30), data=st.data())
def test_property_ot_spans_are_ordered_and_cover_the_mass(n, m, data):
    a = data.draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-9, 1e3)), min_size=n, max_size=n))
    b = data.draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e3)), min_size=m, max_size=m))
    if sum(a) == 0:
        a[-1] = 1.0
    if sum(b) == 0:
        b[0] = 1.0
    alpha, beta = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    start, end = ot_boundaries(alpha, beta)
    assert torch.isfinite(start).all() and torch.isfinite(end).all()
    assert (start >= 0).all() and (end <= n).all() and (end >= start).all()
    assert (start[1:] >= end[:-1] - 1e-9).all()  # tokens never overlap in time
    # The weight of alpha inside [start_j, end_j] (piecewise linear) equals beta_j.
    cum = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(alpha / alpha.sum(), 0)])

    def a_at(x: torch.Tensor) -> torch.Tensor:
        i = torch.floor(x).long().clamp(max=n - 1)
        return cum[i] + (x - i) * (cum[i + 1] - cum[i])

    torch.testing.assert_close(a_at(end) - a_at(start), beta / beta.sum(), atol=1e-9, rtol=0)


def test_ot_confidence_is_geometric_mean_over_the_plan():
    g = torch.Generator().manual_seed(0)
    lp = torch.randn(6, 4, generator=g).log_softmax(-1)
    alpha = torch.softmax(torch.randn(6, generator=g), 0)
    y = torch.tensor([2, 0, 3])
    spans = align_ot(alpha, lp, y)
    frame, token, mass = transport_plan(alpha.double(), torch.full((3,), 1 / 3, dtype=torch.float64))
    for j in range(3):
        sel = token == j
        expected = math.exp(float((mass[sel] * lp[frame[sel], y[j]].double()).sum()) * 3)
        assert math.isclose(float(spans.confidence[j]), expected, rel_tol=1e-9)
    assert ((spans.confidence > 0) & (spans.confidence <= 1)).all()


def test_token_confidence_fallback_for_tokens_without_weight():
    lp = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    conf = token_confidence(lp, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([0, 0]),
                            torch.ones(2), fallback_frame=torch.tensor([0, 1]))
    torch.testing.assert_close(conf, torch.tensor([math.sqrt(0.5 * 0.25), 0.75], dtype=torch.float64))


def _small_problem(g: torch.Generator, optional_share: float):
    """Random posteriors [T, 4] (T 1-7), tokens and optional flags [S] (S 1-5)."""
    t = int(torch.randint(1, 8, (), generator=g))
    s = int(torch.randint(1, 6, (), generator=g))
    lp = torch.randn(t, 4, generator=g, dtype=torch.float64).log_softmax(-1)
    y = torch.randint(0, 4, (s,), generator=g)
    return t, s, lp, y, torch.rand(s, generator=g) < optional_share


def test_viterbi_matches_brute_force_with_optional_tokens():
    g = torch.Generator().manual_seed(1)
    for _ in range(120):
        t, s, lp, y, opt = _small_problem(g, 0.4)
        if t < int((~opt).sum()):
            with pytest.raises(ValueError, match="at least one frame per non-optional token"):
                viterbi_segments(lp, y, opt)
            continue
        first, end, total = viterbi_segments(lp, y, opt)
        assert math.isclose(total, brute_force(lp, y.tolist(), opt.tolist()), abs_tol=1e-6)
        assert first[0] == 0 and end[-1] == t and torch.equal(first[1:], end[:-1])
        lengths = end - first
        assert (lengths[~opt] >= 1).all() and (lengths >= 0).all()
        rescored = sum(float(lp[first[j] : end[j], y[j]].sum()) for j in range(s))
        assert math.isclose(rescored, total, abs_tol=1e-6)


def test_viterbi_with_token_costs_is_the_brute_force_optimum():
    """A token's cost is paid when it takes frames and not when an optional one is skipped (a
    pause inside a word): the total is the brute-force optimum with the costs, the path pays
    exactly the costs of the tokens it gives frames, and a large enough cost keeps an optional
    token out of the path."""
    g = torch.Generator().manual_seed(3)
    checked = 0
    for _ in range(150):
        t, s, lp, y, opt = _small_problem(g, 0.5)
        cost = torch.rand(s, generator=g, dtype=torch.float64) * 4
        cost *= torch.rand(s, generator=g) < 0.6  # some tokens cost nothing
        if t < int((~opt).sum()):
            continue
        first, end, total = viterbi_segments(lp, y, opt, cost=cost)
        assert math.isclose(total, brute_force(lp, y.tolist(), opt.tolist(), cost.tolist()),
                            abs_tol=1e-6)
        used = (end - first) > 0
        rescored = (sum(float(lp[first[j]: end[j], y[j]].sum()) for j in range(s))
                    - float(cost[used].sum()))
        assert math.isclose(rescored, total, abs_tol=1e-6)
        [again] = best_totals(lp, [(y, opt, cost)])
        assert math.isclose(again, total, abs_tol=1e-6)
        checked += 1
        if bool(opt.any()) and bool((~opt).any()):  # a required token takes what they leave
            high = torch.where(opt, torch.full_like(cost, 1e3), cost)
            first, end, _ = viterbi_segments(lp, y, opt, cost=high)
            assert ((end - first)[opt] == 0).all()
    assert checked > 100


def test_best_totals_are_the_brute_force_optimum_of_each_sequence_over_the_same_frames():
    """Several token sequences over one set of frames, as `word_evidence` compares them: each
    total is the exact optimum; too few frames for a sequence gives -inf, not an error."""
    g = torch.Generator().manual_seed(2)
    for _ in range(60):
        t = int(torch.randint(1, 8, (), generator=g))
        lp = torch.randn(t, 4, generator=g, dtype=torch.float64).log_softmax(-1)
        sequences = []
        for _ in range(3):
            s = int(torch.randint(1, 6, (), generator=g))
            sequences.append((torch.randint(0, 4, (s,), generator=g),
                              torch.rand(s, generator=g) < 0.4))
        for total, (y, opt) in zip(best_totals(lp, sequences), sequences):
            if t < int((~opt).sum()):
                assert total == -math.inf
            else:
                assert math.isclose(total, brute_force(lp, y.tolist(), opt.tolist()),
                                    abs_tol=1e-6)


def test_viterbi_recovers_a_planted_segmentation_exact_and_banded():
    g = torch.Generator().manual_seed(2)
    t, s, c = 400, 60, 20
    bounds = torch.sort(torch.randperm(t - 1, generator=g)[: s - 1] + 1).values
    lengths = torch.diff(torch.cat([torch.tensor([0]), bounds, torch.tensor([t])]))
    y = torch.randint(0, c, (s,), generator=g)
    y[1:][y[1:] == y[:-1]] = (y[:-1][y[1:] == y[:-1]] + 1) % c  # neighbours differ
    truth = torch.repeat_interleave(y, lengths)
    logits = torch.randn(t, c, generator=g)
    logits[torch.arange(t), truth] += 6.0
    lp = logits.log_softmax(-1)
    exact = align_viterbi(lp, y)
    expected_start = torch.cat([torch.tensor([0]), bounds]).double() * 0.01
    torch.testing.assert_close(exact.start, expected_start)
    # A band around the true boundaries (as the OT path would give) finds the same path.
    alpha = torch.full((t,), 1.0 / t)
    beta = lengths.double() / t
    banded = align_viterbi(lp, y, band=3, alpha=alpha, beta=beta)
    torch.testing.assert_close(banded.start, exact.start)
    assert ((exact.confidence > 0) & (exact.confidence <= 1)).all()
    # a caller that scores the tokens itself gets the same path and no confidences
    unscored = align_viterbi(lp, y, scored=False)
    assert torch.equal(unscored.start, exact.start) and torch.equal(unscored.end, exact.end)
    assert unscored.confidence.isnan().all()


GAP = 11  # a sentence gap's wildcard in these tests: an optional word


def _word_tokens(words: list[list[int]]):
    """Tokens `sil w0 sil w1 ... sil` (the silences optional, class 0) of words' phones, and
    each token's word (-1 between words); a word [GAP] is optional, as a sentence gap."""
    tokens, word = [0], [-1]
    for k, phones in enumerate(words):
        tokens += phones + [0]
        word += [k] * len(phones) + [-1]
    y = torch.tensor(tokens)
    return y, torch.tensor(word), (y == 0) | (y == GAP)


def _planted(g: torch.Generator, y: torch.Tensor, frames: int, c: int = 12) -> torch.Tensor:
    """Posteriors [frames, c] favouring a random segmentation of the tokens `y`."""
    bounds = torch.sort(torch.randperm(frames - 1, generator=g)[: len(y) - 1] + 1).values
    lengths = torch.diff(torch.cat([torch.tensor([0]), bounds, torch.tensor([frames])]))
    logits = torch.randn(frames, c, generator=g)
    logits[torch.arange(frames), torch.repeat_interleave(y, lengths)] += 3.0
    return logits.log_softmax(-1)


def test_a_changed_pronunciation_is_searched_again_only_around_its_word():
    g = torch.Generator().manual_seed(5)
    old_words = [[1, 2], [3, 4, 5], [6], [7, 8], [9, 10, 11], [2, 3]]
    new_words = [*old_words[:3], [7, 11, 8], *old_words[4:]]  # word 3 read another way
    old_y, old_word, old_opt = _word_tokens(old_words)
    lp = _planted(g, old_y, 120)
    first, end, _ = viterbi_segments(lp, old_y, old_opt)
    new_y, new_word, new_opt = _word_tokens(new_words)
    x = DecoderInput(lp, new_y, new_opt, 0.01)
    got = viterbi_respliced(x, new_word.numpy(), (first.numpy(), end.numpy()), old_y.numpy(),
                            old_word.numpy(), [3])
    full_first, full_end, best = viterbi_segments(lp, new_y, new_opt)
    start, stop = (got.start / 0.01).round().long(), (got.end / 0.01).round().long()
    # a path: every frame once, in order, a frame at least for each phone
    assert start[0] == 0 and stop[-1] == 120 and torch.equal(start[1:], stop[:-1])
    assert ((stop - start)[~new_opt] >= 1).all()
    # words 0-1 and 5 and the silences beside them keep their frames; words 2-4 are searched
    # again over the frames they held, and the full search finds the same path
    before = int(((new_word >= 0) & (new_word <= 1)).nonzero().max()) + 2
    assert torch.equal(start[:before], first[:before])
    assert torch.equal(start[-4:], first[-4:]) and torch.equal(stop[-4:], end[-4:])
    assert not torch.equal(start[before:-4], first[before:-3])  # word 3 did move
    assert torch.equal(start, full_first) and torch.equal(stop, full_end)
    total = sum(float(lp[a:b, k].sum()) for a, b, k in zip(start, stop, new_y))
    assert math.isclose(total, best, abs_tol=1e-6)
    assert got.confidence.gt(0).all()  # scored, as asked


def test_a_changed_first_or_last_word_may_move_into_the_pauses_at_the_ends():
    # the acoustics say [1 2] [3 4] [5 6]; the first path read [2] [3 4] [5], and gave the
    # frames of the unread 1 to the first pause and those of 6 to the last (silence is likelier
    # there than 2 or 5): the new pronunciations must be free to take them back
    new_y, new_word, new_opt = _word_tokens([[1, 2], [3, 4], [5, 6]])
    old_y, old_word, old_opt = _word_tokens([[2], [3, 4], [5]])
    truth = [(0, 0, 2), (1, 2, 12), (2, 12, 20), (0, 20, 22), (3, 22, 28), (4, 28, 34),
             (0, 34, 36), (5, 36, 42), (6, 42, 52), (0, 52, 55)]
    logits = 0.3 * torch.randn(55, 12, generator=torch.Generator().manual_seed(7))
    for k, a, b in truth:
        logits[a:b, k] += 3.0
        if k in (1, 6):
            logits[a:b, 0] += 1.5
    lp = logits.log_softmax(-1)
    first, end, _ = viterbi_segments(lp, old_y, old_opt)
    assert first[1] == 12 and end[-2] == 42  # the first path as described
    got = viterbi_respliced(DecoderInput(lp, new_y, new_opt, 0.01), new_word.numpy(),
                            (first.numpy(), end.numpy()), old_y.numpy(), old_word.numpy(),
                            [0, 2])
    full_first, full_end, _ = viterbi_segments(lp, new_y, new_opt)
    assert full_first[1] == 2 and full_end[-2] == 52
    assert torch.equal((got.start / 0.01).round().long(), full_first)
    assert torch.equal((got.end / 0.01).round().long(), full_end)


def test_a_changed_word_between_sentence_gaps_is_searched_with_the_words_beyond_them():
    # "one. eighteen. five." with gaps between the sentences, taking no frames: 18 is read
    # [3 4 6] where the first path read [3 4] and gave 6's frames to the next word, beyond a gap
    new_y, new_word, new_opt = _word_tokens([[1, 2], [GAP], [3, 4, 6], [GAP], [5]])
    old_y, old_word, old_opt = _word_tokens([[1, 2], [GAP], [3, 4], [GAP], [5]])
    truth = [(0, 0, 2), (1, 2, 6), (2, 6, 10), (0, 10, 12), (3, 12, 18), (4, 18, 24),
             (6, 24, 30), (0, 30, 32), (5, 32, 40), (0, 40, 42)]
    logits = 0.3 * torch.randn(42, 12, generator=torch.Generator().manual_seed(8))
    for k, a, b in truth:
        logits[a:b, k] += 3.0
        if k == 6:
            logits[a:b, 5] += 2.0
    lp = logits.log_softmax(-1)
    first, end, _ = viterbi_segments(lp, old_y, old_opt)
    assert first[-2] == 24  # the first path gave 6's frames to the last word
    got = viterbi_respliced(DecoderInput(lp, new_y, new_opt, 0.01), new_word.numpy(),
                            (first.numpy(), end.numpy()), old_y.numpy(), old_word.numpy(), [2])
    full_first, full_end, _ = viterbi_segments(lp, new_y, new_opt)
    assert full_first[-2] == 32
    assert torch.equal((got.start / 0.01).round().long(), full_first)
    assert torch.equal((got.end / 0.01).round().long(), full_end)


def test_a_respliced_search_gives_way_to_a_full_one_when_it_cannot_hold():
    g = torch.Generator().manual_seed(6)
    old_y, old_word, old_opt = _word_tokens([[1, 2], [3], [4, 5]])
    lp = _planted(g, old_y, 9)
    first, end, _ = viterbi_segments(lp, old_y, old_opt)

    def respliced(words, changed):
        y, word, opt = _word_tokens(words)
        return viterbi_respliced(DecoderInput(lp, y, opt, 0.01), word.numpy(),
                                 (first.numpy(), end.numpy()), old_y.numpy(), old_word.numpy(),
                                 changed)

    assert respliced([[1, 2], [3, 6], [4, 5]], [1]) is not None
    # the words 0-2 held all nine frames: thirteen phones cannot share them
    assert respliced([[1, 2], [3, 6, 7, 8, 9, 10, 11, 1, 2], [4, 5]], [1]) is None
    # word 0 differs too, but only word 2 is said to have changed: not the same tokens
    assert respliced([[2, 1], [3], [4, 6]], [2]) is None


def test_viterbi_band_too_narrow_widens_until_feasible():
    lp = torch.zeros(50, 3).log_softmax(-1)
    y = torch.tensor([0, 1, 2, 0, 1])
    # Every boundary centred at frame 0: infeasible for band 1, widened automatically.
    first, end, _ = viterbi_segments(lp, y, band=1, centre=torch.zeros(5))
    assert end[-1] == 50 and ((end - first) >= 1).all()


def test_viterbi_optional_silence_takes_no_frames_when_absent():
    # Frames: phone 2 x3 then phone 3 x3; sil (class 1) optional between and around.
    p = torch.full((6, 4), 0.02)
    p[:3, 2] = 0.94
    p[3:, 3] = 0.94
    lp = p.log()
    y = torch.tensor([1, 2, 1, 3, 1])
    opt = torch.tensor([True, False, True, False, True])
    spans = align_viterbi(lp, y, optional=opt)
    torch.testing.assert_close(spans.start, torch.tensor([0, 0, 3, 3, 6], dtype=torch.float64) * 0.01)
    torch.testing.assert_close(spans.end, torch.tensor([0, 3, 3, 6, 6], dtype=torch.float64) * 0.01)
    with pytest.raises(ValueError, match="2 frames for 3 tokens"):
        align_viterbi(lp[:2], torch.tensor([2, 3, 2]))


def test_refine_boundaries_moves_to_the_posterior_crossing():
    from aligner.decode import refine_boundaries

    n = 8
    lp = torch.full((n, 4), -5.0, dtype=torch.float64)
    lp[:4, 2] = -0.1  # token class 2 for frames 0-3, class 3 after
    lp[4:, 3] = -0.1
    lp[3, 3] = -0.1 - 1.0  # at frame 3: d = log p(3) - log p(2) = -1.0
    lp[4, 2] = -0.1 - 3.0  # at frame 4: d = +3.0 -> crossing a quarter of a frame after frame 3's centre
    tokens = torch.tensor([2, 3])
    start, end = torch.tensor([0.0, 0.04]), torch.tensor([0.04, 0.08])
    s, e = refine_boundaries(lp, tokens, start, end, 0.01)
    assert float(e[0]) == pytest.approx(0.01 * (3.5 + 0.25)) and float(s[1]) == float(e[0])
    assert float(s[0]) == 0.0 and float(e[1]) == pytest.approx(0.08)  # the outer edges stay
    # the next token already wins at the last frame before the boundary: half a frame earlier
    lp[3, 3] = 0.0
    s, e = refine_boundaries(lp, tokens, start, end, 0.01)
    assert float(e[0]) == pytest.approx(0.035)
    # a one-frame token keeps its edges
    s, e = refine_boundaries(lp, tokens, torch.tensor([0.0, 0.07]), torch.tensor([0.07, 0.08]), 0.01)
    assert float(e[0]) == pytest.approx(0.07)


def test_refine_boundaries_of_a_broken_models_minus_infinity_stay_on_the_grid_quietly():
    """A model wrecked by adapting at a huge rate gives -inf log-posteriors: the difference at
    a boundary is then NaN, which must neither move it nor print numpy's warning to the user."""
    import warnings

    from aligner.decode import refine_boundaries

    lp = torch.full((8, 4), float("-inf"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, e = refine_boundaries(lp, torch.tensor([2, 3]), torch.tensor([0.0, 0.04]),
                                 torch.tensor([0.04, 0.08]), 0.01)
    assert float(e[0]) == float(s[1]) == pytest.approx(0.04)


def test_the_decoder_table_names_every_method_and_what_it_needs():
    """One table: the default is in it, a CTC model (no frame weights) gets the methods that
    need none, and a method a model cannot use is a one-line error naming the choices."""
    from aligner.decode import DECODERS, DEFAULT_METHOD, decoder_for, supported_methods
    from aligner.model import ModelConfig

    assert DEFAULT_METHOD in DECODERS and set(DECODERS) == {"ot", "viterbi"}
    assert DECODERS["ot"].needs_weights and not DECODERS["ot"].on_grid
    assert DECODERS["viterbi"].on_grid and not DECODERS["viterbi"].needs_weights
    ottc, ctc = ModelConfig(), ModelConfig(loss="ctc")
    assert supported_methods(ottc) == tuple(DECODERS)
    assert supported_methods(ctc) == ("viterbi",)
    assert decoder_for("ot", ottc) is DECODERS["ot"]
    with pytest.raises(ValueError, match=r"unknown .* 'magic' \(choose from ot, viterbi\)"):
        decoder_for("magic", ottc)
    with pytest.raises(ValueError, match="this CTC model supports viterbi"):
        decoder_for("ot", ctc)


@FUZZ
@given(a=extreme_masses(1, 80), b=extreme_masses(1, 50), seed=st.integers(0, 2 ** 16),
       sharp=st.sampled_from([0.1, 1.0, 50.0]))
def test_align_ot_spans_are_finite_and_monotone(a, b, seed, sharp):
    gen = torch.Generator().manual_seed(seed)
    t, s, c = len(a), len(b), 41
    alpha, beta = normalised(a), normalised(b)
    log_probs = torch.log_softmax(sharp * torch.randn(t, c, generator=gen), dim=-1)
    targets = torch.randint(1, c, (s,), generator=gen)
    spans = align_ot(alpha, log_probs, targets, beta, frame_duration=0.01)
    start, end, conf = spans.start, spans.end, spans.confidence
    assert start.shape == end.shape == conf.shape == (s,)
    for x in (start, end, conf):
        assert torch.isfinite(x).all()
    assert (start >= -1e-12).all() and (end <= t * 0.01 + 1e-9).all()
    assert (end >= start - 1e-12).all()
    assert (start[1:] >= end[:-1] - 1e-9).all()  # tokens in order, never overlapping
    assert (conf > 0).all() and (conf <= 1).all()


def test_a_pause_split_between_two_silences_is_refined_as_one():
    """Around a wildcard that took no time (`sil <star> sil`, a sentence gap) the path may give
    a pause's last frame to the second silence alone: the boundary after it is refined as if the
    pause were one token, and the boundary between the two silences is no boundary to move."""
    from aligner.decode import refine_boundaries
    from aligner.text.phones import SILENCE_ID

    lp = torch.full((8, 4), -5.0, dtype=torch.float64)
    lp[:4, SILENCE_ID], lp[4:, 2] = -0.1, -0.1
    lp[3, 2], lp[4, SILENCE_ID] = -1.1, -3.1  # the crossing a quarter frame after frame 3's centre
    whole = refine_boundaries(lp, torch.tensor([SILENCE_ID, 2]), torch.tensor([0.0, 0.04]),
                              torch.tensor([0.04, 0.08]), 0.01)
    split = refine_boundaries(lp, torch.tensor([SILENCE_ID, 3, SILENCE_ID, 2]),
                              torch.tensor([0.0, 0.03, 0.03, 0.04]),
                              torch.tensor([0.03, 0.03, 0.04, 0.08]), 0.01)
    assert float(whole[1][0]) == pytest.approx(0.0375)
    assert float(split[1][2]) == float(split[0][3]) == pytest.approx(0.0375)
    assert float(split[1][0]) == float(split[0][2]) == pytest.approx(0.03)  # left as it was
