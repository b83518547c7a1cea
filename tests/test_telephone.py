"""The telephone benchmark's copies (benchmarks/telephone.py): what a phone line passes, coded
as its condition says, and made once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.real_speech import Item
from benchmarks.telephone import CONDITIONS, telephone_copy


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


def test_as_recorded_is_the_recording_itself(tmp_path):
    item = Item("a", Path(tmp_path / "a.wav"), "a")
    assert telephone_copy(item, "as recorded", tmp_path) is item
