"""The training loop: OTTC (default) or the CTC baseline, single process or torchrun DDP.

Schedule (the paper's): AdamW, linear warm-up then linear decay; both heads train for the first
`freeze_weight_head` share of the steps, then the weight head is frozen (its gradients are
dropped) while the label head keeps training, because late updates to alpha make boundaries
jitter. Every epoch: a checkpoint (`checkpoint.pt`, resumable), the model directories `last/`
and `best/` (best dev boundary accuracy when gold TextGrids exist), a line in `train.log`.

Determinism: batch order, augmentation and dropout are seeded from (seed, epoch), so a run
resumed from an epoch's checkpoint continues exactly as an uninterrupted one would.

Distributed: under `torchrun` (WORLD_SIZE > 1) each rank takes every WORLD_SIZE-th batch of the
same seeded list and gradients are averaged by DistributedDataParallel; rank 0 alone evaluates,
logs and saves.

`train` runs named steps: start the process, build the model, read the data, plan the schedule,
start or resume, then per epoch `_run_epoch` (batches and optimiser steps) and `_end_epoch`
(dev figures from aligner/dev_metrics.py, `last/`, `best/`, checkpoint), and `_final_save`. The
model card is aligner/card.py's.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from aligner.align import resolve_device
from aligner.atomic import atomic_open, atomic_path
from aligner.dataset import (NO_AUGMENT, Augment, Item, attach_gold_labels, augment, collate,
                             hold_vowel, make_batches, pad_edges, read_corpus, read_feature_file,
                             stretch_labels)
from aligner.dev_metrics import dev_metrics, find_dev_utterances, format_metrics, primary_score
from aligner.features import FeatureConfig
from aligner.model import (NORM_LEVELS, AcousticModel, ModelConfig, copy_model, expand_states,
                           load_model, save_model)

CHECKPOINT = "checkpoint.pt"
LOG_FILE = "train.log"


class TrainError(ValueError):
    """Training cannot start (bad corpus, bad option, incompatible checkpoint); one line."""


@dataclass
class TrainConfig:
    """All options of a training run (stored in the checkpoint and the model card)."""

    corpora: list[str]
    output: str
    work_dir: str
    dev: list[str] = field(default_factory=list)
    loss: str = "ottc"
    epochs: int = 20
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup: float = 0.02  # share of steps
    final_lr: float = 0.02  # share of lr at the end of the linear decay
    freeze_weight_head: float = 0.75  # share of steps after which the weight head is frozen
    max_frames: int = 8000  # padded frames per batch (per process)
    clip: float = 5.0
    seed: int = 0
    augment: bool = True
    init: str | None = None
    resume: bool = False
    cache_dir: str | None = None
    dev_limit: int = 120
    threads: int | None = None
    sil_mass: float | None = None  # None: the --init model's own (ModelConfig's for a fresh one)
    arch: dict = field(default_factory=dict)  # ModelConfig overrides (dim, blocks, ...)
    log_every: int = 50
    max_steps: int | None = None  # stop early (tests, smoke runs); schedule still uses epochs
    steps: int | None = None  # step budget: overrides epochs with ceil(steps / batches per epoch)
    max_utterance_s: float | None = None  # leave out longer utterances (adaptation on long files)
    leave_out: list[str] = field(default_factory=list)  # utterance names not trained on (adapt's held-out check)
    max_minutes: float | None = None  # time budget: the step total shrinks to what fits (see budget_total)
    name: str = "ottc-english"
    short_first: bool = True  # first epoch in order of length (curriculum)
    viterbi_aux: float = 0.0  # weight of an auxiliary CE on the model's own Viterbi path (OTTC only)
    gold_aux: float = 0.0  # weight of a frame CE on gold times, for corpora that have them (synthetic)
    vtlp: bool = False  # vocal-tract-length perturbation (mel-axis warp) in the augmentation
    edge_pad: bool = False  # quiet of random length and level added at utterance edges (dataset.pad_edges)
    hold_vowels: bool = False  # a vowel held 0.3-1.5 s longer in some gold utterances (dataset.hold_vowel)
    phone_mass: str | None = None  # JSON file {phone: relative OTTC mass}; None: the --init model's
    states: int | None = None  # sub-phonetic states per phone (OTTC); None: the --init model's, else 1
    purpose: str = "train"  # "adapt" for `ottc-align adapt`'s runs: the model card says how the model came to be


# ------------------------------------------------------------------------------ small helpers


class Log:
    """Writes timestamped lines to train.log (append) and to the console (rank 0 only)."""

    def __init__(self, path: Path | None, enabled: bool = True, echo=None) -> None:
        self.path = path
        self.enabled = enabled
        self.echo = echo or (lambda line: print(line, flush=True))
        self.t0 = time.time()
        if path is not None and enabled:
            path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{(time.time() - self.t0) / 60:6.1f} min] {message}"
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        self.echo(line)


def lr_factor(step: int, total: int, warmup: float, final: float) -> float:
    """Linear warm-up over `warmup * total` steps, then linear decay to `final` at `total`."""
    w = max(1, int(round(warmup * total)))
    if step < w:
        return (step + 1) / w
    frac = min(1.0, (step - w) / max(1, total - w))
    return 1.0 - (1.0 - final) * frac


def read_phone_mass(path: Path) -> dict[str, float]:
    """A JSON object {phone: relative OTTC token mass} (recipes/train/phone_durations.py writes
    one); every key must be a phone of the model's set and every value a positive number."""
    from aligner.text.phones import PHONES

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TrainError(f"{path}: cannot read phone masses ({err})") from None
    if not isinstance(data, dict):
        raise TrainError(f"{path}: expected a JSON object {{phone: mass}}")
    unknown = sorted(k for k in data if k not in PHONES)
    if unknown:
        raise TrainError(f"{path}: not phones of the model: {', '.join(unknown[:5])}")
    bad = sorted(k for k, v in data.items()
                 if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0 or v == float("inf"))
    if bad:
        raise TrainError(f"{path}: masses must be positive numbers (bad: {', '.join(bad[:5])})")
    return {k: float(v) for k, v in data.items()}


