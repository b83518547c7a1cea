"""Viterbi decoding and variant scoring: the numpy code in aligner/ vs the torch code it replaced.

The baseline is the previous implementation (commit 502e1ad), kept in aligner/decode_reference.py
(the reference the tests compare with too): the windowed DP of `viterbi_segments` with one small
torch op per line and `align._segment_score` with one cumulative sum and five allocations per
phone. Both run in the same process on the same
inputs, interleaved call by call, so a machine loaded by other work slows both alike; compare
times within one run only. Every timed pair is also checked for the same result: the same
segmentation, and the same total up to float64 rounding (the numpy search sums a token's frames
as a difference of per-class running sums, the torch code from the token's first frame); the
variant scores bit for bit.

Inputs (seeded): T frames of 41-class log-posteriors with a planted segmentation (phones of 3-9
frames, noisy logits), S = T / 6 tokens built like the aligner's targets, `sil w1 sil w2 ... sil`
with every silence optional. Rows: the exact search (what `viterbi_segments` does by default for
T * S <= 20 M cells) and a band of 100 frames around the diagonal. Variant scoring: words of
2-8 phones over 15-60 frames, 2 variants each, as `choose_variants` scores them.

    nice -n 10 python benchmarks/decode_speed.py                  # T = 300 600 1000 2000 3000
    python benchmarks/decode_speed.py --lengths 300 1000 --reps 3  # quicker

Writes benchmarks/results/decode_speed.{md,json} with the command, machine and date.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from aligner.decode_reference import ref_segment_score, ref_viterbi_segments  # noqa: E402
from aligner.atomic import atomic_open  # noqa: E402
from benchmarks.common import (  # noqa: E402
    RESULTS, _clean, command_line, machine, machine_lines, markdown_table, portable_paths,
    set_threads,
)

NAME = "decode_speed"


# ------------------------------------------------------------------------------------ inputs

def make_input(n_frames: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """(log_probs [T, 41] float32, targets [S], optional [S]) with S = T // 6 tokens, `sil w1 sil
    ... sil` (silences optional), and a planted segmentation behind the posteriors."""
    from aligner.targets import build_targets

    g = torch.Generator().manual_seed(seed)
    n_tok = max(n_frames // 6, 3)
    words: list[list[int]] = []
    count = 1
    while count < n_tok:
        k = min(int(torch.randint(2, 6, (), generator=g)), max(n_tok - count - 1, 1))
        words.append(torch.randint(2, 41, (k,), generator=g).tolist())
        count += k + 1
    t = build_targets(words, 0.5)
    s = t.tokens.numel()
    d = torch.randint(3, 10, (s,), generator=g)
    pause = torch.where(torch.rand(s, generator=g) < 0.6, 0,
                        torch.randint(3, 20, (s,), generator=g))
    d = torch.where(t.optional, pause, d).double()
    lengths = torch.floor(d * n_frames / float(d.sum())).long()
    lengths[-1] += n_frames - int(lengths.sum())
    truth = torch.repeat_interleave(t.tokens, lengths)
    logits = torch.randn(n_frames, 41, generator=g)
    logits[torch.arange(n_frames), truth] += 4.0
    return logits.log_softmax(-1), t.tokens, t.optional


def make_words(n_words: int, seed: int) -> list[tuple[np.ndarray, list[list[int]]]]:
    """(frames [F, 41] float32, two phone-id variants) per word, as choose_variants sees them."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_words):
        n = int(rng.integers(15, 61))
        k = int(rng.integers(2, 9))
        lp = np.log(rng.dirichlet(np.full(41, 0.3), size=n)).astype(np.float32)
        a = rng.integers(2, 41, k).tolist()
        b = list(a)
        b[int(rng.integers(0, k))] = int(rng.integers(2, 41))
        out.append((lp, [a, b]))
    return out


# ----------------------------------------------------------------------------------- timing

def time_pair(old_fn, new_fn, reps: int) -> tuple[list[float], list[float], object, object]:
    """Interleaved timings (seconds) of old and new, after one untimed call of each."""
    r_old, r_new = old_fn(), new_fn()
    t_old, t_new = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        old_fn()
        t1 = time.perf_counter()
        new_fn()
        t2 = time.perf_counter()
        t_old.append(t1 - t0)
        t_new.append(t2 - t1)
    return t_old, t_new, r_old, r_new


def same_path(a, b) -> bool:
    """Same segmentation, and totals equal up to float64 rounding."""
    return (a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
            and abs(a[2] - b[2]) <= 1e-12 * max(abs(a[2]), 1.0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", type=int, nargs="+", default=[300, 600, 1000, 2000, 3000],
                    help="numbers of frames T (S = T / 6 tokens)")
    ap.add_argument("--band", type=int, default=100, help="band of the banded rows (frames)")
    ap.add_argument("--reps", type=int, default=7, help="timed calls per row (median reported)")
    ap.add_argument("--words", type=int, default=300, help="words in the variant-scoring row")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default=NAME,
                    help="results file name (a quick run under another name keeps the page)")
    args = ap.parse_args(argv)
    set_threads(args.threads)

    from aligner.align import _segment_score
    from aligner.decode import viterbi_segments

    rows, data_rows = [], []
    for n in args.lengths:
        lp, y, opt = make_input(n, args.seed + n)
        for mode, band in (("exact", None), (f"band {args.band}", args.band)):
            t_old, t_new, r_old, r_new = time_pair(
                lambda: ref_viterbi_segments(lp, y, opt, band),
                lambda: viterbi_segments(lp, y, opt, band), args.reps)
            same = same_path(r_old, r_new)
            old_ms, new_ms = statistics.median(t_old) * 1e3, statistics.median(t_new) * 1e3
            rows.append([n, y.numel(), mode, f"{old_ms:.2f}", f"{new_ms:.2f}",
                         f"{old_ms / new_ms:.1f}x", "yes" if same else "NO"])
            data_rows.append({"task": "viterbi_segments", "frames": n, "tokens": y.numel(),
                              "mode": mode, "old_ms": old_ms, "new_ms": new_ms,
                              "old_min_ms": min(t_old) * 1e3, "new_min_ms": min(t_new) * 1e3,
                              "speedup": old_ms / new_ms, "same": same})
            print(" | ".join(str(v) for v in rows[-1]), flush=True)

    words = make_words(args.words, args.seed)
    n_variants = sum(len(v) for _, v in words)
    t_old, t_new, r_old, r_new = time_pair(
        lambda: [ref_segment_score(lp, ids) for lp, vs in words for ids in vs],
        lambda: [_segment_score(lp, ids) for lp, vs in words for ids in vs], args.reps)
    same = r_old == r_new
    old_ms, new_ms = statistics.median(t_old) * 1e3, statistics.median(t_new) * 1e3
    rows.append([f"{args.words} words", f"{n_variants} variants", "_segment_score",
                 f"{old_ms:.2f}", f"{new_ms:.2f}", f"{old_ms / new_ms:.1f}x",
                 "yes" if same else "NO"])
    data_rows.append({"task": "_segment_score", "words": args.words, "variants": n_variants,
                      "old_ms": old_ms, "new_ms": new_ms, "old_min_ms": min(t_old) * 1e3,
                      "new_min_ms": min(t_new) * 1e3, "speedup": old_ms / new_ms,
                      "same": same})
    print(" | ".join(str(v) for v in rows[-1]), flush=True)

    header = ["T (frames)", "S (tokens)", "search", "torch (old) ms", "numpy (new) ms",
              "speed-up", "same result"]
    table = markdown_table(header, rows)
    print()
    print(table)
    m = machine()
    body = (f"{machine_lines(m)}- Threads: {args.threads}; median of {args.reps} interleaved "
            f"calls after one warm-up each\n\n{table}\n")
    with atomic_open(RESULTS / f"{args.name}.md") as handle:  # all or nothing, as write_results
        handle.write(portable_paths(
            f"# Decoding speed: numpy DP vs the previous torch DP\n\n{body}"))
    with atomic_open(RESULTS / f"{args.name}.json") as handle:
        handle.write(json.dumps(_clean({"machine": m, "command": command_line(), "threads": args.threads,
                                        "reps": args.reps, "rows": data_rows}), indent=2) + "\n")
    print(f"wrote {RESULTS / (args.name + '.md')}, {RESULTS / (args.name + '.json')}")
    return 0 if all(r["same"] for r in data_rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
