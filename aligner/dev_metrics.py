"""Training's evaluation: phone-boundary figures of a model on utterances with gold TextGrids.

Why a module of its own: training scores every epoch with it (and keeps the best one), and the
recipes and benchmarks measure exported models with the same function, so their figures and the
training log's are comparable. It uses the same Aligner stages and scorer as `ottc-align
evaluate`, so the numbers also mean what evaluate's do.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aligner.align import Aligner
    from aligner.alignment import Alignment
    from aligner.model import AcousticModel

DEV_SUBSET_SEED = 0  # the dev sample of every run (see find_dev_utterances)


def find_dev_utterances(roots: list[str], limit: int) -> list[tuple[str, Path, Path, Path]]:
    """(name, audio, transcript, gold TextGrid) for dev utterances with gold alignments.

    With `limit`, always the same sample (seed DEV_SUBSET_SEED), whatever the training run's
    seed: per-epoch dev figures of different runs, and `recipes/train/measure.py --limit`,
    are then on the same utterances and can be compared (until session 5 the sample followed
    the run's seed, so two runs' 120-utterance figures were on different utterances)."""
    from aligner.corpus import gold_utterances

    found = [(f"{Path(root).name}/{u.name}", u.audio, u.transcript, u.gold)
             for root in roots for u in gold_utterances(Path(root))]
    if limit and len(found) > limit:
        rng = random.Random(DEV_SUBSET_SEED)
        found = sorted(rng.sample(found, limit))
    return found


def dev_metrics(model: AcousticModel, utts, methods: tuple[str, ...] | None = None
                ) -> dict[str, dict]:
    """Phone boundary figures per decoding method (default: every method the model supports,
    `decode.supported_methods`) on utterances with gold TextGrids.

    Uses the same Aligner and scorer as `ottc-align evaluate`, so the numbers mean the same.
    The model runs where it is (a GPU during training); each recording is encoded once and
    decoded with every method.
    """
    from aligner.align import Aligner
    from aligner.decode import decoder_for, supported_methods
    from aligner.evaluate import score_utterance, summarise
    from aligner.formats import read_alignment
    from aligner.phone_folding import load_folding

    if not utts:
        return {}
    methods = supported_methods(model.config) if methods is None else methods
    for method in methods:  # a method the model cannot decode with is a caller's mistake
        decoder_for(method, model.config)
    was_training = model.training
    model.eval()
    aligner = Aligner(model)
    folding = load_folding("cmu39")
    golds = {name: read_alignment(gold) for name, _, _, gold in utts}
    scores: dict[str, list] = {method: [] for method in methods}
    try:
        for name, audio, transcript, _ in utts:
            for method, hyp in _align_each_method(aligner, audio, transcript, methods):
                scores[method].append(score_utterance(name, golds[name], hyp, folding))
    finally:
        model.train(was_training)
    out: dict[str, dict] = {}
    for method, scored in scores.items():
        s = summarise(scored)
        out[method] = {
            "utterances": len(scored), "failed": len(utts) - len(scored),
            "within_10ms": s.phones.within.get(10), "within_20ms": s.phones.within.get(20),
            "within_50ms": s.phones.within.get(50), "mean_ms": s.phones.mean_ms,
            "median_ms": s.phones.median_ms, "f1": s.phones.f1, "idr": s.phones.idr,
            "hyp_silence_share": s.hyp_silence_share, "gold_silence_share": s.gold_silence_share,
            "word_within_20ms": s.words.within.get(20),
        }
    return out


def _align_each_method(aligner: Aligner, audio: Path, transcript: Path,
                       methods: tuple[str, ...]) -> Iterator[tuple[str, Alignment]]:
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
    """One log line for `dev_metrics`' figures, method by method."""
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
