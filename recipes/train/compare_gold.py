"""Are two models really different on the hand-labelled recordings? A paired comparison.

    python recipes/train/compare_gold.py --data ../shared/data MODEL_A MODEL_B

gold-dev has about 290 phone boundaries, so one model's share within 20 ms carries a 95%
interval of about +-5 points, and runs of the same recipe differ by that much. Both models align
the same transcripts, so their phones pair one to one with the same gold boundaries; this scores
each boundary for both and tests the differences on those pairs: exact McNemar tests on the
boundaries only one of the two places within 10 and within 20 ms, and a sign-flip permutation
test on the difference of absolute errors. Recordings where the two pair a different number of
boundaries (another pronunciation variant chosen) are left out and counted.
For choosing between models; gold-dev is never trained on.
"""

from __future__ import annotations

import argparse
import sys
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.real_speech import GOLD_SETS, Ottc, gold_items  # noqa: E402


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


def paired_errors(model_a: str, model_b: str, gold_dev: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Absolute boundary errors (ms) of both models on the same gold boundaries, and the
    number of recordings left out because the two paired different boundaries."""
    from aligner.evaluate import score_tier
    from aligner.phone_folding import load_folding

    cmu = load_folding("cmu39")
    a, b = Ottc(model_a, "viterbi"), Ottc(model_b, "viterbi")
    errors_a, errors_b, skipped = [], [], 0
    for folder, fold_name in GOLD_SETS.items():
        fold = load_folding(fold_name)
        for item in gold_items(gold_dev / folder):
            gold = fold.fold_phones(item.gold_phones)
            off_a = score_tier(gold, cmu.fold_phones(a.align(item).phones)).offsets
            off_b = score_tier(gold, cmu.fold_phones(b.align(item).phones)).offsets
            if len(off_a) != len(off_b):
                skipped += 1
                continue
            errors_a += list(np.abs(off_a) * 1000)
            errors_b += list(np.abs(off_b) * 1000)
    return np.array(errors_a), np.array(errors_b), skipped


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("--data", type=Path, required=True, help="the data folder (holds gold-dev/)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    ea, eb, skipped = paired_errors(args.model_a, args.model_b, args.data / "gold-dev")
    print(f"{len(ea)} paired boundaries ({skipped} recordings left out)")
    print(f"mean error: A {ea.mean():.1f} ms, B {eb.mean():.1f} ms; "
          f"sign-flip p = {sign_flip_p(ea - eb):.3f}")
    for tol in (10, 20):
        only_a = int(((ea <= tol) & (eb > tol)).sum())
        only_b = int(((eb <= tol) & (ea > tol)).sum())
        print(f"within {tol} ms: A {100 * np.mean(ea <= tol):.1f}%, "
              f"B {100 * np.mean(eb <= tol):.1f}%; only A {only_a}, only B {only_b}, "
              f"McNemar p = {mcnemar_exact(only_a, only_b):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
