"""Tests for aligner/plot.py and the `ottc-align plot` command.

The pictures are checked for what a reader relies on: the PNG exists, has the size the layout
promises, and is not blank (pixel variance, and ink in the waveform panel where the signal is
loud); every word and phone has a label that overlaps no other (staggered, rotated or
abbreviated when it does not fit) and any label left out is counted in the title; a long
recording is cut into rows and pages at one time scale, with one grey scale for the whole
recording; the frame-weight panel is labelled and explained; the signal reductions keep what
matters (peaks, the spectral peak of a tone) while bounding the work for long windows.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from aligner.alignment import Alignment, Interval  # noqa: E402
from aligner.plot import (  # noqa: E402
    DPI, ROW_SECONDS, ROWS_PER_PAGE, PlotError, Window, _CAPTION_LINE_IN, _MIN_FONT, _PANELS_IN,
    _TOP_IN, draw_page, flagged_spans, image_size, layout, layout_rows, page_paths, place_labels,
    plot_alignment, plot_path, resolve_window, spectrogram, spectrogram_range, waveform_envelope,
)
from tests.conftest import speechlike  # noqa: E402

SR = 16000
WORDS = ["café", "Zürich", "naïve", "don't", "hello"]


def make_alignment(duration: float, with_alpha: bool, seed: int = 0) -> Alignment:
    """Words of 0.3-0.5 s with three phones each and a pause after every fourth word."""
    rng = np.random.default_rng(seed)
    words, phones = [], []
    t, i = 0.2, 0
    while t + 0.6 < duration:
        w = 0.3 + 0.1 * (i % 3)
        words.append(Interval(t, t + w, WORDS[i % len(WORDS)], float(rng.uniform(0.05, 1.0))))
        for j, p in enumerate(["K", "AE", "F"]):
            phones.append(Interval(t + j * w / 3, t + (j + 1) * w / 3, p))
        t += w
        if i % 4 == 3:
            words.append(Interval(t, t + 0.2, ""))
            phones.append(Interval(t, t + 0.2, ""))
            t += 0.2
        i += 1
    alpha = None
    if with_alpha:
        a = rng.random(int(np.ceil(duration * 100))) ** 4
        alpha = (a / a.sum()).tolist()
    return Alignment(words, phones, duration, alpha=alpha)


def read_png(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    img = imread(str(path))  # [H, W, 3 or 4] floats in 0..1
    return img[..., :3].mean(axis=2)


def assert_not_blank(gray: np.ndarray) -> None:
    assert gray.std() > 0.05, "picture is (nearly) one colour"
    assert (gray < 0.5).mean() > 0.01, "picture has almost no ink"


def wave_panel(gray: np.ndarray) -> np.ndarray:
    """The pixels of the waveform panel (the first one under the title)."""
    top = int(_TOP_IN * DPI) + 3
    bottom = int((_TOP_IN + _PANELS_IN["wave"]) * DPI) - 3
    return gray[top:bottom, 120:-40]


@pytest.mark.parametrize("with_alpha", [False, True])
def test_short_window_png_has_layout_size_and_content(tmp_path, with_alpha):
    audio = speechlike(4.0)
    al = make_alignment(4.0, with_alpha)
    out = tmp_path / "short.png"
    plot_alignment(audio, SR, al, out, start=0.5, end=2.0, title="short")
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(al)
    assert_not_blank(gray)
    # speechlike() is loud throughout: the waveform panel must be well inked.
    assert (wave_panel(gray) < 0.5).mean() > 0.2


def test_each_speaker_adds_tiers_in_one_picture(tmp_path):
    a = make_alignment(3.0, with_alpha=True, seed=1)
    a.speaker = "ann"
    b = make_alignment(3.0, with_alpha=True, seed=2)
    b.speaker = "bob"
    out = tmp_path / "two.png"
    plot_alignment(speechlike(3.0), SR, [a, b], out)
    gray = read_png(out)
    w, h = image_size(a)
    tiers = round((_PANELS_IN["words"] + _PANELS_IN["phones"]) * DPI)
    # several speakers: no alpha panel, nor its two lines of explanation under the rows
    alpha = round((_PANELS_IN["alpha"] + 2 * _CAPTION_LINE_IN) * DPI)
    assert (gray.shape[1], gray.shape[0]) == image_size([a, b]) == (w, h + tiers - alpha)
    assert_not_blank(gray)


def test_a_window_draws_only_the_speakers_who_speak_in_it():
    ann = Alignment([Interval(0.2, 0.8, "hello")], [Interval(0.2, 0.8, "HH")], 6.0, speaker="ann")
    bob = Alignment([Interval(4.0, 4.6, "hi")], [Interval(4.0, 4.6, "HH")], 6.0, speaker="bob")
    audio = speechlike(6.0)
    assert [a.speaker for a in layout(audio, SR, [ann, bob], 0.0, 2.0).alignments] == ["ann"]
    assert [a.speaker for a in layout(audio, SR, [ann, bob], 3.5, 5.0).alignments] == ["bob"]
    assert len(layout(audio, SR, [ann, bob]).alignments) == 2  # the whole recording
    assert len(layout(audio, SR, [ann, bob], 2.0, 3.0).alignments) == 2  # nobody: all, as before


def test_plot_path_is_beside_the_textgrid(tmp_path):
    assert plot_path(tmp_path / "spk1" / "utt.01") == tmp_path / "spk1" / "utt.01.png"


def test_alpha_panel_adds_height():
    w0, h0 = image_size(make_alignment(3.0, with_alpha=False))
    w1, h1 = image_size(make_alignment(3.0, with_alpha=True))
    assert w0 == w1 == 1400
    assert h1 - h0 == round((_PANELS_IN["alpha"] + 2 * _CAPTION_LINE_IN) * DPI)


def test_long_window_in_one_row_png(tmp_path):
    """Ten minutes with ~1500 words and ~4500 phones in one row (--row-seconds 0): drawn whole,
    reduced to the pixels, and the labels that cannot be shown at that scale are counted."""
    duration = 600.0
    audio = speechlike(duration, seed=3)
    al = make_alignment(duration, with_alpha=True, seed=3)
    assert len(al.words) > 1000
    plan = layout(audio, SR, al, row_seconds=0)
    assert plan.rows == [Window(0.0, duration)] and len(plan.pages) == 1
    out = tmp_path / "long.png"
    assert plot_alignment(audio, SR, al, out, row_seconds=0) == [out]
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(al)
    assert_not_blank(gray)
    assert (wave_panel(gray) < 0.5).mean() > 0.2
    fig = draw_page(plan, 0)
    texts = [t for kind, ax in tier_axes(fig) for t in ax.texts]
    labelled = sum(1 for iv in al.words + al.phones if iv.label)
    hidden = labelled - len(texts)
    assert hidden > 0 and f"{hidden} labels too short to show" in fig.get_suptitle()


# ------------------------------------------------------------------------------ labels

PHONES = ["DH", "AH0", "K", "AE1", "T", "S", "IY1", "ER0", "N", "AA1", "ZH", "OW1"]
FAST_WORDS = ["internationalization", "responsibilities", "the", "a", "unbelievably", "of",
              "extraordinary", "re-entered", "to"]


def fast_speech(duration: float) -> Alignment:
    """Fast speech at its hardest: 300 ms words with labels wider than their boxes, 120 ms
    function words, phones of 30-40 ms, a pause after every ninth word."""
    rng = np.random.default_rng(0)
    words, phones = [], []
    t, i = 0.1, 0
    while t + 0.4 < duration:
        w = FAST_WORDS[i % len(FAST_WORDS)]
        d = 0.3 if len(w) > 3 else 0.12
        words.append(Interval(t, t + d, w, float(rng.uniform(0, 1))))
        n = max(3, int(d / 0.034))
        phones += [Interval(t + j * d / n, t + (j + 1) * d / n, PHONES[(3 * i + j) % 12])
                   for j in range(n)]
        t += d
        i += 1
        if i % 9 == 0:
            words.append(Interval(t, t + 0.25, ""))
            phones.append(Interval(t, t + 0.25, ""))
            t += 0.25
    return Alignment(words, phones, duration)


def tier_axes(fig) -> list[tuple[str, object]]:
    """(words|phones, axes) of every tier of every row, top to bottom."""
    found = []
    for ax in fig.axes:
        name = ax.get_ylabel().split("\n")[-1]
        if name in ("words", "phones"):
            found.append((name, ax))
    return found


def shown(text: str, label: str) -> bool:
    """`text` (first line) is `label`, or an abbreviation of it that a reader can resolve."""
    first = text.split("\n")[0]
    if first == label or (label[-1].isdigit() and first == label[:-1]):
        return True
    return first.endswith("…") and len(first) >= 3 and label.startswith(first[:-1])


def assert_labels_readable(fig, alignment: Alignment, plan, page: int) -> None:
    """Every labelled interval in each row has exactly one label, in order, at a readable
    size, inside its tier, and no two labels of a tier overlap as drawn."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    rows = plan.pages[page]
    tiers = tier_axes(fig)
    assert len(tiers) == 2 * len(rows)
    for (kind, ax), row in zip(tiers, [r for r in rows for _ in (0, 1)]):
        intervals = [iv for iv in getattr(alignment, kind)
                     if iv.label and iv.end > row.start and iv.start < row.end]
        texts = ax.texts
        assert len(texts) == len(intervals), f"{kind} {row}: {len(texts)} of {len(intervals)}"
        frame = ax.get_window_extent(renderer)
        boxes = []
        for text, iv in zip(texts, intervals):
            assert shown(text.get_text(), iv.label), (text.get_text(), iv.label)
            assert text.get_fontsize() >= _MIN_FONT
            box = text.get_window_extent(renderer)
            assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, text.get_text()
            assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, text.get_text()
            boxes.append(box)
        order = sorted(range(len(boxes)), key=lambda k: boxes[k].x0)
        for n, a in enumerate(order):  # sweep: only boxes starting before a's end can touch it
            for b in order[n + 1:]:
                if boxes[b].x0 >= boxes[a].x1:
                    break
                overlap_x = min(boxes[a].x1, boxes[b].x1) - max(boxes[a].x0, boxes[b].x0)
                overlap_y = min(boxes[a].y1, boxes[b].y1) - max(boxes[a].y0, boxes[b].y0)
                assert overlap_x <= 0.5 or overlap_y <= 0.5, (
                    f"{texts[a].get_text()!r} overlaps {texts[b].get_text()!r}")


