"""Draw one alignment for checking by eye: waveform, spectrogram, word and phone tiers, word
confidence and (for OTTC models) the frame-weight curve alpha.

Phoneticians judge boundaries against the waveform and the spectrogram, so every panel shares
one time axis and the word boundaries are drawn across the signal panels. The signal is reduced
to at most about one value per pixel column before drawing (min/max envelope, STFT hop grown
with the window), so a one-hour window costs about as much as a one-second one.

matplotlib is an optional extra: it is imported inside the functions that draw, so importing
this module (as the corpus command does for `--plots`) never needs it. Figures are built on
`matplotlib.figure.Figure` with the Agg canvas, never through pyplot, so nothing leaks into a
global figure registry and the code is safe in a long-running corpus loop.
"""

from __future__ import annotations

import math
from pathlib import Path
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from aligner.alignment import Alignment, Interval

# Figure geometry, in inches at `dpi`. The PNG is WIDTH * dpi pixels wide and the sum of the
# panel heights (plus the margins) * dpi high; see `image_size`.
WIDTH_IN = 14.0
DPI = 100
_PANELS_IN = {"wave": 1.6, "spec": 2.4, "words": 0.75, "phones": 0.6, "alpha": 1.2}
_TOP_IN = 0.45  # title
_BOTTOM_IN = 0.55  # time axis label
_LEFT_IN = 0.95
_RIGHT_IN = 0.25

# Above these counts in the window, boundary lines over the signal panels would hide the signal.
_MAX_BOUNDARY_LINES = 400
# Spectrogram: 25 ms Hann window (the usual "wide-band" analysis for segment boundaries), up to
# 8 kHz, at most about this many columns.
_SPEC_WINDOW_S = 0.025
_SPEC_MAX_HZ = 8000.0
_SPEC_DYNAMIC_RANGE_DB = 70.0


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
        raise PlotError(f"window --start {start} --end {end} is not a pair of finite times")
    if s < 0:
        raise PlotError(f"--start {s:g} s is negative")
    if s >= duration:
        raise PlotError(f"--start {s:g} s is past the end of the recording ({duration:.3f} s)")
    if e <= s:
        raise PlotError(f"--end {e:g} s must be after --start {s:g} s")
    return Window(s, min(e, duration))


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
    Frequencies stop at 8 kHz (or Nyquist). Power is relative to the window's maximum and
    clipped 70 dB below it, as Praat's default display does, so silence is white rather
    than amplified noise.
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
    db = np.maximum(db, db.max() - _SPEC_DYNAMIC_RANGE_DB)
    return centres / sample_rate, freqs[keep], db


def image_size(alignment: Alignment | Sequence[Alignment], dpi: int = DPI) -> tuple[int, int]:
    """(width, height) in pixels of the PNG that `plot_alignment` writes for `alignment`.

    Each speaker adds a words and a phones tier; the alpha panel is drawn only for a single
    alignment that carries frame weights (OTTC models).
    """
    panels = _panels(_as_list(alignment))
    return (round(WIDTH_IN * dpi), round(_figure_height_in(panels) * dpi))


def plot_path(base: Path) -> Path:
    """Where corpus mode puts an utterance's picture: beside its TextGrid, `<base>.png`."""
    return base.parent / (base.name + ".png")


def _as_list(alignment: Alignment | Sequence[Alignment]) -> list[Alignment]:
    return [alignment] if isinstance(alignment, Alignment) else list(alignment)


def _has_alpha(alignments: list[Alignment]) -> bool:
    return len(alignments) == 1 and alignments[0].alpha is not None and len(alignments[0].alpha) > 0


def _panels(alignments: list[Alignment]) -> list[tuple[str, int]]:
    """(kind, speaker index) per panel, top to bottom."""
    panels = [("wave", -1), ("spec", -1)]
    for i in range(len(alignments)):
        panels += [("words", i), ("phones", i)]
    return panels + [("alpha", 0)] if _has_alpha(alignments) else panels


def _figure_height_in(panels: list[tuple[str, int]]) -> float:
    return _TOP_IN + _BOTTOM_IN + sum(_PANELS_IN[kind] for kind, _ in panels)


def _overlapping(intervals: list[Interval], window: Window) -> list[Interval]:
    return [iv for iv in intervals if iv.end > window.start and iv.start < window.end]


def _confidence_colour(confidence: float | None, cmap) -> tuple[float, float, float, float]:
    if confidence is None or not math.isfinite(confidence):
        return (0.80, 0.86, 0.95, 1.0)  # no confidence: neutral blue-grey
    return cmap(min(max(confidence, 0.0), 1.0))


