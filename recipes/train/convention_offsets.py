"""Diagnostic: how much of a model's boundary error is a constant offset per boundary type?

    python recipes/train/convention_offsets.py models/english $DATA/synth/dev $DATA/synth/test

Aligns both splits (viterbi), takes the median signed offset of phone starts per boundary type
(manner of the phone before > manner of this one, as benchmarks/boundary_errors.py) on the
first split, subtracts it from the second split's offsets and prints the share within 20 ms
before and after (and after the second split's own medians, an upper bound). A large gain
would mean a labelling-convention difference that a constant shift could fix; a small one means
the misses are spread. A diagnostic: fitting shifts to gold times is not something the product
does (it trains from transcripts only).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
import torch

from aligner.align import Aligner
from aligner.evaluate import phone_start_offsets
from aligner.formats import read_alignment
from aligner.phone_folding import load_folding
from aligner.dev_metrics import find_dev_utterances

MIN_COUNT = 30  # boundary types rarer than this keep no shift


def offsets(aligner: Aligner, corpus: str) -> list[tuple[str, float]]:
    """(boundary type, hyp - gold seconds) for every paired phone start of a corpus."""
    folding = load_folding("cmu39")
    out: list[tuple[str, float]] = []
    for _, audio, transcript, gold in find_dev_utterances([corpus], 0):
        hyp = aligner.align(audio, transcript, method="viterbi")
        out += phone_start_offsets(read_alignment(gold), hyp, folding)
    return out


def medians(offs: list[tuple[str, float]]) -> dict[str, float]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, o in offs:
        by_kind[kind].append(o)
    return {k: float(np.median(v)) for k, v in by_kind.items() if len(v) >= MIN_COUNT}


def within(offs: list[tuple[str, float]], shift: dict[str, float], tol: float = 0.02) -> float:
    return 100.0 * float(np.mean([abs(o - shift.get(k, 0.0)) <= tol for k, o in offs]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("fit_corpus")
    ap.add_argument("eval_corpus")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    aligner = Aligner.load(a.model, "cpu")
    fit, ev = offsets(aligner, a.fit_corpus), offsets(aligner, a.eval_corpus)
    m_fit, m_ev = medians(fit), medians(ev)
    print(f"{a.fit_corpus}: {within(fit, {}):.1f}% within 20 ms, {within(fit, m_fit):.1f}% after its own medians")
    print(f"{a.eval_corpus}: {within(ev, {}):.1f}% within 20 ms, {within(ev, m_fit):.1f}% after "
          f"{a.fit_corpus}'s medians, {within(ev, m_ev):.1f}% after its own (upper bound)")
    top = sorted(m_fit.items(), key=lambda kv: -abs(kv[1]))[:8]
    print("largest median offsets (ms):", ", ".join(f"{k} {1000 * v:+.1f}" for k, v in top))


if __name__ == "__main__":
    main()
