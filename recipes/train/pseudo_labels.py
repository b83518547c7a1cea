"""A real corpus with a model's own alignments beside it, as gold for the next stage's frame term.

    python recipes/train/pseudo_labels.py --model $DATA/runs/english-base/last \
        --source $DATA/real/so-train --out $DATA/pseudo/so-train
    python recipes/train/pseudo_labels.py --model $DATA/runs/english-base/last \
        --source ../shared/data/real/fsdd --speakers george,jackson,lucas,yweweler \
        --out $DATA/pseudo/fsdd

Why: the first stage learns phones from synthetic voices with exact times; on real voices its
posteriors are weaker, so a wrong transcript fits a learner's recording nearly as well as the
right one. Its alignments of real recordings whose transcripts it accepts (a corpus run with
`--strict`: no transcript_mismatch, low_confidence, long_phone or untranscribed_speech) become
the frame labels of a short second stage (`train --gold-aux` reads a `<utt>.TextGrid` beside a
`.txt` as gold). The recordings it refuses are left out entirely, so that nothing trains on a
transcript the first stage doubted.

`--out` gets links to the chosen speakers' audio and transcripts (nothing is copied) and the
TextGrids the corpus run writes beside them; the links of refused recordings are removed.
Re-running resumes (the corpus run skips recordings whose TextGrid is newer than their inputs).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from aligner.alignment import Interval  # noqa: E402
from aligner.corpus import find_utterances  # noqa: E402
from aligner.formats import read_textgrid, write_textgrid  # noqa: E402


def link_speakers(source: Path, out: Path, speakers: list[str] | None) -> int:
    """Link the files of `source`'s speaker folders (all, or `speakers`) under `out`; returns
    the number of new links."""
    n = 0
    for folder in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if speakers is not None and folder.name not in speakers:
            continue
        target = out / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(folder.iterdir()):
            link = target / f.name
            if f.is_file() and f.suffix.lower() != ".textgrid" and not link.exists():
                link.symlink_to(f.resolve())
                n += 1
    return n


UNSURE = "?"  # a phones-tier label outside the model's phones: gold_frame_labels ignores its frames


def unsure_edges(phones: list[Interval], duration: float, margin: float) -> list[Interval]:
    """`phones` with the silence within `margin` seconds of speech marked UNSURE.

    Why: the first stage ends words early where a final consonant fades into a pause (the
    shipped example's "again" by about 0.2 s), so its silence next to speech is where its
    alignments are least to be trusted; those frames are left to the OTTC loss instead of
    teaching the next stage that a fading consonant is silence."""
    spoken = sorted((p for p in phones if p.label), key=lambda p: p.start)
    out = list(spoken)
    t = 0.0
    for p in [*spoken, Interval(duration, duration, "end")]:
        gap_start, gap_end = t, p.start
        if gap_end - gap_start > 1e-9:
            lo = gap_start if gap_start > 0 else None  # silence after speech
            hi = gap_end if p.label != "end" else None  # silence before speech
            if lo is not None and hi is not None and gap_end - gap_start <= 2 * margin:
                out.append(Interval(gap_start, gap_end, UNSURE))
            else:
                if lo is not None:
                    out.append(Interval(gap_start, min(gap_end, gap_start + margin), UNSURE))
                if hi is not None:
                    out.append(Interval(max(gap_start, gap_end - margin), gap_end, UNSURE))
        t = max(t, p.end)
    return sorted(out, key=lambda p: p.start)


def mark_unsure_edges(out: Path, margin: float) -> int:
    """Rewrite the phones tier of every TextGrid under `out` with unsure_edges; returns how many."""
    n = 0
    for grid in sorted(out.rglob("*.TextGrid")):
        (a,) = read_textgrid(grid)
        if any(p.label == UNSURE for p in a.phones):
            continue  # marked on an earlier run
        a.phones = unsure_edges(a.phones, a.duration, margin)
        write_textgrid(a, grid)
        n += 1
    return n


def drop_unlabelled(out: Path) -> tuple[int, int]:
    """Remove the links of recordings without a TextGrid beside them; (kept, dropped)."""
    kept = dropped = 0
    for utt in find_utterances(out):
        if utt.gold is not None:
            kept += 1
            continue
        for path in (utt.audio, utt.transcript):
            if path is not None and path.is_symlink():
                path.unlink()
        dropped += 1
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="the model whose alignments become gold")
    ap.add_argument("--source", type=Path, required=True, help="a corpus with speaker folders")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--speakers", default=None, help="comma-separated speaker folders (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--unsure-margin", type=float, default=0.0,
                    help="seconds of silence next to speech left out of the frame labels")
    args = ap.parse_args(argv)
    speakers = args.speakers.split(",") if args.speakers else None
    args.out.mkdir(parents=True, exist_ok=True)
    links = link_speakers(args.source, args.out, speakers)
    run = subprocess.run([sys.executable, "-m", "aligner.cli", "align", str(args.out), "-o", str(args.out),
                          "-f", "textgrid", "--strict", "--method", "viterbi", "-m", str(args.model),
                          "-j", str(args.jobs), "-q"], capture_output=True, text=True)
    if run.returncode not in (0, 1):  # 1: some recordings refused, which is expected
        raise SystemExit(f"error: the corpus run failed (exit {run.returncode}): {run.stderr.strip()[-500:]}")
    kept, dropped = drop_unlabelled(args.out)
    if args.unsure_margin > 0:
        mark_unsure_edges(args.out, args.unsure_margin)
    print(f"{args.out}: {links} new links; {kept} recordings labelled, {dropped} refused and left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
