"""The acoustic model: shapes at 10 ms, padding invariance, and safe save/load with checks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from aligner.features import FeatureConfig
from aligner.model import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    AcousticModel,
    ModelConfig,
    ModelError,
    copy_model,
    load_config,
    load_model,
    save_model,
)
from aligner.text.phones import VOCAB


def small_config(**kw) -> ModelConfig:
    return ModelConfig(fine_dim=16, dim=24, blocks=2, kernel=5, dropout=0.0, **kw)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def model() -> AcousticModel:
    torch.manual_seed(0)
    return AcousticModel(small_config()).eval()


@pytest.mark.parametrize("t", [1, 2, 7, 100, 101])
def test_output_keeps_the_10ms_frame_rate(model, t):
    lp, w = model(torch.randn(1, t, 80), torch.tensor([t]))
    assert lp.shape == (1, t, len(VOCAB)) and w.shape == (1, t)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(1, t))


def test_padding_does_not_change_valid_frames(model):
    torch.manual_seed(1)
    a, b = torch.randn(57, 80), torch.randn(40, 80)
    batch = torch.zeros(2, 57, 80)
    batch[0], batch[1, :40] = a, b
    lp, w = model(batch, torch.tensor([57, 40]))
    lp_b, w_b = model(b[None], torch.tensor([40]))
    torch.testing.assert_close(lp[1, :40], lp_b[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w[1, :40], w_b[0], atol=1e-5, rtol=1e-5)
    assert bool(torch.isneginf(w[1, 40:]).all())  # padded frames never get alpha mass


def test_gain_does_not_change_outputs(model):
    # Per-utterance normalisation: a louder copy (a constant added to log-mels) looks the same.
    x = torch.randn(1, 50, 80)
    lp1, _ = model(x, torch.tensor([50]))
    lp2, _ = model(x + 3.0, torch.tensor([50]))
    torch.testing.assert_close(lp1, lp2, atol=1e-4, rtol=1e-4)


def test_save_load_roundtrip(model, tmp_path):
    save_model(model, tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {WEIGHTS_FILE, CONFIG_FILE}
    loaded = load_model(tmp_path / "m")
    assert not loaded.training and loaded.config == model.config
    x = torch.randn(1, 30, 80)
    torch.testing.assert_close(loaded(x, torch.tensor([30])), model(x, torch.tensor([30])))


def test_a_save_that_fails_midway_keeps_the_previous_model(model, tmp_path, monkeypatch):
    # Training rewrites last/ and best/ every epoch: a full disk or a kill mid-save must leave
    # the previous epoch's files whole, and no half-written file beside them.
    save_model(model, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}

    def half_written(state, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", half_written)
    torch.manual_seed(5)
    with pytest.raises(OSError, match=f"{WEIGHTS_FILE}: cannot write .No space left"):
        save_model(AcousticModel(small_config()), tmp_path / "m")
    assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == before
    assert (tmp_path / "m" / WEIGHTS_FILE).stat().st_mode & 0o777 == 0o644
    assert load_model(tmp_path / "m").config == model.config


def test_copy_model_copies_like_copy2_and_never_leaves_a_partial_file(model, tmp_path, monkeypatch):
    # train's output and the model adapt keeps are copies of a model directory
    save_model(model, tmp_path / "m")
    (tmp_path / "m" / "MODEL_CARD.md").write_text("# card\n")
    os.chmod(tmp_path / "m" / "MODEL_CARD.md", 0o640)
    copy_model(tmp_path / "m", tmp_path / "out")
    for f in (tmp_path / "m").iterdir():
        g, a, b = tmp_path / "out" / f.name, f.stat(), (tmp_path / "out" / f.name).stat()
        assert g.read_bytes() == f.read_bytes()
        assert (b.st_mode, b.st_mtime_ns) == (a.st_mode, a.st_mtime_ns)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    torch.manual_seed(5)
    save_model(AcousticModel(small_config()), tmp_path / "other")

    def half_copied(src, dst, *args, **kwargs):
        Path(dst).write_bytes(b"\0" * 10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", half_copied)
    with pytest.raises(OSError, match="cannot write .No space left"):
        copy_model(tmp_path / "other", tmp_path / "out")
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_env_var_selects_the_default_model(model, tmp_path, monkeypatch):
    save_model(model, tmp_path / "m")
    monkeypatch.setenv("OTTC_ALIGN_MODEL", str(tmp_path / "m"))
    assert load_model(None).config.dim == 24


def _edit_config(path, **changes):
    data = json.loads((path / CONFIG_FILE).read_text())
    data.update(changes)
    (path / CONFIG_FILE).write_text(json.dumps(data))


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda p: (p / WEIGHTS_FILE).write_bytes(b"not a tensor file"), "damaged"),
        (lambda p: (p / WEIGHTS_FILE).write_bytes((p / WEIGHTS_FILE).read_bytes()[:200]), "damaged"),
        (lambda p: (p / WEIGHTS_FILE).unlink(), "weights not found"),
        (lambda p: (p / CONFIG_FILE).write_text("{oops"), "not valid JSON"),
        (lambda p: _edit_config(p, format_version=99), "format version"),
        (lambda p: _edit_config(p, phones=["a", "b"]), "phone set"),
        (lambda p: _edit_config(p, dim=32), "shape"),
        (lambda p: _edit_config(p, blocks=3), "do not match"),
        (lambda p: _edit_config(p, colour="red"), "unknown settings"),
        # voicing, levels and flags are on the 10 ms grid at 16 kHz: a model off it would
        # have its word ends and flags placed at the wrong times without a word said
        (lambda p: _edit_config(p, features={**FeatureConfig().to_dict(), "hop_length": 80}),
         "10 ms frame grid"),
        (lambda p: _edit_config(p, features={**FeatureConfig().to_dict(), "sample_rate": 8000}),
         "10 ms frame grid"),
    ],
)
def test_bad_model_files_raise_model_error_naming_the_file(model, tmp_path, damage, match):
    path = tmp_path / "m"
    save_model(model, path)
    damage(path)
    with pytest.raises(ModelError, match=match) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message


def test_missing_directory(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nowhere")


def test_config_loads_without_the_weights_and_is_checked_the_same(model, tmp_path):
    """`adapt` needs only the base model's name: the config alone is read (damaged weights do
    not matter), found as load_model finds it, and a bad config is the same one-line error."""
    path = tmp_path / "m"
    save_model(model, path)
    (path / WEIGHTS_FILE).write_bytes(b"not a tensor file")
    assert load_config(path) == model.config == load_config(path / CONFIG_FILE)
    with pytest.raises(ModelError, match="damaged"):
        load_model(path)
    _edit_config(path, format_version=99)
    with pytest.raises(ModelError, match="format version") as info:
        load_config(path)
    assert str(path) in str(info.value)
    with pytest.raises(ModelError, match="nowhere: model directory not found"):
        load_config(tmp_path / "nowhere")


def test_shipped_model_loads_if_present():
    from aligner.model import default_model_dir

    if not (default_model_dir() / WEIGHTS_FILE).is_file():
        pytest.skip("no shipped model in this checkout")
    model = load_model(None)
    assert model.config.loss == "ottc" and model.config.phones == list(VOCAB)
    size = sum(p.stat().st_size for p in default_model_dir().iterdir())
    assert size <= 25 * 1024 * 1024


def test_first_model_dir_prefers_a_directory_with_a_model(tmp_path):
    from aligner.model import CONFIG_FILE, first_model_dir

    beside, installed = tmp_path / "checkout", tmp_path / "share"
    assert first_model_dir([beside, installed]) == beside  # none: name the first place
    installed.mkdir()
    (installed / CONFIG_FILE).write_text("{}")
    assert first_model_dir([beside, installed]) == installed
    beside.mkdir()
    (beside / CONFIG_FILE).write_text("{}")
    assert first_model_dir([beside, installed]) == beside


def test_wheel_carries_every_file_of_the_shipped_model():
    """pyproject's data-files must list exactly the files in models/english, or a wheel
    install would lack (or fail on) part of the model."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    listed = config["tool"]["setuptools"]["data-files"]["share/ottc-align/models/english"]
    present = sorted(f"models/english/{p.name}" for p in (root / "models" / "english").iterdir()
                     if p.is_file())
    assert sorted(listed) == present


