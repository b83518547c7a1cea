"""benchmarks/boundary_errors.py: boundary types and signed offsets on hand-made alignments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.alignment import Alignment, Interval  # noqa: E402
from aligner.phone_folding import load_folding  # noqa: E402
from aligner.evaluate import manner, phone_start_offsets  # noqa: E402
from benchmarks.boundary_errors import engine_family, summary_row  # noqa: E402


def _ali(phones):
    ivs = [Interval(s, e, label) for s, e, label in phones]
    return Alignment([Interval(ivs[0].start, ivs[-1].end, "w")], ivs, ivs[-1].end)


@pytest.mark.parametrize("label,want", [("K", "stop"), ("AE1", "vowel"), ("sh", "fricative"),
                                        ("NG", "nasal"), ("", "pause"), ("sil", "pause")])
def test_manner(label, want):
    assert manner(label) == want


def test_engine_family_from_speaker_name():
    assert engine_family("esp-en-us-m1") == "espeak-ng"
    assert engine_family("fest-ked") == "Festival"
    assert engine_family("mb-us2") == "espeak-ng+mbrola"


def test_offsets_are_signed_and_typed_by_the_previous_gold_phone():
    gold = _ali([(0.0, 0.2, ""), (0.2, 0.3, "K"), (0.3, 0.5, "AE1"), (0.5, 0.6, "T")])
    hyp = _ali([(0.0, 0.23, ""), (0.23, 0.31, "K"), (0.31, 0.45, "AE1"), (0.45, 0.6, "T")])
    got = phone_start_offsets(gold, hyp, load_folding("cmu39"))
    assert [k for k, _ in got] == ["pause > stop", "stop > vowel", "vowel > stop"]
    assert [round(o * 1000) for _, o in got] == [30, 10, -50]


def test_summary_row_counts_late_and_early_misses():
    r = summary_row([0.030, 0.010, -0.050, 0.0])
    assert r["n"] == 4
    assert r["within_20ms"] == pytest.approx(0.5)
    assert r["late_20ms"] == pytest.approx(0.25) and r["early_20ms"] == pytest.approx(0.25)
    assert r["median_ms"] == pytest.approx(5.0)
    assert r["within_20ms_of_median"] == pytest.approx(0.5)  # 30 and -50: 25, 55 ms from +5
    late = summary_row([0.030, 0.032, 0.028])  # a constant offset: every one a miss, none of
    assert late["within_20ms"] == 0.0 and late["within_20ms_of_median"] == 1.0  # its median


def test_less_own_median_takes_each_groups_constant_offset_away():
    from benchmarks.boundary_errors import less_own_median

    got = less_own_median({"a": [0.010, 0.012, 0.014], "b": [-0.030, -0.020]})
    assert [round(o * 1000) for o in got] == [-2, 0, 2, -5, 5]
