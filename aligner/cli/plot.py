"""`ottc-align plot AUDIO ALIGNMENT -o out.png`: a picture of an alignment to check by eye.

ALIGNMENT is a TextGrid or JSON file that ottc-align (or MFA) wrote, or a transcript (.txt,
.lab, or an utterance TextGrid without words/phones tiers) to align on the fly, which is the
only way to see the OTTC frame weights: they are not stored in the output files. A long
recording is drawn in rows, six to a page, pages beside OUTPUT (see docs/plot.md).

Thin: reads the inputs, calls `aligner.plot.plot_alignment`. matplotlib and torch are imported
inside the function so `ottc-align --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aligner.cli.common import DeviceOption, ModelOption, fail, load_aligner, tier_names_option


def command(
    audio: Annotated[Path, typer.Argument(help="The recording (wav, flac, ...).",
                                          show_default=False)],
    alignment: Annotated[Path, typer.Argument(
        help="A TextGrid, JSON or CSV alignment ottc-align wrote, or a transcript (.txt/.lab/"
             "utterance TextGrid) to align on the fly (shows the OTTC frame weights).",
        show_default=False)],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="PNG to write (default: ALIGNMENT with the suffix .png).",
        show_default=False)] = None,
    start: Annotated[Optional[float], typer.Option(
        help="Start of the time window in seconds (default: start of the recording).",
        show_default=False)] = None,
    end: Annotated[Optional[float], typer.Option(
        help="End of the time window in seconds (default: end of the recording).",
        show_default=False)] = None,
    speaker: Annotated[Optional[str], typer.Option(
        help="Draw only this speaker's tiers (default: every speaker's, stacked).",
        show_default=False)] = None,
    channel: Annotated[Optional[int], typer.Option(
        "--channel", min=1, help="Draw (and align on the fly) this channel of a multi-channel "
        "recording, 1 the first, instead of their mix.", show_default=False)] = None,
    title: Annotated[Optional[str], typer.Option(help="Title above the picture.",
                                                 show_default=False)] = None,
    model: ModelOption = None,
    device: DeviceOption = "auto",
    dictionary: Annotated[Optional[Path], typer.Option(
        help="Extra pronunciation dictionary (aligning on the fly).", show_default=False)] = None,
    method: Annotated[Optional[str], typer.Option(help="Decoding method when aligning on the fly")] = None,
    row_seconds: Annotated[float, typer.Option(
        help="Seconds of audio per row, at least 0.5; longer windows become several rows, six "
             "to a PNG (more pages: OUTPUT's name with .page2, .page3, ...; pages left from an "
             "earlier, longer plot of OUTPUT are removed). 0: the whole window in one row.")] = 5.0,
    dpi: Annotated[int, typer.Option(
        help="Pixels per inch, 10 to 600; the picture is 14 inches wide.")] = 100,
    gold_tiers: Annotated[Optional[str], typer.Option(
        "--gold-tiers", "--tiers", help="The words and phones tiers of a hand-labelled TextGrid "
        "by name, WORDS,PHONES (one may be empty: ,Phonetic), as for evaluate (emuR: "
        "Text,Phonetic). Default: tiers named words/phones, else guessed (a note says which).",
        show_default=False)] = None,
    ipa: Annotated[bool, typer.Option(
        "--ipa", help="Label the phones in IPA (as align --ipa writes them), whether read or "
        "aligned on the fly; labels that are not ARPAbet are drawn as they are.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Draw an alignment to check it by eye: waveform, spectrogram, words and phones, word confidence, and the OTTC frame weights (when aligning on the fly, with --model, --device, --dictionary and --method). Long recordings are drawn in rows of 5 s, six rows to a PNG; further pages go beside the first (x.page2.png, ...).

    Exit codes: 0 written; 2 bad input (unreadable files, an alignment made for a longer recording, bad window, unknown speaker, an -o that does not end in .png, no matplotlib).
    """
    out_path = output if output is not None else alignment.with_suffix(".png")
    try:
        if dpi < 10 or dpi > 600:
            raise fail(f"--dpi {dpi} is outside 10..600")
        from aligner.plot import output_problem, plot_alignment, row_seconds_problem

        # before aligning on the fly
        if problem := row_seconds_problem(row_seconds) or output_problem(out_path):
            raise fail(problem)
        from aligner.audio import SAMPLE_RATE, load_audio

        samples = load_audio(audio, SAMPLE_RATE, channel)
        candidates = _read_or_align(samples, SAMPLE_RATE, alignment, model, device, dictionary,
                                    method, tier_names_option(gold_tiers), quiet, audio)
        chosen = _choose_speaker(candidates, speaker, alignment)
        if ipa:
            from aligner.ipa import with_ipa_phones

            chosen = [with_ipa_phones(a) for a in chosen]
        if problem := _other_recording(chosen, len(samples) / SAMPLE_RATE, alignment, audio):
            raise fail(problem)
        heading = title if title is not None else _default_title(audio, chosen)
        written = plot_alignment(samples, SAMPLE_RATE, chosen, out_path, start=start, end=end,
                                 title=heading, dpi=dpi, row_seconds=row_seconds)
    except (ValueError, OSError) as err:  # AudioError, FormatError, PlotError, ...
        raise fail(err) from None
    if not quiet:
        typer.echo(_wrote(written))


