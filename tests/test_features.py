"""Log-mel features: frame count and centring convention, batching, spectral placement."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from aligner.features import (EDGE_PAD_SECONDS, FeatureConfig, edge_padding, log_mel,
                               mel_filterbank, num_frames, pad_edges)


@pytest.mark.parametrize("n", [1, 159, 160, 161, 16000, 16001])
def test_frame_count_is_ceil_n_over_hop(n):
    assert log_mel(torch.zeros(n)).shape == (math.ceil(n / 160), 80)
    assert num_frames(n) == math.ceil(n / 160)


def test_empty_signal_has_no_frames():
    assert log_mel(torch.zeros(0)).shape == (0, 80)


def test_click_lands_in_the_frame_whose_interval_holds_it():
    # Frame t covers [t*160, (t+1)*160) samples and its window is centred at t*160 + 80:
    # a click at the centre of frame 7 must give frame 7 the most energy.
    for sample in (7 * 160 + 80, 3 * 160 + 80):
        x = torch.zeros(16000)
        x[sample] = 1.0
        energy = log_mel(x).exp().sum(1)
        assert int(energy.argmax()) == sample // 160


def test_batch_rows_match_single_signals():
    torch.manual_seed(0)
    a, b = torch.randn(4000), torch.randn(3000)
    batch = torch.zeros(2, 4000)
    batch[0], batch[1, :3000] = a, b
    out = log_mel(batch)
    assert out.shape == (2, 25, 80)
    torch.testing.assert_close(out[0], log_mel(a), atol=1e-4, rtol=1e-4)
    # Frames of b that do not see the padding (all but the last two) are identical.
    torch.testing.assert_close(out[1, :17], log_mel(b)[:17], atol=1e-4, rtol=1e-4)


def test_tone_peaks_in_the_mel_bin_of_its_frequency():
    cfg = FeatureConfig()
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max)
    t = torch.arange(16000) / 16000
    for freq in (300.0, 1000.0, 4000.0):
        mel = log_mel(torch.sin(2 * math.pi * freq * t))
        peak_bin = int(mel[50].argmax())
        fft_bin = round(freq / (cfg.sample_rate / cfg.n_fft))
        assert abs(peak_bin - int(fb[fft_bin].argmax())) <= 1


def test_filterbank_shape_and_silence_floor():
    fb = mel_filterbank(16000, 512, 80, 20.0, 7600.0)
    assert fb.shape == (257, 80)
    assert bool((fb.sum(0) > 0).all())  # every filter covers some FFT bin
    silent = log_mel(torch.zeros(1600))
    assert torch.allclose(silent, torch.full_like(silent, math.log(1e-8)))


def test_rejects_bad_shapes_and_settings():
    with pytest.raises(ValueError):
        log_mel(torch.zeros(2, 2, 100))
    with pytest.raises(ValueError, match="unknown feature settings"):
        FeatureConfig.from_dict({"sample_rate": 16000, "bogus": 1})


def _noise(kind: str, seconds: float = 3.0, rate: int = 16000):
    """The benchmark's noises (benchmarks/voicing_in_noise.py), peaking at 0.1."""
    import numpy as np

    from benchmarks.voicing_in_noise import noise

    x = noise(kind, int(seconds * rate), seed=1)
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "hum", "hum, 60 Hz", "hum, quiet floor"])
def test_noise_is_not_voiced(kind):
    from aligner.checks import Thresholds
    from aligner.features import voiced_frames, voiced_share

    assert voiced_share(voiced_frames(_noise(kind))) < Thresholds().min_voiced_share


