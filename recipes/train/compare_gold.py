"""Are two models really different on the hand-labelled recordings? A paired comparison.

    python recipes/train/compare_gold.py --data ../shared/data MODEL_A MODEL_B
    python recipes/train/compare_gold.py --data ../shared/data MODEL_A pocketsphinx --cache DIR

gold-dev has about 290 phone boundaries, so one model's share within 20 ms carries a 95%
interval of about +-5 points, and runs of the same recipe differ by that much. Each system's
boundaries are paired with the gold's as `evaluate` pairs them, keyed by the gold time, so the
two meet at the same gold boundaries; this scores each boundary for both and tests the differences on those pairs: exact McNemar tests on the
boundaries only one of the two places within 10 and within 20 ms, and a sign-flip permutation
test on the difference of absolute errors. Gold boundaries only one of the two is paired with
(a phone the other left out or split) are left out and counted. `pocketsphinx` as
a model compares against pocketsphinx 5 (its alignments cached under --cache/pocketsphinx, as
benchmarks/real_speech.py keeps them).
For choosing between models; gold-dev is never trained on.
"""

from __future__ import annotations

import argparse
import sys
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.real_speech import GOLD_SETS, Ottc, Pocketsphinx, gold_items  # noqa: E402


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: how surprising a split of the discordant boundaries
    this uneven would be if both models were equally good."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def sign_flip_p(diff: np.ndarray, rounds: int = 20000, seed: int = 0) -> float:
    """Two-sided permutation p-value of mean(diff) against zero, flipping each pair's sign."""
    diff = np.asarray(diff, dtype=float)
    if len(diff) == 0 or not diff.any():
        return 1.0
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(rounds, len(diff)))
    return float((np.abs((signs * diff).mean(1)) >= abs(diff.mean()) - 1e-12).mean())


def system(name: str, cache: Path | None) -> Ottc | Pocketsphinx:
    """A model directory (viterbi, as shipped) or `pocketsphinx`."""
    if name != "pocketsphinx":
        return Ottc(name, "viterbi")
    if cache is None:
        raise SystemExit("error: pocketsphinx needs --cache (where its alignments are kept)")
    return Pocketsphinx(cache / "pocketsphinx")


def errors_by_gold_time(gold, hyp) -> dict[float, float]:
    """Absolute error (ms) of the hypothesis at each gold boundary it is paired with, keyed by
    the gold time (the same key for any system aligned to that gold)."""
    from aligner.evaluate import boundary_pairs, pair_tokens

    out: dict[float, float] = {}
    for g, h in boundary_pairs(gold, hyp, pair_tokens(gold, hyp)):
        out.setdefault(round(g, 6), abs(h - g) * 1000)
    return out


def paired_errors(a, b, gold_dev: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Absolute boundary errors (ms) of two systems at the gold boundaries both are paired
    with, and how many gold boundaries only one of them is paired with (left out)."""
    from aligner.phone_folding import load_folding

    cmu = load_folding("cmu39")
    errors_a, errors_b, left_out = [], [], 0
    for folder, fold_name in GOLD_SETS.items():
        fold = load_folding(fold_name)
        for item in gold_items(gold_dev / folder):
            gold = fold.fold_phones(item.gold_phones)
            ea = errors_by_gold_time(gold, cmu.fold_phones(a.align(item).phones))
            eb = errors_by_gold_time(gold, cmu.fold_phones(b.align(item).phones))
            both = sorted(ea.keys() & eb.keys())
            left_out += len(ea.keys() ^ eb.keys())
            errors_a += [ea[t] for t in both]
            errors_b += [eb[t] for t in both]
    return np.array(errors_a), np.array(errors_b), left_out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("--data", type=Path, required=True, help="the data folder (holds gold-dev/)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="benchmarks' cache folder (pocketsphinx's alignments)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    a, b = system(args.model_a, args.cache), system(args.model_b, args.cache)
    ea, eb, skipped = paired_errors(a, b, args.data / "gold-dev")
    print(f"{len(ea)} gold boundaries both are paired with ({skipped} only one is, left out)")
    print(f"mean error: A {ea.mean():.1f} ms, B {eb.mean():.1f} ms; "
          f"sign-flip p = {sign_flip_p(ea - eb):.3f}")
    for tol in (10, 20):
        hit_a, hit_b = ea <= tol + 1e-6, eb <= tol + 1e-6  # as share_within: a hair's slack
        only_a, only_b = int((hit_a & ~hit_b).sum()), int((hit_b & ~hit_a).sum())
        print(f"within {tol} ms: A {100 * hit_a.mean():.1f}%, "
              f"B {100 * hit_b.mean():.1f}%; only A {only_a}, only B {only_b}, "
              f"McNemar p = {mcnemar_exact(only_a, only_b):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
