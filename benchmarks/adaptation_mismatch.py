"""Does `ottc-align adapt` blind the transcript-mismatch check? A corpus with a few wrong
transcripts is adapted to (the wrong ones included, as a user's corpus would be), then the
wrong and some right utterances are aligned with the base and the adapted model.

    python benchmarks/adaptation_mismatch.py $DATA/synth/test --wrong 8 --threads 2

Builds the corpus copy (audio symlinked, transcripts written) in a temporary folder; utterance
i among the `--wrong` chosen ones gets the transcript of utterance i + 37.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.adaptation import adapt  # noqa: E402
from benchmarks.common import (  # noqa: E402
    find_model, machine, machine_lines, markdown_table, model_tag, set_threads, write_results,
)


def build_corpus(src: Path, dst: Path, n_wrong: int, seed: int) -> tuple[list[Path], list[Path]]:
    """Copy `src` (audio as symlinks) with `n_wrong` transcripts swapped; (wrong, right) audio."""
    audio = sorted(p for p in src.glob("*/*") if p.suffix.lower() in (".wav", ".flac"))
    texts = [p.with_suffix(".lab").read_text(encoding="utf-8") for p in audio]
    wrong_idx = set(random.Random(seed).sample(range(len(audio)), n_wrong))
    wrong, right = [], []
    for i, p in enumerate(audio):
        d = dst / p.parent.name
        d.mkdir(parents=True, exist_ok=True)
        os.symlink(p.resolve(), d / p.name)
        text = texts[(i + 37) % len(audio)] if i in wrong_idx else texts[i]
        (d / p.with_suffix(".lab").name).write_text(text, encoding="utf-8")
        (wrong if i in wrong_idx else right).append(d / p.name)
    return wrong, right


def confidences(model: Path, files: list[Path]) -> tuple[list[float], int]:
    """Mean word confidence per file, and how many files get a transcript_mismatch flag."""
    from aligner import Aligner
    from aligner.checks import find_flags

    aligner = Aligner.load(model)
    means, flagged = [], 0
    for f in files:
        result = aligner.align(f, f.with_suffix(".lab"))
        means.append(float(np.mean([w.confidence for w in result.words if w.label])))
        flagged += any(x.kind == "transcript_mismatch" for x in find_flags(result))
    return means, flagged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--model", default=None)
    ap.add_argument("--wrong", type=int, default=8)
    ap.add_argument("--right", type=int, default=14, help="right utterances scored (evenly spaced)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    base = find_model(args.model)
    rows, data = [], {"model": str(base), "corpus": str(args.corpus), "wrong": args.wrong}
    with tempfile.TemporaryDirectory() as tmp:
        wrong, right = build_corpus(args.corpus, Path(tmp) / "corpus", args.wrong, args.seed)
        right = right[:: max(1, len(right) // args.right)][: args.right]
        adapted = Path(tmp) / "adapted"
        try:
            _, verdict = adapt(str(Path(tmp) / "corpus"), adapted, base, args.threads)
        except RuntimeError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        data["verdict"] = verdict
        for name, model in (("shipped", base), ("adapted (wrong transcripts included)", adapted)):
            for kind, files in (("wrong transcript", wrong), ("right transcript", right)):
                means, flagged = confidences(model, files)
                data[f"{name} / {kind}"] = {"mean_confidence": means, "flagged": flagged}
                rows.append([name, kind, len(files), f"{np.mean(means):.2f}",
                             f"{min(means):.2f}-{max(means):.2f}", f"{flagged}/{len(files)}"])
    table = markdown_table(["model", "utterances", "n", "mean word confidence", "range",
                            "flagged transcript_mismatch"], rows)
    body = "\n\n".join([f"Corpus `{args.corpus}` with {args.wrong} transcripts swapped; base model "
                        f"`{base}` (tag {model_tag(base)}), `ottc-align adapt` defaults; its "
                        f"held-out check: {verdict}", table,
                        machine_lines(machine())])
    write_results("adaptation_mismatch", "Transcript-mismatch flags after adapting", body, data)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
