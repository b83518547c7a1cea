"""Read any audio file libsndfile can decode as mono float32 at the model's sample rate.

Why streaming: a two-hour 44.1 kHz stereo recording is ~2.5 GB as float32, but the 16 kHz mono
signal the model needs is ~460 MB. Reading in blocks, mixing each block to mono and feeding a
streaming resampler (soxr, high quality) keeps peak memory close to the size of the output.

Every problem with the input becomes an `AudioError` whose message names the file and says what
is wrong in one line, so the command line can print it without a traceback.
"""

from __future__ import annotations

import contextlib
import io
import math
import numbers
import errno
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf
import soxr

from aligner.errors import one_line

SAMPLE_RATE = 16000
AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
    ".caf", ".w64", ".rf64", ".nist", ".sph", ".htk", ".voc",
)
# Formats people record in (phones, video calls) that libsndfile cannot decode (AAC/ALAC in MP4,
# WMA, WebM, AMR): found by corpus discovery and reported with how to convert them, never
# silently skipped.
UNSUPPORTED_EXTENSIONS: tuple[str, ...] = (".m4a", ".mp4", ".aac", ".wma", ".webm", ".amr",
                                           ".3gp")
_BLOCK_FRAMES = 1 << 18  # ~6 s at 44.1 kHz per read: small next to the output, few Python loops
_SILENCE_PEAK = 1e-4  # -80 dBFS: below this the recording holds no usable signal
_MIN_SAMPLES = 16  # 1 ms at 16 kHz: fewer samples are no recording at all
RESAMPLED_EDGE = 320  # samples (20 ms at 16 kHz): soxr's ramp-in from 4 kHz lasts 280
# A channel mix this far below the loudest channel in power (40 dB) means the channels cancel
# (one wired out of phase): the mix is then replaced by that channel. Mixing independent or
# identical channels costs at most 6 dB, so ordinary recordings are never near it.
_CANCELLED = 1e-4


class AudioError(ValueError):
    """A recording that cannot be aligned; the message names the file and the problem."""


class SilentAudioError(AudioError):
    """A recording with no sound in it (peak below -80 dBFS): a muted microphone, a cable
    unplugged. Its own class so that a service can ask the speaker to check the microphone
    rather than show the message."""


@dataclass(frozen=True)
class AudioInfo:
    """What the header says about a file, without decoding it (for `validate` and summaries)."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@contextlib.contextmanager
def decoder_chatter_dropped() -> Iterator[None]:
    """Standard error's file descriptor pointed at /dev/null while libsndfile's decoders run.
    Why: libmpg123 prints its own warnings there ("Warning: Xing stream size off by more than
    1%, fuzzy seeking may be even more fuzzy than by design!"), three raw lines before the
    one-line error of a truncated MP3, and before every line of a corpus run's that reads it;
    what is wrong with a file is said by our own error. Python's own messages are unaffected
    (nothing else is written while a file is decoded); where descriptor 2 cannot be copied
    (closed, or no such descriptor), nothing is changed."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def audio_info(path: Path | str) -> AudioInfo:
    """Read the header of `path`; raises AudioError if it is missing or not a readable audio file."""
    path = Path(path)
    _check_exists(path)
    try:
        with decoder_chatter_dropped():
            info = sf.info(str(path))
    except Exception as err:  # libsndfile raises RuntimeError subclasses with its own wording
        raise _unreadable(path, err, _head(path)) from None
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames), info.format)


def load_audio(path: Path | str | BinaryIO, sample_rate: int | None = SAMPLE_RATE,
               channel: int | None = None) -> np.ndarray:
    """Decode `path` (or an open binary file), mix all channels to mono (or take `channel`, 1
    the first) and resample to `sample_rate` (None: keep the file's rate). Returns float32
    samples; raises AudioError for anything unusable: a missing, unreadable, truncated or empty
    file, a channel it does not have, NaN/inf samples, or a recording that is silent.

    Channels that cancel out when averaged (one wired out of phase) are not averaged: the
    loudest channel is used instead, found by decoding the file a second time (only then)."""
    with decoder_chatter_dropped():
        return _load_audio(path, sample_rate, channel)


