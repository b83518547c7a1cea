"""Aligning utterances and saying what happened to each: corpus runs, and single files too.

Every utterance ends as one `Result`: aligned, flagged (aligned, with warnings), skipped (done
before) or failed, with a one-line reason. `failed` is the one place an exception raised
while aligning an utterance becomes an outcome (a worker process that fails as a whole fails
its batch in `_pooled`), so a single file (a one-utterance run of `align_one`,
aligner/cli/align.py) and a corpus of thousands name a bad file, an out-of-memory error and
`--strict` in the same words.

A corpus run writes its outputs under the output directory, mirroring the corpus folders, and
skips utterances whose outputs all exist (written atomically, so existing means finished) and are
newer than their inputs, as make does: an interrupted run resumes, and an edited transcript is
aligned again. Its report lists failures and flags; a resumed run gives each skipped utterance
what the run that aligned it found, from that report or, when that run was killed before writing
it, from the journal the report's rows are appended to as they come in (`Journal`).

Why results are plain data: the same loop runs in-process, in worker processes (`--jobs`) or in
length-bucketed GPU batches, and the CLI only renders the results.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from aligner.alignment import mean_word_confidence, spoken_words
from aligner.atomic import atomic_open, ensure_dir, same_file
from aligner.boundaries import MIN_PAUSE
from aligner.checks import (Thresholds, flag_kind, is_speaker_mismatch, refusing_flags,
                            speaker_mismatch)
from aligner.corpus import (REPORT_NAME, TABLE_NAME, WORD_LISTS, Utterance,
                            no_transcript_problem, unreadable_message)
from aligner.errors import one_line
from aligner.formats import (FORMATS, SUBTITLE_FORMATS, SUFFIX_TO_FORMAT, ctm_id, output_paths,
                             write_outputs)
from aligner.interrupts import ignore_sigint, interrupts_held_for_workers

if TYPE_CHECKING:
    import numpy as np

    from aligner.align import Aligner
    from aligner.alignment import Alignment

# The corpus's words that no dictionary has, as MFA lists them (`write_oovs`).
OOVS_NAME, UTTERANCE_OOVS_NAME = WORD_LISTS

# Why a Result failed (`Result.cause`): a single file's exit code follows it.
BAD_INPUT = "bad input"  # the audio, transcript or output cannot be used (the message says why)
OUT_OF_MEMORY = "out of memory"  # the input is fine, the machine too small for it
CRASHED = "error"  # an unexpected torch/libsndfile error: this utterance only
STRICT = "strict"  # aligned but flagged with a kind --strict refuses

# What aligning one utterance may raise and still leave the others to go on (ValueError: the
# package's own errors, AudioError, TranscriptError, AlignmentError, OutputError, ...).
EXPECTED = (ValueError, OSError, MemoryError, RuntimeError)

# Audio seconds per padded batch in corpus runs. On the CPU one forward pass over ~60 s of
# similar-length recordings costs about half the CPU time of running them one by one; more
# gains little. A GPU wants far larger batches to be kept busy.
CPU_BATCH_SECONDS = 60.0
GPU_BATCH_SECONDS = 600.0
# With worker processes, batches are made small enough that each worker gets at least this many
# (the run ends when the last batch does: with 60 s batches a 7-minute corpus on 2 workers left
# one idle for up to a batch, 14% of the wall time), but no smaller than MIN_SHARED_BATCH_SECONDS
# (30 s batches cost nothing more than 60 s ones; 15 s ones 4%, 8 s ones 20%).
BATCHES_PER_WORKER = 8
MIN_SHARED_BATCH_SECONDS = 20.0
# ... and the batches taken last (the shortest recordings) shrink to what is left over
# TAIL_SHARES x workers, down to TAIL_MIN_SECONDS, so that the workers finish together: with
# equal batches one idled for up to a batch at the end (on the synthetic test split, 2 workers,
# 60 s batches: 0.13-0.24 s of a 3.1 s pass)
TAIL_SHARES = 2
TAIL_MIN_SECONDS = 15.0


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
    speaker: str = ""  # the corpus speaker (first folder below the root; "" for files at the root)
    cause: str = ""  # why it failed: BAD_INPUT, OUT_OF_MEMORY, CRASHED or STRICT
    unknown_words: dict[str, list[str]] = field(default_factory=dict)  # word -> generated phones
    written: list[Path] = field(default_factory=list)
    settings: str = ""  # what it was aligned with (`run_settings`); "" when not known
    fingerprints: str = ""  # what the outputs held when written (`fingerprints`); "" unknown
    transcript: str = ""  # the file it was aligned to (`transcript_setting`); "" when not known

    @property
    def ok(self) -> bool:
        return self.status in ("aligned", "skipped", "flagged")


# Writes an utterance's alignments (given its 16 kHz samples, for a plot); returns the paths.
Writer = Callable[[Utterance, "list[Alignment]", "np.ndarray"], list[Path]]


# ------------------------------------------------------------------------------- outcomes

def failed(utt: Utterance, err: BaseException) -> Result:
    """The failed Result for an exception raised while aligning or writing `utt`."""
    seconds = audio_seconds(utt.audio)
    if isinstance(err, MemoryError):
        return Result(utt.name, "failed", _memory_reason(utt, err), seconds, cause=OUT_OF_MEMORY)
    if isinstance(err, (ValueError, OSError)):  # their messages name the file
        return Result(utt.name, "failed", one_line(err), seconds, cause=BAD_INPUT)
    return Result(utt.name, "failed", f"{utt.audio}: {type(err).__name__}: {one_line(err)}",
                  seconds, cause=CRASHED)


def audio_seconds(audio: Path) -> float:
    """The recording's duration from its header, 0.0 when it cannot be read: a failed row of the
    report still says how long its audio is (what a rerun will cost), where that is known."""
    from aligner.audio import audio_info

    try:
        return audio_info(audio).duration
    except (ValueError, OSError):
        return 0.0


def _memory_reason(utt: Utterance, err: BaseException) -> str:
    """`<audio>: out of memory (...)`, whatever the message already says (CPU and GPU errors
    word it differently, and some name the file)."""
    text = one_line(err) if str(err).strip() else ""
    if str(utt.audio) in text:
        return text
    if text.startswith("out of memory"):
        return f"{utt.audio}: {text}"
    return f"{utt.audio}: out of memory" + (f" ({text})" if text else "")


def bad_input(name: str, problem: str, duration: float = 0.0) -> Result:
    """The failed Result of an utterance a corpus run cannot attempt (corpus.same_name_problems,
    and the two below); `plan` and `failed` build theirs with the same cause."""
    return Result(name, "failed", problem, duration, cause=BAD_INPUT)


def no_transcript(utt: Utterance) -> Result:
    """The failed Result of a recording without a transcript; its reason names the file, as
    every other failure's does."""
    return bad_input(utt.name, f"{utt.audio}: {no_transcript_problem(utt.audio)}",
                     audio_seconds(utt.audio))


def unreadable_result(root: Path, path: Path) -> Result:
    """The failed Result of a corpus run for one of `corpus.unreadable_inputs`."""
    return bad_input(path.relative_to(root).with_suffix("").as_posix(), unreadable_message(path))


def summarise(utt: Utterance, alignments: list[Alignment]) -> Result:
    """The Result of an aligned utterance: flagged when any speaker's alignment has flags."""
    flags = [str(f) for a in alignments for f in a.flags]
    words = [w for a in alignments for w in spoken_words(a)]
    fits = [a.transcript_fit for a in alignments if a.transcript_fit is not None]
    return Result(utt.name, "flagged" if flags else "aligned", "",
                  max(a.duration for a in alignments), len(words),
                  mean_word_confidence(words), flags, min(fits) if fits else None,
                  speaker=utt.speaker or "",
                  unknown_words={k: v for a in alignments for k, v in a.unknown_words.items()},
                  transcript=transcript_setting(utt))