@pytest.mark.parametrize("lengths,dilations", [([37], [1]), ([64, 51], [1]), ([101, 100, 7], [1]),
                                               ([64, 51], [1, 2])])
def test_channels_last_encoder_matches_the_reference(lengths, dilations):
    """The fast encoder (matrix products, every layer channels-last) is the same function as
    the straightforward conv version, with padding, odd lengths and dilated blocks, forward
    and backward."""
    from model_reference import reference_encode

    torch.manual_seed(0)
    m = AcousticModel(ModelConfig(dropout=0.0, dilations=dilations))
    lens = torch.tensor(lengths)
    feats = torch.randn(len(lengths), max(lengths), m.config.feature_config.n_mels)
    fast = m.encode(feats, lens)
    ref = reference_encode(m, feats, lens)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
    (g_fast,) = torch.autograd.grad(fast.square().sum(), m.up.weight)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), m.up.weight)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-4, atol=1e-4)


def test_encoder_without_gradients_gives_the_training_paths_numbers():
    """Blocks add and mask in place when no gradient is kept (`Block.forward`): the same
    outputs, bit for bit, as with gradients, padding included, and the caller's features are
    left as they were."""
    torch.manual_seed(0)
    m = AcousticModel(ModelConfig(dropout=0.0)).eval()
    lens = torch.tensor([64, 51])
    feats = torch.randn(2, 64, m.config.feature_config.n_mels)
    kept = feats.clone()
    with_grad = m(feats, lens)
    with torch.inference_mode():
        without = m(feats, lens)
    assert all(torch.equal(a, b) for a, b in zip(with_grad, without))
    assert torch.equal(feats, kept)


