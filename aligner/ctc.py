"""The CTC baseline the paper compares against: loss wrapper and forced alignment.

No I/O. torchaudio's `forced_align` is not available here, so the Viterbi alignment over the
blank-extended sequence is written here. It reuses the token-loop search (numpy) of
`aligner.decode.viterbi_segments`: a CTC path is exactly a segmentation of the frames into the
extended sequence `blank y1 blank y2 ... yS blank`, where every label takes >= 1 frame and every
blank may take 0 frames, except a blank between two identical labels, which must take >= 1
(otherwise the two would merge). Memory is therefore the sum of the per-token search windows
(O(T + S * band) with a band), not a [T, 2S+1] backpointer table.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from aligner.alignment import FRAME_SECONDS
from aligner.decode import TokenSpans, token_confidence, viterbi_segments

__all__ = ["ctc_loss", "ctc_forced_align", "ctc_token_spans", "ctc_segments"]


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """`torch.nn.functional.ctc_loss` with batch-first log_probs [B, T, C] and targets [B, S].

    Reductions keep torch's meaning: "mean" divides each utterance's loss by its target length
    and then averages over the batch; "sum"; "none" ([B]).
    """
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be [B, T, C], got shape {tuple(log_probs.shape)}")
    return F.ctc_loss(
        log_probs.transpose(0, 1),
        targets,
        torch.as_tensor(input_lengths, dtype=torch.long),
        torch.as_tensor(target_lengths, dtype=torch.long),
        blank=blank,
        reduction=reduction,
        zero_infinity=zero_infinity,
    )


def _extend(targets: Tensor, blank: int) -> tuple[Tensor, Tensor]:
    """(ext [2S+1], optional [2S+1]): blanks around and between the labels; which blanks may be empty."""
    s = targets.numel()
    ext = torch.full((2 * s + 1,), blank, dtype=torch.long)
    ext[1::2] = targets.long().cpu()
    optional = torch.zeros(2 * s + 1, dtype=torch.bool)
    optional[0::2] = True
    repeated = targets[1:].cpu() == targets[:-1].cpu()
    optional[2:-2:2] = ~repeated  # the blank between labels j and j+1 sits at 2(j+1)
    return ext.to(targets.device), optional


def ctc_segments(
    log_probs: Tensor, targets: Tensor, blank: int = 0, band: int | None = None
) -> tuple[Tensor, Tensor]:
    """Frame spans [first, end) (int64, [2S+1] each) of the extended sequence on the best CTC path.

    Entry 2j+1 is label j; even entries are blanks. `band` as in `viterbi_segments` (around the
    uniform diagonal). Raises ValueError when T < S + (number of repeated neighbours).
    """
    if targets.dim() != 1 or targets.numel() == 0:
        raise ValueError(f"targets must be a non-empty [S] tensor, got {tuple(targets.shape)}")
    if bool((targets == blank).any()):
        raise ValueError("targets must not contain the blank class")
    ext, optional = _extend(targets, blank)
    first, end, _ = viterbi_segments(log_probs.detach(), ext, optional, band)
    return first, end


def ctc_forced_align(
    log_probs: Tensor, targets: Tensor, blank: int = 0, band: int | None = None
) -> Tensor:
    """Best CTC path: log_probs [T, C], targets [S] (no blanks) -> [T] int64 label per frame."""
    ext, _ = _extend(targets, blank)
    first, end = ctc_segments(log_probs, targets, blank, band)
    return torch.repeat_interleave(ext.cpu(), end - first).to(log_probs.device)


def ctc_token_spans(
    log_probs: Tensor,
    targets: Tensor,
    frame_duration: float = FRAME_SECONDS,
) -> TokenSpans:
    """Phone times from the best CTC path.

    Convention (CTC posteriors are peaky, so a phone's own frames are usually one or two):
    phone j starts at its first non-blank frame and ends where phone j+1 starts, i.e. the blanks
    after a phone are given to it. The last phone ends after its own last non-blank frame; the
    blanks before the first phone and after the last one are left to silence.
    Confidence: geometric-mean posterior of the phone over its non-blank frames.
    """
    first, end = ctc_segments(log_probs, targets)
    label_first, label_end = first[1::2], end[1::2]
    start = label_first.double()
    stop = torch.cat([label_first[1:], label_end[-1:]]).double()
    lengths = label_end - label_first
    token = torch.repeat_interleave(torch.arange(targets.numel()), lengths)
    offsets = torch.cumsum(lengths, 0) - lengths  # position of each phone's first frame in `frames`
    frames = torch.arange(int(lengths.sum())) - torch.repeat_interleave(offsets - label_first, lengths)
    dev = log_probs.device
    conf = token_confidence(log_probs.detach(), targets, frames.to(dev), token.to(dev),
                            torch.ones(frames.numel(), device=dev), fallback_frame=label_first.to(dev))
    return TokenSpans(start * frame_duration, stop * frame_duration, conf)
