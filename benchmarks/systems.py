"""The aligners the benchmarks compare, behind one small interface.

A system turns (audio, transcript) into an `Alignment` or raises. `run_cached` aligns a list of
utterances into a cache directory (one TextGrid per utterance, or a `.failed` file with the
reason), skipping what is already there, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Utterance  # noqa: E402


@dataclass
class OttcSystem:
    """ottc-align (an OTTC or a CTC model) with one decoding method."""

    model: Path
    method: str = "ot"
    device: str = "cpu"
    name: str = ""
    _aligner: object = field(default=None, repr=False)

    def load(self) -> None:
        if self._aligner is None:
            from aligner import Aligner

            self._aligner = Aligner.load(self.model, device=self.device)

    def align(self, audio: Path, transcript: Path):
        self.load()
        return self._aligner.align(audio, transcript, method=self.method)


@dataclass
class PocketsphinxSystem:
    """pocketsphinx 5 forced alignment (benchmarks/pocketsphinx_align.py)."""

    name: str = "pocketsphinx"
    _aligner: object = field(default=None, repr=False)

    def load(self) -> None:
        if self._aligner is None:
            from benchmarks.pocketsphinx_align import PocketsphinxAligner

            self._aligner = PocketsphinxAligner()

    def align(self, audio: Path, transcript: Path):
        from aligner.text.frontend import read_transcript

        self.load()
        return self._aligner.align(audio, read_transcript(transcript))


def output_path(out_dir: Path, utt: Utterance) -> Path:
    return out_dir / f"{utt.key}.TextGrid"


def failure_path(out_dir: Path, utt: Utterance) -> Path:
    return out_dir / f"{utt.key}.failed"


def fingerprint_path(out_dir: Path, utt: Utterance) -> Path:
    return out_dir / f"{utt.key}.source"


def fingerprint(utt: Utterance) -> str:
    """Identity of an utterance's inputs (path, size, mtime of audio and transcript): a cached
    output is reused only for the very same inputs, so a rebuilt corpus is realigned."""
    parts = []
    for p in (utt.audio, utt.transcript):
        st = p.stat()
        parts.append(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts) + "\n"


def is_cached(out_dir: Path, utt: Utterance) -> bool:
    fp = fingerprint_path(out_dir, utt)
    if not fp.exists() or fp.read_text(encoding="utf-8") != fingerprint(utt):
        return False
    return output_path(out_dir, utt).exists() or failure_path(out_dir, utt).exists()


def run_cached(system, utts: list[Utterance], out_dir: Path, fresh: bool = False,
               progress: bool = True) -> dict[str, float]:
    """Align every utterance not yet in `out_dir`; returns {"aligned", "failed", "seconds"}."""
    from aligner.formats import write_textgrid

    done = failed = 0
    start = time.perf_counter()
    todo = [u for u in utts if fresh or not is_cached(out_dir, u)]
    for n, utt in enumerate(todo, 1):
        out, bad, fp = output_path(out_dir, utt), failure_path(out_dir, utt), fingerprint_path(out_dir, utt)
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in (out, bad, fp):
            stale.unlink(missing_ok=True)
        try:
            ali = system.align(utt.audio, utt.transcript)
            write_textgrid(ali, out)
            done += 1
        except KeyboardInterrupt:
            raise
        except Exception as err:  # any failure of a system on one utterance is a result
            bad.write_text(f"{type(err).__name__}: {err}\n", encoding="utf-8")
            failed += 1
        fp.write_text(fingerprint(utt), encoding="utf-8")
        if progress and (n % 25 == 0 or n == len(todo)):
            print(f"  {system.name}: {n}/{len(todo)} aligned ({failed} failed), "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return {"aligned": done, "failed": failed, "seconds": time.perf_counter() - start}


def failure_reason(out_dir: Path, utt: Utterance) -> str | None:
    if not is_cached(out_dir, utt):
        return "not aligned"
    bad = failure_path(out_dir, utt)
    if bad.exists():
        return bad.read_text(encoding="utf-8").strip() or "failed"
    if not output_path(out_dir, utt).exists():
        return "not aligned"
    return None
