"""Errors of the text front-end.

They are ValueErrors with a one-line message that names the problem (and the file or line where
there is one), so the command line can print them as they are instead of a traceback.
"""

from __future__ import annotations


class TranscriptError(ValueError):
    """A transcript that cannot be read or turned into phones."""


class DictionaryError(TranscriptError):
    """A user pronunciation dictionary with a bad line. A TranscriptError so callers that catch
    transcript problems also catch these (both stop an utterance from being aligned)."""


class UnpronounceableError(TranscriptError):
    """A word with nothing to pronounce it by (no Latin letters or digits: another script). The
    front-end aligns such a word as spoken noise, as MFA does an out-of-vocabulary word, unless
    no word of the transcript can be pronounced."""
