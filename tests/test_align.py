"""aligner.align with a tiny random model: structure only (an untrained model's boundaries mean
nothing), plus the pure helpers and the probably-wrong-alignment checks."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aligner import align as align_mod
from aligner import checks
from aligner.align import AlignmentError, Aligner, DeviceError, fill_gaps, resolve_device, tidy_phones
from aligner.alignment import Alignment, Interval
from aligner.audio import AudioError
from aligner.checks import Thresholds, find_flags
from aligner.model import ModelError
from aligner.text.errors import TranscriptError
from conftest import EXAMPLE_TXT, EXAMPLE_WAV, speechlike


def _assert_covers(intervals, duration):
    assert intervals[0].start == 0.0
    assert intervals[-1].end == duration  # exact, as the files write it: never past the audio
    for a, b in zip(intervals, intervals[1:]):
        assert a.end == b.start and a.start < a.end
    for iv in intervals:  # milliseconds, but for the recording's end
        assert round(iv.start, 3) == iv.start and (round(iv.end, 3) == iv.end or iv.end == duration)


def _assert_structure(a: Alignment, labels: list[str]):
    _assert_covers(a.words, a.duration)
    _assert_covers(a.phones, a.duration)
    words = [w for w in a.words if w.label]
    assert [w.label for w in words] == labels
    for w in words:
        assert 0 < w.confidence <= 1
        inside = [p for p in a.phones if p.label and w.start <= p.start and p.end <= w.end]
        assert inside and inside[0].start == w.start and inside[-1].end == w.end


EXAMPLE_WORDS = "The passwords you entered and re-entered did not match. Please try again."
SHIPPED = EXAMPLE_WAV.parent.parent / "models" / "english" / "model.safetensors"


@pytest.mark.parametrize("method", ["ot", "viterbi"])
def test_align_example_structure(aligner, method):
    a = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT, method=method)
    assert a.duration == pytest.approx(4.724875)
    _assert_structure(a, EXAMPLE_WORDS.replace(".", "").split())
    assert any(p.label == "DH" for p in a.phones)  # phones keep their ARPAbet labels


def test_array_and_text_inputs_match_path_inputs(aligner):
    samples, rate = sf.read(str(EXAMPLE_WAV), dtype="float32")
    from_path = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT)
    from_array = aligner.align(samples, EXAMPLE_WORDS, sample_rate=rate)
    from_str_path = aligner.align(str(EXAMPLE_WAV), str(EXAMPLE_TXT))
    assert [(w.start, w.end, w.label) for w in from_array.words] == \
        [(w.start, w.end, w.label) for w in from_path.words] == \
        [(w.start, w.end, w.label) for w in from_str_path.words]


def test_unknown_words_are_reported(aligner):
    a = aligner.align(speechlike(2.0), "hello zorblaxian", sample_rate=16000)
    assert list(a.unknown_words) == ["zorblaxian"] and a.unknown_words["zorblaxian"]


def test_a_clip_cut_at_its_sound_is_heard_with_silence_around_it(aligner, monkeypatch):
    """The model is given EDGE_PAD_SECONDS of silence beside a clip whose sound runs to its
    edges (features.edge_padding), whole or windowed, and its outputs still cover the clip's
    own frames; a clip with its own pauses is given as it is."""
    from aligner.features import EDGE_PAD_SECONDS, num_frames

    pad = round(EDGE_PAD_SECONDS * 100)
    seen = []
    real = type(aligner.model).forward

    def forward(self, feats, lengths, live=None, prior=None):
        seen.append(int(lengths[0]))
        return real(self, feats, lengths, live, prior)

    monkeypatch.setattr(type(aligner.model), "forward", forward)
    tight = speechlike(1.0)
    paused = np.concatenate([np.zeros(8000, np.float32), tight, np.zeros(8000, np.float32)])
    for wave in (tight, paused):
        assert aligner.encode(wave).log_probs.shape[0] == num_frames(len(wave))
        assert aligner.encode([wave])[0].log_probs.shape[0] == num_frames(len(wave))
    assert seen == [100 + 2 * pad] * 2 + [200] * 2
    seen.clear()
    monkeypatch.setattr(align_mod, "CHUNK_SECONDS", 1.0)
    monkeypatch.setattr(align_mod, "CONTEXT_SECONDS", 0.3)
    aligner.encode(speechlike(2.5))  # windows 0-1.3, 0.7-2.3, 1.7-2.5 s
    assert seen == [130 + pad, 160, 80 + pad]


def test_a_padded_clip_keeps_the_outputs_of_its_own_frames(aligner, monkeypatch):
    """The outputs cut back after the added silence are those of the clip's own frames: the
    same as for the clip with that silence written into it, cut at the same place; alone, in
    a batch, and in the first window of a long recording."""
    import aligner.features as features
    from aligner.features import EDGE_PAD_SECONDS, pad_edges

    pad, hop = round(EDGE_PAD_SECONDS * 100), aligner.hop
    tight, long = speechlike(1.0), speechlike(2.5, seed=5)
    # the model hears a recording less its DC offset, the whole recording's (`model_wave`):
    # the first window's 1.3 s and the rest each without their own, so that it is the same
    head, rest = long[: 130 * hop], long[130 * hop:]
    long = np.concatenate([head - head.mean(), rest - rest.mean()]).astype(np.float32)
    alone = aligner.encode(tight)
    batch = aligner.encode([tight, speechlike(0.7, seed=4)])[0]  # the longer row: no batch padding
    monkeypatch.setattr(align_mod, "CHUNK_SECONDS", 1.0)
    monkeypatch.setattr(align_mod, "CONTEXT_SECONDS", 0.3)
    windowed = aligner.encode(long)  # the first window: 0-1.3 s, the silence before it
    monkeypatch.setattr(align_mod, "CHUNK_SECONDS", 40.0)
    monkeypatch.setattr(features, "edge_padding", lambda wave, levels=None: (0, 0))
    written = aligner.encode(pad_edges(tight, pad, pad))
    first = aligner.encode(pad_edges(long[: 130 * hop], pad, 0))
    for got, want in ((alone, written), (batch, written)):
        torch.testing.assert_close(got.log_probs, want.log_probs[pad: pad + 100], atol=1e-4, rtol=0)
        torch.testing.assert_close(got.weight_logits, want.weight_logits[pad: pad + 100],
                                   atol=1e-4, rtol=0)
    torch.testing.assert_close(windowed.log_probs[:100], first.log_probs[pad: pad + 100],
                               atol=1e-4, rtol=0)


def test_long_input_is_chunked(aligner, monkeypatch):
    monkeypatch.setattr(align_mod, "CHUNK_SECONDS", 1.0)
    monkeypatch.setattr(align_mod, "CONTEXT_SECONDS", 0.3)
    wave = speechlike(4.555)
    seen = []
    aligner.on_progress = lambda done, total: seen.append((done, total))
    try:
        encoded = aligner.encode(wave)
    finally:
        aligner.on_progress = None
    lp, w = encoded.log_probs, encoded.weight_logits
    assert lp.shape == (456, 41) and w.shape == (456,) and encoded.duration == 4.555
    assert torch.isfinite(lp).all() and torch.isfinite(w).all()
    assert [d for d, _ in seen] == [100, 200, 300, 400, 456]
    a = aligner.align(wave, "hello world how are you today", sample_rate=16000)
    _assert_structure(a, ["hello", "world", "how", "are", "you", "today"])


def test_batch_encoding_matches_single(aligner):
    waves = [speechlike(1.0, seed=1), speechlike(2.3, seed=2)]
    batch = aligner.encode(waves)
    assert [e.duration for e in batch] == [1.0, 2.3]
    for wave, encoded in zip(waves, batch):
        single = aligner.encode(wave)
        lp, w = encoded.log_probs, encoded.weight_logits
        lp1, w1 = single.log_probs, single.weight_logits
        assert lp.shape == lp1.shape
        # The last frames of a padded row may differ slightly: the model's transposed conv adds
        # its bias on padded frames, which the next conv sees (reported to the model's owner).
        torch.testing.assert_close(lp[:-3], lp1[:-3], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(w[:-3], w1[:-3], atol=1e-4, rtol=1e-4)


def test_encode_then_decode_is_what_align_gives(aligner, monkeypatch):
    """The two stages on their own: one encoding serves every method, and each decoding has
    the words and phones `align` gives (which adds the silences between them and the flags,
    and closes gaps shorter than a pause: off here, see test_boundaries)."""
    from aligner.decode import DECODERS

    monkeypatch.setattr(aligner, "min_pause", 0.0)

    wave, text = speechlike(3.0), "hello world how are you today"
    encoded = aligner.encode(wave)
    prepared = aligner.prepare_text(text)
    for method in DECODERS:
        two_stage = aligner.decode(encoded, prepared, method)
        whole = aligner.align(wave, text, sample_rate=16000, method=method)
        assert two_stage.duration == whole.duration == 3.0
        for got, want in ((two_stage.words, whole.words), (two_stage.phones, whole.phones)):
            assert got == [iv for iv in want if iv.label]


def test_encode_runs_where_the_model_is(tiny_model_dir):
    """The model computes on the device its parameters are on, not on one named beside it
    (training's dev metrics once fed CPU tensors to a model on the GPU). torch's "meta" device
    stands in for a GPU: the inputs must reach the model there, and only copying its outputs
    back fails (a meta tensor has no data)."""
    from aligner.model import load_model

    model = load_model(tiny_model_dir).to("meta")
    aligner = Aligner(model)
    assert aligner.device == torch.device("meta")
    seen = []
    model.register_forward_pre_hook(lambda _, args: seen.append(
        {a.device.type for a in args if isinstance(a, torch.Tensor)}))
    for waves in (speechlike(1.0), [speechlike(1.0), speechlike(0.5)]):
        with pytest.raises(NotImplementedError, match="meta tensor"):
            aligner.encode(waves)
    assert seen == [{"meta"}, {"meta"}]


def test_a_ctc_model_refuses_the_methods_that_need_frame_weights():
    """A CTC model has no frame weights: `ot` is an error saying so, not silently Viterbi."""
    from aligner.decode import supported_methods
    from aligner.model import AcousticModel, ModelConfig

    torch.manual_seed(0)
    model = AcousticModel(ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                                      loss="ctc", name="tiny-ctc")).eval()
    ctc = Aligner(model)
    assert supported_methods(model.config) == ("viterbi",)
    a = ctc.align(speechlike(2.0), "hello world", sample_rate=16000, method="viterbi")
    assert [w.label for w in a.words if w.label] == ["hello", "world"]
    with pytest.raises(AlignmentError, match="'ot' needs an OTTC model's frame weights"):
        ctc.align(speechlike(2.0), "hello world", sample_rate=16000, method="ot")


def test_segments_name_their_fields(aligner, tmp_path):
    from aligner.formats import Segment

    (text,) = aligner.read_segments("hello there")
    assert text == Segment("hello there", "<transcript>") and text.whole
    lab = tmp_path / "a.lab"
    lab.write_text("hello there\n")
    assert aligner.read_segments(lab) == [Segment("hello there\n", str(lab))]


def test_textgrid_transcript_aligns_inside_intervals(aligner, tmp_path):
    from praatio import textgrid

    sf.write(str(tmp_path / "talk.wav"), speechlike(6.0), 16000)
    tg = textgrid.Textgrid(0, 6)
    tg.addTier(textgrid.IntervalTier("alice", [(0.5, 2.0, "hello there"), (4.0, 5.5, "goodbye")],
                                     0, 6))
    tg.addTier(textgrid.IntervalTier("bob", [(2.2, 3.8, "hi alice")], 0, 6))
    tg.save(str(tmp_path / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    segments = aligner.read_segments(tmp_path / "talk.TextGrid")
    assert sorted((s.speaker, s.start, s.end, s.text) for s in segments) == [
        ("alice", 0.5, 2.0, "hello there"), ("alice", 4.0, 5.5, "goodbye"),
        ("bob", 2.2, 3.8, "hi alice")]
    assert not any(s.whole for s in segments)
    result = aligner.align_speakers(tmp_path / "talk.wav", tmp_path / "talk.TextGrid")
    assert [a.speaker for a in result] == ["alice", "bob"]
    alice, bob = result
    _assert_structure(alice, ["hello", "there", "goodbye"])
    _assert_structure(bob, ["hi", "alice"])
    spans = {w.label: (w.start, w.end) for w in alice.words + bob.words if w.label}
    assert 0.5 <= spans["hello"][0] and spans["there"][1] <= 2.0
    assert 4.0 <= spans["goodbye"][0] and spans["goodbye"][1] <= 5.5
    assert 2.2 <= spans["hi"][0] and spans["alice"][1] <= 3.8
    with pytest.raises(AlignmentError, match="speaker tiers"):
        aligner.align(tmp_path / "talk.wav", tmp_path / "talk.TextGrid")
    with pytest.raises(AlignmentError, match="speaker tiers"):  # said before reading the audio
        aligner.align(tmp_path / "no such recording.wav", tmp_path / "talk.TextGrid")


def test_each_alignment_keeps_the_text_it_was_aligned_to(aligner, tmp_path):
    """Alignment.text is the transcript as typed (punctuation and case: subtitles take their
    punctuation from it); a TextGrid speaker's, the text of the intervals that were aligned."""
    from praatio import textgrid

    wave = speechlike(4.0)
    typed = 'He said: "Hello, there." Then -- nothing!'
    assert aligner.align(wave, typed, sample_rate=16000).text == typed
    sf.write(str(tmp_path / "talk.wav"), wave, 16000)
    tg = textgrid.Textgrid(0, 4)
    tg.addTier(textgrid.IntervalTier("ann", [(0.3, 1.5, "Hello there."), (2.5, 3.5, "Bye!")], 0, 4))
    tg.addTier(textgrid.IntervalTier("bob", [(1.6, 2.4, "Hi."), (3.6, 3.62, "oh")], 0, 4))  # too short
    tg.save(str(tmp_path / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    texts = {a.speaker: a.text for a in aligner.align_speakers(tmp_path / "talk.wav",
                                                               tmp_path / "talk.TextGrid")}
    assert texts == {"ann": "Hello there. Bye!", "bob": "Hi."}


def test_overlapping_speakers_are_flagged_on_both(aligner, tmp_path):
    """Two speakers' intervals that overlap by more than 0.1 s: `overlapping_speech` on each,
    the overlap as its interval; intervals that only touch are not flagged, nor a 0.05 s
    overlap; --threshold max_overlap_seconds raises the limit."""
    from dataclasses import replace as with_limits

    from praatio import textgrid

    sf.write(str(tmp_path / "talk.wav"), speechlike(6.0), 16000)
    tg = textgrid.Textgrid(0, 6)
    tg.addTier(textgrid.IntervalTier("ann", [(0.3, 2.5, "hello there"), (4.0, 5.0, "bye")], 0, 6))
    tg.addTier(textgrid.IntervalTier("bob", [(2.0, 3.5, "hi alice"), (5.0, 5.9, "yes"),
                                             (3.95, 3.99, "oh")], 0, 6))
    tg.addTier(textgrid.IntervalTier("events", [(0.5, 1.5, "[laughter]")], 0, 6))  # no speech
    tg.save(str(tmp_path / "talk.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    by_speaker = {a.speaker: a for a in aligner.align_speakers(tmp_path / "talk.wav",
                                                               tmp_path / "talk.TextGrid")}
    for who, other in (("ann", "bob"), ("bob", "ann")):
        (flag,) = [f for f in by_speaker[who].flags if f.kind == "overlapping_speech"]
        assert (flag.start, flag.end) == (2.0, 2.5) and f"{other}'s" in flag
    assert not [f for f in by_speaker["events"].flags if f.kind == "overlapping_speech"]
    shared = aligner.thresholds
    aligner.thresholds = with_limits(shared, max_overlap_seconds=1.0)
    try:
        assert not [f for a in aligner.align_speakers(tmp_path / "talk.wav",
                                                      tmp_path / "talk.TextGrid")
                    for f in a.flags if f.kind == "overlapping_speech"]
    finally:
        aligner.thresholds = shared


def test_textgrid_transcript_past_the_audio_is_flagged_and_an_alignment_is_refused(aligner,
                                                                                    tmp_path):
    from praatio import textgrid

    from aligner.formats import FormatError

    sf.write(str(tmp_path / "talk.wav"), speechlike(3.0), 16000)
    tg = textgrid.Textgrid(0, 20)
    tg.addTier(textgrid.IntervalTier("alice", [(0.3, 1.4, "hello there"), (2.0, 19.0, "goodbye")],
                                     0, 20))
    tg.save(str(tmp_path / "long.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (a,) = aligner.align_speakers(tmp_path / "talk.wav", tmp_path / "long.TextGrid")
    beyond = [f for f in a.flags if f.kind == "interval_beyond_audio"]
    assert len(beyond) == 1 and (beyond[0].start, beyond[0].end) == (2.0, 19.0)
    assert "3.00 s" in beyond[0] and a.words[-1].end <= 3.0 + 1e-6
    tg = textgrid.Textgrid(0, 3)
    tg.addTier(textgrid.IntervalTier("alice", [(0.3, 2.9, "hello there")], 0, 3.02))
    tg.save(str(tmp_path / "fits.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (a,) = aligner.align_speakers(tmp_path / "talk.wav", tmp_path / "fits.TextGrid")
    assert not [f for f in a.flags if f.kind == "interval_beyond_audio"]

    aligned = textgrid.Textgrid(0, 3)  # MFA's output handed back as a transcript
    aligned.addTier(textgrid.IntervalTier("words", [(0.3, 0.8, "hello"), (0.8, 1.4, "there")], 0, 3))
    aligned.addTier(textgrid.IntervalTier("phones", [(0.3, 0.5, "HH"), (0.5, 0.8, "OW1")], 0, 3))
    aligned.save(str(tmp_path / "aligned.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(FormatError, match="is an alignment .* give its words as a .txt"):
        aligner.read_segments(tmp_path / "aligned.TextGrid")


def test_bad_inputs_raise_one_line_errors(aligner, tmp_path):
    with pytest.raises(AlignmentError, match="50 ms long, too short .* needs at least"):
        aligner.align(speechlike(0.05), "extraordinary", sample_rate=16000)
    with pytest.raises(AlignmentError, match="needs at least"):
        aligner.align(speechlike(0.3), "the quick brown fox jumps", sample_rate=16000)
    with pytest.raises(TranscriptError, match="empty"):
        aligner.align(speechlike(1.0), "   ", sample_rate=16000)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 \xff\xfe")
    with pytest.raises(TranscriptError, match="bad.txt"):
        aligner.align(speechlike(1.0), bad, sample_rate=16000)
    with pytest.raises(TranscriptError, match="not found"):
        aligner.align(speechlike(1.0), tmp_path / "missing.txt", sample_rate=16000)
    with pytest.raises(AudioError, match="silent"):
        aligner.align(np.zeros(16000, dtype=np.float32), "hello", sample_rate=16000)
    with pytest.raises(AlignmentError, match="unknown decoding method"):
        aligner.align(speechlike(1.0), "hello", sample_rate=16000, method="nope")


def test_device_and_model_errors(tmp_path, tiny_model_dir):
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    (damaged / "model.safetensors").write_bytes(
        (tiny_model_dir / "model.safetensors").read_bytes()[:200])
    with pytest.raises(ModelError, match="model.safetensors"):
        Aligner.load(damaged, device="cpu")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 3), st.floats(0, 0.5)), min_size=1, max_size=40),
       st.floats(0.5, 5))
def test_tidy_phones_are_ordered_and_inside(raw, duration):
    raw = sorted(raw)
    phones = [Interval(s, s + d, "AH0", 0.5) for s, d in raw]
    if len(phones) * 0.001 > duration:
        return
    out = tidy_phones(phones, duration)
    assert len(out) == len(phones)
    assert out[0].start >= 0 and out[-1].end <= duration + 1e-9
    for iv in out:
        assert iv.end - iv.start >= 0.001 - 1e-9
    for a, b in zip(out, out[1:]):
        assert a.end <= b.start + 1e-9
    filled = fill_gaps(out, duration)
    assert filled[0].start == 0 and filled[-1].end == duration  # exact: never past the audio


def test_fill_gaps_never_turns_an_interval_backwards():
    out = fill_gaps([Interval(0.1, 1.0, "a"), Interval(2.1, 2.5, "b")], 2.0)
    assert all(iv.start < iv.end for iv in out)
    assert fill_gaps([Interval(0.1, 0.5, "a")], 0.5 + 1e-12)[-1].end == 0.5 + 1e-12


def test_checks_flag_probably_wrong_alignments():
    words = [Interval(0, 0.3, "a", 0.9), Interval(0.3, 6.0, "b", 0.001), Interval(6, 6.6, "c", 0.9)]
    phones = [Interval(0, 0.15, "AH0", 0.9), Interval(0.15, 0.3, "N", 0.9),
              Interval(0.3, 6.0, "B", 0.001),
              Interval(6, 6.2, "S", 0.9), Interval(6.2, 6.4, "IY1", 0.9), Interval(6.4, 6.6, "T", 0.9)]
    flags = find_flags(Alignment(words, phones, 6.6))
    assert sorted(f.kind for f in flags) == ["dominant_token", "long_phone", "long_word",
                                             "low_confidence"]
    assert all(f.label in ("b", "B") and f.start == 0.3 for f in flags)
    fine = Alignment([Interval(0, 0.3, "a", 0.9), Interval(0.3, 0.6, "b", 0.8)],
                     [Interval(0, 0.3, "AH0", 0.9), Interval(0.3, 0.6, "B", 0.8)], 0.6)
    assert find_flags(fine) == []
    mismatch = Alignment([Interval(0, 0.3, "a", 0.1), Interval(0.3, 0.6, "b", 0.1)], [], 0.6)
    assert [f.kind for f in find_flags(mismatch, Thresholds())] == ["transcript_mismatch"]


def test_transcript_fit_flags_a_transcript_that_does_not_fit():
    fits = Alignment([Interval(0, 0.3, "a", 0.1)], [Interval(0, 0.3, "AH0", 0.1)], 0.3,
                     transcript_fit=0.9)
    assert find_flags(fits) == []  # low confidence alone is not a mismatch when the fit is good
    poor = Alignment([Interval(0, 0.3, "a", 0.9)], [Interval(0, 0.3, "AH0", 0.9)], 0.3,
                     transcript_fit=0.5 * Thresholds().min_transcript_fit)
    assert [f.kind for f in find_flags(poor)] == ["transcript_mismatch"]
    assert "judged on 1 word(s) only" in find_flags(poor)[0]  # a word list's single word
    words = [Interval(0.1 * i, 0.1 * i + 0.1, w, 0.9) for i, w in enumerate("the cat sat".split())]
    three = Alignment(words, [Interval(w.start, w.end, "AH0", 0.9) for w in words], 0.3,
                      transcript_fit=0.5 * Thresholds().min_transcript_fit)
    assert "judged on" not in find_flags(three)[0]


def test_transcript_fit_is_the_gap_to_the_best_phone():
    from aligner.text.phones import SILENCE_ID, phone_ids

    n, c = 10, 41
    lp = np.full((n, c), np.log(0.01))
    ah, s = phone_ids(["AH"])[0], phone_ids(["S"])[0]
    lp[:5, ah] = np.log(0.9)  # frames 0-4 sound like AH, 5-9 like silence
    lp[5:, SILENCE_ID] = np.log(0.9)
    right = [Interval(0.0, 0.05, "AH0")]
    assert checks.transcript_fit(lp, right, 0.01) == pytest.approx(1.0)
    wrong = [Interval(0.0, 0.05, "S")]  # S where AH is heard: gap log(0.9 / 0.01) on 5 of 10 frames
    assert checks.transcript_fit(lp, wrong, 0.01) == pytest.approx(np.exp(-0.5 * np.log(90)))
    lp[:, s] = np.log(0.95)  # now S is the best guess everywhere: the silence frames lose
    assert checks.transcript_fit(lp, wrong, 0.01) < 1.0


def test_transcript_fit_counts_phones_squeezed_to_the_shortest():
    from aligner.text.phones import phone_ids

    n, c = 20, 41
    lp = np.full((n, c), np.log(0.01))
    ah = phone_ids(["AH"])[0]
    lp[:, ah] = np.log(0.9)  # every frame sounds like AH: no gap for AH phones anywhere
    roomy = [Interval(0.0, 0.1, "AH0"), Interval(0.1, 0.2, "AH1")]
    assert checks.transcript_fit(lp, roomy, 0.01) == pytest.approx(1.0)
    # one of four phones squeezed to 30 ms (the three-state floor): S = 1/4
    squeezed = [Interval(0.0, 0.07, "AH0"), Interval(0.07, 0.1, "AH0"), Interval(0.1, 0.15, "AH0"),
                Interval(0.15, 0.2, "AH0")]
    assert checks.transcript_fit(lp, squeezed, 0.01) == pytest.approx(
        np.exp(-checks.SQUEEZE_WEIGHT / 4))


def test_transcript_fit_leaves_out_markup_frames_and_phones():
    from aligner.text.phones import SPN_ID, phone_ids

    n = 10
    lp = np.full((n, 43), np.log(0.01))  # 2 + 39 phones + spoken noise + <star>
    ah = phone_ids(["AH"])[0]
    lp[:, ah] = np.log(0.9)  # AH everywhere, also under the spoken noise (posterior 0.01)
    assert lp[5, SPN_ID] < lp[5, ah]
    phones = [Interval(0.0, 0.05, "AH0"), Interval(0.05, 0.1, "spn")]
    # spn's frames do not count (markup absorbs whatever is there): the AH frames fit perfectly
    assert checks.transcript_fit(lp, phones, 0.01) == pytest.approx(1.0)
    # markup alone says nothing about the audio: no fit (it was 0.91, which a pipeline kept)
    assert checks.transcript_fit(lp, [Interval(0.0, 0.1, "spn")], 0.01) is None


def test_decoder_disagreement_is_the_words_mean_distance_in_words():
    same = [(0.0, 1.0), (1.0, 2.0)]
    assert checks.decoder_disagreement(same, same, 2.0) == 0.0
    moved = [(0.2, 1.2), (1.2, 2.0)]  # edges 0.2, 0.2, 0.2, 0 s apart: 0.15 s, a word is 1 s
    assert checks.decoder_disagreement(same, moved, 2.0) == pytest.approx(0.15)
    # pauses count in the duration a word is given: 4 s for two words is 2 s a word
    assert checks.decoder_disagreement(same, moved, 4.0) == pytest.approx(0.075)
    assert checks.decoder_disagreement([], [], 2.0) == 0.0


def test_the_fit_holds_the_decoders_disagreement_for_viterbi_only(aligner, monkeypatch):
    """D enters the fit's exponent as it is; `ot` (its words are the plan's) measures none."""
    calls = []
    real = align_mod.decoder_disagreement

    def spy(path, weights, duration, extra=0.0):
        calls.append((len(path), duration))
        return real(path, weights, duration) + extra

    monkeypatch.setattr(align_mod, "decoder_disagreement", spy)
    a = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT, method="viterbi")
    assert calls == [(len([w for w in a.words if w.label]), pytest.approx(a.duration))]
    monkeypatch.setattr(align_mod, "decoder_disagreement",
                        lambda p, w, d: spy(p, w, d, extra=1.0))
    b = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT, method="viterbi")
    assert b.transcript_fit == pytest.approx(a.transcript_fit * np.exp(-1.0))
    calls.clear()
    aligner.align(EXAMPLE_WAV, EXAMPLE_TXT, method="ot")
    assert calls == []


def test_merged_parts_pool_their_fit():
    parts = [Alignment([Interval(0, 1, "a")], [Interval(0, 1, "AH0")], 1.0, transcript_fit=0.8),
             Alignment([Interval(1, 2, "b")], [Interval(1, 2, "B")], 2.0, transcript_fit=0.2)]
    merged = align_mod._merge(parts, 2.0, None)
    assert merged.transcript_fit == pytest.approx(np.sqrt(0.8 * 0.2))


def _brute_score(lp, ids):
    import itertools

    n, best = len(lp), -np.inf
    for cuts in itertools.combinations_with_replacement(range(1, n + 1), len(ids) - 1):
        b = [0, *cuts, n]  # silence (id 1) after the first phone may take no frame, as between
        if any(b[k + 1] - b[k] < (0 if k and ids[k] == 1 else 1) for k in range(len(ids))):
            continue  # the words of a reading ("7399"); every other phone one frame at least
        best = max(best, sum(lp[b[k]:b[k + 1], ids[k]].sum() for k in range(len(ids))))
    return best


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 7), st.lists(st.integers(0, 4), min_size=1, max_size=4), st.integers(0, 999))
def test_segment_score_is_the_best_split(n, ids, seed):
    from aligner.align import _segment_score

    lp = np.log(np.random.default_rng(seed).dirichlet(np.ones(5), size=n))
    assert _segment_score(lp, ids) == pytest.approx(_brute_score(lp, ids))


def test_choose_variants_prefers_what_the_frames_say():
    from aligner.align import choose_variants
    from aligner.decode import TokenSpans
    from aligner.text.frontend import Word
    from aligner.text.phones import PHONE_TO_ID

    lp = np.full((20, 41), np.log(0.01 / 40))
    lp[:10, PHONE_TO_ID["DH"]] = np.log(0.99)
    lp[10:, PHONE_TO_ID["IY"]] = np.log(0.99)  # "the" said as DH IY
    word = Word("the", [["DH", "AH0"], ["DH", "IY0"]], False, ["the"])
    spans = TokenSpans(torch.tensor([0.0, 0.1]), torch.tensor([0.1, 0.2]), torch.ones(2))
    assert choose_variants(lp, [word], spans, torch.tensor([0, 0]), 0.01) == [["DH", "IY0"]]


def test_choose_variants_keeps_to_variants_the_frames_can_hold():
    """A 0.27 s "TWO" (FSDD) failed: the letters T-W-O (ten phones) scored best at one frame per
    phone, but a three-state model needs thirty frames for them. A variant the word's frames
    cannot hold at one frame per state is not chosen; at one state it still may be."""
    from aligner.align import choose_variants
    from aligner.decode import TokenSpans
    from aligner.text.frontend import Word
    from aligner.text.phones import PHONE_TO_ID

    letters = ["T", "IY1", "D", "AH1", "B", "AH0", "L", "Y", "UW0", "OW1"]
    lp = np.full((20, 41), np.log(0.01 / 40))
    for i, ph in enumerate(letters):  # the frames say the letters, two frames each
        lp[2 * i:2 * i + 2, PHONE_TO_ID[ph.rstrip("012")]] = np.log(0.99)
    word = Word("TWO", [["T", "UW1"], letters], False, ["two"])
    spans = TokenSpans(torch.tensor([0.0, 0.1]), torch.tensor([0.1, 0.2]), torch.ones(2))
    args = (lp, [word], spans, torch.tensor([0, 0]), 0.01)
    assert choose_variants(*args, states=1) == [letters]
    assert choose_variants(*args, states=3) == [["T", "UW1"]]


_OT_PAUSE_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 17): with ot the shipped model (session 45) gives the 200 ms pause "
    "before 'Please' (3.22-3.42 s) to that word, which starts at 2.955 s, and the fit "
    "(0.0008) falls below the mismatch threshold; viterbi, the default, keeps the pause "
    "silent and the transcript unflagged. Strict, so the test reports as soon as a model "
    "passes it",
)
_MATCH_CODA_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 17): the shipped model (session 45) ends 'match' at 2.845 s, in its "
    "vowel (voiced until about 2.99 s), and gives the affricate's closure and frication "
    "(3.00-3.20 s) to the pause; the model shipped before it (session 20) kept the affricate "
    "(3.045-3.19 s) but squeezed M and AE1 into 40 ms. Strict, so the test reports as soon as a "
    "model passes it",
)


