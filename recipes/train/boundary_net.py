"""Train the boundary network (`aligner/boundary_net.py`) on the synthetic corpus's gold times.

    B=$DATA/boundary
    python recipes/train/boundary_net.py extract --corpus $DATA/synth/train --out $B/train.pt
    python recipes/train/boundary_net.py extract --corpus $DATA/synth/dev --out $B/dev.pt
    python recipes/train/boundary_net.py train --train $B/train.pt --dev $B/dev.pt \
        --out $B/net.pt [--steps 8000] [--threads 2]
    python recipes/train/boundary_net.py attach --net $B/net.pt --model MODEL_DIR

`extract` caches each utterance's fine log-mels (`features.fine_spectra`, float16; 1.5 GB for
the 12.6 h training split, about a minute) and its gold phone boundaries (time, phone ids on
either side, silence for gaps); `train --train` takes one cache or several, trained on as one
set (the shipped network: the main corpus's training split alone). `train` draws boundaries at
random, displaces each as the aligner's own boundaries are displaced (Laplace of 8 ms scale, or
uniform within 45 ms; at most 50 ms) and teaches the network to move it back (smooth L1 in ms);
a checkpoint every 1000 steps, and a run that is started again continues from it. The defaults
are the shipped network's (16 channels, every 5 ms: 37,441 parameters); its 8000 steps of 256
took 5 minutes on one thread beside another run. `recipes/train/export.py --boundary-net` puts
the result into the model directory it exports; `attach` puts it into a model directory as it
is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from aligner.audio import SAMPLE_RATE, load_audio
from aligner.corpus import gold_utterances
from aligner.boundary_net import HOP, SILENCE_ID, BoundaryNet, phone_id
from aligner.features import fine_spectra, model_wave
from aligner.formats import read_alignment

CHECK_EVERY = 1000
LAPLACE_MS, UNIFORM_MS, MAX_MS = 8.0, 45.0, 50.0


def gold_boundaries(phones, duration: float) -> list[tuple[float, int, int]]:
    """(time, left id, right id) of every edge of the gold phones; gaps and '' are silence.
    Markup and labels the network does not know leave their edges out."""
    out = []
    spoken = sorted((p for p in phones if phone_id(p.label) != SILENCE_ID), key=lambda p: p.start)
    for i, p in enumerate(spoken):
        prev = spoken[i - 1] if i else None
        if prev is not None and abs(prev.end - p.start) < 1e-4:
            out.append((p.start, phone_id(prev.label), phone_id(p.label)))
            continue
        if prev is not None and prev.end < duration - 0.005:
            out.append((prev.end, phone_id(prev.label), SILENCE_ID))
        if p.start > 0.005:
            out.append((p.start, SILENCE_ID, phone_id(p.label)))
    if spoken and spoken[-1].end < duration - 0.005:
        out.append((spoken[-1].end, phone_id(spoken[-1].label), SILENCE_ID))
    return [b for b in out if b[1] is not None and b[2] is not None]


def extract(corpus: Path, out: Path) -> None:
    utts = gold_utterances(corpus)
    if not utts:
        raise SystemExit(f"{corpus}: no recordings with gold TextGrids")
    mels, bounds = [], []
    t0 = time.time()
    for n, u in enumerate(utts):
        wave = load_audio(u.audio)
        pieces = list(fine_spectra(torch.from_numpy(model_wave(wave))))
        if len(pieces) != 1:  # over a minute: the network was trained on whole utterances
            print(f"{u.audio}: {len(wave) / SAMPLE_RATE:.0f} s, left out (a minute at most)")
            continue
        mels.append(pieces[0].mel.half())
        gold = gold_boundaries(read_alignment(u.gold).phones, len(wave) / SAMPLE_RATE)
        bounds.append(torch.tensor(gold, dtype=torch.float64).reshape(-1, 3))
        if n % 1000 == 0:
            print(f"{n}/{len(utts)} utterances, {time.time() - t0:.0f} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"mels": mels, "bounds": bounds}, out)
    print(f"{out}: {len(mels)} utterances, {sum(map(len, bounds))} boundaries")


def load_boundaries(paths: list[Path]) -> dict:
    """The `extract` caches of several splits (corpora) as one training set."""
    parts = [torch.load(path) for path in paths]
    return {key: [x for part in parts for x in part[key]] for key in ("mels", "bounds")}


def flat_boundaries(data: dict) -> tuple[torch.Tensor, ...]:
    """(utterance, time, left, right) of every boundary, each [N]."""
    rows = [(torch.full((len(b),), i), b) for i, b in enumerate(data["bounds"]) if len(b)]
    utt = torch.cat([u for u, _ in rows])
    b = torch.cat([b for _, b in rows])
    return utt, b[:, 0], b[:, 1].long(), b[:, 2].long()


def displacements(n: int, rng: np.random.Generator) -> torch.Tensor:
    """Seconds by which training moves gold boundaries: like the aligner's own errors."""
    ms = np.where(rng.random(n) < 0.6, rng.laplace(0, LAPLACE_MS, n),
                  rng.uniform(-UNIFORM_MS, UNIFORM_MS, n))
    return torch.from_numpy(np.clip(ms, -MAX_MS, MAX_MS) / 1000.0)


