"""`ottc-align evaluate GOLD HYP`: boundary accuracy of alignments against gold ones.

Thin: parses options, calls `aligner.evaluate`, prints a summary table. Kept free of torch so the
command starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.cli.common import EXIT_FAILED, fail, out_console, print_error, tier_names_option


def command(
    gold: Annotated[Path, typer.Argument(help="Gold alignments: a TextGrid, JSON, CSV/TSV or CTM file, or a directory of them.")],
    hyp: Annotated[Path, typer.Argument(help="Alignments to score, same formats (paired by relative path, then by the CTM utterance id ottc-align writes: spkA-001 for spkA/001, REC-SPEAKER for each speaker of REC, then by file stem).")],
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Write one row per utterance to this CSV.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the summary to this JSON file.")] = None,
    fold: Annotated[str, typer.Option(help="Phone folding of the GOLD: cmu39 (TIMIT 61 and ARPAbet variants -> CMU 39), timit39 (Lee & Hon), ipa (IPA or SAMPA), emu-ae (EMU Australian-English SAMPA), none, or a file of 'from to' lines.")] = "cmu39",
    hyp_fold: Annotated[Optional[str], typer.Option("--hyp-fold", help="Phone folding of the HYPOTHESIS, same choices (e.g. ipa for another tool's IPA output). Default: cmu39 (what aligners write), or --fold's table when that is timit39, none or a file.", show_default=False)] = None,
    tolerance: Annotated[float, typer.Option(help="Boundary F1 tolerance in milliseconds.")] = 20.0,
    tier: Annotated[Optional[str], typer.Option("--tier", "--ctm-tier", help="Treat one-tier files (CTM, CSV/TSV without a Type column) as 'words' or 'phones' (default: what the file name says, else phones if every label is a phone symbol).")] = None,
    gold_tiers: Annotated[Optional[str], typer.Option("--gold-tiers", help="The gold's words and phones tiers by name, WORDS,PHONES (one may be empty: ,Phonetic), for TextGrid and JSON gold whose tiers have other names (emuR: Text,Phonetic). Default: tiers named words/phones, else guessed (a note says which).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Compare alignments with gold ones: boundary errors, matching, F1, IDR, silence share.

    Exit codes: 0 every gold utterance was scored; 1 some failed (an unreadable gold or
    hypothesis file, a missing or empty hypothesis: each reported, the others scored); 2 bad
    usage (no gold found, unknown folding, bad --tier, results not writable). Report files
    (alignment_report.csv, MFA's alignment_analysis.csv, ...), a corpus run's
    corpus_alignments.csv and JSON/CSV files that hold no alignment are skipped in folders, with
    a note.
    """
    from aligner.evaluate import EvaluationError, evaluate_paths, summarise, write_scores, write_summary
    from aligner.phone_folding import FoldingError, load_folding

    if tier not in (None, "words", "phones"):
        raise fail(f"--tier must be 'words' or 'phones', not {tier!r}")
    if not 0 < tolerance < float("inf"):  # -20 and nan gave an F1 of 0, exit 0
        raise fail(f"--tolerance {tolerance:g}: give a positive number of milliseconds")
    chosen = tier_names_option(gold_tiers)
    for path, suffix, option in ((csv_path, ".csv", "--csv"), (json_path, ".json", "--json")):
        problem = None if path is None else results_path_problem(path, suffix, (gold, hyp))
        if problem:
            raise fail(f"{option} {path}: {problem}")
    note = (lambda line: None) if quiet else (lambda line: typer.echo(f"note: {line}", err=True))
    outputs = [p for p in (csv_path, json_path) if p is not None]
    try:
        folding = load_folding(fold)
        hyp_folding = load_folding(hyp_fold) if hyp_fold is not None else None
        scores = evaluate_paths(gold, hyp, folding, tolerance / 1000, tier, hyp_folding,
                                exclude=outputs, note=note, gold_tiers=chosen)
    except (EvaluationError, FoldingError) as err:
        raise fail(err) from None
    summary = summarise(scores, tolerance / 1000)
    try:
        if csv_path is not None:
            write_scores(scores, csv_path)
        if json_path is not None:
            write_summary(summary, json_path)
    except OSError as err:  # OutputError names the path
        raise fail(f"cannot write results: {err}") from None
    for s in scores:  # a file that cannot be read is an error, printed even with --quiet
        if s.status == "unreadable":
            print_error(s.reason)
        elif s.status == "failed" and quiet:  # exit 1 must say why, --quiet or not
            print_error(f"{s.name}: {s.reason}")
    if not quiet:
        console = out_console()
        if summary.failed < summary.utterances:
            console.print(summary_table(summary))
            console.print(silence_line(summary))  # not a caption: it would wrap to the table
        else:  # a table of dashes would read as if something had been measured
            console.print(f"0/{summary.utterances} utterances scored: nothing to summarise",
                          highlight=False)
        for s in scores:
            if s.status == "failed":
                console.print(f"[yellow]failed[/yellow] {s.name}: {s.reason}", highlight=False)
    if summary.failed:
        raise typer.Exit(EXIT_FAILED)


