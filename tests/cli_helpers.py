"""What the command-line tests build and check over and over: a run through Typer's runner, the
one-line error contract (exit code, one `error:` line naming the file and the problem, no
traceback), the files a run leaves behind, and audio + transcript pairs."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from typer.testing import CliRunner

from aligner.cli import app

runner = CliRunner()
GOOD_TEXT = "hello there my friend"


def cli(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def assert_no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)


def assert_one_line_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    assert_no_traceback(result)
    err = result.stderr.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def leftovers(folder: Path) -> list[Path]:
    """Temporary files of the atomic writer (or anything hidden) left behind."""
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def outputs(folder: Path) -> list[Path]:
    suffixes = {".TextGrid", ".json", ".csv", ".ctm", ".png"}
    return [p for p in folder.rglob("*") if p.suffix in suffixes and p.name != "alignment_report.csv"]


def declare_wav_data(path: Path, size: int) -> bytes:
    """Rewrite the WAV at `path` so that its data chunk declares `size` bytes whatever follows
    (a recorder stopped before it wrote the length); returns the file's bytes before."""
    data = path.read_bytes()
    at = data.find(b"data")
    path.write_bytes(data[:at + 4] + size.to_bytes(4, "little") + data[at + 8:])
    return data


def write_pair(folder: Path, stem: str, samples=None, rate=16000, text: str | bytes = GOOD_TEXT,
               ext: str = ".wav", subtype=None, audio_bytes: bytes | None = None):
    """`<stem><ext>` (from `samples`, or raw `audio_bytes`) and its transcript `<stem>.lab` (not
    written when `text` is None) in `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{stem}{ext}"
    if audio_bytes is not None:
        audio.write_bytes(audio_bytes)
    elif samples is not None:
        sf.write(str(audio), samples, rate, subtype=subtype)
    transcript = folder / f"{stem}.lab"
    if isinstance(text, bytes):
        transcript.write_bytes(text)
    elif text is not None:
        transcript.write_text(text, encoding="utf-8")
    return audio, transcript


def cuda_out_of_memory(*args, **kwargs):
    """Stands in for a model forward pass that runs out of GPU memory."""
    import torch

    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
