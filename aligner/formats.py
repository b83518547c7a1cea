"""Writers and readers for the alignment formats people use: TextGrid, CTM, JSON, CSV, and
SRT/WebVTT subtitles (written only).

One function per format and direction, all taking/returning `Alignment`s (one per speaker), so
the aligner, the evaluator, the plotter and the tests share a single plain representation. Every
writer goes through `atomic_open`/`atomic_path`: an output file either is complete or does not
exist, which is what lets a corpus run resume by skipping files that exist. Times are rounded to
milliseconds, except the recording's end (a TextGrid's xmax, JSON's `end`): its exact duration. Each reader has a strict mode (this project's own files) and a tolerant one (gold
alignments and other tools' files, for `evaluate`); `read_alignment` reads a file of any of them,
by its suffix, the tolerant way.

File names for an output "base" (directory + utterance name, no suffix):
    textgrid -> base.TextGrid
    ctm      -> base.ctm (words) and base.phones.ctm (phones)
    json     -> base.json
    csv      -> base.csv
    srt, vtt -> base.srt, base.vtt (a cue per line of words, or per word)
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

from aligner.alignment import Alignment, Interval
from aligner.atomic import atomic_open, atomic_path
from aligner.errors import one_line
from aligner.text.encoding import decode_text

FORMATS: tuple[str, ...] = ("textgrid", "ctm", "json", "csv", "srt", "vtt")
SUFFIX_TO_FORMAT = {".textgrid": "textgrid", ".ctm": "ctm", ".json": "json", ".csv": "csv",
                    ".srt": "srt", ".vtt": "vtt"}
SUBTITLE_FORMATS = ("srt", "vtt")  # the formats --cues shapes
CSV_HEADER = ["Begin", "End", "Label", "Type", "Speaker", "Confidence", "Flags", "Word"]


class FormatError(ValueError):
    """An input file in one of these formats is malformed; the message names the file."""


class NotAlignmentError(FormatError):
    """A readable JSON or CSV/TSV file that holds no alignment at all (a report, a config: no
    tiers, no start/end/label columns), as opposed to an alignment that is broken. `evaluate`
    skips such files when it scans a folder."""


@dataclass(frozen=True)
class Segment:
    """One utterance of a transcript. A text transcript is one segment over the whole recording
    (start and end None); an utterance TextGrid (MFA's long-recording input) gives one per
    interval, with its speaker. `source` names the utterance in error messages."""

    text: str
    source: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None

    @property
    def whole(self) -> bool:
        """Spans the whole recording (no interval of its own)."""
        return self.start is None

    def span(self, n_samples: int, sample_rate: int) -> tuple[int, int]:
        """The samples [lo, hi) of a recording of `n_samples` that this segment covers: all of
        them for a whole-recording segment, else its interval clamped to the audio."""
        if self.whole:
            return 0, n_samples
        return (max(0, int(round(self.start * sample_rate))),
                min(n_samples, int(round(self.end * sample_rate))))


def excerpt_problem(segments: Sequence[Segment], duration: float) -> str | None:
    """Why a TextGrid transcript fits no part of a recording of `duration` seconds when every
    interval starts after it ends (an excerpt's TextGrid that kept the long recording's times,
    and what mends it), else None; one line for `align` and `validate` alike."""
    starts = [g.start for g in segments if not g.whole and g.start is not None]
    if not starts or min(starts) < duration:
        return None
    return (f"every interval of the transcript starts after the audio ends ({duration:.2f} s; "
            f"the first at {min(starts):.2f} s): are its times those of a longer recording, this "
            "one an excerpt? In Praat, Modify > Shift times to... 0 on the TextGrid, or align "
            "the whole recording")


def segment_problem(segment: Segment, n_phones: int, n_samples: int, sample_rate: int = 16000,
                    hop: int = 160, states: int = 1) -> str | None:
    """Why `n_phones` cannot be aligned to the audio `segment` covers in a recording of
    `n_samples`, or None: an interval outside the audio or shorter than one frame, phones
    faster than anyone speaks (`too_fast`: the wrong file), fewer frames than states to align.
    The one judgement `align` fails a segment by and `validate` reports it by, in these words
    (the caller names the segment)."""
    from aligner.text.frontend import too_fast

    lo, hi = segment.span(n_samples, sample_rate)
    if hi - lo < hop and segment.whole:  # a plain transcript: there is no interval to blame
        return (too_fast(n_phones, (hi - lo) / sample_rate) or f"the audio is "
                f"{1000 * n_samples / sample_rate:.1f} ms long, shorter than one 10 ms frame")
    if hi - lo < hop:
        return (f"the interval lies outside the audio ({n_samples / sample_rate:.2f} s) or is "
                "shorter than one frame")
    seconds = (hi - lo) / sample_rate
    problem = too_fast(n_phones, seconds,  # first: says how long the audio should be
                       "the audio" if segment.whole else "the interval")
    if problem is not None:
        return problem
    n_frames = -(-(hi - lo) // hop)
    if n_phones * states > n_frames:  # only reachable with more states than the shipped 3
        return (f"the transcript has {n_phones} phones but the audio has only {n_frames} frames "
                f"({seconds:.2f} s; the model needs {states} per phone)")
    return None


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
        path = format_path(base, fmt)
        paths += [path, ctm_phones_path(path)] if fmt == "ctm" else [path]
    return paths


def format_path(base: Path, fmt: str) -> Path:
    """The file `write_outputs` names for `fmt` beside `base` (CTM: its words file)."""
    return _with_suffix(base, ".TextGrid" if fmt == "textgrid" else f".{fmt}")


def ctm_phones_path(words_path: Path) -> Path:
    """x.ctm -> x.phones.ctm: a CTM holds one tier, so the phones go beside the words."""
    return words_path.with_name(f"{words_path.stem}.phones{words_path.suffix}")


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


def last_ms(duration: float) -> float:
    """The last whole millisecond inside a recording of `duration` seconds: where written times
    (rounded to ms) must end."""
    return math.floor(duration * 1000 + 1e-6) / 1000


def _labelled(intervals: Sequence[Interval], duration: float) -> list[Interval]:
    """Non-silent intervals, rounded to ms, clipped to [0, duration], without overlaps or
    zero-length entries (rounding can make a sub-millisecond interval vanish)."""
    end_max = last_ms(duration)
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
    """The recording's duration, exact (not rounded to ms): a tier that ends after the audio
    does (1.870 s for 1.8696875 s of samples) is rejected or misread by tools that check
    the TextGrid against its sound, and Praat's own TextGrids end at the exact duration."""
    return float(max(a.duration for a in alignments)) + 0.0


# ----------------------------------------------------------------------------------- writers

def write_outputs(alignments: Alignment | Sequence[Alignment], base: Path,
                  formats: Sequence[str], utterance: str | None = None,
                  cues: str = "lines") -> list[Path]:
    """Write `alignments` in every format in `formats` next to `base`; returns the paths
    (`cues`: what an SRT/WebVTT cue holds, `subtitle_cues`).
    Raises ValueError naming an unknown format before anything is written. All formats or
    none: when one cannot be written (a full disk), those already written are removed, so no
    recording is left with some of its outputs, which a corpus run would take as done."""
    base = Path(base)
    formats = parse_formats(formats)
    check_cues(cues, formats)
    utterance = utterance or base.name
    written: list[Path] = []
    try:
        for fmt in formats:
            written += write_file(alignments, format_path(base, fmt), fmt, utterance, cues)
    except BaseException:
        _remove_written(written)
        raise
    return written


def _remove_written(paths: Sequence[Path]) -> None:
    """Remove outputs just written, when the others of their recording could not be: never a
    device, nor a link or its target (written through: the user's own file)."""
    for path in paths:
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)