def finish(utt: Utterance, alignments: list[Alignment], strict: frozenset[str], write: Writer,
           wave: np.ndarray, record: Callable[[Result], None] | None = None) -> Result:
    """Write the outputs (unless a flag of a kind `strict` refuses: then nothing) and summarise
    them. `strict`: the flag kinds --strict refuses (empty: none; `checks.STRICT_KINDS`). `record`
    (a corpus run's `Journal.record`) gets the summary just before the outputs are written: a
    run killed at any moment leaves no outputs without the record of what was found (a record
    whose outputs never landed is harmless: the utterance is not finished, so it is aligned
    again)."""
    result = summarise(utt, alignments)
    if refusing_flags(result.flags, strict):
        refuse(result, strict)
        return result
    if record is not None:
        record(result)
    result.written = write(utt, alignments, wave)
    result.fingerprints = fingerprints(result.written)
    if record is not None and result.fingerprints:  # what they held, for `edited_outputs`
        record(result)
    return result


def fingerprints(paths: Sequence[Path]) -> str:
    """`name:hash` for each written file but the plots (the first 8 hex digits of its SHA-1),
    space-separated: the report's `outputs_sha1` column. Why: a later run that must replace an
    output (its settings or inputs changed) tells by these whether it was edited since
    (`edited_outputs`), a TextGrid corrected in Praat, and keeps it under a backup name."""
    return _format_fingerprints({p.name: _sha1(p) for p in paths
                                 if p.suffix.lower() != ".png" and p.is_file()})


def _sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:8]


def edited_outputs(paths: Sequence[Path], recorded: str) -> list[Path]:
    """Those of `paths` that a run recorded writing (`recorded`: its `fingerprints`) and that
    hold something else now: edited since, by hand or by another program. A file the record
    does not list (an older version's run, a run killed before it recorded them) is not known
    to be edited."""
    known = _parse_fingerprints(recorded)
    return [p for p in paths
            if Path(p).name in known and Path(p).is_file() and _sha1(p) != known[Path(p).name]]


def _format_fingerprints(by_name: dict[str, str]) -> str:
    """`name:hash ...`, each name percent-encoded (a recording may be called `b 1`)."""
    return " ".join(f"{quote(name, safe='')}:{sha}" for name, sha in by_name.items())


def _parse_fingerprints(text: str) -> dict[str, str]:
    found = {}
    for item in text.split():
        name, _, sha = item.rpartition(":")
        found[unquote(name)] = sha
    return found


def carry_fingerprints(results: Sequence[Result], rows: dict[str, dict[str, str]],
                       since_ns: int) -> None:
    """Record, for each utterance with outputs, what they hold now: a file changed by this run
    (newer than `since_ns`, the run's start: written, or flagged anew by
    `judge_against_speakers`) its content now; one it left alone (a TextGrid kept while JSON
    was added, a skipped recording's files, another format's output still on disk) what the
    run that wrote it recorded (`rows`: `previous_rows`), or nothing. Why: taking every file
    as written now let a TextGrid corrected in Praat before a run that added JSON pass for
    unedited later, and a flag written into the JSON after its hash made it look edited."""
    for r in results:
        if not r.ok or not r.written:
            continue
        earlier = _parse_fingerprints((rows.get(r.name) or {}).get("outputs_sha1") or "")
        now = {}
        for path in r.written:
            if path.suffix.lower() == ".png" or not path.is_file():
                continue
            if _mtime(path) >= since_ns:
                now[path.name] = _sha1(path)
            elif path.name in earlier:
                now[path.name] = earlier[path.name]
        folder = r.written[0].parent
        for name, sha in earlier.items():
            if name not in now and 0 < _mtime(folder / name) < since_ns:
                now[name] = sha
        r.fingerprints = _format_fingerprints(now)


def remove_kept_edits(paths: Sequence[Path], recorded: str) -> list[tuple[Path, Path]]:
    """Remove `paths`, but move those edited since a run recorded them (`edited_outputs`) to
    a backup name (`back_up`) instead; returns the (file, backup) pairs."""
    edited = set(edited_outputs(paths, recorded))
    kept = [(path, back_up(path)) for path in paths if path in edited]
    for path in paths:
        if path not in edited:
            Path(path).unlink(missing_ok=True)
    return kept


def _kept_note(kept: list[tuple[Path, Path]]) -> str:
    return "".join(f"; kept the edited {path.name} as {backup.name}" for path, backup in kept)


def back_up(path: Path) -> Path:
    """Move `path` to `path.~N~`, the first free N (as `cp --backup=numbered` names them);
    returns the new name."""
    n = 1
    while path.with_name(f"{path.name}.~{n}~").exists():
        n += 1
    backup = path.with_name(f"{path.name}.~{n}~")
    path.rename(backup)
    return backup


def refuse(result: Result, strict: frozenset[str]) -> None:
    """Make a Result with flags of a kind `strict` refuses a --strict failure (its outputs are
    not, or no longer, written); its reason quotes the first such flag."""
    refused = refusing_flags(result.flags, strict)
    others = len(result.flags) - len(refused)
    result.status, result.cause = "failed", STRICT
    more = len(refused) - 1
    result.reason = (f"flagged (--strict): {refused[0]}"
                     + (f" (+{more} more that --strict refuses)" if more else "")
                     + (f" ({others} other flag(s) only reported)" if others else ""))


def refuse_written(result: Result, strict: frozenset[str]) -> None:
    """`refuse` a Result whose outputs were written: they are removed first, but one edited
    since it was written (a skipped recording's TextGrid corrected in Praat) is kept under a
    backup name, and the reason says so."""
    kept = remove_kept_edits(result.written, result.fingerprints)
    result.written = []
    refuse(result, strict)
    result.reason += _kept_note(kept)


def align_one(aligner: Aligner, utt: Utterance, method: str, strict: frozenset[str],
              write: Writer) -> Result:
    """Align one utterance and write it with `write`; every expected problem is a failed Result."""
    if utt.transcript is None:
        return no_transcript(utt)
    try:
        wave, name = aligner.load_waveform(utt.audio)
        segments = aligner.read_segments(utt.transcript)
        alignments = aligner.align_waveform(wave, segments, method, name, utt.speaker)
        return finish(utt, alignments, strict, write, wave)
    except EXPECTED as err:
        return failed(utt, err)


# ------------------------------------------------------------------------------- corpus outputs

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


def output_clashes(utterances: Sequence[Utterance], out_dir: Path, formats: Sequence[str],
                   plots: bool = False) -> dict[str, str]:
    """utterance name -> problem, for recordings whose outputs would be the same file as another
    recording's or as one the run writes itself: `x.phones.ctm` holds the phones of `x`'s CTM
    and the words of a recording named `x.phones`; a recording named `alignment_report`
    aligned to CSV would be the report. One output silently replaced the other (and a resumed
    run then skipped both as done), so neither recording is aligned. Recordings that share a
    name are `corpus.same_name_problems`'."""
    out_dir = Path(out_dir)
    run_files = {out_dir / name for name in (REPORT_NAME, TABLE_NAME, OOVS_NAME,
                                             UTTERANCE_OOVS_NAME)}
    owners: dict[Path, dict[str, Utterance]] = {}
    for utt in utterances:
        for path in expected_outputs(out_dir, utt, formats, plots):
            owners.setdefault(path, {})[utt.name] = utt
    problems: dict[str, str] = {}
    for path, by_name in owners.items():
        for name, utt in by_name.items():
            others = sorted(set(by_name) - {name})
            if others:
                problems.setdefault(name, f"{utt.audio}: its output {path.name} would also be the "
                                          f"output of {', '.join(others)}; rename one of them")
            elif path in run_files:
                problems.setdefault(name, f"{utt.audio}: its output {path.name} would replace the "
                                          "run's own file of that name; rename the recording")
    return problems