def test_fast_speech_every_word_and_phone_is_labelled_without_overlap():
    al = fast_speech(12.0)
    plan = layout(speechlike(12.0), SR, al)
    assert len(plan.pages) == 1
    fig = draw_page(plan, 0)
    assert "too short" not in fig.get_suptitle()
    assert_labels_readable(fig, al, plan, 0)
    # Every 300 ms word is labelled in full at the default scale, however long its spelling.
    full = {t.get_text().split("\n")[0] for kind, ax in tier_axes(fig) if kind == "words"
            for t in ax.texts}
    assert {"internationalization", "responsibilities", "extraordinary"} <= full
    # Some labels had to leave their box: staggered or rotated, not dropped.
    phone_texts = [t for kind, ax in tier_axes(fig) if kind == "phones" for t in ax.texts]
    assert any(t.get_rotation() == 90 for t in phone_texts)
    assert any(t.get_bbox_patch() is not None for t in phone_texts)


def test_300ms_words_with_very_long_spellings_are_still_labelled():
    """Back-to-back 300 ms words whose full spelling cannot fit anywhere: each still gets a
    label (its first letters and "…") and none overlaps another."""
    word = "pneumonoultramicroscopicsilicovolcanoconiosis"
    words = [Interval(0.1 + 0.3 * k, 0.4 + 0.3 * k, f"{word}{k}") for k in range(14)]
    al = Alignment(words, [], 4.5)
    plan = layout(speechlike(4.5), SR, al)
    fig = draw_page(plan, 0)
    assert "too short" not in fig.get_suptitle()
    assert_labels_readable(fig, al, plan, 0)
    texts = [t.get_text() for kind, ax in tier_axes(fig) if kind == "words" for t in ax.texts]
    assert any(t.endswith("…") and len(t) >= 8 for t in texts)  # abbreviated, not to a stub


