"""MODEL_CARD.md: how a model came to be and what it measured, kept beside its weights.

Why one module: `ottc-align train` and `ottc-align adapt` write a card from the training summary,
`adapt` adds its held-out check to whichever model it keeps, and recipes/train/export.py writes
the shipped model's longer card from the same pieces (sections, tables, per-epoch dev rows), so
every card reads alike and is written the same way (all or nothing). Plain text: no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from aligner.atomic import atomic_open

if TYPE_CHECKING:
    from aligner.adapt import GoldCheck, HeldOutCheck

CARD_FILE = "MODEL_CARD.md"
ADAPT_SHOWN_EPOCHS = 20  # an adaptation runs many tiny epochs: the card shows about this many
EPOCH_HEADER = ["epoch", "train loss", "method", "within 20 ms", "mean ms", "F1", "IDR", "silence share"]


def render(lines: list[str]) -> str:
    """A card's text: its lines, ending with one newline."""
    return "\n".join(lines).rstrip("\n") + "\n"


def write_card(model_dir: Path, lines: list[str]) -> Path:
    """Write `model_dir`/MODEL_CARD.md; an interrupted write leaves the previous card (or none)."""
    path = Path(model_dir) / CARD_FILE
    with atomic_open(path) as handle:
        handle.write(render(lines))
    return path


def read_card(model_dir: Path) -> list[str]:
    """A model directory's card as lines (none when it has no card)."""
    path = Path(model_dir) / CARD_FILE
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def section(title: str, body: list[str]) -> list[str]:
    """A `## title` section: heading, blank line, body, blank line."""
    return [f"## {title}", "", *body, ""]


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A Markdown table's lines; an empty cell is written `| |`."""
    return [_table_row(header), "|" + "---|" * len(header), *(_table_row(r) for r in rows)]


def _table_row(cells: list[str]) -> str:
    return "|" + "".join(f" {c} |" if c else " |" for c in cells)


def epoch_cells(epoch: dict, method: str, m: dict) -> list[str]:
    """One epoch's dev figures for one method: epoch, train loss, method, share within 20 ms,
    mean error, boundary F1, IDR (the columns every card's per-epoch table starts with)."""
    return [str(epoch["epoch"]), f"{epoch['train_loss']:.4f}", method,
            f"{100 * (m['within_20ms'] or 0):.1f}%", f"{m['mean_ms']:.1f}", f"{m['f1']:.3f}",
            f"{m['idr']:.3f}"]


def origin(tc: dict, steps_run: int | None = None) -> str:
    """The card's first line: how the model came to be (trained, fine-tuned or adapted). An
    adaptation (`purpose` "adapt") always starts from a model on a step budget, which its time
    budget may have cut short."""
    if tc.get("purpose") == "adapt":
        steps = f"{tc['steps']} steps"
        if steps_run is not None and steps_run < tc["steps"] and tc.get("max_minutes"):
            steps = f"{steps_run} of {tc['steps']} steps (time budget {tc['max_minutes']:g} min)"
        return (f"Adapted with `ottc-align adapt` from `{tc['init']}`: {steps}, "
                f"hard-EM weight {tc['viterbi_aux']:g}, transcripts only.")
    return "Trained with `ottc-align train`" + (f", starting from `{tc['init']}`." if tc.get("init") else ".")


def training_card(summary: dict) -> list[str]:
    """The card of a `train` or `adapt` run, from `aligner.train.train`'s summary: how the model
    came to be, data, command, time, and the dev figures of every epoch."""
    tc, hist = summary["train_config"], summary["history"]
    return [
        f"# {tc['name']} ({tc['loss']})", "",
        origin(tc, summary.get("steps_run")), "",
        f"- Training data: {', '.join(tc['corpora'])} ({summary['utterances']} utterances, "
        f"{summary['hours']:.2f} h)",
        f"- Dev (gold TextGrids, metrics only): {', '.join(tc['dev']) or 'none'}",
        f"- Command: `{summary['command']}`",
        f"- Parameters: {summary['parameters']:,}",
        f"- Epochs run: {len(hist)}; training time {hist[-1]['elapsed_s'] / 60:.1f} min" if hist else "- Epochs run: 0",
        "",
        *section("Dev metrics per epoch (phone boundaries)", table(EPOCH_HEADER, _training_rows(hist))),
    ]


def _training_rows(hist: list[dict]) -> Iterable[list[str]]:
    """A row per epoch and method; an epoch without dev figures gets one row of its loss. Many
    epochs without dev figures (adapting) are thinned to about ADAPT_SHOWN_EPOCHS, the last kept."""
    shown = hist
    if len(hist) > 2 * ADAPT_SHOWN_EPOCHS and not any(h["dev"] for h in hist):
        every = math.ceil(len(hist) / ADAPT_SHOWN_EPOCHS)
        shown = [h for k, h in enumerate(hist) if k % every == 0 or k == len(hist) - 1]
    for h in shown:
        if not h["dev"]:
            yield [str(h["epoch"]), f"{h['train_loss']:.4f}", "-", "", "", "", "", ""]
            continue
        for method, m in h["dev"].items():
            yield [*epoch_cells(h, method, m), f"{100 * m['hyp_silence_share']:.1f}%"]


def held_out_section(check: HeldOutCheck, base: Path, gold: GoldCheck | None = None) -> list[str]:
    """`adapt`'s held-out check (and its check on hand-labelled recordings, which decides when
    there is one), added to the card of whichever model it kept."""
    kept = gold.adapted_is_better if gold is not None else check.adapted_is_better
    verdict = ("the adapted model was kept" if kept else
               f"adapting did not help, so this is the model it started from (`{base}`)")
    on_gold = f"{gold.describe()}; " if gold is not None else ""
    return section("Held-out check (`ottc-align adapt`)", [
        f"Base -> adapted model: {on_gold}{check.describe()}; {verdict}. An adapted model is surer "
        "of the recordings it was adapted to than of new ones: compare confidences within one "
        "model and one kind of recording."])