BUDGET_PROBE_STEPS = 10  # steps timed before the time budget may shorten the schedule


def budget_total(total: int, step: int, elapsed_s: float, budget_s: float) -> int:
    """The step total that fits a time budget, from the pace so far (never more than `total`;
    `step` itself when the budget is spent).

    Why: a step budget alone does not bound the time. A step costs what its batch costs, on
    whatever else the machine is running: 500 adaptation steps took 2.5 min on an idle 2-core
    machine and 26 min on a busy one. Shortening the total (rather than stopping at the limit)
    keeps the learning-rate decay and the weight-head freeze whole. The first
    BUDGET_PROBE_STEPS steps are only timed: they include start-up costs.
    """
    if step < BUDGET_PROBE_STEPS or elapsed_s <= 0:
        return total
    return max(step, min(total, int(budget_s * step / elapsed_s)))


def weight_head_frozen(step: int, total: int, freeze: float) -> bool:
    return step >= int(freeze * total)


def batch_targets(items: list[Item], loss: str, sil_mass: float,
                  phone_mass: list[float] | None = None, states: int = 1) -> dict[str, Tensor]:
    """Padded targets for a batch: OTTC `sil w1 sil ... sil` with beta (each phone split into
    `states` ordered tokens); CTC phones only."""
    from aligner.states import expand_targets
    from aligner.targets import build_targets

    if loss == "ctc":
        seqs = [torch.tensor([p for w in it.words for p in w], dtype=torch.long) for it in items]
        betas = None
    else:
        built = [expand_targets(build_targets(it.words, sil_mass, phone_mass), states)[0]
                 for it in items]
        seqs = [b.tokens for b in built]
        betas = [b.beta for b in built]
        optional = [b.optional for b in built]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    targets = torch.ones(len(seqs), int(lengths.max()), dtype=torch.long)
    for b, s in enumerate(seqs):
        targets[b, : len(s)] = s
    out = {"targets": targets, "target_lengths": lengths}
    if betas is not None:
        beta = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.float64)
        opt = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.bool)
        for b, (s, o) in enumerate(zip(betas, optional)):
            beta[b, : len(s)] = s
            opt[b, : len(o)] = o
        out["beta"] = beta
        out["optional"] = opt
    return out


