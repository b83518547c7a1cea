"""Issue 8: never fail silently, never lose work.

Every bad input from the issue is built here, then
- aligned on its own (single-file mode): exit code 2 (1 for out-of-memory), one `error:` line on
  stderr naming the file and the problem, no traceback, no output or temporary file left;
- put into a corpus beside good utterances: the good ones are aligned, each bad one is listed
  as failed (reason naming the file) in the summary and in alignment_report.csv, exit code 1.
Inputs that are unusual but fine (8 kHz, 96 kHz, 32 channels, spaces and non-ASCII in paths,
a missing output folder) must align. Flags (probably-wrong alignments) must reach the summary,
the JSON and CSV outputs and the corpus report, and `--strict` must turn them into failures.

The tiny random model from conftest keeps this fast; the mismatched-transcript test needs a
model that can tell recordings apart, so it trains a small one (seconds) on espeak-ng speech.
The 2-hour file test is marked slow but runs by default (about 35 s).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from aligner.cli import app
from conftest import speechlike

runner = CliRunner()
GOOD_TEXT = "hello there my friend"
LONG_TEXT = "the quick brown fox jumps over the lazy dog again and again today"  # ~50 phones


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


# ----------------------------------------------------------------------------- bad inputs

@dataclass
class Case:
    """A bad input: `build(folder, stem)` writes `<stem>.<ext>` and its transcript and returns
    (audio, transcript) paths; the error must contain `needles` (plus the audio or transcript
    file name, `names`)."""

    build: Callable[[Path, str], tuple[Path, Path]]
    needles: tuple[str, ...]
    names: str = "audio"  # which file the message must name: audio | transcript


def _pair(folder: Path, stem: str, samples=None, rate=16000, text: str | bytes = GOOD_TEXT,
          ext: str = ".wav", subtype=None, audio_bytes: bytes | None = None):
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


def _missing_audio(folder, stem):
    audio, transcript = _pair(folder, stem)
    audio.symlink_to(folder / "gone-away.wav")  # a dangling link: listed in a corpus, not found
    return audio, transcript


def _missing_transcript(folder, stem):
    audio, transcript = _pair(folder, stem, speechlike(1.5), text=None)
    return audio, transcript


def _truncated(folder, stem):
    audio, transcript = _pair(folder, stem, speechlike(2.0))
    data = audio.read_bytes()
    audio.write_bytes(data[: len(data) // 2])
    return audio, transcript


def _truncated_flac(folder, stem):
    audio, transcript = _pair(folder, stem, speechlike(2.0), ext=".flac")
    data = audio.read_bytes()
    audio.write_bytes(data[: len(data) // 2])
    return audio, transcript


def _unreadable(folder, stem):
    return _pair(folder, stem, audio_bytes=b"RIFF\x24\x00\x00\x00WAVEfmt ")


def _text_as_wav(folder, stem):
    return _pair(folder, stem, audio_bytes=b"this is a text file, not a recording\n" * 20)


def _noise_as_mp3(folder, stem):
    return _pair(folder, stem, ext=".mp3",
                 audio_bytes=np.random.default_rng(1).bytes(4000))


def _m4a(folder, stem):  # AAC in MP4, as phones record: libsndfile cannot decode it
    return _pair(folder, stem, ext=".m4a",
                 audio_bytes=b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + bytes(256))


def _zero_length(folder, stem):
    return _pair(folder, stem, np.zeros(0, dtype=np.float32))


def _empty_file(folder, stem):
    return _pair(folder, stem, audio_bytes=b"")


def _silence(folder, stem):
    return _pair(folder, stem, np.zeros(32000, dtype=np.float32))


def _too_short_to_say(folder, stem):  # 1 s for ~50 phones: more frames than phones, too fast
    return _pair(folder, stem, speechlike(1.0), text=LONG_TEXT)


def _more_phones_than_frames(folder, stem):  # 0.2 s = 20 frames for ~50 phones
    return _pair(folder, stem, speechlike(0.2), text=LONG_TEXT)


def _empty_transcript(folder, stem):
    return _pair(folder, stem, speechlike(1.5), text="")


def _whitespace_transcript(folder, stem):
    return _pair(folder, stem, speechlike(1.5), text="  \n\t \u00a0\n")


def _punctuation_transcript(folder, stem):
    return _pair(folder, stem, speechlike(1.5), text="... ?! -- ,")


def _undecodable(folder, stem):
    return _pair(folder, stem, speechlike(1.5), text=b"hello \xff\xfe\xfa there")


def _nan_samples(folder, stem):
    x = speechlike(1.5)
    x[1000:1010] = np.nan
    return _pair(folder, stem, x, subtype="FLOAT")


def _inf_samples(folder, stem):
    x = speechlike(1.5, 44100).astype(np.float64)
    x[5000] = np.inf
    x[6000] = -np.inf
    return _pair(folder, stem, x, rate=44100, subtype="DOUBLE")


BAD: dict[str, Case] = {
    "missing_audio": Case(_missing_audio, ("not found",)),
    "missing_transcript": Case(_missing_transcript, ("not found",), "transcript"),
    "truncated_wav": Case(_truncated, ("truncated",)),
    "truncated_flac": Case(_truncated_flac, ("cannot decode",)),
    "unreadable_header": Case(_unreadable, ("not a readable audio file",)),
    "text_named_wav": Case(_text_as_wav, ("not a readable audio file",)),
    "noise_named_mp3": Case(_noise_as_mp3, ("audio",)),
    "m4a_recording": Case(_m4a, (".m4a audio cannot be read", "convert it first, e.g. ffmpeg -i")),
    "zero_length": Case(_zero_length, ("zero length",)),
    "empty_file": Case(_empty_file, ("not a readable audio file",)),
    "silence": Case(_silence, ("silent",)),
    "too_short_for_transcript": Case(_too_short_to_say, ("needs at least",)),
    "more_phones_than_frames": Case(_more_phones_than_frames, ("phones but the audio has only",)),
    "empty_transcript": Case(_empty_transcript, ("empty",), "transcript"),
    "whitespace_transcript": Case(_whitespace_transcript, ("empty",), "transcript"),
    "punctuation_transcript": Case(_punctuation_transcript, ("no words",), "transcript"),
    "undecodable_transcript": Case(_undecodable, ("not UTF-8", "0xff"), "transcript"),
    "nan_samples": Case(_nan_samples, ("NaN",)),
    "inf_samples": Case(_inf_samples, ("NaN or infinite",)),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_single_file(case, tmp_path, tiny_model_dir):
    """One line naming the file and the problem, exit 2, nothing written."""
    spec = BAD[case]
    folder = tmp_path / "in"
    audio, transcript = spec.build(folder, case)
    out = tmp_path / "out"
    result = cli(audio, transcript, "--model", tiny_model_dir, "-o", out, "-f",
                 "textgrid,json,csv,ctm")
    named = audio if spec.names == "audio" else transcript
    assert_one_line_error(result, 2, named.name, *spec.needles)
    assert outputs(tmp_path) == [] and leftovers(tmp_path) == []


def test_bad_inputs_inside_a_corpus_do_not_stop_the_batch(tmp_path, tiny_model_dir):
    """Every bad case in one corpus (spaces and non-ASCII in the folder names) beside two good
    recordings: the good ones are aligned, each bad one is reported with its file named, the
    run exits 1 and leaves no temporary file or partial output."""
    root, out = tmp_path / "my corpus é", tmp_path / "out dir ü"
    for case, spec in BAD.items():
        spec.build(root / "bad", case)
    _pair(root / "spk ä", "good one", speechlike(2.0, 8000), rate=8000)
    _pair(root / "spk ä", "good two", np.stack([speechlike(2.0, 96000)] * 3, axis=1), rate=96000)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "textgrid,json")
    assert result.exit_code == 1, result.output
    assert_no_traceback(result)
    assert "failed" in result.stdout and str(len(BAD)) in result.stdout
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    for good in ("spk ä/good one", "spk ä/good two"):
        assert rows[good]["status"] in ("aligned", "flagged"), rows[good]
        assert (out / f"{good}.TextGrid").exists() and (out / f"{good}.json").exists()
    for case, spec in BAD.items():
        row = rows[f"bad/{case}"]
        assert row["status"] == "failed", (case, row)
        reason = row["reason"]
        if case == "missing_transcript":  # nothing to name but the utterance itself
            assert "no transcript" in reason
        else:
            assert case in reason, (case, reason)
            for needle in spec.needles:
                assert needle in reason, (case, reason)
        assert not list((out / "bad").glob(f"{case}.*")) if (out / "bad").exists() else True
    assert leftovers(out) == []


# ----------------------------------------------------------------------------- unusual but fine

@pytest.mark.parametrize("rate,channels", [(8000, 1), (96000, 1), (16000, 32), (22050, 8)])
def test_extreme_rates_and_many_channels_align(tmp_path, tiny_model_dir, rate, channels):
    mono = speechlike(2.0, rate)
    data = mono if channels == 1 else np.stack([mono * (1 + c / channels)
                                                for c in range(channels)], axis=1)
    audio, transcript = _pair(tmp_path, "clip", data, rate=rate)
    result = cli(audio, transcript, "--model", tiny_model_dir, "-f", "json", "-q")
    assert result.exit_code == 0, result.output
    entries = json.loads((tmp_path / "clip.json").read_text())["tiers"]["words"]["entries"]
    assert [e[2] for e in entries] == GOOD_TEXT.split()
    assert json.loads((tmp_path / "clip.json").read_text())["end"] == pytest.approx(2.0, abs=1e-3)


def test_paths_with_spaces_and_non_ascii(tmp_path, tiny_model_dir):
    folder = tmp_path / "dossier été" / "日本 语"
    audio, transcript = _pair(folder, "clip ñ one", speechlike(1.5), text="héllo wörld")
    out = tmp_path / "sortie ü" / "x y.TextGrid"
    result = cli(audio, transcript, "--model", tiny_model_dir, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert out.exists() and "wörld" in out.read_text(encoding="utf-8")
    bad = folder / "ça ne va pas.wav"
    bad.write_bytes(b"nope")
    err = assert_one_line_error(cli(bad, transcript, "--model", tiny_model_dir), 2)
    assert "ça ne va pas.wav" in err


# ----------------------------------------------------------------------------- output folder

def test_missing_output_directory_is_created(tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    result = cli(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "a" / "b" / "c", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "b" / "c" / "allison.TextGrid").exists()
    root = tmp_path / "corpus"
    _pair(root, "u1", speechlike(1.0))
    result = cli(root, "-o", tmp_path / "x" / "y", "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0 and (tmp_path / "x" / "y" / "u1.TextGrid").exists()


def _deny_writes(monkeypatch, folder: Path) -> None:
    """Tests run as root, where chmod does not stop writes: make the folder read-only the way
    the aligner checks it (os.access), which is what a non-root user would see."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path).resolve() == folder.resolve() and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_read_only_output_directory(tmp_path, tiny_model_dir, example_pair, monkeypatch):
    wav, txt = example_pair
    ro = tmp_path / "readonly"
    ro.mkdir()
    _deny_writes(monkeypatch, ro)
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "-o", ro), 2,
                          "readonly", "not writable")
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "-o", ro / "sub" / "x.json"),
                          2, "readonly", "not writable")
    root = tmp_path / "corpus"
    _pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", ro, "--model", tiny_model_dir), 2, "readonly",
                          "not writable")
    assert list(ro.iterdir()) == []