def _load_audio(path: Path | str | BinaryIO, sample_rate: int | None, channel: int | None
                ) -> np.ndarray:
    """`load_audio`, with libsndfile's decoders free to print (`decoder_chatter_dropped`)."""
    source, path = _open_source(path)
    head = None if isinstance(source, Path) else _head(source)  # before libsndfile moves it
    start = 0 if head is None else _position(source)
    if head == b"":
        _check_not_at_end(source, path)
    try:
        handle = sf.SoundFile(source)
    except Exception as err:  # same wording as audio_info: the header cannot be read
        raise _unreadable(path, err, _head(source) if head is None else head) from None
    try:
        with handle as f:
            rate = int(f.samplerate)
            if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:  # as `check_rate` judges an array's
                raise AudioError(f"{path}: sample rate {rate} Hz is not a speech recording's "
                                 f"({RATE_RANGE[0]}-{RATE_RANGE[1]} Hz): a wrong header, or not "
                                 "the recording you meant")
            _check_not_truncated(f, path)
            _check_whole_declared(source, path, start)
            if f.format == "OGG" and not ogg_stream_ended(source):
                raise AudioError(f"{path}: the audio file is truncated (its Ogg stream has no "
                                 "end-of-stream page): an interrupted copy, download or "
                                 "recording?")
            if channel is not None and not 1 <= channel <= f.channels:
                raise AudioError(f"{path}: holds {f.channels} channel(s): there is no channel "
                                 f"{channel} to align")
            out_rate = rate if sample_rate is None else int(sample_rate)
            declared = f.frames if f.format == "MP3" and _mp3_counts_frames(source) else 0
            decoded = _decode(f, path, out_rate, None if channel is None else channel - 1)
            if decoded.frames < MP3_WHOLE * declared:
                raise AudioError(f"{path}: the audio file is truncated (its header announces "
                                 f"{declared / rate:.2f} s, only {decoded.frames / rate:.2f} s "
                                 "decode): an interrupted copy or download?")
            loudest = (None if channel is not None  # a channel chosen is no mix to cancel
                       else _loudest_if_cancelled(decoded.channel_energy, decoded.mix_energy))
            if loudest is not None:  # soundfile only opens seekable files: read it again
                f.seek(0)
                decoded = _decode(f, path, out_rate, loudest)
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(f"{path}: not enough memory to decode this recording") from None
    except Exception as err:
        raise AudioError(f"{path}: cannot decode audio ({_short(err)})") from None
    if decoded.frames == 0:
        raise AudioError(f"{path}: the file contains no audio samples (zero length)"
                         + _unclosed_hint(path))
    if decoded.bad:
        raise AudioError(f"{path}: {decoded.bad} samples are NaN or infinite")
    try:
        return check_samples(decoded.samples, path)
    except SilentAudioError:
        if channel is None:
            raise
        raise SilentAudioError(f"{path}: channel {channel} is silent (peak below -80 dBFS): is "
                               "the speech on another channel?") from None


@dataclass
class _Decoded:
    """What one pass over a file gives: the samples, and what deciding on them needs."""

    samples: np.ndarray
    frames: int  # in the file, before resampling
    bad: int  # NaN or infinite samples, counted in the file's own samples
    channel_energy: np.ndarray  # sum of squares per channel (float64)
    mix_energy: float  # sum of squares of the channel mix


def _decode(f: sf.SoundFile, path: Path, out_rate: int, channel: int | None = None) -> _Decoded:
    """Stream `f` block by block: mix to mono (or take `channel`) and resample to `out_rate`,
    keeping only the output in memory."""
    rate = int(f.samplerate)
    resampler = (None if out_rate == rate
                 else soxr.ResampleStream(rate, out_rate, 1, dtype="float32", quality="HQ"))
    pieces: list[np.ndarray] = []
    n_read = n_bad = 0
    channel_energy, mix_energy = np.zeros(f.channels), 0.0
    while True:
        block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
        last = len(block) < _BLOCK_FRAMES
        n_read += len(block)
        mono = _to_mono(block, path) if channel is None else block[:, channel]
        if channel is None and block.shape[1] > 1:  # only a mix can cancel
            channel_energy += np.square(block, dtype=np.float64).sum(axis=0)
            mix_energy += float(np.square(mono, dtype=np.float64).sum())
        n_bad += int((~np.isfinite(mono)).sum())
        if resampler is not None:
            mono = resampler.resample_chunk(mono, last=last)
        if len(mono):
            pieces.append(np.ascontiguousarray(mono, dtype=np.float32))
        if last:
            break
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return _Decoded(samples, n_read, n_bad, channel_energy, mix_energy)


