"""Corpus runs: find MFA-style utterances, align each, resume, and report.

An MFA corpus is a folder (speaker subfolders optional, any depth) where each recording
`<utt>.wav|.flac|...` has a transcript `<utt>.lab|.txt|.TextGrid` beside it. Outputs mirror the
folder structure under the output directory. A run skips utterances whose outputs all exist
(outputs are written atomically, so existing means finished), which makes an interrupted run
resumable. Every utterance ends with one `Result`; the report lists failures and flags.

Why results are plain data: the same loop runs in-process, in worker processes (`--jobs`) or in
length-bucketed GPU batches, and the CLI only renders the results.
"""

from __future__ import annotations

import csv
import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aligner.atomic import atomic_open, ensure_dir
from aligner.audio import AUDIO_EXTENSIONS, UNSUPPORTED_EXTENSIONS, unsupported_format_message
from aligner.formats import output_paths, write_outputs

TRANSCRIPT_EXTENSIONS: tuple[str, ...] = (".lab", ".txt", ".textgrid")  # preference order
REPORT_NAME = "alignment_report.csv"


@dataclass(frozen=True)
class Utterance:
    """One recording and its transcript. `name` is the path relative to the corpus root without
    suffix (posix separators): it names the utterance in reports and places its outputs."""

    name: str
    audio: Path
    transcript: Path | None
    speaker: str | None


@dataclass
class Result:
    """What happened to one utterance. status: aligned | skipped | flagged | failed."""

    name: str
    status: str
    reason: str = ""
    duration: float = 0.0
    words: int = 0
    confidence: float | None = None
    flags: list[str] = field(default_factory=list)
    transcript_fit: float | None = None  # the lowest of the recording's speakers (Alignment)

    @property
    def ok(self) -> bool:
        return self.status in ("aligned", "skipped", "flagged")


def find_utterances(root: Path) -> list[Utterance]:
    """Every audio file under `root` (recursively, sorted), paired with its transcript.

    Audio without a transcript is still listed (transcript None) so that it is reported rather
    than silently ignored. The speaker is the first folder below the root (MFA's convention)."""
    root = Path(root)
    found: list[Utterance] = []
    for path in sorted(_walk(root)):
        if path.suffix.lower() not in AUDIO_EXTENSIONS or path.name.startswith("."):
            continue
        rel = path.relative_to(root)
        transcript = find_transcript(path)
        speaker = rel.parts[0] if len(rel.parts) > 1 else None
        found.append(Utterance(rel.with_suffix("").as_posix(), path, transcript, speaker))
    return found


def find_transcript(audio: Path) -> Path | None:
    """`<stem>.lab`, else `.txt`, else `.TextGrid` (any letter case) beside `audio`: MFA's order
    (its corpus loader reads a .lab before a .txt, and either before a TextGrid)."""
    candidates = _siblings(audio)
    for ext in TRANSCRIPT_EXTENSIONS:
        if ext in candidates:
            return candidates[ext]
    return None


def _siblings(path: Path) -> dict[str, Path]:
    """Files named like `path` with another suffix, by lower-case suffix."""
    return {p.suffix.lower(): p for p in path.parent.glob(_glob_escape(path.stem) + ".*")
            if p.stem == path.stem and p.is_file()}


def transcript_conflict(utt: Utterance) -> str | None:
    """A warning when `<utt>.lab` and `<utt>.txt` both exist with different words. The .lab is
    used (as MFA does); without the warning, someone who corrected the .txt would never learn
    that their correction was ignored."""
    if utt.transcript is None or utt.transcript.suffix.lower() != ".lab":
        return None
    txt = _siblings(utt.audio).get(".txt")
    if txt is None:
        return None
    try:
        if utt.transcript.read_bytes().split() == txt.read_bytes().split():
            return None
    except OSError:  # unreadable: reported when the transcript is read
        return None
    return (f"{utt.transcript} and {txt.name} differ; using {utt.transcript.name} "
            "(a .lab is read before a .txt, as in MFA)")


