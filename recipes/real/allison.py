"""Prepare the Asterisk "Allison" prompts as real speech in MFA layout (audio + .lab, no timings).

`python -m recipes.real.allison --out $DATA/real/allison`
`python -m recipes.real.allison --codec g722 --sounds DIR --out $DATA/real/allison-wb`

Source: Debian `asterisk-core-sounds-en-wav` (audio, 8 kHz) and `asterisk-core-sounds-en`
(transcripts, `name: text` lines in core-sounds-en.txt.gz), CC-BY-SA-3.0, voice of Allison Smith
(Digium). The same prompts also ship as G.722 (`asterisk-core-sounds-en-g722`: 16 kHz, 50-7000 Hz,
64 kbit/s): wideband real speech, closer to what users record than the 8 kHz telephone band.
`--codec g722` decodes them with the `G722` package (PyPI `g722`, public-domain libg722); get
the files with `apt-get download asterisk-core-sounds-en-g722 && dpkg -x *.deb DIR` and pass
`--sounds DIR/usr/share/asterisk/sounds/en_US_f_Allison`.

Why filter: some lines describe the sound instead of transcribing it ("[ascending tones]", "(10
seconds of silence)", "<beep ascending>", notes in parentheses), and a few prompts contain a
tone; such prompts are dropped, not edited, so every kept .lab says exactly what is spoken.
Audio is resampled to 16 kHz and written as flac.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
DESCRIPTION = re.compile(r"[\[\]<>()]|\bbeep\b|\btone sound\b", re.IGNORECASE)


class RealDataError(RuntimeError):
    """The source package files are missing or unreadable."""


def read_transcripts(path: Path) -> dict[str, str]:
    """`name: text` lines -> {name: text}; comment lines start with ';'."""
    if not path.exists():
        raise RealDataError(f"{path}: missing (install asterisk-core-sounds-en, or apt-get "
                            "download it and dpkg -x it)")
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            out[name.strip()] = " ".join(text.split())
    return out


def keep(text: str) -> bool:
    """True if `text` transcribes speech (no descriptions of sounds, some letters or digits)."""
    return bool(text) and not DESCRIPTION.search(text) and re.search(r"[A-Za-z0-9]", text) is not None


def read_g722(path: Path) -> np.ndarray:
    """A raw G.722 file (64 kbit/s, the Asterisk format) -> float32 samples at 16 kHz."""
    try:
        from G722 import G722
    except ImportError:
        raise RealDataError("--codec g722 needs the G722 package: pip install g722") from None
    pcm = np.asarray(G722(16000, 64000).decode(path.read_bytes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def read_prompt(sounds: Path, name: str, codec: str) -> np.ndarray | None:
    """One prompt's audio as float32 mono at 16 kHz, or None when the file is missing."""
    path = sounds / f"{name}.{codec}"
    if not path.exists():
        return None
    if codec == "g722":
        return read_g722(path)
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if sr != 16000:
        audio = soxr.resample(audio, sr, 16000).astype(np.float32)
    return audio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Prepare the Asterisk Allison prompts (MFA layout).")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sounds", type=Path, default=SOUNDS)
    ap.add_argument("--transcripts", type=Path, default=TRANSCRIPTS)
    ap.add_argument("--codec", choices=("wav", "g722"), default="wav",
                    help="which package's audio --sounds holds (wav: 8 kHz; g722: 16 kHz wideband)")
    a = ap.parse_args(argv)
    try:
        texts = read_transcripts(a.transcripts)
    except RealDataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    kept = dropped_text = missing = 0
    seconds = 0.0
    for name, text in sorted(texts.items()):
        if not keep(text):
            dropped_text += 1
            continue
        try:
            audio = read_prompt(a.sounds, name, a.codec)
        except RealDataError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if audio is None:
            missing += 1
            continue
        if len(audio) < 1600:
            dropped_text += 1
            continue
        utt = name.replace("/", "_")
        sf.write(a.out / f"{utt}.flac", audio, 16000, subtype="PCM_16")
        (a.out / f"{utt}.lab").write_text(text + "\n", encoding="utf-8")
        kept += 1
        seconds += len(audio) / 16000
    print(f"allison: kept {kept} prompts ({seconds / 60:.1f} min), dropped {dropped_text} "
          f"descriptions/empty, {missing} without audio -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
