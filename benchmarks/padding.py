"""Does the pause around the speech move the words? Learners' clips aligned as they are and padded.

    python benchmarks/padding.py --data DATA [--model DIR] [--limit 100] [--no-pocketsphinx]
        [--threads 1] [--name padding]

Recordings reach an aligner with more or less around the speech: a recorder's lead-in, an
editor's padding (exact zeros), a quieter room tone, or a clip cut tight. None of that changes
what was said, so a word's edges should not move. speechocean762's test speakers (learners of
English, never trained on), evenly thinned to --limit clips, each aligned as it is and with 1 s
of exact zeros, 3 s of exact zeros, 1 s of -70 dBFS or 3 s of -60 dBFS white noise (a
recorder's lead-in of room tone) on each side, and cut to
100 ms before its first and after its last word, or right at them (by the same system's
alignment of the whole clip): the share of word edges that move by more than 20 and 50 ms, and
of clips where any edge moves by more than 50 ms. ottc-align and pocketsphinx side by side,
each against itself. Then against people: gold-dev's hand-labelled recordings as recorded, cut
at their first and last labelled phone (a clip cut tight, as a word list cut from a session
is), and with 3 s of -60 dBFS white noise on each side, phone boundaries within 20 ms of the
gold. Reads the data by path; writes
benchmarks/results/NAME.md/.json and docs/benchmarks/NAME.md.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.audio import load_audio  # noqa: E402
from aligner.evaluate import share_within  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, set_threads, write_results  # noqa: E402
from benchmarks.real_speech import (GOLD_SETS, gold_items, load_folding, score_gold,  # noqa: E402
                                    speechocean_test)

RATE = 16000
TRIM_SECONDS = 0.1


def padded(x: np.ndarray, seed: int) -> list[tuple[str, np.ndarray, float]]:
    """(condition, samples, what to add to its times to get the clip's) for each padding."""
    rng = np.random.default_rng(seed)
    noise = [rng.standard_normal(int(s * RATE)).astype(np.float32) * 10 ** (dbfs / 20)
             for s, dbfs in ((1.0, -70), (3.0, -60))]
    zeros = [np.zeros(int(s * RATE), np.float32) for s in (1.0, 3.0)]
    return [("1 s of exact zeros each side", np.concatenate([zeros[0], x, zeros[0]]), -1.0),
            ("3 s of exact zeros each side", np.concatenate([zeros[1], x, zeros[1]]), -3.0),
            ("1 s of -70 dBFS noise each side", np.concatenate([noise[0], x, noise[0][::-1]]), -1.0),
            ("3 s of -60 dBFS noise each side", np.concatenate([noise[1], x, noise[1][::-1]]), -3.0)]


def trimmed(x: np.ndarray, edges: np.ndarray, margin: float = TRIM_SECONDS
            ) -> tuple[np.ndarray, float]:
    """`x` cut to `margin` s before its first word and after its last; (samples, start)."""
    start = max(0.0, float(edges[0, 0]) - margin)
    end = min(len(x) / RATE, float(edges[-1, 1]) + margin)
    return x[int(start * RATE): int(end * RATE)], start


def shifted(alignment, seconds: float) -> SimpleNamespace:
    """An alignment's phones and words moved by `seconds` (what score_gold reads)."""
    def move(intervals):
        return [replace(i, start=i.start + seconds, end=i.end + seconds) for i in intervals]

    return SimpleNamespace(phones=move(alignment.phones), words=move(alignment.words))


def gold_rows(data: Path, systems: dict) -> tuple[list[list], dict]:
    """Phone boundaries within 20 ms of gold-dev's, per system, on the recordings as recorded,
    cut at their first and last labelled phone (the gold's own edges), and with 3 s of
    -60 dBFS white noise on each side (room tone, as `padded` adds it)."""
    cmu = load_folding("cmu39")
    scores: dict[tuple[str, str], list] = {}
    for folder, fold_name in GOLD_SETS.items():
        fold = load_folding(fold_name)
        for k, item in enumerate(gold_items(data / "gold-dev" / folder)):
            x = np.asarray(load_audio(item.audio, RATE), np.float32)
            spoken = [p for p in item.gold_phones if p.label.strip()]
            start = spoken[0].start
            cut = x[int(start * RATE): int(spoken[-1].end * RATE)]
            _, noisy, back = padded(x, k)[3]
            for name, align in systems.items():
                for condition, y, shift in (("as recorded", x, 0.0),
                                            ("cut at its first and last phone", cut, start),
                                            ("with 3 s of -60 dBFS noise each side", noisy, back)):
                    try:
                        hyp = shifted(align(y, item.text), shift)
                    except Exception:  # noqa: BLE001 - a failure is counted, not scored
                        scores.setdefault((name, condition), []).append(None)
                        continue
                    phones, _ = score_gold([item], {item.key: hyp}, fold, cmu)
                    scores.setdefault((name, condition), []).append(phones[0])
    rows, out = [], {}
    for (name, condition), found in scores.items():
        errors = np.concatenate([s.errors for s in found if s is not None])
        entry = {"recordings": len(found), "failed": sum(s is None for s in found),
                 "boundaries": int(errors.size), "within_20ms": share_within(errors, 0.020),
                 "mean_ms": float(errors.mean() * 1000)}
        out.setdefault(name, {})[condition] = entry
        rows.append([name, condition, entry["recordings"], entry["failed"], entry["boundaries"],
                     f"{100 * entry['within_20ms']:.1f}%", f"{entry['mean_ms']:.1f} ms"])
    return rows, out


def moved_ms(edges: np.ndarray, other: np.ndarray | None) -> np.ndarray | None:
    """How far each word edge moved (ms); None when the word lists differ (a failure)."""
    if other is None or other.shape != edges.shape:
        return None
    return np.abs(other - edges).ravel() * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with real/speechocean762/")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, default=100, help="clips, evenly spaced")
    ap.add_argument("--no-pocketsphinx", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="padding")
    args = ap.parse_args()
    set_threads(args.threads)
    from aligner import Aligner

    ottc = Aligner.load(args.model, device="cpu")
    aligners = {"ottc-align": lambda x, text: ottc.align(x, text, sample_rate=RATE)}
    if not args.no_pocketsphinx:
        from benchmarks.pocketsphinx_align import PocketsphinxAligner

        ps = PocketsphinxAligner()
        aligners["pocketsphinx"] = ps.align

    def edges_with(align):
        return lambda x, text: np.array([(w.start, w.end) for w in align(x, text).words
                                         if w.label])

    systems = {name: edges_with(align) for name, align in aligners.items()}

    items = speechocean_test(args.data / "real" / "speechocean762", args.limit)
    moved: dict[tuple[str, str], list[np.ndarray | None]] = {}
    for k, item in enumerate(items):
        x = np.asarray(load_audio(item.audio, RATE), np.float32)
        for name, edges_of in systems.items():
            try:
                base = edges_of(x, item.text)
            except Exception:  # noqa: BLE001 - a clip a system cannot align is left out for it
                continue
            cases = padded(x, k) + [("cut to 100 ms around the words", *trimmed(x, base)),
                                    ("cut at the words", *trimmed(x, base, 0.0))]
            for condition, y, shift in cases:
                try:
                    got = edges_of(y, item.text) + shift
                except Exception:  # noqa: BLE001 - a failure on the padded clip is a result
                    got = None
                moved.setdefault((name, condition), []).append(moved_ms(base, got))
    rows, data = [], {}
    for (name, condition), runs in moved.items():
        done = [d for d in runs if d is not None and d.size]
        d = np.concatenate(done) if done else np.zeros(0)
        share = lambda v: float(np.mean(v)) if len(v) else float("nan")  # noqa: E731
        entry = {"clips": len(runs), "failed": sum(r is None for r in runs),
                 "edges_over_20ms": share(d > 20), "edges_over_50ms": share(d > 50),
                 "clips_any_over_50ms": share([r.max() > 50 for r in done])}
        data.setdefault(name, {})[condition] = entry
        rows.append([name, condition, entry["clips"], entry["failed"],
                     f"{100 * entry['edges_over_20ms']:.1f}%", f"{100 * entry['edges_over_50ms']:.1f}%",
                     f"{100 * entry['clips_any_over_50ms']:.0f}%"])
    m = machine()
    header = ["system", "the clip with", "clips", "failed", "word edges moved > 20 ms",
              "> 50 ms", "clips with an edge moved > 50 ms"]
    gold, gold_data = gold_rows(args.data, aligners)
    body = (f"{len(items)} clips of speechocean762's test speakers (learners, never trained on), "
            f"each system against its own alignment of the clip as recorded; model "
            f"`{args.model or 'models/english (shipped)'}`.\n\n"
            + markdown_table(header, rows)
            + "\n\nAgainst people: gold-dev's hand-labelled recordings (emuR, praatio, "
              "Parselmouth) as recorded, cut at their first and last labelled phone, and with 3 s "
              "of -60 dBFS white noise on each side.\n\n"
            + markdown_table(["system", "the recording", "recordings", "failed", "boundaries",
                              "within 20 ms", "mean error"], gold)
            + "\n\n" + machine_lines(m))
    print(body)
    write_results(args.name, "Padding: does the pause around the speech move the words?", body,
                  {"machine": m, "model": args.model, "clips": len(items), **data,
                   "gold_dev": gold_data})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
