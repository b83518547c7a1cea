"""The telephone benchmark's copies (benchmarks/telephone.py): what a phone line passes, coded
as its condition says, clipped rather than wrapped, and made once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.real_speech import Item
from benchmarks.telephone import CONDITIONS, PHONE_BAND, phone_band, telephone_copy


@pytest.mark.parametrize("condition", [c for c, how in CONDITIONS.items() if how is not None])
def test_a_telephone_copy_is_8_khz_in_its_codec_and_keeps_the_speech(condition, tmp_path):
    """A 300 Hz tone (in the phone band) and a 6 kHz one (above it) at 16 kHz: the copy is an
    8 kHz file of the condition's subtype, the 300 Hz tone kept, the 6 kHz one filtered out
    rather than folded down to 2 kHz."""
    t = np.arange(16000) / 16000
    src = tmp_path / "a.wav"
    sf.write(str(src), (0.3 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 6000 * t))
             .astype(np.float32), 16000)
    item = Item("spk/a", src, "a")
    copy = telephone_copy(item, condition, tmp_path / "work")
    info = sf.info(str(copy.audio))
    rate, subtype = CONDITIONS[condition]
    assert (info.samplerate, info.subtype) == (rate, subtype)
    assert copy.audio.parent.parent == tmp_path / "work" and copy.text == "a"
    x, _ = sf.read(str(copy.audio), dtype="float32")
    spectrum = np.abs(np.fft.rfft(x[2000:6000] * np.hanning(4000)))
    freqs = np.fft.rfftfreq(4000, 1 / rate)
    assert spectrum[np.argmin(np.abs(freqs - 300))] > 0.5 * spectrum.max()
    assert spectrum[np.argmin(np.abs(freqs - 2000))] < 0.05 * spectrum.max()
    mtime = copy.audio.stat().st_mtime_ns
    assert telephone_copy(item, condition, tmp_path / "work").audio.stat().st_mtime_ns == mtime


def test_the_phone_band_keeps_speech_and_drops_a_low_voices_fundamental():
    """120 Hz (a low voice's pitch) and 3800 Hz are taken away, 1 kHz and the band's edges kept,
    with no delay (the gold's times must still hold)."""
    rate = 8000
    t = np.arange(rate) / rate
    for hz, kept in ((120, False), (PHONE_BAND[0], True), (1000, True), (PHONE_BAND[1], True),
                     (3800, False)):
        x = np.sin(2 * np.pi * hz * t).astype(np.float32)
        y = phone_band(x, rate)
        assert (np.std(y[1000:-1000]) > 0.6 * np.std(x)) == kept, hz
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    assert np.abs(phone_band(x, rate)[1000:-1000] - x[1000:-1000]).max() < 1e-3


def test_a_copy_beyond_full_scale_is_clipped_not_wrapped(tmp_path):
    """mu-law wraps samples beyond 1.0 round to the other sign; a phone line clips them."""
    t = np.arange(16000) / 16000
    src = tmp_path / "loud.wav"
    sf.write(str(src), (1.5 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), 16000,
             subtype="FLOAT")
    copy = telephone_copy(Item("loud", src, "a"), "8 kHz G.711 mu-law", tmp_path / "work")
    x, _ = sf.read(str(copy.audio), dtype="float32")
    reference = np.sin(2 * np.pi * 500 * np.arange(len(x)) / 8000)
    assert np.abs(x).max() <= 1.0
    assert np.corrcoef(x[500:-500], reference[500:-500])[0, 1] > 0.9  # wrapped: 0.6


def test_as_recorded_is_the_recording_itself(tmp_path):
    item = Item("a", Path(tmp_path / "a.wav"), "a")
    assert telephone_copy(item, "as recorded", tmp_path) is item
