"""Accuracy benchmark: every system on the same files of the unseen-voice (test) and dev splits.

Systems: ottc-align with each decoding method of the OTTC model, the CTC baseline model (if one
exists) and pocketsphinx 5. Outputs are cached per system/model/split (resumable); failures
(utterances a system could not align) are a column of the table. Metrics: aligner/evaluate.py,
definitions in docs/benchmarks/accuracy.md.

    python benchmarks/accuracy.py                      # both splits, 200 utterances each
    python benchmarks/accuracy.py --corpus $DATA/synth --limit 20 --splits test --systems ottc-ot,pocketsphinx
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    find_ctc_model, find_model, machine, machine_lines, markdown_table, model_tag, path_option,
    scratch_option, set_threads, split_utterances, write_results,
)
from benchmarks.systems import run_all  # noqa: E402

DOCS_INTRO = """
How close each aligner's boundaries are to the gold ones of synthetic speech (the text-to-speech
engine knows exactly where it put every phone). Same utterances for every system; `test` holds the
voices kept out of training (unseen speakers), `dev` voices seen in training but other sentences.

Reproduce with one command (from the repository root, with `pip install -e '.[bench]'`):

    python benchmarks/accuracy.py --limit 200 --corpus $DATA/synth --cache $DATA/bench_cache/accuracy

`--corpus` is the synthetic corpus with its split folders, built by `python -m
recipes.synth.build --out $DATA/synth` (docs/corpus.md), and `--cache` any folder for the
systems' outputs; each may be left out when $OTTC_BENCH_CORPUS or $OTTC_BENCH_CACHE names it.
Options: `--model DIR` (default: $OTTC_ALIGN_MODEL, else models/english),
`--ctc-model DIR` (default $OTTC_BENCH_RUNS/ctc-scratch2/model, the from-scratch baseline),
`--splits test,dev`, `--systems` (a comma list of ottc-<method>, ctc, pocketsphinx), `--limit N`
utterances per split (evenly spaced, so every voice is represented), `--cache DIR` (default $OTTC_BENCH_CACHE; outputs are reused, so
a run resumes), `--fresh` (re-align). `ottc-align evaluate GOLD HYP` computes the same metrics
for any alignments.

## Metric definitions (aligner/evaluate.py)

