"""The acoustic model: log-mel frames in, phone log-probabilities and OTTC frame weights out.

Architecture (chosen for CPU speed: alignment must run hundreds of times faster than real time on
a laptop core, and the model must stay a few MB):

    log-mel [B, T, 80] -> per-utterance mean/variance normalisation (robust to gain and channel)
    -> stem: conv k=3 at 10 ms (kept as a skip path, it carries the fine timing)
    -> conv stride 2 (20 ms) -> N residual blocks (depthwise conv k, dilation cycle, pointwise
       expand/contract, layer norm): a wide receptive field at half the frame rate
    -> upsample x2 (transposed conv) + the 10 ms skip -> conv k=3 at 10 ms
    -> label head (dropout, linear -> C log-probs) and weight head (dropout, linear, GELU,
       linear -> one scalar per frame), as in the OTTC paper.

A model directory holds `model.safetensors` (weights, no pickles), `config.json` (features,
phone set, architecture, format version) and `MODEL_CARD.md`. Loading checks every part and
raises `ModelError` with a one-line message naming the file that is wrong.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aligner.atomic import atomic_open, atomic_path
from aligner.boundary_net import BoundaryNet
from aligner.features import FeatureConfig, check_frame_grid
from aligner.ottc import valid_mask
from aligner.text.phones import VOCAB

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ENV_MODEL = "OTTC_ALIGN_MODEL"


class ModelError(ValueError):
    """A model directory is missing, damaged or incompatible (one-line message naming the file)."""


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network and feed it, stored as config.json."""

    fine_dim: int = 96  # width of the 10 ms path (stem, skip, fuse, heads)
    dim: int = 128  # width of the 20 ms body
    expand: int = 2
    blocks: int = 6
    kernel: int = 9
    dilations: list[int] = field(default_factory=lambda: [1])
    dropout: float = 0.1
    features: dict = field(default_factory=lambda: FeatureConfig().to_dict())
    phones: list[str] = field(default_factory=lambda: list(VOCAB))
    loss: str = "ottc"  # "ottc" or "ctc": how the model was trained, which decoder suits it
    sil_mass: float = 0.5  # beta mass of an optional silence token relative to a phone (OTTC)
    phone_mass: dict[str, float] = field(default_factory=dict)  # relative beta per phone; absent = 1
    states: int = 1  # ordered sub-phonetic states per phone (aligner/states.py); 1 = phone classes
    norm_top_db: float = 0.0  # statistics over frames within this of the loud ones; 0 = all frames
    norm_level: str = "power"  # what those dB rank (NORM_LEVELS); a config without it: "mean"
    norm_local_s: float = 0.0  # statistics from this many seconds either side of a frame; 0 = all
    boundary_net: dict = field(default_factory=dict)  # BoundaryNet's sizes; empty = none
    norm_prior: dict = field(default_factory=dict)  # speech's statistics (NormPrior); empty = none
    name: str = "ottc-english"
    version: str = "0.1.0"
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        check_frame_grid(self.feature_config)
        if self.norm_level not in NORM_LEVELS:
            raise ValueError(f"norm_level must be one of {', '.join(NORM_LEVELS)}, "
                             f"got {self.norm_level!r}")

    @property
    def feature_config(self) -> FeatureConfig:
        return FeatureConfig.from_dict(self.features)

    @property
    def n_classes(self) -> int:
        """Label-head outputs: blank, silence, then every phone's states."""
        return 2 + (len(self.phones) - 2) * self.states

    def phone_mass_by_id(self) -> list[float] | None:
        """OTTC token mass per class id (None: every phone 1.0, the paper's uniform beta)."""
        if not self.phone_mass:
            return None
        return [float(self.phone_mass.get(p, 1.0)) for p in self.phones]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """The config `to_dict` wrote. One saved before `norm_level` existed is read as "mean":
        models trained before commit 87e54af (session 45) ranked their frames by mean log-mel,
        and align as they were trained (the few saved between that commit and the field's,
        trained by power, had "power" written in by hand)."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        return cls(**{"norm_level": "mean", **data})


def loud_level(level: Tensor, local_frames: int = 0, stride: int = 10) -> Tensor:
    """The level of the loud frames [B, 1] (or [B, T] with local_frames): the 95th-percentile
    frame of `level` [B, T] (`frame_level`; -inf for frames that do not count), over each row or
    over the local_frames frames on either side. The local reference is taken every `stride`
    frames and held until the next (a sort per frame cost more than the network); each frame
    gets the value of the last one at or before it, whose window reaches no further past its
    row than the row does, so a recording at most local_frames + 1 frames long gets exactly its
    whole-recording value."""
    if local_frames <= 0:
        ranked = level.sort(1, descending=True).values
        k = ((level > float("-inf")).sum(1, keepdim=True) * 0.05).long()
        return ranked.gather(1, k)
    if level.shape[1] <= local_frames + 1:  # every window holds every row whole: the same value
        return loud_level(level).expand(-1, level.shape[1])
    stride = min(stride, local_frames)  # every frame inside the window it is given
    windows = F.pad(level, (local_frames, local_frames), value=float("-inf"))
    windows = windows.unfold(1, 2 * local_frames + 1, 1)[:, ::stride]  # [B, T / stride, W]
    top = _largest(windows, int((2 * local_frames + 1) * 0.05) + 1)
    k = ((windows > float("-inf")).sum(-1, keepdim=True) * 0.05).long()
    return top.gather(-1, k)[..., 0].repeat_interleave(stride, dim=1)[:, : level.shape[1]]


def _largest(x: Tensor, n: int) -> Tensor:
    """The n largest values along x's last dim, largest first (`topk`'s values). On the CPU in
    float32/64 by numpy's partition and a sort of the n: torch's topk over a recording's
    windows (801 frames, n = 41) took 4 times as long, some 7% of the network's time."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return x.topk(n, dim=-1).values
    a = x.detach().numpy()
    part = np.partition(a, a.shape[-1] - n, axis=-1)[..., a.shape[-1] - n:]
    return torch.from_numpy(np.sort(part, axis=-1)[..., ::-1].copy())


