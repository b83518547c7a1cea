"""`ottc-align`: the command line. Thin: parses options, calls align/corpus/formats, prints.

    ottc-align AUDIO TRANSCRIPT [-o OUT]        one recording (the default command, `align`)
    ottc-align CORPUS_DIR -o OUT_DIR            an MFA-style corpus, resumable
    ottc-align validate CORPUS_DIR              check a corpus before aligning it
    ottc-align train|adapt|evaluate|plot ...    defined in cli_train.py, cli_adapt.py, cli_evaluate.py,
                                                cli_plot.py

Exit codes: 0 all aligned; 1 some utterances failed (or were flagged, with --strict);
2 bad usage or bad input in single-file mode; 130 interrupted.
Errors are one line on stderr naming the file and the problem, never a traceback (set
OTTC_ALIGN_DEBUG=1 to see one for an unexpected internal error).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from aligner import __version__
from aligner.interrupts import StopRequest, catch_interrupts

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SUBCOMMAND_MODULES = {"train": "aligner.cli_train", "adapt": "aligner.cli_adapt",
                      "evaluate": "aligner.cli_evaluate", "plot": "aligner.cli_plot"}


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument may be a path instead of a command name: anything that is
    not a known command (or a group option such as --help) is routed to `align`, so that
    `ottc-align a.wav a.txt` and `ottc-align train ...` both work. A file literally named like a
    command can still be aligned with `ottc-align align train a.txt`."""

    default_command = "align"

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


class MethodCommand(TyperCommand):
    """A command whose `--method` option takes its default and the methods its help lists from
    the decoder table (`aligner.decode.DECODERS`). The table is read when the command runs or
    shows its help, not when the CLI starts: importing it imports torch, which `ottc-align
    --help`, `validate` and `evaluate` should not wait for."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if param.name == "method" and param.default is None:  # not yet filled in
                from aligner.decode import DECODERS, DEFAULT_METHOD

                param.default = DEFAULT_METHOD
                param.metavar = "|".join(DECODERS)
                param.help = f"{param.help}: " + "; ".join(
                    f"{name} ({d.summary})" for name, d in DECODERS.items()) + "."
        return params


app = typer.Typer(
    cls=DefaultCommandGroup,
    name="ottc-align",
    help="Speech forced aligner built on Optimal Temporal Transport Classification (OTTC).\n\n"
         "ottc-align AUDIO TRANSCRIPT aligns one file; ottc-align CORPUS_DIR -o OUT_DIR aligns "
         "a corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ottc-align {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Speech forced aligner built on Optimal Temporal Transport Classification (OTTC)."""


# ------------------------------------------------------------------------------ printing

