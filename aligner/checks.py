"""Flags for alignments that are probably wrong.

A forced aligner always returns *some* alignment, even for the wrong transcript or a broken
recording. These cheap checks look for the signs people would spot by eye in Praat (a word
stretched over seconds, a phone longer than 0.7 s, one token taking most of the recording,
very low confidence) so that a corpus run can list them in its report and `--strict` can turn
them into failures. Pure functions over `Alignment`; no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from numbers import Integral, Real

import numpy as np

from aligner.alignment import (FRAME_SECONDS, Alignment, Evidence, Interval, Uncovered,
                               frame_span, mean_word_confidence)
from aligner.quantile import percentile
from aligner.text.phones import BLANK_ID, SILENCE_ID, SPOKEN_NOISE, STAR, VOICELESS, strip_stress


@dataclass(frozen=True)
class Thresholds:
    """Limits beyond which an alignment is flagged. Defaults are deliberately loose: a flag should
    mean "look at this", not "normal speech"."""

    # Below: a word whose phones the model barely hears. On learners' speech (speechocean762's
    # held-out speakers) word confidences run low: 0.05 flagged 88% of correct recordings,
    # 0.0013 flags 10.5% (benchmarks/real_speech.py's 2500 recordings, shipped model). Raised
    # in background noise (`word_confidence_floor`).
    min_word_confidence: float = 0.0013
    # Below: the transcript probably does not match the audio. Calibrated on real speech, the
    # held-out speechocean762 speakers (benchmarks/real_speech.py: the mean of the thresholds
    # that flag 1.75% of each half of the speakers' correct transcripts, 0.0046 and 0.0050 for
    # the model shipped in session 45; 1.7% of all correct and 93.5% of 400 swapped transcripts
    # flagged).
    min_transcript_fit: float = 0.0048
    # ... raised in background noise (`noise_allowance`): by a factor of
    # e^noise_allowance_per_db for each dB that the pauses lie less than
    # noise_allowance_from_db below the words after pre-emphasis (hiss over hum), counted
    # down to NOISE_ALLOWANCE_FLOOR_DB (1.42 times the threshold at most, at these values;
    # noise_allowance_from_db at 15 or below, or per_db 0, turns it off). Why: steady noise
    # flattens the model's posteriors, and a wrong transcript then fits better while a correct
    # one fits about as well as in quiet: with white noise 15 dB below the learners' speech the
    # fixed threshold caught 73% of swapped transcripts (93% as recorded), this one 85%. Chosen by
    # speaker halves on the held-out learners with white, pink, mains hum and babble added
    # (benchmarks/mismatch_in_noise.py).
    noise_allowance_from_db: float = 22.0
    noise_allowance_per_db: float = 0.05
    # ... and multiplied by this in audio of a narrow band (`band_allowance`: recorded at 8 kHz;
    # a phone call recorded at a higher rate with hiss above 4 kHz is not told apart), where
    # correct transcripts fit worse: the same calibration by speaker halves on copies of the
    # held-out learners coded as a phone line would (300-3400 Hz at 8 kHz as PCM, G.711
    # mu-law, GSM 06.10) chose 0.93, 0.875 and 0.875 times the threshold chosen on the
    # recordings as they are, for the model shipped in session 45 (benchmarks/telephone.py;
    # the model before: 0.84). 1 turns it off.
    narrow_band_factor: float = 0.89
    # Below: in a corpus run, the transcript fits far worse than the speaker's other recordings
    # (aligner/speaker_fit.py: fit / sqrt(their median fit)). Calibrated as the one above, at
    # 0.75% of correct transcripts (0.0220 and 0.0221 from the two halves); beside it, on the
    # same speakers, 1.8% of correct and 94.5% of swapped transcripts flagged (docs/usage.md).
    min_relative_fit: float = 0.0221
    min_mean_confidence: float = 0.15  # the same test for alignments without a transcript_fit
    # Below: no voice in the recording (features.voiced_share). Of speechocean762's 2500
    # held-out learner recordings, children included, the least voiced is 0.78% (a breathy
    # child's voice; 1% of them under 18%); white, pink and brown noise and mains hum 0-0.1%,
    # 30 of 30 samples of each under this threshold (docs/usage.md). The model
    # hears speech in such noise and a transcript fits. Under it, `align_waveform` looks again in
    # the band of a voice's low harmonics (`features.voiced_share_in_noise`): speech in hiss.
    min_voiced_share: float = 0.005
    # Above: seconds of voiced speech that no word covers (voiced_outside_words): part of what
    # was said is probably missing from the transcript. For an utterance TextGrid's turns
    # (`untranscribed_turns`); a text transcript's words are judged by max_speech_outside.
    max_voiced_outside: float = 0.8
    # Above: seconds of speech, voiced or heard by the model (`heard_speech`), that no word of
    # a text transcript covers. Voicing alone missed learners' quiet, creaky or whispered
    # speech; with the model's ear (chosen on 900 held-out learner recordings among 0.8-1.0 s
    # and 5-20%), 0.6% of 2500 correct transcripts are flagged (voicing above 0.8 s: 0.5%) and
    # 48.8% of 400 with their second half left out (36.5%), none more in white, pink or hum
    # noise at 10 dB (benchmarks/real_speech.py; docs/usage.md).
    max_speech_outside: float = 0.9
    # Above: seconds of such speech inside one pause of LONG_PAUSE or more between two words
    # (`speech_in_pause`: a sentence said twice). Chosen on 1200 held-out learner recordings
    # (0.9% of their correct transcripts flagged) against 150 of them said twice (5% split
    # across the two with no flag that doubts the recording, and 9% with 2 s between them,
    # instead of 35% and 41%).
    max_speech_in_pause: float = 0.3
    # A word of this many phones or more, none of them longer than squeezed_phone_seconds, was
    # probably not said as written: the aligner squeezed its phones into what little the audio
    # offered (a nonword target where the speaker said "big": 12 phones of 13-47 ms). 0.5% of
    # the 2500 correct learner recordings have one, none of 27 native recordings (gold-dev,
    # real/misc); of 300 transcripts with one word replaced, 8.0% of the replaced words are
    # (three phones or more, of 45 ms or less: 1% of 300 correct learner recordings, and native
    # "and", "will").
    squeezed_min_phones: int = 4
    squeezed_phone_seconds: float = 0.055
    max_word_seconds: float = 4.0
    # Above: a phone this long is more than a phone (a filler or a held note taken into it: a
    # 1 s "aaa" became the word "a"). Of the 2500 correct learner recordings, 0.7% have a phone
    # over 0.7 s (of 300 of them, 0.3% over 0.7 s as over 1 s; 1.3% over 0.6 s, 4.3% over 0.5 s).
    max_phone_seconds: float = 0.7
    # Above: seconds of a pause inside a word (`pause_in_word`: a stutterer's block, a word read
    # syllable by syllable, with `--pauses-in-words`; a pause between a reading's words): a
    # place to look at, and to count in a study of dysfluency.
    max_pause_in_word: float = 0.25
    max_token_share: float = 0.5  # of the non-silent audio given to one token
    min_duration_for_share: float = 2.0  # the share check needs a recording this long
    # Above: seconds by which two speakers' utterance intervals of a TextGrid transcript
    # overlap (`overlapping_speech`). Each speaker is aligned on the audio of its own
    # intervals as if alone, so in an overlap a word can be placed on the other voice (a
    # reader's "young man" given to the other speaker's "The").
    max_overlap_seconds: float = 0.1

    # A stressed vowel at most this long (s) whose confidence is under unheard_vowel_confidence
    # was not heard where it was placed (`unheard_vowel`): the decoder gave it the least it
    # could, and its duration is no measurement. On 600 held-out learner recordings 2.5% of
    # correct transcripts hold one, and 7.5% of transcripts with one word replaced hold one on
    # that word (a stressed vowel of 12 ms, confidence 3e-05, on silence: EGGPLANT's EH1).
    unheard_vowel_seconds: float = 0.015
    unheard_vowel_confidence: float = 0.001
    # The transcript's last word lasting this many seconds (s) more than its phones take at
    # the recording's own pace (the median seconds per phone of its words) was stretched over
    # words the transcript left out at its end (`stretched_last_word`). Chosen on 500 held-out
    # learner recordings of four words or more (two halves of 250 agreed): 1.0% of correct
    # transcripts, with the last word left out 8.4%, the last two 15.8%. benchmarks/
    # real_speech.py: 1.5% of all 2500 correct ones; 10.0% and 14.2% of 400 with the last word
    # or two left out (with the whole-recording flags 17.2% and 40.0%).
    max_last_word_stretch: float = 0.33
    # Above: the recording fits this many nats better without a doubtful word (confidence
    # under word_evidence.DOUBTFUL_CONFIDENCE) than with it: the word was probably not said
    # (`unsaid_word`: a word a reader skipped, a transcript's extra word). Chosen by speaker
    # halves at 1% of the words of speechocean762's 2500 held-out correct learner transcripts
    # (20.8 and 17.6 nats; 1.1% of their words flagged, in 6.5% of the recordings); it flags
    # 74.0% of 400 words put into those transcripts where nobody said them, where
    # `low_confidence` flags 30.2% (benchmarks/real_speech.py, `--added`).
    max_unsaid_gain: float = 19.0

    # A stretch of a longer transcript the speaker probably did not say (`unspoken_text`: a
    # sentence skipped, text that was never read) is crammed between the words around it: its
    # words come out barely heard, or squeezed, or both short and poorly heard, several in a
    # row, where on correct speech such words come alone. Calibrated on speechocean762's
    # held-out learners (`benchmarks/long_real.py` measures detection). Chosen on half of them:
    # no window of 6 words held 4 such words among 7912 words of 1250 correct recordings
    # aligned one by one and read as one stream, nor in 7 minutes of their sentences aligned as
    # one recording, while one or three sentences (4-20 words) typed into that recording's
    # transcript where nobody said them were found each time (12 of 12: two sets of sentences
    # at three places). On the other half, 5 stretches among 8055 words; over all 2500 correct
    # recordings read as one stream, 7 in 15967 words (benchmarks/real_speech.py: 0.44 per 1000
    # words; `low_confidence` marks 13 per 1000).
    unspoken_window: int = 6  # words
    unspoken_poor: int = 4  # of them barely heard, squeezed, or short and poorly heard
    unspoken_confidence: float = 0.003  # barely heard
    unspoken_short_confidence: float = 0.05  # poorly heard, ...
    unspoken_short_phone: float = 0.045  # s: ... with no phone longer (two phones or more)

    def __post_init__(self) -> None:
        """Refuse a limit no check can use, naming it: a string ("0.1") failed later inside a
        check with a bare TypeError, and -1 or NaN turned a flag off without a word."""
        for f in fields(self):
            value = getattr(self, f.name)
            if (problem := _limit_problem(f.name, f.type in ("int", int), value)) is not None:
                raise ValueError(f"Thresholds({f.name}={value!r}): {problem}")

    def changed(self) -> str:
        """The limits set away from their defaults, `name=value` joined by commas ("" for
        none): what a corpus run records in its report's settings."""
        default = Thresholds()
        return ",".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                        if getattr(self, f.name) != getattr(default, f.name))