@pytest.fixture(scope="module")
def example_alignments():
    """The shipped model's alignment of the real-speech example, per decoding method."""
    aligner = Aligner.load(device="cpu")
    return {m: aligner.align(EXAMPLE_WAV, EXAMPLE_TXT, method=m) for m in ("ot", "viterbi")}


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
@pytest.mark.parametrize("method", [pytest.param("ot", marks=_OT_PAUSE_GAP), "viterbi"])
def test_shipped_model_keeps_the_example_pause_silent(example_alignments, method):
    """Real speech, real model: the 200 ms pause between "match." and "Please" (3.22-3.42 s by
    signal energy) must be silence, not stretched words; the alignment must not be flagged."""
    a = example_alignments[method]
    words = {w.label: w for w in a.words if w.label}
    assert words["match"].end <= 3.30 and words["Please"].start >= 3.34
    assert not [f for f in a.flags if "transcript_mismatch" in f]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_an_editors_padding_of_zeros_moves_no_phone():
    """3 s of exact zeros before and after the example (an editor's padding) move none of its
    phones by more than 20 ms: the boundary network's statistics leave the excess out (with
    them, 4 of 46 phone starts moved, by up to 28 ms)."""
    from aligner.align import Aligner

    aligner = Aligner.load(device="cpu")
    x, _ = aligner.load_waveform(EXAMPLE_WAV, None)
    zeros = np.zeros(3 * 16000, np.float32)
    plain = aligner.align(x, sample_rate=16000, text=EXAMPLE_TXT.read_text())
    padded = aligner.align(np.concatenate([zeros, x, zeros]), sample_rate=16000,
                           text=EXAMPLE_TXT.read_text())
    moved = [abs(p.start - 3.0 - q.start) for p, q in zip(
        [p for p in padded.phones if p.label], [q for q in plain.phones if q.label], strict=True)]
    assert len(moved) > 40 and max(moved) <= 0.02


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_a_block_inside_a_word_stays_inside_it_with_pauses_in_words():
    """1 s of the example's own quiet put inside 'passwords' (a stutterer's block): with
    `pauses_in_words` the word spans it, a pause inside it on the phones tier; without, the word
    is squeezed to one side of it (an edge more than 100 ms off)."""
    from aligner.align import Aligner

    aligner = Aligner.load(device="cpu")
    x, _ = aligner.load_waveform(EXAMPLE_WAV, None)
    text = EXAMPLE_TXT.read_text()
    word = next(w for w in aligner.align(x, sample_rate=16000, text=text).words
                if w.label == "passwords")
    phones = [p for p in aligner.align(x, sample_rate=16000, text=text).phones
              if word.start < p.start < word.end]
    at = phones[len(phones) // 2].start  # a boundary between two of its phones
    block = np.resize(x[: int(0.06 * 16000)], 16000)  # the lead-in before the first word
    i = int(round(at * 16000))
    y = np.concatenate([x[:i], block, x[i:]])
    off = {}
    for on in (False, True):
        aligner.pauses_in_words = on
        a = aligner.align(y, sample_rate=16000, text=text)
        got = next(w for w in a.words if w.label == "passwords")
        off[on] = max(abs(got.start - word.start), abs(got.end - word.end - 1.0))
        pauses = [p for p in a.phones if not p.label and got.start < p.start and p.end < got.end]
        if on:
            assert len(pauses) == 1 and pauses[0].end - pauses[0].start > 0.8, pauses
    assert off[True] <= 0.05 < 0.1 < off[False], off


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_shipped_model_gives_the_example_match_its_nasal_and_vowel(example_alignments):
    """'match' (M AE1 CH) is voiced from about 2.78 s, silent in its affricate's closure at
    3.00-3.07 s, fricative until 3.20 s: with viterbi it must start by 3.00 s, and its nasal and
    vowel must each have a phone's time (the model shipped in session 20 squeezed the two into
    40 ms). Its end is _MATCH_CODA_GAP's."""
    a = example_alignments["viterbi"]
    match = next(w for w in a.words if w.label == "match")
    assert match.start <= 3.00
    phones = {p.label: p for p in a.phones if match.start <= p.start < match.end}
    assert phones["M"].end - phones["M"].start >= 0.05
    assert phones["AE1"].end - phones["AE1"].start >= 0.05


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
@pytest.mark.parametrize("method", ["ot", "viterbi"])
def test_shipped_model_finds_the_example_edges(example_alignments, method):
    """Speech starts at about 0.07 s and the last word's nasal fades out by about 4.57 s: the
    first word must start by 0.15 s and the last must reach 4.45 s (the model alone ends it at
    4.365 s; the voicing after it carries it on, boundaries.extend_into_voicing)."""
    words = {w.label: w for w in example_alignments[method].words if w.label}
    assert words["The"].start <= 0.15 and words["again"].end >= 4.45


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
@_MATCH_CODA_GAP
def test_shipped_model_keeps_the_example_affricate_in_its_word(example_alignments):
    """'match' ends with an affricate whose frication runs until about 3.20 s (energy and
    zero-crossing rate; the pause is 3.24-3.38 s): with viterbi, the default, the word must
    reach 3.10 s."""
    words = {w.label: w for w in example_alignments["viterbi"].words if w.label}
    assert words["match"].end >= 3.10


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_a_dc_offset_leaves_the_example_alignment_as_it_was():
    """A constant offset (a cheap sound card's, 0.02 = -34 dBFS) is nothing a microphone heard:
    the example with an editor's half second of zeros at each end, all of it on that offset,
    must align as without it (before `features.model_wave` took the offset away, a word edge
    moved 0.35 s; on learners' clips 0.002 moved words by up to 0.58 s)."""
    from aligner.audio import load_audio

    x = load_audio(EXAMPLE_WAV, 16000)
    x = np.concatenate([np.zeros(8000, np.float32), x, np.zeros(8000, np.float32)])
    text = EXAMPLE_TXT.read_text(encoding="utf-8")
    aligner = Aligner.load(device="cpu")
    plain = aligner.align(x, text=text, sample_rate=16000)
    shifted = aligner.align(x + np.float32(0.02), text=text, sample_rate=16000)
    assert [w.label for w in shifted.words] == [w.label for w in plain.words]
    moved = max(max(abs(p.start - q.start), abs(p.end - q.end))
                for p, q in zip(shifted.words, plain.words))
    assert moved <= 0.001


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_faint_hiss_after_the_words_is_not_untranscribed_speech():
    """The example followed by 20 s of white noise 60 dB under it (a recorder left running in
    a quiet room): the model heard phones in the normalised hiss, and 20 s of "speech" outside
    the transcript was flagged. Hiss as loud as speech still is (the flag's purpose)."""
    x, sr = sf.read(EXAMPLE_WAV, dtype="float32")
    rms = float(np.sqrt(np.mean(x ** 2)))
    aligner = Aligner.load(device="cpu")
    text = EXAMPLE_TXT.read_text(encoding="utf-8")
    for below_db, flagged in ((60, False), (0, True)):
        hiss = np.random.default_rng(0).normal(0, rms * 10 ** (-below_db / 20), 20 * sr)
        a = aligner.align(np.concatenate([x, hiss.astype(np.float32)]), text=text,
                          sample_rate=sr)
        kinds = {checks.flag_kind(f) for f in a.flags}
        assert ("untranscribed_speech" in kinds) == flagged, (below_db, a.flags)


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
@pytest.mark.parametrize("text,first,last", [("ah", 0.30, 0.38), ("sss", 0.46, 0.54)])
def test_shipped_model_gives_a_held_sound_all_of_it(text, first, last):
    """The example's /ae/ (0.30-0.38 s, in "passwords") or its /s/ (0.46-0.54 s) held for 1.5 s
    by overlap-adding it, between 0.5 s of near silence on each side, transcript "ah" or "sss"
    (a clinician's sustained vowel, an s/z ratio's /s/): the word covers the held sound (the
    model alone put it on 20 ms of it and left the rest to silence,
    boundaries.hold_single_sound) and its phone is flagged long; the vowel's voicing is not
    `untranscribed_speech`, the voiceless /s/ not `no_speech`."""
    x, sr = sf.read(EXAMPLE_WAV, dtype="float32")
    piece = x[int(first * sr): int(last * sr)]
    hop, n = len(piece) // 2, int(1.5 * sr)
    sound = np.zeros(n + len(piece), dtype=np.float32)
    for s in range(0, n, hop):
        sound[s: s + len(piece)] += piece * np.hanning(len(piece)).astype(np.float32)
    quiet = np.zeros(int(0.5 * sr), dtype=np.float32)
    wave = np.concatenate([quiet, sound[:n], quiet])
    wave += np.random.default_rng(0).normal(0, 1e-4, len(wave)).astype(np.float32)
    a = Aligner.load(device="cpu").align(wave, text=text, sample_rate=sr)
    (word,) = [w for w in a.words if w.label]
    assert word.start <= 0.55 and word.end >= 1.95
    kinds = {checks.flag_kind(f) for f in a.flags}
    assert "long_phone" in kinds and not kinds & {"untranscribed_speech", "no_speech"}


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_an_alignment_carries_its_recordings_band():
    """`band_edge`, which lowers the mismatch threshold in narrow-band audio: the example,
    recorded at 8 kHz, under NARROW_BAND, whether aligned whole or by TextGrid intervals; the
    same with wideband noise added over the whole of it, over."""
    from aligner.audio import prepare_waveform
    from aligner.features import NARROW_BAND
    from aligner.formats import Segment

    aligner = Aligner.load(device="cpu")
    a = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT)
    assert a.band_edge is not None and a.band_edge < NARROW_BAND
    wave = prepare_waveform(*sf.read(EXAMPLE_WAV, dtype="float32"))
    (a,) = aligner.align_waveform(wave, [Segment("the passwords", "interval 1", "A", 0.0, 1.0)])
    assert a.band_edge < NARROW_BAND
    hiss = 0.01 * np.random.default_rng(0).standard_normal(len(wave)).astype(np.float32)
    (a,) = aligner.align_waveform(wave + hiss, [Segment(EXAMPLE_TXT.read_text(), "<transcript>")])
    assert a.band_edge > NARROW_BAND


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_only_a_whole_recordings_transcript_is_held(monkeypatch):
    """hold_single_sound is asked about a text transcript's one segment, never about an
    interval of a TextGrid transcript, where a backchannel's "mm" may overlap another
    speaker's words."""
    import aligner.boundaries as boundaries
    from aligner.formats import Segment

    asked = []
    real = boundaries.hold_single_sound
    monkeypatch.setattr(boundaries, "hold_single_sound",
                        lambda *args: asked.append(args[0]) or real(*args))
    aligner = Aligner.load(device="cpu")
    wave = sf.read(EXAMPLE_WAV, dtype="float32")[0]
    from aligner.audio import prepare_waveform

    wave = prepare_waveform(wave, sf.info(EXAMPLE_WAV).samplerate)
    aligner.align_waveform(wave, [Segment("mm", "interval 1", "B", 1.0, 2.0)])
    assert asked == []
    aligner.align_waveform(wave, [Segment("mm", "<transcript>")])
    assert len(asked) == 1


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_shipped_model_is_not_moved_by_more_digital_silence_around_the_recording():
    """Zeros on both sides (a recorder's or an editor's padding) beyond a quarter of the frames
    are not counted in the model's normalisation (`features.excess_dead_frames`): 1 s or 4 s of
    them give the same words (counted, "again" ended 60 ms later with the longer padding and
    learners' words moved by up to hundreds of milliseconds), the words of the recording as it
    is, within 20 ms, and the example keeps its pause silent."""
    x, sr = sf.read(EXAMPLE_WAV, dtype="float32")
    aligner = Aligner.load(device="cpu")
    edges = []
    for seconds in (0.0, 1.0, 4.0):
        pad = np.zeros(int(seconds * sr), dtype=np.float32)
        a = aligner.align(np.concatenate([pad, x, pad]), EXAMPLE_TXT, sample_rate=sr)
        words = {w.label: w for w in a.words if w.label}
        assert words["match"].end - seconds <= 3.30 and words["Please"].start - seconds >= 3.34
        edges.append(np.array([(w.start - seconds, w.end - seconds) for w in words.values()]))
    assert np.abs(edges[0] - edges[1]).max() <= 0.02
    assert np.abs(edges[1] - edges[2]).max() <= 0.02


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english yet")
def test_shipped_model_aligns_a_quiet_recording_as_the_loud_one(tmp_path):
    """The example 35 dB down, saved as 16-bit (a distant microphone, a low input gain): the
    log-mel floor would cut off its pauses and weak consonants, so it is scaled up first
    (`features.lift_quiet`) and its words land where the original's do, give or take what
    the 16-bit quantisation took (up to 30 ms). Not "not match": the shipped model (session
    45) ends "match" in its vowel or at its affricate's end on a hair (the known gap above;
    this copy gets 2.895-3.201 s, the original 2.692-2.845 s), and "not" ends where it starts."""
    x, sr = sf.read(EXAMPLE_WAV, dtype="float32")
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, x * 10 ** (-35 / 20), sr, subtype="PCM_16")
    aligner = Aligner.load(device="cpu")
    loud, soft = (aligner.align(path, EXAMPLE_TXT) for path in (EXAMPLE_WAV, quiet))
    assert [w.label for w in loud.words if w.label] == [w.label for w in soft.words if w.label]
    edges = [np.array([(w.start, w.end) for w in a.words if w.label not in ("", "not", "match")])
             for a in (loud, soft)]
    moved = np.abs(edges[0] - edges[1])  # without the lift: up to 362 ms, 33 ms on average
    assert moved.max() <= 0.05 and moved.mean() <= 0.015