LOCAL_PRIOR_FRAMES = 20  # a local statistic counts the whole recording's as this many frames


@dataclass(frozen=True)
class NormPrior:
    """Typical speech's log-mel statistics, counted as `frames` more frames in the normalisation
    of a recording whose sounds vary too little, or are too few, to be normalised by themselves.

    Why: the normalisation subtracts a recording's own mean spectrum. A recording that is one
    sound (a sustained /a/, a vowel held long with quiet around it) is then left with no
    spectrum at all, only the vowel's small wobbles, which the model takes for silence: the
    shipped model covered 19% of such vowels' voicing, 57% with this prior, pocketsphinx 77%
    (benchmarks/held_vowels.py). With typical speech's spectral shape (at the recording's own
    level, so gain still does not matter) and within-recording variance counted beside the
    recording's own statistics, the vowel keeps its formants. `variety` (the mean over bands
    of the recording's standard deviation over its counted frames): the prior counts fully at
    or below the first value, not at all from the second (between, in proportion), so that
    speech, which varies more, is normalised as the model was trained. `counted` does the same
    by the number of frames counted: a single word (a few tenths of a second of speech) is as
    poor a sample of its speaker's sounds, and normalised by itself the model judged it poorly
    (correct spoken digits flagged `transcript_mismatch` 23.3% -> 16.0% with the prior, wrong
    ones 82.3% -> 88.3%)."""

    shape: Tensor  # [n_mels] mean log-mel of speech less its mean over the bands
    var: Tensor  # [n_mels] the variance of speech's log-mels within a recording
    frames: float
    variety: tuple[float, float]
    counted: tuple[float, float] | None = None  # as `variety`, for the frames counted

    @classmethod
    def from_dict(cls, data: dict) -> "NormPrior":
        counted = data.get("counted")
        return cls(torch.tensor(data["shape"], dtype=torch.float32),
                   torch.tensor(data["var"], dtype=torch.float32), float(data["frames"]),
                   (float(data["variety"][0]), float(data["variety"][1])),
                   (float(counted[0]), float(counted[1])) if counted else None)

    def for_speaker(self, statistics: list[tuple[Tensor, Tensor]]) -> "NormPrior":
        """This prior with one speaker's statistics in place of speech's: the median of its
        recordings' `recording_statistics`, band by band (robust to a few recordings that are
        not speech), counted as many frames and behind the same gates.

        Why: a speaker's other recordings are a better sample of their voice and channel than
        the population is (per-speaker normalisation, as Kaldi and MFA compute it): of 300
        spoken digits by six speakers, correct transcripts flagged 16.0% -> 12.7% and another
        digit's caught 90.3% -> 93.0% (aligner/speaker_norm.py, benchmarks/real_speech.py)."""
        return replace(self, shape=torch.stack([s for s, _ in statistics]).median(0).values,
                       var=torch.stack([v for _, v in statistics]).median(0).values)

    def weight(self, var: Tensor, count: Tensor) -> Tensor:
        """Frames the prior counts as, for each row of whole-recording variances [B, 1, F] and
        counted frames [B, 1, 1]: the larger share of the two, little variety or few frames."""
        variety = var.float().clamp(min=0.0).sqrt().mean(-1, keepdim=True)
        share = _falling(variety, *self.variety)
        if self.counted is not None:
            share = torch.maximum(share, _falling(count.float(), *self.counted))
        return self.frames * share