def utterance_outputs(out_dir: Path, utt: Utterance, formats: Sequence[str],
                      plots: bool = False) -> list[Path]:
    """The files under `out_dir` that some run may have written for `utt`: what --strict and a
    changed input must clear (an x.json from an earlier `-f json` run holds the old alignment
    just as much as this run's x.TextGrid). In a folder of its own, every format (CTM's phones
    file too), the PNG and its further pages, whatever `formats` and `plots` say. In the folder
    that holds the recording (a corpus aligned into itself) only this run's `formats` and plot:
    an x.srt or x.json beside x.wav there may be the user's own. Never the utterance's audio,
    transcript or gold alignment."""
    from aligner.plot import page_paths, plot_path

    base = output_base(out_dir, utt)
    if same_file(base.parent, Path(utt.audio).parent):
        paths = expected_outputs(out_dir, utt, formats, plots)
    else:
        paths = output_paths(base, FORMATS)
        pages = page_paths(plot_path(base), 2)
        while pages[-1].exists():  # x.png, x.page2.png, x.page3.png, ...
            pages = page_paths(plot_path(base), len(pages) + 1)
        paths += pages
    inputs = [p for p in (utt.audio, utt.transcript, utt.gold) if p is not None]
    return [p for p in paths if p.is_file() and not any(same_file(p, src) for src in inputs)]


def stale_outputs(out_dir: Path, utt: Utterance, formats: Sequence[str], plots: bool = False,
                  dictionary: Path | None = None) -> list[Path]:
    """The utterance's outputs (`utterance_outputs`) older than its audio, its transcript or the
    --dictionary: they align what the inputs no longer say. Make's rule, on modification times;
    an input that cannot be read counts as unchanged (aligning it reports why)."""
    newest = max((_mtime(p) for p in (utt.audio, utt.transcript, dictionary) if p is not None),
                 default=0)
    return [p for p in utterance_outputs(out_dir, utt, formats, plots) if _mtime(p) < newest]


def run_settings(model: Path, method: str, dictionary: Path | None = None,
                 min_pause: float = MIN_PAUSE, thresholds: Thresholds = Thresholds(),
                 cues: str | None = None, speaker_characters: int = 0,
                 channel: int | None = None, speaker_norm: bool = True,
                 pauses_in_words: bool = False, sentence_gaps: bool = True,
                 ipa: bool = False) -> str:
    """What a corpus run aligns with, as the report records it per utterance: the decoding method
    and short content hashes of the model directory's files and of the --dictionary, e.g.
    `method=viterbi model=1a2b3c4d dictionary=none`, --min-pause, the --threshold limits,
    --speaker-characters, --channel, --no-speaker-norm, --pauses-in-words, --no-sentence-gaps
    and --ipa when not the defaults (the flags and the speaker written in the outputs depend on
    them; the channel and the normalisation, everything), and the --cues of a run that writes
    subtitles (`cues`; None for one that writes none: versions before --cues wrote a cue per
    word without recording it, so a run that records its cues rewrites their subtitles).

    Why: a resumed run skips finished utterances by their files' times (`stale_outputs`), which
    say nothing about a --dictionary added, a method or model changed since; the outputs of such
    a run were silently kept. With these recorded, `plan` aligns them again."""
    from aligner.model import CONFIG_FILE, WEIGHTS_FILE

    model_files = [Path(model) / CONFIG_FILE, Path(model) / WEIGHTS_FILE]  # what load_model reads
    pause = f" min_pause={min_pause:g}" if min_pause != MIN_PAUSE else ""
    changed = thresholds.changed()
    limits = f" thresholds={changed}" if changed else ""
    subtitles = f" cues={cues}" if cues is not None else ""
    speakers = f" speaker_characters={speaker_characters}" if speaker_characters else ""
    channel_note = f" channel={channel}" if channel is not None else ""
    norm = "" if speaker_norm else " speaker_norm=off"
    inner = " pauses_in_words=on" if pauses_in_words else ""
    inner += "" if sentence_gaps else " sentence_gaps=off"
    inner += " phones=ipa" if ipa else ""
    words = content_digest([Path(dictionary)]) if dictionary is not None else "none"
    return (f"method={method} model={content_digest(model_files)} dictionary={words}"
            f"{pause}{limits}{speakers}{channel_note}{norm}{inner}{subtitles}")


def content_digest(paths: Sequence[Path]) -> str:
    """Eight hex digits of the files' contents, in order (a file that cannot be read counts as
    the word "unreadable"): a renamed or copied file is the same. A corpus run's report records
    a model (its config, then its weights) and a --dictionary by it, and a benchmark page names
    its model by it, so the two agree."""
    h = hashlib.sha1()
    for path in paths:
        try:
            h.update(hashlib.sha1(Path(path).read_bytes()).digest())
        except OSError:
            h.update(b"unreadable")
    return h.hexdigest()[:8]


def without_cues(settings: str) -> str:
    """`settings` (`run_settings`) with the --cues they record left out: what a run that
    writes no subtitles compares, since the cues of an earlier run changed none of its files."""
    return re.sub(r" cues=\S+", "", settings)


def transcript_setting(utt: Utterance) -> str:
    """` transcript=.lab`: which of the recording's transcript files it is aligned to (the stem is
    the recording's, so the suffix tells them apart: `.lab`, `.txt`, `.TextGrid`), the part of
    an utterance's settings that is its own (`utterance_settings`)."""
    return f" transcript={utt.transcript.suffix.lower() if utt.transcript is not None else 'none'}"


def utterance_settings(settings: str, transcript: str, statistics: str | None = None) -> str:
    """The run's `settings` with what is the utterance's own, as its report row records them:
    its `transcript_setting` and, when given, ` speaker_stats=` the digest of what its speaker's
    statistics are read from (`speaker_norm.statistics_inputs`; "none": no statistics).

    Why: a run skips finished utterances by their files' times (`stale_outputs`). A transcript
    file that takes over from another keeps its own time: `mv a.txt a.lab` over an `a.lab` that
    was read before, or a `c.lab` removed so that the TextGrid beside it is read; and recordings
    added to a speaker change the statistics the earlier ones were normalised with. Their
    outputs were kept."""
    own = f" speaker_stats={statistics}" if statistics is not None else ""
    return settings + transcript + own


def settings_of(settings: str, utt: Utterance, statistics: dict[str, str] | None) -> str:
    """`utterance_settings` for `utt`: its transcript file and its speaker's entry of
    `statistics` (speaker -> `speaker_norm.statistics_inputs`; None: not recorded)."""
    return utterance_settings(settings, transcript_setting(utt),
                              speaker_statistics(statistics, utt.speaker or ""))


def speaker_statistics(statistics: dict[str, str] | None, speaker: str) -> str | None:
    """A speaker's entry of `statistics`: "none" for a speaker without statistics, None when
    none are recorded (`utterance_settings` then leaves them out)."""
    return None if statistics is None else statistics.get(speaker, "none")


_OWN_KEYS = (" transcript=", " speaker_stats=")  # `utterance_settings`' own parts


def same_settings(before: str, now: str) -> bool:
    """Whether outputs recorded with `before` were aligned as `now` would align them. An
    utterance's own parts (`utterance_settings`) are compared where both record them: a row
    written before the reports recorded them is not aligned again only for that."""
    for key in _OWN_KEYS:
        if key not in before or key not in now:
            pattern = re.escape(key) + r"\S+"
            before, now = re.sub(pattern, "", before), re.sub(pattern, "", now)
    return before == now


def _mtime(path: Path) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0


def corpus_writer(out_dir: Path, formats: Sequence[str], plots: bool = False,
                  sample_rate: int = 16000, cues: str = "lines", keep_existing: bool = False
                  ) -> Writer:
    """A corpus run's Writer: every format under `out_dir/<utterance name>` (`cues`: what an
    SRT/WebVTT cue holds), and with `plots`
    the PNG, drawn last from the samples already loaded: `plan` requires it, so a run killed
    while drawing redoes the utterance. `keep_existing` (a run without --overwrite): a format
    whose files exist is not written again: `plan` has removed every output that is stale, so
    what is left is current, and may have been corrected by hand since (a run that adds
    subtitles or JSON to a folder of TextGrids must not undo the corrections)."""

    def write(utt: Utterance, alignments: list[Alignment], wave: np.ndarray) -> list[Path]:
        base = output_base(out_dir, utt)
        kept = [f for f in formats
                if keep_existing and all(p.is_file() for p in output_paths(base, [f]))]
        written = [p for f in kept for p in output_paths(base, [f])]
        missing = [f for f in formats if f not in kept]
        if missing:
            written += write_outputs(alignments, base, missing, ctm_id(utt.name), cues)
        if plots:
            from aligner.plot import plot_alignment, plot_path

            written += plot_alignment(wave, sample_rate, alignments, plot_path(base),
                                      title=utt.name)
        return written

    return write


