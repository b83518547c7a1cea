"""recipes/train/export.py: a training run exported with its weights, measured figures and model
card (the card's sections come from aligner/card.py, as train's and adapt's do)."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from safetensors.torch import load_file

from aligner.train import train
from recipes.train import export
from tests.test_train import TINY, _cfg, _tone_corpus


def test_export_writes_weights_metrics_and_card(tmp_path, monkeypatch, capsys):
    torch.set_num_threads(1)
    corpus = _tone_corpus(tmp_path / "tones", with_gold=True)
    cfg = _cfg(tmp_path, corpus, "run", epochs=2, dev=[str(corpus)], dev_limit=4)
    train(cfg, echo=lambda line: None)
    out = tmp_path / "export"
    monkeypatch.setattr(sys, "argv", ["export.py", "--run", cfg.work_dir, "--out", str(out), "--dev",
                                      str(corpus), "--test", str(corpus), "--threads", "1"])
    export.main()

    best, shipped = (load_file(str(d / "model.safetensors")) for d in (tmp_path / "run" / "work" / "best", out))
    assert all(torch.equal(best[k], shipped[k]) for k in best)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["ottc"]) == {"dev (seen voices)", "test (unseen voices)"}
    card = (out / "MODEL_CARD.md").read_text()
    assert capsys.readouterr().out == card + "\n"
    lines = card.splitlines()
    assert [line for line in lines if line.startswith("## ")] == [
        "## Model", "## Training",
        "## Measured accuracy (phone boundaries, cmu39 folding, all utterances of each split)",
        "## Against the product target", "## Dev metrics per epoch (4 dev utterances)", "## Limits"]
    assert len([line for line in lines if line.startswith("| test (unseen voices) | OTTC")]) == 2  # ot, viterbi
    assert len([line for line in lines if line.startswith("| 1 | ")]) == 2 * 2  # 2 epochs x 2 methods
    assert f"--run {cfg.work_dir} --which best --out {out} --dev {corpus} --test {corpus}`" in card
    assert card.endswith("(CMUdict's 39 ARPAbet phones).\n")
    # the training command rebuilds this network: its architecture and augmentation are in it
    assert f"--arch '{json.dumps(TINY, separators=(', ', ': '))}'" in card and "--no-augment" in card

    page = tmp_path / "real_speech.md"
    page.write_text("# Real speech: x\n\nModel m.\n\n## Sets\n\n### Gold\n\n| set | w20 |\n|---|---|\n"
                    "| emuR | 75% |\n")
    assert json.loads((out / "config.json").read_text()).get("norm_local_s", 0.0) == 0.0
    monkeypatch.setattr(sys, "argv", [*sys.argv, "--real-speech", str(page), "--norm-local-s", "4"])
    export.main()
    assert json.loads((out / "config.json").read_text())["norm_local_s"] == 4.0  # an inference setting
    reexported = load_file(str(out / "model.safetensors"))
    assert all(torch.equal(best[k], reexported[k]) for k in best)
    lines = (out / "MODEL_CARD.md").read_text().splitlines()
    assert any("(statistics from 4 s either side of each frame)" in line for line in lines)
    assert [line for line in lines if line.startswith("## ")][0] == (
        "## Real speech (the figures to trust), beside pocketsphinx 5")
    assert "#### Gold" in lines and "### Sets" in lines and "| emuR | 75% |" in lines
    assert "# Real speech: x" not in lines
    assert any(f"--real-speech {page} --norm-local-s 4` (" in line for line in lines)  # the command run


def test_export_refuses_a_missing_real_speech_page_before_measuring(tmp_path, monkeypatch, capsys):
    """A wrong --real-speech path stops at once (exit 2, one line), not after minutes of
    measuring with the weights already copied."""
    out = tmp_path / "export"
    monkeypatch.setattr(sys, "argv", ["export.py", "--run", str(tmp_path / "run"), "--out", str(out),
                                      "--dev", "d", "--test", "t", "--real-speech",
                                      str(tmp_path / "missing.md")])
    with pytest.raises(SystemExit) as exit_info:
        export.main()
    assert exit_info.value.code == 2
    assert "missing.md: no such file" in capsys.readouterr().err
    assert not out.exists()
