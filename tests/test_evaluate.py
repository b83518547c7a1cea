"""Evaluation metrics on hand-made alignments whose answers are worked out by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aligner.alignment import Alignment, Interval
from aligner.evaluate import (
    EvaluationError,
    boundary_offsets,
    boundary_times,
    edit_counts,
    evaluate_paths,
    f1_from_counts,
    idr_values,
    load_alignments,
    match_boundaries,
    pair_tokens,
    score_utterance,
    share_within,
    silence_frames,
    summarise,
    write_scores,
)
from aligner.phone_folding import FoldingError, load_folding


def iv(start: float, end: float, label: str) -> Interval:
    return Interval(start, end, label)


# ----------------------------------------------------------------------------- pairing
def test_pairing_counts_substitution_deletion_insertion():
    gold = [iv(0, 1, "A"), iv(1, 2, "B"), iv(2, 3, "C"), iv(3, 4, "D")]
    hyp = [iv(0, 1, "A"), iv(1, 2, "X"), iv(2, 3, "C"), iv(3, 3.5, "D"), iv(3.5, 4, "E")]
    pairs = pair_tokens(gold, hyp)
    counts = edit_counts(gold, hyp, pairs)
    assert (counts.matched, counts.substituted, counts.deleted, counts.inserted) == (3, 1, 0, 1)
    assert counts.error_rate == pytest.approx(2 / 4)
    assert (None, 4) in pairs and (1, 1) in pairs


def test_pairing_uses_time_to_choose_among_repeated_labels():
    gold = [iv(0, 1, "A"), iv(1, 2, "B"), iv(2, 3, "A")]
    hyp = [iv(2.1, 3, "A")]
    assert pair_tokens(gold, hyp) == [(0, None), (1, None), (2, 0)]
    hyp_early = [iv(0, 0.9, "A")]
    assert pair_tokens(gold, hyp_early) == [(0, 0), (1, None), (2, None)]


def test_long_sequences_pair_blockwise_with_same_result():
    rng = np.random.default_rng(0)
    labels = rng.choice(list("ABCDEFG"), size=1500)
    gold = [iv(i * 0.1, (i + 1) * 0.1, str(lab)) for i, lab in enumerate(labels)]
    hyp = [iv(i * 0.1 + 0.005, (i + 1) * 0.1 + 0.005, str(lab)) for i, lab in enumerate(labels)]
    pairs = pair_tokens(gold, hyp)
    assert pairs == [(i, i) for i in range(1500)]
    errors = np.abs(boundary_offsets(gold, hyp, pairs))
    assert errors.size == 1501 and np.allclose(errors, 0.005)


# ----------------------------------------------------------------------------- boundaries
def test_shared_boundaries_count_once_and_errors_are_known():
    gold = [iv(0.10, 0.20, "A"), iv(0.20, 0.30, "B")]
    hyp = [iv(0.11, 0.22, "A"), iv(0.22, 0.30, "B")]
    errors = np.abs(boundary_offsets(gold, hyp, pair_tokens(gold, hyp)))
    assert np.allclose(sorted(errors), [0.0, 0.01, 0.02])
    assert share_within(errors, 0.010) == pytest.approx(2 / 3)
    assert share_within(errors, 0.020) == 1.0
    assert share_within(np.zeros(0), 0.02) != share_within(np.zeros(0), 0.02)  # NaN


def test_gap_in_hypothesis_gives_two_boundaries():
    gold = [iv(0.10, 0.20, "A"), iv(0.20, 0.30, "B")]
    hyp = [iv(0.11, 0.20, "A"), iv(0.22, 0.30, "B")]
    errors = np.abs(boundary_offsets(gold, hyp, pair_tokens(gold, hyp)))
    assert np.allclose(sorted(errors), [0.0, 0.0, 0.01, 0.02])


def test_boundary_f1_is_one_to_one_within_tolerance():
    gold = boundary_times([iv(0.1, 0.2, "A"), iv(0.2, 0.3, "B")])
    assert list(gold) == [0.1, 0.2, 0.3]
    hyp = np.array([0.105, 0.25, 0.3, 0.4])
    matched = match_boundaries(gold, hyp, 0.02)
    assert matched == 2
    p, r, f1 = f1_from_counts(matched, len(gold), len(hyp))
    assert (p, r) == (pytest.approx(0.5), pytest.approx(2 / 3))
    assert f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # one hypothesis boundary cannot serve two gold ones
    assert match_boundaries(np.array([0.10, 0.11]), np.array([0.105]), 0.02) == 1


def test_idr_and_silence_frames():
    gold = [iv(0.0, 0.1, "A"), iv(0.1, 0.2, "B")]
    hyp = [iv(0.05, 0.15, "A")]
    pairs = pair_tokens(gold, hyp)
    assert np.allclose(idr_values(gold, hyp, pairs), [0.5, 0.0])
    # token 0.1-0.3 s in a 0.5 s file: frames 10..29 covered, 30 of 50 on silence
    assert silence_frames([iv(0.1, 0.3, "A")], 50) == 30
    assert silence_frames([], 7) == 7


# ----------------------------------------------------------------------------- folding
def test_cmu39_folds_timit_closures_glottal_stop_and_variants():
    fold = load_folding("cmu39")
    timit = [iv(0, 0.1, "h#"), iv(0.1, 0.15, "bcl"), iv(0.15, 0.2, "b"), iv(0.2, 0.3, "ax"),
             iv(0.3, 0.32, "q"), iv(0.32, 0.4, "iy"), iv(0.4, 0.5, "pau"), iv(0.5, 0.55, "tcl"),
             iv(0.55, 0.6, "h#")]
    out = [(round(t.start, 3), round(t.end, 3), t.label) for t in fold.fold_phones(timit)]
    assert out == [(0.1, 0.2, "B"), (0.2, 0.3, "AH"), (0.3, 0.4, "IY"), (0.5, 0.55, "T")]


def test_timit39_closures_are_silence_and_zh_is_sh():
    fold = load_folding("timit39")
    out = fold.fold_phones([iv(0.1, 0.15, "bcl"), iv(0.15, 0.2, "b"), iv(0.2, 0.3, "zh"), iv(0.3, 0.4, "AO1")])
    assert [(t.start, t.label) for t in out] == [(0.15, "B"), (0.2, "SH"), (0.3, "AA")]


def test_stress_case_and_silence_spellings():
    fold = load_folding()
    labels = ["AH0", "ah1", "Ah", "sp", "spn", "SIL", "", "pau", "<eps>"]
    tokens = [iv(i, i + 1, lab) for i, lab in enumerate(labels)]
    assert [t.label for t in fold.fold_phones(tokens)] == ["AH", "AH", "AH"]


def test_fold_file_overrides_and_bad_names(tmp_path: Path):
    table = tmp_path / "fold.txt"
    table.write_text("# mine\nao aa\nxx sil\n", encoding="utf-8")
    fold = load_folding(table)
    assert [t.label for t in fold.fold_phones([iv(0, 1, "AO2"), iv(1, 2, "xx"), iv(2, 3, "ax")])] == ["AA", "AH"]
    with pytest.raises(FoldingError, match="not a folding name"):
        load_folding("nonsense")
    bad = tmp_path / "bad.txt"
    bad.write_text("one two three\n", encoding="utf-8")
    with pytest.raises(FoldingError, match="bad.txt:1"):
        load_folding(bad)


# ----------------------------------------------------------------------------- utterances
def _gold() -> Alignment:
    words = [iv(0.0, 0.1, ""), iv(0.1, 0.3, "Hello"), iv(0.3, 0.5, "world"), iv(0.5, 0.6, "")]
    phones = [iv(0.0, 0.1, "sil"), iv(0.1, 0.2, "HH"), iv(0.2, 0.3, "AH0"), iv(0.3, 0.4, "W"),
              iv(0.4, 0.5, "ER1"), iv(0.5, 0.6, "sil")]
    return Alignment(words=words, phones=phones, duration=0.6)


def _hyp() -> Alignment:
    # every phone boundary 10 ms late except the last one
    words = [iv(0.11, 0.31, "hello,"), iv(0.31, 0.5, "World")]
    phones = [iv(0.11, 0.21, "hh"), iv(0.21, 0.31, "ah"), iv(0.31, 0.41, "w"), iv(0.41, 0.5, "er")]
    return Alignment(words=words, phones=phones, duration=0.6)


def test_score_utterance_known_answers():
    s = score_utterance("u", _gold(), _hyp(), load_folding(), tolerance=0.005)
    assert s.phones.counts.matched == 4 and s.words.counts.matched == 2
    assert np.allclose(sorted(s.phones.errors), [0.0, 0.01, 0.01, 0.01, 0.01])
    assert np.allclose(sorted(s.words.errors), [0.0, 0.01, 0.01])
    assert s.phones.f1 == pytest.approx(0.2)  # only 0.5 matches within 5 ms: 1 of 5 each side
    assert np.allclose(s.phones.idr, [0.9, 0.9, 0.9, 0.9])
    assert (s.frames, s.gold_silence_frames, s.hyp_silence_frames) == (60, 20, 21)
    summary = summarise([s], 0.005)
    assert summary.phones.mean_ms == pytest.approx(8.0)
    assert summary.phones.median_ms == pytest.approx(10.0)
    assert summary.phones.bias_ms == pytest.approx(8.0)  # every error is the hypothesis being late
    assert summary.phones.within[10] == 1.0 and summary.phones.within[25] == 1.0
    assert summary.gold_silence_share == pytest.approx(20 / 60)


def test_a_words_only_hypothesis_is_scored_on_words_alone():
    """A hypothesis without phones (WhisperX's word JSON, a words-only CTM) is not charged with
    deleting every gold phone; silence is then counted on the words on both sides."""
    hyp = _hyp()
    s = score_utterance("u", _gold(), Alignment(hyp.words, [], hyp.duration), load_folding(),
                        tolerance=0.005)
    assert s.phones is None and s.words.counts.matched == 2
    assert (s.gold_silence_frames, s.hyp_silence_frames) == (20, 21)
    assert summarise([s], 0.005).phones.boundaries == 0
    silent = Alignment([iv(0.0, 0.6, "sil")], [iv(0.0, 0.6, "sil")], 0.6)  # aligned nothing
    s = score_utterance("u", _gold(), silent, load_folding(), tolerance=0.005)
    assert s.phones.counts.deleted == 4 and s.words.counts.deleted == 2


# ----------------------------------------------------------------------------- files
def _write_textgrid(path: Path, ali: Alignment) -> None:
    from praatio import textgrid as tgio

    tg = tgio.Textgrid()
    for name, tier in (("words", ali.words), ("phones", ali.phones)):
        entries = [(t.start, t.end, t.label) for t in tier if t.label]
        tg.addTier(tgio.IntervalTier(name, entries, 0, ali.duration))
    path.parent.mkdir(parents=True, exist_ok=True)
    tg.save(str(path), format="long_textgrid", includeBlankSpaces=True)


def _write_json(path: Path, ali: Alignment) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"start": 0, "end": ali.duration, "tiers": {
        "words": {"type": "interval", "entries": [[t.start, t.end, t.label, 0.9] for t in ali.words]},
        "phones": {"type": "interval", "entries": [[t.start, t.end, t.label] for t in ali.phones]},
    }}), encoding="utf-8")


def _write_ctm(path: Path, utt: str, tokens: list[Interval]) -> None:
    path.write_text("".join(f"{utt} 1 {t.start:.3f} {t.end - t.start:.3f} {t.label} 0.9\n" for t in tokens),
                    encoding="utf-8")


def test_directory_mode_reads_all_formats_and_counts_missing_as_failed(tmp_path: Path):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    for spk, utt in (("s1", "a"), ("s1", "b"), ("s2", "c"), ("s2", "d")):
        _write_textgrid(gold / spk / f"{utt}.TextGrid", _gold())
    _write_json(hyp / "s1" / "a.json", _hyp())
    _write_textgrid(hyp / "s1" / "b.TextGrid", _hyp())
    (hyp / "elsewhere").mkdir(parents=True)
    _write_ctm(hyp / "elsewhere" / "c.words.ctm", "c", _hyp().words)
    _write_ctm(hyp / "elsewhere" / "c.phones.ctm", "c", _hyp().phones)
    scores = evaluate_paths(gold, hyp, load_folding())
    by = {s.name: s for s in scores}
    assert set(by) == {"s1/a", "s1/b", "s2/c", "s2/d"}
    assert by["s2/d"].status == "failed" and by["s2/d"].reason == "no hypothesis"
    for name in ("s1/a", "s1/b", "s2/c"):
        assert by[name].status == "ok"
        assert np.allclose(sorted(by[name].phones.errors), [0.0, 0.01, 0.01, 0.01, 0.01], atol=1e-6)
    summary = summarise(scores)
    assert (summary.utterances, summary.failed) == (4, 1)
    assert summary.phones.boundaries == 15 and summary.words.boundaries == 9
    out = tmp_path / "per_utt.csv"
    write_scores(scores, out)
    rows = list(csv.DictReader(out.open()))
    assert [r["status"] for r in rows].count("failed") == 1
    assert float(rows[0]["phone_mean_ms"]) == pytest.approx(8.0)


def test_a_gold_is_never_scored_against_another_recordings_alignment(tmp_path: Path):
    """Gold s1/001 and s2/001 with only s1/001 aligned: s2/001 was scored against s1/001's
    alignment by file name (exit 0); two folders of one file each with different names were
    scored against each other. Two files named on the command line are each other's."""
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "s1" / "001.TextGrid", _gold())
    _write_textgrid(gold / "s2" / "001.TextGrid", _gold())
    _write_textgrid(hyp / "s1" / "001.TextGrid", _hyp())
    by = {s.name: s for s in evaluate_paths(gold, hyp, load_folding())}
    assert by["s1/001"].status == "ok"
    assert (by["s2/001"].status, by["s2/001"].reason) == ("failed", "no hypothesis")
    one_gold, one_hyp = tmp_path / "g1", tmp_path / "h1"
    _write_textgrid(one_gold / "mary.TextGrid", _gold())
    _write_textgrid(one_hyp / "damon.TextGrid", _hyp())
    (score,) = evaluate_paths(one_gold, one_hyp, load_folding())
    assert score.status == "failed" and score.reason == "no hypothesis"
    (score,) = evaluate_paths(one_gold / "mary.TextGrid", one_hyp / "damon.TextGrid",
                              load_folding())
    assert score.status == "ok"