def _limit_problem(name: str, whole: bool, value: object) -> str | None:
    """Why `value` cannot be the limit `name` (a whole number when `whole`), or None: the one
    judgement behind `Thresholds` and `--threshold`."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return "give a number"
    if not 0 <= value < math.inf:
        return "must be 0 or more, and finite"
    if whole and not isinstance(value, Integral):
        return "give a whole number"
    if name == "narrow_band_factor" and not 0 < value <= 1:
        return ("a factor over 0 and at most 1 (1 turns it off; over 1 would flag narrow-band "
                "audio more, 0 never)")
    return None


def parse_thresholds(items: Sequence[str]) -> Thresholds:
    """Thresholds from `--threshold NAME=VALUE` items (a field of `Thresholds`, a number >= 0),
    the others at their defaults. Raises ValueError naming the bad item and the valid names.

    Why: the defaults are set on read and learner speech; a study of stuttering or dysarthria
    holds phones longer than max_phone_seconds and speech the transcript does not hold, and
    needs its own limits to keep `--strict` and the flags meaningful."""
    names = {f.name: f.type for f in fields(Thresholds)}
    changes: dict[str, float | int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in names:
            raise ValueError(f"--threshold {item!r}: give NAME=VALUE, NAME one of "
                             f"{', '.join(names)}")
        whole = names[name] in ("int", int)
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isnan(number):
            raise ValueError(f"--threshold {item!r}: {value.strip()!r} is not a number")
        number = int(number) if whole and number.is_integer() else number
        if (problem := _limit_problem(name, whole, number)) is not None:
            raise ValueError(f"--threshold {item!r}: {problem}")
        changes[name] = number
    return replace(Thresholds(), **changes)


class Flag(str):
    """A warning message that is still a `str` (so `Alignment.flags: list[str]` holds it) but
    also carries what it refers to, so JSON and CSV writers can attach it to the entry."""

    kind: str
    tier: str
    start: float | None
    end: float | None
    label: str

    def __new__(cls, kind: str, message: str, tier: str = "", start: float | None = None,
                end: float | None = None, label: str = "") -> "Flag":
        obj = super().__new__(cls, f"{kind}: {message}")
        obj.kind, obj.tier, obj.start, obj.end, obj.label = kind, tier, start, end, label
        return obj

    @property
    def message(self) -> str:
        """The text after `kind: `."""
        return str(self).split(": ", 1)[1] if ": " in str(self) else str(self)

    def __reduce__(self):  # keep the attributes through pickling (worker processes)
        return (Flag, (self.kind, self.message, self.tier, self.start, self.end, self.label))

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": str(self), "tier": self.tier, "start": self.start,
                "end": self.end, "label": self.label}


def for_speaker(flag: Flag, speaker: str) -> Flag:
    """`flag` of one speaker's tiers in a recording of several: its message names the speaker
    and its tier is the output's (`ruth - words`). Why: the report, the terminal and the CSV pool
    the speakers' flags, and "transcript fit 0.0008 is very low" did not say whose transcript."""
    tier = f"{speaker} - {flag.tier}" if flag.tier else ""
    return Flag(flag.kind, f"[{speaker}] {flag.message}", tier, flag.start, flag.end, flag.label)


def flag_kind(flag: str) -> str:
    """`low_confidence`, `long_word`, ...: a flag is a `Flag` or, once it has been through a
    worker process or a report, its text `kind: message`."""
    return getattr(flag, "kind", None) or str(flag).split(":", 1)[0]


def flag_kinds(flags: Iterable[str]) -> dict[str, int]:
    """How many flags of each kind, in the order the kinds first appear (`find_flags` puts the
    utterance-wide `transcript_mismatch` first): what summaries print instead of hundreds of
    lines."""
    return dict(Counter(flag_kind(f) for f in flags))


# Every flag kind: those that doubt a whole recording first, then those of one word or phone.
FLAG_KINDS = ("transcript_mismatch", "no_speech", "untranscribed_speech", "unspoken_text",
              "dominant_token", "interval_beyond_audio", "interval_not_aligned",
              "interval_mismatch", "ends_in_speech", "speech_in_pause", "overlapping_speech",
              "quiet_audio", "clipped", "noisy_audio", "low_confidence", "long_word",
              "long_phone", "unheard_vowel", "squeezed_word", "stretched_last_word",
              "word_in_silence", "unsaid_word", "pause_in_word")
# What `--strict` refuses unless told otherwise: the flags that doubt the alignment as a whole
# (the transcript is not what was said, part of it is missing or was never said, one word
# swallowed the recording, the recording was cut or holds nobody speaking). A flag on one word
# or phone asks for a look at that place: 7 minutes of correct speech carry a dozen, so refusing
# on them refused every long recording and 12% of short correct ones (docs/usage.md). Nor are
# the recording's level and a conversation's overlaps signs of a wrong alignment, nor speech in a
# long pause (`speech_in_pause`): about one long pause in a hundred holds some on correct speech
# (a hesitation, a word's edge left in the pause), so every long recording would be refused.
STRICT_KINDS = frozenset(("transcript_mismatch", "no_speech", "untranscribed_speech",
                          "unspoken_text", "dominant_token", "interval_beyond_audio",
                          "interval_not_aligned", "interval_mismatch", "ends_in_speech"))
# The flags about the recording (its level, noise, people talking at once), not the alignment:
# `--strict-flags` may refuse them, but a refusal then says it is the recording that is flagged.
RECORDING_KINDS = frozenset(("quiet_audio", "clipped", "noisy_audio", "overlapping_speech"))


def parse_strict_flags(text: str) -> frozenset[str]:
    """The flag kinds `--strict-flags` names (comma-separated; `all` for every kind, `default`
    for STRICT_KINDS, combinable with others). Raises ValueError naming a kind it does not know
    and the valid ones."""
    kinds: set[str] = set()
    for typed in (part.strip() for part in text.split(",")):
        item = typed.lower().replace("-", "_")
        if item == "all":
            kinds |= set(FLAG_KINDS)
        elif item == "default":
            kinds |= STRICT_KINDS
        elif item in FLAG_KINDS:
            kinds.add(item)
        elif item:
            raise ValueError(f"unknown flag kind {typed!r}; give flag kinds separated by commas "
                             f"({', '.join(FLAG_KINDS)}), 'default' or 'all'")
    if not kinds:
        raise ValueError("name at least one flag kind, 'default' or 'all'")
    return frozenset(kinds)