def _falling(x: Tensor, lo: float, hi: float) -> Tensor:
    """1 at or below lo, 0 from hi, linear between (a step at lo when hi == lo)."""
    return ((hi - x) / max(hi - lo, 1e-9)).clamp(0.0, 1.0)


def with_prior(mean: Tensor, var: Tensor, count: Tensor, weight: Tensor,
               prior: NormPrior) -> tuple[Tensor, Tensor]:
    """The normalisation's (mean, variance) [B, T or 1, F] from `count` frames [B, T or 1, 1]
    pooled with the prior's `weight` frames [B, 1, 1], in float32: the prior's mean at the
    recording's own mean level across the bands."""
    mean, var = mean.float(), var.float()
    prior_mean = mean.mean(-1, keepdim=True) + prior.shape.to(mean.device)
    total = (count + weight).clamp(min=1e-6)  # a row of neither: its own, unused
    pooled = (count * mean + weight * prior_mean) / total
    var = (count * (var + (mean - pooled).square())
           + weight * (prior.var.to(mean.device) + (prior_mean - pooled).square())) / total
    return pooled, var


def stacked_priors(priors: list[NormPrior]) -> NormPrior:
    """One prior per row of a batch: the priors' statistics as [B, 1, F], the first's gates and
    frames (a batch's priors are one model's, some for a speaker: `NormPrior.for_speaker`)."""
    return replace(priors[0], shape=torch.stack([p.shape for p in priors])[:, None],
                   var=torch.stack([p.var for p in priors])[:, None])


def recording_statistics(feats: Tensor, live: Tensor, top_db: float = 0.0, by: str = "power"
                         ) -> tuple[Tensor, Tensor] | None:
    """(mean log-mel less its mean over the bands, variance) [n_mels] of one recording's frames
    [T, n_mels] that the normalisation counts (`counted_frames`): what a `NormPrior` holds,
    from one recording; None when fewer than two count (a silent file)."""
    keep = counted_frames(feats[None], torch.ones_like(live)[None], live[None], top_db, by=by)[0]
    x = feats[keep]
    if len(x) < 2:
        return None
    mean = x.mean(0)
    return mean - mean.mean(), x.var(0, unbiased=False)


NORM_LEVELS = ("power", "mean")  # `frame_level`'s measures, a model's `norm_level`


