"""`ottc-align [align] AUDIO TRANSCRIPT` and `ottc-align [align] CORPUS_DIR -o OUT_DIR`.

A single file is a one-utterance run through the corpus runner (aligner/runner.py), so both say
what went wrong in the same words; this module only picks where the outputs go and renders the
Results: a line per file, or a progress bar, a summary table and a report for a corpus.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.boundaries import MIN_PAUSE, STOP_GAP
from aligner.cli.common import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, FLAG_EXAMPLES, DeviceOption,
                                ModelOption, err_console, escape, example_flags, exit_code, fail,
                                flag_counts, from_root, load_aligner, model_dir, out_console,
                                print_error)
from aligner.interrupts import StopRequest, catch_interrupts

MEMORY_HINT = "try a shorter file or a TextGrid transcript with utterance intervals"
PROGRESS_SECONDS = 120  # a single file longer than this gets a progress bar
MAX_MIN_PAUSE = 2.0  # s: --min-pause above this is 30 typed for 30 ms, not a wish


def command(
    audio: Annotated[Path, typer.Argument(
        help="A recording (wav, flac, ogg, mp3, ...) or an MFA-style corpus directory.",
        show_default=False, readable=False)],  # an unreadable file: our one-line error
    transcript: Annotated[Optional[Path], typer.Argument(
        help="Transcript of AUDIO: text (.txt/.lab) or a TextGrid of utterance intervals "
             "(one tier per speaker). Omit for a corpus.", show_default=False,
        readable=False)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Single file: output file or directory (default: beside the "
        "audio). Corpus: output directory (required).")] = None,
    formats: Annotated[Optional[list[str]], typer.Option(
        "--format", "-f", help="Comma-separated output formats: textgrid, ctm, json, csv, srt, "
        "vtt (or the option repeated: -f textgrid -f json). Default: textgrid.",
        show_default=False)] = None,
    model: ModelOption = None,
    device: DeviceOption = "auto",
    method: Annotated[Optional[str], typer.Option(help="Decoding method")] = None,
    dictionary: Annotated[Optional[Path], typer.Option(
        help="Pronunciation dictionary (MFA format, 'word PH1 PH2 ...') overriding CMUdict.")]
        = None,
    speaker_characters: Annotated[int, typer.Option(
        "--speaker-characters", "--speaker_characters", "-s", min=0,
        help="Corpus: the speaker is the first N characters of each file's name (MFA's "
             "option); 0, the default: the first folder below the corpus. A recording is "
             "judged against its speaker's others.")] = 0,
    speaker_norm: Annotated[bool, typer.Option(
        help="Corpus: normalise the short recordings of a speaker who has many (word lists, "
             "digits) by that speaker's statistics. --no-speaker-norm: by speech's, as one file "
             "is; for a corpus whose top folders are groups or tasks, not speakers.")] = True,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1,
                                      help="Corpus on CPU: parallel worker processes.")] = 1,
    overwrite: Annotated[bool, typer.Option(
        help="Corpus: realign utterances whose outputs already exist (ones whose audio, "
             "transcript or --dictionary changed since are realigned anyway), and replace outputs "
             "no ottc-align run wrote (one edited since an ottc-align run wrote it is kept as "
             "x.TextGrid.~1~ all the same). One recording: replace an output corrected by "
             "hand instead of keeping it as x.TextGrid.~1~.")] = False,
    strict: Annotated[Optional[bool], typer.Option(
        "--strict/--no-strict", help="Refuse alignments flagged as wrong as a whole (a "
        "transcript that does not match, speech missing from it, ...: docs/usage.md): exit 1, "
        "nothing written. Flags on single words are only reported.", show_default=False)]
        = None,
    strict_flags: Annotated[Optional[str], typer.Option(
        "--strict-flags", help="The flag kinds --strict refuses, comma-separated (implies "
        "--strict): e.g. 'default, low_confidence', or all for every flag.",
        show_default=False)] = None,
    batch_seconds: Annotated[Optional[float], typer.Option(
        help="Corpus: audio seconds per length-bucketed batch (default 600 on CUDA, 60 on CPU).",
        hidden=True)] = None,
    plots: Annotated[bool, typer.Option(
        help="Corpus: also write one PNG per utterance beside its TextGrid (needs matplotlib).")]
        = False,
    min_pause: Annotated[float, typer.Option(
        "--min-pause", min=0.0, help="Close gaps between two words shorter than this many "
        f"seconds, and gaps under {STOP_GAP:g} s beside a stop or affricate (its closure): the next word "
        "starts earlier, or the word before runs on; 0 keeps every gap.")]
        = MIN_PAUSE,
    channel: Annotated[Optional[int], typer.Option(
        "--channel", min=1, help="Align this channel of multi-channel recordings (1 the first, "
        "left) instead of their mix: a speaker on a microphone of their own.",
        show_default=False)] = None,
    pauses_in_words: Annotated[bool, typer.Option(
        "--pauses-in-words", help="Let a word pause between any two of its phones (a "
        "stutterer's block, a word read syllable by syllable): the word spans the pause, silence "
        "inside it on the phones tier. Off by default: wrong transcripts fit a little better "
        "with it, and are caught a little less often.")] = False,
    sentence_gaps: Annotated[bool, typer.Option(
        "--sentence-gaps/--no-sentence-gaps", help="In a transcript of several sentences, let "
        "an optional gap before, between and after them take speech the transcript leaves out "
        "(a sentence missing from it), written as a pause and flagged untranscribed_speech; on "
        "by default.")] = True,
    ipa: Annotated[bool, typer.Option(
        "--ipa", help="Write the phones in IPA (General American, no stress marks: AH0 is ə, "
        "AH1 ʌ) instead of CMUdict's ARPAbet; the times are the same.")] = False,
    threshold: Annotated[Optional[list[str]], typer.Option(
        "--threshold", help="Set a flag's limit, NAME=VALUE (repeatable), e.g. "
        "max_phone_seconds=1.5 for prolonged sounds; names and defaults in docs/usage.md.",
        show_default=False)] = None,
    cues: Annotated[str, typer.Option(
        "--cues", help="What one srt/vtt subtitle holds: lines (up to two lines of words, "
        "broken at pauses), words (one word each), or karaoke (vtt only: lines with each "
        "word's start as a timestamp tag).")] = "lines",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Print every warning (flag) instead of counts per kind and a "
        "few examples.")] = False,
) -> None:
    """Align AUDIO with TRANSCRIPT, or every utterance of a corpus directory.

    Exit codes: 0 all aligned; 1 some failed (or refused by --strict); 2 bad usage or bad
    input (single file); 130 interrupted (Ctrl-C), 143 stopped by SIGTERM: run the same command
    again to resume a corpus.
    """
    from aligner.checks import STRICT_KINDS, parse_strict_flags, parse_thresholds
    from aligner.formats import parse_formats

    if min_pause > MAX_MIN_PAUSE:  # milliseconds typed out of habit: every pause would go
        raise fail(f"--min-pause {min_pause:g} is in seconds: every pause shorter than "
                   f"{min_pause:g} s would be closed; 30 ms is 0.03")
    try:
        fmts = parse_formats(",".join(formats or ["textgrid"]))  # -f a -f b: both, not b
    except ValueError as err:
        raise fail(f"--format: {err}")
    _check_cues(cues, fmts)
    try:
        limits = parse_thresholds(threshold or [])
    except ValueError as err:
        raise fail(err)
    if strict is False and strict_flags is not None:
        raise fail("--no-strict and --strict-flags contradict each other: --strict-flags "
                   "implies --strict; give one of them")
    try:
        refused = (parse_strict_flags(strict_flags) if strict_flags is not None
                   else STRICT_KINDS if strict else frozenset())
    except ValueError as err:
        raise fail(f"--strict-flags: {err}")
    if output is not None and str(output) == "-":  # it made a folder named "-"
        raise fail("-o -: outputs are files; standard output is not one of them: name a file "
                   "or a folder")
    if not audio.exists():
        from aligner.audio import missing_file_message

        raise fail(missing_file_message(audio))
    if audio.is_dir():
        if transcript is not None:  # MFA's `align CORPUS DICTIONARY MODEL OUTPUT`?
            raise fail(f"{audio} is a corpus directory: give no transcript, and -o OUT_DIR (a "
                       "pronunciation dictionary is --dictionary FILE, a model --model DIR)")
        if output is None:
            raise fail(f"{audio} is a corpus directory: give an output directory with -o OUT_DIR")
        from aligner.audio import AUDIO_EXTENSIONS
        from aligner.corpus import TRANSCRIPT_EXTENSIONS
        from aligner.formats import NOT_TRANSCRIPTS, SUFFIX_TO_FORMAT

        file_like = {*SUFFIX_TO_FORMAT, *AUDIO_EXTENSIONS, *TRANSCRIPT_EXTENSIONS, *NOT_TRANSCRIPTS}
        if not output.is_dir() and output.suffix.lower() in file_like:  # `-o result.txt`
            raise fail(f"-o {output}: a corpus is written to a folder, one file per recording; "
                       "name a folder (choose the formats with --format)")
        if plots:
            _require_matplotlib()
        code = _align_corpus(audio, output, fmts, model, device, method, dictionary, jobs,
                             overwrite, refused, batch_seconds, quiet, plots, verbose, min_pause,
                             limits, cues, speaker_characters, channel, speaker_norm,
                             pauses_in_words, sentence_gaps, ipa)
    else:
        if plots:
            raise fail("--plots is for corpus runs; for one recording use "
                       "ottc-align plot AUDIO TRANSCRIPT")
        if speaker_characters:
            raise fail("--speaker-characters is for corpus runs: a single recording is judged "
                       "on its own")
        if not speaker_norm:
            raise fail("--no-speaker-norm is for corpus runs: a single recording is always "
                       "normalised by speech's statistics")
        if transcript is None:
            transcript = _guess_transcript(audio)
            if not quiet:
                from aligner.corpus import file_utterance

                _print_transcript_conflicts([file_utterance(audio, transcript)], verbose)
        code = _align_file(audio, transcript, output, fmts, model, device, method, dictionary,
                           refused, quiet, verbose, min_pause, limits, cues, overwrite, channel,
                           pauses_in_words, sentence_gaps, ipa)
    raise typer.Exit(code)


def _check_cues(cues: str, fmts) -> None:
    """A bad --cues, or karaoke cues for SubRip: a usage error before any work, not after the
    alignment."""
    from aligner.formats import check_cues

    try:
        check_cues(cues, fmts)
    except ValueError as err:
        raise fail(f"--cues: {err}")


def _require_matplotlib() -> None:
    from aligner.plot import PlotError, require_matplotlib

    try:
        require_matplotlib()
    except PlotError as err:
        raise fail(f"--plots: {err}") from None


def _guess_transcript(audio: Path) -> Path:
    from aligner.corpus import find_transcript

    found = find_transcript(audio)
    if found is None:
        raise fail(f"{audio}: no TRANSCRIPT given and no {audio.stem}.lab/.txt/.TextGrid/.cha beside it")
    return found


# ------------------------------------------------------------------------------ one file

def _file_utterance(audio: Path, transcript: Path):
    """A single recording as the runner's one-utterance corpus."""
    from aligner.corpus import Utterance

    return Utterance(audio.stem, audio, transcript, None)