def _read_or_align(samples, sample_rate: int, path: Path, model, device: str, dictionary,
                   method: str, chosen: "tuple[str, str] | None" = None,
                   quiet: bool = False, audio: Path | None = None) -> list:
    """Alignments from an alignment file; failing that, align the transcript on the fly.

    A TextGrid is an alignment when it has words/phones tiers (ours: 'words', or
    '<speaker> - words'), or the tiers `chosen` names; any other TextGrid is taken as an
    utterance transcript. A hand-labelled TextGrid's tiers are guessed (emuR's: Word, an accent
    class, and Phoneme, the canonical form), and a note says which, as `evaluate` does.
    """
    from aligner.evaluate import tier_note
    from aligner.formats import read_csv, read_json, read_textgrid, textgrid_phones_tier

    if not path.exists():
        raise fail(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv"):  # our JSON, or our CSV (Begin,End,Label,Type,...)
        found = read_json(path) if suffix == ".json" else read_csv(path)
        if not found:
            raise fail(f"{path}: has no words or phones tiers")
        return found
    if suffix in (".ctm", ".tsv"):  # x.ctm with x.phones.ctm beside it, as evaluate reads them
        return [_one_tier_files(path)]
    if suffix == ".textgrid":
        if chosen is not None:
            found = [a for a in read_textgrid(path, tolerant=True, chosen=chosen)
                     if a.words or a.phones]
            if not found:
                raise fail(f"{path}: tier {' and '.join(filter(None, chosen))} holds no "
                           "labelled intervals")
            return found
        found = [a for a in read_textgrid(path) if a.words or a.phones]
        if not found and textgrid_phones_tier(path):  # hand-labelled: 'word'/'phone', emuR's
            found = [a for a in read_textgrid(path, tolerant=True) if a.words or a.phones]
            if (note := tier_note(path)) is not None and not quiet:
                typer.echo(f"note: {note}", err=True)
        if found:
            return found
    aligner = load_aligner(model, device, dictionary, method)
    return aligner.align_speakers(samples, path, sample_rate=sample_rate, method=method,
                                  name=None if audio is None else str(audio))


def _one_tier_files(path: Path):
    """The alignment a CTM or a TSV holds, with its other tier's file beside it (`x.ctm` and
    `x.phones.ctm`, `x.words.tsv` and `x.phones.tsv`), read as `evaluate` reads them; a usage
    error for an unreadable file or a CTM of several utterances (which one to draw?)."""
    from aligner.alignment import Alignment
    from aligner.evaluate import load_alignments

    utterances = dict(load_alignments(path))
    found = [v for v in utterances.values() if isinstance(v, Alignment)]
    if len(utterances) > 1:
        names = ", ".join(sorted(utterances)[:3]) + (", ..." if len(utterances) > 3 else "")
        raise fail(f"{path}: holds {len(utterances)} utterances ({names}); draw one at a time")
    if not found:
        raise fail(str(next(iter(utterances.values()), f"{path}: holds no alignment")))
    return found[0]


def _other_recording(alignments: list, seconds: float, path: Path, audio: Path) -> str | None:
    """Why the alignment belongs to another recording, or None: it was made for more audio
    than there is (drawn, its labels beyond the audio's end filled pages over a flat line), or
    it is a TextGrid made for less (its xmax is the recording's end: a 1.9 s alignment over
    192 s of audio drew seven pages, the last six unlabelled). Not for less in other formats: a
    CSV or another tool's JSON ends with its last interval, not with the recording."""
    from aligner.checks import AUDIO_END_SLACK

    made_for = max([a.duration for a in alignments]
                   + [iv.end for a in alignments for iv in (*a.words, *a.phones) if iv.label])
    shorter = path.suffix.lower() == ".textgrid" and made_for < seconds - AUDIO_END_SLACK
    if made_for > seconds + AUDIO_END_SLACK or shorter:
        return (f"{path} was made for {made_for:.2f} s of audio but {audio} lasts "
                f"{seconds:.2f} s: plot it with the recording it was made for")
    return None


def _wrote(paths: list[Path]) -> str:
    """One line for any number of pages: 'wrote x.png (+2 pages: x.page2.png ... x.page3.png)'."""
    if len(paths) == 1:
        return f"wrote {paths[0]}"
    if len(paths) == 2:
        return f"wrote {paths[0]} (+1 page: {paths[1].name})"
    return f"wrote {paths[0]} (+{len(paths) - 1} pages: {paths[1].name} ... {paths[-1].name})"


def _choose_speaker(alignments: list, speaker: str | None, path: Path) -> list:
    if speaker is None:
        return alignments
    for a in alignments:
        if a.speaker == speaker:
            return [a]
    names = ", ".join(repr(a.speaker) for a in alignments if a.speaker)
    raise fail(f"{path}: no speaker {speaker!r} "
               + (f"(speakers: {names})" if names else "(its tiers name no speaker)"))


def _default_title(audio: Path, alignments: list) -> str:
    speakers = ", ".join(a.speaker for a in alignments if a.speaker)
    return f"{audio.name} ({speakers})" if speakers else audio.name
