"""`ottc-align train CORPUS... -o MODEL_DIR`: train (or fine-tune) an acoustic model.

Thin: parses options, builds a TrainConfig, calls `aligner.train.train`. Torch is imported inside
the function so that `ottc-align --help` stays fast. Multi-GPU: run the same command under
`torchrun --nproc_per_node N -m aligner.cli train ...` (DistributedDataParallel).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.cli.common import EXIT_INTERRUPTED, DeviceOption, device_name, fail


def command(
    corpus: Annotated[list[Path], typer.Argument(help="Training corpora (MFA layout: SPEAKER/UTTERANCE.wav|.flac + .lab), or feature files written by aligner.dataset.write_feature_file (recipes/train/device). A folder with train/ (and dev/) inside uses those.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write (weights, config.json, MODEL_CARD.md).")],
    dev: Annotated[Optional[list[Path]], typer.Option("--dev", help="Dev corpus with gold TextGrids beside the audio (repeatable): boundary metrics each epoch, picks the best epoch.")] = None,
    loss: Annotated[str, typer.Option(help="ottc (default) or ctc (the baseline, same architecture and data).")] = "ottc",
    epochs: Annotated[int, typer.Option(help="Passes over the training data.")] = 20,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 3e-3,
    warmup: Annotated[float, typer.Option(help="Share of steps for the linear warm-up.")] = 0.02,
    freeze_weight_head: Annotated[float, typer.Option(help="Share of steps after which the OTTC weight head is frozen.")] = 0.75,
    max_frames: Annotated[int, typer.Option(help="Padded 10 ms frames per batch (per process).")] = 8000,
    seed: Annotated[int, typer.Option(help="Random seed (batch order, augmentation, initialisation).")] = 0,
    no_augment: Annotated[bool, typer.Option("--no-augment", help="Switch off speed and vocal-tract perturbation, noise, telephone band and SpecAugment masking.")] = False,
    no_short_first: Annotated[bool, typer.Option("--no-short-first", help="Shuffle the first epoch too (default: it runs from short to long utterances, which helps a fresh model; a fine-tune of a trained one does not need it).")] = False,
    init: Annotated[Optional[Path], typer.Option("--model", "-m", "--init", help="Start from this model directory (fine-tuning; its architecture is kept, apart from the --arch settings that keep its weights); without it, a new network. --init is its former name.", show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last epoch checkpoint in the work directory.")] = False,
    work_dir: Annotated[Optional[Path], typer.Option(help="Logs and checkpoints (default: OUTPUT-train next to the output).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Feature cache (default: WORK_DIR/features).")] = None,
    dev_limit: Annotated[int, typer.Option(help="Dev utterances scored each epoch (0 = all).")] = 120,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for torch.")] = None,
    sil_mass: Annotated[Optional[float], typer.Option(help="Mass of each optional silence token relative to a phone (OTTC); default: the --init model's, else 0.5.")] = None,
    phone_mass: Annotated[Optional[Path], typer.Option(help="OTTC: JSON file {phone: relative token mass} (e.g. typical durations, from recipes/train/phone_durations.py); default: the --init model's, else 1 for every phone.")] = None,
    states: Annotated[Optional[int], typer.Option(help="OTTC: ordered sub-phonetic states per phone (3 sharpens boundaries; with --init from a one-state model its label head is split); default: the --init model's, else 1.")] = None,
    arch: Annotated[Optional[str], typer.Option(help=(
        'Architecture overrides as JSON, e.g. \'{"dim": 160, "blocks": 8}\'; with --model only '
        "dropout, norm_top_db, norm_level (power or mean) and norm_local_s, which keep its "
        "weights."))] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many steps (smoke tests).")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Step budget instead of --epochs: as many whole epochs as reach it (the schedule spans them).")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Time budget for the training steps: the schedule's step total shrinks to what fits (a run on a busy or slow machine still ends with its learning rate decayed).")] = None,
    name: Annotated[str, typer.Option(help="Model name stored in config.json.")] = "ottc-english",
    log_every: Annotated[int, typer.Option(help="Log a progress line every this many steps.")] = 50,
    vtlp: Annotated[bool, typer.Option("--vtlp", help="Add vocal-tract-length perturbation (random mel-axis warp) to the augmentation.")] = False,
    edge_pad: Annotated[bool, typer.Option("--edge-pad", help="Add quiet of random length (up to 1.5 s) and level before and after half the utterances, so the model learns to ignore how much pause a recording holds.")] = False,
    hold_vowels: Annotated[bool, typer.Option("--hold-vowels", help="Hold one vowel 0.3-1.5 s longer in a fifth of the utterances with gold times, so the model learns that a held vowel (a sustained /a/) is no silence.")] = False,
    viterbi_aux: Annotated[float, typer.Option(help="OTTC only: weight of an extra cross-entropy on the model's own Viterbi path (hard EM; 0 = the paper's loss alone).")] = 0.0,
    gold_aux: Annotated[float, typer.Option(help="Weight of a frame cross-entropy on gold phone times, for utterances with a gold TextGrid (phones tier) beside their audio, e.g. a synthetic corpus; others train on their transcripts alone.")] = 0.0,
    device: DeviceOption = "auto",
) -> None:
    """Train an acoustic model on transcribed speech; targets come from the text front-end.

    Gold TextGrids are used only for the dev metrics. Exit codes: 0 done; 2 bad input.
    """
    from aligner.train import TrainConfig

    corpora: list[str] = []
    devs = [str(d) for d in (dev or [])]
    for c in corpus:
        if (c / "train").is_dir():
            corpora.append(str(c / "train"))
            if not dev and (c / "dev").is_dir():
                devs.append(str(c / "dev"))
        else:
            corpora.append(str(c))
    try:
        overrides = json.loads(arch) if arch else {}
        if not isinstance(overrides, dict):
            raise ValueError("expected a JSON object")
    except ValueError as err:
        raise fail(f"--arch: {err}") from None
    if edge_pad and no_augment:
        raise fail("--edge-pad is augmentation: it does nothing with --no-augment")
    if hold_vowels and no_augment:
        raise fail("--hold-vowels is augmentation: it does nothing with --no-augment")
    device = device_name(device)
    work = work_dir or output.parent / f"{output.name}-train"
    cfg = TrainConfig(
        corpora=corpora, output=str(output), work_dir=str(work), dev=devs, loss=loss,
        epochs=epochs, lr=lr, warmup=warmup, freeze_weight_head=freeze_weight_head,
        max_frames=max_frames, seed=seed, augment=not no_augment, short_first=not no_short_first,
        init=str(init) if init else None, resume=resume,
        cache_dir=str(cache_dir or work / "features"), dev_limit=dev_limit, threads=threads,
        sil_mass=sil_mass, arch=overrides, max_steps=max_steps, steps=steps, name=name, log_every=log_every, viterbi_aux=viterbi_aux, gold_aux=gold_aux, max_minutes=max_minutes, vtlp=vtlp, edge_pad=edge_pad, hold_vowels=hold_vowels,
        phone_mass=str(phone_mass) if phone_mass else None, states=states,
    )
    run_training(cfg, device)


def run_training(cfg, device: str) -> None:
    """Train on `device` with progress, write the model card; bad input is one line and exit 2,
    Ctrl-C says how to resume (exit 130). Shared by `train` and `adapt`."""
    from aligner.atomic import OutputError
    from aligner.card import training_card, write_card
    from aligner.dataset import CorpusError
    from aligner.model import ModelError
    from aligner.train import TrainError, main_process, train

    try:
        summary = _run_with_progress(train, cfg, device)
        if main_process():
            write_card(Path(cfg.output), training_card(summary))
    except (TrainError, CorpusError, ModelError, OutputError) as err:
        raise fail(err) from None
    except KeyboardInterrupt:
        typer.echo(f"interrupted: resume with the same command plus --resume (work dir {cfg.work_dir})", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _run_with_progress(train, cfg, device: str):
    """Run training with a Rich progress bar on a terminal, plain log lines otherwise."""
    import sys

    if not sys.stderr.isatty():
        return train(cfg, device=device)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True, highlight=False)
    with Progress(TextColumn("[bold]training"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                  TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        task = progress.add_task("train", total=None, loss=float("nan"))

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=loss)

        return train(cfg, echo=progress.console.print, on_step=on_step, device=device)
