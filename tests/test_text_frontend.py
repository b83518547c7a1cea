"""The text front-end on transcripts people actually type: expected words tier and spoken words."""

from __future__ import annotations

import re

import pytest

from aligner.text.frontend import (
    TranscriptError, Word, generated_pronunciations, load_lexicon, parse_transcript,
    read_transcript)
from aligner.text.normalise import normalise
from aligner.text.phones import phone_ids


def spoken_phones(pronunciation: list[str]) -> str:
    """A pronunciation's phones as a string, without the optional pauses between the words of a
    reading (`sil`)."""
    return " ".join(ph for ph in pronunciation if ph != "sil")


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def words_of(text, lex):
    return [(w.text, " ".join(w.spoken)) for w in parse_transcript(text, lex)]


# (transcript, [(word tier text, spoken words)])
TRICKY = [
    ("Hello, world!", [("Hello", "hello"), ("world", "world")]),
    ("In 1999 we left.", [("In", "in"), ("1999", "nineteen ninety-nine"), ("we", "we"),
                          ("left", "left")]),
    ("Dr. Smith", [("Dr.", "doctor"), ("Smith", "smith")]),
    ("Mr. and Mrs. Jones", [("Mr.", "mister"), ("and", "and"), ("Mrs.", "missus"),
                            ("Jones", "jones")]),
    ("St. Louis is on Main St.", [("St.", "saint"), ("Louis", "louis"), ("is", "is"),
                                  ("on", "on"), ("Main", "main"), ("St.", "street")]),
    ("on Park Ave. today", [("on", "on"), ("Park", "park"), ("Ave.", "avenue"),  # review 121:
                            ("today", "today")]),  # "ave" was the first reading
    ("Abbey Rd. now", [("Abbey", "abbey"), ("Rd.", "road"), ("now", "now")]),
    ("I don't know, they'll see.", [("I", "i"), ("don't", "don't"), ("know", "know"),
                                    ("they'll", "they'll"), ("see", "see")]),
    ("It’s “quoted” text", [("It’s", "it's"), ("quoted", "quoted"), ("text", "text")]),
    ("$5.50", [("$5.50", "five dollars and fifty cents")]),
    ("$1", [("$1", "one dollar")]),
    ("£20", [("£20", "twenty pounds")]),
    ("$2 million", [("$2", "two"), ("million", "million dollars")]),
    ("50%", [("50%", "fifty percent")]),
    ("3.14", [("3.14", "three point one four")]),
    ("0.5", [("0.5", "zero point five")]),
    ("4:30", [("4:30", "four thirty")]),
    ("4:05 pm", [("4:05", "four oh five"), ("pm", "pm")]),
    ("7:00", [("7:00", "seven o'clock")]),
    ("the 21st", [("the", "the"), ("21st", "twenty-first")]),
    ("1st 2nd 3rd 4th 100th", [("1st", "first"), ("2nd", "second"), ("3rd", "third"),
                                ("4th", "fourth"), ("100th", "one hundred th".replace(" th", "th"))]),
    ("1,234", [("1,234", "one thousand two hundred thirty-four")]),
    ("2005", [("2005", "two thousand five")]),
    ("1905", [("1905", "nineteen oh five")]),
    ("the 1990s", [("the", "the"), ("1990s", "nineteen nineties")]),
    ("the '80s", [("the", "the"), ("'80s", "eighties")]),
    ("-5 degrees", [("-5", "minus five"), ("degrees", "degrees")]),
    ("well-known", [("well-known", "well-known")]),
    ("and/or", [("and/or", "and or")]),
    ("U.S.", [("U.S.", "u. s.")]),
    ("the FBI", [("the", "the"), ("FBI", "fbi")]),
    ("R & D", [("R", "r"), ("&", "and"), ("D", "d")]),
    ("wait... what?!", [("wait", "wait"), ("what", "what")]),
    ("yes -- no", [("yes", "yes"), ("no", "no")]),
    ("No. 5", [("No.", "number"), ("5", "five")]),
    ("he said no.", [("he", "he"), ("said", "said"), ("no", "no")]),
    ("10km", [("10km", "ten kilometers")]),
    ("a 5 km run", [("a", "a"), ("5", "five"), ("km", "kilometers"), ("run", "run")]),
    ("1 kg", [("1", "one"), ("kg", "kilogram")]),
    ("2.5 cm", [("2.5", "two point five"), ("cm", "centimeters")]),
    ("5 in a row", [("5", "five"), ("in", "in"), ("a", "a"), ("row", "row")]),
    ("the km marker", [("the", "the"), ("km", "km"), ("marker", "marker")]),
    ("-5 km", [("-5", "minus five"), ("km", "kilometers")]),
    ("5 km/h", [("5", "five"), ("km/h", "kilometers per hour")]),
    ("5-10 km", [("5-10", "five to ten"), ("km", "kilometers")]),
    ("1st-class", [("1st-class", "first class")]),
    ("the 21st-century", [("the", "the"), ("21st-century", "twenty-first century")]),
    ("a 5-km run", [("a", "a"), ("5-km", "five kilometers"), ("run", "run")]),
    ("50km/h", [("50km/h", "fifty kilometers per hour")]),
    ("1m/s", [("1m/s", "one meter per second")]),
    ("24/7", [("24/7", "twenty-four seven")]),
    ("1/2", [("1/2", "one half")]),
    ("café", [("café", "café")]),
    ("the dogs' toys", [("the", "the"), ("dogs'", "dogs'"), ("toys", "toys")]),
    ("line one\nline two\r\n", [("line", "line"), ("one", "one"), ("line", "line"),
                                ("two", "two")]),
    # one bracketed token is markup (tests/test_markup.py); an aside of words is spoken
    ("(a parenthetical aside)", [("a", "a"), ("parenthetical", "parenthetical"),
                                 ("aside", "aside")]),
    ("(parenthetical) [bracketed]", [("(parenthetical)", ""), ("[bracketed]", "")]),
    ("e.g. this", [("e.g.", "for example"), ("this", "this")]),
    ("007", [("007", "zero zero seven")]),
    ("COVID-19", [("COVID-19", "covid nineteen")]),
    ("GPUs", [("GPUs", "g. p. u.'s")]),
    ("#1", [("#1", "number one")]),
    ("pages 5-10", [("pages", "pages"), ("5-10", "five to ten")]),
    ("call 555-1234", [("call", "call"), ("555-1234", "five five five one two three four")]),
    ("555-123-4567", [("555-123-4567", "five five five one two three four five six seven")]),
    ("1-800-555-1234", [("1-800-555-1234", "one eight zero zero five five five one two three four")]),
    ("1990-1995", [("1990-1995", "nineteen ninety to nineteen ninety-five")]),
    ("500-1000 people", [("500-1000", "five hundred to one thousand"), ("people", "people")]),
    ("www.example.com", [("www.example.com", "w. w. w. dot example dot com")]),
    ("the pdf", [("the", "the"), ("pdf", "p. d. f.")]),
    ("100-1234", [("100-1234", "one hundred to twelve thirty-four")]),
    ("9/11", [("9/11", "nine eleven")]),
    ("3/4", [("3/4", "three quarters")]),
    ("2/3", [("2/3", "two thirds")]),
]


