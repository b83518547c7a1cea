"""What a person typed -> tokens (the words tier) each with the words a speaker says for it.

A token keeps the user's own spelling ("1999", "Dr.", "don't", "well-known") because that is what
the words tier must show; its readings are the spoken words, most likely first
("1999" -> [["nineteen", "ninety-nine"], ["one", "thousand", ...]]). The aligner gets every
reading as a pronunciation variant, so an ambiguous transcript ("2010", "St.") does not force a
guess. Pure string work: no lexicon, except an optional `known` predicate to decide whether an
all-capitals token is a word ("NASA") or letters ("GPU").

Spoken words are lowercase; hyphens stay inside compounds ("ninety-nine"); a letter said by its
name is written with a dot ("u." for the U of "U.S.").
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from aligner.text import numbers as num

# --------------------------------------------------------------------------- characters
APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u0060\u00b4\u02bb"  # all read as '
_CHAR_MAP = {
    **{c: "'" for c in APOSTROPHES},
    **{c: '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"},
    **{c: "-" for c in "\u2010\u2011\u2212"},
    # en and figure dashes part words; em dashes end what comes before them ("w—" broken off,
    # "said—" a pause) and part words
    **{c: " - " for c in "\u2012\u2013"},
    **{c: "-- " for c in "\u2014\u2015\u2e3a\u2e3b"},
    "\u2044": "/", "\u2215": "/", "\u00a0": " ", "\u2026": "...",
    "\u200b": " ",  # a zero-width space: a break between words, not inside one
}
_DROP = {"\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff"}

SPOKEN_SYMBOLS: dict[str, list[str]] = {
    "&": ["and"], "@": ["at"], "+": ["plus"], "=": ["equals"],
    # typed apart from their number ("100 %", "5 × 3", "20 °C", SI's spacing): they were
    # dropped, and the spoken word's time went to a pause or its neighbour
    "%": ["percent"], "×": ["times"], "÷": ["divided", "by"], "±": ["plus", "or", "minus"],
    "°": ["degrees"], "°C": ["degrees", "celsius"], "°F": ["degrees", "fahrenheit"],
    "≈": ["approximately"], "~": ["about"],
}
"""Symbols people say when they stand alone ("R & D"); every other symbol-only token is dropped."""

_BEFORE_NUMBER = "±≈~×÷"
"""Symbols said when glued to the number after them ("±2", "≈5", "×3"): a token of their own
(`_glued_symbol_spans`), the number read as if typed apart. They were dropped as punctuation,
and the spoken words' time went to a pause or a neighbour (review 117)."""

_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "", ""),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_SCALE_WORDS = {"thousand", "million", "billion", "trillion"}
_SCALE_SUFFIX = {"k": "thousand", "m": "million", "mn": "million", "b": "billion",
                 "bn": "billion", "t": "trillion"}
_UNITS = {
    "km": "kilometers", "kg": "kilograms", "cm": "centimeters", "mm": "millimeters",
    "m": "meters", "g": "grams", "mg": "milligrams", "ml": "milliliters", "l": "liters",
    "ft": "feet", "lb": "pounds", "lbs": "pounds", "oz": "ounces", "mph": "miles per hour",
    "kph": "kilometers per hour", "hz": "hertz", "khz": "kilohertz", "mhz": "megahertz",
    "ghz": "gigahertz", "kb": "kilobytes", "mb": "megabytes", "gb": "gigabytes",
    "tb": "terabytes", "s": "seconds", "sec": "seconds", "min": "minutes", "h": "hours",
    "hr": "hours", "hrs": "hours", "am": "a. m.", "pm": "p. m.", "x": "times",
    "kw": "kilowatts", "w": "watts", "v": "volts", "mi": "miles", "yd": "yards", "in": "inches",
}
# Unit abbreviations that are no English word: after a number ("5 km") they are read as the unit
# first; the others ("5 m", "5 in a row") keep the word first and the unit as a variant.
_UNIT_ONLY = {"km", "kg", "cm", "mm", "mg", "ml", "ft", "lb", "lbs", "oz", "mph", "kph", "hz",
              "khz", "mhz", "ghz", "kb", "mb", "gb", "tb", "sec", "hr", "hrs", "kw", "yd"}
_PLAIN_NUMBER_RE = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?(?:-\d[\d,]*(?:\.\d+)?)?", re.ASCII)  # -5, 5-10
_POWER_END = re.compile(r"\^-?\d+$")  # a number's power: "10^-3" (10⁻³) is a number to a unit
_AMOUNT_RE = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?", re.ASCII)  # a sum of money: no range
_UNIT_SINGULAR = {"kilometers": "kilometer", "kilograms": "kilogram", "meters": "meter",
                  "feet": "foot", "pounds": "pound", "ounces": "ounce", "hours": "hour",
                  "seconds": "second", "minutes": "minute", "miles": "mile", "inches": "inch",
                  "liters": "liter", "grams": "gram", "yards": "yard"}
_FRACTIONS = {2: ("half", "halves"), 4: ("quarter", "quarters")}

# Abbreviations: key is the lowercase spelling without its final dot. Readings, most likely
# first; expanded only when written with the dot, unless in `_NO_DOT_OK` (plain "no" is a word).
ABBREVIATIONS: dict[str, list[list[str]]] = {
    "mr": [["mister"]], "mrs": [["missus"]], "ms": [["miz"], ["m.", "s."]],
    "dr": [["doctor"], ["drive"]], "st": [["saint"], ["street"]], "jr": [["junior"]],
    "sr": [["senior"]], "prof": [["professor"]], "vs": [["versus"], ["v.", "s."]],
    "etc": [["et", "cetera"]], "e.g": [["for", "example"], ["e.", "g."]],
    "cf": [["compare"], ["c.", "f."]],
    "i.e": [["that", "is"], ["i.", "e."]], "approx": [["approximately"]],
    "mt": [["mount"]], "ave": [["avenue"]], "rd": [["road"]], "blvd": [["boulevard"]],
    "no": [["number"]], "nos": [["numbers"]], "dept": [["department"]],
    "inc": [["incorporated"], ["inc"]], "ltd": [["limited"]], "co": [["company"], ["co"]],
    "corp": [["corporation"]], "gen": [["general"]], "gov": [["governor"]],
    "sen": [["senator"]], "rep": [["representative"]], "capt": [["captain"]],
    "lt": [["lieutenant"]], "col": [["colonel"]], "sgt": [["sergeant"]], "fig": [["figure"]],
    "vol": [["volume"]], "ch": [["chapter"]], "p": [["page"]], "pp": [["pages"]],
    "jan": [["january"]], "feb": [["february"]], "mar": [["march"]], "apr": [["april"]],
    "jun": [["june"]], "jul": [["july"]], "aug": [["august"]], "sep": [["september"]],
    "sept": [["september"]], "oct": [["october"]], "nov": [["november"]],
    "dec": [["december"]], "mon": [["monday"]], "tue": [["tuesday"]], "wed": [["wednesday"]],
    "thu": [["thursday"]], "fri": [["friday"]], "sat": [["saturday"]], "sun": [["sunday"]],
    "a.m": [["a.", "m."]], "p.m": [["p.", "m."]], "u.s": [["u.", "s."]],
    "u.k": [["u.", "k."]], "ph.d": [["p.", "h.", "d."]], "min": [["minutes"]],
    "ca": [["circa"]],
}
# Abbreviations that end a sentence as often as they stand inside one: before a capital letter
# their dot is a full stop too (`_ends_sentence`). Titles ("Dr. Smith") and "U.S." (before a
# noun: "U.S. Army") are not among them.
ENDS_ON_DOT = frozenset({"etc", "inc", "ltd", "co", "corp", "jr", "sr", "a.m", "p.m", "ph.d",
                         "approx"})
# Written in small letters and always said letter by letter (no vowel to say them by); an
# interjection without a vowel ("psst", "grr") is not spelled.
SPELLED = frozenset({"www", "http", "https", "html", "pdf", "ftp", "url", "usb", "sms"})
_NO_DOT_OK = {"mr", "mrs", "ms", "dr", "jr", "sr", "vs", "etc", "prof", "approx", "dept",
              "ltd", "capt", "sgt", "blvd", "a.m", "p.m", "u.s", "u.k", "e.g", "i.e", "ph.d"}
_WORDLIKE = {
    "no", "nos", "sun", "sat", "mar", "wed", "fig", "gen", "rep", "vol", "col", "min", "mon",
    "sep", "co", "inc", "ch", "p", "pp", "dec", "jun", "jul", "aug", "oct", "nov", "apr", "feb",
    "jan", "thu", "tue", "fri", "sept", "sen", "gov", "lt", "corp", "rd", "ave"}
"""Abbreviations that are also words or names: expanded only where the context says so."""
_STREET_BEFORE = {"st", "ave", "rd", "blvd", "dr", "mt"}

# --------------------------------------------------------------------------- patterns
_A = re.ASCII
_INT = r"\d{1,3}(?:,\d{3})+|\d+"
_CURRENCY_RE = re.compile(
    r"^([+-]?)([$£€¥₹])(%s)?(?:\.(\d+))?(k|m|mn|b|bn|t)?$" % _INT, re.IGNORECASE | _A)