def crops(mels: list[torch.Tensor], utt: torch.Tensor, centre: torch.Tensor, pad: int
          ) -> torch.Tensor:
    """[N, 2 * pad + 1, n_mels] of each utterance's mels around frame `centre`, zeros beyond."""
    out = torch.zeros(len(utt), 2 * pad + 1, mels[0].shape[1])
    for j, (u, k) in enumerate(zip(utt.tolist(), centre.tolist())):
        mel = mels[u]
        a, b = max(k - pad, 0), min(k + pad + 1, mel.shape[0])
        if b > a:
            out[j, a - (k - pad): b - (k - pad)] = mel[a:b].float()
    return out


def batch(data: dict, flat: tuple, idx: torch.Tensor, rng: np.random.Generator,
          net: BoundaryNet):
    """(crops, left, right, target ms, displacement ms) for boundaries `idx`."""
    utt, t, left, right = (x[idx] for x in flat)
    moved = t + displacements(len(idx), rng)
    k = torch.round(moved / (HOP * net.stride)).long() * net.stride  # the grid, as when aligning
    target = (t - k.double() * HOP) * 1000.0
    return (crops(data["mels"], utt, k, net.pad), left, right, target.float(),
            ((moved - t) * 1000.0).float())


def evaluate(net: BoundaryNet, data: dict, flat: tuple, n: int = 20000) -> dict:
    """Share within 20 ms and mean error of displaced dev boundaries, before and after."""
    rng = np.random.default_rng(1)
    idx = torch.from_numpy(rng.choice(len(flat[0]), min(n, len(flat[0])), replace=False))
    after, before = [], []
    net.eval()
    with torch.no_grad():
        for s in range(0, len(idx), 2000):
            x, left, right, target, moved = batch(data, flat, idx[s:s + 2000], rng, net)
            after.append((net.crop_moves_ms(x, left, right) - target).abs())
            before.append(moved.abs())
    net.train()
    a, b = torch.cat(after), torch.cat(before)
    return {"within_20ms": round(float((a <= 20).float().mean()), 4),
            "before": round(float((b <= 20).float().mean()), 4),
            "mean_ms": round(float(a.mean()), 2), "before_mean_ms": round(float(b.mean()), 2)}


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    config = {"channels": args.channels, "stride": args.stride, "hidden": args.hidden,
              "embed": args.embed}
    settings = {"steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
                "train": [str(t) for t in args.train], "dev": str(args.dev)}
    torch.manual_seed(args.seed)
    net = BoundaryNet(**config)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps,
                                                pct_start=0.05)
    rng = np.random.default_rng(args.seed)
    step = 0
    if args.out.is_file():  # continue a run cut short
        saved = torch.load(args.out, weights_only=False)
        if saved["config"] != config or saved.get("settings") != settings:
            raise SystemExit(f"{args.out}: a run with other settings; remove it to start anew")
        net.load_state_dict(saved["state"])
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        step = saved["step"]
        print(f"continuing {args.out} from step {step}", flush=True)
    train_data, dev_data = load_boundaries(args.train), torch.load(args.dev)
    flat_train, flat_dev = flat_boundaries(train_data), flat_boundaries(dev_data)
    print(f"{len(flat_train[0])} training boundaries, {len(flat_dev[0])} dev; "
          f"{sum(p.numel() for p in net.parameters()):,} parameters", flush=True)
    t0, running = time.time(), None
    while step < args.steps:
        idx = torch.from_numpy(rng.integers(0, len(flat_train[0]), args.batch))
        x, left, right, target, _ = batch(train_data, flat_train, idx, rng, net)
        loss = torch.nn.functional.smooth_l1_loss(net.crop_moves_ms(x, left, right), target,
                                                  beta=2.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 250 == 0:
            print(f"step {step}/{args.steps} loss {running:.2f} {time.time() - t0:.0f} s",
                  flush=True)
        if step % CHECK_EVERY == 0 or step == args.steps:
            print(f"dev {evaluate(net, dev_data, flat_dev)}", flush=True)
            tmp = args.out.with_suffix(".tmp")
            torch.save({"config": config, "state": net.state_dict(), "steps": args.steps,
                        "settings": settings, "step": step, "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state()}, tmp)
            tmp.replace(args.out)


def attach(net_path: Path, model_dir: Path) -> None:
    """Put a trained boundary network into a model directory: its sizes into config.json
    (`boundary_net`), its weights into model.safetensors under `boundary_net.`, replacing
    any it had. The directory then loads as one model (`load_model` checks every part)."""
    from dataclasses import replace

    from safetensors.torch import load_file

    from aligner.model import WEIGHTS_FILE, AcousticModel, read_config, save_model

    saved = torch.load(net_path, weights_only=False)
    if "step" not in saved or saved.get("step") != saved.get("steps"):
        raise SystemExit(f"{net_path}: training stopped at step {saved.get('step')} of "
                         f"{saved.get('steps')}: run `train` again to finish it")
    model = AcousticModel(replace(read_config(model_dir), boundary_net=dict(saved["config"])))
    weights = {k: v for k, v in load_file(str(model_dir / WEIGHTS_FILE)).items()
               if not k.startswith("boundary_net.")}
    weights.update({f"boundary_net.{k}": v for k, v in saved["state"].items()})
    model.load_state_dict(weights)  # checks every weight fits the sizes
    save_model(model, model_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="cache fine log-mels and gold boundaries of a split")
    ex.add_argument("--corpus", type=Path, required=True)
    ex.add_argument("--out", type=Path, required=True)
    tr = sub.add_parser("train", help="train (or continue training) the boundary network")
    tr.add_argument("--train", type=Path, nargs="+", required=True,
                    help="one or more `extract` caches, trained on as one set")
    tr.add_argument("--dev", type=Path, required=True)
    tr.add_argument("--out", type=Path, required=True)
    tr.add_argument("--steps", type=int, default=8000)
    tr.add_argument("--batch", type=int, default=256)
    tr.add_argument("--lr", type=float, default=2e-3)
    tr.add_argument("--channels", type=int, default=16)
    tr.add_argument("--stride", type=int, default=2)
    tr.add_argument("--hidden", type=int, default=128)
    tr.add_argument("--embed", type=int, default=16)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=2)
    at = sub.add_parser("attach", help="put a trained network into a model directory")
    at.add_argument("--net", type=Path, required=True)
    at.add_argument("--model", type=Path, required=True)
    args = ap.parse_args()
    if args.command == "extract":
        torch.set_num_threads(1)
        extract(args.corpus, args.out)
    elif args.command == "train":
        train(args)
    else:
        attach(args.net, args.model)


if __name__ == "__main__":
    main()