def test_the_corpus_table_is_refused_as_one_utterance(tmp_path: Path):
    """A corpus run's corpus_alignments.csv given as the hypothesis was read as one utterance
    (edit error rate 1871%, exit 0)."""
    gold = tmp_path / "g.TextGrid"
    _write_textgrid(gold, _gold())
    table = tmp_path / "corpus_alignments.csv"
    table.write_text("Utterance,Begin,End,Label,Type,Speaker,Confidence,Flags\n"
                     "s1/a,0.0,0.5,hello,words,,0.5,\n", encoding="utf-8")
    (score,) = evaluate_paths(gold, table, load_folding())
    assert score.status == "unreadable" and "give the folder the run wrote" in score.reason


def test_multi_utterance_ctm_is_keyed_by_utterance_id(tmp_path: Path):
    path = tmp_path / "all.ctm"
    path.write_text("u1 1 0.10 0.20 hello\nu2 A 0.0 0.5 world 0.7\n", encoding="utf-8")
    out = load_alignments(path)
    assert set(out) == {"u1", "u2"}
    assert out["u2"].words[0].confidence == pytest.approx(0.7)
    assert out["u1"].words[0].end == pytest.approx(0.3)


def test_bad_files_give_errors_naming_the_file(tmp_path: Path):
    bad = tmp_path / "x.ctm"
    bad.write_text("u1 1 zero 0.2 hello\n", encoding="utf-8")
    assert "x.ctm:1" in str(load_alignments(bad)["x"])
    tg = tmp_path / "y.TextGrid"
    tg.write_text("not a textgrid", encoding="utf-8")
    assert isinstance(load_alignments(tg)["y"], EvaluationError)
    with pytest.raises(EvaluationError, match="no such file"):
        load_alignments(tmp_path / "missing")


