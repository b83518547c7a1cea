"""Folding phone and word labels from different tools onto one comparable set.

Gold alignments and aligners disagree on spelling more than on timing: TIMIT writes 61 lower-case
phones with closures, Festival writes lower-case ARPAbet with `pau`, MFA writes `AH0` and `spn`,
our model writes CMU's 39 stressless phones. Boundary errors only mean something after both sides
are mapped onto the same inventory, so every label goes through one `Folding` before it is
compared.

A fold table maps a (lower-case, stress-stripped) label to one of:
- a phone, e.g. ``"ax" -> "AH"``;
- ``""``: silence (the interval is dropped from the token sequence);
- ``"+"``: merge into the next contiguous phone (or, failing that, the previous one), e.g. TIMIT's
  glottal stop ``q``;
- ``"+X"``: merge into the next contiguous phone if that phone folds to ``X``, otherwise become
  ``X``, e.g. a TIMIT closure ``"bcl" -> "+B"`` joins its burst ``b``;
- ``"<"``: merge into the previous contiguous phone (or, failing that, fall into silence), e.g.
  EMU's aspiration mark ``H`` after a stop release: the stop keeps its aspiration, as in TIMIT.

Phonetic alphabets (IPA, SAMPA and EMU's Australian SAMPA) are case-sensitive (SAMPA ``S`` is
SH, ``s`` is S), so their tables are matched on the label as written (stress digits and IPA
length/stress marks removed); ARPAbet tables are matched lower-case.

Pure functions only; reading a user's fold file is the one I/O helper, kept at the bottom.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from aligner.alignment import Interval
from aligner.text.encoding import decode_text
from aligner.text.phones import PHONES

# Labels that mean "nobody is speaking" in the tools we compare against (`<p:>` and `<p>`:
# WebMAUS's pause, on its MAU tier; Praat's "To TextGrid (silences)" writes `silent`).
SILENCE_LABELS: frozenset[str] = frozenset(
    {"", "sil", "sp", "spn", "pau", "h#", "epi", "<sil>", "<eps>", "<s>", "</s>", "silence",
     "<blank>", "[sil]", "nsn", "<pau>", "#", "_", "<p:>", "<p>", "silent"}
)

_CMU = {p.lower(): p for p in PHONES}

# TIMIT's 61 phones and other ARPAbet variants onto CMUdict's 39 (the set our model predicts).
CMU39: dict[str, str] = {
    **_CMU,
    "ax": "AH", "ax-h": "AH", "axh": "AH", "ix": "IH", "ux": "UW", "axr": "ER",
    "el": "L", "em": "M", "en": "N", "nx": "N", "eng": "NG", "hv": "HH", "dx": "T",
    "bcl": "+B", "dcl": "+D", "gcl": "+G", "pcl": "+P", "tcl": "+T", "kcl": "+K",
    "q": "+",
}

# Lee & Hon (1989) 39-class folding used to report TIMIT phone results: closures become silence,
# q disappears, and AO/AA, SH/ZH are merged. DX stays a class of its own.
TIMIT39: dict[str, str] = {
    **_CMU,
    "ao": "AA", "ax": "AH", "ax-h": "AH", "axh": "AH", "axr": "ER", "hv": "HH", "ix": "IH",
    "el": "L", "em": "M", "en": "N", "nx": "N", "eng": "NG", "zh": "SH", "ux": "UW",
    "dx": "DX", "bcl": "", "dcl": "", "gcl": "", "pcl": "", "tcl": "", "kcl": "", "q": "+",
}

# IPA and SAMPA (American/British) onto CMU's 39, each symbol to its nearest ARPAbet phone. One
# table serves both alphabets: where they share an ASCII symbol they mean the same sound.
IPA39: dict[str, str] = {
    # consonants, IPA
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "ɡ": "G", "f": "F", "v": "V",
    "s": "S", "z": "Z", "h": "HH", "m": "M", "n": "N", "l": "L", "w": "W", "j": "Y", "r": "R",
    "ɹ": "R", "ɻ": "R", "ɾ": "T", "ɫ": "L", "ʍ": "W", "θ": "TH", "ð": "DH", "ʃ": "SH",
    "ʒ": "ZH", "ŋ": "NG", "tʃ": "CH", "dʒ": "JH", "t͡ʃ": "CH", "d͡ʒ": "JH", "ʧ": "CH",
    "ʤ": "JH", "ʔ": "+",
    # consonants, SAMPA
    "T": "TH", "D": "DH", "S": "SH", "Z": "ZH", "N": "NG", "tS": "CH", "dZ": "JH", "4": "T",
    "?": "+",
    # vowels, IPA
    "i": "IY", "ɪ": "IH", "e": "EY", "ɛ": "EH", "æ": "AE", "a": "AA", "ɑ": "AA", "ɒ": "AA",
    "ɔ": "AO", "o": "OW", "ʊ": "UH", "u": "UW", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɚ": "ER",
    "ɝ": "ER", "ɜ": "ER", "ɨ": "IH", "ʉ": "UW", "œ": "ER", "ø": "ER",
    "aɪ": "AY", "aj": "AY", "eɪ": "EY", "ej": "EY", "oʊ": "OW", "əʊ": "OW", "aʊ": "AW",
    "ɔɪ": "OY", "ɪə": "IH", "eə": "EH", "ɛə": "EH", "ʊə": "UH",
    # vowels, SAMPA
    "I": "IH", "E": "EH", "{": "AE", "A": "AA", "Q": "AA", "O": "AO", "U": "UH", "V": "AH",
    "@": "AH", "3": "ER", "3`": "ER", "@`": "ER", "eI": "EY", "aI": "AY", "OI": "OY",
    "@U": "OW", "oU": "OW", "aU": "AW", "I@": "IH", "e@": "EH", "U@": "UH",
}

# The EMU "ae" database (Australian English, Macquarie/EMU SAMPA with allophonic marks): `H`
# is the aspiration after a stop release (kept with the stop), `A` is the TRAP vowel, `@:` the
# NURSE vowel; an `O` before a sonorant (`Om On Or Ow`) labels that sonorant's onset and joins
# it; labels holding two phones (`kt pt zs`: an unreleased stop or a fused fricative) keep the
# first; `NH` is the /k/ after /N/ in "strengths", `dH` a flapped /t/, `db` a /b/ labelled with
# its closure.
EMU_AE39: dict[str, str] = {
    **IPA39,
    "H": "<", "A": "AE", "@:": "ER", "o:": "AO", "i:": "IY", "u:": "UW", "ei": "EY",
    "ai": "AY", "oi": "OY", "@u": "OW", "au": "AW", "{u": "AW", "e:": "EH", "a:": "AA",
    "Om": "+M", "On": "+N", "Or": "+R", "Ow": "+W", "kt": "K", "pt": "P", "zs": "Z",
    "NH": "K", "dH": "T", "db": "B",
}

# EMU labels an affricate as its stop and its fricative (`t S`, `d Z`): contiguous, they are one
# phone.
EMU_AE_FUSE: dict[tuple[str, str], str] = {("T", "SH"): "CH", ("D", "ZH"): "JH"}

FOLDINGS: dict[str, dict[str, str]] = {"cmu39": CMU39, "timit39": TIMIT39, "ipa": IPA39,
                                       "emu-ae": EMU_AE39, "none": {}}
# Tables written in a case-sensitive alphabet (see the module docstring).
CASE_SENSITIVE: frozenset[str] = frozenset({"ipa", "emu-ae"})
# Stress and length marks of IPA (and SAMPA's `"` and `%`), removed before the lookup.
_IPA_MARKS = re.compile(r"[ˈˌ\"%\u0329\u030d]")
# A narrow transcription's diacritics (combining marks: devoiced b̥, nasal æ̃, the tie bar of o͡ʊ)
# and modifier letters (aspirated tʰ, labialised kʷ, palatalised tʲ, ejective ʼ): looked up
# without them when the label as written is not in the table.
_NARROW_MARKS = re.compile(r"[ʰʷʲˠˤⁿˡʼ]")

_STRESS = re.compile(r"(?<=[a-z])[0-2]$")
_WORD_PUNCT = re.compile(r"^[^\w']+|[^\w']+$")


class FoldingError(ValueError):
    """A fold table that cannot be used (unknown name, malformed file)."""


def clean_phone(label: str) -> str:
    """Lower-case, trim and drop a stress digit: 'AH0' -> 'ah', ' Sil ' -> 'sil'."""
    return _STRESS.sub("", label.strip().lower())


def clean_word(label: str) -> str:
    """Compare words case-blind and without surrounding punctuation: '"Hello,' -> 'hello'."""
    return _WORD_PUNCT.sub("", label.strip().lower())


@dataclass(frozen=True)
class Folding:
    """A phone fold table plus the silence labels; `fold_phones` applies it to a tier."""

    table: dict[str, str] = field(default_factory=lambda: dict(CMU39))
    silence: frozenset[str] = SILENCE_LABELS
    case_sensitive: bool = False  # IPA/SAMPA tables: look the label up as written
    fuse: dict[tuple[str, str], str] = field(default_factory=dict)  # contiguous pair -> one phone

    def fold_label(self, label: str) -> str:
        """Fold one phone label to its target ("" for silence, "+..." / "<" for merge rules)."""
        key = clean_phone(label)
        if key in self.silence:
            return ""
        if self.case_sensitive:
            written = _IPA_MARKS.sub("", label.strip())
            broad = _NARROW_MARKS.sub("", unicodedata.normalize("NFD", written))
            broad = "".join(c for c in broad if not unicodedata.combining(c))
            for candidate in (written, written.rstrip(":ː"), broad, broad.rstrip(":ː")):
                if candidate in self.table:
                    return self.table[candidate]
        elif key in self.table:
            return self.table[key]
        return key.upper()

    def fold_phones(self, phones: list[Interval]) -> list[Interval]:
        """Fold a phone tier: non-silence intervals with folded labels, merges applied, in order."""
        ordered = sorted(phones, key=lambda iv: (iv.start, iv.end))
        targets = [self.fold_label(iv.label) for iv in ordered]
        out: list[Interval] = []
        pending: Interval | None = None  # a merge-rule interval waiting for its successor
        pending_rule = ""
        for iv, target in zip(ordered, targets):
            if target == "":
                pending = _flush(pending, pending_rule, out)
                continue
            if target.startswith("+"):
                pending = _flush(pending, pending_rule, out)
                pending, pending_rule = iv, target
                continue
            if target == "<":
                pending = _flush(pending, pending_rule, out)
                if out and _touches(out[-1].end, iv.start):
                    prev = out[-1]
                    out[-1] = Interval(prev.start, iv.end, prev.label, prev.confidence)
                continue  # otherwise it falls into silence
            start = iv.start
            if pending is not None and _touches(pending.end, iv.start) and (
                pending_rule == "+" or pending_rule[1:] == target
            ):
                start = pending.start
                pending = None
            pending = _flush(pending, pending_rule, out)
            out.append(Interval(start, iv.end, target, iv.confidence))
        _flush(pending, pending_rule, out)
        return _fuse_pairs(out, self.fuse) if self.fuse else out


def _fuse_pairs(phones: list[Interval], fuse: dict[tuple[str, str], str]) -> list[Interval]:
    """Join contiguous pairs listed in `fuse` (folded labels) into one phone."""
    out: list[Interval] = []
    for iv in phones:
        if out and _touches(out[-1].end, iv.start) and (out[-1].label, iv.label) in fuse:
            prev = out.pop()
            iv = Interval(prev.start, iv.end, fuse[(prev.label, iv.label)], prev.confidence)
        out.append(iv)
    return out


def _touches(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def _flush(pending: Interval | None, rule: str, out: list[Interval]) -> None:
    """Resolve a merge-rule interval that found no matching successor."""
    if pending is None:
        return None
    if rule == "+":
        if out and _touches(out[-1].end, pending.start):
            prev = out[-1]
            out[-1] = Interval(prev.start, pending.end, prev.label, prev.confidence)
        return None  # otherwise it falls into silence
    out.append(Interval(pending.start, pending.end, rule[1:], pending.confidence))
    return None


def fold_words(words: list[Interval]) -> list[Interval]:
    """Word tier -> non-silence words, cleaned for case-blind comparison, in time order.

    Markup (`[laughter]`, `{LG}`, `<unk>`, `<star>`, CHAT's `xxx`) is left out like silence, as
    its `spn` is on the phones tier: a noise the gold's transcriber did not mark, or marked
    differently, is not a wrong word."""
    from aligner.text.normalise import markup_kind

    out = []
    for iv in sorted(words, key=lambda iv: (iv.start, iv.end)):
        label = clean_word(iv.label)
        if iv.label.strip().lower() in SILENCE_LABELS or label == "" or markup_kind(iv.label.strip(), chat=True):
            continue
        out.append(Interval(iv.start, iv.end, label, iv.confidence))
    return out


def load_folding(name_or_path: str | Path = "cmu39") -> Folding:
    """A built-in folding by name (cmu39, timit39, ipa, emu-ae, none) or a user file layered
    over cmu39.

    File format: one `from to` pair per line (`#` starts a comment); `to` may be `sil` for
    silence, `+` or `+X` for merge rules (see the module docstring).
    """
    name = str(name_or_path)
    if name in FOLDINGS:
        return Folding(dict(FOLDINGS[name]), case_sensitive=name in CASE_SENSITIVE,
                       fuse=dict(EMU_AE_FUSE) if name == "emu-ae" else {})
    path = Path(name)
    if not path.is_file():
        raise FoldingError(
            f"{name}: not a folding name ({', '.join(FOLDINGS)}) nor a readable fold file"
        )
    table = dict(CMU39)
    for number, line in enumerate(decode_text(path.read_bytes()).splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise FoldingError(f"{path}:{number}: expected 'from to', got {line!r}")
        source, target = clean_phone(parts[0]), parts[1]
        if target.lower() in SILENCE_LABELS:
            target = ""
        elif target.startswith("+"):
            target = "+" + target[1:].upper()
        else:
            target = target.upper()
        table[source] = target
    return Folding(table)