@pytest.mark.parametrize("frames,half", [(0, 3), (1, 3), (2, 3), (3, 3), (7, 3), (8, 3), (40, 3),
                                         (5, 0), (300, 400)])
def test_windowed_sum_is_each_frames_window_summed(frames, half):
    """Against the plain sum over frames t - half .. t + half within the row, for windows wider
    than the row, as wide, and narrower."""
    from aligner.model import windowed_sum

    x = torch.randn(2, frames, 3, dtype=torch.float64)
    want = torch.stack([x[:, max(0, t - half): t + half + 1].sum(1) for t in range(frames)], 1) \
        if frames else x.clone()
    assert windowed_sum(x, half).shape == x.shape
    assert torch.allclose(windowed_sum(x, half), want)


def test_largest_values_equal_topk_with_padding_and_ties():
    """`model._largest` (numpy's partition on the CPU) gives topk's values, largest first, for
    the local loud reference's windows: -inf padding, rows of -inf alone, ties, n = 1."""
    from aligner.model import _largest

    g = torch.Generator().manual_seed(6)
    x = torch.round(torch.randn(3, 40, 81, generator=g) * 2) / 2  # many ties
    x[:, :5, :30] = float("-inf")
    x[1, 7] = float("-inf")
    for n in (1, 5, 81):
        assert torch.equal(_largest(x, n), x.topk(n, dim=-1).values)
    view = torch.nn.functional.pad(x[:, 0], (40, 40), value=float("-inf")).unfold(1, 81, 1)[:, ::10]
    assert torch.equal(_largest(view, 5), view.topk(5, dim=-1).values)  # a strided view
    assert torch.equal(_largest(x.double(), 4), x.double().topk(4, dim=-1).values)