def write_file(alignments: Alignment | Sequence[Alignment], path: Path, fmt: str,
               utterance: str | None = None, cues: str = "lines") -> list[Path]:
    """Write one format to exactly `path` (CTM: the phones beside it, `ctm_phones_path`);
    `utterance` is CTM's utterance id (default: the file's stem), `cues` what an SRT/WebVTT
    cue holds (`subtitle_cues`). Returns the paths written.
    Raises ValueError for an unknown format, or a path whose suffix names another format
    (`x.csv` written as JSON would be misread by every tool that trusts the suffix)."""
    path = Path(path)
    (fmt,) = parse_formats([fmt])
    implied = SUFFIX_TO_FORMAT.get(path.suffix.lower())
    if implied is not None and implied != fmt:
        raise ValueError(f"{path}: a {path.suffix} file name for {fmt} output; name it "
                         f"{path.stem}{format_path(Path('x'), fmt).suffix} or ask for {implied}")
    alignments = _as_list(alignments)
    if fmt == "ctm":
        return write_ctm(alignments, path, ctm_phones_path(path), utterance or path.stem)
    writers = {"textgrid": write_textgrid, "json": write_json, "csv": write_csv,
               "srt": partial(write_srt, cues=cues), "vtt": partial(write_vtt, cues=cues)}
    return [writers[fmt](alignments, path)]


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
    two files. With several speakers the utterance id becomes `<utt>-<speaker>`. The channel is
    the one aligned (`--channel`), 1 for the mix: the two sides of a call, each aligned on its
    own, stay apart when their CTMs are joined for scoring against an STM."""
    alignments = _as_list(alignments)
    duration = _duration(alignments)
    written: list[Path] = []
    try:
        for path, tier in ((words_path, "words"), (phones_path, "phones")):
            rows = []
            for a in alignments:
                utt = utterance if len(alignments) == 1 else f"{utterance}-{a.speaker or 'spk'}"
                utt, channel = ctm_field(utt), a.channel or 1
                for iv in _labelled(getattr(a, tier), duration):
                    conf = 1.0 if iv.confidence is None else iv.confidence
                    rows.append(f"{utt} {channel} {iv.start:.3f} {ms(iv.end - iv.start):.3f} "
                                f"{ctm_field(iv.label)} {conf_text(conf)}\n")
            with atomic_open(path) as handle:
                handle.writelines(rows)
            written.append(Path(path))
    except BaseException:
        _remove_written(written)  # both files or neither
        raise
    return written


def ctm_id(name: str) -> str:
    """A corpus utterance's CTM id: its path below the root with `-` for `/` (`spkX/001` ->
    `spkX-001`, Kaldi's speaker-first style), so that two speakers' `001.wav` stay apart when
    their CTMs are concatenated; `ctm_field` then keeps it one field."""
    return name.replace("/", "-")


def ctm_field(text: str) -> str:
    """`text` as one field of a CTM line: any run of whitespace (a tab or a newline in a file
    name, not only a space) becomes `_`, which would otherwise split the line."""
    return re.sub(r"\s+", "_", text.strip()) or "_"


def write_json(alignments: Alignment | Sequence[Alignment], path: Path) -> Path:
    """MFA's JSON: each tier's entries are `[start, end, label]`, as MFA writes them (code that
    unpacks three items keeps working), with the entries' confidences in a list of their own
    beside them (`"confidence": [...]`, null where there is none); plus `flags` (each with the
    entry it refers to), each phone's word (`"word": [0, 0, 1, ...]`, the index of the words
    tier's entry that holds it), the generated pronunciations of `unknown_words`,
    `transcript_fit` with the `noise_margin` (dB) and `band_edge` (Hz) it was judged with, and
    the transcript `text` as typed: a tool showing a learner the result has the sentence's own
    punctuation and case, which the words tier leaves out."""
    with atomic_open(path) as handle:
        handle.write(_pretty_json(to_json_dict(alignments)))
    return path


def add_flag(path: Path, flag, duration: float | None = None) -> Path:
    """Add an utterance-wide flag (an `aligner.checks.Flag`) to a JSON or CSV output already
    written: a corpus run judges each recording against its speaker's others only once all are
    aligned (aligner/runner.py, `judge_against_speakers`). The CSV gets it in its `recording`
    row (one is added after the header when there is none, over the recording's `duration`:
    the CSV alone knows only where its last entry ends). A file that already carries that kind
    of utterance-wide flag is left as it is (a run judged again after a kill)."""
    if Path(path).suffix.lower() == ".csv":
        return _add_csv_flag(Path(path), flag.kind, duration)
    data = _our_json(path)
    if any(f.get("kind") == flag.kind and not f.get("tier") for f in data.get("flags", [])):
        return path
    data["flags"] = [flag.as_dict(), *data.get("flags", [])]
    with atomic_open(path) as handle:
        handle.write(_pretty_json(data))
    return path


def remove_flag(path: Path, kind: str) -> Path:
    """Take an utterance-wide flag of `kind` off a JSON or CSV output (`add_flag` undone): a
    resumed corpus run that judges a recording against more of its speaker's recordings than
    the run that flagged it may find it fits after all. A file without it is not rewritten."""
    if Path(path).suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        kind_at, flags_at = CSV_HEADER.index("Type"), CSV_HEADER.index("Flags")
        body, found = [], False
        for row in rows[1:]:
            if len(row) > flags_at and row[kind_at] == RECORDING_TYPE:
                kinds = [k for k in row[flags_at].split(";") if k]
                found = found or kind in kinds
                row[flags_at] = ";".join(k for k in kinds if k != kind)
                if not row[flags_at]:
                    continue  # a recording row is there for its flags
            body.append(row)
        if not found:
            return path  # not there: the file is left untouched
        with atomic_open(path, newline="") as handle:
            csv.writer(handle).writerows([rows[0], *body])
        return path
    data = _our_json(path)
    flags = [f for f in data.get("flags", []) if not (f.get("kind") == kind and not f.get("tier"))]
    if flags == data.get("flags", []):
        return path  # not there: the file is left untouched
    data["flags"] = flags
    with atomic_open(path) as handle:
        handle.write(_pretty_json(data))
    return path


def _our_json(path: Path) -> dict:
    """An alignment JSON to add a flag to or take one off; ValueError for anything else (a file
    of the same name that another tool wrote into the output folder)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("flags", []), list):
        raise ValueError(f"{path}: not an alignment JSON of this tool")
    return data


def _add_csv_flag(path: Path, kind: str, duration: float | None = None) -> Path:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    kind_at, flags_at, end_at, speaker_at = (CSV_HEADER.index(c)
                                             for c in ("Type", "Flags", "End", "Speaker"))
    recording = next((r for r in body if len(r) > kind_at and r[kind_at] == RECORDING_TYPE), None)
    if recording is None:
        end = duration if duration else max(
            (float(r[end_at]) for r in body if len(r) > end_at and _is_float(r[end_at])
             and r[kind_at] != SPAN_TYPE), default=0.0)  # a span may run past the audio
        speakers = {r[speaker_at] for r in body if len(r) > speaker_at}
        body.insert(0, _recording_row(end, speakers.pop() if len(speakers) == 1 else "", [kind]))
    elif kind in recording[flags_at].split(";"):
        return path
    else:
        recording[flags_at] = ";".join([kind, *filter(None, recording[flags_at].split(";"))])
    with atomic_open(path, newline="") as handle:
        csv.writer(handle).writerows([header, *body])
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
        beside = "".join(f", {dump(key)}: {dump(value)}" for key, value in tier.items()
                         if key not in ("type", "entries"))  # confidence, a phone's word
        lines.append(f"  ]{beside}}}" + ("," if t < len(tiers) - 1 else ""))
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
            labelled = _labelled(intervals, duration)
            tiers[name] = {"type": "interval",
                           "entries": [[iv.start, iv.end, iv.label] for iv in labelled],
                           "confidence": [_conf(iv.confidence) for iv in labelled]}
        tiers[phones_name]["word"] = _owning_words(tiers[phones_name]["entries"],
                                                   tiers[words_name]["entries"])
        for f in a.flags:
            item = f.as_dict() if hasattr(f, "as_dict") else {"kind": "", "message": str(f)}
            if a.speaker and len(alignments) > 1:
                item["speaker"] = a.speaker
            flags.append(item)
        unknown.update(a.unknown_words)
    fits = {i: _conf(a.transcript_fit) for i, a in enumerate(alignments)
            if a.transcript_fit is not None}
    texts = {i: a.text for i, a in enumerate(alignments) if a.text is not None}
    margins = {i: round(a.noise_margin, 2) for i, a in enumerate(alignments)
               if a.noise_margin is not None and math.isfinite(a.noise_margin)}
    bands = {i: round(a.band_edge) for i, a in enumerate(alignments)
             if a.band_edge is not None and math.isfinite(a.band_edge)}
    out = {"start": 0.0, "end": duration, "tiers": tiers, "flags": flags,
           "unknown_words": unknown, "transcript_fit": _per_speaker(alignments, fits),
           "noise_margin": _per_speaker(alignments, margins),
           "band_edge": _per_speaker(alignments, bands),
           "text": _per_speaker(alignments, texts)}
    if len(alignments) == 1 and alignments[0].speaker:  # a corpus run's speaker, as the CSV's
        out["speaker"] = alignments[0].speaker
    channel = next((a.channel for a in alignments if a.channel is not None), None)
    if channel is not None:  # one channel of the file, not the mix: whoever opens this later
        out["channel"] = channel
    return out


def _owning_words(phones: list[list], words: list[list]) -> list[int | None]:
    """For each phone entry [start, end, label], the index of the word entry whose span holds
    its midpoint (None for none): feedback on a word's sounds needs no matching by time. One
    pass over both (both in time order)."""
    out: list[int | None] = []
    k = 0
    for start, end, _ in phones:
        mid = (start + end) / 2
        while k < len(words) and words[k][1] <= mid:
            k += 1
        out.append(k if k < len(words) and words[k][0] <= mid else None)
    return out


def _per_speaker(alignments: list[Alignment], values: dict[int, object]) -> object:
    """One speaker's value as it is; several speakers' as an object keyed by speaker (named as
    in the tier names, `speaker1`... for none), null for a speaker without one, so every
    speaker is a key; None when no alignment has one."""
    if len(alignments) == 1:
        return values.get(0)
    if not values:
        return None
    return {a.speaker or f"speaker{i + 1}": values.get(i) for i, a in enumerate(alignments)}