class FakeMeasure:
    """6 pixels per character at size 8, 10 pixels per line: predictable geometry."""

    def __call__(self, text: str, size: float) -> tuple[float, float]:
        lines = text.split("\n")
        return max(len(line) for line in lines) * 6 * size / 8, 10 * size / 8 * len(lines)


def test_place_labels_prefers_the_box_then_staggers_then_abbreviates():
    spans = [(0, 100, "wide"), (100, 110, "AH0"), (110, 120, "ER1"), (120, 220, "box"),
             (220, 226, "AH1"), (226, 232, "K")]
    labels, hidden = place_labels(spans, 60, 400, 8.0, FakeMeasure(), ["0.91", None, None,
                                                                       None, None, None])
    assert hidden == 0 and [lb.index for lb in labels] == list(range(6))
    assert labels[0].text == "wide\n0.91" and labels[0].in_box and labels[0].size == 8.0
    # Too wide for 10 px: above the middle, the next below it, centred on their boxes.
    assert not labels[1].in_box and not labels[2].in_box and labels[1].y != labels[2].y
    assert abs(labels[1].x - 105) < 1e-9 and abs(labels[2].x - 115) < 1e-9
    assert labels[3].text == "box" and labels[3].in_box
    # Both lanes are taken over x = 223 by the neighbours: the stressless form goes where it can.
    assert labels[5].text == "K"
    assert all(lb.size >= _MIN_FONT for lb in labels)
    # With no room at all (a 1-pixel box and lanes too short), the label is counted, not drawn.
    labels, hidden = place_labels([(0, 1, "internationalization")], 8, 20, 8.0, FakeMeasure())
    assert labels == [] and hidden == 1


# ------------------------------------------------------------------------------ rows and pages

def test_25s_recording_is_cut_into_rows_at_pauses_on_one_page(tmp_path):
    al = make_alignment(25.0, with_alpha=True)
    rows = layout_rows([al], Window(0.0, 25.0))
    assert 5 <= len(rows) <= ROWS_PER_PAGE  # every row but the last at least 85% full
    assert rows[0].start == 0.0 and rows[-1].end == 25.0
    assert all(a.end == b.start for a, b in zip(rows, rows[1:]))  # contiguous
    assert all(r.end - r.start <= ROW_SECONDS + 1e-9 for r in rows)
    for r in rows[:-1]:  # rows end between words, never inside one
        assert not any(iv.start < r.end < iv.end for iv in al.words if iv.label), r
    plan = layout(speechlike(25.0), SR, al)
    assert plan.rows == rows and len(plan.pages) == 1 and plan.row_span == ROW_SECONDS
    out = tmp_path / "x.png"
    assert plot_alignment(speechlike(25.0), SR, al, out) == [out]
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(al, rows=len(rows))
    assert_not_blank(gray)
    # Each row's panels share one time scale: ROW_SECONDS across the plot width.
    fig = draw_page(plan, 0)
    spans = {round(ax.get_xlim()[1] - ax.get_xlim()[0], 9) for ax in fig.axes}
    assert spans == {ROW_SECONDS}


