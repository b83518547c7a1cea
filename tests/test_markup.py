"""Transcript markup (MFA's conventions): bracketed noise and unknown tokens align as spoken noise
(`spn`), `<star>` absorbs what a transcript leaves out, and `validate` exports generated
pronunciations as a dictionary to edit and pass back."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from aligner.align import Aligner
from aligner.checks import find_flags
from aligner.cli import app
from aligner.decode import align_ot, align_viterbi
from aligner.formats import Segment, read_json, read_textgrid
from aligner.states import (
    SPN_PENALTY, STAR_PENALTY, expand_targets, phone_log_probs, state_ids, with_markup_scores)
from aligner.targets import SPN_MASS, build_targets, fit_markup_mass
from aligner.text.errors import DictionaryError
from aligner.text.frontend import (generated_pronunciations, load_lexicon, parse_transcript,
                                   prepare_text)
from aligner.text.lexicon import read_user_dictionary, write_user_dictionary
from aligner.text.phones import SILENCE_ID, SPN_ID, STAR_ID, phone_ids
from conftest import EXAMPLE_TXT, EXAMPLE_WAV, speechlike

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "english" / "model.safetensors"
runner = CliRunner()


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


# ------------------------------------------------------------------------------- the front-end

@pytest.mark.parametrize("token", ["[laughter]", "{LG}", "<unk>", "(inaudible)", "<cutoff-montreal>",
                                   "<hes-forced>", "[background noise]", "<UNK>", "(laughs)"])
def test_markup_is_spoken_noise_with_the_token_as_typed(token, lex):
    words = parse_transcript(f"well {token}, then", lex)
    assert [w.text for w in words] == ["well", token, "then"]
    noise = words[1]
    assert noise.pronunciations == [["spn"]] and noise.spoken == [] and not noise.unknown


def test_star_is_the_wildcard(lex):
    words = parse_transcript("so <star> yes <STAR>", lex)
    assert [(w.text, w.pronunciations) for w in words] == [
        ("so", [["S", "OW1"]]), ("<star>", [["<star>"]]), ("yes", [["Y", "EH1", "S"]]),
        ("<STAR>", [["<star>"]])]


@pytest.mark.parametrize("text,expected", [
    ("(as I said) fine", ["as", "I", "said", "fine"]),  # an aside of words is spoken
    ("call (555) now", ["call", "555", "now"]),  # no letter: a number, said
    ("a [ ] b <> c", ["a", "b", "c"]),  # empty brackets are punctuation
    ("an [unclosed bracket", ["an", "unclosed", "bracket"]),
    ("* bullet *emphasis*", ["bullet", "emphasis"]),  # `*` is not a wildcard
])
def test_what_is_not_markup(text, expected, lex):
    assert [w.text for w in parse_transcript(text, lex)] == expected


def test_chat_transcripts_are_read_as_chat(lex):
    """AphasiaBank/CHILDES (CHAT) transcripts were misread silently: `[/]` and `[: dog]` became
    spoken noise, `&-um` and `&+fr` were spelled out, `xxx` read as letters. Annotation codes
    are dropped, fillers are words, fragments, events and unintelligible words spoken noise
    labelled as typed; a URL's "www." is still a word."""
    text = ("*PAR: the <dog> [/] dog &-um went &+fr to the xxx [: dog] store [* s] +... "
            "0is running@c &=laughs \x151234_5678\x15")
    words = parse_transcript(text, lex)
    assert [w.text for w in words] == ["the", "dog", "dog", "um", "went", "&+fr", "to", "the",
                                       "xxx", "store", "running", "&=laughs"]
    noise = {w.text for w in words if w.pronunciations == [["spn"]]}
    assert noise == {"&+fr", "xxx", "&=laughs"}
    assert all(w.pronunciations != [["spn"]] for w in parse_transcript("www.example.com", lex))
    more = parse_transcript("no [x 3] please, it [=? is] red, she &~fr friend [/] ok", lex)
    assert [w.text for w in more] == ["no", "no", "no", "please", "it", "red", "she", "&~fr",
                                      "friend", "ok"]


@pytest.mark.parametrize("text,expected", [
    # [x N]: the word, or the <scope>, was said N times
    ("*PAR: <I want> [x 2] it [/] it", ["I", "want", "I", "want", "it", "it"]),
    ("*PAR:\tthe dog [x 2] &-um went", ["the", "dog", "dog", "um", "went"]),
    ("*PAR: <I want> [* err] [x 2] it", ["I", "want", "I", "want", "it"]),  # codes between
    ("*PAR: dog [: doggy] [x 2]", ["dog", "dog"]),
    ("*PAR: <a:way ho:me> [x 2]", ["a:way", "ho:me", "a:way", "ho:me"]),  # copies as said
    ("*CHI: ↫b-b↫ball [x 2]", ["↫b-b", "ball", "↫b-b", "ball"]),
    ("*PAR: no [x 0] yes", ["no", "yes"]),
    ("*CHI: he 0is [x 2] going", ["he", "going"]),  # an omitted word: not said, not "he he"
    # prolongation and a pause inside a word: the word, labelled as typed
    ("*CHI:\tI ran a:way from the ca:t no: [/] no .", ["I", "ran", "a:way", "from", "the", "ca:t",
                                                      "no", "no"]),
    ("*CHI:\tthe b^all [/] ball", ["the", "b^all", "ball"]),
    # a repeated sound before the word: one fragment of its own
    ("*CHI:\t↫b-b↫ball [/] ball", ["↫b-b", "ball", "ball"]),
    # outside CHAT: times and carets as they were
    ("it is 10:30, ba^ll", ["it", "is", "10:30", "ba", "ll"]),
])
def test_chat_marks_inside_words_and_repetitions(text, expected, lex):
    from aligner.text.normalise import CHAT_MAX_TIMES

    assert len(parse_transcript("*PAR: no [x 100]", lex)) == CHAT_MAX_TIMES
    """CHAT's `[x N]` means said N times (dropping it left words out of the transcript);
    `a:way` (prolonged) and `b^all` (a block inside the word) are the words away and ball, not
    "a" + "way" or the letter B + "all"; `↫b-b↫ball` a sound repeated, then the word."""
    words = parse_transcript(text, lex)
    assert [w.text for w in words] == expected
    readings = {"a:way": ["AH0", "W", "EY1"], "ca:t": ["K", "AE1", "T"], "ho:me": ["HH", "OW1", "M"],
                "b^all": ["B", "AO1", "L"], "↫b-b": ["spn"]}
    for w in words:
        if w.text in readings:
            assert w.pronunciations[0] == readings[w.text], w