def test_output_path_blocked_by_a_file(tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "-o", blocker / "x.TextGrid"),
                          2, "blocker", "not a directory")
    root = tmp_path / "corpus"
    _pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", blocker, "--model", tiny_model_dir), 2, "blocker",
                          "not a directory")


def test_unwritable_system_location_in_a_real_subprocess(tmp_path, tiny_model_dir, example_pair):
    """/proc refuses new files even to root: the real entry point says so in one line."""
    wav, txt = example_pair
    target = Path("/proc/self/ottc-out")
    done = subprocess.run([sys.executable, "-m", "aligner.cli", str(wav), str(txt), "--model",
                           str(tiny_model_dir), "-o", str(target / "x.TextGrid")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "ottc-out" in lines[0], lines


# ----------------------------------------------------------------------------- model and device

def _damaged_weights(tiny: Path, folder: Path) -> Path:
    (folder / "config.json").write_text((tiny / "config.json").read_text())
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    return folder / "model.safetensors"


def _truncated_weights(tiny: Path, folder: Path) -> Path:
    (folder / "config.json").write_text((tiny / "config.json").read_text())
    data = (tiny / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    return folder / "model.safetensors"


def _bad_json_config(tiny: Path, folder: Path) -> Path:
    (folder / "config.json").write_text("{not json")
    (folder / "model.safetensors").write_bytes((tiny / "model.safetensors").read_bytes())
    return folder / "config.json"


def _other_phone_set(tiny: Path, folder: Path) -> Path:
    cfg = json.loads((tiny / "config.json").read_text())
    cfg["n_classes" if "n_classes" in cfg else "phones"] = ["a", "b"] if "phones" in cfg else 7
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "model.safetensors").write_bytes((tiny / "model.safetensors").read_bytes())
    return folder / "config.json"


def _wrong_shapes(tiny: Path, folder: Path) -> Path:
    cfg = json.loads((tiny / "config.json").read_text())
    cfg["dim"] = 2 * cfg["dim"]
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "model.safetensors").write_bytes((tiny / "model.safetensors").read_bytes())
    return folder / "model.safetensors"


def _no_weights(tiny: Path, folder: Path) -> Path:
    (folder / "config.json").write_text((tiny / "config.json").read_text())
    return folder / "model.safetensors"


MODELS = {"damaged_weights": _damaged_weights, "truncated_weights": _truncated_weights,
          "bad_json_config": _bad_json_config, "other_phone_set": _other_phone_set,
          "wrong_shapes": _wrong_shapes, "no_weights": _no_weights}


@pytest.mark.parametrize("case", list(MODELS))
def test_damaged_or_incompatible_model(case, tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    folder = tmp_path / case
    folder.mkdir()
    named = MODELS[case](tiny_model_dir, folder)
    assert_one_line_error(cli(wav, txt, "--model", folder), 2, named.name, case)
    assert not (wav.parent / "allison.TextGrid").exists()
    root = tmp_path / "corpus"
    _pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", tmp_path / "out", "--model", folder), 2, named.name)
    assert outputs(tmp_path / "out") == []


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without GPU")
def test_cuda_requested_without_gpu(tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "--device", "cuda"), 2,
                          "--device cuda", "no CUDA GPU")
    root = tmp_path / "corpus"
    _pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir,
                              "--device", "cuda"), 2, "no CUDA GPU")