@pytest.mark.parametrize("text,expected", TRICKY)
def test_tricky_transcripts(text, expected, lex):
    assert words_of(text, lex) == expected


# (transcript, word index, expected first pronunciation)
PHONES = [
    ("1999", 0, "N AY1 N T IY1 N N AY1 N T IY0 N AY1 N"),
    ("cat", 0, "K AE1 T"),
    ("U.S.", 0, "Y UW1 EH1 S"),
    ("Obamacare's", 0, None),  # unknown base + clitic: checked below
    ("Dr.", 0, "D AA1 K T ER0"),
    ("50%", 0, "F IH1 F T IY0 P ER0 S EH1 N T"),
    ("Zürich", 0, "Z UH1 R IH0 K"),
]


@pytest.mark.parametrize("text,index,expected", [p for p in PHONES if p[2]])
def test_phones(text, index, expected, lex):
    assert spoken_phones(parse_transcript(text, lex)[index].pronunciations[0]) == expected


def test_word_is_contract_dataclass(lex):
    (w,) = parse_transcript("1999", lex)
    assert isinstance(w, Word)
    assert w.text == "1999" and w.spoken == ["nineteen", "ninety-nine"] and not w.unknown
    phone_ids(w.pronunciations[0])  # every phone maps to a model class


def test_variants_from_lexicon(lex):
    (w,) = parse_transcript("read", lex)
    assert [spoken_phones(p) for p in w.pronunciations] == ["R EH1 D", "R IY1 D"]


def test_ambiguous_numbers_give_reading_variants(lex):
    (w,) = parse_transcript("2010", lex)
    spoken = [spoken_phones(p) for p in w.pronunciations]
    assert spoken[0].startswith("T W EH1 N T IY0 T EH1 N")
    assert any(s.startswith("T UW1 TH AW1 Z AH0 N D T EH1 N") for s in spoken)


@pytest.mark.parametrize("text,first,digits", [
    ("7399", "seven thousand three hundred ninety-nine", ["seven three nine nine"]),
    ("203", "two hundred three", ["two zero three", "two oh three"]),
    ("42", "forty-two", ["four two"]),
    ("1210", "twelve ten", ["one two one zero", "one two one oh"]),
])
def test_a_bare_number_may_be_read_digit_by_digit(text, first, digits):
    """Review 121: a code, PIN or room number typed as one number ("7399") had no reading digit
    by digit, so a learner who read its digits was aligned to the cardinal's phones (23 of 25)."""
    (token,) = normalise(text)
    said = [" ".join(r) for r in token.readings]
    assert said[0] == first and all(d in said[1:] for d in digits)


def test_the_words_of_a_reading_may_have_a_pause_between_them(lex):
    """"7399" said digit by digit, as learners do, with pauses: each reading's words are
    separated by an optional silence (`sil`), never at its ends; a one-word reading has none."""
    (w,) = parse_transcript("7399", lex)
    assert "S EH1 V AH0 N sil TH R IY1 sil N AY1 N sil N AY1 N" in [
        " ".join(p) for p in w.pronunciations]
    assert all(p[0] != "sil" and p[-1] != "sil" for p in w.pronunciations)
    (w,) = parse_transcript("twenty-five", lex)
    assert all("sil" not in p for p in w.pronunciations)


def test_the_pauses_of_a_reading_need_no_time_of_their_own():
    """What the too-short checks count: "7399" read digit by digit needs its 14 phones' time,
    not 17 (the three optional pauses); a pause word `{SL}` counts as one, as before."""
    from aligner.text.frontend import phone_count

    digits = "S EH1 V AH0 N sil TH R IY1 sil N AY1 N sil N AY1 N".split()
    assert phone_count([digits, ["sil"], ["HH", "AY1"]]) == 14 + 1 + 2


@pytest.mark.parametrize("text", ["1,234", "-42", "42%", "5"])
def test_a_number_with_a_comma_sign_or_unit_is_not_read_digit_by_digit(text):
    assert not any(r == ["four", "two"] or r[:3] == ["one", "two", "three"]
                   for t in normalise(text) for r in t.readings)


