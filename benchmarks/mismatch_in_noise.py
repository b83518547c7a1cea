"""Do `transcript_mismatch` and `low_confidence` still catch what is wrong in background noise?

    python benchmarks/mismatch_in_noise.py --data ../shared/data [--pairs 300]

speechocean762's held-out learner recordings (evenly thinned to --pairs), each aligned with its
own transcript and with another recording's (no word in common, as benchmarks/real_speech.py
swaps them), as recorded and with noise added at 25, 20, 15 and 10 dB below the speech's voiced
frames: white, pink, mains hum (50 Hz) and babble (six recordings of other speakers of the same
set talking at once). For each: the share of correct transcripts flagged `transcript_mismatch`
and of wrong ones caught (refused ones count as caught), and, on --pairs other recordings with
one word of their transcript replaced (as benchmarks/real_speech.py replaces it), the share of
replaced words flagged `low_confidence` beside that of the correct transcripts' words: with the
product's thresholds, which rise in noise (`checks.noise_allowance`,
`checks.word_confidence_floor`), and with the fixed ones of quiet recordings beside them (the
same alignments judged without the rise); the share flagged `noisy_audio`. Steady noise
flattens the model's posteriors, so that a wrong transcript (and a wrong word) fits better
while a correct one fits about as well: with fixed thresholds, wrong transcripts and words pass
in noise that `noisy_audio` (below 15 dB) does not yet call noisy. The rise's values were
chosen (the fit's by speaker halves) on these same recordings, so its figures here flatter it
somewhat. Viterbi, the shipped model, one thread.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.align import AlignmentError, Aligner  # noqa: E402
from aligner.alignment import Alignment  # noqa: E402
from aligner.checks import NOISE_ALLOWANCE_FLOOR_DB, Thresholds, flag_kind, judged_fit  # noqa: E402
from aligner.audio import AudioError  # noqa: E402
from aligner.text.errors import TranscriptError  # noqa: E402
from benchmarks.accuracy_in_noise import added_at_snr, with_noise  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, write_results  # noqa: E402
from benchmarks.real_speech import (Item, low_confidence_words, speechocean_test,  # noqa: E402
                                     substituted_pairs, swapped_pairs)

SNRS = (25, 20, 15, 10)
KINDS = ("white", "pink", "hum", "babble")
TALKERS = 6  # in the babble


def speaker(item: Item) -> str:
    return item.key.split("/")[0]


def babble(wave: np.ndarray, others: list[np.ndarray], snr: float, seed: int) -> np.ndarray:
    """`wave` with TALKERS of `others` (looped to its length, each at unit power) talking at
    once, `snr` dB below the power of its voiced frames (`accuracy_in_noise.added_at_snr`)."""
    rng = np.random.default_rng(seed)
    mix = np.zeros(len(wave), dtype=np.float64)
    for k in rng.choice(len(others), min(TALKERS, len(others)), replace=False):
        o = np.tile(others[k], int(np.ceil(len(wave) / len(others[k]))))[: len(wave)]
        mix += o / (np.sqrt(np.mean(np.square(o, dtype=np.float64))) + 1e-12)
    return added_at_snr(wave, mix / np.sqrt(np.mean(np.square(mix))), snr)


def aligned(aligner: Aligner, wave: np.ndarray, text: str) -> Alignment | None:
    """`wave` aligned with `text`; None when the aligner refuses it (a refusal is a catch; a
    bug is not, and raises)."""
    try:
        (a,) = aligner.align_waveform(wave, aligner.read_segments(text=text), "viterbi")
    except (AlignmentError, AudioError, TranscriptError):
        return None
    return a


def mismatch(a: Alignment | None, thresholds: Thresholds | None = None) -> bool:
    """Whether `a` is flagged `transcript_mismatch`: as aligned (its own flags), or as
    `find_flags` would judge its fit under other `thresholds`; a refusal (None) is a catch."""
    if a is None:
        return True
    if thresholds is None:
        return "transcript_mismatch" in {flag_kind(f) for f in a.flags}
    fit = judged_fit(a, thresholds)
    return fit is not None and fit < thresholds.min_transcript_fit


def low_words(a: Alignment | None, thresholds: Thresholds) -> list[bool]:
    """For each word of `a`, whether it is flagged `low_confidence` under `thresholds`."""
    return [] if a is None else low_confidence_words(a, thresholds)


def case(aligner: Aligner, pairs: list[tuple[Item, str]], waves: list[np.ndarray],
         subs: list[tuple[Item, str, int]], sub_waves: list[np.ndarray], noisy) -> dict:
    """Correct and wrong transcripts of every pair, and the transcripts with one word replaced,
    heard through `noisy(wave, index, item)`; each share with the product's thresholds and with
    the same alignments judged by the fixed ones of quiet recordings (`_fixed`)."""
    th = aligner.thresholds
    fixed = replace(th, noise_allowance_per_db=0.0)
    right, wrong, noisy_flagged = [], [], []
    for i, ((item, other), wave) in enumerate(zip(pairs, waves)):
        w = noisy(wave, i, item)
        right.append(aligned(aligner, w, item.text))
        wrong.append(aligned(aligner, w, other))
        noisy_flagged.append(right[-1] is not None
                             and "noisy_audio" in {flag_kind(f) for f in right[-1].flags})
    replaced = []
    for i, ((item, text, k), wave) in enumerate(zip(subs, sub_waves)):
        a = aligned(aligner, noisy(wave, i, item), text)
        words = [] if a is None else [w.label.upper() for w in a.words if w.label]
        if k < len(words) and words[k] == text.split()[k].upper():  # as real_speech.py judges
            replaced.append((low_words(a, th)[k], low_words(a, fixed)[k]))
    out = {"pairs": len(pairs), "noisy_audio": float(np.mean(noisy_flagged)),
           "replaced_words": len(replaced)}
    for suffix, t in (("", th), ("_fixed", fixed)):
        words = [f for a in right for f in low_words(a, t)]
        judge = None if t is th else t  # the product's column: the flags as aligned
        out.update({f"correct_flagged{suffix}": float(np.mean([mismatch(a, judge) for a in right])),
                    f"wrong_caught{suffix}": float(np.mean([mismatch(a, judge) for a in wrong])),
                    f"correct_words_flagged{suffix}": float(np.mean(words)) if words else 0.0,
                    f"replaced_word_flagged{suffix}":
                        float(np.mean([r[suffix == "_fixed"] for r in replaced]))
                        if replaced else 0.0})
    return out


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
    subs = substituted_pairs(items, args.pairs)
    sub_waves = [aligner.load_waveform(item.audio)[0] for item, _, _ in subs]
    used = {item.key for item, _ in pairs} | {item.key for item, _, _ in subs}
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
        d = {"noise": kind, "snr_db": snr,
             **case(aligner, pairs, waves, subs, sub_waves, noisy)}
        data.append(d)
        rows.append([kind, "-" if snr is None else f"{snr} dB", d["pairs"],
                     *(f"{pct(d[key])} ({pct(d[key + '_fixed'])})"
                       for key in ("correct_flagged", "wrong_caught", "correct_words_flagged",
                                   "replaced_word_flagged")),
                     pct(d["noisy_audio"])])
        print(rows[-1], flush=True)
    th = aligner.thresholds
    m = machine()
    body = (markdown_table(["noise", "SNR", "pairs", "correct transcripts flagged",
                            "wrong transcripts caught", "correct words `low_confidence`",
                            f"replaced word `low_confidence` (of {len(subs)})",
                            "correct flagged noisy_audio"], rows)
            + f"\n\n- `transcript_mismatch` below a fit of {th.min_transcript_fit:g} in quiet, "
            f"raised by a factor of e^{th.noise_allowance_per_db:g} per dB that the pauses lie "
            f"less than {th.noise_allowance_from_db:g} dB below the words after pre-emphasis, "
            f"down to {NOISE_ALLOWANCE_FLOOR_DB:g} dB (`checks.noise_allowance`); "
            f"`low_confidence` below {th.min_word_confidence:g}, raised by the square of that "
            "factor (`checks.word_confidence_floor`); in brackets, the same alignments judged "
            "by the fixed thresholds of quiet recordings\n"
            + machine_lines(m))
    write_results("mismatch_in_noise",
                  "transcript_mismatch and low_confidence in background noise", body,
                  {"cases": data, "machine": m}, docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
