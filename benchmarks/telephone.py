"""Telephone speech: real recordings through a phone line's band and codecs, ottc-align and
pocketsphinx side by side.

    python benchmarks/telephone.py --data ../shared/data [--learners 2500] [--swapped 400]
        [--threads 1]

Telephone interviews, call recordings and phone surveys reach an aligner at 8 kHz, often coded
lossily. Each real recording of `benchmarks/real_speech.py` is resampled to 8 kHz, given a
phone line's band (300-3400 Hz, ITU-T G.712: `phone_band`, which also takes away a low
voice's fundamental) and clipped at full scale, and written as 16-bit PCM, as G.711 mu-law
(the telephone network's 8 bits a sample) and as GSM 06.10 (a mobile codec, 13 kbit/s; both by
libsndfile), then read back as a user's file would be. Per condition, beside the recordings as
they are (the same run):
- gold-dev (hand-labelled boundaries): phone boundaries within 20 ms and the mean error, both
  systems, pooled over its three sets, and emuR's alone;
- speechocean762's held-out learners: the share of correct transcripts flagged
  `transcript_mismatch`, of --swapped others' transcripts flagged (or refused), and failures
  (ottc-align's flags at the shipped thresholds, the fit's lowered in narrow-band audio by
  `Thresholds.narrow_band_factor`); and the threshold `real_speech.calibrate_fit` chooses on
  these copies' judged fits (the fit over its noise and band allowances; by speaker halves, to
  flag 1.75% of correct transcripts), with what it flags and catches: near the shipped
  `min_transcript_fit` where the factor suits the condition.

The copies are written under --work (made again only when missing); pocketsphinx's alignments
are cached under --cache by condition.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.audio import load_audio  # noqa: E402
from aligner.evaluate import summarise_tier  # noqa: E402
from aligner.phone_folding import load_folding  # noqa: E402
from benchmarks.common import (find_model, machine, machine_lines, markdown_table,  # noqa: E402
                               model_tag, scratch_option, set_threads, write_results)
from benchmarks.real_speech import (GOLD_SETS, Item, Ottc, Pocketsphinx,  # noqa: E402
                                    align_swapped, calibrate_fit, fit_of, flag_kinds, gold_items,
                                    run, score_gold, speechocean_test, swapped_pairs)

# name -> (sample rate, libsndfile subtype); None: the recording as it is
CONDITIONS = {"as recorded": None, "8 kHz PCM": (8000, "PCM_16"),
              "8 kHz G.711 mu-law": (8000, "ULAW"), "8 kHz GSM 06.10": (8000, "GSM610")}


PHONE_BAND = (300.0, 3400.0)  # Hz: what a telephone channel passes (ITU-T G.712)
BAND_EDGE = 100.0  # Hz: the width of each raised-cosine edge, outside the band


def phone_band(x: np.ndarray, rate: int) -> np.ndarray:
    """`x` [N] through a phone line's band: PHONE_BAND passed, BAND_EDGE-wide raised-cosine
    edges outside it, nothing beyond (a zero-phase filter by FFT: no delay to move the gold)."""
    f = np.fft.rfftfreq(len(x), 1 / rate)
    lo, hi = PHONE_BAND
    rise = np.clip((f - (lo - BAND_EDGE)) / BAND_EDGE, 0, 1)
    fall = np.clip(((hi + BAND_EDGE) - f) / BAND_EDGE, 0, 1)
    gain = (0.5 - 0.5 * np.cos(np.pi * rise)) * (0.5 - 0.5 * np.cos(np.pi * fall))
    return np.fft.irfft(np.fft.rfft(x) * gain, len(x)).astype(np.float32)


def copy_folder(condition: str) -> str:
    """The folder name of a condition's copies, and of pocketsphinx's cached alignments of
    them: a new way of making the copies needs a new name."""
    how = CONDITIONS[condition]
    return "as-recorded" if how is None else f"{how[0]}-{how[1]}-band"


def telephone_copy(item: Item, condition: str, work: Path) -> Item:
    """`item` with its audio resampled, band-limited, clipped and coded as `condition` says (a
    WAV under `work`)."""
    how = CONDITIONS[condition]
    if how is None:
        return item
    rate, subtype = how
    out = work / copy_folder(condition) / (item.key.replace("/", "__") + ".wav")
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".part.wav")
        line = np.clip(phone_band(load_audio(item.audio, sample_rate=rate), rate), -1.0, 1.0)
        sf.write(str(tmp), line, rate, subtype=subtype)  # mu-law wraps what is beyond 1
        tmp.replace(out)  # a killed run leaves no half-written copy under the final name
    return replace(item, audio=out)


def gold_scores(systems, condition: str, work: Path, data: Path) -> dict[str, dict]:
    """Per system: gold-dev pooled and emuR's phone-boundary summaries under `condition`."""
    cmu = load_folding("cmu39")
    out: dict[str, dict] = {s.name: {"pooled": [], "emuR_ae": [], "failed": 0} for s in systems}
    for folder, fold_name in GOLD_SETS.items():
        items = [telephone_copy(it, condition, work)
                 for it in gold_items(data / "gold-dev" / folder)]
        fold = load_folding(fold_name)
        for system in systems:
            hyps, failed, _ = run(system, items)
            for key, reason in failed.items():
                print(f"{system.name}: {condition}: {key}: {reason}", file=sys.stderr)
            phones, _ = score_gold(items, hyps, fold, cmu)
            out[system.name]["pooled"] += phones
            out[system.name]["failed"] += len(failed)
            if folder == "emuR_ae":
                out[system.name]["emuR_ae"] += phones
    return {name: {"pooled": summarise_tier(d["pooled"]).__dict__,
                   "emuR_ae": summarise_tier(d["emuR_ae"]).__dict__, "failed": d["failed"]}
            for name, d in out.items()}