def test_long_recording_writes_pages_last_first(tmp_path):
    duration = 36.0
    al = make_alignment(duration, with_alpha=False)
    audio = speechlike(duration)
    plan = layout(audio, SR, al)
    assert len(plan.rows) > ROWS_PER_PAGE and len(plan.pages) == 2
    out = tmp_path / "rec.png"
    (tmp_path / "rec.page3.png").write_bytes(b"left by a longer plot")
    written = plot_alignment(audio, SR, al, out)
    assert written == page_paths(out, 2) == [out, tmp_path / "rec.page2.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.page2.png", "rec.png"]
    for path, rows in zip(written, plan.pages):
        gray = read_png(path)
        assert (gray.shape[1], gray.shape[0]) == image_size(al, rows=len(rows))
        assert_not_blank(gray)
    # The first page is renamed into place last: if it exists, every page does.
    assert out.stat().st_mtime_ns >= written[1].stat().st_mtime_ns
    # --start/--end still draws exactly the window asked for.
    plan = layout(audio, SR, al, start=10.0, end=13.0)
    assert plan.rows == [Window(10.0, 13.0)]


def test_spectrogram_and_wave_scales_are_fixed_for_the_whole_recording():
    """A loud half and a near-silent half, drawn in rows and in separate windows: the grey
    range is the recording's loudest cell and 70 dB below it everywhere, so the quiet half
    stays white instead of being stretched to look as dark as speech."""
    audio = np.concatenate([speechlike(4.0), np.zeros(4 * SR, np.float32)])
    audio[4 * SR:] += 1e-4 * np.random.default_rng(0).standard_normal(4 * SR).astype(np.float32)
    al = make_alignment(8.0, with_alpha=False)
    top, _ = spectrogram_range(audio, SR)
    images, waves, rows = [], [], 0
    for start, end, row_seconds in [(None, None, 2.0), (0.5, 1.5, None), (5.0, 6.5, None)]:
        plan = layout(audio, SR, al, start=start, end=end, row_seconds=row_seconds)
        fig = draw_page(plan, 0)
        images += [img for ax in fig.axes for img in ax.get_images()]
        waves += [ax.get_ylim() for ax in fig.axes if ax.get_ylabel() == "wave"]
        rows += len(plan.rows)
    assert len(images) == len(waves) == rows >= 4 + 1 + 1
    assert {img.get_clim() for img in images} == {(top - 70.0, top)}
    assert len(set(waves)) == 1
    loud, quiet = images[-2], images[-1]  # the two windows
    assert (loud.get_array() > top - 60).mean() > 0.05
    assert (quiet.get_array() > top - 60).mean() < 0.001


def test_spectrogram_drops_an_empty_band():
    """A recording with nothing above 4 kHz (telephone speech resampled to 16 kHz) is drawn
    0-4 kHz; one with energy up to 8 kHz keeps it."""
    t = np.arange(2 * SR) / SR
    fade = np.hanning(t.size)  # no click at the ends: a click has energy at every frequency
    narrow = (fade * (0.5 * np.sin(2 * np.pi * 700 * t) + 0.3 * np.sin(2 * np.pi * 3100 * t))
              ).astype(np.float32)
    assert spectrogram_range(narrow, SR)[1] == 4000.0
    assert spectrogram_range(speechlike(2.0), SR)[1] == 8000.0  # white noise in it


def test_frame_weight_panel_is_named_scaled_and_explained():
    al = make_alignment(12.0, with_alpha=True, seed=4)
    plan = layout(speechlike(12.0), SR, al, row_seconds=4.0)
    assert len(plan.pages) == 1 and len(plan.rows) >= 3
    fig = draw_page(plan, 0)
    panels = [ax for ax in fig.axes if ax.get_ylabel() == "frame\nweight"]
    assert len(panels) == len(plan.rows)
    rel = np.asarray(al.alpha) * len(al.alpha)
    assert {ax.get_ylim() for ax in panels} == {(0.0, max(1.5, 1.1 * rel.max()))}
    for ax, row in zip(panels, plan.rows):
        curve = ax.get_lines()[0]
        frames = np.round(curve.get_xdata() / 0.01 - 0.5).astype(int)
        assert abs(frames[0] - row.start / 0.01) <= 1
        assert np.allclose(curve.get_ydata(), rel[frames])
        assert any(line.get_ydata()[0] == 1.0 and line.get_linestyle() == ":"
                   for line in ax.get_lines()[1:])
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "1.0 (dotted) = an average frame's share" in caption
    assert "an average frame's share" in " ".join(t.get_text() for t in panels[0].texts)
    # Without frame weights (a TextGrid): neither the panel nor its explanation.
    fig = draw_page(layout(speechlike(12.0), SR, make_alignment(12.0, False)), 0)
    assert "frame weight" not in " ".join(t.get_text() for t in fig.texts)