def test_timed_pauses_are_never_spoken(lex):
    """Jefferson's and CHAT's "(2.0)" was read "two point zero", squeezing the word after it
    into the pause; "(.)" was already dropped; a bracketed whole number is said."""
    words = parse_transcript("I was like (2.0) no way (.) then (0.5), she left (1.0). (555)", lex)
    assert [w.text for w in words] == ["I", "was", "like", "no", "way", "then", "she", "left", "555"]


@pytest.mark.parametrize("terminator", ["+...", "+..?", "+!?", "+/.", "+/?", "+//.", "+//?",
                                        '+"/.', '+".', "+,", "+<", "++", "+^"])
def test_chat_terminators_are_never_spoken(terminator, lex):
    """A .lab cut from a CHAT line (speaker code stripped) keeps its terminator with no other
    CHAT sign: "+..." was read "plus", given its own phones and taken from the last word."""
    for text in (f"ten of clubs {terminator}", f"*CHI: ten of clubs {terminator}"):
        assert [w.text for w in parse_transcript(text, lex)] == ["ten", "of", "clubs"]
    assert [w.text for w in parse_transcript("two + two", lex)] == ["two", "+", "two"]


def test_quotes_around_a_word_are_not_its_spelling(lex):
    """A closing quote after a word in quotes ('clubs') was kept on the label as if it were a
    plural's possessive (dogs')."""
    words = parse_transcript("'ten' of \u2018clubs\u2019 and the dogs' bowls", lex)
    assert [w.text for w in words] == ["ten", "of", "clubs", "and", "the", "dogs'", "bowls"]


@pytest.mark.parametrize("text,cut,words", [
    ("bi- bi- big", ["bi-", "bi-"], ["big"]),  # a part-word repetition that spells "bi"
    ("ta- table", ["ta-"], ["table"]),
    ("the b- ball", ["b-"], ["the", "ball"]),
    ("pre- and post-war", [], ["pre-", "and", "post-war"]),  # said in full: a word, as typed
    ("so- so- so good", [], ["so-", "so-", "so", "good"]),  # whole words repeated
    ("against the wor- the wizard", [], ["against", "the", "wor-", "the", "wizard"]),
    (" ".join(["bi-"] * 9) + " big", ["bi-"] * 9, ["big"]),
])
def test_a_part_word_started_again_is_a_cutoff(text, cut, words, lex):
    """A broken-off start that is a word with a vowel ("bi", "ta") is a cutoff (spoken noise,
    its hyphen kept on the words tier) when the next word said in full starts with it."""
    parsed = parse_transcript(text, lex)
    assert [w.text for w in parsed if w.pronunciations == [["spn"]]] == cut
    assert [w.text for w in parsed if w.pronunciations != [["spn"]]] == words


@pytest.mark.parametrize("text,kept", [("the 0s and 1s", "0s"), ("the 0th one", "0th"),
                                       ("the 1_000 people", "000"), ("ping bob@me now", "bob@me"),
                                       ("go to www dot com", "www"), ("xxx rated", "xxx")])
def test_what_chat_writes_is_read_as_chat_only_in_chat(text, kept, lex):
    """Outside a CHAT transcript (no `[/]`, `&-um`, `*PAR:` ...), `0s`, `1_000`, `bob@me`, `www`
    and `xxx` are words, as they were before CHAT was read: none is dropped or spoken noise."""
    words = parse_transcript(text, lex)
    assert kept in [w.text for w in words]
    assert all(w.pronunciations != [["spn"]] for w in words)


@pytest.mark.parametrize("text,word,variants", [
    ("the item(s), here", "item(s)", [["AY1", "T", "AH0", "M", "Z"], ["AY1", "T", "AH0", "M"]]),
    ("(s)he said", "(s)he", [["SH", "IY1"], ["HH", "IY1"]]),
    ("a word(s)-based rule", "word(s)-based", [["W", "ER1", "D", "Z", "B", "EY1", "S", "T"],
                                               ["W", "ER1", "D", "B", "EY1", "S", "T"]]),
    ("the item(s)'s price", "item(s)'s", [["AY1", "T", "AH0", "M", "Z"]]),  # items' / item's
    ("the boss(es)'s car", "boss(es)'s", [["B", "AO1", "S", "IH0", "Z"]]),  # bosses' / boss's
])
def test_optional_letters_are_one_word_with_both_readings(text, word, variants, lex):
    """Brackets glued to a word mark optional letters: one word on the words tier, pronounced
    with them or without (the aligner keeps the variant the audio fits), never a letter "s"."""
    words = parse_transcript(text, lex)
    found = next(w for w in words if w.text == word)
    assert all(v in found.pronunciations for v in variants) and not found.unknown
    assert len(words) == len(text.split())


def test_capitalised_markup_does_not_make_the_text_shouted(lex):
    """Many capitals read letters out ("FBI"); a `[LAUGHTER]` must not tip a normal sentence."""
    words = parse_transcript("[LAUGHTER] {NOISE} <UNK> That is it", lex)
    assert [w.spoken for w in words[3:]] == [["that"], ["is"], ["it"]]