def _app() -> typer.Typer:
    from aligner.cli import evaluate as cli_evaluate

    app = typer.Typer()
    app.command("evaluate")(cli_evaluate.command)
    app.command("noop")(lambda: None)  # keep Typer in multi-command mode like the real CLI
    return app


def test_cli_exit_codes_and_outputs(tmp_path: Path):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "a.TextGrid", _gold())
    _write_textgrid(gold / "b.TextGrid", _gold())
    _write_json(hyp / "a.json", _hyp())
    runner = CliRunner()
    res = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "--csv", str(tmp_path / "u.csv"),
                                 "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 1, res.output
    assert "1 failed" in res.output and "b: no hypothesis" in res.output
    # piped (not a terminal): the silence line is one line, not wrapped to the table's width
    assert "silence share of 10 ms frames: gold 33.3%, hyp 35.0%" in res.output
    quiet = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "-q"])
    assert quiet.exit_code == 1 and quiet.output.strip() == "error: b: no hypothesis"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["failed"] == 1 and summary["phones"]["mean_ms"] == pytest.approx(8.0)
    _write_json(hyp / "b.json", _hyp())
    assert runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "-q"]).exit_code == 0
    res = runner.invoke(_app(), ["evaluate", str(tmp_path / "nope"), str(hyp)])
    assert res.exit_code == 2 and "no such file" in res.output
    res = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "--fold", "klingon"])
    assert res.exit_code == 2 and "not a folding name" in res.output


def test_cli_never_writes_its_results_over_an_input_or_an_alignment(tmp_path: Path):
    """`--csv g.csv` replaced the gold it scored, `--json h.TextGrid` the hypothesis and
    `--json talk.txt` a transcript, each with exit 0: each is a usage error naming the option
    and the file, which is left as it was; an earlier run's results are replaced."""
    from aligner.formats import write_csv

    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "a.TextGrid", _gold())
    _write_json(hyp / "a.json", _hyp())
    write_csv(_gold(), tmp_path / "g.csv")
    (tmp_path / "talk.txt").write_text("hello world", encoding="utf-8")
    runner = CliRunner()
    for inputs, option, target, says in (
            ((tmp_path / "g.csv", hyp / "a.json"), "--csv", tmp_path / "g.csv", "one of the"),
            ((gold, hyp), "--json", hyp / "a.json", "holds an alignment"),
            ((gold, hyp), "--json", gold / "a.TextGrid", "ending in .json"),
            ((gold, hyp), "--json", tmp_path / "talk.txt", "ending in .json"),
            ((gold, hyp), "--csv", tmp_path / "g.csv", "holds an alignment")):
        before = target.read_bytes()
        res = runner.invoke(_app(), ["evaluate", *map(str, inputs), option, str(target)])
        assert res.exit_code == 2 and f"{option} {target}" in res.output and says in res.output, \
            res.output
        assert target.read_bytes() == before
    for _ in range(2):  # the results of the run before are replaced
        res = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "--csv",
                                     str(tmp_path / "u.csv"), "--json", str(tmp_path / "s.json")])
        assert res.exit_code == 0, res.output


def _levenshtein(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from("ABC"), max_size=12), st.lists(st.sampled_from("ABC"), max_size=12))
def test_pairing_cost_is_the_edit_distance(a, b):
    gold = [iv(i, i + 1, x) for i, x in enumerate(a)]
    hyp = [iv(i * 0.7, i * 0.7 + 0.7, x) for i, x in enumerate(b)]
    pairs = pair_tokens(gold, hyp)
    c = edit_counts(gold, hyp, pairs)
    assert c.substituted + c.deleted + c.inserted == _levenshtein(a, b)
    assert [g for g, _ in pairs if g is not None] == list(range(len(a)))
    assert [h for _, h in pairs if h is not None] == list(range(len(b)))


def test_a_binary_textgrid_is_named_as_such(tmp_path: Path):
    """Praat's "Save as binary file" output: the error says so and how to save it as text,
    not that the file is not UTF-8."""
    path = tmp_path / "b.TextGrid"
    path.write_bytes(b"ooBinaryFile\x08TextGrid" + bytes(range(256)))
    err = load_alignments(path)["b"]
    assert isinstance(err, EvaluationError)
    assert "binary TextGrid" in str(err) and "Save as text file" in str(err)
    assert "utf" not in str(err).lower() and str(path) in str(err)


