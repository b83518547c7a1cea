"""Lexicon: CMUdict lookup, user dictionaries in MFA's format, fallbacks for unknown words."""

from __future__ import annotations

import pytest

from aligner.text.errors import DictionaryError
from aligner.text.frontend import load_lexicon, parse_transcript
from aligner.text.lexicon import _clitic_variant, fold_accents, held_sound, read_user_dictionary


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def test_cmudict_lookup_keeps_stress_and_variant_order(lex):
    assert lex.lookup("tomato") == [["T", "AH0", "M", "EY1", "T", "OW2"],
                                    ["T", "AH0", "M", "AA1", "T", "OW2"]]
    assert lex.lookup("Tomato") == lex.lookup("tomato")
    assert lex.lookup("qwzxv") is None
    assert "hello" in lex and "qwzxv" not in lex


def test_user_dictionary_overrides_cmudict(tmp_path):
    d = tmp_path / "user.dict"
    d.write_text("tomato T AH0 M AA1 T OW0\nTOMATO t ah0 m ey1 t ow0\n"
                 "ottc AA1 T IY1 T IY1 S IY1\n\n# a comment\nzürich\t1.0\tZ UH1 R IH0 K\n",
                 encoding="utf-8")
    lex = load_lexicon(d)
    assert lex.phones_for("tomato") == [["T", "AH0", "M", "AA1", "T", "OW0"],
                                        ["T", "AH0", "M", "EY1", "T", "OW0"]]
    (w,) = parse_transcript("OTTC", lex)
    assert w.pronunciations[0] == ["AA1", "T", "IY1", "T", "IY1", "S", "IY1"]
    assert not w.unknown
    assert lex.phones_for("Zürich") == [["Z", "UH1", "R", "IH0", "K"]]
    # the shared CMUdict is not modified by a user dictionary
    assert load_lexicon().phones_for("tomato")[0][4] == "T"