@pytest.mark.parametrize("text,first,also,as_typed", [
    # a date typed as numbers was read "three four two thousand twenty-one", as nobody says it
    ("3/4/2021", "march fourth twenty twenty-one", "the third of april twenty twenty-one",
     "three four two thousand twenty-one"),
    ("12/25/1999", "december twenty-fifth nineteen ninety-nine", None,
     "twelve twenty-five one thousand nine hundred ninety-nine"),
    ("25/12/1999", "the twenty-fifth of december nineteen ninety-nine",
     "twenty-fifth december nineteen ninety-nine",
     "twenty-five twelve one thousand nine hundred ninety-nine"),
    ("3/4/21", "march fourth twenty-one", "third april twenty-one", "three four twenty-one"),
    ("12-25-1999", "december twenty-fifth nineteen ninety-nine", None,
     "twelve twenty-five one thousand nine hundred ninety-nine"),
    ("2021-03-04", "march fourth twenty twenty-one",
     "the fourth of march two thousand and twenty-one", "two thousand twenty-one three four"),
])
def test_dates_typed_as_numbers_are_read_as_dates(text, first, also, as_typed, lex):
    """Every reading is a variant the acoustics choose among; the numbers one by one stay, and
    every way of saying the date is among the variants a word keeps (`MAX_VARIANTS`), the
    year's other readings after them."""
    (token,) = normalise(text)
    said = [" ".join(r) for r in token.readings]
    assert token.text == text and said[0] == first and as_typed in said
    assert also is None or also in said
    (word,) = parse_transcript(text, lex)
    kept = len(word.pronunciations)
    assert said.index(as_typed) < kept and (also is None or said.index(also) < kept)


@pytest.mark.parametrize("text,first,days", [
    ("12/05", "twelve five", ["december fifth", "the twelfth of may", "twelfth may"]),
    ("3/4", "three quarters", ["march fourth", "the third of april", "third april"]),
    ("24/7", "twenty-four seven", ["the twenty-fourth of july", "twenty-fourth july"]),  # day first
    ("12/31", "twelve thirty-one", ["december thirty-first"]),  # month first only
    ("13/13", "thirteen thirteen", []),  # no day of any month
])
def test_two_numbers_with_a_slash_may_be_a_day_without_its_year(text, first, days, lex):
    """"on 12/05": a day of the year is among the readings, after the numbers' own, and among
    the variants a word keeps (`MAX_VARIANTS`): the acoustics choose. It was read "twelve five"
    or "twelve over five" only (review 114)."""
    (token,) = normalise(text)
    said = [" ".join(r) for r in token.readings]
    assert said[0] == first and all(d in said for d in days)
    assert len(said) == 2 + len(days)
    (word,) = parse_transcript(text, lex)
    spoken = [spoken_phones(p) for p in word.pronunciations]
    if days:  # the first way of saying the day is kept, pronounced word by word
        pron = [spoken_phones(parse_transcript(w, lex)[0].pronunciations[0])
                for w in days[0].split()]
        assert " ".join(pron) in spoken


@pytest.mark.parametrize("text,typed,first", [
    ("March 4, 2021", "4", "fourth"), ("on 4 March", "4", "fourth"),
    ("Sept. 21", "21", "twenty-first"), ("may 5 people", "5", "five"),
    ("13/13/2020", "13/13/2020", "thirteen thirteen two thousand twenty"),  # no such date
    ("31/02/2021", "31/02/2021", "thirty-one zero two two thousand twenty-one"),
    ("0000-01-01", "0000-01-01", "zero zero zero zero zero one zero one"),
    ("Python 3.10.12", "3.10.12", "three dot ten dot twelve"),  # dots: a version as often
    ("10-20-30", "10-20-30", "ten twenty thirty"), ("1/2", "1/2", "one half"),
])
def test_a_day_beside_a_month_is_an_ordinal_and_non_dates_stay(text, typed, first):
    (token,) = [t for t in normalise(text) if t.text == typed]
    assert " ".join(token.readings[0]) == first
    if typed in ("4", "21"):  # the number itself stays a reading ("We March 4 miles")
        assert [" ".join(r) for r in token.readings][-1] in ("four", "twenty-one")


def test_possessive_of_unknown_word_adds_z(lex):
    (w,) = parse_transcript("Zorbleflax's", lex)
    assert w.unknown
    assert w.pronunciations[0][-1] in ("Z", "S")


def test_possessive_sibilant_rule(lex):
    # "Bush's": base ends in SH, so the clitic is IH0 Z (and not in CMUdict as written? check)
    p = lex.phones_for("zorblash's")[0]
    assert p[-2:] == ["IH0", "Z"]


def test_unknown_words_reported(lex):
    words = parse_transcript("the blorptastic cat", lex)
    assert [w.unknown for w in words] == [False, True, False]
    assert words[1].text == "blorptastic" and len(words[1].pronunciations[0]) >= 5


@pytest.mark.parametrize("text,label,phones", [
    ("AT&T", "AT&T", "EY1 T IY1 AH0 N D T IY1"),  # letters, not the word "at"
    ("Q&A", "Q&A", "K Y UW1 AH0 N D EY1"),  # the letter A, not the article
    ("C++", "C++", "S IY1 P L AH1 S P L AH1 S"),
    ("C#.", "C#", "S IY1 SH AA1 R P"),
    ("an A+ grade", "A+", "EY1 P L AH1 S"),  # the letter A, then "plus"
    ("use .NET", ".NET", "D AA1 T N EH1 T"),
    ("rock&roll", "rock&roll", "R AA1 K AH0 N D R OW1 L"),  # words stay words
    ("I LOVE MOM&DAD", "MOM&DAD", "M AA1 M AH0 N D D AE1 D"),  # in capitals too
    ("the .COM boom", ".COM", "D AA1 T K AA1 M"),
    ("HE LEFT .THEN", "THEN", "DH EH1 N"),  # a stray dot is not said
    ("C#'s syntax", "C#'s", "S IY1 SH AA1 R P S"),  # possessives keep the name
    ("C++'s syntax", "C++'s", "S IY1 P L AH1 S P L AH1 S IH0 Z"),
    (".NET's API", ".NET's", "D AA1 T N EH1 T S"),
    ("MP3's tags", "MP3's", "EH1 M P IY1 TH R IY1 Z"),  # not "three seconds"
    ("COVID-19's toll", "COVID-19's", "K OW1 V IH0 D N AY1 N T IY1 N Z"),
    # decades and years inside a word as alone: "mid-80s" was "mid eighty seconds"
    ("the mid-80s", "mid-80s", "M IH1 D EY1 T IY0 Z"),
    ("the mid-'80s", "mid-'80s", "M IH1 D EY1 T IY0 Z"),
    ("late-1990s music", "late-1990s", "L EY1 T N AY1 N T IY1 N N AY1 N T IY0 Z"),
    ("post-1945 Europe", "post-1945", "P OW1 S T N AY1 N T IY1 N F AO1 R T IY0 F AY2 V"),
    ("B-52s flew", "B-52s", "B IY1 F IH1 F T IY0 T UW1 Z"),
    ("an A4 sheet", "A4", "EY1 F AO1 R"),  # the letter, not the article
    ("eat 5-a-day", "5-a-day", "F AY1 V AH0 D EY1"),  # ... but a lower-case "a" is the article
])
def test_names_with_symbols_keep_their_spelling_and_are_said(text, label, phones, lex):
    """`C++`, `C#`, `.NET` were labelled C, C, NET and said without "plus plus", "sharp",
    "dot"; `AT&T` was "at and T", `Q&A` "cue and uh". Their possessives lost the symbol's word
    ("C#'s" was "C S"), and a digit's "'s" was read as seconds ("MP3's": "three seconds")."""
    (word,) = [w for w in parse_transcript(text, lex) if w.text == label]
    assert spoken_phones(word.pronunciations[0]) == phones


