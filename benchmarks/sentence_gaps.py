"""Sentence gaps: a sentence left out of a long recording's transcript, with the aligner's gaps
between sentences (`Aligner.sentence_gaps`, the default) and without, at several costs.

    python benchmarks/sentence_gaps.py --data DATA [--model DIR] [--files 20]
        [--first-speaker 10] [--costs 50,100,200] [--threads 1] [--name sentence_gaps]

--files long recordings, each of two of speechocean762's test speakers (learners, never trained
on; speakers --first-speaker, +1, ... in name order), their utterances in name order joined
with 0.35 s of silence; the transcript is one sentence a line. Each is aligned with its full
transcript and with one sentence left out in turn (a quarter, half and three quarters of the
way through), the audio unchanged. Per setting: the correct recordings `--strict` refuses, the
ones with a sentence left out it refuses, the words placed wholly outside their own sentence's
stretch of audio, and the words of the correct transcripts that start more than 100 ms from
where they start without gaps. Each recording is encoded once for all its transcripts.

Reads the data by path; writes benchmarks/results/NAME.md/.json and docs/benchmarks/NAME.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.alignment import Interval  # noqa: E402
from aligner.checks import STRICT_KINDS, flag_kinds, refusing_flags  # noqa: E402
from aligner.formats import Segment  # noqa: E402
from benchmarks.common import machine, machine_lines, markdown_table, set_threads, write_results  # noqa: E402
from benchmarks.long_real import join_recordings, misplaced  # noqa: E402
from benchmarks.real_speech import speechocean_test  # noqa: E402

GAP = 0.35  # s of silence between two utterances
LEFT_OUT = (0.25, 0.5, 0.75)  # where the sentence left out lies, as a share of the sentences
FAR = 0.1  # s: a word start this far from its place without gaps has moved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with real/speechocean762/")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--first-speaker", type=int, default=10)
    ap.add_argument("--costs", default="50,100,200",
                    help="sentence gap costs (nats) to compare besides the shipped one")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="sentence_gaps")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    from aligner import Aligner
    from aligner import align as align_mod

    shipped_cost = align_mod.SENTENCE_GAP_COST
    costs = sorted({float(c) for c in args.costs.split(",") if c} | {shipped_cost})
    settings = [("no gaps", None)] + [(f"gaps, {c:g} nats" + (" (shipped)" if c == shipped_cost
                                                               else ""), c) for c in costs]
    aligner = Aligner.load(args.model, device="cpu")
    by_speaker: dict[str, list] = {}
    for item in speechocean_test(args.data / "real" / "speechocean762", 0):
        by_speaker.setdefault(item.key.split("/")[0], []).append(item)
    speakers = sorted(by_speaker)
    tally = {name: {"correct_refused": 0, "left_out_refused": 0, "outside_correct": 0,
                    "outside_left_out": 0, "moved": 0, "seconds": 0.0, "flags": {}}
             for name, _ in settings}
    words_total = left_out_words = recordings = minutes = 0.0
    try:
        for f in range(args.files):
            first = args.first_speaker + 2 * f
            items = [it for s in speakers[first: first + 2] for it in by_speaker[s]]
            if len(items) < 4:
                break
            waves = [aligner.load_waveform(it.audio)[0] for it in items]
            texts = [it.text for it in items]
            wave, segments = join_recordings(waves, texts, aligner.sample_rate, GAP)
            encoded = aligner.encode(wave)
            recordings += 1
            minutes += len(wave) / aligner.sample_rate / 60
            dropped = [round(share * len(texts)) for share in LEFT_OUT]
            cases = [(None, segments)] + [(k, [g for i, g in enumerate(segments) if i != k])
                                          for k in dropped]
            plain: list[Interval] = []
            for name, cost in settings:
                aligner.sentence_gaps = cost is not None
                align_mod.SENTENCE_GAP_COST = shipped_cost if cost is None else cost
                t = tally[name]
                for k, kept in cases:
                    text = "\n".join(g.text for g in kept)
                    t0 = time.perf_counter()
                    (a,) = aligner.align_waveform(wave, [Segment(text, "<t>")], encoded=encoded,
                                                  name=f"recording {f + 1}")
                    t["seconds"] += time.perf_counter() - t0
                    words = [w for w in a.words if w.label]
                    refused = bool(refusing_flags(a.flags, STRICT_KINDS))
                    if k is None:
                        out, moved = misplaced(words, kept, None if cost is None else plain, FAR)
                        t["correct_refused"] += refused
                        t["outside_correct"] += len(out)
                        for kind, n in flag_kinds(a.flags).items():
                            t["flags"][kind] = t["flags"].get(kind, 0) + n
                        if cost is None:
                            plain = words
                            words_total += len(words)
                        else:
                            t["moved"] += len(moved)
                    else:
                        t["left_out_refused"] += refused
                        t["outside_left_out"] += len(misplaced(words, kept)[0])
                        if cost is None:
                            left_out_words += len(words)
            print(f"recording {f + 1}: {len(texts)} sentences, "
                  f"{len(wave) / aligner.sample_rate:.0f} s", flush=True)
    finally:
        align_mod.SENTENCE_GAP_COST = shipped_cost
    n_left = int(recordings) * len(LEFT_OUT)
    rows = [[name,
             f"{t['correct_refused']} of {int(recordings)}",
             f"{t['left_out_refused']} of {n_left}",
             f"{t['outside_correct']} of {int(words_total)}",
             f"{t['outside_left_out']} of {int(left_out_words)}",
             "-" if cost is None else f"{t['moved']} of {int(words_total)}",
             f"{t['seconds']:.0f}"] for (name, cost), t in zip(settings, tally.values())]
    header = ["setting", "correct transcripts refused by --strict",
              "one sentence left out: refused by --strict",
              "words wholly outside their own sentence (correct)",
              "... (one sentence left out)",
              f"correct transcripts' word starts moved over {1000 * FAR:.0f} ms from no gaps",
              "seconds"]
    m = machine()
    body = (f"{int(recordings)} recordings ({minutes:.1f} min in all) of two of speechocean762's "
            "test speakers each (learners of English, never trained on), their utterances joined "
            f"with {GAP} s of silence, one sentence a line in the transcript; each aligned with "
            "its full transcript and with one sentence left out in turn (a quarter, half and "
            "three quarters of the way through). Model "
            f"`{args.model or 'models/english (shipped)'}`.\n\n"
            + markdown_table(header, rows) + "\n\n" + machine_lines(m))
    print(body)
    write_results(args.name, "Sentence gaps: a sentence missing from a long transcript", body,
                  {"machine": m, "recordings": recordings, "minutes": minutes,
                   "settings": {name: t for (name, _), t in zip(settings, tally.values())}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
