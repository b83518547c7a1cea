"""Phone boundaries placed by a small second network that reads the spectrum around each one.

Why: the acoustic model decides every 10 ms which phone is sounding, and its boundaries land
within 50 ms of where people put them far more often than within 20. Where a boundary belongs
depends on which two phones meet (a stop's release, the onset of voicing, a nasal's closure)
and on the fine spectrum there. This network is given a boundary's neighbourhood (log-mels every
2.5 ms, `features.CHANGE_FEATURES`, 60 ms either side) and the two phones' names, and says how
far the boundary should move (at most LIMIT_MS). It is trained on the synthetic corpus's exact
gold boundaries, each displaced as the aligner's own boundaries are
(`recipes/train/boundary_net.py`); it runs after the decoder's boundaries are refined and
snapped to the spectral change (`Aligner.decode`).

The work is split as the data flows: the convolutions (`BoundaryNet.trunk`) run over the whole
recording when it is encoded, every `stride` x 2.5 ms (`features.fine_spectra`'s pieces), and
`move_boundaries` reads their output at each boundary the decoder found: a small MLP per
boundary, no convolution per boundary.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

import torch
from torch import Tensor, nn

from aligner.alignment import Interval
from aligner.boundaries import MIN_PHONE  # each phone keeps this much, as in snapping
from aligner.features import CHANGE_FEATURES, FinePiece
from aligner.text.phones import PHONE_TO_ID, SILENCE_ID, VOCAB, strip_stress

HOP = CHANGE_FEATURES.frame_duration  # s between the input's frames (2.5 ms)
REACH = 24  # input frames either side of a boundary that the readout sees (60 ms)
READ_EVERY = 4  # input frames between the readout's positions (10 ms)
LIMIT_MS = 60.0  # the largest move


class BoundaryNet(nn.Module):
    """Convolutions over 2.5 ms log-mels (every `stride` frames out), then for each boundary the
    outputs at 13 positions across +-60 ms and the two phones' embeddings -> a move in ms."""

    def __init__(self, channels: int = 16, stride: int = 2, hidden: int = 128,
                 embed: int = 16) -> None:
        super().__init__()
        sizes = (channels, hidden, embed)
        if stride not in (1, 2) or type(stride) is not int or not all(
                type(n) is int and n >= 1 for n in sizes):
            raise ValueError(f"boundary_net: stride must be 1 or 2 and sizes whole and "
                             f"positive, got channels={channels}, stride={stride}, "
                             f"hidden={hidden}, embed={embed}")
        self.stride = stride
        # input frames either side of a readout position that its value depends on (the
        # convolutions' reach), and the zeros beyond each end of a recording (as in training)
        context = 2 + (4 + 8) * stride
        self.pad = REACH + context
        n_mels = CHANGE_FEATURES.n_mels
        self.trunk = nn.Sequential(
            nn.Conv1d(n_mels, channels, 5, padding=2, stride=stride), nn.ReLU(),
            nn.Conv1d(channels, channels, 5, padding=4, dilation=2), nn.ReLU(),
            nn.Conv1d(channels, channels, 5, padding=8, dilation=4), nn.ReLU())
        self.embed = nn.Embedding(len(VOCAB), embed)
        positions = 2 * REACH // READ_EVERY + 1
        self.head = nn.Sequential(nn.Linear(channels * positions + 2 * embed, hidden), nn.GELU(),
                                  nn.Linear(hidden, 1))
        self.register_buffer("positions", torch.arange(-REACH, REACH + 1, READ_EVERY) // stride,
                             persistent=False)

    def features_of(self, mel: Tensor) -> Tensor:
        """[B, T, n_mels] normalised log-mels -> [B, ceil(T / stride), channels]."""
        h = mel
        for layer in self.trunk:
            h = conv_as_product(h, layer) if isinstance(layer, nn.Conv1d) else layer(h)
        return h

    def moves_ms(self, features: Tensor, rows: Tensor, left: Tensor, right: Tensor) -> Tensor:
        """How far each boundary should move, in ms: `features` [R, channels] (one recording's
        `piece_rows`, put end to end) read around `rows` [N] (the boundaries' rows; the reads
        stop at the recording's padded ends), with the phone ids on either side ([N] each) ->
        [N], within +-LIMIT_MS."""
        at = (rows[:, None] + self.positions[None, :]).clamp(0, features.shape[0] - 1)
        return self._move(features[at].flatten(1), left, right)

    def _move(self, around: Tensor, left: Tensor, right: Tensor) -> Tensor:
        """The readout: [N, positions * channels] read around each boundary -> moves [N] in ms."""
        x = torch.cat([around, self.embed(left), self.embed(right)], 1)
        return LIMIT_MS * torch.tanh(self.head(x)[:, 0] / LIMIT_MS)

    def crop_moves_ms(self, crops: Tensor, left: Tensor, right: Tensor) -> Tensor:
        """Training's path: crops [B, 2 * pad + 1, n_mels] centred on the frame a boundary
        candidate is at (zeros beyond a recording) -> moves [B] in ms. The same numbers as
        `features_of` over the recording and `moves_ms` at that frame."""
        at = self.pad // self.stride + self.positions
        return self._move(self.features_of(crops)[:, at].flatten(1), left, right)


