"""Shared fixtures: a tiny randomly initialised model and small recordings.

Tests of the aligner's plumbing must not depend on how well a model aligns, so they use a
model of a few thousand parameters saved once per session (fast to load, deterministic), and
assert structure only: tiers cover the file, no gaps or overlaps, formats parse back, exit codes.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_WAV = EXAMPLES / "allison.wav"
EXAMPLE_TXT = EXAMPLES / "allison.txt"
NOT_STRICT: frozenset[str] = frozenset()  # the flag kinds a run without --strict refuses


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised AcousticModel (seeded), saved with save_model."""
    import torch

    from aligner.model import AcousticModel, ModelConfig, save_model

    torch.manual_seed(0)
    model = AcousticModel(ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                                      name="tiny-test"))
    path = tmp_path_factory.mktemp("models") / "tiny"
    save_model(model.eval(), path)
    return path


@pytest.fixture(scope="session")
def aligner(tiny_model_dir):
    import torch

    from aligner.align import Aligner

    torch.set_num_threads(1)
    return Aligner.load(tiny_model_dir, device="cpu")


# Property tests (hypothesis): FUZZ keeps each to seconds (a failure prints its shrunk example);
# the OT functions get masses with extreme ratios (1e-300 next to 1e6, runs of zeros).
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_MASS = st.one_of(st.just(0.0), st.just(1e-300), st.floats(1e-12, 1e6, allow_nan=False),
                  st.floats(0.0, 1.0))


def extreme_masses(min_size: int, max_size: int):
    """Lists of non-negative masses with a positive, finite sum."""
    return st.lists(_MASS, min_size=min_size, max_size=max_size).filter(
        lambda xs: sum(xs) > 0 and math.isfinite(sum(xs)))


def normalised(xs):
    """The masses as a float64 tensor summing to 1."""
    import torch

    t = torch.tensor(xs, dtype=torch.float64)
    return t / t.sum()


def speechlike(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonic noise: not speech, but a signal with energy everywhere."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    carrier = sum(np.sin(2 * np.pi * f * t) for f in (150, 300, 450, 900)) / 4
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return (0.3 * carrier * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture
def example_pair(tmp_path) -> tuple[Path, Path]:
    """The example recording and transcript, copied to a fresh folder."""
    wav, txt = tmp_path / "allison.wav", tmp_path / "allison.txt"
    shutil.copy(EXAMPLE_WAV, wav)
    shutil.copy(EXAMPLE_TXT, txt)
    return wav, txt


@pytest.fixture
def write_wav():
    """write_wav(path, samples, rate) -> path; makes parent folders."""

    def _write(path: Path, samples: np.ndarray, rate: int = 16000, subtype: str | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), samples, rate, subtype=subtype)
        return path

    return _write


@pytest.fixture
def small_corpus(tmp_path, write_wav):
    """An MFA corpus of every kind of utterance: nested folders, a .lab beside a .txt, a name with
    a space, audio without a transcript, a transcript without audio, a broken recording."""
    root = tmp_path / "corpus"
    write_wav(root / "alice" / "a1.wav", speechlike(1.5, seed=1))
    (root / "alice" / "a1.lab").write_text("hello there", encoding="utf-8")
    write_wav(root / "alice" / "deep" / "a2.flac", speechlike(1.2, 8000, seed=2), 8000)
    (root / "alice" / "deep" / "a2.txt").write_text("good morning", encoding="utf-8")
    (root / "alice" / "deep" / "a2.lab").write_text("good evening", encoding="utf-8")
    write_wav(root / "bob" / "b 1.wav", speechlike(1.0, 44100, seed=3), 44100)
    (root / "bob" / "b 1.txt").write_text("zorblax is here", encoding="utf-8")
    write_wav(root / "top.wav", speechlike(1.0))  # no transcript
    (root / "bob" / "orphan.lab").write_text("nobody", encoding="utf-8")
    (root / "bob" / "broken.wav").write_text("not audio")
    (root / "bob" / "broken.lab").write_text("hello")
    return root