def _oom(*args, **kwargs):
    import torch

    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def test_out_of_memory_single_file(monkeypatch, tiny_model_dir, example_pair):
    from aligner.model import AcousticModel

    wav, txt = example_pair
    monkeypatch.setattr(AcousticModel, "forward", _oom)
    err = assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir), 1, "allison.wav",
                                "out of memory")
    assert "CPU" in err
    assert not (wav.parent / "allison.TextGrid").exists() and leftovers(wav.parent) == []


def test_out_of_memory_in_a_corpus_fails_each_utterance_and_goes_on(monkeypatch, tmp_path,
                                                                   tiny_model_dir):
    from aligner.model import AcousticModel

    root, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(3):
        _pair(root, f"u{i}", speechlike(1.0, seed=i))
    monkeypatch.setattr(AcousticModel, "forward", _oom)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 1 and "Traceback" not in result.output
    rows = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert len(rows) == 3
    for row in rows:
        assert row["status"] == "failed" and "out of memory" in row["reason"]
        assert f"{row['utterance']}.wav" in row["reason"]


def test_cuda_out_of_memory_falls_back_to_cpu(aligner, monkeypatch):
    """On a GPU an out-of-memory recording is redone on the CPU (same posteriors)."""
    import torch

    wave = speechlike(3.0)
    expected = aligner.encode(wave)
    real = type(aligner)._encode_on
    calls = []

    def on(self, model, w):
        calls.append("gpu" if model is self.model else "cpu copy")
        if model is self.model:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(self, model, w)

    monkeypatch.setattr(type(aligner), "_encode_on", on)
    monkeypatch.setattr(type(aligner), "device", property(lambda self: torch.device("cuda")))
    monkeypatch.setattr(aligner, "_cpu_model", None)
    encoded = aligner.encode(wave)
    assert calls == ["gpu", "cpu copy"]
    assert torch.allclose(encoded.log_probs, expected.log_probs)
    assert torch.allclose(encoded.weight_logits, expected.weight_logits)