def viterbi_labels(log_probs: Tensor, lengths: Tensor, tgt: dict[str, Tensor]) -> Tensor:
    """[B, T] frame labels from the best monotone path under the model's own posteriors
    (optional silences may take 0 frames); -100 on padding. Hard-EM targets, no gradient.

    An utterance with fewer frames than required tokens has no such path (the OTTC loss still
    trains on it): it gets -100 throughout. That happens with sub-phonetic states (each takes a
    frame) on short, fast utterances, more so after speed perturbation."""
    from aligner.decode import viterbi_segments

    labels = torch.full(log_probs.shape[:2], -100, dtype=torch.long)
    lp = log_probs.detach().float().cpu()
    for b in range(lp.shape[0]):
        n, s = int(lengths[b]), int(tgt["target_lengths"][b])
        tokens = tgt["targets"][b, :s].cpu()
        optional = tgt["optional"][b, :s].cpu()
        if n < int((~optional).sum()):
            continue
        first, end, _ = viterbi_segments(lp[b, :n], tokens, optional, None, None)
        labels[b, :n] = torch.repeat_interleave(tokens, end - first)
    return labels.to(log_probs.device)


def gold_batch_labels(golds: list[Tensor | None], lengths: Tensor, states: int) -> Tensor:
    """[B, T] state labels from each item's (stretched) gold phone labels; -100 for items
    without gold and on padding."""
    from aligner.dataset import state_labels

    out = torch.full((len(golds), int(lengths.max())), -100, dtype=torch.long)
    for b, g in enumerate(golds):
        if g is not None:
            out[b, : g.shape[0]] = state_labels(g, states)
    return out


def compute_loss(model, feats: Tensor, lengths: Tensor, tgt: dict[str, Tensor],
                 loss: str, viterbi_aux: float = 0.0, gold: Tensor | None = None,
                 gold_aux: float = 0.0, live: Tensor | None = None) -> tuple[Tensor, float]:
    """(loss, alpha spread): the spread is exp(entropy of alpha) / T averaged over the batch,
    1.0 for uniform frame weights, near 0 when alpha has collapsed onto a few frames.

    viterbi_aux > 0 (OTTC only) adds that weight times the frame cross-entropy against the
    model's own best path (hard EM): it sharpens the label posteriors around boundaries.
    gold_aux > 0 adds that weight times the frame cross-entropy against `gold` [B, T] state
    labels (-100 where unknown): exact times where a corpus has them (synthetic speech).
    live [B, T]: the frames the model's normalisation counts (`dataset.collate`); None: all.
    """
    log_probs, weight_logits = model(feats, lengths) if live is None else model(feats, lengths, live)
    with torch.no_grad():
        alpha = torch.softmax(weight_logits.float(), dim=1)
        entropy = -(alpha * alpha.clamp_min(1e-30).log()).sum(1)
        spread = float((entropy.exp() / lengths).mean())
    if loss == "ctc":
        from aligner.ctc import ctc_loss

        value = ctc_loss(log_probs.float(), tgt["targets"], lengths, tgt["target_lengths"],
                         reduction="mean", zero_infinity=True)
        return value, spread
    from aligner.ottc import ottc_loss

    value = ottc_loss(log_probs.float(), weight_logits.float(), tgt["targets"], lengths,
                      tgt["target_lengths"], beta=tgt["beta"], reduction="mean")
    frame_targets = [(viterbi_aux, viterbi_labels(log_probs, lengths, tgt) if viterbi_aux > 0 else None),
                     (gold_aux, gold if gold_aux > 0 else None)]
    for weight, labels in frame_targets:
        if labels is not None and bool((labels != -100).any()):  # a mean over no frames is NaN
            ce = torch.nn.functional.nll_loss(log_probs.float().transpose(1, 2), labels, ignore_index=-100)
            value = value + weight * ce
    return value, spread


# ------------------------------------------------------------------------------ the run


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


