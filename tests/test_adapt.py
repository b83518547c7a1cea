"""`ottc-align adapt`: the adaptation run's configuration, the step budget and length cap it
relies on in the training loop, and the command end to end on the tiny tone corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from aligner.adapt import ADAPT_MIN_UTTERANCES, ADAPT_VITERBI_WEIGHT, adaptation_config, small_corpus_warning
from aligner.train import TrainError, train
from tests.test_train import _cfg, _tone_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _tone_corpus(tmp_path_factory.mktemp("tones"), with_gold=True)


@pytest.fixture(scope="module")
def base_model(corpus, tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("base")
    cfg = _cfg(tmp, corpus, "base", epochs=4, states=2)
    train(cfg, echo=lambda line: None)
    return Path(cfg.output)


def test_adaptation_config_is_hard_em_from_the_base_model(tmp_path):
    cfg = adaptation_config([tmp_path / "c"], tmp_path / "out", tmp_path / "base", tmp_path / "w",
                            steps=123)
    assert cfg.init == str(tmp_path / "base") and cfg.loss == "ottc"
    assert cfg.steps == 123 and cfg.viterbi_aux == ADAPT_VITERBI_WEIGHT > 1
    assert cfg.dev == [] and cfg.short_first is False
    assert cfg.cache_dir == str(tmp_path / "w" / "features")
    for bad in ({"steps": 0}, {"lr": 0.0}, {"viterbi_weight": -1.0}):
        with pytest.raises(ValueError):
            adaptation_config([tmp_path], tmp_path / "o", tmp_path / "b", tmp_path / "w", **bad)


def test_small_corpora_get_a_warning():
    assert small_corpus_warning(ADAPT_MIN_UTTERANCES) is None
    assert "only 3 recording(s)" in small_corpus_warning(3)


def test_step_budget_replaces_epochs(corpus, tmp_path):
    # 8 utterances with max_frames 900 make several batches per epoch; a budget of 7 steps
    # must run whole epochs until at least 7 steps are done, whatever `epochs` says
    cfg = _cfg(tmp_path, corpus, "budget", epochs=50, steps=7)
    summary = train(cfg, echo=lambda line: None)
    steps = [h["step"] for h in summary["history"]]
    per_epoch = steps[0]
    assert len(steps) == math.ceil(7 / per_epoch) < 50
    assert 7 <= steps[-1] < 7 + per_epoch


def test_long_utterances_are_left_out_and_all_too_long_is_an_error(corpus, tmp_path):
    lines: list[str] = []
    cfg = _cfg(tmp_path, corpus, "cap", epochs=1, max_steps=1, max_utterance_s=0.83)
    summary = train(cfg, echo=lines.append)
    assert 0 < summary["utterances"] < 8
    assert any("left out" in line and "longer than 0.83 s" in line for line in lines)
    with pytest.raises(TrainError, match="every utterance is longer than 0.1 s"):
        train(_cfg(tmp_path, corpus, "cap2", epochs=1, max_utterance_s=0.1), echo=lambda line: None)


def test_cli_adapts_a_model_that_then_aligns(corpus, base_model, tmp_path):
    from typer.testing import CliRunner

    from aligner.align import Aligner
    from aligner.cli import app

    out = tmp_path / "adapted"
    result = CliRunner().invoke(app, ["adapt", str(corpus), "-o", str(out), "--model", str(base_model),
                                      "--steps", "3", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "align with" in result.output
    assert "warning: only 8 recording(s) to adapt to" in result.output  # the tone corpus is tiny
    config = json.loads((out / "config.json").read_text())
    assert config["name"].endswith("-adapted") and config["states"] == 2
    card = (out / "MODEL_CARD.md").read_text()
    assert card.splitlines()[2].startswith(f"Adapted with `ottc-align adapt` from `{base_model}`: 3 steps")
    ckpt = torch.load(tmp_path / "adapted-train" / "checkpoint.pt", weights_only=False)
    assert ckpt["train_config"]["viterbi_aux"] == ADAPT_VITERBI_WEIGHT and ckpt["step"] >= 3
    from aligner.model import load_model

    before, after = load_model(base_model).state_dict(), load_model(out).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    result = Aligner.load(out).align(next(corpus.glob("*/u0.wav")), "bee see dough")
    assert [w.label for w in result.words if w.label] == ["bee", "see", "dough"]


@pytest.mark.parametrize("args,message", [
    (["--steps", "0"], "--steps must be at least 1"),
    (["--model", "no-such-model"], "no-such-model"),
])
def test_cli_bad_options_are_one_line_errors(corpus, tmp_path, args, message):
    from typer.testing import CliRunner

    from aligner.cli import app

    result = CliRunner().invoke(app, ["adapt", str(corpus), "-o", str(tmp_path / "m"), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_cli_empty_corpus_is_a_one_line_error(base_model, tmp_path):
    from typer.testing import CliRunner

    from aligner.cli import app

    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["adapt", str(tmp_path / "empty"), "-o", str(tmp_path / "m"),
                                      "--model", str(base_model)])
    assert result.exit_code == 2
    assert "no recordings with transcripts" in result.output and "Traceback" not in result.output
