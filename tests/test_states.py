"""Sub-phonetic states: target expansion, span merging, phone posteriors, splitting a one-state
model, and models with states through config checks, the aligner and training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from aligner.states import expand_targets, merge_spans, phone_log_probs, span_confidence, state_ids
from aligner.targets import build_targets


def test_state_ids_are_ordered_and_leave_blank_and_silence_alone():
    assert state_ids(0, 3) == [0] and state_ids(1, 3) == [1]
    assert state_ids(2, 3) == [2, 3, 4]
    assert state_ids(5, 3) == [11, 12, 13]  # 2 + (5 - 2) * 3
    assert state_ids(5, 1) == [5]


def test_expand_targets_splits_each_phone_and_its_mass():
    t = build_targets([[2, 5], [7]], sil_mass=0.5)
    e, first, last = expand_targets(t, 3)
    assert e.tokens.tolist() == [1, 2, 3, 4, 11, 12, 13, 1, 17, 18, 19, 1]
    assert float(e.beta.sum()) == pytest.approx(1.0)
    # Each phone's mass is shared equally by its states; silences keep theirs.
    for j in range(t.tokens.numel()):
        assert float(e.beta[first[j]: last[j] + 1].sum()) == pytest.approx(float(t.beta[j]))
    assert torch.equal(e.word[first], t.word) and torch.equal(e.word[last], t.word)
    assert e.optional.tolist() == [True] + [False] * 6 + [True] + [False] * 3 + [True]
    assert first.tolist() == [0, 1, 4, 7, 8, 11] and last.tolist() == [0, 3, 6, 7, 10, 11]
    # The vectorised expansion agrees with the one-phone reference layout, token by token.
    assert e.tokens.tolist() == [i for tok in t.tokens.tolist() for i in state_ids(tok, 3)]


def test_one_state_expansion_is_the_identity():
    t = build_targets([[2, 5], [7]], sil_mass=0.2)
    e, first, last = expand_targets(t, 1)
    assert torch.equal(e.tokens, t.tokens) and torch.equal(e.beta, t.beta)
    assert torch.equal(first, last) and first.tolist() == list(range(t.tokens.numel()))
    with pytest.raises(ValueError, match="states"):
        expand_targets(t, 0)


def test_merge_spans_joins_states():
    start = torch.tensor([0.0, 0.10, 0.13, 0.20, 0.30])
    end = torch.tensor([0.10, 0.13, 0.20, 0.30, 0.30])
    s, e = merge_spans(start, end, torch.tensor([0, 1, 4]), torch.tensor([0, 3, 4]))
    assert s.tolist() == pytest.approx([0.0, 0.10, 0.30]) and e.tolist() == pytest.approx([0.10, 0.30, 0.30])


def test_span_confidence_is_the_geometric_mean_phone_posterior_over_the_span():
    lp = torch.full((6, 4), math.log(0.25), dtype=torch.float64)
    lp[:3, 2], lp[:3, 3] = math.log(0.7), math.log(0.1)
    lp[3:, 2], lp[3:, 3] = math.log(0.1), math.log(0.7)
    lp[5, 3] = math.log(0.4)
    tokens = torch.tensor([2, 3, 1])
    c = span_confidence(lp, tokens, torch.tensor([0.0, 0.03, 0.06]), torch.tensor([0.03, 0.06, 0.06]), 0.01)
    assert float(c[0]) == pytest.approx(0.7)
    assert float(c[1]) == pytest.approx((0.7 * 0.7 * 0.4) ** (1 / 3))
    assert float(c[2]) == pytest.approx(0.25)  # no frame: the posterior at its start (clamped)


def test_confidence_judges_the_frames_the_fit_and_scorers_do():
    """A boundary on a frame centre (refinement puts them there) as float arithmetic gives it,
    0.07500000000000001: the confidence counted frame 7 out of the span the fit counts it in."""
    from aligner.alignment import frame_span

    start = 7 * 0.01 + 0.005
    assert frame_span(start, 0.095, 20) == (7, 9)
    lp = torch.full((20, 4), math.log(0.01), dtype=torch.float64)
    lp[7, 2] = math.log(0.9)  # only the frame whose centre is the span's start hears the phone
    c = span_confidence(lp, torch.tensor([2]), torch.tensor([start], dtype=torch.float64),
                        torch.tensor([0.095], dtype=torch.float64), 0.01)
    assert float(c[0]) == pytest.approx((0.9 * 0.01) ** 0.5)


def test_phone_log_probs_sum_each_phones_states():
    lp = torch.randn(7, 2 + 39 * 3).log_softmax(-1)
    ph = phone_log_probs(lp, 3)
    assert ph.shape == (7, 41)
    assert torch.allclose(ph.exp().sum(-1), torch.ones(7), atol=1e-5)
    assert torch.allclose(ph[:, 5], lp[:, 11:14].logsumexp(-1))
    assert torch.equal(ph[:, :2], lp[:, :2])
    assert phone_log_probs(lp, 1) is lp


def _tiny(states: int = 1):
    from aligner.model import AcousticModel, ModelConfig

    torch.manual_seed(0)
    model = AcousticModel(ModelConfig(fine_dim=16, dim=24, blocks=2, kernel=5, dropout=0.0, states=states))
    return model.eval()


def test_splitting_a_model_keeps_its_phone_posteriors():
    from aligner.model import expand_states

    model = _tiny()
    split = expand_states(model, 3)
    assert split.config.states == 3 and split.config.n_classes == 2 + 39 * 3
    assert not split.training
    x, n = torch.randn(2, 120, 80), torch.tensor([120, 90])
    a, wa = model(x, n)
    b, wb = split(x, n)
    assert torch.allclose(phone_log_probs(b, 3)[0], a[0], atol=0.02)
    assert torch.equal(wa, wb)  # the weight head is untouched
    with pytest.raises(ValueError, match="one-state"):
        expand_states(split, 2)


def test_states_are_saved_and_checked_on_load(tmp_path):
    from aligner.model import ModelError, load_model, save_model

    save_model(_tiny(3), tmp_path / "m")
    assert load_model(tmp_path / "m").config.states == 3
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    for bad in ({"states": 0}, {"states": "3"}, {"states": 3, "loss": "ctc"}):
        (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, **bad}))
        with pytest.raises(ModelError, match="config.json: states"):
            load_model(tmp_path / "m")


def test_old_configs_without_states_load_as_one_state():
    from aligner.model import load_model

    cfg = json.loads((Path(__file__).parents[1] / "models" / "english" / "config.json").read_text())
    model = load_model()
    assert model.config.states == cfg.get("states", 1)


@pytest.mark.parametrize("method", ["viterbi", "ot"])
def test_aligner_with_states_gives_one_interval_per_phone(method, tmp_path):
    """A state model aligns through the product's aligner: phones come back whole (one interval
    each, in order, tiling the words), with confidences in (0, 1]."""
    from aligner.align import Aligner
    from aligner.model import expand_states

    root = Path(__file__).parents[1] / "examples"
    audio, text = next(root.glob("*.wav")), None
    for ext in (".txt", ".lab"):
        if audio.with_suffix(ext).is_file():
            text = audio.with_suffix(ext).read_text()
    assert text is not None
    base = _tiny()  # untrained: the test is about the plumbing, whatever the shipped model is
    aligners = [Aligner(base), Aligner(expand_states(base, 3))]
    for a in aligners:  # an untrained model's variant choice hangs on noise: first variants
        a.choose_variants = False
    one, three = (a.align(audio, text, method=method) for a in aligners)
    spoken = [p for p in three.phones if p.label]
    assert [p.label for p in spoken] == [p.label for p in one.phones if p.label]
    assert all(0 < p.confidence <= 1 for p in spoken)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(three.phones, three.phones[1:]))
    for w in three.words:
        if w.label:
            assert any(abs(p.start - w.start) < 1e-9 for p in spoken)


def test_audio_too_short_for_every_state_is_a_one_line_error(tmp_path):
    """Viterbi gives every state a frame: 6 phones x 4 states do not fit in 20 frames (a rate the
    speaking-rate check still lets through), and the error says so instead of failing inside."""
    import numpy as np
    import soundfile as sf

    from aligner.align import Aligner, AlignmentError
    from aligner.model import expand_states

    wav = tmp_path / "short.wav"
    noise = 0.05 * np.random.default_rng(0).standard_normal(int(0.2 * 16000))
    sf.write(str(wav), noise.astype(np.float32), 16000)  # 20 frames
    text = "sixths"  # S IH K S TH S
    assert len([p for p in Aligner(_tiny()).align(wav, text).phones if p.label]) == 6
    with pytest.raises(AlignmentError, match="short.wav.*4 per phone"):
        Aligner(expand_states(_tiny(), 4)).align(wav, text)


def test_span_confidence_sums_a_tokens_frames_in_order_and_takes_half_precision():
    """The geometric mean sums a token's log-posteriors frame by frame, as it always has (a
    pairwise sum gave 0.9394130628134757 here, one unit in the last place off), and bfloat16
    posteriors are widened rather than refused."""
    lp = torch.full((16, 3), -2.0 ** -53)
    lp[0, 0] = -1.0
    conf = span_confidence(lp, torch.tensor([0]), torch.tensor([0.0], dtype=torch.float64),
                           torch.tensor([0.16], dtype=torch.float64), 0.01)
    in_order = 0.0
    for v in lp[:, 0].double().tolist():
        in_order += v
    assert float(conf[0]) == float(np.exp(np.float64(in_order) / 16))  # np.exp, as the code
    half = torch.randn(20, 5).log_softmax(-1).bfloat16()
    args = (torch.tensor([1, 2]), torch.tensor([0.0, 0.1], dtype=torch.float64),
            torch.tensor([0.1, 0.2], dtype=torch.float64), 0.01)
    assert torch.equal(span_confidence(half, *args), span_confidence(half.float(), *args))