def overwritten_input(outputs: Sequence[Path], utt: Utterance) -> Path | None:
    """The output among `outputs` that is `utt`'s own audio or transcript, or None: aligning
    x.wav with its transcript x.TextGrid into the folder that holds them would replace the
    transcript by the alignment (and a later run would take the alignment for finished work)."""
    inputs = [p for p in (utt.audio, utt.transcript) if p is not None]
    return next((Path(out) for out in outputs if any(same_file(out, src) for src in inputs)), None)


def foreign_output(outputs: Sequence[Path]) -> Path | None:
    """An output among `outputs` that exists and is a TextGrid but no alignment (a speaker-tier
    transcript made by hand beside the recording), or None. Why: the default output of
    `ottc-align x.wav x.txt`, and a corpus aligned into its own folder, is the x.TextGrid that
    such a transcript often is; it was replaced (or, in a rerun, removed as another tool's
    output) without a word."""
    from aligner.formats import is_alignment_textgrid

    return next((Path(p) for p in outputs if Path(p).suffix.lower() == ".textgrid"
                 and Path(p).is_file() and not is_alignment_textgrid(Path(p))), None)


def foreign_refusal(output: Path) -> str:
    from aligner.formats import textgrid_tier_names

    names = textgrid_tier_names(output)
    held = f"tiers {', '.join(names)}" if names else "no tiers this reader finds"
    return (f"{output}: exists and is not an alignment ({held}); this run would replace it: "
            "write the alignments elsewhere (-o), or move it")


UNRECORDED = "no ottc-align run into this folder wrote it"


def unrecorded_refusal(output: Path) -> str:
    """Why an output that no run of ours recorded is kept: replacing it lost MFA alignments
    corrected by hand in Praat, with one line of notice."""
    return (f"{output}: exists, and {UNRECORDED} (another aligner's output, or one corrected "
            "by hand?); kept: move it, or give --overwrite to replace it")


def written_by_us(rows: dict[str, dict]) -> set[str]:
    """The utterances of a report's rows (`previous_rows`) whose outputs a run of ours may have
    written: all but those failed because their outputs were not ours (`unrecorded_refusal`),
    which stay not ours the next time. Another failure may leave an earlier run's outputs."""
    return {name for name, row in rows.items()
            if not (row.get("status") == "failed" and UNRECORDED in (row.get("reason") or ""))}


def overwrite_refusal(utt: Utterance, output: Path) -> str:
    return (f"{output}: this output would overwrite the recording's own "
            f"{'audio' if same_file(output, utt.audio) else 'transcript'}; "
            "write the alignments to another folder (-o)")


def plan(utterances: Sequence[Utterance], out_dir: Path, formats: Sequence[str],
         overwrite: bool, plots: bool = False, dictionary: Path | None = None,
         settings: str = "", recorded: dict[str, str] | None = None,
         written: set[str] | None = None, fingerprints: dict[str, str] | None = None,
         backups: list[tuple[Path, Path]] | None = None,
         statistics: dict[str, str] | None = None) -> tuple[list[Utterance], list[Result]]:
    """Split into utterances to align, already-finished ones (reported as skipped, their
    outputs listed as written) and ones whose outputs would replace their own input (failed).
    Finished means every output exists, none is older than the audio, the transcript or
    `dictionary`, and the run that wrote them used these `settings` (`run_settings`), this
    transcript file and its speaker's `statistics` (speaker -> `speaker_norm.statistics_inputs`;
    None: not compared) (`utterance_settings`) when
    `recorded` (utterance -> settings, from the report: `previous_rows`) records it; an
    utterance it does not list was not aligned by ottc-align (None: not checked).
    Other outputs are removed here (they align words the transcript no longer has, or with
    another model, method or dictionary), so the utterance is aligned again, and if that fails
    no stale alignment is left. So are those of a recording whose transcript was deleted since
    a run recorded in `recorded` aligned it (it fails: no transcript); files beside an
    untranscribed recording that no run of ours recorded are the user's, and stay. `written`:
    the utterances a run of ours may have written outputs for (`written_by_us`; None: not
    checked); an output of any other utterance (another aligner's TextGrid,
    perhaps corrected by hand) is kept and the utterance fails (`unrecorded_refusal`), unless
    `overwrite`: then it is removed and the utterance aligned again. An output to be removed or
    replaced that was edited since the run that wrote it (`fingerprints`: utterance -> its
    report's `outputs_sha1`; `edited_outputs`) is moved to `x.TextGrid.~N~` instead (`back_up`),
    and (file, backup) appended to `backups`: a new model or --method made every output stale,
    and the TextGrids corrected in Praat went with them."""
    todo, done = [], []
    for utt in utterances:
        outputs = expected_outputs(out_dir, utt, formats, plots)
        clash = overwritten_input(outputs, utt)
        if clash is not None:
            done.append(Result(utt.name, "failed", overwrite_refusal(utt, clash),
                               speaker=utt.speaker or "", cause=BAD_INPUT))
            continue
        ours = recorded is not None and bool(recorded.get(utt.name))  # a run of ours wrote them
        foreign = None if ours else foreign_output(outputs)  # before stale outputs are removed
        if foreign is not None:
            done.append(Result(utt.name, "failed", foreign_refusal(foreign),
                               speaker=utt.speaker or "", cause=BAD_INPUT))
            continue
        unrecorded = (None if overwrite or written is None or utt.name in written
                      else next((p for p in outputs if Path(p).is_file()), None))
        if unrecorded is not None:  # another aligner's, or corrected by hand: not ours to drop
            done.append(Result(utt.name, "failed", unrecorded_refusal(unrecorded),
                               speaker=utt.speaker or "", cause=BAD_INPUT))
            continue
        if utt.transcript is None:  # its transcript is gone: what our runs wrote is stale
            stale = utterance_outputs(out_dir, utt, formats, plots) if ours else []
        else:
            mine = settings_of(settings, utt, statistics)
            old = (mine if recorded is None  # the caller does not know: taken as ours
                   else recorded[utt.name] or mine if utt.name in recorded else None)
            stale = stale_outputs(out_dir, utt, formats, plots, dictionary)
            if old is None or not same_settings(old, mine):
                every = utterance_outputs(out_dir, utt, formats, plots)
                if old is not None and same_settings(without_cues(old), without_cues(mine)):
                    # only --cues changed (or subtitles were added): the other files stand
                    every = [p for p in every
                             if SUFFIX_TO_FORMAT.get(p.suffix.lower()) in SUBTITLE_FORMATS]
                stale = list(dict.fromkeys(stale + every))
        replaced = [Path(p) for p in outputs if Path(p).is_file()] if overwrite else []
        for path in edited_outputs(list(dict.fromkeys(stale + replaced)),
                                   (fingerprints or {}).get(utt.name, "")):
            kept = back_up(path)
            if backups is not None:
                backups.append((path, kept))
        for path in stale:
            path.unlink(missing_ok=True)
        if not overwrite and utt.transcript is not None and all(p.is_file() for p in outputs):
            done.append(Result(utt.name, "skipped", "outputs exist (use --overwrite)",
                               speaker=utt.speaker or "", written=outputs))
        else:
            todo.append(utt)
    return todo, done


# ------------------------------------------------------------------------------- running