def frame_level(feats: Tensor, by: str = "power") -> Tensor:
    """Each frame's level [B, T] as a model's `norm_level` measures it: "power"
    (`frame_power`), or "mean", the mean log-mel, which models trained before session 45 used."""
    return frame_power(feats) if by == "power" else feats.float().mean(-1)


def frame_power(feats: Tensor) -> Tensor:
    """Each frame's level [B, T]: the log of its mean mel power (natural-log units, as the
    log-mels). Why power, not the mean log-mel: speech puts its power in the low bands and
    leaves the high ones 40-60 dB down, so white room tone at -60 dBFS, flat across the bands,
    has a mean log-mel 20-26 dB below the loud frames of learners' speech, within a model's
    `norm_top_db` of 25, and was counted as speech; as power, where the loud low bands rule, it
    lies 29-43 dB below (`benchmarks/padding.py`'s room tone, 3 s on each side of 60 learners'
    clips: with the network shipped before session 45, a word edge moved by over 50 ms in 52%
    of them so counted, in 10% gated by power)."""
    return torch.logsumexp(feats.float(), -1) - math.log(feats.shape[-1])


def counted_frames(feats: Tensor, mask: Tensor, live: Tensor | None = None, top_db: float = 0.0,
                   local_frames: int = 0, by: str = "power") -> Tensor:
    """The frames [B, T] whose statistics `AcousticModel.normalise` takes: valid and live (all
    valid ones in a row with no live frame), and with top_db > 0 within that many dB of the
    loud ones (`loud_level`), levels measured `by` the model's `norm_level` (`frame_level`).
    One place, so that a prior measured on speech (recipes/train/norm_prior.py) counts the
    frames the model counts."""
    stats = mask if live is None else mask & live
    stats = torch.where(stats.any(1, keepdim=True), stats, mask)
    if top_db > 0 and feats.shape[1]:
        level = frame_level(feats, by).masked_fill(~stats, float("-inf"))
        stats = stats & (level >= loud_level(level, local_frames) - top_db * math.log(10) / 10)
    return stats


def windowed_sum(x: Tensor, half: int) -> Tensor:
    """Sum of x [B, T, C] over the `half` frames on either side of each frame (within the row).

    One running sum over the row, read at each window's clamped ends (the sums are those of a
    row padded with `half` zeros either side, to the bit): padding first made a 3 s batch row
    (300 frames, windows of 801) sum nearly four times its length."""
    t = x.shape[1]
    if t == 0:
        return x.clone()
    c = F.pad(x, (0, 0, 1, 0)).cumsum(1)  # c[:, i]: the sum of the first i frames
    upper = c[:, min(half + 1, t):]  # each window's end, c[t] where it runs past the row
    upper = torch.cat([upper, c[:, -1:].expand(-1, t - upper.shape[1], -1)], 1)
    lower = c[:, : max(0, t - half)]  # each window's start, c[0] where it begins before it
    lower = torch.cat([c[:, :1].expand(-1, t - lower.shape[1], -1), lower], 1)
    return upper - lower


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of a channels-last [B, T, D] tensor (no statistics across
    time or batch). A module of its own so that checkpoints keep their parameter names
    (`stem_norm.norm.weight`, from when the network ran channels-first)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x)


def conv_channels_last(x: Tensor, conv: nn.Conv1d) -> Tensor:
    """`conv` applied to channels-last x [B, T, C_in] -> [B, T', C_out], channels-last too.

    Run as a 2-D convolution of height 1 in channels-last memory, which is what [B, T, C]
    already is, so neither the input nor the output is copied into another layout. Why: on the
    CPU the transposed copies around a Conv1d cost more than the convolutions (a depthwise
    block's: 2.3 ms of a 60 s batch against 0.2 ms here). The sums are the same up to rounding
    (float32, about 1e-6)."""
    weight = conv.weight[:, :, None, :].contiguous(memory_format=torch.channels_last)
    y = F.conv2d(x.transpose(1, 2).unsqueeze(2), weight, conv.bias, stride=(1, conv.stride[0]),
                 padding=(0, conv.padding[0]), dilation=(1, conv.dilation[0]), groups=conv.groups)
    return y.squeeze(2).transpose(1, 2)


