"""What travels to a lent GPU machine (recipes/train/device/pack.py): the corpora as 8-bit WebP
log-mels, phone ids and gold labels. The unpacked items must be what training read here, up to
the image codec's small loss, and trainable (test_train.py trains from such a feature file)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("PIL")

from aligner.dataset import Item  # noqa: E402
from aligner.features import FeatureConfig  # noqa: E402
from recipes.train.device.pack import WIDEST, decode_feats, encode_feats, pack_items, unpack_items  # noqa: E402


def _log_mels(frames: int, seed: int) -> torch.Tensor:
    """Speech-like log-mels: smooth in time and frequency, a silent floor at the edges."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(frames // 8 + 2, 12, generator=g)
    x = torch.nn.functional.interpolate(x.T[None], size=frames, mode="linear")[0].T
    x = torch.nn.functional.interpolate(x[None], size=80, mode="linear")[0] * 3 - 4
    x[:20] = x[-20:] = -18.42  # digital silence: the log floor
    return x.to(torch.float16)


@pytest.mark.parametrize("frames", [50, 400, WIDEST + 300])  # the last is cut into two images
def test_log_mels_come_back_close(frames):
    feats = _log_mels(frames, seed=frames)
    lo, hi, images = encode_feats(feats)
    assert len(images) == -(-frames // WIDEST)
    back = decode_feats(lo, hi, images)
    assert back.shape == feats.shape and back.dtype == torch.float16
    err = (back.float() - feats.float()).abs()
    assert err.mean() < 0.5 and err.max() < 4.0  # on a scale spanning about 20
    packed_bytes = sum(len(b) for b in images)
    assert packed_bytes < feats.numel() * 2 / 8  # far smaller than the float16 cache


def test_items_keep_names_words_and_gold():
    gold = torch.tensor([0, 0, 5, 5, 5, 7, -100] * 10, dtype=torch.int16)
    items = [Item("spk/a", _log_mels(70, 1), [[3, 4], [9]], gold), Item("spk/b", _log_mels(90, 2), [[2]])]
    data = pack_items(items, FeatureConfig())
    back = unpack_items(data)
    assert FeatureConfig.from_dict(data["features"]) == FeatureConfig()
    assert [(i.name, i.words, i.frames) for i in back] == [(i.name, i.words, i.frames) for i in items]
    assert torch.equal(back[0].gold, gold) and back[1].gold is None
