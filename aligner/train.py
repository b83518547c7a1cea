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
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from aligner.dataset import (NO_AUGMENT, Augment, Item, augment, collate, make_batches, read_corpus,
                             read_gold, stretch_labels)
from aligner.model import AcousticModel, ModelConfig, expand_states, load_model, save_model

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
    phone_mass: str | None = None  # JSON file {phone: relative OTTC mass}; None: the --init model's
    states: int | None = None  # sub-phonetic states per phone (OTTC); None: the --init model's, else 1


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
                 gold_aux: float = 0.0) -> tuple[Tensor, float]:
    """(loss, alpha spread): the spread is exp(entropy of alpha) / T averaged over the batch,
    1.0 for uniform frame weights, near 0 when alpha has collapsed onto a few frames.

    viterbi_aux > 0 (OTTC only) adds that weight times the frame cross-entropy against the
    model's own best path (hard EM): it sharpens the label posteriors around boundaries.
    gold_aux > 0 adds that weight times the frame cross-entropy against `gold` [B, T] state
    labels (-100 where unknown): exact times where a corpus has them (synthetic speech).
    """
    log_probs, weight_logits = model(feats, lengths)
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


# ------------------------------------------------------------------------------ dev metrics


DEV_SUBSET_SEED = 0  # the dev sample of every run (see find_dev_utterances)


def find_dev_utterances(roots: list[str], limit: int) -> list[tuple[str, Path, Path, Path]]:
    """(name, audio, transcript, gold TextGrid) for dev utterances with gold alignments.

    With `limit`, always the same sample (seed DEV_SUBSET_SEED), whatever the training run's
    seed: per-epoch dev figures of different runs, and `recipes/train/measure.py --limit`,
    are then on the same utterances and can be compared (until session 5 the sample followed
    the run's seed, so two runs' 120-utterance figures were on different utterances)."""
    from aligner.corpus import find_utterances

    found = []
    for root in roots:
        for u in find_utterances(Path(root)):
            gold = u.audio.with_suffix(".TextGrid")
            if u.transcript is not None and u.transcript.suffix.lower() != ".textgrid" and gold.is_file():
                found.append((f"{Path(root).name}/{u.name}", u.audio, u.transcript, gold))
    if limit and len(found) > limit:
        rng = random.Random(DEV_SUBSET_SEED)
        found = sorted(rng.sample(found, limit))
    return found


def dev_metrics(model: AcousticModel, utts, lexicon=None, methods: tuple[str, ...] | None = None,
                tolerance: float = 0.02) -> dict[str, dict]:
    """Phone boundary figures per decoding method (default: every method the model supports,
    `decode.supported_methods`) on utterances with gold TextGrids.

    Uses the same Aligner and scorer as `ottc-align evaluate`, so the numbers mean the same.
    The model runs where it is (a GPU during training); each recording is encoded once and
    decoded with every method.
    """
    from aligner.align import Aligner
    from aligner.decode import decoder_for, supported_methods
    from aligner.evaluate import load_alignment, score_utterance, summarise
    from aligner.phone_folding import load_folding

    if not utts:
        return {}
    methods = supported_methods(model.config) if methods is None else methods
    for method in methods:  # a method the model cannot decode with is a caller's mistake
        decoder_for(method, model.config)
    was_training = model.training
    model.eval()
    aligner = Aligner(model, lexicon=lexicon)
    folding = load_folding("cmu39")
    golds = {name: load_alignment(gold) for name, _, _, gold in utts}
    scores: dict[str, list] = {method: [] for method in methods}
    try:
        for name, audio, transcript, _ in utts:
            for method, hyp in _align_each_method(aligner, audio, transcript, methods):
                scores[method].append(score_utterance(name, golds[name], hyp, folding, tolerance))
    finally:
        model.train(was_training)
    out: dict[str, dict] = {}
    for method, scored in scores.items():
        s = summarise(scored, tolerance)
        out[method] = {
            "utterances": len(scored), "failed": len(utts) - len(scored),
            "within_10ms": s.phones.within.get(10), "within_20ms": s.phones.within.get(20),
            "within_50ms": s.phones.within.get(50), "mean_ms": s.phones.mean_ms,
            "median_ms": s.phones.median_ms, "f1": s.phones.f1, "idr": s.phones.idr,
            "hyp_silence_share": s.hyp_silence_share, "gold_silence_share": s.gold_silence_share,
            "word_within_20ms": s.words.within.get(20),
        }
    return out


def _align_each_method(aligner, audio, transcript, methods):
    """(method, Alignment) for each method that aligns this recording: the model runs once, and
    a recording or transcript that cannot be aligned is left out (counted as failed)."""
    try:
        wave, name = aligner.load_waveform(audio)
        segments = aligner.read_segments(transcript)
        encoded = aligner.encode(wave) if all(s.whole for s in segments) else None
    except ValueError:
        return
    for method in methods:
        try:
            (hyp,) = aligner.align_waveform(wave, segments, method, name, encoded=encoded)
        except ValueError:
            continue
        yield method, hyp


