"""The command line's error contract: each bad input of a single-file run, a damaged or
incompatible model, a missing GPU, running out of memory and `--plots` without matplotlib give
exit code 2 (1 for out-of-memory) and one `error:` line on stderr naming the file and the
problem, with no traceback and no output or temporary file left. The same bad inputs inside a
corpus: tests/test_runner.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bad_inputs import BAD
from cli_helpers import (assert_one_line_error, cli, cuda_out_of_memory, leftovers, outputs,
                         write_pair)
from conftest import speechlike


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


def test_paths_with_spaces_and_non_ascii(tmp_path, tiny_model_dir):
    folder = tmp_path / "dossier été" / "日本 语"
    audio, transcript = write_pair(folder, "clip ñ one", speechlike(1.5), text="héllo wörld")
    out = tmp_path / "sortie ü" / "x y.TextGrid"
    result = cli(audio, transcript, "--model", tiny_model_dir, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert out.exists() and "wörld" in out.read_text(encoding="utf-8")
    bad = folder / "ça ne va pas.wav"
    bad.write_bytes(b"nope")
    err = assert_one_line_error(cli(bad, transcript, "--model", tiny_model_dir), 2)
    assert "ça ne va pas.wav" in err


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
    write_pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", tmp_path / "out", "--model", folder), 2, named.name)
    assert outputs(tmp_path / "out") == []


def test_audio_and_transcript_given_the_wrong_way_round(tmp_path, tiny_model_dir, example_pair):
    """`ottc-align x.txt x.wav` said the .txt was not a readable audio file; it says which to
    give first, and writes nothing."""
    audio, transcript = example_pair
    result = cli(transcript, audio, "--model", tiny_model_dir, "-o", tmp_path / "x.TextGrid")
    err = assert_one_line_error(result, 2, str(transcript), "give the audio first")
    assert "AUDIO TRANSCRIPT" in err and not (tmp_path / "x.TextGrid").exists()


def test_words_given_in_place_of_a_transcript_file_say_how_to_give_them(tmp_path, tiny_model_dir,
                                                                     example_pair):
    """`ottc-align x.wav "the words"` said only "transcript not found"."""
    audio, _ = example_pair
    result = cli(audio, "please say match", "--model", tiny_model_dir, "-o", tmp_path / "x.json")
    err = assert_one_line_error(result, 2, "please say match", "transcript not found")
    assert "echo" in err and not (tmp_path / "x.json").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without GPU")
def test_cuda_requested_without_gpu(tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "--device", "cuda"), 2,
                          "device 'cuda'", "no CUDA GPU")
    root = tmp_path / "corpus"
    write_pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir,
                              "--device", "cuda"), 2, "no CUDA GPU")
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_out_of_memory_single_file(monkeypatch, tiny_model_dir, example_pair):
    from aligner.model import AcousticModel

    wav, txt = example_pair
    monkeypatch.setattr(AcousticModel, "forward", cuda_out_of_memory)
    err = assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir), 1, "allison.wav",
                                "out of memory")
    assert "CPU" in err
    assert not (wav.parent / "allison.TextGrid").exists() and leftovers(wav.parent) == []


# ----------------------------------------------------------------------------- plots

def test_plots_without_matplotlib(tmp_path, tiny_model_dir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails, as uninstalled
    root = tmp_path / "corpus"
    write_pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", tmp_path / "out", "--model", tiny_model_dir,
                              "--plots"), 2, "matplotlib")



@pytest.mark.parametrize("args,needles", [
    (["--clean"], ["--clean is an MFA option", "--overwrite"]),  # click guessed --cues
    (["--output_format", "json"], ["--output_format is an MFA option", "--format"]),
    (["--beam=100"], ["--beam is an MFA option", "no beam"]),
    (["--min-pause", "30"], ["--min-pause 30 is in seconds", "0.03"]),  # every pause was closed
    (["--fine_tune"], ["--fine_tune is an MFA option", "no second pass"]),
    (["--temporary_directory", "/tmp"], ["--temporary_directory is an MFA option"]),
])
def test_habits_from_mfa_and_milliseconds_get_a_line_saying_what_to_type(args, needles, tmp_path,
                                                                        example_pair):
    audio, transcript = example_pair
    result = cli(audio, transcript, "-o", tmp_path / "out.TextGrid", *args)
    assert_one_line_error(result, 2, *needles)
    assert not (tmp_path / "out.TextGrid").exists()


def test_mfa_s_positional_order_and_model_files_say_what_to_type(tmp_path):
    """`align CORPUS DICTIONARY MODEL OUTPUT` and `validate CORPUS DICTIONARY` got click's bare
    "Got unexpected extra argument(s)"; `--model english_us_arpa.zip` "model directory not
    found" though the file was there."""
    corpus = tmp_path / "corpus"
    write_pair(corpus, "u1", speechlike(1.0))
    dictionary = tmp_path / "english.dict"
    dictionary.write_text("hello HH AH0 L OW1\n", encoding="utf-8")
    result = cli("align", corpus, dictionary, "english_us_arpa", tmp_path / "out")
    assert_one_line_error(result, 2, "MFA's order (align CORPUS DICTIONARY MODEL OUTPUT)",
                          "-o OUTPUT --dictionary FILE")
    assert not (tmp_path / "out").exists()
    assert_one_line_error(cli("validate", corpus, dictionary), 2,
                          "MFA's order (validate CORPUS DICTIONARY)", "--dictionary FILE")
    model = tmp_path / "english_us_arpa.zip"
    model.write_bytes(b"PK\x03\x04")
    assert_one_line_error(cli(corpus, "-o", tmp_path / "out", "--model", model), 2,
                          "an MFA acoustic model (.zip)")


