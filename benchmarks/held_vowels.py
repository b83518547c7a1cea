"""Held vowels: how much of a vowel held for about a second its interval covers.

    python benchmarks/held_vowels.py --data ../shared/data [--model DIR] [--per-vowel 4]

A clinician's sustained /a/ (maximum phonation time) or a stretched "oh" is one vowel held far
longer than speech holds one. Held vowels are made from speechocean762's held-out learner
recordings: vowels AA1, IY1, UW1 and OW1 of at least 120 ms that the model aligned with
confidence over 0.5 (--per-vowel of each, one per recording), their middle 70% lengthened nine
times by Praat's overlap-add (pitch periods repeated: the voice's own jitter kept) and faded in
and out over 20 ms, with 0.6 s of quiet before and after; the transcript is the vowel as a word
("ah", "ee", "ooh", "oh"). Per system: the share of the voiced span (`features.voiced_frames`)
that the word's phones cover, and the flags. Needs `praat` on the PATH (6.1 or later: the quiet's
noise is seeded, so every run hears the same recordings).

Until 2026-12-05 the middle was cut with a Hanning taper before it was lengthened, which made a
fade in and out of about 0.3 s each: a vowel that swells and dies away over its whole length,
as no sustained vowel does. `--taper` still makes those.

`--in-sentence`: the same vowels held in their own sentences (a learner stretching a vowel
mid-word): the vowel's middle 60% made 1 s longer in place by a Praat duration tier, the
transcript the sentence; per system, the share of the held vowel's time (its first edge to its
last, as the model placed them in the original, which favours ottc-align by the width of its
own edges) that the system's phone of that vowel covers. Its page is
held_vowels_in_sentence.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.audio import load_audio  # noqa: E402
from aligner.checks import flag_kind  # noqa: E402
from aligner.features import voiced_frames  # noqa: E402
from benchmarks.common import (find_model, machine, machine_lines, markdown_table,  # noqa: E402
                               model_tag, write_results)
from benchmarks.real_speech import speechocean_test  # noqa: E402

WORDS = {"AA1": "ah", "IY1": "ee", "UW1": "ooh", "OW1": "oh"}
MIN_VOWEL = 0.12  # s
LENGTHEN = """form args
  sentence src
  real t0
  real t1
  sentence out
  word window
endform
random_initializeWithSeedUnsafelyButPredictably (1)
Read from file: src$
Extract part: t0, t1, window$, 1, "no"
Lengthen (overlap-add): 75, 600, 3
Lengthen (overlap-add): 75, 600, 3
twice = selected("Sound")
Formula: "self * min(1, min(x - xmin, xmax - x) / 0.02)"
before = Create Sound from formula: "before", 1, 0, 0.6, 16000, "randomGauss(0, 0.0003)"
selectObject: twice
held = Copy: "held"
after = Create Sound from formula: "after", 1, 0, 0.6, 16000, "randomGauss(0, 0.0003)"
selectObject: before
plusObject: held
plusObject: after
Concatenate
Save as WAV file: out$
"""


HOLD_IN_PLACE = """form args
  sentence src
  real a
  real b
  real factor
  sentence out
endform
sound = Read from file: src$
manip = To Manipulation: 0.01, 75, 600
tier = Create DurationTier: "hold", 0, 1000
Add point: a - 0.0005, 1
Add point: a, factor
Add point: b, factor
Add point: b + 0.0005, 1
selectObject: manip
plusObject: tier
Replace duration tier
selectObject: manip
Get resynthesis (overlap-add)
Save as WAV file: out$
"""
IN_SENTENCE_EXTRA = 1.0  # s added to a vowel held in its sentence


def pick_vowels(aligner, items, per_vowel: int) -> list[tuple[Path, float, float, str]]:
    """(recording, start, end, vowel) of clear, long vowels: `per_vowel` of each, one per
    recording, in the items' order."""
    found: dict[str, list] = {v: [] for v in WORDS}
    for it in items:
        if all(len(v) >= per_vowel for v in found.values()):
            break
        a = aligner.align(it.audio, it.text)
        for p in a.phones:
            if (p.label in WORDS and len(found[p.label]) < per_vowel
                    and p.end - p.start >= MIN_VOWEL and (p.confidence or 0) > 0.5):
                found[p.label].append((Path(it.audio), p.start, p.end, p.label))
                break
    return [v for vs in found.values() for v in vs]


def covered(wave: np.ndarray, phones) -> tuple[float, float]:
    """(share of the voiced span the phones cover, the voiced span in s)."""
    v = np.flatnonzero(voiced_frames(torch.from_numpy(wave)).numpy())
    lo, hi = v[0] * 0.01, (v[-1] + 1) * 0.01
    inside = sum(max(0.0, min(p.end, hi) - max(p.start, lo)) for p in phones if p.label)
    return inside / (hi - lo), hi - lo


