"""The phone inventory the acoustic model predicts.

The model's output classes are fixed here, once, so that the text front-end, the model, the
decoders and the writers agree on what index means what. ARPAbet's 39 phones (CMUdict's set
without stress), a silence class for pauses the transcript does not show, and a blank class that
only the CTC baseline uses (OTTC never targets it, but keeping it makes the two models the same
shape, so the baseline is a like-for-like comparison).
"""

from __future__ import annotations

PHONES: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
    "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
BLANK = "<blank>"
SILENCE = "sil"
VOCAB: tuple[str, ...] = (BLANK, SILENCE) + PHONES
BLANK_ID = 0
SILENCE_ID = 1
PHONE_TO_ID: dict[str, int] = {p: i for i, p in enumerate(VOCAB)}


def strip_stress(phone: str) -> str:
    """'AH0' -> 'AH': the model is trained on stressless phones; stress stays in the lexicon."""
    return phone.rstrip("012")


def phone_ids(phones: list[str]) -> list[int]:
    """Map ARPAbet phones (stress marks allowed) to model class indices; unknown phones raise."""
    try:
        return [PHONE_TO_ID[strip_stress(p).upper()] for p in phones]
    except KeyError as err:
        raise ValueError(f"not an ARPAbet phone: {err.args[0]!r}") from None