@pytest.mark.parametrize("hz,noise_db", [(50, None), (60, None), (50, -34), (60, -34)])
def test_clean_mains_hum_is_not_voiced(hz, noise_db):
    """Hum as a recorder picks it up, a mains tone and its harmonics with little or no noise
    under it, was 95-99% voiced (the benchmark's hum, with noise 26 dB down, passed): a
    hum-only recording was not `no_speech`, and the pauses of speech with hum under them were
    "voiced" (`ends_in_speech`). The voice test beside it still passes at 70 Hz."""
    import numpy as np

    from aligner.checks import Thresholds
    from aligner.features import voiced_frames, voiced_share

    t = np.arange(48000) / 16000
    x = 0.3 * np.sin(2 * np.pi * hz * t) + 0.1 * np.sin(2 * np.pi * 3 * hz * t)
    if noise_db is not None:
        x += 0.3 * 10 ** (noise_db / 20) * np.random.default_rng(0).standard_normal(len(t))
    assert voiced_share(voiced_frames(x.astype(np.float32))) < Thresholds().min_voiced_share


def test_speech_keeps_its_voicing_over_hum_and_its_pauses_lose_it():
    """The shipped example with 60 Hz hum at -20 dBFS under it: most of its voiced frames still
    voiced (88%; where the hum is as loud as the voice it hides it), where before hum made 95%
    of all frames voiced, and the 200 ms pause before 'Please' unvoiced."""
    from pathlib import Path

    import numpy as np

    from aligner.audio import load_audio
    from aligner.features import voiced_frames, voiced_share

    wave = load_audio(Path(__file__).resolve().parent.parent / "examples" / "allison.wav")
    t = np.arange(wave.size) / 16000
    hum = (wave + 0.1 * np.sin(2 * np.pi * 60 * t) + 0.03 * np.sin(2 * np.pi * 180 * t))
    clean, hummed = voiced_frames(wave), voiced_frames(hum.astype(np.float32))
    assert 0.8 * voiced_share(clean) < voiced_share(hummed) <= voiced_share(clean)
    assert not bool(hummed[325:339].any())  # 3.25-3.39 s, inside the pause


def test_the_quick_period_search_agrees_with_the_full_one(monkeypatch):
    """`period_peaks` looks at each frame's highest value first and searches every lag only
    where that is a slope: on voices, hum, both and noise it decides as the full search does."""
    import numpy as np
    import torch

    import aligner.features as features

    t = np.arange(32000) / 16000
    rng = np.random.default_rng(3)
    voice = sum(np.sin(2 * np.pi * k * 120 * t) / k for k in range(1, 6))
    hum = np.sin(2 * np.pi * 50 * t) + 0.3 * np.sin(2 * np.pi * 150 * t)
    for x in (voice, hum, voice + 2 * hum, 0.3 * voice + rng.standard_normal(len(t)),
              rng.standard_normal(len(t))):
        quick = features.voiced_frames(x.astype(np.float32))
        with monkeypatch.context() as m:
            m.setattr(features, "period_peaks", features._all_period_peaks)
            full = features.voiced_frames(x.astype(np.float32))
        assert torch.equal(quick, full)


def test_a_lone_unvoiced_frame_inside_voicing_is_bridged():
    import torch

    from aligner.features import bridge_single_gaps

    v = torch.tensor([1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0], dtype=torch.bool)
    assert bridge_single_gaps(v).int().tolist() == [1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0]
    assert v.int().tolist() == [1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0]  # the input is left alone


def test_telephone_band_noise_is_not_voiced():
    """White noise recorded at 8 kHz (a phone line, FSDD's rate), upsampled as every recording
    is: band-limited noise looks periodic at 0.35-0.5 for 30-40 ms here and there (it did in
    19 of 40 three-second samples, enough to pass `no_speech`); no frame of 20 samples is voiced
    now, while a voice is (test_a_voice_is_voiced)."""
    import io

    import numpy as np
    import soundfile as sf

    from aligner.audio import load_audio
    from aligner.features import voiced_frames

    for seed in range(20):
        x = 0.1 * np.random.default_rng(seed).standard_normal(24000)
        buffer = io.BytesIO()
        sf.write(buffer, x.astype(np.float32), 8000, format="WAV")
        buffer.seek(0)
        assert int(voiced_frames(load_audio(buffer)).sum()) == 0, seed