def unreadable_audio(root: Path) -> list[Path]:
    """Recordings in a format libsndfile cannot decode (.m4a, .mp4, .aac, ...) with no readable
    recording of the same name beside them (that would be the converted copy): listed so that
    they are reported with how to convert them rather than silently ignored."""
    return [path for path in sorted(_walk(Path(root)))
            if path.suffix.lower() in UNSUPPORTED_EXTENSIONS and path.name[:1] != "."
            and not any(ext in AUDIO_EXTENSIONS for ext in _siblings(path))]


def unreadable_result(root: Path, path: Path) -> Result:
    """The failed Result of a corpus run for one of `unreadable_audio`."""
    name = path.relative_to(root).with_suffix("").as_posix()
    return Result(name, "failed", unsupported_format_message(path))


def no_audio_message(root: Path, unreadable: Sequence[Path] = ()) -> str:
    """Why a corpus has nothing to align, in one line: no audio at all, or only files in
    formats libsndfile cannot read (say how many, and the command that converts one)."""
    if not unreadable:
        return f"{root}: no audio files found (looked for .wav, .flac, .ogg, .mp3, ...)"
    counts = Counter(p.suffix.lower() for p in unreadable)
    found = ", ".join(f"{n} {ext}" for ext, n in counts.most_common())
    first = unreadable[0]
    return (f"{root}: no audio files libsndfile can read, but found {found} file(s): convert "
            f"them to WAV first, e.g. ffmpeg -i {shlex.quote(str(first))} "
            f"{shlex.quote(str(first.with_suffix('.wav')))}")


def orphan_transcripts(root: Path) -> list[Path]:
    """Transcripts with no recording beside them (worth a warning in `validate`); a recording
    that cannot be read (.m4a) still counts as one: it is reported on its own."""
    recordings = set(AUDIO_EXTENSIONS) | set(UNSUPPORTED_EXTENSIONS)
    return [path for path in sorted(_walk(root))
            if path.suffix.lower() in (".lab", ".txt")
            and not any(ext in recordings for ext in _siblings(path))]