def test_a_words_tier_beside_a_phone_tier_of_another_name_reads_both(tmp_path: Path):
    """Gold with tiers `Words` and `IPA` (Praat, hand-labelled): the words tier was found by its
    name and the phones silently left out, though `--fold ipa` asked for them scored."""
    from praatio import textgrid

    from aligner.formats import read_textgrid

    tg = textgrid.Textgrid(0, 1)
    tg.addTier(textgrid.IntervalTier("Words", [(0.1, 0.5, "hi")], 0, 1))
    tg.addTier(textgrid.IntervalTier("IPA", [(0.1, 0.3, "h"), (0.3, 0.5, "a\u026a")], 0, 1))
    tg.save(str(tmp_path / "g.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (a,) = read_textgrid(tmp_path / "g.TextGrid", tolerant=True)
    assert [w.label for w in a.words if w.label] == ["hi"]
    assert [p.label for p in a.phones if p.label] == ["h", "a\u026a"]
    tg.addTier(textgrid.IntervalTier("notes", [(0.1, 0.5, "fast")], 0, 1))  # set aside first
    tg.save(str(tmp_path / "n.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (a,) = read_textgrid(tmp_path / "n.TextGrid", tolerant=True)
    assert [p.label for p in a.phones if p.label] == ["h", "a\u026a"]


@pytest.mark.parametrize("first,second", [("words", "ORT-MAU"), ("words", "x_words"),
                                          ("words", "comments"), ("words", "Notes"),
                                          ("words", "alice - notes")])
def test_a_words_tier_beside_one_of_words_or_remarks_reads_no_phones(tmp_path: Path, first,
                                                                      second):
    """Only a tier with no kind of its own is taken as the other kind: a second words tier, or
    a transcriber's remarks, read as phones would score every phone as a mismatch."""
    from praatio import textgrid

    from aligner.formats import read_textgrid

    tg = textgrid.Textgrid(0, 1)
    tg.addTier(textgrid.IntervalTier(first, [(0.1, 0.5, "hi")], 0, 1))
    tg.addTier(textgrid.IntervalTier(second, [(0.1, 0.3, "hi"), (0.3, 0.5, "there")], 0, 1))
    tg.save(str(tmp_path / "g.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (a,) = read_textgrid(tmp_path / "g.TextGrid", tolerant=True)
    assert [w.label for w in a.words if w.label] == ["hi"]
    assert not [p for p in a.phones if p.label]


def test_two_tiers_of_other_names_are_not_words_and_phones_when_one_is_remarks(tmp_path: Path):
    """`ortho` and `notes` read the notes as phones; now the tiers are named in the error."""
    from praatio import textgrid

    from aligner.formats import FormatError, read_textgrid

    tg = textgrid.Textgrid(0, 1)
    tg.addTier(textgrid.IntervalTier("ortho", [(0.1, 0.5, "hi")], 0, 1))
    tg.addTier(textgrid.IntervalTier("notes", [(0.1, 0.3, "loud")], 0, 1))
    tg.save(str(tmp_path / "g.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(FormatError, match=r"no words or phones tier \(tiers: ortho, notes\)"):
        read_textgrid(tmp_path / "g.TextGrid", tolerant=True)


def test_textgrid_with_zero_length_interval_is_read_by_the_fallback(tmp_path: Path):
    long = tmp_path / "z.TextGrid"
    long.write_text(
        'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 0.5\n'
        'tiers? <exists>\nsize = 2\nitem []:\n'
        '    item [1]:\n        class = "IntervalTier"\n        name = "words"\n        xmin = 0\n'
        '        xmax = 0.5\n        intervals: size = 2\n'
        '        intervals [1]:\n            xmin = 0\n            xmax = 0.1\n            text = ""\n'
        '        intervals [2]:\n            xmin = 0.1\n            xmax = 0.5\n            text = "say ""2"""\n'
        '    item [2]:\n        class = "IntervalTier"\n        name = "phones"\n        xmin = 0\n'
        '        xmax = 0.5\n        intervals: size = 3\n'
        '        intervals [1]:\n            xmin = 0\n            xmax = 0.1\n            text = "sil"\n'
        '        intervals [2]:\n            xmin = 0.1\n            xmax = 0.1\n            text = "AH0"\n'
        '        intervals [3]:\n            xmin = 0.1\n            xmax = 0.5\n            text = "S"\n',
        encoding="utf-8")
    ali = load_alignments(long)["z"]
    assert not isinstance(ali, EvaluationError), ali
    assert [w.label for w in ali.words] == ['say "2"']  # silence ("") is not a token
    assert [(p.start, p.end, p.label) for p in ali.phones][1:] == [(0.1, 0.1, "AH0"), (0.1, 0.5, "S")]
    short = tmp_path / "s.TextGrid"
    short.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n0.5\n<exists>\n1\n'
                     '"IntervalTier"\n"phones"\n0\n0.5\n2\n0\n0.25\n"a"\n0.25\n0.25\n"b"\n', encoding="utf-8")
    assert [p.label for p in load_alignments(short)["s"].phones] == ["a", "b"]


def test_single_ctm_file_picks_up_its_phone_ctm(tmp_path: Path):
    _write_ctm(tmp_path / "u.ctm", "u", _hyp().words)
    _write_ctm(tmp_path / "u.phones.ctm", "u", _hyp().phones)
    for name in ("u.ctm", "u.phones.ctm"):
        ali = load_alignments(tmp_path / name)["u"]
        assert [w.label for w in ali.words] == ["hello,", "World"]
        assert [p.label for p in ali.phones] == ["hh", "ah", "w", "er"]


# ----------------------------------------------------------------------------- gold people have
def _plain_entries(tier: list[Interval], label_first: bool) -> list[list]:
    return [[t.label, t.start, t.end] if label_first else [t.start, t.end, t.label]
            for t in tier if t.label]


def _errors_ms(score) -> list[float]:
    return sorted(np.round(score.phones.errors * 1000, 6))


@pytest.mark.parametrize("label_first", [True, False])
def test_plain_json_gold_scores_like_a_textgrid(tmp_path: Path, label_first: bool):
    g = _gold()
    plain = tmp_path / "plain" / "u.json"
    plain.parent.mkdir()
    plain.write_text(json.dumps({"phones": _plain_entries(g.phones, label_first),
                                 "words": _plain_entries(g.words, label_first)}), encoding="utf-8")
    _write_textgrid(tmp_path / "tg" / "u.TextGrid", g)
    _write_json(tmp_path / "hyp" / "u.json", _hyp())
    fold = load_folding()
    [from_plain] = evaluate_paths(plain.parent, tmp_path / "hyp", fold)
    [from_tg] = evaluate_paths(tmp_path / "tg", tmp_path / "hyp", fold)
    assert from_plain.status == "ok", from_plain.reason
    assert _errors_ms(from_plain) == _errors_ms(from_tg) == [0.0, 10.0, 10.0, 10.0, 10.0]
    assert from_plain.words.counts.matched == 2


def test_plain_json_objects_and_ambiguous_entries(tmp_path: Path):
    gold = tmp_path / "g.json"
    gold.write_text(json.dumps({"phones": [{"start": 0.1, "end": 0.2, "label": "HH"},
                                           {"begin": 0.2, "end": 0.3, "phone": "AH0"}]}))
    assert [p.label for p in load_alignments(gold)["g"].phones] == ["HH", "AH0"]
    gold.write_text(json.dumps({"phones": [["HH", "0.1", 0.2]]}))  # label and start both strings
    err = load_alignments(gold)["g"]
    assert isinstance(err, EvaluationError)
    assert "g.json: tier 'phones' entry 1" in str(err) and "[label, start, end]" in str(err)


@pytest.mark.parametrize("sep,header", [(",", "start,end,label\n"), ("\t", ""), ("\t", "Begin\tEnd\tphone\n"),
                                        (",", "")])
def test_csv_and_tsv_gold(tmp_path: Path, sep: str, header: str):
    g = _gold()
    gold = tmp_path / "gold"
    gold.mkdir()
    rows = "".join(f"{t.start}{sep}{t.end}{sep}{t.label}\n" for t in g.phones if t.label)
    (gold / f"u.{'tsv' if sep == chr(9) else 'csv'}").write_text(header + rows, encoding="utf-8")
    _write_json(tmp_path / "hyp" / "u.json", _hyp())
    [s] = evaluate_paths(gold, tmp_path / "hyp", load_folding())
    assert s.status == "ok", s.reason
    assert _errors_ms(s) == [0.0, 10.0, 10.0, 10.0, 10.0]
    assert s.words is None  # the phone labels were recognised as a phones tier: no words scored


def test_gold_in_milliseconds_fails_by_name_and_the_rest_is_scored(tmp_path: Path):
    """Times in ms read as seconds made every error some hundreds of seconds, with exit 0 and
    nothing said."""
    gold = tmp_path / "gold"
    gold.mkdir()
    rows = lambda scale: "".join(f"{t.start * scale:g},{t.end * scale:g},{t.label}\n"
                                 for t in _gold().phones if t.label)
    (gold / "ms.csv").write_text(rows(1000), encoding="utf-8")
    (gold / "s.csv").write_text(rows(1), encoding="utf-8")
    for name in ("ms", "s"):
        _write_json(tmp_path / "hyp" / f"{name}.json", _hyp())
    scores = {s.name: s for s in evaluate_paths(gold, tmp_path / "hyp", load_folding())}
    assert scores["s"].status == "ok"
    assert scores["ms"].status == "failed" and "milliseconds" in scores["ms"].reason
    assert "600 s" in scores["ms"].reason and "0.6 s" in scores["ms"].reason


def test_a_hypothesis_of_another_recording_is_noted(tmp_path: Path):
    """Paired by name, another recording's alignment (none of the gold's words) was scored
    'ok' and pooled with nothing said: a note names it; a pair that shares words is not named."""
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    said = Alignment([Interval(0.1 + 0.3 * i, 0.4 + 0.3 * i, w)
                      for i, w in enumerate(("the", "cat", "sat", "down"))], [], 1.5)
    other = Alignment([Interval(0.1 + 0.3 * i, 0.4 + 0.3 * i, w)
                       for i, w in enumerate(("we", "went", "home"))], [], 1.5)
    for name in ("a", "b"):
        _write_json(gold / f"{name}.json", said)
    _write_json(hyp / "a.json", Alignment(list(said.words), [], 1.5))
    _write_json(hyp / "b.json", other)
    notes: list[str] = []
    evaluate_paths(gold, hyp, load_folding(), note=notes.append)
    (line,) = [n for n in notes if "share no word" in n]
    assert line.startswith("1 utterance(s) share no word with their hypothesis (b)")


def test_a_hypothesis_in_milliseconds_or_before_zero_is_not_scored(tmp_path: Path):
    """The other way round too: a hypothesis written in ms (2474 s against 2.78 s of gold)
    was scored 'ok', its mean error some twenty minutes; one with a negative time was read."""
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    for name in ("ms", "neg"):
        _write_textgrid(gold / f"{name}.TextGrid", _gold())
    rows = lambda scale: "".join(f"{t.start * scale:g},{t.end * scale:g},{t.label}\n"
                                 for t in _hyp().phones if t.label)
    hyp.mkdir()
    (hyp / "ms.csv").write_text(rows(1000), encoding="utf-8")
    (hyp / "neg.csv").write_text("-0.5,0.2,HH\n" + rows(1), encoding="utf-8")
    scores = {s.name: s for s in evaluate_paths(gold, hyp, load_folding())}
    assert scores["ms"].status == "failed" and "hypothesis times in milliseconds" in \
        scores["ms"].reason
    assert scores["neg"].status == "unreadable" and "must not be negative, got -0.5" in \
        scores["neg"].reason


def test_one_tier_files_follow_name_then_tier_option_then_content(tmp_path: Path):
    words = tmp_path / "u.csv"
    words.write_text("0.1,0.3,hello\n0.3,0.5,world\n", encoding="utf-8")
    assert [w.label for w in load_alignments(words)["u"].words] == ["hello", "world"]
    assert [p.label for p in load_alignments(words, tier="phones")["u"].phones] == ["hello", "world"]
    named = tmp_path / "v.phones.csv"
    named.write_text("0.1,0.3,hello\n", encoding="utf-8")
    assert load_alignments(named)["v"].phones and not load_alignments(named)["v"].words
    (tmp_path / "v.words.csv").write_text("0.1,0.3,hello\n", encoding="utf-8")
    joined = load_alignments(named)["v"]  # x.words.csv + x.phones.csv are one utterance
    assert [w.label for w in joined.words] == [p.label for p in joined.phones] == ["hello"]
    ctm = tmp_path / "w.ctm"
    ctm.write_text("w 1 0.1 0.1 HH\nw 1 0.2 0.1 AH0\n", encoding="utf-8")
    assert [p.label for p in load_alignments(ctm)["w"].phones] == ["HH", "AH0"]
    ipa = tmp_path / "mary.csv"  # praatio's example: IPA phones, narrow marks included
    ipa.write_text("0.1,0.2,m\n0.2,0.3,ɛ\n0.3,0.4,ɹ\n0.4,0.5,i\n0.5,0.6,tʰ\n", encoding="utf-8")
    assert [p.label for p in load_alignments(ipa)["mary"].phones][-1] == "tʰ"
    ascii_words = tmp_path / "x.csv"  # IPA letters, but ASCII words: words
    ascii_words.write_text("0.1,0.2,a\n0.2,0.3,I\n", encoding="utf-8")
    assert [w.label for w in load_alignments(ascii_words)["x"].words] == ["a", "I"]


def test_gold_without_words_counts_no_word_insertions(tmp_path: Path):
    g = _gold()
    gold = tmp_path / "gold" / "u.json"
    gold.parent.mkdir()
    gold.write_text(json.dumps({"phones": _plain_entries(g.phones, True)}), encoding="utf-8")
    _write_json(tmp_path / "hyp" / "u.json", _hyp())
    [s] = evaluate_paths(gold.parent, tmp_path / "hyp", load_folding())
    assert s.status == "ok" and s.words is None and s.phones.counts.inserted == 0
    summary = summarise([s])
    assert summary.words.hyp_tokens == 0 and summary.words.error_rate != summary.words.error_rate
    assert summary.phones.error_rate == 0.0
    # phones-only gold, words-only hypothesis: nothing to compare is a failure, not a score
    (tmp_path / "hyp" / "u.json").write_text(json.dumps({"words": [["hello", 0.1, 0.3]]}))
    [s] = evaluate_paths(gold.parent, tmp_path / "hyp", load_folding())
    assert s.status == "failed" and "no phones" in s.reason


def test_speakers_of_a_gold_textgrid_are_pooled(tmp_path: Path):
    from praatio import textgrid as tgio

    tg = tgio.Textgrid()
    tg.addTier(tgio.IntervalTier("bob - phones", [(0.3, 0.4, "W"), (0.4, 0.5, "ER1")], 0, 0.6))
    tg.addTier(tgio.IntervalTier("alice - phones", [(0.1, 0.2, "HH"), (0.2, 0.3, "AH0")], 0, 0.6))
    tg.save(str(tmp_path / "g.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    ali = load_alignments(tmp_path / "g.TextGrid")["g"]
    assert [p.label for p in ali.phones] == ["HH", "AH0", "W", "ER1"] and ali.words == []


def test_cli_reports_a_bad_gold_file_and_scores_the_rest(tmp_path: Path):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "a.TextGrid", _gold())
    (gold / "b.json").write_text('{"phones": [["HH", 0.1]]}', encoding="utf-8")
    (gold / "c.csv").write_text("start,end,label\n0.1,zero,HH\n", encoding="utf-8")
    for name in "abc":
        _write_json(hyp / f"{name}.json", _hyp())
    runner = CliRunner()
    res = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 1, res.output
    assert "1/3 utterances scored, 2 failed" in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "Traceback" not in res.output
    assert any("b.json" in line and "entry 1" in line for line in errors)
    assert any("c.csv:2" in line and "zero" in line for line in errors)
    assert all("CSV/TSV (start,end,label rows)" in line for line in errors)  # what is accepted
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["failed"] == 2 and summary["phones"]["mean_ms"] == pytest.approx(8.0)
    quiet = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "-q"])
    assert quiet.exit_code == 1 and len(quiet.output.strip().splitlines()) == 2  # errors only
    res = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), "--tier", "syllables"])
    assert res.exit_code == 2 and "--tier" in res.output
    only_bad = runner.invoke(_app(), ["evaluate", str(gold / "b.json"), str(hyp / "b.json")])
    assert only_bad.exit_code == 1 and "0/1 utterances scored: nothing to summarise" in only_bad.output
    assert "mean abs error" not in only_bad.output  # no table of dashes
    for bad in ("-20", "nan", "0"):  # an F1 of 0 and exit 0 before
        res = runner.invoke(_app(), ["evaluate", str(gold), str(hyp), f"--tolerance={bad}"])
        assert res.exit_code == 2 and "give a positive number of milliseconds" in res.output


def test_results_are_written_atomically(tmp_path: Path, monkeypatch):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "a.TextGrid", _gold())
    _write_json(hyp / "a.json", _hyp())
    scores = evaluate_paths(gold, hyp, load_folding())
    out = tmp_path / "res" / "u.csv"
    write_scores(scores, out)
    before = out.read_text()
    assert before.startswith("utterance,status")

    def broken(self, rows):
        raise OSError("disk full")

    monkeypatch.setattr(csv.DictWriter, "writerows", broken)
    with pytest.raises(OSError):
        write_scores(scores, out)
    assert out.read_text() == before and sorted(p.name for p in out.parent.iterdir()) == ["u.csv"]
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--json", str(blocker / "s.json")])
    assert res.exit_code == 2 and "blocker" in res.output and "Traceback" not in res.output


# ----------------------------------------------------------------------------- folds per side
def _phones_of(labels: str) -> Alignment:
    return Alignment([], [iv(0.1 * i, 0.1 * (i + 1), lab) for i, lab in enumerate(labels.split())], 0.6)


def test_ipa_gold_fold_does_not_turn_arpabet_hypothesis_into_sampa():
    gold = _phones_of("t s d n z")  # SAMPA/IPA: lower-case t s d n z
    ours = _phones_of("T S D N Z")  # ARPAbet from ottc-align: the same sounds
    for name in ("ipa", "emu-ae"):
        s = score_utterance("u", gold, ours, load_folding(name))  # hypothesis: cmu39 by default
        assert s.phones.counts.matched == 5, name
    s = score_utterance("u", gold, ours, load_folding("ipa"), hyp_folding=load_folding("ipa"))
    assert s.phones.counts.matched == 0  # the old behaviour: T S D N Z read as TH SH DH NG ZH
    ipa_hyp = _phones_of("t ʃ θ ŋ ʒ")  # another tool's IPA output, folded with --hyp-fold ipa
    s = score_utterance("u", _phones_of("T SH TH NG ZH"), ipa_hyp, load_folding("cmu39"),
                        hyp_folding=load_folding("ipa"))
    assert s.phones.counts.matched == 5


def test_timit39_gold_folds_the_hypothesis_with_timit39_by_default():
    gold, ours = _phones_of("ao zh dx"), _phones_of("AO1 ZH T")  # timit39: AO=AA, ZH=SH, DX
    s = score_utterance("u", gold, ours, load_folding("timit39"))
    assert s.phones.counts.matched == 2  # AA AA, SH SH; DX is not T in Lee & Hon's set
    s = score_utterance("u", gold, ours, load_folding("timit39"), hyp_folding=load_folding("cmu39"))
    assert s.phones.counts.matched == 0


def test_cli_fold_is_the_golds_and_hyp_fold_the_hypothesis(tmp_path: Path):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    gold.mkdir()
    (gold / "u.json").write_text(json.dumps({"phones": [[lab, 0.1 * i, 0.1 * (i + 1)] for i, lab
                                                        in enumerate("t s d n z".split())]}))
    _write_json(hyp / "u.json", _phones_of("T S D N Z"))
    csv_path = tmp_path / "u.csv"
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--fold", "ipa",
                                      "--csv", str(csv_path)])
    assert res.exit_code == 0, res.output
    assert next(csv.DictReader(csv_path.open()))["phone_matched"] == "5"
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--fold", "ipa",
                                      "--hyp-fold", "ipa", "--csv", str(csv_path)])
    assert res.exit_code == 0, res.output
    assert next(csv.DictReader(csv_path.open()))["phone_matched"] == "0"  # TH SH DH NG ZH
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--hyp-fold", "klingon"])
    assert res.exit_code == 2 and "klingon" in res.output and "not a folding name" in res.output


