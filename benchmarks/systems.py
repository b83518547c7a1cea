"""The aligners the benchmarks compare, behind one small interface.

A system turns (audio, transcript) into an `Alignment` or raises. `run_all` aligns a list of
utterances with each system into its cache directory (one TextGrid per utterance, or a `.failed`
file with the reason), skipping what is already there, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.decode import DEFAULT_METHOD  # noqa: E402
from aligner.corpus import Utterance  # noqa: E402


_ALIGNERS: dict[tuple[str, str], object] = {}
_LAST: dict[tuple[str, str], tuple] = {}  # per model: (audio path, wave, name, Encoded) of the last file


@dataclass
class OttcSystem:
    """ottc-align (an OTTC or a CTC model) with one decoding method of `decode.DECODERS`.

    Systems that share a model share one loaded Aligner and, when they align the same file one
    after another, its encoded outputs: the decoding methods differ only after the network.
    """

    model: Path
    method: str = DEFAULT_METHOD
    device: str = "cpu"
    name: str = ""

    @property
    def _key(self) -> tuple[str, str]:
        return (str(Path(self.model).resolve()), self.device)

    def load(self):
        if self._key not in _ALIGNERS:
            from aligner import Aligner

            _ALIGNERS[self._key] = Aligner.load(self.model, device=self.device)
        return _ALIGNERS[self._key]

    def align(self, audio: Path, transcript: Path):
        aligner = self.load()
        last = _LAST.get(self._key)
        if last is None or last[0] != str(audio):
            wave, name = aligner.load_waveform(audio)
            last = (str(audio), wave, name, aligner.encode(wave))
            _LAST[self._key] = last
        _, wave, name, encoded = last
        segments = aligner.read_segments(transcript)
        result = aligner.align_waveform(wave, segments, self.method, name, encoded=encoded)
        if len(result) != 1:
            raise ValueError(f"{transcript}: {len(result)} speaker tiers, expected one")
        return result[0]


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
    return out_dir / f"{utt.name}.TextGrid"


def failure_path(out_dir: Path, utt: Utterance) -> Path:
    return out_dir / f"{utt.name}.failed"


def fingerprint_path(out_dir: Path, utt: Utterance) -> Path:
    return out_dir / f"{utt.name}.source"


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


def run_all(jobs: list[tuple[object, Path]], utts: list[Utterance], fresh: bool = False,
            progress: bool = True) -> dict[str, dict[str, float]]:
    """Align each utterance with every (system, out_dir) in turn, skipping cached outputs.

    Going utterance by utterance lets systems on one model reuse its posteriors. Returns, per
    system name, {"aligned", "failed", "seconds"} (seconds spent in that system)."""
    from aligner.formats import write_textgrid

    stats = {s.name: {"aligned": 0, "failed": 0, "seconds": 0.0} for s, _ in jobs}
    start = time.perf_counter()
    todo = [u for u in utts if fresh or any(not is_cached(d, u) for _, d in jobs)]
    for n, utt in enumerate(todo, 1):
        for system, out_dir in jobs:
            if not fresh and is_cached(out_dir, utt):
                continue
            st = stats[system.name]
            out, bad, fp = output_path(out_dir, utt), failure_path(out_dir, utt), fingerprint_path(out_dir, utt)
            out.parent.mkdir(parents=True, exist_ok=True)
            for stale in (out, bad, fp):
                stale.unlink(missing_ok=True)
            t0 = time.perf_counter()
            try:
                ali = system.align(utt.audio, utt.transcript)
                st["seconds"] += time.perf_counter() - t0
                write_textgrid(ali, out)
                st["aligned"] += 1
            except KeyboardInterrupt:
                raise
            except Exception as err:  # any failure of a system on one utterance is a result
                st["seconds"] += time.perf_counter() - t0
                bad.write_text(f"{type(err).__name__}: {err}\n", encoding="utf-8")
                st["failed"] += 1
            fp.write_text(fingerprint(utt), encoding="utf-8")
        if progress and (n % 25 == 0 or n == len(todo)):
            failed = sum(s["failed"] for s in stats.values())
            print(f"  {n}/{len(todo)} utterances ({failed} system failures), "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return stats


def failure_reason(out_dir: Path, utt: Utterance) -> str | None:
    if not is_cached(out_dir, utt):
        return "not aligned"
    bad = failure_path(out_dir, utt)
    if bad.exists():
        return bad.read_text(encoding="utf-8").strip() or "failed"
    if not output_path(out_dir, utt).exists():
        return "not aligned"
    return None
