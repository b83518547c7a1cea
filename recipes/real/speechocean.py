"""One split of speechocean762 (read English by Mandarin-L1 learners) as a training corpus.

`python -m recipes.real.speechocean --source ../shared/data/real/speechocean762 --split train
--out $DATA/real/so-train`

The corpus arrives in MFA layout (`SPEAKERnnnn/<utt>.opus` + `.txt`) with the official split by
speaker in `meta/{train,test}/utt2spk`. Training must only see the `train` speakers (the `test`
speakers are the real-speech dev split, benchmarks/real_speech.py), so this writes a folder of
the chosen split's speakers holding symbolic links to the audio and transcripts (nothing is
copied).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def split_speakers(source: Path, split: str) -> list[str]:
    """Speaker ids (`nnnn`) of `split` from `meta/<split>/utt2spk`."""
    path = source / "meta" / split / "utt2spk"
    if not path.is_file():
        raise SystemExit(f"error: {path}: not found (is {source} speechocean762?)")
    return sorted({line.split()[1] for line in path.read_text().splitlines() if line.strip()})


def link_split(source: Path, split: str, out: Path) -> int:
    """Link every file of the split's speaker folders under `out`; returns the number of links."""
    n = 0
    for spk in split_speakers(source, split):
        folder = source / f"SPEAKER{spk}"
        if not folder.is_dir():
            continue
        target = out / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(folder.iterdir()):
            link = target / f.name
            if not link.exists():
                link.symlink_to(f.resolve())
                n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True, help="the speechocean762 folder")
    ap.add_argument("--split", choices=["train", "test"], default="train")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    n = link_split(args.source, args.split, args.out)
    speakers = len(split_speakers(args.source, args.split))
    print(f"speechocean762 {args.split}: {speakers} speakers, {n} new links -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
