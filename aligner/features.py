"""Log-mel features in plain torch (no torchaudio), on the project's 10 ms frame grid.

Frame `t` stands for the interval `[t * 0.01, (t + 1) * 0.01)` s and its analysis window is
centred at `(t + 0.5) * 0.01` s (DESIGN.md), so a boundary the model places between frames `t-1`
and `t` means exactly `t * 0.01` s, with no half-frame offset to correct downstream. The signal is
zero-padded on both sides so that every frame, including the first and last, has a full window;
the number of frames for `N` samples is `ceil(N / hop)`.

The parameters live in a small dataclass that the model config stores, so a model is always fed
the features it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache, wraps
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from aligner.quantile import percentile

T = TypeVar("T")


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes model input. Stored in every model's config.json."""

    sample_rate: int = 16000
    n_mels: int = 80
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms: the output frame shift
    n_fft: int = 512
    f_min: float = 20.0
    f_max: float = 7600.0
    log_floor: float = 1e-8

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureConfig":
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown feature settings: {sorted(unknown)}")
        return cls(**data)

    @property
    def frame_duration(self) -> float:
        return self.hop_length / self.sample_rate


GRID_RATE, GRID_HOP = 16000, 160  # FRAME_SECONDS (aligner/alignment.py) at 16 kHz


def check_frame_grid(config: FeatureConfig) -> None:
    """Raise ValueError unless `config` is on the shared 10 ms grid at 16 kHz. Why: the voicing
    and level analyses are written for it, and a model on another grid would have its word
    ends and flags placed at the wrong times without a word said."""
    if (config.sample_rate, config.hop_length) != (GRID_RATE, GRID_HOP):
        raise ValueError(f"features must be {GRID_RATE} Hz with a hop of {GRID_HOP} samples (the "
                         f"10 ms frame grid), got {config.sample_rate} Hz and "
                         f"{config.hop_length}")


def num_frames(num_samples: int, hop_length: int = 160) -> int:
    """Frames for `num_samples` samples: `ceil(N / hop)` (an empty signal has no frames)."""
    return -(-int(num_samples) // hop_length)


def _hz_to_mel(hz: Tensor) -> Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def cached_constant(make: Callable[..., T]) -> Callable[..., T]:
    """Cache a function's tensors as constants, made outside inference mode: aligning runs under
    `torch.inference_mode`, and a window first made there could not be used where gradients are
    tracked later in the process (training, `adapt`), which autograd refuses."""

    @lru_cache(maxsize=8)
    @wraps(make)
    def cached(*args: Any) -> T:
        with torch.inference_mode(False):
            return make(*args)

    return cached


@cached_constant
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> Tensor:
    """Triangular HTK-style mel filters, [n_fft // 2 + 1, n_mels] (float32, cached)."""
    n_freqs = n_fft // 2 + 1
    freqs = torch.linspace(0.0, sample_rate / 2, n_freqs, dtype=torch.float64)
    mel_points = torch.linspace(
        _hz_to_mel(torch.tensor(f_min, dtype=torch.float64)).item(),
        _hz_to_mel(torch.tensor(f_max, dtype=torch.float64)).item(),
        n_mels + 2,
        dtype=torch.float64,
    )
    hz_points = _mel_to_hz(mel_points)
    lower, centre, upper = hz_points[:-2], hz_points[1:-1], hz_points[2:]
    f = freqs[:, None]
    rising = (f - lower) / (centre - lower)
    falling = (upper - f) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).to(torch.float32)


@cached_constant
def _window(win_length: int) -> Tensor:
    return torch.hann_window(win_length, periodic=True, dtype=torch.float32)


def log_mel(waveform: Tensor, config: FeatureConfig | None = None) -> Tensor:
    """Log-mel energies of a 16 kHz waveform: [N] -> [T, n_mels], or [B, N] -> [B, T, n_mels].

    `T = ceil(N / hop)`. For a padded batch, frames past a row's own `ceil(len / hop)` are
    padding and carry no meaning. The result is float32 on the input's device.
    """
    cfg = config or FeatureConfig()
    if waveform.dim() not in (1, 2):
        raise ValueError(f"waveform must be [N] or [B, N], got shape {tuple(waveform.shape)}")
    squeeze = waveform.dim() == 1
    x = waveform.to(torch.float32)
    if squeeze:
        x = x[None]
    n = x.shape[-1]
    t = num_frames(n, cfg.hop_length)
    if t == 0:
        out = x.new_zeros(x.shape[0], 0, cfg.n_mels)
        return out[0] if squeeze else out
    # Centre window t on sample hop * (t + 0.5): it starts at hop * t + hop / 2 - win / 2.
    left = cfg.win_length // 2 - cfg.hop_length // 2
    right = cfg.hop_length * (t - 1) + cfg.win_length - left - n
    x = torch.nn.functional.pad(x, (left, max(right, 0)))
    frames = x.unfold(-1, cfg.win_length, cfg.hop_length)[:, :t]  # [B, T, win]
    power = _power_spectrum(frames, _window(cfg.win_length).to(x.device), cfg.n_fft)
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max).to(x.device)
    mel = torch.clamp(power @ fb, min=cfg.log_floor).log()
    return mel[0] if squeeze else mel