def refusing_flags(flags: Iterable[str], strict: frozenset[str]) -> list[str]:
    """The flags of `flags` whose kind `strict` (the kinds --strict refuses; empty: not strict)
    holds: a recording with any is refused."""
    return [f for f in flags if flag_kind(f) in strict]


# A transcript this short is judged on little: a word list's or a naming task's single word fits
# a wrong word about as well as the right one (benchmarks/real_speech.py, isolated words: a
# sixth of correct FSDD digits flagged, a quarter of another digit's transcripts not), so the
# flag says so.
FEW_WORDS = 2


def find_flags(alignment: Alignment, thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """Every reason to doubt `alignment`, in time order within each kind."""
    flags: list[Flag] = []
    words = [w for w in alignment.words if w.label]
    phones = [p for p in alignment.phones if p.label]
    mean = mean_word_confidence(words)
    fit = alignment.transcript_fit
    noise = noise_allowance(alignment.noise_margin, thresholds)
    band = band_allowance(alignment.band_edge, thresholds)
    limit = mismatch_limit(alignment.noise_margin, alignment.band_edge, thresholds)
    if fit is not None and words and fit < limit:
        weak = (f" (judged on {len(words)} word(s) only: weak evidence either way, listen to it)"
                if len(words) <= FEW_WORDS else "")
        what = " and ".join(([] if noise == 1 else ["this much background noise"])
                            + ([] if band == 1 else ["narrow-band (telephone) audio"]))
        why = (f" for {what} (threshold {limit:.3g} here, "
               f"{thresholds.min_transcript_fit:.3g} in quiet wideband audio)" if what else "")
        flags.append(Flag("transcript_mismatch",
                          f"transcript fit {fit:.3g} is very low{why}; the transcript may not "
                          f"match the audio{weak}"))
    elif fit is None and mean is not None and mean < thresholds.min_mean_confidence:
        flags.append(Flag("transcript_mismatch",
                          f"mean word confidence {mean:.2f} is very low; "
                          "the transcript may not match the audio"))
    voiced = alignment.voiced_share
    said = [p for p in phones if p.label != SPOKEN_NOISE]  # a tier of [laughter] alone says nothing
    voice = [p for p in said if strip_stress(p.label) not in VOICELESS]  # "sss" has none
    if voiced is not None and voice and voiced < thresholds.min_voiced_share:
        flags.append(Flag("no_speech",
                          f"only {voiced:.1%} of the audio aligned to this transcript is voiced: "
                          "no one seems to speak (noise or silence, whispering, or the wrong "
                          "recording)"))
    if words:
        flags += _untranscribed(alignment.voiced_outside, thresholds.max_speech_outside,
                                "the transcript's words",
                                "is part of what was said missing from the transcript?")
    floor = word_confidence_floor(alignment, thresholds)
    raised = (f" (below {floor:.2g}, the limit for this much background noise)"
              if floor > thresholds.min_word_confidence else "")
    for w in words:
        if w.confidence is not None and w.confidence < floor:
            flags.append(_entry_flag("low_confidence", "words", w,
                                     f"confidence {w.confidence:.2g}{raised}"))
    # `<star>` stands for whatever the transcript left out, of any length: a long one is its
    # job done (a naming response's "what about the..." before the word), not a doubt
    wild = [(w.start, w.end) for w in words if w.label.lower() == STAR]
    # a reading of several words ("7399": seven three nine nine) may pause between them
    pauses = phones_by_word(words, [p for p in alignment.phones if not p.label])
    for w, inner in zip(words, pauses):
        said = w.end - w.start - sum(p.end - p.start for p in inner)
        if said > thresholds.max_word_seconds and w.label.lower() != STAR:
            paused = f" ({w.end - w.start:.2f} s with its pauses)" if inner else ""
            flags.append(_entry_flag("long_word", "words", w, f"lasts {said:.2f} s{paused}"))
    for w, inner in zip(words, pauses):  # not a pause word's own silence: one inside a word
        for p in inner:
            if (w.start < p.start and p.end < w.end
                    and p.end - p.start > thresholds.max_pause_in_word):
                flags.append(_entry_flag("pause_in_word", "words", w,
                                         f"holds a {p.end - p.start:.2f} s pause at "
                                         f"{p.start:.2f}-{p.end:.2f} s (a block, a word said "
                                         "in pieces, or words the transcript leaves out?)"))
    for p in phones:
        if p.end - p.start > thresholds.max_phone_seconds and not any(
                lo <= p.start and p.end <= hi for lo, hi in wild):
            flags.append(_entry_flag("long_phone", "phones", p, f"lasts {p.end - p.start:.2f} s"))
    for p in phones:  # a stressed vowel (ARPAbet marks stress on vowels only) barely there
        if (p.label[-1:] in ("1", "2") and p.confidence is not None
                and p.confidence < thresholds.unheard_vowel_confidence
                and p.end - p.start <= thresholds.unheard_vowel_seconds + 1e-9):
            flags.append(_entry_flag("unheard_vowel", "phones", p,
                                     f"lasts {1000 * (p.end - p.start):.0f} ms and is hardly "
                                     f"heard there (confidence {p.confidence:.2g}): was it "
                                     "said? Its duration is no measurement"))
    by_word = phones_by_word(words, phones)
    squeezed = [is_squeezed(own, thresholds) for own in by_word]
    for w, own, tight in zip(words, by_word, squeezed):
        if tight:
            flags.append(_entry_flag("squeezed_word", "words", w,
                                     f"has {len(own)} phones of "
                                     f"{1000 * thresholds.squeezed_phone_seconds:.0f} ms or less: "
                                     "was it said as written (another word, a nonword, cut "
                                     "short)?"))
    flags += unspoken_text(words, by_word, squeezed, thresholds)
    speech = sum(p.end - p.start for p in phones)
    said = [i for i, w in enumerate(words) if w.label.lower() != STAR]  # nor is `<star>` here
    if len(words) >= 3 and said and speech >= thresholds.min_duration_for_share:
        k = max(said, key=lambda i: spoken_seconds(by_word[i]))  # a word's pauses aside
        biggest = words[k]
        share = spoken_seconds(by_word[k]) / speech
        own = len(by_word[k])
        expected = own / max(len(phones), 1)  # its share if every phone lasted equally long
        if share > thresholds.max_token_share and share > 3 * expected:
            flags.append(_entry_flag("dominant_token", "words", biggest,
                                     f"takes {share:.0%} of the speech time for "
                                     f"{expected:.0%} of the phones"))
    flags += stretched_last_word(words, by_word, thresholds)
    flags += unsaid_words(alignment.word_evidence, thresholds)
    return flags


def interval_mismatches(parts: Sequence[Alignment], thresholds: Thresholds = Thresholds(),
                        noise_margin: float | None = None, band_edge: float | None = None
                        ) -> list[Flag]:
    """`interval_mismatch` for each of one speaker's intervals of a transcript with several (a
    TextGrid's utterance intervals: `parts`, each aligned on its own) whose own fit is below
    the `transcript_mismatch` threshold, allowances for the recording's noise and band
    included. Why: the speaker's fit is the geometric mean over all their intervals, weighted by
    speech time, so one wrong interval among twenty hardly moves it (two texts swapped in 3
    minutes of learners: the speaker's fit 0.065, one interval aligned alone 0.0019), and
    `transcript_mismatch` said nothing. Each interval is judged as a recording of its own would
    be, by the same threshold, so a correct interval is flagged about as often as a correct
    recording."""
    if len(parts) < 2:
        return []
    limit = mismatch_limit(noise_margin, band_edge, thresholds)
    flags = []
    for a in parts:
        words = [w for w in a.words if w.label]
        if a.transcript_fit is None or not words or a.transcript_fit >= limit:
            continue
        start, end = words[0].start, words[-1].end
        flags.append(Flag("interval_mismatch",
                          f"the words of {start:.2f}-{end:.2f} s fit their interval's audio "
                          f"{a.transcript_fit:.3g}, under {limit:.3g}: that interval's transcript "
                          "may not match what was said there", "", start, end))
    return flags


def unsaid_words(evidence: Iterable[Evidence], thresholds: Thresholds = Thresholds()
                 ) -> list[Flag]:
    """`unsaid_word` for each judged word the recording fits more than `max_unsaid_gain` nats
    better without (`aligner/word_evidence.py`)."""
    return [_entry_flag("unsaid_word", "words", Interval(e.start, e.end, e.label),
                        f"fits the recording {-e.nats:.0f} nats (log-likelihood) worse than "
                        "leaving it out: was it said (skipped, or said as another word)?")
            for e in evidence if -e.nats > thresholds.max_unsaid_gain]


PACE_MIN_WORDS = 3  # a recording's pace is measured on this many words at least
PACE_WORDS = 10  # ... and on the last this many: a long recording's speakers keep their own pace


def stretched_last_word(words: Sequence[Interval], by_word: Sequence[Sequence[Interval]],
                        thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """The `stretched_last_word` flag: the last word said (markup aligned as spoken noise is
    none) lasts over `max_last_word_stretch` s more than its phones take at the recording's
    pace, the median over its words of seconds per phone. Why: a transcript that stops short
    of what was said gives the rest to its last word ("FOR" over "for a haircut": 0.93 s where
    its three phones take 0.4 s), and most such transcripts passed unflagged (the words left
    out are too short for `untranscribed_speech`). `by_word`: each word's phones. The pace is
    that of the last PACE_WORDS words: in 7 minutes of learners' sentences read one after the
    other, the whole recording's pace flagged the last sentence's slower speaker."""
    said = [(w, own) for w, own in zip(words, by_word)
            if own and any(p.label != SPOKEN_NOISE for p in own)]
    if len(said) < PACE_MIN_WORDS:
        return []
    pace = float(np.median([spoken_seconds(own) / len(own) for _, own in said[-PACE_WORDS:]]))
    last, own = said[-1]
    extra = spoken_seconds(own) - len(own) * pace
    if extra <= thresholds.max_last_word_stretch:
        return []
    return [_entry_flag("stretched_last_word", "words", last,
                        f"lasts {spoken_seconds(own):.2f} s, {extra:.2f} s more than its "
                        f"{len(own)} phone(s) take at this recording's pace: are words missing "
                        "from the end of the transcript?")]


NOISE_ALLOWANCE_FLOOR_DB = 15.0  # noisier than this raises the threshold no further


def mismatch_limit(noise_margin: float | None, band_edge: float | None,
                   thresholds: Thresholds = Thresholds()) -> float:
    """The transcript fit under which `transcript_mismatch` flags a recording, and
    `interval_mismatch` an interval of it: `min_transcript_fit` times the recording's
    `noise_allowance` and `band_allowance` (the one place both judge by)."""
    return (thresholds.min_transcript_fit * noise_allowance(noise_margin, thresholds)
            * band_allowance(band_edge, thresholds))


def noise_allowance(margin: float | None, thresholds: Thresholds = Thresholds()) -> float:
    """The factor (1 or more) by which background noise raises the `transcript_mismatch`
    threshold (and, squared, `low_confidence`'s: `word_confidence_floor`), given
    `Alignment.noise_margin` (dB, `noise_margin` on the levels after pre-emphasis; None: not
    measured, no allowance): exp(noise_allowance_per_db x how far the margin lies below
    noise_allowance_from_db, counted down to NOISE_ALLOWANCE_FLOOR_DB). See
    `Thresholds.noise_allowance_from_db`.

    Why after pre-emphasis: mains hum lowers the plain margin (`noisy_audio`'s) as much as hiss
    does, but not the posteriors: judged on that margin (the threshold rising from 28 dB, as
    first tried), hum 15 dB below the learners' speech flagged 4.0% of correct transcripts
    instead of 1.3%."""
    if margin is None:
        return 1.0
    below = thresholds.noise_allowance_from_db - max(margin, NOISE_ALLOWANCE_FLOOR_DB)
    return math.exp(thresholds.noise_allowance_per_db * max(0.0, below))


def band_allowance(edge: float | None, thresholds: Thresholds = Thresholds()) -> float:
    """The factor by which the `transcript_mismatch` threshold is multiplied for a recording
    whose `Alignment.band_edge` (Hz) lies under `features.NARROW_BAND` (audio recorded at 8 kHz,
    or upsampled from it with nothing added above 4 kHz): `narrow_band_factor`; 1 for wideband
    audio or when not measured.
    Why: such audio tells the model less, and correct transcripts fit worse (see
    `Thresholds.narrow_band_factor`); `low_confidence` keeps its floor."""
    from aligner.features import NARROW_BAND

    return thresholds.narrow_band_factor if edge is not None and edge < NARROW_BAND else 1.0


def word_confidence_floor(alignment: Alignment, thresholds: Thresholds = Thresholds()) -> float:
    """The confidence below which a word of `alignment` is flagged `low_confidence`:
    `min_word_confidence`, raised in background noise by the square of the fit's
    `noise_allowance` (twice as steeply: 2.0 times at most). Why: a wrong word's confidence
    rises in noise more than a right one's: with the fixed floor 24% of the words replaced in
    300 held-out learner transcripts were flagged as recorded and 8% with white noise 15 dB
    below the speech, with the rising one 19% (correct words: 1.6%, 1.4% as recorded; at 20
    dB 2.2%, fixed 0.6%; the values chosen on these recordings;
    benchmarks/mismatch_in_noise.py)."""
    allowance = noise_allowance(alignment.noise_margin, thresholds)
    return thresholds.min_word_confidence * allowance ** 2


def judged_fit(alignment: Alignment, thresholds: Thresholds = Thresholds()) -> float | None:
    """The transcript fit as `find_flags` weighs it against `min_transcript_fit`: the fit over
    the recording's `noise_allowance` and `band_allowance` (None where there is no fit). For
    calibrating the threshold on recordings of any noise and band."""
    if alignment.transcript_fit is None:
        return None
    return alignment.transcript_fit / (noise_allowance(alignment.noise_margin, thresholds)
                                       * band_allowance(alignment.band_edge, thresholds))


def is_squeezed(own: Sequence[Interval], thresholds: Thresholds = Thresholds()) -> bool:
    """Whether a word with phones `own` is a `squeezed_word`: squeezed_min_phones or more, none
    longer than squeezed_phone_seconds."""
    return (len(own) >= thresholds.squeezed_min_phones
            and max(p.end - p.start for p in own) <= thresholds.squeezed_phone_seconds)


def unspoken_text(words: Sequence[Interval], by_word: Sequence[Sequence[Interval]],
                  squeezed: Sequence[bool], thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """`unspoken_text` flags: stretches of a transcript of more than two windows' worth of
    words where `unspoken_poor` of `unspoken_window` consecutive words are poor (barely heard,
    squeezed, or short and poorly heard: `Thresholds`), from the first such word to the last. A shorter
    transcript is one stretch, and `transcript_mismatch` judges it whole. `by_word`: each
    word's phones; `squeezed`: whether each word is a `squeezed_word`. Markup aligned as
    spoken noise or the wildcard (`[noise]`, `<unk>`, `<star>`) is no word here: it would
    thin out the words it stands between."""
    said = [(w, own, tight) for w, own, tight in zip(words, by_word, squeezed)
            if any(p.label != SPOKEN_NOISE for p in own)]  # not [noise], <unk>, <star>
    th = thresholds
    window, need = th.unspoken_window, max(1, th.unspoken_poor)  # a stretch holds a poor word
    if window < 1 or len(said) <= 2 * window:
        return []
    words = [w for w, _, _ in said]
    poor = [tight or (w.confidence is not None and (
        w.confidence < th.unspoken_confidence
        or (w.confidence < th.unspoken_short_confidence and len(own) >= 2
            and round(max(p.end - p.start for p in own), 3) <= th.unspoken_short_phone)))  # to ms
        for w, own, tight in said]
    stretches: list[list[int]] = []  # [first, last] poor word of overlapping dense windows
    for i in range(len(words) - window + 1):
        if sum(poor[i:i + window]) < need:
            continue
        inside = [k for k in range(i, i + window) if poor[k]]
        if stretches and inside[0] <= stretches[-1][1]:
            stretches[-1][1] = inside[-1]
        else:
            stretches.append([inside[0], inside[-1]])
    flags = []
    for first, last in stretches:
        span = words[first:last + 1]
        flags.append(Flag("unspoken_text",
                          f"{sum(poor[first:last + 1])} of the {len(span)} words "
                          f"'{span[0].label}' ... '{span[-1].label}' at "
                          f"{span[0].start:.3f}-{span[-1].end:.3f} s are poorly heard or squeezed "
                          "together: did the speaker skip this part of the transcript (or say "
                          "it very differently)?", start=span[0].start, end=span[-1].end))
    return flags


FIT_SQUEEZED_PHONE = 0.0305  # s: a phone this short was squeezed to the decoder's shortest
# (`Thresholds.squeezed_phone_seconds`, 55 ms, judges a whole word for `squeezed_word`)
SQUEEZE_WEIGHT = 3.0


def transcript_fit(phone_lp: np.ndarray, phones: list[Interval], frame_duration: float,
                   word_confidences: list[float | None] = (), disagreement: float = 0.0
                   ) -> float | None:
    """How well the aligned phones (silence where none) explain the audio, in (0, 1]:
    exp(-(G + W / 2 + 3 S + D)), G the mean over frames of max_k lp[t, k] - lp[t, aligned phone]
    (the gap to the model's own best guess), W the mean -log word confidence, S the share of
    phones 30 ms long or shorter, D `decoder_disagreement` (0 where not measured). phone_lp
    [T, 2 + P (+ markup)] phone log-posteriors. Frames and phones under markup (spoken noise,
    <star>) are left out, and words without a confidence.

    None when the transcript holds markup alone: nothing it says can be judged.

    Why both: posteriors run low on accented, child or noisy speech whatever the transcript, so
    a confidence threshold that catches wrong transcripts flags many right ones (the mean word
    confidence flagged 42% of correct real transcripts); the gap cancels that, as both sides are
    low on hard audio and only a wrong transcript drives them apart. The gap alone, though,
    says nothing when the model hears nothing clearly (an untrained model's flat posteriors give
    no gap at all), and half the confidence term keeps that case low; on speechocean762's
    held-out speakers the sum also caught more swapped transcripts at the same share of correct
    ones flagged (recipes/train/README.md). S: the phones of a wrong transcript find nothing to
    match, and the decoder squeezes them to its shortest (three 10 ms frames, 20-30 ms after
    refinement): about half of a swapped transcript's phones, a fifth of a correct one's, by
    learners or by fast native speakers alike (a rate of speech would flag fast speakers). On
    the held-out learners the term raised the swapped transcripts caught at the same share of
    correct ones flagged from 73% to 83% (docs/usage.md). D: see `decoder_disagreement`."""
    from aligner.text.phones import MARKUP_IDS, PHONES, SILENCE_ID, phone_ids

    spoken = [p.end - p.start for p in phones if p.label and p.label not in MARKUP_IDS]
    if not spoken:  # markup alone (`[laughter]`, `<star>`): nothing said to judge, not a fit
        return None  # of 0.91 a pipeline would keep
    n = phone_lp.shape[0]
    if n == 0:
        return 1.0
    aligned = np.full(n, SILENCE_ID, dtype=np.int64)
    for p in phones:
        if not p.label:
            continue
        lo, hi = frame_span(p.start, p.end, n, frame_duration)
        aligned[lo:hi] = phone_ids([p.label], markup=True)[0]
    keep = ~np.isin(aligned, list(MARKUP_IDS.values()))
    if not keep.any():
        return 1.0
    best = phone_lp[keep, : 2 + len(PHONES)].max(axis=1)
    gap = float(np.clip(best - phone_lp[np.flatnonzero(keep), aligned[keep]], 0, None).mean())
    confs = [c for c in word_confidences if c is not None]
    words = float(np.mean(-np.log(np.clip(confs, 1e-12, 1.0)))) if confs else 0.0
    squeezed = float(np.mean(np.array(spoken) <= FIT_SQUEEZED_PHONE))
    return float(np.exp(-(gap + 0.5 * words + SQUEEZE_WEIGHT * squeezed + disagreement)))


def decoder_disagreement(path_words: Sequence[tuple[float, float]],
                         weight_words: Sequence[tuple[float, float]], duration: float) -> float:
    """How far two decodings of one transcript place its words, in mean words: the mean over
    words of (|start difference| + |end difference|) / 2, over `duration` / words. path_words:
    (start, end) s of each word on the Viterbi path (which follows the phone posteriors);
    weight_words: the same words from the OTTC frame weights' transport plan (which knows where
    the speech's mass lies, not which phones are said). 0 without words.

    Why: on a correct transcript both find the same words, as each is confident of its own
    evidence; a wrong one leaves the path to chase phones the audio does not hold while the
    weights still spread the words by their length, and the two part. Added to the fit (a term
    of its own in the exponent), it raised the swapped learner transcripts caught at 1.6-1.7% of
    correct ones flagged from 93.5% to 95.2% (400; 94.4% to 95.4% on 1200 other pairs;
    recipes/train/README.md; at the shipped threshold 95.0%, docs/benchmarks/real_speech.md)."""
    n = min(len(path_words), len(weight_words))
    if n == 0 or duration <= 0:
        return 0.0
    a, b = np.asarray(path_words[:n], dtype=float), np.asarray(weight_words[:n], dtype=float)
    return float(np.abs(a - b).mean() / (duration / n))


def spoken_seconds(phones: Sequence[Interval]) -> float:
    """How long a word's phones (`phones_by_word`'s, without silence) last: the word's time
    less its pauses (`text.frontend.with_pauses_in_words`), which are no part of its pace."""
    return sum(p.end - p.start for p in phones)


def phones_by_word(words: Sequence[Interval], phones: Sequence[Interval]) -> list[list[Interval]]:
    """For each word (in time order), the phones that lie inside it: one pass over both, so an
    hour of speech (ten thousand words) costs no more than its phones."""
    out: list[list[Interval]] = []
    first = 0
    for w in words:
        while first < len(phones) and phones[first].end <= w.start - 1e-6:
            first += 1
        own, i = [], first
        while i < len(phones) and phones[i].start < w.end - 1e-6:
            if phones[i].start >= w.start - 1e-6 and phones[i].end <= w.end + 1e-6:
                own.append(phones[i])
            i += 1
        out.append(own)
    return out


UNCOVERED_MIN_SECONDS = 0.3  # shorter voiced stretches outside words are not counted in the total


WORD_EDGE_FRAMES = 2  # frames beside a word taken as its own: its edges are fuzzy by a frame or two


def voiced_outside_words(words: Sequence[Interval], voiced: np.ndarray, frame: float = FRAME_SECONDS,
                         bridge: float = 0.2) -> Uncovered | None:
    """The voiced frames (`voiced[t]`: frame t, at t * frame seconds, is voiced; for a text
    transcript's words, voiced or `heard_speech`) that no word covers, in stretches (voiced
    frames less than `bridge` apart counted as one): the longest
    stretch, and the seconds and number of all those of UNCOVERED_MIN_SECONDS or more. None
    when every voiced frame lies in a word.

    What a transcript that leaves out part of what was said looks like: the aligner fits the
    words it has and gives the rest of the speech to silence, where a voice goes on (the
    transcript fit barely moves: half a learner's sentence left out lowered it below the
    threshold in 1 case of 10). The total says how much: in a long recording a dozen missing
    sentences are a dozen stretches, the longest of them only one."""
    n = len(voiced)
    covered = np.zeros(n, dtype=bool)
    for w in words:
        if w.label:
            covered[max(0, round(w.start / frame) - WORD_EDGE_FRAMES):
                    max(0, round(w.end / frame) + WORD_EDGE_FRAMES)] = True
    outside = np.flatnonzero(np.asarray(voiced, dtype=bool) & ~covered)
    if not len(outside):
        return None
    stretches: list[tuple[int, int]] = []  # (length, first frame)
    start, prev = outside[0], outside[0]
    for t in [*outside[1:], None]:
        if t is None or (t - prev) * frame > bridge or covered[prev:t].any():
            stretches.append((prev + 1 - start, start))
            start = t
        prev = t if t is not None else prev
    length, first = max(stretches, key=lambda b: b[0])  # the first of equal ones
    counted = [k for k, _ in stretches if k * frame >= UNCOVERED_MIN_SECONDS]
    return Uncovered(float(first * frame), float((first + length) * frame),
                     float(sum(counted) * frame), len(counted))


AUDIO_END_SLACK = 0.05  # s: interval ends this close past the audio are rounding, not a mistake


def beyond_audio(segments: Iterable[tuple[float, float]], duration: float) -> list[Flag]:
    """`interval_beyond_audio` for each utterance interval (start, end) of a transcript TextGrid
    that runs past the end of the audio: it is cut there, but a transcript longer than its
    recording usually belongs to another one (the wrong file paired, or a trimmed copy). One
    that starts after the end is not aligned at all (`interval_not_aligned` says so)."""
    return [Flag("interval_beyond_audio",
                 f"transcript interval {start:.2f}-{end:.2f} s runs past the end of the audio "
                 f"({duration:.2f} s) and was cut there; is this the transcript of this recording?",
                 "words", start, end)
            for start, end in segments
            if end > duration + AUDIO_END_SLACK and start < duration]  # else not aligned at all


def interval_not_aligned(start: float, end: float, reason: str) -> Flag:
    """`interval_not_aligned` for an utterance interval of a transcript TextGrid that could
    not be aligned (phones faster than anyone speaks in its time, no words, outside the audio):
    the recording's other intervals are aligned, this one's words are left out of the tiers.
    Before, the whole recording failed for it; MFA aligns each utterance on its own."""
    return Flag("interval_not_aligned",
                f"transcript interval {start:.2f}-{end:.2f} s was not aligned and its words are "
                f"left out: {reason}", "words", start, end)


def untranscribed_turns(intervals: Sequence[tuple[float, float]], voiced: np.ndarray,
                        thresholds: Thresholds = Thresholds(),
                        frame: float = FRAME_SECONDS) -> list[Flag]:
    """`untranscribed_speech` on a recording whose transcript is a TextGrid of utterance
    intervals: voiced speech longer than `max_voiced_outside` that lies outside every interval
    of every speaker (`intervals`: (start, end) of each), a turn nobody transcribed. Each
    speaker's own check looks only inside their intervals, so a forgotten turn (9 s of an
    interview left as an empty interval) went unflagged where a text transcript's is flagged."""
    gap = voiced_outside_words([Interval(s, e, "turn") for s, e in intervals], voiced, frame)
    return _untranscribed(gap, thresholds.max_voiced_outside, "every interval of the transcript",
                          "is a turn missing from the TextGrid?")


LONG_PAUSE = 1.5  # s: a pause between two words that `speech_in_pauses` looks into


def speech_in_pauses(words: Sequence[Interval], speech: np.ndarray,
                     thresholds: Thresholds = Thresholds(), frame: float = FRAME_SECONDS,
                     offset: float = 0.0) -> list[Flag]:
    """`speech_in_pause` for the pause between two words, LONG_PAUSE or longer, that holds
    the most speech no word covers (`speech[t]`: frame t voiced or heard, as
    `voiced_outside_words` reads it; WORD_EDGE_FRAMES beside each word are the word's), when that
    is more than `max_speech_in_pause` seconds.

    Why: a sentence said twice (a learner's retry) was aligned with its first words on the first
    attempt and the rest on the second in 35-41% of 150 tries, with no flag `--strict` refuses:
    what lay between, the end of the one and the start of the other, came in voiced pieces
    shorter than `max_speech_outside` (a median longest piece of 0.59 s; review 121). Summed over
    the pause it passes the limit; on correct learners such a pause holds a hesitation now and
    then (0.9% of 1200 held-out recordings), or a word's edge placed inside it: a kind of its
    own, which `--strict` does not refuse unless told (in 7 minutes of correct learners'
    sentences one pause of a hundred has it). offset: the time of `speech[0]` (a TextGrid
    interval's start), added to the words' times and the flag's."""
    spoken = sorted((w.start, w.end) for w in words if w.label)
    worst: tuple[float, float, float] | None = None  # (seconds of speech, pause start, end)
    for (_, end), (start, _) in zip(spoken, spoken[1:]):
        if start - end < LONG_PAUSE:
            continue
        lo, hi = round(end / frame) + WORD_EDGE_FRAMES, round(start / frame) - WORD_EDGE_FRAMES
        seconds = float(np.count_nonzero(speech[lo:hi])) * frame
        if seconds > thresholds.max_speech_in_pause and (worst is None or seconds > worst[0]):
            worst = (seconds, end, start)
    if worst is None:
        return []
    seconds, end, start = worst
    end, start = end + offset, start + offset
    return [Flag("speech_in_pause",
                 f"{seconds:.1f} s of speech lies in the {start - end:.1f} s pause at "
                 f"{end:.2f}-{start:.2f} s between two words: was the sentence said twice, or "
                 "is part of what was said missing from the transcript?", start=end, end=start)]


def _untranscribed(gap: Uncovered | None, limit: float, outside: str,
                   question: str) -> list[Flag]:
    """`untranscribed_speech` for the longest stretch of speech `gap` left outside `outside`,
    when it lasts more than `limit` seconds."""
    if gap is None or gap.end - gap.start <= limit:
        return []
    more = f" ({gap.total:.1f} s in all, in {gap.stretches} stretches)" if gap.stretches > 1 else ""
    return [Flag("untranscribed_speech",
                 f"{gap.end - gap.start:.1f} s of speech at {gap.start:.2f}-{gap.end:.2f} s "
                 f"lies outside {outside}{more}: {question}", start=gap.start, end=gap.end)]


HEARD_SPEECH = 0.95  # the model's probability of some phone above which a frame is speech
HEARD_BELOW_DB = 40.0  # ... and within this of the loud frames of the words (`audible`)


def audible(levels: np.ndarray, words: Sequence[Interval], frame: float = FRAME_SECONDS,
            below_db: float = HEARD_BELOW_DB) -> np.ndarray:
    """Which frames are loud enough to be speech: [T] bool, `levels` (dB, `frame_levels`) within
    `below_db` of the 90th percentile of the frames the labelled `words` cover (of all frames
    when they cover none). Why: the model hears any steady sound as speech once the features
    are normalised, and white noise 60 dB under a sentence, after it for a minute, was 20 s of
    `untranscribed_speech`; whispered or creaky speech left out of a transcript lies 10-30 dB
    under the words, not 40 (the learners' transcripts with their second half left out were
    caught as often with the limit as without, 48.8%, benchmarks/real_speech.py)."""
    levels = np.asarray(levels, dtype=np.float64)
    inside = np.zeros(len(levels), dtype=bool)
    for w in words:
        if w.label:
            inside[max(0, round(w.start / frame)): max(0, round(w.end / frame))] = True
    loud = levels[inside] if inside.any() else levels
    if not len(loud):
        return np.zeros(len(levels), dtype=bool)
    return levels >= float(percentile(loud, 90)) - below_db


def heard_speech(log_probs: np.ndarray) -> np.ndarray:
    """Which frames the model hears as speech: [T] bool from its log-probabilities [T, C],
    some phone (any state) more likely than HEARD_SPEECH, blank and silence together less.

    Why beside voicing: a learner's quiet, creaky or whispered sentence left out of the
    transcript had a third of its frames voiced (`features.voiced_frames` is strict so that
    noise is not speech), in stretches too short to flag; the model heard it as speech."""
    not_speech = np.exp(log_probs[:, BLANK_ID]) + np.exp(log_probs[:, SILENCE_ID])
    return not_speech < 1.0 - HEARD_SPEECH


def overlapping_speech(own: Iterable[tuple[float, float]],
                       others: Iterable[tuple[float, float, str]],
                       thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """`overlapping_speech` for each of a speaker's utterance intervals (start, end) that
    overlaps another speaker's (start, end, speaker) by more than `max_overlap_seconds`; the
    flag's interval is the overlap. Why: each speaker's words are aligned on the audio of that
    speaker's intervals as if no one else spoke there. Linear in the intervals for a tier's
    (one speaker's intervals do not overlap each other), so an hour of conversation is quick."""
    mine = sorted(own)
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for start, end, who in others:
        by_speaker.setdefault(who, []).append((start, end))
    flags = []
    for who, theirs in by_speaker.items():
        for (start, end), (o_start, o_end) in _overlapping_pairs(mine, sorted(theirs)):
            lo, hi = max(start, o_start), min(end, o_end)
            if hi - lo > thresholds.max_overlap_seconds:
                flags.append(Flag(
                    "overlapping_speech",
                    f"transcript interval {start:.2f}-{end:.2f} s overlaps {who}'s "
                    f"{o_start:.2f}-{o_end:.2f} s by {hi - lo:.2f} s: each speaker is aligned as "
                    "if alone there, so a word in the overlap may be placed on the other voice",
                    "words", lo, hi))
    return sorted(flags, key=lambda f: (f.start, f.end))


def _overlapping_pairs(a: list[tuple[float, float]], b: list[tuple[float, float]]
                       ) -> Iterator[tuple[tuple[float, float], tuple[float, float]]]:
    """The pairs of intervals of `a` and `b` (each sorted by start) that overlap: walking both
    lists at once when neither overlaps itself, else every pair."""
    disjoint = all(x[1] <= y[0] for x, y in zip(a, a[1:])) and all(x[1] <= y[0] for x, y in zip(b, b[1:]))
    if not disjoint:
        yield from ((x, y) for x in a for y in b if min(x[1], y[1]) > max(x[0], y[0]))
        return
    i = j = 0
    while i < len(a) and j < len(b):
        if min(a[i][1], b[j][1]) > max(a[i][0], b[j][0]):
            yield a[i], b[j]
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1


# The recording's level (`recording_level`), which no alignment check sees: the features are
# normalised, so a recording 70 dB too quiet or clipped flat still aligns, and only its
# waveform tells. Of speechocean762's 2500 held-out learner recordings the quietest peaks at
# -25 dBFS, of 600 FSDD digits -38 dBFS; none has 0.01% of its samples at full scale (gold-dev:
# at most 0.007%).
QUIET_DBFS = -45.0
FULL_SCALE = 0.99
CLIPPED_SHARE = 0.001


def recording_level(wave: np.ndarray) -> list[Flag]:
    """`quiet_audio` when the loudest sample of `wave` (floats, full scale 1), about its DC
    offset (`features.dc_offset`), is below QUIET_DBFS, `clipped` when CLIPPED_SHARE of its
    samples or more are at full scale: a muted or distant microphone, the wrong input, or an
    input level set too high. Both are about the
    recording, not the alignment, which may still be right: a clinician wants to know. Samples
    beyond 1.0 come from a clipped recording resampled (its flat tops ring past 1.0) or from a
    floating-point file scaled beyond 1.0, which is intact: the samples cannot tell which, so
    the message says both (tests/test_checks.py)."""
    from aligner.features import dc_offset, digital_silence

    if wave.size == 0:
        return []
    magnitude = np.abs(wave)
    peak = float(magnitude.max())
    silent = digital_silence(wave)
    offset = dc_offset(wave, silent)
    # how far the signal swings, not where it sits: a muted input on a sound card's offset
    # of 0.02 (-34 dBFS) is as quiet as one at zero (review 119)
    swing = _swing(wave, silent, offset) if offset else peak
    flags = []
    if swing < 10 ** (QUIET_DBFS / 20):
        level = 20 * np.log10(swing) if swing > 0 else float("-inf")
        flags.append(Flag("quiet_audio",
                          f"the loudest sample is at {level:.0f} dBFS: a recording this quiet "
                          "(a muted or distant microphone, the wrong input) may hold little "
                          "more than noise; is this the recording you meant?"))
    clipped = float((magnitude >= FULL_SCALE).mean())
    if clipped >= CLIPPED_SHARE:
        if peak > 1.0 + 1e-3:  # the samples cannot tell which: both are said
            message = (f"{clipped:.1%} of the samples are at or beyond full scale (the peak is "
                       f"{peak:.2f}): either the recording was clipped when it was made "
                       "(distorted, which blurs boundaries and lowers confidences: record at a "
                       "lower input level), or it is a floating-point file scaled beyond 1.0, "
                       "which is intact (scale it down to 1.0)")
        else:
            message = (f"{clipped:.1%} of the samples are at full scale: the recording is "
                       "clipped (distorted), which blurs boundaries and lowers confidences; "
                       "record at a lower input level")
        flags.append(Flag("clipped", message))
    return flags


def _swing(wave: np.ndarray, silent: np.ndarray, offset: float, piece: int = 1 << 20) -> float:
    """The largest |sample - offset| outside digital silence (`silent`), piece by piece: the
    whole recording's differences at once took 0.9 GB more for two hours."""
    swing = 0.0
    for first in range(0, len(wave), piece):
        kept = wave[first: first + piece][~silent[first: first + piece]]
        if len(kept):
            swing = max(swing, float(kept.max()) - offset, offset - float(kept.min()))
    return swing


# A recording that ends in voiced speech at close to the level of its loud parts was cut
# before its last word ended, or as another began (`ends_in_speech`). Measured on speechocean762's
# 2500 held-out learner recordings: 2 flagged (0.08%); the same recordings cut at a voiced frame
# in their middle 40%: 70.2% flagged; 300 FSDD digits (8 kHz, trimmed close to the word): 3
# (benchmarks/real_speech.py, `--cut`).
# Only the end is judged: a voiced onset rises to full level within a frame or two, so a
# recording trimmed close to its first word (half of FSDD's) looks cut at its start.
CUT_VOICED_FRAMES = 5  # voicing among the last 50 ms (the last two frames are not judged)
CUT_LEVEL_DB = -12.0  # ... and the last 30 ms within this of the loud frames' level


def ends_in_speech(voiced: np.ndarray, levels: np.ndarray, duration: float,
                   frame: float = FRAME_SECONDS) -> list[Flag]:
    """`ends_in_speech` when the recording's last CUT_VOICED_FRAMES frames hold voicing
    (`voiced`: `features.voiced_frames`) and its last 30 ms are within CUT_LEVEL_DB of the
    95th percentile of its frame `levels` (dB, `features.frame_levels`). Why: a clip cut from a
    longer recording at the wrong time loses the end of its last word, which the aligner then
    squeezes into what is left with nothing to say so; a tool cutting a corpus wants to know."""
    n = min(len(voiced), len(levels))
    if n < 2 * CUT_VOICED_FRAMES:
        return []
    level = float(np.mean(levels[n - 3:n]) - percentile(levels[:n], 95))
    if not voiced[n - CUT_VOICED_FRAMES:n].any() or level <= CUT_LEVEL_DB:
        return []
    return [Flag("ends_in_speech",
                 f"the recording ends in voiced speech within {max(1, round(-level))} dB of its "
                 "loud parts: was it cut before its last word ended, or as another began? The "
                 "last phones are then squeezed into what is left",
                 start=max(0.0, duration - CUT_VOICED_FRAMES * frame), end=duration)]


# A word whose loudest 20 ms is this far below the loudest of the speech within
# SILENT_WORD_REACH of it was placed on a pause, not where it was said (`words_in_silence`).
# On 2035 words of 313 correct learner recordings the quietest word peaks 29 dB below its
# recording's loudest (1% of them: 14 dB); a word a long file's decoding misplaced into a pause
# between sentences sat on near-silence, 40 dB and more below the speech around it.
SILENT_WORD_DB = 40.0
SILENT_WORD_REACH = 10.0  # s either side: a long recording's level may drift
# ... or, in a recording whose background is not that far below its speech (LibriSpeech's
# room noise 23 dB down), a word whose loudest 20 ms is within SILENT_WORD_FLOOR_DB of the
# background (the 10th percentile of the frames' levels within SILENT_WORD_REACH, digital
# silence aside) while the speech around it is SILENT_WORD_BELOW_DB louder. Of 15967 words
# of 2500 correct learner recordings none peaks under 6 dB above its background (0.1%: 16
# dB); a word misplaced into a LibriSpeech pause, 3 dB; a spoken digit filling its 8 kHz
# recording lies 8 dB above its background, but as loud as the speech around it.
SILENT_WORD_FLOOR_DB = 6.0
SILENT_WORD_BELOW_DB = 15.0
# Where nothing within SILENT_WORD_REACH is SILENT_WORD_BELOW_DB louder than the word (a word
# placed amid a break of a minute or two, room tone where a long recording was paused), the
# speech around it is sought this far, and the word is judged by the background alone (no
# louder than it while that speech is louder): the reach found only room tone, and words
# misplaced 60-95 s from where they were said went unflagged. Quiet speech a while after loud
# speech (a question from the floor, far from the lecturer's microphone: 40 dB below the
# lecture, 8 dB above the room) is louder than the background, and passes.
SILENT_WORD_FAR = 60.0
DIGITAL_SILENCE_DB = -100.0  # `features.frame_levels` of exact zeros: -120 dB


def background_levels(levels: np.ndarray, reach: int) -> np.ndarray:
    """The background level (dB) around each frame of `levels`: the 10th percentile of the
    frames within about `reach` of it (per block of `reach` frames, with the blocks either
    side: linear in the recording's length), digital silence aside; -inf where all is."""
    out = np.full(len(levels), -np.inf)
    reach = max(1, reach)
    for first in range(0, len(levels), reach):
        near = levels[max(0, first - reach): first + 2 * reach]
        live = near[near > DIGITAL_SILENCE_DB]
        if len(live):
            out[first: first + reach] = percentile(live, 10)
    return out


# The background of a recording lies within this of its speech (`noisy_audio`): the median
# level of its pauses, against the 95th percentile of the frames inside words. On synthetic
# speech of unseen voices (benchmarks/accuracy_in_noise.py) the measure reads about 4-5 dB above
# the signal-to-noise ratio of the white or pink noise added, and at 10 dB SNR the phone
# boundaries within 20 ms fall by about 5 points in white noise (5 dB: 12; pink 4 and 8), on
# gold-dev's hand-labelled recordings by 6 (5 dB: 15); 1 correct learner recording of 2500
# comes within 15 dB (13.5).
NOISY_MARGIN_DB = 15.0
NOISE_MARGIN_FRAMES = 5  # frames beside a word left out of the pauses: a sound's fading edge
NOISE_MIN_FRAMES = 30  # pause frames needed to judge (a word trimmed close is not judged)
# ... and only the frames within this many of a word: the background the words are heard
# against. Quiet padding further out (0.5-1 s of -70 dBFS either side) hid white noise 5 dB
# below the speech; leaving out the frames far below the speech instead let a cough in a clean
# recording's pause decide.
NOISE_REACH_FRAMES = 30
# A recording longer than this (30 s) is judged in windows of it, half overlapping, so that
# noise over part of a long session (an air conditioner switched on, a door left open) is not
# outweighed by the quiet rest: on one verdict for the whole file, 19 s of noise in 124 s went
# unflagged. Learners' recordings (under 30 s) are judged whole, as before.
NOISE_WINDOW_FRAMES = 3000


def _noise_masks(words: Sequence[Interval], n: int, voiced: np.ndarray, levels: np.ndarray,
                 frame: float) -> tuple[np.ndarray, np.ndarray]:
    """(frames inside words, pause frames `noise_margin` takes as the background) [n] each."""
    inside = np.zeros(n, dtype=bool)
    near = np.zeros(n, dtype=bool)
    reach = np.zeros(n, dtype=bool)
    for w in words:
        if not w.label:
            continue
        lo, hi = max(0, int(w.start / frame)), int(np.ceil(w.end / frame - 1e-9))
        inside[lo:hi] = True
        near[max(0, lo - NOISE_MARGIN_FRAMES): hi + NOISE_MARGIN_FRAMES] = True
        reach[max(0, lo - NOISE_REACH_FRAMES): hi + NOISE_REACH_FRAMES] = True
    pause = reach & ~near & ~voiced[:n].astype(bool) & (levels[:n] > DIGITAL_SILENCE_DB)
    return inside, pause


def noise_margin(words: Sequence[Interval], levels: np.ndarray, voiced: np.ndarray,
                 frame: float = FRAME_SECONDS) -> float | None:
    """How far (dB) the background lies below the speech: the 95th percentile of `levels` (dB
    per frame, `features.frame_levels`) inside words, less the median of the pause frames
    (more than NOISE_MARGIN_FRAMES and at most NOISE_REACH_FRAMES from a word, not `voiced`:
    speech the transcript leaves out, another speaker's, is no background; digital silence
    aside). None without words, or with fewer than NOISE_MIN_FRAMES such pause frames (a
    recording trimmed close to its words)."""
    n = min(len(levels), len(voiced))
    inside, pause = _noise_masks(words, n, voiced, levels, frame)
    return _margin(levels[:n], inside, pause, 0, n)


def _margin(levels: np.ndarray, inside: np.ndarray, pause: np.ndarray, lo: int, hi: int
            ) -> float | None:
    """`noise_margin` over frames [lo, hi) of the masks `_noise_masks` made."""
    inside, pause, levels = inside[lo:hi], pause[lo:hi], levels[lo:hi]
    if not inside.any() or int(pause.sum()) < NOISE_MIN_FRAMES:
        return None
    return float(percentile(levels[inside], 95) - np.median(levels[pause]))


def noisy_audio(words: Sequence[Interval], levels: np.ndarray, voiced: np.ndarray,
                frame: float = FRAME_SECONDS, duration: float | None = None) -> list[Flag]:
    """`noisy_audio` when the background lies within NOISY_MARGIN_DB of the speech
    (`noise_margin`): over the whole recording, or, in one longer than NOISE_WINDOW_FRAMES, in
    any window of that length (half overlapping), one flag for each stretch of such windows
    with its times (ending at `duration`, the recording's, at most; no times when the stretch
    is the whole recording, a flag on the recording as a short one's). Why: in noise the model
    hears the edges of sounds less clearly and places boundaries less well, while the
    alignment looks no different; a clinician measuring durations should know (the words may
    still be where they were said)."""
    n = min(len(levels), len(voiced))
    inside, pause = _noise_masks(words, n, voiced, levels, frame)
    if n <= NOISE_WINDOW_FRAMES:
        windows = [(0, n)]
    else:  # half-overlapping windows, the last one ending at the end
        step = NOISE_WINDOW_FRAMES // 2
        starts = list(range(0, n - NOISE_WINDOW_FRAMES, step)) + [n - NOISE_WINDOW_FRAMES]
        windows = [(lo, lo + NOISE_WINDOW_FRAMES) for lo in starts]
    stretches: list[list] = []  # [first frame, end frame, lowest margin] of noisy windows
    for lo, hi in windows:
        margin = _margin(levels[:n], inside, pause, lo, hi)
        if margin is None or round(margin, 1) >= NOISY_MARGIN_DB:  # as the message reads it
            continue
        if stretches and lo < stretches[-1][1]:  # overlaps the previous noisy window
            stretches[-1][1], stretches[-1][2] = hi, min(stretches[-1][2], margin)
        else:
            stretches.append([lo, hi, margin])
    effect = ("in background noise this loud phone boundaries are less precise (hand-labelled "
              "recordings with white noise 10 dB below the speech: 6 points fewer within 20 ms; "
              "5 dB: 15), and so are durations measured on them")
    if len(windows) == 1 or [s[:2] for s in stretches] == [[0, n]]:  # the whole recording
        return [Flag("noisy_audio", f"the pauses are only {margin:.1f} dB quieter than the "
                     f"words: {effect}") for _, _, margin in stretches]
    last = n * frame if duration is None else min(n * frame, duration)
    return [Flag("noisy_audio", f"from {lo * frame:.1f} to {min(hi * frame, last):.1f} s the "
                 f"pauses are only {margin:.1f} dB quieter than the words: {effect}",
                 start=lo * frame, end=min(hi * frame, last)) for lo, hi, margin in stretches]


def words_in_silence(words: Sequence[Interval], levels: np.ndarray,
                     frame: float = FRAME_SECONDS) -> list[Flag]:
    """`word_in_silence` for each word (markup aside) whose loudest frame of `levels` (dB per
    frame, `features.frame_levels`) is SILENT_WORD_DB or more below the loudest frame within
    SILENT_WORD_REACH of it, or lies within SILENT_WORD_FLOOR_DB of the background there while
    the speech around (within SILENT_WORD_FAR where nothing that near is) is
    SILENT_WORD_BELOW_DB louder. A word on silence aligns with a confidence no lower than many
    a correct word's, so only the level tells that nothing was said there."""
    flags = []
    reach, far = int(round(SILENT_WORD_REACH / frame)), int(round(SILENT_WORD_FAR / frame))
    background = background_levels(levels, reach)
    for w in words:
        if not w.label or w.confidence is None:
            continue
        lo = min(max(0, int(w.start / frame)), max(0, len(levels) - 1))
        hi = max(lo + 1, int(np.ceil(w.end / frame - 1e-9)))
        if lo >= len(levels):
            continue
        loudest = float(levels[lo:hi].max())
        around = float(levels[max(0, lo - reach): hi + reach].max())
        floor = float(background[lo])
        widened = around < loudest + SILENT_WORD_BELOW_DB  # no louder speech near: a long break?
        if widened:  # judged by the background alone (the 40 dB test cannot hold within reach)
            around = float(levels[max(0, lo - far): hi + far].max())
        if loudest < around - SILENT_WORD_DB and not widened:
            why = f"{around - loudest:.0f} dB quieter than the speech around it"
        elif loudest < floor + SILENT_WORD_FLOOR_DB and loudest < around - SILENT_WORD_BELOW_DB:
            why = (f"no louder than the background there ({loudest - floor:.0f} dB above it, "
                   f"{around - loudest:.0f} dB below the speech "
                   f"{'within a minute' if widened else 'around it'})")
        else:
            continue
        flags.append(Flag("word_in_silence",
                          f"word {w.label!r} at {w.start:.3f}-{w.end:.3f} s is {why}: it was "
                          "probably placed on a pause, not where it was said",
                          "words", w.start, w.end, w.label))
    return flags


SPEAKER_NOTE = "is very low for this speaker"  # what tells `speaker_mismatch`'s flag apart


def speaker_mismatch(fit: float, relative: float, speaker_median: float, others: int,
                     thresholds: Thresholds = Thresholds()) -> Flag | None:
    """The `transcript_mismatch` flag of a corpus recording whose fit is far below its speaker's
    other recordings' (aligner/speaker_fit.py), or None."""
    if relative >= thresholds.min_relative_fit:
        return None
    return Flag("transcript_mismatch",
                f"transcript fit {fit:.3g} {SPEAKER_NOTE} (their other {others} "
                f"recordings: median {speaker_median:.3g}); the transcript may not match the audio")


def is_speaker_mismatch(flag: str) -> bool:
    """Whether `flag` (a Flag, or its text from a report) is `speaker_mismatch`'s: the one flag
    a later run may take back, when the speaker's other recordings say otherwise."""
    return flag_kind(flag) == "transcript_mismatch" and SPEAKER_NOTE in str(flag)


def _entry_flag(kind: str, tier: str, entry: Interval, detail: str) -> Flag:
    noun = "word" if tier == "words" else "phone"
    return Flag(kind, f"{noun} '{entry.label}' at {entry.start:.3f}-{entry.end:.3f} s {detail}",
                tier, entry.start, entry.end, entry.label)
