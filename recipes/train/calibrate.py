"""Set a mismatch threshold in aligner/checks.py to the real-speech benchmark's suggestion.

    python benchmarks/real_speech.py --data ../shared/data --threads 1 --swapped 400
    python recipes/train/calibrate.py fit        # min_transcript_fit
    python benchmarks/real_speech.py --data ../shared/data --threads 1 --swapped 400
    python recipes/train/calibrate.py relative   # min_relative_fit (calibrated beside the fit's)
    python benchmarks/real_speech.py --data ../shared/data --threads 1 --swapped 400

A new model fits transcripts differently, so its `transcript_mismatch` thresholds are
calibrated again on the held-out speechocean762 speakers: benchmarks/real_speech.py writes the
mean of the thresholds chosen on each half of the speakers (results/real_speech.json,
`suggested`). The relative fit is calibrated with the single-recording threshold already in
place, hence the order above. This rounds the suggestion to 4 decimals, writes it as the
default in `Thresholds` and prints what the suggestion flags; the comments beside the values
and the docs that quote them (README, docs/usage.md, aligner/speaker_fit.py) are edited by hand.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIELDS = {"fit": ("calibration", "min_transcript_fit"),
          "relative": ("corpus_calibration", "min_relative_fit")}


def set_threshold(source: str, name: str, value: float) -> str:
    """checks.py's text with `name: float = ...` set to `value` (exactly one such line)."""
    pattern = re.compile(rf"^(\s*{re.escape(name)}: float = )[0-9.eE+-]+$", re.MULTILINE)
    new, count = pattern.subn(lambda m: f"{m.group(1)}{value:.4f}", source)
    if count != 1:
        raise ValueError(f"{name}: expected one default in Thresholds, found {count}")
    return new


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", choices=sorted(FIELDS))
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks/results/real_speech.json")
    ap.add_argument("--checks", type=Path, default=REPO / "aligner/checks.py")
    args = ap.parse_args()
    key, name = FIELDS[args.which]
    data = json.loads(args.results.read_text(encoding="utf-8"))
    cal = data["speechocean762_test"]["ottc-align"].get(key)
    if not cal:
        raise SystemExit(f"error: {args.results}: no {key} (run benchmarks/real_speech.py with "
                         "speechocean762 and --swapped first)")
    old = args.checks.read_text(encoding="utf-8")
    args.checks.write_text(set_threshold(old, name, cal["suggested"]), encoding="utf-8")
    print(f"{name} = {cal['suggested']:.4f}: flags {100 * cal['suggested_correct_flagged']:.1f}% "
          f"of correct and {100 * cal['suggested_swapped_caught']:.1f}% of swapped transcripts "
          f"(model {data['model']}); run benchmarks/real_speech.py again to measure it in place")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
