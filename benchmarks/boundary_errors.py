"""Where the boundary errors are: signed offsets of phone starts by voice and by boundary type.

The accuracy benchmark says how many boundaries land within 20 ms; this one says which ones do
not, and whether they miss at random (a model that is unsure) or by a constant offset (a
labelling convention that differs between the gold and the model, e.g. where a stop's release
ends and the vowel begins). Offsets are hyp - gold in ms (positive: ottc-align is late), for the
start of every non-silence phone that the edit-distance pairing matches (phones folded to 39).

    python benchmarks/boundary_errors.py --corpus $DATA/synth --split test
    python benchmarks/boundary_errors.py --corpus $DATA/synth --split dev --method ot
    python benchmarks/boundary_errors.py --corpus $DATA/synth --split test --hyp DIR --name pocketsphinx

`--hyp DIR` reads another system's alignments (TextGrid/JSON/CTM laid out like the split, e.g.
the accuracy benchmark's cache) instead of running ottc-align: a convention offset shared by
every system is the gold's, one that only ottc-align shows is the model's.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.decode import DECODERS, DEFAULT_METHOD  # noqa: E402
from aligner.evaluate import phone_start_offsets  # noqa: E402
from benchmarks.common import (  # noqa: E402
    find_model, machine, machine_lines, markdown_table, model_tag, path_option, set_threads,
    write_results,
)

DOCS_INTRO = """
Signed phone-start offsets (ottc-align minus gold, ms; positive = late) on the synthetic
splits, per voice and per boundary type (the manner class of the phone before and of the phone
that starts; "pause" when silence precedes). A large median with a narrow spread is a convention
difference between the voice's gold and the model; a median near 0 with many misses both ways
is imprecision. "≤20 ms of its median" is the share within 20 ms of the group's own median
offset: what the group would score with that constant offset taken away; the row "all, less
each voice's median" takes each voice's away, so its gap to "all" is what the voices' own
conventions cost.

Reproduce: `python benchmarks/boundary_errors.py --corpus $DATA/synth --split test` (and
`--split dev`), where `--corpus` is the synthetic corpus built by `python -m recipes.synth.build
--out $DATA/synth` (docs/corpus.md; it may be left out when $OTTC_BENCH_CORPUS names it).
"""

def engine_family(speaker: str) -> str:
    """The synthesis engine family from the recipe's speaker name (esp-, fest-, mb-)."""
    return {"esp": "espeak-ng", "fest": "Festival", "mb": "espeak-ng+mbrola"}.get(
        speaker.split("-", 1)[0], "other")


def summary_row(offsets: list[float]) -> dict:
    ms = np.asarray(offsets) * 1000.0
    return {"n": len(ms), "mean_ms": float(ms.mean()), "median_ms": float(np.median(ms)),
            "within_20ms": float(np.mean(np.abs(ms) <= 20)), "late_20ms": float(np.mean(ms > 20)),
            "early_20ms": float(np.mean(ms < -20)),
            "within_20ms_of_median": float(np.mean(np.abs(ms - np.median(ms)) <= 20))}


def less_own_median(groups: dict[str, list[float]]) -> list[float]:
    """Every offset less its group's median: what the shares would be if each voice's constant
    offset (its gold's labelling convention against the model's) were taken away."""
    return [o - m for v in groups.values() for m in [float(np.median(v))] for o in v]


