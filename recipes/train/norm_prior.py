"""Give a model typical speech's statistics for recordings of too little variety (`NormPrior`).

    python recipes/train/norm_prior.py MODEL_DIR --data ../shared/data [--frames 100]
        [--variety 1.5 2.0] [--counted 60 120] [--every 5]

Speech's log-mel statistics are measured on speechocean762's training speakers (every
--every-th recording; learners, adults and children, whom the held-out test speakers are not)
with the model's own features and counted frames: per band, the mean log-mel less its mean over
the bands, and the variance within a recording. They are written into MODEL_DIR/config.json as
`norm_prior`, with --frames (what the prior counts as), --variety (the recording's mean
standard deviation over bands at and below which it counts fully, and from which not at all)
and --counted (the same for the number of frames the normalisation counts: a single word).
The network is not retrained: other speech is normalised as before.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aligner.audio import load_audio  # noqa: E402
from aligner.features import log_mel, model_input, model_wave  # noqa: E402
from aligner.model import CONFIG_FILE, read_config, recording_statistics, save_config  # noqa: E402


AUDIO = (".flac", ".wav", ".opus", ".ogg", ".mp3")


def has_training_recordings(data: Path) -> bool:
    """Whether `data` holds speechocean762's training-speaker list (real/speechocean762)."""
    return (data / "real" / "speechocean762" / "meta" / "train" / "utt2spk").is_file()


def training_recordings(root: Path, every: int) -> list[Path]:
    """speechocean762's training-speaker recordings (meta/train/utt2spk), every `every`-th."""
    found = []
    for line in (root / "meta" / "train" / "utt2spk").read_text().splitlines():
        if line.strip():
            utt, spk = line.split()
            folder = root / f"SPEAKER{spk}"
            found += [p for p in sorted(folder.glob(f"{utt}.*")) if p.suffix.lower() in AUDIO][:1]
    return sorted(found)[::every]


def speech_statistics(paths: list[Path], config) -> tuple[list[float], list[float]]:
    """(mean shape, within-recording variance) per band, averaged over the recordings, over the
    frames the model's normalisation counts (live, within norm_top_db of the loud ones)."""
    features = config.feature_config
    found = []
    for path in paths:
        feats, live = model_input(log_mel(torch.from_numpy(model_wave(load_audio(path))), features),
                                  features.log_floor)
        stats = recording_statistics(feats, live, config.norm_top_db, config.norm_level)
        if stats is not None:  # nothing counted (a silent file): no statistics to give
            found.append(stats)
    return (torch.stack([s for s, _ in found]).mean(0).tolist(),
            torch.stack([v for _, v in found]).mean(0).tolist())


def write_prior(model: Path, data: Path, frames: float = 100.0,
                variety: tuple[float, float] = (1.5, 2.0),
                counted: tuple[float, float] = (60.0, 120.0), every: int = 5) -> int:
    """Measure speech's statistics (`speech_statistics`) and set them as MODEL's `norm_prior`;
    returns how many recordings they come from."""
    config = read_config(model)
    found = has_training_recordings(data)
    paths = training_recordings(data / "real" / "speechocean762", every) if found else []
    if not paths:
        raise SystemExit(f"error: no speechocean762 training recordings under {data}/real")
    shape, var = speech_statistics(paths, config)
    prior = {"frames": frames, "variety": list(variety), "counted": list(counted),
             "shape": [round(v, 4) for v in shape], "var": [round(v, 4) for v in var]}
    save_config(replace(config, norm_prior=prior), model)
    return len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="the data folder (holds real/)")
    parser.add_argument("--frames", type=float, default=100.0)
    parser.add_argument("--variety", type=float, nargs=2, default=(1.5, 2.0))
    parser.add_argument("--counted", type=float, nargs=2, default=(60.0, 120.0))
    parser.add_argument("--every", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n = write_prior(args.model, args.data, args.frames, tuple(args.variety), tuple(args.counted),
                    args.every)
    print(f"{args.model / CONFIG_FILE}: norm_prior from {n} recordings, {args.frames:g} frames, "
          f"variety {args.variety[0]:g}-{args.variety[1]:g}, "
          f"counted {args.counted[0]:g}-{args.counted[1]:g}")


if __name__ == "__main__":
    main()