def length_batches(todo: Sequence[Utterance], batch_seconds: float,
                   workers: int = 1) -> list[list[Utterance]]:
    """Utterances sorted by duration and cut into batches of at most `batch_seconds` of padded
    audio (a batch's longest recording times its size), so little padding is wasted, shortest
    first; the workers take them longest first. For `workers` > 1 processes sharing them,
    smaller batches where the corpus is small (BATCHES_PER_WORKER), and the last ones to be
    taken smaller still (TAIL_SHARES).

    Why batches on the CPU too: one padded forward pass over several recordings costs about half
    the CPU time of the same recordings one at a time (benchmarks/speed.py)."""
    lengths = durations(todo)
    if workers > 1:
        share = sum(lengths.values()) / (workers * BATCHES_PER_WORKER)
        batch_seconds = min(batch_seconds, max(MIN_SHARED_BATCH_SECONDS, share))
    batches: list[list[Utterance]] = []
    batch: list[Utterance] = []
    left = sum(lengths.values())  # audio not yet in a closed batch
    # from the longest, as they are taken, so that with workers the last ones taken shrink
    for utt in reversed(sorted(todo, key=lambda u: lengths[u.name])):
        limit = batch_seconds if workers <= 1 else min(
            batch_seconds, max(TAIL_MIN_SECONDS, left / (TAIL_SHARES * workers)))
        if batch and (len(batch) + 1) * lengths[batch[0].name] > limit:
            left -= sum(lengths[u.name] for u in batch)
            batches.append(batch[::-1])
            batch = []
        batch.append(utt)
    if batch:
        batches.append(batch[::-1])
    return batches[::-1]


# Header durations read in this process, by (path, mtime in ns, size): a corpus run asks for
# every recording's twice (the speakers' statistics, then the length batches).
_SECONDS: dict[tuple[str, int, int], float] = {}


def durations(utterances: Sequence[Utterance]) -> dict[str, float]:
    """Each utterance's duration in seconds from its audio file's header (0.0 when it cannot
    be read: aligning it says what is wrong), each file's header read once while it is
    unchanged (`_SECONDS`): on a network disk a header costs a round trip."""
    out = {}
    for utt in utterances:
        try:
            st = os.stat(utt.audio)
        except OSError:
            out[utt.name] = 0.0
            continue
        key = (str(utt.audio), st.st_mtime_ns, st.st_size)
        if key not in _SECONDS:
            _SECONDS[key] = audio_seconds(utt.audio)
        out[utt.name] = _SECONDS[key]
    return out


def run_batched(aligner: Aligner, todo: Sequence[Utterance], out_dir: Path,
                formats: Sequence[str], method: str, strict: frozenset[str],
                batch_seconds: float = GPU_BATCH_SECONDS, plots: bool = False,
                journal: Journal | None = None, cues: str = "lines",
                keep_existing: bool = False) -> Iterator[Result]:
    """Utterances in padded batches of similar length (`length_batches`): the model runs once
    per batch, then each utterance is decoded and written on its own (and recorded in
    `journal`; `keep_existing`: see `corpus_writer`)."""
    for batch in length_batches(todo, batch_seconds):  # none: nothing to do, no aligner needed
        write = corpus_writer(out_dir, formats, plots, aligner.sample_rate, cues, keep_existing)
        yield from _run_batch(aligner, batch, method, strict, write, journal)


def align_batch(aligner: Aligner, batch: Sequence[Utterance], method: str) -> Iterator[tuple]:
    """(utterance, (alignments, samples) or the exception) for each utterance of `batch`, with
    one padded forward pass for all of them (recordings with timed segments are encoded per
    segment by the Aligner, and ones too long for one window on their own). Writes nothing:
    `_run_batch` and the speed benchmark share it."""
    ready = []
    for utt in batch:
        try:
            wave, _ = aligner.load_waveform(utt.audio)
            segments = aligner.read_segments(utt.transcript)
            ready.append((utt, wave, segments))
        except EXPECTED as err:  # as `align_one` turns them into outcomes
            yield utt, err
    whole = [i for i, (_, _, segments) in enumerate(ready) if all(s.whole for s in segments)]
    encoded: dict = {}
    try:
        encoded = dict(zip(whole, aligner.encode(
            [ready[i][1] for i in whole],
            [aligner.speaker_prior(ready[i][0].speaker, ready[i][2]) for i in whole])))
    except Exception:  # e.g. out of memory for the batch: each is encoded on its own below
        encoded = {}
    for i, (utt, wave, segments) in enumerate(ready):
        try:
            alignments = aligner.align_waveform(wave, segments, method, str(utt.audio),
                                                utt.speaker, encoded=encoded.get(i))
            yield utt, (alignments, wave)
        except EXPECTED as err:
            yield utt, err


def _run_batch(aligner: Aligner, batch: Sequence[Utterance], method: str, strict: frozenset[str],
               write: Writer, journal: Journal | None = None) -> Iterator[Result]:
    """Each utterance's Result; each one written is recorded in `journal` (`finish`) by the
    process that aligned it, so a run killed later (even before its workers hand their batches
    back) has not lost what it found."""
    record = journal.record if journal is not None else None
    for utt in batch:
        if utt.transcript is None:
            yield no_transcript(utt)
    with_text = [u for u in batch if u.transcript is not None]
    for utt, outcome in align_batch(aligner, with_text, method):
        if isinstance(outcome, BaseException):
            yield failed(utt, outcome)
            continue
        alignments, wave = outcome
        try:
            result = finish(utt, alignments, strict, write, wave, record)
        except EXPECTED as err:
            result = failed(utt, err)
        yield result


# worker-process state (one Aligner per process, loaded once by the initializer)
_WORKER: dict = {}


def _init_worker(model, device, dictionary, parent: int, halt,
                 journal: Journal | None, min_pause: float, thresholds: Thresholds,
                 channel: int | None, speaker_priors: dict, pauses_in_words: bool,
                 sentence_gaps: bool, ipa: bool, started) -> None:
    ignore_sigint()  # first: Ctrl-C is the parent's, even while torch is being imported
    import torch

    _exit_with_parent(parent)

    torch.set_num_threads(1)
    from aligner.align import Aligner

    aligner = Aligner.load(model, device=device, dictionary=dictionary, thresholds=thresholds)
    aligner.min_pause, aligner.channel = min_pause, channel
    aligner.pauses_in_words, aligner.sentence_gaps = pauses_in_words, sentence_gaps
    aligner.ipa = ipa
    aligner.speaker_priors = speaker_priors
    _WORKER.update(aligner=aligner, halt=halt, journal=journal, started=started)


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
    """One task of `run_parallel`: (task number, batch, out_dir, formats, method, strict,
    plots, cues, keep_existing). Its entry in the pool's shared `started` array is set first,
    so that if this process dies (the system killing it for its memory) the parent knows which
    batch it held (an array: no pipe to fill, no lock a killed worker could leave held)."""
    task, batch, out_dir, formats, method, strict, plots, cues, keep_existing = args
    _WORKER["started"][task] = 1
    aligner = _WORKER["aligner"]
    write = corpus_writer(out_dir, formats, plots, aligner.sample_rate, cues, keep_existing)
    return _until_halted(_run_batch(aligner, batch, method, strict, write, _WORKER["journal"]),
                         _WORKER["halt"])


def _until_halted(results: Iterator[Result], halt) -> list[Result]:
    """`results` up to the moment the parent sets `halt` (the run was stopped): a worker then
    finishes the utterance it is aligning and hands back what it has, not its whole batch (a
    minute of audio), and the batches queued for it come back empty at once."""
    done: list[Result] = []
    while not halt.is_set():
        result = next(results, None)
        if result is None:
            break
        done.append(result)
    return done


def _died_result(utt: Utterance) -> Result:
    """The failed Result of an utterance whose worker process died while aligning it alone."""
    return Result(utt.name, "failed", f"{utt.audio}: the worker process aligning it died "
                  "(killed by the system, e.g. for its memory); the other recordings went on",
                  cause=CRASHED)