def table(groups: dict[str, list[float]], first: str, limit: int | None = None) -> str:
    keys = sorted(groups, key=lambda k: -len(groups[k]))[:limit] if limit else sorted(groups)
    rows = []
    for k in keys:
        r = summary_row(groups[k])
        rows.append([k, r["n"], f"{r['mean_ms']:+.1f}", f"{r['median_ms']:+.1f}",
                     f"{100 * r['within_20ms']:.1f}", f"{100 * r['late_20ms']:.1f}",
                     f"{100 * r['early_20ms']:.1f}", f"{100 * r['within_20ms_of_median']:.1f}"])
    return markdown_table([first, "phones", "mean ms", "median ms", "≤20 ms %", "late >20 ms %",
                           "early >20 ms %", "≤20 ms of its median %"], rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    path_option(ap, "--corpus", "OTTC_BENCH_CORPUS", "corpus root with split folders")
    ap.add_argument("--split", default="test")
    ap.add_argument("--model", default=None)
    ap.add_argument("--method", default=DEFAULT_METHOD, choices=list(DECODERS))
    ap.add_argument("--limit", type=int, default=0, help="utterances (0 = all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top", type=int, default=14, help="boundary types shown")
    ap.add_argument("--hyp", default=None, help="read alignments from this directory instead")
    ap.add_argument("--name", default=None,
                    help="results file suffix (boundary_errors_<split>_<name>), and the system's "
                         "name with --hyp; a quick run under a name keeps the published page")
    args = ap.parse_args(argv)
    set_threads(args.threads)

    from aligner.align import Aligner
    from aligner.formats import read_alignment
    from aligner.phone_folding import load_folding
    from aligner.dev_metrics import find_dev_utterances

    if args.hyp:
        from aligner.evaluate import load_alignments

        given = load_alignments(Path(args.hyp))
        model, system = None, args.name or Path(args.hyp).name

        def align(name: str, audio: Path, transcript: Path):
            hyp = given.get(name.split("/", 1)[1])
            if hyp is None or isinstance(hyp, Exception):
                raise ValueError(f"{name}: no usable alignment in {args.hyp}")
            return hyp
    else:
        model = find_model(args.model)
        aligner = Aligner.load(model, "cpu")
        system = f"ottc-align --method {args.method}, model `{model}` (tag {model_tag(model)})"

        def align(name: str, audio: Path, transcript: Path):
            return aligner.align(audio, transcript, method=args.method)
    folding = load_folding("cmu39")
    utts = find_dev_utterances([str(Path(args.corpus) / args.split)], args.limit)
    if args.hyp:  # only the utterances the other system was run on (an error entry = a failure)
        utts = [u for u in utts if u[0].split("/", 1)[1] in given]
    by_voice: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_family_kind: dict[str, list[float]] = defaultdict(list)
    failed = 0
    for name, audio, transcript, gold in utts:
        speaker = name.split("/")[1] if name.count("/") >= 2 else "corpus"
        try:
            hyp = align(name, audio, transcript)
        except ValueError:
            failed += 1
            continue
        for kind, off in phone_start_offsets(read_alignment(gold), hyp, folding):
            by_voice[speaker].append(off)
            by_kind[kind].append(off)
            by_family_kind[f"{engine_family(speaker)}: {kind}"].append(off)
    if not by_voice:
        print("error: nothing aligned", file=sys.stderr)
        return 1
    everything = [o for v in by_voice.values() for o in v]
    m = machine()
    body = "\n\n".join([
        f"Split `{args.split}`, {len(utts) - failed} utterances aligned ({failed} failed), "
        f"system: {system}.",
        "### All phone starts\n\n" + table({"all": everything, "all, less each voice's median":
                                            less_own_median(by_voice)}, "set"),
        "### By voice\n\n" + table(by_voice, "voice"),
        f"### By boundary type ({args.top} most frequent)\n\n" + table(by_kind, "previous > this",
                                                                      args.top),
        f"### By engine and boundary type ({args.top} most frequent)\n\n"
        + table(by_family_kind, "engine: previous > this", args.top),
        machine_lines(m),
    ])
    data = {"split": args.split, "system": system, "model": str(model), "failed": failed,
            "all": summary_row(everything),
            "all_less_voice_medians": summary_row(less_own_median(by_voice)),
            "by_voice": {k: summary_row(v) for k, v in by_voice.items()},
            "by_kind": {k: summary_row(v) for k, v in by_kind.items()},
            "by_engine_kind": {k: summary_row(v) for k, v in by_family_kind.items()},
            "machine": m}
    print(body)
    suffix = f"_{args.name}" if args.name else ""
    write_results(f"boundary_errors_{args.split}{suffix}",
                  f"Boundary errors by voice and type ({args.split}{', ' + args.name if args.name else ''})",
                  body, data, DOCS_INTRO)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
