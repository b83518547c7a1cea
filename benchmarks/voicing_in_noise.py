"""Does `no_speech` stay quiet on speech in noise and fire on noise alone?

    python benchmarks/voicing_in_noise.py --data ../shared/data [--recordings 150] [--noisy 60]

For speechocean762's held-out learner recordings (evenly thinned to --recordings), the same
recordings with white or pink noise added at signal-to-noise ratios of 5, 0 and -5 dB (--noisy
of them),
and 30 three-second samples of noise alone (white, pink, brown, mains hum, white noise recorded
at 8 kHz): the share under `Thresholds.min_voiced_share`, what `no_speech` flags, judged by
`features.voiced_frames` alone and with the second look `align_waveform` takes under the
threshold (`features.voiced_share_in_noise`). Signal checks only: no model is run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.audio import load_audio  # noqa: E402
from aligner.checks import Thresholds  # noqa: E402
from aligner.features import voiced_frames, voiced_share, voiced_share_in_noise  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, write_results  # noqa: E402
from benchmarks.real_speech import speechocean_test  # noqa: E402

NOISES = ("white", "pink", "brown", "hum", "hum, 60 Hz", "hum, quiet floor", "white at 8 kHz")
SNRS = (5, 0, -5)


def noise(kind: str, n: int, seed: int) -> np.ndarray:
    """Unit-power noise of `kind`, n samples at 16 kHz (brown: 1/f^2 with the slow drift removed;
    hum: 50 and 150 Hz with a little white noise (26 dB down); hum, 60 Hz: 60 and 180 Hz, the
    same; hum, quiet floor: 50 and 150 Hz with the noise 46 dB down, as a quiet recorder picks
    mains up; white at 8 kHz: interpolated, as a phone line's audio is upsampled)."""
    g = np.random.default_rng(seed)
    x = g.standard_normal(n)
    if kind == "pink":
        spectrum = np.fft.rfft(x)
        x = np.fft.irfft(spectrum / np.sqrt(np.arange(len(spectrum)) + 1), n)
    elif kind == "brown":
        x = np.cumsum(x)
        x -= np.convolve(x, np.ones(1601) / 1601, "same")
    elif kind.startswith("hum"):
        t = np.arange(n) / 16000
        mains = 60 if kind == "hum, 60 Hz" else 50
        floor = 0.005 if kind == "hum, quiet floor" else 0.05
        x = np.sin(2 * np.pi * mains * t) + 0.3 * np.sin(2 * np.pi * 3 * mains * t) + floor * x
    elif kind == "white at 8 kHz":
        x = np.interp(np.arange(n) / 2, np.arange(n // 2 + 1), g.standard_normal(n // 2 + 1))
    return x / np.sqrt(np.mean(x ** 2))


def shares(wave: np.ndarray, threshold: float) -> tuple[float, float]:
    """(voiced share by `voiced_frames`, with the second look under the threshold)."""
    first = voiced_share(voiced_frames(wave))
    return first, max(first, voiced_share_in_noise(wave)) if first < threshold else first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder (holds real/)")
    ap.add_argument("--recordings", type=int, default=150)
    ap.add_argument("--noisy", type=int, default=60)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    threshold = Thresholds().min_voiced_share
    items = speechocean_test(args.data / "real" / "speechocean762", args.recordings)
    if not items:
        print("error: no speechocean762 test recordings under --data", file=sys.stderr)
        return 2
    waves = [load_audio(it.audio) for it in items]
    cases: list[tuple[str, list[np.ndarray]]] = [("learners, as recorded", waves)]
    for kind in ("white", "pink"):
        for snr in SNRS:
            noisy = [(w + noise(kind, len(w), i) * np.sqrt(np.mean(w ** 2)) * 10 ** (-snr / 20))
                     for i, w in enumerate(waves[:args.noisy])]
            cases.append((f"learners in {kind} noise, signal-to-noise ratio {snr} dB",
                          [(0.5 * x / np.abs(x).max()).astype(np.float32) for x in noisy]))
    for kind in NOISES:
        cases.append((f"{kind} noise alone", [(0.1 * noise(kind, 48000, 100 + k)).astype(np.float32)
                                             for k in range(30)]))
    rows, data = [], []
    for label, recordings in cases:
        judged = [shares(w, threshold) for w in recordings]
        before = sum(a < threshold for a, _ in judged)
        after = sum(b < threshold for _, b in judged)
        rows.append([label, len(recordings), f"{before} ({100 * before / len(recordings):.0f}%)",
                     f"{after} ({100 * after / len(recordings):.0f}%)"])
        data.append({"case": label, "recordings": len(recordings), "flagged_voicing_alone": before,
                     "flagged_with_second_look": after})
        print(rows[-1], flush=True)
    body = (markdown_table(["recordings", "n", "no_speech by voiced_frames alone",
                            "no_speech with the second look (shipped)"], rows)
            + f"\n\n- Threshold: `min_voiced_share` = {threshold}\n" + machine_lines(machine()))
    write_results("voicing_in_noise", "no_speech on speech in noise and on noise alone", body,
                  {"threshold": threshold, "cases": data, "machine": machine()},
                  docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