def _power_spectrum(frames: Tensor, window: Tensor, n_fft: int) -> Tensor:
    """|X|^2 of the rfft of frames [..., win] times `window`, zero-padded to n_fft points:
    re * re + im * im, without |X|'s square root (`.abs().square()` rounds differently).

    Why this way, for the same values to the bit: the windowed frames are written into a zeroed
    buffer of n_fft (torch's own padding, `rfft(frames * window, n=n_fft)`, took 1.2-2.5 times
    as long on the CPU), and the spectrum's real/imaginary pairs are squared in place, then
    added (squaring `.real` and `.imag`, strided views, took half as long again). torch's own
    padding where the buffer cannot serve: frames that need gradients, or longer than n_fft
    (cut to it)."""
    if frames.requires_grad or frames.shape[-1] > n_fft:
        pairs = torch.view_as_real(torch.fft.rfft(frames * window, n=n_fft)).square()
    else:
        buf = frames.new_zeros(frames.shape[:-1] + (n_fft,))
        torch.mul(frames, window, out=buf[..., : frames.shape[-1]])
        pairs = torch.view_as_real(torch.fft.rfft(buf)).square_()  # a spectrum of our own
    return pairs[..., 0] + pairs[..., 1]


# A recording whose peak lies below this (-20 dBFS) is scaled up to it before its log-mels.
QUIET_PEAK = 0.1