# ----------------------------------------------------------------------------- folders with other files
def test_folder_scan_skips_reports_and_files_without_an_alignments_shape(tmp_path: Path):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "a.TextGrid", _gold())
    _write_json(hyp / "a.json", _hyp())
    (gold / "alignment_analysis.csv").write_text(  # MFA's: begin,end, but no label column
        "file,begin,end,speaker,overall_log_likelihood\na,0,0.6,s,-50\n", encoding="utf-8")
    (gold / "summary.json").write_text(json.dumps({"words": [["x", 0, 1]]}))  # skipped by name
    (hyp / "alignment_report.csv").write_text("utterance,status\na,aligned\n", encoding="utf-8")
    (hyp / "notes.csv").write_text("speaker,age\nann,30\n", encoding="utf-8")
    (hyp / "config.json").write_text(json.dumps({"sample_rate": 16000, "phones": "cmu"}))
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--csv", str(hyp / "per_utt.csv"),
                                      "--json", str(hyp / "s.json")])
    assert res.exit_code == 0, res.output
    assert "1/1 utterances scored, 0 failed" in res.output and "error:" not in res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 2 and len(res.stderr.strip().splitlines()) == 2
    assert "skipped 2 files" in notes[0] and "alignment_analysis.csv" in notes[0] and "summary.json" in notes[0]
    assert all(n in notes[1] for n in ("skipped 3 files", "alignment_report.csv", "notes.csv", "config.json"))
    # a second run meets its own results in the hypothesis folder and skips them too
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--csv", str(hyp / "per_utt.csv"),
                                      "--json", str(hyp / "s.json")])
    assert res.exit_code == 0, res.output
    assert "skipped 5 files" in res.stderr and "per_utt.csv" in res.stderr and "s.json" in res.stderr
    assert CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "-q"]).output == ""
    # named on its own, a file that is not an alignment is an error
    [s] = evaluate_paths(hyp / "notes.csv", hyp / "a.json", load_folding())
    assert s.status == "unreadable" and "notes.csv" in s.reason and "start/end/label" in s.reason


