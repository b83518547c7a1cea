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
    FEW_GOLD_BOUNDARIES, GOLD_TOLERANCE,
)
from aligner.cli.common import (EXIT_INTERRUPTED, DeviceOption, ModelOption, device_name, fail,
                                model_dir)

MEMORISED = 0.2  # confidence on recordings trained on above held-out ones by more: say so


# What the held-out check is (benchmarks/adaptation.py, docs/usage.md): proxies, not accuracy.
ACCURACY_NOTE = (
    "note: without --gold, adapt judges the adapted model by proxies (its confidence on the "
    "held-out recordings, and how sharply the spectrum changes at its boundaries there), not "
    "by accuracy; give it a few hand-labelled recordings with --gold to decide on boundaries")


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
    gold: Annotated[Optional[Path], typer.Option("--gold", help=f"Folder of hand-labelled recordings (x.wav, x.lab and a TextGrid of hand-placed boundaries, x.TextGrid): the adapted model is kept only if it places more boundaries within {GOLD_TOLERANCE * 1000:g} ms of them than the base model. They may lie inside the corpus or be copies of its recordings; they are left out of training.", show_default=False)] = None,
    gold_fold: Annotated[str, typer.Option("--gold-fold", help="Phone folding of the --gold TextGrids, as evaluate's --fold: cmu39, timit39, ipa, emu-ae, none or a file.")] = "cmu39",
    device: DeviceOption = "auto",
) -> None:
    """Adapt a model to a corpus from its transcripts alone (no timings), as MFA's adapt does.

    Starts from --model. Needs 30 recordings and 2 minutes of audio at least. Some recordings are held out of
    training: if the adapted model is not surer of them than the base model, or its phone
    boundaries on them drift off the spectral changes, MODEL_DIR gets the base model unchanged. With --gold, hand-labelled recordings decide instead: surer is
    not more accurate. Then align the same corpus with --model MODEL_DIR. Exit codes: 0 done (adapted or kept); 2 bad input or corpus too small.
    """
    from aligner import adapt
    from aligner.card import held_out_section
    from aligner.cli.train import run_training
    from aligner.model import ModelError, load_config, load_model
    from aligner.phone_folding import FoldingError, load_folding

    from aligner.atomic import OutputError, check_writable

    base = model_dir(model)
    device = device_name(device)
    work = work_dir or output.parent / f"{output.name}-train"
    # before minutes of training: an output that cannot be written failed only at the end
    if threads is not None and threads < 1:
        raise fail(f"--threads {threads}: give 1 or more")
    if output.exists() and not output.is_dir():
        raise fail(f"-o {output}: a file is there; a model is written to a folder")
    try:
        check_writable(output)
    except OutputError as err:
        raise fail(err) from None
    try:
        base_name = load_config(base).name  # the weights are checked when training loads them
        for c in corpus:
            if not c.is_dir():
                raise ValueError(f"{c}: corpus folder not found")
        recordings = adapt.usable_recordings(corpus, max_utterance_s)
        if not recordings:
            raise ValueError(f"{', '.join(map(str, corpus))}: no recordings with transcripts "
                             f"(.lab/.txt) of at most {max_utterance_s:g} s found")
        hand, folding, in_corpus = [], None, []
        if gold is not None:
            hand = adapt.gold_recordings(gold)
            folding = load_folding(gold_fold)
            in_corpus = adapt.gold_in_corpus(recordings, hand)
            recordings = [r for r in recordings if r not in in_corpus]
        dupes = adapt.copies(recordings)  # neither counted nor trained on nor held out
        recordings = [r for r in recordings if r not in dupes]
        reason = adapt.too_small(recordings)
        if reason:
            raise ValueError(reason + (f" (not counting the {len(in_corpus)} --gold recording(s) "
                                       "in it, which are not trained on)" if in_corpus else "")
                             + (f" (not counting {len(dupes)} copies of other recordings)"
                                if dupes else ""))
        held = adapt.choose_held_out(recordings, seed)
        cfg = adapt.adaptation_config(corpus, work / "adapted", base, work, steps=steps, lr=lr,
                                      viterbi_weight=viterbi_weight, max_utterance_s=max_utterance_s,
                                      seed=seed, threads=threads, resume=resume,
                                      name=f"{base_name}-adapted", max_minutes=max_minutes,
                                      leave_out=[r.name for r in [*held, *in_corpus, *dupes]])
        conflict = adapt.resumed_leave_out_conflict(work, cfg.leave_out) if resume else None
        if conflict:
            raise ValueError(conflict)
    except (ValueError, ModelError, FoldingError) as err:
        raise fail(err) from None
    seconds = sum(r.seconds for r in recordings)
    judged = (f"; the adapted model is judged on {len(hand)} hand-labelled recording(s)"
              + (f" ({len(in_corpus)} of them in the corpus, not trained on)" if in_corpus else "")
              if hand else "")
    typer.echo(f"adapting to {len(recordings)} recordings ({seconds / 60:.1f} min); {len(held)} "
               f"held out to check the result{judged}"
               + (f"; {len(dupes)} copies of other recordings left out" if dupes else ""), err=True)
    run_training(cfg, device)
    try:
        base_model, adapted = load_model(base, device), load_model(work / "adapted", device)
        check = adapt.check_held_out(base_model, adapted, held,
                                     adapt.trained_sample(recordings, held, seed))
        on_gold = adapt.check_gold(base_model, adapted, hand, folding) if hand else None
    except ValueError as err:  # a --gold TextGrid that cannot be read
        raise fail(err) from None
    except KeyboardInterrupt:
        typer.echo(f"interrupted: run the same command plus --resume to check the adapted model "
                   f"(work dir {work})", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    keep = on_gold.adapted_is_better if on_gold is not None else check.adapted_is_better
    evidence = f"{on_gold.describe()}; {check.describe()}" if on_gold is not None else check.describe()
    _copy_model(work / "adapted" if keep else base, output, held_out_section(check, base, on_gold))
    if keep:
        typer.echo(f"adapted model written to {output}: {evidence}")
        if on_gold is None:
            typer.echo(ACCURACY_NOTE, err=True)
        if check.adapted_trained - check.adapted_held > MEMORISED:
            typer.echo("note: the adapted model is much surer of the recordings it was adapted to "
                       "than of new ones, so its confidences and low-confidence flags say less "
                       "there; check doubtful transcripts with the model you started from", err=True)
    else:
        typer.echo(f"adapting did not help ({evidence}): {output} holds the model it "
                   f"started from ({base}) unchanged")
    if on_gold is not None and on_gold.few:
        typer.echo(f"note: {on_gold.boundaries} hand-placed boundaries can tell only large "
                   f"differences from chance (a share of {FEW_GOLD_BOUNDARIES} boundaries is known "
                   f"to about +-{_margin_points(FEW_GOLD_BOUNDARIES):.0f} points); more "
                   "hand-labelled recordings make the check surer", err=True)
    typer.echo(f"align with: ottc-align CORPUS -o OUT --model {output}")


def _margin_points(boundaries: int, share: float = 0.75) -> float:
    """Half the 95% interval, in points, of a share of `boundaries` near `share` (a boundary
    figure's usual range)."""
    return 100 * 1.96 * (share * (1 - share) / boundaries) ** 0.5


def _copy_model(source: Path, output: Path, section: list[str]) -> None:
    """Copy a model directory's files to `output`, its card with `section` added."""
    from aligner.card import read_card, write_card
    from aligner.model import copy_model

    copy_model(source, output)
    write_card(output, [*read_card(source), "", *section])