# ----------------------------------------------------------------------------- flags

def _alignment(words, phones, duration):
    from aligner.alignment import Alignment, Interval

    return Alignment([Interval(*w) for w in words], [Interval(*p) for p in phones], duration)


def test_flag_rules():
    from aligner.checks import find_flags

    # ten two-phone words of 0.2 s, then one stretched over 6 s with a 5 s phone
    words, phones = [], []
    for i in range(10):
        t = 0.2 * i
        words.append((t, t + 0.2, f"w{i}", 0.9))
        phones += [(t, t + 0.1, "AA1", 0.9), (t + 0.1, t + 0.2, "B", 0.9)]
    words.append((2.0, 8.0, "there", 0.8))
    phones += [(2.0, 7.0, "EH1", 0.8), (7.0, 8.0, "R", 0.8)]
    flags = find_flags(_alignment(words, phones, 8.0))
    kinds = [f.kind for f in flags]
    assert kinds == ["long_word", "long_phone", "dominant_token"], kinds
    long_word = flags[0]
    assert (long_word.tier, long_word.label, long_word.start) == ("words", "there", 2.0)
    assert (flags[1].tier, flags[1].label) == ("phones", "EH1")
    assert flags[2].label == "there" and "of the speech time" in flags[2]
    # one word taking most of the speech without being over 4 s is still dominant
    words[-1], phones[-2:] = (2.0, 5.5, "there", 0.8), [(2.0, 2.9, "EH1", 0.8),
                                                        (2.9, 5.5, "R", 0.8)]
    assert "dominant_token" in [f.kind for f in find_flags(_alignment(words, phones, 5.5))]
    # low confidence everywhere: the transcript probably does not match
    low = _alignment([(0.0, 0.3, "hi", 0.001), (0.3, 0.6, "you", 0.0015)],
                     [(0.0, 0.3, "HH", 0.001), (0.3, 0.6, "Y", 0.0015)], 0.6)
    kinds = [f.kind for f in find_flags(low)]
    assert kinds.count("low_confidence") == 2 and "transcript_mismatch" in kinds
    good = _alignment([(0.0, 0.3, "hi", 0.9), (0.3, 0.6, "you", 0.8)],
                      [(0.0, 0.3, "HH", 0.9), (0.3, 0.6, "Y", 0.8)], 0.6)
    assert find_flags(good) == []


