"""Adapting a trained model to a corpus before aligning it (`ottc-align adapt`).

Why: OTTC training needs only transcripts, so the corpus that is about to be aligned is also
training data for its own voices. Fine-tuning with the OTTC loss alone moves the model towards
its OT plan, which helps `--method ot` but costs the default `viterbi` decoder about a point;
fine-tuning mostly on the model's own Viterbi path (hard EM, the classic Viterbi training of
HMM aligners and MFA's speaker adaptation) sharpens exactly what `viterbi` decodes. The
defaults were chosen on voices that neither the shipped model nor the choice had seen
(`synth-mbx/unseen-dev`, docs/usage.md) and only then measured on the unseen-voice test split.

Everything here is configuration; the training itself is `aligner.train.train`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch stays out of `ottc-align --help` (cli_adapt imports the defaults)
    from aligner.train import TrainConfig

ADAPT_STEPS = 500          # optimiser steps, whatever the corpus size (~2.5 min on 2 CPU cores)
ADAPT_LR = 1e-3            # peak AdamW learning rate
ADAPT_VITERBI_WEIGHT = 20.0  # hard-EM cross-entropy weight next to the OTTC loss
ADAPT_MAX_UTTERANCE_S = 60.0  # longer recordings are left out (split them to use them)
ADAPT_MIN_UTTERANCES = 20  # fewer: hundreds of passes over each, and confidences near 1


def small_corpus_warning(n_utterances: int) -> str | None:
    """A warning for a corpus too small to adapt to safely, else None.

    Why: with a fixed step budget a handful of recordings is seen hundreds of times; the model
    then agrees with itself on them (measured: every word of the example file at confidence
    0.94-0.99 after adapting to it alone, 0.01-0.85 before), so low-confidence flags go quiet.
    """
    if n_utterances >= ADAPT_MIN_UTTERANCES:
        return None
    return (f"only {n_utterances} recording(s) to adapt to: the adapted model will be very "
            f"confident on them whatever their quality; adapt to {ADAPT_MIN_UTTERANCES} or more "
            "(its confidences are not comparable with the shipped model's)")


def adaptation_config(corpus: list[Path], output: Path, base_model: Path, work_dir: Path,
                      steps: int = ADAPT_STEPS, lr: float = ADAPT_LR,
                      viterbi_weight: float = ADAPT_VITERBI_WEIGHT,
                      max_utterance_s: float = ADAPT_MAX_UTTERANCE_S, seed: int = 0,
                      threads: int | None = None, resume: bool = False,
                      name: str = "ottc-adapted") -> "TrainConfig":
    """The training run that adapts `base_model` to `corpus` (transcripts only, no dev set).

    A step budget rather than epochs: a corpus of 50 utterances and one of 5000 get the same
    amount of adaptation (many passes over the small one, under one over the large one).
    The first epoch is shuffled (no short-to-long curriculum: the model is already trained).
    """
    from aligner.train import TrainConfig

    if steps < 1:
        raise ValueError(f"--steps must be at least 1, not {steps}")
    if lr <= 0:
        raise ValueError(f"--lr must be positive, not {lr}")
    if viterbi_weight < 0:
        raise ValueError(f"--viterbi-weight must be >= 0, not {viterbi_weight}")
    return TrainConfig(
        corpora=[str(c) for c in corpus], output=str(output), work_dir=str(work_dir), dev=[],
        loss="ottc", lr=lr, steps=steps, viterbi_aux=viterbi_weight, init=str(base_model),
        short_first=False, seed=seed, threads=threads, resume=resume,
        cache_dir=str(work_dir / "features"), max_utterance_s=max_utterance_s, name=name,
        log_every=100)
