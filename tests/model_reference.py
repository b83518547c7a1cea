"""The acoustic model's encoder as first written (channels-first, 1x1 convs, ConvTranspose1d).

Kept only to check that the faster channels-last encoder in aligner/model.py computes the same
function with the same weights (tests/test_model.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from aligner.model import AcousticModel
from aligner.ottc import valid_mask


def _channel_norm(norm, x: Tensor) -> Tensor:
    """LayerNorm over the channels of a channels-first [B, D, T] tensor."""
    return norm.norm(x.transpose(1, 2)).transpose(1, 2)


def reference_encode(model: AcousticModel, feats: Tensor, lengths: Tensor) -> Tensor:
    b, t, _ = feats.shape
    mask = valid_mask(lengths, t)
    x = model.normalise(feats, mask).transpose(1, 2)
    m1 = mask[:, None, :].to(x.dtype)
    skip = F.gelu(_channel_norm(model.stem_norm, model.stem(x))) * m1
    t2 = (t + 1) // 2
    skip_in = F.pad(skip, (0, 1)) if t % 2 else skip
    h = model.down(skip_in)[..., :t2]
    lengths2 = torch.div(lengths + 1, 2, rounding_mode="floor")
    m2 = valid_mask(lengths2, t2)[:, None, :].to(x.dtype)
    h = h * m2
    for block in model.blocks:
        y = block.depthwise(h)
        y = _channel_norm(block.norm, y)
        y = block.down(F.gelu(block.up(y)))
        h = (h + block.drop(y)) * m2
    y = (model.up(h)[..., :t] + skip) * m1
    y = F.gelu(model.fuse(y)) * m1
    return model.out_norm(y.transpose(1, 2))