def test_a_csv_corpus_run_s_table_of_all_utterances_is_not_an_utterance(tmp_path: Path):
    """A `-f csv` corpus run writes `runner.TABLE_NAME` (every utterance's rows behind an
    `Utterance` column) beside the utterances' own CSVs: on either side it is skipped like a
    report, not scored as one more utterance holding the whole corpus, nor one with no
    hypothesis when only the gold has it."""
    from aligner import runner
    from aligner.formats import write_outputs

    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    names = ["a", "s1/b"]
    for root, ali in ((gold, _gold()), (hyp, _hyp())):
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            write_outputs([ali], root / name, ["csv"])
        runner.write_table([runner.Result(n, "aligned") for n in names], root, root / runner.TABLE_NAME)
    assert (gold / runner.TABLE_NAME).is_file() and (hyp / runner.TABLE_NAME).is_file()
    notes: list[str] = []
    scores = evaluate_paths(gold, hyp, load_folding(), note=notes.append)
    assert sorted(s.name for s in scores) == names and {s.status for s in scores} == {"ok"}
    assert all(s.phones.counts.gold == 4 for s in scores)  # each its own, not the corpus's
    assert len(notes) == 2 and all(runner.TABLE_NAME in n and "skipped 1 file" in n for n in notes)
    (hyp / runner.TABLE_NAME).unlink()  # only the gold side has it
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp)])
    assert res.exit_code == 0, res.output
    assert "2/2 utterances scored, 0 failed" in res.output and "no hypothesis" not in res.output