def _force_flag(monkeypatch):
    """Make every alignment carry one long_word flag on its first word (plumbing test: the
    rules themselves are tested above)."""
    import aligner.align as align_mod
    from aligner.checks import Flag

    def flags(alignment, thresholds=None):
        w = next(w for w in alignment.words if w.label)
        return [Flag("long_word", f"word '{w.label}' at {w.start:.3f}-{w.end:.3f} s lasts 9 s",
                     "words", w.start, w.end, w.label)]

    monkeypatch.setattr(align_mod, "find_flags", flags)


def test_flags_reach_summary_json_csv_and_report(monkeypatch, tmp_path, tiny_model_dir):
    _force_flag(monkeypatch)
    audio, transcript = _pair(tmp_path / "one", "clip", speechlike(2.0))
    result = cli(audio, transcript, "--model", tiny_model_dir, "-f", "json,csv")
    assert result.exit_code == 0, result.output
    assert "1 warning(s)" in result.stdout and "warnings: 1 long_word" in result.stdout
    assert "word 'hello'" in result.stdout  # a single flag is printed in full
    data = json.loads((tmp_path / "one" / "clip.json").read_text())
    assert [f["kind"] for f in data["flags"]] == ["long_word"]
    assert data["flags"][0]["label"] == "hello"
    rows = list(csv.DictReader(open(tmp_path / "one" / "clip.csv", encoding="utf-8")))
    assert [r["Flags"] for r in rows if r["Label"] == "hello" and r["Type"] == "words"] \
        == ["long_word"]

    root, out = tmp_path / "corpus", tmp_path / "out"
    _pair(root, "u1", speechlike(1.5))
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 0 and "aligned, flagged" in result.stdout
    assert "1 long_word" in result.stdout
    (row,) = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert row["status"] == "flagged" and "long_word" in row["flags"]


