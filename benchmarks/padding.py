"""Does the pause around the speech move the words? Learners' clips aligned as they are and padded.

    python benchmarks/padding.py --data DATA [--model DIR] [--limit 100] [--no-pocketsphinx]
        [--threads 1] [--name padding]

Recordings reach an aligner with more or less around the speech: a recorder's lead-in, an
editor's padding (exact zeros), a quieter room tone, or a clip cut tight. None of that changes
what was said, so a word's edges should not move. speechocean762's test speakers (learners of
English, never trained on), evenly thinned to --limit clips, each aligned as it is and with 1 s
of exact zeros, 3 s of exact zeros, 1 s of -70 dBFS or 3 s of -60 dBFS white noise (a
recorder's lead-in of room tone) on each side, and cut to
100 ms before its first and after its last word (by the same system's alignment of the whole
clip): the share of word edges that move by more than 20 and 50 ms, and of clips where any
edge moves by more than 50 ms. ottc-align and pocketsphinx side by side, each against itself.
Reads the data by path; writes benchmarks/results/NAME.md/.json and docs/benchmarks/NAME.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, machine_lines, markdown_table, set_threads, write_results  # noqa: E402
from benchmarks.real_speech import speechocean_test  # noqa: E402

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


def trimmed(x: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """`x` cut to TRIM_SECONDS before its first word and after its last; (samples, start)."""
    start = max(0.0, float(edges[0, 0]) - TRIM_SECONDS)
    end = min(len(x) / RATE, float(edges[-1, 1]) + TRIM_SECONDS)
    return x[int(start * RATE): int(end * RATE)], start


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
    from aligner.audio import load_audio

    ottc = Aligner.load(args.model, device="cpu")

    def ottc_edges(x: np.ndarray, text: str) -> np.ndarray:
        return np.array([(w.start, w.end) for w in ottc.align(x, text, sample_rate=RATE).words
                         if w.label])

    systems = {"ottc-align": ottc_edges}
    if not args.no_pocketsphinx:
        from benchmarks.pocketsphinx_align import PocketsphinxAligner

        ps = PocketsphinxAligner()
        systems["pocketsphinx"] = lambda x, text: np.array(
            [(w.start, w.end) for w in ps.align(x, text).words if w.label])

    items = speechocean_test(args.data / "real" / "speechocean762", args.limit)
    moved: dict[tuple[str, str], list[np.ndarray | None]] = {}
    for k, item in enumerate(items):
        x = np.asarray(load_audio(item.audio, RATE), np.float32)
        for name, edges_of in systems.items():
            try:
                base = edges_of(x, item.text)
            except Exception:  # noqa: BLE001 - a clip a system cannot align is left out for it
                continue
            cases = padded(x, k) + [("cut to 100 ms around the words", *trimmed(x, base))]
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
    body = (f"{len(items)} clips of speechocean762's test speakers (learners, never trained on), "
            f"each system against its own alignment of the clip as recorded; model "
            f"`{args.model or 'models/english (shipped)'}`.\n\n"
            + markdown_table(header, rows) + "\n\n" + machine_lines(m))
    print(body)
    write_results(args.name, "Padding: does the pause around the speech move the words?", body,
                  {"machine": m, "model": args.model, "clips": len(items), **data})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