def test_user_dictionary_entries_for_markup(tmp_path):
    """MFA's `{LG} spn`, `{SL} sil`, and real phones for a bracketed filler."""
    d = tmp_path / "markup.dict"
    d.write_text("{SL}\tsil\n[um]\tAH1 M\n{LG}\tSPN\nuh-huh\tspn\n", encoding="utf-8")
    words = parse_transcript("{SL} [um] {LG} uh-huh <star>", load_lexicon(d))
    assert [w.pronunciations for w in words] == [[["sil"]], [["AH1", "M"]], [["spn"]], [["spn"]],
                                                 [["<star>"]]]
    bad = tmp_path / "bad.dict"
    bad.write_text("word\tAH spn\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"bad\.dict:1: 'spn' is not one of the model's phones"):
        read_user_dictionary(bad)


def test_markup_that_names_a_pause_is_a_pause_without_a_dictionary(lex):
    """`<sil>` was spoken noise and took 0.9 s of the words around it; markup naming a pause is
    read as MFA's `{SL}<TAB>sil` makes it. A dictionary entry still wins; other markup stays
    spoken noise."""
    words = parse_transcript("<sil> {SL} [pause] <SILENCE> [sp] [laughter] <unk> (pause)", lex)
    assert [w.pronunciations for w in words] == [[["sil"]]] * 5 + [[["spn"]]] * 2 + [[["sil"]]]


def test_markup_ids_only_where_asked():
    """Decoding maps markup to its ids; training (no `markup=True`) refuses it, so a training
    corpus skips such a transcript instead of learning phones for it."""
    assert phone_ids(["spn", "<star>", "sil", "AH1"], markup=True) == [SPN_ID, STAR_ID, SILENCE_ID, 4]
    with pytest.raises(ValueError, match="markup"):
        phone_ids(["spn"])


def test_training_leaves_out_transcripts_with_markup(tmp_path):
    from aligner.dataset import read_corpus

    for name, text in (("plain", "one two three"), ("noisy", "one [laughter] three")):
        shutil.copy(EXAMPLE_WAV, tmp_path / f"{name}.wav")
        (tmp_path / f"{name}.lab").write_text(text, encoding="utf-8")
    items, skipped = read_corpus(tmp_path, None, log=lambda line: None)
    assert [i.name for i in items] == ["plain"]
    assert len(skipped) == 1 and "noisy" in skipped[0] and "markup" in skipped[0]


# ------------------------------------------------------------------------------- the math

def test_targets_for_markup():
    t = build_targets([[10, 11], [SPN_ID], [STAR_ID], [12]], sil_mass=0.5)
    assert t.tokens.tolist() == [1, 10, 11, 1, SPN_ID, 1, STAR_ID, 1, 12, 1]
    # spoken noise may take no frames too: nothing may be heard where the transcript puts it
    assert t.optional.tolist() == [True, False, False, True, True, True, True, True, False, True]
    raw = torch.tensor([0.5, 1, 1, 0.5, SPN_MASS, 0.5, 0.5, 0.5, 1, 0.5], dtype=torch.float64)
    assert torch.allclose(t.beta, raw / raw.sum())
    states, first, last = expand_targets(t, 3)
    c = 2 + 39 * 3
    assert states.tokens[first[4]] == c and states.tokens[first[6]] == c + 1  # one token each
    assert (first == last)[[4, 6]].all() and states.optional[first[6]]
    assert state_ids(SPN_ID, 3) == [c] and state_ids(STAR_ID, 3) == [c + 1]
    assert state_ids(SPN_ID, 1) == [SPN_ID]


def test_a_silence_word_replaces_the_inserted_silences_around_it():
    """MFA's `{SL} sil`: the word is the pause, so no inserted silence competes for it."""
    t = build_targets([[10], [SILENCE_ID], [12], [SILENCE_ID]], sil_mass=0.5)
    assert t.tokens.tolist() == [1, 10, SILENCE_ID, 12, SILENCE_ID]
    assert t.word.tolist() == [-1, 0, 1, 2, 3]
    assert t.optional.tolist() == [True, False, True, False, True]
    raw = torch.tensor([0.5, 1, 0.5, 1, 0.5], dtype=torch.float64)
    assert torch.allclose(t.beta, raw / raw.sum())


def test_an_inserted_silence_beside_a_pause_word_costs_so_the_pause_word_takes_the_pause():
    """`IT <unk> {SL} BEAR`: the silence inserted before `<unk>` and `{SL}`'s own tied for the
    pause, and the first took it (`{SL}` got 12 ms). Inserted silences in the stretch of
    optional tokens that holds a pause word now cost PAUSE_WORD_PREFERENCE; others nothing."""
    from aligner.align import PAUSE_WORD_PREFERENCE, beside_pause_words, token_costs

    t = build_targets([[10], [SPN_ID], [SILENCE_ID], [12]], sil_mass=0.2)
    assert t.tokens.tolist() == [1, 10, 1, SPN_ID, 1, 12, 1]
    assert beside_pause_words(t.tokens, t.word, t.optional).tolist() == [
        False, False, True, False, False, False, False]
    cost = token_costs(t.tokens, t.word, [False] * 4, (), t.optional)
    assert cost.tolist() == [0, 0, PAUSE_WORD_PREFERENCE, 0, 0, 0, 0]
    plain = build_targets([[10], [SPN_ID], [12]], sil_mass=0.2)
    assert beside_pause_words(plain.tokens, plain.word, plain.optional) is None
    assert token_costs(plain.tokens, plain.word, [False] * 3, (), plain.optional) is None


def test_unheard_markup_beside_a_pause_word_takes_its_time_from_the_pause():
    """`word <unk> {SL}` where the words touch: the pause word's silence gives the sliver its
    10 ms, not the word's last phone."""
    from aligner.align import with_unheard
    from aligner.alignment import Interval
    from aligner.boundaries import UNHEARD

    phones = [Interval(0.3, 0.5, "AH1", 0.9), Interval(0.5, 0.9, "", None)]
    out, owner = with_unheard(phones, [0, 2], [(1, "spn", 1)], 1.0)
    assert [(p.start, p.end, p.label) for p in out] == [
        (0.3, 0.5, "AH1"), (0.5, 0.5 + UNHEARD, "spn"), (0.5 + UNHEARD, 0.9, "")]
    assert owner == [0, 1, 2]
    # `{SL} <unk> word`: the pause before it gives the time from its end
    before = [Interval(0.1, 0.5, "", None), Interval(0.5, 0.7, "B", 0.9)]
    out, owner = with_unheard(before, [0, 2], [(1, "spn", 1)], 1.0)
    assert [(p.start, p.end, p.label) for p in out] == [
        (0.1, 0.5 - UNHEARD, ""), (0.5 - UNHEARD, 0.5, "spn"), (0.5, 0.7, "B")]
    # before a pause word too short to give it, the phone before gives the time, as elsewhere
    short = [Interval(0.3, 0.5, "AH1", 0.9), Interval(0.5, 0.515, "", None)]
    out, _ = with_unheard(short, [0, 2], [(1, "spn", 1)], 1.0)
    assert out[0].end == 0.49 and out[1].start == 0.49 and out[2].start == 0.5


def test_markup_nothing_was_heard_for_goes_into_the_pause():
    """`with_unheard`: a sliver at the pause's start (the recording's first token), end (its
    last) or middle; where the words touch, the phone before gives the time."""
    from aligner.align import with_unheard
    from aligner.alignment import Interval
    from aligner.boundaries import UNHEARD

    phones = [Interval(0.3, 0.5, "AH1", 0.9), Interval(0.7, 0.9, "B", 0.9),
              Interval(0.9, 1.1, "IY1", 0.9)]
    out, owner = with_unheard(phones, [0, 2, 2], [(0, "spn", 0), (1, "spn", 1), (3, "", 3)], 1.5)
    assert [(p.start, p.end, p.label) for p in out] == [
        (0.0, UNHEARD, "spn"), (0.3, 0.5, "AH1"), (0.595, 0.605, "spn"), (0.7, 0.9, "B"),
        (0.9, 1.1, "IY1"), (1.49, 1.5, "")]
    assert owner == [0, 0, 1, 2, 2, 3]
    # eight with no room between two phones: 1 ms each at least, none of zero length
    tight = [Interval(0.0, 0.004, "AH0", 0.9), Interval(0.004, 0.5, "B", 0.9)]
    out, owner = with_unheard(tight, [0, 1], [(1, "spn", k) for k in range(1, 9)], 1.0)
    assert len(out) == 10 and all(p.end - p.start >= 0.001 - 1e-9 for p in out)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(out, out[1:])) and owner[-1] == 1
    out, owner = with_unheard(phones, [0, 1, 1], [(2, "spn", 1)], 1.5)
    assert [(p.start, p.end) for p in out] == [(0.3, 0.5), (0.7, 0.89), (0.89, 0.9), (0.9, 1.1)]
    assert owner == [0, 1, 1, 1]


