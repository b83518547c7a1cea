"""aligner.audio: any libsndfile format, rate and channel count in; mono 16 kHz float32 out;
every unusable input a one-line AudioError naming the file."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from aligner.audio import AudioError, audio_info, load_audio, prepare_waveform
from cli_helpers import GOOD_TEXT, cli, write_pair
from conftest import speechlike


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 96000])
def test_any_rate_is_resampled_to_16k(tmp_path, write_wav, rate):
    path = write_wav(tmp_path / f"r{rate}.wav", speechlike(1.5, rate), rate)
    out = load_audio(path)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - 24000) <= 2


def test_a_file_at_a_rate_no_recording_has_is_refused(tmp_path, write_wav):
    """A 2 kHz WAV aligned silently while the same samples as an array were refused."""
    path = write_wav(tmp_path / "r2000.wav", speechlike(1.5, 2000), 2000)
    with pytest.raises(AudioError, match="r2000.wav: sample rate 2000 Hz is not a speech"):
        load_audio(path)
    result = cli(path, GOOD_TEXT)
    assert result.exit_code == 2 and "sample rate 2000 Hz" in result.stderr


def test_resampling_keeps_a_tone(tmp_path, write_wav):
    t = np.arange(44100) / 44100
    path = write_wav(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 44100)
    out = load_audio(path)
    spectrum = np.abs(np.fft.rfft(out))
    peak_hz = np.argmax(spectrum) * 16000 / len(out)
    assert abs(peak_hz - 440) < 2
    assert 0.45 < np.max(np.abs(out[1000:-1000])) < 0.55


@pytest.mark.parametrize("channels", [2, 6])
def test_channels_are_mixed_to_mono(tmp_path, write_wav, channels):
    mono = speechlike(1.0)
    data = np.stack([mono * (c + 1) / channels for c in range(channels)], axis=1)
    out = load_audio(write_wav(tmp_path / "multi.wav", data))
    expected = mono * np.mean([(c + 1) / channels for c in range(channels)])
    np.testing.assert_allclose(out, expected, atol=1e-3)


@pytest.mark.parametrize("ext", ["flac", "ogg"])
def test_compressed_formats(tmp_path, write_wav, ext):
    out = load_audio(write_wav(tmp_path / f"a.{ext}", speechlike(1.0)))
    assert abs(len(out) - 16000) <= 2


def test_path_with_spaces_and_non_ascii(tmp_path, write_wav):
    path = write_wav(tmp_path / "dossier été" / "ça va.wav", speechlike(0.5))
    assert len(load_audio(path)) == 8000


def test_info_reads_the_header(tmp_path, write_wav):
    info = audio_info(write_wav(tmp_path / "a.wav", speechlike(2.0, 8000), 8000))
    assert (info.sample_rate, info.channels, info.frames) == (8000, 1, 16000)
    assert info.duration == pytest.approx(2.0)


def _message(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "nope.wav")
    assert "nope.wav" in _message(e) and "not found" in _message(e)


def test_not_audio_with_audio_extension(tmp_path):
    path = tmp_path / "fake.wav"
    path.write_text("this is not a RIFF file")
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert "fake.wav" in _message(e)


def test_zero_length(tmp_path, write_wav):
    path = write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert "zero length" in _message(e) and "sox" not in _message(e)


def test_a_wav_never_closed_says_how_to_recover_it(tmp_path, write_wav):
    """A recorder app that crashed leaves a WAV whose header says 0 bytes of audio while the
    audio follows it: "contains no audio samples" alone sent a clinician's recording to the bin."""
    from cli_helpers import declare_wav_data

    path = write_wav(tmp_path / "take 2.wav", speechlike(1.0))
    declare_wav_data(path, 0)
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert "zero length" in _message(e)
    assert f"sox --ignore-length '{path}' fixed.wav recovers it" in _message(e)  # to paste