# ----------------------------------------------------------------------------- memory

def test_cuda_out_of_memory_falls_back_to_cpu(aligner, monkeypatch):
    """On a GPU an out-of-memory recording is redone on the CPU (same posteriors)."""
    import torch

    wave = speechlike(3.0)
    expected = aligner.encode(wave)
    real = type(aligner)._encode_on
    calls = []

    def on(self, model, w, prior, levels):
        calls.append("gpu" if model is self.model else "cpu copy")
        if model is self.model:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(self, model, w, prior, levels)

    monkeypatch.setattr(type(aligner), "_encode_on", on)
    monkeypatch.setattr(type(aligner), "device", property(lambda self: torch.device("cuda")))
    monkeypatch.setattr(aligner, "_cpu_model", None)
    encoded = aligner.encode(wave)
    assert calls == ["gpu", "cpu copy"]
    assert torch.allclose(encoded.log_probs, expected.log_probs)
    assert torch.allclose(encoded.weight_logits, expected.weight_logits)


def _write_long_recording(folder: Path, seconds: int) -> tuple[Path, Path]:
    """Low-amplitude noise and tones, one minute generated and written `seconds / 60` times
    (cheap), with a transcript of 2.5 words per second."""
    rate = 16000
    rng = np.random.default_rng(0)
    t = np.arange(60 * rate) / rate
    minute = (0.05 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
              + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    audio = folder / "two hours.wav"
    with sf.SoundFile(str(audio), "w", rate, 1, subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write(minute)
    sentence = "the quick brown fox jumps over the lazy dog while we wait for the train".split()
    n_words = int(seconds * 2.5)
    text = " ".join((sentence * (n_words // len(sentence) + 1))[:n_words])
    transcript = folder / "two hours.txt"
    transcript.write_text(text, encoding="utf-8")
    return audio, transcript


@pytest.mark.slow
def test_two_hour_recording_bounded_memory(tmp_path, tiny_model_dir):
    """A 2-hour file aligns in one run of the real entry point with peak memory under 2.5 GB."""
    audio, transcript = _write_long_recording(tmp_path, 2 * 3600)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "aligner.cli", str(audio), str(transcript),
                           "--model", str(tiny_model_dir), "--method", "ot", "--device", "cpu",
                           "-f", "textgrid,json", "-q"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    elapsed = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2
    print(f"2-hour file: {elapsed:.1f} s, peak RSS {peak_gb:.2f} GB")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert peak_gb < 2.5
    data = json.loads((tmp_path / "two hours.json").read_text(encoding="utf-8"))
    words = [e for e in data["tiers"]["words"]["entries"] if e[2]]
    assert len(words) == 2 * 3600 * 2.5
    assert data["end"] == pytest.approx(7200.0, abs=0.01)
    starts = [e[0] for e in words]
    assert starts == sorted(starts)


def test_threads_follow_the_idle_cores(monkeypatch):
    """Command-line runs and adapting use the cores the load leaves idle (torch's threads
    stall each other when one is not scheduled), never zero, never more than torch's default;
    `Aligner.load` does not lower a process's threads for good."""
    import torch

    from aligner import align

    monkeypatch.setattr(align, "usable_cores", lambda: 4)
    monkeypatch.setattr(align.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(align.os, "getloadavg", lambda: (3.2, 0.0, 0.0))
    assert align.idle_threads() == 1
    monkeypatch.setattr(align.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    assert align.idle_threads() == 1  # a busy machine: one thread, never zero
    monkeypatch.setattr(align.os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert align.idle_threads() == min(4, torch.get_num_threads())

    # a batch job's 2 cores on a 64-core node that other jobs keep at load 56: both threads
    monkeypatch.setattr(align, "usable_cores", lambda: 2)
    monkeypatch.setattr(align.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(align.os, "getloadavg", lambda: (56.0, 0.0, 0.0))
    assert align.idle_threads() == min(2, torch.get_num_threads())
    monkeypatch.setattr(align.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    before = torch.get_num_threads()
    align.Aligner.load(device="cpu")
    assert torch.get_num_threads() == max(1, min(before, align.usable_cores()))
