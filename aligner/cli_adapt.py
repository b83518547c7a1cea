"""`ottc-align adapt CORPUS -o MODEL_DIR`: adapt a model to a corpus's voices, then align with it.

Thin: builds the adaptation TrainConfig (aligner/adapt.py) and runs the training loop with the
same progress display and error handling as `ottc-align train`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.adapt import ADAPT_LR, ADAPT_MAX_UTTERANCE_S, ADAPT_STEPS, ADAPT_VITERBI_WEIGHT


def command(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus (or corpora) to adapt to, MFA layout: <speaker>/<utt>.wav + .lab/.txt; usually the one you will align.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write; align with --model MODEL_DIR.")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Model to start from (default: the shipped English model).")] = None,
    steps: Annotated[int, typer.Option(help="Optimiser steps, whatever the corpus size.")] = ADAPT_STEPS,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = ADAPT_LR,
    viterbi_weight: Annotated[float, typer.Option(help="Weight of the cross-entropy on the model's own Viterbi path (hard EM) next to the OTTC loss; 0 = OTTC loss alone (helps --method ot, not viterbi).")] = ADAPT_VITERBI_WEIGHT,
    max_utterance_s: Annotated[float, typer.Option(help="Leave out recordings longer than this (seconds).")] = ADAPT_MAX_UTTERANCE_S,
    seed: Annotated[int, typer.Option(help="Random seed (batch order, augmentation).")] = 0,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for torch.")] = None,
    work_dir: Annotated[Optional[Path], typer.Option(help="Logs, checkpoints and feature cache (default: <output>-train next to the output).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")] = False,
) -> None:
    """Adapt a model to a corpus from its transcripts alone (no timings), as MFA's adapt does.

    Then align the same corpus with --model OUTPUT. Exit codes: 0 done; 2 bad input.
    """
    from aligner.adapt import adaptation_config, small_corpus_warning
    from aligner.cli_train import run_training
    from aligner.corpus import find_utterances
    from aligner.model import ModelError, default_model_dir, load_model

    base = model or default_model_dir()
    work = work_dir or output.parent / f"{output.name}-train"
    try:
        base_name = load_model(base).config.name
        cfg = adaptation_config(corpus, output, base, work, steps=steps, lr=lr,
                                viterbi_weight=viterbi_weight, max_utterance_s=max_utterance_s,
                                seed=seed, threads=threads, resume=resume,
                                name=f"{base_name}-adapted")
    except (ValueError, ModelError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    found = sum(1 for c in corpus if c.is_dir() for u in find_utterances(c) if u.transcript is not None)
    warning = small_corpus_warning(found) if found else None
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    run_training(cfg)
    typer.echo(f"adapted model written to {output}; align with: ottc-align CORPUS -o OUT --model {output}")