def test_a_wav_holding_more_than_its_header_declares_is_refused(tmp_path, write_wav):
    """A header that declares 0.5 s of a 2 s recording (its writer stopped before updating the
    length): libsndfile reads 0.5 s, and the run aligned that with exit 0 (or called the
    recording silent). Refused, with the command that recovers it; a chunk after the data (a
    LIST tag) and a few stray bytes are no such thing, from a path or from an open file."""
    import io

    from cli_helpers import declare_wav_data

    path = write_wav(tmp_path / "cut.wav", speechlike(2.0))
    data = declare_wav_data(path, 16000)
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert _message(e) == (f"{path}: the header declares 0.50 s of audio but the file holds "
                           f"2.00 s: a recording stopped before its length was written? sox "
                           f"--ignore-length {path} fixed.wav recovers all of it")
    with pytest.raises(AudioError, match="declares 0.50 s"):
        load_audio(io.BytesIO(path.read_bytes()))
    stream = io.BytesIO(b"prefix" + path.read_bytes())  # read where it stands, as libsndfile
    stream.seek(6)
    with pytest.raises(AudioError, match="declares 0.50 s of audio but the file holds 2.00 s"):
        load_audio(stream)
    tagged = tmp_path / "tagged.wav"
    tag = b"INFOISFT" + (14).to_bytes(4, "little") + b"ottc-align 1.0"
    tagged.write_bytes(data + b"LIST" + len(tag).to_bytes(4, "little") + tag + bytes(20000))
    assert len(load_audio(tagged)) == 32000
    padded = tmp_path / "padded.wav"
    padded.write_bytes(data + bytes(100))  # under UNDECLARED_SECONDS of stray bytes
    assert len(load_audio(padded)) == 32000


def test_silence_only(tmp_path, write_wav):
    with pytest.raises(AudioError) as e:
        load_audio(write_wav(tmp_path / "quiet.wav", np.zeros(16000, dtype=np.float32)))
    assert "silent" in _message(e)


def test_a_transcript_given_as_the_audio_says_so(tmp_path):
    """`ottc-align talk.txt talk.txt` said only 'not a readable audio file'."""
    text = tmp_path / "talk.txt"
    text.write_text("hello there\n", encoding="utf-8")
    with pytest.raises(AudioError) as e:
        load_audio(text)
    assert "talk.txt" in _message(e) and "looks like a transcript" in _message(e)
    assert "ottc-align" not in _message(e)  # the Python API raises it too: no command's words
    junk = tmp_path / "talk.wav"
    junk.write_text("hello there\n", encoding="utf-8")
    with pytest.raises(AudioError) as e:
        load_audio(junk)
    assert "looks like a transcript" not in _message(e)


def test_a_constant_offset_is_silence(tmp_path, write_wav):
    """Every sample 0.2: no sound, though the peak is -14 dBFS (it aligned a sentence, with
    16 warnings); an offset under speech keeps the speech."""
    with pytest.raises(AudioError) as e:
        load_audio(write_wav(tmp_path / "dc.wav", np.full(16000, 0.2, dtype=np.float32)))
    assert "silent" in _message(e) and "+0.2000" in _message(e) and "dc.wav" in _message(e)
    for rate in (4000, 44100):  # resampled: the constant ramps in from 0 at both ends
        path = tmp_path / f"dc{rate}.wav"
        sf.write(path, np.full(2 * rate, 0.2, dtype=np.float32), rate, subtype="FLOAT")
        with pytest.raises(AudioError, match="constant offset"):
            load_audio(path)
    speech = (speechlike(1.0) * 0.5 + 0.2).astype(np.float32)
    assert load_audio(write_wav(tmp_path / "offset.wav", speech)).std() > 0.01


@pytest.mark.parametrize("rate", [16000, 8000])
def test_nan_samples_are_counted_in_the_file(tmp_path, write_wav, rate):
    """The count is of the file's samples, not of the resampled ones the NaNs spread over."""
    data = speechlike(1.0)[:rate]
    data[100:110] = np.nan
    path = write_wav(tmp_path / "nan.wav", data, rate=rate, subtype="FLOAT")
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert "10 samples are NaN or infinite" in _message(e)


def test_truncated_file_is_an_audio_error_or_shorter(tmp_path, write_wav):
    path = write_wav(tmp_path / "cut.wav", speechlike(2.0))
    raw = path.read_bytes()
    for keep in (30, 44 + 1001, len(raw) // 2):
        cut = tmp_path / f"cut{keep}.wav"
        cut.write_bytes(raw[:keep])
        try:
            out = load_audio(cut)
        except AudioError as err:
            assert "cut" in str(err)
        else:
            assert 0 < len(out) < 32000


def test_an_mp3_cut_short_is_an_audio_error(tmp_path):
    """The first 70% of an MP3's bytes decoded without error and aligned with exit 0, its last
    words squeezed; its Xing header still counts every frame."""
    path = tmp_path / "whole.mp3"
    sf.write(str(path), speechlike(3.0), 16000, format="MP3")
    assert len(load_audio(path)) == 48000
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.7)])
    with pytest.raises(AudioError, match=r"cut.mp3: the audio file is truncated .* 3.00 s"):
        load_audio(cut)