def test_flags_are_drawn_where_they_are(tmp_path):
    """A flag on a stretch is a dark bar over the words there, its kind on it, explained in one
    more caption line; a flag on the whole recording is named in the title. A plot made from the
    JSON that holds them shows the same."""
    from aligner.checks import Flag

    al = make_alignment(4.0, with_alpha=False, seed=2)
    word = next(w for w in al.words if w.label)
    plain_size = image_size(al)
    al.flags = [Flag("low_confidence", f"word {word.label!r} ...", "words", word.start, word.end,
                     word.label),
                Flag("long_phone", "phone ...", "phones", word.start, word.start + 0.01),
                Flag("untranscribed_speech", "1.0 s of voiced speech ...", "", 3.0, 3.9),
                Flag("transcript_mismatch", "transcript fit 0.001 is very low")]
    assert image_size(al)[1] > plain_size[1]
    fig = draw_page(layout(speechlike(4.0), SR, al), 0)
    words_ax = next(ax for ax in fig.axes if ax.get_ylabel() == "words")
    bars = [p for p in words_ax.patches if p.get_facecolor()[:3] == pytest.approx((0.1, 0.1, 0.1))]
    assert sorted((round(b.get_x(), 3), round(b.get_x() + b.get_width(), 3)) for b in bars) == [
        (round(word.start, 3), round(word.end, 3)), (3.0, 3.9)]
    assert "untranscribed_speech" in [t.get_text() for t in words_ax.texts]
    assert "flagged: transcript_mismatch" in fig.texts[0].get_text() or any(
        "flagged: transcript_mismatch" in t.get_text() for t in fig.texts)
    assert any("black bar over the words" in t.get_text() for t in fig.texts)
    assert flagged_spans(al.flags)[0][2] == "long_phone, low_confidence"  # one bar, both kinds
    out = tmp_path / "f.png"
    plot_alignment(speechlike(4.0), SR, al, out)
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(al)


@pytest.mark.parametrize("row_seconds", [-1.0, 0.001, 0.49, float("nan"), float("inf")])
def test_row_seconds_must_be_sensible(row_seconds):
    with pytest.raises(PlotError, match=r"--row-seconds must be 0 \(one row\) or at least 0.5 s"):
        layout(speechlike(1.0), SR, make_alignment(1.0, False), row_seconds=row_seconds)


def test_shortest_row_seconds_and_zero_are_accepted():
    al = make_alignment(3.0, False)
    assert len(layout(speechlike(3.0), SR, al, row_seconds=0.5).rows) >= 5
    assert len(layout(speechlike(3.0), SR, al, row_seconds=0).rows) == 1


def test_replotting_removes_only_this_outputs_stale_pages(tmp_path):
    names = ["a.page2.png", "a.page3.png", "a.page10.png",  # earlier pages of a.png: stale
             "a.page02.png", "a.page2.png.bak", "a.page2.jpg", "b.page2.png", "xa.page2.png"]
    for name in names:
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "a.page4.png").mkdir()  # not a file: left alone
    out = tmp_path / "a.png"
    assert plot_alignment(speechlike(2.0), SR, make_alignment(2.0, False), out) == [out]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.png", "a.page4.png", *names[3:]])


def test_overwrites_atomically_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "sub" / "dir" / "a.png"  # parents are created
    al = make_alignment(2.0, with_alpha=False)
    plot_alignment(speechlike(2.0), SR, al, out)
    first = out.read_bytes()
    plot_alignment(speechlike(2.0), SR, al, out, start=0.5, end=1.0)
    assert out.read_bytes() != first
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.png"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_pyplot_figures_leak(tmp_path):
    import matplotlib.pyplot as plt  # only to inspect pyplot's registry

    before = len(plt.get_fignums())
    plot_alignment(speechlike(1.0), SR, make_alignment(1.0, False), tmp_path / "x.png")
    assert len(plt.get_fignums()) == before


def test_alignment_without_intervals_still_draws(tmp_path):
    out = tmp_path / "empty.png"
    al = Alignment([], [], 1.0)
    plot_alignment(speechlike(1.0), SR, al, out)
    assert_not_blank(read_png(out))


@pytest.mark.parametrize("start,end,message", [
    (-1.0, None, "negative"),
    (5.0, None, "past the end"),
    (1.0, 1.0, "must be after"),
    (1.5, 0.5, "must be after"),
    (float("nan"), None, "window --start nan: give finite times"),
    (None, float("inf"), "window --end inf: give finite times"),
])
def test_bad_windows_raise_one_line_errors(tmp_path, start, end, message):
    with pytest.raises(PlotError, match=message) as info:
        plot_alignment(speechlike(2.0), SR, make_alignment(2.0, False), tmp_path / "x.png",
                       start=start, end=end)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "x.png").exists()


def test_window_is_clipped_to_recording():
    assert resolve_window(3.0, None, None) == Window(0.0, 3.0)
    assert resolve_window(3.0, 1.0, 10.0) == Window(1.0, 3.0)


def test_stereo_samples_are_refused(tmp_path):
    with pytest.raises(PlotError, match="mono"):
        plot_alignment(np.zeros((SR, 2), np.float32), SR, make_alignment(1.0, False),
                       tmp_path / "x.png")