def _err_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _out_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `error: message` (one line, no markup interpretation) and return the Exit to raise."""
    _err_console().print(f"[bold red]error:[/] {_escape(_one_line(message))}")
    return typer.Exit(code)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _one_line(message: object) -> str:
    text = str(message).strip()
    return text.splitlines()[0] if text else type(message).__name__


# ------------------------------------------------------------------------------ align

def align(
    audio: Annotated[Path, typer.Argument(
        help="A recording (wav, flac, ogg, mp3, ...) or an MFA-style corpus directory.",
        show_default=False)],
    transcript: Annotated[Optional[Path], typer.Argument(
        help="Transcript of AUDIO: text (.txt/.lab) or a TextGrid of utterance intervals "
             "(one tier per speaker). Omit for a corpus.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Single file: output file or directory (default: beside the "
        "audio). Corpus: output directory (required).")] = None,
    formats: Annotated[str, typer.Option(
        "--format", "-f", help="Comma-separated output formats: textgrid, ctm, json, csv, srt, vtt.")]
        = "textgrid",
    model: Annotated[Optional[Path], typer.Option(
        help="Model directory (default: the shipped English model, or $OTTC_ALIGN_MODEL).")]
        = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    method: Annotated[Optional[str], typer.Option(help="Decoding method")] = None,
    dictionary: Annotated[Optional[Path], typer.Option(
        help="Pronunciation dictionary (MFA format, 'word PH1 PH2 ...') overriding CMUdict.")]
        = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1,
                                      help="Corpus on CPU: parallel worker processes.")] = 1,
    overwrite: Annotated[bool, typer.Option(
        help="Corpus: realign utterances whose outputs already exist.")] = False,
    strict: Annotated[bool, typer.Option(
        help="Treat probably-wrong alignments (flags) as failures: exit 1, nothing written.")]
        = False,
    batch_seconds: Annotated[Optional[float], typer.Option(
        help="Corpus: audio seconds per length-bucketed batch (default 600 on CUDA, 60 on CPU).",
        hidden=True)] = None,
    plots: Annotated[bool, typer.Option(
        help="Corpus: also write one PNG per utterance beside its TextGrid (needs matplotlib).")]
        = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Print every warning (flag) instead of counts per kind and a "
        "few examples.")] = False,
) -> None:
    """Align AUDIO with TRANSCRIPT, or every utterance of a corpus directory.

    Exit codes: 0 all aligned; 1 some failed (or flagged, with --strict); 2 bad usage or bad
    input (single file).
    """
    from aligner.formats import parse_formats

    try:
        fmts = parse_formats(formats)
    except ValueError as err:
        raise fail(f"--format: {err}")
    if not audio.exists():
        raise fail(f"{audio}: file not found")
    if audio.is_dir():
        if transcript is not None:
            raise fail(f"{audio} is a corpus directory: give no transcript, and -o OUT_DIR")
        if output is None:
            raise fail(f"{audio} is a corpus directory: give an output directory with -o OUT_DIR")
        if plots:
            _require_matplotlib()
        code = _align_corpus(audio, output, fmts, model, device, method, dictionary, jobs,
                             overwrite, strict, batch_seconds, quiet, plots, verbose)
    else:
        if plots:
            raise fail("--plots is for corpus runs; for one recording use "
                       "ottc-align plot AUDIO TRANSCRIPT")
        if transcript is None:
            transcript = _guess_transcript(audio)
        code = _align_file(audio, transcript, output, fmts, model, device, method, dictionary,
                           strict, quiet, verbose)
    raise typer.Exit(code)


def _require_matplotlib() -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise fail("--plots needs matplotlib, which is not installed: "
                   "pip install 'ottc-align[plot]'")


def _guess_transcript(audio: Path) -> Path:
    from aligner.corpus import find_transcript

    found = find_transcript(audio)
    if found is None:
        raise fail(f"{audio}: no TRANSCRIPT given and no {audio.stem}.lab/.txt/.TextGrid beside it")
    return found


def _load_aligner(model, device, dictionary, method):
    """Aligner or a usage error (bad model, missing GPU, bad dictionary, unknown method)."""
    from aligner.align import Aligner
    from aligner.decode import decoder_for

    if model is not None and not model.exists():
        raise fail(f"{model}: model directory not found")
    try:
        aligner = Aligner.load(model, device=device, dictionary=dictionary)
    except ValueError as err:  # ModelError, DeviceError, DictionaryError
        raise fail(str(err))
    except (OSError, RuntimeError) as err:
        raise fail(f"cannot load the model: {_one_line(err)}")
    try:  # an unknown method, or one this model cannot use (a CTC model has no frame weights)
        decoder_for(method, aligner.model.config)
    except ValueError as err:
        raise fail(f"--method: {err}")
    return aligner


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
                quiet, verbose=False) -> int:
    from aligner.atomic import OutputError, check_writable
    from aligner.formats import write_file, write_outputs

    try:
        base, fmts, file = single_output_base(audio, output, fmts)
    except ValueError as err:
        raise fail(str(err))
    try:  # before minutes of work, not after
        check_writable(base.parent)
    except OutputError as err:
        raise fail(str(err))
    aligner = _load_aligner(model, device, dictionary, method)
    try:
        from aligner.audio import audio_info

        info = audio_info(audio)
        progress = None
        if info.duration > 120 and not quiet:
            progress = _frame_progress(f"Aligning {audio.name}")
            aligner.on_progress = progress[1]
        try:
            alignments = aligner.align_speakers(audio, transcript, method=method)
        finally:
            if progress is not None:
                progress[0].stop()
    except MemoryError as err:
        detail = _one_line(err) if str(err).strip() else ""
        what = detail if detail.startswith("out of memory") else (
            f"out of memory ({detail})" if detail else "out of memory")
        raise fail(f"{audio}: {what}; try a shorter file or a TextGrid transcript with "
                   "utterance intervals", EXIT_FAILED)
    except ValueError as err:  # AudioError, TranscriptError, AlignmentError, FormatError
        raise fail(str(err))
    except RuntimeError as err:
        raise fail(f"{audio}: {type(err).__name__}: {_one_line(err)}", EXIT_FAILED)
    flags = [str(f) for a in alignments for f in a.flags]
    if flags and strict:
        console = _err_console()
        console.print(f"[yellow]flags:[/] {_flag_counts(flags)}"
                      + ("" if verbose or len(flags) <= FLAG_EXAMPLES else "; --verbose prints "
                         "them all"))
        for f in flags if verbose else _example_flags(flags):
            console.print(f"[yellow]flag:[/] {_escape(f)}")
        raise fail(f"{audio}: alignment flagged as probably wrong (--strict); nothing written",
                   EXIT_FAILED)
    try:
        written = (write_outputs(alignments, base, fmts, audio.stem) if file is None
                   else write_file(alignments, file, fmts[0], audio.stem))
    except (OutputError, OSError) as err:
        raise fail(str(err))
    if not quiet:
        _print_file_summary(audio, alignments, written, flags, verbose)
    return EXIT_OK


def _frame_progress(label: str):
    """A rich progress bar for one long recording; returns (progress, callback)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                        console=_err_console(), transient=True)
    task = progress.add_task(label, total=None)
    progress.start()

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


