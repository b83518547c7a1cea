"""The phone inventory the acoustic model predicts.

The model's output classes are fixed here, once, so that the text front-end, the model, the
decoders and the writers agree on what index means what. ARPAbet's 39 phones (CMUdict's set
without stress), a silence class for pauses the transcript does not show, and a blank class that
only the CTC baseline uses (OTTC never targets it, but keeping it makes the two models the same
shape, so the baseline is a like-for-like comparison).

Two more token ids follow the model's classes: transcript markup that has no phones of its own.
`SPN_ID` is spoken noise (MFA's `spn`: `[laughter]`, `<unk>`, cut-off words) and `STAR_ID` the
`<star>` wildcard (any stretch the transcript leaves out, possibly none). The model has no
output for them: the decoders score them from its posteriors (`aligner.states.with_markup_scores`).
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
SPOKEN_NOISE = "spn"  # a pronunciation and the phones-tier label of spoken noise, as in MFA
STAR = "<star>"  # the wildcard's pronunciation; written `spn` on the phones tier
SPN_ID = len(VOCAB)
STAR_ID = len(VOCAB) + 1
MARKUP_IDS = {SPOKEN_NOISE: SPN_ID, STAR: STAR_ID}

# Manner of articulation: a boundary between two manners is an abrupt change in the spectrum
# (frication starts, voicing and formants appear, the closure silences the tract), which
# `aligner.boundaries.snap_to_change` can find in the signal; within a manner it is gradual.
MANNER: dict[str, str] = {
    **dict.fromkeys(("P", "B", "T", "D", "K", "G"), "stop"),
    **dict.fromkeys(("CH", "JH"), "affricate"),
    **dict.fromkeys(("F", "V", "TH", "DH", "S", "Z", "SH", "ZH", "HH"), "fricative"),
    **dict.fromkeys(("M", "N", "NG"), "nasal"),
    **dict.fromkeys(("L", "R", "W", "Y"), "approximant"),
    **dict.fromkeys(("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW",
                     "OY", "UH", "UW"), "vowel"),
}
VOICELESS = frozenset(("P", "T", "K", "CH", "F", "TH", "S", "SH", "HH"))
"""Phones said without the voice: a transcript of these alone ("sss", "shh") is rightly unvoiced."""


def strip_stress(phone: str) -> str:
    """'AH0' -> 'AH': the model is trained on stressless phones; stress stays in the lexicon."""
    return phone.rstrip("012")


def phone_ids(phones: list[str], markup: bool = False) -> list[int]:
    """Map ARPAbet phones (stress marks allowed) to model class indices; unknown phones raise.

    `sil` is the silence class (a user dictionary may map a token to it, as MFA's `{SL} sil`).
    markup: also map `spn` and `<star>` to SPN_ID / STAR_ID (decoding); without it they raise,
    so that training, which needs phones to learn from, skips transcripts with markup."""
    out = []
    for p in phones:
        if p in MARKUP_IDS:
            if not markup:
                raise ValueError(f"transcript markup ({p}) has no phones to train on")
            out.append(MARKUP_IDS[p])
        elif p == SILENCE:
            out.append(SILENCE_ID)
        elif (key := strip_stress(p).upper()) in PHONE_TO_ID:
            out.append(PHONE_TO_ID[key])
        else:
            raise ValueError(f"not an ARPAbet phone: {key!r}")
    return out


def manner(phone: str) -> str | None:
    """'AH0' -> 'vowel'; None for silence, markup and anything outside the inventory."""
    return MANNER.get(strip_stress(phone).upper())


def phone_label(phone: str) -> str:
    """The phones-tier label of a pronunciation symbol: the wildcard is written `spn`."""
    return SPOKEN_NOISE if phone == STAR else phone
