"""Does `transcript_mismatch` still catch a wrong transcript in background noise?

    python benchmarks/mismatch_in_noise.py --data ../shared/data [--pairs 300]

speechocean762's held-out learner recordings (evenly thinned to --pairs), each aligned with its
own transcript and with another recording's (no word in common, as benchmarks/real_speech.py
swaps them), as recorded and with noise added at 25, 20, 15 and 10 dB below the speech's voiced
frames: white, pink, mains hum (50 Hz) and babble (six recordings of other speakers of the same
set talking at once). For each: the share of correct transcripts flagged `transcript_mismatch`
and of wrong ones caught (refused ones count as caught), with the product's thresholds, which
rise in noise (`checks.noise_allowance`), and with the fixed threshold of quiet recordings
beside them (the same alignments judged without the allowance); the share flagged
`noisy_audio`. Steady noise flattens the model's posteriors, so that a wrong transcript fits
better while a correct one fits about as well: with a fixed threshold, wrong transcripts pass
in noise that `noisy_audio` (below 15 dB) does not yet call noisy. The allowance's two values
were chosen (by speaker halves) on these same recordings, so its figures here flatter it
somewhat. Viterbi, the shipped model, one thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.align import AlignmentError, Aligner  # noqa: E402
from aligner.checks import NOISE_ALLOWANCE_FLOOR_DB, Thresholds, flag_kind, judged_fit  # noqa: E402
from aligner.audio import AudioError  # noqa: E402
from aligner.text.errors import TranscriptError  # noqa: E402
from aligner.features import voiced_frames  # noqa: E402
from benchmarks.accuracy_in_noise import with_noise  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, write_results  # noqa: E402
from benchmarks.real_speech import Item, speechocean_test, swapped_pairs  # noqa: E402

SNRS = (25, 20, 15, 10)
KINDS = ("white", "pink", "hum", "babble")
TALKERS = 6  # in the babble


def speaker(item: Item) -> str:
    return item.key.split("/")[0]


def babble(wave: np.ndarray, others: list[np.ndarray], snr: float, seed: int) -> np.ndarray:
    """`wave` with TALKERS of `others` (looped to its length, each at unit power) talking at
    once, `snr` dB below the power of its voiced frames (as `accuracy_in_noise.with_noise`)."""
    rng = np.random.default_rng(seed)
    mix = np.zeros(len(wave), dtype=np.float64)
    for k in rng.choice(len(others), min(TALKERS, len(others)), replace=False):
        o = np.tile(others[k], int(np.ceil(len(wave) / len(others[k]))))[: len(wave)]
        mix += o / (np.sqrt(np.mean(np.square(o, dtype=np.float64))) + 1e-12)
    voiced = voiced_frames(wave).numpy()
    n = min(len(wave) // 160, len(voiced))
    frames = wave[: n * 160].reshape(n, 160)
    speech = frames[voiced[:n]] if voiced[:n].any() else frames
    power = float(np.mean(np.square(speech, dtype=np.float64)))
    mix *= np.sqrt(power / 10 ** (snr / 10) / np.mean(np.square(mix)))
    return (wave + mix).astype(np.float32)


def heard(aligner: Aligner, wave: np.ndarray, text: str) -> tuple[bool, bool, bool]:
    """(flagged transcript_mismatch, flagged with the fixed threshold, flagged noisy_audio) of
    `wave` aligned with `text`; a refusal counts as flagged."""
    try:
        (a,) = aligner.align_waveform(wave, aligner.read_segments(text=text), "viterbi")
    except (AlignmentError, AudioError, TranscriptError):  # a refusal is a catch; a bug is not
        return True, True, False
    kinds = {flag_kind(f) for f in a.flags}
    fixed = judged_fit(a, Thresholds(noise_allowance_per_db=0.0))
    return ("transcript_mismatch" in kinds,
            fixed is not None and fixed < aligner.thresholds.min_transcript_fit,
            "noisy_audio" in kinds)


def case(aligner: Aligner, pairs: list[tuple[Item, str]], waves: list[np.ndarray],
         noisy) -> dict:
    """Correct and wrong transcripts of every pair, heard through `noisy(wave, index, item)`."""
    right, wrong = [], []
    for i, ((item, other), wave) in enumerate(zip(pairs, waves)):
        w = noisy(wave, i, item)
        right.append(heard(aligner, w, item.text))
        wrong.append(heard(aligner, w, other))
    share = lambda rows, k: float(np.mean([r[k] for r in rows]))  # noqa: E731
    return {"pairs": len(pairs), "correct_flagged": share(right, 0),
            "correct_flagged_fixed": share(right, 1), "wrong_caught": share(wrong, 0),
            "wrong_caught_fixed": share(wrong, 1), "noisy_audio": share(right, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder (real/)")
    ap.add_argument("--pairs", type=int, default=300)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    aligner = Aligner.load(None, device="cpu")
    items = speechocean_test(args.data / "real" / "speechocean762", 2500)
    if not items:
        print("error: speechocean762 not found under --data", file=sys.stderr)
        return 2
    pairs = swapped_pairs(items, args.pairs)
    waves = [aligner.load_waveform(item.audio)[0] for item, _ in pairs]
    used = {item.key for item, _ in pairs}
    talkers = [(speaker(it), aligner.load_waveform(it.audio)[0])
               for it in items[3::12] if it.key not in used][:200]

    def others(item: Item) -> list[np.ndarray]:  # the babble never holds the speaker's own voice
        return [w for who, w in talkers if who != speaker(item)]

    cases = [("as recorded", None, lambda w, i, item: w)]
    for kind in KINDS:
        for snr in SNRS:
            noisy = ((lambda w, i, item, snr=snr: babble(w, others(item), snr, i))
                     if kind == "babble" else
                     (lambda w, i, item, kind=kind, snr=snr: with_noise(w, kind, snr, i)))
            cases.append((kind, snr, noisy))
    rows, data = [], []
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    for kind, snr, noisy in cases:
        d = {"noise": kind, "snr_db": snr, **case(aligner, pairs, waves, noisy)}
        data.append(d)
        rows.append([kind, "-" if snr is None else f"{snr} dB", d["pairs"],
                     pct(d["correct_flagged"]), pct(d["correct_flagged_fixed"]),
                     pct(d["wrong_caught"]), pct(d["wrong_caught_fixed"]), pct(d["noisy_audio"])])
        print(rows[-1], flush=True)
    th = aligner.thresholds
    m = machine()
    body = (markdown_table(["noise", "SNR", "pairs", "correct flagged", "... fixed threshold",
                            "wrong caught", "... fixed threshold",
                            "correct flagged noisy_audio"], rows)
            + f"\n\n- Threshold {th.min_transcript_fit:g} in quiet, raised by a factor of "
            f"e^{th.noise_allowance_per_db:g} per dB that the pauses lie less than "
            f"{th.noise_allowance_from_db:g} dB below the words, down to "
            f"{NOISE_ALLOWANCE_FLOOR_DB:g} dB (`Thresholds.noise_allowance_from_db`); \"fixed "
            "threshold\": the same alignments judged without that rise\n"
            + machine_lines(m))
    write_results("mismatch_in_noise", "transcript_mismatch in background noise", body,
                  {"cases": data, "machine": m}, docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
