"""Forced alignment with pocketsphinx 5, the peer that runs offline, as an `Alignment`.

Recipe (docs/DATA.md): a Decoder without a language model and with `bestpath=False` (with the
default a third of utterances fail), `set_align_text`, decode, `set_alignment()`, decode again,
`get_alignment()`; frames are 10 ms. Words go through the project's text front-end so numbers,
abbreviations and punctuation become words pocketsphinx can say; a word its dictionary lacks is
added with the pronunciation our front-end gives it (the same one ottc-align would use), so both
systems align the same phones. Its phones are CMU ARPAbet plus SIL; the evaluation folds them.
When the default beams lose the path ("Failed to set up sub-word alignment"), the utterance is
tried once more with much wider beams, as other aligners retry; only then is it a failure.

Install with `pip install 'ottc-align[bench]'` (or `pip install pocketsphinx`).

    python benchmarks/pocketsphinx_align.py AUDIO TRANSCRIPT OUT.TextGrid
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.alignment import Alignment, Interval

FRAME = 0.01
WIDE_BEAMS = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}
_SAFE = re.compile(r"^[a-z'.-]+$")


class PocketsphinxError(RuntimeError):
    """pocketsphinx could not align this utterance (message says why)."""


class PocketsphinxAligner:
    """One reusable pocketsphinx Decoder configured for forced alignment."""

    def __init__(self, retry_wide: bool = True) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise PocketsphinxError(
                "pocketsphinx is not installed: pip install 'ottc-align[bench]'") from None
        from aligner.text.frontend import load_lexicon

        self._decoder_class = Decoder
        self.decoder = self._new_decoder()
        self.retry_wide = retry_wide
        self._wide = None
        self.lexicon = load_lexicon()

    def _new_decoder(self, **beams: float):
        return self._decoder_class(lm=None, bestpath=False, loglevel="FATAL", samprate=16000, **beams)

    def _known(self, decoder, word: str) -> bool:
        return bool(_SAFE.match(word)) and decoder.lookup_word(word) is not None

    def _words_for(self, decoder, text: str) -> tuple[list[str], list[int], list[str]]:
        """(pocketsphinx words, token index of each, token spellings) for a transcript."""
        from aligner.text.frontend import parse_transcript

        tokens = parse_transcript(text, self.lexicon)
        ps_words: list[str] = []
        owner: list[int] = []
        for i, tok in enumerate(tokens):
            spoken = [w.lower() for w in tok.spoken]
            if spoken and all(self._known(decoder, w) for w in spoken):
                ps_words += spoken
                owner += [i] * len(spoken)
                continue
            pron = " ".join(p.rstrip("012").upper() for p in tok.pronunciations[0])
            name = f"ottctok_{pron.replace(' ', '_').lower()}"
            if decoder.lookup_word(name) is None:  # each decoder learns a word once
                decoder.add_word(name, pron, True)
            ps_words.append(name)
            owner.append(i)
        return ps_words, owner, [t.text for t in tokens]

    def align(self, audio: Path | str | np.ndarray, text: str) -> Alignment:
        """Align one utterance; raises PocketsphinxError (or TranscriptError, AudioError)."""
        from aligner.audio import load_audio

        wave = load_audio(Path(audio)) if not isinstance(audio, np.ndarray) else audio
        pcm = (np.clip(wave, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        duration = len(wave) / 16000
        try:
            return self._align_with(self.decoder, pcm, duration, text)
        except PocketsphinxError:
            if not self.retry_wide:
                raise
        if self._wide is None:
            self._wide = self._new_decoder(**WIDE_BEAMS)
        return self._align_with(self._wide, pcm, duration, text)

    def _align_with(self, d, pcm: bytes, duration: float, text: str) -> Alignment:
        ps_words, owner, spellings = self._words_for(d, text)
        try:
            d.set_align_text(" ".join(ps_words))
            for first in (True, False):
                d.start_utt()
                d.process_raw(pcm, full_utt=True)
                d.end_utt()
                if first:
                    d.set_alignment()
            result = d.get_alignment()
        except (RuntimeError, ValueError) as err:
            raise PocketsphinxError(f"pocketsphinx failed: {err}") from None
        if result is None:
            raise PocketsphinxError("pocketsphinx found no alignment")
        phones: list[Interval] = []
        word_spans: list[tuple[float, float]] = []
        for w in result:
            name = re.sub(r"\(\d+\)$", "", w.name)
            if name.startswith(("<", "[", "+")):
                continue
            start, end = w.start * FRAME, (w.start + w.duration) * FRAME
            word_spans.append((start, end))
            for p in w:
                phones.append(Interval(p.start * FRAME, (p.start + p.duration) * FRAME, p.name))
        if len(word_spans) != len(ps_words):
            raise PocketsphinxError(f"pocketsphinx aligned {len(word_spans)} of {len(ps_words)} words")
        words: list[Interval] = []
        for i, spelling in enumerate(spellings):
            mine = [span for span, o in zip(word_spans, owner) if o == i]
            words.append(Interval(mine[0][0], mine[-1][1], spelling))
        return Alignment(words=words, phones=phones, duration=duration)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    from aligner.formats import write_textgrid
    from aligner.text.frontend import read_transcript

    try:
        ali = PocketsphinxAligner().align(Path(args[0]), read_transcript(Path(args[1])))
    except (ValueError, RuntimeError) as err:
        print(f"error: {args[0]}: {err}", file=sys.stderr)
        return 1
    write_textgrid(ali, Path(args[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