def test_markup_scores_from_the_posteriors():
    torch.manual_seed(0)
    lp = torch.log_softmax(torch.randn(7, 2 + 39 * 3), dim=-1)
    out = with_markup_scores(lp)
    assert out.shape == (7, lp.shape[1] + 2) and torch.equal(out[:, :-2], lp)
    speech = torch.log(lp[:, 2:].exp().sum(-1))
    anything = torch.log(lp[:, 1:].exp().sum(-1))
    assert torch.allclose(out[:, -2], speech - SPN_PENALTY, atol=1e-5)
    assert torch.allclose(out[:, -1], anything - STAR_PENALTY, atol=1e-5)
    # the same scores whether computed on states or on phones
    on_phones = with_markup_scores(phone_log_probs(lp, 3))
    assert torch.allclose(on_phones[:, -2:], out[:, -2:], atol=1e-5)


def _noisy_log_probs() -> torch.Tensor:
    """30 frames: phone A (class 2) 0-9, speech that neither A nor B explains 10-19, phone B
    20-29."""
    lp = torch.full((30, 41), -8.0)
    lp[:10, 2] = -0.05
    lp[10:20, 4:] = math.log(1 / 37)  # speech, but no phone stands out, and neither A nor B
    lp[20:, 3] = -0.05
    return with_markup_scores(torch.log_softmax(lp, dim=-1))


def test_viterbi_gives_spoken_noise_and_star_what_no_word_explains():
    # the trade-off of the penalties (4.5 nats > ln 39): where the model is evenly unsure of
    # every phone, the transcript's own among them, markup takes no frame; where it hears
    # neither of the words' phones, it takes them all (below)
    even = torch.full((30, 41), -8.0)
    even[:10, 2], even[20:, 3], even[10:20, 2:] = -0.05, -0.05, math.log(1 / 39)
    even = with_markup_scores(torch.log_softmax(even, dim=-1))
    t = build_targets([[2], [SPN_ID], [3]])
    spans = align_viterbi(even, t.tokens, optional=t.optional)
    j = t.tokens.tolist().index(SPN_ID)
    assert float(spans.end[j] - spans.start[j]) == 0.0
    lp = _noisy_log_probs()
    for middle, optional in ((SPN_ID, False), (STAR_ID, True)):
        t = build_targets([[2], [middle], [3]])
        spans = align_viterbi(lp, t.tokens, optional=t.optional)
        frames = torch.round(spans.start / 0.01).long().tolist(), torch.round(spans.end / 0.01).long().tolist()
        j = t.tokens.tolist().index(middle)
        assert (frames[0][j], frames[1][j]) == (10, 20)
    # nothing unexplained: neither takes a frame (spoken noise gets a sliver later, in the
    # pause: `with_unheard`)
    clean = with_markup_scores(torch.log_softmax(torch.where(torch.arange(41) == 2, -0.05, -8.0)
                                                 .repeat(20, 1), dim=-1))
    t = build_targets([[2], [STAR_ID], [2]])
    spans = align_viterbi(clean, t.tokens, optional=t.optional)
    assert float(spans.end[3] - spans.start[3]) == 0.0
    t = build_targets([[2], [SPN_ID], [2]])
    spans = align_viterbi(clean, t.tokens, optional=t.optional)
    assert float(spans.end[3] - spans.start[3]) == 0.0