FLAG_EXAMPLES = 3  # warning lines printed in full; the rest are counted (--verbose: all)


def _print_file_summary(audio: Path, alignments, written: list[Path], flags: list[str],
                        verbose: bool = False) -> None:
    console = _out_console()
    words = [w for a in alignments for w in a.words if w.label]
    confs = [w.confidence for w in words if w.confidence is not None]
    duration = max(a.duration for a in alignments)
    mean = f"{sum(confs) / len(confs):.2f}" if confs else "n/a"
    console.print(f"[bold green]aligned[/] {_escape(str(audio))}: {len(words)} words, "
                  f"{duration:.2f} s, mean confidence {mean}, {len(flags)} warning(s)")
    unknown = {k: v for a in alignments for k, v in a.unknown_words.items()}
    for word, pron in unknown.items():
        console.print(f"  unknown word {_escape(word)!s} -> {' '.join(pron)}")
    if flags:
        console.print(f"  [yellow]warnings:[/] {_flag_counts(flags)}"
                      f"{_flag_pointer(written, len(flags), verbose)}")
        for f in flags if verbose else _example_flags(flags):
            console.print(f"  [yellow]warning:[/] {_escape(f)}")
    for path in written:
        console.print(f"  wrote {_escape(str(path))}")


def _flag_counts(flags: list[str]) -> str:
    """`12 low_confidence, 3 long_word`: a long recording can carry hundreds of flags."""
    from aligner.corpus import flag_kinds

    return ", ".join(f"{n} {kind}" for kind, n in flag_kinds(flags).items())


def _example_flags(flags: list[str], n: int = FLAG_EXAMPLES) -> list[str]:
    """Up to `n` flags to print in full, one of each kind first (a transcript mismatch must not
    hide behind a run of low-confidence words), in their original order."""
    from aligner.corpus import flag_kind

    first: dict[str, int] = {}
    for i, f in enumerate(flags):
        first.setdefault(flag_kind(f), i)
    chosen = sorted(first.values())[:n]
    chosen += [i for i in range(len(flags)) if i not in chosen][:n - len(chosen)]
    return [flags[i] for i in sorted(chosen)]


def _flag_pointer(written: list[Path], count: int, verbose: bool) -> str:
    """Where the full list of flags is, when the summary shows only some of them."""
    if verbose or count <= FLAG_EXAMPLES:
        return ""
    lists = [p for p in written if p.suffix.lower() in (".json", ".csv")]
    where = (f"all listed in {_escape(str(lists[0]))}" if lists
             else "-f json or csv lists them all with their times")
    return f" (examples below; {where}; --verbose prints them all)"


