"""Writers and readers for the alignment formats people use: TextGrid, CTM, JSON, CSV.

One function per format and direction, all taking/returning `Alignment`s (one per speaker), so
the aligner, the evaluator and the tests share a single plain representation. Every writer goes
through `atomic_open`/`atomic_path`: an output file either is complete or does not exist, which is
what lets a corpus run resume by skipping files that exist. Times are rounded to milliseconds.

File names for an output "base" (directory + utterance name, no suffix):
    textgrid -> base.TextGrid
    ctm      -> base.ctm (words) and base.phones.ctm (phones)
    json     -> base.json
    csv      -> base.csv
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aligner.alignment import Alignment, Interval
from aligner.atomic import atomic_open, atomic_path

FORMATS: tuple[str, ...] = ("textgrid", "ctm", "json", "csv")
SUFFIX_TO_FORMAT = {".textgrid": "textgrid", ".ctm": "ctm", ".json": "json", ".csv": "csv"}
CSV_HEADER = ["Begin", "End", "Label", "Type", "Speaker", "Confidence", "Flags"]


class FormatError(ValueError):
    """An input file in one of these formats is malformed; the message names the file."""


@dataclass(frozen=True)
class Segment:
    """One utterance interval of a transcript TextGrid (MFA's long-recording input)."""

    speaker: str
    start: float
    end: float
    text: str


# ----------------------------------------------------------------------------------- helpers

def ms(t: float) -> float:
    """Round a time to whole milliseconds (the precision every writer promises)."""
    return round(float(t) + 0.0, 3) + 0.0


def parse_formats(spec: str | Sequence[str]) -> list[str]:
    """'textgrid,json' -> ['textgrid', 'json']; raises ValueError naming an unknown format."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if item not in FORMATS:
            raise ValueError(f"unknown output format {item!r} (choose from {', '.join(FORMATS)})")
        if item not in out:
            out.append(item)
    if not out:
        raise ValueError("no output format given")
    return out


def output_paths(base: Path, formats: Sequence[str]) -> list[Path]:
    """Every file that `write_outputs(base, formats)` creates (used to skip finished work)."""
    paths: list[Path] = []
    for fmt in formats:
        if fmt == "textgrid":
            paths.append(_with_suffix(base, ".TextGrid"))
        elif fmt == "ctm":
            paths += [_with_suffix(base, ".ctm"), _with_suffix(base, ".phones.ctm")]
        else:
            paths.append(_with_suffix(base, f".{fmt}"))
    return paths


def _with_suffix(base: Path, suffix: str) -> Path:
    return base.parent / (base.name + suffix)


def tier_names(alignments: Sequence[Alignment]) -> list[tuple[str, str]]:
    """(words tier, phones tier) per alignment: plain names for one speaker, MFA's
    '<speaker> - words' when a file holds several."""
    if len(alignments) == 1:
        return [("words", "phones")]
    return [(f"{a.speaker or f'speaker{i + 1}'} - words", f"{a.speaker or f'speaker{i + 1}'} - phones")
            for i, a in enumerate(alignments)]


def _as_list(alignments: Alignment | Sequence[Alignment]) -> list[Alignment]:
    return [alignments] if isinstance(alignments, Alignment) else list(alignments)


def _labelled(intervals: Sequence[Interval], duration: float) -> list[Interval]:
    """Non-silent intervals, rounded to ms, clipped to [0, duration], without overlaps or
    zero-length entries (rounding can make a sub-millisecond interval vanish)."""
    end_max = ms(duration)
    out: list[Interval] = []
    last_end = 0.0
    for iv in intervals:
        if not iv.label:
            continue
        start = max(ms(iv.start), last_end, 0.0)
        end = min(ms(iv.end), end_max)
        if end <= start:
            continue
        out.append(Interval(start, end, iv.label, iv.confidence))
        last_end = end
    return out


def _duration(alignments: Sequence[Alignment]) -> float:
    return ms(max(a.duration for a in alignments))


# ----------------------------------------------------------------------------------- writers

def write_outputs(alignments: Alignment | Sequence[Alignment], base: Path,
                  formats: Sequence[str], utterance: str | None = None) -> list[Path]:
    """Write `alignments` in every format in `formats` next to `base`; returns the paths."""
    alignments = _as_list(alignments)
    utterance = utterance or base.name
    writers = {
        "textgrid": lambda: [write_textgrid(alignments, _with_suffix(base, ".TextGrid"))],
        "ctm": lambda: write_ctm(alignments, _with_suffix(base, ".ctm"),
                                 _with_suffix(base, ".phones.ctm"), utterance),
        "json": lambda: [write_json(alignments, _with_suffix(base, ".json"))],
        "csv": lambda: [write_csv(alignments, _with_suffix(base, ".csv"))],
    }
    written: list[Path] = []
    for fmt in formats:
        written += writers[fmt]()
    return written


def write_textgrid(alignments: Alignment | Sequence[Alignment], path: Path) -> Path:
    """Praat TextGrid (long format, UTF-8): a words and a phones tier per speaker, each covering
    0 to the audio duration, silence as empty intervals."""
    from praatio import textgrid  # imported here: praatio is slow to import and only needed now

    alignments = _as_list(alignments)
    duration = _duration(alignments)
    tg = textgrid.Textgrid(0.0, duration)
    for a, (words_name, phones_name) in zip(alignments, tier_names(alignments)):
        for name, intervals in ((words_name, a.words), (phones_name, a.phones)):
            entries = [(iv.start, iv.end, iv.label) for iv in _labelled(intervals, duration)]
            tg.addTier(textgrid.IntervalTier(name, entries, 0.0, duration))
    with atomic_path(path) as tmp:
        tg.save(str(tmp), format="long_textgrid", includeBlankSpaces=True,
                reportingMode="silence")
    return path


def write_ctm(alignments: Alignment | Sequence[Alignment], words_path: Path,
              phones_path: Path, utterance: str) -> list[Path]:
    """CTM lines `<utt> <channel> <start> <duration> <token> <confidence>`; words and phones in
    two files. With several speakers the utterance id becomes `<utt>-<speaker>`."""
    alignments = _as_list(alignments)
    duration = _duration(alignments)
    for path, tier in ((words_path, "words"), (phones_path, "phones")):
        rows = []
        for a in alignments:
            utt = utterance if len(alignments) == 1 else f"{utterance}-{a.speaker or 'spk'}"
            utt = utt.replace(" ", "_")
            for iv in _labelled(getattr(a, tier), duration):
                conf = 1.0 if iv.confidence is None else iv.confidence
                rows.append(f"{utt} 1 {iv.start:.3f} {ms(iv.end - iv.start):.3f} "
                            f"{iv.label.replace(' ', '_')} {conf:.3f}\n")
        with atomic_open(path) as handle:
            handle.writelines(rows)
    return [words_path, phones_path]


def write_json(alignments: Alignment | Sequence[Alignment], path: Path) -> Path:
    """MFA-shaped JSON; each entry is `[start, end, label, confidence]`, plus `flags` (each with
    the entry it refers to) and the generated pronunciations of `unknown_words`."""
    with atomic_open(path) as handle:
        handle.write(_pretty_json(to_json_dict(alignments)))
    return path


def _pretty_json(data: dict) -> str:
    """Indented JSON with one tier entry per line (readable and diff-friendly)."""
    dump = lambda x: json.dumps(x, ensure_ascii=False)
    lines = ["{", f' "start": {dump(data["start"])},', f' "end": {dump(data["end"])},',
             ' "tiers": {']
    tiers = list(data["tiers"].items())
    for t, (name, tier) in enumerate(tiers):
        lines.append(f'  {dump(name)}: {{"type": {dump(tier["type"])}, "entries": [')
        entries = tier["entries"]
        lines += [f"   {dump(e)}{',' if i < len(entries) - 1 else ''}" for i, e in enumerate(entries)]
        lines.append("  ]}" + ("," if t < len(tiers) - 1 else ""))
    lines.append(" },")
    rest = [k for k in data if k not in ("start", "end", "tiers")]
    for i, key in enumerate(rest):
        lines.append(f" {dump(key)}: {dump(data[key])}{',' if i < len(rest) - 1 else ''}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json_dict(alignments: Alignment | Sequence[Alignment]) -> dict:
    alignments = _as_list(alignments)
    duration = _duration(alignments)
    tiers: dict[str, dict] = {}
    flags: list[dict] = []
    unknown: dict[str, list[str]] = {}
    for a, (words_name, phones_name) in zip(alignments, tier_names(alignments)):
        for name, intervals in ((words_name, a.words), (phones_name, a.phones)):
            tiers[name] = {"type": "interval", "entries": [
                [iv.start, iv.end, iv.label, _conf(iv.confidence)]
                for iv in _labelled(intervals, duration)]}
        for f in a.flags:
            item = f.as_dict() if hasattr(f, "as_dict") else {"kind": "", "message": str(f)}
            if a.speaker and len(alignments) > 1:
                item["speaker"] = a.speaker
            flags.append(item)
        unknown.update(a.unknown_words)
    return {"start": 0.0, "end": duration, "tiers": tiers, "flags": flags,
            "unknown_words": unknown}


def write_csv(alignments: Alignment | Sequence[Alignment], path: Path) -> Path:
    """MFA-style CSV `Begin,End,Label,Type,Speaker,Confidence` plus a `Flags` column naming the
    checks (e.g. `long_word`) that flagged that entry."""
    alignments = _as_list(alignments)
    duration = _duration(alignments)
    with atomic_open(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for a in alignments:
            for tier in ("words", "phones"):
                for iv in _labelled(getattr(a, tier), duration):
                    kinds = [getattr(f, "kind", "") for f in a.flags
                             if getattr(f, "tier", None) == tier and f.label == iv.label
                             and f.start is not None and abs(ms(f.start) - iv.start) < 1e-6]
                    writer.writerow([f"{iv.start:.3f}", f"{iv.end:.3f}", iv.label, tier,
                                     a.speaker or "", "" if iv.confidence is None
                                     else f"{iv.confidence:.3f}", ";".join(kinds)])
    return path


def _conf(c: float | None) -> float | None:
    return None if c is None or not math.isfinite(c) else round(float(c), 3)


# ----------------------------------------------------------------------------------- readers

def _split_tier_name(name: str) -> tuple[str | None, str]:
    if " - " in name:
        speaker, kind = name.rsplit(" - ", 1)
        return speaker, kind
    return None, name


def read_textgrid(path: Path) -> list[Alignment]:
    """An aligned TextGrid (ours or MFA's) back into Alignments; silence intervals dropped."""
    from praatio import textgrid

    try:
        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False, reportingMode="silence")
    except Exception as err:
        raise FormatError(f"{path}: not a readable TextGrid ({err})") from None
    found: dict[str | None, Alignment] = {}
    for name in tg.tierNames:
        speaker, kind = _split_tier_name(name)
        if kind not in ("words", "phones"):
            continue
        a = found.setdefault(speaker, Alignment([], [], tg.maxTimestamp, speaker))
        tier = tg.getTier(name)
        getattr(a, kind).extend(Interval(e.start, e.end, e.label) for e in tier.entries if e.label)
    return list(found.values())


def read_json(path: Path) -> list[Alignment]:
    """Our (or MFA's) JSON back into Alignments."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        found: dict[str | None, Alignment] = {}
        for name, tier in data["tiers"].items():
            speaker, kind = _split_tier_name(name)
            if kind not in ("words", "phones"):
                continue
            a = found.setdefault(speaker, Alignment([], [], float(data["end"]), speaker))
            for entry in tier["entries"]:
                conf = entry[3] if len(entry) > 3 else None
                getattr(a, kind).append(Interval(float(entry[0]), float(entry[1]), entry[2], conf))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise FormatError(f"{path}: not an alignment JSON file ({err})") from None
    return list(found.values())


def read_csv(path: Path) -> list[Alignment]:
    """Our CSV back into Alignments (one per speaker); duration is the last end time."""
    found: dict[str | None, Alignment] = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                speaker = row["Speaker"] or None
                a = found.setdefault(speaker, Alignment([], [], 0.0, speaker))
                conf = float(row["Confidence"]) if row.get("Confidence") else None
                iv = Interval(float(row["Begin"]), float(row["End"]), row["Label"], conf)
                getattr(a, row["Type"]).append(iv)
                a.duration = max(a.duration, iv.end)
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise FormatError(f"{path}: not an alignment CSV file ({err})") from None
    return list(found.values())


def read_ctm(path: Path) -> dict[str, list[Interval]]:
    """CTM lines grouped by utterance id."""
    out: dict[str, list[Interval]] = {}
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith(";;"):
                continue
            parts = line.split()
            utt, start, dur, token = parts[0], float(parts[2]), float(parts[3]), parts[4]
            conf = float(parts[5]) if len(parts) > 5 else None
            out.setdefault(utt, []).append(Interval(start, ms(start + dur), token, conf))
    except (OSError, ValueError, IndexError) as err:
        raise FormatError(f"{path}: not a CTM file ({err})") from None
    return out


def read_transcript_textgrid(path: Path) -> list[Segment]:
    """Utterance intervals of a transcript TextGrid: one tier per speaker, each non-empty interval
    one utterance to align inside its own time span."""
    from praatio import textgrid

    try:
        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False, reportingMode="silence")
    except Exception as err:
        raise FormatError(f"{path}: not a readable TextGrid ({_first_line(err)})") from None
    segments: list[Segment] = []
    for name in tg.tierNames:
        tier = tg.getTier(name)
        if getattr(tier, "tierType", "IntervalTier") != "IntervalTier":
            continue
        for e in tier.entries:
            if e.label.strip():
                segments.append(Segment(name, float(e.start), float(e.end), e.label.strip()))
    if not segments:
        raise FormatError(f"{path}: the TextGrid has no non-empty utterance intervals")
    return segments


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