def test_fit_markup_mass_gives_ot_the_frames_viterbi_found():
    lp = _noisy_log_probs()
    alpha = torch.full((30,), 1 / 30, dtype=torch.float64)
    t = build_targets([[2], [STAR_ID], [3]])  # sil A sil <star> sil B sil
    first = torch.tensor([0, 0, 10, 10, 20, 20, 30])
    end = torch.tensor([0, 10, 10, 20, 20, 30, 30])
    markup = t.tokens == STAR_ID
    beta = fit_markup_mass(t.beta, markup, alpha, first, end)
    assert float(beta.sum()) == pytest.approx(1.0) and float(beta[3]) == pytest.approx(1 / 3)
    spans = align_ot(alpha, lp, t.tokens, beta)
    assert float(spans.start[3]) == pytest.approx(0.10, abs=0.011)
    assert float(spans.end[3]) == pytest.approx(0.20, abs=0.011)
    # a wildcard Viterbi gave no frame gets no mass
    empty = fit_markup_mass(t.beta, markup, alpha, first, torch.where(markup, first, end))
    assert float(empty[3]) == 0.0 and float(empty.sum()) == pytest.approx(1.0)


# ------------------------------------------------------------------------------- alignment

def _labels(tier):
    return [iv.label for iv in tier if iv.label]


@pytest.mark.parametrize("method", ["viterbi", "ot"])
def test_markup_on_the_tiers_and_in_the_outputs(aligner, tmp_path, method):
    """Words tier: the token as typed; phones tier: `spn`; no confidence, so the
    transcript-mismatch average and the low-confidence flags see only real words."""
    text = "[laughter] The passwords <unk> entered and re-entered {LG} did not match."
    a = aligner.align(EXAMPLE_WAV, text, method=method)
    words = [w for w in a.words if w.label]
    assert _labels(a.words)[:4] == ["[laughter]", "The", "passwords", "<unk>"]
    noise = {w.label: w for w in words if w.label[0] in "[<{"}
    assert set(noise) == {"[laughter]", "<unk>", "{LG}"}
    assert all(w.confidence is None for w in noise.values())
    assert all(w.confidence is not None for w in words if w.label not in noise)
    spn = [p for p in a.phones if p.label == "spn"]
    assert len(spn) == 3 and all(p.confidence is None for p in spn)
    for w in noise.values():  # each markup word is exactly its one spn phone
        assert [(p.start, p.end) for p in spn if w.start <= p.start < w.end] == [(w.start, w.end)]
    assert not any("[laughter]" in f or "<unk>" in f for f in find_flags(a))
    from aligner.formats import write_json, write_textgrid

    (j,) = read_json(write_json(a, tmp_path / "a.json"))
    (tg,) = read_textgrid(write_textgrid(a, tmp_path / "a.TextGrid"))
    for back in (j, tg):
        assert _labels(back.words) == _labels(a.words) and "spn" in _labels(back.phones)


def test_other_markup_is_spoken_noise_on_the_tiers(aligner, tmp_path):
    """`(inaudible)`, MFA's `<cutoff-x>` and `<hes-x>`: each its own interval on the words tier,
    as typed, over one `spn` phone, never phones spelled from its letters; the real words
    around keep theirs."""
    text = "The passwords (inaudible) entered and <cutoff-montreal> re-entered <hes-forced> did not match"
    a = aligner.align(EXAMPLE_WAV, text)
    labels = _labels(a.words)
    for token in ("(inaudible)", "<cutoff-montreal>", "<hes-forced>"):
        (w,) = [w for w in a.words if w.label == token]
        inside = [p for p in a.phones if p.label and w.start <= p.start < w.end]
        assert [(p.label, p.start, p.end) for p in inside] == [("spn", w.start, w.end)], token
        assert w.confidence is None
    assert labels[:2] == ["The", "passwords"] and labels[-3:] == ["did", "not", "match"]
    from aligner.formats import write_json

    (back,) = read_json(write_json(a, tmp_path / "a.json"))
    assert _labels(back.words) == labels


@pytest.mark.parametrize("method", ["viterbi", "ot"])
def test_markup_in_a_long_recording(aligner, monkeypatch, method):
    """The anchored long decoders take markup too (the wildcard is an optional token there)."""
    import aligner.decode as decode

    monkeypatch.setattr(decode, "LONG_FRAMES", 150)
    wave = speechlike(4.0)
    a = aligner.align(wave, "one [noise] two <star> three four five <unk> six", sample_rate=16000,
                      method=method)
    labels = _labels(a.words)
    assert [w for w in labels if w != "<star>"] == ["one", "[noise]", "two", "three", "four",
                                                     "five", "<unk>", "six"]
    for tier in (a.words, a.phones):
        assert tier[0].start == 0 and tier[-1].end == pytest.approx(4.0, abs=1e-3)
        assert all(x.end == y.start and x.start < x.end for x, y in zip(tier, tier[1:]))


@pytest.fixture(scope="module")
def shipped():
    aligner = Aligner.load(device="cpu")
    wave, _ = aligner.load_waveform(EXAMPLE_WAV)
    return aligner, wave, aligner.encode(wave)


def _words(shipped, text: str, method: str):
    aligner, wave, encoded = shipped
    (a,) = aligner.align_waveform(wave, [Segment(text, "<t>")], method, encoded=encoded)
    return [w for w in a.words if w.label]


