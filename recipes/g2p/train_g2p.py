"""Train the shipped G2P model on CMUdict and measure its phone error rate on held-out words.

    nice -n 5 python recipes/g2p/train_g2p.py --out $DATA/g2p --minutes 45 --threads 1

Split: a word is held out for testing if crc32(word) % 20 == 0 (5 %), for development
(checkpoint choice) if it is 1 (5 %); all its variants go with it, so no test word is ever
seen in training. The model is a small pre-norm transformer encoder over letters with `slots`
CTC output frames per letter (see aligner/text/g2p_model.py, which runs it in numpy).
PER = edit distance between predicted and reference phones (stress removed) / reference length,
summed over held-out words; reported against the closest reference variant (the usual G2P
convention when a word has several pronunciations) and against the first variant.
Writes OUT/g2p.safetensors (float16 weights, config in metadata) and OUT/results.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import zlib
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from aligner.text.g2p_model import LETTERS, G2PModel, encode_word
from aligner.text.lexicon import read_cmudict, cmudict_path
from aligner.text.phones import PHONES


def split_of(word: str) -> str:
    r = zlib.crc32(word.encode()) % 20
    return "test" if r == 0 else ("dev" if r == 1 else "train")


def load_data(max_len: int) -> dict[str, list[tuple[str, list[list[str]]]]]:
    """CMUdict words of letters and apostrophes only, grouped into train/dev/test by word."""
    data: dict[str, list[tuple[str, list[list[str]]]]] = {"train": [], "dev": [], "test": []}
    for word, prons in sorted(read_cmudict(cmudict_path()).items()):
        if not all(c in LETTERS for c in word) or not any(c.isalpha() for c in word):
            continue
        if len(word) > max_len:
            continue
        data[split_of(word)].append((word, [p.split() for p in prons]))
    return data


class Layer(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_pad: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q, k, v = (t.view(b, n, self.heads, hd).transpose(1, 2) for t in (q, k, v))
        mask = (~key_pad)[:, None, None, :]
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.drop.p if self.training else 0.0)
        x = x + self.drop(self.out(o.transpose(1, 2).reshape(b, n, d)))
        h = self.ff2(self.drop(F.gelu(self.ff1(self.ln2(x)), approximate="tanh")))
        return x + self.drop(h)


class G2PNet(nn.Module):
    """Torch twin of aligner.text.g2p_model.G2PModel (same parameter names)."""

    def __init__(self, n_out: int, d: int, layers: int, heads: int, ff: int, slots: int,
                 max_len: int, dropout: float):
        super().__init__()
        self.slots = slots
        self.embed = nn.Parameter(torch.randn(len(LETTERS) + 1, d) * 0.05)
        self.pos = nn.Parameter(torch.randn(max_len, d) * 0.05)
        self.layers = nn.ModuleList(Layer(d, heads, ff, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, slots * n_out)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        b, n = ids.shape
        x = self.drop(self.embed[ids] + self.pos[:n][None])
        key_pad = torch.arange(n, device=ids.device)[None, :] >= lengths[:, None]
        for layer in self.layers:
            x = layer(x, key_pad)
        return self.head(self.ln_f(x)).view(b, n * self.slots, -1)


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def strip(p: list[str]) -> list[str]:
    return [x.rstrip("012") for x in p]


def score(model: G2PModel, items: list[tuple[str, list[list[str]]]]) -> dict[str, float]:
    """PER/WER (stress removed) against the closest and the first variant; PER with stress."""
    err_best = err_first = err_stress = ref_best = ref_first = wrong = 0
    for s in range(0, len(items), 512):
        chunk = items[s: s + 512]
        preds = model.predict([w for w, _ in chunk])
        for (_, refs), pred in zip(chunk, preds):
            hyp = pred[0]
            dists = [(edit_distance(strip(hyp), strip(r)), len(r)) for r in refs]
            e, n = min(dists)
            err_best += e
            ref_best += n
            wrong += e > 0
            err_first += dists[0][0]
            ref_first += dists[0][1]
            err_stress += min(edit_distance(hyp, r) for r in refs)
    return {
        "words": len(items), "per_closest": err_best / ref_best, "per_first": err_first / ref_first,
        "wer_closest": wrong / len(items), "per_with_stress_closest": err_stress / ref_best,
    }


def batches(examples: list[tuple[list[int], list[int]]], size: int, rng: random.Random):
    """Length-bucketed shuffled batches (less padding, same randomness)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    out = []
    for s in range(0, len(order), size * 50):
        chunk = sorted(order[s: s + size * 50], key=lambda i: len(examples[i][0]))
        out += [chunk[i: i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def collate(examples, idx, slots):
    xs = [examples[i][0] for i in idx]
    ys = [examples[i][1] for i in idx]
    n = max(len(x) for x in xs)
    ids = torch.zeros(len(xs), n, dtype=torch.long)
    for i, x in enumerate(xs):
        ids[i, : len(x)] = torch.tensor(x)
    lengths = torch.tensor([len(x) for x in xs])
    targets = torch.tensor([t for y in ys for t in y])
    target_lengths = torch.tensor([len(y) for y in ys])
    return ids, lengths, lengths * slots, targets, target_lengths


def export(net: G2PNet, config: dict) -> G2PModel:
    weights = {k: v.detach().float().cpu().numpy() for k, v in net.state_dict().items()}
    return G2PModel(weights, config)


def save(net: G2PNet, config: dict, path: Path) -> None:
    from safetensors.torch import save_file

    sd = {k: v.detach().to(torch.float16).cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(sd, str(path), metadata={"config": json.dumps(config)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=13.0, help="wall-time budget for training")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=384)
    ap.add_argument("--slots", type=int, default=3)
    ap.add_argument("--max-len", type=int, default=24)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2.5e-3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (a GPU trains it in minutes)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    data = load_data(args.max_len)
    phones = ["<b>"] + sorted({p for _, prons in data["train"] for pr in prons for p in pr})
    assert all(p.rstrip("012") in PHONES for p in phones[1:])
    pid = {p: i for i, p in enumerate(phones)}
    train = [(encode_word(w, args.max_len), [pid[p] for p in pr])
             for w, prons in data["train"] for pr in prons]
    train = [(x, y) for x, y in train if len(y) <= len(x) * args.slots]
    print({k: len(v) for k, v in data.items()}, "train examples", len(train), flush=True)
    config = {"phones": phones, "layers": args.layers, "heads": args.heads, "d": args.d,
              "slots": args.slots, "max_len": args.max_len, "ff": args.ff}

    net = G2PNet(len(phones), args.d, args.layers, args.heads, args.ff, args.slots,
                 args.max_len, args.dropout).to(args.device)
    print("parameters", sum(p.numel() for p in net.parameters()), flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    budget = args.minutes * 60
    warmup = 200
    t0 = time.time()
    step = 0
    best = (float("inf"), None)
    epoch = 0
    done = False
    while not done:
        epoch += 1
        net.train()
        for idx in batches(train, args.batch, rng):
            # The schedule runs on wall time, not steps: the machine is shared and its speed
            # changes while we train, so a step count fixed in advance would be wrong.
            progress = min(1.0, (time.time() - t0) / budget)
            lr = args.lr * min(1.0, (step + 1) / warmup) * max(
                0.02, 0.5 * (1 + math.cos(math.pi * progress)))
            for g in opt.param_groups:
                g["lr"] = lr
            ids, lengths, in_len, targets, tgt_len = (
                t.to(args.device) for t in collate(train, idx, args.slots))
            logp = net(ids, lengths).log_softmax(-1).transpose(0, 1)
            loss = F.ctc_loss(logp, targets, in_len, tgt_len, blank=0, zero_infinity=True)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 200 == 0:
                print(f"step {step} epoch {epoch} loss {loss.item():.3f} lr {lr:.2e} "
                      f"{time.time() - t0:.0f}s", flush=True)
            if progress >= 1.0:
                done = True
                break
        net.eval()
        dev = score(export(net, config), data["dev"][::3])  # a third: quick
        print(f"epoch {epoch} step {step} dev {json.dumps(dev)} {time.time() - t0:.0f}s",
              flush=True)
        if dev["per_closest"] < best[0]:
            state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            best = (dev["per_closest"], state)
            save(net, config, args.out / "g2p.safetensors")
    net.load_state_dict(best[1])
    train_seconds = time.time() - t0
    # The shipped weights are float16: score exactly what ships.
    shipped = G2PModel.load(args.out / "g2p.safetensors")
    results = {
        "test": score(shipped, data["test"]), "dev": score(shipped, data["dev"]),
        "train_words": len(data["train"]), "train_examples": len(train), "steps": step,
        "epochs": epoch, "train_seconds": round(train_seconds), "config": config | {
            "phones": len(phones)}, "args": {k: str(v) for k, v in vars(args).items()},
        "parameters": sum(p.numel() for p in net.parameters()),
        "split": "crc32(word) % 20: 0 = test, 1 = dev, else train",
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results["test"], indent=2))


if __name__ == "__main__":
    main()