@pytest.mark.parametrize("text,said", [
    ("I am 100 % sure", "100 % sure"), ("5 × 3 is 15", "5 × 3 is 15"),
    ("it is 20 °C today", "20 °C today"), ("5×3", "5×3"), ("3 ± 1", "3 ± 1"),
])
def test_symbols_typed_apart_from_their_number_are_said(text, said, lex):
    """`100 %`, `5 × 3`, `20 °C` (SI's spacing): the symbol was dropped, its spoken word's time
    went to a pause or to a neighbour, and `°C` was the letter C."""
    words = parse_transcript(text, lex)
    assert " ".join(w.text for w in words).endswith(said)
    spoken = {w.text: spoken_phones(w.pronunciations[0]) for w in words}
    expected = {"%": "P ER0 S EH1 N T", "×": "T AY1 M Z", "°C": "D IH0 G R IY1 Z S EH1 L S IY0 AH0 S",
                "5×3": "F AY1 V T AY1 M Z TH R IY1", "±": "P L AH1 S AO1 R M AY1 N AH0 S"}
    assert all(spoken[k] == v for k, v in expected.items() if k in spoken)
    assert any(k in spoken for k in expected)


@pytest.mark.parametrize("text,label,said", [
    ("it costs $ 5 now", "$ 5", "five dollars"), ("pay € 10", "€ 10", "ten euros"),
    ("it costs 5 $ now", "5 $", "five dollars"), ("only 10 € each", "10 €", "ten euros"),
    ("£ 3.50 each", "£ 3.50", "three pounds and fifty pence"),
])
def test_a_currency_sign_typed_apart_from_its_number_is_said(text, label, said, lex):
    """`$ 5` and `5 €`: the sign was dropped as a symbol, so "dollars" had no place in the
    transcript and its time went to the neighbours. Now one word, as `$5` is."""
    tokens = normalise(text)
    (token,) = [t for t in tokens if t.text == label]
    assert " ".join(token.readings[0]) == said
    assert len(parse_transcript(text, lex)) == len(tokens)


@pytest.mark.parametrize("text,label,first", [
    ("3M shares rose", "3M", "three million"), ("5M people", "5M", "five million"),
    ("3M's shares rose", "3M's", "three m.'s"), ("a 3m wall", "3m", "three meters"),
])
def test_a_capital_m_after_a_number_is_no_metre(text, label, first):
    """"3M's" was "three meters's": a capital M after a number is a million or the letter."""
    (token,) = [t for t in normalise(text) if t.text == label]
    assert " ".join(token.readings[0]) == first


@pytest.mark.parametrize("text,label,said", [
    ("add 1½ cups", "1½", "one and a half"), ("2¾ miles", "2¾", "two and three quarters"),
    ("½ cup", "½", "a half"), ("⅔ of them", "⅔", "two thirds"),
    ("a ½-hour walk", "½-hour", "a half hour"),
])
def test_a_fraction_character_is_said_as_a_fraction(text, label, said):
    """"1½" was "eleven two" and "2¾" "twenty-three four": the character's compatibility form,
    1⁄2, was glued to the whole number before it; a lone "½" could come out "one two"."""
    (token,) = [t for t in normalise(text) if t.text == label]
    assert " ".join(token.readings[0]) == said
    assert not any("two" in r and "half" not in r for r in token.readings if "½" in label)


@pytest.mark.parametrize("text,label,first", [
    ("Chapter I. The Storm", "I", "one"), ("Chapter V.", "V", "five"),
    ("CHAPTER XII. THE RETURN OF THE KING AND ALL HIS MEN", "XII", "twelve"),
    ("Act V, Scene II", "II", "two"), ("Louis XIV.", "XIV", "the fourteenth"),
    ("after World War II ended", "II", "two"), ("World War I.", "I", "one"),
])
def test_a_roman_numeral_after_a_word_that_numbers_is_a_number(text, label, first):
    """"Chapter I." was the pronoun, "Chapter V." the letter V, and "CHAPTER XII" (a transcript
    in capitals) letters for the G2P: after chapter, act, part and the like one letter is a
    numeral too, in capitals too, the number first; the full stop is not part of the label."""
    (token,) = [t for t in normalise(text) if t.text == label]
    assert " ".join(token.readings[0]) == first


def test_world_war_i_may_be_said_one():
    """Review 117: "World War I" had the letter I alone; the pronoun stays first (no full stop),
    and "one" is offered for the acoustics to choose."""
    (token,) = [t for t in normalise("in World War I many died") if t.text == "I"]
    assert ["one"] in token.readings


@pytest.mark.parametrize("text", ["In part I agree", "Scene I think", "Part I agree with",
                                  "THE PART I PLAYED WAS SMALL AND THE REST WAS", "Type L"])
