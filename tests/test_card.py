"""aligner/card.py: the model card's first line follows the training config's purpose (not the
model's name), its tables and sections render alike for every writer, and a card is written
whole."""

from __future__ import annotations

from pathlib import Path

from aligner.card import (CARD_FILE, held_out_section, origin, read_card, render, section, table,
                          training_card, write_card)


def _config(**kw) -> dict:
    tc = {"name": "ottc-english", "loss": "ottc", "corpora": ["corpus/train"], "dev": [], "init": None,
          "steps": None, "max_minutes": None, "viterbi_aux": 0.0, "purpose": "train"}
    tc.update(kw)
    return tc


def _summary(history: list[dict], **kw) -> dict:
    return {"train_config": _config(**kw), "history": history, "utterances": 12, "hours": 0.5,
            "parameters": 1234, "command": "ottc-align train corpus", "steps_run": None}


def _epoch(k: int, dev: dict | None = None) -> dict:
    return {"epoch": k, "step": 10 * k, "train_loss": 1.0 / k, "epoch_s": 1.0, "elapsed_s": 60.0 * k,
            "dev": dev or {}}


def test_origin_follows_the_purpose_not_the_name():
    adapted = _config(name="ottc-english-adapted", init="models/english", steps=500, viterbi_aux=20.0,
                      max_minutes=10.0, purpose="adapt")
    assert origin(adapted) == ("Adapted with `ottc-align adapt` from `models/english`: 500 steps, "
                               "hard-EM weight 20, transcripts only.")
    assert "120 of 500 steps (time budget 10 min)" in origin(adapted, steps_run=120)
    # A fine-tune that happens to be named like an adapted model is a training run.
    trained = {**adapted, "purpose": "train"}
    assert origin(trained) == "Trained with `ottc-align train`, starting from `models/english`."
    assert origin(_config()) == "Trained with `ottc-align train`."


def test_training_card_rows_per_epoch_and_method():
    m = {"within_20ms": 0.5, "mean_ms": 12.34, "f1": 0.9, "idr": 0.8, "hyp_silence_share": 0.25}
    lines = training_card(_summary([_epoch(1), _epoch(2, {"ot": m, "viterbi": {**m, "within_20ms": None}})]))
    assert lines[:3] == ["# ottc-english (ottc)", "", "Trained with `ottc-align train`."]
    assert "- Epochs run: 2; training time 2.0 min" in lines
    assert lines[-4:] == ["| 1 | 1.0000 | - | | | | | |",
                          "| 2 | 0.5000 | ot | 50.0% | 12.3 | 0.900 | 0.800 | 25.0% |",
                          "| 2 | 0.5000 | viterbi | 0.0% | 12.3 | 0.900 | 0.800 | 25.0% |", ""]


def test_many_epochs_without_dev_figures_are_thinned_keeping_the_last():
    lines = training_card(_summary([_epoch(k) for k in range(1, 101)], purpose="adapt", init="base",
                                   steps=500, name="x-adapted"))
    shown = [int(line.split(" | ")[0][2:]) for line in lines if line.startswith("| ") and "| - |" in line]
    assert shown == list(range(1, 101, 5)) + [100]
    assert lines[2].startswith("Adapted with `ottc-align adapt` from `base`: 500 steps")


def test_tables_and_sections_render_the_same_everywhere():
    assert table(["a", "b"], [["1", ""], ["", "2"]]) == ["| a | b |", "|---|---|", "| 1 | |", "| | 2 |"]
    assert section("Limits", ["- one"]) == ["## Limits", "", "- one", ""]
    assert render(["# t", "", *section("S", ["x"])]) == "# t\n\n## S\n\nx\n"  # one newline at the end


class _Check:
    adapted_is_better = False

    def describe(self) -> str:
        return "mean word confidence 0.70 -> 0.60"


def test_held_out_section_is_added_below_a_card_written_whole(tmp_path):
    base, out = tmp_path / "base", tmp_path / "out"
    write_card(base, ["# base", "", "text"])
    assert (base / CARD_FILE).read_text() == "# base\n\ntext\n"
    write_card(out, [*read_card(base), "", *held_out_section(_Check(), Path("models/english"))])
    text = (out / CARD_FILE).read_text()
    assert text.startswith("# base\n\ntext\n\n## Held-out check (`ottc-align adapt`)\n\nBase -> adapted model: "
                           "mean word confidence 0.70 -> 0.60; adapting did not help, so this is the "
                           "model it started from (`models/english`).")
    assert text.endswith("kind of recording.\n")
    assert [p.name for p in out.iterdir()] == [CARD_FILE]  # no temporary file left behind
    assert read_card(tmp_path / "none") == []