Both sides are folded first (aligner/phone_folding.py, `cmu39`): stress digits dropped,
upper-cased, TIMIT/ARPAbet variants mapped onto CMU's 39 phones (ax -> AH, ix -> IH, closures
merged into their stop, ...), and `sil`, `sp`, `spn`, `pau`, `h#`, `""` (and pocketsphinx's `SIL`)
are silence, which is never a token. Words are compared lower-case without surrounding punctuation.

- **Pairing**: the gold and hypothesis token sequences are aligned by edit distance (cost 1 for a
  substitution, insertion, deletion; ties broken by time overlap). Matched and substituted pairs
  are *paired*; **match** = identical labels / gold tokens.
- **Boundary error**: for every paired token, |hyp start - gold start| and |hyp end - gold end|;
  a time shared by two consecutive paired tokens on both sides (the end of one is the start of
  the next) counts once. **Mean**, **median** and the share **within 10/20/25/50 ms** are pooled
  over all boundaries of all scored utterances. **Bias** is the mean signed offset hyp - gold
  (positive: late); a voice whose every system is late by the same amount points at its gold.
- **Boundary F1 @ 20 ms**: the distinct token start/end times of each side, matched one-to-one
  when at most 20 ms apart, regardless of labels; precision = matched / hyp boundaries,
  recall = matched / gold boundaries, pooled over the corpus.
- **IDR** (intersection over duration ratio): per gold phone, the share of its duration covered by
  its paired hypothesis phone (0 if it has none); mean over gold phones.
- **Silence share**: share of 10 ms frames (frame t covers [10t, 10t + 10) ms, counted by its
  centre) covered by no phone, hypothesis / gold. For a peaky CTC model this is where blank shows;
  for a forced alignment, the frames of its empty intervals.
- **Failed**: gold utterances for which the system wrote no alignment (it raised an error); they
  are excluded from the other columns, so read the columns together.
"""


def build_systems(args) -> tuple[list, dict[str, str]]:
    """The systems to run and a description of each (model path or package)."""
    from benchmarks.systems import OttcSystem, PocketsphinxSystem

    wanted = [s.strip() for s in args.systems.split(",")] if args.systems else None
    systems, about = [], {}
    model = find_model(args.model)
    if model is not None:
        from aligner.decode import DECODERS

        for method in DECODERS:
            name = f"ottc-{method}"
            if wanted is None or name in wanted:
                systems.append(OttcSystem(model, method, args.device, name))
                about[name] = f"{model} (tag {model_tag(model)}), method {method}"
    elif wanted is None or any(w.startswith("ottc") for w in wanted):
        print("warning: no OTTC model found ($OTTC_ALIGN_MODEL or models/english); skipping ottc-*",
              file=sys.stderr)
    ctc = find_ctc_model(args.ctc_model)
    if wanted is None or "ctc" in wanted:
        if ctc is not None and (ctc / "config.json").exists():
            systems.append(OttcSystem(ctc, "viterbi", args.device, "ctc"))
            about["ctc"] = f"{ctc} (tag {model_tag(ctc)}), CTC forced alignment"
        else:
            print("warning: no CTC baseline model found; skipping ctc", file=sys.stderr)
    if wanted is None or "pocketsphinx" in wanted:
        try:
            import pocketsphinx  # noqa: F401

            systems.append(PocketsphinxSystem())
            about["pocketsphinx"] = "pocketsphinx 5 (bundled en-us model and dictionary)"
        except ImportError:
            print("warning: pocketsphinx not installed (pip install -e '.[bench]'); skipping",
                  file=sys.stderr)
    return systems, about


def cache_dir(args, split: str, system) -> Path:
    """<cache>/accuracy/<corpus name>-<hash>/<split>/<system>-<model tag>. The hash is of the
    corpus's path and its manifest.tsv (every utterance's audio file, duration, voice settings
    and text): a corpus rebuilt in the same place gets outputs of its own as soon as a row
    differs, as espeak-ng's durations do from build to build."""
    import hashlib

    corpus = Path(args.corpus).resolve()
    manifest = corpus / "manifest.tsv"
    h = hashlib.sha1(str(corpus).encode())
    if manifest.is_file():
        h.update(manifest.read_bytes())
    corpus_tag = f"{corpus.name}-{h.hexdigest()[:6]}"
    tag = model_tag(getattr(system, "model", None))
    return Path(args.cache) / "accuracy" / corpus_tag / split / f"{system.name}-{tag}"


def score_system(utts, out_dir: Path, tolerance: float):
    """UtteranceScores for one system's cached outputs (missing/failed ones as failures)."""
    from aligner.evaluate import UtteranceScore, score_utterance
    from aligner.formats import FormatError, read_alignment
    from aligner.phone_folding import load_folding
    from benchmarks.systems import failure_reason, output_path

    folding = load_folding("cmu39")
    scores = []
    for u in utts:
        reason = failure_reason(out_dir, u)
        if reason is not None:
            scores.append(UtteranceScore(u.name, status="failed", reason=reason))
            continue
        gold = read_alignment(u.gold)
        try:
            hyp = read_alignment(output_path(out_dir, u))
        except FormatError as err:
            scores.append(UtteranceScore(u.name, status="failed", reason=str(err)))
            continue
        scores.append(score_utterance(u.name, gold, hyp, folding, tolerance))
    return scores


def row_of(split: str, name: str, s) -> list[object]:
    def f(x, d=1):
        return None if x != x else round(x, d)

    def pct(x):
        return None if x != x else f"{100 * x:.1f}"
    p, w = s.phones, s.words
    return [split, name, s.utterances, s.failed, f(p.mean_ms), f(p.median_ms), f(p.bias_ms),
            pct(p.within.get(10, float("nan"))), pct(p.within.get(20, float("nan"))),
            pct(p.within.get(25, float("nan"))), pct(p.within.get(50, float("nan"))),
            f(w.mean_ms), pct(w.within.get(20, float("nan"))), pct(p.f1), f(p.idr, 3),
            f"{pct(s.hyp_silence_share)} / {pct(s.gold_silence_share)}", pct(p.match_rate)]


HEADER = ["split", "system", "utts", "failed", "phone mean ms", "phone median ms", "phone bias ms", "≤10 ms %",
          "≤20 ms %", "≤25 ms %", "≤50 ms %", "word mean ms", "word ≤20 ms %", "phone F1@20 %",
          "phone IDR", "silence % hyp / gold", "phone match %"]


