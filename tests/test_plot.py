"""Tests for aligner/plot.py and the `ottc-align plot` command.

The pictures are checked for what a reader relies on: the PNG exists, has the size the layout
promises, and is not blank (pixel variance, and ink in the waveform panel where the signal is
loud); the signal reductions keep what matters (peaks, the spectral peak of a tone) while
bounding the work for long windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from aligner.alignment import Alignment, Interval  # noqa: E402
from aligner.plot import (  # noqa: E402
    DPI, PlotError, Window, _PANELS_IN, _TOP_IN, image_size, plot_alignment, plot_path,
    resolve_window,
    spectrogram, waveform_envelope,
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
    alpha = round(_PANELS_IN["alpha"] * DPI)  # several speakers: no alpha panel
    assert (gray.shape[1], gray.shape[0]) == image_size([a, b]) == (w, h + tiers - alpha)
    assert_not_blank(gray)


def test_plot_path_is_beside_the_textgrid(tmp_path):
    assert plot_path(tmp_path / "spk1" / "utt.01") == tmp_path / "spk1" / "utt.01.png"


def test_alpha_panel_adds_height():
    w0, h0 = image_size(make_alignment(3.0, with_alpha=False))
    w1, h1 = image_size(make_alignment(3.0, with_alpha=True))
    assert w0 == w1 == 1400
    assert h1 - h0 == round(_PANELS_IN["alpha"] * DPI)


def test_long_window_png(tmp_path):
    """Ten minutes with ~1500 words and ~4500 phones: drawn whole, reduced to the pixels."""
    duration = 600.0
    audio = speechlike(duration, seed=3)
    al = make_alignment(duration, with_alpha=True, seed=3)
    assert len(al.words) > 1000
    out = tmp_path / "long.png"
    plot_alignment(audio, SR, al, out)
    gray = read_png(out)
    assert (gray.shape[1], gray.shape[0]) == image_size(al)
    assert_not_blank(gray)
    assert (wave_panel(gray) < 0.5).mean() > 0.2


def test_windows_of_one_file_differ(tmp_path):
    audio = np.concatenate([speechlike(2.0), np.zeros(2 * SR, np.float32)])
    audio[2 * SR:] += 1e-3 * np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    al = make_alignment(4.0, with_alpha=False)
    loud, quiet = tmp_path / "loud.png", tmp_path / "quiet.png"
    plot_alignment(audio, SR, al, loud, start=0.0, end=1.5)
    plot_alignment(audio, SR, al, quiet, start=2.2, end=3.7)
    # Each window is scaled to its own peak, so both show ink; but they are different pictures.
    assert not np.array_equal(read_png(loud), read_png(quiet))


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
    (float("nan"), None, "finite"),
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


def test_cli_aligns_on_the_fly_and_draws_alpha(tmp_path, recording, tiny_model_dir):
    txt = tmp_path / "rec.txt"
    txt.write_text("don't visit Zürich\n", encoding="utf-8")
    out = tmp_path / "fly.png"
    result = _run(["plot", str(recording), str(txt), "-o", str(out), "--model",
                   str(tiny_model_dir), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    gray = read_png(out)
    with_alpha = image_size(Alignment([], [], 1.0, alpha=[1.0]))
    assert (gray.shape[1], gray.shape[0]) == with_alpha  # the OTTC model's alpha is drawn


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
