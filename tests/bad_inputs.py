"""Every bad input the command line must refuse, built in a folder: the single-file tests
(test_cli_errors.py) and the corpus tests (test_runner.py) check that each gives one clear
error naming its file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli_helpers import declare_wav_data, write_pair
from conftest import speechlike

LONG_TEXT = "the quick brown fox jumps over the lazy dog again and again today"  # ~50 phones


@dataclass
class Case:
    """A bad input: `build(folder, stem)` writes `<stem>.<ext>` and its transcript and returns
    (audio, transcript) paths; the error must contain `needles` (plus the audio or transcript
    file name, `names`)."""

    build: Callable[[Path, str], tuple[Path, Path]]
    needles: tuple[str, ...]
    names: str = "audio"  # which file the message must name: audio | transcript


def _missing_audio(folder, stem):
    audio, transcript = write_pair(folder, stem)
    audio.symlink_to(folder / "gone-away.wav")  # a dangling link: listed in a corpus, not found
    return audio, transcript


def _looping_link(folder, stem):
    audio, transcript = write_pair(folder, stem)
    other = folder / f"{stem}-other.link"  # not audio: a corpus run does not list it
    audio.symlink_to(other)  # and back: "file not found" did not say why
    other.symlink_to(audio)
    return audio, transcript


def _nul_in_transcript(folder, stem):
    return write_pair(folder, stem, speechlike(1.5), text=b"the quick brown fox\x00jumps")


def _missing_transcript(folder, stem):
    audio, transcript = write_pair(folder, stem, speechlike(1.5), text=None)
    return audio, transcript


def _truncated(folder, stem):
    audio, transcript = write_pair(folder, stem, speechlike(2.0))
    data = audio.read_bytes()
    audio.write_bytes(data[: len(data) // 2])
    return audio, transcript


def _truncated_flac(folder, stem):
    audio, transcript = write_pair(folder, stem, speechlike(2.0), ext=".flac")
    data = audio.read_bytes()
    audio.write_bytes(data[: len(data) // 2])
    return audio, transcript


def _truncated_ogg(folder, stem):
    audio, transcript = write_pair(folder, stem, speechlike(3.0), ext=".ogg", subtype="VORBIS")
    data = audio.read_bytes()
    audio.write_bytes(data[: len(data) * 6 // 10])  # decodes without complaint, 60% of it
    return audio, transcript


def _undeclared_wav(folder, stem):
    audio, transcript = write_pair(folder, stem, speechlike(2.0))
    declare_wav_data(audio, 16000)  # the header declares 0.5 s of the 2 s
    return audio, transcript


def _unreadable(folder, stem):
    return write_pair(folder, stem, audio_bytes=b"RIFF\x24\x00\x00\x00WAVEfmt ")


def _text_as_wav(folder, stem):
    return write_pair(folder, stem, audio_bytes=b"this is a text file, not a recording\n" * 20)


def _noise_as_mp3(folder, stem):
    return write_pair(folder, stem, ext=".mp3",
                 audio_bytes=np.random.default_rng(1).bytes(4000))


def _m4a(folder, stem):  # AAC in MP4, as phones record: libsndfile cannot decode it
    return write_pair(folder, stem, ext=".m4a",
                 audio_bytes=b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + bytes(256))


def _zero_length(folder, stem):
    return write_pair(folder, stem, np.zeros(0, dtype=np.float32))


def _empty_file(folder, stem):
    return write_pair(folder, stem, audio_bytes=b"")


def _silence(folder, stem):
    return write_pair(folder, stem, np.zeros(32000, dtype=np.float32))


def _too_short_to_say(folder, stem):  # 1 s for ~50 phones: more frames than phones, too fast
    return write_pair(folder, stem, speechlike(1.0), text=LONG_TEXT)


def _empty_transcript(folder, stem):
    return write_pair(folder, stem, speechlike(1.5), text="")


def _whitespace_transcript(folder, stem):
    return write_pair(folder, stem, speechlike(1.5), text="  \n\t \u00a0\n")


def _punctuation_transcript(folder, stem):
    return write_pair(folder, stem, speechlike(1.5), text="... ?! -- ,")


def _undecodable(folder, stem):
    return write_pair(folder, stem, speechlike(1.5), text=b"hello \xff\xfe\xfa there")


def _nan_samples(folder, stem):
    x = speechlike(1.5)
    x[1000:1010] = np.nan
    return write_pair(folder, stem, x, subtype="FLOAT")


def _inf_samples(folder, stem):
    x = speechlike(1.5, 44100).astype(np.float64)
    x[5000] = np.inf
    x[6000] = -np.inf
    return write_pair(folder, stem, x, rate=44100, subtype="DOUBLE")


BAD: dict[str, Case] = {
    "missing_audio": Case(_missing_audio, ("not found",)),
    "missing_transcript": Case(_missing_transcript, ("not found",), "transcript"),
    "looping_link": Case(_looping_link, ("not found", "the links loop")),
    "nul_in_transcript": Case(_nul_in_transcript, ("holds a NUL byte", "offset 19"),
                              "transcript"),
    "truncated_wav": Case(_truncated, ("truncated",)),
    "truncated_flac": Case(_truncated_flac, ("cannot decode",)),
    "truncated_ogg": Case(_truncated_ogg, ("truncated", "no end-of-stream page")),
    "undeclared_wav": Case(_undeclared_wav, ("declares 0.50 s", "holds 2.00 s",
                                             "sox --ignore-length")),
    "unreadable_header": Case(_unreadable, ("not a readable audio file",)),
    "text_named_wav": Case(_text_as_wav, ("not a readable audio file",)),
    "noise_named_mp3": Case(_noise_as_mp3, ("not a readable audio file", "could not be decoded")),
    "m4a_recording": Case(_m4a, (".m4a audio cannot be read", "convert it first, e.g. ffmpeg -i")),
    "zero_length": Case(_zero_length, ("zero length",)),
    "empty_file": Case(_empty_file, ("not a readable audio file",)),
    "silence": Case(_silence, ("silent",)),
    "too_short_for_transcript": Case(_too_short_to_say, ("needs at least",)),
    # fewer frames than phones: the speaking-rate check answers first (tests/test_states.py
    # reaches the frames check with a 4-state model)
    "more_phones_than_frames": Case(lambda f, s: write_pair(f, s, speechlike(0.2), text=LONG_TEXT),
                                    ("200 ms long", "needs at least")),
    "empty_transcript": Case(_empty_transcript, ("empty",), "transcript"),
    "whitespace_transcript": Case(_whitespace_transcript, ("empty",), "transcript"),
    "punctuation_transcript": Case(_punctuation_transcript, ("no words",), "transcript"),
    "undecodable_transcript": Case(_undecodable, ("not UTF-8", "0xff"), "transcript"),
    "nan_samples": Case(_nan_samples, ("NaN",)),
    "inf_samples": Case(_inf_samples, ("NaN or infinite",)),
}