def test_user_dictionary_bad_phone_names_file_and_line(tmp_path):
    d = tmp_path / "bad.dict"
    d.write_text("good G UH1 D\nbad B Æ D\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"bad\.dict:2: 'Æ' is not one of the model's phones"):
        read_user_dictionary(d)


def test_cmudicts_own_file_and_curly_apostrophes_are_read(tmp_path):
    """The `cmudict` package's cmudict.dict ends some lines with `# place, danish`, which was
    refused as a phone; an entry typed `didn’t` never matched a transcript's `didn't` (the
    transcript's apostrophe is folded, the dictionary's was not); an IPA dictionary's refusal
    says what to use instead."""
    d = tmp_path / "cmudict.dict"
    d.write_text("abkhazian AE0 B K AA1 Z IY0 AH0 N # place, danish\n"
                 "didn\u2019t D IH1 N T\n", encoding="utf-8")
    entries = read_user_dictionary(d)
    assert entries["abkhazian"] == [["AE0", "B", "K", "AA1", "Z", "IY0", "AH0", "N"]]
    (w,) = parse_transcript("didn't", load_lexicon(d))
    assert w.pronunciations[0] == ["D", "IH1", "N", "T"]
    d.write_text("cat k\u02b0 \u00e6 t\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match="an IPA dictionary .*english_us_arpa"):
        read_user_dictionary(d)


def test_user_dictionary_word_without_phones(tmp_path):
    d = tmp_path / "empty.dict"
    d.write_text("lonely\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"empty\.dict:1: .*no phones"):
        read_user_dictionary(d)


def test_user_dictionary_not_utf8_or_missing(tmp_path):
    d = tmp_path / "latin.dict"
    d.write_bytes("caf\xe9 K AE0 F EY1\n".encode("latin-1"))
    with pytest.raises(DictionaryError, match="not UTF-8"):
        read_user_dictionary(d)
    with pytest.raises(DictionaryError, match="cannot read"):
        load_lexicon(tmp_path / "missing.dict")


def test_fold_accents():
    assert fold_accents("Zürich") == "zurich"
    assert fold_accents("straße") == "strasse"
    assert fold_accents("Ærøskøbing") == "aeroskobing"


def test_hyphenated_compound_from_parts(lex):
    assert lex.phones_for("sun-baked")[0] == lex.phones_for("sun")[0] + lex.phones_for("baked")[0]


@pytest.mark.parametrize("base,clitic,ending", [
    ("B L IH1 K", "'s", ["S"]), ("B AE1 G", "'s", ["Z"]), ("B AH1 Z", "'s", ["IH0", "Z"]),
    ("B UH1 SH", "'s", ["IH0", "Z"]), ("S IY1", "'s", ["Z"]), ("D AO1 G Z", "s'", []),
    ("K UH1 D", "n't", ["AH0", "N", "T"]), ("DH EY1", "'re", ["R"]), ("W IY1", "'ve", ["V"]),
])
def test_clitic_voicing(base, clitic, ending):
    assert _clitic_variant(base.split(), clitic) == base.split() + ending


def test_contraction_of_unknown_verb(lex):
    base = lex.phones_for("blorp")[0]
    assert lex.phones_for("blorp'll")[0] == base + ["AH0", "L"]


def test_letter_names(lex):
    assert lex.phones_for("a.") == [["EY1"]]
    assert lex.phones_for("w.")[0][0] == "D"


def test_pronounce_returns_copies(lex):
    p = lex.phones_for("cat")
    p[0].append("X")
    assert lex.phones_for("cat") == [["K", "AE1", "T"]]


def test_a_word_with_its_last_sound_dropped_keeps_its_apostrophe(lex):
    """"th'" was spelled out as the letters T and H (CMUdict's "th": T IY1 EY1 CH) and written
    "th": an elided word is the word it shortens, as typed on the words tier."""
    words = parse_transcript("Th' end o' th' world, rock an' roll, 'th'", lex)
    assert [w.text for w in words] == ["Th'", "end", "o'", "th'", "world", "rock", "an'", "roll",
                                       "th"]
    assert words[0].pronunciations == [["DH", "AH0"], ["DH"]] and not words[0].unknown
    assert words[2].pronunciations[0] == ["AH0"]  # of, not the letter O
    assert ["AE1", "N"] in words[6].pronunciations
    assert words[8].pronunciations == lex.lookup("th")  # in quotes: the closing one is a quote


def test_a_dropped_g_is_the_ing_word_said_with_n(lex):
    """"goin'" was read as CMUdict's name "goin" (G OY1 N), "nothin'" from its letters: a word
    written with -in' is its -ing word with the final NG said as N, and keeps its apostrophe."""
    words = parse_transcript("I'm goin' home, n-nothin' else", lex)
    by_text = {w.text: w for w in words}
    assert "goin'" in by_text and "nothin'" in by_text
    for text in ("goin'", "nothin'"):
        w = by_text[text]
        assert not w.unknown and all(p[-1] == "N" and "NG" not in p for p in w.pronunciations)
    assert by_text["goin'"].pronunciations[0][:2] == ["G", "OW1"]
    berlin = parse_transcript("'Berlin'", lex)[0]  # in quotes: the closing one is not a g
    assert berlin.text == "Berlin" and berlin.pronunciations == lex.lookup("berlin")


@pytest.mark.parametrize("typed,first,also", [
    ("sooo", "S OW1", "S UW1"), ("pleeease", "P L IY1 Z", None), ("helllo", "HH AH0 L OW1", None),
    ("yesss", "Y EH1 S", None), ("goood", "G AA1 D", "G UH1 D"), ("reaaally", "R IH1 L IY0", None),
])
def test_a_word_drawn_out_in_its_spelling_is_the_word(typed, first, also, lex):
    """"pleeease" was P L IY1 IY1 IY1 S and "sooo" S UW1 (the G2P's): a letter typed three times
    or more is the word said long; each known word it may spell is a variant ("goood": god or
    good, the acoustics choose). Still listed as unknown: no dictionary has it as typed."""
    variants, unknown = lex.pronounce(typed)
    assert " ".join(variants[0]) == first and unknown
    assert also is None or also.split() in variants


def test_a_drawn_out_word_that_spells_no_known_word_is_left_to_the_g2p(lex):
    assert lex._unstretched("brrr") == [] and lex._unstretched("zzz") == []
    assert lex.pronounce("brrr")[1]


@pytest.mark.parametrize("typed,phone", [
    ("mmm", "M"), ("mmmm", "M"), ("sss", "S"), ("zzzz", "Z"), ("nnn", "N"), ("fff", "F"),
    ("vvv", "V"), ("aaaa", "AA1"), ("eeee", "IY1"), ("ooo", "UW1"), ("Mmmm", "M"),
])
def test_one_letter_typed_over_and_over_is_that_sound_held(typed, phone, lex):
    """A hum ("mmm"), an s/z ratio's sustained sounds ("sss", "zzzz"), a held vowel ("aaaa"):
    the G2P spelled such words out ("mmm" EH1 M M EH1 M, "sss" EH1 S EH1 S EH1 S); the sound is
    one phone (the aligner gives a held voiced one all its voicing). Listed as unknown."""
    assert lex.pronounce(typed) == ([[phone]], True)


def test_a_letter_repeated_that_is_not_one_held_sound_is_left_to_the_dictionary_or_g2p(lex):
    """CMUdict's own entries stand ("mm" M, "ss" the letters' names, "aaa" the motor club); a
    letter typed twice is no held sound, nor a stop or "iii" typed three times."""
    for typed in ("mm", "ss", "aaa"):
        assert lex.pronounce(typed) == (lex.lookup(typed), False)
    assert len(lex.pronounce("aaa")[0][0]) > 1
    assert held_sound("zzz") == ["Z"] and held_sound("zz") is None and held_sound("zzaz") is None
    assert held_sound("ttt") is None and held_sound("iii") is None


@pytest.mark.parametrize("typed,phones", [
    ("tryna", "T R AY1 N AH0"), ("coulda", "K UH1 D AH0"), ("imma", "AY1 M AH0"),
    ("whatcha", "W AH1 CH AH0"),
])
def test_casual_spellings_of_conversation_are_known(typed, phones, lex):
    """Transcripts of spontaneous speech write "tryna", "coulda", "imma": CMUdict lacks them and
    the G2P said T R IH1 N AH0, K UW1 L D AH0, IH1 M AH0."""
    assert typed in lex
    (word,) = parse_transcript(typed, lex)
    assert " ".join(word.pronunciations[0]) == phones and not word.unknown