def test_a_pronoun_or_a_letter_after_a_numbering_word_stays_itself(text):
    """The numbering rule read "part I agree" as "part one agree" first and "Type L" as fifty:
    only a capitalised numbering word, only I, V, X alone (not in capitals), and the pronoun
    first for an I without a full stop."""
    token = next(t for t in normalise(text) if t.text in ("I", "L"))
    assert token.readings[0] in (["i"], ["l"])


@pytest.mark.parametrize("text,labels", [
    ("he was a-\nA student", ["he", "was", "a-", "A", "student"]),
    ("I-\nI think", ["I-", "I", "think"]), ("I want to-\ntoday", ["I", "want", "to-", "today"]),
])
def test_a_cutoff_at_a_line_s_end_is_not_joined_to_the_next_line(text, labels, lex):
    """Joining a word broken across lines glued "a-" to "A" ("a-A") and "to-" to "today"."""
    assert [t.text for t in normalise(text, known=lex.__contains__)] == labels


@pytest.mark.parametrize("text,said", [("$ -5", "minus five dollars"), ("€ -3", "minus three euros"),
                                       ("$5-10", "five to ten dollars"), ("$5–10", "five to ten dollars"),
                                       ("E = mc²", "e equals mc squared")])
def test_signs_ranges_and_exponents_keep_their_words(text, said):
    """The diff review: "$ -5" lost its minus, "$5–10" became "five ten", and "mc²" lost its
    exponent to the footnote rule."""
    assert " ".join(w for t in normalise(text) for w in t.readings[0]) == said


@pytest.mark.parametrize("text,labels,said", [
    ("the palace.¹ Then", ["the", "palace", "Then"], "the palace then"),
    ("a note² here", ["a", "note", "here"], "a note here"),
    ("5 m² of land", ["5", "m²", "of", "land"], "five m. squared of land"),  # a unit's: kept
    ("the 1914–1918 war", ["the", "1914–1918", "war"],
     "the nineteen fourteen to nineteen eighteen war"),
    ("a beau-\ntiful day", ["a", "beautiful", "day"], "a beautiful day"),
    ("a well-\nknown man", ["a", "well", "known", "man"], "a well known man"),  # as typed
])
def test_book_text_footnotes_ranges_and_broken_lines(text, labels, said, lex):
    """Text copied from a book: "palace.¹" was "palace dot one", "1914–1918" two numbers without
    "to", and "beau-" / "tiful" two words, "tiful" spelled by the G2P."""
    tokens = normalise(text, known=lex.__contains__)
    assert [t.text for t in tokens] == labels
    assert " ".join(w for t in tokens for w in t.readings[0]) == said


@pytest.mark.parametrize("text,said", [
    ("3²", "three squared"), ("x³", "x. cubed"), ("2¹⁰", "two to the power of ten"),
    ("x^2", "x. squared"), ("10^6", "ten to the power of six"),
    ("10⁻³", "ten to the minus three"), ("Smith²³ said", "smith said"),  # a footnote mark
])
def test_powers_are_said(text, said):
    """Review 117: "3²" was "thirty-two" (the superscript's compatibility form is a digit)."""
    assert " ".join(w for t in normalise(text) for w in t.readings[0]) == said


@pytest.mark.parametrize("text,said", [
    ("±2%", "plus or minus two percent"), ("≈5", "approximately five"), ("~5", "about five"),
    ("×3", "times three"), ("÷2", "divided by two"), ("±0.5", "plus or minus zero point five"),
    ("~10,000", "about ten thousand"), ("±$5", "plus or minus five dollars"),
    ("≈.5", "approximately point five"), ("±2 mm", "plus or minus two millimeters"),
    ("5~7", "five seven"), ("12:00~13:00", "twelve o'clock thirteen o'clock"),  # as before
])
def test_symbols_glued_to_a_number_are_said_and_the_number_read_as_alone(text, said):
    """Review 117: "±2", "≈5", "~5" lost their symbol, so the words said for them went to a
    pause; the symbol is a token of its own, so that the number keeps its decimals, currency
    and unit (review 119: "±0.5" had become "plus or minus zero dot five")."""
    assert " ".join(w for t in normalise(text) for w in t.readings[0]) == said


def test_a_unit_with_a_power_after_a_number_may_be_said_in_full(lex):
    """"9 m²": "M squared" or "metres squared", both offered, as for "9 m"."""
    (unit,) = [t for t in normalise("9 m² in all", known=lex.__contains__) if t.text == "m²"]
    assert ["meters", "squared"] in unit.readings and ["m.", "squared"] in unit.readings


@pytest.mark.parametrize("text", ["10⁻³ m", "10^-3 m", "2³ m"])
def test_a_unit_after_a_number_with_a_power_may_be_said_in_full(text, lex):
    """Review 119: "10⁻³ m" offered only the letter M, as if no number came before it."""
    unit = normalise(text, known=lex.__contains__)[-1]
    assert unit.text == "m" and ["meters"] in unit.readings


def test_symbols_only_tokens_dropped(lex):
    assert words_of("hello ... -- ## ** world", lex) == [("hello", "hello"), ("world", "world")]


def test_empty_or_symbol_only_transcript_is_clear_error(lex):
    for text in ["", "   ", "...!?", "#*"]:
        with pytest.raises(TranscriptError, match="no words"):
            parse_transcript(text, lex)


def test_a_word_in_another_script_is_spoken_noise(lex):
    """As MFA aligns an out-of-vocabulary word: spoken noise, listed as unknown (so validate's
    export holds it, `spn`, to be given phones); only a transcript with nothing else fails."""
    words = parse_transcript("hello привет", lex)
    assert [(w.text, w.pronunciations, w.unknown) for w in words][1] == ("привет", [["spn"]], True)
    assert generated_pronunciations(words, lex) == {"привет": [["spn"]]}
    with pytest.raises(TranscriptError, match="привет.*--dictionary"):
        parse_transcript("привет мир", lex)


