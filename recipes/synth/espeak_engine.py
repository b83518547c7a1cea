"""espeak-ng (native formant voices with variants, and mbrola voices) through libespeak-ng.

Why the library and not the command line: in synchronous mode the library reports a PHONEME
event at the exact sample where each phone starts, and a text position that says which word it
belongs to. Two engine quirks are handled here:
- Stops and affricates: the event marks the release burst; the silent closure before it is
  counted in the previous phone. The boundary is moved back to where the closure starts (the
  first quiet 2 ms frame, searching back from the burst), the usual labelling convention. An
  mbrola voice's events lag its audio by about 30-55 ms (the voice's `bias`), so its search
  starts where the audio has the event: searched at the lagging event, it walked back from
  inside the closure to the closure's true start, and the bias then put the boundary that much
  before it (mb-us2's S-T boundaries sat 50 ms early in the frication).
- mbrola voices: the phone times are right but the text positions are not, so the same text is
  also run through the native voice of the same language, and the word of each phone is copied
  over position by position when the two phone sequences have the same length (they differ only
  in allophone names such as i/I); otherwise the utterance is dropped.
"""

from __future__ import annotations

import bisect
import ctypes
import os
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from .frication import FRAME_S, quiet_level
from .gold import Segment

AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS = 0x0001
EV_PHONEME, EV_SAMPLERATE = 7, 8  # espeak_EVENT_TYPE values
P_RATE, P_PITCH, P_RANGE, P_WORDGAP = 1, 3, 4, 7  # espeak_PARAMETER values
STOPS = {"p", "t", "k", "b", "d", "g", "tS", "dZ", "t#", "d#", "t2", "d2", "k2"}
IGNORED = {b";", b"", b"'", b","}   # linking/stress marks, not phones: time goes to the previous phone
MBROLA_NATIVE = {"mb-us1": "en-us", "mb-us2": "en-us", "mb-us3": "en-us", "mb-en1": "en"}


def native_reference(voice: str) -> str | None:
    """The native espeak-ng voice whose phones and word positions an mbrola voice copies, or None
    for a native voice. English on another language's diphone set ("mb-de4-en") says "language
    en" in its voice file, so any such voice uses "en"."""
    if voice in MBROLA_NATIVE:
        return MBROLA_NATIVE[voice]
    return "en" if voice.startswith("mb-") and voice.endswith("-en") else None


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass
class EspeakRequest:
    utt_id: str
    text: str
    words: list[str]
    voice: str
    rate: float = 1.0      # speaking-rate factor (1 = 175 words per minute)
    pitch: float = 1.0     # pitch factor around the voice's default
    wordgap: int = 0       # extra pause between words, units of 10 ms
    bias: float = 0.0      # the voice's bias (voices.Voice): the audio is at event time + bias


@dataclass
class EspeakResult:
    utt_id: str
    audio: np.ndarray | None
    sample_rate: int
    segments: list[Segment]
    error: str = ""


class _Lib:
    """One libespeak-ng per process (the library is global state)."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.sr = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INIT_PHONEME_EVENTS)
        if self.sr <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self.chunks: list[bytes] = []
        self.events: list[tuple[int, int, int, bytes]] = []
        self._cb = _CALLBACK(self._callback)
        self.lib.espeak_SetSynthCallback(self._cb)
        self.voice = ""
        self._counts: dict[tuple[str, str], int] = {}

    def _callback(self, wav, n, ev) -> int:
        if wav and n > 0:
            self.chunks.append(ctypes.string_at(wav, n * 2))
        i = 0
        while ev[i].type != 0:
            e = ev[i]
            self.events.append((e.type, e.text_position, e.sample, bytes(e.id)))
            i += 1
        return 0

    def word_phone_count(self, word: str) -> int:
        """Phones espeak gives `word` said alone, with the current voice's language."""
        key = (self.voice, word)
        if key not in self._counts:
            f = self.lib.espeak_TextToPhonemes
            f.restype = ctypes.c_char_p
            f.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
            buf = ctypes.c_char_p(word.encode("utf-8"))
            out = (f(ctypes.byref(buf), 0, ord("|") << 8) or b"").decode("utf-8", "replace")
            pieces = [q.strip("'ˈˌ,") for q in out.replace(" ", "|").split("|")]
            self._counts[key] = sum(1 for q in pieces if q and q.encode() not in IGNORED)
        return self._counts[key]

    def synth(self, voice: str, text: str, rate: float, pitch: float, wordgap: int):
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng voice not found: {voice}")
        self.voice = voice
        self.lib.espeak_SetParameter(P_RATE, int(round(175 * rate)), 0)
        self.lib.espeak_SetParameter(P_PITCH, int(np.clip(round(50 * pitch), 5, 95)), 0)
        self.lib.espeak_SetParameter(P_RANGE, 50, 0)
        self.lib.espeak_SetParameter(P_WORDGAP, int(wordgap), 0)
        self.chunks, self.events = [], []
        data = text.encode("utf-8")
        # mbrola prints "Warning: O2-n unknown, replaced with _-_" when a voice lacks a
        # diphone and puts silence there; catch it on fd 2 so the utterance can be dropped.
        with tempfile.TemporaryFile() as tf:
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(tf.fileno(), 2)
            try:
                self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tf.seek(0)
            self.warnings = tf.read().decode("utf-8", "replace")
        audio = np.frombuffer(b"".join(self.chunks), dtype=np.int16).astype(np.float32) / 32768
        sr = self.sr
        phones: list[tuple[str, int, int]] = []   # (name, sample, text_position)
        for typ, pos, sample, ident in self.events:
            if typ == EV_SAMPLERATE:
                sr = int.from_bytes(ident[:4], "little")
            elif typ == EV_PHONEME and ident.split(b"\0")[0] not in IGNORED:
                phones.append((ident.split(b"\0")[0].decode("utf-8", "replace"), sample, pos))
        return audio, sr, phones