def conv_as_product(x: Tensor, conv: nn.Conv1d) -> Tensor:
    """`conv` (zero 'same' padding) on channels-last x [B, T, C_in] -> [B, T', C_out], as one
    matrix product over the unfolded frames. Why: each recording has its own length, and the
    CPU's convolution prepared itself anew for every new shape: 4 ms a recording against 1 ms
    here. The sums are the same up to float rounding."""
    (k,), (d,), (s,), (p,) = conv.kernel_size, conv.dilation, conv.stride, conv.padding
    x = nn.functional.pad(x, (0, 0, p, p))
    frames = x.unfold(1, d * (k - 1) + 1, s)[..., ::d]  # [B, T', C_in, k]
    return nn.functional.linear(frames.flatten(2), conv.weight.flatten(1), conv.bias)


def piece_rows(net: BoundaryNet, piece: FinePiece) -> Tensor:
    """`net.features_of` the frames a piece of the fine analysis keeps (run on the network's
    device, returned on the CPU): rows of the whole recording padded with `net.pad` frames of
    zeros at each end (row r at frame r * stride - pad), as `move_boundaries` reads them.
    Pieces' rows put end to end are the recording's: their margins cover the convolutions'
    reach, and their edges fall on the stride's grid (ValueError otherwise)."""
    mel, s, pad = piece.mel, net.stride, net.pad
    if (piece.first + pad) % s or (piece.lo + pad) % s:
        raise ValueError(f"a piece at frame {piece.first} (margin from {piece.lo}) is off the "
                         f"boundary network's grid of {s} frames: CHANGE_CHUNK and CHANGE_MARGIN "
                         "must be multiples of it")
    before = pad if piece.lo == 0 else 0
    after = pad if piece.lo + len(mel) == piece.total else 0
    x = torch.nn.functional.pad(mel, (0, 0, before, after))
    param = next(net.parameters())
    with torch.no_grad():
        rows = net.features_of(x[None].to(param.device, param.dtype))[0].float().cpu()
    offset = (piece.lo - before + pad) // s  # the recording's row of this piece's first row
    first = 0 if piece.first == 0 else (piece.first + pad) // s
    last = offset + len(rows) if piece.last == piece.total else (piece.last + pad) // s
    return rows[first - offset: last - offset]


@lru_cache(maxsize=1024)
def phone_id(label: str) -> int | None:
    """The model's id of an output phone label ('' and 'sil' are silence; stress digits are
    dropped); None for markup and anything else the network was not trained on."""
    bare = strip_stress(label.strip().upper())
    if bare in ("", "SIL"):
        return SILENCE_ID
    return PHONE_TO_ID.get(bare)  # upper case: never the blank


def move_boundaries(phones: list[Interval], features: Tensor, net: BoundaryNet,
                    pauses: Collection[int] = ()) -> list[Interval]:
    """Phones with each boundary between two touching phones moved where `net` says.

    `features` are `piece_rows` of the recording's pieces (row r at input frame
    r * stride - net.pad). Boundaries between two silences or next to markup stay, and so do
    those of the phones at `pauses` (indexes: a pause word's silence, `{SL}`), as those next to
    the pauses between words do, which are gaps between phones (moved, a word before `{SL}`
    typed into a pause ended 16-120 ms from where it did without it). Each phone keeps
    MIN_PHONE (or what it had, if less), so the order never changes. Pure, apart from running
    the network's readout."""
    if len(phones) < 2:
        return list(phones)
    at, times, left, right = [], [], [], []
    for i in range(1, len(phones)):
        a, b = phones[i - 1], phones[i]
        la, lb = phone_id(a.label), phone_id(b.label)
        if (abs(a.end - b.start) > 1e-6 or la is None or lb is None or la == lb == SILENCE_ID
                or i in pauses or i - 1 in pauses):
            continue
        at.append(i)
        times.append(b.start)
        left.append(la)
        right.append(lb)
    if not at:
        return list(phones)
    step = HOP * net.stride
    grid = torch.round(torch.tensor(times, dtype=torch.float64) / step).long()
    param = next(net.parameters())
    with torch.no_grad():
        moves = net.moves_ms(features.to(param.device, param.dtype),
                             (grid + net.pad // net.stride).to(param.device),
                             torch.tensor(left, device=param.device),
                             torch.tensor(right, device=param.device)).double().cpu()
    new = (grid.double() * step + moves / 1000.0).tolist()
    starts = [p.start for p in phones]
    ends = [p.end for p in phones]
    for i, t in zip(at, new):
        lo = min(starts[i - 1] + MIN_PHONE, starts[i])  # a phone shorter than MIN_PHONE keeps
        hi = max(ends[i] - MIN_PHONE, starts[i])  # its length: the boundary cannot go its way
        t = round(min(max(t, lo), hi), 6)
        ends[i - 1] = starts[i] = t
    return [Interval(s, e, p.label, p.confidence) for s, e, p in zip(starts, ends, phones)]