def test_user_entries_for_numbers_and_abbreviations_win(tmp_path):
    """MFA users give "1599" or "Mr." their own entry; it replaces the front-end's reading."""
    d = tmp_path / "mine.dict"
    d.write_text("1599\tW AH1 N F AY1 V N AY1 N N AY1 N\nmr.\tM IH1 S T ER0 Z\n", encoding="utf-8")
    words = parse_transcript("Mr. Lee paid 1599", load_lexicon(d))
    assert words[0].pronunciations == [["M", "IH1", "S", "T", "ER0", "Z"]]
    assert words[3].pronunciations == [["W", "AH1", "N", "F", "AY1", "V", "N", "AY1", "N", "N",
                                        "AY1", "N"]]
    assert len(parse_transcript("Mr. Lee paid 1599", load_lexicon())[3].pronunciations[0]) > 12


def test_accented_words_keep_spelling(lex):
    words = parse_transcript("naïve café in Zürich", lex)
    assert [w.text for w in words] == ["naïve", "café", "in", "Zürich"]
    assert not any(w.unknown for w in words)


def test_word_tier_keeps_original_characters(lex):
    words = parse_transcript("“Don’t” — the cafe\u0301’s ﬁne ½", lex)
    assert [w.text for w in words] == ["Don’t", "the", "café’s", "ﬁne", "½"]
    assert [w.spoken for w in words] == [["don't"], ["the"], ["café's"], ["fine"], ["a", "half"]]