def format_metrics(metrics: dict[str, dict]) -> str:
    parts = []
    for method, m in metrics.items():
        parts.append(
            f"{method}: {100 * (m['within_20ms'] or 0):.1f}% <=20ms, mean {m['mean_ms']:.1f} ms, "
            f"F1 {m['f1']:.3f}, IDR {m['idr']:.3f}, sil {100 * m['hyp_silence_share']:.1f}%"
            + (f", {m['failed']} failed" if m["failed"] else "")
        )
    return " | ".join(parts)


def primary_score(metrics: dict[str, dict]) -> float:
    """The number `best/` is chosen by: the best method's share of boundaries within 20 ms."""
    vals = [m["within_20ms"] for m in metrics.values() if m.get("within_20ms") is not None]
    vals = [v for v in vals if v == v]
    return max(vals) if vals else float("-inf")


# ------------------------------------------------------------------------------ the run


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


def _load_items(corpora: list[str], cache_dir: Path | None, features, log,
                gold: bool = False) -> list[Item]:
    items: list[Item] = []
    for root in corpora:
        got, skipped = read_corpus(Path(root), cache_dir, features, log=log)
        if gold:
            n = read_gold(Path(root), got, cache_dir, log=log)
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


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def train(cfg: TrainConfig, echo=None, on_step=None) -> dict:
    """Run (or resume) training; returns a summary dict (also written to summary.json).

    echo(line) prints log lines (default: print); on_step(step, total, loss) is called after
    every optimiser step on rank 0 (the CLI drives a Rich progress bar with it).
    """
    world, rank, local = _distributed()
    if world > 1:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.loss not in ("ottc", "ctc"):
        raise TrainError(f"--loss must be 'ottc' or 'ctc', not {cfg.loss!r}")
    if cfg.states is not None and (cfg.states < 1 or (cfg.loss == "ctc" and cfg.states != 1)):
        raise TrainError(f"--states must be >= 1 (1 with --loss ctc), not {cfg.states}")
    work = Path(cfg.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    log = Log(work / LOG_FILE, enabled=rank == 0, echo=echo)

    # Model: fresh, or initialised from a model directory (fine-tuning). Token masses given
    # here override the --init model's (fine-tuning may change them), else ModelConfig's.
    masses: dict = {}
    if cfg.sil_mass is not None:
        masses["sil_mass"] = cfg.sil_mass
    if cfg.phone_mass is not None:
        masses["phone_mass"] = read_phone_mass(Path(cfg.phone_mass))
    if cfg.init:
        base = load_model(Path(cfg.init))
        if cfg.states is not None and cfg.states != base.config.states:
            try:
                base = expand_states(base, cfg.states)
            except ValueError as err:
                raise TrainError(f"--init {cfg.init}: {err}") from None
        if cfg.loss == "ctc" and base.config.states != 1:
            raise TrainError(f"--init {cfg.init}: a model with sub-phonetic states cannot train with CTC")
        overrides = {"loss": cfg.loss, "name": cfg.name, **masses}
        mcfg = ModelConfig.from_dict({**base.config.to_dict(), **overrides})
        model = AcousticModel(mcfg)
        model.load_state_dict(base.state_dict())
        log(f"initialised from {cfg.init}")
    else:
        try:
            mcfg = ModelConfig(loss=cfg.loss, name=cfg.name, states=cfg.states or 1, **masses, **cfg.arch)
        except TypeError as err:
            raise TrainError(f"bad architecture override: {err}") from None
        torch.manual_seed(cfg.seed)
        model = AcousticModel(mcfg)
    model.to(device)
    features = mcfg.feature_config
    phone_mass = mcfg.phone_mass_by_id()
    cache = Path(cfg.cache_dir) if cfg.cache_dir else None

    # Rank 0 reads the corpora (and writes the feature cache) first; the others then load it.
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
    hours = sum(i.frames for i in items) * features.frame_duration / 3600
    dev_utts = find_dev_utterances(cfg.dev, cfg.dev_limit) if rank == 0 else []
    log(f"{len(items)} training utterances ({hours:.2f} h), {len(dev_utts)} dev utterances with "
        f"gold; model {model.num_parameters():,} parameters, loss {cfg.loss}, device {device}, "
        f"{torch.get_num_threads()} threads, world {world}")

    lengths = [i.frames for i in items]
    per_epoch = len(make_batches(lengths, cfg.max_frames, cfg.seed)) // world
    if per_epoch == 0:
        raise TrainError("the corpus is smaller than one batch per process")
    epochs = math.ceil(cfg.steps / per_epoch) if cfg.steps else cfg.epochs
    total = per_epoch * epochs
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.dim() < 2 or "norm" in n else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    weight_head = list(model.weight_head.parameters())

    step, start_epoch, best, history = 0, 0, float("-inf"), []
    ckpt_path = work / CHECKPOINT
    if cfg.resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ckpt["model_config"] != mcfg.to_dict():
            raise TrainError(f"{ckpt_path}: checkpoint was made with another model configuration")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, start_epoch, best = ckpt["step"], ckpt["epoch"] + 1, ckpt["best"]
        total = min(total, ckpt.get("total", total))  # a time budget may have shortened it
        history = ckpt.get("history", [])
        log(f"resumed from {ckpt_path} after epoch {ckpt['epoch'] + 1} (step {step})")
    elif cfg.resume:
        log(f"--resume: no checkpoint in {work}, starting from scratch")

    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None)
    amp = device.type == "cuda"
    aug = Augment(warp_prob=0.5 if cfg.vtlp else 0.0) if cfg.augment else NO_AUGMENT
    t_start = time.time()
    elapsed_before = history[-1]["elapsed_s"] if history else 0.0
    stopped = False
    planned = budget_logged = per_epoch * epochs
    for epoch in range(start_epoch, epochs):
        if step >= total:  # resumed after the time budget had ended the run
            break
        torch.manual_seed(cfg.seed * 1000 + epoch)
        rng = random.Random(cfg.seed * 1000 + epoch)
        batches = make_batches(lengths, cfg.max_frames, cfg.seed * 1000 + epoch)
        if epoch == 0 and cfg.short_first:
            # Curriculum (SortaGrad): short utterances first, whose uniform starting alignment
            # is least wrong, so the label head learns phones before it meets long files.
            batches.sort(key=lambda bt: max(lengths[i] for i in bt))
        batches = batches[: per_epoch * world][rank::world]
        net.train()
        t_epoch, loss_sum, n_loss = time.time(), 0.0, 0
        for b, idx in enumerate(batches):
            batch_items = [items[i] for i in idx]
            feats, golds = [], []
            for it in batch_items:
                x = augment(it.feats, aug, rng, features)
                if x.shape[0] < sum(len(w) for w in it.words) * mcfg.states * 1.2 + 2:
                    x = it.feats.float()  # stretched too short for its phones: keep the original
                feats.append(x)
                golds.append(None if it.gold is None else stretch_labels(it.gold, x.shape[0]))
            x, xl = collate(feats)
            tgt = batch_targets(batch_items, cfg.loss, mcfg.sil_mass, phone_mass, mcfg.states)
            gold = (gold_batch_labels(golds, xl, mcfg.states).to(device)
                    if cfg.gold_aux > 0 and any(g is not None for g in golds) else None)
            x, xl = x.to(device), xl.to(device)
            tgt = {k: v.to(device) for k, v in tgt.items()}
            for g in opt.param_groups:
                g["lr"] = cfg.lr * lr_factor(step, total, cfg.warmup, cfg.final_lr)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                loss, spread = compute_loss(net, x, xl, tgt, cfg.loss, cfg.viterbi_aux,
                                            gold, cfg.gold_aux)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if weight_head_frozen(step, total, cfg.freeze_weight_head):
                for p in weight_head:
                    p.grad = None
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            step += 1
            if math.isfinite(loss.item()):
                loss_sum += loss.item()
                n_loss += 1
            if on_step is not None and rank == 0:
                on_step(step, total, loss_sum / max(1, n_loss))
            if cfg.log_every and step % cfg.log_every == 0:
                rate = (b + 1) / (time.time() - t_epoch)
                log(f"epoch {epoch + 1}/{epochs} step {b + 1}/{len(batches)} (total {step}/{total}) "
                    f"loss {loss_sum / max(1, n_loss):.4f} lr {opt.param_groups[0]['lr']:.2e} "
                    f"alpha spread {spread:.2f} "
                    f"{rate:.2f} steps/s{' [weight head frozen]' if weight_head_frozen(step, total, cfg.freeze_weight_head) else ''}")
            if cfg.max_minutes:
                fitted = _agreed(budget_total(total, step, elapsed_before + time.time() - t_start,
                                              60 * cfg.max_minutes), world, device)
                if fitted < total and fitted < 0.9 * budget_logged:
                    budget_logged = fitted
                    log(f"time budget {cfg.max_minutes:g} min: {fitted} of {planned} steps fit "
                        f"({(elapsed_before + time.time() - t_start) / step:.2f} s/step so far)")
                total = fitted
            if step >= total or (cfg.max_steps and step >= cfg.max_steps):
                stopped = True
                break
        if rank == 0:
            train_loss = loss_sum / max(1, n_loss)
            save_model(model, work / "last")  # before the dev metrics: a failure there keeps the epoch
            metrics = dev_metrics(model, dev_utts) if dev_utts else {}
            score = primary_score(metrics)
            elapsed = elapsed_before + time.time() - t_start
            history.append({"epoch": epoch + 1, "step": step, "train_loss": train_loss,
                            "epoch_s": time.time() - t_epoch, "elapsed_s": elapsed, "dev": metrics})
            log(f"epoch {epoch + 1} done in {(time.time() - t_epoch) / 60:.1f} min, train loss "
                f"{train_loss:.4f}" + (f"; dev {format_metrics(metrics)}" if metrics else ""))
            if score >= best or not metrics:  # ties go to the later (more trained) epoch
                best = max(best, score)
                save_model(model, work / "best")
                (work / "best" / "dev.json").write_text(json.dumps(history[-1], indent=2) + "\n")
            _atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                          "total": total, "epoch": epoch, "best": best, "history": history,
                          "model_config": mcfg.to_dict(), "train_config": asdict(cfg)}, ckpt_path)
        if world > 1:
            torch.distributed.barrier()
        if stopped:
            break

    summary = {"train_config": asdict(cfg), "hours": hours, "utterances": len(items),
               "parameters": model.num_parameters(), "history": history, "best_dev": best,
               "steps_run": step, "steps_planned": planned,
               "command": " ".join(sys.argv)}
    if rank == 0:
        chosen = work / ("best" if (work / "best").is_dir() else "last")
        out = Path(cfg.output)
        if out.resolve() != chosen.resolve():
            out.mkdir(parents=True, exist_ok=True)
            for f in chosen.iterdir():
                shutil.copy2(f, out / f.name)
        (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        log(f"model written to {out} (from {chosen.name}/), total training time "
            f"{(elapsed_before + time.time() - t_start) / 60:.1f} min")
    if world > 1:
        torch.distributed.destroy_process_group()
    return summary


def _origin(tc: dict, steps_run: int | None = None) -> str:
    """The card's first line: how the model came to be (trained, fine-tuned or adapted; `adapt`
    names its models '<base name>-adapted' and always runs from a model on a step budget, which
    its time budget may have cut short)."""
    if "adapt" in tc.get("name", "") and tc.get("init") and tc.get("steps"):
        steps = f"{tc['steps']} steps"
        if steps_run is not None and steps_run < tc["steps"] and tc.get("max_minutes"):
            steps = f"{steps_run} of {tc['steps']} steps (time budget {tc.get('max_minutes'):g} min)"
        return (f"Adapted with `ottc-align adapt` from `{tc['init']}`: {steps}, "
                f"hard-EM weight {tc['viterbi_aux']:g}, transcripts only.")
    return "Trained with `ottc-align train`" + (f", starting from `{tc['init']}`." if tc.get("init") else ".")


def write_card(model_dir: Path, summary: dict) -> Path | None:
    """A MODEL_CARD.md from a training summary: data, command, time, dev figures per epoch."""
    if _distributed()[1] != 0:
        return None
    tc = summary["train_config"]
    hist = summary["history"]
    lines = [
        f"# {tc['name']} ({tc['loss']})", "",
        _origin(tc, summary.get("steps_run")), "",
        f"- Training data: {', '.join(tc['corpora'])} ({summary['utterances']} utterances, "
        f"{summary['hours']:.2f} h)",
        f"- Dev (gold TextGrids, metrics only): {', '.join(tc['dev']) or 'none'}",
        f"- Command: `{summary['command']}`",
        f"- Parameters: {summary['parameters']:,}",
        f"- Epochs run: {len(hist)}; training time {hist[-1]['elapsed_s'] / 60:.1f} min" if hist else "- Epochs run: 0",
        "", "## Dev metrics per epoch (phone boundaries)", "",
        "| epoch | train loss | method | within 20 ms | mean ms | F1 | IDR | silence share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shown = hist
    if len(hist) > 40 and not any(h["dev"] for h in hist):  # many tiny epochs (adapting): ~20 rows
        every = math.ceil(len(hist) / 20)
        shown = [h for k, h in enumerate(hist) if k % every == 0 or k == len(hist) - 1]
    for h in shown:
        for method, m in (h["dev"] or {"-": None}).items():
            if m is None:
                lines.append(f"| {h['epoch']} | {h['train_loss']:.4f} | - | | | | | |")
                continue
            lines.append(f"| {h['epoch']} | {h['train_loss']:.4f} | {method} | "
                         f"{100 * (m['within_20ms'] or 0):.1f}% | {m['mean_ms']:.1f} | {m['f1']:.3f} | "
                         f"{m['idr']:.3f} | {100 * m['hyp_silence_share']:.1f}% |")
    path = Path(model_dir) / "MODEL_CARD.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