def _align_corpus(root, out_dir, fmts, model, device, method, dictionary, jobs, overwrite,
                  strict, batch_seconds, quiet, plots=False, verbose=False) -> int:
    from aligner import corpus
    from aligner.atomic import OutputError, clean_stale_temps, ensure_dir

    try:
        ensure_dir(out_dir)
    except OutputError as err:
        raise fail(str(err))
    utterances = corpus.find_utterances(root)
    unreadable = corpus.unreadable_audio(root)  # .m4a and the like: failed, with how to convert
    if not utterances:
        raise fail(corpus.no_audio_message(root, unreadable))
    if not quiet:
        _print_transcript_conflicts(utterances, verbose)
    stale = clean_stale_temps(out_dir)  # left by a killed run: never mistaken for outputs
    if stale and not quiet:
        _err_console().print(f"removed {len(stale)} temporary file(s) left by an interrupted run")
    todo, results = corpus.plan(utterances, out_dir, fmts, overwrite, plots)
    results += [corpus.unreadable_result(root, path) for path in unreadable]
    aligner = _load_aligner(model, device, dictionary, method) if todo else None
    on_gpu = aligner is not None and aligner.device.type == "cuda"
    if batch_seconds is None:
        batch_seconds = corpus.GPU_BATCH_SECONDS if on_gpu else corpus.CPU_BATCH_SECONDS
    if jobs > 1 and len(todo) > 1 and not on_gpu:
        stream = corpus.run_parallel(model, dictionary, todo, out_dir, fmts, method, strict,
                                     min(jobs, len(todo)), plots, batch_seconds)
    else:
        stream = corpus.run_batched(aligner, todo, out_dir, fmts, method, strict, batch_seconds,
                                    plots)
    report = out_dir / corpus.REPORT_NAME
    interrupted = False
    try:
        with catch_interrupts() as stop:
            _consume(stream, results, len(todo), quiet, stop)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            corpus.write_report(results, report)
        except OSError as err:
            _err_console().print(f"[bold red]error:[/] {_escape(_one_line(err))}")
    if interrupted:
        _err_console().print(f"interrupted after {len(results)} of "
                             f"{len(utterances) + len(unreadable)} "
                             "utterances; run the same command again to resume")
        return EXIT_INTERRUPTED
    if not quiet:
        _print_corpus_summary(results, report, verbose)
    else:
        for r in results:
            if not r.ok:
                _err_console().print(f"[bold red]failed:[/] {_escape(r.name)}: {_escape(r.reason)}")
    return corpus.exit_code(results)


def _print_transcript_conflicts(utterances, verbose: bool) -> None:
    """Warn about recordings with both a .lab and a .txt that disagree (which one is used, and
    why), a few lines at most: `validate` lists them all."""
    from aligner.corpus import transcript_conflict

    conflicts = [c for u in utterances if (c := transcript_conflict(u)) is not None]
    console = _err_console()
    for line in conflicts if verbose else conflicts[:FLAG_EXAMPLES]:
        console.print(f"[yellow]warning:[/] {_escape(line)}")
    if len(conflicts) > FLAG_EXAMPLES and not verbose:
        console.print(f"[yellow]warning:[/] ... {len(conflicts) - FLAG_EXAMPLES} more recordings "
                      "with a .lab and a .txt that differ (ottc-align validate lists them all)")


