"""The voices the recipe uses, their split, and their measured timing-bias corrections.

Why a registry: the split (which voices are held out for the unseen-voice test) and the bias
corrections must be the same on every rebuild. `bias` is added to every gold time of that voice
(positive when the audio lags the engine's own timings); values come from `python -m
recipes.synth.bias` (utterance onsets), corrected by `python -m recipes.synth.landmarks` (the
sound changes inside the utterances, session 55), and are documented in docs/corpus.md. flite
is never used: its voices are reserved for external evaluation.

Dropped after measurement (see docs/corpus.md): Festival don_diphone (10 kHz; onsets scattered
from -40 to -58 ms, ends +106 ms) and espeak-ng mb-en1 (mbrola reports missing diphones such as
O2-n and replaces them with silence, so the gold would claim phones where there is none).

Test split (unseen voices, one per engine family): Festival ked_diphone, the mbrola us2 speaker
(through Festival and through espeak-ng), and the espeak-ng native en-029 (Caribbean) voice
with its variants. No other split ever uses them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Voice:
    speaker: str          # directory name in the corpus
    engine: str           # "festival" or "espeak"
    name: str             # engine voice name (espeak: language voice, variant added per speaker)
    table: str            # phonemap table
    split: str            # "train" (train + dev), "test" or "unseen-dev" (held-out voices)
    bias: float = 0.0     # seconds added to every gold time


FESTIVAL = [
    Voice("fest-kal", "festival", "kal_diphone", "festival_radio", "train", 0.0155),
    Voice("fest-rab", "festival", "rab_diphone", "festival_mrpa", "train", 0.014),
    Voice("fest-slt", "festival", "cmu_us_slt_arctic_hts", "festival_radio", "train", 0.0115),
    Voice("fest-us1", "festival", "us1_mbrola", "festival_radio", "train", 0.012),
    Voice("fest-us3", "festival", "us3_mbrola", "festival_radio", "train", 0.032),
    Voice("fest-en1", "festival", "en1_mbrola", "festival_mrpa", "train", 0.0105),
    Voice("fest-ked", "festival", "ked_diphone", "festival_radio", "test", 0.0115),
    Voice("fest-us2", "festival", "us2_mbrola", "festival_radio", "test", 0.012),
]

_ESPEAK_TRAIN_LANGS = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                       "en-gb-x-gbcwmd", "en-us-nyc"]
_VARIANTS = ["m1", "m3", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt3",
             "croak", "whisper", "Andy", "belinda", "grandma", "john", "linda", "robert", "steph"]

ESPEAK_NATIVE = [
    Voice(f"esp-{lang}-{var}", "espeak", f"{lang}+{var}", "espeak", "train")
    for i, lang in enumerate(_ESPEAK_TRAIN_LANGS)
    for var in _VARIANTS[i % 3::3]
] + [Voice(f"esp-en-029-{var}", "espeak", f"en-029+{var}", "espeak", "test")
     for var in ("m2", "f3")]

ESPEAK_MBROLA = [
    Voice("mb-us1", "espeak", "mb-us1", "espeak", "train", -0.0525),
    Voice("mb-us3", "espeak", "mb-us3", "espeak", "train", -0.0305),
    Voice("mb-us2", "espeak", "mb-us2", "espeak", "test", -0.0505),
]

# espeak-ng's English voices on other languages' mbrola diphone sets ("mb-de4-en": English
# phonemes mapped onto a German speaker's diphones): more real speakers behind diphone
# synthesis, the kind of voice the unseen-voice test holds (ked, us2), with foreign accents.
# Two are held out of training as an unseen-voice dev split, so choices that are about new
# voices can be made without the test voices. Added in session 6 (docs/corpus.md).
_MBROLA_CROSS_TRAIN = ["af1", "de1", "de2", "de3", "de4", "de6", "fr1", "fr4", "gr2", "hu1", "pl1",
                       "ro1", "sw1", "sw2"]
_MBROLA_CROSS_HELDOUT = ["de5", "nl2"]
# bias: mean of the onset and end medians of `python -m recipes.synth.bias --voices mbx- --n 30`,
# to 2.5 ms (16 kHz databases lag ~55 ms, 22.05 kHz ones ~40 ms, like mb-us1 and mb-us3)
_MBROLA_CROSS_BIAS = {"af1": -0.055, "de1": -0.0575, "de2": -0.055, "de3": -0.04, "de4": -0.0525, "de6": -0.0375, "fr1": -0.0575, "fr4": -0.04, "gr2": -0.04, "hu1": -0.0575, "pl1": -0.0575, "ro1": -0.055, "sw1": -0.0525, "sw2": -0.055, "de5": -0.04, "nl2": -0.055}
ESPEAK_MBROLA_CROSS = [
    Voice(f"mbx-{db}-en", "espeak", f"mb-{db}-en", "espeak", "train", _MBROLA_CROSS_BIAS[db])
    for db in _MBROLA_CROSS_TRAIN
] + [Voice(f"mbx-{db}-en", "espeak", f"mb-{db}-en", "espeak", "unseen-dev", _MBROLA_CROSS_BIAS[db])
     for db in _MBROLA_CROSS_HELDOUT]

MAIN = FESTIVAL + ESPEAK_NATIVE + ESPEAK_MBROLA    # the main corpus ($DATA/synth)
ALL = MAIN + ESPEAK_MBROLA_CROSS                  # the cross-language set is its own corpus
BY_SPEAKER = {v.speaker: v for v in ALL}


def select(names: str | None) -> list[Voice]:
    """Comma-separated speaker names (or prefixes like 'fest-', 'mbx-') -> voices; None = the
    main corpus's voices (MAIN), so its rebuild does not change when voices are added."""
    if not names:
        return list(MAIN)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    out = [v for v in ALL if any(v.speaker == w or (w.endswith("-") and v.speaker.startswith(w))
                                 for w in wanted)]
    unknown = [w for w in wanted if not w.endswith("-") and w not in BY_SPEAKER]
    if unknown:
        raise ValueError(f"unknown voice(s): {', '.join(unknown)}")
    return out
