"""The flag thresholds the README and the usage page quote are the ones the code applies.

`recipes/train/calibrate.py` rewrites `aligner/checks.py` when a model is recalibrated, but the
prose that tells users when a flag fires is edited by hand; this catches prose left behind.
"""

import re
from pathlib import Path

import pytest

from aligner.checks import Thresholds

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"([0-9]+(?:\.[0-9]+)?)"

# (document, sentence pattern with one number, the Thresholds field it must quote)
QUOTES = [
    ("README.md", rf"with a threshold \({NUMBER}\)", "min_transcript_fit"),
    ("docs/usage.md", rf"the transcript fit is below {NUMBER}", "min_transcript_fit"),
    ("docs/usage.md", rf"the product uses their mean, {NUMBER}", "min_transcript_fit"),
    ("docs/usage.md", rf"a word's confidence is below {NUMBER}", "min_word_confidence"),
    ("docs/plot.md", rf"log scale \(red at or under {NUMBER}", "min_word_confidence"),
    ("docs/usage.md", rf"a recording below {NUMBER} is flagged", "min_relative_fit"),
    ("docs/usage.md", rf"the product uses {NUMBER}, the mean", "min_relative_fit"),
    ("docs/usage.md", rf"a word lasts more than {NUMBER} s", "max_word_seconds"),
    ("docs/usage.md", rf"a phone lasts more than {NUMBER} s", "max_phone_seconds"),
    ("docs/usage.md", rf"under {NUMBER}% of the audio is voiced", "min_voiced_share"),
    ("docs/usage.md", rf"a voiced stretch of more than {NUMBER} s there", "max_voiced_outside"),
    ("docs/usage.md", rf"a stretch of speech of more than {NUMBER} s", "max_speech_outside"),
    ("docs/usage.md", rf"between two words holds more than {NUMBER} s of speech", "max_speech_in_pause"),
    ("docs/usage.md", rf"a pause of more than {NUMBER} s lies between two phones", "max_pause_in_word"),
    ("docs/usage.md", rf"a word of {NUMBER} phones or more has none", "squeezed_min_phones"),
    ("docs/usage.md", rf"has none longer than {NUMBER} ms", "squeezed_phone_seconds"),
]
PERCENT = {"min_voiced_share"}  # quoted as a percentage
MILLISECONDS = {"squeezed_phone_seconds"}


@pytest.mark.parametrize("document, pattern, field", QUOTES)
def test_docs_quote_the_thresholds_the_code_applies(document: str, pattern: str, field: str):
    text = " ".join((ROOT / document).read_text(encoding="utf-8").split())  # unwrap lines
    quoted = re.findall(pattern, text)
    assert quoted, f"{document} no longer says {pattern!r}: update this test with the prose"
    applied = getattr(Thresholds(), field) * (100 if field in PERCENT else 1000 if field in MILLISECONDS else 1)
    assert all(float(value) == pytest.approx(applied) for value in quoted), \
        f"{document} quotes {field} as {quoted}, the code applies {applied}"


def test_the_threshold_option_lists_every_limit_with_its_default():
    """docs/usage.md lists what `--threshold` accepts: every field of Thresholds, at its default."""
    from dataclasses import fields

    text = " ".join((ROOT / "docs/usage.md").read_text(encoding="utf-8").split())
    paragraph = text[text.index("These limits can be set for a run with `--threshold NAME=VALUE`"):]
    paragraph = paragraph[: paragraph.index("They were set on")]
    listed = {name: float(value) for name, value in re.findall(rf"`(\w+)` \({NUMBER}", paragraph)}
    assert listed == {f.name: float(getattr(Thresholds(), f.name)) for f in fields(Thresholds)}
