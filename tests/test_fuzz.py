"""Issue 8: property tests (hypothesis) on the functions that see user input or extreme numbers.

- The transcript reader and parser take any bytes / any Unicode and either return words with
  pronunciations made of known phones, or raise the project's TranscriptError: never another
  exception (which the CLI would show as an internal error).
- The OT functions take masses with extreme ratios (1e-300 next to 1e6, long runs of zeros) and
  still return finite plans with the right marginals, and monotone, finite token spans.
Examples are kept moderate so the file runs in seconds; a failure prints its shrunk example.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner.decode import align_ot
from aligner.ottc import transport_plan
from aligner.text.errors import TranscriptError
from aligner.text.frontend import load_lexicon, parse_transcript, read_transcript
from aligner.text.phones import phone_ids

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


# ----------------------------------------------------------------------------- transcripts

@FUZZ
@given(data=st.binary(max_size=300))
def test_read_transcript_any_bytes(tmp_path, data):
    path = tmp_path / "t.lab"
    path.write_bytes(data)
    try:
        text = read_transcript(path)
    except TranscriptError as err:
        message = str(err)
        assert "t.lab" in message and "\n" not in message
        return
    assert isinstance(text, str)
    assert text.encode("utf-8") in (data, data.removeprefix(b"\xef\xbb\xbf"))


_WORDY = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz'-.,!? 0123456789$%&"
                                               "ÉéüßçñÅ\u00a0\t\n")), max_size=80)


def _check_words(words) -> None:
    assert words, "parse_transcript returned no words instead of raising"
    for w in words:
        assert w.text and w.pronunciations
        for pron in w.pronunciations:
            assert pron and phone_ids(pron)  # every phone is in the model's phone set


@FUZZ
@given(text=st.one_of(st.text(max_size=80), _WORDY))
def test_parse_transcript_any_text(lexicon, text):
    try:
        words = parse_transcript(text, lexicon)
    except TranscriptError as err:
        assert str(err).strip() and "\n" not in str(err).strip()
        return
    _check_words(words)


@FUZZ
@given(text=_WORDY.filter(lambda t: any(c.isalpha() for c in t)))
def test_parse_transcript_wordy_text_gives_words(lexicon, text):
    """Latin letters, digits and punctuation: pronounceable, or a one-line TranscriptError."""
    try:
        words = parse_transcript(text, lexicon)
    except TranscriptError:
        return
    _check_words(words)


# ----------------------------------------------------------------------------- OT functions

_MASS = st.one_of(st.just(0.0), st.just(1e-300), st.floats(1e-12, 1e6, allow_nan=False),
                  st.floats(0.0, 1.0))


def _masses(min_size: int, max_size: int):
    return st.lists(_MASS, min_size=min_size, max_size=max_size).filter(
        lambda xs: sum(xs) > 0 and math.isfinite(sum(xs)))


def _normalised(xs) -> torch.Tensor:
    t = torch.tensor(xs, dtype=torch.float64)
    return t / t.sum()


@FUZZ
@given(a=_masses(1, 60), b=_masses(1, 40))
def test_transport_plan_extreme_masses(a, b):
    alpha, beta = _normalised(a), _normalised(b)
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
@given(a=_masses(1, 30), b=_masses(1, 30), n_batch=st.integers(1, 3))
def test_transport_plan_batched_with_padding_matches_unbatched(a, b, n_batch):
    alpha, beta = _normalised(a), _normalised(b)
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


@FUZZ
@given(a=_masses(1, 80), b=_masses(1, 50), seed=st.integers(0, 2 ** 16),
       sharp=st.sampled_from([0.1, 1.0, 50.0]))
def test_align_ot_spans_are_finite_and_monotone(a, b, seed, sharp):
    gen = torch.Generator().manual_seed(seed)
    t, s, c = len(a), len(b), 41
    alpha, beta = _normalised(a), _normalised(b)
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
