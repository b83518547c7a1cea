"""`ottc-align evaluate GOLD HYP`: boundary accuracy of alignments against gold ones.

Thin: parses options, calls `aligner.evaluate`, prints a summary table. Kept free of torch so the
command starts fast; `cli.py` registers it with `app.command("evaluate")(cli_evaluate.command)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def command(
    gold: Annotated[Path, typer.Argument(help="Gold alignments: a TextGrid/JSON/CTM file or a directory.")],
    hyp: Annotated[Path, typer.Argument(help="Alignments to score, same layout (paired by relative path, then by file stem).")],
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Write one row per utterance to this CSV.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the summary to this JSON file.")] = None,
    fold: Annotated[str, typer.Option(help="Phone folding: cmu39 (TIMIT 61 and ARPAbet variants -> CMU 39), timit39 (Lee & Hon), none, or a file of 'from to' lines.")] = "cmu39",
    tolerance: Annotated[float, typer.Option(help="Boundary F1 tolerance in milliseconds.")] = 20.0,
    ctm_tier: Annotated[Optional[str], typer.Option(help="Treat CTM files as 'words' or 'phones' (default: 'phones' if the file name says 'phone').")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Compare alignments with gold ones: boundary errors, matching, F1, IDR, silence share.

    Exit codes: 0 every gold utterance had a usable hypothesis; 1 some failed (missing or
    unreadable hypothesis); 2 bad input (unreadable gold, unknown folding).
    """
    from aligner.evaluate import EvaluationError, evaluate_paths, summarise, summary_json, write_csv
    from aligner.phone_folding import FoldingError, load_folding

    if ctm_tier not in (None, "words", "phones"):
        typer.echo(f"error: --ctm-tier must be 'words' or 'phones', not {ctm_tier!r}", err=True)
        raise typer.Exit(2)
    try:
        folding = load_folding(fold)
        scores = evaluate_paths(gold, hyp, folding, tolerance / 1000, ctm_tier)
    except (EvaluationError, FoldingError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    summary = summarise(scores, tolerance / 1000)
    try:
        if csv_path is not None:
            write_csv(scores, csv_path)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(summary_json(summary) + "\n", encoding="utf-8")
    except OSError as err:
        typer.echo(f"error: cannot write results: {err}", err=True)
        raise typer.Exit(2) from None
    if not quiet:
        from rich.console import Console

        console = Console()
        console.print(summary_table(summary))
        for s in scores:
            if s.status != "ok":
                console.print(f"[yellow]failed[/yellow] {s.name}: {s.reason}", highlight=False)
    if summary.failed:
        raise typer.Exit(1)


def summary_table(summary) -> "object":
    """A rich Table of the summary: one column per tier."""
    from rich.table import Table

    def fmt(x: float, scale: float = 1.0, digits: int = 1, pct: bool = False) -> str:
        if x != x:
            return "-"
        return f"{x * 100:.{digits}f}%" if pct else f"{x * scale:.{digits}f}"

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
    table.caption = (f"silence share of 10 ms frames: gold {fmt(summary.gold_silence_share, pct=True)}, "
                     f"hyp {fmt(summary.hyp_silence_share, pct=True)}")
    return table
