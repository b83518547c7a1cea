"""Agreement with pocketsphinx on real recordings that have no gold times (a proxy, not accuracy).

    python benchmarks/real_agreement.py MODEL_DIR [MODEL_DIR ...] --corpus $DATA/real/allison

Why: the accuracy figures come from synthetic speech; users bring real speech. Where no gold
exists, how close two models' boundaries come to an independent aligner's (pocketsphinx, trained
on real speech) tells whether a change that helps on synthetic speech also moves real-speech
alignments the right way. Every 5th recording (up to --limit), with each decoding method the
model supports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.align import Aligner  # noqa: E402
from aligner.decode import supported_methods  # noqa: E402
from aligner.evaluate import score_utterance, summarise  # noqa: E402
from aligner.phone_folding import load_folding  # noqa: E402
from aligner.text.frontend import read_transcript  # noqa: E402
from benchmarks.pocketsphinx_align import PocketsphinxAligner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--corpus", type=Path, required=True,
                        help="recordings with .lab transcripts, e.g. the Allison prompts of "
                        "`python -m recipes.real.allison --out DIR`")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    audio = sorted(p for p in args.corpus.rglob("*") if p.suffix in (".wav", ".flac")
                   and p.with_suffix(".lab").is_file())[::5][: args.limit]
    ps = PocketsphinxAligner()
    refs = {}
    for wav in audio:
        try:
            refs[wav] = ps.align(wav, read_transcript(wav.with_suffix(".lab")))
        except Exception as err:  # noqa: BLE001 - a peer's failure only drops the file
            print(f"pocketsphinx: {wav.name}: {err}", file=sys.stderr)
    print(f"{len(refs)} of {len(audio)} recordings aligned by pocketsphinx ({args.corpus})")
    fold = load_folding("cmu39")
    print("| model | method | phone boundaries within 20 ms of pocketsphinx | words | mean ms |")
    print("|---|---|---|---|---|")
    for model in args.models:
        aligner = Aligner.load(model)
        for method in supported_methods(aligner.model.config):
            scores = [score_utterance(w.name, ref, aligner.align(w, w.with_suffix(".lab").read_text(),
                                                                 method=method), fold, 0.02)
                      for w, ref in refs.items()]
            s = summarise(scores, 0.02)
            print(f"| {model} | {method} | {100 * s.phones.within.get(20):.1f}% | "
                  f"{100 * s.words.within.get(20):.1f}% | {s.phones.mean_ms:.1f} |")


if __name__ == "__main__":
    main()