def run_parallel(model: Path, device: str, dictionary: Path | None, todo: Sequence[Utterance],
                 out_dir: Path, formats: Sequence[str], method: str, strict: frozenset[str],
                 jobs: int, plots: bool = False, batch_seconds: float = CPU_BATCH_SECONDS,
                 late: list[Result] | None = None,
                 journal: Journal | None = None, min_pause: float = MIN_PAUSE,
                 thresholds: Thresholds = Thresholds(), cues: str = "lines",
                 keep_existing: bool = False, channel: int | None = None,
                 speaker_priors: dict | None = None, pauses_in_words: bool = False,
                 sentence_gaps: bool = True, ipa: bool = False) -> Iterator[Result]:
    """`jobs` worker processes, each with its own model on `device` (spawned: torch and fork
    do not mix well), given `speaker_priors` (`Aligner.speaker_priors`); each task is one
    length batch (`length_batches`). Each Result is
    recorded in `journal` by the worker that aligned it. The workers ignore Ctrl-C from their
    first instruction (`interrupts_held_for_workers`, `ignore_sigint`): the parent stops the
    run. When the generator is closed early, each worker finishes the utterance it is aligning
    (`_until_halted`), and what the workers finished is appended to `late` (the caller
    reports it).

    A worker that dies (killed by the system for its memory) breaks the whole pool: then the
    batches no worker had started go on in a new pool, and those the workers held are aligned
    again one recording at a time in a pool of one, at the end, so that a recording that kills
    its worker again fails alone, by name (before, every recording not yet done failed with
    "worker failed").

    For the CPU only (the CLI runs a GPU in one process): one process with large batches keeps
    a GPU busy, while several would each hold a copy of the model in its memory and queue for
    the same chip."""
    import multiprocessing as mp
    import os

    ctx = mp.get_context("spawn")
    halt = ctx.Event()
    initargs = (model, device, dictionary, os.getpid(), halt, journal, min_pause, thresholds,
                channel, speaker_priors or {}, pauses_in_words, sentence_gaps, ipa)
    task = (out_dir, list(formats), method, strict, plots, cues, keep_existing)
    pending, suspects = list(todo), []
    while pending:
        lost = yield from _pooled(ctx, jobs, initargs, length_batches(pending, batch_seconds, jobs),
                                  task, halt, late)
        if lost is None:
            break
        held, pending = lost
        if not held:  # the workers died before taking any task: nothing to go on with
            yield from map(_start_failed, pending + suspects)
            return
        suspects += held
    while suspects:  # alone, in a pool of one: a recording that kills its worker again fails
        lost = yield from _pooled(ctx, 1, initargs, [[u] for u in suspects], task, halt, late)
        if lost is None:
            break
        held, suspects = lost
        yield from map(_died_result, held)
        if not held:
            yield from map(_start_failed, suspects)
            return


def _start_failed(utt: Utterance) -> Result:
    """The failed Result of an utterance left when the workers died holding no task (failing
    to start, or killed between tasks): nothing to tell the culprit by."""
    return Result(utt.name, "failed", f"{utt.audio}: not aligned: the worker processes died "
                  "before they aligned it (killed by the system, e.g. for its memory, or failing "
                  "to start)", cause=CRASHED)


