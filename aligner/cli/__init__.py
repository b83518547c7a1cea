"""`ottc-align`: the command line. Thin: parses options, calls the package, prints.

    ottc-align AUDIO TRANSCRIPT [-o OUT]        one recording (the default command, `align`)
    ottc-align CORPUS_DIR -o OUT_DIR            an MFA-style corpus, resumable
    ottc-align validate CORPUS_DIR              check a corpus before aligning it
    ottc-align train|adapt|evaluate|plot ...    train or adapt a model, score, draw

One module per command (align.py, validate.py, train.py, adapt.py, evaluate.py, plot.py), each
exposing `command(...)`, a function with Typer-annotated parameters that imports torch only
inside; common.py holds what they share (exit codes, the error printer, `--model/-m`,
`--device`, `--method`). Exit codes: 0 done; 1 some utterances or files failed (or were refused
by --strict); 2 bad usage or bad input; 130 interrupted (143 by SIGTERM). Errors are one line
on stderr naming the file and the problem, never a traceback (set OTTC_ALIGN_DEBUG=1 to see one
for an unexpected internal error).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from aligner import __version__
from aligner.cli import adapt, align, evaluate, plot, train, validate
from aligner.cli.common import EXIT_FAILED, EXIT_OK, MethodCommand, err_console, escape, fail
from aligner.errors import one_line
from aligner.interrupts import StopRequest, catch_interrupts


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument may be a path instead of a command name: anything that is
    not a known command (or a group option such as --help) is routed to `align`, so that
    `ottc-align a.wav a.txt` and `ottc-align train ...` both work. A file literally named like a
    command can still be aligned with `ottc-align align train a.txt`."""

    default_command = "align"

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        for name in (arg.split("=", 1)[0] for arg in args):
            if name in MFA_OPTIONS:
                raise fail(f"{name} is an MFA option; {MFA_OPTIONS[name]}")
        _refuse_mfa_positionals(args)
        return super().parse_args(ctx, args)


def _refuse_mfa_positionals(args: list[str]) -> None:
    """MFA's `align CORPUS DICTIONARY MODEL OUTPUT` and `validate CORPUS DICTIONARY` typed out of
    habit got click's bare "Got unexpected extra argument(s)"; say what ottc-align takes."""
    from pathlib import Path

    if not args or args[0] not in ("align", "validate"):
        return
    positional = []
    for arg in args[1:]:
        if arg.startswith("-"):
            break
        positional.append(arg)
    most = 2 if args[0] == "align" else 1  # AUDIO TRANSCRIPT; CORPUS
    if len(positional) > most and Path(positional[0]).is_dir():
        raise fail(f"{' '.join(positional)}: MFA's order ({args[0]} CORPUS DICTIONARY"
                   + (" MODEL OUTPUT" if args[0] == "align" else "") + ") is not ottc-align's: "
                   f"give ottc-align {args[0]} CORPUS"
                   + (" -o OUTPUT" if args[0] == "align" else "")
                   + " --dictionary FILE (the shipped English model is used without --model)")


# What MFA users type out of habit, and what ottc-align does instead (click's nearest-name
# guess for `--clean` was `--cues`).
MFA_OPTIONS = {
    "--clean": "ottc-align keeps no temporary files to clean; --overwrite aligns every "
               "recording again",
    "--output_format": "use --format (textgrid, json, csv, ctm, srt, vtt; comma-separated)",
    "--num_jobs": "use --jobs N",
    "--beam": "ottc-align searches every path the transcript allows: there is no beam to set",
    "--retry_beam": "ottc-align searches every path the transcript allows: there is no beam",
    "--include_original_text": "the JSON output's `text` holds the transcript as typed",
    "--textgrid_cleanup": "ottc-align's TextGrids need no cleanup pass: --min-pause sets which "
                          "gaps between words are closed",
    "--single_speaker": "each recording is judged against its speaker's others; -s N takes "
                        "the speaker from the first N characters of the file name",
    "--use_mp": "use --jobs N",
    "--cleanup_textgrids": "ottc-align's TextGrids need no cleanup pass: --min-pause sets which "
                           "gaps between words are closed",
    "--final_clean": "ottc-align keeps no temporary files to clean",
    "--temporary_directory": "ottc-align keeps no temporary directory: a run resumes from the "
                             "outputs and the report in its output folder",
    "--config_path": "ottc-align reads no config file: give the options on the command line",
    "--fine_tune": "ottc-align's boundaries are always refined off the 10 ms grid (posterior "
                   "crossings, spectral change): there is no second pass to ask for",
}


app = typer.Typer(
    cls=DefaultCommandGroup,
    name="ottc-align",
    help="Speech forced aligner built on Optimal Temporal Transport Classification (OTTC).\n\n"
         "ottc-align AUDIO TRANSCRIPT aligns one file; ottc-align CORPUS_DIR -o OUT_DIR aligns "
         "a corpus.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
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


app.command("align", cls=MethodCommand)(align.command)
app.command("validate")(validate.command)
app.command("train")(train.command)
app.command("adapt")(adapt.command)
app.command("evaluate")(evaluate.command)
app.command("plot", cls=MethodCommand)(plot.command)


def main() -> None:
    """Console entry point: no tracebacks for anything but a genuine bug (and then one line,
    unless OTTC_ALIGN_DEBUG is set). A reader that goes away (`| head`, `| true`) silences
    the output instead of failing the run (`_ReaderGone`)."""
    saved = sys.stdout, sys.stderr
    for stream in saved:  # a terminal that cannot show "Zoë" shows "Zo\xeb", not a crash
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout, sys.stderr = _ReaderGone.wrap(sys.stdout), _ReaderGone.wrap(sys.stderr)
    stop = StopRequest()  # SIGTERM too (`timeout`, a job scheduler): stops as Ctrl-C does
    try:
        with catch_interrupts(stop):
            app(prog_name="ottc-align")
    except KeyboardInterrupt:  # outside a command
        err_console().print("interrupted")
        sys.exit(stop.exit_code)
    except SystemExit as done:  # typer ends a command a KeyboardInterrupt stopped with exit 130
        if stop.requested and done.code == 130:
            err_console().print("interrupted")
            sys.exit(stop.exit_code)  # 143 after SIGTERM
        raise
    except Exception as err:  # a bug: say so in one line
        if os.environ.get("OTTC_ALIGN_DEBUG"):
            raise
        err_console().print(f"[bold red]internal error:[/] {type(err).__name__}: "
                            f"{escape(one_line(err))} (set OTTC_ALIGN_DEBUG=1 for details)")
        sys.exit(EXIT_FAILED)
    finally:
        sys.stdout, sys.stderr = saved


class _ReaderGone:
    """A standard stream that, once its reader has closed the pipe, sends what follows to
    /dev/null (as Python's docs on SIGPIPE advise) instead of raising BrokenPipeError.

    Why: the error would surface at the first print after the reader left, often the summary
    printed after every output was written, and click turns it into exit 1 with no message;
    the run must go on and end with the status it would have had."""

    def __init__(self, stream) -> None:
        self._stream = stream

    @classmethod
    def wrap(cls, stream):
        """`stream` wrapped when it writes to a file descriptor (a pipe can close under it)."""
        try:
            stream.fileno()
        except (AttributeError, OSError, ValueError):  # captured by a test runner, closed, None
            return stream
        return cls(stream)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()
            self._stream.flush()  # what was buffered goes to /dev/null, so the exit flush passes

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


__all__ = ["app", "main"]