def _consume(stream, results, total: int, quiet: bool, stop: StopRequest | None = None) -> None:
    """Collect the run's results (with a progress bar unless quiet); `stop` is checked after
    every utterance, so a Ctrl-C that some library swallowed still ends the run."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    stop = stop or StopRequest()
    if quiet or total == 0:
        for result in stream:
            results.append(result)
            stop.check()
        return
    with Progress(TextColumn("aligning"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"),
                  console=_err_console(), transient=True) as progress:
        task = progress.add_task("", total=total)
        for result in stream:
            results.append(result)
            progress.update(task, advance=1, description=result.name)
            stop.check()


FAILED_ROWS, FLAGGED_ROWS = 50, 10  # utterances listed under the summary (--verbose: all)


def _print_corpus_summary(results, report: Path, verbose: bool = False) -> None:
    """Counts, then the utterances to look at: every failure (up to 50) and the worst flagged
    ones, with flags counted per kind. Flagged utterances were aligned and written: the table
    counts them as aligned so that "flagged" never reads as "not aligned"."""
    from rich.table import Table

    console = _out_console()
    counts = {s: sum(r.status == s for r in results) for s in ("aligned", "flagged", "skipped",
                                                                 "failed")}
    table = Table(title="ottc-align corpus summary")
    for col in ("aligned", "of which with flags", "skipped (done before)", "failed",
                "audio (s)"):
        table.add_column(col, justify="right")
    table.add_row(str(counts["aligned"] + counts["flagged"]), str(counts["flagged"]),
                  str(counts["skipped"]), str(counts["failed"]),
                  f"{sum(r.duration for r in results):.1f}")
    console.print(table)
    failed = sorted((r for r in results if r.status == "failed"), key=lambda r: r.name)
    flagged = sorted((r for r in results if r.status == "flagged"), key=_flag_severity)
    shown = failed + flagged if verbose else failed[:FAILED_ROWS] + flagged[:FLAGGED_ROWS]
    if shown:
        detail = Table(show_header=True)
        detail.add_column("utterance")
        detail.add_column("outcome", no_wrap=True)
        detail.add_column("reason / flags")
        for r in shown:
            detail.add_row(_escape(r.name), "failed" if r.status == "failed" else "aligned, flagged",
                           _escape(r.reason or _flag_counts(r.flags)))
        console.print(detail)
    hidden = len(failed) + len(flagged) - len(shown)
    if hidden:
        console.print(f"... and {hidden} more (all in the report; --verbose lists them here)")
    if flagged:
        all_flags = [f for r in flagged for f in r.flags]
        console.print(f"[yellow]{len(flagged)} aligned utterance(s) have flags[/] (outputs "
                      f"written; probably-wrong alignments worth a look): "
                      f"{_flag_counts(all_flags)}")
    if verbose:
        for r in flagged:
            for f in r.flags:
                console.print(f"  {_escape(r.name)}: [yellow]{_escape(f)}[/]")
    console.print(f"report: {_escape(str(report))} (every utterance with its flags)")


def _flag_severity(result) -> tuple:
    """Sort key, worst first: a transcript that may not match, then the most flags."""
    from aligner.corpus import flag_kinds

    return ("transcript_mismatch" not in flag_kinds(result.flags), -len(result.flags),
            result.name)


# ------------------------------------------------------------------------------ validate

def validate(
    corpus_dir: Annotated[Path, typer.Argument(help="MFA-style corpus directory.",
                                               show_default=False)],
    dictionary: Annotated[Optional[Path], typer.Option(
        help="Pronunciation dictionary overriding CMUdict.")] = None,
    report: Annotated[Optional[Path], typer.Option(
        help="Also write the findings to this CSV file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only problems.")] = False,
    export_dictionary: Annotated[Optional[Path], typer.Option(
        help="Write the generated pronunciations of unknown words (after the --dictionary's "
             "entries) to this MFA dictionary file, to edit and pass back with --dictionary.")
    ] = None,
) -> None:
    """Check a corpus before aligning: unreadable audio, missing or empty transcripts, a .lab
    and a .txt that disagree, unknown words (with the pronunciations that would be generated),
    sample rates and durations.

    Exit codes: 0 no problems (warnings allowed); 1 problems found; 2 bad usage, or no audio
    to align (as `align` would say).
    """
    from aligner.corpus import no_audio_message, validate_corpus

    if not corpus_dir.is_dir():
        raise fail(f"{corpus_dir}: not a directory")
    try:
        findings = validate_corpus(corpus_dir, dictionary)
    except ValueError as err:  # bad dictionary
        raise fail(str(err))
    if not findings.utterances:
        raise fail(no_audio_message(corpus_dir, findings.unreadable))
    if report is not None:
        try:
            findings.write_csv(report)
        except OSError as err:
            raise fail(str(err))
    if export_dictionary is not None:
        _export_dictionary(findings.dictionary, export_dictionary)
    _print_validation(findings, quiet)
    if export_dictionary is not None and not quiet:
        entries = findings.dictionary
        _out_console().print(f"wrote {sum(map(len, entries.values()))} pronunciation(s) of "
                             f"{len(entries)} word(s) to {_escape(str(export_dictionary))}: edit "
                             "them, then pass the file back with --dictionary")
    raise typer.Exit(EXIT_OK if not findings.problems else EXIT_FAILED)


def _export_dictionary(entries: dict[str, list[list[str]]], path: Path) -> None:
    """`validate --export-dictionary`: the entries as an MFA dictionary file (usage error,
    exit 2, if it cannot be written)."""
    from aligner.text.lexicon import write_user_dictionary

    try:
        write_user_dictionary(path, entries)
    except OSError as err:
        raise fail(str(err))


def _print_validation(findings, quiet: bool) -> None:
    from collections import Counter

    from rich.table import Table

    console = _out_console()
    utts = findings.utterances
    if not quiet:
        rates = Counter(u.sample_rate for u in utts if u.sample_rate)
        chans = Counter(u.channels for u in utts if u.channels)
        durations = [u.duration for u in utts if u.duration]
        table = Table(title="corpus")
        for col in ("utterances", "audio (s)", "shortest (s)", "longest (s)", "sample rates",
                    "channels", "words"):
            table.add_column(col, justify="right")
        table.add_row(str(len(utts)), f"{sum(durations):.1f}",
                      f"{min(durations):.2f}" if durations else "-",
                      f"{max(durations):.2f}" if durations else "-",
                      ", ".join(f"{r} Hz x{n}" for r, n in sorted(rates.items())) or "-",
                      ", ".join(f"{c} x{n}" for c, n in sorted(chans.items())) or "-",
                      str(sum(u.words for u in utts)))
        console.print(table)
        if findings.unknown_words:
            unk = Table(title="words not in the dictionary (generated pronunciations)")
            unk.add_column("word")
            unk.add_column("count", justify="right")
            unk.add_column("pronunciation")
            for word, (count, pron) in sorted(findings.unknown_words.items(),
                                              key=lambda kv: (-kv[1][0], kv[0])):
                unk.add_row(_escape(word), str(count), " ".join(pron))
            console.print(unk)
    problems = findings.problems
    if problems:
        console.print(_findings_table(f"{len(problems)} problem(s)", "problem", problems))
    warnings = findings.warnings
    if warnings and not quiet:
        console.print(_findings_table(f"{len(warnings)} warning(s): alignable, but check",
                                      "warning", warnings))
    if not problems and not quiet:
        console.print("[bold green]no problems found[/]"
                      + (f" ({len(warnings)} warning(s) above)" if warnings else ""))


def _findings_table(title: str, column: str, rows: list[tuple[str, str]]):
    """`validate`'s problems or warnings: one row per (utterance, what was found)."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("utterance")
    table.add_column(column)
    for name, text in rows:
        table.add_row(_escape(name), _escape(text))
    return table


app.command("align", cls=MethodCommand)(align)
app.command("validate")(validate)


def register_subcommands() -> None:
    """Add train/evaluate/plot from their own light modules; a module that is not there (yet)
    is skipped, but one that exists and fails to import is an error worth seeing."""
    for name, module_name in SUBCOMMAND_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        app.command(name, cls=MethodCommand)(module.command)


register_subcommands()


def main() -> None:
    """Console entry point: no tracebacks for anything but a genuine bug (and then one line,
    unless OTTC_ALIGN_DEBUG is set)."""
    try:
        app(prog_name="ottc-align")
    except KeyboardInterrupt:
        _err_console().print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:  # a bug: say so in one line
        if os.environ.get("OTTC_ALIGN_DEBUG"):
            raise
        _err_console().print(f"[bold red]internal error:[/] {type(err).__name__}: "
                             f"{_escape(_one_line(err))} (set OTTC_ALIGN_DEBUG=1 for details)")
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