def _pooled(ctx, jobs: int, initargs: tuple, batches: list[list[Utterance]], task: tuple,
            halt, late: list[Result] | None):
    """Align `batches` in a pool of `jobs` workers, yielding the Results; returns None when the
    pool saw them all through, or, when a worker died, (utterances of the batches a worker had
    started, utterances of those none had) of the batches not yet handed back."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    order = list(reversed(batches))  # longest first: the last tasks to finish are short ones
    started = ctx.Array("b", len(order), lock=False)  # set by each task as it starts (`_work`)
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                               initargs=(*initargs, started))
    futures: dict = {}
    consumed: set = set()
    broken = False
    try:
        with interrupts_held_for_workers():  # the pool starts its workers in `submit`
            futures = {pool.submit(_work, (n, b, *task)): n for n, b in enumerate(order)}
        for fut in as_completed(futures):
            consumed.add(fut)
            try:
                yield from fut.result()
            except BrokenProcessPool:
                broken = True
                break
            except Exception as err:  # a worker's own error must not end the run
                for utt in order[futures[fut]]:
                    yield Result(utt.name, "failed", f"worker failed: {one_line(err)}",
                                 audio_seconds(utt.audio), cause=CRASHED,
                                 speaker=utt.speaker or "")
    except BaseException:
        # Ctrl-C, SIGTERM (or the consumer stopping): drop the queued utterances instead of
        # aligning them all before returning. The batches already handed to the workers (up to
        # 2 x jobs + 1) cannot be taken back: `halt` makes each stop after the utterance in
        # hand, written atomically, and what they finished goes to `late` so that the report
        # lists what they wrote.
        halt.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for fut in futures:
            if late is not None and not broken and fut not in consumed and _finished(fut):
                late.extend(fut.result())
    if not broken:
        return None
    left = []
    for fut, n in futures.items():
        if fut not in consumed and _finished(fut):  # done before the pool broke
            yield from fut.result()
        elif fut not in consumed or isinstance(fut.exception(), BrokenProcessPool):
            left.append(n)
    return ([u for n in left if started[n] for u in order[n]],
            [u for n in left if not started[n] for u in order[n]])


def _finished(fut) -> bool:
    """A future of `_pooled` that handed back its Results (not cancelled, no exception)."""
    return fut.done() and not fut.cancelled() and fut.exception() is None


# ------------------------------------------------------------------------------- report

REPORT_COLUMNS = ("utterance", "status", "reason", "duration", "words", "mean_confidence",
                  "transcript_fit", "flags", "settings", "unknown_words", "outputs_sha1")
_LATER_COLUMNS = ("settings", "unknown_words", "outputs_sha1")  # older versions' rows lack them
_STATUS_ORDER = {"failed": 0, "interrupted": 1, "flagged": 2, "aligned": 3, "skipped": 4}
INTERRUPTED = "interrupted"  # a report row whose outputs did not all land (`write_report`)
INTERRUPTED_REASON = "outputs incomplete (the run stopped while writing them): run it again"
NOT_REACHED_REASON = "not aligned: the run was stopped before it reached this one; run it again"

# How often a process's journal lines are forced to the disk (fsync): what a power cut can lose.
JOURNAL_SYNC_SECONDS = 2.0


def report_row(r: Result) -> dict[str, str]:
    """`r` as a row of the report and of its journal: the one place the columns are written
    (`recall_previous` reads them back)."""
    unread = r.status == "failed" and not r.duration  # its audio could not be read: unknown
    return dict(zip(REPORT_COLUMNS, (
        r.name, r.status, r.reason, "" if unread else f"{r.duration:.3f}", str(r.words),
        "" if r.confidence is None else f"{r.confidence:.4g}",  # as the outputs: 0.0013 vs 0.001
        "" if r.transcript_fit is None else f"{r.transcript_fit:.4g}", " | ".join(r.flags),
        r.settings, " ".join(sorted({w.lower() for w in r.unknown_words})), r.fingerprints)))


def journal_path(report: Path) -> Path:
    """The journal of `report` (`Journal`): beside it, hidden, `.alignment_report.csv.journal`."""
    return report.with_name(f".{report.name}.journal")


@dataclass
class Journal:
    """The report's rows (`report_row`), appended one JSON line per utterance just before its
    outputs are written (`finish`), by whichever process aligned it.

    Why: the report is written when a run ends (at Ctrl-C and SIGTERM too). A run killed before
    that (kill -9, a power cut, the out-of-memory killer; worker processes that a SIGTERM to the
    process group ended before they handed their batches back) left outputs that the next run
    skips, and with no row for them it forgot the flags, transcript fit and confidence found when
    they were aligned. The next run reads them from here (`previous_rows`); writing the report
    folds the journal in and removes it (`write_report`).

    Cheap, and safe to share between processes: each line is one `os.write` to the file opened
    for appending (on a local disk, lines of several processes do not interleave), forced to the
    disk (fsync) at most every JOURNAL_SYNC_SECONDS per process, not once per utterance, so a
    power cut may lose the last few lines. A line cut short (a kill in the middle of a long one,
    a power cut) is skipped when read, and each line starts on a new one, whatever the file ends
    with."""

    path: Path
    settings: str = ""  # the run's `run_settings`, given to each Result it records
    # speaker -> `speaker_norm.statistics_inputs`, recorded with their utterances (None: not)
    statistics: dict[str, str] | None = None
    synced: float = field(default_factory=time.monotonic)

    def record(self, result: Result) -> None:
        result.settings = utterance_settings(self.settings, result.transcript,
                                             speaker_statistics(self.statistics, result.speaker))
        sync = time.monotonic() - self.synced >= JOURNAL_SYNC_SECONDS
        line = "\n" + json.dumps(report_row(result))
        try:
            _append(self.path, line.encode("utf-8"), sync)
        except OSError:  # a safety net only: the outputs and the report are written as usual
            return
        if sync:
            self.synced = time.monotonic()


def _append(path: Path, data: bytes, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_report(results: Sequence[Result], path: Path,
                 unfinished: Callable[[str], bool] = lambda name: False,
                 everyone: Sequence[str] = (),
                 absent: dict[str, dict[str, str]] | None = None) -> Path:
    """CSV with one row per utterance that failed or was flagged, then a row per other
    utterance, so the file alone tells what to look at. The journal beside it (`Journal`) is
    folded in, then removed: its rows of utterances without a Result here are kept (what worker
    processes ended with the run had found, or a killed earlier run that this one did not
    reach), so that no run forgets what an earlier one found. Those `unfinished` says lack some
    of their outputs (a run stopped while writing them: the journal records an utterance just
    before its outputs are written) are `interrupted`, not `aligned`: the next run aligns
    them again, and until then their flags are kept for a run that finds the outputs it wants.
    An utterance of `everyone` (all the run was to align) that neither has keeps the row of the
    report this one replaces when its outputs are all there (an --overwrite run stopped before
    it reached them: they are still the earlier run's, which recorded them); else it is
    `interrupted` too, with NOT_REACHED_REASON and no settings: a stopped run's report still
    lists every one. `absent`: earlier rows of recordings this run did not find (`absent_rows`),
    kept as they were."""
    ensure_dir(path.parent)
    journal = journal_path(path)
    rows = {name: {**row, "status": INTERRUPTED, "reason": INTERRUPTED_REASON}
            if unfinished(name) else row for name, row in _journal_rows(journal).items()}
    rows.update((r.name, report_row(r)) for r in results)
    for name, row in (absent or {}).items():
        rows.setdefault(name, _our_columns(row))
    earlier = _report_rows(path) if everyone else {}
    for name in everyone:
        if name in rows:
            continue
        kept = earlier.get(name)
        if (kept and not unfinished(name) and kept.get("status") in ("aligned", "flagged", "skipped")
                and kept.get("settings")):
            rows[name] = _our_columns(kept)
        else:
            rows[name] = {**dict.fromkeys(REPORT_COLUMNS, ""), "utterance": name,
                          "status": INTERRUPTED, "reason": NOT_REACHED_REASON, "words": "0"}
    with atomic_open(path, newline="") as handle:
        writer = csv.DictWriter(handle, REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(sorted(rows.values(), key=_report_order))
    journal.unlink(missing_ok=True)
    return path


def _our_columns(row: dict[str, str]) -> dict[str, str]:
    """An earlier report's row as this report writes it: REPORT_COLUMNS only (a column a user
    added is theirs, not ours), empty where it had none."""
    return {c: row.get(c) or "" for c in REPORT_COLUMNS}


def absent_rows(rows: dict[str, dict[str, str]], utterances: Sequence[Utterance],
                out_dir: Path) -> dict[str, dict[str, str]]:
    """The rows of `rows` (`previous_rows`) of recordings not among `utterances` whose outputs,
    as their row records them, are still in `out_dir`: for `write_report` to keep. Why: a
    recording moved away for one run (a sync not finished, a drive not mounted) lost its row,
    and when it came back its own outputs were refused as another aligner's
    (`unrecorded_refusal`); with its row kept, an unchanged one is skipped."""
    present = {u.name for u in utterances}
    kept = {}
    for name, row in rows.items():
        if not name or name in present:
            continue
        folder = (Path(out_dir) / name).parent
        files = _parse_fingerprints(row.get("outputs_sha1") or "")
        if any((folder / file).is_file() for file in files):
            kept[name] = row
    return kept


def _report_order(row: dict) -> tuple[int, str]:
    """Failures first, then flags (a skipped recording's too, found when it was aligned: a rerun
    scattered them among the skipped), then the rest, by name."""
    status = "flagged" if row["status"] == "skipped" and row.get("flags") else row["status"]
    return _STATUS_ORDER.get(status, 9), row["utterance"]


def rank_unknown_words(word_sets: Iterable[Iterable[str]]) -> list[str]:
    """Unknown words, lowercase (as the dictionary is matched), by the number of utterances
    that have them, most first, then alphabetically: the order of `oovs_found.txt` and of a
    corpus run's summary line."""
    from collections import Counter

    counts = Counter(w for words in word_sets for w in {word.lower() for word in words})
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def write_oovs(report: Path, out_dir: Path) -> list[Path]:
    """The words of the corpus that no dictionary has (pronounced by rule), in the two files MFA
    users look for: `oovs_found.txt`, one word per line, the most frequent first, and
    `utterance_oovs.txt`, one line per utterance that has any (`name<TAB>word word ...`).
    From the report's `unknown_words` column, so that they list what the report lists (rows an
    interrupted or resumed run kept included). Lowercase, as the dictionary is matched. With
    none, files an earlier run left are removed (a --dictionary that now covers them).
    Returns the paths written."""
    by_utterance = {name: sorted(set(row["unknown_words"].lower().split()))
                    for name, row in _report_rows(report).items()
                    if name and (row.get("unknown_words") or "").strip()}
    paths = [Path(out_dir) / OOVS_NAME, Path(out_dir) / UTTERANCE_OOVS_NAME]
    if not by_utterance:
        for path in paths:
            path.unlink(missing_ok=True)
        return []
    with atomic_open(paths[0]) as handle:
        handle.writelines(f"{w}\n" for w in rank_unknown_words(by_utterance.values()))
    with atomic_open(paths[1]) as handle:
        handle.writelines(f"{name}\t{' '.join(words)}\n" for name, words in sorted(by_utterance.items()))
    return paths


def lacks_outputs(out_dir: Path, utterances: Sequence[Utterance], formats: Sequence[str],
                  plots: bool = False) -> Callable[[str], bool]:
    """For `write_report`: whether the utterance of that name lacks some of this run's expected
    outputs (`expected_outputs`); False for a name that is not one of `utterances`."""
    by_name = {u.name: u for u in utterances}

    def lacks(name: str) -> bool:
        utt = by_name.get(name)
        return utt is not None and not all(
            p.is_file() for p in expected_outputs(out_dir, utt, formats, plots))

    return lacks