def test_read_transcript_utf8_and_bom(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffcafé 1999\n".encode("utf-8"))
    assert read_transcript(p) == "café 1999\n"


@pytest.mark.parametrize("text,numeral,readings", [
    ("Louis XIV", "XIV", [["the", "fourteenth"], ["fourteen"]]),
    ("World War II ended", "II", [["two"], ["the", "second"]]),  # a war is numbered: "two"
    ("Pope John XXIII", "XXIII", [["the", "twenty-third"], ["twenty-three"]]),
    ("Super Bowl XLIX", "XLIX", [["the", "forty-ninth"], ["forty-nine"]]),
])
def test_roman_numerals_after_a_name_are_numbers(text, numeral, readings):
    """"Louis XIV" was the letters X I V; the acoustics choose between the ordinal and the
    cardinal (and the letters, still offered). A lone "I" and numerals that are words or
    initials (MIX, DIV) or not after a capitalised word stay as they were."""
    from aligner.text.normalise import normalise

    token = next(t for t in normalise(text) if t.text == numeral)
    assert token.readings[:2] == readings and len(token.readings) > 2
    assert normalise("I am here")[0].readings == [["i"]]
    assert all(["the"] != r[:1] for t in normalise("MIX it, said II") for r in t.readings)
    shouted = normalise("THIS IS WHAT MR LI SAID ABOUT IT")  # capitals everywhere: a name
    assert all(["the"] != r[:1] for t in shouted for r in t.readings)


@pytest.mark.parametrize("text,shown", [
    ("<b>Then</b> Mike walks to <i>coffee</i>", "<b>, </b>, <i>"),
    ("Mike&nbsp;walks", "&nbsp;"), ("<speak>hello</speak>", "<speak>"), ("a <br/> b", "<br/>"),
    ("rock &amp; roll", "&amp;")])
def test_html_is_refused_not_aligned_as_words(text, shown, lex):
    """A prompt from a web page: `<b>Then</b>` gave the words b, Then, b (the fake words took
    the real ones' time, nothing flagged), `&nbsp;` was spelled out."""
    with pytest.raises(TranscriptError, match=f"holds HTML \\({re.escape(shown)}"):
        parse_transcript(text, lex)
    # angle-bracket markup, CHAT's & codes and an ampersand before letters are not HTML
    assert [w.text for w in parse_transcript("<unk> AT&T <s> &-um &=laughs Q&As;", lex)] == [
        "<unk>", "AT&T", "<s>", "um", "&=laughs", "Q&As"]


def test_ipa_is_refused_not_read_as_spelling(lex, tmp_path):
    """A clinician's phonetic transcription of a patient's errors: `wæbɪt` was aligned as W IY1
    T, `ʃuz` as AH1 Z, with no warning. Spelling, markup and names with accents still pass, and
    a --dictionary entry for the IPA word makes it a word like any other."""
    with pytest.raises(TranscriptError, match="holds IPA \\('wæbɪt', 'ʃuz', 'θɪŋ'\\).*--dictionary"):
        parse_transcript("the wæbɪt ʃuz θɪŋ", lex)
    with pytest.raises(TranscriptError, match="holds IPA \\('ˈkæt'\\)"):
        parse_transcript("a ˈkæt", lex)
    with pytest.raises(TranscriptError, match="holds IPA \\('ʃuz'\\)"):  # punctuation taken off
        parse_transcript("he said “ʃuz,” then", lex)
    assert [w.text for w in parse_transcript("the wabbit [ʃ] [ʃ ʊ] José Zoë æsir", lex)] == [
        "the", "wabbit", "[ʃ]", "[ʃ ʊ]", "José", "Zoë", "æsir"]
    dictionary = tmp_path / "ipa.dict"
    dictionary.write_text("wæbɪt W AE1 B IH0 T\n", encoding="utf-8")
    (word,) = parse_transcript("wæbɪt", load_lexicon(dictionary))
    assert word.pronunciations[0] == ["W", "AE1", "B", "IH0", "T"]
    words = parse_transcript("the wæbɪt, then", load_lexicon(dictionary))
    assert words[1].pronunciations[0] == ["W", "AE1", "B", "IH0", "T"]


def test_a_zero_width_space_parts_words(lex):
    """`Mike\u200bwalks` was one word with a generated pronunciation."""
    assert [w.text for w in parse_transcript("Then Mike\u200bwalks", lex)] == ["Then", "Mike", "walks"]
    (word,) = parse_transcript("co\u00adoperate", lex)  # a soft hyphen is inside the word,
    assert word.spoken == ["cooperate"] and word.text == "cooperate"  # and no label shows it


def test_money_is_read_every_way_people_say_it(lex):
    """"$3.50" said "three dollars fifty" had no reading: the word was squeezed into 125 ms."""
    (word,) = parse_transcript("$3.50", lex)
    said = {spoken_phones(p) for p in word.pronunciations}
    assert {"TH R IY1 D AA1 L ER0 Z AH0 N D F IH1 F T IY0 S EH1 N T S",  # ... and fifty cents
            "TH R IY1 D AA1 L ER0 Z F IH1 F T IY0 S EH1 N T S",  # ... fifty cents
            "TH R IY1 F IH1 F T IY0",  # three fifty
            "TH R IY1 D AA1 L ER0 Z F IH1 F T IY0"} <= said  # three dollars fifty


def test_one_readings_variants_do_not_crowd_out_another_reading(lex):
    """A telephone number's digits, "zero" said two ways, make dozens of variants: every
    reading's first variant comes before any reading's second, so the range is still offered."""
    from aligner.text.frontend import MAX_VARIANTS, parse_transcript

    (word,) = parse_transcript("555-1000", lex)
    assert len(word.pronunciations) == MAX_VARIANTS
    said = [spoken_phones(p) for p in word.pronunciations]
    assert said[0].startswith("F AY1 V F AY1 V F AY1 V W AH1 N Z")  # the digits first
    assert any("T UW1 W AH1 N TH AW1 Z AH0 N D" in p for p in said)  # "... to one thousand"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_read_transcript_utf16_without_a_bom(tmp_path, codec):
    """UTF-16 saved without a byte-order mark passed as UTF-8 (its NUL bytes are valid UTF-8)
    and "The" was aligned as the letters T, h, e, with exit 0. A NUL byte in UTF-8 text is an
    error naming it."""
    p = tmp_path / "t.txt"
    for text in ("Zoë said the word\n", "Māori Ā and 一 too\n"):  # units whose low byte is 0
        p.write_bytes(text.encode(codec))
        assert read_transcript(p) == text
    p.write_bytes(b"hello world\n\x00\x00")  # UTF-8 padded with NULs: the text is whole
    assert read_transcript(p) == "hello world\n"
    p.write_bytes(b"hello\x00there")
    with pytest.raises(TranscriptError, match=r"holds a NUL byte \(0x00 at offset 5"):
        read_transcript(p)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_read_transcript_utf16_with_its_bom(tmp_path, codec):
    """What Windows Notepad saves as "Unicode" (UTF-16 with a byte-order mark) is read, as
    Praat's UTF-16 TextGrids are; dictionaries and CSV/JSON alignments decode the same way."""
    from aligner.formats import read_csv
    from aligner.text.lexicon import read_user_dictionary

    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffZoë said 5\r\n".encode(codec))
    assert read_transcript(p).strip() == "Zoë said 5"
    d = tmp_path / "d.dict"
    d.write_bytes("\ufeffzoë\tZ OW1 IY0\n".encode(codec))
    assert read_user_dictionary(d)["zoë"] == [["Z", "OW1", "IY0"]]
    c = tmp_path / "a.csv"
    c.write_bytes("\ufeffstart,end,label\n0.0,0.5,zoë\n".encode(codec))
    assert [w.label for w in read_csv(c, tolerant=True)[0].words] == ["zoë"]


def test_read_transcript_bad_bytes_names_file(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(TranscriptError, match=r"latin1\.txt.*not UTF-8.*0xe9"):
        read_transcript(p)


def test_read_transcript_missing_file(tmp_path):
    with pytest.raises(TranscriptError, match="cannot read"):
        read_transcript(tmp_path / "nope.txt")


def test_phones_for_helper(lex):
    assert lex.phones_for("cat") == [["K", "AE1", "T"]]
    assert lex.phones_for("ninety-nine")[0] == "N AY1 N T IY0 N AY1 N".split()


def test_a_known_word_in_capitals_is_the_word(lex):
    """Capitals are emphasis ("It's NOT fish"), a corpus's style (FSDD's "ZERO") or text beside a
    lower-case filler ("SEE ... uh-huh"): a spelled variant (N-O-T) fits any frames at least as
    well as the word, and the acoustics picked the letters for words said plainly. Unknown
    words in capitals and dotted initials are still letters."""
    def variants(text, i):
        return [spoken_phones(p) for p in parse_transcript(text, lex)[i].pronunciations]

    assert variants("It's NOT fish", 1) == ["N AA1 T"]
    assert variants("JOHN CAN SEE THE SHEEP uh-huh", 2) == ["S IY1"]
    assert variants("ZERO", 0) == ["Z IH1 R OW0", "Z IY1 R OW0"]
    assert variants("TWO", 0) == ["T UW1"]
    assert variants("THE GPU", 1)[0] == "JH IY1 P IY1 Y UW1"
    assert variants("U.S.", 0) == ["Y UW1 EH1 S"]


def test_a_number_then_a_full_stop_is_not_a_measure(lex):
    """"I was 5. In fact": the sentence's next word is not inches."""
    (in_,) = [w for w in parse_transcript("I was 5. In fact", lex) if w.text == "In"]
    assert ["IH1", "N", "CH", "AH0", "Z"] not in in_.pronunciations


def test_optional_letters_match_only_from_a_word_start():
    """The hyphenated form of the optional-letters pattern may only start where a word does:
    searched from every position of a long a-b-c-... chunk, it rescanned it each time (10,000
    hyphenated words took 45 s)."""
    from aligner.text.normalise import _OPTIONAL_LETTERS_RE

    assert _OPTIONAL_LETTERS_RE.search("ab-cd(s)", 1) is None
    assert _OPTIONAL_LETTERS_RE.search("x ab-cd(s)", 1).group() == "ab-cd(s)"


def test_a_unit_that_is_also_a_word_keeps_the_word_first_after_a_number(lex):
    """"5 m" may be five metres or "five M"; "5 in a row" is the word: the unit is a variant
    there, for the acoustics to choose, while "5 km" reads kilometres first."""
    m = parse_transcript("it is 5 m long", lex)[3]
    assert m.spoken == ["m"] and ["M", "IY1", "T", "ER0", "Z"] in m.pronunciations
    inch = parse_transcript("5 in a row", lex)[1]
    assert inch.pronunciations[0] in (["IH1", "N"], ["IH0", "N"])
    assert ["IH1", "N", "CH", "AH0", "Z"] in inch.pronunciations


def test_a_word_that_loses_letters_to_be_looked_up_is_unknown(lex):
    """IPA typed into a transcript ("/baɪ/") lost its ɪ and was taken for the known word "ba",
    silently; it is refused now (`test_ipa_is_refused_not_read_as_spelling`), and a letter
    outside IPA's own that folds to nothing makes the word unknown. Accents that fold to a-z
    ("Zürich", "café") are the words."""
    with pytest.raises(TranscriptError, match="holds IPA"):
        parse_transcript("/baɪ/", lex)
    (folded,) = parse_transcript("baχ", lex)  # a Greek letter, as IPA writes a fricative
    assert folded.unknown
    assert not any(w.unknown for w in parse_transcript("Zürich café naïve", lex))


def test_a_time_stamped_label_file_is_not_read_as_a_transcript(tmp_path):
    """Emu/ESPS `.lab` files (and HTK's `start end label`) sit where MFA expects transcripts:
    their numbers were read as words ("one hundred and twenty-five"). A transcript of digits
    is still a transcript."""
    from aligner.text.errors import TranscriptError
    from aligner.text.frontend import read_transcript

    esps = tmp_path / "esps.lab"
    esps.write_text("signal msajc003\nnfields 1\n#\n\t0.187498\t125\tH#\n\t0.256994\t125\tV\n")
    htk = tmp_path / "htk.lab"
    htk.write_text("0 2300000 sil\n2300000 4100000 hh\n4100000 5200000 ah\n")
    for path in (esps, htk):
        with pytest.raises(TranscriptError, match="time-stamped label file"):
            read_transcript(path)
    digits = tmp_path / "digits.lab"
    digits.write_text("3 7 1 8\n2 2 9 0\n1 5 5 5\n")
    assert read_transcript(digits).startswith("3 7 1 8")


def test_ms_is_read_as_miz_and_miz_is_no_unknown_word(lex):
    """`validate` listed "Ms." as read "miz" and "miz" as an unknown word, G2P-pronounced."""
    words = parse_transcript("Ms. Smith", lex)
    assert words[0].pronunciations[0] == ["M", "IH1", "Z"] and not words[0].unknown


@pytest.mark.parametrize("text, ends", [
    ("Mr. Smith said no. Then he left!", ["no", "left"]),  # an abbreviation keeps its dot
    ("He went home\nand slept", ["home"]),  # a line break
    ("Is it? Yes... I think so", ["it", "Yes"]),
    ('She said "stop." Then went', ["stop"]),  # a quote after the full stop
    ("It costs 3.5 dollars, or so", []),  # a decimal point, a comma
    ("one two three", []),
    # review 124: a stop in a piece of its own, after markup or a merged token, after a cutoff
    ("Hello . Goodbye .", ["Hello", "Goodbye"]),
    ("It cost 5 €. That was all", ["5 €"]),
    ("*PAR: the boy is on the stool .\n*PAR: he falls .", ["stool", "falls"]),
    ("[laughter]. Then we", ["[laughter]"]),
    ("He saw a b-b-bear. Then ran.", ["bear", "ran"]),
    # an abbreviation that often closes a sentence closes one before a capital
    ("Pens, paper, etc. Then we left", ["etc."]),
    ("pens, etc. and paper", []),
    ("Dr. Smith met Acme Inc. The end", ["Inc."]),
    ("He met Dr. Smith at the U.S. Army base", []),
    ("Built ca. 1900. Then", ["1900"]),  # "ca." (circa) keeps its dot
    ("PENS, ETC. AND PAPER", []),  # in capitals a capital says nothing
])
def test_a_token_after_a_sentence_end_says_so(text, ends):
    assert [t.text for t in normalise(text) if t.ends_sentence] == ends


def test_a_long_run_of_symbols_after_a_word_is_read_in_one_pass():
    """The sentence end is found by walking back over the symbols once: a regex for the tail
    took quadratic time on a separator line of thousands of '='."""
    tokens = normalise("first " + "=" * 200_000 + " second")
    assert [(t.text, t.ends_sentence) for t in tokens] == [("first", False), ("second", False)]


def test_sentence_gaps_stand_around_sentences_of_a_transcript_of_several(lex):
    from aligner.text.frontend import is_sentence_gap, prepare_text

    two = prepare_text("Hello there. How are you?", lex, sentence_gaps=True)
    assert [w.text for w in two.words] == ["", "Hello", "there", "", "How", "are", "you", ""]
    assert [is_sentence_gap(w) for w in two.words] == [True, False, False, True,
                                                        False, False, False, True]
    assert two.phones[0] == ["<star>"] and not two.unknown
    one = prepare_text("Hello there.", lex, sentence_gaps=True)  # one sentence: as it was
    assert [w.text for w in one.words] == ["Hello", "there"]
    assert [w.text for w in prepare_text("Hello there. How are you?", lex).words] == [
        "Hello", "there", "How", "are", "you"]  # training's and validate's text: no gaps


def test_no_sentence_gap_stands_beside_a_pause_word(lex):
    """A typed pause (`<sil>`) holds the pause between its sentences: beside a gap, the gap's
    silences took it and left the pause word a sliver (review 124: 13 ms of 539)."""
    from aligner.text.frontend import prepare_text

    words = prepare_text("<sil> One two. <sil> Three four. Five <sil>", lex, sentence_gaps=True)
    assert [w.text for w in words.words] == ["<sil>", "One", "two", "<sil>", "Three", "four",
                                             "", "Five", "<sil>"]


def test_the_wildcard_needs_no_time_of_its_own(lex):
    from aligner.text.frontend import phone_count, prepare_text

    lines = prepare_text("one\ntwo\nthree", lex, sentence_gaps=True)
    assert phone_count(lines.phones) == phone_count(prepare_text("one two three", lex).phones) == 8
