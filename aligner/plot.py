"""Draw one alignment for checking by eye: waveform, spectrogram, word and phone tiers, word
confidence and (for OTTC models) the frame weights.

Phoneticians judge boundaries against the waveform and the spectrogram, so every panel of a row
shares one time axis and the word boundaries are drawn across the signal panels. Labels must be
readable, so the time scale is fixed (`ROW_SECONDS` of audio across the page width): a long
recording is cut into rows, at pauses or word boundaries, stacked `ROWS_PER_PAGE` to a PNG, and
further pages go beside the first (`x.png`, `x.page2.png`, ...). Within a tier every label is
placed without overlapping another: in its box, smaller, staggered above or below, rotated or
abbreviated; a label that still finds no room is counted in the page title.

Grey levels and the waveform scale are fixed for the whole recording (its loudest point), not per
row or per `--start/--end` window, so two pictures of one file can be compared. The signal is
reduced to about one value per pixel column before drawing (min/max envelope, STFT hop grown
with the row), so the cost depends on the pictures, not on the file.

matplotlib is an optional extra: it is imported inside the functions that draw, so importing
this module (as the corpus command does for `--plots`) never needs it. Figures are built on
`matplotlib.figure.Figure` with the Agg canvas, never through pyplot, so nothing leaks into a
global figure registry and the code is safe in a long-running corpus loop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from aligner.alignment import FRAME_SECONDS, Alignment, Interval, mean_word_confidence
from aligner.checks import Thresholds

# Figure geometry, in inches at `dpi`: WIDTH_IN * dpi pixels wide; see `image_size` for the height.
WIDTH_IN = 14.0
DPI = 100
_PANELS_IN = {"wave": 1.1, "spec": 2.0, "words": 0.8, "phones": 0.65, "alpha": 0.9}
_TOP_IN = 0.45  # title
_ROW_GAP_IN = 0.42  # between rows: the time labels of the row above
_BOTTOM_IN = 0.5  # time labels and axis label of the last row
_CAPTION_LINE_IN = 0.17  # the key under the rows, one line of small text
_LEFT_IN = 1.05
_RIGHT_IN = 0.25

# Seconds of audio across the plot width: 254 pixels per second at the default size, so a
# 40 ms phone is 10 pixels wide and a 300 ms word 76. A window up to `_ONE_ROW_SLACK` times
# longer is drawn as one row rather than a full row and a stub.
ROW_SECONDS = 5.0
ROWS_PER_PAGE = 6
# The shortest row asked for (0 aside): shorter rows draw a few phones across a whole page and
# multiply pages (0.001 s rows would make 4000 pages of a 25 s file).
MIN_ROW_SECONDS = 0.5
_ONE_ROW_SLACK = 1.25
_MIN_ROW_FRACTION = 0.85  # a row is cut at a pause or word boundary in its last 15%
_PAUSE_S = 0.15  # a gap between words this long is a pause: the best place to end a row

# Label sizes in points, tried largest first; below _MIN_FONT text is no longer readable at 100 dpi.
_WORD_FONT = 9.0
_PHONE_FONT = 8.5
_MIN_FONT = 6.5
_PAD_PX = 2.0  # clearance between a label and its box edge or another label

# Above these counts in a row, boundary lines over the signal panels would hide the signal.
_MAX_BOUNDARY_LINES = 400
# Spectrogram: 25 ms Hann window (the usual "wide-band" analysis for segment boundaries), up to
# 8 kHz, greys over 70 dB below the recording's loudest cell (Praat's default range).
_SPEC_WINDOW_S = 0.025
_SPEC_MAX_HZ = 8000.0
_SPEC_DYNAMIC_RANGE_DB = 70.0

_BOUNDARY_BLUE = (0.10, 0.25, 0.75)
_PAUSE_GREY = (0.93, 0.93, 0.93, 1.0)
_NO_CONFIDENCE = (0.80, 0.86, 0.95, 1.0)
_PHONE_FACE = (0.86, 0.90, 0.97, 1.0)
_FLAG_INK = (0.1, 0.1, 0.1, 1.0)  # a flag's bar: apart from every confidence colour
_ALPHA_PURPLE = (0.55, 0.10, 0.55)


class PlotError(ValueError):
    """A plot cannot be drawn (bad window, bad samples, matplotlib missing): one-line message."""


class Window(NamedTuple):
    start: float
    end: float


def resolve_window(duration: float, start: float | None, end: float | None) -> Window:
    """The time window to draw, clipped to the recording.

    `None` means the start or end of the recording. A window that lies wholly outside the
    recording or is empty is an error rather than a blank picture.
    """
    if not math.isfinite(duration) or duration <= 0:
        raise PlotError(f"nothing to plot: the recording lasts {duration!r} s")
    s = 0.0 if start is None else float(start)
    e = duration if end is None else float(end)
    if not (math.isfinite(s) and math.isfinite(e)):
        bad = " and ".join(f"--{name} {value}" for name, value in (("start", s), ("end", e))
                           if not math.isfinite(value))
        raise PlotError(f"window {bad}: give finite times in seconds")
    if s < 0:
        raise PlotError(f"--start {s:g} s is negative")
    if s >= duration:
        raise PlotError(f"--start {s:g} s is past the end of the recording ({duration:.3f} s)")
    if e <= s:
        raise PlotError(f"--end {e:g} s must be after --start {s:g} s")
    return Window(s, min(e, duration))


def layout_rows(alignments: Sequence[Alignment], window: Window,
                row_seconds: float | None = ROW_SECONDS) -> list[Window]:
    """Cut `window` into rows of at most `row_seconds`, each drawn at the same time scale.

    A row ends in its last 15%: in the middle of the latest pause (at least `_PAUSE_S`)
    there, else at the latest boundary between words, so that words are rarely split between
    rows (only where no word ends in that stretch). Every row but the last is thus at least
    85% full, and 25 s fit on one page of six rows.
    `row_seconds` None or 0 draws the whole window as one row (labels that do not fit at that
    scale are then counted as not shown).
    """
    span = window.end - window.start
    if not row_seconds or span <= row_seconds * _ONE_ROW_SLACK:
        return [window]
    cuts = _cut_candidates(alignments)
    rows, s = [], window.start
    while window.end - s > row_seconds:
        lo, hi = s + _MIN_ROW_FRACTION * row_seconds, s + row_seconds
        cut = max(((gap >= _PAUSE_S, t) for t, gap in cuts if lo < t <= hi),
                  default=(False, hi))[1]
        rows.append(Window(s, cut))
        s = cut
    rows.append(Window(s, window.end))
    return rows


def _cut_candidates(alignments: Sequence[Alignment]) -> list[tuple[float, float]]:
    """(time, pause length) of every point no word of any speaker spans: the middle of each
    pause, and each boundary between touching words (pause length 0)."""
    spans = sorted((iv.start, iv.end) for a in alignments for iv in a.words if iv.label)
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:  # overlapping words (several speakers): one block
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [((a[1] + b[0]) / 2, b[0] - a[1]) for a, b in zip(merged, merged[1:])]


def row_seconds_problem(row_seconds: float | None) -> str:
    """Why `row_seconds` cannot be used ("" when it can): None or 0 is one row, else at least
    `MIN_ROW_SECONDS`."""
    if row_seconds is None or row_seconds == 0:
        return ""
    if math.isfinite(row_seconds) and row_seconds >= MIN_ROW_SECONDS:
        return ""
    return (f"--row-seconds must be 0 (one row) or at least {MIN_ROW_SECONDS:g} s, "
            f"got {row_seconds:g}")


def output_problem(out_path: Path) -> str:
    """Why `out_path` cannot take a plot ("" when it can): the pages are PNG, and a PNG named
    `p.txt` or `p.pdf` is a file no program opens as what its name says."""
    suffix = Path(out_path).suffix
    if suffix.lower() == ".png":
        return ""
    said = f"suffix {suffix!r}" if suffix else "no suffix"
    return f"-o {out_path}: plots are PNG pictures, got {said}; name a file ending in .png"


def page_paths(out_path: Path, pages: int) -> list[Path]:
    """Where each page goes: the first at `out_path` (so corpus mode and scripts find it where
    they expect), then `<stem>.page2<suffix>`, `<stem>.page3<suffix>`, ... beside it."""
    out_path = Path(out_path)
    return [out_path] + [out_path.with_name(f"{out_path.stem}.page{n}{out_path.suffix}")
                         for n in range(2, pages + 1)]


def waveform_envelope(
    samples: np.ndarray, sample_rate: int, window: Window, columns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, low, high) of the signal in `window`, at most `columns` points.

    Each point is the min and max of the samples it covers, so peaks survive the reduction
    (plain decimation would drop them and alias). Short windows keep every sample.
    """
    i0 = max(0, int(math.floor(window.start * sample_rate)))
    i1 = min(len(samples), int(math.ceil(window.end * sample_rate)))
    seg = np.asarray(samples[i0:i1], dtype=np.float32)
    if seg.size == 0:
        t = np.array([window.start, window.end])
        return t, np.zeros(2, np.float32), np.zeros(2, np.float32)
    if seg.size <= columns:
        t = (i0 + np.arange(seg.size)) / sample_rate
        return t, seg, seg
    per = int(math.ceil(seg.size / columns))
    n = seg.size // per
    body = seg[: n * per].reshape(n, per)
    low, high = body.min(axis=1), body.max(axis=1)
    if seg.size > n * per:  # the ragged tail keeps its own column
        low = np.append(low, seg[n * per :].min())
        high = np.append(high, seg[n * per :].max())
    t = (i0 + per * (np.arange(low.size) + 0.5)) / sample_rate
    return t, low, high


