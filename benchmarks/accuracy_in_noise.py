"""How far do boundaries degrade in background noise, and does `noisy_audio` say so?

    python benchmarks/accuracy_in_noise.py --data ../shared/data --synth $DATA/synth \
        [--utterances 100] [--learners 2500] [--no-pocketsphinx]

White and pink noise are added at signal-to-noise ratios of 20, 15, 10, 5 and 0 dB (noise
power against the speech's over its voiced frames) to the hand-labelled real recordings of
gold-dev and to --utterances recordings of the synthetic test split (voices never trained on,
exact gold times), and at 10 and 5 dB also with 1 s of quiet (-70 dBFS) before and after, as an
editor's lead-in would add. For each: phone boundaries within 20 ms of the gold, the mean error, the
`noise_margin` the aligner measures (how far the pauses lie below the speech) and the share
flagged `noisy_audio`; a noisy copy that passes full scale is scaled down to peak at 0.99, as
it would have been recorded. pocketsphinx 5 aligns the same noisy recordings, side by side (its
boundaries within 20 ms and mean error over the recordings it aligned; how many it failed on).
speechocean762's held-out learner recordings, as recorded (evenly thinned to --learners), give
the share of correct everyday recordings flagged. Viterbi, the shipped model, one thread.
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
from aligner.alignment import Interval  # noqa: E402
from aligner.checks import NOISY_MARGIN_DB, flag_kind, noise_margin  # noqa: E402
from aligner.dev_metrics import find_dev_utterances  # noqa: E402
from aligner.evaluate import score_tier, summarise_tier  # noqa: E402
from aligner.features import frame_levels, voiced_frames  # noqa: E402
from aligner.formats import read_alignment  # noqa: E402
from aligner.phone_folding import load_folding  # noqa: E402
from aligner.text.frontend import read_transcript  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, write_results  # noqa: E402
from benchmarks.real_speech import GOLD_SETS, gold_items, speechocean_test  # noqa: E402
from benchmarks.voicing_in_noise import noise  # noqa: E402

SNRS = (20, 15, 10, 5, 0)
KINDS = ("white", "pink")
PADDING_DBFS = -70.0  # the quiet added around a noisy recording in the padded rows


def with_noise(wave: np.ndarray, kind: str, snr: float, seed: int) -> np.ndarray:
    """`wave` with `kind` noise at `snr` dB below the power of its voiced frames."""
    return added_at_snr(wave, noise(kind, len(wave), seed), snr)


def added_at_snr(wave: np.ndarray, unit_noise: np.ndarray, snr: float) -> np.ndarray:
    """`wave` with `unit_noise` (unit power, as long as `wave`) scaled to `snr` dB below the
    power of the recording's voiced frames (a pause-rich recording would otherwise get less
    noise than one of continuous speech)."""
    voiced = voiced_frames(wave).numpy()
    n = min(len(wave) // 160, len(voiced))
    frames = wave[: n * 160].reshape(n, 160)
    speech = frames[voiced[:n]] if voiced[:n].any() else frames
    power = float(np.mean(np.square(speech, dtype=np.float64)))
    return (wave + unit_noise * np.sqrt(power / 10 ** (snr / 10))).astype(np.float32)


def padded(wave: np.ndarray, seed: int) -> np.ndarray:
    """`wave` with 1 s of white noise at PADDING_DBFS before and after it (an editor's quiet
    lead-in around a noisy recording: it must not hide the noise)."""
    g = np.random.default_rng(seed)
    quiet = lambda: (g.standard_normal(16000) * 10 ** (PADDING_DBFS / 20)).astype(np.float32)  # noqa: E731
    return np.concatenate([quiet(), wave, quiet()])


def judged(aligner: Aligner, wave: np.ndarray, text_or_path, gold_phones, gold_fold, hyp_fold):
    """(phone TierScore or None, noise margin or None, flagged noisy_audio) of one recording."""
    segments = aligner.read_segments(text_or_path)
    (hyp,) = aligner.align_waveform(wave, segments, "viterbi", "<noisy>")
    margin = noise_margin(hyp.words, frame_levels(wave).numpy(), voiced_frames(wave).numpy(),
                          aligner.frame_duration)
    score = (None if gold_phones is None else
             score_tier(gold_fold.fold_phones(gold_phones), hyp_fold.fold_phones(hyp.phones)))
    return score, margin, any(flag_kind(f) == "noisy_audio" for f in hyp.flags)


def within_full_scale(wave: np.ndarray) -> np.ndarray:
    """`wave` scaled down to peak at 0.99 when speech and noise added together pass full scale:
    a recording made that noisy would have been made at a lower gain, and pocketsphinx, given
    16-bit samples, would otherwise hear it clipped."""
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    return wave if peak <= 0.99 else (wave * (0.99 / peak)).astype(np.float32)


def peer_judged(peer, wave: np.ndarray, text: str, gold_phones, gold_fold, hyp_fold):
    """pocketsphinx's phone TierScore on one recording, or None when it fails on it."""
    from benchmarks.pocketsphinx_align import PocketsphinxError

    try:
        hyp = peer.align(wave, text)
    except (PocketsphinxError, ValueError):  # its failure on one recording is a result
        return None
    return score_tier(gold_fold.fold_phones(gold_phones), hyp_fold.fold_phones(hyp.phones))