def _force_many_flags(monkeypatch):
    """One long_word flag, then a low_confidence flag on every word: more than the summary
    prints in full."""
    import aligner.align as align_mod
    from aligner.checks import Flag

    def flags(alignment, thresholds=None):
        words = [w for w in alignment.words if w.label]
        out = [Flag("long_word", f"word '{words[-1].label}' lasts 9 s", "words", words[-1].start,
                    words[-1].end, words[-1].label)]
        return out + [Flag("low_confidence", f"word '{w.label}' at {w.start:.3f} s confidence "
                           "0.01", "words", w.start, w.end, w.label) for w in words]

    monkeypatch.setattr(align_mod, "find_flags", flags)


def _lines(text: str, start: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(start)]


def test_many_flags_are_counted_not_listed(monkeypatch, tmp_path, tiny_model_dir):
    """A long recording can carry hundreds of flags: the summary counts them per kind, prints a
    few examples (one of each kind first) and says where the full list is; --verbose prints
    them all; --strict counts them too before failing."""
    _force_many_flags(monkeypatch)
    audio, transcript = _pair(tmp_path / "one", "clip", speechlike(2.0))  # 4 words: 5 flags
    result = cli(audio, transcript, "--model", tiny_model_dir, "-f", "textgrid,json")
    assert result.exit_code == 0, result.output
    assert "5 warning(s)" in result.stdout
    (counts,) = _lines(result.stdout, "warnings:")
    assert "1 long_word, 4 low_confidence" in counts and "clip.json" in counts
    examples = _lines(result.stdout, "warning:")
    assert len(examples) == 3 and "long_word" in examples[0] and "'hello'" in examples[1]
    assert len(json.loads((tmp_path / "one" / "clip.json").read_text())["flags"]) == 5

    result = cli(audio, transcript, "--model", tiny_model_dir)  # TextGrid only: no list
    assert "-f json or csv lists them all" in _lines(result.stdout, "warnings:")[0]
    result = cli(audio, transcript, "--model", tiny_model_dir, "--verbose")
    assert len(_lines(result.stdout, "warning:")) == 5 and "--verbose" not in result.stdout
    result = cli(audio, transcript, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0 and result.stdout == ""
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict", "-o", tmp_path / "s")
    assert result.exit_code == 1 and "1 long_word, 4 low_confidence" in result.stderr
    assert len(_lines(result.stderr, "flag:")) == 3 and not (tmp_path / "s").exists()


def test_corpus_summary_counts_flagged_utterances_as_aligned(monkeypatch, tmp_path,
                                                             tiny_model_dir):
    """'aligned 0 | flagged 2' read as if nothing was aligned: flagged utterances are counted
    as aligned, with how many of them have flags, the flags counted per kind."""
    _force_many_flags(monkeypatch)
    root, out = tmp_path / "corpus", tmp_path / "out"
    _pair(root, "u1", speechlike(1.5))
    _pair(root, "u2", speechlike(1.5))
    _pair(root, "bad", audio_bytes=b"not audio")
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 1, result.output
    (row,) = [line for line in result.stdout.splitlines() if line.count("│") == 6]
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["2", "2", "0", "1"]
    outcomes = {line.split("│")[1].strip(): line.split("│")[2].strip()
                for line in result.stdout.splitlines() if line.count("│") == 4}
    assert {k: outcomes[k] for k in ("bad", "u1", "u2")} == {
        "bad": "failed", "u1": "aligned, flagged", "u2": "aligned, flagged"}
    assert "2 aligned utterance(s) have flags" in result.stdout
    assert "2 long_word, 8 low_confidence" in result.stdout
    assert "u1: low_confidence" not in result.stdout
    assert (out / "u1.TextGrid").exists() and (out / "u2.TextGrid").exists()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--overwrite", "--verbose")
    assert len([line for line in result.stdout.splitlines() if "u1: low_confidence" in line]) == 4
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--overwrite", "-q")
    assert result.stdout == "" and _lines(result.stderr, "failed:")[0].startswith("failed: bad")


def test_strict_turns_flags_into_failures(monkeypatch, tmp_path, tiny_model_dir):
    _force_flag(monkeypatch)
    audio, transcript = _pair(tmp_path / "one", "clip", speechlike(2.0))
    result = cli(audio, transcript, "--model", tiny_model_dir, "--strict")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "clip.wav" in result.stderr and "--strict" in result.stderr
    assert outputs(tmp_path / "one") == []
    root, out = tmp_path / "corpus", tmp_path / "out"
    _pair(root, "u1", speechlike(1.5))
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--strict", "-q")
    assert result.exit_code == 1 and "u1" in result.stderr
    (row,) = list(csv.DictReader(open(out / "alignment_report.csv", encoding="utf-8")))
    assert row["status"] == "failed" and "--strict" in row["reason"]
    assert outputs(out) == []


# ----------------------------------------------------------------------------- atomic outputs

def test_outputs_get_the_normal_file_mode(tmp_path, tiny_model_dir, example_pair):
    """mkstemp makes 0600 files; outputs must get 0666 minus the umask like any other file."""
    wav, txt = example_pair
    old = os.umask(0o022)
    try:
        result = cli(wav, txt, "--model", tiny_model_dir, "-f", "textgrid,json,csv,ctm", "-q")
        assert result.exit_code == 0, result.output
        for path in outputs(wav.parent):
            assert (path.stat().st_mode & 0o777) == 0o644, path
        os.umask(0o002)
        from aligner.atomic import atomic_open

        with atomic_open(tmp_path / "g.txt") as handle:
            handle.write("x")
        assert (tmp_path / "g.txt").stat().st_mode & 0o777 == 0o664
        (tmp_path / "g.txt").chmod(0o600)  # an existing file keeps its mode, as with open()
        with atomic_open(tmp_path / "g.txt") as handle:
            handle.write("y")
        assert (tmp_path / "g.txt").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_failed_write_leaves_nothing(tmp_path):
    from aligner.atomic import atomic_open

    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("crash in the middle")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporary_files_are_removed_but_live_ones_kept(tmp_path):
    from aligner.atomic import clean_stale_temps

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "a").mkdir()
    stale = tmp_path / "a" / f".u1.TextGrid.{dead}.abc123_x.tmp"
    live = tmp_path / "a" / f".u2.TextGrid.{os.getpid()}.zzz999_y.tmp"
    other = tmp_path / "a" / ".keep.tmp"  # not ours: never touched
    for p in (stale, live, other):
        p.write_text("partial")
    assert clean_stale_temps(tmp_path) == [stale]
    assert live.exists() and other.exists() and not stale.exists()