def test_a_textgrid_corrected_by_hand_is_kept_under_a_backup_name(tmp_path, tiny_model_dir,
                                                                   example_pair):
    """`ottc-align x.wav` again after correcting x.TextGrid in Praat replaced the corrections
    without a word. Now the corrected file is kept as x.TextGrid.~1~ (and said so); a rerun
    that writes the same file, or one after the transcript was fixed (the output is then older
    than it), replaces it as before; --overwrite always. With -o x.ctm its phones file too."""
    import os

    audio, transcript = example_pair
    out = audio.with_suffix(".TextGrid")
    args = [audio, transcript, "--model", tiny_model_dir]
    assert cli(*args).exit_code == 0
    first = out.read_text(encoding="utf-8")
    again = cli(*args)
    assert again.exit_code == 0 and "kept the earlier" not in again.stderr  # the same again
    edited = first.replace('text = "passwords"', 'text = "password"')
    assert edited != first
    out.write_text(edited, encoding="utf-8")
    result = cli(*args, "--min-pause", "0.05")  # other settings too: the file is kept
    assert result.exit_code == 0 and "kept the earlier" in result.stderr, result.output
    assert (out.parent / "allison.TextGrid.~1~").read_text(encoding="utf-8") == edited
    out.write_text(edited, encoding="utf-8")
    assert cli(*args).exit_code == 0
    assert (out.parent / "allison.TextGrid.~2~").read_text(encoding="utf-8") == edited
    out.write_text(edited, encoding="utf-8")
    assert cli(*args, "--overwrite").exit_code == 0 and out.read_text(encoding="utf-8") == first
    assert not (out.parent / "allison.TextGrid.~3~").exists()
    out.write_text(edited, encoding="utf-8")
    later = out.stat().st_mtime + 5  # the transcript fixed after the correction: stale
    os.utime(transcript, (later, later))
    assert cli(*args).exit_code == 0 and out.read_text(encoding="utf-8") == first
    assert not (out.parent / "allison.TextGrid.~3~").exists()
    # older than its inputs but of the same words: a corrected file copied with the corpus
    # (`cp -r` left it older than the recording by moments), not a stale one
    phone_fixed = first.replace('text = "P"', 'text = "B"', 1)
    assert phone_fixed != first
    out.write_text(phone_fixed, encoding="utf-8")
    os.utime(out, (later - 10, later - 10))
    result = cli(*args)
    assert result.exit_code == 0 and "kept the earlier" in result.stderr, result.output
    assert (out.parent / "allison.TextGrid.~3~").read_text(encoding="utf-8") == phone_fixed
    ctm = tmp_path / "w.ctm"
    assert cli(*args, "-o", ctm).exit_code == 0
    phones = tmp_path / "w.phones.ctm"
    phones.write_text(phones.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    os.utime(phones, (later + 5, later + 5))
    assert cli(*args, "-o", ctm).exit_code == 0
    assert (tmp_path / "w.phones.ctm.~1~").read_text(encoding="utf-8").endswith("edited\n")


def test_an_unreadable_input_is_our_one_line_error_not_a_usage_box(tmp_path, monkeypatch,
                                                                   tiny_model_dir):
    """Typer's own check of a path's read permission printed the usage and a boxed "Invalid
    value"; the file is left to the readers, whose errors name it in one line. As root, the
    file opens all the same, so here the run goes on (permission simulated by os.access)."""
    import os

    from cli_helpers import cli, write_pair

    audio, transcript = write_pair(tmp_path, "x", speechlike(1.0))
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
        False if Path(path).name in ("x.wav", "x.lab") else access(path, mode, **kw)))
    result = cli(audio, transcript, "-o", tmp_path / "x.TextGrid", "--model", tiny_model_dir)
    assert result.exit_code == 0 and "Invalid value" not in result.output, result.output
