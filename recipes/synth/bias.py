"""Measure each voice's timing bias: where the audio says speech starts vs where the gold says.

`python -m recipes.synth.bias [--voices fest-,mb-] [--n 20]` prints a table (and writes
benchmarks/results/voice_bias.json when --json is given).

Why onsets after silence: after a leading pause the first phone's start is the one boundary an
energy detector finds without a model. Sentences are chosen to start with a vowel or a strong
consonant; the detector reports the first 5 ms frame whose energy rises above -35 dB of the
utterance's loud frames. The difference (energy onset - gold onset) is mostly the engine's own
bias plus a small detector constant that is the same for every voice; voices are compared with
each other, and the median over utterances is used. The end is measured likewise (last phone end
vs last loud frame). No augmentation is applied here.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

import numpy as np
import soxr

from .build import SR, prepare
from .gold import map_segments
from .voices import select

SENTENCES = [
    "Anna opened the old window at eight.", "Every apple in the basket was red.",
    "Oscar asked about the station.", "Seven ships sailed into the harbour.",
    "Ivan ate an orange on Monday.", "Susan sold the small car.", "Open the envelope slowly.",
    "Mary made a map of the island.", "Nobody knew the answer.", "Always lock the office door.",
    "Zoe saw a zebra in the zoo.", "Each evening, Ellen reads a novel.",
    "Fish swim in the river.", "Sam said it was simple.", "Olive oil is expensive.",
    "Many men were missing.", "Alan is on a long vacation.", "Summer is almost over.",
    "Ursula opened an umbrella.", "Simon sent seven letters.",
]


def energy_onset(audio: np.ndarray, sr: int, rel_db: float = -35.0) -> tuple[float, float]:
    """(first, last) time of 5 ms frames above rel_db below the 95th-percentile frame energy."""
    hop = sr // 200
    n = len(audio) // hop
    e = 10 * np.log10(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    ref = np.percentile(e, 95)
    on = np.nonzero(e > ref + rel_db)[0]
    if on.size == 0:
        return float("nan"), float("nan")
    return on[0] * hop / sr, (on[-1] + 1) * hop / sr


def measure(voice, n: int) -> dict:
    from .espeak_engine import EspeakRequest, synthesize_espeak
    from .festival_engine import FestivalRequest, synthesize_batch

    sents = SENTENCES[:n]
    preps = [prepare(s, random.Random(i), pause_prob=0.0) for i, s in enumerate(sents)]
    if voice.engine == "festival":
        reqs = [FestivalRequest(f"b{i}", p.tts_text, p.words) for i, p in enumerate(preps)]
        res = synthesize_batch(voice.name, reqs, Path("/tmp") / f"bias-{voice.speaker}")
    else:
        res = synthesize_espeak([EspeakRequest(f"b{i}", p.tts_text, p.words, voice.name,
                                                bias=voice.bias)
                                 for i, p in enumerate(preps)])
    on_d, off_d = [], []
    for r in res:
        if r.error or r.audio is None:
            continue
        audio = r.audio if r.sample_rate == SR else soxr.resample(r.audio, r.sample_rate, SR)
        audio = np.pad(audio, (SR // 5, SR // 5))  # 200 ms of silence each side
        segs = [s for s in map_segments(r.segments, voice.table) if s.phone]
        if not segs:
            continue
        on, off = energy_onset(audio, SR)
        on_d.append(on - (segs[0].start + 0.2 + voice.bias))
        off_d.append(off - (segs[-1].end + 0.2 + voice.bias))
    if not on_d:
        return {"voice": voice.speaker, "n": 0}
    return {"voice": voice.speaker, "n": len(on_d),
            "onset_ms_median": round(1000 * statistics.median(on_d), 1),
            "onset_ms_mean": round(1000 * statistics.fmean(on_d), 1),
            "offset_ms_median": round(1000 * statistics.median(off_d), 1),
            "applied_correction_ms": round(1000 * voice.bias, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Measure voices' timing bias against the audio.")
    ap.add_argument("--voices", default=None)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    rows = [measure(v, a.n) for v in select(a.voices)]
    print(f"{'voice':28s} {'n':>3s} {'onset med':>10s} {'onset mean':>10s} {'end med':>8s} {'corr':>6s}  (ms, energy - gold, after correction)")
    for r in rows:
        if r["n"]:
            print(f"{r['voice']:28s} {r['n']:3d} {r['onset_ms_median']:10.1f} {r['onset_ms_mean']:10.1f} "
                  f"{r['offset_ms_median']:8.1f} {r['applied_correction_ms']:6.1f}")
        else:
            print(f"{r['voice']:28s}   0  (no usable utterances)")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