def test_the_mp3_decoders_own_warnings_are_not_printed(tmp_path, capfd):
    """libmpg123 printed "Warning: Xing stream size off by more than 1% ..." on standard error
    before the one-line error of a truncated MP3 (and `audio_info`, which `validate` uses, the
    same): what is wrong is said by the AudioError alone."""
    path = tmp_path / "whole.mp3"
    sf.write(str(path), speechlike(3.0), 16000, format="MP3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.5)])
    capfd.readouterr()
    audio_info(cut)
    with pytest.raises(AudioError, match="truncated"):
        load_audio(cut)
    assert capfd.readouterr().err == ""
    os.write(2, b"after\n")  # the descriptor is back where it was
    assert capfd.readouterr().err == "after\n"


def _id3(payload: bytes) -> bytes:
    """An ID3v2.4 tag holding `payload` (its size in four 7-bit bytes)."""
    n = len(payload)
    return b"ID3\x04\x00\x00" + bytes((n >> s) & 0x7F for s in (21, 14, 7, 0)) + payload


def test_the_mp3_frame_count_is_looked_for_after_the_id3_tag(tmp_path):
    """"Info" in a tag's text (a title "Info session") made a VBR file without a Xing header
    pass for one with it, and its guessed frame count refused it as truncated; a cover of over
    16 KB hid the real header, and a cut file passed."""
    from aligner.audio import _mp3_counts_frames

    path = tmp_path / "whole.mp3"
    sf.write(str(path), speechlike(3.0), 16000, format="MP3")
    mp3 = path.read_bytes()
    no_header = tmp_path / "noxing.mp3"  # a tag that says "Info", then a frame without one
    no_header.write_bytes(_id3(b"TIT2 Info session" + bytes(64)) + b"\xff\xfb\x90\x00" + bytes(2000))
    assert not _mp3_counts_frames(no_header)
    art = tmp_path / "art.mp3"  # a 40 KB cover before the audio
    art.write_bytes(_id3(b"APIC" + bytes(40000)) + mp3)
    assert _mp3_counts_frames(art) and len(load_audio(art)) == 48000
    cut = tmp_path / "art_cut.mp3"
    cut.write_bytes(art.read_bytes()[: 40014 + int(len(mp3) * 0.7)])
    with pytest.raises(AudioError, match="truncated"):
        load_audio(cut)


def test_prepare_waveform_arrays():
    x = speechlike(1.0, 8000)
    pcm = (x * 32767).astype(np.int16)
    out = prepare_waveform(pcm, 8000)
    assert abs(len(out) - 16000) <= 2 and np.max(np.abs(out)) < 1.0
    both = prepare_waveform(np.stack([x, x]), 8000)  # [channels, N] is accepted too
    np.testing.assert_allclose(both, prepare_waveform(x, 8000), atol=1e-6)
    with pytest.raises(AudioError):
        prepare_waveform(np.full(100, np.inf, dtype=np.float32), 16000)
    with pytest.raises(AudioError):
        prepare_waveform(np.zeros(0), 16000)


def test_unsigned_pcm_is_centred():
    """uint8 (8-bit WAV) is silent at 128: scaled without centring it carried a +0.5 offset."""
    x = speechlike(1.0)
    pcm = np.round(x * 127 + 128).astype(np.uint8)
    out = prepare_waveform(pcm, 16000)
    assert abs(float(out.mean()) - float(x.mean())) < 0.01
    np.testing.assert_allclose(out, x, atol=0.01)
    wide = (x.astype(np.float64) * 32767 + 32768).astype(np.uint16)
    np.testing.assert_allclose(prepare_waveform(wide, 16000), x, atol=1e-3)


@pytest.mark.parametrize("dtype", ["int32", "int64", ">i4"])
def test_16_bit_samples_in_a_wider_integer_type_are_not_silent(dtype):
    """`np.array(json_samples)` holds 16-bit samples in int64: scaled by the type's range they
    were -96 dBFS and refused as silent. Wide integers are scaled by the narrowest of 16, 24
    and 32 bits that holds them; a full-range int32 recording keeps its own scale."""
    x = speechlike(1.0)
    pcm16 = np.round(x * 32767).astype(np.int16)
    np.testing.assert_allclose(prepare_waveform(pcm16.astype(dtype), 16000),
                               prepare_waveform(pcm16, 16000), atol=1e-6)
    pcm24 = np.round(x.astype(np.float64) * (2 ** 23 - 1)).astype(dtype)
    np.testing.assert_allclose(prepare_waveform(pcm24, 16000), x, atol=1e-5)
    full = np.round(x.astype(np.float64) / np.abs(x).max() * (2 ** 31 - 1)).astype(np.int32)
    np.testing.assert_allclose(prepare_waveform(full, 16000), x / np.abs(x).max(), atol=1e-5)


@pytest.mark.parametrize("block", [None, 3000])  # one block; several (the streaming path)
def test_channels_that_cancel_out_give_the_loudest_channel(tmp_path, write_wav, monkeypatch,
                                                           block):
    """Out-of-phase stereo averaged to nothing and was refused as silent."""
    import aligner.audio

    if block is not None:
        monkeypatch.setattr(aligner.audio, "_BLOCK_FRAMES", block)
    x = speechlike(1.0)
    data = np.stack([-0.999 * x, x], axis=1)  # the second channel is the louder one
    np.testing.assert_allclose(load_audio(write_wav(tmp_path / "phase.wav", data)), x, atol=1e-3)
    np.testing.assert_allclose(prepare_waveform(data, 16000), x, atol=1e-6)
    at_8k = load_audio(write_wav(tmp_path / "phase8k.wav", speechlike(1.0, 8000)[:, None]
                                 * np.array([1.0, -0.999]), 8000))  # resampled block by block
    np.testing.assert_allclose(at_8k, load_audio(write_wav(tmp_path / "mono8k.wav",
                                                           speechlike(1.0, 8000), 8000)), atol=1e-4)
    quiet = np.stack([x, -0.5 * x], axis=1)  # 12 dB below the loudest channel: still the average
    np.testing.assert_allclose(prepare_waveform(quiet, 16000), 0.25 * x, atol=1e-6)


def test_an_open_file_is_read(tmp_path, write_wav):
    path = write_wav(tmp_path / "a.wav", speechlike(1.0, 8000), 8000)
    with open(path, "rb") as handle:
        np.testing.assert_allclose(load_audio(handle), load_audio(path))
    with open(path, encoding="latin-1") as handle, pytest.raises(AudioError, match="text mode"):
        load_audio(handle)


MP4_HEADER = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42" + bytes(64)


@pytest.mark.parametrize("ext", [".m4a", ".mp4", ".aac", ".wma", ".webm"])
def test_formats_libsndfile_cannot_read_say_how_to_convert(tmp_path, ext):
    """Phone and video-call recordings (AAC in MP4, WMA, WebM): one line saying the format
    cannot be read and the ffmpeg command that converts this very file."""
    path = tmp_path / f"my talk{ext}"
    path.write_bytes(MP4_HEADER)
    for read in (audio_info, load_audio):
        with pytest.raises(AudioError) as e:
            read(path)
        message = _message(e)
        assert message.startswith(str(path)) and f"{ext} audio cannot be read" in message
        assert f"ffmpeg -i '{path}' '{tmp_path / 'my talk.wav'}'" in message


def test_readable_audio_with_an_unsupported_suffix_is_still_read(tmp_path, write_wav):
    """The suffix only chooses the error message: a WAV misnamed .m4a is decoded."""
    wav = write_wav(tmp_path / "real.wav", speechlike(1.0))
    renamed = wav.rename(tmp_path / "real.m4a")
    assert abs(len(load_audio(renamed)) - 16000) <= 2


# ------------------------------------------------------------------------ through the command line

@pytest.mark.parametrize("rate,channels", [(8000, 1), (96000, 1), (16000, 32), (22050, 8)])
def test_extreme_rates_and_many_channels_align(tmp_path, tiny_model_dir, rate, channels):
    mono = speechlike(2.0, rate)
    data = mono if channels == 1 else np.stack([mono * (1 + c / channels)
                                                for c in range(channels)], axis=1)
    audio, transcript = write_pair(tmp_path, "clip", data, rate=rate)
    result = cli(audio, transcript, "--model", tiny_model_dir, "-f", "json", "-q")
    assert result.exit_code == 0, result.output
    entries = json.loads((tmp_path / "clip.json").read_text())["tiers"]["words"]["entries"]
    assert [e[2] for e in entries] == GOOD_TEXT.split()
    assert json.loads((tmp_path / "clip.json").read_text())["end"] == pytest.approx(2.0, abs=1e-3)


def test_a_recording_of_a_few_samples_is_too_short_not_silent(tmp_path, write_wav):
    """A 1-sample WAV was called "silent (every sample is +0.3000, a constant offset)"."""
    path = write_wav(tmp_path / "one.wav", np.array([0.3], dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"one.wav: the recording holds 1 sample\(s\): too short"):
        load_audio(path)


def test_audio_this_user_may_not_read_is_said_to_be_so(tmp_path, write_wav, monkeypatch):
    """libsndfile's reason for a file without read permission is "System error."; the
    message says what is wrong. (Simulated through os.access: the tests may run as root.)"""
    import os

    from aligner.audio import _unreadable

    write_wav(tmp_path / "locked.wav", np.zeros(1600, dtype=np.float32))
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False)
    message = str(_unreadable(tmp_path / "locked.wav", RuntimeError("System error.")))
    assert message == (f"{tmp_path / 'locked.wav'}: not a readable audio file (permission "
                       "denied: this user may not read it)")