def single_output_base(audio: Path, output: Path | None,
                       fmts: list[str]) -> tuple[Path, list[str], Path | None]:
    """Where single-file outputs go, as (base, formats, file):
    - no -o: beside the audio, `<audio dir>/<stem>.<format suffix>`;
    - -o DIR (an existing directory or a name without a suffix):
      `DIR/<stem>.<format suffix>`;
    - -o FILE with a format's suffix (.TextGrid in any case, .json, .csv, .ctm, .srt, .vtt):
      exactly FILE, name and case kept, in that format (`file` is set; CTM's phones go beside
      it as `<stem>.phones.ctm`). --format left at its default yields to the suffix; any
      other --format must be that one format.
    Any other suffix raises ValueError (a usage error): `-o result.txt` must not quietly
    become a folder, nor `-o x.csv -f json` write a second file."""
    from aligner.formats import SUFFIX_TO_FORMAT

    if output is None:
        return audio.parent / audio.stem, fmts, None
    if output.is_dir() or not output.suffix:  # typer's Path has dropped any trailing '/'
        return output / audio.stem, fmts, None
    implied = SUFFIX_TO_FORMAT.get(output.suffix.lower())
    if implied is None:
        known = ", ".join(".TextGrid" if s == ".textgrid" else s for s in SUFFIX_TO_FORMAT)
        raise ValueError(f"-o {output}: unknown output suffix {output.suffix!r}; name a file "
                         f"ending in {known}, or a directory (a name without a suffix, or one that exists)")
    if fmts != ["textgrid"] and fmts != [implied]:
        asked = ",".join(fmts)
        hint = ("give -o a directory to write several formats" if len(fmts) > 1
                else "make the suffix and --format agree")
        raise ValueError(f"-o {output} is a {implied} file name but --format asks for {asked}; "
                         f"{hint}")
    return output.parent / output.stem, [implied], output


