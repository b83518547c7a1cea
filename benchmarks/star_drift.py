"""How far a word left out of the transcript drags its neighbours, with and without `<star>`.

    python benchmarks/star_drift.py ../shared/data/real/speechocean762 \
        --utt2spk ../shared/data/real/speechocean762/meta/test/utt2spk --min-words 5 \
        --files 40:100 [--penalties 2.5:3.5,4.5:4.5] [--methods viterbi]
    python -m recipes.real.allison --out DIR    # Asterisk's Allison prompts: one trained voice
    python benchmarks/star_drift.py DIR --files 10:30

DIR is a folder of recordings (any audio format, in subfolders too) with their .lab or .txt
transcripts; the figures in docs/usage.md ("Transcript markup") are on the Allison prompts that
recipe writes and on speechocean762's held-out learners (`--utt2spk`: only the recordings it
lists).

Why: the spoken-noise and wildcard penalties (aligner/states.py SPN_PENALTY, STAR_PENALTY) trade
markup that absorbs what the transcript lacks against markup that eats into real words. For
each recording with 7-20 words (`--min-words`; a fixed shuffle, `--files` a slice of it) and each interior
word i, the end of word i-1 and the start of word i+1 are compared with the alignment of the
full transcript when word i is left out ("left out"), replaced by `<star>` or by `<unk>`; a
`<star>` inserted where nothing is missing shows what a needless wildcard costs ("needless");
"unk span" is how far `<unk>` lies from the word it replaced; an `<unk>` inserted where nothing
is missing ("needless unk", as `[noise]` typed where the model hears nothing of it) shows what
needless spoken noise costs. "word alone" and "<star> word" are a naming response's transcript:
the last word alone, or after `<star>`, and how far that word lies from where the full
transcript puts it (both edges together). Figures: mean over the cases of the two boundaries' absolute
shifts added, in ms, and the share of cases where one of them moved more than 100 ms. The
defaults were chosen on the learners' --files 0:40 and checked on 40:100 (docs/usage.md,
"Transcript markup").
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
            out[key + " >100"].append(max(abs(ws[i - 1].end - full[i - 1].end),
                                          abs(ws[i].start - full[i + 1].start)) > 0.1)
        for key, extra in (("needless", "<star>"), ("needless unk", "<unk>")):
            ws = [w for w in _words(aligner, wave, posts, " ".join(toks[:i] + [extra] + toks[i:]),
                                    method) if w.label != extra]
            out[key].append(abs(ws[i - 1].end - full[i - 1].end) + abs(ws[i].start - full[i].start))


def _naming(aligner: Aligner, wave: np.ndarray, posts, toks: list[str], method: str,
            out: dict[str, list[float]]) -> None:
    """The transcript of a naming response: its last word alone ("bus" for "what about the...
    bus"), and `<star>` before it; how far the word's two edges land from where the full
    transcript puts them (seconds, added)."""
    full = _words(aligner, wave, posts, " ".join(toks), method)
    if len(full) != len(toks):
        return
    for key, text in (("word alone", toks[-1]), ("<star> word", f"<star> {toks[-1]}")):
        word = [w for w in _words(aligner, wave, posts, text, method) if w.label != "<star>"][-1]
        out[key].append(abs(word.start - full[-1].start) + abs(word.end - full[-1].end))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="recordings with .lab or .txt transcripts "
                        "(the figures: the Allison prompts of `python -m recipes.real.allison "
                        "--out DIR`, and speechocean762 with --utt2spk)")
    parser.add_argument("--files", default="10:30", help="slice of the shuffled recordings")
    parser.add_argument("--penalties", default=f"{states.SPN_PENALTY}:{states.STAR_PENALTY}",
                        help="comma-separated SPN:STAR pairs (nats per frame)")
    parser.add_argument("--utt2spk", type=Path, default=None,
                        help="only the recordings this Kaldi utt2spk file lists (by file stem)")
    parser.add_argument("--min-words", type=int, default=7, help="recordings of 7-20 words")
    parser.add_argument("--methods", default=None, help="comma list (default: every method)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = sorted(p for p in args.corpus.rglob("*") if p.suffix in (".lab", ".txt"))
    if args.utt2spk is not None:
        listed = {line.split()[0] for line in args.utt2spk.read_text().splitlines() if line.strip()}
        texts = [p for p in texts if p.stem in listed]
    texts = [p for p in texts if args.min_words <= len(p.read_text().split()) <= 20
             and _audio_of(p) is not None]
    if not texts:
        parser.error(f"{args.corpus}: no recordings with .lab or .txt transcripts of "
                     f"{args.min_words}-20 words found")
    random.Random(0).shuffle(texts)
    lo, hi = map(int, args.files.split(":"))
    aligner = Aligner.load(device="cpu")
    recordings = []
    for text in texts[lo:hi]:
        wave = load_audio(_audio_of(text), aligner.sample_rate)
        recordings.append((wave, aligner.encode(wave), text.read_text().split()))
    methods = (args.methods.split(",") if args.methods
               else supported_methods(aligner.model.config))
    original = states.with_markup_scores
    for pair in args.penalties.split(","):
        spn, star = map(float, pair.split(":"))
        states.with_markup_scores = functools.partial(original, spn_penalty=spn, star_penalty=star)
        for method in methods:
            out: dict[str, list[float]] = {k: [] for k in (
                "left out", "left out >100", "<star>", "<star> >100", "needless", "<unk>",
                "<unk> >100", "unk span", "needless unk", "word alone", "<star> word")}
            for wave, posts, toks in recordings:
                _drift(aligner, wave, posts, toks, method, out)
                _naming(aligner, wave, posts, toks, method, out)
            print(f"spn {spn} star {star} {method:7s} " + "  ".join(
                f"{k} {100 * np.mean(v):.0f}%" if k.endswith(">100") else
                f"{k} {1000 * np.mean(v):.0f} ms" for k, v in out.items())
                + f"  ({len(out['left out'])} cases)", flush=True)
    states.with_markup_scores = original


def _audio_of(transcript: Path) -> Path | None:
    """The recording beside a transcript, of any format the aligner reads."""
    from aligner.audio import AUDIO_EXTENSIONS

    return next((transcript.with_suffix(s) for s in sorted(AUDIO_EXTENSIONS)
                 if transcript.with_suffix(s).is_file()), None)


if __name__ == "__main__":
    main()
