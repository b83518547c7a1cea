"""aligner/word_evidence.py: whether a doubtful word was said, from the best path's score with it
and without it; the `unsaid_word` flag it feeds; and, with the shipped model, a word nobody said
put into the example's transcript."""

from __future__ import annotations

import pytest
import torch

from aligner.alignment import Alignment, Evidence, Interval
from aligner.checks import Thresholds, find_flags
from aligner.word_evidence import word_edges, word_evidence
from conftest import EXAMPLE_TXT, EXAMPLE_WAV

SHIPPED = EXAMPLE_WAV.parent.parent / "models" / "english" / "model.safetensors"
SIL = 1


def _planted(frames: list[int], classes: int = 8, sure: float = 0.96) -> torch.Tensor:
    """[T, C] log-probs where frame t is class frames[t] with probability `sure`."""
    p = torch.full((len(frames), classes), (1 - sure) / (classes - 1))
    p[torch.arange(len(frames)), torch.tensor(frames)] = sure
    return p.log()


def _sequence(words: list[list[int]]):
    """`sil w1 sil w2 ... sil` as (tokens, word, optional), one token per phone."""
    tokens, owner, optional = [SIL], [-1], [True]
    for k, phones in enumerate(words):
        tokens += phones
        owner += [k] * len(phones)
        optional += [False] * len(phones)
        tokens.append(SIL)
        owner.append(-1)
        optional.append(True)
    return torch.tensor(tokens), torch.tensor(owner), torch.tensor(optional)


def test_a_word_that_was_said_costs_to_leave_out_and_one_that_was_not_gains():
    """The audio holds classes 2, 3, 5 (10 frames each); the transcript says 2, 4, 3, 5. Word 1
    (class 4) takes one frame from a neighbour, where the frame fits that neighbour: leaving it
    out gains log(0.96 / r), r = 0.04 / 7 the probability of any other class. Leaving out word 2
    (class 3) gives its 9 frames to a word they do not fit: a loss of 9 log(0.96 / r)."""
    import math

    lp = _planted([2] * 10 + [3] * 10 + [5] * 10).double()
    tokens, owner, optional = _sequence([[2], [4], [3], [5]])
    edges = [(0, 10), (10, 11), (11, 20), (20, 30)]
    nats = word_evidence(lp, tokens, owner, optional, edges, [0, 1, 2, 3])
    odds = math.log(0.96 / (0.04 / 7))
    assert nats[1] == pytest.approx(-odds, rel=1e-4)
    assert nats[2] == pytest.approx(9 * odds, rel=1e-4)
    assert nats[0] > 5 * odds and nats[3] > 5 * odds


def test_a_said_word_beside_an_unsaid_one_is_judged_with_that_one_left_out():
    """The audio holds 2 then 5; the transcript says [2] [7 5] [8]: the middle word was not
    said, and the last was said a little unlike its phone (class 8 fits the 5-frames 0.5 nats
    worse than 5). Judged alone, the last word seems unsaid, since the middle word's 5 covers
    its frames better; judged after the middle word (the greater gain) is left out, it must
    explain its own frames, and was said."""
    lp = _planted([2] * 10 + [5] * 10, classes=10).double()
    lp[:, 8] = lp[:, 5] - 0.5
    tokens, owner, optional = _sequence([[2], [7, 5], [8]])
    edges = [(0, 10), (10, 19), (19, 20)]
    assert word_evidence(lp, tokens, owner, optional, edges, [2])[2] < 0  # alone
    nats = word_evidence(lp, tokens, owner, optional, edges, [1, 2])
    assert nats[1] < 0 and nats[1] < word_evidence(lp, tokens, owner, optional, edges, [2])[2]
    assert nats[2] > 40


def test_markup_is_a_wall_the_stretch_stops_at_and_its_neighbours_are_not_judged():
    """A wildcard (class 9 here, as likely as the likeliest class at every frame) takes any
    sound: within reach of it, a word that was said would seem unsaid. With the wildcard's word
    as a wall, the word's frames can go only to the words on this side of it: it was said. The
    word beside the wildcard, and the wildcard itself, are not judged."""
    lp = _planted([2] * 10 + [3] * 10 + [5] * 10, classes=10).double()
    lp[:, 9] = lp.max(dim=1).values
    tokens, owner, optional = _sequence([[2], [3], [5], [9]])
    optional[owner == 3] = True
    edges = [(0, 10), (10, 20), (20, 29), (29, 30)]
    assert word_evidence(lp, tokens, owner, optional, edges, [1])[1] < 10  # one frame's odds
    walled = word_evidence(lp, tokens, owner, optional, edges, [1, 2, 3], walls={3})
    assert walled[1] > 40 and set(walled) == {1}