def write_csv(alignments: Alignment | Sequence[Alignment], path: Path) -> Path:
    """MFA-style CSV `Begin,End,Label,Type,Speaker,Confidence` plus a `Flags` column naming the
    checks (e.g. `long_word`) that flagged that entry and a `Word` column, the index of the
    word (among the speaker's word rows, from 0) a row belongs to, as the JSON's "word": a
    phone's word without matching times. Flags on the whole recording (e.g.
    `transcript_mismatch`) get a row of their own, Type `recording`, over the whole duration,
    before the speaker's words: a user who reads only the CSV sees them too."""
    alignments = _as_list(alignments)
    duration = _duration(alignments)
    with atomic_open(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for a in alignments:
            rows, placed = [], set()
            words = _labelled(a.words, duration)
            spans = [[w.start, w.end, w.label] for w in words]
            for tier, labelled in (("words", words), ("phones", _labelled(a.phones, duration))):
                owners = (range(len(words)) if tier == "words" else _owning_words(
                    [[iv.start, iv.end, iv.label] for iv in labelled], spans))
                for iv, owner in zip(labelled, owners):
                    mine = [k for k, f in enumerate(a.flags)  # "bob - words": bob's words tier
                            if _split_tier_name(getattr(f, "tier", None) or "")[1] == tier
                            and f.label == iv.label
                            and f.start is not None and abs(ms(f.start) - iv.start) < 1e-6]
                    placed.update(mine)
                    rows.append([f"{iv.start:.3f}", f"{iv.end:.3f}", iv.label, tier,
                                 a.speaker or "", "" if iv.confidence is None
                                 else conf_text(iv.confidence),
                                 ";".join(getattr(a.flags[k], "kind", "") for k in mine),
                                 "" if owner is None else owner])
            # flags on the whole recording: the recording row carries them; flags on a stretch
            # no entry covers (an overlap, an untranscribed turn, a transcript interval past the
            # end of the audio): a span row each, with the stretch's times
            rest = [f for k, f in enumerate(a.flags) if k not in placed]
            timed = [getattr(f, "end", None) is not None and f.start is not None for f in rest]
            whole = [getattr(f, "kind", "") for f, t in zip(rest, timed) if not t]
            if whole:
                writer.writerow(_recording_row(duration, a.speaker or "", whole))
            spans = sorted((f for f, t in zip(rest, timed) if t), key=lambda f: (f.start, f.end))
            writer.writerows([f"{f.start:.3f}", exact_seconds(f.end) if f.end >= duration
                              else f"{f.end:.3f}", "", SPAN_TYPE, a.speaker or "", "", f.kind, ""]
                             for f in spans)  # at the end: the exact duration, as the recording row
            writer.writerows(rows)
    return path


RECORDING_TYPE = "recording"  # the CSV row that carries flags on the whole recording
SPAN_TYPE = "span"  # a CSV row that carries a flag on a stretch no entry covers


def _recording_row(duration: float, speaker: str, kinds: list[str]) -> list[str]:
    return ["0.000", exact_seconds(duration), "", RECORDING_TYPE, speaker, "", ";".join(kinds), ""]


def exact_seconds(t: float) -> str:
    """Seconds with three decimals at least, more where the value has them (1.8696875): the
    recording's exact end beside the millisecond times of the other rows."""
    text = f"{t:.7f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return text + "0" * max(0, 3 - decimals)


def _conf(c: float | None) -> float | None:
    """A confidence (or a transcript fit) to 4 significant figures: three decimals turned 3% of
    learners' phones into 0.0 (outside (0, 1], -inf in a log) and hid which side of the 0.0013
    flag threshold a word was on; all digits made the same command's JSON differ in its last
    digits with the number of threads (summation order), so outputs could not be compared."""
    return None if c is None or not math.isfinite(c) else float(f"{float(c):.4g}")


def conf_text(c: float) -> str:
    """`_conf`'s figure as the CTM and CSV write it: positional (`0.000009764`, not
    `9.764e-06`), since `sort -n` and hand-written readers of text columns take `e-06` for a
    word; JSON keeps numbers, which every parser reads in either notation."""
    rounded = _conf(c)
    if rounded is None:
        return "nan"
    text = format(Decimal(repr(rounded)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


CUES: tuple[str, ...] = ("lines", "words", "karaoke")  # what one SRT/WebVTT cue holds (--cues)
CUE_LINE_CHARS = 42  # a subtitle line: broadcasters' guidelines allow 37-42 characters
CUE_LINES = 2  # lines on screen at once
CUE_MAX_SECONDS = 7.0  # a cue shown longer is no longer read as one
CUE_PAUSE_SECONDS = 0.5  # a pause this long ends a cue: where speech ends a sentence or phrase
CUE_MIN_SECONDS = 0.8  # a line cue stays up at least this long (if the next lets it) ...
CUE_CHARS_PER_SECOND = 17.0  # ... and long enough to read at this speed


def check_cues(cues: str, formats: Sequence[str] = ()) -> None:
    """Raise ValueError for a cue kind not in CUES, or karaoke cues asked of SubRip (`srt` in
    `formats`), which has no word timestamps: before anything is written."""
    if cues not in CUES:
        raise ValueError(f"unknown cue kind {cues!r}; choose from {', '.join(CUES)}")
    if cues == "karaoke" and "srt" in formats:
        raise ValueError("karaoke cues need WebVTT's word timestamps: write vtt (-f vtt) for "
                         "them, or srt with cues of lines or words")


@dataclass(frozen=True)
class Cue:
    """One subtitle: its words in one or two lines (a line cue holds several, a word cue one),
    its speaker (None for a one-speaker file) and when it leaves the screen (`end`: its last
    word's end, or later for a line cue that needs time to be read)."""

    lines: tuple[tuple[Interval, ...], ...]
    speaker: str | None
    end: float

    @property
    def start(self) -> float:
        return self.lines[0][0].start

    @property
    def text_lines(self) -> list[str]:
        return [" ".join(w.label for w in line) for line in self.lines]


def subtitle_cues(alignments: Alignment | Sequence[Alignment], cues: str = "lines") -> list[Cue]:
    """The cues of a file, in time order, silence left out.

    Words are written with the punctuation typed around them in the transcript
    (`Alignment.text`, `written_words`), where it is known. `lines` (the default) and
    `karaoke`: what a viewer reads. Each speaker's words are grouped into cues of up to two
    lines of 42 characters (the `speaker: ` prefix of a file of several speakers counted in)
    and 7 s, a new cue starting after a sentence's end (`.`, `?`, `!` typed after a word) or a
    pause of 0.5 s or more; a word longer than a line is a cue of its own. A cue stays up
    until its last word ends, or longer, to give it 0.8 s and the time to read it at 17
    characters a second, as far as the pause before that speaker's next cue and the end of the
    recording allow.
    `karaoke` differs in WebVTT only (`write_vtt`). `words`: one cue per word, from its start
    to its end: what word-level captions (one word at a time on screen, editors that regroup
    words) expect from a forced aligner.

    Transcript codes in angle or curly brackets (`<unk>`, `<cutoff-x>`, `{LG}`) are left out:
    they are no words for a viewer, and players took `<unk>` for a tag and `{LG}` for a style
    override; a sound described in square brackets (`[laughter]`) stays, as subtitles for the
    deaf write it."""
    check_cues(cues)
    alignments = _as_list(alignments)
    duration = _duration(alignments)
    several = len(alignments) > 1
    out: list[Cue] = []
    for i, a in enumerate(alignments):
        speaker = (a.speaker or f"speaker{i + 1}") if several else None
        prefix = len(f"{speaker}: ") if speaker else 0
        words = _labelled(a.words, duration)  # codes too: written_words finds them in the text
        shown = written_words([w.label for w in words], a.text) if a.text else [w.label for w in words]
        kept = [k for k, w in enumerate(words)
                if w.label.strip() and not _SUBTITLE_CODE_RE.fullmatch(w.label)]
        ends = [_ends_sentence(words[k].label, shown[k]) for k in kept]
        words = [Interval(words[k].start, words[k].end, shown[k], words[k].confidence) for k in kept]
        if cues == "words":
            out += [Cue(((w,),), speaker, w.end) for w in words]
            continue
        groups = _line_groups(words, prefix, ends)
        for k, group in enumerate(groups):
            lines = _cue_lines(group, prefix)
            until = groups[k + 1][0].start if k + 1 < len(groups) else last_ms(duration)
            chars = sum(_width(line) for line in lines)
            wanted = group[0].start + max(CUE_MIN_SECONDS, chars / CUE_CHARS_PER_SECOND)
            out.append(Cue(lines, speaker, max(group[-1].end, min(wanted, until))))
    return sorted(out, key=lambda cue: (cue.start, cue.end))


_SUBTITLE_CODE_RE = re.compile(r"<[^<>]*>|\{[^{}]*\}")
_SENTENCE_END = (".", "?", "!")  # typed after a word, it ends its sentence and its cue
_CLOSING = "\"'”’)]»"  # ... also inside a closing quote or bracket


def written_words(labels: Sequence[str], text: str) -> list[str]:
    """Each word label with the punctuation typed around it in `text`, the transcript it was
    aligned to (`Alignment.text`): `"yes."` for `yes`, `(maybe),` for `maybe`. The words tier
    keeps words bare, as MFA's does; subtitles are read, and want the sentences' punctuation.

    Labels are found in order, each as a whole token after the one before, at most a few
    tokens on (two more for each label not found since: text the normaliser rewrote, a word
    joined across a line break), so the search stays local however long the text; a label not
    found keeps its bare form. Only
    marks that open a word (quotes, brackets, `¿`) are taken before it and only marks that
    close one after it, and only up to whitespace: `&-uh`'s code and `um@fp`'s stay out."""
    text = unicodedata.normalize("NFC", text)  # labels are NFC (text.normalise)
    starts = [m.start() for m in re.finditer(r"\S+", text)] + [len(text)]
    out, pos, missed = [], 0, 0
    for label in labels:
        token = bisect.bisect_left(starts, pos)
        ahead = min(WRITTEN_REACH + 2 * missed, WRITTEN_REACH_MAX)  # outruns the labels missed
        reach = starts[min(token + ahead, len(starts) - 1)]
        found = re.compile(rf"(?<!\w){re.escape(label)}(?!\w)").search(text, pos, reach)
        if found is None:
            out.append(label)
            missed += 1
            continue
        start, end = found.span()
        lead, tail = start, end
        while lead > pos and _opens(text[lead - 1]):
            lead -= 1
        while tail < len(text) and _closes(text[tail]):
            tail += 1
        if lead > 0 and not text[lead - 1].isspace():
            lead = start  # inside a token (a code before the word): no opening marks
        if tail < len(text) and not text[tail].isspace():
            tail = end  # a code after the word (um@fp): no closing marks
        dash = _SPACED_DASH.match(text, tail)  # "him — and": the dash goes with "him"
        if dash is not None:
            tail = dash.end()
        out.append(text[lead:tail])
        pos, missed = tail, 0
    return out


WRITTEN_REACH = 4  # tokens ahead of the last word found where the next is looked for ...
WRITTEN_REACH_MAX = 64  # ... two more for each label not found since, up to this


# A dash that breaks off a phrase, spaced as a token of its own ("him — and", "him -- and").
_SPACED_DASH = re.compile(r"[ \t]+(?:[—–]+|--)(?=\s|$)")


def _opens(char: str) -> bool:
    return unicodedata.category(char) in ("Ps", "Pi") or char in "\"'¿¡"


def _closes(char: str) -> bool:
    """A mark that closes a word typed right after it: `.`, `)`, `”`, and an em or en dash
    ("him— and"; a hyphen there is part of the word, a cutoff's `w-`)."""
    return (unicodedata.category(char) in ("Pe", "Pf", "Po") and char not in "&@*#/\\"
            or char in "—–")


def _ends_sentence(label: str, written: str) -> bool:
    """Whether the punctuation typed after `label` (in its `written` form) ends a sentence:
    `end.` and `"end?"` do; `Dr.`, whose full stop is the label's own, does not, nor does an
    ellipsis (`and...`: speech trailing off, often going on)."""
    at = written.find(label)
    tail = (written[at + len(label):] if at >= 0 else "").rstrip(_CLOSING)
    return tail.endswith(_SENTENCE_END) and not tail.endswith(("..", "…"))


def _line_groups(words: Sequence[Interval], prefix: int,
                 ends: Sequence[bool]) -> list[list[Interval]]:
    """One speaker's words (in time order) grouped greedily into line cues: a word joins the
    cue before it unless that one ends a sentence (`ends`, per word), a pause of
    CUE_PAUSE_SECONDS lies between them, or the cue would then last more than CUE_MAX_SECONDS
    or not fit CUE_LINES lines of CUE_LINE_CHARS (the first line after a speaker prefix of
    `prefix` characters)."""
    groups: list[list[Interval]] = []
    for k, word in enumerate(words):
        group = groups[-1] if groups else None
        if (group is None or ends[k - 1]
                or word.start - group[-1].end >= CUE_PAUSE_SECONDS
                or word.end - group[0].start > CUE_MAX_SECONDS
                or not _fits([*group, word], prefix)):
            groups.append([word])
        else:
            group.append(word)
    return groups


def _fits(words: Sequence[Interval], prefix: int = 0) -> bool:
    lines = _cue_lines(words, prefix)
    return len(lines) <= CUE_LINES and all(
        _width(line) + (prefix if k == 0 else 0) <= CUE_LINE_CHARS for k, line in enumerate(lines))


def _cue_lines(words: Sequence[Interval], prefix: int = 0) -> tuple[tuple[Interval, ...], ...]:
    """A cue's words as one line if they fit CUE_LINE_CHARS (after a speaker prefix of
    `prefix` characters), else two, broken where the longer line is shortest (balanced lines
    read faster than a full line over a short one)."""
    words = tuple(words)
    if prefix + _width(words) <= CUE_LINE_CHARS or len(words) == 1:
        return (words,)
    k = min(range(1, len(words)),
            key=lambda k: max(prefix + _width(words[:k]), _width(words[k:])))
    return (words[:k], words[k:])


def _width(words: Sequence[Interval]) -> int:
    """Characters of the words on one line, a space between each two."""
    return sum(len(w.label) for w in words) + len(words) - 1


def subtitle_time(t: float, separator: str) -> str:
    """Seconds -> `HH:MM:SS,mmm` (SRT, separator ",") or `HH:MM:SS.mmm` (WebVTT, ".")."""
    total = int(round(t * 1000))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def write_srt(alignments: Alignment | Sequence[Alignment], path: Path, cues: str = "lines") -> Path:
    """SubRip: numbered cues `HH:MM:SS,mmm --> HH:MM:SS,mmm` (`subtitle_cues`); with several
    speakers a cue's text is prefixed `speaker: `. SubRip has no escapes, so an arrow `-->` in
    a label (it would read as a timing line) is written `->`. Karaoke cues need WebVTT's
    timestamp tags: asked of SubRip they are a ValueError."""
    check_cues(cues, ["srt"])
    blocks = []
    for n, cue in enumerate(subtitle_cues(alignments, cues), 1):
        text = "\n".join(cue.text_lines)
        if cue.speaker:
            text = f"{cue.speaker}: {text}"
        blocks.append(f"{n}\n{subtitle_time(cue.start, ',')} --> {subtitle_time(cue.end, ',')}\n"
                      f"{text.replace('-->', '->')}\n\n")
    with atomic_open(path) as handle:
        handle.writelines(blocks)
    return path


def write_vtt(alignments: Alignment | Sequence[Alignment], path: Path, cues: str = "lines") -> Path:
    """WebVTT: the `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm`
    (`subtitle_cues`; `&`, `<`, `>` escaped); with several speakers each cue carries a
    `<v speaker>` voice tag. With `karaoke` cues, the line cues' every word after the first is
    preceded by its start as a WebVTT timestamp tag (`<00:00:01.234>`): a web page can style
    the words already said apart (CSS `::cue(:past)`), and the words' times are in the file;
    players that ignore the tags show plain lines, and some show the tags themselves."""
    blocks = ["WEBVTT\n\n"]
    for cue in subtitle_cues(alignments, cues):
        first = cue.lines[0][0]
        lines = [" ".join(_vtt_escape(w.label) if cues != "karaoke" or w is first
                          else f"<{subtitle_time(w.start, '.')}>{_vtt_escape(w.label)}" for w in line)
                 for line in cue.lines]
        text = "\n".join(lines)
        if cue.speaker is not None:
            text = f"<v {_vtt_escape(cue.speaker)}>{text}"
        blocks.append(f"{subtitle_time(cue.start, '.')} --> {subtitle_time(cue.end, '.')}\n{text}\n\n")
    with atomic_open(path) as handle:
        handle.writelines(blocks)
    return path


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ----------------------------------------------------------------------------------- readers
# Strict mode (the default) reads what this project writes: tiers named `words`/`phones` or
# `<speaker> - words`, JSON with "tiers", CSV with our header. Tolerant mode (`tolerant=True`,
# what `evaluate` reads gold and other tools' output with) also takes other tools' tier names,
# the plain shapes people write by hand (JSON {"phones": [[label, start, end], ...]}, CSV/TSV rows
# start,end,label with or without a header) and TextGrids praatio rejects for a harmless flaw.
# Either way silence (an empty label) is dropped: readers return the labelled intervals.
# `read_alignment`/`read_utterances` pick the tolerant reader by the file's suffix.

READ_SUFFIXES: tuple[str, ...] = (".textgrid", ".json", ".csv", ".tsv", ".ctm")
ACCEPTED = ('TextGrid (words/phones tiers), JSON ({"tiers": ...} or {"words": [[label, start, '
            'end], ...], "phones": [...]}), CSV/TSV (start,end,label rows) or CTM')

# Tier names other tools use; exact names first, then `<anything> words`, `x-phones`, `x_phn`.
_EXACT_TIERS = {"words": "words", "word": "words", "wrd": "words", "orthography": "words",
                "ort": "words", "ort-mau": "words", "word_segments": "words",  # WhisperX
                "phones": "phones", "phone": "phones", "phons": "phones",
                "phn": "phones", "phonemes": "phones", "phoneme": "phones", "phonetic": "phones",
                "segments": "phones", "segment": "phones", "mau": "phones"}
_SUFFIX_TIERS = {n: k for n, k in _EXACT_TIERS.items() if "mau" not in n}
_CSV_COLUMNS = {
    "start": ("start", "begin", "xmin", "tmin", "start_time", "onset"),
    "end": ("end", "stop", "xmax", "tmax", "end_time", "offset"),
    "label": ("label", "text", "word", "phone", "phoneme", "token", "mark"),
    "tier": ("type", "tier"),
    "speaker": ("speaker",),
    "confidence": ("confidence", "score", "conf"),
}

# Tiers that hold a transcriber's remarks, never words or phones: of two tiers, `words` and
# `notes`, the second is not taken for the phones, nor a speaker's remarks for their speech.
NOTE_TIERS = frozenset({"notes", "note", "comments", "comment", "remarks", "misc"})


def is_note_tier(name: str) -> bool:
    """Whether a tier is named as remarks: a word of its name (after any `speaker - `) is one
    of `NOTE_TIERS` (`notes`, `clinician notes`, `notes (SLP)`, `alice - comments`)."""
    words = re.findall(r"[a-z]+", _split_tier_name(name)[1].lower())
    return any(word in NOTE_TIERS for word in words)


TierKinds = dict[str, tuple[str | None, str]]  # tier name -> (speaker, "words" | "phones")
TierNames = tuple[str, str]  # the words tier's and the phones tier's names ("" for none)


def _split_tier_name(name: str) -> tuple[str | None, str]:
    if " - " in name:
        speaker, kind = name.rsplit(" - ", 1)
        return speaker, kind
    return None, name


def tier_kind(name: str, tolerant: bool = True) -> str | None:
    """'words', 'phones' or None for a tier name (strict: only those two words)."""
    low = name.strip().lower()
    if not tolerant:
        return low if low in ("words", "phones") else None
    if low in _EXACT_TIERS:
        return _EXACT_TIERS[low]
    for n, kind in _SUFFIX_TIERS.items():
        if any(low.endswith(sep + n) for sep in " -_"):
            return kind
    return None


# The exact phones-tier names but those a transcript's utterance tier may carry too.
_PHONE_TIER_NAMES = frozenset(n for n, kind in _EXACT_TIERS.items() if kind == "phones"
                              and n not in ("segments", "segment", "mau"))


def phones_tier(names: Sequence[str]) -> str | None:
    """The first tier named as phones are (`phone`, `phonemes`, emuR's `Phonetic`, with or
    without `speaker - `), or None: a TextGrid with one is an alignment, never a transcript of
    utterances. Exact names only: a speaker tier may be called `Mau`, `Mobile phone` or
    `spk1_segments`."""
    for name in names:
        if _split_tier_name(name)[1].strip().lower() in _PHONE_TIER_NAMES:
            return name
    return None


def textgrid_phones_tier(path: Path) -> str | None:
    """`phones_tier` of a TextGrid file's interval tiers; None when it has none or cannot be
    read (the transcript reader then says why)."""
    try:
        tiers, _ = _textgrid_tiers(Path(path), tolerant=False)
    except FormatError:
        return None
    return phones_tier(list(tiers))


# A tier's class and name, in long (`class = "IntervalTier"` / `name = "words"`) and short
# (`"IntervalTier"` / `"words"`) TextGrids alike.
_TIER_NAME_RE = re.compile(r'"(?:IntervalTier|TextTier)"\s*(?:name\s*=\s*)?"((?:[^"]|"")*)"')


def textgrid_tier_names(path: Path) -> list[str]:
    """The tier names of a text TextGrid, read by pattern (no parse: a rerun of a corpus asks
    this of thousands of files); [] when it cannot be read or holds none."""
    try:
        text = decode_text(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError):
        return []
    return [m.group(1).replace('""', '"') for m in _TIER_NAME_RE.finditer(text)]


def is_alignment_textgrid(path: Path) -> bool:
    """Whether a TextGrid holds an alignment as ours and MFA's are (words and phones tiers and
    nothing else, with or without speakers), which a run may replace, and not a transcript of
    utterance tiers (one named `words` too) or a labelled file with tiers of its own, which it
    must not."""
    return alignment_tiers(textgrid_tier_names(path))


def alignment_tiers(names: Sequence[str]) -> bool:
    """Whether tiers of these names are an alignment (`is_alignment_textgrid`)."""
    kinds = [named_kind(n) or ("phones" if phones_tier([n]) else None) for n in names]
    return bool(kinds) and all(kinds) and "phones" in kinds


def named_kind(name: str) -> str | None:
    """'words' or 'phones' for a tier named so, with or without a speaker ('alice - words')."""
    return tier_kind(_split_tier_name(name)[1], tolerant=False)


def _tier_kinds(path: Path, names: Sequence[str], tolerant: bool,
                chosen: TierNames | None = None) -> TierKinds:
    """Which tiers to read, as what. `chosen` (the user's words and phones tier names, "" for
    none) decides when given; else the first tier of a kind per speaker wins, named ones
    (`words`, `alice - words`) before guessed ones (`ORT-MAU`, `x_phn`). Tolerant: two tiers
    with other names are taken as words then phones, and of two tiers one of which is named as
    a kind, the other is the other kind (`Words` and `IPA`) unless its name is of a kind too
    (`words` and `ORT-MAU`); tiers of remarks (`NOTE_TIERS`) are left out first; none found is
    an error (strict: [])."""
    if chosen is not None:
        missing = [n for n in chosen if n and n not in names]
        if missing:
            raise FormatError(f"{path}: no tier named {missing[0]!r} (its tiers: "
                              f"{', '.join(names) or 'none'})")
        return {n: (None, kind) for n, kind in zip(chosen, ("words", "phones")) if n}
    every = list(names)
    if tolerant:  # a transcriber's remarks are neither words nor phones
        names = [n for n in names if not is_note_tier(n)]
    named: TierKinds = {}
    guessed: TierKinds = {}
    for name in names:
        speaker, rest = _split_tier_name(name)
        if tier_kind(rest, tolerant=False) is not None:
            named[name] = (speaker, tier_kind(rest, tolerant=False))
        elif tolerant and tier_kind(name) is not None:
            guessed[name] = (None, tier_kind(name))
    kinds: TierKinds = {}
    for name, key in (*named.items(), *guessed.items()):
        if key not in kinds.values():
            kinds[name] = key
    if tolerant and not kinds and len(names) == 2:
        kinds = dict(zip(names, ((None, "words"), (None, "phones"))))
    elif tolerant and len(names) == 2 and len(kinds) == 1:  # `Words` and `IPA`: the other kind
        ((known, (speaker, kind)),) = kinds.items()
        other = next(n for n in names if n != known)
        if speaker is None and tier_kind(other) is None:
            kinds[other] = (None, "phones" if kind == "words" else "words")
    if tolerant and not kinds:
        raise FormatError(f"{path}: no words or phones tier (tiers: {', '.join(every) or 'none'})")
    return kinds


def _interval(start: object, end: object, label: object, confidence: object = None) -> Interval:
    """A checked Interval: finite numeric times, end not before start. Raises ValueError."""
    if isinstance(start, bool) or isinstance(end, bool):
        raise ValueError("times must be numbers")
    s, e = float(start), float(end)
    if not (math.isfinite(s) and math.isfinite(e)):
        raise ValueError("times must be finite")
    if e < s:
        raise ValueError(f"ends ({e:g}) before it starts ({s:g})")
    conf = None if confidence in (None, "") else float(confidence)
    return Interval(s, e, str(label).strip(), conf)


def _group(tiers: dict[str, list[Interval]], kinds: TierKinds,
           duration: float | None) -> list[Alignment]:
    """Tier intervals -> one Alignment per speaker; labelled intervals only, in time order."""
    ends = [iv.end for ivs in tiers.values() for iv in ivs]
    total = duration if duration is not None else max(ends, default=0.0)
    found: dict[str | None, Alignment] = {}
    for name, (speaker, kind) in kinds.items():
        a = found.setdefault(speaker, Alignment([], [], total, speaker))
        labelled = [iv for iv in tiers.get(name, []) if iv.label]
        getattr(a, kind).extend(sorted(labelled, key=lambda iv: (iv.start, iv.end)))
    return list(found.values())


def read_textgrid(path: Path, tolerant: bool = False,
                  chosen: TierNames | None = None) -> list[Alignment]:
    """An aligned TextGrid back into Alignments (one per speaker). Tolerant: other tools' tier
    names, and files praatio rejects for a flaw such as a zero-length interval go through a
    plain token reader instead of failing. `chosen`: read these tiers (`_tier_kinds`)."""
    tiers, duration = _textgrid_tiers(path, tolerant)
    return _group(tiers, _textgrid_kinds(path, tiers, tolerant, chosen), duration)


def textgrid_tier_choice(path: Path) -> tuple[dict[str, str], list[str]]:
    """({"words": name, "phones": name} that the tolerant reader takes, every interval tier's
    name): what `evaluate` tells the user when a gold TextGrid has tiers with other names."""
    tiers, _ = _textgrid_tiers(path, tolerant=True)
    kinds = _textgrid_kinds(path, tiers, True, None)
    return {kind: name for name, (_, kind) in kinds.items()}, list(tiers)


def _praat_only_textgrid(path: Path) -> str | None:
    """Why a TextGrid in a format only Praat reads is refused (binary, `ooBinaryFile`, or
    chronological, `"Praat chronological TextGrid text file"`), with what to do; None for any
    other file (an unreadable one is left to the reader to report)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(120)
    except OSError:
        return None
    if head.startswith(b"ooBinaryFile"):
        kind, menu = "a binary TextGrid", "Save as binary file"
    elif (head.replace(b"\0", b"").lstrip(b"\xef\xbb\xbf\xfe\xff")  # UTF-8 or UTF-16
          .startswith(b'"Praat chronological TextGrid')):
        kind, menu = "a chronological TextGrid", "Save as chronological text file"
    else:
        return None
    return (f"{path}: {kind} (Praat's \"{menu}\"); open it in Praat and save it with "
            "\"Save as text file\"")


def _textgrid_reason(path: Path, err: BaseException) -> str:
    """Why praatio could not read `path`, in the file's terms where its words are a parser's
    ("list index out of range" for a file that is no TextGrid at all, "Expected field in
    Textgrid missing." for a time written `nan`)."""
    try:
        text = decode_text(Path(path).read_bytes())
    except (OSError, UnicodeError, ValueError):
        return one_line(err)
    if "ooTextFile" not in text[:200] and "xmin" not in text[:2000]:
        return 'it does not start as a TextGrid does, with File type = "ooTextFile"'
    odd = re.search(r"\b(xmin|xmax)\s*=\s*(-?(?:nan|inf)\w*)", text, re.IGNORECASE)
    if odd:
        return f"a time is not a number: {odd.group(1)} = {odd.group(2)}"
    return one_line(err)


def _textgrid_tiers(path: Path, tolerant: bool) -> tuple[dict[str, list[Interval]], float]:
    """Every interval tier of a TextGrid by name, and its duration."""
    from praatio import textgrid  # imported here: praatio is slow to import

    refusal = _praat_only_textgrid(path)
    if refusal:
        raise FormatError(refusal)
    try:
        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False,
                                   duplicateNamesMode="rename", reportingMode="silence")
        tiers = {name: [Interval(float(e.start), float(e.end), str(e.label).strip())
                        for e in tg.getTier(name).entries]
                 for name in tg.tierNames if tg.getTier(name).tierType == "IntervalTier"}
        duration = float(tg.maxTimestamp)
    except Exception as err:  # praatio raises many types for malformed files
        if not tolerant:
            raise FormatError(f"{path}: not a readable TextGrid ({_textgrid_reason(path, err)})"
                              ) from None
        try:
            tiers, duration = _read_textgrid_tokens(Path(path))
        except (OSError, ValueError, IndexError, UnicodeError):
            raise FormatError(f"{path}: not a readable TextGrid ({_textgrid_reason(path, err)})"
                              ) from None
    _require_finite(path, tiers, duration)
    return tiers, duration


def _textgrid_kinds(path: Path, tiers: dict[str, list[Interval]], tolerant: bool,
                    chosen: TierNames | None) -> TierKinds:
    kinds = _tier_kinds(path, list(tiers), tolerant, chosen)
    return _without_sentence_tiers(tiers, kinds) if tolerant and chosen is None else kinds


_TG_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(?<![\w\[])([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w\]])'
                       r"|<(exists|absent)>")


def _read_textgrid_tokens(path: Path) -> tuple[dict[str, list[Interval]], float]:
    """Minimal TextGrid reader (long and short text formats share one value order)."""
    raw = path.read_bytes()
    text = decode_text(raw)
    text = re.sub(r"\[\s*\d+\s*\]", "", text)  # long format's "item [1]", "intervals [3]"
    tokens: list[object] = []
    for m in _TG_TOKEN.finditer(text):
        if m.group(1) is not None:
            tokens.append(m.group(1).replace('""', '"'))
        elif m.group(2) is not None:
            tokens.append(float(m.group(2)))
        else:
            tokens.append("<" + m.group(3) + ">")
    if tokens[:2] != ["ooTextFile", "TextGrid"]:
        raise ValueError("not a text TextGrid")
    duration = float(tokens[3])
    if tokens[4] != "<exists>":
        return {}, duration
    n_tiers, k = int(tokens[5]), 6
    tiers: dict[str, list[Interval]] = {}
    for _ in range(n_tiers):
        kind, name, n = tokens[k], str(tokens[k + 1]), int(tokens[k + 4])
        k += 5
        if kind == "IntervalTier":
            tiers[name] = [Interval(float(tokens[k + 3 * i]), float(tokens[k + 3 * i + 1]),
                                    str(tokens[k + 3 * i + 2]).strip()) for i in range(n)]
            k += 3 * n
        else:
            k += 2 * n
    return tiers, duration


def read_json(path: Path | dict, tolerant: bool = False, chosen: TierNames | None = None
              ) -> list[Alignment]:
    """MFA's JSON (ours) back into Alignments: {"end", "tiers": {name: {"entries": [[start, end,
    label], ...], "confidence": [...]}}} (the confidences optional; earlier versions of ours
    wrote each as a fourth item of its entry, also read). Tolerant: also the plain shape
    {"words": [...], "phones": [...]} whose entries are [label, start, end], [start, end, label] (told apart by which items
    are numbers) or objects {"start", "end", "label"}, and WhisperX's {"segments": [...],
    "word_segments": [...]} (its words; segments of text are not phones and are left out).
    Tolerant lists that are not named as tiers count only when their first entry looks like an
    interval (other JSON, e.g. an emuDB `_annot.json`, is not an alignment). A JSON file with no
    tiers at all raises NotAlignmentError. `chosen`: read these tiers (`_tier_kinds`). `path`
    may also be the JSON already parsed (`to_json_dict`'s dict, a service's request body):
    errors then name `<json>`."""
    if isinstance(path, dict):
        data, path = path, Path("<json>")
    else:
        try:
            data = json.loads(decode_text(Path(path).read_bytes()))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise FormatError(f"{path}: not a readable JSON file ({one_line(err)})") from None
    confidences: dict[str, object] = {}
    if isinstance(data, dict) and isinstance(data.get("tiers"), dict):
        raw = {name: tier.get("entries") if isinstance(tier, dict) else tier
               for name, tier in data["tiers"].items()}
        confidences = {name: tier.get("confidence") for name, tier in data["tiers"].items()
                       if isinstance(tier, dict)}
    elif tolerant and isinstance(data, dict):
        raw = {name: value for name, value in data.items() if isinstance(value, list) and (
            name in (chosen or ()) or tier_kind(name) is not None
            or (value and _looks_like_interval(value[0])))}
    else:
        raise NotAlignmentError(f"{path}: not an alignment JSON file (no \"tiers\" object)")
    if chosen is not None and raw:
        kinds = _tier_kinds(path, list(raw), tolerant, chosen)
    else:
        try:
            kinds = _tier_kinds(path, list(raw), tolerant)
        except FormatError as err:  # lists, but none a words or phones tier: some other JSON
            raise NotAlignmentError(str(err)) from None
    tiers: dict[str, list[Interval]] = {}
    for name in kinds:
        entries = raw[name]
        if not isinstance(entries, list):
            raise FormatError(f"{path}: tier {name!r} is not a list of entries")
        tiers[name] = [_json_entry(path, name, i, e, tolerant) for i, e in enumerate(entries)]
        confidence = confidences.get(name)
        if isinstance(confidence, list) and len(confidence) == len(entries):
            tiers[name] = [Interval(iv.start, iv.end, iv.label, float(c) if _is_number(c) else None)
                           for iv, c in zip(tiers[name], confidence)]
    end = data.get("end")
    duration = float(end) if _is_number(end) else None
    _require_finite(path, tiers, duration)
    if tolerant:
        _refuse_points(path, tiers)
    if chosen is None and tolerant:
        kinds = _without_sentence_tiers(tiers, kinds)
    return _with_saved_checks(_group(tiers, kinds, duration), data)


def _with_saved_checks(alignments: list[Alignment], data: object) -> list[Alignment]:
    """Our JSON's `transcript_fit`, `noise_margin` and `band_edge` (one number, or one per
    speaker), a single recording's `speaker`, `flags` and `unknown_words` back on the speakers
    they were written for: without them a flagged
    alignment read back looks clean, and its fit cannot be judged again as it was."""
    if not isinstance(data, dict) or not isinstance(data.get("tiers"), dict):
        return alignments  # another tool's JSON: it holds neither
    unknown = data.get("unknown_words")
    for a in alignments if isinstance(unknown, dict) else []:  # pooled: each speaker's own words
        said = {w.label for w in a.words}
        a.unknown_words = {word: list(pron) for word, pron in unknown.items()
                           if isinstance(pron, list) and all(isinstance(p, str) for p in pron)
                           and (len(alignments) == 1 or word in said)}
    text = data.get("text")
    for i, a in enumerate(alignments):
        for key in ("transcript_fit", "noise_margin", "band_edge"):
            value = _speaker_value(data.get(key), a, i, len(alignments))
            setattr(a, key, float(value) if _is_number(value) else None)
        value = _speaker_value(text, a, i, len(alignments))
        a.text = value if isinstance(value, str) else None
    if len(alignments) == 1 and isinstance(data.get("speaker"), str) and not alignments[0].speaker:
        alignments[0].speaker = data["speaker"]  # a corpus run's, as its CSV's Speaker column
    flags = data.get("flags")
    for item in flags if isinstance(flags, list) else []:
        flag = _saved_flag(item)
        if flag is None:
            continue
        speaker = item.get("speaker")
        # a flag without a speaker (a corpus run's `add_flag`) is on the whole recording
        owners = [a for a in alignments if speaker is None or a.speaker == speaker]
        for owner in owners if len(alignments) > 1 else alignments:
            owner.flags.append(flag)
    return alignments


def _speaker_value(saved: object, a: Alignment, i: int, speakers: int) -> object:
    """The value `_per_speaker` wrote for alignment `a` (the i-th of `speakers`)."""
    if isinstance(saved, dict):
        return saved.get(a.speaker or f"speaker{i + 1}")
    return saved if speakers == 1 else None


def _saved_flag(item: object):
    """A `checks.Flag` from its `as_dict()` form; None for an entry that is not one."""
    from aligner.checks import Flag

    if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
        return None
    kind, text = item["kind"], str(item.get("message", ""))
    message = text[len(kind) + 2:] if text.startswith(f"{kind}: ") else text
    time = lambda key: float(item[key]) if _is_number(item.get(key)) else None
    return Flag(kind, message, str(item.get("tier") or ""), time("start"), time("end"),
                str(item.get("label") or ""))


def _require_finite(path: Path, tiers: dict[str, list[Interval]], duration: float | None) -> None:
    """Infinite or NaN times (JSON's `1e400` or `NaN`, a TextGrid's `xmax = 1e400`) are a
    broken file, not a recording that never ends (the metrics count its frames)."""
    times = [duration] if duration is not None else []
    times += [t for ivs in tiers.values() for iv in ivs for t in (iv.start, iv.end)]
    bad = next((t for t in times if not math.isfinite(t)), None)
    if bad is not None:
        raise FormatError(f"{path}: times must be finite numbers, got {bad}")


def _without_sentence_tiers(tiers: dict[str, list[Interval]], kinds: TierKinds) -> TierKinds:
    """Leave out a tier taken as phones by a guessed name (WhisperX's `segments`, `x_segments`)
    whose labels contain spaces: it holds sentences or utterances, not phones."""
    is_text = lambda name: any(" " in iv.label.strip() for iv in tiers.get(name, []))
    return {name: (speaker, kind) for name, (speaker, kind) in kinds.items()
            if not (kind == "phones" and tier_kind(_split_tier_name(name)[1], tolerant=False) is None
                    and is_text(name))}


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _looks_like_interval(entry: object) -> bool:
    """[start, end, label], [label, start, end] or an object with start and end keys."""
    if isinstance(entry, dict):
        keys = {k.lower() for k in entry}
        return any(n in keys for n in _CSV_COLUMNS["start"]) and any(n in keys for n in _CSV_COLUMNS["end"])
    return isinstance(entry, list) and len(entry) >= 3 and sum(map(_is_number, entry[:3])) >= 2


def _refuse_points(path: Path, tiers: dict[str, list[Interval]]) -> None:
    """A file whose every entry starts where it ends holds time points (Praat point tiers,
    syllable nuclei), not the intervals of an alignment: NotAlignmentError."""
    entries = [iv for ivs in tiers.values() for iv in ivs]
    if entries and all(iv.end == iv.start for iv in entries):
        raise NotAlignmentError(f"{path}: holds time points (every entry starts where it ends), "
                                "not intervals")


def _json_entry(path: Path, tier: str, index: int, entry: object, tolerant: bool) -> Interval:
    """One JSON tier entry -> Interval, or a FormatError naming the file, tier and entry."""
    where = f"{path}: tier {tier!r} entry {index + 1}"
    try:
        if tolerant and isinstance(entry, dict):
            cols = {k.lower(): v for k, v in entry.items()}
            pick = lambda role: next((cols[n] for n in _CSV_COLUMNS[role] if n in cols), None)
            if pick("start") is None or pick("end") is None or pick("label") is None:
                raise ValueError("an object entry needs start, end and label")
            return _interval(pick("start"), pick("end"), pick("label"), pick("confidence"))
        if isinstance(entry, list) and len(entry) >= 3:
            conf = entry[3] if len(entry) > 3 and _is_number(entry[3]) else None
            if _is_number(entry[0]) and _is_number(entry[1]) and isinstance(entry[2], str):
                return _interval(entry[0], entry[1], entry[2], conf)
            if tolerant and isinstance(entry[0], str) and _is_number(entry[1]) and _is_number(entry[2]):
                return _interval(entry[1], entry[2], entry[0], conf)
        raise ValueError("expected [start, end, label]" + (" or [label, start, end]" if tolerant else "")
                         + f", got {json.dumps(entry, ensure_ascii=False)[:60]}")
    except (TypeError, ValueError) as err:
        raise FormatError(f"{where}: {err}") from None


def read_csv(path: Path, tolerant: bool = False, tier: str | None = None) -> list[Alignment]:
    """Our CSV (`Begin,End,Label,Type,Speaker,Confidence,Flags,Word`) back into Alignments, one per
    speaker. Tolerant: also comma- or tab-separated `start,end,label` rows (or `label,start,end`)
    with or without a header; a file without a Type column holds one tier (`single_tier_kind`)."""
    try:
        text = decode_text(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError) as err:
        raise FormatError(f"{path}: cannot read ({one_line(err)})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    delimiter = "\t" if lines and "\t" in lines[0] else ","
    try:
        rows = [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error as err:  # e.g. a field over the csv module's 131072-character limit
        raise FormatError(f"{path}: not a readable CSV/TSV file ({one_line(err)})") from None
    has_header = bool(rows) and not (_is_float(rows[0][0]) or
                                     (len(rows[0]) > 1 and _is_float(rows[0][1])))
    if not has_header and not tolerant:
        raise NotAlignmentError(f"{path}: not an alignment CSV file (no Begin,End,Label header)")
    columns = _csv_columns(path, rows[0]) if has_header else None
    if has_header and "utterance" in (h.lower() for h in rows[0]):  # corpus_alignments.csv
        raise FormatError(f"{path}: a table of many utterances (an Utterance column, as a corpus "
                          "run's corpus_alignments.csv): give the folder the run wrote, whose "
                          "files hold one utterance each")
    if columns is not None and "tier" not in columns:
        named = rows[0][columns["label"]].lower()
        tier = tier or (tier_kind(named) if named in ("word", "phone", "phoneme") else None)
    body = rows[1:] if has_header else rows
    items: list[tuple[str | None, str | None, Interval]] = []  # (speaker, tier, interval)
    recorded: list[float] = []  # the ends of `recording` rows: the recording's duration
    for number, row in enumerate(body, 2 if has_header else 1):
        try:
            if columns and "tier" in columns and columns["tier"] < len(row) \
                    and row[columns["tier"]].lower() == RECORDING_TYPE:
                recorded.append(_interval(row[columns["start"]], row[columns["end"]], "").end)
                continue  # flags on the whole recording, no interval of a tier
            if columns and "tier" in columns and columns["tier"] < len(row) \
                    and row[columns["tier"]].lower() == SPAN_TYPE:
                continue  # a flag on a stretch of the recording, no interval of a tier
            items.append(_csv_row(row, columns) if columns else (None, None, _plain_row(row)))
        except (ValueError, IndexError) as err:
            raise FormatError(f"{path}:{number}: {err}") from None
    if columns is None or "tier" not in columns:
        kind = single_tier_kind(path, [iv.label for _, _, iv in items], tier)
        items = [(speaker, kind, iv) for speaker, _, iv in items]
    tiers: dict[str, list[Interval]] = {}
    kinds: TierKinds = {}
    for speaker, kind, iv in items:
        name = f"{speaker} - {kind}" if speaker else kind
        kinds.setdefault(name, (speaker, kind))
        tiers.setdefault(name, []).append(iv)
    if tolerant:
        _refuse_points(path, tiers)
    # the recording's end: its `recording` row, else the last row's end, a pause's included (a
    # trailing unlabelled row was dropped, and the silence share left that pause out)
    duration = max(recorded) if recorded else max((iv.end for _, _, iv in items), default=None)
    return [_with_own_duration(a, duration) for a in _group(tiers, kinds, None)]


def _is_float(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _csv_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Role -> column index from a header row; start, end and label are required."""
    low = [h.lower() for h in header]
    columns = {role: low.index(n) for role, names in _CSV_COLUMNS.items()
               for n in reversed(names) if n in low}
    missing = [role for role in ("start", "end", "label") if role not in columns]
    if missing:
        raise NotAlignmentError(f"{path}: header {','.join(header)!r} has no {'/'.join(missing)} "
                          "column (expected e.g. start,end,label)")
    return columns


def _csv_row(row: list[str], columns: dict[str, int]) -> tuple[str | None, str | None, Interval]:
    cell = lambda role: row[columns[role]] if role in columns and columns[role] < len(row) else ""
    kind = None
    if "tier" in columns:
        kind = tier_kind(cell("tier"))
        if kind is None:
            raise ValueError(f"tier {cell('tier')!r} is neither words nor phones")
    iv = _interval(cell("start"), cell("end"), cell("label"), cell("confidence") or None)
    return cell("speaker") or None, kind, iv


def _plain_row(row: list[str]) -> Interval:
    """A headerless row: start,end,label or label,start,end (extra columns ignored)."""
    if len(row) >= 3 and _is_float(row[0]) and _is_float(row[1]):
        return _interval(row[0], row[1], row[2])
    if len(row) >= 3 and _is_float(row[1]) and _is_float(row[2]):
        return _interval(row[1], row[2], row[0])
    raise ValueError(f"expected start,end,label, got {','.join(row)[:60]!r}")


def _with_own_duration(a: Alignment, duration: float | None) -> Alignment:
    """`duration`, the end of the CSV's `recording` row, which spans the whole recording for
    every speaker (only a file with flags on the whole recording has one), or of its last row;
    None: the last interval's end."""
    a.duration = duration if duration is not None else max(
        (iv.end for iv in a.words + a.phones), default=0.0)
    return a


def single_tier_kind(path: Path, labels: Sequence[str], tier: str | None = None) -> str:
    """Which tier a one-tier file (CTM, a plain CSV/TSV) holds: `tier` when given; else what its
    name says (`x.phones.ctm`, `words.tsv`); else phones when every label is a phone symbol
    (ARPAbet or TIMIT, any case or stress, or IPA, narrow marks included: praatio's `mary.csv`),
    words otherwise."""
    if tier is not None:
        return tier
    name = Path(path).name.lower()
    if "phone" in name:
        return "phones"
    if "word" in name:
        return "words"
    from aligner.phone_folding import CMU39, IPA39, SILENCE_LABELS, Folding, clean_phone

    arpabet = lambda label: clean_phone(label) in CMU39 or clean_phone(label) in SILENCE_LABELS
    if labels and all(map(arpabet, labels)):
        return "phones"
    # IPA only with a letter beyond ASCII somewhere: a words tier of "a" and "I" stays words
    ipa = Folding(IPA39, case_sensitive=True)
    is_ipa = lambda label: arpabet(label) or ipa.fold_label(label) in IPA39.values()
    beyond_ascii = any(not label.isascii() for label in labels)
    return "phones" if labels and beyond_ascii and all(map(is_ipa, labels)) else "words"


def read_ctm(path: Path) -> dict[str, list[Interval]]:
    """`<utt> <channel> <start> <duration> <token> [<confidence>]` lines, grouped by utterance id
    (`;;` and `#` lines are comments). End times are start + duration, rounded to 1 us."""
    out: dict[str, list[Interval]] = {}
    try:
        lines = decode_text(Path(path).read_bytes()).splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise FormatError(f"{path}: cannot read ({one_line(err)})") from None
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith((";;", "#")):
            continue
        if len(parts) < 5:
            raise FormatError(f"{path}:{number}: expected '<utt> <channel> <start> <duration> "
                              "<token> [<confidence>]'")
        try:
            start, duration = float(parts[2]), float(parts[3])
            iv = _interval(start, round(start + duration, 6), parts[4],
                           parts[5] if len(parts) > 5 else None)
        except ValueError as err:
            raise FormatError(f"{path}:{number}: start/duration/confidence: {err}") from None
        out.setdefault(parts[0], []).append(iv)
    return out


def read_alignment(path: Path, tier: str | None = None) -> Alignment:
    """Any tool's alignment file (TextGrid, JSON, CSV/TSV or CTM, told by its suffix) in the
    tolerant mode, as one Alignment: every speaker's tiers, and a CTM's every utterance, pooled in
    time order, which is what scoring against gold compares. `tier` as in `read_utterances`."""
    return pool_speakers(list(read_utterances(path, tier).values()))


def read_utterances(path: Path, tier: str | None = None,
                    chosen: TierNames | None = None) -> dict[str | None, Alignment]:
    """`read_alignment` per utterance: {None: the file's alignment}, or {utterance id: alignment}
    for a CTM that holds several. `tier` says which tier a one-tier file (CTM, plain CSV/TSV)
    holds (default: `single_tier_kind`'s guess). Raises FormatError (NotAlignmentError for a JSON
    or CSV/TSV file that holds no alignment) naming the file and the formats that are read; the
    message names `evaluate`, the command that users meet this reader in. `chosen`: the words
    and phones tiers to read from a TextGrid or JSON file, by name."""
    try:
        return _read_by_suffix(Path(path), tier, chosen)
    except NotAlignmentError as err:
        raise NotAlignmentError(f"{err}; evaluate reads {ACCEPTED}") from None
    except FormatError as err:
        raise FormatError(f"{err}; evaluate reads {ACCEPTED}") from None


def _read_by_suffix(path: Path, tier: str | None,
                    chosen: TierNames | None = None) -> dict[str | None, Alignment]:
    """The tolerant reader of the file's format; every speaker's tiers pooled. A time before
    0 is a FormatError: nothing of a recording lies there."""
    utterances = _read_any(path, tier, chosen)
    early = min((iv.start for a in utterances.values() for iv in (*a.words, *a.phones)),
                default=0.0)
    if early < -NEGATIVE_SLACK:  # scored, an entry at -0.5 s was matched as any other
        raise FormatError(f"{path}: times must not be negative, got {early:g}")
    return utterances


NEGATIVE_SLACK = 0.0005  # s: a time written as -0.0001 by another tool's rounding is zero


def _read_any(path: Path, tier: str | None,
              chosen: TierNames | None) -> dict[str | None, Alignment]:
    suffix = path.suffix.lower()
    if suffix == ".ctm":
        return _ctm_utterances(path, tier)
    if suffix == ".textgrid":
        found = read_textgrid(path, tolerant=True, chosen=chosen)
    elif suffix == ".json":
        found = read_json(path, tolerant=True, chosen=chosen)
    elif suffix in (".csv", ".tsv"):
        found = read_csv(path, tolerant=True, tier=tier)
    else:
        raise FormatError(f"{path}: not a TextGrid, JSON, CSV/TSV or CTM file")
    return {None: pool_speakers(found)}


def _ctm_utterances(path: Path, tier: str | None) -> dict[str | None, Alignment]:
    """A CTM's utterances as Alignments of its one tier (the same for all: a CTM file holds
    either words or phones), each lasting to its last token."""
    utts = read_ctm(path)
    kind = single_tier_kind(path, [iv.label for ivs in utts.values() for iv in ivs], tier)
    single = lambda ivs: Alignment(**{"words": [], "phones": [], kind: ivs},
                                   duration=max((iv.end for iv in ivs), default=0.0))
    if len(utts) <= 1:
        return {None: single(next(iter(utts.values()), []))}
    return {utt: single(ivs) for utt, ivs in utts.items()}


def pool_speakers(alignments: Sequence[Alignment]) -> Alignment:
    """Several speakers' tiers as one Alignment, in time order."""
    order = lambda ivs: sorted(ivs, key=lambda iv: (iv.start, iv.end))
    return Alignment(words=order([w for a in alignments for w in a.words]),
                     phones=order([p for a in alignments for p in a.phones]),
                     duration=max((a.duration for a in alignments), default=0.0))


NOT_TRANSCRIPTS = (".json", ".csv", ".tsv", ".ctm", ".srt", ".vtt")  # what aligners write
# Annotation tools' own files: XML, whose tags were aligned as words. Praat TextGrids are read.
ANNOTATION_FILES = {".eaf": "ELAN (File > Export As > Praat TextGrid)",
                    ".trs": "Transcriber (File > Export > TextGrid)",
                    ".exb": "EXMARaLDA (File > Export > Praat export)",
                    ".xml": "the tool that wrote it"}


_XML_ATTRIBUTE_RE = re.compile(r"\s*<[A-Za-z_][\w:.-]*\s+[\w:.-]+\s*=\s*[\"']")
_XML_CLOSING_RE = re.compile(r"</([A-Za-z_][\w:.-]*)\s*>")


def _looks_like_xml(text: str) -> bool:
    """An XML document: its declaration, or without one an element with attributes opening it
    (`<ANNOTATION_DOCUMENT AUTHOR="...">`, `<Trans scribe="...">`) or two kinds of element
    closed. Markup in a transcript does neither (`<unk> hello`, Kaldi's `<s> hello </s>`)."""
    return (text.lstrip().startswith("<?xml") or _XML_ATTRIBUTE_RE.match(text) is not None
            or len(set(_XML_CLOSING_RE.findall(text))) >= 2)


def read_transcript_file(path: Path) -> list[Segment]:
    """A transcript file's utterances, as `align` and `validate` both read it: a TextGrid's
    utterance intervals, a CHAT file's main tiers (`aligner/chat.py`), else the whole text as
    one. Raises TranscriptError or FormatError
    naming the file for what is no transcript: an alignment, subtitles, an annotation tool's
    XML (its tags were aligned as words), audio."""
    from aligner.audio import AUDIO_EXTENSIONS
    from aligner.text.errors import TranscriptError
    from aligner.text.frontend import html_refusal, read_transcript

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".textgrid":
        return read_transcript_textgrid(path)
    if suffix in NOT_TRANSCRIPTS:
        raise TranscriptError(f"{path}: a {path.suffix} file is read as an alignment or "
                              "subtitles, not a transcript; give the words as a .txt or .lab "
                              "file, or a TextGrid of utterance intervals (a table of many "
                              "recordings' sentences needs one .txt per recording: "
                              "docs/usage.md, corpus layout)")
    if suffix in ANNOTATION_FILES:
        raise TranscriptError(f"{path}: a {path.suffix} annotation file is not read; export "
                              f"its tiers as a Praat TextGrid from {ANNOTATION_FILES[suffix]} "
                              "and give that")
    if suffix in AUDIO_EXTENSIONS:
        raise TranscriptError(f"{path}: is an audio file, not a transcript; give the words "
                              "as a .txt or .lab file, or a TextGrid")
    text = read_transcript(path)
    refusal = html_refusal(text)  # before XML: a web page's <b> and <i> are not a document
    if refusal:
        raise TranscriptError(f"{path}: {refusal}")
    if _looks_like_xml(text):
        raise TranscriptError(f"{path}: holds XML, not a transcript; export its words as "
                              "plain text or a Praat TextGrid")
    return text_segments(text, str(path), chat=suffix == ".cha")


def text_segments(text: str, source: str, chat: bool = False) -> list[Segment]:
    """A transcript's text as utterances: a CHAT file's main tiers (`aligner/chat.py`; `chat`:
    read as CHAT whatever it looks like), else the whole text as one. TranscriptError naming
    `source` for CHAT with no speech. A file's text and `text=` alike: CHAT given as a string
    had its headers and %mor tiers aligned as words."""
    from aligner.chat import is_chat_file, read_chat
    from aligner.text.errors import TranscriptError

    if not (chat or is_chat_file(text)):
        return [Segment(text, source)]
    segments = read_chat(text, source)
    if not segments:
        raise TranscriptError(f"{source}: a CHAT file whose main tiers (*PAR: ...) hold no "
                              "speech: nothing to align")
    return segments


# Whole-interval labels of a transcript TextGrid that are no utterance: pauses as tools write
# them (Praat's "To TextGrid (silences)" labels `silent` and `sounding`, and people type their
# sentences over the `sounding` ones; a `sounding` left as it is was not transcribed)
NOT_UTTERANCES = frozenset({"silent", "sounding", "sil", "silence", "sp", "<sil>", "<p:>", "pause"})


def read_transcript_textgrid(path: Path) -> list[Segment]:
    """Utterance intervals of a transcript TextGrid: one tier per speaker, each non-empty interval
    one utterance to align inside its own time span, named "<path> [<speaker> <start>s]".
    Intervals labelled as pauses (`NOT_UTTERANCES`) are left out as empty ones are, and so is a
    tier of remarks (`NOTE_TIERS`: `notes`, `comments`) beside other tiers."""
    from praatio import textgrid

    from praatio.utilities.errors import DuplicateTierName

    refusal = _praat_only_textgrid(path)
    if refusal:
        raise FormatError(refusal)
    try:
        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False, reportingMode="silence")
    except DuplicateTierName as err:  # praatio's own advice names an argument of its API
        found = re.search(r"name '(.*?)'", str(err))
        named = f"named {found.group(1)!r}" if found else "of one name"
        raise FormatError(f"{path}: two tiers {named}: each speaker's tier needs a name of its "
                          "own (rename one in Praat)") from None
    except Exception as err:
        raise FormatError(f"{path}: not a readable TextGrid ({_textgrid_reason(path, err)})"
                          ) from None
    # an empty tier says nothing: Praat's "To TextGrid: words phones" template, words typed in
    labelled = [n for n in tg.tierNames if any(e.label.strip() for e in tg.getTier(n).entries)]
    kinds = {named_kind(n) for n in labelled}
    phones = phones_tier(labelled)
    if {"words", "phones"} <= kinds or phones is not None:  # an alignment handed in as the input
        what = "words and phones tiers" if {"words", "phones"} <= kinds else f"a phones tier, {phones!r}"
        raise FormatError(f"{path}: this TextGrid is an alignment ({what}), not a transcript; "
                          "give its words as a .txt or .lab file, or a TextGrid with one tier of "
                          "utterance intervals per speaker")
    segments: list[Segment] = []
    remarks: list[Segment] = []
    for name in tg.tierNames:
        tier = tg.getTier(name)
        if getattr(tier, "tierType", "IntervalTier") != "IntervalTier":
            continue
        for e in tier.entries:
            if e.label.strip() and e.label.strip().lower() not in NOT_UTTERANCES:
                start = float(e.start)
                (remarks if is_note_tier(name) else segments).append(
                    Segment(e.label.strip(), f"{path} [{name} {start:.2f}s]", name, start,
                            float(e.end)))
    # a transcriber's remarks beside the speakers' utterances are no one's speech (aligned as a
    # speaker, they overlapped the others' turns with words nobody said); alone, they are
    # what there is to align
    segments = segments or remarks
    if not segments:
        raise FormatError(f"{path}: the TextGrid has no non-empty utterance intervals")
    return segments