def test_envelope_keeps_peaks_and_bounds_points():
    x = np.zeros(SR * 60, np.float32)
    x[123_457] = 0.9   # one-sample spikes that plain decimation would drop
    x[700_001] = -0.8
    t, low, high = waveform_envelope(x, SR, Window(0.0, 60.0), columns=1000)
    assert len(t) <= 1001 and len(low) == len(high) == len(t)
    assert high.max() == pytest.approx(0.9) and low.min() == pytest.approx(-0.8)
    assert abs(t[np.argmax(high)] - 123_457 / SR) < 60.0 / 1000
    # A short window keeps every sample.
    t, low, high = waveform_envelope(x, SR, Window(7.0, 7.01), columns=1000)
    assert len(t) == 160 and np.array_equal(low, high)


def test_spectrogram_finds_a_tone_and_bounds_columns():
    t = np.arange(SR * 2) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    times, freqs, db = spectrogram(tone, SR, Window(0.5, 1.5))
    assert db.shape == (len(freqs), len(times))
    assert freqs[-1] <= 8000
    peak = freqs[np.argmax(db.mean(axis=1))]
    assert abs(peak - 1000) <= freqs[1] - freqs[0]
    assert times[0] >= 0.5 - 1e-9 and times[-1] < 1.5
    # Hour-long window: the frame count is bounded by the picture, not the file.
    long = np.zeros(SR * 3600, np.float32)
    times, freqs, db = spectrogram(long, SR, Window(0.0, 3600.0), max_columns=1500)
    assert len(times) <= 1500
    assert np.isfinite(db).all()


# ------------------------------------------------------------------------------ CLI

def _run(args: list[str]):
    from typer.testing import CliRunner

    from aligner.cli import app

    return CliRunner().invoke(app, args)


@pytest.fixture
def recording(tmp_path, write_wav):
    return write_wav(tmp_path / "rec.wav", speechlike(3.0))


def test_cli_plots_a_textgrid(tmp_path, recording):
    from aligner.formats import write_textgrid

    al = make_alignment(3.0, with_alpha=False)
    tg = write_textgrid(al, tmp_path / "rec.TextGrid")
    out = tmp_path / "pic.png"
    result = _run(["plot", str(recording), str(tg), "-o", str(out), "--start", "0.5",
                   "--end", "2.5"])
    assert result.exit_code == 0, result.output
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(al)  # no alpha: not in TextGrids
    assert_not_blank(gray)