def _walk(root: Path) -> Iterator[Path]:
    """Files under `root`, hidden ones left out. A dangling symlink is listed too, so that a
    recording whose target went missing is reported ("file not found") rather than ignored."""
    for path in root.rglob("*"):
        if (path.is_file() or (path.is_symlink() and not path.exists())) and not any(
                part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def output_base(out_dir: Path, utt: Utterance) -> Path:
    return Path(out_dir) / utt.name


def expected_outputs(out_dir: Path, utt: Utterance, formats: Sequence[str],
                     plots: bool = False) -> list[Path]:
    """Every file a finished utterance has: one per format, and its PNG with `plots`."""
    base = output_base(out_dir, utt)
    paths = output_paths(base, formats)
    if plots:
        from aligner.plot import plot_path

        paths.append(plot_path(base))
    return paths


def is_done(out_dir: Path, utt: Utterance, formats: Sequence[str], plots: bool = False) -> bool:
    """All outputs exist: they are written atomically, so this utterance finished before."""
    return all(p.exists() for p in expected_outputs(out_dir, utt, formats, plots))


def align_one(aligner, utt: Utterance, out_dir: Path, formats: Sequence[str], method: str,
              strict: bool, plots: bool = False) -> Result:
    """Align and write one utterance; every expected problem becomes a failed Result."""
    if utt.transcript is None:
        return Result(utt.name, "failed", "no transcript (.lab, .txt or .TextGrid) beside the audio")
    try:
        wave, name = aligner.load_waveform(utt.audio)
        segments = aligner.read_segments(utt.transcript)
        alignments = aligner.align_waveform(wave, segments, method, name, utt.speaker)
        return finish(utt, alignments, out_dir, formats, strict, plots, wave,
                      aligner.sample_rate)
    except MemoryError as err:
        return Result(utt.name, "failed", _memory_reason(utt, err))
    except (ValueError, OSError) as err:  # AudioError, TranscriptError, AlignmentError, OutputError
        return Result(utt.name, "failed", _one_line(err))
    except RuntimeError as err:  # an unexpected torch/libsndfile error: this utterance only
        return Result(utt.name, "failed", f"{utt.audio}: {type(err).__name__}: {_one_line(err)}")


def _memory_reason(utt: Utterance, err: BaseException) -> str:
    text = _one_line(err) if str(err).strip() else ""
    if str(utt.audio) in text:
        return text
    if text.startswith("out of memory"):
        return f"{utt.audio}: {text}"
    return f"{utt.audio}: out of memory" + (f" ({text})" if text else "")


def finish(utt: Utterance, alignments, out_dir: Path, formats: Sequence[str],
           strict: bool, plots: bool = False, wave=None, sample_rate: int = 16000) -> Result:
    """Write outputs (unless strict and flagged) and summarise them as a Result.

    With `plots`, the PNG is drawn last from `wave` (the samples already loaded for alignment;
    read again from the file if not given): `is_done` requires it, so a run killed while
    drawing redoes the utterance."""
    flags = [str(f) for a in alignments for f in a.flags]
    words = [w for a in alignments for w in a.words if w.label]
    confs = [w.confidence for w in words if w.confidence is not None]
    duration = max(a.duration for a in alignments)
    fits = [a.transcript_fit for a in alignments if a.transcript_fit is not None]
    result = Result(utt.name, "flagged" if flags else "aligned", "", duration, len(words),
                    sum(confs) / len(confs) if confs else None, flags, min(fits) if fits else None)
    if flags and strict:
        result.status = "failed"
        result.reason = f"flagged (--strict): {flags[0]}" + (
            f" (+{len(flags) - 1} more)" if len(flags) > 1 else "")
        return result
    base = output_base(out_dir, utt)
    write_outputs(alignments, base, formats, Path(utt.name).name)
    if plots:
        from aligner.plot import plot_alignment, plot_path

        if wave is None:
            from aligner.audio import SAMPLE_RATE, load_audio

            wave, sample_rate = load_audio(utt.audio), SAMPLE_RATE
        plot_alignment(wave, sample_rate, alignments, plot_path(base), title=utt.name)
    return result


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# ------------------------------------------------------------------------------- running

# Audio seconds per padded batch in corpus runs. On the CPU one forward pass over ~60 s of
# similar-length recordings costs about half the CPU time of running them one by one; more
# gains little. A GPU wants far larger batches to be kept busy.
CPU_BATCH_SECONDS = 60.0
GPU_BATCH_SECONDS = 600.0


def plan(utterances: Sequence[Utterance], out_dir: Path, formats: Sequence[str],
         overwrite: bool, plots: bool = False) -> tuple[list[Utterance], list[Result]]:
    """Split into utterances to align and already-finished ones (reported as skipped)."""
    todo, skipped = [], []
    for utt in utterances:
        if not overwrite and utt.transcript is not None and is_done(out_dir, utt, formats, plots):
            skipped.append(Result(utt.name, "skipped", "outputs exist (use --overwrite)"))
        else:
            todo.append(utt)
    return todo, skipped


def run_serial(aligner, todo: Sequence[Utterance], out_dir: Path, formats: Sequence[str],
               method: str, strict: bool, plots: bool = False) -> Iterator[Result]:
    for utt in todo:
        yield align_one(aligner, utt, out_dir, formats, method, strict, plots)


# worker-process state (one Aligner per process, loaded once by the initializer)
_WORKER: dict = {}


def _init_worker(model, device, dictionary, parent: int | None = None) -> None:
    import torch

    if parent is not None:
        _exit_with_parent(parent)

    torch.set_num_threads(1)
    from aligner.align import Aligner

    _WORKER["aligner"] = Aligner.load(model, device=device, dictionary=dictionary)


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (kill -9) would otherwise go on aligning the queued
    utterances as an orphan, racing the rerun for the same output files: end it instead (its
    half-written temporary file is removed by the next run)."""
    import os
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _work(args) -> list[Result]:
    batch, out_dir, formats, method, strict, plots = args
    return list(_run_batch(_WORKER["aligner"], batch, out_dir, formats, method, strict, plots))


def run_parallel(model, dictionary, todo: Sequence[Utterance], out_dir: Path,
                 formats: Sequence[str], method: str, strict: bool, jobs: int,
                 plots: bool = False, batch_seconds: float = CPU_BATCH_SECONDS) -> Iterator[Result]:
    """`jobs` worker processes on the CPU, each with its own model (spawned: torch and fork do
    not mix well); each task is one length batch (`length_batches`)."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                               initargs=(model, "cpu", dictionary, os.getpid()))
    try:
        batches = length_batches(todo, batch_seconds)
        # Longest batches first: the last tasks to finish are then the short ones.
        futures = {pool.submit(_work, (b, out_dir, list(formats), method, strict, plots)): b
                   for b in reversed(batches)}
        for fut in as_completed(futures):
            try:
                yield from fut.result()
            except Exception as err:  # a crashed worker must not end the run
                for utt in futures[fut]:
                    yield Result(utt.name, "failed", f"worker failed: {_one_line(err)}")
    finally:
        # Ctrl-C (or the consumer stopping): drop the queued utterances instead of aligning
        # them all before returning; the ones in progress finish or die, writing atomically.
        pool.shutdown(wait=True, cancel_futures=True)


def length_batches(todo: Sequence[Utterance], batch_seconds: float) -> list[list[Utterance]]:
    """Utterances sorted by duration and cut into batches of at most `batch_seconds` of padded
    audio (a batch's longest recording times its size), so little padding is wasted.

    Why batches on the CPU too: one padded forward pass over several recordings costs about half
    the CPU time of the same recordings one at a time (benchmarks/speed.py)."""
    from aligner.audio import audio_info

    lengths = {}
    for utt in todo:
        try:
            lengths[utt.name] = audio_info(utt.audio).duration
        except ValueError:
            lengths[utt.name] = 0.0
    batches: list[list[Utterance]] = []
    batch: list[Utterance] = []
    for utt in sorted(todo, key=lambda u: lengths[u.name]):
        if batch and (len(batch) + 1) * lengths[utt.name] > batch_seconds:
            batches.append(batch)
            batch = []
        batch.append(utt)
    if batch:
        batches.append(batch)
    return batches


def run_batched(aligner, todo: Sequence[Utterance], out_dir: Path, formats: Sequence[str],
                method: str, strict: bool, batch_seconds: float = GPU_BATCH_SECONDS,
                plots: bool = False) -> Iterator[Result]:
    """Utterances in padded batches of similar length (`length_batches`): the model runs once
    per batch, then each utterance is decoded and written on its own."""
    for batch in length_batches(todo, batch_seconds):
        yield from _run_batch(aligner, batch, out_dir, formats, method, strict, plots)


def align_batch(aligner, batch: Sequence[Utterance], method: str) -> Iterator[tuple]:
    """(utterance, alignments or the exception) for each utterance of `batch`, with one padded
    forward pass for all of them (recordings with timed segments are encoded per segment by
    the Aligner, and ones too long for one window on their own). Writes nothing: `_run_batch`
    and the speed benchmark share it."""
    ready = []
    for utt in batch:
        try:
            wave, _ = aligner.load_waveform(utt.audio)
            segments = aligner.read_segments(utt.transcript)
            ready.append((utt, wave, segments))
        except (ValueError, OSError, MemoryError) as err:
            yield utt, err
    whole = [i for i, (_, _, segments) in enumerate(ready) if all(s.whole for s in segments)]
    encoded: dict = {}
    try:
        encoded = dict(zip(whole, aligner.encode([ready[i][1] for i in whole])))
    except Exception:  # e.g. out of memory for the batch: each is encoded on its own below
        encoded = {}
    for i, (utt, wave, segments) in enumerate(ready):
        try:
            alignments = aligner.align_waveform(wave, segments, method, str(utt.audio),
                                                utt.speaker, encoded=encoded.get(i))
            yield utt, (alignments, wave)
        except (ValueError, OSError, MemoryError, RuntimeError) as err:
            yield utt, err


def _run_batch(aligner, batch, out_dir, formats, method, strict, plots=False
               ) -> Iterator[Result]:
    for utt in batch:
        if utt.transcript is None:  # reported as align_one reports it
            yield align_one(aligner, utt, out_dir, formats, method, strict, plots)
    with_text = [u for u in batch if u.transcript is not None]
    for utt, outcome in align_batch(aligner, with_text, method):
        try:
            if isinstance(outcome, BaseException):
                raise outcome
            alignments, wave = outcome
            yield finish(utt, alignments, out_dir, formats, strict, plots, wave,
                         aligner.sample_rate)
        except (ValueError, OSError) as err:
            yield Result(utt.name, "failed", _one_line(err))
        except MemoryError as err:
            yield Result(utt.name, "failed", _memory_reason(utt, err))
        except RuntimeError as err:
            yield Result(utt.name, "failed",
                         f"{utt.audio}: {type(err).__name__}: {_one_line(err)}")


# ------------------------------------------------------------------------------- report

def write_report(results: Sequence[Result], path: Path) -> Path:
    """CSV with one row per utterance that failed or was flagged, then a row per other
    utterance, so the file alone tells what to look at."""
    ensure_dir(path.parent)
    order = {"failed": 0, "flagged": 1, "aligned": 2, "skipped": 3}
    with atomic_open(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["utterance", "status", "reason", "duration", "words",
                         "mean_confidence", "transcript_fit", "flags"])
        for r in sorted(results, key=lambda r: (order.get(r.status, 9), r.name)):
            writer.writerow([r.name, r.status, r.reason, f"{r.duration:.3f}", r.words,
                             "" if r.confidence is None else f"{r.confidence:.3f}",
                             "" if r.transcript_fit is None else f"{r.transcript_fit:.3f}",
                             " | ".join(r.flags)])
    return path


def flag_kind(flag: str) -> str:
    """`low_confidence`, `long_word`, ...: a flag is a `Flag` or, once it has been through a
    worker process or a report, its text `kind: message`."""
    return getattr(flag, "kind", None) or str(flag).split(":", 1)[0]


def flag_kinds(flags: Iterable[str]) -> dict[str, int]:
    """How many flags of each kind, in the order the kinds first appear (`find_flags` puts the
    utterance-wide `transcript_mismatch` first): what summaries print instead of hundreds of
    lines."""
    return dict(Counter(flag_kind(f) for f in flags))


def exit_code(results: Sequence[Result]) -> int:
    """0 when every utterance is aligned (or was already), 1 when any failed."""
    return 0 if all(r.ok for r in results) else 1


# ------------------------------------------------------------------------------- validate

@dataclass
class UtteranceCheck:
    """What `validate` found for one utterance (before any alignment)."""

    name: str
    sample_rate: int = 0
    channels: int = 0
    duration: float = 0.0
    words: int = 0
    phones: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # alignable, but worth knowing


@dataclass
class ValidationReport:
    utterances: list[UtteranceCheck]
    unknown_words: dict[str, tuple[int, list[str]]]  # word -> (count, generated pronunciation)
    orphans: list[Path]
    unreadable: list[Path] = field(default_factory=list)  # .m4a and the like: convert first
    # the --dictionary's entries, then spoken word -> generated variants (`--export-dictionary`)
    dictionary: dict[str, list[list[str]]] = field(default_factory=dict)

    @property
    def problems(self) -> list[tuple[str, str]]:
        out = [(u.name, p) for u in self.utterances for p in u.problems]
        out += [(str(p), unsupported_format_message(p)) for p in self.unreadable]
        out += [(str(p), "transcript without a recording") for p in self.orphans]
        return out

    @property
    def warnings(self) -> list[tuple[str, str]]:
        return [(u.name, w) for u in self.utterances for w in u.warnings]

    def write_csv(self, path: Path) -> Path:
        ensure_dir(Path(path).parent)
        with atomic_open(path, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["utterance", "sample_rate", "channels", "duration", "words",
                             "problems", "warnings"])
            for u in self.utterances:
                writer.writerow([u.name, u.sample_rate, u.channels, f"{u.duration:.3f}",
                                 u.words, " | ".join(u.problems), " | ".join(u.warnings)])
            for p in self.unreadable:
                writer.writerow([str(p), "", "", "", "", unsupported_format_message(p), ""])
            for p in self.orphans:
                writer.writerow([str(p), "", "", "", "", "transcript without a recording", ""])
        return Path(path)


def validate_corpus(root: Path, dictionary: Path | None = None,
                    max_phones_per_second: float = 30.0) -> ValidationReport:
    """Read every recording and transcript of a corpus the way alignment would, without a
    model: decoding problems, recordings in formats libsndfile cannot read, empty or unreadable
    transcripts, a .lab and a .txt that disagree (a warning), unknown words, implausible
    speaking rates. Raises only for a bad dictionary (a usage error)."""
    from aligner.audio import audio_info, load_audio
    from aligner.text.frontend import (
        generated_pronunciations, load_lexicon, parse_transcript, read_transcript)

    lexicon = load_lexicon(Path(dictionary) if dictionary is not None else None)
    generated: dict[str, list[list[str]]] = {}
    checks: list[UtteranceCheck] = []
    unknown: dict[str, tuple[int, list[str]]] = {}
    for utt in find_utterances(root):
        check = UtteranceCheck(utt.name)
        checks.append(check)
        try:
            info = audio_info(utt.audio)
            check.sample_rate, check.channels, check.duration = (info.sample_rate, info.channels,
                                                                 info.duration)
            load_audio(utt.audio, sample_rate=None)  # full decode: truncation, NaN, silence
        except ValueError as err:
            check.problems.append(_one_line(err))
        if utt.transcript is None:
            check.problems.append("no transcript (.lab, .txt or .TextGrid) beside the audio")
            continue
        conflict = transcript_conflict(utt)
        if conflict is not None:
            check.warnings.append(conflict)
        try:
            if utt.transcript.suffix.lower() == ".textgrid":
                from aligner.formats import read_transcript_textgrid

                texts = [s.text for s in read_transcript_textgrid(utt.transcript)]
            else:
                texts = [read_transcript(utt.transcript)]
            if not any(t.strip() for t in texts):
                raise ValueError(f"{utt.transcript}: transcript is empty")
            for text in texts:
                words = parse_transcript(text, lexicon)
                generated.update(generated_pronunciations(words, lexicon))
                for word in words:
                    check.words += 1
                    check.phones += len(word.pronunciations[0])
                    if word.unknown:
                        count, pron = unknown.get(word.text, (0, list(word.pronunciations[0])))
                        unknown[word.text] = (count + 1, pron)
        except ValueError as err:
            check.problems.append(_one_line(err))
            continue
        if check.duration > 0 and check.phones > max_phones_per_second * check.duration:
            check.problems.append(
                f"{check.phones} phones in {check.duration:.2f} s: the audio is too short for "
                "its transcript (wrong file?)")
    entries = {**lexicon.user, **dict(sorted(generated.items()))}
    return ValidationReport(checks, unknown, orphan_transcripts(root), unreadable_audio(root),
                            entries)