def learner_flags(ottc: Ottc, items: list[Item], swapped: int) -> dict:
    """ottc-align on the learners under one condition: failures, correct transcripts flagged
    `transcript_mismatch`, swapped transcripts flagged or refused, and the threshold calibrated
    on them (`calibrate_fit`)."""
    thresholds = ottc.aligner.thresholds
    done, failed, _ = run(ottc, items)
    pairs = swapped_pairs(items, swapped)
    caught, refused, wrong, _ = align_swapped(ottc, pairs)  # a refusal is a catch too
    flagged = [("transcript_mismatch" in flag_kinds(a)) for a in done.values()]
    right = [fit_of(key, a, thresholds) for key, a in done.items()]
    return {"recordings": len(items), "failed": len(failed),
            "correct_flagged": float(np.mean(flagged)) if flagged else float("nan"),
            "swapped": len(pairs),
            "swapped_caught": (caught + refused) / len(pairs) if pairs else float("nan"),
            "calibration": calibrate_fit(right, wrong, refused)}


def pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.1f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder (gold-dev/, real/)")
    ap.add_argument("--model", help="model directory (default: the shipped one)")
    ap.add_argument("--learners", type=int, default=2500,
                    help="speechocean762 held-out recordings, evenly thinned (0: all)")
    ap.add_argument("--swapped", type=int, default=400)
    scratch_option(ap, "--work", "OTTC_BENCH_WORK", "where the telephone copies are written",
                   "telephone")
    scratch_option(ap, "--cache", "OTTC_BENCH_CACHE",
                   "pocketsphinx's alignments, kept between runs",
                   "telephone")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    work, cache = Path(args.work), Path(args.cache)
    model = find_model(args.model)
    ottc = Ottc(args.model, "viterbi")
    learners = speechocean_test(args.data / "real" / "speechocean762", args.learners)
    if not learners or not (args.data / "gold-dev").is_dir():
        print(f"error: no gold-dev/ or speechocean762 recordings under {args.data}",
              file=sys.stderr)
        return 2
    gold_rows, learner_rows, results = [], [], {}
    for condition, how in CONDITIONS.items():
        systems = [ottc, Pocketsphinx(cache / copy_folder(condition))]
        gold = gold_scores(systems, condition, work, args.data)
        copies = [telephone_copy(it, condition, work) for it in learners]
        flags = learner_flags(ottc, copies, args.swapped)
        results[condition] = {"gold_dev": gold, "learners": flags}
        for name, g in gold.items():
            p, e = g["pooled"], g["emuR_ae"]
            gold_rows.append([condition, name, p["boundaries"], g["failed"],
                              pct(p["within"].get(20, float("nan"))), f"{p['mean_ms']:.1f}",
                              pct(e["within"].get(20, float("nan")))])
        cal = flags["calibration"]
        learner_rows.append([condition, flags["recordings"], flags["failed"],
                             pct(flags["correct_flagged"]),
                             f"{pct(flags['swapped_caught'])} of {flags['swapped']}",
                             f"{cal['suggested']:.4f}" if cal else "-",
                             pct(cal["suggested_correct_flagged"]) if cal else "-",
                             pct(cal["suggested_swapped_caught"]) if cal else "-"])
        print(gold_rows[-2:], learner_rows[-1], flush=True)
    body = (f"Model `{model}` (tag {model_tag(model)}), viterbi; pocketsphinx 5 with its bundled "
            "US English model.\n\n### Hand-labelled recordings (gold-dev)\n\n"
            + markdown_table(["condition", "system", "phone boundaries", "failed",
                              "within 20 ms (pooled)", "mean error ms", "emuR within 20 ms"],
                             gold_rows)
            + "\n\n### speechocean762's held-out learners (ottc-align's flags)\n\n"
            + markdown_table(["condition", "recordings", "failed",
                              "correct transcripts flagged `transcript_mismatch`",
                              "swapped transcripts flagged",
                              "threshold calibrated here (speaker halves, 1.75%)",
                              "correct flagged at it", "swapped flagged at it"], learner_rows)
            + "\n\n" + machine_lines(machine()))
    write_results("telephone", "Telephone speech: ottc-align and pocketsphinx", body,
                  {"model": str(model), "results": results, "machine": machine()},
                  docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