def results_path_problem(path: Path, suffix: str, inputs: tuple[Path, ...]) -> str | None:
    """Why the results may not be written to `path` (None: they may): a name without the
    format's `suffix`, or a file the results would replace that is one of the `inputs` or holds
    an alignment. Why: `--json h.TextGrid` replaced the hypothesis it scored, `--csv g.csv` the
    gold, and `--json talk.txt` a transcript, each with exit 0. Results of an earlier run hold
    no alignment and are replaced, as any output is; a device or a pipe (`/dev/stdout`) is
    written into."""
    from aligner.atomic import same_file
    from aligner.formats import FormatError, read_alignment

    if path.exists() and not path.is_file() and not path.is_dir():
        return None  # /dev/stdout, a pipe: written into
    if path.suffix.lower() != suffix:
        return f"name a file ending in {suffix}"
    if not path.exists():
        return None
    if path.is_dir():
        return f"is a folder; name a file ending in {suffix}"
    if any(same_file(path, p) for p in inputs):
        return "is one of the alignments to score; write the results to another file"
    try:
        read_alignment(path)
    except (FormatError, OSError, ValueError):
        return None
    return "holds an alignment, which the results would replace; write them to another file"


def fmt(x: float, scale: float = 1.0, digits: int = 1, pct: bool = False) -> str:
    """A figure of the summary, "-" when there is none (NaN)."""
    if x != x:
        return "-"
    return f"{x * 100:.{digits}f}%" if pct else f"{x * scale:.{digits}f}"


def summary_table(summary) -> "object":
    """A rich Table of the summary: one column per tier."""
    from rich.table import Table

    ok = summary.utterances - summary.failed
    table = Table(title=f"{ok}/{summary.utterances} utterances scored, {summary.failed} failed")
    table.add_column("metric")
    table.add_column("phones", justify="right")
    table.add_column("words", justify="right")
    p, w = summary.phones, summary.words
    rows = [
        ("boundaries", str(p.boundaries), str(w.boundaries)),
        ("mean abs error (ms)", fmt(p.mean_ms), fmt(w.mean_ms)),
        ("median abs error (ms)", fmt(p.median_ms), fmt(w.median_ms)),
        ("bias, hyp - gold (ms)", fmt(p.bias_ms), fmt(w.bias_ms)),
        *[(f"within {t} ms", fmt(p.within.get(t, float("nan")), pct=True),
           fmt(w.within.get(t, float("nan")), pct=True)) for t in sorted(p.within or w.within)],
        (f"boundary F1 @{summary.tolerance_ms:g} ms", fmt(p.f1, pct=True), fmt(w.f1, pct=True)),
        ("IDR", fmt(p.idr, digits=3), fmt(w.idr, digits=3)),
        ("tokens gold / hyp", f"{p.gold_tokens} / {p.hyp_tokens}", f"{w.gold_tokens} / {w.hyp_tokens}"),
        ("label match", fmt(p.match_rate, pct=True), fmt(w.match_rate, pct=True)),
        ("edit error rate", fmt(p.error_rate, pct=True), fmt(w.error_rate, pct=True)),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def silence_line(summary) -> str:
    """The share of 10 ms frames each side calls silence, one line under the table."""
    return (f"silence share of 10 ms frames: gold {fmt(summary.gold_silence_share, pct=True)}, "
            f"hyp {fmt(summary.hyp_silence_share, pct=True)}")
