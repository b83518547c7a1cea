"""Measure each voice's gold timing against acoustic landmarks inside its utterances.

    python -m recipes.synth.landmarks $DATA/synth [--split train] [--n 60] [--model DIR]
        [--json PATH]

prints, per voice, the median of (landmark - gold) in ms, its spread, and the correction that
would bring the voice to the espeak-ng native voices' median, with the `bias` that `voices.py`
holds and the one it would hold after the correction. `--model DIR` (or `shipped`) also reads
that model's boundaries against the same landmarks.

Why landmarks and not `bias.py`'s utterance onsets: an onset after silence is one boundary per
utterance, and the energy detector's reading of it depends on how a voice fades in. The
boundaries between a vowel and a voiceless fricative or stop closure (and back) are abrupt in
every voice: the spectrum changes at once, so the peak of `aligner.features.spectral_change`
near the gold boundary marks where the sound really changes. espeak-ng's native voices report
their events at the samples they synthesise them, and their gold sits within 1-2 ms of the
landmark; Festival's en1, us1 and us2 sat 9-11 ms early, which the onset measurement had missed.
Only utterances with no augmentation but a gain are read (a speed change scales the offset,
reverberation and noise blur the peak). No aligner is involved, but the spectral change is the
measure the aligner snaps its boundaries to (`aligner/boundaries.py`), so the model's agreement
with the landmarks is partly by construction. The search leans a little towards the gold: a gold
shifted by 10 ms reads as 9-10 ms on espeak-ng's voices, and as 8-10 ms on the others. On
espeak-ng's native voices, whose gold is exact, the detector itself ranges over about 3 ms, so a
correction of 3 ms or less is within its noise.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
from collections import defaultdict
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from aligner.evaluate import manner, pair_tokens
from aligner.features import CHANGE_FEATURES, spectral_change
from aligner.formats import read_alignment
from aligner.phone_folding import load_folding

from .voices import BY_SPEAKER

VOICELESS_FRICATIVES = {"S", "SH", "F", "TH"}
VOICELESS_STOPS = {"P", "T", "K"}
REACH = 0.025  # s either side of the gold boundary searched for the landmark
STEP = CHANGE_FEATURES.hop_length / CHANGE_FEATURES.sample_rate  # 2.5 ms
SPAN = round(REACH / STEP)  # values either side of the one nearest the boundary: the same
# number on both sides, so that a flat stretch does not lean the search one way
REFERENCE_N = 80  # utterances per native voice for the reference, whatever --n is
# A voice whose offsets spread wider than this (interquartile range, s) has no clear landmark
# near its gold: its median is no measurement of its bias (mbrola us3 read through espeak-ng:
# 24 ms, 28% of its offsets at the search's edges, and a shift of its gold by 11 ms moved the
# median by under 1 ms; espeak-ng's native voices 6-7 ms, the other voices 10-19 ms).
WIDE_SPREAD = 0.02
_GAIN_ONLY = re.compile(r"gain[+-][\d.]+dB")


def is_landmark(before: str, after: str) -> bool:
    """Whether the boundary between phones `before` and `after` (ARPAbet, folded) is abrupt in
    the spectrum: a vowel into a voiceless fricative or stop closure, or a voiceless fricative
    into a vowel."""
    if manner(before) == "vowel":
        return after in VOICELESS_FRICATIVES or after in VOICELESS_STOPS
    return before in VOICELESS_FRICATIVES and manner(after) == "vowel"


def landmark_peaks(change: np.ndarray, phones: list[tuple[str, float, float]]
                   ) -> list[tuple[int, float]]:
    """(index of the phone that starts there, landmark time in s) for every landmark boundary of
    one utterance: the time of the highest spectral change (`change`, one value per STEP from 0)
    within REACH of the gold boundary. phones: (label, start, end) in time order, silence
    included; only boundaries where one phone ends exactly where the next starts are read."""
    out = []
    for i, ((before, _, end), (after, start, _)) in enumerate(zip(phones, phones[1:]), 1):
        if abs(end - start) > 1e-6 or not is_landmark(before, after):
            continue
        centre = round(start / STEP - 0.5)  # the value whose time lies nearest the boundary
        lo, hi = max(0, centre - SPAN), min(len(change), centre + SPAN + 1)
        if hi > lo:
            out.append((i, (lo + int(np.argmax(change[lo:hi])) + 0.5) * STEP))
    return out


def gold_offsets(peaks: list[tuple[int, float]], phones: list[tuple[str, float, float]]
                 ) -> list[float]:
    """(landmark - gold) in seconds at each of `peaks` (`landmark_peaks` of `phones`)."""
    return [peak - phones[i][1] for i, peak in peaks]


def model_offsets(peaks: list[tuple[int, float]], gold: list, hyp: list) -> list[float]:
    """(landmark - the model's boundary) in seconds at the same landmarks: `peaks` of the `gold`
    phones (folded, silence included), the model's phones `hyp` paired with them by
    `aligner.evaluate.pair_tokens` (silence left out of both)."""
    speech = [i for i, p in enumerate(gold) if manner(p.label) != "pause"]
    said = [p for p in hyp if manner(p.label) != "pause"]
    pairs = dict(pair_tokens([gold[i] for i in speech], said))
    position = {i: k for k, i in enumerate(speech)}
    return [peak - said[pairs[position[i]]].start for i, peak in peaks
            if pairs.get(position[i]) is not None]


def _utterance_offsets(item: tuple[str, str, str, str | None]
                       ) -> tuple[str, list[float], list[float]]:
    """(speaker, landmark - gold offsets, landmark - model offsets) of one corpus utterance:
    (speaker, audio path, TextGrid path, model directory or None)."""
    speaker, audio, grid, model = item
    torch.set_num_threads(1)
    wave, _ = sf.read(audio, dtype="float32")
    change = spectral_change(torch.from_numpy(wave)).numpy()
    folding = load_folding("cmu39")
    gold = folding.fold_phones(list(read_alignment(grid).phones))
    phones = [(p.label, p.start, p.end) for p in gold]
    peaks = landmark_peaks(change, phones)
    found = gold_offsets(peaks, phones)
    if model is None:
        return speaker, found, []
    hyp = _aligner(model).align(audio, Path(audio).with_suffix(".lab"), method="viterbi")
    return speaker, found, model_offsets(peaks, gold, folding.fold_phones(list(hyp.phones)))


@lru_cache(maxsize=1)
def _aligner(model: str):
    """The model to compare, loaded once per worker ('shipped': models/english)."""
    from aligner.align import Aligner
    return Aligner.load(None if model == "shipped" else model, "cpu")


def gain_only(augment: str) -> bool:
    """Whether a manifest `augment` value changed nothing but the level ('gain-5.8dB')."""
    return augment in ("", "none") or _GAIN_ONLY.fullmatch(augment) is not None


def measure(corpus: Path, split: str, n: int, workers: int = 2, model: str | None = None
            ) -> dict[str, tuple[list[float], list[float]]]:
    """Per speaker, (landmark - gold, landmark - model) offsets from up to `n` gain-only
    utterances of each in `split`; the second list is empty without a model."""
    chosen: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)
    with (corpus / "manifest.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["split"] != split or not gain_only(row["augment"]):
                continue
            if len(chosen[row["speaker"]]) < n:
                audio = corpus / row["audio"]
                chosen[row["speaker"]].append(
                    (row["speaker"], str(audio), str(audio.with_suffix(".TextGrid")), model))
    offsets: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    with Pool(workers) as pool:
        for speaker, gold, hyp in pool.imap_unordered(
                _utterance_offsets, [u for us in chosen.values() for u in us], chunksize=8):
            offsets[speaker][0].extend(gold)
            offsets[speaker][1].extend(hyp)
    return dict(offsets)


def reference(medians: dict[str, float]) -> float:
    """The median over espeak-ng's native voices' medians (the train split has 47 of them):
    their gold is exact, so this is the detector's own constant."""
    native = [m for s, m in medians.items() if s.startswith("esp-")]
    if not native:
        raise SystemExit("no espeak-ng native voice was measured: nothing to compare against")
    return statistics.median(native)


def spread(offsets: list[float]) -> tuple[float, float]:
    """(interquartile range in s, share of offsets at the search's edges) of a voice's offsets:
    how clear its landmarks are (WIDE_SPREAD)."""
    q1, q3 = np.percentile(offsets, [25, 75])
    return float(q3 - q1), float(np.mean(np.abs(offsets) >= REACH - STEP))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--n", type=int, default=60, help="utterances per voice")
    ap.add_argument("--model", default=None,
                    help="also a model's boundaries against the same landmarks (a directory, or "
                         "'shipped' for models/english)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    offsets = measure(a.corpus, a.split, a.n, a.workers, a.model)
    if not offsets:
        raise SystemExit(f"{a.corpus}: no utterance of split '{a.split}' with only a gain change "
                         "(manifest.tsv)")
    medians = {s: statistics.median(o[0]) for s, o in offsets.items() if o[0]}
    train = offsets if a.split == "train" and a.n >= REFERENCE_N else measure(
        a.corpus, "train", REFERENCE_N, a.workers)  # the train split's many native voices
    ref = reference({s: statistics.median(o[0]) for s, o in train.items() if o[0]})
    rows = []
    print(f"{'voice':30s} {'n':>5s} {'median':>7s} {'IQR':>5s} {'edge':>5s} {'correction':>10s} "
          f"{'bias now':>9s} {'bias then':>9s}" + (f" {'model':>6s}" if a.model else "")
          + f"  (ms; landmark - gold, landmark - model; reference {1000 * ref:.1f})")
    for s in sorted(medians):
        correction = round(2000 * (medians[s] - ref)) / 2000  # to 0.5 ms
        now = BY_SPEAKER[s].bias if s in BY_SPEAKER else None
        hyp = statistics.median(offsets[s][1]) if offsets[s][1] else None
        iqr, edge = spread(offsets[s][0])
        rows.append({"voice": s, "n": len(offsets[s][0]), "median_ms": round(1000 * medians[s], 1),
                     "iqr_ms": round(1000 * iqr, 1), "edge_share": round(edge, 3),
                     "correction_ms": 1000 * correction, "wide": iqr > WIDE_SPREAD,
                     "bias_ms": None if now is None else round(1000 * now, 1),
                     "model_median_ms": None if hyp is None else round(1000 * hyp, 1)})
        shown = [f"{1000 * v:9.1f}" if v is not None else f"{'-':>9s}"
                 for v in (now, None if now is None else now + correction)]
        print(f"{s:30s} {len(offsets[s][0]):5d} {1000 * medians[s]:7.1f} {1000 * iqr:5.1f} "
              f"{edge:5.0%} {1000 * correction:10.1f} {shown[0]} {shown[1]}"
              + (f" {1000 * hyp:6.1f}" if hyp is not None else f" {'-':>6s}" if a.model else "")
              + ("  wide: no clear landmark" if iqr > WIDE_SPREAD else ""))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"reference_ms": round(1000 * ref, 2), "voices": rows},
                                     indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