def test_cli_plots_a_hand_labelled_textgrid_without_aligning_it(tmp_path, recording, monkeypatch):
    """Tiers 'word' and 'phone' (praatio's example) are someone's alignment to draw; they were
    taken for a transcript and each phone aligned as an utterance."""
    from praatio import textgrid

    import aligner.cli.plot as plot_cli

    tg = textgrid.Textgrid(0, 3.0)
    tg.addTier(textgrid.IntervalTier("word", [(0.5, 1.2, "mary"), (1.2, 2.0, "rolled")], 0, 3.0))
    tg.addTier(textgrid.IntervalTier("phone", [(0.5, 0.8, "m"), (0.8, 1.2, "ə"), (1.2, 2.0, "r")], 0, 3.0))
    tg.save(str(tmp_path / "gold.TextGrid"), format="long_textgrid", includeBlankSpaces=True)

    def no_model(*args, **kwargs):
        raise AssertionError("the TextGrid was aligned as a transcript")

    monkeypatch.setattr(plot_cli, "load_aligner", no_model)
    out = tmp_path / "gold.png"
    result = _run(["plot", str(recording), str(tmp_path / "gold.TextGrid"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert_not_blank(read_png(out))


def test_cli_plots_the_tiers_a_hand_labelled_textgrid_is_told_to(tmp_path, recording, monkeypatch):
    """emuR's TextGrids hold Word (an accent class, "C"), Text (the words), Phoneme (canonical)
    and Phonetic (what was said): the guess drew the first two, with no way to choose; a note now
    says which were read, and --gold-tiers names others, as for evaluate."""
    from praatio import textgrid

    import aligner.cli.plot as plot_cli

    tg = textgrid.Textgrid(0, 3.0)
    for name, entries in (("Word", [(0.5, 2.0, "C")]), ("Text", [(0.5, 2.0, "mary")]),
                          ("Phoneme", [(0.5, 2.0, "m")]), ("Phonetic", [(0.5, 2.0, "n")])):
        tg.addTier(textgrid.IntervalTier(name, entries, 0, 3.0))
    path = tmp_path / "emu.TextGrid"
    tg.save(str(path), format="long_textgrid", includeBlankSpaces=True)
    import aligner.plot as plot_module

    drawn, real = [], plot_module.plot_alignment
    monkeypatch.setattr(plot_cli, "load_aligner", lambda *a, **k: pytest.fail("aligned"))

    def spy(samples, rate, alignments, *args, **kwargs):  # the labels drawn, then the picture
        drawn.append([iv.label for a in alignments for iv in (*a.words, *a.phones) if iv.label])
        return real(samples, rate, alignments, *args, **kwargs)

    monkeypatch.setattr(plot_module, "plot_alignment", spy)
    guessed = _run(["plot", str(recording), str(path), "-o", str(tmp_path / "a.png")])
    assert guessed.exit_code == 0 and "read words from tier 'Word'" in guessed.output
    chosen = _run(["plot", str(recording), str(path), "-o", str(tmp_path / "b.png"),
                   "--gold-tiers", "Text,Phonetic"])
    assert chosen.exit_code == 0, chosen.output
    assert drawn == [["C", "m"], ["mary", "n"]]
    bad = _run(["plot", str(recording), str(path), "-o", str(tmp_path / "c.png"),
                "--gold-tiers", "Text"])
    assert bad.exit_code == 2 and "WORDS,PHONES" in bad.output


def test_cli_plots_json_and_picks_speaker(tmp_path, recording):
    from aligner.formats import write_json

    a = make_alignment(3.0, False, seed=1)
    a.speaker = "ann"
    b = make_alignment(3.0, False, seed=2)
    b.speaker = "bob"
    path = write_json([a, b], tmp_path / "rec.json")
    result = _run(["plot", str(recording), str(path)])
    assert result.exit_code == 0, result.output
    gray = read_png(tmp_path / "rec.png")  # default output: beside the alignment
    assert (gray.shape[1], gray.shape[0]) == image_size([a, b])  # both speakers' tiers
    result = _run(["plot", str(recording), str(path), "--speaker", "bob", "-o",
                   str(tmp_path / "bob.png")])
    assert result.exit_code == 0, result.output
    gray = read_png(tmp_path / "bob.png")
    assert (gray.shape[1], gray.shape[0]) == image_size(b)
    result = _run(["plot", str(recording), str(path), "--speaker", "cat"])
    assert result.exit_code == 2
    assert "no speaker 'cat'" in result.output
    write_json(make_alignment(3.0, False, seed=1), tmp_path / "one.json")
    result = _run(["plot", str(recording), str(tmp_path / "one.json"), "--speaker", "cat"])
    assert result.exit_code == 2 and "(its tiers name no speaker)" in result.output, result.output


def test_cli_plots_our_csv(tmp_path, recording):
    """Our CSV is an alignment too (it was refused as "not a transcript")."""
    from aligner.formats import write_csv

    a = make_alignment(3.0, False, seed=1)
    path = write_csv(a, tmp_path / "rec.csv")
    result = _run(["plot", str(recording), str(path), "-o", str(tmp_path / "csv.png")])
    assert result.exit_code == 0, result.output
    gray = read_png(tmp_path / "csv.png")
    assert (gray.shape[1], gray.shape[0]) == image_size(a)


def test_cli_plots_our_ctm_with_its_phones_beside_it(tmp_path, recording):
    """`-f ctm` writes x.ctm and x.phones.ctm: plot draws them (it said a .ctm "is read as an
    alignment or subtitles, not a transcript"), read as evaluate reads them; a CTM of two
    utterances is refused by name."""
    from aligner.formats import write_ctm

    a = make_alignment(3.0, False, seed=1)
    write_ctm(a, tmp_path / "rec.ctm", tmp_path / "rec.phones.ctm", "rec")
    result = _run(["plot", str(recording), str(tmp_path / "rec.ctm"), "-o",
                   str(tmp_path / "ctm.png")])
    assert result.exit_code == 0, result.output
    gray = read_png(tmp_path / "ctm.png")
    assert (gray.shape[1], gray.shape[0]) == image_size(a)
    two = tmp_path / "two.ctm"
    two.write_text("u1 1 0.1 0.2 hello 0.9\nu2 1 0.3 0.2 world 0.9\n", encoding="utf-8")
    result = _run(["plot", str(recording), str(two), "-o", str(tmp_path / "two.png")])
    assert result.exit_code == 2 and "holds 2 utterances (u1, u2)" in result.output, result.output


def test_cli_aligns_on_the_fly_and_draws_alpha(tmp_path, recording, tiny_model_dir):
    txt = tmp_path / "rec.txt"
    txt.write_text("don't visit Zürich\n", encoding="utf-8")
    out = tmp_path / "fly.png"
    result = _run(["plot", str(recording), str(txt), "-o", str(out), "--model",
                   str(tiny_model_dir), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    gray = read_png(out)
    from aligner import Aligner

    flags = Aligner.load(tiny_model_dir, device="cpu").align(recording, txt).flags
    with_alpha = image_size(Alignment([], [], 1.0, alpha=[1.0], flags=flags))
    assert (gray.shape[1], gray.shape[0]) == with_alpha  # the OTTC model's alpha is drawn
    txt.write_text("hello " * 2000, encoding="utf-8")  # far too long: the error names the file
    result = _run(["plot", str(recording), str(txt), "-o", str(out), "--model",
                   str(tiny_model_dir), "--device", "cpu"])
    assert result.exit_code == 2 and f"{recording}: the audio is" in result.output, result.output


@pytest.mark.parametrize("args,message", [
    (["--start", "10"], "past the end"),
    (["--dpi", "0"], "--dpi"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, recording, args, message):
    from aligner.formats import write_textgrid

    tg = write_textgrid(make_alignment(3.0, False), tmp_path / "rec.TextGrid")
    result = _run(["plot", str(recording), str(tg), "-o", str(tmp_path / "x.png"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


def test_cli_missing_files_exit_2(tmp_path, recording):
    result = _run(["plot", str(tmp_path / "none.wav"), str(tmp_path / "none.TextGrid")])
    assert result.exit_code == 2 and "none.wav" in result.output
    result = _run(["plot", str(recording), str(tmp_path / "none.TextGrid")])
    assert result.exit_code == 2 and "none.TextGrid" in result.output


def test_missing_matplotlib_is_a_one_line_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import now fails
    with pytest.raises(PlotError, match=r"pip install 'ottc-align\[plot\]'"):
        plot_alignment(speechlike(1.0), SR, make_alignment(1.0, False), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_cli_long_recording_pages_and_row_seconds(tmp_path, write_wav):
    from aligner.formats import write_textgrid

    wav = write_wav(tmp_path / "long.wav", speechlike(36.0))
    tg = write_textgrid(make_alignment(36.0, with_alpha=False), tmp_path / "long.TextGrid")
    result = _run(["plot", str(wav), str(tg)])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'long.png'} (+1 page: long.page2.png)" in result.output
    assert (tmp_path / "long.page2.png").exists()
    out = tmp_path / "one.png"
    result = _run(["plot", str(wav), str(tg), "-o", str(out), "--row-seconds", "0"])
    assert result.exit_code == 0, result.output
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(make_alignment(1.0, False), rows=1)
    assert not (tmp_path / "one.page2.png").exists()
    for bad in ("-2", "0.001"):
        result = _run(["plot", str(wav), str(tg), "-o", str(tmp_path / "bad.png"),
                       "--row-seconds", bad])
        assert result.exit_code == 2 and "--row-seconds must be 0 (one row) or at least 0.5 s" in result.output
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
        assert not (tmp_path / "bad.png").exists()


@pytest.mark.parametrize("name", ["p.txt", "p.pdf", "p"])
def test_cli_refuses_an_output_that_is_not_png(tmp_path, recording, name):
    """A PNG written under p.txt exited 0: refused as `align` refuses a suffix it cannot write."""
    from aligner.formats import write_textgrid

    tg = write_textgrid(make_alignment(3.0, False), tmp_path / "rec.TextGrid")
    result = _run(["plot", str(recording), str(tg), "-o", str(tmp_path / name)])
    assert result.exit_code == 2, result.output
    assert f"-o {tmp_path / name}: plots are PNG" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / name).exists()
    assert _run(["plot", str(recording), str(tg), "-o", str(tmp_path / "p.PNG")]).exit_code == 0


def test_plotting_another_recordings_alignment_is_refused(tmp_path, tiny_model_dir):
    """An alignment made for a longer recording, or a TextGrid made for a shorter one, is
    refused (exit 2, nothing drawn) with one line naming both files; the recording's own
    alignment draws without a warning."""
    from cli_helpers import cli, write_pair
    from conftest import speechlike

    wav, txt = write_pair(tmp_path, "long", np.concatenate([speechlike(2.0), np.zeros(16000)]))
    short_wav, short_txt = write_pair(tmp_path, "short", speechlike(1.5))
    tg = tmp_path / "long.TextGrid"
    assert cli(wav, txt, "-m", tiny_model_dir, "-o", tmp_path, "-f", "textgrid,csv", "-q").exit_code == 0
    assert cli(short_wav, short_txt, "-m", tiny_model_dir, "-o", tmp_path, "-q").exit_code == 0
    for own_file in (tg, tmp_path / "long.csv"):  # a CSV ends with its last word: no warning
        own = cli("plot", wav, own_file, "-o", tmp_path / "own.png", "-q")
        assert own.exit_code == 0 and "warning" not in own.stderr
    other = cli("plot", short_wav, tg, "-o", tmp_path / "other.png", "-q")
    assert other.exit_code == 2 and not (tmp_path / "other.png").exists()
    assert other.stderr.startswith("error:") and len(other.stderr.strip().splitlines()) == 1
    assert "long.TextGrid" in other.stderr and "short.wav lasts 1.50 s" in other.stderr
    shorter = cli("plot", wav, tmp_path / "short.TextGrid", "-o", tmp_path / "s.png", "-q")
    assert shorter.exit_code == 2 and not (tmp_path / "s.png").exists()  # a TextGrid ends with
    assert "short.TextGrid was made for 1.50 s" in shorter.stderr  # its recording: another's


def test_a_small_confidence_is_not_shown_as_zero():
    from aligner.plot import confidence_text

    assert [confidence_text(c) for c in (0.83, 0.01, 0.001006, 0.000042)] == ["0.83", "0.01", "0.001", "4.2e-05"]


def test_word_confidence_is_coloured_on_a_log_scale_from_the_flag_threshold():
    """Correct words of real speech have a median confidence near 0.08: on a linear scale they
    were all red. Red is at the `low_confidence` threshold, green at 1, the middle between."""
    from aligner.checks import Thresholds
    from aligner.plot import confidence_shade

    low = Thresholds().min_word_confidence
    assert confidence_shade(low / 10) == confidence_shade(low) == 0.0
    assert confidence_shade(1.0) == 1.0
    assert confidence_shade(math.sqrt(low)) == pytest.approx(0.5)
    assert 0.55 < confidence_shade(0.08) < 0.7