def boundary_cells(scores: list) -> tuple[list[str], float | None, float | None]:
    """(the within 20 ms and mean error cells, the share, the mean ms) of phone TierScores
    ("-" and None for none): one system's columns of a row."""
    summary = summarise_tier(scores) if scores else None
    within = summary.within.get(20) if summary else None
    mean = None if summary is None else summary.mean_ms
    return (["-" if within is None else f"{100 * within:.1f}%",
             "-" if mean is None else f"{mean:.1f} ms"], within, mean)


def peer_cells(scores: list) -> tuple[list[object], dict]:
    """The pocketsphinx columns of a row (within 20 ms, mean error, failed) and their data."""
    done = [s for s in scores if s is not None]
    cells, within, mean = boundary_cells(done)
    return [*cells, len(scores) - len(done)], {
        "pocketsphinx_within_20ms": within, "pocketsphinx_mean_ms": mean,
        "pocketsphinx_failed": len(scores) - len(done)}


def _shifted(phones, seconds: float):
    """Gold phones moved later by `seconds` (the padding's length)."""
    return [Interval(p.start + seconds, p.end + seconds, p.label, p.confidence) for p in phones]


def case_row(label: str, results: list) -> tuple[list[object], dict]:
    scores = [s for s, _, _ in results if s is not None]
    margins = [m for _, m, _ in results if m is not None]
    flagged = sum(f for _, _, f in results)
    cells, within, mean = boundary_cells(scores)
    row = [label, len(results), *cells,
           f"{np.median(margins):.1f} dB" if margins else "-",
           f"{min(margins):.1f} dB" if margins else "-",
           f"{flagged} of {len(margins)} judged"]
    data = {"case": label, "recordings": len(results), "within_20ms": within, "mean_ms": mean,
            "median_margin_db": float(np.median(margins)) if margins else None,
            "least_margin_db": min(margins) if margins else None,
            "judged": len(margins), "flagged": flagged}
    print(row, flush=True)
    return row, data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder (real/, gold-dev/)")
    ap.add_argument("--synth", type=Path, required=True, help="the synthetic corpus (its test/)")
    ap.add_argument("--utterances", type=int, default=100)
    ap.add_argument("--learners", type=int, default=2500)
    ap.add_argument("--no-pocketsphinx", action="store_true", help="ottc-align only")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    aligner = Aligner.load(None, device="cpu")
    cmu = load_folding("cmu39")
    gold = [(it, load_folding(fold)) for folder, fold in GOLD_SETS.items()
            for it in gold_items(args.data / "gold-dev" / folder)]
    synth = find_dev_utterances([str(args.synth / "test")], args.utterances)
    learners = speechocean_test(args.data / "real" / "speechocean762", args.learners)
    if not gold or not synth or not learners:
        print("error: gold-dev, the synthetic test split or speechocean762 not found",
              file=sys.stderr)
        return 2
    gold_waves = [aligner.load_waveform(it.audio)[0] for it, _ in gold]
    synth_waves = [aligner.load_waveform(audio)[0] for _, audio, _, _ in synth]
    synth_gold = [read_alignment(g).phones for _, _, _, g in synth]
    synth_text = [read_transcript(tr) for _, _, tr, _ in synth]
    peer = None
    if not args.no_pocketsphinx:
        from benchmarks.pocketsphinx_align import PocketsphinxAligner

        peer = PocketsphinxAligner()
    # (name, the recording as heard, how far the padding moves the gold); noise seeded by
    # recording, so every case hears the same noise on the same recording
    cases = [("as recorded", lambda w, i: w, 0.0)]
    cases += [(f"{kind} noise, {snr} dB SNR",
               lambda w, i, kind=kind, snr=snr: with_noise(w, kind, snr, i), 0.0)
              for kind in KINDS for snr in SNRS]
    cases += [(f"white noise, {snr} dB SNR, 1 s of {PADDING_DBFS:g} dBFS before and after",
               lambda w, i, snr=snr: padded(with_noise(w, "white", snr, i), i), 1.0)
              for snr in (10, 5)]
    # (label, [(recording, transcript, its text, gold phones, gold's folding)])
    sets = [("gold-dev (real, hand-labelled)",
             [(w, it.text, it.text, it.gold_phones, fold)
              for w, (it, fold) in zip(gold_waves, gold)]),
            ("synthetic unseen voices",
             [(w, tr, text, g, cmu) for w, (_, _, tr, _), text, g
              in zip(synth_waves, synth, synth_text, synth_gold)])]
    rows, data = [], []
    for name, heard, shift in cases:
        for label, recordings in sets:
            heard_here = [(within_full_scale(heard(w, i)), tr, text, _shifted(g, shift), fold)
                          for i, (w, tr, text, g, fold) in enumerate(recordings)]
            row, d = case_row(f"{label}, {name}", [judged(aligner, w, tr, g, fold, cmu)
                                                   for w, tr, _, g, fold in heard_here])
            if peer is not None:
                cells, peer_data = peer_cells([peer_judged(peer, w, text, g, fold, cmu)
                                               for w, _, text, g, fold in heard_here])
                row, d = row[:4] + cells + row[4:], {**d, **peer_data}
                print(cells, flush=True)
            rows.append(row)
            data.append(d)
    results = []
    for it in learners:
        try:
            results.append(judged(aligner, aligner.load_waveform(it.audio)[0], it.text, None, cmu, cmu))
        except ValueError as err:
            print(f"{it.key}: {err}", file=sys.stderr)
    row, d = case_row("speechocean762 held-out learners (correct transcripts), as recorded", results)
    rows.append(row[:4] + ["-", "-", "-"] * (peer is not None) + row[4:])
    data.append(d)
    m = machine()
    peer_header = ["pocketsphinx within 20 ms", "pocketsphinx mean error", "pocketsphinx failed"]
    body = (markdown_table(["recordings", "n", "phone boundaries within 20 ms", "mean error",
                            *(peer_header if peer is not None else []),
                            "median noise margin", "least", "flagged noisy_audio"], rows)
            + f"\n\n- `noisy_audio` below a margin of {NOISY_MARGIN_DB:g} dB "
            "(`checks.NOISY_MARGIN_DB`); a recording is not judged with under 0.3 s of pauses "
            "50-300 ms from its words\n"
            + machine_lines(m))
    write_results("accuracy_in_noise", "boundaries in background noise, and noisy_audio", body,
                  {"margin_db": NOISY_MARGIN_DB, "cases": data, "machine": m},
                  docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
