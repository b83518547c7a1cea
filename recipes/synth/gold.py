"""Gold word and phone intervals from an engine's segment list, and the TextGrid writer.

Pure functions (no engines, no audio): an engine reports segments (its phone symbol, start, end,
index of the spoken word or -1 for a pause); here they become ARPAbet phones and the user's
tokens, with silence as empty intervals and both tiers covering the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .phonemap import to_arpabet


@dataclass
class Segment:
    """One engine phone: `word` is the index of the spoken word it belongs to, -1 for a pause."""
    phone: str
    start: float
    end: float
    word: int


@dataclass
class Interval:
    start: float
    end: float
    label: str


def map_segments(segments: list[Segment], table: str) -> list[Segment]:
    """Engine phones -> ARPAbet segments; pauses get phone '' and word -1; fused phones split
    their duration evenly. Raises phonemap.UnmappedPhone for an unknown symbol."""
    out: list[Segment] = []
    for s in segments:
        arpa = to_arpabet(table, s.phone)
        if not arpa:
            out.append(Segment("", s.start, s.end, -1))
            continue
        step = (s.end - s.start) / len(arpa)
        for i, p in enumerate(arpa):
            out.append(Segment(p, s.start + i * step, s.start + (i + 1) * step, s.word))
    return out


def shift_scale(segments: list[Segment], offset: float = 0.0, scale: float = 1.0) -> list[Segment]:
    """t -> t * scale + offset for every boundary (rate change, padding, bias correction)."""
    return [Segment(s.phone, s.start * scale + offset, s.end * scale + offset, s.word)
            for s in segments]


def _fill_gaps(items: list[Interval], duration: float) -> list[Interval]:
    """Sort, clip to [0, duration], drop zero-width, fill gaps with '' and merge adjacent ''."""
    out: list[Interval] = []
    t = 0.0
    for it in sorted(items, key=lambda i: i.start):
        start = max(it.start, t, 0.0)
        end = min(it.end, duration)
        if end - start < 1e-4:
            continue
        if start > t + 1e-9:
            out.append(Interval(t, start, ""))
        out.append(Interval(start, end, it.label))
        t = end
    if duration > t + 1e-9:
        out.append(Interval(t, duration, ""))
    merged: list[Interval] = []
    for it in out:
        if merged and it.label == "" and merged[-1].label == "":
            merged[-1].end = it.end
        else:
            merged.append(it)
    return merged


def build_tiers(segments: list[Segment], word_to_token: list[int], tokens: list[str],
                duration: float) -> tuple[list[Interval], list[Interval]]:
    """ARPAbet segments -> (words tier, phones tier), each covering [0, duration].

    A token spoken as several words ("1999" -> nineteen ninety nine) is one interval from its
    first phone's start to its last phone's end; a pause inside it is part of it (a person
    would not split a token). Tokens with no phones (should not happen) are left out.
    """
    phones = [Interval(s.start, s.end, s.phone) for s in segments if s.phone]
    spans: dict[int, list[float]] = {}
    for s in segments:
        if not s.phone or s.word < 0:
            continue
        tok = word_to_token[s.word]
        span = spans.setdefault(tok, [s.start, s.end])
        span[0] = min(span[0], s.start)
        span[1] = max(span[1], s.end)
    words = [Interval(a, b, tokens[t]) for t, (a, b) in sorted(spans.items())]
    return _fill_gaps(words, duration), _fill_gaps(phones, duration)


def _esc(label: str) -> str:
    return label.replace('"', '""')


def textgrid_text(tiers: dict[str, list[Interval]], duration: float) -> str:
    """Praat long-format TextGrid, times rounded to 0.1 ms."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             "xmin = 0", f"xmax = {duration:.4f}", "tiers? <exists>", f"size = {len(tiers)}",
             "item []:"]
    for n, (name, ivs) in enumerate(tiers.items(), 1):
        lines += [f"    item [{n}]:", '        class = "IntervalTier"', f'        name = "{name}"',
                  "        xmin = 0", f"        xmax = {duration:.4f}",
                  f"        intervals: size = {len(ivs)}"]
        for k, iv in enumerate(ivs, 1):
            lines += [f"        intervals [{k}]:", f"            xmin = {iv.start:.4f}",
                      f"            xmax = {iv.end:.4f}", f'            text = "{_esc(iv.label)}"']
    return "\n".join(lines) + "\n"


def write_textgrid(path: Path, words: list[Interval], phones: list[Interval],
                   duration: float) -> None:
    """Write the gold TextGrid with tiers 'words' then 'phones'. Times are snapped so the last
    interval ends exactly at xmax."""
    path.write_text(textgrid_text({"words": words, "phones": phones}, duration), encoding="utf-8")
