"""What `ottc-align adapt` buys: phone boundaries before and after adapting to a corpus.

For each corpus (with gold TextGrids, used only for scoring): align it with the base model,
run `ottc-align adapt CORPUS` (its transcripts only) with the given options, align it again
with the adapted model, and report boundaries within 20 ms, mean error, F1 and IDR for both
decoders, plus the adaptation's wall time. The corpus adapted to is the corpus scored, as
when a user adapts to the recordings they are about to align.

    python benchmarks/adaptation.py $DATA/synth-mbx/unseen-dev $DATA/synth/test --threads 2
    python benchmarks/adaptation.py CORPUS --adapt-args "--steps 250 --viterbi-weight 0"
    python benchmarks/adaptation.py $DATA/synth/test $DATA/synth/dev --gold-per-speaker 3

"after" is always the adapted model, whichever model `adapt` kept (the `kept` column says
which). `--gold-per-speaker K` hands `adapt` the last K recordings of each speaker folder as its
`--gold` (hand-labelled recordings: here the corpus's own gold TextGrids), which it leaves out of
training and judges the adapted model on.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    find_model, machine, machine_lines, markdown_table, model_tag, set_threads, write_results,
)

DOCS_INTRO = """
Phone boundaries within 20 ms of the gold before and after `ottc-align adapt` on the corpus
itself (transcripts only; the gold times are used only for scoring), all of it, the recordings
`adapt` held out of training included. The corpora hold voices
the shipped model was not trained on; `synth-mbx/unseen-dev` is the split the adaptation
defaults were chosen on, the unseen-voice test split was only measured.
"""

def scores(model: Path, corpus: str) -> dict[str, dict]:
    """Boundary figures per decoding method the model supports (the same scorer as the model
    card)."""
    from aligner.model import load_model
    from aligner.dev_metrics import dev_metrics, find_dev_utterances

    return dev_metrics(load_model(model), find_dev_utterances([corpus], 0))


def adapt(corpus: str, out: Path, base: Path, threads: int, extra: list[str] = ()) -> tuple[float, str]:
    """Run `ottc-align adapt` as a user would: (wall time in seconds, its verdict line, which
    says whether the held-out check kept the adapted model). Raises RuntimeError with the
    command's last error line when it fails."""
    cmd = [sys.executable, "-m", "aligner.cli", "adapt", corpus, "-o", str(out), "--model", str(base),
           "--threads", str(threads), *extra]
    t0 = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"adapting to {corpus} failed: {done.stderr.strip().splitlines()[-1:]}")
    verdict = [line for line in done.stdout.splitlines() if "held-out recordings" in line]
    return time.time() - t0, verdict[0] if verdict else ""


def gold_sample(corpus: str, per_speaker: int, into: Path) -> Path:
    """A folder of links to the last `per_speaker` recordings (with their transcripts and gold
    TextGrids) of each speaker folder of `corpus`: `adapt --gold` as a user with a few
    hand-labelled recordings per speaker would give it."""
    from aligner.corpus import gold_utterances

    by_speaker: dict[str, list] = {}
    for u in gold_utterances(Path(corpus)):
        by_speaker.setdefault(str(Path(u.name).parent), []).append(u)
    for found in by_speaker.values():
        for u in sorted(found, key=lambda u: u.name)[-per_speaker:]:
            folder = into / Path(u.name).parent
            folder.mkdir(parents=True, exist_ok=True)
            for f in (u.audio, u.transcript, u.gold):
                (folder / f.name).symlink_to(f.resolve())
    return into


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--model", default=None, help="base model (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--adapt-args", default="", help="extra options for `ottc-align adapt`")
    ap.add_argument("--name", default="adaptation")
    ap.add_argument("--gold-per-speaker", type=int, default=0,
                    help="give adapt --gold: the last K recordings of each speaker folder")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    base = find_model(args.model)
    rows, verdicts, data = [], [], {"model": str(base), "adapt_args": args.adapt_args, "corpora": {}}
    for corpus in args.corpora:
        before = scores(base, corpus)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "adapted"
            extra = shlex.split(args.adapt_args)
            if args.gold_per_speaker:
                extra += ["--gold", str(gold_sample(corpus, args.gold_per_speaker, Path(tmp) / "gold"))]
            try:
                seconds, verdict = adapt(corpus, out, base, args.threads, extra)
            except RuntimeError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
            kept = "base" if "did not help" in verdict else "adapted"
            after = scores(Path(tmp) / "adapted-train" / "adapted", corpus)
        data["corpora"][corpus] = {"before": before, "after": after, "adapt_seconds": seconds,
                                   "verdict": verdict, "kept": kept}
        verdicts.append(f"- `{corpus}`: {verdict}")
        for m in before:
            b, a = before[m], after[m]
            rows.append([corpus, m, f"{100 * b['within_20ms']:.1f}", f"{100 * a['within_20ms']:.1f}",
                         f"{100 * (a['within_20ms'] - b['within_20ms']):+.1f}",
                         f"{b['mean_ms']:.1f} -> {a['mean_ms']:.1f}", f"{b['f1']:.3f} -> {a['f1']:.3f}",
                         f"{b['idr']:.3f} -> {a['idr']:.3f}", kept, f"{seconds:.0f}"])
        print(*rows[-len(before):], flush=True)
    m = machine()
    table = markdown_table(["corpus", "method", "≤20 ms before %", "after %", "change", "mean ms",
                            "F1", "IDR", "kept", "adapt s"], rows)
    body = "\n\n".join([
        f"Base model `{base}` (tag {model_tag(base)}); `ottc-align adapt` options: "
        f"`{args.adapt_args or '(defaults)'}`, {args.threads} threads.", table,
        ("Check on hand-labelled recordings (`adapt --gold`: the last "
         f"{args.gold_per_speaker} recordings of each speaker, not trained on; the adapted model "
         "is kept only when it places more of their boundaries within 20 ms):" if args.gold_per_speaker
         else "Held-out check (`adapt` keeps the adapted model only when its mean word confidence "
         "on the recordings it held out of training rises):") + "\n\n" + "\n".join(verdicts),
        machine_lines(m)])
    write_results(args.name, "Adapting to a corpus (`ottc-align adapt`)", body, data, DOCS_INTRO)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