def lift_quiet(wave: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """`wave` scaled up so that its peak reaches QUIET_PEAK when it is quieter; else as it is.

    Why: the log-mels are floored at an absolute power (`log_floor`), and the model normalises
    away the level of everything above it, but not what the floor cut off. A quiet recording (a
    distant microphone, a low input gain) loses its pauses and weak consonants to the floor, or
    has them taken for digital silence: learners' clips recorded 30 dB down (peak near -40 dBFS,
    16-bit) moved some word edge by more than 50 ms in 35% of them, 45 dB down in 95%; scaled
    up first, 10% and 45% (what is left is the 16-bit quantisation). For the whole recording
    at once, so that every window of a long one gets the same gain."""
    peak = float(abs(wave).max()) if len(wave) else 0.0
    if 0.0 < peak < QUIET_PEAK:
        return wave * (QUIET_PEAK / peak)
    return wave


# A frame whose log-mel energy, averaged over the bands, lies within this of the floor holds
# nothing but digital silence: exact zeros, or noise below a 16-bit recording's own (white
# noise at -90 dBFS sits 3.3 above the floor, -80 dBFS 5.6; the quietest frame of a learner's
# recording some 10).
DEAD_FRAME_MARGIN = 4.6
DEAD_FRAME_QUANTILE = 0.05  # what a dead frame is replaced by: the recording's quiet frames
DEAD_FRAME_SHARE = 0.25  # digital silence kept as recorded, of a recording's frames


def dead_frames(mel: Tensor, log_floor: float = FeatureConfig.log_floor) -> Tensor:
    """Which frames of log-mels [..., T, n_mels] hold nothing but digital silence: [..., T].

    Why: the model normalises each band by the recording's mean and variance, and a stretch of
    exact zeros (a recorder's or an editor's padding, a muted name, a gated microphone) sits ten
    natural-log units below any real pause. A few seconds of it pulled every statistic so far
    that words moved by hundreds of milliseconds. Beyond a share of the recording
    (`excess_dead_frames`), such frames are left out of the statistics (`model.normalise`) and
    given the recording's own quiet frames (`fill_dead_frames`)."""
    return mel.mean(-1) < float(np.log(log_floor)) + DEAD_FRAME_MARGIN


def excess_dead_frames(dead: Tensor, share: float = DEAD_FRAME_SHARE) -> Tensor:
    """The digitally silent frames [..., T] beyond `share` of the frames the normalisation
    counts (the live ones and the silence kept), those farthest from any sound first: what
    `fill_dead_frames` replaces and the model's normalisation leaves out. Up to `share` stays as
    recorded, as in the synthetic training utterances (digital silence is 17% of their frames in
    the median; the model's statistics were learnt with it). A recording over 40 s is judged
    window by window (align.CHUNK_SECONDS), as the model normalises it."""
    flat = dead.reshape(-1, dead.shape[-1])
    out = torch.zeros_like(flat)
    for row, d in enumerate(flat):
        n_live = int((~d).sum())
        allowed = int(share / (1 - share) * n_live)
        if int(d.sum()) <= allowed or n_live == 0:
            continue
        t = torch.arange(len(d), dtype=torch.float64)
        live_t = t[~d]
        nearest = torch.searchsorted(live_t, t).clamp(max=len(live_t) - 1)
        distance = torch.minimum((live_t[nearest] - t).abs(),
                                 (live_t[(nearest - 1).clamp(min=0)] - t).abs())
        distance[~d] = -1  # live frames are never excess
        order = torch.argsort(distance, descending=True, stable=True)
        out[row, order[: int(d.sum()) - allowed]] = True
    return out.reshape(dead.shape)


def fill_dead_frames(mel: Tensor, dead: Tensor) -> Tensor:
    """Log-mels [..., T, n_mels] with the `dead` frames [..., T] replaced by the recording's
    quietest live frames (the DEAD_FRAME_QUANTILE of them by mean level, in time order, over
    and over), so that digital silence looks like the recording's own pauses to the network. A
    recording (or batch row) with no live frame is left as it is."""
    if not bool(dead.any()):
        return mel
    flat, dead_flat = mel.reshape(-1, *mel.shape[-2:]), dead.reshape(-1, mel.shape[-2])
    out = flat.clone()
    for row in range(flat.shape[0]):
        live = flat[row][~dead_flat[row]]
        n_dead = int(dead_flat[row].sum())
        if n_dead and len(live):
            k = max(1, int(len(live) * DEAD_FRAME_QUANTILE))
            quiet = live[torch.sort(torch.topk(live.mean(-1), k, largest=False).indices).values]
            out[row][dead_flat[row]] = quiet.repeat(-(-n_dead // k), 1)[:n_dead]
    return out.reshape(mel.shape)


def model_input(mel: Tensor, log_floor: float = FeatureConfig.log_floor
                ) -> tuple[Tensor, Tensor]:
    """What the model is given for one recording's log-mels [T, n_mels]: (the log-mels with the
    excess of digital silence filled in, which frames its normalisation counts [T]). The one
    place that decides, for aligning, adapting and training alike (`dead_frames`)."""
    excess = excess_dead_frames(dead_frames(mel, log_floor))
    return fill_dead_frames(mel, excess), ~excess


# Spectral change: a finer analysis than the model's (10 ms windows every 2.5 ms), for placing
# boundaries between the model's 10 ms frames (aligner/boundaries.py, aligner/boundary_net.py).
CHANGE_FEATURES = FeatureConfig(n_mels=40, win_length=160, hop_length=40, n_fft=256, f_min=50.0)
CHANGE_SPAN = 4  # frames on each side compared: 10 ms before against 10 ms after
CHANGE_CHUNK = 24000  # frames (60 s) per piece: memory stays bounded for any length
CHANGE_MARGIN = 32  # frames of context on each side of a piece, cut away again (even: the
# boundary network's stride-2 rows stay on one grid across pieces; at least its reach, 26)


@dataclass(frozen=True)
class FinePiece:
    """One piece of a recording's fine analysis: frames first..last of the recording are kept;
    `mel` holds frames lo..lo + len(mel), the piece with its margins."""

    first: int
    last: int
    lo: int
    total: int  # frames of the whole recording
    mel: Tensor  # [frames, 40] log-mels, each band scaled to zero mean, unit variance

    @property
    def keep(self) -> slice:
        """The rows of `mel` (or of anything computed frame by frame from it) that are kept."""
        return slice(self.first - self.lo, self.last - self.lo)


def fine_spectra(waveform: Tensor) -> Iterator[FinePiece]:
    """The 2.5 ms log-mels (CHANGE_FEATURES) of a 16 kHz waveform [N], in pieces of CHANGE_CHUNK
    frames with CHANGE_MARGIN frames of context, each band scaled to zero mean and unit variance
    over its piece: what the spectral change and the boundary network read (the network was
    trained on utterances scaled as one piece). Digital silence beyond DEAD_FRAME_SHARE of a
    piece (`excess_dead_frames`: an editor's padding) is left out of its statistics, as the
    model's normalisation leaves it out: gold-dev's recordings with 3 s of exact zeros on each
    side had 76.5% of their phone boundaries within 20 ms (review 122), 85.3% so, as without
    the padding."""
    cfg = CHANGE_FEATURES
    hop = cfg.hop_length
    total = num_frames(waveform.shape[-1], hop)
    for first in range(0, total, CHANGE_CHUNK):
        last = min(total, first + CHANGE_CHUNK)
        lo, hi = max(0, first - CHANGE_MARGIN), min(total, last + CHANGE_MARGIN)
        # Frames major throughout ([T, F], as log_mel returns them): the band-major copy cost
        # a third of the time.
        mel = log_mel(waveform[lo * hop: hi * hop].to(torch.float32).cpu(), cfg)
        excess = excess_dead_frames(dead_frames(mel, cfg.log_floor))
        if bool(excess.any()):  # an editor's padding: the statistics of the rest
            counted = ~excess
            mel = mel - mel[counted].mean(0)
            mel /= mel[counted].square().mean(0).sqrt() + 1e-5
        else:
            mel = mel - mel.mean(0)
            mel /= mel.square().mean(0).sqrt() + 1e-5  # the std: torch's own over dim 0: 4x longer
        yield FinePiece(first, last, lo, total, mel)


def piece_change(piece: FinePiece) -> Tensor:
    """The spectral change (`spectral_change`) of the frames a piece keeps."""
    mel, k = piece.mel, CHANGE_SPAN
    smooth = mel.clone()  # mean of each frame and its neighbours (zero beyond the piece)
    smooth[1:] += mel[:-1]
    smooth[:-1] += mel[1:]
    smooth /= 3
    padded = torch.cat([smooth[:1].expand(k, -1), smooth, smooth[-1:].expand(k, -1)])
    return (padded[2 * k:] - padded[: len(smooth)]).norm(dim=1)[piece.keep]


def spectral_change(waveform: Tensor) -> Tensor:
    """How fast the spectrum of a 16 kHz waveform [N] changes, every 2.5 ms: [ceil(N / 40)].

    Value t is the distance between the log-mel spectra (each band scaled to unit variance over
    the piece, smoothed over 7.5 ms) 10 ms after and 10 ms before time (t + 0.5) * 2.5 ms. It
    peaks where one sound gives way to another abruptly: frication starting or stopping, the
    onset of voicing, a stop closure. Pieces of CHANGE_CHUNK frames are analysed on their own."""
    out = torch.zeros(num_frames(waveform.shape[-1], CHANGE_FEATURES.hop_length))
    for piece in fine_spectra(waveform):
        out[piece.first: piece.last] = piece_change(piece)
    return out


__all__ = ["FeatureConfig", "check_frame_grid", "log_mel", "lift_quiet", "model_wave", "num_frames",
           "mel_filterbank", "spectral_change", "fine_spectra", "piece_change", "FinePiece",
           "CHANGE_FEATURES", "dead_frames", "excess_dead_frames", "fill_dead_frames",
           "model_input"]


LEVEL_CHUNK = 1500  # frames measured at once (15 s): bounded memory at any length


def frame_levels(waveform: Tensor | np.ndarray, emphasis: bool = False) -> Tensor:
    """The level in dB (mean power re full scale) of each 10 ms frame of a 16 kHz recording:
    the 20 ms centred on the frame's centre, (t + 0.5) * 10 ms. [num_frames(N)]

    The power about the recording's mean: a constant offset (DC, from a cheap microphone or
    sound card) is nothing a microphone heard, and counted as power an offset of 0.02 (-34
    dBFS) read a clean recording's pauses as only 11 dB below its words (`noisy_audio`). Not
    about each window's own mean: that takes away what lies under 50 Hz, pink noise's rumble
    too, and `noisy_audio` then missed pink noise 10 dB under the speech (4% flagged, 50%).

    For judging how far a sound has faded from the loudest part of its word
    (`boundaries.extend_into_voicing`), on the waveform itself, not on the model's features.
    emphasis: after pre-emphasis (x[n] - 0.97 x[n-1]), which weighs the upper frequencies, where
    hiss masks speech sounds, over the lowest, where mains hum lies (50 Hz drops some 30 dB
    against 1 kHz): for `checks.noise_allowance`."""
    x = torch.as_tensor(waveform).flatten().to("cpu", torch.float32)
    silent = torch.from_numpy(digital_silence(x.numpy()))
    offset = dc_offset(x.numpy(), silent.numpy())
    hop = 160
    total = num_frames(x.numel(), hop)
    out = torch.empty(total)
    for first in range(0, total, LEVEL_CHUNK):
        last = min(total, first + LEVEL_CHUNK)
        lo = first * hop - hop // 2  # window `first` starts half a hop before its frame
        want = (last - first + 1) * hop
        piece = without_dc(x[max(0, lo): lo + want], offset, silent[max(0, lo): lo + want])
        if emphasis and len(piece):  # less 0.97 of the sample before (the first keeps itself)
            start = max(0, lo)
            before = (without_dc(x[start - 1: start], offset, silent[start - 1: start])
                      if start > 0 else x.new_zeros(1))
            piece = piece - 0.97 * torch.cat([before, piece[:-1]])
        piece = torch.nn.functional.pad(piece, (max(0, -lo), want - len(piece) - max(0, -lo)))
        # a window is two hops: each hop's sum once, then neighbours added (a sliding average
        # pool read every sample twice, and took a third longer)
        hops = piece.square_().view(-1, hop).sum(1)
        power = (hops[:-1] + hops[1:]).div_(2 * hop)
        out[first:last] = power.add_(1e-12).log10_().mul_(10)
    return out


# Exact zeros this many samples long or longer (10 ms at 16 kHz) are digital silence: an editor's
# padding, a muted input, which no offset reaches. A shorter run is a sample that happens to be
# zero: 16-bit audio sitting on an offset of a few steps has many, spread through its pauses.
DIGITAL_SILENCE_RUN = 160


def digital_silence(samples: np.ndarray) -> np.ndarray:
    """Which samples lie in a run of DIGITAL_SILENCE_RUN exact zeros or more, [N] booleans.

    Why runs: taken one by one, every zero sample of 16-bit audio on an offset was kept at zero
    while the samples around it moved by the offset, a click each (157 in the README example
    on an offset of 3 steps); a word moved 0.37 s between offsets of 3 and 66 steps."""
    zero = samples == 0
    if not zero.any():
        return zero
    step = np.diff(zero.view(np.int8))  # +1 where a run of zeros begins, -1 after it ends
    starts = np.flatnonzero(step == 1) + 1
    ends = np.flatnonzero(step == -1) + 1
    if zero[0]:
        starts = np.concatenate(([0], starts))
    if zero[-1]:
        ends = np.concatenate((ends, [len(zero)]))
    del step
    long = ends - starts >= DIGITAL_SILENCE_RUN  # a few; short runs may be thousands
    out = zero  # reused (a two-hour recording's mask is 115 MB): cleared, then the long runs set
    out[:] = False
    for a, b in zip(starts[long], ends[long]):
        out[a:b] = True
    return out


def dc_offset(samples: np.ndarray, silent: np.ndarray | None = None) -> float:
    """The constant a recording's samples sit on (their mean), digital silence (`silent`:
    `digital_silence`'s, computed when None) not counted. No float64 copy of the samples: an
    hour's would take 460 MB."""
    silent = digital_silence(samples) if silent is None else silent
    count = len(samples) - int(np.count_nonzero(silent))
    # digital silence is zeros: the sum of the other samples is the sum of them all
    return float(samples.sum(dtype=np.float64)) / count if count else 0.0


def without_dc(samples: Tensor, offset: float, silent: Tensor) -> Tensor:
    """`samples` less `offset`, digital silence (`silent`, `digital_silence`) left at zero."""
    return torch.where(silent, samples, samples - offset)


def model_wave(wave: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """The samples the model's analyses take: `wave` less its DC offset (`dc_offset`; digital
    silence stays zero), then `lift_quiet`. For training and aligning alike.

    Why: a constant offset (a cheap recorder's or sound card's) is nothing a microphone heard,
    but the log-mels put it in their lowest bands, most of all in the pauses, where it is the
    loudest sound there is: on 30 learners' clips an offset of 0.002 (-54 dBFS) moved some word
    edge by more than 50 ms in 6 of them (by 0.58 s at most), 0.0001 in one (0.45 s), with no
    flag. The frame levels and the voicing analysis take it away already."""
    if isinstance(wave, Tensor):
        samples = wave.detach().to("cpu", torch.float32).numpy()
        silent = digital_silence(samples)
        offset = dc_offset(samples, silent)
        silent_t = torch.from_numpy(silent).to(wave.device)
        level = without_dc(wave, offset, silent_t) if offset else wave
    else:
        wave = np.asarray(wave, dtype=np.float32)
        silent = digital_silence(wave)
        offset = dc_offset(wave, silent)
        level = wave
        if offset:  # one new array (a two-hour recording's is 460 MB), not a temporary too
            level = wave - np.float32(offset)
            level[silent] = 0.0
    return lift_quiet(level)


# A recording cut tight, with speech running into its first or last frames, is heard by the
# model with this much digital silence added at that edge (cut away again from its outputs).
EDGE_PAD_SECONDS = 0.3
EDGE_FRAMES = 3  # the frames (30 ms) at each end that are looked at
EDGE_SPEECH_DB = 30.0  # ... speech when the loudest of them is within this of the loud frames


def edge_padding(waveform: Tensor | np.ndarray, levels: np.ndarray | None = None
                 ) -> tuple[int, int]:
    """Frames of digital silence to add before and after a 16 kHz recording for the model:
    EDGE_PAD_SECONDS at an end whose first (last) EDGE_FRAMES reach within EDGE_SPEECH_DB of
    its loud frames (the 95th-percentile `frame_levels`), none at an end that is quiet already.

    Why: the model learnt speech with pauses around it. A clip cut at its words (a word list
    cut from a session, spoken digits trimmed to their sound) starts and ends mid-sound, and
    the model placed its edges and judged its fit worse: hand-labelled recordings cut at their
    first and last gold phone lost 4.6 points of boundaries within 20 ms (82.5% -> 77.9%); with
    the silence added, 81.4% (benchmarks/padding.py). An end quieter than that (a pause, room
    tone more than EDGE_SPEECH_DB down) is left as it is; noise within it is taken for sound.
    levels: the recording's `frame_levels`, when the caller has them (of the samples before
    `model_wave`, whose gain moves every frame alike but those near `frame_levels`' floor:
    review 126 found the padding changed on 18 of 1866 recordings, all scaled to -60 dBFS,
    and no word edge moved in them)."""
    levels = frame_levels(waveform).numpy() if levels is None else levels
    if len(levels) < 2 * EDGE_FRAMES:
        return 0, 0
    loud = float(percentile(levels, 95))  # torch.quantile took as long as the levels
    pad = round(EDGE_PAD_SECONDS * GRID_RATE / GRID_HOP)
    return (pad if float(levels[:EDGE_FRAMES].max()) > loud - EDGE_SPEECH_DB else 0,
            pad if float(levels[-EDGE_FRAMES:].max()) > loud - EDGE_SPEECH_DB else 0)


def pad_edges(wave: np.ndarray, before: int, after: int, hop: int = GRID_HOP) -> np.ndarray:
    """`wave` with `before` and `after` frames of exact zeros added (`edge_padding`)."""
    if not before and not after:
        return wave
    return np.concatenate([np.zeros(before * hop, wave.dtype), wave,
                           np.zeros(after * hop, wave.dtype)])


VOICING_WINDOW = 640  # samples (40 ms at 16 kHz): two periods of a 50 Hz voice
VOICING_PERIODS = (16000 // 650, 16000 // 65)  # lags of a 65-650 Hz voice (men to children;
# 60 Hz, the mains of the Americas, is left to hum, and with it creak below 65 Hz; the last lag
# is 245, 65.3 Hz)
VOICING_PEAK = 0.35  # normalised autocorrelation peak above which a frame is voiced
VOICING_STRONG = 0.5  # ... when its run of such frames reaches this peak somewhere
VOICING_LONG = 7  # ... or lasts this many frames, in audio of a band under NARROW_BAND
NARROW_BAND = 5000.0  # Hz (`band_edge`): telephone-band audio, recorded at 8 kHz
VOICING_RANGE_DB = 40.0  # frames this far below the loudest are too quiet to judge
# FFT length of the voicing autocorrelation: >= VOICING_WINDOW + the longest lag read (249),
# so that no lag up to a 65 Hz period wraps around; 896 = 7 * 2^7 is a faster length than 1024
# here (voiced_frames on 470 recordings: 31% less time)
VOICING_FFT = 896
VOICING_DIP = 0.35  # a period's peak rises this far above the autocorrelation's low before it
PEAK_REACH = 4  # ... and is the highest within this many lags (0.25 ms) either side
VOICING_CHUNK = 256  # frames analysed at once (2.6 s, some 2 MB): bounded memory at any
# length, and pieces that stay in cache run twice as fast on a minute as 15 s ones did


def voiced_share(voiced: Tensor) -> float:
    """The share of a recording's 10 ms frames that are voiced (`voiced`: its `voiced_frames`,
    computed once for this and for `checks.voiced_outside_words`); 0 for no frames.

    A speech signal check that does not depend on the acoustic model, which hears speech in
    steady noise (an open microphone in an empty room aligns a whole sentence with a fit that
    passes): of speechocean762's 2500 held-out learner recordings, children included, the least
    voiced is 0.78% and 1% are under 18%; native recordings 9-82%; white, pink and brown
    noise and mains hum 0-0.1% (benchmarks/voicing_in_noise.py). Whispered speech is unvoiced
    too."""
    return float(voiced.to(torch.float64).mean()) if len(voiced) else 0.0


@cached_constant
def _voicing_taper() -> tuple[Tensor, Tensor]:
    """The analysis window of `voiced_frames` and the gain per lag that undoes its fall-off in
    the autocorrelation (once: the correlation of the window with itself is O(win^2))."""
    win, hi = VOICING_WINDOW, VOICING_PERIODS[1]
    taper = torch.hann_window(win, periodic=False)
    overlap = torch.tensor(np.correlate(taper.numpy(), taper.numpy(), "full")[win - 1:],
                           dtype=torch.float32)
    return taper, (overlap[0] / overlap[:hi + PEAK_REACH]).clone()


def voiced_frames(waveform: Tensor | np.ndarray,
                  band: tuple[float, float, float, float] | None = None) -> Tensor:
    """Which 10 ms frames of a 16 kHz recording are voiced (`voiced_and_band`'s first part)."""
    return voiced_and_band(waveform, band)[0]


def voiced_and_band(waveform: Tensor | np.ndarray,
                    band: tuple[float, float, float, float] | None = None
                    ) -> tuple[Tensor, float]:
    """Which 10 ms frames of a 16 kHz recording are voiced: the 40 ms around frame t's time
    (t * 10 ms, the model's frame grid) periodic at a voice's pitch (65-650 Hz) for 30 ms or
    more, within 40 dB of the loudest, after pre-emphasis. [num_frames(N)] booleans.

    In audio of a narrow band (`band_edge` under NARROW_BAND: recorded at 8 kHz), a run of
    periodic frames counts only when it is clearly periodic somewhere (a peak of VOICING_STRONG)
    or lasts VOICING_LONG frames. Why: such audio has half the bandwidth, so the
    autocorrelation of its noise wanders twice as far and crosses VOICING_PEAK for 30-60 ms now
    and then: 19 of 40 three-second samples of white noise at 8 kHz had such a run, enough to
    pass `no_speech`; with the rule none of 200 has one. A voice peaks at 0.7-0.95: of spoken
    digits at 8 kHz (FSDD) 67% of the frames stay voiced (69% without the rule). Wideband
    audio keeps the plain rule: there noise does not pass, and a learner's weak voicing (3 of
    2500 recordings have under 3% voiced frames, all of them weakly periodic) is kept.

    band: the periodicity judged on that band only (`band_gain`'s edges in Hz), for
    `voiced_share_in_noise`.

    Returns (voiced [num_frames(N)] booleans, the recording's `band_edge` in Hz: the band its
    voicing was judged in, and `checks.band_allowance`'s; half the sample rate for a recording
    too short to judge)."""
    x = torch.as_tensor(waveform).flatten()
    hop, win = 160, VOICING_WINDOW
    n_out = num_frames(x.numel(), hop)
    if x.numel() < win:
        return torch.zeros(n_out, dtype=torch.bool), 8000.0
    total = (x.numel() - win) // hop + 1
    taper, gain = _voicing_taper()
    lo, hi = VOICING_PERIODS
    n_fft = VOICING_FFT
    peak = torch.empty(total)
    level = torch.empty(total)
    spectrum = torch.zeros(n_fft // 2 + 1)  # the recording's power by frequency: its band
    for first in range(0, total, VOICING_CHUNK):  # small float32 pieces: bounded memory
        last = min(total, first + VOICING_CHUNK)
        start = max(0, first * hop - 1)
        piece = x[start: (last - 1) * hop + win].to("cpu", torch.float32)
        piece = piece[1:] - 0.97 * piece[:-1] if start else torch.cat(  # pre-emphasis: red
            [piece[:1], piece[1:] - 0.97 * piece[:-1]])                 # noise is not periodic
        f = piece.unfold(0, win, hop)
        power = _power_spectrum(f - f.mean(1, keepdim=True), taper, n_fft)
        spectrum += power.sum(0)
        if band is not None:
            power = power * band_gain(n_fft, band)
        ac = torch.fft.irfft(power, n_fft)[:, :hi + PEAK_REACH] * gain
        peak[first:last] = period_peaks(ac / (ac[:, :1] + 1e-12), lo, hi)
        level[first:last] = 10 * torch.log10(ac[:, 0] + 1e-12)
    loud = level > level.max() - VOICING_RANGE_DB
    v = torch.nn.functional.pad((peak > VOICING_PEAK) & loud, (2, 2))
    # a voice holds its pitch for 30 ms or more; noise is periodic for a frame here and there
    held = (v[:-4] & v[1:-3] & v[2:-2]) | (v[1:-3] & v[2:-2] & v[3:-1]) | (v[2:-2] & v[3:-1] & v[4:])
    edge = band_edge(spectrum)
    if edge < NARROW_BAND:  # 8 kHz audio: its noise is periodic more often
        held = _runs_kept(held, (peak > VOICING_STRONG) & loud, VOICING_LONG)
    held = bridge_single_gaps(held)
    centred = torch.zeros(n_out, dtype=torch.bool)  # window t starts 20 ms before frame t + 2
    centred[2: 2 + len(held)] = held[: max(0, n_out - 2)]
    return centred, edge


def bridge_single_gaps(voiced: Tensor) -> Tensor:
    """`voiced` with each lone unvoiced frame between two voiced ones made voiced: a voice does
    not stop for 10 ms. Why: a fading /l/ whose low murmur hid its period for one frame ended
    its word's voicing there (praatio's "mary": 'barrel' ended 28 ms early, `period_peaks`
    having stopped counting the murmur's slope as a period)."""
    out = voiced.clone()
    out[1:-1] |= voiced[:-2] & voiced[2:]
    return out


def period_peaks(ac: Tensor, lo: int, hi: int) -> Tensor:
    """The height of each frame's highest period peak at a lag in [lo, hi), in its normalised
    autocorrelation ac [frames, hi + PEAK_REACH lags] (ac[:, 0] = 1); 0 where there is none. A
    peak is the highest value within PEAK_REACH lags either side (noise under pre-emphasis makes
    the correlation zigzag from one lag to the next; the lags beyond hi show whether the last
    ones only climb towards a longer period), and rises VOICING_DIP above the lowest value at any
    shorter lag. A frame whose peak is under VOICING_PEAK may read 0.

    Why not the highest value among the voice's lags: mains hum (50 or 60 Hz and harmonics)
    was 99% voiced, and speech with hum under it "voiced" in its pauses (`ends_in_speech`,
    `untranscribed_speech` on correct recordings; no `no_speech` on a hum-only one). A signal
    that low has its autocorrelation still falling from lag 0 at the shortest lag of a voice
    (cos of a small angle: 0.89 at 1.5 ms for 50 Hz), with noise's wiggles on the slope, or a
    60 Hz period just past the last lag; a voice's period stands on a dip (the half period's trough).
    Speech keeps its voicing: the shipped example's frames 84% voiced either way, 100 learner
    recordings a median of 49%."""
    k = PEAK_REACH
    best, at = ac[:, lo:hi].max(1)  # most frames: the highest value is the peak, or no voice's
    lag = at + lo
    ok = best >= ac.gather(1, lag[:, None] + torch.arange(-k, k + 1)).amax(1)
    lowest = torch.cummin(ac[:, :hi], 1).values.gather(1, lag[:, None])[:, 0]  # lags <= lag
    ok &= best - lowest >= VOICING_DIP
    out = torch.where(ok, best, torch.zeros_like(best))
    # the highest value is a slope, and a peak under it could still be a voice's: search all
    again = (~ok & (best > VOICING_PEAK)).nonzero()[:, 0]
    if len(again):
        out[again] = _all_period_peaks(ac[again], lo, hi)
    return out


def _all_period_peaks(ac: Tensor, lo: int, hi: int) -> Tensor:
    """`period_peaks` searched over every lag (the rules applied everywhere: slower)."""
    k = PEAK_REACH
    dip = ac - torch.cummin(ac, 1).values
    around = torch.nn.functional.max_pool1d(ac[:, None], 2 * k + 1, 1, k)[:, 0]
    inner = ac[:, lo:hi]
    peak = (inner >= around[:, lo:hi]) & (dip[:, lo:hi] >= VOICING_DIP)
    return torch.where(peak, inner, torch.zeros_like(inner)).amax(1)


@cached_constant
def band_gain(n_fft: int, edges: tuple[float, float, float, float], sample_rate: int = 16000
              ) -> Tensor:
    """Power gain by FFT bin [n_fft // 2 + 1]: 0 below edges[0] Hz, rising (raised cosine) to 1
    at edges[1], 1 up to edges[2], falling to 0 at edges[3]. Soft edges: a sharply cut band's
    autocorrelation rings, and noise would look periodic."""
    freq = torch.arange(n_fft // 2 + 1) * sample_rate / n_fft
    rise = ((freq - edges[0]) / (edges[1] - edges[0])).clamp(0, 1)
    fall = ((edges[3] - freq) / (edges[3] - edges[2])).clamp(0, 1)
    return (0.5 - 0.5 * torch.cos(torch.pi * rise)) * (0.5 - 0.5 * torch.cos(torch.pi * fall))


# `voiced_share_in_noise`: the band where a voice's harmonics stand above white noise (edges of
# `band_gain`, Hz: rumble and mains hum's fundamental below, hiss above), and how far above the
# recording's median level a frame must be to count there.
NOISE_VOICING_BAND = (100.0, 200.0, 2500.0, 5000.0)
NOISE_VOICING_ABOVE_DB = 3.0


def voiced_share_in_noise(waveform: Tensor | np.ndarray) -> float:
    """The share of a recording's frames voiced in the band of a voice's low harmonics
    (NOISE_VOICING_BAND) that are also NOISE_VOICING_ABOVE_DB above its median level: a second
    look for a voice, taken where `voiced_frames` finds almost none (`no_speech`).

    Why: `voiced_frames` judges the whole band after pre-emphasis, which lifts white noise's
    highs, so speech in hiss had no voiced frame: with white noise 5 dB under the speech 27% of
    60 learners' recordings had too few for `no_speech`, at 0 dB 78%. In the band, none at 5
    or 0 dB (47% at -5 dB); the level rule keeps noise alone out (white, pink, brown, 8 kHz
    white and mains hum 30 of 30 samples still under the threshold: steady noise has no frames
    that much louder than its median)."""
    voiced = voiced_frames(waveform, NOISE_VOICING_BAND)
    levels = frame_levels(waveform)
    n = min(len(voiced), len(levels))
    if n == 0:
        return 0.0
    loud = levels[:n] > levels[:n].median() + NOISE_VOICING_ABOVE_DB
    return float((voiced[:n] & loud).to(torch.float64).mean())


def band_edge(spectrum: Tensor, sample_rate: int = 16000) -> float:
    """The frequency (Hz) below which all but 1e-4 (-40 dB) of `spectrum`'s power lies
    ([n_fft // 2 + 1] power by bin, up to sample_rate / 2): about 3.9 kHz for audio recorded at
    8 kHz and upsampled, 5.8 kHz or more for learners' recordings at 16 kHz."""
    cumulative = torch.cumsum(spectrum.double(), 0)
    if float(cumulative[-1]) <= 0:
        return sample_rate / 2
    bin_ = int(torch.searchsorted(cumulative, (1 - 1e-4) * cumulative[-1]))
    return bin_ * sample_rate / (2 * (len(spectrum) - 1))


def _runs_kept(runs: Tensor, strong: Tensor, long: int) -> Tensor:
    """[N] `runs` with only its runs of True that hold a True of `strong` (same length) or are
    `long` or longer."""
    if not bool(runs.any()):
        return runs
    starts = runs & ~torch.nn.functional.pad(runs, (1, 0))[:-1]
    run_id = torch.cumsum(starts.long(), 0) * runs  # 1, 2, ... per run; 0 outside
    kept = torch.zeros(int(run_id.max()) + 1, dtype=torch.bool)
    kept[run_id[strong & runs]] = True
    kept |= torch.bincount(run_id, minlength=kept.numel()) >= long
    kept[0] = False
    return kept[run_id]
