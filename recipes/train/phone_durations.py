"""Typical phone durations from a model's own alignments, as OTTC token masses for `--phone-mass`.

    python recipes/train/phone_durations.py MODEL_DIR CORPUS [CORPUS ...] --limit 1500 --out masses.json

Why: OTTC with equal token masses asks the frame weights (alpha) to be small on the many frames
of a long vowel and large on the few of a short stop; a smooth alpha then lends a vowel's edge
frames to its consonant neighbours, and the label head learns those shifted boundaries. Masses
proportional to each phone's typical duration remove most of that swing. The durations come from
aligning the training transcripts with an existing model (no gold times are read), and are
scaled so that the average phone token has mass 1 (the silence mass keeps its meaning).
Prints a table and writes the JSON object {phone: mass}.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import torch

from aligner.align import Aligner
from aligner.corpus import find_utterances
from aligner.text.phones import PHONES, strip_stress


def durations(aligner: Aligner, utts, method: str = "viterbi") -> dict[str, list[float]]:
    """Seconds per phone label (stress removed) over the aligned utterances; failures skipped."""
    out: dict[str, list[float]] = defaultdict(list)
    for u in utts:
        try:
            ali = aligner.align(u.audio, u.transcript, method=method)
        except ValueError:
            continue
        for p in ali.phones:
            if p.label:
                out[strip_stress(p.label).upper()].append(p.end - p.start)
    return out


def typical_duration(durations: list[float]) -> float:
    """Mean of the middle 90% of the durations: alignments come on a 10 ms grid, so a median
    moves in 10 ms steps, while a plain mean follows the few phrase-final or failed stretches."""
    d = sorted(durations)
    cut = len(d) // 20
    middle = d[cut: len(d) - cut] or d
    return sum(middle) / len(middle)


def masses_from_durations(per_phone: dict[str, list[float]], min_count: int = 20) -> dict[str, float]:
    """Typical duration per phone over the token-weighted mean of those (so the average phone
    token has mass 1). Phones seen fewer than `min_count` times get the mean (mass 1)."""
    medians = {p: typical_duration(d) for p, d in per_phone.items() if len(d) >= min_count and p in PHONES}
    if not medians:
        raise ValueError("no phone was seen often enough to estimate its duration")
    total = sum(len(per_phone[p]) for p in medians)
    mean = sum(medians[p] * len(per_phone[p]) for p in medians) / total
    return {p: round(medians.get(p, mean) / mean, 4) for p in PHONES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--limit", type=int, default=1500, help="utterances sampled over all corpora")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    utts = [u for c in args.corpora for u in find_utterances(Path(c)) if u.transcript is not None]
    if args.limit and len(utts) > args.limit:
        utts = random.Random(args.seed).sample(utts, args.limit)
    aligner = Aligner.load(args.model, "cpu")
    per_phone = durations(aligner, utts)
    masses = masses_from_durations(per_phone)
    for p in sorted(masses, key=masses.get):
        d = per_phone.get(p, [])
        typ = f"{1000 * typical_duration(d):6.1f}" if d else "     -"
        print(f"{p:3s} n={len(d):6d} typical {typ} ms  mass {masses[p]:.3f}", file=sys.stderr)
    args.out.write_text(json.dumps(masses, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(utts)} utterances)", file=sys.stderr)


if __name__ == "__main__":
    main()