_LIB: _Lib | None = None


def _lib() -> _Lib:
    global _LIB
    if _LIB is None:
        _LIB = _Lib()
    return _LIB


def word_offsets(text: str) -> list[int]:
    """1-based character offsets of the whitespace-separated words (espeak's text positions)."""
    out, i = [], 0
    for tok in text.split(" "):
        if tok:
            out.append(i + 1)
        i += len(tok) + 1
    return out


def closure_start(audio: np.ndarray, sr: int, burst: int, lower: int, level: float) -> int:
    """Sample where the silent closure before a burst at `burst` begins (not before `lower`):
    2 ms frames under `level` (`frication.quiet_level` of the recording)."""
    step = max(1, round(FRAME_S * sr))
    b = burst
    while b - step >= lower:
        frame = audio[b - step:b]
        if frame.size == 0 or np.sqrt(np.mean(frame**2)) > level:
            break
        b -= step
    return b


def _segments(phones: list[tuple[str, int, int]], n_samples: int, sr: int,
              word_of: list[int], audio: np.ndarray, bias: float = 0.0) -> list[Segment]:
    """The phones as segments on espeak's event times (the caller adds the voice's bias), each
    stop moved back to its closure's start, which is searched for in the audio at event + bias."""
    starts = [p[1] for p in phones]
    ends = starts[1:] + [n_samples]
    segs: list[Segment] = []
    for k, (name, st, _) in enumerate(phones):
        segs.append(Segment(name, st / sr, max(ends[k], st) / sr, word_of[k]))
    shift = int(round(bias * sr))
    level = quiet_level(audio)
    for k in range(1, len(segs)):
        if phones[k][0] in STOPS and segs[k - 1].end > segs[k - 1].start:
            prev_start = int(segs[k - 1].start * sr)
            lower = prev_start + (ends[k - 1] - prev_start) // 4 if not phones[k - 1][0].startswith("_") else prev_start
            burst = min(max(phones[k][1] + shift, 0), len(audio))
            c = closure_start(audio, sr, burst, max(lower + shift, 0), level) - shift
            if c < phones[k][1]:
                segs[k - 1].end = c / sr
                segs[k].start = c / sr
    return [s for s in segs if s.end > s.start]


def _word_index(phones: list[tuple[str, int, int]], text: str,
                count=None) -> list[int] | None:
    """Word index of each phone (-1 for pauses) from the text positions. espeak glues function
    words to a neighbour ("from the" reported as one word); such a group's phones are split by
    the phone counts of the words said alone (`count(word)`), or None if those do not add up."""
    offs = word_offsets(text)
    words = text.split()
    out = []
    for name, _, pos in phones:
        if name.startswith("_"):
            out.append(-1)
        else:
            out.append(max(0, bisect.bisect_right(offs, pos) - 1))
    have = set(w for w in out if w >= 0)
    if len(have) == len(offs) or count is None:
        return out
    k = 0
    while k < len(offs):
        if k not in have:
            k += 1
            continue
        m = k + 1
        while m < len(offs) and m not in have:
            m += 1
        if m > k + 1:  # words k+1..m-1 were glued onto word k
            idx = [i for i, w in enumerate(out) if w == k]
            sizes = [count(words[j].strip(".,?!").lower()) for j in range(k, m)]
            if sum(sizes) != len(idx):
                return None
            pos = 0
            for j, n in zip(range(k, m), sizes):
                for i in idx[pos:pos + n]:
                    out[i] = j
                pos += n
        k = m
    return out


def synthesize_one(r: EspeakRequest) -> EspeakResult:
    lib = _lib()
    try:
        audio, sr, phones = lib.synth(r.voice, r.text, r.rate, r.pitch, r.wordgap)
    except ValueError as e:
        return EspeakResult(r.utt_id, None, 0, [], str(e))
    if "unknown, replaced" in lib.warnings:
        return EspeakResult(r.utt_id, None, sr, [], "mbrola missing diphone: replaced by silence")
    if not phones or audio.size == 0:
        return EspeakResult(r.utt_id, None, sr, [], "espeak produced no phones")
    reference = native_reference(r.voice)
    if reference is not None:
        _, _, ref = lib.synth(reference, r.text, r.rate, r.pitch, r.wordgap)
        ref_words = _word_index(ref, r.text, lib.word_phone_count)
        if ref_words is None:
            return EspeakResult(r.utt_id, None, sr, [], "word mismatch: glued words do not split")
        a = [p[0] for p in phones if not p[0].startswith("_")]
        b = [p[0] for p in ref if not p[0].startswith("_")]
        if len(a) != len(b):
            return EspeakResult(r.utt_id, None, sr, [], "mbrola phone sequence differs from native")
        it = iter(w for p, w in zip(ref, ref_words) if not p[0].startswith("_"))
        word_of = [-1 if p[0].startswith("_") else next(it) for p in phones]
    else:
        word_of = _word_index(phones, r.text, lib.word_phone_count)
        if word_of is None:
            return EspeakResult(r.utt_id, None, sr, [], "word mismatch: glued words do not split")
    n_words = len(word_offsets(r.text))
    if n_words != len(r.words) or sorted(set(w for w in word_of if w >= 0)) != list(range(n_words)):
        return EspeakResult(r.utt_id, None, sr, [], "word mismatch: a word got no phones")
    return EspeakResult(r.utt_id, audio, sr, _segments(phones, len(audio), sr, word_of, audio,
                                                          r.bias))


def synthesize_espeak(requests: list[EspeakRequest]) -> list[EspeakResult]:
    return [synthesize_one(r) for r in requests]
