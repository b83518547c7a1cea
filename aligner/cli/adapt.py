"""`ottc-align adapt CORPUS -o MODEL_DIR`: adapt a model to a corpus's voices, then align with it.

Thin: refuses corpora too small to adapt to (aligner/adapt.py says why), holds some recordings
out, runs the training loop with the same progress display and error handling as
`ottc-align train`, then keeps the adapted model only if it does better than the base model on
the held-out recordings; MODEL_DIR holds whichever model was kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.adapt import (
    ADAPT_LR, ADAPT_MAX_MINUTES, ADAPT_MAX_UTTERANCE_S, ADAPT_STEPS, ADAPT_VITERBI_WEIGHT,
)
from aligner.cli.common import (EXIT_INTERRUPTED, DeviceOption, ModelOption, device_name, fail,
                                model_dir)

MEMORISED = 0.2  # confidence on recordings trained on above held-out ones by more: say so


# What the held-out check cannot see (benchmarks/adaptation.py on the synthetic splits with the
# shipped model, docs/benchmarks/adaptation.md): confidence rose, accuracy with viterbi fell.
ACCURACY_NOTE = (
    "note: confidence is not accuracy: adapting the shipped model to synthetic voices it never "
    "heard raised its held-out confidence (0.48 -> 0.67) while the share of phone boundaries "
    "within 20 ms fell (viterbi, the default method: 82.4% -> 81.6%, and 94.6% -> 91.6% on "
    "voices it knew); compare both models on a few hand-labelled recordings (ottc-align "
    "evaluate) before relying on the adapted one")


def command(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus (or corpora) to adapt to, MFA layout: SPEAKER/UTTERANCE.wav + .lab/.txt; usually the one you will align.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write; align with --model MODEL_DIR.")],
    model: ModelOption = None,
    steps: Annotated[int, typer.Option(help="Optimiser steps, whatever the corpus size (fewer if --max-minutes runs out).")] = ADAPT_STEPS,
    max_minutes: Annotated[float, typer.Option(help="Time budget for the training steps: on a slow or busy machine the schedule shrinks to fit it.")] = ADAPT_MAX_MINUTES,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = ADAPT_LR,
    viterbi_weight: Annotated[float, typer.Option(help="Weight of the cross-entropy on the model's own Viterbi path (hard EM) next to the OTTC loss; 0 = OTTC loss alone (helps --method ot, not viterbi).")] = ADAPT_VITERBI_WEIGHT,
    max_utterance_s: Annotated[float, typer.Option(help="Leave out recordings longer than this (seconds).")] = ADAPT_MAX_UTTERANCE_S,
    seed: Annotated[int, typer.Option(help="Random seed (held-out recordings, batch order, augmentation).")] = 0,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for torch (default: the cores the load average leaves idle).")] = None,
    work_dir: Annotated[Optional[Path], typer.Option(help="Logs, checkpoints and feature cache (default: OUTPUT-train next to the output).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")] = False,
    device: DeviceOption = "auto",
) -> None:
    """Adapt a model to a corpus from its transcripts alone (no timings), as MFA's adapt does.

    Starts from --model. Needs 30 recordings and 2 minutes of audio at least. Some recordings are held out of
    training: if the adapted model is not surer of them than the base model, MODEL_DIR gets
    the base model unchanged. Then align the same corpus with --model MODEL_DIR. Exit codes: 0 done (adapted or kept); 2 bad input or corpus too small.
    """
    from aligner import adapt
    from aligner.card import held_out_section
    from aligner.cli.train import run_training
    from aligner.model import ModelError, load_config, load_model

    base = model_dir(model)
    device = device_name(device)
    work = work_dir or output.parent / f"{output.name}-train"
    try:
        base_name = load_config(base).name  # the weights are checked when training loads them
        for c in corpus:
            if not c.is_dir():
                raise ValueError(f"{c}: corpus folder not found")
        recordings = adapt.usable_recordings(corpus, max_utterance_s)
        if not recordings:
            raise ValueError(f"{', '.join(map(str, corpus))}: no recordings with transcripts "
                             f"(.lab/.txt) of at most {max_utterance_s:g} s found")
        reason = adapt.too_small(recordings)
        if reason:
            raise ValueError(reason)
        held = adapt.choose_held_out(recordings, seed)
        cfg = adapt.adaptation_config(corpus, work / "adapted", base, work, steps=steps, lr=lr,
                                      viterbi_weight=viterbi_weight, max_utterance_s=max_utterance_s,
                                      seed=seed, threads=threads, resume=resume,
                                      name=f"{base_name}-adapted", max_minutes=max_minutes,
                                      leave_out=[r.name for r in held])
    except (ValueError, ModelError) as err:
        raise fail(err) from None
    seconds = sum(r.seconds for r in recordings)
    typer.echo(f"adapting to {len(recordings)} recordings ({seconds / 60:.1f} min); {len(held)} "
               "held out to check the result", err=True)
    run_training(cfg, device)
    try:
        check = adapt.check_held_out(load_model(base, device), load_model(work / "adapted", device),
                                     held, adapt.trained_sample(recordings, held, seed))
    except KeyboardInterrupt:
        typer.echo(f"interrupted: run the same command plus --resume to check the adapted model "
                   f"(work dir {work})", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _copy_model(work / "adapted" if check.adapted_is_better else base, output, held_out_section(check, base))
    if check.adapted_is_better:
        typer.echo(f"adapted model written to {output}: {check.describe()}")
        typer.echo(ACCURACY_NOTE, err=True)
        if check.adapted_trained - check.adapted_held > MEMORISED:
            typer.echo("note: the adapted model is much surer of the recordings it was adapted to "
                       "than of new ones, so its confidences and low-confidence flags say less "
                       "there; check doubtful transcripts with the model you started from", err=True)
    else:
        typer.echo(f"adapting did not help ({check.describe()}): {output} holds the model it "
                   f"started from ({base}) unchanged")
    typer.echo(f"align with: ottc-align CORPUS -o OUT --model {output}")


def _copy_model(source: Path, output: Path, section: list[str]) -> None:
    """Copy a model directory's files to `output`, its card with `section` added."""
    from aligner.card import read_card, write_card
    from aligner.model import copy_model

    copy_model(source, output)
    write_card(output, [*read_card(source), "", *section])
