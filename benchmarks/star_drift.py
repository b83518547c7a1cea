"""How far a word left out of the transcript drags its neighbours, with and without `<star>`.

    python -m recipes.real.allison --out DIR    # the corpus: Asterisk's Allison prompts
    python benchmarks/star_drift.py DIR [--files 10:30] [--penalties 2:2.5,3:3]

DIR is a folder of recordings (.flac or .wav) with their .lab transcripts; the figures in
docs/usage.md ("Transcript markup") are on the Allison prompts that recipe writes.

Why: the spoken-noise and wildcard penalties (aligner/states.py SPN_PENALTY, STAR_PENALTY) trade
markup that absorbs what the transcript lacks against markup that eats into real words. For
each recording with 7-20 words (a fixed shuffle, `--files` a slice of it) and each interior
word i, the end of word i-1 and the start of word i+1 are compared with the alignment of the
full transcript when word i is left out ("left out"), replaced by `<star>` or by `<unk>`; a
`<star>` inserted where nothing is missing shows what a needless wildcard costs ("needless");
"unk span" is how far `<unk>` lies from the word it replaced. Figures: mean over the cases of
the two boundaries' absolute shifts added, in ms. The defaults were chosen on --files 0:10 and
checked on 10:30 (docs/usage.md, "Transcript markup").
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aligner.states as states  # noqa: E402
from aligner.align import Aligner  # noqa: E402
from aligner.audio import load_audio  # noqa: E402
from aligner.decode import supported_methods  # noqa: E402
from aligner.formats import Segment  # noqa: E402


def _words(aligner: Aligner, wave: np.ndarray, posts, text: str, method: str) -> list:
    (a,) = aligner.align_waveform(wave, [Segment(text, "<t>")], method, encoded=posts)
    return [w for w in a.words if w.label]


def _drift(aligner: Aligner, wave: np.ndarray, posts, toks: list[str], method: str,
           out: dict[str, list[float]]) -> None:
    """Append the shifts of one recording's cases to `out` (seconds)."""
    full = _words(aligner, wave, posts, " ".join(toks), method)
    if len(full) != len(toks):
        return
    for i in range(1, len(toks) - 1):
        for key, text in (("left out", toks[:i] + toks[i + 1:]),
                          ("<star>", toks[:i] + ["<star>"] + toks[i + 1:]),
                          ("<unk>", toks[:i] + ["<unk>"] + toks[i + 1:])):
            ws = [w for w in _words(aligner, wave, posts, " ".join(text), method)
                  if w.label != "<star>"]
            if key == "<unk>":
                unk = ws.pop(i)
                out["unk span"].append(abs(unk.start - full[i].start) + abs(unk.end - full[i].end))
            out[key].append(abs(ws[i - 1].end - full[i - 1].end) + abs(ws[i].start - full[i + 1].start))
        ws = [w for w in _words(aligner, wave, posts, " ".join(toks[:i] + ["<star>"] + toks[i:]),
                                method) if w.label != "<star>"]
        out["needless"].append(abs(ws[i - 1].end - full[i - 1].end) + abs(ws[i].start - full[i].start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="recordings with .lab transcripts (the figures: "
                        "the Allison prompts of `python -m recipes.real.allison --out DIR`)")
    parser.add_argument("--files", default="10:30", help="slice of the shuffled recordings")
    parser.add_argument("--penalties", default=f"{states.SPN_PENALTY}:{states.STAR_PENALTY}",
                        help="comma-separated SPN:STAR pairs (nats per frame)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    labs = sorted(args.corpus.glob("*.lab"))
    if not labs:
        parser.error(f"{args.corpus}: no .lab transcripts found")
    labs = [p for p in labs if 7 <= len(p.read_text().split()) <= 20]
    random.Random(0).shuffle(labs)
    lo, hi = map(int, args.files.split(":"))
    aligner = Aligner.load(device="cpu")
    recordings = []
    for lab in labs[lo:hi]:
        audio = next(p for p in (lab.with_suffix(".flac"), lab.with_suffix(".wav")) if p.is_file())
        wave = load_audio(audio, aligner.sample_rate)
        recordings.append((wave, aligner.encode(wave), lab.read_text().split()))
    original = states.with_markup_scores
    for pair in args.penalties.split(","):
        spn, star = map(float, pair.split(":"))
        states.with_markup_scores = functools.partial(original, spn_penalty=spn, star_penalty=star)
        for method in supported_methods(aligner.model.config):
            out: dict[str, list[float]] = {k: [] for k in ("left out", "<star>", "needless",
                                                           "<unk>", "unk span")}
            for wave, posts, toks in recordings:
                _drift(aligner, wave, posts, toks, method, out)
            print(f"spn {spn} star {star} {method:7s} " + "  ".join(
                f"{k} {1000 * np.mean(v):.0f} ms" for k, v in out.items())
                + f"  ({len(out['left out'])} cases)", flush=True)
    states.with_markup_scores = original


if __name__ == "__main__":
    main()
