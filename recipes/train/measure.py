"""Phone-boundary figures of a model directory on corpora with gold TextGrids (the card's numbers).

    python recipes/train/measure.py MODEL_DIR $DATA/synth/dev $DATA/synth/test [--limit N]

Prints one JSON object: {corpus: {method: figures}}. Uses the same Aligner and scorer as
`ottc-align evaluate` (through aligner.dev_metrics.dev_metrics), all utterances unless --limit.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from aligner.model import load_model
from aligner.dev_metrics import dev_metrics, find_dev_utterances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("corpora", nargs="+")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    out = {}
    for corpus in args.corpora:
        utts = find_dev_utterances([corpus], args.limit)
        t0 = time.time()
        out[corpus] = dev_metrics(model, utts)
        out[corpus]["_seconds"] = round(time.time() - t0, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
