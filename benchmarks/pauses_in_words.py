"""Pauses inside words: a stop in the middle of a word (a stutterer's block, a word read syllable
by syllable), with `Aligner.pauses_in_words` (`--pauses-in-words`) on and off (the default).

    python benchmarks/pauses_in_words.py --data DATA [--model DIR] [--so-limit 300]
        [--per-recording 4] [--threads 1] [--name pauses_in_words]

1. Blocks: each of gold-dev's hand-labelled recordings (emuR, praatio, Parselmouth) gets a stop
   put in at a gold phone boundary inside a word of three gold phones or more (up to
   --per-recording places each, drawn with a fixed seed, one place per copy): 0.4 s or 1 s of
   the recording's own quiet (its quietest tenth of 10 ms frames, looped) or 1 s of exact
   zeros. The gold is moved to match (the word ends that much later). Per condition: the share
   of those words with an edge more than 100 ms from the gold's, of them the share with no flag
   the plain recording lacks, and every phone boundary of the recordings within 20 ms.
2. The same recordings as recorded: phone and word boundaries within 20 ms.
3. speechocean762's test speakers (learners, never trained on), --so-limit clips: the share of
   word edges that move by more than 20 ms between on and off, the pauses found inside words
   by length, and the flags raised with each.

Reads the data by path; writes benchmarks/results/NAME.md/.json and docs/benchmarks/NAME.md.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.alignment import Interval  # noqa: E402
from aligner.audio import load_audio  # noqa: E402
from aligner.checks import flag_kind  # noqa: E402
from aligner.evaluate import summarise_tier  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, set_threads, write_results  # noqa: E402
from benchmarks.real_speech import (GOLD_SETS, Item, gold_items, load_folding,  # noqa: E402
                                    score_gold, speechocean_test)

RATE = 16000
OFF_BY = 0.1  # s: a word edge this far from the gold's is misplaced
BLOCKS = (("0.4 s of the recording's quiet", 0.4, "quiet"),
          ("1 s of the recording's quiet", 1.0, "quiet"),
          ("1 s of exact zeros", 1.0, "zeros"))


def quiet_of(x: np.ndarray, seconds: float) -> np.ndarray:
    """`seconds` of the recording's own quiet: its quietest tenth of 10 ms frames, looped."""
    hop = RATE // 100
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    quiet = frames[np.argsort((frames ** 2).mean(1))[: max(10, len(frames) // 10)]].reshape(-1)
    return np.resize(quiet, int(seconds * RATE)).astype(np.float32)


def places(item: Item, n: int, rng: random.Random) -> list[tuple[int, float]]:
    """Up to n (gold word index, time) pairs: a gold phone boundary inside a word of 3+ phones."""
    found = []
    for k, w in enumerate(item.gold_words or []):
        inner = [p for p in item.gold_phones
                 if p.start >= w.start - 1e-6 and p.end <= w.end + 1e-6 and p.label.strip()]
        if len(inner) >= 3:
            found += [(k, p.start) for p in inner[1:]]
    rng.shuffle(found)
    return found[:n]


def moved_gold(item: Item, at: float, seconds: float) -> Item:
    """The gold with everything from `at` on `seconds` later (the word holding `at` ends later)."""
    def move(iv: list[Interval]) -> list[Interval]:
        return [replace(i, start=i.start + seconds * (i.start >= at - 1e-6),
                        end=i.end + seconds * (i.end > at + 1e-6)) for i in iv]

    return replace(item, gold_phones=move(item.gold_phones), gold_words=move(item.gold_words))


def blocked_word(a, gold_word: Interval, k: int) -> Interval | None:
    """The aligned word that is the k-th gold word (the same place among the spoken words)."""
    said = [w for w in a.words if w.label]
    return said[k] if k < len(said) else None


def gold_part(data: Path, aligner, per_recording: int) -> tuple[list[list], list[list], dict]:
    """Parts 1 and 2: the blocks' rows, the as-recorded rows, and their data."""
    cmu = load_folding("cmu39")
    rng = random.Random(0)
    block_rows, plain_rows, out = [], [], {"blocks": {}, "as_recorded": {}}
    by_set = []
    for folder, fold_name in GOLD_SETS.items():
        fold = load_folding(fold_name)
        for item in gold_items(data / "gold-dev" / folder):  # no gold words: no places
            x = np.asarray(load_audio(item.audio, RATE), np.float32)
            by_set.append((item, fold, x, places(item, per_recording, rng)))
    for on in (True, False):
        aligner.pauses_in_words = on
        mode = "on" if on else "off"
        phones, words = [], []
        for item, fold, x, _ in by_set:
            a = aligner.align(x, sample_rate=RATE, text=item.text)
            p, w = score_gold([item], {item.key: a}, fold, cmu)
            phones += p
            words += w
        sp, sw = summarise_tier(phones), summarise_tier(words)
        out["as_recorded"][mode] = {"phones_within_20ms": sp.within[20],
                                    "words_within_20ms": sw.within[20], "phones": sp.boundaries}
        plain_rows.append([mode, len(by_set), sp.boundaries, f"{100 * sp.within[20]:.1f}%",
                           f"{sp.mean_ms:.1f} ms", f"{100 * sw.within[20]:.1f}%"])
        for label, seconds, kind in BLOCKS:
            off = silent = cases = 0
            scores = []
            for item, fold, x, points in by_set:
                if not points:
                    continue
                base = {flag_kind(f) for f in aligner.align(x, sample_rate=RATE,
                                                             text=item.text).flags}
                for k, at in points:
                    i = int(round(at * RATE))
                    stop = (quiet_of(x, seconds) if kind == "quiet"
                            else np.zeros(int(seconds * RATE), np.float32))
                    y = np.concatenate([x[:i], stop, x[i:]])
                    gold = moved_gold(item, at, seconds)
                    a = aligner.align(y, sample_rate=RATE, text=item.text)
                    scores += score_gold([gold], {gold.key: a}, fold, cmu)[0]
                    w, g = blocked_word(a, gold.gold_words[k], k), gold.gold_words[k]
                    cases += 1
                    if w is None or max(abs(w.start - g.start), abs(w.end - g.end)) > OFF_BY:
                        off += 1
                        silent += not ({flag_kind(f) for f in a.flags} - base)
            s = summarise_tier(scores)
            out["blocks"].setdefault(mode, {})[label] = {
                "words": cases, "off_by_100ms": off, "of_them_no_new_flag": silent,
                "phones_within_20ms": s.within[20]}
            block_rows.append([mode, label, cases, f"{off} ({100 * off / cases:.0f}%)",
                               silent, f"{100 * s.within[20]:.1f}%"])
    aligner.pauses_in_words = False
    return block_rows, plain_rows, out


def pauses_inside(a) -> list[float]:
    """The lengths (s) of the silences inside the alignment's words."""
    out = []
    for w in (w for w in a.words if w.label):
        out += [p.end - p.start for p in a.phones
                if not p.label and w.start < p.start and p.end < w.end]
    return out


def learner_part(data: Path, aligner, limit: int) -> tuple[list[list], list[list], dict]:
    """Part 3: word edges moved between on and off, pauses inside words, flags."""
    items = speechocean_test(data / "real" / "speechocean762", limit)
    runs = {}
    for on in (True, False):
        aligner.pauses_in_words = on
        done = {}
        for item in items:
            try:
                done[item.key] = aligner.align(item.audio, text=item.text)
            except ValueError:
                done[item.key] = None
        runs[on] = done
    aligner.pauses_in_words = False
    moved = edges = 0
    lengths: list[float] = []
    flags = {True: Counter(), False: Counter()}
    for key in runs[True]:
        a, b = runs[True][key], runs[False][key]
        if a is None or b is None:
            continue
        lengths += pauses_inside(a)
        for on, r in ((True, a), (False, b)):
            flags[on].update({flag_kind(f) for f in r.flags})
        for u, v in zip([w for w in a.words if w.label], [w for w in b.words if w.label]):
            edges += 2
            moved += (abs(u.start - v.start) > 0.02) + (abs(u.end - v.end) > 0.02)
    d = np.array(lengths)
    pause_rows = [[f">= {t:g} s", int((d >= t - 1e-9).sum())] for t in (0.03, 0.1, 0.3, 1.0)]
    kinds = sorted(set(flags[True]) | set(flags[False]))
    n = len(items)
    flag_rows = [[k, f"{flags[True][k]} ({100 * flags[True][k] / n:.1f}%)",
                  f"{flags[False][k]} ({100 * flags[False][k] / n:.1f}%)"] for k in kinds]
    data_out = {"clips": n, "word_edges": edges, "moved_over_20ms": moved,
                "pauses_inside_words": {r[0]: r[1] for r in pause_rows},
                "flags_on": dict(flags[True]), "flags_off": dict(flags[False])}
    return pause_rows, flag_rows, data_out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with gold-dev/ and real/")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--so-limit", type=int, default=300, help="learner clips, evenly spaced")
    ap.add_argument("--per-recording", type=int, default=4, help="places per gold recording")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="pauses_in_words")
    args = ap.parse_args()
    set_threads(args.threads)
    from aligner import Aligner

    aligner = Aligner.load(args.model, device="cpu")
    block_rows, plain_rows, gold = gold_part(args.data, aligner, args.per_recording)
    pause_rows, flag_rows, learners = learner_part(args.data, aligner, args.so_limit)
    m = machine()
    body = ("Pauses inside words on (`--pauses-in-words`) and off (the default), model "
            f"`{args.model or 'models/english (shipped)'}`.\n\n"
            "A stop put in at a gold phone boundary inside a word of gold-dev's hand-labelled "
            "recordings (the gold moved to match): words with an edge more than "
            f"{1000 * OFF_BY:.0f} ms from the gold's, of them those with no flag the plain "
            "recording lacks, and all phone boundaries within 20 ms.\n\n"
            + markdown_table(["pauses in words", "the stop", "words", "edge > 100 ms off",
                              "of them unflagged", "phone boundaries within 20 ms"], block_rows)
            + "\n\nThe recordings as recorded:\n\n"
            + markdown_table(["pauses in words", "recordings", "phone boundaries",
                              "within 20 ms", "mean error", "word boundaries within 20 ms"],
                             plain_rows)
            + f"\n\n{learners['clips']} clips of speechocean762's test speakers (learners): "
              f"{learners['moved_over_20ms']} of {learners['word_edges']} word edges "
              f"({100 * learners['moved_over_20ms'] / max(learners['word_edges'], 1):.1f}%) "
              "move by more than 20 ms between on and off. Pauses inside words, on:\n\n"
            + markdown_table(["length", "pauses"], pause_rows)
            + "\n\nRecordings with each flag:\n\n"
            + markdown_table(["flag", "on", "off"], flag_rows)
            + "\n\n" + machine_lines(m))
    print(body)
    write_results(args.name, "Pauses inside words", body,
                  {"machine": m, "model": args.model, **gold, "learners": learners})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
