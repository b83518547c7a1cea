"""Adapting a trained model to a corpus before aligning it (`ottc-align adapt`).

Why: OTTC training needs only transcripts, so the corpus that is about to be aligned is also
training data for its own voices. Fine-tuning with the OTTC loss alone moves the model towards
its OT plan, which helps `--method ot` but costs the default `viterbi` decoder about a point;
fine-tuning mostly on the model's own Viterbi path (hard EM, the classic Viterbi training of
HMM aligners and MFA's speaker adaptation) sharpens exactly what `viterbi` decodes. The
defaults were chosen on voices that neither the shipped model nor the choice had seen
(`synth-mbx/unseen-dev`, docs/usage.md) and only then measured on the unseen-voice test split.

Hard EM can also go wrong: it trains the model to agree with itself, so on a handful of
recordings seen hundreds of times it becomes sure of boundaries it places worse (8 real
recordings: words within 20 ms fell from 35% to 13% while mean confidence rose to 0.9).
Hence the guards here: corpora below a minimum size are refused, a share of the recordings is
held out of training and the adapted model is kept only if it is surer of them than the base
model and its boundaries there stay on the spectral changes (criteria that need no gold times:
see HeldOutCheck), or, when the user has a few hand-labelled recordings (`--gold`), only if it
places more of their boundaries within 20 ms (GoldCheck); a time budget bounds the run.

The training itself is `aligner.train.train`; the CLI (aligner/cli/adapt.py) strings it together.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch stays out of `ottc-align --help` (cli/adapt.py imports the defaults)
    import numpy as np

    from aligner.alignment import Alignment, Interval
    from aligner.corpus import Utterance
    from aligner.model import AcousticModel
    from aligner.phone_folding import Folding
    from aligner.train import TrainConfig

ADAPT_STEPS = 500          # optimiser steps (~3 min on 2 CPU cores), fewer if the time budget runs out
ADAPT_MAX_MINUTES = 10.0   # time budget for the steps; the schedule shrinks to fit it
ADAPT_LR = 1e-3            # peak AdamW learning rate
ADAPT_VITERBI_WEIGHT = 20.0  # hard-EM cross-entropy weight next to the OTTC loss
ADAPT_MAX_UTTERANCE_S = 60.0  # longer recordings are left out (split them to use them)
ADAPT_MIN_UTTERANCES = 30  # fewer recordings, or less audio, are refused (see too_small)
ADAPT_MIN_SECONDS = 120.0
HOLD_OUT_SHARE = 0.1       # of the recordings, kept out of training to check the result
HOLD_OUT_MIN = 5
HOLD_OUT_MAX = 40


@dataclass(frozen=True)
class Recording:
    """One recording `adapt` can train on: a transcript, and no longer than the length cap."""

    corpus: Path
    name: str  # as the training loop names it: the path under `corpus` without suffix
    audio: Path
    transcript: Path
    seconds: float


def usable_recordings(corpora: list[Path], max_utterance_s: float) -> list[Recording]:
    """The recordings training will use, from the audio headers (fast: nothing is decoded).

    Unreadable files, label files, and TextGrid and CHAT transcripts are left out: training
    skips them too (they counted towards the minimum and the held-out share)."""
    from aligner.audio import AudioError, audio_info
    from aligner.corpus import find_utterances
    from aligner.dataset import UNTRAINED_TRANSCRIPTS
    from aligner.text.frontend import read_transcript

    found = []
    for root in corpora:
        for u in find_utterances(Path(root)):
            if u.transcript is None or u.transcript.suffix.lower() in UNTRAINED_TRANSCRIPTS:
                continue
            try:  # an empty transcript teaches nothing: not counted towards the minimum
                if not read_transcript(u.transcript).strip():
                    continue
            except ValueError:  # unreadable, or a time-stamped label file: training skips it
                continue
            try:
                seconds = audio_info(u.audio).duration
            except AudioError:
                continue
            if seconds <= max_utterance_s:
                found.append(Recording(Path(root), u.name, u.audio, u.transcript, seconds))
    return found


def copies(recordings: list[Recording]) -> list[Recording]:
    """The recordings whose audio file is byte for byte an earlier one's: a corpus padded with
    copies passed the size check and held out copies of what it trained on, so the check that
    keeps the base model saw the training data (20 recordings copied three times trained, and
    its held-out confidence went 0.23 -> 0.79). Only files of one size are read and compared."""
    by_size: dict[int, list[Recording]] = {}
    for r in recordings:
        by_size.setdefault(r.audio.stat().st_size, []).append(r)
    out = []
    for group in by_size.values():
        seen: set[str] = set()
        for r in group if len(group) > 1 else ():
            digest = hashlib.sha1(r.audio.read_bytes()).hexdigest()
            if digest in seen:
                out.append(r)
            seen.add(digest)
    return out


def too_small(recordings: list[Recording]) -> str | None:
    """Why the corpus is too small to adapt to safely, with what is enough; None if it is not.

    Measured (docs/usage.md): on 8 recordings the adapted model placed boundaries worse on the
    very recordings it adapted to, and its confidences approached 1 on all of them."""
    seconds = sum(r.seconds for r in recordings)
    if len(recordings) >= ADAPT_MIN_UTTERANCES and seconds >= ADAPT_MIN_SECONDS:
        return None
    minutes = math.floor(seconds / 6) / 10  # 1.97 min is not "2.0 min" beside "at least 2"
    return (f"{len(recordings)} recording(s) ({minutes:.1f} min of audio with transcripts) "
            f"are too few to adapt to safely (the model learns them by heart and grows confidently "
            f"wrong): adapt needs at least {ADAPT_MIN_UTTERANCES} recordings and "
            f"{ADAPT_MIN_SECONDS / 60:g} min; align with the model as it is instead")


def choose_held_out(recordings: list[Recording], seed: int) -> list[Recording]:
    """The recordings kept out of training to check the adapted model: HOLD_OUT_SHARE of them,
    at least HOLD_OUT_MIN and at most HOLD_OUT_MAX; the same ones for the same corpus and seed
    (so a resumed run holds out the same ones)."""
    k = min(HOLD_OUT_MAX, max(HOLD_OUT_MIN, round(HOLD_OUT_SHARE * len(recordings))))
    return random.Random(seed).sample(recordings, min(k, len(recordings) - 1))


def trained_sample(recordings: list[Recording], held: list[Recording], seed: int) -> list[Recording]:
    """As many of the recordings trained on as were held out (to show how much higher the
    adapted model's confidence is on recordings it was trained on)."""
    rest = [r for r in recordings if r not in held]
    return random.Random(seed).sample(rest, min(len(held), len(rest)))


LANDMARK_REACH = 2  # spectral-change frames (2.5 ms) either side of a boundary: +-5 ms


def landmark_strength(phones: list["Interval"], change: "np.ndarray", frame: float) -> list[float]:
    """How sharply the spectrum changes at each boundary of the labelled `phones`: the largest
    spectral change (`features.spectral_change`, one value per `frame` seconds) within
    LANDMARK_REACH frames of it, over the recording's median change. Pure.

    Why: a boundary people place sits where one sound gives way to another, and most of those
    are abrupt changes of the spectrum; an adapted model whose boundaries drift off them has
    drifted from where people put them (HeldOutCheck)."""
    import numpy as np

    live = change[change > 1e-6]  # digital silence has no change at all: not the scale
    if len(live) == 0:
        return []
    median = float(np.median(live))
    times = sorted({t for p in phones if p.label for t in (p.start, p.end)})
    out = []
    for t in times:
        k = int(round(t / frame - 0.5))
        if LANDMARK_REACH <= k < len(change) - LANDMARK_REACH:
            out.append(float(change[k - LANDMARK_REACH: k + LANDMARK_REACH + 1].max()) / median)
    return out


def held_out_figures(model: "AcousticModel", recordings: list[Recording],
                     landmarks: bool = True) -> tuple[float, float]:
    """(mean word confidence, mean landmark strength of the phone boundaries) of `model`'s
    alignments of `recordings`, each a mean over recordings; the boundaries as the decoder
    places them before they are snapped to the spectral change or moved by the boundary network
    (either would hide a drift).
    Recordings that cannot be aligned are left out (NaN when none can be); `landmarks` False:
    confidence alone (NaN for the landmarks)."""
    import numpy as np
    import torch

    from aligner.align import Aligner
    from aligner.alignment import mean_word_confidence
    from aligner.features import CHANGE_FEATURES, model_wave, spectral_change

    aligner = Aligner(model)
    aligner.snap_boundaries = False
    aligner.place_boundaries = False
    confidences, strengths = [], []
    for r in recordings:
        try:
            wave, _ = aligner.load_waveform(r.audio)
            result = aligner.align(wave, r.transcript, sample_rate=aligner.sample_rate)
        except ValueError:
            continue
        mean = mean_word_confidence([w for w in result.words if w.label])
        if mean is not None:
            confidences.append(mean)
        if not landmarks:
            continue
        change = spectral_change(torch.from_numpy(model_wave(wave)))
        strength = landmark_strength(result.phones, change.numpy(), CHANGE_FEATURES.frame_duration)
        if strength:
            strengths.append(float(np.mean(strength)))
    mean = lambda xs: float(np.mean(xs)) if xs else float("nan")  # noqa: E731
    return mean(confidences), mean(strengths)


@dataclass(frozen=True)
class HeldOutCheck:
    """Mean word confidence of the base and the adapted model on the held-out recordings, and
    on as many recordings that were trained on; the landmark strength of their boundaries on the
    held-out ones."""

    recordings: int
    base_held: float
    adapted_held: float
    base_trained: float
    adapted_trained: float
    base_landmarks: float = float("nan")
    adapted_landmarks: float = float("nan")

    @property
    def adapted_is_better(self) -> bool:
        """The criterion: the adapted model is surer of recordings it has not seen, and its
        boundaries on them sit on spectral change at least as sharp as the base model's.

        Why confidence on held-out recordings (measured against gold times on the synthetic
        test split, docs/usage.md): it rose after adapting to 30 and 100 recordings, whose
        held-out boundaries improved, and fell after adapting to 8 (synthetic and real), where
        the model had learned the recordings rather than the voices; on the recordings trained
        on it rose to 0.8-0.97 in every case. But it also rose where boundaries got worse: the
        shipped model adapted to the unseen voices (held out: 81.5% -> 78.8% within 20 ms) and
        to the seen voices' new sentences (93.9% -> 89.2%). So did the held-out phone error
        rate of the free phone string (it fell) and how far a correct transcript's fit lies
        above another's (it rose), in all five runs measured. The landmark strength fell in
        both of those losses and rose in the one large gain (5 held-out recordings: 73.2% ->
        77.8%); it also fell in two small gains (63.9% -> 65.7%, 75.9% -> 76.0%), which the
        check then gives up: it errs towards the model you started from. On real learners (300
        recordings of speechocean762 training speakers) confidence rose 0.166 -> 0.230 while the
        landmarks fell 2.06 -> 1.62, and the adapted model placed 25.6% of gold-dev's boundaries
        within 20 ms against the base model's 78.8%. The OTTC loss on
        held-out recordings rose in every case, and the model's own Viterbi-path likelihood on
        5 held-out recordings fell where their boundaries improved by 7 points."""
        landmarks_held = not (self.adapted_landmarks < self.base_landmarks)  # NaN: not measured
        return self.adapted_held > self.base_held and landmarks_held

    def describe(self) -> str:
        landmarks = ("" if self.base_landmarks != self.base_landmarks else
                     f", spectral change at their phone boundaries {self.base_landmarks:.2f} -> "
                     f"{self.adapted_landmarks:.2f} x the median")
        return (f"mean word confidence on {self.recordings} held-out recordings "
                f"{self.base_held:.3f} -> {self.adapted_held:.3f}{landmarks}, on as many "
                f"recordings adapted to {self.base_trained:.3f} -> {self.adapted_trained:.3f}")


def check_held_out(base: "AcousticModel", adapted: "AcousticModel", held: list[Recording],
                   trained: list[Recording]) -> HeldOutCheck:
    """Align the held-out recordings, and a sample of those trained on, with both models."""
    (base_held, base_marks), (adapted_held, adapted_marks) = (
        held_out_figures(base, held), held_out_figures(adapted, held))
    base_trained, _ = held_out_figures(base, trained, landmarks=False)
    adapted_trained, _ = held_out_figures(adapted, trained, landmarks=False)
    return HeldOutCheck(len(held), base_held, adapted_held, base_trained, adapted_trained,
                        base_marks, adapted_marks)


GOLD_TOLERANCE = 0.02  # s: the boundary figure the gold check compares, as the benchmarks
FEW_GOLD_BOUNDARIES = 200  # fewer: the check cannot tell a few points from chance (said so)


def gold_recordings(gold_dir: Path) -> list["Utterance"]:
    """The recordings under `gold_dir` with a text transcript and a hand-labelled TextGrid
    beside them (x.wav, x.lab, x.TextGrid: the corpus layout with gold added), for `check_gold`.
    Raises ValueError naming the folder when there is none."""
    from aligner.corpus import gold_utterances

    if not Path(gold_dir).is_dir():
        raise ValueError(f"{gold_dir}: --gold folder not found")
    found = gold_utterances(Path(gold_dir))
    if not found:
        raise ValueError(f"{gold_dir}: no hand-labelled recordings found (--gold needs recordings "
                         "with a transcript and a TextGrid of hand-placed boundaries beside "
                         "them: x.wav, x.lab, x.TextGrid)")
    for u in found:  # before training: a broken file would otherwise fail it minutes later
        read_gold(u.gold)
    return found


def read_gold(path: Path) -> "Alignment":
    """A gold TextGrid as `evaluate` reads it (tiers named words/phones, else guessed); raises
    ValueError naming the file when it cannot be read or holds neither tier."""
    from aligner.evaluate import EvaluationError, load_alignments

    (truth,) = load_alignments(path).values()
    if isinstance(truth, EvaluationError):
        raise ValueError(str(truth))
    if not truth.words and not truth.phones:
        raise ValueError(f"{path}: no words or phones tier with labels to score against")
    return truth


def gold_in_corpus(recordings: list[Recording], gold: list["Utterance"]) -> list[Recording]:
    """The corpus recordings that are also gold recordings: the same audio file, or a copy of
    it (same file name, same size: a few recordings copied out to label them in Praat). Left
    out of training, so that the gold check measures recordings the adapted model has not
    learnt."""
    audio = {u.audio.resolve() for u in gold}
    copies = {(u.audio.name, _size(u.audio)) for u in gold}
    return [r for r in recordings
            if r.audio.resolve() in audio or (r.audio.name, _size(r.audio)) in copies]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


@dataclass(frozen=True)
class GoldFigures:
    """One model's boundaries on the gold recordings: the tier scored (phones where the gold
    has them, else words), how many boundaries, the share within GOLD_TOLERANCE, the mean
    error in ms, and the recordings it could not align."""

    tier: str
    boundaries: int
    within: float
    mean_ms: float
    failed: frozenset[str] = frozenset()


def gold_tier(gold: list["Utterance"]) -> str:
    """The tier the gold check scores: phones when any gold recording has them, else words."""
    return "phones" if any(read_gold(u.gold).phones for u in gold) else "words"


def score_on_gold(model: "AcousticModel", gold: list["Utterance"], folding: "Folding",
                  tier: str = "phones") -> GoldFigures:
    """Align each gold recording with `model` (as `align` does) and score its `tier` against
    the hand-placed boundaries (`evaluate.score_utterance`). A recording that cannot be aligned
    counts as failed. Raises ValueError naming a gold file that cannot be read."""
    from aligner.align import Aligner
    from aligner.evaluate import score_utterance, summarise

    aligner = Aligner(model)
    scores, failed = [], set()
    for u in gold:
        truth = read_gold(u.gold)
        try:
            hyp = aligner.align(u.audio, u.transcript)
        except ValueError:
            failed.add(u.name)
            continue
        scores.append(score_utterance(u.name, truth, hyp, folding, GOLD_TOLERANCE))
    s = summarise(scores, GOLD_TOLERANCE)
    t = s.phones if tier == "phones" else s.words
    within = t.within.get(round(GOLD_TOLERANCE * 1000), float("nan")) if t.boundaries else 0.0
    return GoldFigures(tier, t.boundaries, within, t.mean_ms, frozenset(failed))


@dataclass(frozen=True)
class GoldCheck:
    """The base and the adapted model on the user's hand-labelled recordings."""

    recordings: int
    base: GoldFigures
    adapted: GoldFigures

    @property
    def adapted_is_better(self) -> bool:
        """The adapted model places more boundaries within 20 ms of the hand-placed ones, and
        fails no recording the base model aligns. Ties keep the base model: nothing shows that
        adapting helped. Why gold, when there is some: the held-out confidence rises when
        boundaries get worse (HeldOutCheck), and neither the held-out phone error rate nor how
        well the transcript's fit tells it from another's did better (docs/usage.md)."""
        if not self.adapted.failed <= self.base.failed:  # it fails one the base model aligns
            return False
        return self.adapted.within > self.base.within

    @property
    def boundaries(self) -> int:
        """The hand-placed boundaries scored (by whichever model aligned more recordings)."""
        return max(self.base.boundaries, self.adapted.boundaries)

    @property
    def few(self) -> bool:
        return self.boundaries < FEW_GOLD_BOUNDARIES

    def describe(self) -> str:
        b, a = self.base, self.adapted
        failed = (f", {len(b.failed)} -> {len(a.failed)} recording(s) not aligned"
                  if b.failed or a.failed else "")
        return (f"{b.tier} boundaries within {GOLD_TOLERANCE * 1000:g} ms of the hand-placed ones "
                f"on {self.recordings} hand-labelled recording(s) ({b.boundaries} boundaries) "
                f"{100 * b.within:.1f}% -> {100 * a.within:.1f}%, mean error {b.mean_ms:.1f} -> "
                f"{a.mean_ms:.1f} ms{failed}")


def check_gold(base: "AcousticModel", adapted: "AcousticModel", gold: list["Utterance"],
               folding: "Folding") -> GoldCheck:
    """Score both models on the gold recordings."""
    tier = gold_tier(gold)
    return GoldCheck(len(gold), score_on_gold(base, gold, folding, tier),
                     score_on_gold(adapted, gold, folding, tier))


def resumed_leave_out_conflict(work_dir: Path, leave_out: list[str]) -> str | None:
    """Why a `--resume` cannot continue: the checkpoint in `work_dir` left other recordings out
    of training (another --gold or --seed), so recordings it trained on would now be called
    held out or hand-labelled and unseen; None when it is the same list or there is none."""
    import torch

    ckpt = Path(work_dir) / "checkpoint.pt"
    if not ckpt.is_file():
        return None
    try:
        before = torch.load(ckpt, map_location="cpu", weights_only=False)["train_config"]["leave_out"]
    except Exception:  # noqa: BLE001 - an unreadable checkpoint: training says so itself
        return None
    if sorted(before) == sorted(leave_out):
        return None
    return (f"{work_dir}: the run being resumed left other recordings out of training (another "
            f"--gold or --seed); resume with the same --gold and --seed, or start again without "
            f"--resume")


def adaptation_config(corpus: list[Path], output: Path, base_model: Path, work_dir: Path,
                      steps: int = ADAPT_STEPS, lr: float = ADAPT_LR,
                      viterbi_weight: float = ADAPT_VITERBI_WEIGHT,
                      max_utterance_s: float = ADAPT_MAX_UTTERANCE_S, seed: int = 0,
                      threads: int | None = None, resume: bool = False,
                      name: str = "ottc-adapted", max_minutes: float | None = ADAPT_MAX_MINUTES,
                      leave_out: list[str] = ()) -> "TrainConfig":
    """The training run that adapts `base_model` to `corpus` (transcripts only, no dev set).

    A step budget rather than epochs: a corpus of 50 utterances and one of 5000 get the same
    amount of adaptation (many passes over the small one, under one over the large one), cut
    short when `max_minutes` would not hold them.
    The first epoch is shuffled (no short-to-long curriculum: the model is already trained).
    """
    from aligner.align import idle_threads
    from aligner.train import TrainConfig

    if steps < 1:
        raise ValueError(f"--steps must be at least 1, not {steps}")
    if lr <= 0:
        raise ValueError(f"--lr must be positive, not {lr}")
    if viterbi_weight < 0:
        raise ValueError(f"--viterbi-weight must be >= 0, not {viterbi_weight}")
    if max_minutes is not None and max_minutes <= 0:
        raise ValueError(f"--max-minutes must be positive, not {max_minutes:g}")
    return TrainConfig(
        corpora=[str(c) for c in corpus], output=str(output), work_dir=str(work_dir), dev=[],
        loss="ottc", lr=lr, steps=steps, viterbi_aux=viterbi_weight, init=str(base_model),
        short_first=False, seed=seed, threads=threads or idle_threads(), resume=resume,
        cache_dir=str(work_dir / "features"), max_utterance_s=max_utterance_s, name=name,
        log_every=100, max_minutes=max_minutes, leave_out=list(leave_out), purpose="adapt")