def write_table(results: Sequence[Result], out_dir: Path, path: Path) -> Path | None:
    """One CSV of the whole corpus: `Utterance` then each aligned (or earlier aligned) utterance's
    own CSV rows, in name order, so a word list is one table for R or pandas (a folder of
    per-recording CSVs loses which row came from which recording). None when no CSV exists (an
    earlier run's table is then removed: the alignments it lists are gone, e.g. realigned with
    another --dictionary into other formats), or when a recording's own CSV has the table's
    name."""
    rows: list[list[str]] = []
    header: list[str] | None = None
    for r in sorted(results, key=lambda r: r.name):
        own = output_paths(Path(out_dir) / r.name, ["csv"])[0]
        if own == path:  # a recording called corpus_alignments: its own CSV keeps the name
            return None
        if r.status == "failed" or not own.is_file():
            continue
        with open(own, newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
        if table:  # the widest header: CSVs of an earlier version may lack the last columns
            if header is None or len(table[0]) + 1 > len(header):
                header = ["Utterance", *table[0]]
            rows += [[r.name, *row] for row in table[1:]]
    if header is None:
        path.unlink(missing_ok=True)
        return None
    with atomic_open(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def recall_previous(results: Sequence[Result], report: Path, strict: frozenset[str],
                    unknown_words: Callable[[str], dict[str, list[str]]] | None = None) -> None:
    """Give skipped utterances (aligned by an earlier run) what that run's report recorded:
    duration, words, mean confidence, transcript fit, flags and unknown words. So the report of a resumed run
    still lists every utterance with its flags, and every recording is judged against all of
    its speaker's (`judge_against_speakers`). With `strict` (the flag kinds --strict refuses), a
    skipped utterance the earlier run flagged with one of them fails as if refused now, and its
    outputs are removed: --strict promises that no such alignment is left in the output folder.
    Read from the report and from the journal of a run killed before it wrote one
    (`previous_rows`); with neither, they are left as they are. `unknown_words(name)` gives an utterance's unknown words when its row is from a
    version that did not record them."""
    rows = previous_rows(report)
    for r in results:
        row = rows.get(r.name)
        if r.status != "skipped" or row is None:
            continue
        r.duration = _number(row.get("duration"), r.duration)
        r.words = int(_number(row.get("words"), r.words))
        r.confidence = _number(row.get("mean_confidence"), r.confidence)
        r.transcript_fit = _number(row.get("transcript_fit"), r.transcript_fit)
        r.flags = [f for f in (row.get("flags") or "").split(" | ") if f]
        r.settings = row.get("settings") or ""
        r.fingerprints = row.get("outputs_sha1") or ""
        if row.get("unknown_words") is not None:
            r.unknown_words = {w: [] for w in row["unknown_words"].split()}
        elif unknown_words is not None:  # a report from before the column: found again
            r.unknown_words = unknown_words(r.name)
        if r.flags:
            r.reason = "outputs exist (use --overwrite); flagged when aligned"
        # a flag from the speaker's recordings alone waits for `judge_against_speakers`, which
        # may take it back (then this one is kept) or keep it (then it refuses it)
        if refusing_flags([f for f in r.flags if not is_speaker_mismatch(f)], strict):
            refuse_written(r, strict)


def previous_rows(report: Path) -> dict[str, dict[str, str]]:
    """What earlier runs recorded, by utterance: the rows of `report` and of its journal
    (`Journal`), the newer file's where both have one. The journal is the newer after a run
    killed before it wrote its report (kill -9, a power cut); the older one only after a run
    killed between writing its report and removing the journal it had folded in."""
    journal = journal_path(report)
    reported, journalled = _report_rows(report), _journal_rows(journal)
    if _mtime(journal) <= _mtime(report):
        return {**journalled, **reported}
    return {**reported, **journalled}


def _report_rows(path: Path) -> dict[str, dict[str, str]]:
    """A report's rows by utterance; none when it is missing or unreadable."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return {row.get("utterance"): row for row in csv.DictReader(handle)}
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}


def _journal_rows(path: Path) -> dict[str, dict[str, str]]:
    """A journal's rows by utterance, the last line of each utterance winning; a line that is
    not a whole row (cut short by a kill or a power cut) is skipped."""
    try:
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    except OSError:
        return {}
    rows = {}
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and all(isinstance(row.get(c), str) for c in REPORT_COLUMNS
                                         if c not in _LATER_COLUMNS):
            rows[row["utterance"]] = row
    return rows


def discard_refused(results: Sequence[Result], utterances: Sequence[Utterance],
                    out_dir: Path, formats: Sequence[str], plots: bool = False,
                    recorded: dict[str, str] | None = None) -> None:
    """Remove every output file of each utterance --strict refused, whatever its format: the
    refusal removes this run's formats, but an x.json an earlier `-f json` run wrote would still
    hold the flagged alignment when this run asks for TextGrids. One edited since the run that
    wrote it (`recorded`: utterance -> its report's `outputs_sha1`) is kept under a backup
    name, and the reason says so."""
    by_name = {u.name: u for u in utterances}
    for r in results:
        if r.cause == STRICT and r.name in by_name:
            paths = utterance_outputs(out_dir, by_name[r.name], formats, plots)
            r.reason += _kept_note(remove_kept_edits(paths, (recorded or {}).get(r.name, "")))
            r.written = []


def _number(text: str | None, default):
    try:
        return float(text) if text else default
    except ValueError:
        return default


def judge_against_speakers(results: Sequence[Result], thresholds: Thresholds,
                           strict: frozenset[str]) -> list[Result]:
    """Flag `transcript_mismatch` on the recordings whose fit is far below their speaker's
    other recordings' (aligner/speaker_fit.py; ones --strict refused count towards the
    speaker's norm): those aligned in this run and those skipped (aligned by an earlier run)
    alike, and take the flag off a skipped one that an earlier run flagged against fewer of
    the speaker's recordings and that fits them all. So a corpus gets the same flags whether it
    was aligned in one run, resumed after an interruption, or grew between runs. Their JSON and
    CSV outputs get (or lose) the flag (also one an earlier run wrote that this run kept, as
    it adds only the formats missing); with --strict a flagged one's outputs are removed and it
    fails, as if refused when aligned. Runs once the corpus is aligned, because only then is
    every recording of a speaker known. Returns the Results it changed."""
    from aligner.formats import add_flag, remove_flag
    from aligner.speaker_fit import relative_fits

    norm = [r for r in results if r.transcript_fit is not None and (r.ok or r.cause == STRICT)]
    changed = []
    for r, rel in zip(norm, relative_fits([(r.speaker, r.transcript_fit) for r in norm])):
        flag = None if rel is None else speaker_mismatch(
            r.transcript_fit, rel.relative, rel.speaker_median, rel.others, thresholds)
        mismatches = [f for f in r.flags if flag_kind(f) == "transcript_mismatch"]
        if r.cause == STRICT:  # refused for other flags: the report still gives this reason
            stale = [f for f in mismatches if is_speaker_mismatch(f)]
            if stale and flag is None and rel is not None:  # refused for its other flags
                r.flags = [f for f in r.flags if f not in stale]
                refuse(r, strict)
                changed.append(r)
            elif flag is not None and not mismatches:
                r.flags.insert(0, str(flag))
                refuse(r, strict)
                changed.append(r)
            continue
        if r.status not in ("aligned", "flagged", "skipped"):
            continue
        # an earlier run's flag from the speaker's recordings alone (`recall_previous` left it
        # for this judgement, also under --strict); one from its own fit stays
        lifts = r.status == "skipped" and mismatches and all(map(is_speaker_mismatch, mismatches))
        if lifts and flag is None and rel is not None:
            _lift_speaker_flag(r)
            changed.append(r)
        elif lifts and "transcript_mismatch" in strict:  # judged again and still flagged
            refuse_written(r, strict)
            changed.append(r)
        if mismatches:
            continue
        if flag is None:
            if r.status != "skipped":  # an output kept from an earlier run (`corpus_writer`)
                _edit_flag_outputs(r, lambda path: remove_flag(path, "transcript_mismatch"))
            continue
        r.flags.insert(0, str(flag))
        if "transcript_mismatch" in strict:
            refuse_written(r, strict)
        else:
            if r.status == "skipped":
                r.reason = ("outputs exist (use --overwrite); flagged against its speaker's other "
                            "recordings")
            else:
                r.status = "flagged"
            _edit_flag_outputs(r, lambda path: add_flag(remove_flag(path, "transcript_mismatch"),
                                                        flag, r.duration or None))
        changed.append(r)
    return changed


def _lift_speaker_flag(r: Result) -> None:
    """Take `transcript_mismatch` off a skipped Result and its JSON and CSV outputs."""
    from aligner.formats import remove_flag

    r.flags = [f for f in r.flags if flag_kind(f) != "transcript_mismatch"]
    r.reason = ("outputs exist (use --overwrite); flagged when aligned" if r.flags else
                "outputs exist (use --overwrite); no longer flagged against its speaker's "
                "other recordings")
    _edit_flag_outputs(r, lambda path: remove_flag(path, "transcript_mismatch"))


def _edit_flag_outputs(r: Result, edit: Callable[[Path], object]) -> None:
    """`edit` each JSON and CSV output of `r` (the formats that carry utterance-wide flags). One
    that cannot be edited (gone, or not ours) is left as it is: the report holds the verdict."""
    for path in r.written:
        if path.suffix.lower() in (".json", ".csv"):
            try:
                edit(path)
            except (OSError, ValueError):
                pass