def test_the_band_of_a_recording_tells_8_khz_audio_apart():
    """`band_edge`: white noise recorded at 8 kHz and upsampled ends near 4 kHz, under
    NARROW_BAND; recorded at 16 kHz it fills the band; silence counts as wideband."""
    import io

    import numpy as np
    import soundfile as sf
    import torch

    from aligner.audio import load_audio
    from aligner.features import NARROW_BAND, band_edge

    def edge(rate: int) -> float:
        buffer = io.BytesIO()
        sf.write(buffer, (0.1 * np.random.default_rng(0).standard_normal(2 * rate)).astype(np.float32),
                 rate, format="WAV")
        buffer.seek(0)
        x = torch.from_numpy(load_audio(buffer))
        frames = x[: len(x) // 1024 * 1024].reshape(-1, 1024) * torch.hann_window(1024)
        power = torch.fft.rfft(frames).abs().square().sum(0)
        return band_edge(power)

    assert 3500 < edge(8000) < NARROW_BAND < 7500 < edge(16000)
    assert band_edge(torch.zeros(513)) == 8000


def test_voiced_and_band_gives_the_band_the_voicing_was_judged_in():
    """The band `voiced_and_band` returns (what `checks.band_allowance` reads): under
    NARROW_BAND for the example, recorded at 8 kHz, over it for noise recorded at 16 kHz; a
    recording too short to judge counts as wideband. Its voicing is `voiced_frames`'."""
    import numpy as np
    import torch

    from aligner.audio import load_audio
    from aligner.features import NARROW_BAND, voiced_and_band, voiced_frames

    x = load_audio(Path(__file__).resolve().parent.parent / "examples" / "allison.wav")
    voiced, edge = voiced_and_band(x)
    assert edge < NARROW_BAND and torch.equal(voiced, voiced_frames(x))
    noise = (0.1 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    assert voiced_and_band(noise)[1] > NARROW_BAND
    assert voiced_and_band(noise[:100])[1] > NARROW_BAND


def test_a_run_of_weak_periodicity_counts_when_it_peaks_or_lasts():
    """`_runs_kept`: a run is kept whole when it reaches the strong peak somewhere or is long;
    a short run of weak periodicity alone (band-limited noise) is dropped."""
    import torch

    from aligner.features import _runs_kept

    runs = torch.tensor([0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0], dtype=torch.bool)
    strong = torch.tensor([0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=torch.bool)
    kept = _runs_kept(runs, strong, 5)
    assert kept.tolist() == [False, True, True, True] + [False] * 5 + [True] * 5 + [False]
    assert not _runs_kept(torch.zeros(4, dtype=torch.bool), strong[:4], 5).any()


def test_a_voice_is_voiced():
    """A 150 Hz harmonic voice, modulated like syllables, in quiet noise: mostly voiced; the
    pitch range reaches a child's (a 500 Hz voice) and a low male voice (70 Hz)."""
    import numpy as np

    from aligner.checks import Thresholds
    from aligner.features import voiced_frames, voiced_share

    t = np.arange(48000) / 16000
    syllables = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    for f0 in (70, 150, 500):
        voice = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)) * syllables
        x = (0.3 * voice + 0.003 * np.random.default_rng(0).standard_normal(len(t))).astype(np.float32)
        assert voiced_share(voiced_frames(x)) > 5 * Thresholds().min_voiced_share, f0
    assert voiced_share(voiced_frames(np.zeros(100, dtype=np.float32))) == 0.0  # < one window
    assert voiced_share(voiced_frames(np.zeros(0, dtype=np.float32))) == 0.0  # no frames


def test_a_voice_in_hiss_is_found_by_the_second_look():
    """Pre-emphasis lifts white noise's highs over a voice's harmonics: a voice with white noise
    at its own level (0 dB) has too few voiced frames for `no_speech`; judged in the band of its
    low harmonics, on frames above the median level, it is plainly there. Noise alone, white,
    brown or mains hum, stays under the threshold that way too."""
    import numpy as np

    from aligner.checks import Thresholds
    from aligner.features import voiced_frames, voiced_share, voiced_share_in_noise

    threshold = Thresholds().min_voiced_share
    t = np.arange(48000) / 16000
    syllables = np.clip(np.sin(2 * np.pi * 2 * t), 0, None) ** 2
    voice = sum(np.sin(2 * np.pi * k * 130 * t) / k for k in range(1, 30)) * syllables
    hiss = np.random.default_rng(0).standard_normal(len(t))
    hiss *= np.sqrt(np.mean(voice ** 2) / np.mean(hiss ** 2))  # 0 dB
    x = (0.1 * (voice + hiss) / np.abs(voice + hiss).max()).astype(np.float32)
    assert voiced_share(voiced_frames(x)) < threshold  # what no_speech saw before
    assert voiced_share_in_noise(x) > 5 * threshold
    for kind in ("white", "brown", "hum"):
        assert voiced_share_in_noise(_noise(kind)) < threshold, kind


def test_digital_silence_becomes_the_recordings_own_quiet_frames():
    """Exact zeros (and noise below a 16-bit recording's floor) are replaced by the recording's
    quiet frames, band by band; sound, even quiet sound, is left as it is."""
    from aligner.features import dead_frames, fill_dead_frames

    rng = np.random.default_rng(0)
    speech = (rng.standard_normal(16000) * 0.1 * np.sin(np.linspace(0, 20, 16000)) ** 2)
    quiet = rng.standard_normal(8000) * 10 ** (-70 / 20)  # a quiet room: kept
    below = rng.standard_normal(8000) * 10 ** (-100 / 20)  # below 16-bit noise: dead
    wave = np.concatenate([np.zeros(8000), speech, quiet, below]).astype(np.float32)
    mel = log_mel(torch.from_numpy(wave))
    dead = dead_frames(mel)
    filled = fill_dead_frames(mel, dead)
    t = mel.shape[0]
    zeros, kept, under = slice(0, 48), slice(52, 195), slice(t - 45, t)
    assert dead[zeros].all() and dead[under].all() and not dead[kept].any()
    assert torch.equal(filled[kept], mel[kept])
    live = mel[~dead]
    quietest = live.mean(1).sort().values[int(0.05 * len(live)) - 1]  # the 5% replacing them
    assert (filled[dead].mean(1) <= quietest + 1e-6).all()
    assert mel[zeros].mean() < filled[zeros].mean() - 5 and mel[under].mean() < filled[under].mean() - 3
    silent = log_mel(torch.zeros(t * 160))
    assert torch.equal(fill_dead_frames(silent, dead_frames(silent)), silent)  # nothing to fill from
    both = torch.stack([mel, silent])  # a batch: each row on its own
    assert torch.equal(fill_dead_frames(both, dead_frames(both))[0], filled)


def test_digital_silence_does_not_move_the_normalisation():
    """The model's per-recording normalisation leaves frames that are not live out of its
    statistics: zeros added around a recording change nothing where it was."""
    from aligner.model import AcousticModel

    g = torch.Generator().manual_seed(0)
    feats = torch.randn(1, 300, 80, generator=g)
    padded = torch.cat([torch.full((1, 200, 80), -18.4), feats], 1)
    live = torch.cat([torch.zeros(1, 200, dtype=torch.bool), torch.ones(1, 300, dtype=torch.bool)], 1)
    plain = AcousticModel.normalise(feats, torch.ones(1, 300, dtype=torch.bool))
    both = AcousticModel.normalise(padded, torch.ones(1, 500, dtype=torch.bool), live)
    assert torch.allclose(both[:, 200:], plain, atol=1e-5)
    everything = AcousticModel.normalise(padded, torch.ones(1, 500, dtype=torch.bool))
    assert not torch.allclose(everything[:, 200:], plain, atol=0.1)


def test_digital_silence_beyond_a_share_is_the_excess_farthest_from_sound():
    """Up to the share stays (the synthetic training utterances hold as much); beyond it, the
    frames farthest from any sound are the excess, so padding keeps its part next to speech."""
    from aligner.features import excess_dead_frames

    dead = torch.tensor([True] * 10 + [False] * 30 + [True] * 60)  # 70 dead, 30 live
    excess = excess_dead_frames(dead, share=0.25)  # 10 may stay: 25% of the 40 counted
    assert int(excess.sum()) == 60 and not excess[10:40].any()
    kept = torch.nonzero(dead & ~excess).flatten().tolist()
    assert kept == [5, 6, 7, 8, 9, 40, 41, 42, 43, 44]  # five on each side of the sound
    assert not excess_dead_frames(torch.tensor([True] * 3 + [False] * 30)).any()
    assert not excess_dead_frames(torch.ones(50, dtype=torch.bool)).any()  # no sound at all
    rows = torch.stack([dead, torch.zeros(100, dtype=torch.bool)])
    assert torch.equal(excess_dead_frames(rows, 0.25)[0], excess)


def test_the_model_takes_a_recording_without_its_dc_offset_and_its_digital_silence_as_zeros():
    from aligner.features import model_wave

    rng = np.random.default_rng(0)
    speech = (0.3 * rng.standard_normal(1600)).astype(np.float32)
    speech -= speech.mean()
    padded = np.concatenate([np.zeros(400, np.float32), speech])  # an editor's padding
    for wave in (padded, torch.from_numpy(padded)):
        shifted = model_wave(wave + 0.002)  # the padding sits on the offset too
        kind = np.ndarray if isinstance(wave, np.ndarray) else torch.Tensor
        assert isinstance(shifted, kind) and shifted.dtype == wave.dtype
        assert np.abs(np.asarray(shifted) - padded).max() < 1e-6
    kept = padded.copy()
    kept[400:] += 0.002  # an offset under the speech only: the padding stays exact zeros
    assert np.all(np.asarray(model_wave(kept))[:400] == 0.0)
    assert abs(float(np.asarray(model_wave(kept))[400:].mean())) < 1e-6
    assert model_wave(np.zeros(8, np.float32)).max() == 0.0
    # 16-bit audio on an offset of 3 steps: its samples that happen to be zero are samples,
    # not silence, and move with the rest (kept at zero, each was a click; review 119)
    steps = np.round(speech * 100).astype(np.float32) / 32768
    quantised = np.concatenate([np.zeros(400, np.float32), steps])
    on_offset = np.concatenate([np.zeros(400, np.float32), steps + np.float32(3 / 32768)])
    assert np.count_nonzero(on_offset[400:] == 0) > 10
    assert np.abs(model_wave(on_offset) - model_wave(quantised)).max() < 1e-6


def test_quiet_recordings_are_lifted_to_the_quiet_peak_and_others_left_alone():
    from aligner.features import QUIET_PEAK, lift_quiet

    quiet = np.array([0.001, -0.004, 0.002], dtype=np.float32)
    lifted = lift_quiet(quiet)
    assert lifted.dtype == np.float32 and np.abs(lifted).max() == pytest.approx(QUIET_PEAK)
    assert np.allclose(lifted / quiet, QUIET_PEAK / 0.004)  # one gain for the whole recording
    loud = torch.tensor([0.5, -0.2])
    assert lift_quiet(loud) is loud and lift_quiet(np.zeros(4)).max() == 0.0
    assert float(lift_quiet(torch.tensor([0.01, -0.02])).abs().max()) == pytest.approx(QUIET_PEAK)


def test_the_voicing_fft_is_long_enough_that_no_period_wraps_around():
    """A circular autocorrelation of n points holds lag k mixed with lag n - k, which a frame of
    VOICING_WINDOW samples reaches for k > n - VOICING_WINDOW: every lag read must lie below."""
    from aligner.features import PEAK_REACH, VOICING_FFT, VOICING_PERIODS, VOICING_WINDOW

    assert VOICING_PERIODS[1] + PEAK_REACH <= VOICING_FFT - VOICING_WINDOW


def test_power_spectrum_matches_torchs_own_padding_and_keeps_its_other_uses():
    """`features._power_spectrum` writes windowed frames into a zeroed n_fft buffer (faster than
    `rfft(n=)`) and squares in place: re * re + im * im of torch's own spectrum, to the bit;
    frames that need gradients, or a window longer than n_fft (which torch cuts), take torch's
    own way."""
    from aligner.features import _power_spectrum

    def reference(frames, window, n_fft):
        spec = torch.fft.rfft(frames * window, n=n_fft)
        return spec.real * spec.real + spec.imag * spec.imag

    g = torch.Generator().manual_seed(7)
    frames = torch.randn(3, 50, 400, generator=g)
    window = torch.hann_window(400)
    assert torch.equal(_power_spectrum(frames, window, 512), reference(frames, window, 512))
    wide, wide_window = torch.randn(4, 600, generator=g), torch.hann_window(600)
    assert torch.equal(_power_spectrum(wide, wide_window, 512), reference(wide, wide_window, 512))
    wave = torch.randn(16000, generator=g, requires_grad=True)
    mel = log_mel(wave)
    mel.sum().backward()
    assert wave.grad is not None and torch.equal(mel.detach(), log_mel(wave.detach()))


def test_constants_first_made_while_aligning_still_serve_gradients():
    """The cached window and filters are made outside inference mode, whoever asks first: a
    window cached while aligning (`torch.inference_mode`) once broke training later in the same
    process (autograd refuses inference tensors)."""
    from aligner import features

    features._window.cache_clear()
    features.mel_filterbank.cache_clear()
    with torch.inference_mode():
        log_mel(torch.randn(1600))
    wave = torch.randn(1600, requires_grad=True)
    log_mel(wave).sum().backward()
    assert wave.grad is not None and torch.isfinite(wave.grad).all()


def _burst(before: float, seconds: float, after: float, rate: int = 16000) -> np.ndarray:
    """A 200 Hz tone with `before` and `after` seconds of faint noise (-70 dBFS) around it."""
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(int(seconds * rate)) / rate)
    quiet = [rng.standard_normal(int(s * rate)) * 10 ** (-70 / 20) for s in (before, after)]
    return np.concatenate([quiet[0], tone, quiet[1]]).astype(np.float32)


def test_edge_padding_adds_silence_only_where_the_sound_runs_to_the_edge():
    pad = round(EDGE_PAD_SECONDS * 100)
    assert edge_padding(_burst(0.3, 0.5, 0.3)) == (0, 0)  # its own pauses: left as it is
    assert edge_padding(_burst(0.0, 0.5, 0.3)) == (pad, 0)  # cut at its start
    assert edge_padding(_burst(0.3, 0.5, 0.0)) == (0, pad)
    assert edge_padding(_burst(0.0, 0.5, 0.0)) == (pad, pad)
    assert edge_padding(_burst(0.02, 0.5, 0.02)) == (pad, pad)  # 20 ms of lead is no pause
    assert edge_padding(np.zeros(40, np.float32)) == (0, 0)  # too short to judge


def test_pad_edges_adds_exact_zeros_in_whole_frames():
    wave = np.ones(1000, np.float32)
    out = pad_edges(wave, 2, 3, 160)
    assert len(out) == 1000 + 5 * 160 and out.dtype == wave.dtype
    assert not out[:320].any() and not out[-480:].any() and (out[320:-480] == 1).all()
    assert pad_edges(wave, 0, 0) is wave
