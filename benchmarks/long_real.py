"""Long real recordings: does a plain-text transcript keep every word in its own sentence?

    python benchmarks/long_real.py --data DATA [--minutes 7] [--model DIR] [--threads 2]

One long recording is built from speechocean762's test speakers (learners, never trained on):
their utterances in name order, joined with 0.3 s of silence, until `--minutes`; its transcript
is the sentences' text in one plain file, and the same as a TextGrid of utterance intervals
(MFA's input for long recordings). ottc-align aligns both; pocketsphinx the plain text. For the
plain text, per system: words placed wholly outside their own sentence's stretch of audio,
words whose start is more than 100 ms from where the same system puts it when it aligns each
sentence on its own (ottc-align: the utterance-interval TextGrid), the flags raised (and whether
`--strict` refuses the recording for them), and the time taken. A misplaced word that no flag points at is a silent
error: the figure says how often a user with one long plain transcript meets one. ottc-align
also aligns the text with one sentence a line (the aligner's sentence gaps go between lines)
and with `<star>` typed between sentences, and all three with one sentence left out of the
transcript (the audio unchanged; DROPPED sentences in turn, then PARAGRAPH in a row): how far
missing text moves the rest, whether a flag `--strict` refuses says so, and what the gaps and
the wildcard cost where nothing is missing. Then sentences
nobody says typed into the transcript (TYPED, at the same places): does `unspoken_text` find them.
Then the utterance TextGrid with two intervals' texts swapped: does `interval_mismatch` find them.
Writes benchmarks/results/long_real.{md,json} and docs/benchmarks/long_real.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.alignment import Interval  # noqa: E402
from aligner.checks import flag_kind, flag_kinds  # noqa: E402
from aligner.formats import Segment  # noqa: E402
from aligner.text.phones import STAR  # noqa: E402
from benchmarks.common import (machine, machine_lines, markdown_table, set_threads,  # noqa: E402
                               write_results)
from benchmarks.real_speech import flagged_on, speechocean_test, strict_refuses  # noqa: E402

GAP_SECONDS = 0.3
DROPPED = 3  # sentences left out of the transcript in turn, evenly spaced
PARAGRAPH = 12  # ... then this many in a row from the middle: a paragraph (about 45 s)
FAR_SECONDS = 0.1


def join_recordings(waves: list[np.ndarray], texts: list[str], sample_rate: int,
                    gap: float = GAP_SECONDS) -> tuple[np.ndarray, list[Segment]]:
    """One recording of `waves` in order with `gap` seconds of silence between them, and the
    utterance interval (a Segment) of each."""
    pieces, segments, t = [], [], 0
    silence = np.zeros(int(round(gap * sample_rate)), dtype=np.float32)
    for i, (wave, text) in enumerate(zip(waves, texts)):
        if i:
            pieces.append(silence)
            t += silence.size
        start = t / sample_rate
        pieces.append(np.asarray(wave, dtype=np.float32))
        t += len(wave)
        segments.append(Segment(text, f"utterance {i + 1}", "learners", start, t / sample_rate))
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32), segments


def misplaced(words: list[Interval], segments: list[Segment],
              reference: list[Interval | None] | None = None, far: float = FAR_SECONDS
              ) -> tuple[list[int], list[int]]:
    """(indices of words wholly outside their own sentence's interval, indices of words that
    start more than `far` seconds from `reference`'s word of the same index, None there: not
    compared). `words` are the plain-text alignment's labelled words, one per token of the
    sentences in order."""
    owner = [i for i, g in enumerate(segments) for _ in g.text.split()]
    if len(owner) != len(words):
        raise ValueError(f"{len(words)} aligned words for {len(owner)} transcript tokens")
    outside = [k for k, (w, i) in enumerate(zip(words, owner))
               if w.end <= segments[i].start or w.start >= segments[i].end]
    moved = [] if reference is None else [k for k, (w, r) in enumerate(zip(words, reference))
                                          if r is not None and abs(w.start - r.start) > far]
    return outside, moved


TYPED = (1, 3)  # sentences typed into the transcript where nobody says them


SWAP_EVERY = 11  # intervals between the pairs whose texts are swapped (i and i + 2)


def swapped_intervals(aligner, wave: np.ndarray, segments: list[Segment], data: dict) -> str:
    """The utterance TextGrid with the texts of intervals i and i + 2 swapped, one pair at a
    time, every SWAP_EVERY intervals: how many of the swapped intervals `interval_mismatch`
    flags (`flagged_on` the interval), and whether the recording is flagged
    `transcript_mismatch`. One line of Markdown; `data["swapped_intervals"]` gets the same."""
    import dataclasses

    caught = recording = pairs = 0
    for i in range(5, len(segments) - 2, SWAP_EVERY):
        j, pairs = i + 2, pairs + 1
        swapped = list(segments)
        swapped[i] = dataclasses.replace(segments[i], text=segments[j].text)
        swapped[j] = dataclasses.replace(segments[j], text=segments[i].text)
        (a,) = aligner.align_waveform(wave, swapped, name="<swapped intervals>")
        caught += sum(flagged_on(a, {"interval_mismatch"},
                                 Interval(segments[k].start, segments[k].end, ""))
                      for k in (i, j))
        recording += any(flag_kind(f) == "transcript_mismatch" for f in a.flags)
    data["swapped_intervals"] = {"intervals": 2 * pairs, "interval_mismatch": caught,
                                 "transcript_mismatch_recordings": recording}
    return (f"Texts of two intervals swapped ({pairs} pairs, one at a time): "
            f"`interval_mismatch` flags {caught} of the {2 * pairs} swapped intervals; "
            f"{recording} of the {pairs} recordings are flagged `transcript_mismatch`.")


def typed_not_said(aligner, wave: np.ndarray, texts: list[str], own_by_sentence: list[list[Interval]],
                   spare: list, data: dict) -> list[list]:
    """The plain-text transcript with TYPED sentences of `spare` recordings (four words or more)
    typed in before sentence k, at each of DROPPED places: is the text nobody said flagged
    `unspoken_text`, how many of its words `unsaid_word`, and what else is. Table rows;
    `data["typed"]` gets the same."""
    extra = [it.text for it in spare if len(it.text.split()) >= 4][:max(TYPED)]
    own = [w for sentence in own_by_sentence for w in sentence]
    rows, data["typed"] = [], []
    for k in [round(j * len(texts) / (DROPPED + 1)) for j in range(1, DROPPED + 1)]:
        for n in TYPED:
            typed = extra[:n]
            text = " ".join(texts[:k] + typed + texts[k:])
            (a,) = aligner.align_waveform(wave, [Segment(text, "typed")], name="typed")
            words = [w for w in a.words if w.label]
            first = sum(len(t.split()) for t in texts[:k])
            last = first + sum(len(t.split()) for t in typed)  # the typed words: first..last-1
            lo, hi = words[first].start, words[last - 1].end
            mine = [f for f in a.flags if flag_kind(f) == "unspoken_text"]
            hits = [f for f in mine if f.start < hi and f.end > lo]
            gap = min((max(0.0, f.start - hi, lo - f.end) for f in mine), default=None)
            kept = words[:first] + words[last:]
            moved = sum(abs(w.start - r.start) > FAR_SECONDS for w, r in zip(kept, own))
            kinds = flag_kinds(a.flags)
            typed_unsaid = sum(flagged_on(a, {"unsaid_word"}, w) for w in words[first:last])
            where = ("yes" if hits else "no" if gap is None
                     else f"no; the nearest {gap:.1f} s from the typed words")
            rows.append([f"before sentence {k + 1}", last - first, where, typed_unsaid,
                         len(mine) - len(hits), f"{moved} of {len(own)}",
                         ", ".join(f"{c} {kind}" for kind, c in kinds.items()) + strict_note(a.flags)])
            data["typed"].append({"before_sentence": k + 1, "words_typed": last - first,
                                  "flagged": bool(hits), "nearest_flag_seconds": gap,
                                  "typed_words_unsaid": typed_unsaid,
                                  "unspoken_elsewhere": len(mine) - len(hits),
                                  "own_moved": moved, "flags": kinds,
                                  "strict_refuses": strict_refuses(a.flags)})
    return rows


def _left_out_label(left_out: list[int], segments: list[Segment]) -> str:
    """"sentence 29 left out", or "sentences 57-68 left out (46 s)"."""
    if len(left_out) == 1:
        return f"sentence {left_out[0] + 1} left out"
    first, last = segments[left_out[0]], segments[left_out[-1]]
    return (f"sentences {left_out[0] + 1}-{left_out[-1] + 1} left out "
            f"({last.end - first.start:.0f} s)")


def strict_note(flags: list[str]) -> str:
    """Whether `--strict` (its default kinds) refuses a recording with `flags`."""
    return "; `--strict`: " + ("refused" if strict_refuses(flags) else "written")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with real/speechocean762/")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--minutes", type=float, default=7.0)
    ap.add_argument("--no-pocketsphinx", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="long_real")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    from aligner import Aligner

    aligner = Aligner.load(args.model, device="cpu")
    items = speechocean_test(args.data / "real" / "speechocean762", 0)
    waves, texts, seconds = [], [], 0.0
    for item in items:
        if seconds >= args.minutes * 60:
            break
        wave, _ = aligner.load_waveform(item.audio)
        waves.append(wave)
        texts.append(item.text)
        seconds += len(wave) / aligner.sample_rate + GAP_SECONDS
    wave, segments = join_recordings(waves, texts, aligner.sample_rate)
    duration = len(wave) / aligner.sample_rate

    t0 = time.perf_counter()
    (by_interval,) = aligner.align_waveform(wave, segments, name="<utterance TextGrid>")
    interval_s = time.perf_counter() - t0
    own = [w for w in by_interval.words if w.label]
    counts = [len(t.split()) for t in texts]
    own_by_sentence = [own[sum(counts[:i]): sum(counts[:i + 1])] for i in range(len(texts))]
    plain_text = " ".join(texts)
    rows, data = [], {"recording_seconds": duration, "utterances": len(segments),
                      "words": len(own), "systems": {}}

    def report(system: str, words: list[Interval] | None, flags: list[str], seconds: float,
               reference: list[Interval | None], error: str = "", transcript: str = "plain text",
               kept: list[Segment] | None = None) -> None:
        key = system if transcript == "plain text" else f"{system}, {transcript}"
        if words is None:
            rows.append([system, transcript, "failed", "-", "-", "-", f"{seconds:.1f}"])
            data["systems"][key] = {"failed": error, "seconds": seconds}
            return
        outside, moved = misplaced(words, kept or segments, reference)
        compared = sum(r is not None for r in reference)
        flagged = [k for k in outside if any(
            getattr(f, "start", None) is not None and f.start < words[k].end and f.end > words[k].start
            for f in flags)]
        kinds = flag_kinds(flags)
        rows.append([system, transcript, len(words),
                     f"{len(outside)} ({100 * len(outside) / len(words):.1f}%)",
                     f"{len(moved)} of {compared} ({100 * len(moved) / max(1, compared):.1f}%)",
                     f"{len(flagged)} of {len(outside)}; all flags: "
                     + (", ".join(f"{n} {k}" for k, n in kinds.items()) or "none")
                     + (strict_note(flags) if system == "ottc-align" else ""),
                     f"{seconds:.1f}"])
        data["systems"][key] = {"words": len(words), "outside_own_sentence": len(outside),
                                   "start_over_100ms_from_intervals": len(moved),
                                   "misplaced_flagged": len(flagged), "flags": kinds,
                                   "strict_refuses": strict_refuses(flags),
                                   "seconds": seconds}

    t0 = time.perf_counter()
    (plain,) = aligner.align_waveform(wave, [Segment(plain_text, "<plain text>")], name="<plain text>")
    report("ottc-align", [w for w in plain.words if w.label], list(plain.flags),
           time.perf_counter() - t0, own)
    # One sentence a line (where the aligner puts its sentence gaps) and the wildcard `<star>`
    # between sentences (what a user can type), then one sentence left out of the transcript,
    # the audio unchanged: each of DROPPED in turn, in each form.
    singles = [[round(k * len(segments) / (DROPPED + 1))] for k in range(1, DROPPED + 1)]
    middle = len(segments) // 2
    paragraph = list(range(middle, min(len(segments) - 1, middle + PARAGRAPH)))
    for left_out in ([], *singles, paragraph):
        for joiner, form in ((" ", "plain text"), ("\n", "one sentence a line"),
                             (" <star> ", "<star> between sentences")):
            if not left_out and joiner == " ":
                continue  # the plain-text row above
            keep = [i for i in range(len(segments)) if i not in left_out]
            text = joiner.join(texts[i] for i in keep)
            t0 = time.perf_counter()
            (a,) = aligner.align_waveform(wave, [Segment(text, form)], name=form)
            kept = [segments[i] for i in keep]
            reference = [w for i in keep for w in own_by_sentence[i]]
            label = form if not left_out else f"{form}, {_left_out_label(left_out, segments)}"
            words = [w for w in a.words if w.label and w.label.lower() != STAR]
            report("ottc-align", words, list(a.flags), time.perf_counter() - t0, reference,
                   transcript=label, kept=kept)
    typed_rows = typed_not_said(aligner, wave, texts, own_by_sentence, items[len(texts):], data)
    swap_line = swapped_intervals(aligner, wave, segments, data)
    if not args.no_pocketsphinx:
        from benchmarks.pocketsphinx_align import PocketsphinxAligner

        ps_aligner = PocketsphinxAligner()
        ps_own: list[Interval | None] = []  # each sentence on its own, as the reference
        for piece, g in zip(waves, segments):
            try:
                words = [w for w in ps_aligner.align(piece, g.text).words if w.label]
            except Exception:  # noqa: BLE001 - a sentence it cannot align is left uncompared
                words = []
            if len(words) != len(g.text.split()):
                ps_own += [None] * len(g.text.split())
            else:
                ps_own += [Interval(w.start + g.start, w.end + g.start, w.label) for w in words]
        t0 = time.perf_counter()
        try:
            ps = ps_aligner.align(wave, plain_text)
            report("pocketsphinx", [w for w in ps.words if w.label], [], time.perf_counter() - t0,
                   ps_own)
        except Exception as err:  # noqa: BLE001 - a peer's failure is a result
            report("pocketsphinx", None, [], time.perf_counter() - t0, ps_own,
                   f"{type(err).__name__}: {err}")
    rows.append(["ottc-align", "utterance TextGrid", len(own), "0 (by "
                 "construction)", "-", (", ".join(f"{n} {k}" for k, n in flag_kinds(by_interval.flags).items()) or "none")
                 + strict_note(by_interval.flags),
                 f"{interval_s:.1f}"])

    header = ["system", "transcript", "words", "wholly outside their own sentence",
              f"start over {1000 * FAR_SECONDS:.0f} ms from the same system's alignment of each sentence on its own",
              "misplaced words with a flag on them", "seconds"]
    m = machine()
    body = (f"One recording of {duration / 60:.1f} min: {len(segments)} utterances of "
            f"speechocean762's test speakers (learners of English, never trained on) in name order, "
            f"joined with {GAP_SECONDS} s of silence; model `{args.model or 'models/english (shipped)'}`.\n\n"
            + markdown_table(header, rows) + "\n\n" + swap_line + "\n\n" + machine_lines(m))
    body += ("\n\n## Text nobody said\n\nThe same recording, its plain-text transcript with one or "
             f"{TYPED[-1]} sentences of other recordings typed in where nobody says them (at each "
             "place where a sentence was left out above): whether an `unspoken_text` flag covers "
             "the typed words (else how far the nearest is), how many typed words are flagged "
             "`unsaid_word`, the `unspoken_text` flags elsewhere, and the recording's own words "
             f"that start more than {1000 * FAR_SECONDS:.0f} ms from their place in the utterance "
             "TextGrid's alignment.\n\n"
             + markdown_table(["typed in", "words typed", "flagged", "typed words unsaid_word",
                               "unspoken_text elsewhere", "own words moved", "all flags"],
                              typed_rows))
    print(body)
    write_results(args.name, "Long real recordings: plain text against utterance intervals", body,
                  {"machine": m, **data})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