def _align_file(audio, transcript, output, fmts, model, device, method, dictionary, strict,
                quiet, verbose=False, min_pause=MIN_PAUSE, thresholds=None, cues="lines",
                overwrite=False, channel=None, pauses_in_words=False,
                sentence_gaps=True, ipa=False) -> int:
    """One recording: a one-utterance run of the runner, its Result printed. An output that
    differs from this alignment and is newer than the audio and the transcript, or a TextGrid
    of the same words (corrected by hand in Praat since the last run?), is kept under a backup
    name, unless `overwrite` (`_back_up_edited`). `ipa`: the phones written in IPA."""
    from aligner.align import swapped_arguments
    from aligner.atomic import OutputError, check_writable

    swapped = swapped_arguments(audio, transcript)
    if swapped is not None:
        raise fail(f"{swapped}: give the audio first (ottc-align AUDIO TRANSCRIPT)")
    from aligner.formats import ctm_phones_path, output_paths, write_file, write_outputs
    from aligner.runner import (align_one, foreign_output, foreign_refusal, overwrite_refusal,
                                overwritten_input)

    try:
        base, fmts, file = single_output_base(audio, output, fmts)
    except ValueError as err:
        raise fail(err)
    _check_cues(cues, fmts)
    utt = _file_utterance(audio, transcript)
    outputs = output_paths(base, fmts) if file is None else [file]
    clash = overwritten_input(outputs, utt)
    if clash is not None:
        raise fail(overwrite_refusal(utt, clash))
    foreign = foreign_output(outputs)
    if foreign is not None:
        raise fail(foreign_refusal(foreign))
    try:  # before minutes of work, not after
        check_writable(base.parent)
    except OutputError as err:
        raise fail(err)
    aligner = load_aligner(model, device, dictionary, method, thresholds)
    aligner.min_pause, aligner.channel = min_pause, channel
    aligner.pauses_in_words, aligner.sentence_gaps = pauses_in_words, sentence_gaps
    aligner.ipa = ipa

    def write_to(folder: Path, alignments) -> list[Path]:
        if file is None:
            return write_outputs(alignments, folder / base.name, fmts, audio.stem, cues)
        return write_file(alignments, folder / file.name, fmts[0], audio.stem, cues)

    backups: list[tuple[Path, Path]] = []
    replaced = outputs if file is None or fmts[0] != "ctm" else [file, ctm_phones_path(file)]

    def write(utt, alignments, wave) -> list[Path]:
        if not overwrite and any(p.is_file() for p in replaced):  # else nothing to keep
            backups.extend(_back_up_edited(base.parent, utt,
                                           lambda folder: write_to(folder, alignments)))
        return write_to(base.parent, alignments)

    progress = _progress_for(audio, aligner, quiet)
    try:
        result = align_one(aligner, utt, method, strict, write)
    finally:
        if progress is not None:
            progress.stop()
    for path, backup in backups:  # said even with -q: the user's file has a new name
        err_console().print(f"kept the earlier {escape(str(path))} as {escape(backup.name)}: it "
                            "differed from this alignment (written with other settings, or "
                            "corrected by hand?)")
    if result.status == "failed":
        raise _file_failure(audio, result, verbose, [p for p in outputs if p.exists()], strict)
    if not quiet:
        _print_file_summary(audio, result, verbose)
    return EXIT_OK


