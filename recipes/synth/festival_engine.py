"""Festival: synthesise a batch of utterances with one voice in one `festival -b` process.

Why one process per batch: starting Festival and loading a voice costs more than synthesising a
sentence. For every utterance the Scheme script saves the wave and prints, per word, how many
id, then every segment with its end time and the id
of its word (through SylStructure). A segment a post-lexical rule added outside any syllable
(ked_diphone's "er r") is merged into the phone before it, when that is "er", or else given to
the previous word.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .gold import Segment


@dataclass
class FestivalRequest:
    utt_id: str
    text: str              # what the engine reads: spoken words + punctuation
    words: list[str]       # expected spoken words (lower case), checked against Festival's
    stretch: float = 1.0   # Duration_Stretch (>1 slower)
    f0_scale: float = 1.0  # scales the voice's target F0 mean (and std) for int_lr voices


@dataclass
class EngineResult:
    utt_id: str
    audio: np.ndarray | None
    sample_rate: int
    segments: list[Segment]
    error: str = ""


def _scheme_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SCRIPT_HEAD = """
(define (seg_count w)
  (apply + (mapcar (lambda (syl) (length (item.daughters syl)))
                   (item.relation.daughters w 'SylStructure))))
(define (dump u id)
  (format t "UTT %s\\n" id)
  (mapcar (lambda (w) (format t "W %s %s\\n" (item.name w) (item.feat w "id")))
          (utt.relation.items u 'Word))
  (mapcar (lambda (s) (format t "S %s %f %s\\n" (item.name s) (item.feat s "end")
                              (item.feat s "R:SylStructure.parent.parent.id")))
          (utt.relation.items u 'Segment))
  (format t "END\\n"))
"""


def synthesize_batch(voice: str, requests: list[FestivalRequest], workdir: Path,
                     timeout: float = 600.0) -> list[EngineResult]:
    """Run Festival once for `requests`; each result holds audio (float32) and raw segments
    (Festival phone names, seconds, spoken-word index) or an error string."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"(voice_{voice})", "(set! base_lr int_lr_params)", _SCRIPT_HEAD]
    for r in requests:
        wav = workdir / f"{r.utt_id}.wav"
        lines.append(f"(set! Duration_Stretch {r.stretch:.4f})")
        lines.append(
            "(if base_lr (set! int_lr_params (list"
            f" (list 'target_f0_mean (* {r.f0_scale:.4f} (car (cdr (assoc 'target_f0_mean base_lr)))))"
            f" (list 'target_f0_std (* {r.f0_scale:.4f} (car (cdr (assoc 'target_f0_std base_lr)))))"
            " (assoc 'model_f0_mean base_lr) (assoc 'model_f0_std base_lr))))")
        lines.append(f"(set! u (SynthText {_scheme_string(r.text)}))")
        lines.append(f"(utt.save.wave u {_scheme_string(str(wav))} 'riff)")
        lines.append(f"(dump u {_scheme_string(r.utt_id)})")
    with tempfile.NamedTemporaryFile("w", suffix=".scm", dir=workdir, delete=False) as f:
        f.write("\n".join(lines) + "\n")
        script = Path(f.name)
    proc = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True,
                          timeout=timeout)
    script.unlink(missing_ok=True)
    parsed = _parse(proc.stdout)
    results = []
    for r in requests:
        wav = workdir / f"{r.utt_id}.wav"
        if r.utt_id not in parsed or not wav.exists():
            results.append(EngineResult(r.utt_id, None, 0, [], "festival produced no output: "
                                        + proc.stderr.strip().splitlines()[-1:][0]
                                        if proc.stderr.strip() else "festival produced no output"))
            continue
        audio, sr = sf.read(wav, dtype="float32")
        wav.unlink()
        words, segs = parsed[r.utt_id]
        results.append(_assign(r, audio, sr, words, segs))
    return results


def _parse(stdout: str) -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, float, str]]]]:
    out: dict[str, tuple[list, list]] = {}
    cur = None
    for line in stdout.splitlines():
        parts = line.split(" ")
        if parts[0] == "UTT":
            cur = ([], [])
            out[parts[1]] = cur
        elif cur is not None and parts[0] == "W" and len(parts) >= 3:
            cur[0].append((" ".join(parts[1:-1]), parts[-1]))
        elif cur is not None and parts[0] == "S" and len(parts) == 4:
            cur[1].append((parts[1], float(parts[2]), parts[3]))
    return out


PAUSES = {"pau", "#", "h#", "brth"}


def group_words(engine: list[str], expected: list[str]) -> list[int] | None:
    """Index of the expected word each engine word belongs to, where the engine splits a word
    ("robert's" -> robert 's, "sql" -> s q l); None if the two lists cannot be matched."""
    out: list[int] = []
    k = 0
    for i, target in enumerate(expected):
        acc = ""
        while k < len(engine) and len(acc) < len(target):
            acc += engine[k]
            out.append(i)
            k += 1
        if acc != target:
            return None
    return out if k == len(engine) else None


def _assign(r: FestivalRequest, audio: np.ndarray, sr: int, words: list[tuple[str, str]],
            segs: list[tuple[str, float, str]]) -> EngineResult:
    names = [w.lower() for w, _ in words]
    owner = group_words(names, [w.lower() for w in r.words])
    if owner is None:
        return EngineResult(r.utt_id, None, sr, [],
                            f"word mismatch: festival {names} vs expected {r.words}")
    index = {wid: owner[i] for i, (_, wid) in enumerate(words)}
    segments: list[Segment] = []
    start = 0.0
    for name, end, wid in segs:
        if name in PAUSES:
            segments.append(Segment(name, start, end, -1))
        elif wid in index:
            segments.append(Segment(name, start, end, index[wid]))
        else:
            prev = next((s for s in reversed(segments) if s.word >= 0), None)
            if prev is None:
                return EngineResult(r.utt_id, None, sr, [], "segment outside any word")
            if name == "r" and prev is segments[-1] and prev.phone == "er":
                prev.end = end
            else:
                segments.append(Segment(name, start, end, prev.word))
        start = end
    return EngineResult(r.utt_id, audio, sr, segments)