class Block(nn.Module):
    """Residual depthwise-separable conv block (ConvNeXt-style, 1-D): cheap wide context.

    Works on channels-last [B, T, D] tensors: the pointwise layers are then plain matrix
    products and the norm needs no transposes (as 1x1 convs on [B, D, T], PyTorch's CPU path
    took a slow im2col route; the depthwise conv runs on the same memory,
    `conv_channels_last`). The weights keep their Conv1d shapes, so checkpoints are unchanged."""

    def __init__(self, dim: int, expand: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=pad, dilation=dilation, groups=dim)
        self.norm = ChannelNorm(dim)
        self.up = nn.Conv1d(dim, dim * expand, 1)
        self.down = nn.Conv1d(dim * expand, dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x [B, T, D], mask [B, T, 1] -> [B, T, D]."""
        y = self.norm(conv_channels_last(x, self.depthwise))
        y = F.linear(F.gelu(F.linear(y, self.up.weight[:, :, 0], self.up.bias)),
                     self.down.weight[:, :, 0], self.down.bias)
        if torch.is_grad_enabled():  # training: autograd keeps what backward needs
            return (x + self.drop(y)) * mask
        # the same sums in place: allocating the block's two [B, T, D] temporaries cost some 5% of
        # the network's time on the CPU
        return self.drop(y).add_(x).mul_(mask)


def upsample_x2(h: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """ConvTranspose1d with kernel 2 and stride 2 on channels-last input, as one matrix product.

    h [B, T, D], weight [D, D_out, 2] (ConvTranspose1d's layout) -> [B, 2T, D_out]: output frame
    2t + k is weight[:, :, k]^T h[t] + bias. PyTorch's CPU transposed convolution took as long as
    a conv with twice the work; the product gives the same numbers."""
    b, t, d = h.shape
    d_out = weight.shape[1]
    w = weight.permute(0, 2, 1).reshape(d, 2 * d_out)  # columns: (k, out channel)
    return (h @ w).reshape(b, 2 * t, d_out) + bias


class AcousticModel(nn.Module):
    """Encoder + label head + weight head. forward keeps T (10 ms in, 10 ms out)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        n_mels = c.feature_config.n_mels
        d, df = c.dim, c.fine_dim
        self.stem = nn.Conv1d(n_mels, df, 3, padding=1)
        self.stem_norm = ChannelNorm(df)
        self.down = nn.Conv1d(df, d, 4, stride=2, padding=1)
        self.blocks = nn.ModuleList(
            Block(d, c.expand, c.kernel, c.dilations[i % len(c.dilations)], c.dropout)
            for i in range(c.blocks)
        )
        self.up = nn.ConvTranspose1d(d, df, 2, stride=2)
        self.fuse = nn.Conv1d(df, df, 3, padding=1)
        self.out_norm = nn.LayerNorm(df)
        self.label_head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(df, c.n_classes))
        self.weight_head = nn.Sequential(
            nn.Dropout(c.dropout), nn.Linear(df, df), nn.GELU(), nn.Linear(df, 1)
        )
        # a second, separate network that places the decoder's boundaries (aligner/
        # boundary_net.py); forward does not use it, and training the acoustic model leaves it
        self.boundary_net = BoundaryNet(**c.boundary_net) if c.boundary_net else None
        self.norm_prior = NormPrior.from_dict(c.norm_prior) if c.norm_prior else None

    @staticmethod
    def normalise(feats: Tensor, mask: Tensor, live: Tensor | None = None,
                  top_db: float = 0.0, local_frames: int = 0,
                  prior: NormPrior | None = None, by: str = "power") -> Tensor:
        """Per-utterance, per-bin mean/variance normalisation of the valid frames, with the
        statistics of those that are also `live` [B, T] (all valid frames when None, or when a
        row has no live frame): digital silence (`features.dead_frames`) would pull them.

        top_db > 0 (a model's `norm_top_db`) counts only frames whose level (`frame_level`, `by`
        its `norm_level`) lies within that many dB of the loud frames (`loud_level`), so that
        how much pause or room tone surrounds the speech, and how quiet it is, does not move the
        statistics; a noisy recording, whose quiet lies within top_db, keeps them all.
        local_frames > 0 (`norm_local_s`) takes the loud frames, and the mean and variance, from
        that many frames on either side of each frame rather than from the whole recording, so
        that in a long recording a quiet voice next to a loud one is normalised by its own
        sounds, not by the loud voice's. The whole recording's statistics count as
        LOCAL_PRIOR_FRAMES more, so that a stretch with few counted frames (digital silence
        longer than the window) is not scaled by a handful; room tone that far from any speech
        is its own loud reference, and is normalised like speech. A recording at most
        local_frames + 1 frames long (or a batch no longer) is normalised with the whole
        recording's, without the running sums, which would give the same up to rounding.
        `prior` (a model's `norm_prior`): typical speech's statistics pooled with a recording's
        of little variety (`NormPrior`)."""
        stats = counted_frames(feats, mask, live, top_db, local_frames, by)
        m = stats[..., None].to(feats.dtype)
        count = m.sum(1, keepdim=True).clamp(min=1.0)
        mean = (feats * m).sum(1, keepdim=True) / count
        var = ((feats - mean).square() * m).sum(1, keepdim=True) / count
        weight = prior.weight(var, count) if prior is not None else None
        if 0 < local_frames < feats.shape[1] - 1:  # each frame's own neighbourhood, drawn to the
            # whole when it holds few (a shorter recording: every window holds all of it)
            # sums of deviations from the whole's mean, in float32: running sums of raw squares
            # lose digits to cancellation, and overflow float16
            d = (feats.float() - mean.float()) * m.float()
            n = windowed_sum(m.float(), local_frames) + LOCAL_PRIOR_FRAMES
            shift = windowed_sum(d, local_frames) / n
            spread = (windowed_sum(d.square(), local_frames) + LOCAL_PRIOR_FRAMES * var.float()) / n
            mean = (mean.float() + shift).to(feats.dtype)
            var = (spread - shift.square()).clamp(min=0.0).to(feats.dtype)
            # the prior weighs against the window's own frames, as against a whole recording's
            # (a row shorter than the window: the same as alone, whatever else is in the batch)
            count = n - LOCAL_PRIOR_FRAMES
        if weight is not None and bool((weight > 0).any()):
            pooled, spread = with_prior(mean, var, count, weight, prior)
            chosen = weight > 0  # other rows keep their own statistics exactly
            mean = torch.where(chosen, pooled.to(feats.dtype), mean)
            var = torch.where(chosen, spread.to(feats.dtype), var)
        return (feats - mean) / (var + 1e-5).sqrt() * mask[..., None].to(feats.dtype)

    def encode(self, feats: Tensor, lengths: Tensor, live: Tensor | None = None,
               prior: NormPrior | None = None) -> Tensor:
        """[B, T, n_mels] -> [B, T, D] frame embeddings at 10 ms (live: see `normalise`; prior:
        in place of the model's `norm_prior`, e.g. a speaker's, one per row: `stacked_priors`)."""
        b, t, _ = feats.shape
        mask = valid_mask(lengths, t)
        c = self.config
        local = round(c.norm_local_s * c.feature_config.sample_rate / c.feature_config.hop_length)
        x = self.normalise(feats, mask, live, c.norm_top_db, local,  # channels-last throughout
                           prior if prior is not None else self.norm_prior, c.norm_level)
        m1 = mask[:, :, None].to(x.dtype)  # [B, T, 1]
        skip = F.gelu(self.stem_norm(conv_channels_last(x, self.stem))) * m1
        t2 = (t + 1) // 2
        skip_in = F.pad(skip, (0, 0, 0, 1)) if t % 2 else skip
        h = conv_channels_last(skip_in, self.down)[:, :t2]
        lengths2 = torch.div(lengths + 1, 2, rounding_mode="floor")
        m2 = valid_mask(lengths2, t2)[:, :, None].to(x.dtype)  # [B, T2, 1]
        h = h * m2
        for block in self.blocks:
            h = block(h, m2)
        y = (upsample_x2(h, self.up.weight, self.up.bias)[:, :t] + skip) * m1
        y = F.gelu(conv_channels_last(y, self.fuse)) * m1
        return self.out_norm(y)

    def forward(self, feats: Tensor, lengths: Tensor, live: Tensor | None = None,
                prior: NormPrior | None = None) -> tuple[Tensor, Tensor]:
        """feats [B, T, n_mels], lengths [B] -> (log_probs [B, T, C], weight_logits [B, T]).

        Padded frames get weight logit -inf so that any softmax over time ignores them.
        live [B, T]: the frames that set the normalisation (`normalise`); None: all. prior: in
        place of the model's `norm_prior` (`encode`).
        """
        t = feats.shape[1]
        z = self.encode(feats, lengths, live, prior)
        log_probs = self.label_head(z).float().log_softmax(-1)
        w = self.weight_head(z).squeeze(-1).float()
        w = w.masked_fill(~valid_mask(lengths, t), float("-inf"))
        return log_probs, w

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ---------------------------------------------------------------------------------------------
# Saving and loading


def default_model_dir() -> Path:
    """The shipped English model: $OTTC_ALIGN_MODEL, else models/english next to the package (a
    source checkout or editable install), else the copy a wheel installs under
    <prefix>/share/ottc-align/models/english (pyproject's data-files)."""
    env = os.environ.get(ENV_MODEL)
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parent.parent / "models" / "english"
    installed = Path(sys.prefix) / "share" / "ottc-align" / "models" / "english"
    return first_model_dir([beside, installed])


def first_model_dir(candidates: list[Path]) -> Path:
    """The first candidate that holds a model config; the first one if none does (so that the
    error message names the place a user would look)."""
    for path in candidates:
        if (path / CONFIG_FILE).exists():
            return path
    return candidates[0]


def save_model(model: AcousticModel, path: Path) -> None:
    """Write `model.safetensors` + `config.json`, each all or nothing (training rewrites `last/`
    and `best/` every epoch: a run killed mid-save must not leave a truncated file there)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format_version": str(FORMAT_VERSION)})
    os.chmod(path / WEIGHTS_FILE, 0o644)  # a shipped model must be readable, whatever the umask
    save_config(model.config, path)


def save_config(config: ModelConfig, path: Path) -> None:
    """Write a model directory's `config.json`, all or nothing."""
    with atomic_open(Path(path) / CONFIG_FILE) as handle:
        handle.write(json.dumps(config.to_dict(), indent=2) + "\n")


def copy_model(source: Path, target: Path) -> None:
    """Copy a model directory's files into `target` (train's output, the model adapt keeps),
    each all or nothing and with its times and mode, as `shutil.copy2` would."""
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.iterdir()):
        if f.is_file():
            with atomic_path(target / f.name) as tmp:
                shutil.copyfile(f, tmp)
            shutil.copystat(f, target / f.name)


