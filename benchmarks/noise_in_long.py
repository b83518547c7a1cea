"""Does `noisy_audio` find noise over part of a long recording, and leave clean ones alone?

    python benchmarks/noise_in_long.py --data ../shared/data

Sessions are built from speechocean762's held-out learner recordings (never trained on), each
from consecutive recordings in name order (one or two speakers), joined as recorded. Sessions of
about 150 s get white noise from 60 to 90 s at 10 and at 5 dB below the power of the stretch's
voiced frames, and are aligned with their transcripts joined; the same sessions as recorded,
and 7-minute ones, give the clean side. A recording over 30 s is judged in half-overlapping
30 s windows (`checks.NOISE_WINDOW_FRAMES`); the table also gives the verdict over the whole
recording (`checks.noise_margin`), the single verdict used before. Viterbi, the shipped model,
one thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.align import Aligner  # noqa: E402
from aligner.checks import NOISY_MARGIN_DB, flag_kind, noise_margin  # noqa: E402
from aligner.features import frame_levels, voiced_frames  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, write_results  # noqa: E402
from benchmarks.accuracy_in_noise import with_noise  # noqa: E402
from benchmarks.real_speech import speechocean_test  # noqa: E402

NOISY_FROM, NOISY_TO = 60.0, 90.0  # s: the stretch that gets noise
SHORT_S, LONG_S = 150.0, 420.0  # session lengths
SHORT_STARTS = (0, 400, 1200)  # first recording of each noisy session, in name order
LONG_STARTS = tuple(range(0, 2500, 300))  # first recording of each 7-minute session


def session(aligner: Aligner, items, start: int, seconds: float) -> tuple[np.ndarray, str]:
    """Recordings from `start` on, joined, until `seconds` of audio: (samples, transcript)."""
    waves, texts, total = [], [], 0.0
    for it in items[start:]:
        wave = aligner.load_waveform(it.audio)[0]
        waves.append(wave)
        texts.append(it.text)
        total += len(wave) / aligner.sample_rate
        if total >= seconds:
            break
    return np.concatenate(waves), " ".join(texts)


def noisy_stretch(wave: np.ndarray, snr: float, seed: int, rate: int = 16000) -> np.ndarray:
    """`wave` with white noise over NOISY_FROM-NOISY_TO, `snr` dB below the stretch's voiced
    frames' power (`accuracy_in_noise.with_noise` on the stretch)."""
    lo, hi = int(NOISY_FROM * rate), int(NOISY_TO * rate)
    out = wave.copy()
    out[lo:hi] = with_noise(wave[lo:hi], "white", snr, seed)
    return out


def verdicts(aligner: Aligner, wave: np.ndarray, text: str) -> tuple[list[str], float | None]:
    """(the noisy_audio stretches flagged, as 'A-B s', the whole recording's margin)."""
    hyp = aligner.align(wave, sample_rate=aligner.sample_rate, text=text)
    stretches = [f"{f.start:.0f}-{f.end:.0f} s" for f in hyp.flags
                 if flag_kind(f) == "noisy_audio"]
    whole = noise_margin(hyp.words, frame_levels(wave).numpy(), voiced_frames(wave).numpy(),
                         aligner.frame_duration)
    return stretches, whole


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder (real/)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    aligner = Aligner.load(None, device="cpu")
    items = speechocean_test(args.data / "real" / "speechocean762", 0)
    if not items:
        print("error: speechocean762's test speakers not found", file=sys.stderr)
        return 2
    rows, data = [], []
    cases = [(start, SHORT_S, snr) for start in SHORT_STARTS for snr in (None, 10, 5)]
    cases += [(start, LONG_S, None) for start in LONG_STARTS]
    for start, seconds, snr in cases:
        wave, text = session(aligner, items, start, seconds)
        if snr is not None:
            wave = noisy_stretch(wave, snr, seed=start)
        stretches, whole = verdicts(aligner, wave, text)
        noise_text = (f"white, {snr} dB SNR, {NOISY_FROM:g}-{NOISY_TO:g} s" if snr is not None
                      else "none")
        judged_whole = "-" if whole is None else (
            f"{whole:.1f} dB ({'flagged' if round(whole, 1) < NOISY_MARGIN_DB else 'not flagged'})")
        rows.append([f"from recording {start}", f"{len(wave) / 16000:.0f}", noise_text,
                     ", ".join(stretches) or "none", judged_whole])
        data.append({"start": start, "seconds": len(wave) / 16000, "snr": snr,
                     "flagged": stretches, "whole_margin_db": whole})
        print(" | ".join(map(str, rows[-1])), file=sys.stderr, flush=True)
    noisy = [d for d in data if d["snr"] is not None]
    clean = [d for d in data if d["snr"] is None]
    whole_flagged = sum(d["whole_margin_db"] is not None
                        and round(d["whole_margin_db"], 1) < NOISY_MARGIN_DB for d in noisy)
    table = markdown_table(["session", "seconds", "noise", "noisy_audio stretches flagged",
                            "whole recording's margin (the single verdict)"], rows)
    m = machine()
    body = (f"{table}\n\nSessions with noise flagged: {sum(bool(d['flagged']) for d in noisy)} "
            f"of {len(noisy)} (judged whole: {whole_flagged}); clean sessions flagged: "
            f"{sum(bool(d['flagged']) for d in clean)} of "
            f"{len(clean)}.\n\n" + machine_lines(m))
    print(table)
    write_results("noise_in_long", "noisy_audio on long recordings", body,
                  {"cases": data, "margin_db": NOISY_MARGIN_DB, "machine": m},
                  docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
