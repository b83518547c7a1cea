"""Audio augmentation that keeps gold times exact (pure numpy/soxr, no files).

Why each one is time-safe: noise, gain and band-limiting do not move anything; reverberation
uses an impulse response whose direct path is at lag 0, so sound starts where it did (the tail
spills later, as in a room, and is cut at the file end); a speed change resamples the whole
signal, so every gold time is multiplied by 1/factor, which `speed` returns for the caller to
apply; padding returns its offset.
"""

from __future__ import annotations

import numpy as np
import soxr


def speed(audio: np.ndarray, factor: float, sr: int) -> tuple[np.ndarray, float]:
    """Play `factor` times faster (pitch moves with it). Returns (audio, time_scale=1/factor)."""
    out = soxr.resample(audio, sr, sr / factor).astype(np.float32)
    return out, len(out) / max(len(audio), 1)


def _active_power(audio: np.ndarray, sr: int) -> float:
    """Mean power over the louder frames (speech), so SNR means speech-to-noise."""
    frame = max(1, sr // 100)
    n = len(audio) // frame
    if n == 0:
        return float(np.mean(audio**2) + 1e-12)
    p = np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1)
    thr = np.max(p) * 10 ** (-40 / 10)
    active = p[p > thr]
    return float(np.mean(active) if active.size else np.mean(p)) + 1e-12


def add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator, sr: int,
              colour: str = "white") -> np.ndarray:
    """Add white, pink or brown noise at `snr_db` relative to the speech's active power."""
    n = rng.standard_normal(len(audio))
    if colour != "white":
        spec = np.fft.rfft(n)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        spec /= np.sqrt(f) if colour == "pink" else f
        n = np.fft.irfft(spec, len(audio))
    n /= np.sqrt(np.mean(n**2)) + 1e-12
    gain = np.sqrt(_active_power(audio, sr) / 10 ** (snr_db / 10))
    return (audio + gain * n).astype(np.float32)


def reverb(audio: np.ndarray, rt60: float, rng: np.random.Generator, sr: int,
           wet: float = 0.5) -> np.ndarray:
    """Convolve with a synthetic room response: unit direct path at lag 0 plus exponentially
    decaying noise starting after a few ms (RT60 `rt60` s). Output has the input's length."""
    length = int(rt60 * sr)
    t = np.arange(length) / sr
    tail = rng.standard_normal(length) * np.exp(-6.9078 * t / rt60)
    pre = int(0.003 * sr)
    tail[:pre] = 0.0
    tail *= wet / (np.sqrt(np.sum(tail**2)) + 1e-12)
    ir = tail
    ir[0] = 1.0
    n = len(audio) + length
    nfft = 1 << (n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(audio, nfft) * np.fft.rfft(ir, nfft), nfft)[: len(audio)]
    return out.astype(np.float32)


def telephone(audio: np.ndarray, sr: int) -> np.ndarray:
    """Band-limit to 300-3400 Hz, going through 8 kHz as a phone line does."""
    low = soxr.resample(audio, sr, 8000)
    spec = np.fft.rfft(low)
    f = np.fft.rfftfreq(len(low), 1 / 8000)
    spec[(f < 300) | (f > 3400)] = 0
    band = np.fft.irfft(spec, len(low))
    out = soxr.resample(band, 8000, sr)
    if len(out) < len(audio):
        out = np.pad(out, (0, len(audio) - len(out)))
    return out[: len(audio)].astype(np.float32)


def gain(audio: np.ndarray, db: float) -> np.ndarray:
    """Scale by `db`, then pull the peak under full scale (so no clipping in the flac)."""
    out = audio * 10 ** (db / 20)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.99:
        out = out * (0.99 / peak)
    return out.astype(np.float32)


def pad(audio: np.ndarray, sr: int, before: float, after: float) -> tuple[np.ndarray, float]:
    """Add silence at both ends; returns (audio, offset in seconds to add to every time)."""
    b, a = int(round(before * sr)), int(round(after * sr))
    return np.pad(audio, (b, a)).astype(np.float32), b / sr