def expand_states(model: AcousticModel, states: int) -> AcousticModel:
    """The same network with `states` ordered states per phone, each state's label-head row a
    copy of its phone's row (plus tiny noise so the states can part): before any training its
    phone posteriors equal the phone model's, the starting point for `train --init --states`."""
    from aligner.states import FIRST_PHONE

    old = model.config
    if old.states == states:
        return model
    if old.states != 1:
        raise ValueError(f"can only split a one-state model into states (this one has {old.states})")
    config = ModelConfig.from_dict({**old.to_dict(), "states": states})
    new = AcousticModel(config)
    state = model.state_dict()
    n_phones = old.n_classes - FIRST_PHONE
    rows = list(range(FIRST_PHONE)) + [FIRST_PHONE + k for k in range(n_phones) for _ in range(states)]
    generator = torch.Generator().manual_seed(0)
    weight = state["label_head.1.weight"][rows]
    state["label_head.1.weight"] = weight + 1e-3 * torch.randn(weight.shape, generator=generator)
    state["label_head.1.bias"] = state["label_head.1.bias"][rows].clone()
    # Same phone probability: p(phone) = sum over its states, each state ~ p / states.
    state["label_head.1.bias"][FIRST_PHONE:] -= math.log(states)
    new.load_state_dict(state)
    return new.train(model.training)