# ----------------------------------------------------------------------------- plots

def test_corpus_plots_one_png_per_utterance(tmp_path, tiny_model_dir):
    root, out = tmp_path / "corpus", tmp_path / "out"
    _pair(root / "s1", "u1", speechlike(1.5))
    _pair(root / "s2", "u 2", speechlike(1.2, 8000), rate=8000)
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--plots", "-q")
    assert result.exit_code == 0, result.output
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert pngs == ["s1/u1.png", "s2/u 2.png"]
    for p in out.rglob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a missing PNG means the utterance is not finished: only that one is redone
    (out / "s2" / "u 2.png").unlink()
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--plots")
    assert result.exit_code == 0 and (out / "s2" / "u 2.png").exists()
    rows = {r["utterance"]: r["status"] for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    assert rows["s1/u1"] == "skipped" and rows["s2/u 2"] in ("aligned", "flagged")


def test_plots_without_matplotlib(tmp_path, tiny_model_dir, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    root = tmp_path / "corpus"
    _pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir,
                              "--plots"), 2, "matplotlib")


# ----------------------------------------------------------------------------- a 2-hour file

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


# ----------------------------------------------------------------------------- wrong transcript

MISMATCH_TEXTS = {"a": "she sells sea shells by the sea shore",
                  "b": "a good dog bit a big bad rat",
                  "c": "we owe you more money now"}