def spectrogram(
    samples: np.ndarray, sample_rate: int, window: Window, max_columns: int = 2000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times [F], frequencies [K], power in dB [K, F]) of the signal in `window`.

    A 25 ms Hann window with a hop of 5 ms, grown for long windows so that at most
    `max_columns` frames are computed: the cost depends on the picture, not on the file.
    Frequencies stop at 8 kHz (or Nyquist). The power is absolute (dB of the squared
    magnitude): the picture maps it to greys with one range for the whole recording
    (`spectrogram_range`), so windows and rows keep the same contrast.
    """
    n_win = max(16, int(round(_SPEC_WINDOW_S * sample_rate)))
    n_fft = 1 << (n_win - 1).bit_length()
    span = (window.end - window.start) * sample_rate
    hop = max(int(round(0.005 * sample_rate)), int(math.ceil(span / max_columns)))
    # Frame centres from the window start, every hop, up to the window end.
    centres = np.arange(int(round(window.start * sample_rate)), int(round(window.end * sample_rate)), hop)
    if centres.size == 0:
        centres = np.array([int(round(window.start * sample_rate))])
    half = n_win // 2
    x = np.asarray(samples, dtype=np.float32)
    # Gather each frame's samples by index with zero padding outside the recording, which
    # avoids copying the whole (possibly hour-long) signal to pad it.
    idx = centres[:, None] - half + np.arange(n_win)[None, :]
    valid = (idx >= 0) & (idx < x.size)
    frames = np.where(valid, x[np.clip(idx, 0, max(x.size - 1, 0))] if x.size else 0.0, 0.0)
    frames = frames * np.hanning(n_win).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2  # [F, n_fft // 2 + 1]
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    keep = freqs <= min(_SPEC_MAX_HZ, sample_rate / 2)
    db = 10.0 * np.log10(power[:, keep].T + 1e-12)
    return centres / sample_rate, freqs[keep], db


def spectrogram_range(samples: np.ndarray, sample_rate: int,
                      chunk_s: float = 30.0) -> tuple[float, float]:
    """(loudest cell in dB, highest frequency worth drawing in Hz) over the whole recording.

    The loudest cell is drawn black and 70 dB below it white, on every row and in every
    `--start/--end` window, so the contrast never jumps. Frequencies where nothing reaches the
    white floor anywhere in the recording (above 4 kHz in a telephone recording resampled to
    16 kHz) are not drawn: the top is rounded up to a whole kHz, at least 4 kHz. Frames every
    half window (the peak is within about a dB of the 5 ms frames' peak), in chunks, so an
    hour-long file costs a few seconds and little memory.
    """
    duration = len(samples) / sample_rate
    hop_columns = int(chunk_s / (_SPEC_WINDOW_S / 2))
    band_max = None
    freqs = np.zeros(1)
    t = 0.0
    while t < duration or band_max is None:
        _, freqs, db = spectrogram(samples, sample_rate, Window(t, min(t + chunk_s, duration)),
                                   max_columns=hop_columns)
        peak = db.max(axis=1)
        band_max = peak if band_max is None else np.maximum(band_max, peak)
        t += chunk_s
    top = float(band_max.max())
    audible = freqs[band_max > top - _SPEC_DYNAMIC_RANGE_DB]
    highest = float(audible.max()) if audible.size else float(freqs[-1])
    max_hz = min(float(freqs[-1]), max(4000.0, 1000.0 * math.ceil(highest / 1000.0)))
    return top, max_hz


def image_size(alignment: Alignment | Sequence[Alignment], rows: int = 1,
               dpi: int = DPI) -> tuple[int, int]:
    """(width, height) in pixels of a page of `rows` rows that `plot_alignment` writes.

    Each speaker adds a words and a phones tier to every row; the frame-weight panel is drawn
    only for a single alignment that carries frame weights (OTTC models); flags on stretches of
    the recording add a caption line (`flagged_spans`). The first page of a
    long recording has `ROWS_PER_PAGE` rows; `Layout.pages` gives the rows of each page.
    """
    alignments = _as_list(alignment)
    return (round(WIDTH_IN * dpi),
            round(_figure_height_in(_panels(alignments), rows, _any_flagged(alignments)) * dpi))


def plot_path(base: Path) -> Path:
    """Where corpus mode puts an utterance's picture: beside its TextGrid, `<base>.png` (further
    pages of a long recording beside it, see `page_paths`)."""
    return base.parent / (base.name + ".png")


def _as_list(alignment: Alignment | Sequence[Alignment]) -> list[Alignment]:
    return [alignment] if isinstance(alignment, Alignment) else list(alignment)


def _has_alpha(alignments: list[Alignment]) -> bool:
    return len(alignments) == 1 and alignments[0].alpha is not None and len(alignments[0].alpha) > 0


def _panels(alignments: list[Alignment]) -> list[tuple[str, int]]:
    """(kind, speaker index) per panel of a row, top to bottom."""
    panels = [("wave", -1), ("spec", -1)]
    for i in range(len(alignments)):
        panels += [("words", i), ("phones", i)]
    return panels + [("alpha", 0)] if _has_alpha(alignments) else panels


def _row_height_in(panels: list[tuple[str, int]]) -> float:
    return sum(_PANELS_IN[kind] for kind, _ in panels)


def _caption_lines(panels: list[tuple[str, int]], flagged: bool = False) -> int:
    return 3 + (2 if ("alpha", 0) in panels else 0) + flagged


def _figure_height_in(panels: list[tuple[str, int]], rows: int, flagged: bool = False) -> float:
    return (_TOP_IN + rows * _row_height_in(panels) + (rows - 1) * _ROW_GAP_IN + _BOTTOM_IN
            + _caption_lines(panels, flagged) * _CAPTION_LINE_IN)


def _any_flagged(alignments: list[Alignment]) -> bool:
    """Whether a flag refers to a stretch (`flagged_spans`): its bar needs a caption line."""
    return any(flagged_spans(a.flags) for a in alignments)


def _speaking_in(alignments: list[Alignment], window: Window) -> list[Alignment]:
    """The speakers with a word or phone in `window` (all of them when none has): in a window
    of a long multi-speaker recording, empty tiers of the others would take most of the page."""
    speaking = [a for a in alignments
                if any(iv.label for iv in _overlapping(a.words + a.phones, window))]
    return speaking or alignments


def _overlapping(intervals: list[Interval], window: Window) -> list[Interval]:
    return [iv for iv in intervals if iv.end > window.start and iv.start < window.end]


@dataclass
class Layout:
    """What every page of one picture shares, computed once: the rows, the time scale, and the
    grey and waveform scales of the whole recording. `plot_alignment` draws it page by page."""

    samples: np.ndarray
    sample_rate: int
    alignments: list[Alignment]
    window: Window
    rows: list[Window]
    row_span: float  # seconds across the plot width, the same on every row
    wave_peak: float  # the recording's largest absolute sample
    spec_top_db: float  # the recording's loudest spectrogram cell: black; 70 dB below: white
    spec_max_hz: float
    alpha_top: float  # the frame-weight axis' upper limit, the same on every row
    heading: str
    flag_spans: list[list[tuple[float, float, str]]]  # per alignment (`flagged_spans`)

    @property
    def pages(self) -> list[list[Window]]:
        return [self.rows[i:i + ROWS_PER_PAGE] for i in range(0, len(self.rows), ROWS_PER_PAGE)]


def layout(audio: np.ndarray, sample_rate: int, alignment: Alignment | Sequence[Alignment],
           start: float | None = None, end: float | None = None,
           row_seconds: float | None = ROW_SECONDS, heading: str = "") -> Layout:
    """Check the inputs and plan the picture; raises PlotError with a one-line message."""
    samples = np.asarray(audio)
    if samples.ndim != 1:
        raise PlotError(f"audio must be mono samples (1-D), got shape {samples.shape}")
    if sample_rate <= 0:
        raise PlotError(f"sample rate must be positive, got {sample_rate}")
    if problem := row_seconds_problem(row_seconds):
        raise PlotError(problem)
    alignments = _as_list(alignment)
    if not alignments:
        raise PlotError("nothing to plot: no alignment given")
    duration = max([samples.size / sample_rate] + [a.duration for a in alignments])
    window = resolve_window(duration, start, end)
    alignments = _speaking_in(alignments, window)
    rows = layout_rows(alignments, window, row_seconds)
    row_span = max(r.end - r.start for r in rows) if len(rows) == 1 else float(row_seconds)
    wave_peak = float(np.abs(samples).max(initial=0.0))
    top_db, max_hz = spectrogram_range(samples, sample_rate)
    alpha_top = 1.5
    if _has_alpha(alignments):
        rel = np.asarray(alignments[0].alpha, dtype=np.float64) * len(alignments[0].alpha)
        alpha_top = max(1.5, 1.1 * float(rel.max()))
    return Layout(samples, sample_rate, alignments, window, rows, row_span, wave_peak, top_db,
                  max_hz, alpha_top, heading, [flagged_spans(a.flags) for a in alignments])


def plot_alignment(audio: np.ndarray, sample_rate: int,
                   alignment: Alignment | Sequence[Alignment], out_path: Path,
                   start: float | None = None, end: float | None = None,
                   title: str | None = None, dpi: int = DPI,
                   row_seconds: float | None = ROW_SECONDS) -> list[Path]:
    """Write PNG pages of `alignment` over `audio` (mono samples at `sample_rate`); return their
    paths, `out_path` first.

    `alignment` may be a list (one per speaker, as `Aligner.align_speakers` returns): each
    speaker gets its own words and phones tiers. `start`/`end` (seconds) restrict the picture
    to a window. The window is cut into rows of `row_seconds` (None or 0: one row), six rows to
    a page; pages after the first are `page_paths`. Each page is written to a temporary name
    and renamed, last page first, so that when `out_path` exists every page does: a corpus run
    interrupted while drawing never leaves a picture that a resumed run would take as done.
    Raises PlotError with a one-line message for a bad window or a missing matplotlib, and
    `aligner.atomic.OutputError` for an unwritable path.
    """
    require_matplotlib()
    out_path = Path(out_path)
    speakers = ", ".join(a.speaker for a in _as_list(alignment) if a.speaker)
    heading = title if title is not None else (speakers or out_path.stem)
    plan = layout(audio, sample_rate, alignment, start, end, row_seconds, heading)
    paths = page_paths(out_path, len(plan.pages))
    for page in reversed(range(len(paths))):
        _save_atomically(draw_page(plan, page, dpi), paths[page], dpi)
    _remove_stale_pages(out_path, len(paths))
    return paths


def _remove_stale_pages(out_path: Path, pages: int) -> None:
    """Delete `<stem>.pageN<suffix>` beside `out_path` for N > `pages`: left by an earlier
    plot of the same output with more pages, they would read as part of this one. Only that
    exact name pattern is touched."""
    pattern = re.compile(re.escape(out_path.stem) + r"\.page([1-9][0-9]*)" + re.escape(out_path.suffix))
    for path in out_path.parent.iterdir():
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) > pages and path.is_file():
            path.unlink(missing_ok=True)


def require_matplotlib() -> None:
    """PlotError unless matplotlib (an optional extra) and its Agg canvas can be imported: said
    before a corpus run (`--plots`) or a plot starts, not after the alignment."""
    import importlib

    try:
        importlib.import_module("matplotlib.figure")
        importlib.import_module("matplotlib.backends.backend_agg")
    except ImportError as exc:
        raise PlotError("plotting needs matplotlib, which is not installed: "
                        "pip install 'ottc-align[plot]'") from exc


def draw_page(plan: Layout, page: int, dpi: int = DPI):
    """One page of `plan` as a matplotlib Figure on the Agg canvas (not yet saved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = plan.pages[page]
    panels = _panels(plan.alignments)
    height_in = _figure_height_in(panels, len(rows), any(plan.flag_spans))
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    measure = _text_measurer(fig.canvas.get_renderer())
    plot_w_in = WIDTH_IN - _LEFT_IN - _RIGHT_IN
    top = height_in - _TOP_IN
    hidden = 0
    for r, row in enumerate(rows):
        axes = {}
        for kind, who in panels:
            top -= _PANELS_IN[kind]
            axes[kind, who] = fig.add_axes((_LEFT_IN / WIDTH_IN, top / height_in,
                                            plot_w_in / WIDTH_IN, _PANELS_IN[kind] / height_in))
        top -= _ROW_GAP_IN
        hidden += _draw_row(plan, row, axes, plot_w_in * dpi, dpi, measure,
                            first=r == 0, last=r == len(rows) - 1)
    fig.suptitle(_page_title(plan, page, hidden), fontsize=10, x=_LEFT_IN / WIDTH_IN, ha="left",
                 y=1 - 0.12 / height_in, va="top")
    _draw_caption(fig, plan, panels, height_in)
    return fig


def _draw_row(plan: Layout, row: Window, axes: dict, plot_px: float, dpi: int,
              measure: Callable, first: bool, last: bool) -> int:
    """Every panel of one row; returns the number of labels that found no room."""
    from matplotlib import colormaps
    from matplotlib.ticker import AutoMinorLocator

    view = Window(row.start, row.start + plan.row_span)
    row_px = plot_px * (row.end - row.start) / plan.row_span
    _draw_wave(axes["wave", -1], plan, row, max(2, int(row_px)))
    _draw_spectrogram(axes["spec", -1], plan, row, max(2, int(row_px)))
    _draw_boundaries([axes["wave", -1], axes["spec", -1]], plan.alignments, row)
    px_per_s = plot_px / plan.row_span
    cmap = colormaps["RdYlGn"]
    hidden = 0
    for i, a in enumerate(plan.alignments):
        who = f"{a.speaker or f'speaker {i + 1}'}\n" if len(plan.alignments) > 1 else ""
        hidden += _draw_tier(axes["words", i], _overlapping(a.words, row), row, view, px_per_s,
                             f"{who}words", _WORD_FONT, cmap, measure, show_confidence=True,
                             dpi=dpi)
        hidden += _draw_tier(axes["phones", i], _overlapping(a.phones, row), row, view, px_per_s,
                             f"{who}phones", _PHONE_FONT, cmap, measure, show_confidence=False,
                             dpi=dpi)
    for i, spans in enumerate(plan.flag_spans):
        _draw_flags(axes["words", i], spans, row, px_per_s)
    if ("alpha", 0) in axes:
        _draw_alpha(axes["alpha", 0], plan, row, max(2, int(row_px)), first)
    ordered = list(axes.values())
    for ax in ordered:
        ax.set_xlim(view.start, view.end)
        ax.tick_params(axis="x", bottom=False, labelbottom=False)
    bottom = ordered[-1]
    bottom.tick_params(axis="x", bottom=True, labelbottom=True, labelsize=8)
    bottom.xaxis.set_minor_locator(AutoMinorLocator())
    if last:
        bottom.set_xlabel("time (s)", fontsize=9)
    return hidden


def _draw_wave(ax, plan: Layout, row: Window, columns: int) -> None:
    t, low, high = waveform_envelope(plan.samples, plan.sample_rate, row, columns)
    if low is high:
        ax.plot(t, low, color=(0.15, 0.15, 0.15), lw=0.6)
    else:
        ax.fill_between(t, low, high, color=(0.15, 0.15, 0.15), lw=0.4, step="mid")
    peak = plan.wave_peak if plan.wave_peak > 0 else 1.0
    ax.set_ylim(-1.05 * peak, 1.05 * peak)
    ax.set_yticks([])
    ax.set_ylabel("wave", rotation=0, ha="right", va="center", fontsize=9)


def _draw_spectrogram(ax, plan: Layout, row: Window, columns: int) -> None:
    st, sf, sdb = spectrogram(plan.samples, plan.sample_rate, row, max_columns=columns)
    keep = sf <= plan.spec_max_hz
    sf, sdb = sf[keep], sdb[keep]
    hop_s = (st[1] - st[0]) if st.size > 1 else (row.end - row.start)
    ax.imshow(sdb, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
              vmin=plan.spec_top_db - _SPEC_DYNAMIC_RANGE_DB, vmax=plan.spec_top_db,
              extent=(st[0] - hop_s / 2, st[-1] + hop_s / 2, sf[0], sf[-1]))
    ax.set_ylim(sf[0], sf[-1])
    ticks = np.arange(0.0, sf[-1] + 1.0, 1000.0 if sf[-1] <= 4000 else 2000.0)
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{int(v / 1000)}k" if v else "0" for v in ticks], fontsize=7)
    ax.set_ylabel("Hz", rotation=0, ha="right", va="center", fontsize=9)


def _draw_alpha(ax, plan: Layout, row: Window, columns: int, first: bool) -> None:
    """The frame weights alpha times the number of frames: 1 is an average frame's share."""
    alpha = np.asarray(plan.alignments[0].alpha, dtype=np.float64)
    rel = alpha * alpha.size
    f0 = max(0, int(math.floor(row.start / FRAME_SECONDS)))
    f1 = min(alpha.size, int(math.ceil(row.end / FRAME_SECONDS)))
    if f1 > f0:
        ft = (np.arange(f0, f1) + 0.5) * FRAME_SECONDS
        fv = rel[f0:f1]
        if f1 - f0 > 2 * columns:  # envelope, as for the waveform: keep the spikes
            ft, _, fv = waveform_envelope(rel, round(1 / FRAME_SECONDS),
                                          Window(f0 * FRAME_SECONDS, f1 * FRAME_SECONDS), columns)
        ax.plot(ft, fv, color=_ALPHA_PURPLE, lw=0.8)
        ax.fill_between(ft, 0, fv, color=_ALPHA_PURPLE, alpha=0.2, lw=0)
    ax.set_ylim(0, plan.alpha_top)
    ax.axhline(1.0, color=(0.35, 0.35, 0.35), lw=0.7, ls=":")
    if first:
        ax.text(0.995, 1.0, "1.0 = an average frame's share", transform=ax.get_yaxis_transform(),
                ha="right", va="bottom", fontsize=7, color=(0.3, 0.3, 0.3),
                bbox={"boxstyle": "square,pad=0.15", "facecolor": (1, 1, 1, 0.85),
                      "edgecolor": "none"})
    ax.set_ylabel("frame\nweight", rotation=0, ha="right", va="center", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)


def _draw_boundaries(axes, alignments: list[Alignment], row: Window) -> None:
    """Word boundaries across the signal panels, where they help rather than hide the signal."""
    words = [iv for a in alignments for iv in _overlapping(a.words, row)]
    phones = [iv for a in alignments for iv in _overlapping(a.phones, row)]
    word_edges = sorted({t for iv in words for t in (iv.start, iv.end) if row.start < t < row.end})
    phone_edges = sorted({t for iv in phones for t in (iv.start, iv.end)
                          if row.start < t < row.end} - set(word_edges))
    for ax in axes:  # one collection per kind: thousands of axvline artists draw slowly
        if word_edges and len(word_edges) <= _MAX_BOUNDARY_LINES:
            ax.vlines(word_edges, 0, 1, transform=ax.get_xaxis_transform(),
                      colors=[_BOUNDARY_BLUE], lw=0.9, alpha=0.75)
        if phone_edges and len(phone_edges) <= _MAX_BOUNDARY_LINES // 2:
            ax.vlines(phone_edges, 0, 1, transform=ax.get_xaxis_transform(),
                      colors=[_BOUNDARY_BLUE], lw=0.5, alpha=0.35, linestyles="--")


def _page_title(plan: Layout, page: int, hidden: int) -> str:
    rows = plan.pages[page]
    parts = [plan.heading, f"[{rows[0].start:.2f}–{rows[-1].end:.2f} s"
             + (f" of {plan.window.start:.2f}–{plan.window.end:.2f} s]" if len(plan.pages) > 1
                else "]")]
    if len(plan.pages) > 1:
        parts.append(f"page {page + 1}/{len(plan.pages)}")
    mean = mean_word_confidence([w for a in plan.alignments for w in a.words if w.label and (
        w.confidence is None or math.isfinite(w.confidence))])  # another tool's NaN: none
    if mean is not None:
        parts.append(f"mean word confidence {mean:.2f}")
    whole = list(dict.fromkeys(k for a in plan.alignments for k in recording_flags(a.flags)))
    if whole:
        parts.append("flagged: " + ", ".join(whole))
    if hidden:
        parts.append(f"{hidden} label{'s' if hidden > 1 else ''} too short to show at this "
                     "scale: zoom in with --start/--end or --row-seconds")
    return "   ".join(parts)


def _draw_caption(fig, plan: Layout, panels: list[tuple[str, int]], height_in: float) -> None:
    """The key under the rows: what the colours, greys and the frame-weight curve mean."""
    has_conf = any(iv.confidence is not None for a in plan.alignments for iv in a.words if iv.label)
    low = Thresholds().min_word_confidence
    words = (f"words: box colour and number = word confidence, log scale (red {low:g} or less, "
             f"where low_confidence flags a word; yellow {math.sqrt(low):.2g}; green 1); "
             if has_conf else "words: this file has no confidence values; ")
    lines = [
        words + "grey = pause.",
        "Blue lines over wave and spectrogram: word (solid) and phone (dashed) boundaries. A "
        "staggered label belongs to the box it is centred on.",
        f"spectrogram: 25 ms window, 0–{plan.spec_max_hz / 1000:g} kHz; black = the recording's "
        f"loudest point, white = {_SPEC_DYNAMIC_RANGE_DB:g} dB below it, the same on every row "
        "and every window of this recording.",
    ]
    if ("alpha", 0) in panels:
        lines += [
            "frame weight (OTTC alpha × number of frames): how much of the transcript the model "
            "places on each 10 ms frame, relative to an average frame; 1.0 (dotted) = an "
            "average frame's share.",
            "Above 1: frames that carry more than their share (dense, fast stretches with short "
            "phones); near 0: frames the alignment passes over (pauses, noise). A word over "
            "near-zero weight is worth a second look.",
        ]
    flagged = any(plan.flag_spans)
    if flagged:
        lines.append("black bar over the words: a flag on that stretch, its kind on the bar "
                     "(the messages are in the JSON, the CSV and the corpus report).")
    y = (_caption_lines(panels, flagged) * _CAPTION_LINE_IN + 0.05) / height_in
    fig.text(_LEFT_IN / WIDTH_IN, y, "\n".join(lines), fontsize=7.5, va="top", ha="left",
             color=(0.2, 0.2, 0.2), linespacing=1.35)


# ------------------------------------------------------------------------------ tier labels

class Label(NamedTuple):
    """A placed label: centre in pixels from the tier's left and bottom edges."""

    x: float
    y: float
    text: str
    size: float
    rotation: int
    in_box: bool  # inside its own interval's box (else staggered over its neighbours)
    index: int  # of its span


def _text_measurer(renderer) -> Callable[[str, float], tuple[float, float]]:
    """(width, height) in pixels of a (possibly two-line) text at a size, as Agg renders it."""
    from matplotlib.font_manager import FontProperties

    cache: dict[tuple[str, float], tuple[float, float]] = {}

    def measure(text: str, size: float) -> tuple[float, float]:
        if (text, size) not in cache:
            prop = FontProperties(size=size)
            lines = text.split("\n")
            width = max(renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
                        for line in lines)
            line_h = renderer.get_text_width_height_descent("Ágp", prop, ismath=False)[1]
            cache[text, size] = (width, line_h * (1.0 + 1.2 * (len(lines) - 1)))
        return cache[text, size]

    return measure


class _Occupied:
    """Rectangles (pixels) already covered by labels, bucketed by x so that checking a place
    costs the same with ten labels in a tier as with ten thousand."""

    _BUCKET_PX = 32.0

    def __init__(self, width: float, height: float):
        self.width, self.height = width, height
        self.buckets: dict[int, list[tuple[float, float, float, float]]] = {}

    def _keys(self, x0: float, x1: float) -> range:
        return range(int(x0 // self._BUCKET_PX), int(x1 // self._BUCKET_PX) + 1)

    def free(self, x0: float, x1: float, y0: float, y1: float) -> bool:
        """Inside the tier and clear of every label (by `_PAD_PX` side to side)."""
        if x0 < 0 or x1 > self.width or y0 < 0 or y1 > self.height:
            return False
        return all(x1 + _PAD_PX <= a0 or a1 + _PAD_PX <= x0 or y1 <= b0 or b1 <= y0
                   for key in self._keys(x0 - _PAD_PX, x1 + _PAD_PX)
                   for a0, a1, b0, b1 in self.buckets.get(key, ()))

    def take(self, x0: float, x1: float, y0: float, y1: float) -> None:
        for key in self._keys(x0, x1):
            self.buckets.setdefault(key, []).append((x0, x1, y0, y1))


def place_labels(spans: Sequence[tuple[float, float, str]], height: float, width: float,
                 base_size: float, measure: Callable[[str, float], tuple[float, float]],
                 extras: Sequence[str | None] | None = None) -> tuple[list[Label], int]:
    """Place one label per span (left, right in pixels from the tier's left edge, text) so that
    no two overlap and each can be read.

    In order of preference: in its box at `base_size` (with its `extras` line under it, the
    word confidence, when that fits too); in its box at a smaller size; staggered above or
    below the middle, wider than its box, over neighbours whose labels leave room; rotated in
    its box; then abbreviated: an ARPAbet phone without its stress digit (in any of those
    places), a word cut to the letters that fit in its box and "…". Only a box's own label
    goes in its middle, so every box wide enough for two letters and "…" at the smallest size
    gets a label. Returns the labels (in span order) and how many spans found no room.
    """
    extras = extras if extras is not None else [None] * len(spans)
    sizes = [s for s in (base_size, base_size - 1.0, _MIN_FONT) if s >= _MIN_FONT]
    occupied = _Occupied(width, height)
    placed: dict[int, Label] = {}

    def take(i: int, label: Label, w: float, h: float) -> None:
        occupied.take(label.x - w / 2, label.x + w / 2, label.y - h / 2, label.y + h / 2)
        placed[i] = label._replace(index=i)

    # 1. In its own box, horizontal, centred: boxes do not overlap, so neither do these.
    for i, (lo, hi, text) in enumerate(spans):
        tries = ([(f"{text}\n{extras[i]}", base_size)] if extras[i] else []) + [
            (text, s) for s in sizes]
        for t, s in tries:
            w, h = measure(t, s)
            if w <= hi - lo - 2 * _PAD_PX and h <= height - 2 * _PAD_PX:
                take(i, Label((lo + hi) / 2, height / 2, t, s, 0, True, i), w, h)
                break
    # 2. The rest, left to right: staggered, rotated, then abbreviated.
    for i, (lo, hi, text) in enumerate(spans):
        if i in placed:
            continue
        for t in [text] + _without_stress(text):
            spot = _find_spot(lo, hi, t, sizes[1:] or sizes, height, measure, occupied)
            if spot is not None:
                take(i, *spot)
                break
        else:
            spot = _shortened(lo, hi, text, height, measure)
            if spot is not None:
                take(i, *spot)
    return [placed[i] for i in sorted(placed)], len(spans) - len(placed)


def _find_spot(lo: float, hi: float, text: str, sizes: list[float], height: float,
               measure: Callable, occupied: _Occupied) -> tuple[Label, float, float] | None:
    """The first free place for `text` over the span lo..hi, trying each size: in the box,
    above the middle, below it, then rotated in the box."""
    centre = (lo + hi) / 2
    for size in sizes:
        w, h = measure(text, size)
        if w <= hi - lo - 2 * _PAD_PX and h <= height - 2 * _PAD_PX:
            return Label(centre, height / 2, text, size, 0, True, -1), w, h
        x = min(max(centre, w / 2), occupied.width - w / 2)  # kept inside the tier at its ends
        for y in (height - _PAD_PX - h / 2, _PAD_PX + h / 2):
            if occupied.free(x - w / 2, x + w / 2, y - h / 2, y + h / 2):
                return Label(x, y, text, size, 0, False, -1), w, h
        # Rotated: as wide as a line is high; may reach a pixel past a narrow box.
        if h <= hi - lo + 2 and w <= height - 2 * _PAD_PX and occupied.free(
                centre - h / 2, centre + h / 2, (height - w) / 2, (height + w) / 2):
            return Label(centre, height / 2, text, size, 90, True, -1), h, w
    return None


def _without_stress(text: str) -> list[str]:
    """An ARPAbet phone without its stress digit ("AH1" -> "AH"); nothing for other labels."""
    return [text[:-1]] if re.fullmatch(r"[A-Z]+[0-2]", text) else []


def _shortened(lo: float, hi: float, text: str, height: float,
               measure: Callable) -> tuple[Label, float, float] | None:
    """The longest "<first letters>…" (two letters at least) that fits in the box at the
    smallest size, or None. The middle of a box is its own, so no other label is in the way."""
    room = hi - lo - 2 * _PAD_PX
    best = None
    low, high = 2, len(text) - 1  # binary search: width grows with the number of letters
    while low <= high:
        k = (low + high) // 2
        w, h = measure(text[:k] + "…", _MIN_FONT)
        if w <= room and h <= height - 2 * _PAD_PX:
            best, low = (Label((lo + hi) / 2, height / 2, text[:k] + "…", _MIN_FONT, 0, True, -1),
                         w, h), k + 1
        else:
            high = k - 1
    return best


def confidence_text(confidence: float) -> str:
    """A word's confidence as its box shows it: two decimals, or two significant figures below
    0.01 (0.001 printed as "0.00" hid why the word was flagged `low_confidence`; a confidence
    is never 0)."""
    return f"{confidence:.2f}" if confidence >= 0.01 else f"{confidence:.2g}"


def confidence_shade(confidence: float) -> float:
    """Where a word confidence falls on the colour scale, 0 (red) to 1 (green): log-scaled from
    the shipped `low_confidence` threshold up to 1. Why not linear: a word's confidence is a
    geometric mean of frame posteriors, and correctly aligned words of real speech have a
    median near 0.08, so a linear scale showed a correct sentence almost all red."""
    low = Thresholds().min_word_confidence
    if confidence <= low:
        return 0.0
    return min(1.0, math.log(confidence / low) / math.log(1.0 / low))


def _confidence_colour(confidence: float | None, cmap) -> tuple[float, float, float, float]:
    if confidence is None or not math.isfinite(confidence):
        return _NO_CONFIDENCE
    return cmap(confidence_shade(confidence))


def flagged_spans(flags: Sequence[str]) -> list[tuple[float, float, str]]:
    """(start, end, kinds) of the stretches that flags refer to (a word, a phone, untranscribed
    speech), in time order, overlapping ones merged with their kinds joined ("low_confidence,
    long_phone"): one bar each. Flags on the whole recording have none."""
    spans = sorted((f.start, f.end, f.kind) for f in flags if getattr(f, "start", None) is not None
                   and getattr(f, "end", None) is not None and f.end > f.start)
    merged: list[tuple[float, float, list[str]]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            lo, hi, kinds = merged[-1]
            merged[-1] = (lo, max(hi, end), kinds if kind in kinds else kinds + [kind])
        else:
            merged.append((start, end, [kind]))
    return [(lo, hi, ", ".join(kinds)) for lo, hi, kinds in merged]


def recording_flags(flags: Sequence[str]) -> list[str]:
    """The kinds of the flags on the whole recording (`transcript_mismatch`, `no_speech`), once
    each: the page title names them."""
    from aligner.checks import flag_kind

    return list(dict.fromkeys(flag_kind(f) for f in flags if getattr(f, "start", None) is None))


def _draw_flags(ax, spans: list[tuple[float, float, str]], row: Window, px_per_s: float) -> None:
    """A dark bar along the top of the words tier over each flagged stretch (`flagged_spans`),
    its kinds written on it where they fit: a flag seen where it is, not only in the report."""
    from matplotlib.patches import Rectangle

    for start, end, kinds in spans:
        if end <= row.start or start >= row.end:
            continue
        lo, hi = max(start, row.start), min(end, row.end)
        hi = max(hi, lo + 3 / px_per_s)  # a flag on a sliver stays visible
        ax.add_patch(Rectangle((lo, 0.84), hi - lo, 0.16, facecolor=_FLAG_INK, edgecolor="none",
                               zorder=4, clip_on=True))
        if (hi - lo) * px_per_s >= 5.5 * len(kinds):  # 6.5 pt: some 5 pixels a letter
            ax.text(lo + 2 / px_per_s, 0.92, kinds, color="white", fontsize=6.5, ha="left",
                    va="center", zorder=5, clip_on=True)


def _draw_tier(ax, intervals: list[Interval], row: Window, view: Window, px_per_s: float,
               name: str, base_size: float, cmap, measure: Callable, show_confidence: bool,
               dpi: int) -> int:
    """Boxes (pauses light grey) and a readable label for every labelled interval; returns how
    many labels found no room."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    boxes, faces, edges = [], [], []
    for iv in intervals:
        lo, hi = max(iv.start, row.start), min(iv.end, row.end)  # the next row draws the rest
        boxes.append(Rectangle((lo, 0.04), hi - lo, 0.92))
        # Outlines on boxes a few pixels wide would paint the whole tier dark on long rows.
        edges.append(0.6 if (hi - lo) * px_per_s >= 4 else 0.0)
        if iv.label == "":
            faces.append(_PAUSE_GREY)
        elif show_confidence:
            faces.append(_confidence_colour(iv.confidence, cmap))
        else:
            faces.append(_PHONE_FACE)
    if boxes:
        ax.add_collection(PatchCollection(boxes, facecolors=faces, edgecolors=(0.25, 0.25, 0.25),
                                          linewidths=edges))
    named = [(iv, face) for iv, face in zip(intervals, faces) if iv.label]
    spans = [((max(iv.start, row.start) - view.start) * px_per_s,
              (min(iv.end, row.end) - view.start) * px_per_s, iv.label) for iv, _ in named]
    extras = [confidence_text(iv.confidence) if show_confidence and iv.confidence is not None
              and math.isfinite(iv.confidence) else None for iv, _ in named]
    height = ax.get_position().height * ax.figure.get_figheight() * dpi
    labels, hidden = place_labels(spans, height, (view.end - view.start) * px_per_s, base_size,
                                  measure, extras)
    for label in labels:
        face = named[label.index][1]
        x = view.start + label.x / px_per_s
        style = {"ha": "center", "va": "center", "fontsize": label.size, "rotation": label.rotation,
                 "rotation_mode": "anchor", "linespacing": 1.2, "clip_on": True}
        if label.in_box:
            luminance = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
            ax.text(x, label.y / height, label.text, color="white" if luminance < 0.45 else "black",
                    **style)
        else:  # over neighbours' boxes: its own light ground keeps it readable on any colour
            ax.text(x, label.y / height, label.text, color="black", **style,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": (1, 1, 1, 0.85),
                          "edgecolor": "none"})
    return hidden


def _save_atomically(fig, out_path: Path, dpi: int) -> None:
    """PNG through `aligner.atomic` like every other output: complete or absent.

    Raises `aligner.atomic.OutputError` (an OSError naming the path) if it cannot be written.
    """
    from aligner.atomic import atomic_open

    with atomic_open(out_path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi)