def read_config(path: Path) -> ModelConfig:
    """Parse and check a model's config.json; ModelError names the file on any problem."""
    cfg_path = Path(path) / CONFIG_FILE
    if not cfg_path.is_file():
        raise ModelError(f"{cfg_path}: model config not found")
    try:
        data = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{cfg_path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{cfg_path}: expected a JSON object")
    fv = data.get("format_version")
    if fv != FORMAT_VERSION:
        raise ModelError(
            f"{cfg_path}: model format version {fv!r} is not supported (this ottc-align reads "
            f"version {FORMAT_VERSION})"
        )
    try:
        config = ModelConfig.from_dict(data)
        FeatureConfig.from_dict(config.features)
        if config.boundary_net:
            BoundaryNet(**config.boundary_net)
    except (TypeError, ValueError) as err:
        raise ModelError(f"{cfg_path}: {err}") from None
    if list(config.phones) != list(VOCAB):
        raise ModelError(f"{cfg_path}: phone set differs from this ottc-align's ({len(VOCAB)} classes)")
    if config.loss not in ("ottc", "ctc"):
        raise ModelError(f"{cfg_path}: unknown loss {config.loss!r}")
    if not isinstance(config.states, int) or config.states < 1 or (config.loss == "ctc" and config.states != 1):
        raise ModelError(f"{cfg_path}: states must be a whole number >= 1 (1 for a CTC model), "
                         f"got {config.states!r}")
    return config


def model_directory(path: Path | str | None = None) -> Path:
    """The model directory `path` names (None: the shipped English model; a path to its weights
    or config file: the folder holding it); ModelError when there is no such directory."""
    directory = Path(path) if path is not None else default_model_dir()
    if directory.is_file() and directory.name in (WEIGHTS_FILE, CONFIG_FILE):
        directory = directory.parent
    if directory.is_file() and directory.suffix.lower() == ".zip":
        raise ModelError(f"{directory}: an MFA acoustic model (.zip), which ottc-align cannot use: "
                         "its models are directories (leave out --model for the shipped English "
                         "one)")
    if not directory.is_dir():
        raise ModelError(f"{directory}: model directory not found")
    return directory


def load_config(path: Path | str | None = None) -> ModelConfig:
    """A model directory's checked config without its weights (for its name or settings)."""
    return read_config(model_directory(path))


def load_model(path: Path | str | None = None, device: str = "cpu") -> AcousticModel:
    """Load a model directory (None: the shipped English model), in eval mode on `device`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = model_directory(path)
    config = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{weights}: model weights not found")
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelError(f"{weights}: damaged or not a safetensors file ({err})") from None
    with torch.random.fork_rng(devices=[]):  # the random initial weights are replaced: loading
        model = AcousticModel(config)         # leaves the caller's random state as it was
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelError(
            f"{weights}: weights do not match config.json (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise ModelError(
                f"{weights}: {key} has shape {tuple(tensor.shape)}, config.json implies "
                f"{tuple(expected[key].shape)}"
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelError(f"{weights}: {key} contains NaN or infinite values")
    model.load_state_dict(state)
    return model.to(device).eval()