def voice_shares(scores) -> dict[str, tuple[float, float]]:
    """(share of phone boundaries within 20 ms, mean signed offset ms) per voice (first folder)."""
    import numpy as np

    offsets: dict[str, list] = {}
    for s in scores:
        if s.status == "ok" and s.phones is not None:
            offsets.setdefault(s.name.split("/")[0], []).append(s.phones.offsets)
    out = {}
    for voice, parts in sorted(offsets.items()):
        o = np.concatenate(parts)
        if o.size:
            out[voice] = (float(np.mean(np.abs(o) <= 0.020 + 1e-9)), float(o.mean() * 1000))
    return out


def voice_tables(by_voice: dict, names: list[str]) -> str:
    """Per split: phone boundaries within 20 ms (%) and bias (ms) by voice and system."""
    out = []
    for split, voices in by_voice.items():
        rows = [[voice] + [None if n not in shares else f"{100 * shares[n][0]:.1f} ({shares[n][1]:+.1f})"
                           for n in names]
                for voice, shares in sorted(voices.items())]
        out.append(f"\nPhone boundaries within 20 ms, % (bias hyp - gold, ms) by voice, {split}:\n\n"
                   + markdown_table(["voice", *names], rows) + "\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    path_option(ap, "--corpus", "OTTC_BENCH_CORPUS", "corpus root with split folders")
    ap.add_argument("--splits", default="test,dev")
    ap.add_argument("--systems", default=None, help="comma list (default: all available)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--ctc-model", default=None)
    ap.add_argument("--limit", type=int, default=200, help="utterances per split (0 = all)")
    scratch_option(ap, "--cache", "OTTC_BENCH_CACHE", "system outputs, kept between runs")
    ap.add_argument("--fresh", action="store_true", help="re-align even if cached")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tolerance", type=float, default=20.0, help="boundary F1 tolerance, ms")
    ap.add_argument("--name", default="accuracy", help="results file name (benchmarks/results/NAME.md)")
    args = ap.parse_args(argv)
    set_threads(args.threads)

    from aligner.evaluate import summarise, write_scores

    systems, about = build_systems(args)
    if not systems:
        print("error: no system to benchmark", file=sys.stderr)
        return 2
    rows, data_rows = [], []
    by_voice: dict[str, dict[str, dict[str, float]]] = {}  # split -> voice -> system -> share
    started = time.time()
    for split in [s.strip() for s in args.splits.split(",") if s.strip()]:
        utts = split_utterances(Path(args.corpus) / split, args.limit or None)
        print(f"{split}: {len(utts)} utterances", file=sys.stderr)
        stats_all = run_all([(s, cache_dir(args, split, s)) for s in systems], utts, args.fresh)
        for system in systems:
            out = cache_dir(args, split, system)
            stats = stats_all[system.name]
            scores = score_system(utts, out, args.tolerance / 1000)
            write_scores(scores, out / "_per_utterance.csv")
            summary = summarise(scores, args.tolerance / 1000)
            rows.append(row_of(split, system.name, summary))
            for voice, share in voice_shares(scores).items():
                by_voice.setdefault(split, {}).setdefault(voice, {})[system.name] = share
            data_rows.append({"split": split, "system": system.name, "about": about[system.name],
                              "summary": summary.to_dict(), "run": stats,
                              "per_utterance_csv": str(out / "_per_utterance.csv")})
            print(markdown_table(HEADER, [rows[-1]]), file=sys.stderr)
    m = machine()
    table = markdown_table(HEADER, rows)
    body = (f"Corpus `{args.corpus}`, up to {args.limit or 'all'} utterances per split "
            f"(same files for every system).\n\n{table}\n\n"
            + "".join(f"- `{k}`: {v}\n" for k, v in about.items())
            + voice_tables(by_voice, [s.name for s in systems])
            + "\n" + machine_lines(m)
            + f"- Wall time of this run (alignment reused from cache where present): "
              f"{time.time() - started:.0f} s\n")
    print(table)
    write_results(args.name, "Accuracy: boundaries against gold alignments", body,
                  {"machine": m, "corpus": args.corpus, "limit": args.limit, "rows": data_rows},
                  DOCS_INTRO if args.name == "accuracy" else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