def _joined(prepared, first: int):
    """`prepared` with words `first` and `first + 1` made one word, a reading of two words
    with the optional pause between them that the text front end puts there ("7399")."""
    from aligner.text.frontend import PreparedText, Word

    words, phones = list(prepared.words), list(prepared.phones)
    said = phones[first] + ["sil"] + phones[first + 1]
    words[first: first + 2] = [Word(f"{words[first].text}-{words[first + 1].text}", [said],
                                    False, [])]
    phones[first: first + 2] = [said]
    return PreparedText(words, phones, {})


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_a_pause_between_a_readings_words_is_silence_inside_the_word(shipped):
    """A reading of several words ("7399": seven three nine nine) may pause between them: the
    pause is silence inside the word (written "", as pauses are), not its phones'; where there
    is none, nothing marks it (no 10 ms sliver) and the phones are where two words put them.
    The boundary network moves the edges of a pause inside a word, as of any phone, and leaves
    those of the gaps between words: without it the pause is the gap, with it the gap give or
    take its moves (13 ms here)."""
    aligner, _, encoded = shipped
    assert not aligner.pauses_in_words  # the words as a reading's words are: no phone pauses
    prepared = prepare_text(EXAMPLE_TXT.read_text(), aligner.lexicon)  # no sentence gaps:
    plain = aligner.decode(encoded, prepared)  # "match" and "Please" made one word below
    names = [w.text for w in prepared.words]
    shipped_setting = aligner.place_boundaries
    for net, moves in ((False, 0.011), (True, 0.02)):
        aligner.place_boundaries = net
        try:
            unjoined = aligner.decode(encoded, prepared)
            paused = aligner.decode(encoded, _joined(prepared, names.index("match")))
        finally:
            aligner.place_boundaries = shipped_setting
        word = next(w for w in paused.words if w.label == "match-Please")
        inner = [p for p in paused.phones if word.start < p.start < word.end and not p.label]
        gap = next(b.start - a.end for a, b in zip(unjoined.words, unjoined.words[1:])
                   if a.label == "match")
        assert len(inner) == 1
        assert inner[0].end - inner[0].start == pytest.approx(gap, abs=moves), net
    fluent = aligner.decode(encoded, _joined(prepared, names.index("did")))  # "did not"
    assert [(p.start, p.end, p.label) for p in fluent.phones] == [
        (p.start, p.end, p.label) for p in plain.phones]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
@pytest.mark.parametrize("method", ["viterbi", "ot"])
def test_star_keeps_the_neighbours_of_a_left_out_word_in_place(shipped, method):
    """Each interior word of the example left out in turn, with and without `<star>` in its
    place: the neighbours' boundaries (end of the word before, start of the word after) drift
    from the full transcript's alignment by far less with `<star>`; and a `<star>` where
    nothing is missing barely moves anything. Measured (shipped model, session 10): viterbi
    drift 2.36 s summed over the 10 cases without, 0.50 s with; ot 3.65 s vs 0.63 s; a
    needless `<star>` 0.15 / 0.43 s."""
    toks = EXAMPLE_TXT.read_text().split()
    full = _words(shipped, " ".join(toks), method)
    drift = {"left out": 0.0, "<star>": 0.0, "needless <star>": 0.0}
    for i in range(1, len(toks) - 1):
        for key, text in (("left out", toks[:i] + toks[i + 1:]),
                          ("<star>", toks[:i] + ["<star>"] + toks[i + 1:])):
            ws = [w for w in _words(shipped, " ".join(text), method) if w.label != "<star>"]
            drift[key] += abs(ws[i - 1].end - full[i - 1].end) + abs(ws[i].start - full[i + 1].start)
        ws = [w for w in _words(shipped, " ".join(toks[:i] + ["<star>"] + toks[i:]), method)
              if w.label != "<star>"]
        drift["needless <star>"] += abs(ws[i - 1].end - full[i - 1].end) + abs(ws[i].start - full[i].start)
    assert drift["<star>"] < 0.5 * drift["left out"], drift
    assert drift["needless <star>"] < 0.25 * drift["left out"], drift


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_a_wildcard_that_takes_no_time_leaves_no_interval(shipped):
    """`<star>` between two words said without a pause: no interval, the words as before."""
    text = EXAMPLE_TXT.read_text()
    plain = _words(shipped, text, "viterbi")
    starred = _words(shipped, text.replace("you entered", "you <star> entered"), "viterbi")
    assert [w.label for w in starred] == [w.label for w in plain]
    # exactly: the pause may fall to either silence around the empty wildcard, and the two are
    # one pause to `decode.refine_boundaries` (a one-frame one kept its edges on the frame grid)
    assert [(a.start, a.end) for a in starred] == [(b.start, b.end) for b in plain]


def test_markup_with_nothing_heard_leaves_the_words_where_they_were(shipped):
    """A `{LG}` before the first word and a `[noise]` in the pause between "you" and "entered",
    where the example has neither: each gets a one-frame interval in the silence, and no word
    loses its edge to it (it used to take the neighbour's first or last frame)."""
    from aligner.boundaries import UNHEARD

    text = EXAMPLE_TXT.read_text()
    plain = _words(shipped, text, "viterbi")
    marked = _words(shipped, "{LG} " + text.replace("you entered", "you [noise] entered"), "viterbi")
    noise = {w.label: w for w in marked if w.label in ("{LG}", "[noise]")}
    assert (noise["{LG}"].start, noise["{LG}"].end) == (0.0, UNHEARD)
    you, entered = next(w for w in plain if w.label == "you"), next(w for w in plain if w.label == "entered")
    assert you.end < noise["[noise]"].start < noise["[noise]"].end < entered.start
    assert noise["[noise]"].end - noise["[noise]"].start == pytest.approx(UNHEARD)
    rest = [w for w in marked if w.label not in noise]
    assert [w.label for w in rest] == [w.label for w in plain]
    for a, b in zip(rest, plain):  # within a frame: an empty token leaves a tie between silences
        assert a.start == pytest.approx(b.start, abs=0.01) and a.end == pytest.approx(b.end, abs=0.01)


def test_a_dictionary_silence_word_covers_the_pause(tmp_path):
    """`{SL} sil` in a user dictionary: the word spans the whole pause between its neighbours,
    and its phone is silence (written "", as pauses are)."""
    d = tmp_path / "sl.dict"
    d.write_text("{SL}\tsil\n", encoding="utf-8")
    aligner = Aligner.load(device="cpu", dictionary=d)
    text = EXAMPLE_TXT.read_text()
    plain = [w for w in aligner.align(EXAMPLE_WAV, text).words if w.label]
    a = aligner.align(EXAMPLE_WAV, text.replace("you entered", "you {SL} entered"))
    words = [w for w in a.words if w.label]
    i = [w.label for w in words].index("{SL}")
    assert words[i - 1].label == "you" and words[i + 1].label == "entered"
    assert words[i].start == words[i - 1].end and words[i].end == words[i + 1].start
    # the words around it end and start where they do without it: its silence's edges are a
    # pause's, which the boundary network leaves alone (moved, 'you' ended 5 ms later)
    k = [w.label for w in plain].index("you")
    assert (words[i - 1].end, words[i + 1].start) == (plain[k].end, plain[k + 1].start)
    assert [p.label for p in a.phones if words[i].start <= p.start < words[i].end] == [""]
    assert words[i].confidence is None  # a pause is no speech to doubt: no flag of its own
    assert not [f for f in a.flags if "{SL}" in f]


