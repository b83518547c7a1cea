"""Spell out the number-like tokens the sentence generator writes.

Why a private normaliser: the recipe controls its own text, so it only has to read the token
shapes it generates (cardinals, years, ordinals, money, percentages, clock times, decimals), and
it must say exactly the words the text-to-speech engine is then given, so the gold word tier can
merge them back into the user's token. Output words are plain lower-case letters (hyphens split),
which every engine reads as one word each.
"""

from __future__ import annotations

import re

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORD_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                 "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def cardinal(n: int) -> list[str]:
    """0 <= n < 1e9 -> words, American style without 'and' ("one hundred five")."""
    if n < 0:
        return ["minus"] + cardinal(-n)
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (cardinal(n % 100) if n % 100 else [])
    for size, name in ((10**6, "million"), (1000, "thousand")):
        if n >= size:
            head = cardinal(n // size) + [name]
            return head + (cardinal(n % size) if n % size else [])
    raise ValueError(n)


def ordinal(n: int) -> list[str]:
    """3 -> ['third'], 21 -> ['twenty', 'first']."""
    words = cardinal(n)
    last = words[-1]
    if last in ORD_IRREGULAR:
        last = ORD_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return words[:-1] + [last]


def year(n: int) -> list[str]:
    """1999 -> nineteen ninety nine; 1905 -> nineteen oh five; 2007 -> two thousand seven."""
    if 2000 <= n < 2010:
        return cardinal(n)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return cardinal(hi) + ["hundred"]
    if lo < 10:
        return cardinal(hi) + ["oh"] + cardinal(lo)
    return cardinal(hi) + cardinal(lo)


def clock(h: int, m: int) -> list[str]:
    """3:30 -> three thirty; 7:05 -> seven oh five; 9:00 -> nine o'clock."""
    if m == 0:
        return cardinal(h) + ["o'clock"]
    if m < 10:
        return cardinal(h) + ["oh"] + cardinal(m)
    return cardinal(h) + cardinal(m)


def digits(s: str) -> list[str]:
    """A decimal fraction read digit by digit: '05' -> zero five."""
    return [ONES[int(c)] for c in s]


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
