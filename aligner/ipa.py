"""The phones tier in IPA: each ARPAbet phone written as the IPA symbol of General American.

Why: phoneticians, and users of MFA's IPA models, read and query phones in IPA (a Praat script
that looks for `ʃ` finds none in `SH`). The model and every check work in ARPAbet; this is only
how the written phones are labelled (`ottc-align --ipa`), so the times are the same either way.

Stress is not written: IPA marks it before the syllable, not on the vowel, and a phones tier has
no syllables. It still chooses the vowel where General American has two: AH0 is `ə` and AH1/AH2
`ʌ`, ER0 `ɚ` and ER1/ER2 `ɝ`; a phone without a stress digit (a `--dictionary` entry written
without them) takes the reduced one, as most are (89% of CMUdict's AH are AH0, 82% of its ER
ER0). Labels that are not ARPAbet (`spn`, a pause's `""`) stay as they are. `evaluate --hyp-fold
ipa` reads the result back onto the same 39 phones. A flag on a phone names it as the phones
tier does (the CSV attaches a flag to the phone of its label and time). The Aligner applies it
last (`Aligner.ipa`), so every output, the console and a corpus run's report say the same. Pure:
no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from aligner.alignment import Alignment
from aligner.checks import Flag

ARPABET_IPA: dict[str, str] = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "EH": "ɛ", "ER": "ɝ",
    "EY": "eɪ", "IH": "ɪ", "IY": "i", "OW": "oʊ", "OY": "ɔɪ", "UH": "ʊ", "UW": "u",
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "dʒ",
    "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ",
    "T": "t", "TH": "θ", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}
# unstressed AH and ER: the reduced vowels
UNSTRESSED_IPA: dict[str, str] = {"AH": "ə", "ER": "ɚ"}


def ipa_label(label: str) -> str:
    """'AH0' and 'AH' -> 'ə', 'AH1' -> 'ʌ', 'SH' -> 'ʃ'; anything that is not an ARPAbet
    phone with an optional stress digit (`spn`, `""`) is returned as it is."""
    stress = label[-1] if label[-1:] in ("0", "1", "2") else ""
    phone = (label[:-1] if stress else label).upper()
    if phone not in ARPABET_IPA:
        return label
    if stress in ("0", "") and phone in UNSTRESSED_IPA:
        return UNSTRESSED_IPA[phone]
    return ARPABET_IPA[phone]


def with_ipa_phones(alignment: Alignment) -> Alignment:
    """A copy of `alignment` whose phones are labelled in IPA (`ipa_label`), and so are the
    flags on them (`ipa_flag`); words, times, confidences and other flags as they were, and the
    unknown words' generated pronunciations in ARPAbet, as a `--dictionary` takes them."""
    return replace(alignment, phones=[replace(p, label=ipa_label(p.label))
                                      for p in alignment.phones],
                   flags=[ipa_flag(f) for f in alignment.flags])


def ipa_flag(flag: str) -> str:
    """A flag on a phone (`long_phone`, `unheard_vowel`: tier `phones` or `<speaker> - phones`)
    with its label, and the label quoted in its message, in IPA; any other flag as it is."""
    if not isinstance(flag, Flag) or flag.tier.rsplit(" - ", 1)[-1] != "phones" or not flag.label:
        return flag
    ipa = ipa_label(flag.label)
    message = flag.message.replace(f"'{flag.label}'", f"'{ipa}'", 1)
    return Flag(flag.kind, message, flag.tier, flag.start, flag.end, ipa)