def test_a_pause_word_beside_unheard_markup_still_covers_the_pause():
    """`you <unk> {SL} entered`: `{SL}` holds the pause between its words, not 12 ms of it
    after a pause left outside every word; the unheard `<unk>` is a sliver at its side."""
    aligner = Aligner.load(device="cpu")
    text = EXAMPLE_TXT.read_text()
    plain = [w for w in aligner.align(EXAMPLE_WAV, text).words if w.label]
    gap = next(b.start - x.end for x, b in zip(plain, plain[1:]) if x.label == "you")
    a = aligner.align(EXAMPLE_WAV, text.replace("you entered", "you <unk> {SL} entered"))
    words = [w for w in a.words if w.label]
    i = [w.label for w in words].index("{SL}")
    assert [w.label for w in words[i - 2:i + 2]] == ["you", "<unk>", "{SL}", "entered"]
    assert words[i - 2].end == words[i - 1].start and words[i - 1].end == words[i].start
    assert words[i].end == words[i + 1].start
    assert words[i - 1].end - words[i - 1].start <= 0.011  # nothing was heard for `<unk>`
    assert words[i].end - words[i].start >= gap - 0.021
    # the words around end and start where they do around `{SL}` alone: the sliver's 10 ms
    # come out of the pause (review 127: a transcript's last word lost 40-110 ms)
    alone = [w for w in aligner.align(EXAMPLE_WAV, text.replace("you entered", "you {SL} entered"))
             .words if w.label]
    j = [w.label for w in alone].index("{SL}")
    assert (words[i - 2].end, words[i + 1].start) == (alone[j - 1].end, alone[j + 1].start)


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_a_sentence_left_out_of_a_long_transcript_is_flagged_and_moves_no_word(shipped):
    """Review 123: a sentence missing from a long recording's transcript pulled the next
    sentence's words onto its speech (here 'Please' 1.9 s early) with no flag `--strict`
    refuses. The sentence gaps take that speech: the words stay where they are said, and it
    is `untranscribed_speech`. The example said twice, the second time's first sentence left
    out of the transcript."""
    import numpy as np

    from aligner.checks import STRICT_KINDS, flag_kind, refusing_flags

    aligner, wave, encoded = shipped
    text = EXAMPLE_TXT.read_text().strip()
    (once,) = aligner.align_waveform(wave, [Segment(text, "<t>")], encoded=encoded)
    said = [w for w in once.words if w.label][-3:]  # "Please try again"
    two, offset = np.concatenate([wave, wave]), len(wave) / aligner.sample_rate
    for gaps in (True, False):
        aligner.sentence_gaps = gaps
        try:
            (a,) = aligner.align_waveform(two, [Segment(text + "\nPlease try again.", "<t>")])
        finally:
            aligner.sentence_gaps = True
        last = [w for w in a.words if w.label][-3:]
        moved = max(abs(w.start - offset - s.start) for w, s in zip(last, said))
        gap = [f for f in refusing_flags(a.flags, STRICT_KINDS)
               if flag_kind(f) == "untranscribed_speech"]
        if gaps:
            assert moved < 0.02  # and the gaps are no words:
            assert len([w for w in a.words if w.label]) == len(text.split()) + 3
            (flag,) = gap  # the first sentence of the second reading, 0.07-3.3 s into it
            assert flag.start < offset + 0.7 and flag.end > offset + 3.0, flag
        else:  # without them, as before: the words pulled back
            assert moved > 1.0


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
@pytest.mark.parametrize("where", ["end", "start"])
def test_a_word_nobody_said_is_judged_beside_a_sentence_gap(shipped, where):
    """Review 124: a sentence gap counted as markup, a wall `word_evidence` judges no word
    beside, so a sentence's first and last words went unjudged: 'elephant' typed at the end
    of the example's second sentence was flagged `unsaid_word` without gaps (60 nats), not with
    them; at the start of the first, the same."""
    from aligner.checks import flag_kind

    aligner, wave, encoded = shipped
    text = EXAMPLE_TXT.read_text().strip()
    text = text[:-1] + " elephant." if where == "end" else "Elephant " + text[0].lower() + text[1:]
    (a,) = aligner.align_waveform(wave, [Segment(text, "<t>")], encoded=encoded)
    assert [f.label.lower() for f in a.flags if flag_kind(f) == "unsaid_word"] == ["elephant"]


@pytest.mark.parametrize("pause", ["{SL}", "<sil>", "[pause]"])
def test_a_pause_word_typed_over_speech_leaves_it_outside_the_words(pause):
    """Review 120: a transcript of only `{SL}`, `<sil>` or `[pause]` over 4.7 s of speech was
    aligned as one pause with no flag: a pause word counted as covering the speech under it."""
    from aligner.checks import flag_kind

    a = Aligner.load(device="cpu").align(EXAMPLE_WAV, pause)
    (flag,) = [f for f in a.flags if flag_kind(f) == "untranscribed_speech"]
    assert flag.end - flag.start > 3.0  # the sentence, 0.07-4.51 s


# ------------------------------------------------------------------------------- validate

