"""Spell numbers the way people read them aloud.

Pure string functions (no lexicon, no I/O) so the normaliser can ask for several readings of the
same digits ("2010" is "twenty ten" or "two thousand ten") and hand them all to the aligner as
pronunciation variants. Every function returns a list of lowercase words; compound tens keep
their hyphen ("ninety-nine") because that is how they are written, and the lexicon splits them.
"""

from __future__ import annotations

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion")
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
_MAX_DIGITS = 3 * len(_SCALES)


def _below_hundred(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    tens, ones = divmod(n, 10)
    return [_TENS[tens] + (f"-{_ONES[ones]}" if ones else "")]


def _below_thousand(n: int, use_and: bool = False) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
        if rest and use_and:
            words.append("and")
    if rest or not hundreds:
        words += _below_hundred(rest)
    return words


def cardinal(n: int, use_and: bool = False) -> list[str]:
    """123 -> ['one', 'hundred', 'twenty-three'] (British 'and' optional).

    Numbers too long to have a scale name are read digit by digit, as people do with long IDs.
    """
    if n < 0:
        return ["minus"] + cardinal(-n, use_and)
    if n == 0:
        return ["zero"]
    if len(str(n)) > _MAX_DIGITS:
        return digits(str(n))
    groups: list[int] = []
    while n:
        n, g = divmod(n, 1000)
        groups.append(g)
    words: list[str] = []
    for scale in range(len(groups) - 1, -1, -1):
        g = groups[scale]
        if not g:
            continue
        if use_and and scale == 0 and g < 100 and words:
            words.append("and")  # British "two thousand and ten"
        words += _below_thousand(g, use_and and scale == 0)
        if _SCALES[scale]:
            words.append(_SCALES[scale])
    return words


def digits(s: str) -> list[str]:
    """'0451' -> ['zero', 'four', 'five', 'one']: for long numbers, decimals and codes."""
    return [_ONES[int(c)] for c in s if c.isdigit()]


def ordinal_word(word: str) -> str:
    """'twenty-one' -> 'twenty-first', 'hundred' -> 'hundredth'."""
    head, sep, last = word.rpartition("-")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return head + sep + last


def ordinal(n: int) -> list[str]:
    """21 -> ['twenty-first']."""
    words = cardinal(n)
    return words[:-1] + [ordinal_word(words[-1])]


def year(n: int) -> list[str]:
    """Read a four-digit number as a year: 1999 -> nineteen ninety-nine, 1905 -> nineteen oh five.

    2000-2009 are read 'two thousand (and) N'; other years in pairs of digits.
    """
    if not 1000 <= n <= 9999:
        return cardinal(n)
    high, low = divmod(n, 100)
    if 2000 <= n <= 2009:
        return cardinal(n)
    if low == 0:
        if high % 10 == 0:  # 1000, 3000: no pair reading
            return cardinal(n)
        return _below_hundred(high) + ["hundred"]
    if low < 10:
        return _below_hundred(high) + ["oh", _ONES[low]]
    return _below_hundred(high) + _below_hundred(low)


def year_readings(n: int) -> list[list[str]]:
    """All common readings of a bare four-digit number, the most likely first."""
    readings = [year(n), cardinal(n)]
    if 2000 <= n <= 2099 and n % 100:
        readings.append(cardinal(n, use_and=True))
    out: list[list[str]] = []
    for r in readings:
        if r not in out:
            out.append(r)
    return out


def plural_word(word: str) -> str:
    """'ninety' -> 'nineties', 'six' -> 'sixes', 'hundred' -> 'hundreds' (for decades: 1990s)."""
    head, sep, last = word.rpartition("-")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith(("s", "x")):
        last += "es"
    else:
        last += "s"
    return head + sep + last


def decimal(int_part: str, frac_part: str) -> list[str]:
    """('3', '14') -> three point one four; ('', '5') -> point five."""
    words = cardinal(int(int_part)) if int_part else []
    return words + ["point"] + digits(frac_part)


def clock_time(hours: int, minutes: int) -> list[list[str]]:
    """4:30 -> four thirty; 4:05 -> four oh five; 4:00 -> four o'clock (or just 'four')."""
    h = cardinal(hours)
    if minutes == 0:
        return [h + ["o'clock"], h, h + ["hundred"]]
    if minutes < 10:
        return [h + ["oh", _ONES[minutes]], h + ["zero", _ONES[minutes]]]
    return [h + _below_hundred(minutes)]
