"""Map each engine's phone symbols to the project's 39 stressless ARPAbet phones.

Why a table per engine: Festival's US voices speak lower-case ARPAbet (radio phone set) with a
few extra allophones, its British voices (rab, don, en1) speak the MRPA set, and espeak-ng
reports its own phoneme mnemonics (close to Kirshenbaum/SAMPA). A source phone maps to a tuple of
ARPAbet phones: one phone usually; two where the source fuses them (syllabic l -> AH L, the
duration is split evenly); the empty tuple for a pause (silence in the gold tier). A symbol that
is missing from the table makes the utterance be dropped and counted, never silently guessed.
"""

from __future__ import annotations

SIL: tuple[str, ...] = ()

FESTIVAL_RADIO: dict[str, tuple[str, ...]] = {
    **{p: (p.upper(),) for p in (
        "aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th "
        "uh uw v w y z zh").split()},
    "ax": ("AH",), "axr": ("ER",), "ix": ("IH",), "ux": ("UW",), "dx": ("T",), "nx": ("N",),
    "el": ("AH", "L"), "em": ("AH", "M"), "en": ("AH", "N"), "hv": ("HH",), "q": SIL,
    "pau": SIL, "h#": SIL, "brth": SIL, "#": SIL,
}

# MRPA (Festival's British voices). Non-rhotic centring diphthongs map to their first vowel.
FESTIVAL_MRPA: dict[str, tuple[str, ...]] = {
    "p": ("P",), "t": ("T",), "k": ("K",), "b": ("B",), "d": ("D",), "g": ("G",),
    "f": ("F",), "v": ("V",), "th": ("TH",), "dh": ("DH",), "s": ("S",), "z": ("Z",),
    "sh": ("SH",), "zh": ("ZH",), "h": ("HH",), "ch": ("CH",), "jh": ("JH",), "m": ("M",),
    "n": ("N",), "ng": ("NG",), "l": ("L",), "r": ("R",), "w": ("W",), "y": ("Y",),
    "i": ("IH",), "ii": ("IY",), "e": ("EH",), "a": ("AE",), "aa": ("AA",), "o": ("AA",),
    "oo": ("AO",), "u": ("UH",), "uu": ("UW",), "uh": ("AH",), "@": ("AH",), "@@": ("ER",),
    "ei": ("EY",), "ai": ("AY",), "oi": ("OY",), "ou": ("OW",), "au": ("AW",),
    "i@": ("IH",), "e@": ("EH",), "u@": ("UH",), "#": SIL, "pau": SIL,
}

# espeak-ng English phoneme mnemonics (en, en-us, en-gb-* and the mbrola voices driven by them).
ESPEAK: dict[str, tuple[str, ...]] = {
    "p": ("P",), "t": ("T",), "k": ("K",), "b": ("B",), "d": ("D",), "g": ("G",),
    "f": ("F",), "v": ("V",), "T": ("TH",), "D": ("DH",), "s": ("S",), "z": ("Z",),
    "S": ("SH",), "Z": ("ZH",), "h": ("HH",), "tS": ("CH",), "dZ": ("JH",), "m": ("M",),
    "n": ("N",), "N": ("NG",), "l": ("L",), "r": ("R",), "w": ("W",), "j": ("Y",),
    "t#": ("T",), "d#": ("D",), "t2": ("T",), "d2": ("D",), "k2": ("K",), "?": ("T",),
    "x": ("K",), "W": ("W",), "r-": ("R",), "l/": ("L",), "l#": ("L",), "n-": ("AH", "N"),
    "m-": ("AH", "M"), "@L": ("AH", "L"), "L": ("L",), "z#": ("Z",), "z/2": ("Z",),
    "s2": ("S",), "h#": ("HH",), "hw": ("W",),
    "@": ("AH",), "@2": ("AH",), "@5": ("AH",), "@1": ("AH",), "a#": ("AH",), "V": ("AH",),
    "3": ("ER",), "3:": ("ER",), "@r": ("ER",), "a": ("AE",), "aa": ("AE",), "a2": ("AE",),
    "A:": ("AA",), "A@": ("AA", "R"), "A": ("AA",), "0": ("AA",), "O:": ("AO",), "O": ("AO",),
    "O@": ("AO", "R"), "o@": ("AO", "R"), "0@": ("AO", "R"), "e": ("EH",), "E": ("EH",),
    "E2": ("EH",), "E@": ("EH",), "e@": ("EH", "R"), "eI": ("EY",), "aI": ("AY",),
    "aI@": ("AY", "ER"), "aI3": ("AY", "ER"), "aU": ("AW",), "aU@": ("AW", "ER"),
    "OI": ("OY",), "oU": ("OW",), "o": ("OW",), "O2": ("AO",), "i": ("IY",), "i:": ("IY",),
    "I": ("IH",), "I2": ("IH",), "I#": ("IH",), "i@": ("IY",), "i@3": ("IH", "R"),
    "IR": ("IH", "R"), "u:": ("UW",), "u": ("UW",), "U": ("UH",), "U@": ("UH", "R"),
    "VR": ("AH", "R"), "3:r": ("ER",), "eI@": ("EY", "ER"), "oU@": ("OW", "ER"),
    "@-": ("AH",), "aI2": ("AY",), "t[": ("T",), "w#": ("W",), "e": ("EH",), "n/": ("N",),
    "_": SIL, "_:": SIL, "_!": SIL, "_|": SIL, "_^_": SIL, "||": SIL, "|": SIL,
}

TABLES = {"festival_radio": FESTIVAL_RADIO, "festival_mrpa": FESTIVAL_MRPA, "espeak": ESPEAK}


class UnmappedPhone(KeyError):
    """A phone symbol the table does not know; the utterance is dropped and the symbol logged."""


def to_arpabet(table: str, phone: str) -> tuple[str, ...]:
    """Map one engine phone; stress/length marks espeak may add (', ,) are ignored."""
    t = TABLES[table]
    if phone in t:
        return t[phone]
    bare = phone.strip("'ˈˌ,")
    if bare in t:
        return t[bare]
    raise UnmappedPhone(phone)
