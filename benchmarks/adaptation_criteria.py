"""Which gold-free figure tells whether `ottc-align adapt` helped: each candidate next to the gold.

For each corpus (with gold TextGrids beside the audio, used only for scoring): adapt the base
model to it with `ottc-align adapt` (or take an adapted model already made, `--adapted`), then
align the recordings `adapt` held out of training (its seed 0) with the base and the adapted
model and report, for each: phone boundaries within 20 ms of the gold (what should decide) and
the gold-free figures a check could use instead: mean word confidence, the phone error rate of
the free phone string (the most likely phone per frame, repeats and silence removed, against the
transcript's phones), how far the log fit of the right transcript lies above that of another
held-out recording's (the swap margin), and the landmark strength of the phone boundaries
(`adapt.landmark_strength`, before snapping). `adapt`'s held-out check uses the first and last.

    python benchmarks/adaptation_criteria.py $DATA/synth/test $DATA/synth/dev --threads 1
    python benchmarks/adaptation_criteria.py CORPUS --model OLD --adapted ADAPTED_DIR --name x
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    find_model, machine, machine_lines, markdown_table, model_tag, set_threads, write_results,
)
from recipes.g2p.train_g2p import edit_distance  # noqa: E402  (phone strings, as the G2P's PER)

DOCS_INTRO = """
What `ottc-align adapt`'s held-out check could look at, measured on recordings it held out of
training, next to what it should decide by (phone boundaries within 20 ms of the gold, which
`adapt` never reads). A figure is of use when it moves with the gold figure: up where adapting
helped, down where it hurt.
"""


def figures(model_dir: Path, held: list) -> dict[str, float]:
    """Gold and gold-free figures of one model on the held-out recordings."""
    from aligner import adapt
    from aligner.align import Aligner
    from aligner.evaluate import score_utterance, summarise
    from aligner.formats import read_alignment
    from aligner.model import load_model
    from aligner.phone_folding import load_folding
    from aligner.states import phone_log_probs
    from aligner.text.phones import MARKUP_IDS, SILENCE_ID, phone_ids

    model = load_model(model_dir)
    confidence, landmarks = adapt.held_out_figures(model, held)
    aligner = Aligner(model)
    folding = load_folding("cmu39")
    texts = [r.transcript.read_text(encoding="utf-8") for r in held]
    scores, per, margin = [], [], []
    for i, r in enumerate(held):
        wave, name = aligner.load_waveform(r.audio)
        encoded = aligner.encode(wave)
        prepared = aligner.prepare_text(texts[i])
        right = aligner.decode(encoded, prepared)
        other = aligner.decode(encoded, aligner.prepare_text(texts[(i + len(held) // 2) % len(held)]))
        margin.append(math.log(right.transcript_fit) - math.log(other.transcript_fit))
        best = phone_log_probs(encoded.log_probs, model.config.states).argmax(1).tolist()
        free = [p for k, p in enumerate(best) if (k == 0 or p != best[k - 1]) and p > SILENCE_ID]
        ref = [x for ph in prepared.phones for x in phone_ids(ph, markup=True)
               if x > SILENCE_ID and x not in MARKUP_IDS.values()]
        per.append(edit_distance(ref, free) / max(1, len(ref)))
        (hyp,) = aligner.align_waveform(wave, aligner.read_segments(r.transcript), name=name,
                                        encoded=encoded)
        scores.append(score_utterance(name, read_alignment(r.audio.with_suffix(".TextGrid")), hyp,
                                      folding))
    s = summarise(scores)
    return {"gold_20ms": s.phones.within.get(20), "confidence": confidence,
            "phone_error_rate": float(np.mean(per)), "swap_margin": float(np.mean(margin)),
            "landmarks": landmarks}


COLUMNS = [("gold_20ms", "within 20 ms (gold)", "{:.1%}"), ("confidence", "confidence", "{:.3f}"),
           ("phone_error_rate", "free phone error rate", "{:.2f}"),
           ("swap_margin", "swap margin", "{:.1f}"), ("landmarks", "landmark strength", "{:.2f}")]


def main(argv: list[str] | None = None) -> int:
    from aligner import adapt
    from benchmarks.adaptation import adapt as run_adapt

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--model", default=None, help="base model (default: the shipped one)")
    ap.add_argument("--adapted", nargs="*", default=[],
                    help="adapted models already made, one per corpus, in order (no adapting)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="adaptation_criteria")
    args = ap.parse_args(argv)
    if args.adapted and len(args.adapted) != len(args.corpora):
        ap.error("--adapted needs one model per corpus")
    set_threads(args.threads)
    base = find_model(args.model)
    rows, data = [], {"model": str(base), "corpora": {}}
    for k, corpus in enumerate(args.corpora):
        held = adapt.choose_held_out(
            adapt.usable_recordings([Path(corpus)], adapt.ADAPT_MAX_UTTERANCE_S), 0)
        with tempfile.TemporaryDirectory() as tmp:
            adapted = Path(args.adapted[k]) if args.adapted else Path(tmp) / "adapted-train" / "adapted"
            if not args.adapted:
                run_adapt(corpus, Path(tmp) / "adapted", base, args.threads)
            before, after = figures(base, held), figures(adapted, held)
        data["corpora"][corpus] = {"held_out": len(held), "base": before, "adapted": after}
        rows.append([corpus, len(held), *(f"{fmt.format(before[key])} -> {fmt.format(after[key])}"
                                          for key, _, fmt in COLUMNS)])
        print(rows[-1], flush=True)
    header = ["corpus", "held out", *(title for _, title, _ in COLUMNS)]
    table = markdown_table(header, rows)
    body = "\n\n".join([
        f"Base model `{base}` (tag {model_tag(base)}) -> adapted with `ottc-align adapt`'s defaults; "
        "figures on the recordings `adapt` held out of training (seed 0), base -> adapted.",
        table, machine_lines(machine())])
    write_results(args.name, "What tells whether adapting helped (`ottc-align adapt`)", body, data,
                  DOCS_INTRO)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
