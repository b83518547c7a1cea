"""Letters -> ARPAbet for words no dictionary has.

The shipped model (`data/g2p.safetensors`, trained by `recipes/g2p/train_g2p.py` on CMUdict
with words held out; see docs/g2p.md) is loaded the first time an unknown word appears, so
start-up does not pay for it. If the weights are missing, a crude letter-to-sound rule table
keeps the front-end working (every word still gets phones, just worse ones).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).parent / "data" / "g2p.safetensors"

# Longest-match letter-to-sound rules: a fallback only, used when no model weights are shipped.
_RULES: dict[str, list[str]] = {
    "tch": ["CH"], "sch": ["S", "K"], "igh": ["AY1"], "ough": ["AO1"], "tion": ["SH", "AH0", "N"],
    "sion": ["ZH", "AH0", "N"], "th": ["TH"], "sh": ["SH"], "ch": ["CH"], "ph": ["F"],
    "wh": ["W"], "ck": ["K"], "ng": ["NG"], "qu": ["K", "W"], "gh": [], "kn": ["N"],
    "wr": ["R"], "ee": ["IY1"], "ea": ["IY1"], "oo": ["UW1"], "ou": ["AW1"], "ow": ["OW1"],
    "oa": ["OW1"], "ai": ["EY1"], "ay": ["EY1"], "oi": ["OY1"], "oy": ["OY1"], "au": ["AO1"],
    "aw": ["AO1"], "ie": ["IY1"], "ei": ["EY1"], "er": ["ER0"], "ar": ["AA1", "R"],
    "or": ["AO1", "R"], "ir": ["ER1"], "ur": ["ER1"],
    "a": ["AE1"], "b": ["B"], "c": ["K"], "d": ["D"], "e": ["EH1"], "f": ["F"], "g": ["G"],
    "h": ["HH"], "i": ["IH1"], "j": ["JH"], "k": ["K"], "l": ["L"], "m": ["M"], "n": ["N"],
    "o": ["AA1"], "p": ["P"], "q": ["K"], "r": ["R"], "s": ["S"], "t": ["T"], "u": ["AH1"],
    "v": ["V"], "w": ["W"], "x": ["K", "S"], "y": ["IY0"], "z": ["Z"],
}
_MAX_RULE = max(len(k) for k in _RULES)


def rules_g2p(word: str) -> list[str]:
    """Greedy longest-match spelling rules; silent final 'e' after a consonant."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) > 2 and w.endswith("e") and w[-2] not in "aeiouy":
        w = w[:-1]
    out: list[str] = []
    i = 0
    while i < len(w):
        for n in range(min(_MAX_RULE, len(w) - i), 0, -1):
            chunk = w[i: i + n]
            if chunk in _RULES:
                out += _RULES[chunk]
                i += n
                break
        else:
            i += 1
    # collapse doubled consonants ("ll" -> L)
    dedup = [p for k, p in enumerate(out) if k == 0 or p != out[k - 1]]
    return dedup or ["AH0"]


@lru_cache(maxsize=1)
def _model():
    """The trained model, or None when no weights are shipped (then the rules are used)."""
    if not MODEL_PATH.exists():
        return None
    from aligner.text.g2p_model import G2PModel

    return G2PModel.load(MODEL_PATH)


@lru_cache(maxsize=100_000)
def _predict(word: str) -> tuple[tuple[str, ...], ...]:
    model = _model()
    if model is None:
        return (tuple(rules_g2p(word)),)
    return tuple(tuple(p) for p in model.predict([word])[0])


def predict(word: str) -> list[list[str]]:
    """Pronunciation variants (ARPAbet with stress) for a lowercase word of letters a-z."""
    return [list(p) for p in _predict(word.lower())]