@pytest.fixture(scope="module")
def trained_model_dir(tmp_path_factory) -> Path:
    """A small OTTC model trained for a few seconds on three espeak-ng utterances: enough to
    know which phones are in which recording, so a wrong transcript shows in the confidence.
    (The tiny random model of conftest cannot tell; the shipped model is not needed.)"""
    import shutil

    import torch

    from aligner.align import Aligner
    from aligner.audio import load_audio
    from aligner.features import log_mel
    from aligner.model import AcousticModel, ModelConfig, save_model
    from aligner.ottc import ottc_loss
    from aligner.targets import build_targets
    from aligner.text.phones import phone_ids

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (this test synthesises its speech with it)")
    folder = tmp_path_factory.mktemp("mismatch")
    for key, text in MISMATCH_TEXTS.items():
        subprocess.run(["espeak-ng", "-w", str(folder / f"{key}.wav"), text], check=True)
        (folder / f"{key}.lab").write_text(text, encoding="utf-8")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = ModelConfig(fine_dim=32, dim=48, expand=1, blocks=2, dilations=[1, 2], dropout=0.0,
                      name="mismatch-test")
    model = AcousticModel(cfg)
    helper = Aligner(model)
    feats, targets = [], []
    for key, text in MISMATCH_TEXTS.items():
        wave = load_audio(folder / f"{key}.wav")
        feats.append(log_mel(torch.from_numpy(wave), cfg.feature_config))
        prepared = helper.prepare_text(text)
        targets.append(build_targets([phone_ids(p) for p in prepared.phones], cfg.sil_mass))
    n, t_max, s_max = len(feats), max(f.shape[0] for f in feats), max(len(t.tokens) for t in targets)
    x = torch.zeros(n, t_max, feats[0].shape[1])
    y = torch.ones(n, s_max, dtype=torch.long)
    beta = torch.zeros(n, s_max, dtype=torch.float64)
    for i, (f, t) in enumerate(zip(feats, targets)):
        x[i, : f.shape[0]], y[i, : len(t.tokens)], beta[i, : len(t.tokens)] = f, t.tokens, t.beta
    lengths = torch.tensor([f.shape[0] for f in feats])
    target_lengths = torch.tensor([len(t.tokens) for t in targets])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(200):
        log_probs, weight_logits = model(x, lengths)
        loss = ottc_loss(log_probs, weight_logits, y, lengths, target_lengths, beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    save_model(model.eval(), folder / "model")
    return folder


def test_mismatched_transcript_is_flagged(trained_model_dir, tmp_path):
    """Utterance A's audio with utterance B's text: aligned (an aligner always can) but flagged
    transcript_mismatch, in the summary, the JSON, the corpus report, and failed with --strict;
    the right transcript is not flagged."""
    data, model = trained_model_dir, trained_model_dir / "model"
    result = cli(data / "a.wav", data / "a.lab", "--model", model, "-o", tmp_path / "right.json")
    assert result.exit_code == 0 and "0 warning(s)" in result.stdout, result.output
    assert json.loads((tmp_path / "right.json").read_text())["flags"] == []

    result = cli(data / "a.wav", data / "b.lab", "--model", model, "-o", tmp_path / "wrong.json")
    assert result.exit_code == 0, result.output
    assert "transcript_mismatch" in result.stdout and "may not match the audio" in result.stdout
    flags = json.loads((tmp_path / "wrong.json").read_text())["flags"]
    assert "transcript_mismatch" in [f["kind"] for f in flags]

    result = cli(data / "a.wav", data / "b.lab", "--model", model, "--strict",
                 "-o", tmp_path / "strict.json")
    assert result.exit_code == 1 and "--strict" in result.stderr and "a.wav" in result.stderr
    assert not (tmp_path / "strict.json").exists()

    root, out = tmp_path / "corpus", tmp_path / "out"
    root.mkdir()
    for audio_key, text_key in (("a", "a"), ("b", "c"), ("c", "a")):
        (root / f"{audio_key}.wav").write_bytes((data / f"{audio_key}.wav").read_bytes())
        (root / f"{audio_key}.lab").write_text(MISMATCH_TEXTS[text_key], encoding="utf-8")
    result = cli(root, "-o", out, "--model", model, "-q")
    assert result.exit_code == 0, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(
        open(out / "alignment_report.csv", encoding="utf-8"))}
    assert rows["a"]["status"] == "aligned" and rows["a"]["flags"] == ""
    for name in ("b", "c"):
        assert rows[name]["status"] == "flagged" and "transcript_mismatch" in rows[name]["flags"]