def _back_up_edited(folder: Path, utt, render) -> list[tuple[Path, Path]]:
    """Move aside (to `name.~N~`, the first free N, as `cp --backup=numbered` names them) each
    file of `folder` this run is about to replace that is newer than the audio and the
    transcript and differs from what this run writes (`render(other_folder)` writes it there):
    a TextGrid corrected by hand in Praat since the run that wrote it, or one written with other
    settings. Returns the (file, backup) pairs. Why: rerunning `ottc-align x.wav` replaced the
    corrections without a word; refusing instead failed every rerun with another --method. An
    output older than an input is stale (the transcript was fixed since), and one this run
    would write again unchanged is its own: both are simply replaced. A TextGrid older than
    an input whose words are this run's words is not stale, though: copying a folder
    (`cp -r`, an unzipped archive) can leave a corrected TextGrid older than its recording by
    moments, and it was replaced without a word."""
    import tempfile

    from aligner.runner import back_up

    inputs = [p for p in (utt.audio, utt.transcript) if p is not None]
    newest = max(p.stat().st_mtime for p in inputs)
    moved = []
    with tempfile.TemporaryDirectory() as other:
        for twin in render(Path(other)):
            path = folder / twin.name
            if (path.is_file() and twin.read_bytes() != path.read_bytes()
                    and (path.stat().st_mtime >= newest or _same_words(path, twin))):
                moved.append((path, back_up(path)))
    return moved


def _same_words(old: Path, new: Path) -> bool:
    """Whether two TextGrids hold the same words in the same order (an alignment of the same
    transcript, whatever its times); False for other formats and for an unreadable file."""
    from aligner.formats import read_textgrid

    if old.suffix.lower() != ".textgrid":
        return False
    try:
        return [[w.label for w in a.words if w.label] for a in read_textgrid(old, True)] == [
            [w.label for w in a.words if w.label] for a in read_textgrid(new, True)]
    except (OSError, ValueError):  # FormatError is a ValueError
        return False


def _progress_for(audio: Path, aligner, quiet: bool):
    """A progress bar fed by the Aligner for a long recording (None for a short one, or -q);
    an unreadable file is a usage error here already."""
    from aligner.audio import audio_info

    try:
        info = audio_info(audio)
    except ValueError as err:
        raise fail(err)
    if info.duration <= PROGRESS_SECONDS or quiet:
        return None
    progress, update = _frame_progress(f"Aligning {audio.name}")
    aligner.on_progress = update
    return progress


def _file_failure(audio: Path, result, verbose: bool, earlier: Sequence[Path] = (),
                  strict: frozenset[str] = frozenset()) -> typer.Exit:
    """Print why a single file failed; the Exit to raise (2 for bad input, else 1). `earlier`:
    outputs of an earlier run at this run's output paths, left as they were (named, so that
    "nothing written" is not read as "no alignment there"). `strict`: the flag kinds --strict
    refuses, of which the message names those found."""
    from aligner.checks import RECORDING_KINDS, flag_kind, flag_kinds, refusing_flags
    from aligner.runner import BAD_INPUT, OUT_OF_MEMORY, STRICT

    if result.cause == STRICT:
        console = err_console()
        refusing = refusing_flags(result.flags, strict)
        reported = [f for f in result.flags if flag_kind(f) not in strict]
        more = ("" if verbose or len(result.flags) <= FLAG_EXAMPLES
                else "; --verbose prints them all")
        console.print(f"[yellow]flags --strict refuses:[/] {flag_counts(refusing)}"
                      + (f"; only reported: {flag_counts(reported)}" if reported else "") + more)
        for f in refusing if verbose else example_flags(refusing):
            console.print(f"[yellow]flag:[/] {escape(f)}")
        room = max(0, FLAG_EXAMPLES - len(refusing))  # examples of those refusing come first
        for f in reported if verbose else example_flags(reported, room):
            console.print(f"[yellow]flag (only reported):[/] {escape(f)}")
        kinds = flag_kinds(refusing)
        what = ("the recording is flagged" if set(kinds) <= RECORDING_KINDS
                else "alignment flagged as probably wrong")
        return fail(f"{audio}: {what} (--strict: {', '.join(kinds)}); nothing written"
                    + _left_as_it_was(earlier), EXIT_FAILED)
    if result.cause == OUT_OF_MEMORY:
        return fail(f"{result.reason}; {MEMORY_HINT}", EXIT_FAILED)
    return fail(result.reason, EXIT_USAGE if result.cause == BAD_INPUT else EXIT_FAILED)


def _left_as_it_was(earlier: Sequence[Path]) -> str:
    """Why a single file's --strict refusal does not delete an earlier output: beside the audio
    it may be a file the user keeps (a corpus run clears its own output folder instead)."""
    if not earlier:
        return ""
    names = ", ".join(str(p) for p in earlier)
    return (f" (an earlier {names} is left as it was)" if len(earlier) == 1
            else f" (earlier {names} are left as they were)")