def _load_items(corpora: list[str], cache_dir: Path | None, features: FeatureConfig, log: Log,
                gold: bool = False) -> list[Item]:
    items: list[Item] = []
    for root in corpora:
        if Path(root).is_file():  # a corpus already turned into features (write_feature_file)
            got, skipped = read_feature_file(Path(root), features), []
            log(f"{root}: {len(got)} utterances from a feature file")
            n = sum(it.gold is not None for it in got)
        else:
            got, skipped = read_corpus(Path(root), cache_dir, features, log=log)
            n = attach_gold_labels(Path(root), got, cache_dir, log=log) if gold else 0
        if gold:
            log(f"{root}: gold times for {n} of {len(got)} utterances")
        for reason in skipped[:5]:
            log(f"  skipped {reason}")
        if len(skipped) > 5:
            log(f"  ... {len(skipped) - 5} more skipped")
        items.extend(got)
    return items


def _agreed(total: int, world: int, device: torch.device) -> int:
    """The smallest step total of all processes (each times its own steps), so that every
    rank of a distributed run stops after the same step."""
    if world == 1:
        return total
    value = torch.tensor([total], device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
    return int(value.item())


def main_process() -> bool:
    """Whether this process writes the run's files: always outside torchrun, rank 0 under it."""
    return _distributed()[1] == 0


@dataclass
class Run:
    """What every step of one process's training run shares, set up once by `train`."""

    cfg: TrainConfig
    world: int
    rank: int
    device: torch.device
    log: Log
    model: AcousticModel
    net: torch.nn.Module  # the model, wrapped in DistributedDataParallel when world > 1
    opt: torch.optim.Optimizer
    items: list[Item]
    per_epoch: int  # optimiser steps per epoch and process
    epochs: int
    dev_utts: list

    @property
    def work(self) -> Path:
        return Path(self.cfg.work_dir)


@dataclass
class Progress:
    """Where a run stands: what the checkpoint keeps and a resumed run starts from."""

    total: int  # the step total the schedule follows (a time budget may lower it)
    step: int = 0
    next_epoch: int = 0
    best: float = float("-inf")
    history: list[dict] = field(default_factory=list)


@dataclass
class Clock:
    """Training time across resumes, and the --max-minutes budget it is held to."""

    minutes: float | None
    planned: int  # the step total before any time budget
    before: float = 0.0  # seconds trained before this process started (from the checkpoint)
    start: float = field(default_factory=time.time)
    logged: int = field(init=False)  # the step total the log last announced

    def __post_init__(self) -> None:
        self.logged = self.planned

    def elapsed(self) -> float:
        return self.before + time.time() - self.start

    def fit(self, total: int, step: int, world: int, device: torch.device, log: Log) -> int:
        """The step total after `step` steps: what the time budget leaves (see budget_total),
        the same on every process; `total` itself without a budget."""
        if not self.minutes:
            return total
        fitted = _agreed(budget_total(total, step, self.elapsed(), 60 * self.minutes), world, device)
        if fitted < total and fitted < 0.9 * self.logged:
            self.logged = fitted
            log(f"time budget {self.minutes:g} min: {fitted} of {self.planned} steps fit "
                f"({self.elapsed() / step:.2f} s/step so far)")
        return fitted


@dataclass
class Batch:
    """A training batch on the run's device."""

    feats: Tensor  # [B, T, n_mels] augmented features
    lengths: Tensor  # [B]
    targets: dict[str, Tensor]  # batch_targets'
    gold: Tensor | None  # [B, T] gold state labels (--gold-aux), else None
    live: Tensor | None = None  # [B, T] frames the normalisation counts (dataset.collate)


def train(cfg: TrainConfig, echo=None, on_step=None, device: str = "auto") -> dict:
    """Run (or resume) training; returns a summary dict (also written to summary.json).

    echo(line) prints log lines (default: print); on_step(step, total, loss) is called after
    every optimiser step on rank 0 (the CLI drives a Rich progress bar with it). `device`:
    auto (a GPU when there is one), cpu or cuda (`align.resolve_device`); under torchrun each
    process takes its own GPU. Not part of the config: a run may resume on another machine.
    """
    world, rank, device = _start_process(cfg, device)
    work = Path(cfg.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    log = Log(work / LOG_FILE, enabled=rank == 0, echo=echo)
    model = _build_model(cfg, log).to(device)
    if model.boundary_net is not None:  # trained apart (recipes/train/boundary_net.py): kept as
        model.boundary_net.requires_grad_(False)  # it is, and DDP would wait for its gradients
    features = model.config.feature_config
    items = _training_items(cfg, features, log, world, rank)
    hours = sum(i.frames for i in items) * features.frame_duration / 3600
    dev_utts = find_dev_utterances(cfg.dev, cfg.dev_limit) if rank == 0 else []
    log(f"{len(items)} training utterances ({hours:.2f} h), {len(dev_utts)} dev utterances with "
        f"gold; model {model.num_parameters():,} parameters, loss {cfg.loss}, device {device}, "
        f"{torch.get_num_threads()} threads, world {world}")
    per_epoch, epochs = _schedule(cfg, [i.frames for i in items], world)
    opt = _optimizer(model, cfg)
    progress = _start_or_resume(cfg, model, opt, per_epoch * epochs, log)
    run = Run(cfg, world, rank, device, log, model, _wrap(model, world, device), opt, items,
              per_epoch, epochs, dev_utts)
    clock = Clock(cfg.max_minutes, per_epoch * epochs,
                  progress.history[-1]["elapsed_s"] if progress.history else 0.0)
    for epoch in range(progress.next_epoch, epochs):
        if progress.step >= progress.total:  # resumed after the time budget had ended the run
            break
        t_epoch = time.time()
        train_loss, stopped = _run_epoch(run, progress, clock, epoch, on_step)
        if rank == 0:
            _end_epoch(run, progress, clock, epoch, train_loss, t_epoch)
        if world > 1:
            torch.distributed.barrier()
        if stopped:
            break
    summary = {"train_config": asdict(cfg), "hours": hours, "utterances": len(items),
               "parameters": model.num_parameters(), "history": progress.history,
               "best_dev": progress.best, "steps_run": progress.step, "steps_planned": clock.planned,
               "command": " ".join(sys.argv)}
    if rank == 0:
        _final_save(run, summary, clock)
    if world > 1:
        torch.distributed.destroy_process_group()
    return summary


def _start_process(cfg: TrainConfig, device_name: str = "auto"
                   ) -> tuple[int, int, torch.device]:
    """(world size, rank, device) of this process: joins the process group under torchrun, takes
    its GPU (`device_name` cuda, or auto with a GPU present; else the CPU) and thread count, and
    checks the options that need no data."""
    world, rank, local = _distributed()
    kind = resolve_device(device_name)
    device = torch.device(f"cuda:{local}" if kind == "cuda" else kind)
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.loss not in ("ottc", "ctc"):
        raise TrainError(f"--loss must be 'ottc' or 'ctc', not {cfg.loss!r}")
    if cfg.states is not None and (cfg.states < 1 or (cfg.loss == "ctc" and cfg.states != 1)):
        raise TrainError(f"--states must be >= 1 (1 with --loss ctc), not {cfg.states}")
    return world, rank, device


# --arch settings a fine-tune may change: they keep the network's weights (the others shape
# them, or have options of their own: --states, --sil-mass, --loss)
FINE_TUNABLE_ARCH = {"dropout": (0.0, 1.0), "norm_top_db": (0.0, 200.0),
                     "norm_local_s": (0.0, 3600.0), "norm_level": NORM_LEVELS}


def _check_fine_tuned_arch(arch: dict, init: str) -> None:
    """Refuse, in one line, --arch settings that a model given with --model cannot take."""
    other = sorted(set(arch) - set(FINE_TUNABLE_ARCH))
    if other:
        raise TrainError(f"--arch with --model {init}: {', '.join(other)} cannot change when "
                         f"fine-tuning (only {', '.join(FINE_TUNABLE_ARCH)}: the others shape "
                         "the network's weights or have options of their own)")
    for key, value in arch.items():
        if key == "norm_level":
            if value not in NORM_LEVELS:
                raise TrainError(f"--arch norm_level: {value!r} is not one of "
                                 f"{', '.join(NORM_LEVELS)}")
            continue
        lo, hi = FINE_TUNABLE_ARCH[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value < hi:
            raise TrainError(f"--arch {key}: {value!r} is not a number from {lo:g} up to {hi:g}")


def _build_model(cfg: TrainConfig, log: Log) -> AcousticModel:
    """A fresh model (seeded with cfg.seed), or one initialised from a model directory
    (fine-tuning). Token masses given here override the --init model's (fine-tuning may change
    them), else ModelConfig's; so do --arch settings that keep its weights' shapes (dropout,
    norm_top_db: fine-tuning under another normalisation), and one that would not is refused
    rather than ignored."""
    masses: dict = {}
    if cfg.sil_mass is not None:
        masses["sil_mass"] = cfg.sil_mass
    if cfg.phone_mass is not None:
        masses["phone_mass"] = read_phone_mass(Path(cfg.phone_mass))
    if not cfg.init:
        try:
            mcfg = ModelConfig(loss=cfg.loss, name=cfg.name, states=cfg.states or 1, **masses, **cfg.arch)
        except (TypeError, ValueError) as err:
            raise TrainError(f"bad architecture override: {err}") from None
        torch.manual_seed(cfg.seed)
        return AcousticModel(mcfg)
    _check_fine_tuned_arch(cfg.arch, cfg.init)  # refused before the model is read
    base = load_model(Path(cfg.init))
    if cfg.states is not None and cfg.states != base.config.states:
        try:
            base = expand_states(base, cfg.states)
        except ValueError as err:
            raise TrainError(f"--model {cfg.init}: {err}") from None
    if cfg.loss == "ctc" and base.config.states != 1:
        raise TrainError(f"--model {cfg.init}: a model with sub-phonetic states cannot train with CTC")
    overrides = {**cfg.arch, "loss": cfg.loss, "name": cfg.name, **masses}
    model = AcousticModel(ModelConfig.from_dict({**base.config.to_dict(), **overrides}))
    model.load_state_dict(base.state_dict())
    log(f"initialised from {cfg.init}" + (f", with {json.dumps(cfg.arch)}" if cfg.arch else ""))
    return model


def _training_items(cfg: TrainConfig, features: FeatureConfig, log: Log, world: int, rank: int) -> list[Item]:
    """The utterances to train on: the corpora's (rank 0 reads them and writes the feature
    cache first, the others then load it), less those too long and those left out."""
    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    if world > 1 and rank != 0:
        torch.distributed.barrier()
    items = _load_items(cfg.corpora, cache, features, log, gold=cfg.gold_aux > 0)
    if world > 1 and rank == 0:
        torch.distributed.barrier()
    if cfg.max_utterance_s:
        limit = int(cfg.max_utterance_s / features.frame_duration)
        long = [i for i in items if i.frames > limit]
        if long:
            log(f"left out {len(long)} utterance(s) longer than {cfg.max_utterance_s:g} s "
                f"(e.g. {long[0].name}); split long recordings to use them")
            items = [i for i in items if i.frames <= limit]
        if not items:
            raise TrainError(f"every utterance is longer than {cfg.max_utterance_s:g} s")
    if cfg.leave_out:
        kept = set(cfg.leave_out)
        items = [i for i in items if i.name not in kept]
        if not items:
            raise TrainError("every utterance was left out")
    return items


def _schedule(cfg: TrainConfig, lengths: list[int], world: int) -> tuple[int, int]:
    """(optimiser steps per epoch and process, epochs): with a step budget, as many whole epochs
    as reach it."""
    per_epoch = len(make_batches(lengths, cfg.max_frames, cfg.seed)) // world
    if per_epoch == 0:
        raise TrainError("the corpus is smaller than one batch per process")
    return per_epoch, math.ceil(cfg.steps / per_epoch) if cfg.steps else cfg.epochs


def _optimizer(model: AcousticModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on the weight matrices only (not on biases and norms)."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.dim() < 2 or "norm" in n else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


def _start_or_resume(cfg: TrainConfig, model: AcousticModel, opt: torch.optim.Optimizer,
                     total: int, log: Log) -> Progress:
    """A fresh start, or (with --resume and a checkpoint) the model, optimiser and progress of
    the last finished epoch."""
    work = Path(cfg.work_dir)
    ckpt_path = work / CHECKPOINT
    if not (cfg.resume and ckpt_path.is_file()):
        if cfg.resume:
            log(f"--resume: no checkpoint in {work}, starting from scratch")
        return Progress(total)
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    saved = ckpt["model_config"]  # read as a config file is: one saved before a field gets it
    if ModelConfig.from_dict(saved).to_dict() != model.config.to_dict():  # as it was trained
        raise TrainError(f"{ckpt_path}: checkpoint was made with another model configuration")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    progress = Progress(total=min(total, ckpt.get("total", total)),  # a time budget may have shortened it
                        step=ckpt["step"], next_epoch=ckpt["epoch"] + 1, best=ckpt["best"],
                        history=ckpt.get("history", []))
    log(f"resumed from {ckpt_path} after epoch {ckpt['epoch'] + 1} (step {progress.step})")
    return progress


def _wrap(model: AcousticModel, world: int, device: torch.device) -> torch.nn.Module:
    """The module the steps run: the model, or under torchrun its DistributedDataParallel."""
    if world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _run_epoch(run: Run, progress: Progress, clock: Clock, epoch: int, on_step=None) -> tuple[float, bool]:
    """One pass over this process's share of the epoch's seeded batches: (mean finite loss,
    whether the run ends here: step total or --max-steps reached).

    Batch order, augmentation and dropout are seeded from (seed, epoch) here, so a run resumed
    at this epoch draws exactly what an uninterrupted one would."""
    cfg = run.cfg
    torch.manual_seed(cfg.seed * 1000 + epoch)
    rng = random.Random(cfg.seed * 1000 + epoch)
    batches = _epoch_batches(run, epoch)
    aug = (Augment(warp_prob=0.5 if cfg.vtlp else 0.0, edge_prob=0.5 if cfg.edge_pad else 0.0,
                   hold_prob=HOLD_PROB if cfg.hold_vowels else 0.0)
           if cfg.augment else NO_AUGMENT)
    run.net.train()
    t_epoch, loss_sum, n_loss = time.time(), 0.0, 0
    for b, idx in enumerate(batches):
        batch = _batch(run, [run.items[i] for i in idx], aug, rng)
        loss, spread = _optimiser_step(run, batch, progress.step, progress.total)
        progress.step += 1
        if math.isfinite(loss):
            loss_sum += loss
            n_loss += 1
        if on_step is not None and run.rank == 0:
            on_step(progress.step, progress.total, loss_sum / max(1, n_loss))
        if cfg.log_every and progress.step % cfg.log_every == 0:
            frozen = weight_head_frozen(progress.step, progress.total, cfg.freeze_weight_head)
            run.log(f"epoch {epoch + 1}/{run.epochs} step {b + 1}/{len(batches)} (total "
                    f"{progress.step}/{progress.total}) loss {loss_sum / max(1, n_loss):.4f} "
                    f"lr {run.opt.param_groups[0]['lr']:.2e} alpha spread {spread:.2f} "
                    f"{(b + 1) / (time.time() - t_epoch):.2f} steps/s{' [weight head frozen]' if frozen else ''}")
        progress.total = clock.fit(progress.total, progress.step, run.world, run.device, run.log)
        if progress.step >= progress.total or (cfg.max_steps and progress.step >= cfg.max_steps):
            return loss_sum / max(1, n_loss), True
    return loss_sum / max(1, n_loss), False


def _epoch_batches(run: Run, epoch: int) -> list[list[int]]:
    """This process's batches (item indices) for `epoch`: every world-th of the same seeded
    list, the first epoch from short to long with cfg.short_first."""
    cfg, lengths = run.cfg, [i.frames for i in run.items]
    batches = make_batches(lengths, cfg.max_frames, cfg.seed * 1000 + epoch)
    if epoch == 0 and cfg.short_first:
        # Curriculum (SortaGrad): short utterances first, whose uniform starting alignment
        # is least wrong, so the label head learns phones before it meets long files.
        batches.sort(key=lambda bt: max(lengths[i] for i in bt))
    return batches[: run.per_epoch * run.world][run.rank::run.world]


HOLD_PROB = 0.2  # --hold-vowels: the share of gold utterances given a held vowel


def _batch(run: Run, items: list[Item], aug: Augment, rng: random.Random) -> Batch:
    """Augmented features, targets and (with --gold-aux) gold labels of `items`; augmentation
    draws from `rng` item by item."""
    cfg, mcfg = run.cfg, run.model.config
    features = mcfg.feature_config
    feats, golds = [], []
    for it in items:
        held, gold = hold_vowel(it.feats, it.gold, aug, rng)
        padded, gold = pad_edges(held, gold, aug, rng, features)
        x = augment(padded, aug, rng, features)
        if x.shape[0] < sum(len(w) for w in it.words) * mcfg.states * 1.2 + 2:
            x = padded.float()  # stretched too short for its phones: keep the original
        feats.append(x)
        golds.append(None if gold is None else stretch_labels(gold, x.shape[0]))
    x, xl, live = collate(feats, features.log_floor)
    tgt = batch_targets(items, cfg.loss, mcfg.sil_mass, mcfg.phone_mass_by_id(), mcfg.states)
    gold = (gold_batch_labels(golds, xl, mcfg.states).to(run.device)
            if cfg.gold_aux > 0 and any(g is not None for g in golds) else None)
    return Batch(x.to(run.device), xl.to(run.device), {k: v.to(run.device) for k, v in tgt.items()},
                 gold, live.to(run.device))


def _optimiser_step(run: Run, batch: Batch, step: int, total: int) -> tuple[float, float]:
    """One update at the schedule's learning rate for `step`, the weight head's gradients
    dropped once it is frozen: (loss, alpha spread) of the batch."""
    cfg = run.cfg
    for g in run.opt.param_groups:
        g["lr"] = cfg.lr * lr_factor(step, total, cfg.warmup, cfg.final_lr)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=run.device.type == "cuda"):
        loss, spread = compute_loss(run.net, batch.feats, batch.lengths, batch.targets, cfg.loss,
                                    cfg.viterbi_aux, batch.gold, cfg.gold_aux, batch.live)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    if weight_head_frozen(step, total, cfg.freeze_weight_head):
        for p in run.model.weight_head.parameters():
            p.grad = None
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip)
    run.opt.step()
    return loss.item(), spread


def _end_epoch(run: Run, progress: Progress, clock: Clock, epoch: int, train_loss: float,
               t_epoch: float) -> None:
    """Rank 0 after each epoch: `last/`, the dev figures, `best/` when they are the best so
    far (or there are none), a log line and the checkpoint."""
    save_model(run.model, run.work / "last")  # before the dev metrics: a failure there keeps the epoch
    metrics = dev_metrics(run.model, run.dev_utts) if run.dev_utts else {}
    score = primary_score(metrics)
    epoch_s = time.time() - t_epoch
    progress.history.append({"epoch": epoch + 1, "step": progress.step, "train_loss": train_loss,
                             "epoch_s": epoch_s, "elapsed_s": clock.elapsed(), "dev": metrics})
    run.log(f"epoch {epoch + 1} done in {epoch_s / 60:.1f} min, train loss {train_loss:.4f}"
            + (f"; dev {format_metrics(metrics)}" if metrics else ""))
    if score >= progress.best or not metrics:  # ties go to the later (more trained) epoch
        progress.best = max(progress.best, score)
        save_model(run.model, run.work / "best")
        _write_json(run.work / "best" / "dev.json", progress.history[-1])
    with atomic_path(run.work / CHECKPOINT) as tmp:  # a kill mid-save keeps the previous epoch's
        torch.save({"model": run.model.state_dict(), "optimizer": run.opt.state_dict(),
                    "step": progress.step, "total": progress.total, "epoch": epoch,
                    "best": progress.best, "history": progress.history,
                    "model_config": run.model.config.to_dict(), "train_config": asdict(run.cfg)}, tmp)


def _final_save(run: Run, summary: dict, clock: Clock) -> None:
    """Rank 0 at the end: `best/` (else `last/`) copied to the output directory, summary.json."""
    chosen = run.work / ("best" if (run.work / "best").is_dir() else "last")
    out = Path(run.cfg.output)
    if out.resolve() != chosen.resolve():
        copy_model(chosen, out)
    _write_json(run.work / "summary.json", summary)
    run.log(f"model written to {out} (from {chosen.name}/), total training time "
            f"{clock.elapsed() / 60:.1f} min")


def _write_json(path: Path, data: dict) -> None:
    """Indented JSON, all or nothing (aligner/atomic.py), like every file a run writes."""
    with atomic_open(path) as handle:
        handle.write(json.dumps(data, indent=2) + "\n")
