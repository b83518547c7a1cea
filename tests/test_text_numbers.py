"""Number spelling: the readings people say for digits."""

from __future__ import annotations

import pytest

from aligner.text import numbers as num


@pytest.mark.parametrize("n,words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (42, "forty-two"),
    (100, "one hundred"), (101, "one hundred one"), (999, "nine hundred ninety-nine"),
    (1000, "one thousand"), (1001, "one thousand one"),
    (123456, "one hundred twenty-three thousand four hundred fifty-six"),
    (1_000_000, "one million"), (2_000_000_003, "two billion three"), (-4, "minus four"),
])
def test_cardinal(n, words):
    assert " ".join(num.cardinal(n)) == words


def test_cardinal_british_and():
    assert " ".join(num.cardinal(101, use_and=True)) == "one hundred and one"


@pytest.mark.parametrize("n,words", [
    (1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (8, "eighth"), (9, "ninth"),
    (12, "twelfth"), (20, "twentieth"), (21, "twenty-first"), (100, "one hundredth"),
    (1000, "one thousandth"),
])
def test_ordinal(n, words):
    assert " ".join(num.ordinal(n)) == words


@pytest.mark.parametrize("n,words", [
    (1999, "nineteen ninety-nine"), (1905, "nineteen oh five"), (1900, "nineteen hundred"),
    (2000, "two thousand"), (2005, "two thousand five"), (2010, "twenty ten"),
    (2024, "twenty twenty-four"), (1066, "ten sixty-six"), (3000, "three thousand"),
])
def test_year(n, words):
    assert " ".join(num.year(n)) == words


def test_year_readings_include_cardinal():
    readings = [" ".join(r) for r in num.year_readings(2010)]
    assert readings[0] == "twenty ten"
    assert "two thousand ten" in readings and "two thousand and ten" in readings


def test_decimal_and_digits():
    assert " ".join(num.decimal("3", "14")) == "three point one four"
    assert " ".join(num.decimal("", "5")) == "point five"
    assert num.digits("0451") == ["zero", "four", "five", "one"]


def test_clock_time():
    assert [" ".join(r) for r in num.clock_time(4, 30)] == ["four thirty"]
    assert " ".join(num.clock_time(4, 5)[0]) == "four oh five"
    assert " ".join(num.clock_time(7, 0)[0]) == "seven o'clock"


def test_huge_numbers_are_read_as_digits():
    n = 10 ** 30
    assert num.cardinal(n) == num.digits(str(n))


def test_plural_word():
    assert num.plural_word("ninety") == "nineties"
    assert num.plural_word("six") == "sixes"