# ----------------------------------------------------------------------------- CTM utterance ids
def _speakers(ali: Alignment) -> list[Alignment]:
    """A one-voice alignment as a two-speaker recording's: Zoë says the first word, Bob the second."""
    first = lambda t: t.start < 0.3
    return [Alignment([w for w in ali.words if first(w) == is_zoe],
                      [p for p in ali.phones if first(p) == is_zoe], ali.duration, speaker)
            for speaker, is_zoe in (("Zoë", True), ("Bob", False))]


def _scored(scores: list) -> dict[str, tuple]:
    """Per utterance: status and the figures that tell which hypothesis it was scored against."""
    return {s.name: (s.status, s.reason) if s.status != "ok" else
            (s.status, s.words.counts.hyp, s.words.counts.matched, s.phones and s.phones.counts.hyp,
             sorted(np.round(s.words.errors, 6)))
            for s in scores}


def test_a_concatenated_corpus_ctm_matches_its_gold_by_utterance_id(tmp_path: Path):
    """A corpus run's CTMs concatenated into one file (docs/usage.md): each id is the utterance's
    path with `-` for `/` (`formats.ctm_id`), a two-speaker recording's `<id>-<speaker>` per
    speaker. Each matches its gold as the run's own JSON does; an id that only starts like a
    gold's (`spkC-u10` for `spkC/u1`) is no match, and that gold is reported."""
    from aligner.formats import write_outputs
    from aligner.formats import ctm_id

    gold, out, out_json = tmp_path / "gold", tmp_path / "out", tmp_path / "out_json"
    first_word = Alignment(_hyp().words[:1], [], 0.6)  # spkB's: a mix-up with spkA's shows
    hyps = {"spkA/u1": [_hyp()], "spkB/u1": [first_word], "sess/meeting": _speakers(_hyp()),
            "spkC/u10": [_hyp()]}
    for name in ("spkA/u1", "spkB/u1", "spkC/u1"):
        _write_textgrid(gold / f"{name}.TextGrid", _gold())
    (gold / "sess").mkdir()
    write_outputs(_speakers(_gold()), gold / "sess" / "meeting", ["textgrid"])
    for name, alignments in hyps.items():
        for root, fmt in ((out, "ctm"), (out_json, "json")):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            write_outputs(alignments, root / name, [fmt], ctm_id(name))
    words_all = tmp_path / "words_all.ctm"
    words_all.write_text("".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.ctm"))
                                 if not p.name.endswith(".phones.ctm")), encoding="utf-8")
    assert "sess-meeting-Zoë 1" in words_all.read_text(encoding="utf-8")

    by_ctm = _scored(evaluate_paths(gold, words_all, load_folding()))
    by_json = _scored(evaluate_paths(gold, out_json, load_folding()))
    assert by_ctm["spkA/u1"] == ("ok", 2, 2, None, [0.0, 0.01, 0.01])
    assert by_ctm["spkB/u1"][:3] == ("ok", 1, 1)
    assert by_ctm["sess/meeting"] == ("ok", 2, 2, None, [0.0, 0.01, 0.01])  # both speakers
    assert by_ctm["spkC/u1"] == ("failed", "no hypothesis")
    assert {k: v[:3] for k, v in by_ctm.items()} == {k: v[:3] for k, v in by_json.items()}


def test_a_recording_s_per_speaker_ctm_ids_are_its_speakers(tmp_path: Path):
    """A two-speaker recording's CTM holds one id per speaker (`meeting-Zoë`, `meeting-Bob`,
    `formats.write_ctm`): they are that recording's tiers, pooled and scored as its JSON is,
    in a folder and as two files named on their own."""
    from aligner.formats import write_outputs

    gold, hyp, hyp_json = tmp_path / "gold", tmp_path / "hyp", tmp_path / "hyp_json"
    for root in (gold, hyp, hyp_json):
        root.mkdir()
    write_outputs(_speakers(_gold()), gold / "meeting", ["textgrid"])
    _write_textgrid(gold / "other.TextGrid", _gold())
    write_outputs(_speakers(_hyp()), hyp / "meeting", ["ctm"])
    write_outputs(_speakers(_hyp()), hyp_json / "meeting", ["json"])
    assert "meeting-Bob 1" in (hyp / "meeting.phones.ctm").read_text(encoding="utf-8")
    by_ctm = _scored(evaluate_paths(gold, hyp, load_folding()))
    by_json = _scored(evaluate_paths(gold, hyp_json, load_folding()))
    assert by_ctm["meeting"][:4] == ("ok", 2, 2, 4) and by_ctm == by_json
    assert by_ctm["other"] == ("failed", "no hypothesis")
    [alone] = evaluate_paths(gold / "meeting.TextGrid", hyp / "meeting.ctm", load_folding())
    assert alone.status == "ok" and alone.phones.counts.matched == 4 and alone.words.counts.matched == 2


def test_a_broken_file_beside_a_readable_one_does_not_fail_the_utterance(tmp_path: Path):
    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    _write_textgrid(gold / "a.TextGrid", _gold())
    _write_textgrid(gold / "b.TextGrid", _gold())
    _write_textgrid(hyp / "a.TextGrid", _hyp())
    (hyp / "a.json").write_text('{"phones": [["HH", 0.1]]}', encoding="utf-8")  # broken sibling
    (hyp / "b.json").write_text('{"phones": [["HH", 0.1]]}', encoding="utf-8")  # broken, alone
    notes: list[str] = []
    by = {s.name: s for s in evaluate_paths(gold, hyp, load_folding(), note=notes.append)}
    assert by["a"].status == "ok" and by["a"].phones.counts.matched == 4
    assert by["b"].status == "unreadable" and "b.json: tier 'phones' entry 1" in by["b"].reason
    assert len(notes) == 1 and notes[0].startswith("a: read from its other files") and "a.json" in notes[0]


