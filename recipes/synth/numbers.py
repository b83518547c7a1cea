"""Spell out the number-like tokens the sentence generator writes.

Why a recipe-side reader: the recipe controls its own text, so it only has to read the token
shapes it generates (cardinals, years, ordinals, money, percentages, clock times, decimals), and
it must say exactly the words the text-to-speech engine is then given, so the gold word tier can
merge them back into the user's token. Output words are plain lower-case letters (hyphens split),
which every engine reads as one word each.
"""

from __future__ import annotations

import re

from aligner.text import numbers as text_numbers


def _split(words: list[str]) -> list[str]:
    """Hyphenated number words ('ninety-nine') become separate words for the engines."""
    return [part for word in words for part in word.split("-")]


def cardinal(n: int) -> list[str]:
    """1205 -> one thousand two hundred five (American style, no 'and')."""
    return _split(text_numbers.cardinal(n))


def ordinal(n: int) -> list[str]:
    """3 -> ['third'], 21 -> ['twenty', 'first']."""
    return _split(text_numbers.ordinal(n))


def year(n: int) -> list[str]:
    """1999 -> nineteen ninety nine; 1905 -> nineteen oh five; 2007 -> two thousand seven."""
    return _split(text_numbers.year(n))


digits = text_numbers.digits  # a decimal fraction read digit by digit: '05' -> zero five


def clock(h: int, m: int) -> list[str]:
    """3:30 -> three thirty; 7:05 -> seven oh five; 9:00 -> nine o'clock."""
    if m == 0:
        return cardinal(h) + ["o'clock"]
    if m < 10:
        return cardinal(h) + ["oh"] + cardinal(m)
    return cardinal(h) + cardinal(m)


ABBREVIATIONS = {"Dr.": ["doctor"], "Mr.": ["mister"], "Mrs.": ["missus"], "Ms.": ["miz"],
                 "St.": ["saint"], "&": ["and"]}

_TRAIL = ".,?!;:\"')"
_LEAD = "\"'("


def spoken_words(token: str) -> list[str]:
    """One whitespace token of a generated sentence -> the words the engines are given.

    Punctuation around the token is not spoken; hyphens separate words; digits are expanded
    according to the token's shape. Raises ValueError for a shape this module does not read, so
    the generator can never emit text it cannot map.
    """
    if token in ABBREVIATIONS:
        return list(ABBREVIATIONS[token])
    core = token.strip(_LEAD).rstrip(_TRAIL) if token not in ABBREVIATIONS else token
    if core in ABBREVIATIONS:
        return list(ABBREVIATIONS[core])
    if not core:
        raise ValueError(f"empty token {token!r}")
    if m := re.fullmatch(r"\$(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d\d))?", core):
        d = int(m.group(1).replace(",", ""))
        out = cardinal(d) + (["dollar"] if d == 1 else ["dollars"])
        if m.group(2) and int(m.group(2)):
            c = int(m.group(2))
            out += ["and"] + cardinal(c) + (["cent"] if c == 1 else ["cents"])
        return out
    if m := re.fullmatch(r"(\d+)%", core):
        return cardinal(int(m.group(1))) + ["percent"]
    if m := re.fullmatch(r"(\d+)(st|nd|rd|th)", core):
        return ordinal(int(m.group(1)))
    if m := re.fullmatch(r"(\d{1,2}):(\d\d)", core):
        return clock(int(m.group(1)), int(m.group(2)))
    if m := re.fullmatch(r"(\d+)\.(\d+)", core):
        return cardinal(int(m.group(1))) + ["point"] + digits(m.group(2))
    if m := re.fullmatch(r"(1[1-9]\d\d|200\d)", core):
        return year(int(core))
    if re.fullmatch(r"\d{1,3}(,\d{3})*|\d+", core):
        return cardinal(int(core.replace(",", "")))
    if re.fullmatch(r"[A-Za-z]+(['’][A-Za-z]+)?(-[A-Za-z]+(['’][A-Za-z]+)?)*", core):
        return [w.lower().replace("’", "'") for w in core.split("-")]
    raise ValueError(f"token shape not readable: {token!r}")
