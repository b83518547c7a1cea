"""Real speech: ottc-align and pocketsphinx side by side on recordings of people.

    python benchmarks/real_speech.py --data DATA [--model DIR] [--method viterbi]
        [--so-limit 0] [--swapped 200] [--substituted 400] [--added 400] [--truncated 400]
        [--dropped 400] [--repeated 400] [--cut 2500]
        [--words 300] [--pauses-in-words]
        [--threads 2]
        [--name real_speech]

Three measurements, each for both systems in the same run:
1. Hand-labelled recordings (`gold-dev/`: emuR `ae`, praatio's examples, Parselmouth's North
   Wind): every gold label is folded onto the model's 39 phones (`aligner/phone_folding.py`:
   `emu-ae` for emuR, `ipa` for the IPA/SAMPA sets; stop closure and release merged, aspiration
   kept with its stop, affricates joined), the systems' phones with `cmu39`. Per set and pooled:
   phone boundaries within 10/20/50 ms (with a 95% interval for 20 ms: a few hundred
   boundaries cannot tell apart systems a few points apart), mean error, boundary F1 at 20 ms,
   word boundaries where the gold has words, and the phone-duration distribution against the
   gold's.
2. speechocean762's test speakers (never trained on): the share of correct transcripts flagged
   `transcript_mismatch` (with any flag, and refused by `--strict`), the share of swapped
   transcripts (another utterance's text) that are flagged or refused, both for single recordings and as a corpus
   run judges them (also against the speaker's other recordings, aligner/speaker_fit.py), the
   calibration of both thresholds by speaker halves, the flags a transcript with one word
   replaced gets (the whole flagged, the replaced word flagged `low_confidence`), those a word
   put in that nobody said gets (`unsaid_word` on it), those a
   transcript with its second half left out gets (`transcript_mismatch`,
   `untranscribed_speech`), or its last word or two (`stretched_last_word`), those a recording
   with a word said twice gets (the transcript has it once), and the phone durations.
3. The same recordings: phone boundaries within 20 ms of pocketsphinx's (agreement, a proxy).
4. Isolated words (`real/fsdd`: spoken digits, 8 kHz, six speakers; the shipped model was not
   trained on them): failures, the share of correct one-word transcripts flagged and of
   another digit's transcript flagged; the clinician's word list and the telephone menu's
   answer.

pocketsphinx alignments are cached under --cache (they do not depend on our model). Reads the
data by path; writes benchmarks/results/NAME.md/.json and docs/benchmarks/NAME.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.atomic import atomic_open  # noqa: E402
from aligner.checks import (STRICT_KINDS, flag_kind, judged_fit, refusing_flags,  # noqa: E402
                            word_confidence_floor)
from aligner.alignment import Alignment, Interval  # noqa: E402
from aligner.align import AlignmentError  # noqa: E402
from aligner.text.errors import TranscriptError  # noqa: E402
from aligner.evaluate import TierScore, score_tier, summarise_tier  # noqa: E402
from aligner.formats import read_csv  # noqa: E402
from aligner.phone_folding import Folding, fold_words, load_folding  # noqa: E402
from aligner.decode import DECODERS, DEFAULT_METHOD  # noqa: E402
from aligner.errors import one_line  # noqa: E402
from benchmarks.common import (machine, machine_lines, markdown_table,  # noqa: E402
                               scratch_option, set_threads, wilson_interval, write_results)

# gold-dev folder -> the folding of its labels
GOLD_SETS = {"emuR_ae": "emu-ae", "praatio_examples": "ipa", "parselmouth_northwind": "ipa"}
AUDIO_SUFFIXES = (".flac", ".wav", ".WAV", ".opus")
TOLERANCES = (10, 20, 50)


@dataclass
class Item:
    """One recording: audio, transcript text, optional gold phones/words (folded later)."""

    key: str
    audio: Path
    text: str
    gold_phones: list[Interval] | None = None
    gold_words: list[Interval] | None = None


# ----------------------------------------------------------------------------- inputs
def read_tier(path: Path, tier: str) -> list[Interval]:
    """One tier of a `start<TAB>end<TAB>label` file (gold-dev's export), silence left out."""
    return getattr(read_csv(path, tolerant=True, tier=tier)[0], tier)


def gold_items(folder: Path) -> list[Item]:
    items = []
    for phones in sorted(folder.glob("*.phones.tsv")):
        stem = phones.name[: -len(".phones.tsv")]
        audio = next((folder / f"{stem}{s}" for s in AUDIO_SUFFIXES
                      if (folder / f"{stem}{s}").is_file()), None)
        text = folder / f"{stem}.txt"
        if audio is None or not text.is_file():
            continue
        words = folder / f"{stem}.words.tsv"
        items.append(Item(f"{folder.name}/{stem}", audio, text.read_text(encoding="utf-8").strip(),
                          read_tier(phones, "phones"), read_tier(words, "words") if words.is_file() else None))
    return items


def has_data(data: Path) -> bool:
    """Whether `data` holds anything this benchmark measures: a hand-labelled recording in one of
    gold-dev's sets, or speechocean762's test-speaker list. Why check first: a folder with an empty
    gold-dev/ (a half-copied data folder) otherwise ran on and wrote a page of empty tables over
    the real one."""
    return (any(gold_items(data / "gold-dev" / folder) for folder in GOLD_SETS)
            or (data / "real" / "speechocean762" / "meta" / "test" / "utt2spk").is_file())


def speechocean_test(root: Path, limit: int) -> list[Item]:
    """speechocean762's test-speaker utterances (meta/test/utt2spk), evenly thinned to `limit`."""
    utts = []
    for line in (root / "meta" / "test" / "utt2spk").read_text().splitlines():
        if not line.strip():
            continue
        utt, spk = line.split()
        folder = root / f"SPEAKER{spk}"
        audio = next((folder / f"{utt}{s}" for s in AUDIO_SUFFIXES
                      if (folder / f"{utt}{s}").is_file()), None)
        text = folder / f"{utt}.txt"
        if audio is not None and text.is_file():
            utts.append(Item(f"SPEAKER{spk}/{utt}", audio, text.read_text(encoding="utf-8").strip()))
    utts.sort(key=lambda it: it.key)
    if limit and len(utts) > limit:
        step = len(utts) / limit
        utts = [utts[int(i * step)] for i in range(limit)]
    return utts


def isolated_words(root: Path, limit: int) -> list[Item]:
    """FSDD's recordings (`<speaker>/<digit>_<speaker>_<n>.opus` + `.txt`), evenly thinned to
    `limit` in sorted order (every speaker and digit)."""
    items = []
    for text in sorted(root.glob("*/*.txt")):
        audio = next((text.with_suffix(s) for s in AUDIO_SUFFIXES if text.with_suffix(s).is_file()), None)
        if audio is not None:
            items.append(Item(f"{text.parent.name}/{text.stem}", audio,
                              text.read_text(encoding="utf-8").strip()))
    if limit and len(items) > limit:
        step = len(items) / limit
        items = [items[int(i * step)] for i in range(limit)]
    return items


def swapped_pairs(items: list[Item], n: int) -> list[tuple[Item, str]]:
    """(recording, another recording's transcript with other words) for up to n recordings."""
    out = []
    if not items or n <= 0:
        return out
    step = max(1, len(items) // n)
    half = len(items) // 2
    for i in range(0, len(items), step):
        for k in range(half, half + len(items)):
            other = items[(i + k) % len(items)]
            if set(other.text.lower().split()).isdisjoint(items[i].text.lower().split()):
                out.append((items[i], other.text))
                break
        if len(out) >= n:
            break
    return out


def substituted_pairs(items: list[Item], n: int) -> list[tuple[Item, str, int]]:
    """(recording, its transcript with one word replaced, the replaced word's index) for up to n
    recordings of three words or more: the mistake a careful transcriber makes, or a patient's
    paraphasia (`one_word_edits`)."""
    return one_word_edits(items, n, replace=True, seed=0)


def added_pairs(items: list[Item], n: int) -> list[tuple[Item, str, int]]:
    """(recording, its transcript with a word put in that nobody said, the word's index) for up
    to n recordings of three words or more: a word a reader skipped in the text they read, a
    transcript's extra word; at any place, first and last included (`one_word_edits`)."""
    return one_word_edits(items, n, replace=False, seed=49)


def one_word_edits(items: list[Item], n: int, replace: bool, seed: int
                   ) -> list[tuple[Item, str, int]]:
    """(recording, its transcript with one word replaced or, not `replace`, put in, that word's
    index) for up to n recordings of three words or more, evenly spaced. The word is one of
    another recording's transcript (letters only, three or more) that this transcript does not
    hold; place and word are drawn from `seed`, so runs compare."""
    rng = random.Random(seed)
    vocab = sorted({w for it in items for w in it.text.upper().split() if w.isalpha() and len(w) >= 3})
    long_enough = [it for it in items if len(it.text.split()) >= 3]
    if not long_enough or n <= 0:
        return []
    step = max(1, len(long_enough) // n)
    out = []
    for item in long_enough[::step][:n]:
        words = item.text.split()
        own = {w.upper() for w in words}
        choices = [v for v in vocab if v not in own]
        if not choices:
            continue
        i = rng.randrange(len(words) + (not replace))
        rest = words[i + 1:] if replace else words[i:]
        out.append((item, " ".join(words[:i] + [rng.choice(choices)] + rest), i))
    return out


def flagged_on(a: Alignment, kinds: set[str] | frozenset[str], word: Interval) -> bool:
    """Whether a flag of one of `kinds` marks `word` (its middle within the flag's times)."""
    middle = (word.start + word.end) / 2
    return any(flag_kind(f) in kinds and f.start is not None and f.start <= middle <= f.end
               for f in a.flags)


WORD_KINDS = frozenset(("low_confidence", "squeezed_word", "unheard_vowel", "unsaid_word"))


def addition_entry(ottc: "Ottc", done: dict[str, Alignment], items: list[Item], n: int) -> dict:
    """How the flags treat a transcript with a word put in that nobody said (`added_pairs`):
    the share of such words flagged `unsaid_word`, `low_confidence`, any flag on a word
    (WORD_KINDS), the share of such transcripts flagged `transcript_mismatch`; and of the
    correct transcripts (`done`), the share of words and of recordings flagged
    `unsaid_word`, and of the other words of the edited transcripts (they were said)."""
    counts = {"unsaid_word": 0, "low_confidence": 0, "any_word_flag": 0, "transcript_mismatch": 0}
    judged = 0
    others: list[bool] = []  # the words that were said: flagged `unsaid_word`?
    pairs = added_pairs(items, n)
    for item, text, i in pairs:
        try:
            a = ottc.align(item, text)
        except (AlignmentError, TranscriptError):  # refused: caught as a whole
            counts["transcript_mismatch"] += 1
            continue
        counts["transcript_mismatch"] += "transcript_mismatch" in flag_kinds(a)
        words = [w for w in a.words if w.label]
        if i >= len(words) or words[i].label.upper() != text.split()[i].upper():
            continue
        judged += 1
        for kind in ("unsaid_word", "low_confidence"):
            counts[kind] += flagged_on(a, {kind}, words[i])
        counts["any_word_flag"] += flagged_on(a, WORD_KINDS, words[i])
        others += [flagged_on(a, {"unsaid_word"}, w) for k, w in enumerate(words) if k != i]
    right = [flagged_on(a, {"unsaid_word"}, w) for a in done.values() for w in a.words if w.label]
    return {"transcripts": len(pairs), "words_judged": judged,
            "other_words_unsaid": float(np.mean(others)) if others else 0.0,
            **{k: v / max(1, judged if k != "transcript_mismatch" else len(pairs))
               for k, v in counts.items()},
            "correct_words_unsaid": float(np.mean(right)) if right else 0.0,
            "correct_recordings_unsaid": float(np.mean(
                ["unsaid_word" in flag_kinds(a) for a in done.values()])) if done else 0.0}


def truncated_pairs(items: list[Item], n: int, drop: int = 0) -> list[tuple[Item, str]]:
    """(recording, the first half of its transcript) for up to n recordings of four words or
    more, evenly spaced: a transcript that leaves out part of what was said (a file cut short,
    a sentence missed); with `drop`, the transcript without its last `drop` words instead."""
    long_enough = [it for it in items if len(it.text.split()) >= 4]
    if not long_enough or n <= 0:
        return []
    step = max(1, len(long_enough) // n)
    keep = lambda words: words[: len(words) - drop] if drop else words[: len(words) // 2]
    return [(it, " ".join(keep(it.text.split()))) for it in long_enough[::step][:n]]


MISSING_KINDS = ("transcript_mismatch", "untranscribed_speech", "stretched_last_word")


def truncation_entry(ottc: "Ottc", done: dict[str, Alignment], items: list[Item], n: int,
                     drop: int = 0) -> dict:
    """How the flags treat a transcript with its second half left out (`drop`: its last words):
    the share flagged `transcript_mismatch`, `untranscribed_speech`, `stretched_last_word`,
    either of the first two, any of the three; and of the correct transcripts (`done`) flagged
    `untranscribed_speech` or `stretched_last_word`."""
    counts = {**{k: 0 for k in MISSING_KINDS}, "either": 0, "any": 0, "strict": 0}
    pairs = truncated_pairs(items, n, drop)
    for item, text in pairs:
        try:
            kinds = flag_kinds(ottc.align(item, text))
        except (AlignmentError, TranscriptError):  # refused: caught as a whole
            kinds = {"transcript_mismatch"}
        for kind in MISSING_KINDS:
            counts[kind] += kind in kinds
        counts["either"] += "transcript_mismatch" in kinds or "untranscribed_speech" in kinds
        counts["any"] += bool(kinds & set(MISSING_KINDS))
        counts["strict"] += bool(kinds & STRICT_KINDS)
    right = lambda kind: float(np.mean([kind in flag_kinds(a) for a in done.values()])) if done \
        else 0.0
    return {"transcripts": len(pairs), **{k: v / max(1, len(pairs)) for k, v in counts.items()},
            "correct_untranscribed": right("untranscribed_speech"),
            "correct_stretched": right("stretched_last_word")}


REPEAT_SECONDS = (0.2, 0.6)  # how long the repeated word may be
REPEAT_PAUSE = 0.15  # s of the recording's quietest audio on each side of the repetition


def repeat_a_word(samples: np.ndarray, words: list[Interval], rate: int) -> np.ndarray | None:
    """The recording with a word said again: the first word of REPEAT_SECONDS (by the model's
    own alignment of the correct transcript) copied in before the middle word, with REPEAT_PAUSE
    of the recording's quietest 50 ms-smoothed stretch on each side. What a speaker who restarts
    ("MANDY HAS ... MANDY HAS A BIG ARM") or a patient's part-word or word repetition leaves
    in the audio but not in the transcript. None for recordings of fewer than three words or
    without such a word."""
    said = [w for w in words if w.label]
    rep = next((w for w in said if REPEAT_SECONDS[0] <= w.end - w.start <= REPEAT_SECONDS[1]), None)
    if len(said) < 3 or rep is None:
        return None
    smooth = int(0.05 * rate)
    pause_n = int(REPEAT_PAUSE * rate)
    energy = np.convolve(samples.astype(np.float64) ** 2, np.ones(smooth) / smooth, "same")
    if len(energy) <= pause_n:
        return None
    quiet = int(np.argmin(energy[: len(energy) - pause_n]))
    pause = samples[quiet: quiet + pause_n]
    cut = int(round(said[len(said) // 2].start * rate))
    word = samples[int(round(rep.start * rate)): int(round(rep.end * rate))]
    return np.concatenate([samples[:cut], pause, word, pause, samples[cut:]])


def repetition_entry(ottc: "Ottc", done: dict[str, Alignment], items: list[Item], n: int) -> dict:
    """How the flags treat a word said twice that the transcript has once (`repeat_a_word`),
    for up to n recordings evenly spaced: the share flagged `untranscribed_speech`,
    `transcript_mismatch`, either."""
    from aligner.audio import load_audio

    rate = ottc.aligner.sample_rate
    chosen = [it for it in items if it.key in done and len(it.text.split()) >= 3]
    step = max(1, len(chosen) // max(1, n))
    counts = {"transcript_mismatch": 0, "untranscribed_speech": 0, "either": 0, "strict": 0}
    total = 0
    for item in chosen[::step][:n] if n > 0 else []:
        edited = repeat_a_word(load_audio(item.audio, rate), done[item.key].words, rate)
        if edited is None:
            continue
        try:
            kinds = flag_kinds(ottc.aligner.align(edited, item.text, sample_rate=rate,
                                                  method=ottc.method))
        except (AlignmentError, TranscriptError):
            kinds = {"transcript_mismatch"}
        total += 1
        for kind in ("transcript_mismatch", "untranscribed_speech"):
            counts[kind] += kind in kinds
        counts["either"] += "transcript_mismatch" in kinds or "untranscribed_speech" in kinds
        counts["strict"] += bool(kinds & STRICT_KINDS)
    return {"recordings": total, **{k: v / max(1, total) for k, v in counts.items()}}


def cut_entry(done: dict[str, Alignment], items: list[Item], n: int, rate: int) -> dict:
    """How `ends_in_speech` treats a recording cut inside its speech: up to n recordings, evenly
    spaced, each cut at a voiced 10 ms frame drawn (seeded) from the middle 40% of its frames,
    judged on the cut audio as `Aligner.align_waveform` judges it (the flag looks only at the
    audio, so no alignment is needed); and the share of the correct recordings (`done`) that
    carry the flag."""
    from aligner.audio import load_audio
    from aligner.checks import ends_in_speech
    from aligner.features import frame_levels, voiced_frames

    rng = random.Random(0)
    chosen = [it for it in items if it.key in done]
    step = max(1, len(chosen) // max(1, n))
    total = flagged = 0
    for item in chosen[::step][:n] if n > 0 else []:
        wave = load_audio(item.audio, rate)
        voiced = np.flatnonzero(voiced_frames(wave).numpy())
        middle = voiced[(voiced > 0.3 * len(wave) / 160) & (voiced < 0.7 * len(wave) / 160)]
        if not len(middle):
            continue
        piece = wave[: int(rng.choice(list(middle))) * 160 + rng.randint(-80, 80)]
        total += 1
        flagged += bool(ends_in_speech(voiced_frames(piece).numpy(), frame_levels(piece).numpy(),
                                       len(piece) / rate))
    correct = [("ends_in_speech" in flag_kinds(a)) for a in done.values()]
    return {"recordings": total, "flagged": flagged / max(1, total),
            "correct_flagged": float(np.mean(correct)) if correct else 0.0}


def low_confidence_words(a: Alignment, thresholds) -> list[bool]:
    """For each word of `a` (silence left out), whether it is flagged `low_confidence`
    (`checks.word_confidence_floor`: the floor rises in background noise)."""
    floor = word_confidence_floor(a, thresholds)
    return [w.confidence is not None and w.confidence < floor for w in a.words if w.label]


# ----------------------------------------------------------------------------- systems
class Ottc:
    name = "ottc-align"

    def __init__(self, model: str | None, method: str, refine: bool = True,
                 snap: bool = True, voiced_ends: bool = True, boundary_net: bool = True) -> None:
        from aligner import Aligner

        self.aligner = Aligner.load(model, device="cpu")
        self.aligner.refine_boundaries = refine
        self.aligner.snap_boundaries = snap
        self.aligner.place_boundaries = boundary_net
        self.aligner.voiced_ends = voiced_ends
        self.method = method

    def align(self, item: Item, text: str | None = None) -> Alignment:
        """`item` with its transcript or `text`; the speaker's statistics (`speaker_priors`)
        when the item's key names a speaker that has them, as a corpus run would."""
        speaker = item.key.split("/")[0] if self.aligner.speaker_priors else None
        return self.aligner.align(item.audio, text if text is not None else item.text,
                                  method=self.method, speaker=speaker)

    def use_speakers(self, items: list[Item]) -> int:
        """Give the aligner the statistics of each speaker (the first part of the items' keys,
        the folder a corpus run takes as the speaker) that a corpus run would make; returns
        how many speakers got them."""
        from aligner.corpus import Utterance
        from aligner.speaker_norm import speaker_priors

        utterances = [Utterance(it.key, Path(it.audio), Path(it.audio).with_suffix(".txt"),
                                it.key.split("/")[0]) for it in items]  # FSDD's transcripts
        self.aligner.speaker_priors = speaker_priors(self.aligner, utterances,
                                                     {u.speaker for u in utterances})
        return len(self.aligner.speaker_priors)


class Pocketsphinx:
    """pocketsphinx 5, its alignments cached as JSON by recording (they never change)."""

    name = "pocketsphinx"

    def __init__(self, cache: Path) -> None:
        from benchmarks.pocketsphinx_align import PocketsphinxAligner

        self.ps = PocketsphinxAligner()
        self.cache = cache

    def align(self, item: Item, text: str | None = None) -> Alignment:
        assert text is None, "pocketsphinx is only run on the correct transcripts"
        path = self.cache / (item.key.replace("/", "__") + ".json")
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if "error" in data:
                raise RuntimeError(data["error"])
            return Alignment([Interval(*w) for w in data["words"]],
                             [Interval(*p) for p in data["phones"]], data["duration"])
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            a = self.ps.align(item.audio, item.text)
        except Exception as err:  # noqa: BLE001 - a peer's failure on one file is a result
            with atomic_open(path) as handle:  # a killed run leaves no truncated cache entry
                json.dump({"error": f"{type(err).__name__}: {err}"}, handle)
            raise
        with atomic_open(path) as handle:
            json.dump({"duration": a.duration,
                       "words": [[w.start, w.end, w.label] for w in a.words],
                       "phones": [[p.start, p.end, p.label] for p in a.phones]}, handle)
        return a


def run(system, items: list[Item]) -> tuple[dict[str, Alignment], dict[str, str], float]:
    """Align every item; (alignments by key, failure reason by key, seconds)."""
    done, failed = {}, {}
    t0 = time.perf_counter()
    for item in items:
        try:
            done[item.key] = system.align(item)
        except KeyboardInterrupt:
            raise
        except Exception as err:  # noqa: BLE001 - any failure on one recording is a result
            failed[item.key] = f"{type(err).__name__}: {one_line(err)}"
    return done, failed, time.perf_counter() - t0


# ----------------------------------------------------------------------------- scoring
def phone_durations(alignments: list[Alignment] | list[list[Interval]]) -> np.ndarray:
    """Durations (seconds) of every non-silent phone."""
    out = []
    for a in alignments:
        phones = a.phones if isinstance(a, Alignment) else a
        out += [p.end - p.start for p in phones if p.label.strip()]
    return np.array(out, dtype=np.float64)


def duration_stats(d: np.ndarray) -> dict[str, float]:
    """Median, 10th percentile, share under 30 ms and the share held by the commonest
    duration (rounded to 1 ms): a decoder with a floor piles phones up at that floor."""
    if d.size == 0:
        return {}
    ms = np.round(d * 1000).astype(int)
    values, counts = np.unique(ms, return_counts=True)
    return {"phones": int(d.size), "median_ms": float(np.median(d) * 1000),
            "p10_ms": float(np.percentile(d, 10) * 1000),
            "under_30ms": float(np.mean(ms < 30)), "min_ms": float(ms.min()),
            "mode_ms": int(values[counts.argmax()]), "mode_share": float(counts.max() / d.size)}


def score_gold(items: list[Item], hyps: dict[str, Alignment], gold_fold: Folding,
               hyp_fold: Folding) -> tuple[list[TierScore], list[TierScore]]:
    phones, words = [], []
    for item in items:
        hyp = hyps.get(item.key)
        if hyp is None:
            continue
        phones.append(score_tier(gold_fold.fold_phones(item.gold_phones),
                                 hyp_fold.fold_phones(hyp.phones)))
        if item.gold_words:
            words.append(score_tier(fold_words(item.gold_words), fold_words(hyp.words)))
    return phones, words


def tier_row(label: str, system: str, n: int, failed: int, phones: list[TierScore],
             words: list[TierScore]) -> tuple[list[object], dict]:
    p, w = summarise_tier(phones), summarise_tier(words)
    pct = lambda x: f"{100 * x:.1f}%" if x == x else "-"  # noqa: E731
    within = [pct(p.within.get(t, float("nan"))) for t in TOLERANCES]
    lo, hi = wilson_interval(p.within.get(20, float("nan")), p.boundaries)
    interval = f"{100 * lo:.0f}-{100 * hi:.0f}%" if lo == lo else "-"
    row = [label, system, n, failed, p.boundaries, within[0], within[1], interval, within[2],
           f"{p.mean_ms:.1f}", f"{p.f1:.3f}", pct(w.within.get(20, float("nan"))) if words else "-"]
    data = {"set": label, "system": system, "recordings": n, "failed": failed,
            "phones": {**p.__dict__, "within": {f"{k}ms": v for k, v in p.within.items()},
                       "within_20ms_interval95": [lo, hi]},
            "words": {**w.__dict__, "within": {f"{k}ms": v for k, v in w.within.items()}} if words else None}
    return row, data


# The shares of correct transcripts the mismatch thresholds are chosen to flag: the target is at
# most 2% of correct transcripts flagged with at least 95% of wrong ones caught, and 1.75%
# leaves room for the spread between speaker halves; a corpus run adds the relative test,
# chosen at 0.75% on its own so that the two together stay under 2%.
FIT_FLAG_SHARE = 0.0175
RELATIVE_FLAG_SHARE = 0.0075


class Fit(NamedTuple):
    """One recording's transcript fit as the product judges it: `fit` (`transcript_fit`, what
    the speaker-relative test of a corpus run compares) and `judged` (`checks.judged_fit`, the
    fit over the noise and band allowances: what `min_transcript_fit` is compared with)."""

    key: str
    fit: float | None
    judged: float | None


def fit_of(key: str, a: Alignment, thresholds) -> Fit:
    return Fit(key, a.transcript_fit, judged_fit(a, thresholds))


def calibrate_fit(right: list[Fit], wrong: list[Fit], refused: int,
                  flag_share: float = FIT_FLAG_SHARE) -> dict:
    """The `transcript_mismatch` threshold on the judged fit (`checks.judged_fit`), chosen by
    speaker halves: the value that flags `flag_share` of the odd-numbered speakers' correct
    transcripts, checked on the even-numbered speakers' (and the other way round); the
    suggested threshold is the mean of the two. Swapped transcripts count as caught below it
    (refused ones too). Keys are `SPEAKERnnnn/utt`."""
    def half(fits, odd):
        return np.array([f.judged for f in fits
                         if f.judged is not None and int(f.key[7:11]) % 2 == odd])
    halves = {1: half(right, 1), 0: half(right, 0)}
    wrong_all = np.array([f.judged for f in wrong if f.judged is not None])
    if halves[0].size == 0 or halves[1].size == 0:
        return {}
    def caught(threshold: float) -> float:
        return float((np.sum(wrong_all < threshold) + refused) / max(1, wrong_all.size + refused))
    directions = []
    for choose, check in ((1, 0), (0, 1)):
        threshold = float(np.quantile(halves[choose], flag_share))
        directions.append({"chosen_on": "odd" if choose else "even", "threshold": threshold,
                           "other_half_flagged": float(np.mean(halves[check] < threshold)),
                           "swapped_caught": caught(threshold)})
    suggested = float(np.mean([d["threshold"] for d in directions]))
    everyone = np.concatenate([halves[0], halves[1]])
    return {"flag_share": flag_share, "directions": directions, "suggested": suggested,
            "suggested_correct_flagged": float(np.mean(everyone < suggested)),
            "suggested_swapped_caught": caught(suggested)}


def relative_rows(right: list[Fit], wrong: list[Fit]
                  ) -> tuple[list[tuple[str, float, float | None]], list[tuple[str, float, float | None]]]:
    """(key, judged fit, relative fit) of each correct and each swapped recording as a corpus
    run judges them (aligner/speaker_fit.py, on the plain fits): a correct one against its
    speaker's other correct recordings, a swapped one against all of that speaker's correct
    recordings but itself (a corpus in which this one transcript is wrong). None: too few
    others."""
    from aligner.speaker_fit import relative_fits

    spk = lambda key: key.split("/")[0]  # noqa: E731
    right = [f for f in right if f.fit is not None]
    rel = relative_fits([(spk(f.key), f.fit) for f in right])
    rows_right = [(f.key, f.judged, r.relative if r else None) for f, r in zip(right, rel)]
    by_speaker: dict[str, list[Fit]] = {}
    for f in right:
        by_speaker.setdefault(spk(f.key), []).append(f)
    rows_wrong = []
    for f in wrong:
        if f.fit is not None:
            others = [(spk(f.key), g.fit) for g in by_speaker.get(spk(f.key), []) if g.key != f.key]
            r = relative_fits(others + [(spk(f.key), f.fit)])[-1]
            rows_wrong.append((f.key, f.judged, r.relative if r else None))
    return rows_right, rows_wrong


def corpus_catches(judged: float, relative: float | None, file_threshold: float,
                   relative_threshold: float) -> bool:
    """Whether a corpus run's two tests flag a recording: its own fit (`judged`, over the noise
    and band allowances), or its fit relative to its speaker's other recordings (None: too few
    others to judge)."""
    return judged < file_threshold or (relative is not None and relative < relative_threshold)


def corpus_flagged(rows: list[tuple[str, float, float | None]], file_threshold: float,
                   relative_threshold: float, refused: int = 0,
                   strict: frozenset[str] | set[str] = frozenset()) -> float:
    """Share flagged by a corpus run's two tests (refused alignments count as caught); with
    `strict` (keys of the recordings whose own flags --strict refuses), the share --strict
    refuses in a corpus run."""
    hits = sum(k in strict or corpus_catches(f, r, file_threshold, relative_threshold)
               for k, f, r in rows)
    return float((hits + refused) / max(1, len(rows) + refused))


def calibrate_relative_fit(rows_right: list, rows_wrong: list, refused: int, file_threshold: float,
                           flag_share: float = RELATIVE_FLAG_SHARE) -> dict:
    """The corpus run's relative-fit threshold, chosen by speaker halves as in `calibrate_fit`
    (the value that flags `flag_share` of one half's correct transcripts on its own) and checked
    on the other half with the single-recording threshold `file_threshold` beside it, as a
    corpus run applies both."""
    odd = lambda key: int(key[7:11]) % 2  # noqa: E731
    directions = []
    for choose in (1, 0):
        pool = [r for k, _, r in rows_right if odd(k) == choose and r is not None]
        if not pool:
            return {}
        threshold = float(np.quantile(pool, flag_share))
        check = [row for row in rows_right if odd(row[0]) != choose]
        directions.append({"chosen_on": "odd" if choose else "even", "threshold": threshold,
                           "other_half_flagged": corpus_flagged(check, file_threshold, threshold),
                           "swapped_caught": corpus_flagged(rows_wrong, file_threshold, threshold,
                                                            refused)})
    suggested = float(np.mean([d["threshold"] for d in directions]))
    return {"flag_share": flag_share, "directions": directions, "suggested": suggested,
            "judged": sum(r is not None for _, _, r in rows_right),
            "suggested_correct_flagged": corpus_flagged(rows_right, file_threshold, suggested),
            "suggested_swapped_caught": corpus_flagged(rows_wrong, file_threshold, suggested, refused)}


def calibration_text(cal: dict, intro: str, product: str) -> str:
    """A calibration's two directions as a table, and what the mean of them does."""
    table = markdown_table(
        ["chosen on", "threshold", "other half's correct transcripts flagged",
         "swapped transcripts flagged"],
        [[d["chosen_on"] + " speakers", f"{d['threshold']:.4f}",
          f"{100 * d['other_half_flagged']:.1f}%", f"{100 * d['swapped_caught']:.1f}%"]
         for d in cal["directions"]])
    return (f"{intro}\n\n{table}\n\nThe mean of the two, {cal['suggested']:.4f}, flags "
            f"{100 * cal['suggested_correct_flagged']:.1f}% of all correct transcripts and "
            f"{100 * cal['suggested_swapped_caught']:.1f}% of the swapped ones; the product's "
            f"threshold is {product}, which the table above applies.\n\n")


def align_swapped(ottc: "Ottc", pairs: list[tuple[Item, str]]
                  ) -> tuple[int, int, list[Fit], set[str]]:
    """Align each recording with another's transcript: (flagged transcript_mismatch, refused,
    the fits of those aligned, keys of those aligned that --strict refuses).
    Refusing a wrong transcript also catches it."""
    caught = refused = 0
    strict: set[str] = set()
    fits: list[Fit] = []
    for item, text in pairs:
        try:
            a = ottc.align(item, text)
        except Exception:  # noqa: BLE001 - any refusal counts, and is counted apart
            refused += 1
            continue
        caught += "transcript_mismatch" in flag_kinds(a)
        if strict_refuses(a.flags):
            strict.add(item.key)
        fits.append(fit_of(item.key, a, ottc.aligner.thresholds))
    return caught, refused, fits, strict


def strict_refuses(flags: list[str]) -> bool:
    """Whether `--strict` (its default flag kinds) refuses a recording with `flags`."""
    return bool(refusing_flags(flags, STRICT_KINDS))


FLAT_FOLDER_TRIALS = 200


def flat_folder(right: list[Fit], wrong: list[Fit], size: int,
                file_threshold: float, relative_threshold: float, seed: int = 0) -> dict:
    """A corpus run over a flat folder (every recording at the root, so one "speaker" to
    aligner/speaker_fit.py) of `size` recordings by different speakers: FLAT_FOLDER_TRIALS
    random folders of correct recordings. The share of their correct recordings flagged by the
    two tests together, and of swapped transcripts (`wrong`'s fits) caught when one takes the
    place of a folder's first recording: what pooling mixed voices costs against speaker
    folders."""
    from aligner.speaker_fit import relative_fits

    rng = random.Random(seed)
    right = [f for f in right if f.fit is not None]
    wrong = [f for f in wrong if f.fit is not None]
    flagged = judged = caught = 0

    def hit(f: Fit, r) -> bool:
        return corpus_catches(f.judged, r.relative if r else None, file_threshold,
                              relative_threshold)

    for _ in range(FLAT_FOLDER_TRIALS if right and wrong else 0):
        group = rng.sample(right, min(size, len(right)))
        rel = relative_fits([("root", f.fit) for f in group])
        flagged += sum(hit(f, r) for f, r in zip(group, rel))
        judged += len(group)
        f = wrong[rng.randrange(len(wrong))]  # in place of the folder's first recording
        caught += hit(f, relative_fits([("root", g.fit) for g in group[1:]]
                                       + [("root", f.fit)])[-1])
    return {"size": size, "correct_flagged": flagged / max(1, judged),
            "swapped_flagged": caught / max(1, FLAT_FOLDER_TRIALS)}


def share(n: int, total: int) -> str:
    return f"{n} ({100 * n / max(1, total):.1f}%)"


def unspoken_stream(done: dict[str, Alignment]) -> dict:
    """`unspoken_text` over the correct recordings' words read as one stream, in name order (a
    speaker's recordings one after another): how often correct speech has a stretch of poorly
    heard words, where a recording on its own is too short to be judged."""
    from aligner.checks import is_squeezed, phones_by_word, unspoken_text

    words, by_word = [], []
    for key in sorted(done):
        own = [w for w in done[key].words if w.label]
        words += own
        by_word += phones_by_word(own, [p for p in done[key].phones if p.label])
    stretches = unspoken_text(words, by_word, [is_squeezed(own) for own in by_word])
    return {"words": len(words), "stretches": len(stretches)}


def flag_kinds(a: Alignment) -> set[str]:
    return {flag_kind(f) for f in a.flags}


# ----------------------------------------------------------------------------- main
GOLD_HEADER = ["set", "system", "recordings", "failed", "phone boundaries", "within 10 ms",
               "within 20 ms", "95% interval (20 ms)", "within 50 ms", "mean error ms",
               "boundary F1@20", "words within 20 ms"]
TAIL_NEAR_DB = 20.0  # voicing this close to the word's loudest frame is audibly the word's


def voiced_tails(items: list[Item], hyps: dict[str, dict[str, Alignment]]) -> dict[str, dict]:
    """Per system: of its word ends at a pause, how many are followed by 60 and by 100 ms or
    more of voicing (`features.voiced_frames`) within TAIL_NEAR_DB of the word's loudest frame
    (`features.frame_levels`): a word's fading last sound left to silence
    (`boundaries.extend_into_voicing`); and its gaps between words under 100 ms, and how many
    of them are voiced throughout at the level of speech (`boundaries.voiced_through`: no
    pause at all). Each recording's voicing is measured once."""
    from aligner.audio import load_audio
    from aligner.boundaries import TAIL_PAUSE, voiced_through, voiced_tail
    from aligner.features import frame_levels, voiced_frames

    runs: dict[str, list[int]] = {name: [] for name in hyps}
    short: dict[str, list[bool]] = {name: [] for name in hyps}  # gaps under TAIL_PAUSE: voiced?
    for item in items:
        if not any(item.key in done for done in hyps.values()):
            continue
        x = np.asarray(load_audio(item.audio, 16000), np.float32)
        voiced, levels = voiced_frames(x).numpy(), frame_levels(x).numpy()
        for name, done in hyps.items():
            a = done.get(item.key)
            words = [w for w in a.words if w.label] if a is not None else []
            for k, w in enumerate(words):
                nxt = words[k + 1].start if k + 1 < len(words) else a.duration
                t, lo = int(round(w.end * 100)), int(round(w.start * 100))
                if k + 1 < len(words) and 0 < nxt - w.end < TAIL_PAUSE:
                    short[name].append(voiced_through(voiced, levels, w, words[k + 1], 0.01))
                if nxt - w.end < TAIL_PAUSE or not lo < t < len(levels):
                    continue
                stop = min(len(voiced), int(nxt * 100))
                runs[name].append(voiced_tail(voiced, levels, lo, t, TAIL_NEAR_DB, stop) * 10)
    return {name: {"word_ends_at_pauses": len(r),
                   "voiced_60ms": float(np.mean(np.array(r) >= 60)) if r else float("nan"),
                   "voiced_100ms": float(np.mean(np.array(r) >= 100)) if r else float("nan"),
                   "pauses_under_100ms": len(short[name]),
                   "voiced_throughout": int(sum(short[name]))}
            for name, r in runs.items()}


DUR_HEADER = ["phones of", "system", "phones", "median ms", "10th pct ms", "shortest ms",
              "under 30 ms", "commonest duration (share)"]


def dur_row(label: str, system: str, st: dict) -> list[object]:
    if not st:
        return [label, system, 0, "-", "-", "-", "-", "-"]
    return [label, system, st["phones"], f"{st['median_ms']:.0f}", f"{st['p10_ms']:.0f}",
            f"{st['min_ms']:.0f}", f"{100 * st['under_30ms']:.1f}%",
            f"{st['mode_ms']} ms ({100 * st['mode_share']:.1f}%)"]


def substitution_entry(ottc: "Ottc", done: dict[str, Alignment], items: list[Item], n: int) -> dict:
    """How the flags treat a transcript with one wrong word: the share of such transcripts
    flagged `transcript_mismatch`, of the replaced words flagged `low_confidence`, of those
    that are their transcript's least confident word and of those flagged `squeezed_word`, and,
    for comparison, of the words of the
    correct transcripts (`done`) flagged `low_confidence`."""
    thresholds = ottc.aligner.thresholds
    right = [f for a in done.values() for f in low_confidence_words(a, thresholds)]
    pairs = substituted_pairs(items, n)
    flagged = replaced = lowest = judged = strict = squeezed = unsaid = 0
    for item, text, i in pairs:
        try:
            a = ottc.align(item, text)
        except Exception:  # noqa: BLE001 - a refused transcript is caught as a whole
            flagged += 1
            strict += 1
            continue
        flagged += "transcript_mismatch" in flag_kinds(a)
        strict += strict_refuses(a.flags)
        words = [w for w in a.words if w.label]
        if i < len(words) and words[i].label.upper() == text.split()[i].upper():
            replaced += low_confidence_words(a, thresholds)[i]
            squeezed += flagged_on(a, {"squeezed_word"}, words[i])
            unsaid += flagged_on(a, {"unsaid_word"}, words[i])
            confs = [w.confidence if w.confidence is not None else 1.0 for w in words]
            lowest += confs[i] == min(confs)
            judged += 1
    return {"transcripts": len(pairs), "transcript_flagged": flagged, "strict": strict,
            "word_flagged": replaced / max(1, judged), "words_judged": judged,
            "word_lowest": lowest / max(1, judged), "word_squeezed": squeezed / max(1, judged),
            "word_unsaid": unsaid / max(1, judged),
            "correct_words_flagged": float(np.mean(right)) if right else 0.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True,
                    help="folder with gold-dev/ and real/speechocean762/")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--method", default=DEFAULT_METHOD, choices=list(DECODERS))
    ap.add_argument("--so-limit", type=int, default=0,
                    help="speechocean762 test utterances (0 = all 2500), evenly spaced")
    ap.add_argument("--swapped", type=int, default=200, help="recordings aligned with a wrong transcript")
    ap.add_argument("--substituted", type=int, default=400,
                    help="recordings aligned with one word of their transcript replaced")
    ap.add_argument("--added", type=int, default=400,
                    help="recordings aligned with a word put into their transcript that nobody "
                         "said")
    ap.add_argument("--truncated", type=int, default=400,
                    help="recordings aligned with the second half of their transcript left out")
    ap.add_argument("--dropped", type=int, default=400,
                    help="recordings aligned with their last word, and with their last two, "
                         "left out")
    ap.add_argument("--repeated", type=int, default=400,
                    help="recordings aligned with a word of theirs said again in the middle, the "
                         "transcript unchanged")
    ap.add_argument("--cut", type=int, default=2500,
                    help="recordings whose audio is cut at a voiced moment in its middle "
                         "(`ends_in_speech`; the audio alone is judged, nothing is aligned)")
    ap.add_argument("--words", type=int, default=300,
                    help="isolated words (FSDD digits), each aligned with its own transcript and "
                         "with another digit's")
    ap.add_argument("--no-pocketsphinx", action="store_true", help="ottc-align only (model selection)")
    ap.add_argument("--frame-grid", action="store_true",
                    help="viterbi boundaries on the 10 ms grid (Aligner.refine_boundaries off)")
    ap.add_argument("--no-snap", action="store_true",
                    help="boundaries not moved onto the spectral change (Aligner.snap_boundaries off)")
    ap.add_argument("--no-boundary-net", action="store_true",
                    help="boundaries not moved by the model's boundary network "
                         "(Aligner.place_boundaries off)")
    ap.add_argument("--pauses-in-words", action="store_true",
                    help="a word may pause between any two of its phones "
                         "(Aligner.pauses_in_words on, `--pauses-in-words`)")
    ap.add_argument("--no-voiced-ends", action="store_true",
                    help="word ends at a pause not carried over the voicing after them "
                         "(Aligner.voiced_ends off)")
    scratch_option(ap, "--cache", "OTTC_BENCH_CACHE",
                   "pocketsphinx's alignments, kept between runs",
                   "real_speech")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="real_speech")
    args = ap.parse_args(argv)
    if not has_data(args.data):
        print(f"error: {args.data} holds neither gold-dev/ recordings nor real/speechocean762/: "
              "nothing to measure (give --data the real-speech folder, e.g. ../shared/data from a "
              "checkout beside it); no page written", file=sys.stderr)
        return 2
    set_threads(args.threads)
    started = time.time()

    ottc = Ottc(args.model, args.method, refine=not args.frame_grid, snap=not args.no_snap,
                voiced_ends=not args.no_voiced_ends, boundary_net=not args.no_boundary_net)
    ottc.aligner.pauses_in_words = args.pauses_in_words
    systems = [ottc] if args.no_pocketsphinx else [ottc, Pocketsphinx(Path(args.cache) / "pocketsphinx")]
    cmu = load_folding("cmu39")

    # 1. hand-labelled recordings
    gold_rows, gold_data, dur_rows, dur_data = [], [], [], []
    pooled: dict[str, tuple[list, list, int, int]] = {s.name: ([], [], 0, 0) for s in systems}
    gold_durations: list[list[Interval]] = []
    hyp_gold_alignments: dict[str, list[Alignment]] = {s.name: [] for s in systems}
    for folder, fold_name in GOLD_SETS.items():
        items = gold_items(args.data / "gold-dev" / folder)
        if not items:
            print(f"warning: no recordings in {args.data / 'gold-dev' / folder}", file=sys.stderr)
            continue
        fold = load_folding(fold_name)
        gold_durations += [fold.fold_phones(it.gold_phones) for it in items]
        for system in systems:
            hyps, failed, _ = run(system, items)
            for key, reason in failed.items():
                print(f"{system.name}: {key}: {reason}", file=sys.stderr)
            phones, words = score_gold(items, hyps, fold, cmu)
            row, data = tier_row(folder, system.name, len(items), len(failed), phones, words)
            gold_rows.append(row)
            gold_data.append(data)
            p, w, n, f = pooled[system.name]
            pooled[system.name] = (p + phones, w + words, n + len(items), f + len(failed))
            hyp_gold_alignments[system.name] += list(hyps.values())
    for name, (p, w, n, f) in pooled.items():
        row, data = tier_row("gold-dev pooled", name, n, f, p, w)
        gold_rows.append(row)
        gold_data.append(data)
    gold_dur = duration_stats(phone_durations(gold_durations))
    dur_rows.append(dur_row("gold-dev", "gold (people)", gold_dur))
    dur_data.append({"set": "gold-dev", "system": "gold", **gold_dur})
    for name, alignments in hyp_gold_alignments.items():
        st = duration_stats(phone_durations([cmu.fold_phones(a.phones) for a in alignments]))
        dur_rows.append(dur_row("gold-dev", name, st))
        dur_data.append({"set": "gold-dev", "system": name, **st})
    print(markdown_table(GOLD_HEADER, gold_rows), file=sys.stderr)

    # 2-3. speechocean762 test speakers
    so_rows, so_data, agree_rows, tail_rows = [], {}, [], []
    so_root = args.data / "real" / "speechocean762"
    items = speechocean_test(so_root, args.so_limit) if so_root.is_dir() else []
    if items:
        hyps = {}
        for system in systems:
            done, failed, seconds = run(system, items)
            hyps[system.name] = done
            audio_s = sum(float(a.duration) for a in done.values())
            st = duration_stats(phone_durations([cmu.fold_phones(a.phones) for a in done.values()]))
            dur_rows.append(dur_row("speechocean762 test", system.name, st))
            dur_data.append({"set": "speechocean762 test", "system": system.name, **st})
            entry = {"recordings": len(items), "failed": len(failed), "seconds": seconds,
                     "audio_seconds": audio_s}
            if system is ottc:
                kinds = [flag_kinds(a) for a in done.values()]
                entry["mismatch_flagged"] = sum("transcript_mismatch" in k for k in kinds)
                entry["any_flag"] = sum(bool(k) for k in kinds)
                entry["files_by_flag"] = dict(Counter(k for ks in kinds for k in ks).most_common())
                pairs = swapped_pairs(items, args.swapped)
                caught, refused, wrong_fits, wrong_strict = align_swapped(ottc, pairs)
                swapped_strict = len(wrong_strict) + refused
                entry.update(swapped=len(pairs), swapped_flagged=caught, swapped_refused=refused,
                             swapped_strict=swapped_strict)
                right_strict = {k for k, a in done.items() if strict_refuses(a.flags)}
                entry["strict_refused"] = len(right_strict)
                entry["substituted"] = substitution_entry(ottc, done, items, args.substituted)
                entry["added"] = addition_entry(ottc, done, items, args.added)
                entry["truncated"] = truncation_entry(ottc, done, items, args.truncated)
                entry["dropped"] = {drop: truncation_entry(ottc, done, items, args.dropped, drop)
                                    for drop in (1, 2)}
                entry["repeated"] = repetition_entry(ottc, done, items, args.repeated)
                entry["cut"] = cut_entry(done, items, args.cut, ottc.aligner.sample_rate)
                entry["unspoken_stream"] = unspoken_stream(done)
                right_fits = [fit_of(k, a, ottc.aligner.thresholds) for k, a in done.items()]
                entry["calibration"] = calibrate_fit(right_fits, wrong_fits, refused)
                th = ottc.aligner.thresholds
                rows_right, rows_wrong = relative_rows(right_fits, wrong_fits)
                entry["corpus_calibration"] = calibrate_relative_fit(
                    rows_right, rows_wrong, refused, th.min_transcript_fit)
                entry["corpus_flagged"] = corpus_flagged(rows_right, th.min_transcript_fit,
                                                         th.min_relative_fit)
                entry["corpus_swapped_caught"] = corpus_flagged(
                    rows_wrong, th.min_transcript_fit, th.min_relative_fit, refused)
                entry["corpus_strict"] = corpus_flagged(rows_right, th.min_transcript_fit,
                                                        th.min_relative_fit, strict=right_strict)
                entry["flat_folders"] = [flat_folder(right_fits, wrong_fits, size,
                                                     th.min_transcript_fit, th.min_relative_fit)
                                         for size in (5, 20)]
                entry["corpus_swapped_strict"] = corpus_flagged(
                    rows_wrong, th.min_transcript_fit, th.min_relative_fit, refused, wrong_strict)
                confs = [w.confidence for a in done.values() for w in a.words
                         if w.label and w.confidence is not None]
                entry["mean_word_confidence"] = float(np.mean(confs)) if confs else None
                so_rows.append([
                    "speechocean762 test (correct transcripts)", len(items), len(failed),
                    f"{entry['mismatch_flagged']} ({100 * entry['mismatch_flagged'] / max(1, len(done)):.1f}%)",
                    f"{share(entry['any_flag'], len(done))}; refused by `--strict`: "
                    f"{share(entry['strict_refused'], len(done))}; files with each flag: "
                    + ", ".join(f"{kind} {100 * n / max(1, len(done)):.1f}%"
                                for kind, n in entry["files_by_flag"].items())])
                so_rows.append([
                    "swapped transcripts (another utterance's text, no word in common)", len(pairs), "-",
                    f"{caught + refused} ({100 * (caught + refused) / max(1, len(pairs)):.1f}%; "
                    f"{refused} refused)",
                    f"refused by `--strict`: {share(swapped_strict, len(pairs))}"])
                sub = entry["substituted"]
                so_rows.append([
                    "one word of the transcript replaced by another", sub["transcripts"], "-",
                    f"{sub['transcript_flagged']} ({100 * sub['transcript_flagged'] / max(1, sub['transcripts']):.1f}%)",
                    f"the replaced word flagged `low_confidence`: {100 * sub['word_flagged']:.1f}% "
                    f"(the correct transcripts' words: {100 * sub['correct_words_flagged']:.1f}%); "
                    f"the transcript's least confident word: {100 * sub['word_lowest']:.1f}%; "
                    f"flagged `squeezed_word`: {100 * sub['word_squeezed']:.1f}%; "
                    f"flagged `unsaid_word`: {100 * sub['word_unsaid']:.1f}%; "
                    f"refused by `--strict`: {share(sub['strict'], sub['transcripts'])}"])
                add = entry["added"]
                so_rows.append([
                    "a word put into the transcript that nobody said", add["transcripts"], "-",
                    f"{100 * add['transcript_mismatch']:.1f}%",
                    f"the word flagged `unsaid_word`: {100 * add['unsaid_word']:.1f}% (the correct "
                    f"transcripts' words: {100 * add['correct_words_unsaid']:.2f}%, their "
                    f"recordings: {100 * add['correct_recordings_unsaid']:.1f}%); "
                    f"`low_confidence`: {100 * add['low_confidence']:.1f}%; any flag on the word: "
                    f"{100 * add['any_word_flag']:.1f}%; the transcripts' other words flagged "
                    f"`unsaid_word`: {100 * add['other_words_unsaid']:.2f}%"])
                cut = entry["truncated"]
                so_rows.append([
                    "the second half of the transcript left out", cut["transcripts"], "-",
                    f"{100 * cut['transcript_mismatch']:.1f}%",
                    f"`untranscribed_speech`: {100 * cut['untranscribed_speech']:.1f}% (the correct "
                    f"transcripts: {100 * cut['correct_untranscribed']:.1f}%); either flag: "
                    f"{100 * cut['either']:.1f}%; refused by `--strict`: {100 * cut['strict']:.1f}%"])
                for drop, cut in entry["dropped"].items():
                    so_rows.append([
                        f"the last {'word' if drop == 1 else f'{drop} words'} of the transcript "
                        "left out", cut["transcripts"], "-",
                        f"{100 * cut['transcript_mismatch']:.1f}%",
                        f"`stretched_last_word`: {100 * cut['stretched_last_word']:.1f}% (the "
                        f"correct transcripts: {100 * cut['correct_stretched']:.1f}%); "
                        f"`untranscribed_speech`: {100 * cut['untranscribed_speech']:.1f}%; any "
                        f"of the three: {100 * cut['any']:.1f}%; refused by `--strict`: "
                        f"{100 * cut['strict']:.1f}%"])
                rep = entry["repeated"]
                so_rows.append([
                    "a word said twice (audio edited: repeated before the middle word), "
                    "the transcript unchanged", rep["recordings"], "-",
                    f"{100 * rep['transcript_mismatch']:.1f}%",
                    f"`untranscribed_speech`: {100 * rep['untranscribed_speech']:.1f}%; either "
                    f"flag: {100 * rep['either']:.1f}%; refused by `--strict`: "
                    f"{100 * rep['strict']:.1f}%"])
                cut = entry["cut"]
                so_rows.append([
                    "the audio cut at a voiced moment in its middle (the transcript whole)",
                    cut["recordings"], "-", "-",
                    f"`ends_in_speech`: {100 * cut['flagged']:.1f}% (the correct recordings: "
                    f"{100 * cut['correct_flagged']:.2f}%)"])
                stream = entry["unspoken_stream"]
                so_rows.append([
                    "the correct recordings' words read as one stream, in name order",
                    len(done), "-", "-",
                    f"`unspoken_text`: {stream['stretches']} stretch(es) in {stream['words']} words "
                    f"({1000 * stream['stretches'] / max(1, stream['words']):.2f} per 1000)"])
                so_rows.append([
                    "the same in a corpus run (each judged against its speaker's other recordings)",
                    len(rows_right), "-", f"{100 * entry['corpus_flagged']:.1f}%",
                    f"refused by `--strict`: {100 * entry['corpus_strict']:.1f}%"])
                so_rows.append([
                    "swapped transcripts in a corpus run", len(rows_wrong) + refused, "-",
                    f"{100 * entry['corpus_swapped_caught']:.1f}%",
                    f"refused by `--strict`: {100 * entry['corpus_swapped_strict']:.1f}%"])
                for flat in entry["flat_folders"]:
                    so_rows.append([
                        f"a corpus run over a flat folder of {flat['size']} recordings by "
                        f"different speakers (one speaker to the run), {FLAT_FOLDER_TRIALS} "
                        "random folders; a swapped transcript in place of one of them",
                        flat["size"], "-",
                        f"correct {100 * flat['correct_flagged']:.1f}%, swapped "
                        f"{100 * flat['swapped_flagged']:.1f}%", "-"])
            so_data[system.name] = entry
            print(f"{system.name}: {len(done)} aligned, {len(failed)} failed, {seconds:.0f} s",
                  file=sys.stderr)
        if len(systems) > 1:
            scores = [score_tier(cmu.fold_phones(hyps["pocketsphinx"][k].phones),
                                 cmu.fold_phones(a.phones))
                      for k, a in hyps[ottc.name].items() if k in hyps["pocketsphinx"]]
            s = summarise_tier(scores)
            agree_rows.append([len(scores), s.boundaries, f"{100 * s.within[20]:.1f}%",
                               f"{s.mean_ms:.1f}", f"{s.median_ms:.1f}"])
            so_data["agreement"] = {"recordings": len(scores), "boundaries": s.boundaries,
                                    "within_20ms": s.within[20], "mean_ms": s.mean_ms,
                                    "median_ms": s.median_ms}
        so_data["voiced_tails"] = voiced_tails(items, hyps)
        for name, t in so_data["voiced_tails"].items():
            tail_rows.append([name, t["word_ends_at_pauses"], f"{100 * t['voiced_60ms']:.1f}%",
                              f"{100 * t['voiced_100ms']:.1f}%", t["pauses_under_100ms"],
                              t["voiced_throughout"]])

    # 4. isolated words
    word_rows, word_data = [], {}
    fsdd = isolated_words(args.data / "real" / "fsdd", args.words) if args.words else []
    if fsdd:
        done, failed, _ = run(ottc, fsdd)
        for key, reason in failed.items():
            print(f"{ottc.name}: {key}: {reason}", file=sys.stderr)
        kinds = [flag_kinds(a) for a in done.values()]
        word_data = {"recordings": len(fsdd), "failed": len(failed),
                     "mismatch_flagged": sum("transcript_mismatch" in k for k in kinds),
                     "any_flag": sum(bool(k) for k in kinds),
                     "ends_in_speech": sum("ends_in_speech" in k for k in kinds),
                     "strict_refused": sum(strict_refuses(a.flags) for a in done.values()),
                     "speakers": len({it.key.split("/")[0] for it in fsdd})}
        word_rows.append(["FSDD digits (correct transcripts)", len(fsdd), len(failed),
                          f"{word_data['mismatch_flagged']} ({100 * word_data['mismatch_flagged'] / max(1, len(done)):.1f}%)",
                          f"{word_data['any_flag']} ({100 * word_data['any_flag'] / max(1, len(done)):.1f}%; "
                          f"`ends_in_speech` {word_data['ends_in_speech']}); refused by "
                          f"`--strict`: {share(word_data['strict_refused'], len(done))}"])
        pairs = swapped_pairs(fsdd, len(fsdd))
        caught, refused, _, wrong_strict = align_swapped(ottc, pairs)
        swapped_strict = len(wrong_strict) + refused
        word_data.update(swapped=len(pairs), swapped_flagged=caught, swapped_refused=refused,
                         swapped_strict=swapped_strict)
        word_rows.append(["another word's transcript (another digit)", len(pairs), "-",
                          f"{caught + refused} ({100 * (caught + refused) / max(1, len(pairs)):.1f}%; "
                          f"{refused} refused)",
                          f"refused by `--strict`: {share(swapped_strict, len(pairs))}"])
        # the same recordings as a corpus run with a folder per speaker aligns them
        speakers = ottc.use_speakers(fsdd)
        done, failed, _ = run(ottc, fsdd)
        flagged = sum("transcript_mismatch" in flag_kinds(a) for a in done.values())
        caught, refused, _, _ = align_swapped(ottc, pairs)
        ottc.aligner.speaker_priors = {}
        word_data["speaker_statistics"] = {"speakers": speakers, "mismatch_flagged": flagged,
                                           "failed": len(failed), "swapped_flagged": caught,
                                           "swapped_refused": refused}
        word_rows.append(["correct transcripts, each speaker's statistics (a corpus run with "
                          "a folder per speaker)", len(fsdd), len(failed),
                          f"{flagged} ({100 * flagged / max(1, len(done)):.1f}%)", "-"])
        word_rows.append(["another digit's transcript, each speaker's statistics", len(pairs),
                          "-", f"{caught + refused} ({100 * (caught + refused) / max(1, len(pairs)):.1f}%; "
                          f"{refused} refused)", "-"])

    m = machine()
    model_name = args.model or "models/english (shipped)"
    body = (f"Model `{model_name}`, decoding `{args.method}`"
            f"{' on the 10 ms frame grid' if args.frame_grid else ''}"
            f"{' without snapping to spectral change' if args.no_snap and not args.frame_grid else ''}"
            f"{' without carrying word ends over the voicing after them' if args.no_voiced_ends else ''}"
            f"{' without the boundary network' if args.no_boundary_net and not args.frame_grid else ''}"
            "; pocketsphinx 5 with its bundled US "
            f"English model. Gold labels folded as described in the script's docstring.\n\n"
            f"### Hand-labelled real recordings (gold-dev)\n\n{markdown_table(GOLD_HEADER, gold_rows)}\n\n"
            f"### Phone durations on real speech\n\n{markdown_table(DUR_HEADER, dur_rows)}\n\n")
    if so_rows:
        body += ("### speechocean762 test speakers (learners, adults and children; never trained on)"
                 f"\n\n{markdown_table(['ottc-align on', 'recordings', 'failed', 'flagged transcript_mismatch', 'any flag'], so_rows)}\n\n")
    if tail_rows:
        body += ("Word ends at a pause (100 ms or more before the next word) followed by voicing "
                 f"within {TAIL_NEAR_DB:g} dB of the word's loudest frame, on the same recordings "
                 "(a word's fading last sound left to silence):\n\n"
                 + markdown_table(["system", "word ends at a pause", "followed by 60 ms or more",
                                   "100 ms or more", "pauses under 100 ms",
                                   "of which voiced throughout"], tail_rows) + "\n\n")
    cal = so_data.get(ottc.name, {}).get("calibration")
    if cal:
        body += calibration_text(
            cal, "Calibration of `transcript_fit` (over the noise allowance, "
            "`checks.judged_fit`) by speaker halves (the threshold that flags "
            f"{100 * cal['flag_share']:g}% of one half's correct transcripts, checked on the other "
            "half):", "`Thresholds.min_transcript_fit` (aligner/checks.py)")
    ccal = so_data.get(ottc.name, {}).get("corpus_calibration")
    if ccal:
        body += calibration_text(
            ccal, "In a corpus run each recording is also judged against its speaker's other "
            f"recordings (aligner/speaker_fit.py; {ccal['judged']} of the correct recordings have "
            "enough others). Calibration of that relative fit by speaker halves (the threshold "
            f"that flags {100 * ccal['flag_share']:g}% of one half's correct transcripts on its "
            "own, checked on the other half together with the single-recording threshold):",
            "`Thresholds.min_relative_fit`")
    if word_rows:
        body += ("### Isolated words (FSDD spoken digits, 8 kHz, "
                 f"{word_data['speakers']} speakers; not trained on)\n\n"
                 + markdown_table(["ottc-align on", "recordings", "failed",
                                   "flagged transcript_mismatch", "any flag"], word_rows) + "\n\n")
    if agree_rows:
        body += ("Agreement with pocketsphinx on the same recordings (a proxy, not accuracy):\n\n"
                 + markdown_table(["recordings", "phone boundaries", "within 20 ms of pocketsphinx",
                                   "mean distance ms", "median ms"], agree_rows) + "\n\n")
    body += machine_lines(m) + f"- Wall time: {time.time() - started:.0f} s\n"
    print(body)
    write_results(args.name, "Real speech: ottc-align and pocketsphinx", body,
                  {"machine": m, "model": model_name, "method": args.method, "gold": gold_data,
                   "durations": dur_data, "speechocean762_test": so_data,
                   "isolated_words": word_data})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
