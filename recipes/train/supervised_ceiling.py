"""DIAGNOSTIC, never used for a shipped model: fine-tune a model on the synthetic corpus's gold
phone times (frame cross-entropy) to see how far this network and these features go when the
alignment is given.

    python recipes/train/supervised_ceiling.py --init $DATA/runs/exp-sil04/model \
        --corpus $DATA/synth/train --cache-dir $DATA/features \
        --out $DATA/runs/diag-supervised --epochs 2 --lr 5e-4
    python recipes/train/measure.py $DATA/runs/diag-supervised/epoch2 \
        $DATA/synth/dev $DATA/synth/test

Why: the product trains from transcripts only (OTTC), as it must for users' corpora. Comparing
that model with the same network taught the gold boundaries splits the distance to the accuracy
target into what transcript-only training loses (the gap between the two) and what the network,
the features and the unseen voices' labelling conventions cost even with the answer given (the
gold-supervised model's own distance). Only the label head's posteriors are taught (the Viterbi
decoder's input); the weight head is left as it was, so the `ot` figures of the result mean
nothing. Speed perturbation is off (it would move the gold frames); the other augmentations stay.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from aligner.dataset import Augment, augment, collate, gold_frame_labels, make_batches, read_corpus
from aligner.formats import read_alignment
from aligner.model import load_model, save_model

def frame_labels(grid: Path, n_frames: int, vocab: list[str], frame: float = 0.01) -> torch.Tensor:
    """[n_frames] class ids of the gold phone under each frame centre ((t + 0.5) * frame);
    silence where the gold has no phone, -100 (ignored) where it has a phone outside the
    model's set or beyond the gold's end."""
    gold = read_alignment(grid)  # labelled intervals only: the rest of the file is silence
    labels = gold_frame_labels([(iv.start, iv.end, iv.label) for iv in gold.phones], n_frames,
                               frame, vocab)
    labels[(torch.arange(n_frames) + 0.5) * frame >= gold.duration] = -100
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", required=True, help="a one-state model directory")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--corpus", required=True, type=Path, help="training split with gold TextGrids")
    parser.add_argument("--cache-dir", required=True, type=Path, help="feature cache (as for train)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--max-frames", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model(args.init)
    if model.config.states != 1:
        raise SystemExit(f"{args.init}: needs a one-state model (gold labels are phones)")
    vocab = list(model.config.phones)
    features = model.config.feature_config
    items, _ = read_corpus(args.corpus, args.cache_dir, features)
    grids = {p.stem: p for p in args.corpus.rglob("*.TextGrid")}
    items = [it for it in items if Path(it.name).name in grids]
    labels = [frame_labels(grids[Path(it.name).name], it.frames, vocab) for it in items]
    covered = sum(int((y != -100).sum()) for y in labels) / sum(y.numel() for y in labels)
    print(f"{len(items)} utterances with gold, {covered:.1%} of frames labelled", flush=True)

    aug, rng = Augment(speed=(1.0, 1.0)), random.Random(0)
    lengths = [it.frames for it in items]
    total = args.epochs * len(make_batches(lengths, args.max_frames, 0))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    model.train()
    step, t0 = 0, time.time()
    for epoch in range(args.epochs):
        batches = make_batches(lengths, args.max_frames, seed=epoch)
        running = 0.0
        for b, idx in enumerate(batches):
            x, xl, live = collate([augment(items[i].feats, aug, rng, features) for i in idx])
            y = torch.full(x.shape[:2], -100, dtype=torch.long)
            for row, i in enumerate(idx):
                y[row, : labels[i].numel()] = labels[i]
            for g in opt.param_groups:  # 50-step warm-up, linear decay
                g["lr"] = args.lr * min(1.0, (step + 1) / 50) * max(0.02, 1 - step / total)
            log_probs, _ = model(x, xl, live)
            loss = F.nll_loss(log_probs.float().transpose(1, 2), y, ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            running += loss.item()
            if step % 100 == 0:
                print(f"epoch {epoch + 1} step {b + 1}/{len(batches)} loss {running / (b + 1):.4f} "
                      f"{(time.time() - t0) / 60:.1f} min", flush=True)
        model.eval()
        save_model(model, args.out / f"epoch{epoch + 1}")
        model.train()
    print(f"done in {(time.time() - t0) / 60:.1f} min; models in {args.out}", flush=True)


if __name__ == "__main__":
    main()