def _draw_tier(ax, intervals: list[Interval], window: Window, px_per_s: float, name: str,
               show_confidence: bool, cmap, dpi: int) -> None:
    """Labelled boxes; silence (label "") as light grey; labels only where they fit."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    boxes, faces, edges = [], [], []
    for iv in intervals:
        boxes.append(Rectangle((iv.start, 0.04), iv.end - iv.start, 0.92))
        # Outlines on boxes a few pixels wide would paint the whole tier dark on long windows.
        edges.append(0.6 if (iv.end - iv.start) * px_per_s >= 4 else 0.0)
        if iv.label == "":
            faces.append((0.93, 0.93, 0.93, 1.0))
        elif show_confidence:
            faces.append(_confidence_colour(iv.confidence, cmap))
        else:
            faces.append((0.86, 0.90, 0.97, 1.0))
    if boxes:
        ax.add_collection(PatchCollection(boxes, facecolors=faces, edgecolors=(0.25, 0.25, 0.25),
                                          linewidths=edges))
    fontsize = 8.5
    char_px = 0.62 * fontsize * dpi / 72.0  # rough width of one character at this size
    for iv, face in zip(intervals, faces):
        if iv.label == "":
            continue
        luminance = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
        ink = "white" if luminance < 0.45 else "black"  # readable on dark red/green boxes
        lo, hi = max(iv.start, window.start), min(iv.end, window.end)
        text = iv.label
        if show_confidence and iv.confidence is not None and math.isfinite(iv.confidence):
            conf = f"{iv.confidence:.2f}"
            width_chars = max(len(text), len(conf))
            if (hi - lo) * px_per_s >= width_chars * char_px + 4:
                text = f"{text}\n{conf}"
        if (hi - lo) * px_per_s >= max(len(l) for l in text.split("\n")) * char_px + 4:
            ax.text((lo + hi) / 2, 0.5, text, ha="center", va="center", fontsize=fontsize,
                    clip_on=True, linespacing=1.0, color=ink)


def _draw_boundaries(axes, alignments: list[Alignment], window: Window) -> None:
    """Word boundaries across the signal panels, where they help rather than hide the signal."""
    words = [iv for a in alignments for iv in _overlapping(a.words, window)]
    phones = [iv for a in alignments for iv in _overlapping(a.phones, window)]
    word_edges = sorted({t for iv in words for t in (iv.start, iv.end)
                         if window.start < t < window.end})
    phone_edges = sorted({t for iv in phones for t in (iv.start, iv.end)
                          if window.start < t < window.end} - set(word_edges))
    for ax in axes:
        if len(word_edges) <= _MAX_BOUNDARY_LINES:
            for t in word_edges:
                ax.axvline(t, color=(0.10, 0.25, 0.75), lw=0.9, alpha=0.75)
        if len(phone_edges) <= _MAX_BOUNDARY_LINES // 2:
            for t in phone_edges:
                ax.axvline(t, color=(0.10, 0.25, 0.75), lw=0.5, alpha=0.35, ls="--")


def plot_alignment(audio: np.ndarray, sample_rate: int,
                   alignment: Alignment | Sequence[Alignment], out_path: Path,
                   start: float | None = None, end: float | None = None,
                   title: str | None = None, dpi: int = DPI) -> None:
    """Write a PNG of `alignment` over `audio` (mono samples at `sample_rate`) to `out_path`.

    `alignment` may be a list (one per speaker, as `Aligner.align_speakers` returns): each
    speaker gets its own words and phones tiers in the one picture. `start`/`end` (seconds) restrict the picture to a window of a long recording. The file is
    written to a temporary name in the same directory and renamed, so a corpus run that is
    interrupted never leaves a truncated PNG that a resumed run would take as done.
    Raises PlotError with a one-line message for a bad window or a missing matplotlib, and
    `aligner.atomic.OutputError` for an unwritable path.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib import colormaps
    except ImportError as exc:  # optional extra
        raise PlotError("plotting needs matplotlib: pip install 'ottc-align[plot]'") from exc

    samples = np.asarray(audio)
    if samples.ndim != 1:
        raise PlotError(f"audio must be mono samples (1-D), got shape {samples.shape}")
    if sample_rate <= 0:
        raise PlotError(f"sample rate must be positive, got {sample_rate}")
    alignments = _as_list(alignment)
    if not alignments:
        raise PlotError("nothing to plot: no alignment given")
    audio_duration = samples.size / sample_rate
    duration = max([audio_duration] + [a.duration for a in alignments])
    window = resolve_window(duration, start, end)
    out_path = Path(out_path)

    panels = _panels(alignments)
    has_alpha = _has_alpha(alignments)
    width_px = WIDTH_IN * dpi
    height_in = _figure_height_in(panels)
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=_LEFT_IN / WIDTH_IN, right=1 - _RIGHT_IN / WIDTH_IN,
                        top=1 - _TOP_IN / height_in, bottom=_BOTTOM_IN / height_in, hspace=0.0)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": [_PANELS_IN[k] for k, _ in panels]})[:, 0]
    ax = dict(zip(panels, axes))
    plot_px = width_px * (1 - (_LEFT_IN + _RIGHT_IN) / WIDTH_IN)
    px_per_s = plot_px / (window.end - window.start)

    # Waveform.
    t, low, high = waveform_envelope(samples, sample_rate, window, columns=int(plot_px))
    w = ax["wave", -1]
    if low is high:
        w.plot(t, low, color=(0.15, 0.15, 0.15), lw=0.6)
    else:
        w.fill_between(t, low, high, color=(0.15, 0.15, 0.15), lw=0.4, step="mid")
    peak = float(max(np.abs(low).max(initial=0.0), np.abs(high).max(initial=0.0)))
    w.set_ylim(-1.05 * peak if peak > 0 else -1, 1.05 * peak if peak > 0 else 1)
    w.set_yticks([])
    w.set_ylabel("wave", rotation=0, ha="right", va="center", fontsize=9)

    # Spectrogram.
    st, sf, sdb = spectrogram(samples, sample_rate, window, max_columns=int(plot_px))
    s = ax["spec", -1]
    hop_s = (st[1] - st[0]) if st.size > 1 else (window.end - window.start)
    s.imshow(sdb, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
             extent=(st[0] - hop_s / 2, st[-1] + hop_s / 2, sf[0], sf[-1]))
    s.set_ylim(sf[0], sf[-1])
    s.set_yticks([0, 2000, 4000, 6000, 8000][: 1 + int(sf[-1] // 2000)])
    s.set_yticklabels([f"{int(v / 1000)}k" if v else "0" for v in s.get_yticks()], fontsize=7)
    s.set_ylabel("Hz", rotation=0, ha="right", va="center", fontsize=9)

    _draw_boundaries([ax["wave", -1], ax["spec", -1]], alignments, window)

    cmap = colormaps["RdYlGn"]
    for i, a in enumerate(alignments):
        who = f"{a.speaker or f'speaker {i + 1}'}\n" if len(alignments) > 1 else ""
        _draw_tier(ax["words", i], _overlapping(a.words, window), window, px_per_s,
                   f"{who}words", show_confidence=True, cmap=cmap, dpi=dpi)
        _draw_tier(ax["phones", i], _overlapping(a.phones, window), window, px_per_s,
                   f"{who}phones", show_confidence=False, cmap=cmap, dpi=dpi)

    if has_alpha:
        a = ax["alpha", 0]
        alpha = np.asarray(alignments[0].alpha, dtype=np.float64)
        # alpha sums to 1 over the utterance; scaled by its length, 1 means "uniform weight",
        # which reads the same for a 1 s and a 1 h recording.
        rel = alpha * alpha.size
        frame = 0.01  # DESIGN.md: frame t covers [t * 0.01, (t + 1) * 0.01)
        f0 = max(0, int(math.floor(window.start / frame)))
        f1 = min(alpha.size, int(math.ceil(window.end / frame)))
        if f1 > f0:
            ft = (np.arange(f0, f1) + 0.5) * frame
            fv = rel[f0:f1]
            if f1 - f0 > 2 * plot_px:  # envelope, as for the waveform: keep the spikes
                ft, _, fv = waveform_envelope(rel, 100, Window(f0 * frame, f1 * frame),
                                              columns=int(plot_px))
            a.plot(ft, fv, color=(0.55, 0.10, 0.55), lw=0.8)
            a.fill_between(ft, 0, fv, color=(0.55, 0.10, 0.55), alpha=0.2, lw=0)
            a.set_ylim(0, max(1.5, float(fv.max()) * 1.1))
        a.axhline(1.0, color=(0.5, 0.5, 0.5), lw=0.6, ls=":")
        a.set_ylabel("alpha×T", rotation=0, ha="right", va="center", fontsize=9)
        a.tick_params(axis="y", labelsize=7)

    axes[-1].set_xlim(window.start, window.end)
    axes[-1].set_xlabel("time (s)", fontsize=9)
    axes[-1].tick_params(axis="x", labelsize=8)
    for other in axes[:-1]:
        other.tick_params(axis="x", bottom=False)

    speakers = ", ".join(a.speaker for a in alignments if a.speaker)
    heading = title if title is not None else (speakers or out_path.stem)
    mean_conf = [iv.confidence for a in alignments for iv in a.words
                 if iv.label and iv.confidence is not None and math.isfinite(iv.confidence)]
    extra = f"   mean word confidence {np.mean(mean_conf):.2f}" if mean_conf else ""
    fig.suptitle(f"{heading}   [{window.start:.2f}–{window.end:.2f} s]{extra}", fontsize=10,
                 x=_LEFT_IN / WIDTH_IN, ha="left", y=1 - 0.12 / height_in, va="top")

    _save_atomically(fig, out_path, dpi)


def _save_atomically(fig, out_path: Path, dpi: int) -> None:
    """PNG through `aligner.atomic` like every other output: complete or absent.

    Raises `aligner.atomic.OutputError` (an OSError naming the path) if it cannot be written.
    """
    from aligner.atomic import atomic_open

    with atomic_open(out_path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi)