def test_validate_exports_a_dictionary_that_round_trips(tmp_path):
    """validate lists the unknown words, writes their generated pronunciations as an MFA
    dictionary; after editing, --dictionary uses the edits and nothing is unknown any more."""
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(EXAMPLE_WAV, root / "a.wav")
    (root / "a.lab").write_text("The zorblax said [laughter] COVID-19 is Glorptastic's", encoding="utf-8")
    user = tmp_path / "mine.dict"
    user.write_text("the\tDH AH0\n", encoding="utf-8")
    out = tmp_path / "out.dict"
    result = runner.invoke(app, ["validate", str(root), "--dictionary", str(user),
                                 "--export-dictionary", str(out)])
    assert result.exit_code == 0, result.output
    assert "zorblax" in result.stdout and "[laughter]" not in result.stdout
    lines = out.read_text(encoding="utf-8").splitlines()
    entries = dict(line.split("\t") for line in lines)
    assert lines[0] == "the\tDH AH0"  # the --dictionary's own entries come first
    assert set(entries) == {"the", "zorblax", "covid", "glorptastic's"}  # what lookups use
    assert all(len(line.split("\t")) == 2 for line in lines)
    entries["zorblax"] = "Z AO1 R B L AE0 K S"  # the user's correction
    write_user_dictionary(out, {w: [p.split()] for w, p in entries.items()})
    again = runner.invoke(app, ["validate", str(root), "--dictionary", str(out)])
    assert again.exit_code == 0 and "zorblax" not in again.stdout, again.output
    words = parse_transcript((root / "a.lab").read_text(), load_lexicon(out))
    assert words[1].pronunciations == [["Z", "AO1", "R", "B", "L", "AE0", "K", "S"]]
    assert not any(w.unknown for w in words)
    aligned = runner.invoke(app, [str(root / "a.wav"), str(root / "a.lab"), "--dictionary", str(out),
                                  "-o", str(tmp_path / "a.json")])
    assert aligned.exit_code == 0 and "unknown word" not in aligned.output, aligned.output
    (a,) = read_json(tmp_path / "a.json")
    (zorblax,) = [w for w in a.words if w.label == "zorblax"]
    assert [p.label for p in a.phones if zorblax.start <= p.start < zorblax.end] == [
        "Z", "AO1", "R", "B", "L", "AE0", "K", "S"]


def test_generated_pronunciations_are_keyed_by_spoken_word(lex):
    words = parse_transcript("Blorfing COVID-19 cats", lex)
    generated = generated_pronunciations(words, lex)
    assert set(generated) == {"blorfing", "covid"}
    assert generated["covid"] == lex.pronounce("covid")[0]


def test_export_to_an_unwritable_place_is_a_usage_error(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(EXAMPLE_WAV, root / "a.wav")
    (root / "a.lab").write_text("zorblax", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["validate", str(root), "--export-dictionary",
                                 str(blocker / "out.dict")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(blocker) in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text,expected", [
    ("b- b- bye", [("b-", [["spn"]]), ("b-", [["spn"]]), ("bye", [["B", "AY1"]])]),
    ("I w- went", [("I", [["AY1"]]), ("w-", [["spn"]]), ("went", [["W", "EH1", "N", "T"]])]),
    ("th- that", [("th-", [["spn"]]), ("that", [["DH", "AE1", "T"], ["DH", "AH0", "T"]])]),
    ("w-, went", [("w-", [["spn"]]), ("went", [["W", "EH1", "N", "T"]])]),
    ("the b-b-bell", [("the", [["DH", "AH0"], ["DH", "AH1"], ["DH", "IY0"]]), ("b-", [["spn"]]),
                      ("b-", [["spn"]]), ("bell", [["B", "EH1", "L"]])]),
    ("th-that", [("th-", [["spn"]]), ("that", [["DH", "AE1", "T"], ["DH", "AH0", "T"]])]),
    ("c-can't", [("c-", [["spn"]]), ("can't", [["K", "AE1", "N", "T"]])]),
    ("I w— went", [("I", [["AY1"]]), ("w—", [["spn"]]), ("went", [["W", "EH1", "N", "T"]])]),
    ("I w-- went", [("I", [["AY1"]]), ("w--", [["spn"]]), ("went", [["W", "EH1", "N", "T"]])]),
    ("th— that", [("th—", [["spn"]]), ("that", [["DH", "AE1", "T"], ["DH", "AH0", "T"]])]),
])
def test_a_word_broken_off_with_a_hyphen_is_a_cutoff(text, expected, lex):
    """A stutter or self-correction written as the start of a word and a hyphen (or a dash, as
    novels and subtitles write it) is spoken noise with its label kept, like `<cutoff-x>`: "w-"
    and "w—" were the letter's name, D AH1 B AH0 L Y UW0."""
    assert [(w.text, w.pronunciations) for w in parse_transcript(text, lex)] == expected


def test_a_dash_after_a_word_is_punctuation(lex):
    """Only lower-case letters that cannot be a word said in full are broken off before a dash:
    "I—", "BBC—", "hmm—" were spoken noise in the first version of the rule."""
    for text in ("Nguyen— the director said—then left", "I—I don't know", "a—a thing",
                 "the BBC—which", "hmm—let me think", "Plan B—the backup", "an A– grade"):
        words = parse_transcript(text, lex)
        assert all(w.pronunciations != [["spn"]] for w in words), text
        assert all("—" not in w.text and "–" not in w.text for w in words), text


@pytest.mark.parametrize("text", ["re-read", "bye-bye", "t-shirt", "x-ray", "so-so", "'Berlin'",
                                  "'sin'"])
def test_hyphenated_words_are_not_taken_for_stutters(text, lex):
    """A start glued to a word is a cutoff only when it is one letter, not a word, or has no
    vowel, and is a shorter start of the word: these are words, said in full."""
    words = parse_transcript(text, lex)
    assert all(w.pronunciations != [["spn"]] and "'" not in w.text for w in words)


def test_a_dictionary_entry_keeps_a_letter_compound_whole(tmp_path):
    """"D-Day" reads as a cutoff and "Day" (a stutter's shape); a --dictionary entry for the
    whole token keeps it one word."""
    user = tmp_path / "user.dict"
    user.write_text("d-day\tD IY1 D EY1\n", encoding="utf-8")
    assert [w.text for w in parse_transcript("D-Day", load_lexicon())] == ["D-", "Day"]
    words = parse_transcript("D-Day", load_lexicon(user))
    assert [(w.text, w.pronunciations) for w in words] == [("D-Day", [["D", "IY1", "D", "EY1"]])]


def test_a_suspended_hyphen_after_a_word_keeps_the_word(lex):
    """"pre- and post-war": the letters before the hyphen are a word with a vowel, said in full;
    the words tier shows it as typed, hyphen and all."""
    words = parse_transcript("pre- and post-war", lex)
    assert [w.text for w in words] == ["pre-", "and", "post-war"] and words[0].pronunciations
