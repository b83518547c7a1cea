"""Read any audio file libsndfile can decode as mono float32 at the model's sample rate.

Why streaming: a two-hour 44.1 kHz stereo recording is ~2.5 GB as float32, but the 16 kHz mono
signal the model needs is ~460 MB. Reading in blocks, mixing each block to mono and feeding a
streaming resampler (soxr, high quality) keeps peak memory close to the size of the output.

Every problem with the input becomes an `AudioError` whose message names the file and says what
is wrong in one line, so the command line can print it without a traceback.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

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


class AudioError(ValueError):
    """A recording that cannot be aligned; the message names the file and the problem."""


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


def audio_info(path: Path | str) -> AudioInfo:
    """Read the header of `path`; raises AudioError if it is missing or not a readable audio file."""
    path = Path(path)
    _check_exists(path)
    try:
        info = sf.info(str(path))
    except Exception as err:  # libsndfile raises RuntimeError subclasses with its own wording
        raise _unreadable(path, err) from None
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames), info.format)


def load_audio(path: Path | str, sample_rate: int | None = SAMPLE_RATE) -> np.ndarray:
    """Decode `path`, mix all channels to mono and resample to `sample_rate` (None: keep the
    file's rate). Returns float32 samples; raises AudioError for anything unusable: a missing,
    unreadable, truncated or empty file, NaN/inf samples, or a recording that is silent."""
    path = Path(path)
    _check_exists(path)
    try:
        handle = sf.SoundFile(str(path))
    except Exception as err:  # same wording as audio_info: the header cannot be read
        raise _unreadable(path, err) from None
    try:
        with handle as f:
            rate = int(f.samplerate)
            if rate <= 0:
                raise AudioError(f"{path}: invalid sample rate {rate}")
            _check_not_truncated(f, path)
            out_rate = rate if sample_rate is None else int(sample_rate)
            resampler = (
                None if out_rate == rate
                else soxr.ResampleStream(rate, out_rate, 1, dtype="float32", quality="HQ")
            )
            pieces: list[np.ndarray] = []
            n_read = n_bad = 0
            while True:
                block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                last = len(block) < _BLOCK_FRAMES
                n_read += len(block)
                mono = _to_mono(block, path)
                n_bad += int((~np.isfinite(mono)).sum())  # counted in the file's own samples
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=last)
                if len(mono):
                    pieces.append(np.ascontiguousarray(mono, dtype=np.float32))
                if last:
                    break
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(f"{path}: not enough memory to decode this recording") from None
    except Exception as err:
        raise AudioError(f"{path}: cannot decode audio ({_short(err)})") from None
    if n_read == 0:
        raise AudioError(f"{path}: the file contains no audio samples (zero length)")
    if n_bad:
        raise AudioError(f"{path}: {n_bad} samples are NaN or infinite")
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return check_samples(samples, path)


def prepare_waveform(samples: np.ndarray, sample_rate: int, name: str = "<array>",
                     target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Turn an in-memory recording into what the model expects: mono float32 at `target_rate`.

    `samples` may be [N] or [N, channels] (soundfile's layout); integer PCM is scaled to [-1, 1].
    """
    arr = np.asarray(samples)
    if arr.ndim == 0 or arr.ndim > 2:
        raise AudioError(f"{name}: expected samples shaped [N] or [N, channels], got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)) \
            or arr.dtype == np.bool_:
        raise AudioError(f"{name}: samples must be integer PCM or floating point, not {arr.dtype}")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 2:
        if arr.shape[0] < arr.shape[1] and arr.shape[0] <= 32:  # [channels, N] given: transpose
            arr = arr.T
        arr = _to_mono(arr, name)
    if sample_rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {sample_rate}")
    if len(arr) == 0:
        raise AudioError(f"{name}: the recording contains no audio samples (zero length)")
    if not np.isfinite(arr).all():
        raise AudioError(f"{name}: {int((~np.isfinite(arr)).sum())} samples are NaN or infinite")
    if sample_rate != target_rate:
        arr = soxr.resample(arr, sample_rate, target_rate, quality="HQ").astype(np.float32)
    return check_samples(arr, name)


def check_samples(samples: np.ndarray, name: object) -> np.ndarray:
    """Reject what no aligner can use: empty, non-finite or silent signals."""
    if len(samples) == 0:
        raise AudioError(f"{name}: the recording is too short to hold any audio after resampling")
    finite = np.isfinite(samples)
    if not finite.all():
        raise AudioError(f"{name}: {int((~finite).sum())} samples are NaN or infinite")
    if float(np.max(np.abs(samples))) < _SILENCE_PEAK:
        raise AudioError(f"{name}: the recording is silent (peak below -80 dBFS)")
    return samples


# libsndfile's header log for a WAV/AIFF whose data chunk runs past the end of the file:
# "data : 64000 (should be 31978)". Streaming writers that could not seek back put 0 or
# 0xFFFFFFFF there; those are not truncation.
_DATA_SIZE_RE = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_STREAMING_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1}


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


def _to_mono(block: np.ndarray, name: object) -> np.ndarray:
    """Average the channels: the model was trained on single-channel speech."""
    if block.ndim == 1:
        return block
    if block.shape[1] == 1:
        return block[:, 0]
    return block.mean(axis=1, dtype=np.float32)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def _unreadable(path: Path, err: BaseException) -> AudioError:
    """The error for a file libsndfile cannot open: for a format it never reads (.m4a, ...) the
    fix is a conversion, so say which; otherwise libsndfile's own reason."""
    if path.suffix.lower() in UNSUPPORTED_EXTENSIONS:
        return AudioError(unsupported_format_message(path))
    return AudioError(f"{path}: not a readable audio file ({_short(err)})")


def unsupported_format_message(path: Path) -> str:
    """One line: why `path` cannot be read and the ffmpeg command that converts it."""
    wav = path.with_suffix(".wav")
    return (f"{path}: {path.suffix.lower()} audio cannot be read (libsndfile does not decode it); "
            f"convert it first, e.g. ffmpeg -i {shlex.quote(str(path))} {shlex.quote(str(wav))}")


def _short(err: BaseException) -> str:
    """libsndfile messages repeat the path; keep the part that says what went wrong."""
    text = one_line(err)
    if ":" in text and "Error opening" in text:
        text = text.rsplit(":", 1)[1].strip()
    return text
