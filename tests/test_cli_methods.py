"""`--method` on the command line: its choices and default come from the decoder table
(aligner/decode.py), a model that cannot use a method says so in one line, and the table is
read only by the commands that decode (the CLI starts without importing torch)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from aligner.cli import app
from aligner.decode import DECODERS, DEFAULT_METHOD
from conftest import EXAMPLE_TXT, EXAMPLE_WAV

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def ctc_model_dir(tmp_path_factory):
    """A randomly initialised model trained with the CTC loss (no frame weights)."""
    import torch

    from aligner.model import AcousticModel, ModelConfig, save_model

    torch.manual_seed(0)
    model = AcousticModel(ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                                      loss="ctc", name="tiny-ctc"))
    path = tmp_path_factory.mktemp("models") / "ctc"
    save_model(model.eval(), path)
    return path


def test_help_lists_the_table():
    for command in ("align", "plot"):
        help_text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        out = " ".join(help_text.replace("│", " ").split())  # the columns unwrapped
        assert all(f"{name} ({d.summary}" in out for name, d in DECODERS.items()), out
        assert f"[default: {DEFAULT_METHOD}]" in out


def test_the_default_method_is_the_tables(tiny_model_dir, tmp_path):
    m = ("--model", tiny_model_dir, "--device", "cpu", "-f", "json")
    assert run(EXAMPLE_WAV, EXAMPLE_TXT, *m, "-o", tmp_path / "default.json").exit_code == 0
    assert run(EXAMPLE_WAV, EXAMPLE_TXT, *m, "-o", tmp_path / "named.json",
               "--method", DEFAULT_METHOD).exit_code == 0
    other = next(name for name in DECODERS if name != DEFAULT_METHOD)
    assert run(EXAMPLE_WAV, EXAMPLE_TXT, *m, "-o", tmp_path / "other.json",
               "--method", other).exit_code == 0
    default, named, different = (json.loads((tmp_path / f"{n}.json").read_text())
                                 for n in ("default", "named", "other"))
    assert default == named != different


def test_a_ctc_model_asked_for_ot_is_a_usage_error(ctc_model_dir, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.wav").write_bytes(EXAMPLE_WAV.read_bytes())
    (corpus / "a.txt").write_text(EXAMPLE_TXT.read_text())
    m = ("--model", ctc_model_dir, "--device", "cpu", "--method", "ot")
    for result in (run(EXAMPLE_WAV, EXAMPLE_TXT, *m, "-o", tmp_path / "x.json"),
                   run(corpus, *m, "-o", tmp_path / "out")):
        assert result.exit_code == 2, result.output
        err = result.stderr.strip()
        assert err.startswith("error: --method:") and len(err.splitlines()) == 1, err
        assert "'ot' needs an OTTC model's frame weights" in err and "supports viterbi" in err
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "out" / "a.TextGrid").exists()
    ok = run(EXAMPLE_WAV, EXAMPLE_TXT, "--model", ctc_model_dir, "--device", "cpu",
             "-o", tmp_path / "ctc.json")
    assert ok.exit_code == 0, ok.output


def test_the_cli_starts_without_torch():
    """Reading the table imports torch (seconds): only a command that decodes pays for it."""
    code = "import sys, aligner.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