def vowel_covered(phones, vowel: str, span: tuple[float, float]) -> float:
    """The share of `span` (s) covered by the phone labelled `vowel` (stress ignored) that
    overlaps it most; 0.0 when none does."""
    def inside(p) -> float:
        return max(0.0, min(p.end, span[1]) - max(p.start, span[0]))

    same = [p for p in phones if p.label.rstrip("012") == vowel.rstrip("012")]
    return max(map(inside, same), default=0.0) / (span[1] - span[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder (holds real/)")
    ap.add_argument("--model", help="model directory (default: the shipped one)")
    ap.add_argument("--per-vowel", type=int, default=4)
    ap.add_argument("--no-pocketsphinx", action="store_true")
    ap.add_argument("--taper", action="store_true",
                    help="cut the vowel's middle with a Hanning taper (the benchmark until "
                         "2026-12-05): a 0.3 s swell and fade")
    ap.add_argument("--in-sentence", action="store_true",
                    help="hold each vowel 1 s longer inside its own sentence instead")
    args = ap.parse_args(argv)
    if args.taper and args.in_sentence:
        ap.error("--taper cuts a vowel out of its sentence; --in-sentence keeps it there")
    if shutil.which("praat") is None:
        print("error: praat is not on the PATH (apt-get install praat)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    from aligner import Aligner

    model = find_model(args.model)
    aligner = Aligner.load(model, device="cpu")
    items = speechocean_test(args.data / "real" / "speechocean762", 0)
    vowels = pick_vowels(aligner, items, args.per_vowel)
    sentences = {Path(it.audio): it.text for it in items}
    if not vowels:
        print("error: no speechocean762 test recordings under --data", file=sys.stderr)
        return 2
    systems = [("ottc-align", lambda path, text: aligner.align(path, text))]
    if not args.no_pocketsphinx:
        from benchmarks.pocketsphinx_align import PocketsphinxAligner

        ps = PocketsphinxAligner()
        systems.append(("pocketsphinx", lambda path, text: ps.align(path, text)))
    results: dict[str, list[dict]] = {name: [] for name, _ in systems}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "lengthen.praat"
        script.write_text(HOLD_IN_PLACE if args.in_sentence else LENGTHEN, encoding="utf-8")
        for k, (audio, start, end, vowel) in enumerate(vowels):
            src, out = Path(tmp) / f"src{k}.wav", Path(tmp) / f"held{k}.wav"
            sf.write(str(src), load_audio(audio), 16000)
            if args.in_sentence:
                a0, b0 = start + 0.2 * (end - start), end - 0.2 * (end - start)
                factor = 1 + IN_SENTENCE_EXTRA / (b0 - a0)
                how = [f"{a0:.4f}", f"{b0:.4f}", f"{factor:.4f}", str(out)]
            else:
                cut = 0.15 * (end - start)
                how = [f"{start + cut:.4f}", f"{end - cut:.4f}", str(out),
                       "Hanning" if args.taper else "rectangular"]
            subprocess.run(["praat", "--run", str(script), str(src), *how], check=True,
                           capture_output=True)
            wave = load_audio(out)
            held = (start, end + (len(wave) - sf.info(str(src)).frames) / 16000)
            for name, align in systems:
                try:
                    a = align(str(out), sentences[audio] if args.in_sentence else WORDS[vowel])
                except Exception as err:  # noqa: BLE001 - a peer's failure on one file is a result
                    results[name].append({"vowel": vowel, "source": str(audio), "failed": str(err)})
                    continue
                share, span = ((vowel_covered(a.phones, vowel, held), held[1] - held[0])
                               if args.in_sentence else covered(wave, a.phones))
                results[name].append({"vowel": vowel, "source": str(audio), "voiced_s": span,
                                      "covered": share,
                                      "flags": sorted({flag_kind(f) for f in a.flags})})
            print(k, vowel, {n: round(r[-1].get("covered", -1), 2) for n, r in results.items()},
                  flush=True)
    rows = []
    for name, rs in results.items():
        ok = [r for r in rs if "failed" not in r]
        shares = np.array([r["covered"] for r in ok])
        flagged = sum(bool(r.get("flags")) for r in ok)
        rows.append([name, len(rs), len(rs) - len(ok),
                     f"{100 * shares.mean():.0f}%" if len(ok) else "-",
                     f"{100 * np.mean(shares >= 0.8):.0f}%" if len(ok) else "-",
                     f"{flagged} ({100 * flagged / max(1, len(ok)):.0f}%)"])
        print(rows[-1])
    spans = [r["voiced_s"] for r in results["ottc-align"] if "voiced_s" in r]
    covers = "held vowel's time covered" if args.in_sentence else "voiced span covered"
    body = (f"{len(vowels)} held vowels ({', '.join(sorted({v[3] for v in vowels}))}), "
            + ("in their sentences, " if args.in_sentence else "voiced for ")
            + f"{min(spans):.2f}-{max(spans):.2f} s"
            + (" (cut with a Hanning taper: `--taper`)" if args.taper else "")
            + f"; model `{model}` (tag {model_tag(model)}).\n\n"
            + markdown_table(["system", "held vowels", "failed", f"{covers} (mean)",
                              "at least 80% covered", "with any flag"], rows)
            + "\n\n" + machine_lines(machine()))
    write_results("held_vowels_in_sentence" if args.in_sentence else "held_vowels",
                  "Held vowels" + (" in their sentences" if args.in_sentence else "")
                  + ": ottc-align and pocketsphinx", body,
                  {"model": str(model), "results": results, "machine": machine()},
                  docs_intro=__doc__.split("\n\n", 2)[2].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