def test_words_are_judged_only_with_frames_and_a_neighbour():
    """No edges (the word took no time), a word out of range, or a one-word transcript (there is
    nothing to give its frames to): not judged, rather than a made-up number."""
    lp = _planted([2] * 10 + [3] * 10)
    tokens, owner, optional = _sequence([[2], [3]])
    assert word_evidence(lp, tokens, owner, optional, [(0, 10), None], [0, 1, 5]) == {}
    one_tokens, one_owner, one_optional = _sequence([[2]])
    assert word_evidence(lp[:10], one_tokens, one_owner, one_optional, [(0, 10)], [0]) == {}


def test_word_edges_span_each_words_tokens_on_the_frame_grid():
    starts, ends = [0.0, 0.1, 0.25, 0.25, 0.4], [0.1, 0.25, 0.25, 0.4, 0.5]
    owner = [-1, 0, 1, 2, 2]  # word 1 took no time
    assert word_edges(starts, ends, owner, 3, 0.01) == [(10, 25), None, (25, 50)]


def test_evidence_takes_the_times_of_its_word_as_written_out():
    """Decoding's words are moved afterwards (a word end carried over its fading voice): the
    evidence follows its word, the one of its label it overlaps, not another 'the' nearby."""
    from aligner.word_evidence import on_words

    words = [Interval(0.0, 0.3, "the"), Interval(0.3, 0.35, ""), Interval(0.35, 0.9, "purple"),
             Interval(0.9, 1.2, "the")]
    moved = on_words([Evidence(0.4, 0.8, "purple", -30.0), Evidence(0.95, 1.1, "the", -25.0),
                      Evidence(2.0, 2.1, "gone", -20.0)], words)
    assert moved == [Evidence(0.35, 0.9, "purple", -30.0), Evidence(0.9, 1.2, "the", -25.0),
                     Evidence(2.0, 2.1, "gone", -20.0)]  # no such word: left as it was


def _one_word_alignment(nats: float) -> Alignment:
    word = Interval(0.5, 0.6, "cat", 0.001)
    others = [Interval(0.0, 0.5, "the", 0.9), Interval(0.6, 1.0, "sat", 0.9)]
    words = [others[0], word, others[1]]
    phones = [Interval(w.start, w.end, "AH0", w.confidence) for w in words]
    return Alignment(words, phones, 1.0, word_evidence=[Evidence(0.5, 0.6, "cat", nats)])


def test_unsaid_word_is_flagged_beyond_the_limit_and_the_limit_can_be_set():
    limit = Thresholds().max_unsaid_gain
    flagged = [f for f in find_flags(_one_word_alignment(-(limit + 1))) if f.kind == "unsaid_word"]
    assert [(f.label, f.start, f.end) for f in flagged] == [("cat", 0.5, 0.6)]
    assert f"{limit + 1:.0f} nats" in flagged[0]
    assert "unsaid_word" not in [f.kind for f in find_flags(_one_word_alignment(-(limit - 1)))]
    looser = Thresholds(max_unsaid_gain=limit + 5)
    assert "unsaid_word" not in [f.kind for f in find_flags(_one_word_alignment(-(limit + 1)),
                                                            looser)]


def test_evidence_travels_with_a_shifted_and_merged_alignment():
    """A TextGrid's intervals are aligned one by one, shifted to their place and merged: the
    evidence must keep pointing at its word."""
    from aligner.align import _merge, _shift

    a = _shift(_one_word_alignment(-50.0), 2.0)
    assert a.word_evidence == [Evidence(2.5, 2.6, "cat", -50.0)]
    merged = _merge([_one_word_alignment(-50.0), a], 4.0, None)
    assert [e.start for e in merged.word_evidence] == [0.5, 2.5]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model in models/english")
def test_a_word_nobody_said_is_flagged_on_the_shipped_model():
    """'elephant' put into the example's transcript is flagged `unsaid_word`, and only it, at
    two places; the example as it is carries no such flag."""
    from aligner.align import Aligner

    aligner = Aligner.load(device="cpu")
    text = EXAMPLE_TXT.read_text()
    assert "unsaid_word" not in [f.kind for f in aligner.align(EXAMPLE_WAV, text).flags]
    for where in ("you ", "try "):  # before its last word too: 'again' was flagged beside it
        added = aligner.align(EXAMPLE_WAV, text.replace(where, where + "elephant ", 1))
        flagged = [f for f in added.flags if f.kind == "unsaid_word"]
        assert [f.label for f in flagged] == ["elephant"]
        assert (flagged[0].start, flagged[0].end) in [(w.start, w.end) for w in added.words
                                                      if w.label == "elephant"]