def _frame_progress(label: str):
    """A rich progress bar for one long recording; returns (progress, callback). The callback
    reports the model's frames; once they are all done the bar says so and pulses while the
    search and the checks run (two thirds of the time on a long file), rather than sit at 100%."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.fields[share]}"), TimeRemainingColumn(),
                        console=err_console(), transient=True)
    task = progress.add_task(f"{label}: model", total=None, share="")
    search = progress.add_task(f"{label}: search and checks", total=None, share="",
                               visible=False)  # a task without a total pulses
    progress.start()

    def update(done: int, total: int) -> None:
        # each interval of a timed transcript runs the model on its own: back to the bar
        progress.update(task, completed=done, total=total, share=f"{100 * done / total:3.0f}%",
                        visible=done < total)
        progress.update(search, visible=done >= total)

    return progress, update


SHOWN_WORD = 60  # characters of an unknown word the summary shows (a 5000-letter one filled it)


def _print_file_summary(audio: Path, result, verbose: bool = False) -> None:
    console = out_console()
    mean = f"{result.confidence:.2g}" if result.confidence is not None else "n/a"  # 0.00046, not 0.00
    flags = result.flags
    console.print(f"[bold green]aligned[/] {escape(str(audio))}: {result.words} words, "
                  f"{result.duration:.2f} s, mean confidence {mean}, {len(flags)} warning(s)")
    for word, pron in result.unknown_words.items():
        shown = (word if len(word) <= SHOWN_WORD
                 else f"{word[:SHOWN_WORD]}... ({len(word)} characters)")
        console.print(f"  unknown word {escape(shown)!s} -> {' '.join(pron)}")
    if flags:
        console.print(f"  [yellow]warnings:[/] {flag_counts(flags)}"
                      f"{_flag_pointer(result.written, len(flags), verbose)}")
        for f in flags if verbose else example_flags(flags):
            console.print(f"  [yellow]warning:[/] {escape(f)}")
    for path in result.written:
        console.print(f"  wrote {escape(str(path))}")


def _flag_pointer(written: list[Path], count: int, verbose: bool) -> str:
    """Where the full list of flags is, when the summary shows only some of them."""
    if verbose or count <= FLAG_EXAMPLES:
        return ""
    lists = [p for p in written if p.suffix.lower() in (".json", ".csv")]
    where = (f"all listed in {escape(str(lists[0]))}" if lists
             else "-f json or csv lists them all with their times")
    return f" (examples below; {where}; --verbose prints them all)"


# ------------------------------------------------------------------------------ a corpus

def _align_corpus(root, out_dir, fmts, model, device, method, dictionary, jobs, overwrite,
                  strict, batch_seconds, quiet, plots=False, verbose=False,
                  min_pause=MIN_PAUSE, thresholds=None, cues="lines", speaker_characters=0,
                  channel=None, speaker_norm=True, pauses_in_words=False,
                  sentence_gaps=True, ipa=False) -> int:
    from aligner.align import DeviceError, resolve_device
    from aligner.atomic import OutputError, ensure_dir, hold_folder, release_folder

    created = _missing_folders(out_dir)
    try:
        resolve_device(device)  # first: a missing GPU leaves no empty output folder behind
        ensure_dir(out_dir)
        lock = hold_folder(out_dir)  # one run at a time writes a folder's report
    except (DeviceError, OutputError) as err:
        raise fail(err)
    try:
        return _run_corpus(root, out_dir, fmts, model, device, method, dictionary, jobs,
                           overwrite, strict, batch_seconds, quiet, plots, verbose, min_pause,
                           thresholds, cues, speaker_characters, channel, speaker_norm,
                           pauses_in_words, sentence_gaps, ipa)
    finally:
        release_folder(lock)
        # a run that wrote nothing (no audio found, a bad --model) leaves none of the folders
        # it made: `-o new/deeper/out` leaves no new/deeper either
        with contextlib.suppress(OSError):
            for folder in created:
                folder.rmdir()  # only if empty: stops at the first that holds something


def _missing_folders(path: Path) -> list[Path]:
    """The folders `path` needs made, deepest first: what a run that wrote nothing takes away."""
    return [p for p in (path, *path.parents) if not p.exists()]


def _run_corpus(root, out_dir, fmts, model, device, method, dictionary, jobs, overwrite,
                strict, batch_seconds, quiet, plots, verbose, min_pause, thresholds, cues,
                speaker_characters=0, channel=None, speaker_norm=True,
                pauses_in_words=False, sentence_gaps=True, ipa=False) -> int:
    from aligner import corpus, runner
    from aligner.atomic import clean_stale_temps
    from aligner.formats import SUBTITLE_FORMATS
    from aligner.speaker_norm import speaker_priors, statistics_inputs

    utterances = corpus.find_utterances(root, speaker_characters)
    unreadable = corpus.unreadable_inputs(root)  # .m4a, unlistable folders: failed, said why
    if not utterances:
        raise fail(corpus.no_audio_message(root, unreadable))
    if not quiet:
        _print_transcript_conflicts(utterances, verbose)
        _print_orphans(corpus.orphan_transcripts(root), verbose)
    stale = clean_stale_temps(out_dir)  # left by a killed run: never mistaken for outputs
    if stale and not quiet:
        err_console().print(f"removed {len(stale)} temporary file(s) left by an interrupted run")
    refused = corpus.same_name_problems(utterances)  # outputs of one would be another's
    refused |= {name: problem for name, problem in
                runner.output_clashes(utterances, out_dir, fmts, plots).items()
                if name not in refused}
    report = out_dir / runner.REPORT_NAME
    # the model, --method and --dictionary checked before `plan` removes any output: a typo
    # must not cost the alignments another run wrote
    aligner = load_aligner(model, device, dictionary, method, thresholds)
    aligner.min_pause, aligner.channel = min_pause, channel
    aligner.pauses_in_words, aligner.sentence_gaps = pauses_in_words, sentence_gaps
    aligner.ipa = ipa
    subtitles = bool(set(SUBTITLE_FORMATS) & set(fmts))
    settings = runner.run_settings(model_dir(model), method, dictionary, min_pause,
                                   aligner.thresholds, cues if subtitles else None,
                                   speaker_characters, channel, speaker_norm, pauses_in_words,
                                   sentence_gaps, ipa)
    recorded = {name: row.get("settings") or "" for name, row in runner.previous_rows(report).items()
                if row.get("reason") != runner.NOT_REACHED_REASON}  # listed, never aligned
    if not subtitles:  # an earlier run's --cues changed none of the files this run writes
        recorded = {name: runner.without_cues(before) for name, before in recorded.items()}
    # what each speaker's statistics would be read from (headers only): recorded with each
    # utterance, so that recordings added to a speaker align the earlier ones again
    statistics = (statistics_inputs(utterances, {u.speaker for u in utterances})
                  if speaker_norm and aligner.model.norm_prior is not None else {})
    if not quiet:
        _print_changed_settings(recorded, settings, utterances, out_dir, fmts, plots, overwrite,
                                statistics)
        if recorded and not any(u.name in recorded for u in utterances):
            err_console().print(
                f"[yellow]warning:[/] {escape(str(report))} lists {len(recorded)} recordings, none "
                "of them in this corpus (another corpus's run?): the report will list both "
                "corpora's; give each corpus its own output folder")
    started_ns = time.time_ns()  # outputs older than this were kept, not written, by this run
    earlier = runner.previous_rows(report)
    written = runner.written_by_us(earlier)
    backups: list[tuple[Path, Path]] = []
    sha1 = {name: row.get("outputs_sha1") or "" for name, row in earlier.items()}
    todo, results = runner.plan([u for u in utterances if u.name not in refused], out_dir, fmts,
                                overwrite, plots, dictionary, settings, recorded, written, sha1,
                                backups, statistics)
    _print_backups(backups)
    results += [runner.bad_input(name, problem) for name, problem in sorted(refused.items())]
    by_name = {u.name: u for u in utterances}
    runner.recall_previous(results, report, strict,  # before this run's report replaces it
                           lambda name: _unknown_words(aligner, by_name[name]))
    results += [runner.unreadable_result(root, path) for path in unreadable]
    on_gpu = aligner.device.type == "cuda"
    if batch_seconds is None:
        batch_seconds = runner.GPU_BATCH_SECONDS if on_gpu else runner.CPU_BATCH_SECONDS
    late: list = []  # what workers finished after an interrupt: reported all the same
    journal = runner.Journal(runner.journal_path(report), settings,  # what a killed run found
                             statistics)
    if speaker_norm:  # reads up to 50 short recordings of each speaker of a word list
        status = (err_console().status("reading the speakers' short recordings for their "
                                       "statistics") if not quiet else contextlib.nullcontext())
        with status:
            aligner.speaker_priors = speaker_priors(aligner, utterances, {u.speaker for u in todo})
    if jobs > 1 and len(todo) > 1 and not on_gpu:  # a GPU runs in one process: run_parallel
        stream = runner.run_parallel(model_dir(model), str(aligner.device), dictionary, todo,
                                     out_dir, fmts, method, strict, min(jobs, len(todo)), plots,
                                     batch_seconds, late, journal, min_pause,
                                     aligner.thresholds, cues, keep_existing=not overwrite,
                                     channel=channel, speaker_priors=aligner.speaker_priors,
                                     pauses_in_words=pauses_in_words,
                                     sentence_gaps=sentence_gaps, ipa=ipa)
    else:
        stream = runner.run_batched(aligner, todo, out_dir, fmts, method, strict, batch_seconds,
                                    plots, journal, cues, keep_existing=not overwrite)
    interrupted = False
    report_written = ended = False  # the report; the report and the files that go with it
    stop = StopRequest()  # Ctrl-C or SIGTERM: which one sets the exit code
    try:
        with catch_interrupts(stop):
            consume(stream, results, len(todo), quiet, stop)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stream.close()  # the workers' batches in progress finish now, before the report
        results += late
        try:
            runner.judge_against_speakers(results, aligner.thresholds, strict)
            runner.discard_refused(results, utterances, out_dir, fmts, plots, sha1)
            runner.carry_fingerprints(results, earlier, started_ns)
            runner.write_report(results, report,
                                runner.lacks_outputs(out_dir, utterances, fmts, plots),
                                [u.name for u in todo] if interrupted else (),
                                runner.absent_rows(earlier, utterances, out_dir))
            report_written = True
            table = out_dir / runner.TABLE_NAME
            if "csv" in fmts or table.is_file():  # an earlier run's table: its rows may be stale
                runner.write_table(results, out_dir, table)
            runner.write_oovs(report, out_dir)
            ended = True
        except OSError as err:
            print_error(err)
    if interrupted:
        err_console().print(_interrupted_line(results, len(utterances) + len(unreadable)))
        return stop.exit_code
    if not quiet:
        _print_corpus_summary(results, report if report_written else None, root, verbose,
                              strict)
        _print_unknown_words(results, root, dictionary)
    else:
        for r in results:
            if not r.ok:
                err_console().print(f"[bold red]failed:[/] {escape(r.name)}: {escape(r.reason)}")
    return exit_code(results) if ended else 2  # a disk full at the end: not done


BACKUPS_LISTED = 10  # edited outputs named one by one before the rest are counted


def _print_backups(backups: list[tuple[Path, Path]]) -> None:
    """Say, even with -q (the user's files have new names), which outputs edited since the run
    that wrote them were moved aside before this run realigns them (`runner.plan`)."""
    for path, backup in backups[:BACKUPS_LISTED]:
        err_console().print(f"kept the earlier {escape(str(path))} as {escape(backup.name)}: it "
                            "was edited since ottc-align wrote it (corrected by hand?)")
    if len(backups) > BACKUPS_LISTED:
        err_console().print(f"... and {len(backups) - BACKUPS_LISTED} more edited outputs kept "
                            "under the same kind of name (name.~N~)")


def _interrupted_line(results, total: int) -> str:
    """What an interrupted run got through, by outcome: "after 6 of 44" read as six aligned when
    the six had failed before any alignment started (no transcript, unreadable audio)."""
    aligned = sum(r.status in ("aligned", "flagged") for r in results)
    failed = sum(r.status == "failed" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    done_before = f", {skipped} skipped (done before)" if skipped else ""
    return (f"interrupted after {aligned} aligned, {failed} failed{done_before}, of {total} "
            "utterances; run the same command again to resume")


UNKNOWN_EXAMPLES = 5  # unknown words named in a corpus summary


def _unknown_words(aligner, utt) -> dict[str, list[str]]:
    """An utterance's words that no dictionary has, from its transcript (for a skipped one
    whose report row is from a version that did not record them); {} when it cannot be read."""
    try:
        segments = aligner.read_segments(utt.transcript)
        return {word: phones for g in segments
                for word, phones in aligner.prepare_text(g.text, g.source).unknown.items()}
    except (ValueError, OSError):
        return {}


def _print_unknown_words(results, root: Path, dictionary: Path | None) -> None:
    """One line for the words of this run that no dictionary has (their pronunciations were
    generated by rule): how many, the most frequent few, and the command that lists them all
    as a dictionary to correct. A single file lists each; a corpus may have thousands."""
    import shlex

    from aligner.runner import rank_unknown_words

    examples = rank_unknown_words(r.unknown_words for r in results)
    if not examples:
        return
    shown = ", ".join(examples[:UNKNOWN_EXAMPLES]) + (", ..." if len(examples) > UNKNOWN_EXAMPLES
                                                      else "")
    command = f"ottc-align validate {shlex.quote(str(root))}" + (
        f" --dictionary {shlex.quote(str(dictionary))}" if dictionary is not None else "")
    out_console().print(f"{len(examples)} word(s) not in the dictionary, pronounced by rule: "
                        f"{escape(shown)}; {escape(command)} --export-dictionary words.dict "
                        "lists them all to correct and pass back with --dictionary")


def _print_transcript_conflicts(utterances, verbose: bool) -> None:
    """Warn about recordings with two transcripts (a .lab and a .txt that disagree, or a
    TextGrid of turns beside the text: which one is used, and why), a few lines at most:
    `validate` lists them all."""
    from aligner.corpus import transcript_conflict

    conflicts = [c for u in utterances if (c := transcript_conflict(u)) is not None]
    console = err_console()
    for line in conflicts if verbose else conflicts[:FLAG_EXAMPLES]:
        console.print(f"[yellow]warning:[/] {escape(line)}")
    if len(conflicts) > FLAG_EXAMPLES and not verbose:
        console.print(f"[yellow]warning:[/] ... {len(conflicts) - FLAG_EXAMPLES} more recordings "
                      "with two transcripts (ottc-align validate lists them all)")


def _print_changed_settings(recorded: dict[str, str], settings: str, utterances, out_dir: Path,
                            fmts, plots: bool, overwrite: bool,
                            statistics: dict[str, str]) -> None:
    """Say so when outputs that would be skipped were written with another method, model,
    dictionary, transcript file or speaker's statistics (`runner.utterance_settings`;
    `statistics`: speaker -> `speaker_norm.statistics_inputs`): they are aligned again and
    replaced; or by no ottc-align run the folder's report records (another aligner's
    TextGrids, perhaps corrected by hand): they are kept and their recordings fail, unless
    --overwrite replaces them."""
    from aligner import runner

    present = [u for u in utterances  # an untranscribed recording's namesakes are not aligned
               if u.transcript is not None and runner.utterance_outputs(out_dir, u, fmts, plots)]
    now = {u.name: runner.settings_of(settings, u, statistics) for u in present}
    changed = [u for u in present if recorded.get(u.name)
               and not runner.same_settings(recorded[u.name], now[u.name])]
    if changed:
        before, after = recorded[changed[0].name], now[changed[0].name]
        cues_only = runner.same_settings(runner.without_cues(before), runner.without_cues(after))
        err_console().print(f"{len(changed)} utterance(s) were aligned with other settings "
                            f"({escape(before)}; now {escape(after)}): "
                            + ("only their subtitles are written; their other files are kept"
                               if cues_only else "aligning them again"))
    foreign = [u for u in present if u.name not in recorded]
    if foreign:
        err_console().print(f"{len(foreign)} utterance(s) have outputs in {escape(str(out_dir))} "
                            f"that no ottc-align run recorded ({runner.REPORT_NAME} does not "
                            f"list them), e.g. {escape(str(runner.utterance_outputs(out_dir, foreign[0], fmts, plots)[0]))}: "
                            + ("aligning them again and replacing those files" if overwrite else
                               "kept, those recordings not aligned (another aligner's outputs, "
                               "or corrected by hand?): move them, or give --overwrite to "
                               "replace them"))


def _print_orphans(orphans: list[Path], verbose: bool) -> None:
    """Warn about transcripts with no recording beside them (a renamed or missing audio file):
    nothing of theirs is aligned, and the report, which lists recordings, cannot say so."""
    if not orphans:
        return
    shown = orphans if verbose else orphans[:FLAG_EXAMPLES]
    more = "" if len(shown) == len(orphans) else (f" ... and {len(orphans) - len(shown)} more "
                                                  "(ottc-align validate lists them all)")
    err_console().print(f"[yellow]warning:[/] {len(orphans)} transcript(s) without a recording, "
                        f"not aligned: {escape(', '.join(map(str, shown)))}{escape(more)}")


PROGRESS_LOG_SECONDS = 30.0  # off a terminal: one progress line this often


def consume(stream, results, total: int, quiet: bool, stop: StopRequest | None = None) -> None:
    """Collect the run's results (with a progress bar unless quiet; off a terminal, where a bar
    prints nothing, a plain line every PROGRESS_LOG_SECONDS: a job's log showed nothing until
    the summary); `stop` is checked after every utterance, so a Ctrl-C that some library
    swallowed still ends the run."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    stop = stop or StopRequest()
    console = err_console()
    if quiet or total == 0 or not console.is_terminal:
        log = ProgressLog(total, console) if not quiet and total else None
        for result in stream:
            results.append(result)
            if log is not None:
                log.done(result)
            stop.check()
        return
    with Progress(TextColumn("aligning"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"),
                  console=console, transient=True) as progress:
        task = progress.add_task("", total=total)
        for result in stream:
            results.append(result)
            progress.update(task, advance=1, description=result.name)
            stop.check()


class ProgressLog:
    """Plain progress lines for a log: at most one per PROGRESS_LOG_SECONDS (and then one at the
    end; a short run prints none), counting what is done of `total` (failed ones too) and the
    time left at the rate so far."""

    def __init__(self, total: int, console) -> None:
        import time

        self.total, self.console = total, console
        self.start = self.last = time.monotonic()
        self.n = self.failed = self.lines = 0

    def done(self, result) -> None:
        import time

        self.n += 1
        self.failed += result.status == "failed"
        now = time.monotonic()
        if now - self.last < PROGRESS_LOG_SECONDS and not (self.n == self.total and self.lines):
            return
        self.last, self.lines = now, self.lines + 1
        left = (now - self.start) / self.n * (self.total - self.n)
        self.console.print(f"aligning: {self.n} of {self.total} done ({self.failed} failed), "
                           f"{now - self.start:.0f} s elapsed, about {left:.0f} s left",
                           markup=False, highlight=False)


FAILED_ROWS, FLAGGED_ROWS = 50, 10  # utterances listed under the summary (--verbose: all)


def _print_corpus_summary(results, report: Path | None, root: Path, verbose: bool = False,
                          strict: frozenset[str] = frozenset()) -> None:
    """Counts, then the utterances to look at: every failure (up to 50) and the worst flagged
    ones, with flags counted per kind. Flagged utterances were aligned and written: the table
    counts them as aligned so that "flagged" never reads as "not aligned". Paths inside the
    corpus are shown from its root, as `validate` shows them (the whole path repeated the
    utterance column and wrapped mid-word); the report keeps the messages whole. `strict`: the
    flag kinds --strict refused, so that the line on flagged ones says it let them through."""
    from rich.table import Table

    console = out_console()
    counts = {s: sum(r.status == s for r in results) for s in ("aligned", "flagged", "skipped",
                                                                 "failed")}
    table = Table(title="ottc-align corpus summary")
    for col in ("aligned", "of which with flags", "skipped (done before)", "failed",
                "audio aligned (s)"):
        table.add_column(col, justify="right")
    table.add_row(str(counts["aligned"] + counts["flagged"]), str(counts["flagged"]),
                  str(counts["skipped"]), str(counts["failed"]),
                  f"{sum(r.duration for r in results if r.status in ('aligned', 'flagged')):.1f}")
    console.print(table)
    failed = sorted((r for r in results if r.status == "failed"), key=lambda r: r.name)
    flagged = sorted((r for r in results if r.status == "flagged" or (r.status == "skipped" and r.flags)),
                     key=_flag_severity)
    shown = failed + flagged if verbose else failed[:FAILED_ROWS] + flagged[:FLAGGED_ROWS]
    if shown:
        detail = Table(show_header=True)
        detail.add_column("utterance", overflow="fold")  # a path is never cut short
        detail.add_column("outcome", no_wrap=True)
        detail.add_column("reason / flags", overflow="fold")
        for r in shown:
            outcome = {"failed": "failed", "skipped": "aligned before, flagged"}.get(r.status,
                                                                                   "aligned, flagged")
            detail.add_row(escape(r.name), outcome, escape(
                from_root(r.reason, root) if r.status == "failed" else flag_counts(r.flags)))
        console.print(detail)
    hidden = len(failed) + len(flagged) - len(shown)
    if hidden:
        console.print(f"... and {hidden} more (all in the report; --verbose lists them here)")
    if flagged:
        all_flags = [f for r in flagged for f in r.flags]
        before = sum(r.status == "skipped" for r in flagged)  # the table counts this run's only
        split = (f": {len(flagged) - before} aligned in this run, {before} before" if before
                 else "")
        why = ("none of a kind --strict refuses; places worth a look" if strict
               else "probably-wrong alignments worth a look")
        console.print(f"[yellow]{len(flagged)} aligned utterance(s) have flags[/] (outputs "
                      f"written{split}; {why}): {flag_counts(all_flags)}")
    if verbose:
        for r in flagged:
            for f in r.flags:
                console.print(f"  {escape(r.name)}: [yellow]{escape(f)}[/]")
    if report is None:  # the error above said why
        console.print("report: not written")
    else:
        console.print(f"report: {escape(str(report))} (every utterance with its flags)")


def _flag_severity(result) -> tuple:
    """Sort key, worst first: a transcript that may not match, then the most flags."""
    from aligner.checks import flag_kinds

    return ("transcript_mismatch" not in flag_kinds(result.flags), -len(result.flags),
            result.name)