def test_an_emu_folder_s_annotations_and_point_tiers_are_skipped_and_its_tiers_can_be_named(
        tmp_path: Path):
    """An emuR export: a TextGrid with many tiers (Word holds accent classes, Text the words;
    Phoneme the canonical phones, Phonetic the segmentation), the emuDB `_annot.json` beside it
    (levels and links, no intervals) and a TSV of syllable-nucleus time points."""
    from praatio import textgrid as tgio

    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    g = _gold()
    tg = tgio.Textgrid()
    text = [(w.start, w.end, w.label) for w in g.words if w.label]
    for name, entries in (("Utterance", [(0.1, 0.5, "u")]),
                          ("Word", [(s, e, "C") for s, e, _ in text]), ("Text", text),
                          ("Phoneme", [(0.1, 0.3, "HH"), (0.3, 0.5, "W")]),
                          ("Phonetic", [(p.start, p.end, p.label) for p in g.phones if p.label])):
        tg.addTier(tgio.IntervalTier(name, entries, 0, g.duration))
    gold.mkdir()
    tg.save(str(gold / "a.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    (gold / "a_annot.json").write_text(json.dumps({
        "name": "a", "annotates": "a.wav", "sampleRate": 20000,
        "levels": [{"name": "Phonetic", "type": "SEGMENT",
                    "items": [{"id": 1, "sampleStart": 2000, "sampleDur": 1999,
                               "labels": [{"name": "Phonetic", "value": "HH"}]}]}],
        "links": [{"fromID": 0, "toID": 1}]}), encoding="utf-8")
    (gold / "a.nuclei_points.tsv").write_text("0.15\t0.15\tHello\n0.4\t0.4\tworld\n", encoding="utf-8")
    _write_json(hyp / "a.json", _hyp())

    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp)])
    assert res.exit_code == 0, res.output  # a.json and the points are not utterances to score
    assert "1/1 utterances scored" in res.output
    assert "a_annot.json" in res.stderr and "a.nuclei_points.tsv" in res.stderr
    assert "read words from tier 'Word', phones from tier 'Phoneme'" in res.stderr
    assert "--gold-tiers" in res.stderr
    assert "`Word` holds accent classes" in res.stderr  # as usage says, for emuR's layout

    named = tmp_path / "named.json"
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--gold-tiers", "Text,Phonetic",
                                      "--json", str(named)])
    assert res.exit_code == 0, res.output
    assert "read words from tier" not in res.stderr
    summary = json.loads(named.read_text())
    assert summary["words"]["match_rate"] == 1.0 and summary["phones"]["match_rate"] == 1.0
    res = CliRunner().invoke(_app(), ["evaluate", str(gold), str(hyp), "--gold-tiers", "Text"])
    assert res.exit_code == 2 and "WORDS,PHONES" in res.output
    res = CliRunner().invoke(_app(), ["evaluate", str(gold / "a.TextGrid"), str(hyp / "a.json"),
                                      "--gold-tiers", "Text,Nope"])
    assert res.exit_code == 1 and "no tier named 'Nope'" in res.output and "Phonetic" in res.output


def test_gold_labels_outside_arpabet_are_noted():
    """IPA gold scored with the default cmu39 folding: each phone is a label mismatch, which
    read as a poor aligner (49.6% label match on gold-dev); the note names the folding to use.
    ARPAbet gold, and IPA gold under --fold ipa, get no note."""
    from aligner.alignment import Alignment, Interval
    from aligner.evaluate import foreign_labels_note
    from aligner.phone_folding import load_folding

    def gold(labels):
        return Alignment([], [Interval(i * 0.1, i * 0.1 + 0.1, x) for i, x in enumerate(labels)],
                         len(labels) * 0.1)

    ipa = gold(["ð", "ə", "θ", "ɪ", "ŋ", "k"] * 5)
    note = foreign_labels_note([ipa], load_folding("cmu39"))
    assert "--fold ipa" in note and "ə" in note
    assert foreign_labels_note([ipa], load_folding("ipa")) == ""
    assert foreign_labels_note([gold(["DH", "AH0", "TH", "IH1", "NG", "K"] * 5)],
                               load_folding("cmu39")) == ""
    # one short file's gold (praatio's 14 phones, 5 of them IPA) is noted too
    short = gold(["M", "EH1", "R", "i", "r", "o", "L", "œ", "ə", "AE1", "θ", "S", "T", "N"])
    assert "5 of the gold's 14" in foreign_labels_note([short], load_folding("cmu39"))
    assert foreign_labels_note([gold(["M", "ə", "R", "IY1", "Z"])], load_folding("cmu39")) == ""


def test_a_gold_words_tier_that_holds_no_words_is_noted():
    """emuR's `Word` tier holds accent classes (C, F): read as the words, every word was an
    error (12.9% label match) with no word of why. Under half of the gold's word labels among
    the output's words gets a note naming --gold-tiers; real words (any case, punctuation)
    get none."""
    from aligner.alignment import Alignment, Interval
    from aligner.evaluate import foreign_words_note

    def ali(labels):
        return Alignment([Interval(i * 0.2, i * 0.2 + 0.2, x) for i, x in enumerate(labels)], [],
                         len(labels) * 0.2)

    said = ali(["the", "cat", "sat", "on", "a", "mat"] * 4)
    note = foreign_words_note([("u", ali(["C", "F", "F", "C", "F", "C"] * 4), said)])
    assert "--gold-tiers" in note and "0 of the gold's 24" in note
    assert foreign_words_note([("u", ali(["The", "cat,", "SAT", "on", "a", "mat."] * 4), said)]) == ""
    gaps = ali(["the", "sp", "cat", "<sil>", "sat", "sil", "on", "<p:>", "a", "silent", "mat"] * 4)
    assert foreign_words_note([("u", gaps, said)]) == ""  # silence labels are not words


def test_files_named_like_speaker_ids_are_not_pooled(tmp_path):
    """Only utterance ids read inside a CTM are pooled as a recording's speakers: the files
    a-1.TextGrid and a-2.TextGrid are two takes, not the speakers of gold `a`, which has no
    hypothesis (they were pooled and scored silently)."""
    from aligner.evaluate import load_alignments, pair_utterances
    from aligner.formats import write_textgrid

    gold, hyp = tmp_path / "gold", tmp_path / "hyp"
    gold.mkdir(), hyp.mkdir()
    a = Alignment([Interval(0.0, 0.5, "hi")], [Interval(0.0, 0.5, "HH")], 0.5)
    write_textgrid(a, gold / "a.TextGrid")
    write_textgrid(a, gold / "b.TextGrid")
    for name in ("a-1", "a-2", "b"):
        write_textgrid(a, hyp / f"{name}.TextGrid")
    pairs = {k: h for k, _, h in pair_utterances(load_alignments(gold), load_alignments(hyp))}
    assert pairs["a"] is None and pairs["b"] is not None


def test_markup_on_either_side_is_not_a_word_to_score():
    """A `[laughter]` or `{LG}` the gold's transcriber did not mark counted as an inserted word
    (12 gold words against 14): markup is left out like silence, as its `spn` phone is."""
    gold = Alignment([iv(0.1, 0.5, "hello"), iv(0.6, 1.0, "there")],
                     [iv(0.1, 0.5, "HH"), iv(0.6, 1.0, "DH")], 1.2)
    hyp = Alignment([iv(0.0, 0.01, "{LG}"), iv(0.1, 0.5, "hello"), iv(0.5, 0.6, "[laughter]"),
                     iv(0.6, 1.0, "there"), iv(1.0, 1.1, "xxx")],
                    [iv(0.0, 0.01, "spn"), iv(0.1, 0.5, "HH"), iv(0.5, 0.6, "spn"),
                     iv(0.6, 1.0, "DH"), iv(1.0, 1.1, "spn")], 1.2)
    words = score_utterance("u", gold, hyp, load_folding("cmu39")).words
    assert words.counts.inserted == 0 and words.counts.deleted == 0 and words.f1 == 1.0


def test_folders_linked_into_the_hypothesis_are_followed(tmp_path: Path):
    """An aligned folder linked in (`ln -s elsewhere/emuR_ae hyp/`) scored 0/1, "no
    hypothesis", as the corpus walk follows such links for aligning."""
    from aligner.evaluate import evaluate_paths
    from aligner.phone_folding import load_folding

    gold, hyp, elsewhere = tmp_path / "gold", tmp_path / "hyp", tmp_path / "elsewhere"
    _write_textgrid(gold / "s1" / "a.TextGrid", _gold())
    _write_json(elsewhere / "s1" / "a.json", _hyp())
    hyp.mkdir()
    (hyp / "s1").symlink_to(elsewhere / "s1", target_is_directory=True)
    (score,) = evaluate_paths(gold, hyp, load_folding("cmu39"), 0.02)
    assert score.status == "ok", score.reason