def _open_source(audio: Path | str | BinaryIO) -> tuple[Path | BinaryIO, Path]:
    """(what soundfile opens, the name for messages): a path must exist; an open file is read
    where it stands, named by its `name` when it has one."""
    if isinstance(audio, (str, Path)):
        path = Path(audio)
        _check_exists(path)
        return path, path
    name = Path(str(getattr(audio, "name", "<file object>")))
    if isinstance(audio, io.TextIOBase):
        raise AudioError(f"{name}: the file is open in text mode; open it with open(path, 'rb')")
    return audio, name


def prepare_waveform(samples: np.ndarray, sample_rate: int, name: str = "<array>",
                     target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Turn an in-memory recording into what the model expects: mono float32 at `target_rate`.

    `samples` may be [N] or [N, channels] (soundfile's layout), a numpy array or a torch tensor;
    integer PCM is scaled to [-1, 1] (`as_mono`).
    """
    rate = check_rate(sample_rate, name)
    arr = as_mono(samples, name)
    if len(arr) == 0:
        raise AudioError(f"{name}: the recording contains no audio samples (zero length)")
    if not np.isfinite(arr).all():
        raise AudioError(f"{name}: {int((~np.isfinite(arr)).sum())} samples are NaN or infinite")
    if rate != target_rate:
        arr = soxr.resample(arr, rate, target_rate, quality="HQ").astype(np.float32)
    return check_samples(arr, name)


# Sample rates a speech recording can have: below 4 kHz speech loses what tells its sounds
# apart, above 768 kHz no recorder goes. A rate outside is a mistake (a duration or a bit depth
# passed as the rate) that would stretch or squeeze every time: 50 Hz given for 1 s of 16 kHz
# samples made 320 s of audio to align.
RATE_RANGE = (4000, 768000)


def check_rate(sample_rate: object, name: object = "<array>") -> int:
    """`sample_rate` as an int. A str ("8000", from a config file) or None would otherwise fail
    deep inside with a comparison error; a fractional or non-positive rate is no recording's,
    nor one outside RATE_RANGE."""
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, numbers.Real):
        raise TypeError(f"sample_rate must be a number of samples per second, got "
                        f"{sample_rate!r}")
    if not (math.isfinite(sample_rate) and sample_rate > 0 and sample_rate == int(sample_rate)):
        raise AudioError(f"{name}: invalid sample rate {sample_rate} (a positive whole number of "
                         "samples per second)")
    lo, hi = RATE_RANGE
    if not lo <= sample_rate <= hi:
        raise AudioError(f"{name}: sample rate {int(sample_rate)} Hz is not a speech recording's "
                         f"({lo}-{hi} Hz); pass the rate the samples were recorded at")
    return int(sample_rate)


def as_mono(samples: object, name: object = "<array>") -> np.ndarray:
    """Samples ([N], [N, channels] or [channels, N] for up to 32 channels; numpy or torch) as one
    contiguous float32 channel at their own rate: integer PCM scaled to [-1, 1], channels mixed
    (`mix_channels`). Raises AudioError for a shape or a type that is not sound."""
    arr = _as_array(samples, name)
    if arr.ndim == 0 or arr.ndim > 2:
        raise AudioError(f"{name}: expected samples shaped [N] or [N, channels], got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)) \
            or arr.dtype == np.bool_:
        raise AudioError(f"{name}: samples must be integer PCM or floating point, not {arr.dtype}")
    if arr.size == 0:  # [0, 2] would be taken for two channels of nothing and mixed
        raise AudioError(f"{name}: the recording contains no audio samples (zero length)")
    if np.issubdtype(arr.dtype, np.integer):
        arr = _pcm_to_float(arr)
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 2:
        if arr.shape[0] < arr.shape[1] and arr.shape[0] <= 32:  # [channels, N] given: transpose
            arr = arr.T
        arr = mix_channels(arr)
    return np.ascontiguousarray(arr)


def _as_array(samples: object, name: object) -> np.ndarray:
    """A numpy array of `samples`. A torch tensor that tracks gradients, is bfloat16 or lives on
    a GPU cannot become one as it is: it is detached and copied to the CPU (floating point as
    float32; integer PCM keeps its type, to be scaled). torch is never imported here: if it is
    not loaded, `samples` cannot be a tensor."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(samples, torch.Tensor):
        return np.asarray(samples)
    if samples.is_meta:
        raise AudioError(f"{name}: a tensor on the meta device holds no samples")
    tensor = samples.detach()
    tensor = tensor.to("cpu", torch.float32) if tensor.is_floating_point() else tensor.cpu()
    return tensor.numpy()


def _pcm_to_float(arr: np.ndarray) -> np.ndarray:
    """Integer PCM in [-1, 1]. Unsigned PCM (8-bit WAV's uint8) is silent at its midpoint, not
    at 0: scaling it without centring adds a DC offset of +0.5 that moves boundaries.

    Signed samples in a type wider than 16 bits are scaled by the narrowest of 16, 24 and 32
    bits that holds them: 16-bit samples in int64 (`np.array(list_of_samples)`, JSON) or int32
    are what such arrays usually hold, and scaled by the type's range they read as silence at
    -96 dBFS and were refused as silent. A quiet 32-bit recording read as 24-bit is only louder,
    which aligning does not mind."""
    info = np.iinfo(arr.dtype)
    if info.min == 0:
        mid = (float(info.max) + 1) / 2
        return ((arr.astype(np.float64) - mid) / mid).astype(np.float32)
    scale = float(info.max)
    if info.bits > 16:
        peak = float(max(-int(arr.min()), int(arr.max())))  # no float copy of the array for it
        scale = next((2.0 ** (b - 1) - 1 for b in (16, 24, 32) if peak <= 2.0 ** (b - 1)), scale)
    return (arr.astype(np.float64) / scale).astype(np.float32)


def mix_channels(arr: np.ndarray) -> np.ndarray:
    """[N, channels] -> [N]: the channels' average, or the loudest channel when they cancel
    out (`_loudest_if_cancelled`), so that an out-of-phase stereo file is not taken as silent."""
    mono = _to_mono(arr, "")
    if arr.ndim == 1 or arr.shape[1] == 1:
        return mono
    channel_energy = np.square(arr, dtype=np.float64).sum(axis=0)
    channel = _loudest_if_cancelled(channel_energy, float(np.square(mono, dtype=np.float64).sum()))
    return mono if channel is None else arr[:, channel]


def _loudest_if_cancelled(channel_energy: np.ndarray, mix_energy: float) -> int | None:
    """The loudest channel when the mix holds far less energy than it (`_CANCELLED`), else None
    (also for non-finite energies: those samples are reported as NaN or infinite)."""
    if len(channel_energy) < 2 or not np.isfinite(channel_energy).all() \
            or not math.isfinite(mix_energy):
        return None
    loudest = int(np.argmax(channel_energy))
    return loudest if mix_energy < _CANCELLED * float(channel_energy[loudest]) else None


def check_samples(samples: np.ndarray, name: object) -> np.ndarray:
    """Reject what no aligner can use: empty, non-finite or silent signals."""
    if len(samples) == 0:
        raise AudioError(f"{name}: the recording is too short to hold any audio after resampling")
    finite = np.isfinite(samples)
    if not finite.all():
        raise AudioError(f"{name}: {int((~finite).sum())} samples are NaN or infinite")
    if len(samples) < _MIN_SAMPLES:  # one sample read as "silent, a constant offset"
        raise AudioError(f"{name}: the recording holds {len(samples)} sample(s): too short "
                         "to hold any speech")
    peak = float(np.max(np.abs(samples)))
    if peak < _SILENCE_PEAK:
        raise SilentAudioError(f"{name}: the recording is silent (peak below -80 dBFS)")
    # A constant offset is no sound: the swing about the mean is what a microphone heard (max
    # and min, not a centred copy: an hour of float64 samples would take 460 MB), inside
    # RESAMPLED_EDGE of either end, where resampling from another rate ramps a constant in
    inner = samples[RESAMPLED_EDGE:-RESAMPLED_EDGE] if len(samples) > 4 * RESAMPLED_EDGE \
        else samples
    mean = float(inner.mean(dtype=np.float64))
    if max(float(inner.max()) - mean, mean - float(inner.min())) < _SILENCE_PEAK:
        raise SilentAudioError(f"{name}: the recording is silent (every sample is {mean:+.4f}, "
                               "a constant offset: nothing varies above -80 dBFS)")
    if peak > FLOAT_PEAK_LIMIT:
        raise AudioError(f"{name}: floating-point samples reach {peak:.1f}, far beyond full scale "
                         "(1.0): integer PCM values stored as floats? (an array: divide 16-bit "
                         "values by 32768, or pass the integer array; a file: written unscaled)")
    return samples


# Floating-point samples run from -1 to 1 at full scale; a little beyond is a float file's
# headroom, but this far beyond (+12 dB) they are integer PCM values in a float array
# (`np.frombuffer(raw, np.int16).astype(np.float32)`), which aligned as if nothing were wrong
# and was flagged `clipped` with the advice to record at a lower level.
FLOAT_PEAK_LIMIT = 4.0


# libsndfile's header log for a WAV/AIFF whose data chunk runs past the end of the file:
# "data : 64000 (should be 31978)". Streaming writers that could not seek back put 0 or
# 0xFFFFFFFF there; those are not truncation.
_DATA_SIZE_RE = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_STREAMING_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1}


def _unclosed_hint(path: Path | BinaryIO) -> str:
    """For a WAV whose header says it holds no audio while bytes follow it (a recorder app that
    crashed or was killed before it wrote the length): how to get the audio back; else ""."""
    try:
        size = Path(path).stat().st_size if isinstance(path, (str, Path)) else 0
    except OSError:
        return ""
    if size <= 4096 or Path(str(path)).suffix.lower() != ".wav":
        return ""
    return (f"; yet the file holds {size} bytes: a recording that was never closed (the app "
            f"stopped before writing its length)? sox --ignore-length {shlex.quote(str(path))} "
            "fixed.wav recovers it")


UNDECLARED_SECONDS = 0.2  # audio past a WAV's declared data, at least this long, is refused


def _bytes_at(source: Path | BinaryIO, start: int, size: int) -> tuple[bytes, int]:
    """`size` bytes from byte `start` of a file or an open file (negative: counted from its
    end), and the file's length; its position is put back; (b"", 0) when they cannot be read."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as handle:
                length = os.fstat(handle.fileno()).st_size
                handle.seek(max(0, length + start) if start < 0 else start)
                return handle.read(size), length
        at = source.tell()
        length = source.seek(0, os.SEEK_END)
        source.seek(max(0, length + start) if start < 0 else start)
        data = source.read(size)
        source.seek(at)
        return bytes(data), length
    except (OSError, ValueError, AttributeError, TypeError):
        return b"", 0


def undeclared_wav_audio(source: Path | BinaryIO, start: int = 0) -> tuple[float, float] | None:
    """(declared, held) seconds of a WAV whose data chunk declares less audio than the file
    holds: after the declared end come bytes that are no chunk (four printable letters), at
    least UNDECLARED_SECONDS of them; None for any other file (or one that cannot be read).
    Why: libsndfile reads what the header declares, so a recording whose writer stopped before
    it updated the length (or an editor that cut the header's figure and not the file)
    aligned its first 2.00 s of 2.78 s with exit 0, or "the recording is silent". `start`:
    where the WAV begins in an open file (where it stood when libsndfile opened it). Pure
    reading: the file's position is kept."""
    head, size = _bytes_at(source, start, 1 << 16)
    size -= start
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, rate = 12, 0
    while pos + 8 <= len(head):
        kind, length = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if kind == b"fmt " and pos + 20 <= len(head):
            rate = int.from_bytes(head[pos + 16:pos + 20], "little")  # bytes per second
        if kind == b"data":
            if rate <= 0 or length in _STREAMING_SIZES:
                return None
            end = pos + 8 + length + (length & 1)
            after = head[end:end + 4] if end < len(head) else b""
            if end + 4 <= len(head) and all(32 <= c < 127 for c in after):
                return None  # another chunk follows (LIST, id3 ...)
            extra = size - end
            if extra < UNDECLARED_SECONDS * rate:
                return None
            return length / rate, (size - pos - 8) / rate
        pos += 8 + length + (length & 1)
    return None


OGG_TAIL = 1 << 16  # bytes at a file's end that hold its last Ogg page (at most 65,307 bytes)


def ogg_stream_ended(source: Path | BinaryIO) -> bool:
    """Whether an Ogg file's last page carries the end-of-stream flag, as every encoder writes
    it; True when that cannot be told (no page found, unreadable). Why: libsndfile decodes an
    Ogg Vorbis or Opus file cut short (its first 60%) without complaint, and the run aligned
    0.97 s of a 2.58 s recording against the whole transcript, flagged only as a mismatch,
    where a cut WAV or MP3 is refused as truncated. Pure reading: the file's position is kept."""
    tail, _ = _bytes_at(source, -OGG_TAIL, OGG_TAIL)
    last = tail.rfind(b"OggS")
    if last < 0 or last + 6 > len(tail):
        return True
    return bool(tail[last + 5] & 0x04)


def _check_whole_declared(source: Path | BinaryIO, path: Path, start: int = 0) -> None:
    """Refuse a WAV holding more audio than its header declares (`undeclared_wav_audio`)."""
    found = undeclared_wav_audio(source, start)
    if found is not None:
        declared, held = found
        raise AudioError(f"{path}: the header declares {declared:.2f} s of audio but the file "
                         f"holds {held:.2f} s: a recording stopped before its length was "
                         f"written? sox --ignore-length {shlex.quote(str(path))} fixed.wav "
                         "recovers all of it")


def _check_not_truncated(handle: sf.SoundFile, path: Path) -> None:
    """A recording cut short (an interrupted copy or download) decodes without error but holds
    only part of what its transcript describes; aligning it would stretch the words. Refuse it."""
    try:
        log = handle.extra_info
    except Exception:  # not every format keeps a log
        return
    match = _DATA_SIZE_RE.search(log or "")
    if match is None:
        return
    declared, present = int(match[1]), int(match[2])
    if declared > present and declared not in _STREAMING_SIZES:
        raise AudioError(f"{path}: the audio file is truncated (its header announces {declared} "
                         f"bytes of audio, only {present} are present)")


# Of an MP3's frame count in its Xing/Info/VBRI header, the share that must decode (a whole file
# decodes all of it; one cut short, e.g. the first 75% of its bytes, 74%).
MP3_WHOLE = 0.95
MP3_HEADER_REACH = 4096  # bytes after the ID3v2 tag that hold the first frame's header


def _mp3_counts_frames(source: Path | BinaryIO) -> bool:
    """Whether an MP3 carries a Xing, Info or VBRI header, whose frame count libsndfile reports;
    without one the count is guessed from the size and is far off for variable bit rates
    (a fifth of a whole file's), so it cannot tell a cut file. The header sits in the first
    audio frame, after any ID3v2 tag (skipped by its size: its text may say "Info", its cover
    art run to megabytes). Paths only."""
    if not isinstance(source, Path):
        return False
    try:
        with open(source, "rb") as f:
            head = f.read(10)
            start = 0
            if len(head) == 10 and head[:3] == b"ID3":  # size: four 7-bit bytes, + footer
                start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
                start += 10 if head[5] & 0x10 else 0
            f.seek(start)
            frame = f.read(MP3_HEADER_REACH)
    except OSError:
        return False
    return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


def _to_mono(block: np.ndarray, name: object) -> np.ndarray:
    """Average the channels: the model was trained on single-channel speech."""
    if block.ndim == 1:
        return block
    if block.shape[1] == 1:
        return block[:, 0]
    return block.mean(axis=1, dtype=np.float32)


def _link_loops(path: Path) -> bool:
    """Whether following the symbolic link `path` comes back to a link already followed."""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11's word for a loop
        return True
    except OSError as err:
        return err.errno == errno.ELOOP
    return False


def missing_file_message(path: Path) -> str:
    """One line for a path that names no file: a link to a file that is gone, links that loop,
    or nothing at all."""
    if not path.is_symlink():
        return f"{path}: file not found"
    return (f"{path}: file not found (a link to {os.readlink(path)}, which "
            + ("leads back to itself: the links loop)" if _link_loops(path)
               else "does not lead to a file)"))


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise AudioError(missing_file_message(path))
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def _unreadable(path: Path, err: BaseException, head: bytes = b"") -> AudioError:
    """The error for a file libsndfile cannot open: for a format it never reads (.m4a, ...) the
    fix is a conversion, so say which, told by the name's suffix or else by the first bytes
    (`head`: an upload in a BytesIO, a .wav that is really an M4A); otherwise libsndfile's own
    reason."""
    if path.suffix.lower() in UNSUPPORTED_EXTENSIONS:
        return AudioError(unsupported_format_message(path))
    container = sniff_unsupported(head)
    if container is not None:
        return AudioError(unsupported_format_message(path, container))
    from aligner.corpus import TRANSCRIPT_EXTENSIONS  # here: corpus imports this module

    reason = _short(err)
    if path.is_file() and not os.access(path, os.R_OK):  # libsndfile says "System error."
        reason = "permission denied: this user may not read it"
    elif "does not exist" in reason and path.is_file():  # libsndfile's word for undecodable bytes
        reason = "its contents could not be decoded: damaged, or not the format its name says"
    if path.suffix.lower() in TRANSCRIPT_EXTENSIONS:  # `ottc-align talk.txt talk.txt`
        return AudioError(f"{path}: not a readable audio file ({reason}); it looks like a "
                          "transcript: give the recording first, then its transcript")
    return AudioError(f"{path}: not a readable audio file ({reason})")


def unsupported_format_message(path: Path, container: str | None = None) -> str:
    """One line: why `path` cannot be read and the ffmpeg command that converts it; `container`
    names the format when the bytes told it (`sniff_unsupported`), else the suffix does."""
    kind = f"{container or path.suffix.lower()} audio"
    if not path.suffix:  # a file object without a file name: the conversion on made-up names
        source, wav = "input", "output.wav"
    else:  # a .wav that is really an M4A must not be converted onto itself
        converted = path.with_suffix(".wav")
        if converted == path:
            converted = path.with_name(f"{path.stem}-converted.wav")
        source, wav = str(path), str(converted)
    return (f"{path}: {kind} cannot be read (libsndfile does not decode it); "
            f"convert it first, e.g. ffmpeg -i {shlex.quote(source)} {shlex.quote(wav)}")


# First bytes of the containers in UNSUPPORTED_EXTENSIONS, for audio whose name does not say.
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def sniff_unsupported(head: bytes) -> str | None:
    """The name of a format libsndfile cannot decode, told by a file's first 16 bytes (MP4/M4A
    and 3GP, WebM/Matroska, AMR, WMA, AAC in ADTS frames); None for anything else."""
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "WebM/Matroska"
    if head[:5] == b"#!AMR":
        return "AMR"
    if head[:16] == _ASF_GUID:
        return "WMA"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # ADTS (MP3: layer != 0)
        return "AAC"
    return None


def _check_not_at_end(source: BinaryIO, name: Path) -> None:
    """An AudioError when the open file `source` has nothing left to read where it stands: a
    BytesIO aligned once already (read to its end), or an empty one. Both were "not a readable
    audio file (Format not recognised)", which sent the user to look at the audio itself."""
    try:
        if not source.seekable():  # _head could not look without moving it: soundfile says
            return
        where = source.tell()
    except (OSError, ValueError, AttributeError):
        return
    if where:
        raise AudioError(f"{name}: the file object is at its end ({where} bytes read already): "
                         "seek(0) to read it again")
    raise AudioError(f"{name}: the file object is empty (0 bytes)")


def _position(source: BinaryIO) -> int:
    """Where an open file stands (0 when it cannot say)."""
    try:
        return int(source.tell())
    except (OSError, ValueError, AttributeError):
        return 0


def _head(source: Path | BinaryIO) -> bytes:
    """The first 16 bytes of a file or of an open file (read where it stands, then put back);
    empty when they cannot be read."""
    try:
        if isinstance(source, Path):
            with open(source, "rb") as f:
                return f.read(16)
        where = source.tell()
        head = source.read(16)
        source.seek(where)
        return bytes(head) if isinstance(head, (bytes, bytearray, memoryview)) else b""
    except (OSError, ValueError, AttributeError):
        return b""


def _short(err: BaseException) -> str:
    """libsndfile messages repeat the path; keep the part that says what went wrong."""
    text = one_line(err)
    if ":" in text and "Error opening" in text:
        text = text.rsplit(":", 1)[1].strip()
    return text
