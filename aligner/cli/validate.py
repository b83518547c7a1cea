"""`ottc-align validate CORPUS_DIR`: check a corpus before aligning it (aligner/validate.py),
print what was found, optionally as a CSV report and a dictionary of generated pronunciations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.cli.common import EXIT_FAILED, EXIT_OK, escape, fail, from_root, out_console


def command(
    corpus_dir: Annotated[Path, typer.Argument(help="MFA-style corpus directory.",
                                               show_default=False)],
    dictionary: Annotated[Optional[Path], typer.Option(
        help="Pronunciation dictionary overriding CMUdict.")] = None,
    report: Annotated[Optional[Path], typer.Option(
        help="Also write the findings to this CSV file.")] = None,
    channel: Annotated[Optional[int], typer.Option(
        "--channel", min=1, help="Check channel N of each recording, as align --channel N "
        "reads it: a recording without it, or silent on it, is a problem.",
        show_default=False)] = None,
    speaker_characters: Annotated[int, typer.Option(
        "--speaker-characters", "--speaker_characters", "-s", min=0,
        help="The speaker is the first N characters of each file's name, as align -s N "
             "groups them (MFA's option); 0: the first folder below the corpus.")] = 0,
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
    from aligner.corpus import no_audio_message
    from aligner.validate import validate_corpus

    if not corpus_dir.is_dir():
        raise fail(f"{corpus_dir}: not a directory")
    try:
        findings = validate_corpus(corpus_dir, dictionary, channel, speaker_characters)
    except ValueError as err:  # bad dictionary
        raise fail(err)
    if not findings.utterances:
        raise fail(no_audio_message(corpus_dir, findings.unreadable))
    for option, path in (("--report", report), ("--export-dictionary", export_dictionary)):
        if path is not None and (clash := _corpus_input(corpus_dir, path)) is not None:
            raise fail(f"{option} {path}: that is {clash} of the corpus; "
                       "write it somewhere else")
    if report is not None:
        try:
            findings.write_csv(report)
        except OSError as err:
            raise fail(err)
    if export_dictionary is not None:
        _export_dictionary(findings.dictionary, export_dictionary)
    _print_validation(findings, quiet, corpus_dir)
    if export_dictionary is not None and not quiet:
        entries = findings.dictionary
        out_console().print(f"wrote {sum(map(len, entries.values()))} pronunciation(s) of "
                            f"{len(entries)} word(s) to {escape(str(export_dictionary))}: edit "
                            "them, then pass the file back with --dictionary")
    raise typer.Exit(EXIT_OK if not findings.problems else EXIT_FAILED)


def _corpus_input(root: Path, path: Path) -> str | None:
    """'a recording' / 'a transcript' when `path` is one of the corpus's inputs, else None."""
    from aligner.atomic import same_file
    from aligner.corpus import find_utterances, unreadable_inputs

    for utt in find_utterances(root):
        if same_file(path, utt.audio):
            return f"the recording {utt.name}"
        if utt.transcript is not None and same_file(path, utt.transcript):
            return f"the transcript of {utt.name}"
    if any(same_file(path, audio) for audio in unreadable_inputs(root)):
        return "a recording"
    return None


def _export_dictionary(entries: dict[str, list[list[str]]], path: Path) -> None:
    """`validate --export-dictionary`: the entries as an MFA dictionary file (usage error,
    exit 2, if it cannot be written)."""
    from aligner.text.lexicon import write_user_dictionary

    try:
        write_user_dictionary(path, entries)
    except OSError as err:
        raise fail(err)


def _print_validation(findings, quiet: bool, root: Path) -> None:
    console = out_console()
    if not quiet:
        console.print(_corpus_table(findings.utterances))
        if findings.unknown_words:
            console.print(_unknown_words_table(findings.unknown_words))
        if findings.readings:
            console.print(_readings_table(findings.readings))
    problems = findings.problems
    if problems:
        console.print(_findings_table(f"{len(problems)} problem(s)", "problem", problems, root))
    warnings = findings.warnings
    if warnings and not quiet:
        console.print(_findings_table(f"{len(warnings)} warning(s): alignable, but check",
                                      "warning", warnings, root))
    if not problems and not quiet:
        console.print("[bold green]no problems found[/]"
                      + (f" ({len(warnings)} warning(s) above)" if warnings else ""))


def _corpus_table(utts):
    """Counts, durations, sample rates and channels of the whole corpus, one quantity per row
    (seven columns side by side did not fit an 80-column terminal)."""
    from collections import Counter

    from rich.table import Table

    rates = Counter(u.sample_rate for u in utts if u.sample_rate)
    chans = Counter(u.channels for u in utts if u.channels)
    durations = [u.duration for u in utts if u.duration]
    speakers = {u.speaker for u in utts if u.speaker is not None}
    at_top = sum(u.speaker is None for u in utts)
    table = Table(title="corpus", show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for quantity, value in (
        ("utterances", str(len(utts))),
        ("speakers", (f"{len(speakers)}" + (f" (+ {at_top} recording(s) in no speaker folder)"
                                            if at_top else "")) if speakers
         else "none (no speaker folders)"),
        ("audio (s)", f"{sum(durations):.1f}"),
        ("shortest (s)", f"{min(durations):.2f}" if durations else "-"),
        ("longest (s)", f"{max(durations):.2f}" if durations else "-"),
        ("sample rates", ", ".join(f"{r} Hz x{n}" for r, n in sorted(rates.items())) or "-"),
        ("channels", ", ".join(f"{c} x{n}" for c, n in sorted(chans.items())) or "-"),
        ("words", str(sum(u.words for u in utts))),
    ):
        table.add_row(quantity, value)
    return table


def _unknown_words_table(unknown: dict[str, tuple[int, list[str]]]):
    """Words no dictionary has, most frequent first, with the pronunciation generated for them."""
    from rich.table import Table

    table = Table(title="words not in the dictionary (generated pronunciations)")
    table.add_column("word")
    table.add_column("count", justify="right")
    table.add_column("pronunciation")
    for word, (count, pron) in sorted(unknown.items(), key=lambda kv: (-kv[1][0], kv[0])):
        table.add_row(escape(word), str(count), " ".join(pron))
    return table


def _readings_table(readings: dict[str, tuple[int, str]]):
    """Numbers, symbols and abbreviations with the words they are read as first (the aligner
    also tries the other readings, "three fifty" for "$3.50"), most frequent first."""
    from rich.table import Table

    table = Table(title="numbers, symbols and abbreviations (read as; where there are other "
                        "readings, the aligner tries them too)")
    table.add_column("as typed")
    table.add_column("count", justify="right")
    table.add_column("read as")
    for typed, (count, said) in sorted(readings.items(), key=lambda kv: (-kv[1][0], kv[0])):
        table.add_row(escape(typed), str(count), escape(said))
    return table


def _findings_table(title: str, column: str, rows: list[tuple[str, str]], root: Path):
    """`validate`'s problems or warnings: one row per (utterance, what was found). Paths inside
    the corpus are shown from its root (`spk/b.lab: ...`): the whole absolute path repeated what
    the utterance column says and wrapped mid-word in an 80-column terminal. The CSV report
    (`--report`) keeps the messages whole."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("utterance", overflow="fold")
    table.add_column(column, overflow="fold")
    for name, text in rows:
        table.add_row(escape(name), escape(from_root(text, root)))
    return table
