"""What every `ottc-align` command shares: exit codes, the error printer, the options that mean
the same everywhere (`--model/-m`, `--device`, `--method`) and how they are resolved.

Why one module: a user who learns `-m` or an exit code in one command can rely on it in every
other, and a bad model, a missing GPU or an unknown method is said in the same words whichever
command meets it. Light to import: torch is imported only when a model is loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from typer.core import TyperCommand

from aligner.checks import Thresholds, flag_kind, flag_kinds
from aligner.errors import one_line

if TYPE_CHECKING:
    from aligner.align import Aligner

# The exit codes of every command.
EXIT_OK = 0  # done: every utterance aligned (warnings allowed), every file scored, ...
EXIT_FAILED = 1  # some utterances or files failed (or were refused by --strict); the rest done
EXIT_USAGE = 2  # bad usage, or bad input that stops the whole command (a single file, a model)
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGTERM: 143, `StopRequest.exit_code`): what was finished is kept; the same command resumes

ModelOption = Annotated[Optional[Path], typer.Option(
    "--model", "-m", help="Model directory (default: $OTTC_ALIGN_MODEL, else the shipped "
    "English model).", show_default=False)]
DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]

FLAG_EXAMPLES = 3  # warning lines printed in full; the rest are counted (--verbose: all)


# ------------------------------------------------------------------------------ printing

def err_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def escape(text: str) -> str:
    """`text` with rich markup made literal (file names may hold brackets)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def print_error(message: object) -> None:
    """`error: message` on stderr, its first line, no markup interpretation: the one way every
    command reports an error."""
    err_console().print(f"[bold red]error:[/] {escape(one_line(message))}")


def fail(message: object, code: int = EXIT_USAGE) -> typer.Exit:
    """Print the error (`print_error`) and return the Exit to raise."""
    print_error(message)
    return typer.Exit(code)


def flag_counts(flags: list[str]) -> str:
    """`12 low_confidence, 3 long_word`: a long recording can carry hundreds of flags."""
    return ", ".join(f"{n} {kind}" for kind, n in flag_kinds(flags).items())


def example_flags(flags: list[str], n: int = FLAG_EXAMPLES) -> list[str]:
    """Up to `n` flags to print in full, one of each kind first (a transcript mismatch must not
    hide behind a run of low-confidence words), in their original order."""
    first: dict[str, int] = {}
    for i, f in enumerate(flags):
        first.setdefault(flag_kind(f), i)
    chosen = sorted(first.values())[:n]
    chosen += [i for i in range(len(flags)) if i not in chosen][:n - len(chosen)]
    return [flags[i] for i in sorted(chosen)]


# ------------------------------------------------------------------------------ options

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


def model_dir(model: Path | None) -> Path:
    """The model directory `--model` names, or the default one ($OTTC_ALIGN_MODEL, else the
    shipped English model); a usage error when there is no such directory."""
    from aligner.model import ModelError, model_directory

    try:
        return model_directory(model)
    except ModelError as err:
        raise fail(err) from None


def device_name(device: str) -> str:
    """`--device` resolved: auto -> cuda when a GPU is usable, else cpu; a usage error for a
    device that is not there."""
    from aligner.align import DeviceError, resolve_device

    try:
        return resolve_device(device)
    except DeviceError as err:
        raise fail(err) from None


def load_aligner(model: Path | None, device: str, dictionary: Path | None,
                 method: str | None, thresholds: Thresholds | None = None) -> Aligner:
    """An Aligner (flagging by `thresholds`, default the shipped ones), or a usage error (bad
    model, missing GPU, bad dictionary, a method this model cannot decode with)."""
    from aligner.align import Aligner
    from aligner.decode import decoder_for

    directory = model_dir(model)
    try:
        aligner = Aligner.load(directory, device=device, dictionary=dictionary,
                               thresholds=thresholds or Thresholds())
    except ValueError as err:  # ModelError, DeviceError, DictionaryError
        raise fail(err) from None
    except (OSError, RuntimeError) as err:
        raise fail(f"cannot load the model: {one_line(err)}") from None
    if aligner.device.type == "cpu" and os.environ.get("OMP_NUM_THREADS") is None:
        import torch

        from aligner.align import idle_threads

        torch.set_num_threads(idle_threads())  # a busy machine: fewer threads, none stalled
    try:  # an unknown method, or one this model cannot use (a CTC model has no frame weights)
        decoder_for(method, aligner.model.config)
    except ValueError as err:
        raise fail(f"--method: {err}") from None
    return aligner


def exit_code(results: Sequence) -> int:
    """A run's exit code from its Results: EXIT_OK when every one is ok, else EXIT_FAILED."""
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def from_root(text: str, root: Path) -> str:
    """`text` (a message) with the paths inside the corpus `root` shown from it (`spk/b.lab:
    transcript is empty`): the whole path repeated what the utterance column says and wrapped
    mid-word in an 80-column terminal. Only a path's start is cut, never the root's name
    inside a longer one (`corpus/subcorpus/a.lab` keeps its `subcorpus`), and a command to
    paste (after "e.g. ", as in `e.g. ffmpeg -i corpus/spk/a.m4a corpus/spk/a.wav`) keeps its
    paths whole: it runs from where the user ran ottc-align, not from the root."""
    base = str(root).rstrip("/\\")
    if not base:
        return text
    said, marker, command = text.partition(" e.g. ")
    return re.sub(r"(?<![^\s(\"'])" + re.escape(base + os.sep), "", said) + marker + command


def tier_names_option(value: str | None) -> "tuple[str, str] | None":
    """`--gold-tiers WORDS,PHONES` (evaluate, plot): the two tier names, one of them possibly
    empty (",Phonetic"), or None when not given; raises the usage error otherwise."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",")]
    if len(names) != 2 or not any(names):
        raise fail(f"--gold-tiers {value!r}: give WORDS,PHONES (tier names; one may be empty, "
                   "e.g. ,Phonetic)")
    return names[0], names[1]
