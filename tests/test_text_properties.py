"""Property tests: any text (and any bytes in a transcript file) either parses into well-formed
words or raises TranscriptError, with one line: never another exception, which the CLI would show
as an internal error."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aligner.text.frontend import TranscriptError, load_lexicon, parse_transcript, read_transcript
from aligner.text.normalise import clean_with_origin
from aligner.text.phones import PHONES, phone_ids
from conftest import FUZZ

_LEX = load_lexicon()
_PHONES = set(PHONES)

# Text that looks like transcripts: words, digits, punctuation, symbols, accents, scripts.
_pieces = st.sampled_from([
    "the", "Dr.", "St.", "1999", "$5.50", "4:30", "50%", "don't", "'90s", "U.S.", "FBI",
    "well-known", "and/or", "café", "—", "...", ",", "!", "&", "#", "1/2", "3.14", "21st",
    "Zürich", "COVID-19", "'", '"', "-", "-5", "$", "%", ":", "/", "x", "blorf", "€3",
    "[laughter]", "{LG}", "<unk>", "<star>", "(inaudible)", "<cutoff-x>", "[", ">", "(",
])
_transcripts = st.lists(
    st.one_of(_pieces, st.text(min_size=1, max_size=6), st.integers(-10**20, 10**20).map(str),
              st.floats(allow_nan=False, allow_infinity=False).map(str)),
    max_size=12,
).map(" ".join)


def _check(text: str) -> None:
    try:
        words = parse_transcript(text, _LEX)
    except TranscriptError as err:
        msg = str(err)
        assert msg and "\n" not in msg
        return
    assert words
    for w in words:
        assert w.text and w.pronunciations
        if w.pronunciations == [["spn"]] and w.unknown:  # a word in another script
            assert w.spoken == [unicodedata.normalize("NFC", w.text).lower()]
            continue
        if w.pronunciations in ([["spn"]], [["<star>"]]):  # markup: bracketed, CHAT's, a cut-off
            shown = clean_with_origin(w.text)[1].strip()  # as typed; compatibility forms cleaned
            cutoff = shown.endswith("-") and shown.rstrip("-").isalpha()  # "w-", "w—" ("w--")
            chat = shown[:2] in ("&+", "&=", "&~")  # CHAT's events and fragments, "&~0" too
            assert not w.spoken and (cutoff or chat or (shown[0] in "[{<(" and shown[-1] in "]}>)"))
            continue
        assert w.spoken
        for p in w.pronunciations:  # `sil`: a pause between the words of a reading
            assert p and all(ph.rstrip("012") in _PHONES or ph == "sil" for ph in p)
            assert "sil" not in (p[0], p[-1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
@example("0𐹠")  # a digit that is no decimal (Rumi) beside one: int() of it raised ValueError
def test_arbitrary_unicode_only_raises_transcript_error(text):
    _check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_transcripts)
def test_transcript_like_text(text):
    _check(text)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x24F), min_size=1,
               max_size=20))
def test_latin_text_with_a_letter_always_parses(text):
    if not any(c.isalpha() or c.isdigit() for c in text):
        return
    try:
        parse_transcript(text, _LEX)
    except TranscriptError as err:
        # Only letters outside a-z after folding (e.g. IPA) may fail; the message names them.
        assert "no Latin letters" in str(err) or "no words" in str(err), str(err)


@pytest.mark.parametrize("text", ["\x00\x01", "\ufeff", "\u200b", "a\u0301", "\U0001F600",
                                  "ﬁ", "½", "²", "Ⅻ", "١٢٣", "𝟙𝟚"])
def test_odd_characters(text):
    _check(text)


@FUZZ
@given(data=st.binary(max_size=300))
@example(data=b"\xff\xfe\x00\x00")  # a UTF-32 byte-order mark, which begins as UTF-16's does
def test_read_transcript_any_bytes(tmp_path, data):
    path = tmp_path / "t.lab"
    path.write_bytes(data)
    try:
        text = read_transcript(path)
    except TranscriptError as err:
        message = str(err)
        assert "t.lab" in message and "\n" not in message
        return
    assert isinstance(text, str)
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):  # UTF-32 with its BOM
        assert text == data.decode("utf-32")
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark
        assert text == data.decode("utf-16")
    elif b"\x00" in data:  # UTF-16 without a BOM, or UTF-8 padded with NULs
        padded = data.rstrip(b"\x00")
        utf16 = [data.decode(c, "replace").rstrip("\x00") for c in ("utf-16-le", "utf-16-be")
                 ] if len(data) % 2 == 0 else []
        assert text in utf16 or text.encode("utf-8") in (padded, padded.removeprefix(b"\xef\xbb\xbf"))
    else:
        assert text.encode("utf-8") in (data, data.removeprefix(b"\xef\xbb\xbf"))


_WORDY = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz'-.,!? 0123456789$%&"
                                               "ÉéüßçñÅ\u00a0\t\n")), max_size=80)


def _check_words(words) -> None:
    assert words, "parse_transcript returned no words instead of raising"
    for w in words:
        assert w.text and w.pronunciations
        for pron in w.pronunciations:
            # every phone is in the model's phone set, or is markup (`(inaudible)` -> spn)
            assert pron and phone_ids(pron, markup=True)


@FUZZ
@given(text=st.one_of(st.text(max_size=80), _WORDY))
def test_parse_transcript_any_text(text):
    try:
        words = parse_transcript(text, _LEX)
    except TranscriptError as err:
        assert str(err).strip() and "\n" not in str(err).strip()
        return
    _check_words(words)


@FUZZ
@given(text=_WORDY.filter(lambda t: any(c.isalpha() for c in t)))
def test_parse_transcript_wordy_text_gives_words(text):
    """Latin letters, digits and punctuation: pronounceable, or a one-line TranscriptError."""
    try:
        words = parse_transcript(text, _LEX)
    except TranscriptError:
        return
    _check_words(words)