_CURRENCY_AFTER_RE = re.compile(r"^(%s)(?:\.(\d+))?([$£€¥₹])$" % _INT, _A)
_CURRENCY_RANGE_RE = re.compile(r"^([$£€¥₹])(%s)-(%s)$" % (_INT, _INT), _A)
_PERCENT_RE = re.compile(r"^([+-]?)(%s|)(?:\.(\d+))?%%$" % _INT, _A)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(am|pm|a\.m\.?|p\.m\.?)?$",
                      re.IGNORECASE | _A)
_ORDINAL_RE = re.compile(r"^(%s)(st|nd|rd|th)$" % _INT, re.IGNORECASE | _A)
_DECADE_RE = re.compile(r"^'?(\d{2})?(\d)0'?s$", _A)
_NUMBER_RE = re.compile(r"^([+-]?)(%s|)(?:\.(\d+))?$" % _INT, _A)
_FRACTION_RE = re.compile(r"^(\d+)/(\d+)$", _A)
# Dates typed as numbers: 3/4/2021, 3/4/21, 12-25-1999 (with dashes only a four-digit year:
# 10-20-30 may be anything), and ISO's 2021-03-04. Not with dots: 3.10.12 is a version or a
# section as often as a date.
_DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$|^(\d{1,2})-(\d{1,2})-(\d{4})$", _A)
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", _A)
_DAY_RE = re.compile(r"^(?:[1-9]|[12]\d|3[01])$", _A)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MONTH_NUMBER = {m: i for i, m in enumerate(MONTHS, 1)}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_HASH_RE = re.compile(r"^#(%s)$" % _INT, _A)
_RANGE_RE = re.compile(r"^(%s)-(%s)$" % (_INT, _INT), _A)
# A Roman numeral of two letters or more after a capitalised word: a monarch's or a pope's
# number ("Louis XIV": "the fourteenth"), or a sequel's, a war's, a type's ("World War II",
# "Type II": "two"). Up to 89 (LXXXIX): larger ones are words or initials (MIX, DIV, CIV).
_ROMAN_RE = re.compile(r"^(?=[IVXL]{2})(XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50}


def _roman_readings(core: str, prev: str, shouting: bool) -> list[list[str]]:
    """"the fourteenth" and "fourteen" for "XIV" after a capitalised word, else nothing; not in
    a transcript in capitals, where every word is capitalised ("MR LI" is a name). After a
    capitalised word that numbers what follows ("Chapter I", "Act V", "CHAPTER XII"), I, V and
    X alone are numerals too (not in capitals: "THE PART I PLAYED"), and the number comes
    first, but after the pronoun for an "I" without a full stop ("Part I agree" is as likely
    as "Part I"; the caller orders them): "Chapter I." was the pronoun alone and "Chapter V."
    the letter V."""
    numbering = prev[:1].isupper() and prev.lower().rstrip(".") in _NUMBERED
    if core.endswith(".") and numbering:
        core = core[:-1]  # "Chapter I.": a full stop, not the initial I.
    # in capitals, "THE PART I PLAYED": only a numeral of two letters or more
    numbered = numbering and bool(_ROMAN_ANY_RE.fullmatch(core)) and (
        len(core) > 1 or (core in "IVX" and not shouting))
    if not numbered and (shouting or not (_ROMAN_RE.match(core) and prev[:1].isupper()
                                          and prev.isalpha())):
        return []
    values = [_ROMAN_VALUES[c] for c in core]
    n = sum(-v if v < w else v for v, w in zip(values, values[1:] + [0]))
    ordinal, cardinal = ["the"] + num.ordinal(n), num.cardinal(n)
    return [cardinal, ordinal] if numbered else [ordinal, cardinal]


# Words that number what follows them, in a book or a script ("Chapter IV", "Act V", "Type II",
# "World War I": "one" was never offered, only the letter I; review 117).
_NUMBERED = frozenset({"chapter", "book", "part", "volume", "vol", "act", "scene", "section",
                       "appendix", "canto", "article", "lesson", "unit", "stage", "phase",
                       "level", "round", "episode", "season", "psalm", "plate", "figure", "fig",
                       "table", "type", "war"})
_ROMAN_ANY_RE = re.compile(r"(?=[IVXL])(XL|L?X{0,3})(IX|IV|V?I{0,3})")


# A telephone number as written in North America: 555-1234 (an exchange never starts with 0 or
# 1: "100-1234" is a range), 555-123-4567, 1-800-555-1234. Said digit by digit first; a range
# is the other reading, the first one for round numbers ("500-1000 people").
_PHONE_NUMBER_RE = re.compile(r"^(?:(?:1-)?\d{3}-\d{3}-\d{4}|[2-9]\d{2}-\d{4})$", _A)
_NUM_UNIT_RE = re.compile(r"^(%s)(?:\.(\d+))?([a-z]+(?:/[a-z]+)?)$" % _INT, re.IGNORECASE | _A)
_DEGREE_RE = re.compile(r"^([+-]?)(%s)(?:\.(\d+))?°([cf])?$" % _INT, re.IGNORECASE | _A)
_INITIALS_RE = re.compile(r"^(?:[a-z]\.)+[a-z]?\.?$", re.IGNORECASE)
_SEPARATORS = re.compile(  # but "~5" is a word (about five, `_glued_symbol_spans`), and "x^2",
    # "10^-3" are powers; "5~7", "12:00~13:00" part as before
    r"[;!?()\[\]{}\"<>|\\*_]+|\^+(?!-?\d)|(?<=\S)~+|~+(?!\d)|\.{2,}|-{2,}|(?<!\d)[,:]"
    r"|[,:](?!\d)")

# Transcript markup (MFA's conventions): a token in [..], {..} or <..>, or one word in (..) that
# has a letter ("(inaudible)", not "(555)"), not glued to a word ("item(s)" stays a word).
# Square and curly brackets may hold spaces ("[background noise]"); lengths are bounded so a
# stray bracket in an hour-long one-line transcript costs nothing.
_MARKUP = (r"\[[^\[\]\n]{1,200}\]|\{[^{}\n]{1,200}\}|<[^\s<>]{1,200}>|\([^\s()]{1,200}\)"
           r"|&[+=~][^\s\[\]<>&]{1,200}")
_MARKUP_RE = re.compile(rf"(?<!\w)(?:{_MARKUP})(?!\w)")
# CHAT (CLAN: TalkBank, AphasiaBank, CHILDES) marks what is not a word its own way: events
# (`&=laughs`) and fragments (`&+fr`, `&~fr`) are spoken noise above, in any transcript; in a
# transcript that is CHAT (`is_chat`) so are unintelligible words (`xxx`, `yyy`, `www`: words
# elsewhere), fillers (`&-um`) are the word after `&-`, and the codes below, which annotate
# rather than transcribe, are blanked by `chat_codes` (spaces of the same length: every word
# keeps its place for the words tier): retracing [/] [//] [///] [/-] [/?], replacements [: x]
# [:: x], error codes [* x], postcodes [+ x], explanations [= x] [=! x], alternatives [=? x],
# repetitions [x 3], stress and doubt [!] [!!] [?], overlaps [>] [<] [<1], the angle brackets
# of the words such a code scopes (<I want> [/]), omitted words (0is), special-form suffixes
# (dog@c), a speaker code opening a line (*PAR:), terminators (+... +/. +//.) and media
# bullets (123_456).
_CHAT_MARKUP_RE = re.compile(
    rf"(?<!\w)(?:{_MARKUP}|(?:xxx|yyy|www)(?=[\s,;:!?]|\.(?!\w)|$))(?!\w)")
_CHAT_CODE = (r"\[(?:/{1,3}[-?]?|::?\s[^\[\]\n]*|\*[^\[\]\n]*|\+\s[^\[\]\n]*|=[!?]?\s[^\[\]\n]*"
              r"|x\s\d+|!!?|\?|[<>]\d?|\^\s?[^\[\]\n]*|%\s[^\[\]\n]*|-\s[^\[\]\n]*)\]")
# CHAT's utterance terminators and linkers (+... +..? +!? +/. +/? +//. +//? +"/. +". +" +. +^ +<
# +, ++): never spoken, in any transcript (a .lab cut from a CHAT line keeps them without the
# codes that make it CHAT, and "+..." was read "plus").
_CHAT_TERMINATOR = r'(?<!\S)\+(?:\.\.\.|\.\.\?|!\?|//?[.?]|"/\.|"\.?|\.|\^|<|,|\+)(?!\S)'
_CHAT_TERMINATOR_RE = re.compile(_CHAT_TERMINATOR)
# A timed pause as conversation analysts (Jefferson) and CHAT write it, "(2.0)", "(0.5)", and
# the micropause "(.)": never spoken ("(2.0)" was read "two point zero" and squeezed the word
# after it into the pause). A number without a decimal point in brackets, "(555)", is said.
_TIMED_PAUSE_RE = re.compile(r"(?<!\S)\(\d*\.\d*\)(?=[\s,.;:!?]|$)")
_CHAT_OMITTED_RE = re.compile(r"(?<!\S)0[a-z][a-z']*(?!\S)")  # `0is`: a word left out
_CHAT_RE = re.compile(
    _CHAT_CODE + "|" + _CHAT_OMITTED_RE.pattern
    + r"|(?<=[^\W\d_])@[a-z]{1,2}(?::[a-z]+)*(?![\w.@])"
    r"|^\s*\*[A-Z0-9]{2,4}:|" + _CHAT_TERMINATOR + r"|(?<!\S)\d+_\d+(?!\S)|&-(?=\w)",
    re.MULTILINE)
_CHAT_SCOPE_RE = re.compile(r"<([^<>\n]{1,500})>(?=\s*" + _CHAT_CODE + ")")
# What only CHAT writes: one of these makes a transcript CHAT (`is_chat`).
_CHAT_SIGN_RE = re.compile(
    r"\[(?:/{1,3}[-?]?|::?\s|\*|x\s\d|=[!?]?\s)|&[-+=~][^\W\d_]|^\s*\*[A-Z0-9]{2,4}:", re.MULTILINE)
# Optional letters glued to a word, as in "item(s)", "(s)he", "colo(u)r", also in a hyphenated
# word ("word(s)-based"): one word with both readings ("items" and "item"); the aligner keeps
# the one the audio fits; a possessive after it ("item(s)'s") goes with both. A match starts
# at a word's start: no quadratic rescans of a-b-c-...
_OPTIONAL_LETTERS_RE = re.compile(
    r"(?<![^\W_])(?<![^\W_]-)(?:[^\W_]+-)*[^\W_]*(?:\([^\W\d_]{1,4}\)[^\W_]*)+(?:-[^\W_]+)*"
    r"(?:'s)?", re.IGNORECASE)
MARKUP_SPN = "spn"  # Token.markup of spoken noise
MARKUP_STAR = "star"  # Token.markup of the `<star>` wildcard
_NON_SPACE = re.compile(r"\S+")


@dataclass
class Token:
    """One word of the words tier: the user's spelling and what a speaker says for it.

    markup: "" for words; MARKUP_SPN or MARKUP_STAR for transcript markup (`[laughter]`,
    `<unk>`, `<star>`: see `markup_kind`), which has no readings. ends_sentence: a full stop,
    question or exclamation mark, an ellipsis or a line break follows it (`_ends_sentence`)."""

    text: str
    readings: list[list[str]]
    markup: str = ""
    ends_sentence: bool = False

    @property
    def spoken(self) -> list[str]:
        return self.readings[0] if self.readings else []


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _clean_char(ch: str) -> str:
    if ch.isascii():
        return ch if ch.isprintable() or ch.isspace() else " "
    if ch in _DROP:
        return ""
    mapped = _CHAR_MAP.get(ch)
    if mapped is not None:
        return mapped
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        mapped = _CHAR_MAP.get(c)
        if mapped is not None:
            out.append(mapped)
        elif c in _DROP:
            continue
        elif not c.isspace() and unicodedata.category(c)[0] in "CZ":
            out.append(" ")  # control and format characters separate words
        else:
            out.append(c)
    return "".join(out)


def clean_with_origin(text: str) -> tuple[str, str, list[int] | None]:
    """(NFC text, cleaned text, origin) where cleaned[k] came from nfc[origin[k]].

    Cleaning maps compatibility forms (NFKC, character by character), curly quotes, dashes and
    invisible characters to plain forms; the origin map lets the words tier show the user's own
    spelling ("don’t", not "don't"). origin is None when the two are the same length and
    aligned (plain ASCII), which is the common, fast case.
    """
    if text.isascii():
        return text, _ASCII_CONTROL.sub(" ", text), None
    nfc = unicodedata.normalize("NFC", text)
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(nfc):
        if ch in _SUPERSCRIPT_DIGITS and _footnote_mark(nfc, i):
            continue
        if ch in _POWER_START and (i == 0 or nfc[i - 1] not in _POWER_START) and (
                ch != "\u207b" or nfc[i + 1: i + 2] in _SUPERSCRIPT_DIGITS):
            c = "^" + ("-" if ch == "\u207b" else _clean_char(ch))  # "3²": a power, "three
            out.append(c)  # squared", not "thirty-two"; "10⁻³": "ten to the minus three"
            origin.extend([i] * len(c))
            continue
        if ch in "\u2012\u2013~\uff5e" and 0 < i < len(nfc) - 1 and nfc[i - 1].isdigit() \
                and nfc[i + 1].isdigit():
            c = "-"  # "1914–1918", "pp. 12–15", "5~7": a range, as with a hyphen
        else:
            c = _clean_char(ch)
        out.append(c)
        origin.extend([i] * len(c))
    return nfc, "".join(out), origin


_SUPERSCRIPT_DIGITS = frozenset("\u00b9\u00b2\u00b3\u2070\u2074\u2075\u2076\u2077\u2078\u2079")
_POWER_START = _SUPERSCRIPT_DIGITS | {"\u207b"}  # and a superscript minus: "10⁻³"


def _power_words(exponent: str) -> list[str]:
    """How a power is said: "squared", "cubed", "to the minus" the number, else "to the power
    of" the number."""
    if exponent.startswith("-"):
        return ["to", "the", "minus", *_number_readings("", exponent[1:], None)[0]]
    return {"2": ["squared"], "3": ["cubed"]}.get(
        exponent, ["to", "the", "power", "of", *_number_readings("", exponent, None)[0]])


def _footnote_mark(text: str, i: int) -> bool:
    """Whether the superscript digit text[i] marks a footnote: glued to punctuation
    ("palace.¹") or to a word of three lower-case letters or more ("note²"), not to a unit, a
    symbol or a formula ("m²", "x²", "mc²", "CO²"). Why: its compatibility form is the digit,
    so "palace.¹" was "palace dot one"."""
    j = i
    while j > 0 and text[j - 1] in _SUPERSCRIPT_DIGITS:
        j -= 1
    if j == 0 or text[j - 1].isspace() or text[j - 1].isdigit():
        return False
    k = j
    while k > 0 and text[k - 1].isalpha():
        k -= 1
    word = text[k:j]
    if not word:
        return unicodedata.category(text[j - 1])[0] == "P"
    return len(word) > 2 and not word.isupper() and word.lower() not in _UNITS  # "Smith²³"


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


_LETTER_SHARP_PLUS_RE = re.compile(r"[^\W\d_](?:\+\+?|#)")  # C++, C#, A+ (a grade)
DOT_NAMES = frozenset({"net", "com", "org", "io"})  # said with their dot when written with it


def _without_possessive(word: str) -> str:
    """`word` without a possessive or plural `'s` ("C#'s" -> "C#"); as it is without one."""
    return word[:-2] if len(word) > 2 and word[-2:].lower() == "'s" else word


def _strip_span(piece: str, known: Callable[[str], bool]) -> tuple[int, int]:
    """Drop punctuation around a token, keeping what belongs to it ($5, 50%, Dr., '90s, dogs')."""
    start = 0
    n = len(piece)
    while start < n and not _is_word_char(piece[start]):
        ch = piece[start]
        nxt = piece[start + 1] if start + 1 < n else ""
        rest = piece[start:]
        if ch in _CURRENCY and (nxt.isdigit() or nxt == "."):
            break
        if ch in "+-" and (nxt.isdigit() or nxt in _CURRENCY or nxt == "."):
            break
        if ch in ".#" and nxt.isdigit():
            break
        if ch == "'" and (nxt.isdigit() or known(_core_word(rest))):
            break
        if ch == "°" and rest[1:].rstrip(".,;:!?") in ("C", "F"):
            break  # "20 °C": degrees Celsius, not the letter C
        if ch == "." and _without_possessive(rest[1:].rstrip(".,;:!?\"')")).lower() in DOT_NAMES:
            break  # ".NET", "the .com boom": said "dot net", "dot com"
        start += 1
    end = n
    while end > start and not _is_word_char(piece[end - 1]):
        ch = piece[end - 1]
        core = piece[start:end]
        if ch == "%" and end - 2 >= start and piece[end - 2].isdigit():
            break
        if ch in _CURRENCY and end - 2 >= start and piece[end - 2].isdigit():
            break
        if ch == "°" and end - 2 >= start and piece[end - 2].isdigit():
            break
        if ch in "+#" and _LETTER_SHARP_PLUS_RE.fullmatch(piece[start:end]):
            break  # "C++", "C#", "A+": said "C plus plus", "C sharp", "A plus"
        if (ch == "'" and end - start >= 3 and piece[end - 2] in "sS"
                and piece[start - 1: start] != "'"):
            break  # "dogs'": a plural's possessive; in "'clubs'" a closing quote
        word = core[:-1].lower().rsplit("-", 1)[-1]  # "n-nothin'": the word after a stutter
        if (ch == "'" and piece[start - 1: start] != "'" and word.endswith("in")
                and known(word + "g")):
            break  # "goin'", "nothin'": the -ing word said with N (Lexicon); not 'Berlin'
        if ch == "'" and piece[start - 1: start] != "'" and known(core.lower()):
            break  # "th'", "ol'": a word with its last sound dropped (lexicon.ELISIONS)

        if ch == "." and _keeps_dot(core, known):
            break
        end -= 1
    return start, end


def _core_word(s: str) -> str:
    m = re.match(r"^'?[\w']*", s)
    return (m.group(0) if m else s).lower().rstrip("'") or s


def _keeps_dot(core: str, known: Callable[[str], bool]) -> bool:
    """Is the final dot part of the token (Dr., U.S., a.m.) rather than a full stop?"""
    low = core.lower()
    if low[:-1] in ABBREVIATIONS:
        return True
    if _INITIALS_RE.match(low) and ("." in low[:-1] or len(low) == 2):
        return True
    return known(low) and "." in low[:-1]


def _dedupe(readings: list[list[str]]) -> list[list[str]]:
    out: list[list[str]] = []
    for r in readings:
        if r and r not in out:
            out.append(r)
    return out


def _int(s: str) -> int:
    return int(s.replace(",", ""))


def _number_readings(sign: str, int_part: str, frac: str | None,
                     year_ok: bool = False) -> list[list[str]]:
    """Readings of a plain number: integer, decimal, long digit strings, years (only for bare
    numbers: "1999 people" may be a year reading too, but "1999%" is not)."""
    prefix = ["minus"] if sign == "-" else (["plus"] if sign == "+" else [])
    digits_only = int_part.replace(",", "")
    if frac is not None:
        return [prefix + num.decimal(digits_only, frac)]
    if not digits_only:
        return []
    n = int(digits_only)
    bare = year_ok and not prefix and "," not in int_part
    if bare and len(digits_only) == 4 and 1000 <= n <= 2099:
        readings = num.year_readings(n)
    elif (len(digits_only) > 1 and digits_only.startswith("0")) or (
            "," not in int_part and len(digits_only) >= 7):
        readings = [prefix + num.digits(digits_only), prefix + num.cardinal(n)]
    else:
        readings = [prefix + num.cardinal(n)]
    if bare and len(digits_only) > 1:  # a code, a PIN, a room: "7399" said "seven three nine
        # nine" (review 121: 23 of 25 learners reading digits were given the cardinal's phones)
        said = num.digits(digits_only)
        readings += [said, ["oh" if w == "zero" else w for w in said]]
    return _dedupe(readings)


def _money(symbol: str, int_part: str | None, frac: str | None, scale: str | None,
           sign: str = "") -> list[list[str]]:
    one, many, sub_one, sub_many = _CURRENCY[symbol]
    prefix = ["minus"] if sign == "-" else []
    whole = _int(int_part) if int_part else 0
    if scale:
        amount = num.decimal(str(whole), frac) if frac else num.cardinal(whole)
        return [prefix + amount + [scale, many]]
    if frac is not None and len(frac) == 2 and sub_one:
        cents = int(frac)
        readings = []
        main = num.cardinal(whole) + [one if whole == 1 else many]
        if cents:
            sub = num.cardinal(cents) + [sub_one if cents == 1 else sub_many]
            readings.append(prefix + (main + ["and"] + sub if whole else sub))
            readings.append(prefix + main + sub if whole else prefix + sub)
            readings.append(prefix + num.cardinal(whole) + num.cardinal(cents))
            if whole:  # "three dollars fifty", as often said as "three fifty"
                readings.append(prefix + main + num.cardinal(cents))
        else:
            readings.append(prefix + main)
        return _dedupe(readings)
    if frac is not None:
        return [prefix + num.decimal(str(whole), frac) + [many]]
    return [prefix + num.cardinal(whole) + [one if whole == 1 else many]]


def _unit_words(unit: str, amount_is_one: bool) -> list[str] | None:
    """'km' -> kilometers (kilometer after one); 'km/h' -> kilometers per hour."""
    if "/" in unit:
        top, bottom = unit.split("/", 1)
        upper, lower = _unit_words(top, amount_is_one), _unit_words(bottom, True)
        return None if upper is None or lower is None else upper + ["per"] + lower
    words = _UNITS.get(unit.lower())
    if words is None:
        return None
    parts = words.split()
    if amount_is_one and parts[0] in _UNIT_SINGULAR:
        parts[0] = _UNIT_SINGULAR[parts[0]]
    return parts


def _month(word: str) -> int | None:
    """The month a capitalised name or abbreviation ("March", "Mar.", "Sept": ABBREVIATIONS
    spells it) stands for."""
    if not word[:1].isupper():
        return None
    key = word.rstrip(".,").lower()
    spelled = ABBREVIATIONS.get(key, [[key]])[0]
    return _MONTH_NUMBER.get(spelled[0]) if len(spelled) == 1 else None


def _is_date(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month - 1]


def _typed_date(core: str) -> list[list[str]]:
    """`_date_readings` of a token typed as a date (`_DATE_RE`, `_ISO_DATE_RE`), else []."""
    m = _DATE_RE.match(core)
    if m:
        a, b, year = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
        return _date_readings(int(a), int(b), year)
    m = _ISO_DATE_RE.match(core)
    return _date_readings(int(m.group(2)), int(m.group(3)), m.group(1), iso=True) if m else []


def _date_readings(first: int, second: int, year: str, iso: bool = False) -> list[list[str]]:
    """A date typed as numbers, most likely readings first, or [] when it is no date (31/02).
    a/b/year: month first, as typed in the US ("March fourth twenty twenty-one"), and day
    first, as typed elsewhere ("the third of April", "third April"), where the numbers allow;
    ISO's year-month-day: either way of saying it. The year as people say it
    (`numbers.year_readings`; '21: "twenty-one", '09: "oh nine"), each way of saying the date
    with the years said with it; each way first with the likeliest year, then the numbers one by
    one, as such a token was read before, then the other years: at most 7 readings, within the
    variants a word keeps (`lexicon.MAX_VARIANTS`)."""
    y = int(year)
    if len(year) == 4:
        if not 1000 <= y <= 2999:
            return []
        years = num.year_readings(y)
    else:
        years = [num.cardinal(y) if y >= 10 else ["oh"] + num.cardinal(y) if y
                 else ["two", "thousand"]]  # '21, '09, '00
    # (a way of saying the date, its year's readings): "March fourth" with the US years
    # ("twenty twenty-one", "two thousand twenty-one"), the day first with the British ones
    # (the same, or "two thousand and twenty-one")
    us, uk = years[:2], _dedupe([years[0], years[-1]])
    forms = [(said, uk if british else us) for said, british in _day_forms(first, second, iso)]
    if not forms:
        return []
    parts = [year, str(first), str(second)] if iso else [str(first), str(second), year]
    as_typed = [w for part in parts for w in _number_readings("", part, None)[0]]
    return _dedupe([f + said[0] for f, said in forms] + [as_typed]
                   + [f + r for f, said in forms for r in said[1:]])


def _day_forms(first: int, second: int, iso: bool = False) -> list[tuple[list[str], bool]]:
    """The ways of saying a month and day typed as the numbers first/second, most likely first,
    each with whether it is the day-first (British) way: month first where first/second is a
    date ("March fourth"; ISO's order, year-month-day, also "the fourth of March"), day first
    where second/first is one ("the third of April", "third April"); [] when neither is."""
    forms = []
    if _is_date(first, second):  # month first (ISO: always)
        forms.append(([MONTHS[first - 1]] + num.ordinal(second), False))
        if iso:
            forms.append((["the"] + num.ordinal(second) + ["of", MONTHS[first - 1]], True))
    if not iso and _is_date(second, first):  # day first
        forms.append((["the"] + num.ordinal(first) + ["of", MONTHS[second - 1]], True))
        forms.append((num.ordinal(first) + [MONTHS[second - 1]], True))
    return forms


def _fraction(a: int, b: int) -> list[str]:
    """A proper fraction in words: 1/2 "one half", 3/4 "three quarters", 2/3 "two thirds"."""
    if b in _FRACTIONS:
        denom = _FRACTIONS[b][0 if a == 1 else 1]
    else:
        denom = num.ordinal(b)[0] + ("" if a == 1 else "s")
    return num.cardinal(a) + [denom]


_VULGAR_RE = re.compile(r"(%s)?([\u00bc-\u00be\u2150-\u215e])((?:-[^\W\d_]+)*)" % _INT)


def _vulgar_readings(typed: str) -> list[list[str]]:
    """Readings of a token typed with a fraction character, "1½" ("one and a half"), "¾"
    ("three quarters"), else []. Why: the character's compatibility form, 1⁄2, glued to the
    whole number before it, read "1½" as "eleven two" and "2¾" as "twenty-three four"."""
    m = _VULGAR_RE.fullmatch(typed)
    if m is None:
        return []
    a, b = (int(x) for x in unicodedata.normalize("NFKC", m.group(2)).split("\u2044"))
    said = _fraction(a, b)
    parts = [["a", *said[1:]], said] if a == 1 else [said]  # "a half", "one half"
    after = m.group(3).lower().split("-")[1:]  # "½-hour"
    if m.group(1) is None:
        return [p + after for p in parts + ([said[1:]] if a == 1 else [])]  # "½ cup": "half"
    whole = _number_readings("", m.group(1), None)[0]
    return [whole + ["and"] + part + after for part in parts]


def spell_letters(word: str) -> list[str]:
    """'GPU' -> ['g.', 'p.', 'u.']: letters said by name."""
    return [c.lower() + "." for c in word if c.isalpha()]


def _word_readings(core: str, known: Callable[[str], bool], shouting: bool) -> list[list[str]]:
    """Readings of a token made of letters (and maybe digits, hyphens, slashes, dots)."""
    low = core.lower()
    if low in SPELLED:  # "www.example.com", "the pdf"
        return [spell_letters(core)]
    if known(low):
        # A known word in capitals is the word: capitals are emphasis ("It's NOT fish"), the
        # corpus's style ("ZERO"), or beside a lower-case filler ("SEE ... uh-huh"), and a
        # spelled variant (N-O-T, five phones) fits any frames at least as well as the word's
        # three, so the acoustics picked the letters for words said plainly. "U.S." spells.
        return [[low]]
    if "/" in core:
        parts = [p for p in core.split("/") if p]
        out: list[str] = []
        for p in parts:
            out += _piece_readings(p, known, shouting)[0] if _has_alnum(p) else []
        return [out] if out else []
    if _INITIALS_RE.match(core):
        return [spell_letters(core)]
    # Internal symbols: "AT&T", "google.com", "C3PO", "COVID-19".
    if re.search(r"[^\w'\-]", core) or re.search(r"\d", core):
        owner = _without_possessive(core)
        if owner != core and re.search(r"[^\w'\-]|\d", owner):  # "C#'s", ".NET's", "MP3's"
            said = _word_readings(owner, known, shouting)
            return [said[0][:-1] + [said[0][-1] + core[len(owner):].lower()]] if said else []
        words: list[str] = []
        prev = ""
        # "AT&T", "Q&A", "R&D": initials said by name ("at", "uh" they were not); "MOM&DAD",
        # "YOU&ME" are words
        initials = "&" in core and all(len(c) <= 2 and (c.isupper() or len(c) == 1)
                                       for c in re.findall(r"[^\W\d_]+", core))
        for chunk in re.findall(r"\d+(?:st|nd|rd|th)(?![^\W\d_])|'?\d+'?s(?![^\W\d_])"
                                r"|[^\W\d_]+(?:'[^\W\d_]+)*|\^-?\d+|\d+|[&@+=.#×÷]", core,
                                re.IGNORECASE):
            # isdecimal, not isdigit: a digit that is no decimal (Rumi '𐹠') is a letter here
            # "5-km"; a capital M is no metre ("3M's": the company)
            unit = _unit_words(chunk, prev == "1") if prev.isdecimal() and chunk != "M" else None
            if unit:
                words += unit
            elif _DECADE_RE.match(chunk):  # "mid-80s", "late-1990s": decades, not seconds
                words += _piece_readings(chunk, known, shouting)[0]
            elif chunk[-1] in "sS" and chunk.strip("'sS").isdecimal():  # "B-52s": fifty twos
                said = num.cardinal(int(chunk.strip("'sS")))
                words += said[:-1] + [num.plural_word(said[-1])]
            elif chunk[:1].isdecimal() and not chunk.isdecimal():  # "1st-class", "21st-century"
                words += _piece_readings(chunk, known, shouting)[0]
            elif chunk.startswith("^"):  # "3²", "m²", "x^2": a power (`clean_with_origin`)
                words += _power_words(chunk[1:])
            elif chunk == ".":
                words.append("dot")
            elif chunk == "#":  # "C#", "F#"; any other "#" inside a word is not said
                words += ["sharp"] if core.endswith("#") and len(prev) == 1 else []
            elif chunk.isalpha() and (initials or _LETTER_SHARP_PLUS_RE.fullmatch(core) or (
                    len(chunk) == 1 and chunk not in ("a", "i"))):
                words += spell_letters(chunk)  # the letter A ("A4", "A+"); "5-a-day" says "a"
            elif chunk in SPOKEN_SYMBOLS:
                words += SPOKEN_SYMBOLS[chunk]
            elif chunk.isdecimal() and len(chunk) == 4 and 1100 <= int(chunk) <= 2099:
                words += num.year_readings(int(chunk))[0]  # "post-1945": a year, as alone
            elif chunk.isdecimal():
                words += _number_readings("", chunk, None)[0]
            else:
                words += _word_readings(chunk, known, shouting)[0]
            prev = chunk
        return [words] if words else []
    letters = re.sub(r"[^\w]", "", core)
    if re.match(r"^[A-Z]{2,5}'?s$", core) and not shouting:  # "GPUs", "CD's": spelled plural
        spelled = spell_letters(core[:-1].rstrip("'"))
        return [spelled[:-1] + [spelled[-1] + "'s"], [low]]
    if core.isupper() and len(letters) >= 2 and not shouting:
        spelled = spell_letters(core)
        has_vowel = re.search(r"[aeiouy]", low) is not None
        if len(letters) <= 3 or not has_vowel:
            return [spelled, [low]]
        return [[low], spelled]
    return [[low]]


def _has_alnum(s: str) -> bool:
    return any(c.isalnum() for c in s)


def _piece_readings(core: str, known: Callable[[str], bool], shouting: bool,
                    prev: str = "", nxt: str = "") -> list[list[str]]:
    """All readings of one stripped token, most likely first (context: neighbouring tokens)."""
    low = core.lower()
    if core.isalpha() and low not in ABBREVIATIONS:  # plain word: the common case, kept fast
        return _word_readings(core, known, shouting)
    if _OPTIONAL_LETTERS_RE.fullmatch(core):  # "item(s)": "items" or "item"
        full = core.replace("(", "").replace(")", "")
        if full.lower().endswith("s's"):  # "item(s)'s": "items'" (said "items") or "item's"
            full = full[:-1]
        return _word_readings(full, known, shouting) + _word_readings(
            _without_optional(core), known, shouting)
    key = low[:-1] if low.endswith(".") else low
    if key in ABBREVIATIONS and (low.endswith(".") or key in _NO_DOT_OK):
        readings = [list(r) for r in ABBREVIATIONS[key]]
        if key in _WORDLIKE:
            # "No. 5" / "Wed. June 3" vs "he said no." : the plain word is always a variant.
            expand = bool(re.match(r"^#?\d", nxt)) or (core[:1].isupper() and bool(nxt))
            readings = readings + [[key]] if expand else [[key]] + readings
        if key in _STREET_BEFORE and len(readings) > 1:
            # "St. Louis" (saint) vs "Main St." (street): a capitalised word after -> title.
            after_name = nxt[:1].isupper()
            before_name = prev[:1].isupper() or prev[:1].isdigit()
            if before_name and not after_name:  # the street's word first ("Park Ave. today":
                street = list(ABBREVIATIONS[key][-1])  # avenue, not the plain "ave")
                readings = [street] + [r for r in readings if r != street]
        return readings
    if core in SPOKEN_SYMBOLS:
        return [SPOKEN_SYMBOLS[core]]
    m = _CURRENCY_RE.match(core)
    if m and (m.group(3) or m.group(4)):
        sign, sym, ip, frac, scale = m.groups()
        scale_word = _SCALE_SUFFIX[scale.lower()] if scale else None
        if not scale_word and nxt.lower().rstrip(".,") in _SCALE_WORDS:
            # "$2 million": the unit is said after the scale word, which gets it below.
            amount = num.decimal((ip or "0").replace(",", ""), frac) if frac else num.cardinal(
                _int(ip or "0"))
            return [(["minus"] if sign == "-" else []) + amount]
        return _money(sym, ip, frac, scale_word, sign)
    m = _CURRENCY_AFTER_RE.match(core)
    if m:
        return _money(m.group(3), m.group(1), m.group(2), None)
    m = _CURRENCY_RANGE_RE.match(core)
    if m:  # "$5-10": five to ten dollars
        low, high = _number_readings("", m.group(2), None)[0], _money(m.group(1), m.group(3),
                                                                       None, None)
        return [low + ["to"] + r for r in high] + [low + r for r in high]
    m = _PERCENT_RE.match(core)
    if m and (m.group(2) or m.group(3)):
        sign, ip, frac = m.groups()
        base = _number_readings(sign, ip, frac)[0]
        return [base + ["percent"], base + ["per", "cent"]]
    date = _typed_date(core)
    if date:
        return date
    if _DAY_RE.match(core) and (_month(prev) or _month(nxt)):
        # "March 4": "March fourth"; "4 March": "fourth March", "the fourth of March"; the
        # number stays ("We March 4 miles", "Chapter 4 March")
        said = [num.ordinal(int(core)), num.cardinal(int(core))]
        return said if _month(prev) else [said[0], ["the"] + said[0] + ["of"], said[1]]
    m = _TIME_RE.match(core)
    if m and int(m.group(1)) <= 24 and int(m.group(2)) < 60:
        hours, minutes, seconds, ampm = m.groups()
        readings = num.clock_time(int(hours), int(minutes))
        if seconds:
            readings = [r + ["and"] + num.cardinal(int(seconds)) + ["seconds"] for r in readings]
        if ampm:
            letters = spell_letters(ampm.replace(".", ""))
            readings = [r + letters for r in readings if "o'clock" not in r] or readings
        return readings
    m = _ORDINAL_RE.match(core)
    if m:
        return [num.ordinal(_int(m.group(1)))]
    m = _DECADE_RE.match(core)
    if m:
        century, decade = m.group(1), int(m.group(2))
        if decade == 0:
            if not century:
                return [["hundreds"]] if core.startswith("'") else [["zeros"]]
            base = num.year(int(century + "00"))
            return [base[:-1] + [num.plural_word(base[-1])]]
        tens = num.plural_word(num.cardinal(decade * 10)[0])
        if century:
            return [num.year(int(century + "00"))[:-1] + [tens]]
        return [[tens]]
    m = _DEGREE_RE.match(core)
    if m:
        sign, ip, frac, scale = m.groups()
        base = _number_readings(sign, ip, frac)[0]
        unit = ["degree" if base == ["one"] else "degrees"]
        if scale:
            unit.append("celsius" if scale.lower() == "c" else "fahrenheit")
        return [base + unit]
    m = _NUMBER_RE.match(core)
    if m and (m.group(2) or m.group(3)):
        sign, ip, frac = m.groups()
        return _number_readings(sign, ip, frac, year_ok=True)
    m = _FRACTION_RE.match(core)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        both = num.cardinal(a) + num.cardinal(b)  # "24/7", "9/11": two numbers
        # and a day of the year ("on 12/05": "December fifth", "the twelfth of May"), last:
        # the acoustics choose (it used to be read "twelve five" or "twelve over five" only)
        days = [said for said, _ in _day_forms(a, b)]
        if not 0 < a < b <= 10:
            return [both, num.cardinal(a) + ["over"] + num.cardinal(b)] + days
        return [_fraction(a, b), both] + days
    m = _HASH_RE.match(core)
    if m:
        n = _number_readings("", m.group(1), None)
        return [["number"] + n[0], ["hash"] + n[0]]
    phone_number = [num.digits(core)] if _PHONE_NUMBER_RE.match(core) else []
    m = _RANGE_RE.match(core)
    if m:
        a = _number_readings("", m.group(1), None, year_ok=True)[0]
        b = _number_readings("", m.group(2), None, year_ok=True)[0]
        ranges = [a + ["to"] + b, a + b]
        if core.endswith("00") and m.group(1).endswith("00"):  # "500-1000": a range first
            return ranges + phone_number
        return phone_number + ranges  # 555-1234: the digits first
    if phone_number:
        return phone_number
    m = _NUM_UNIT_RE.match(core)
    if m and not known(low):
        ip, frac, unit = m.groups()
        amount = _number_readings("", ip, frac)[0]
        if unit == "M":  # "3M people", "3M" the company: a capital M is no metre
            return [amount + ["million"], amount + ["m."]]
        words = _unit_words(unit, amount == ["one"])
        if words is not None:
            return [amount + [w for part in words for w in part.split()]]
    if "/" in core and re.match(r"^[\d/]+$", core):  # dates like 3/4/2020: numbers in turn
        words = []
        for part in core.split("/"):
            if part:
                words += _number_readings("", part, None)[0]
        return [words]
    return _word_readings(core, known, shouting)


def _never_known(_: str) -> bool:
    return False


def markup_kind(token: str, chat: bool = False) -> str:
    """MARKUP_STAR for the wildcard `<star>`, MARKUP_SPN for any other markup token (noise,
    `<unk>`, `<cutoff-x>`, `<hes-x>`, `(inaudible)`, CHAT's `&=laughs`, and with `chat` its
    `xxx`), "" for a token that is not markup."""
    m = (_CHAT_MARKUP_RE if chat else _MARKUP_RE).fullmatch(token)
    if m is None or not token[1:-1].strip():
        return ""
    if token[0] == "(" and not re.search(r"[^\W\d_]", token):
        return ""
    return MARKUP_STAR if token.lower() == "<star>" else MARKUP_SPN


BRACKETS = "[]{}<>"  # markup's; parentheses also mark optional letters ("item(s)") and asides


def stray_brackets(text: str) -> list[str]:
    """The whitespace-separated tokens of `text` with a bracket that is not part of a markup
    token: glued into a word ("ba[laughter]rrel") or never closed ("[laughter"). They are read
    as punctuation, so their letters are aligned as words; `validate` warns about them."""
    if not any(c in text for c in BRACKETS):
        return []
    chat = is_chat(text)
    coded = chat_codes(text)  # CHAT's codes and the brackets they scope are no stray ones
    masked = list(coded)
    for start, end in _markup_spans(coded, chat):
        masked[start:end] = " " * (end - start)
    masked_text = "".join(masked)
    return [text[m.start():m.end()] for m in _NON_SPACE.finditer(masked_text)
            if any(c in m.group() for c in BRACKETS)]


# A speaker label opening a line, as interview transcripts write turns ("INT: so where",
# "Ruth: well", "S1: yes"); CHAT's `*PAR:` is dropped as a code.
_SPEAKER_LABEL_RE = re.compile(r"^[ \t]*([^\W\d_][\w.'-]{0,19}(?: \d{1,3})?):(?:[ \t]|$)",
                               re.MULTILINE)


def speaker_labels(text: str) -> list[str]:
    """The speaker labels opening the lines of `text` ("INT", "RUTH"), when two lines or more
    open with one: they are read as words and aligned, taking time from the speech around them
    (19 labels moved 12 word starts by over 50 ms in an interview); `validate` warns. One
    "Note: ..." line is no turn-taking."""
    found = _SPEAKER_LABEL_RE.findall(text)
    if len(found) < 2 or is_chat(text):
        return []
    return sorted(set(found), key=found.index)


# A list number opening a line ("1. bed", "2) cat", "10 - scissors"), as naming-test sheets
# and word lists number their items
_LIST_NUMBER_RE = re.compile(r"^[ \t]*(\d{1,3})(?:[.)]|[ \t]+[-\u2013:])(?=[ \t]+\S)", re.MULTILINE)


def list_numbers(text: str) -> list[str]:
    """The item numbers opening the lines of `text` ("1", "2", ...), when two lines or more open
    with one: they are read as words said ("one bed two cat") and take time from the words
    around them, while a sheet's numbers are seldom said; `validate` warns."""
    found = _LIST_NUMBER_RE.findall(text)
    return found if len(found) >= 2 else []


def _is_cutoff(core: str, cleaned: str, end: int, known: Callable[[str], bool],
               following: Sequence[tuple[str, int]] = ()) -> bool:
    """A word broken off, written as its start and a hyphen (`w-`, `th-`, "I w- went"): spoken
    noise like MFA's `<cutoff-x>`, unless the letters are a word with a vowel ("pre- and
    post-war" says "pre") that is not started again right after ("bi- bi- big", "ta- table":
    a part-word repetition, a stutter, whose letters happen to spell "bi" or "ta").
    A single letter is never the letter's name here, nor "th" T-H. `following`: the next
    pieces of the transcript and where each ends in `cleaned`.

    Broken off with a dash (`w—`, `w--`, as novels and subtitles write it): only lower-case
    letters that cannot be a word said in full (one letter but "a" and "i", or no vowel and not
    a vowelless word: "w", "th"), since a dash after a word, a name or an initialism is
    punctuation ("Nguyen— the director", "I—I don't", "the BBC—which", "hmm—let me")."""
    low = core.lower()
    if core.isalpha() and cleaned[end:end + 2] == "--":
        return core.islower() and low not in ("a", "i") and (
            len(low) == 1 or (_vowelless(low) and low not in VOWELLESS_WORDS))
    if not _trailing_hyphen(core, cleaned, end):
        return False
    if _cutoff_letters(low, known):
        return True
    for word, word_end in following:  # the first word said in full after it
        if not _trailing_hyphen(word, cleaned, word_end):
            return len(word) > len(low) and word.lower().startswith(low)
    return False


# Words said in full that have no vowel letter: before a dash they end a phrase, not a word
# broken off ("hmm—let me think").
VOWELLESS_WORDS = frozenset({"hmm", "hm", "mm", "mmm", "mhm", "shh", "sh", "psst", "pst", "brr",
                             "grr", "tsk", "hmph", "pfft", "nth", "zzz", "tv", "cd", "dvd"})


def _trailing_hyphen(core: str, cleaned: str, end: int) -> bool:
    """Whether letters are followed by a hyphen that ends the word ("w-", "w-,"; not
    "well-known" nor "w--")."""
    if not core.isalpha() or cleaned[end:end + 1] != "-":
        return False
    return not (end + 1 < len(cleaned) and (cleaned[end + 1].isalnum() or cleaned[end + 1] == "-"))


def _cutoff_letters(low: str, known: Callable[[str], bool]) -> bool:
    """Whether lowercase letters before a hyphen are a word's broken-off start, not a word said
    in full: one letter (never its name), or not a word, or no vowel ("th")."""
    return len(low) == 1 or not known(low) or _vowelless(low)


def _vowelless(low: str) -> bool:
    """No vowel letter (y counted): "th", "w", "hmm"."""
    return re.search(r"[aeiouy]", low) is None


def _glued_cutoffs(core: str, known: Callable[[str], bool]) -> list[str]:
    """The broken-off starts of a word written glued to it with hyphens, "b-b-barrel",
    "p-pig", "th-that", "c-c-can't": ["b", "b"], ["p"], ["th"], ["c", "c"]; [] for any other
    word. Each start must be a shorter start of the last part and a cutoff as `_is_cutoff` has
    it (one letter, or not a word, or no vowel), so "re-read", "co-conspirator", "bye-bye" and
    "t-shirt" stay words. A compound of a letter and a word it starts ("D-Day", "t-test") is
    read the same way, "D-" as spoken noise and "Day": still aligned where said, where letters
    forced onto a stutter ("p-pig" as P IY1 P IH1 G) were not."""
    parts = core.split("-")
    starts, last = parts[:-1], parts[-1].lower()
    if known(core.lower()) or not starts or not all(p.isalpha() for p in starts) or not last.replace("'", "").isalpha():
        return []
    for start in starts:
        low = start.lower()
        if not (len(low) < len(last) and last.startswith(low) and _cutoff_letters(low, known)):
            return []
    return starts


def is_chat(text: str) -> bool:
    """Whether `text` is a CHAT transcript: it has a code only CHAT writes (`[/]`, `[: x]`,
    `[* x]`, `[x 3]`, `[=! x]`, `&-um`, `&+fr`, `&=laughs`, a `*PAR:` speaker code). Only then
    are `xxx` and `0is` CHAT's, and not words."""
    return ("[" in text or "&" in text or "*" in text) and _CHAT_SIGN_RE.search(text) is not None


def chat_codes(text: str) -> str:
    """`text` with CHAT's annotation codes (see _CHAT_RE) blanked, spaces of the same length,
    when it is CHAT (`is_chat`); any other text as it is."""
    if not is_chat(text):
        return text
    out = list(text)
    for m in _CHAT_SCOPE_RE.finditer(text):  # the brackets only: the words were said
        out[m.start()] = out[m.end() - 1] = " "
    for m in _CHAT_RE.finditer(text):
        out[m.start():m.end()] = " " * (m.end() - m.start())
    return "".join(out)


# CHAT marks inside a word: prolongation (`a:way`, `no:`), a pause within it (`b^all`), and a
# sound repeated before it (`↫b-b↫ball`); and a word said N times written once (`dog [x 3]`).
_CHAT_IN_WORD_RE = re.compile(r"(?<=[^\W\d_])(?::(?=[^\W\d_]|[\s.,!?]|$)|\^(?=[^\W\d_]))|↫")
_CHAT_TIMES_RE = re.compile(r"\[x\s(\d+)\]")
CHAT_MAX_TIMES = 20  # `[x N]` beyond this is aligned this many times


def _chat_words(cleaned: str, origin: list[int] | None) -> tuple[str, list[int]]:
    """A CHAT transcript with its codes blanked (`chat_codes`) and its words as said: the marks
    inside a word removed (`a:way` is the word "away", `b^all` "ball"), a repeated sound made
    a fragment of its own (`↫b-b↫ball`: spoken noise labelled `↫b-b`, then "ball"), and a word
    or `<scope>` followed by `[x N]` (other codes may come between) written N times, at most
    CHAT_MAX_TIMES (CHAT's "said N times": dropping the code left N - 1 of them out of the
    transcript, and the words around them misplaced). Returns the text and where each of its
    characters came from in the NFC text (labels keep the user's spelling: `a:way`)."""
    base = list(range(len(cleaned))) if origin is None else origin
    coded = chat_codes(cleaned)
    # each position's characters as said (a mark: none, or its replacement), with their origin
    marks = {m.start(): m.group() for m in _CHAT_IN_WORD_RE.finditer(coded)}
    arrows = sorted(k for k, ch in marks.items() if ch == "↫")
    # ↫b-b↫ball: the repeated sound is one fragment (`&+b-b`, spoken noise), then the word
    replaced = {**dict.fromkeys(arrows[0::2], "&+"), **dict.fromkeys(arrows[1::2], " ")}
    said = [[(c, base[k]) for c in replaced.get(k, "")] if k in marks else [(ch, base[k])]
            for k, ch in enumerate(coded)]
    copies: dict[int, list[tuple[str, int]]] = {}  # after position k: the repeats
    scopes = list(_CHAT_SCOPE_RE.finditer(cleaned))  # once, not per code: linear in the text
    scope_ends = [sc.end() for sc in scopes]
    last_ink = list(itertools.accumulate(  # last_ink[k]: the last non-blank of coded before k
        (k if not ch.isspace() else -1 for k, ch in enumerate(coded)), max, initial=-1))
    omitted_ends = [o.end() for o in _CHAT_OMITTED_RE.finditer(cleaned)]
    for m in _CHAT_TIMES_RE.finditer(cleaned):
        k = bisect.bisect_right(omitted_ends, m.start()) - 1
        if k >= 0 and omitted_ends[k] > last_ink[m.start()]:  # `0is [x 2]`: not said at all
            continue
        i = bisect.bisect_right(scope_ends, m.start()) - 1  # the last scope ending before it
        scope = scopes[i] if i >= 0 and last_ink[m.start()] < scope_ends[i] else None
        if scope is not None:
            lo, hi = scope.start() + 1, scope.end() - 1
        else:  # the word before the code (codes between are blanked in `coded`)
            hi = lo = last_ink[m.start()] + 1
            while lo > 0 and not coded[lo - 1].isspace():
                lo -= 1
        if hi > lo:
            text = [item for k in range(lo, hi) for item in said[k]]
            times = min(int(m.group(1)), CHAT_MAX_TIMES) - 1
            copies.setdefault(hi - 1, []).extend(([(" ", base[hi - 1])] + text) * max(times, 0))
    out = [item for k in range(len(coded)) for item in said[k] + copies.get(k, [])]
    return "".join(c for c, _ in out), [where for _, where in out]


def _markup_spans(cleaned: str, chat: bool = False) -> list[tuple[int, int]]:
    """Spans of the markup tokens in cleaned text, in order (`chat`: CHAT's too)."""
    if not any(c in cleaned for c in "[{<(&xyw"):
        return []
    pattern = _CHAT_MARKUP_RE if chat else _MARKUP_RE
    return [m.span() for m in pattern.finditer(cleaned) if markup_kind(m.group(), chat)]


def _optional_letters_span(cleaned: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of a word with optional letters ("item(s)") that is all of cleaned[start:end]
    but for punctuation around it, else None."""
    if cleaned.find("(", start, end) < 0:  # nearly every word: no regex search
        return None
    for m in _OPTIONAL_LETTERS_RE.finditer(cleaned, start, end):
        outside = cleaned[start:m.start()] + cleaned[m.end():end]
        if _without_optional(m.group()) and not any(map(_is_word_char, outside)):
            return m.span()
    return None


def _without_optional(word: str) -> str:
    """"item(s)" -> "item": the word with its optional letters left out."""
    return re.sub(r"\([^)]*\)", "", word)


def _piece_spans(cleaned: str, markup: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Spans of raw pieces: whitespace and word-separating punctuation split tokens; each
    `markup` span is one piece of its own."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m_start, m_end in [*markup, (len(cleaned), len(cleaned))]:
        for chunk in _NON_SPACE.finditer(cleaned, pos, m_start):
            start, end = chunk.span()
            glued = _optional_letters_span(cleaned, start, end)
            if glued is not None:
                spans.append(glued)
                continue
            for sep in _SEPARATORS.finditer(cleaned, start, end):
                if sep.start() > start:
                    spans += _glued_symbol_spans(cleaned, start, sep.start())
                start = sep.end()
            if end > start:
                spans += _glued_symbol_spans(cleaned, start, end)
        if m_end > m_start:
            spans.append((m_start, m_end))
        pos = m_end
    return spans


def _glued_symbol_spans(cleaned: str, start: int, end: int) -> list[tuple[int, int]]:
    """[(start, end)], or the symbol and the number when the token is one of _BEFORE_NUMBER
    glued to a number ("±0.5", "~$5", "≈.5"): two tokens, the number read as if typed apart
    (its decimals, currency, the unit after it)."""
    if end - start > 1 and cleaned[start] in _BEFORE_NUMBER and (
            cleaned[start + 1].isdigit() or cleaned[start + 1] == "."
            or cleaned[start + 1] in _CURRENCY):
        return [(start, start + 1), (start + 1, end)]
    return [(start, end)]


# A word broken across two lines by a hyphen, as text copied from a typeset page has it.
_LINE_BREAK_HYPHEN_RE = re.compile(r"([^\W\d_]+)-[ \t]*\r?\n[ \t]*([^\W\d_]+)")


def _unbroken(m: re.Match, known: Callable[[str], bool]) -> str:
    """"beau-\ntiful" -> "beautiful" when a dictionary knows the word whole and the line goes
    on in lower case: the two halves were two words of the words tier, "tiful" spelled by G2P.
    Anything else stays as typed: a cut-off at a line's end ("I-", "a-", "to-") is one."""
    whole = m.group(1) + m.group(2)
    return whole if m.group(2)[0].islower() and known(whole.lower()) else m.group(0)


def normalise(text: str, known: Callable[[str], bool] = _never_known) -> list[Token]:
    """Text as typed -> tokens with their readings. Symbol-only tokens (not spoken) are dropped.

    `known(word)` says whether a dictionary has a lowercase word; it decides between reading
    an all-capitals token as a word or as letters, and keeps known words like "'em" intact.
    """
    if "-" in text:
        text = _LINE_BREAK_HYPHEN_RE.sub(lambda m: _unbroken(m, known), text)
    nfc, cleaned, origin = clean_with_origin(text)
    chat = is_chat(cleaned)
    if chat:
        cleaned, origin = _chat_words(cleaned, origin)
    elif "+" in cleaned:  # blanked, same length: every character keeps its origin
        cleaned = _CHAT_TERMINATOR_RE.sub(lambda m: " " * len(m.group()), cleaned)
    if "(" in cleaned:
        cleaned = _TIMED_PAUSE_RE.sub(lambda m: " " * len(m.group()), cleaned)
    markup = _markup_spans(cleaned, chat)
    is_markup = set(markup)
    raw_spans = _piece_spans(cleaned, markup)
    spans: list[tuple[int, int]] = []
    for a, b in raw_spans:
        whole = (a, b) in is_markup or _OPTIONAL_LETTERS_RE.fullmatch(cleaned[a:b])
        s0, e0 = (0, b - a) if whole else _strip_span(cleaned[a:b], known)
        spans.append((a + s0, a + e0))
    pieces = [cleaned[a:b] for a, b in spans]

    def original(a: int, b: int) -> str:  # as typed, less the invisible (a PDF's soft hyphen)
        if origin is None:
            return nfc[a:b]
        return "".join(c for c in nfc[origin[a]: origin[b - 1] + 1] if c not in _DROP)

    joined = "".join(p for p, span in zip(pieces, spans) if span not in is_markup)
    uppers, lowers = sum(map(str.isupper, joined)), sum(map(str.islower, joined))
    shouting = uppers >= 10 and uppers > 4 * lowers
    tokens: list[Token] = []
    piece_of: list[int] = []  # the piece each token came from
    pending_unit: list[str] = []
    currency_at = -1  # where a currency sign typed apart from the number after it lies
    for i, core in enumerate(pieces):
        piece_of += [i - 1] * (len(tokens) - len(piece_of))
        prev = pieces[i - 1] if i > 0 else ""
        nxt = pieces[i + 1] if i + 1 < len(pieces) else ""
        a, b = spans[i]
        if (a, b) in is_markup:
            tokens.append(Token(original(a, b), [], markup_kind(core, chat)))
            currency_at = -1
            continue
        if currency_at >= 0 and _AMOUNT_RE.fullmatch(core):  # "$ 5", "$ -5": read as "$5"
            sign = core[0] if core[0] in "+-" else ""
            core, a = sign + cleaned[currency_at] + core[len(sign):], currency_at
        currency_at = -1
        following = [(pieces[j], spans[j][1]) for j in range(i + 1, min(i + 13, len(pieces)))
                     if spans[j] not in is_markup] if cleaned[b:b + 1] == "-" else ()  # restarts
        if _is_cutoff(core, cleaned, b, known, following):  # "w- went": not "double-you"
            dash = len(cleaned[b:]) - len(cleaned[b:].lstrip("-"))  # "w-", "w--", "w—"
            tokens.append(Token(original(a, b + dash), [], MARKUP_SPN))
            continue
        for start in _glued_cutoffs(core, known):  # "b-b-barrel": two cutoffs, then the word
            tokens.append(Token(original(a, a + len(start) + 1), [], MARKUP_SPN))
            a += len(start) + 1
            core = core[len(start) + 1:]
        if not core:
            ra, rb = raw_spans[i]
            sym = cleaned[ra:rb].strip(".,'")
            k = ra + cleaned[ra:rb].index(sym) if sym else ra
            if sym in SPOKEN_SYMBOLS:
                tokens.append(Token(original(k, k + len(sym)), [SPOKEN_SYMBOLS[sym]]))
            elif sym in _CURRENCY and _AMOUNT_RE.fullmatch(nxt):
                currency_at = k  # "$ 5": the number after it says the currency's word
            elif sym in _CURRENCY and _AMOUNT_RE.fullmatch(prev) and tokens and (
                    tokens[-1].text == original(*spans[i - 1])):  # "5 €", "10 $"
                money = _CURRENCY_AFTER_RE.match(prev.lstrip("+") + sym)
                if money:
                    tokens[-1] = Token(original(spans[i - 1][0], k + 1),
                                       _money(sym, money.group(1), money.group(2), None))
            continue
        roman = _roman_readings(core, prev, shouting)
        said = _piece_readings(core, known, shouting, prev, nxt)
        readings = _vulgar_readings(original(a, b)) or _dedupe(
            said + roman if core == "I" else roman + said)  # "Part I agree"; "Chapter I."
        unit, power = core.lower(), []
        if re.fullmatch(r"[^\W\d_]+\^\d+", unit):  # "9 m²": metres squared, or M squared
            unit, exponent = unit.split("^")
            power = _power_words(exponent)
        after_number = (i > 0 and _PLAIN_NUMBER_RE.fullmatch(re.sub(_POWER_END, "", prev))
                        is not None  # "10⁻³ m" (10^-3) too
                        and cleaned[spans[i - 1][1]:a].isspace())  # "5 km", not "5. In fact"
        words = _unit_words(unit, prev == "1") if after_number and unit not in ("am", "pm") else None
        words = words + power if words else words
        if words:  # "5 km": kilometers, not the letters k m; "5 m": M or metres
            first = unit in _UNIT_ONLY or "/" in unit
            readings = _dedupe([words] + readings if first else readings + [words])
        if pending_unit and core.lower().rstrip(".") in _SCALE_WORDS:
            readings = [r + pending_unit for r in readings]
        pending_unit = []
        m = _CURRENCY_RE.match(core)
        if m and not m.group(5) and nxt.lower().rstrip(".,") in _SCALE_WORDS:
            pending_unit = [_CURRENCY[m.group(2)][1]]
        if core.endswith(".") and readings and (readings[0] == [core[:-1].lower()] or roman):
            b -= 1  # "said no.", "Chapter I.": the dot was a full stop after all
        if readings:  # a word said in full before a hyphen keeps it ("pre- and post-war"),
            # but not a line's end ("well-\nknown": a book's hyphen where the line broke)
            shown = b + 1 if _trailing_hyphen(core, cleaned, b) and cleaned[b + 1:b + 2] not in (
                "\n", "\r") else b
            tokens.append(Token(original(a, shown), readings))
    piece_of += [len(pieces) - 1] * (len(tokens) - len(piece_of))
    out = []
    for k, (t, p) in enumerate(zip(tokens, piece_of)):
        nxt = piece_of[k + 1] if k + 1 < len(tokens) else None
        if nxt != p:  # a piece's last token ("bear" of "b-b-bear."), up to the next one's piece
            stop = len(cleaned) if nxt is None else raw_spans[nxt][0]  # pieces between have
            following = "" if nxt is None else cleaned[stop: stop + 1]
            if _ends_sentence(t.text, cleaned[raw_spans[p][0]: stop], following):  # " . " is
                t = replace(t, ends_sentence=True)  # a piece with no token
        out.append(t)
    return out


def _ends_sentence(token: str, text: str, following: str = "") -> bool:
    """Whether a sentence ends after `token`, from `text`, its raw piece and whatever follows it
    up to the next token's (whose first character is `following`): a question or exclamation
    mark, an ellipsis or a line break after the piece's last letter or digit, or a full stop
    that is not the token's own (an abbreviation's: "Mr." keeps its dot, "said no." does not).
    An abbreviation that closes a sentence as often as not ("etc.", "Inc.", "p.m.": ENDS_ON_DOT)
    ends one before a capital letter: "and so on, etc. Then"; not when written in capitals
    itself, as a transcript in capitals is. For `Token.ends_sentence`."""
    i = len(text)
    while i and not (text[i - 1].isalnum() or text[i - 1] == "_"):  # no regex: a run of
        i -= 1  # thousands of symbols ("=====") stays linear
    tail = text[i:]
    if any(c in tail for c in "!?\u2026\n") or ("." in tail and not token.endswith(".")):
        return True
    # in capitals ("ETC. AND SO") a capital says nothing
    return (token.endswith(".") and token[:-1].lower() in ENDS_ON_DOT
            and following[:1].isupper() and not token[:-1].isupper())
