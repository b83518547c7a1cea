"""Measure each voice's gold timing against acoustic landmarks inside its utterances.

    python -m recipes.synth.landmarks $DATA/synth [--split train] [--n 60] [--json PATH]

prints, per voice, the median of (landmark - gold) in ms and the correction that would bring
the voice to the espeak-ng native voices' median, with the `bias` that `voices.py` holds and
the one it would hold after the correction.

Why landmarks and not `bias.py`'s utterance onsets: an onset after silence is one boundary per
utterance, and the energy detector's reading of it depends on how a voice fades in. The
boundaries between a vowel and a voiceless fricative or stop closure (and back) are abrupt in
every voice: the spectrum changes at once, so the peak of `aligner.features.spectral_change`
near the gold boundary marks where the sound really changes. espeak-ng's native voices report
their events at the samples they synthesise them, and their gold sits within 1-2 ms of the
landmark; Festival's mbrola voices sat 9-12 ms early, which the onset measurement had missed.
Only utterances with no augmentation but a gain are read (a speed change scales the offset,
reverberation and noise blur the peak). Model-free: no aligner is involved.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from aligner.evaluate import manner
from aligner.features import CHANGE_FEATURES, spectral_change
from aligner.formats import read_alignment
from aligner.phone_folding import load_folding

from .voices import BY_SPEAKER

VOICELESS_FRICATIVES = {"S", "SH", "F", "TH"}
VOICELESS_STOPS = {"P", "T", "K"}
REACH = 0.025  # s either side of the gold boundary searched for the landmark
STEP = CHANGE_FEATURES.hop_length / CHANGE_FEATURES.sample_rate  # 2.5 ms


def is_landmark(before: str, after: str) -> bool:
    """Whether the boundary between phones `before` and `after` (ARPAbet, folded) is abrupt in
    the spectrum: a vowel into a voiceless fricative or stop closure, or a voiceless fricative
    into a vowel."""
    if manner(before) == "vowel":
        return after in VOICELESS_FRICATIVES or after in VOICELESS_STOPS
    return before in VOICELESS_FRICATIVES and manner(after) == "vowel"


def landmark_offsets(change: np.ndarray, phones: list[tuple[str, float, float]]) -> list[float]:
    """(landmark - gold) in seconds for every landmark boundary of one utterance: the time of the
    highest spectral change (`change`, one value per STEP from 0) within REACH of the gold
    boundary. phones: (label, start, end) in time order, silence included; only boundaries
    where one phone ends exactly where the next starts are read."""
    out = []
    for (before, _, end), (after, start, _) in zip(phones, phones[1:]):
        if abs(end - start) > 1e-6 or not is_landmark(before, after):
            continue
        lo = max(0, int((start - REACH) / STEP))
        hi = min(len(change), int((start + REACH) / STEP) + 1)
        if hi > lo:
            out.append((lo + int(np.argmax(change[lo:hi])) + 0.5) * STEP - start)
    return out


def _utterance_offsets(item: tuple[str, str, str]) -> tuple[str, list[float]]:
    """(speaker, offsets) of one corpus utterance: (speaker, audio path, TextGrid path)."""
    speaker, audio, grid = item
    torch.set_num_threads(1)
    wave, _ = sf.read(audio, dtype="float32")
    change = spectral_change(torch.from_numpy(wave)).numpy()
    phones = load_folding("cmu39").fold_phones(list(read_alignment(grid).phones))
    return speaker, landmark_offsets(change, [(p.label, p.start, p.end) for p in phones])


def gain_only(augment: str) -> bool:
    """Whether a manifest `augment` value changed nothing but the level ('gain-5.8dB')."""
    return augment == "" or (augment.startswith("gain") and "+" not in augment[4:].lstrip("+"))


def measure(corpus: Path, split: str, n: int, workers: int = 2) -> dict[str, list[float]]:
    """Landmark offsets per speaker from up to `n` gain-only utterances of each in `split`."""
    chosen: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    with (corpus / "manifest.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["split"] != split or not gain_only(row["augment"]):
                continue
            if len(chosen[row["speaker"]]) < n:
                audio = corpus / row["audio"]
                chosen[row["speaker"]].append(
                    (row["speaker"], str(audio), str(audio.with_suffix(".TextGrid"))))
    offsets: dict[str, list[float]] = defaultdict(list)
    with Pool(workers) as pool:
        for speaker, found in pool.imap_unordered(
                _utterance_offsets, [u for us in chosen.values() for u in us], chunksize=8):
            offsets[speaker] += found
    return dict(offsets)


def reference(medians: dict[str, float]) -> float:
    """The median over espeak-ng's native voices (of the train split, which has 40 of them):
    their gold is exact, so this is the detector's own constant."""
    native = [m for s, m in medians.items() if s.startswith("esp-")]
    if not native:
        raise SystemExit("no espeak-ng native voice in this split: nothing to compare against")
    return statistics.median(native)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--n", type=int, default=60, help="utterances per voice")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    offsets = measure(a.corpus, a.split, a.n, a.workers)
    medians = {s: statistics.median(o) for s, o in offsets.items() if o}
    ref = reference(medians if a.split == "train" else {  # the train split's many native voices
        s: statistics.median(o) for s, o in measure(a.corpus, "train", a.n, a.workers).items()
        if o and s.startswith("esp-")})
    rows = []
    print(f"{'voice':30s} {'n':>5s} {'median':>7s} {'correction':>10s} {'bias now':>9s} "
          f"{'bias then':>9s}  (ms; landmark - gold; reference {1000 * ref:.1f})")
    for s in sorted(medians):
        correction = round(2000 * (medians[s] - ref)) / 2000  # to 0.5 ms
        now = BY_SPEAKER[s].bias if s in BY_SPEAKER else float("nan")
        rows.append({"voice": s, "n": len(offsets[s]), "median_ms": round(1000 * medians[s], 1),
                     "correction_ms": 1000 * correction, "bias_ms": round(1000 * now, 1)})
        print(f"{s:30s} {len(offsets[s]):5d} {1000 * medians[s]:7.1f} {1000 * correction:10.1f} "
              f"{1000 * now:9.1f} {1000 * (now + correction):9.1f}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"reference_ms": round(1000 * ref, 2), "voices": rows},
                                     indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
