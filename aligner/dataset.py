"""Training data: read MFA-style corpora once into a feature cache, batch it, augment it.

Why a cache: on a CPU, decoding audio and computing log-mels every epoch would cost as much as
the model itself. Each corpus is read once into float16 log-mels plus each utterance's phone ids
per word (from the project's text front-end, exactly as for any user's corpus: gold times are
never used for training), and saved under a cache folder keyed by the corpus path, its file
list and the feature settings. Later epochs and later runs only load tensors.

Augmentation works on the cached log-mels (so it is nearly free):
- speed perturbation: time-stretch by linear interpolation (tempo change, no pitch change);
- vocal-tract-length perturbation: the mel axis stretched by a random factor (a new "speaker");
- additive noise, exact in the power domain: log(exp(x) + noise power), at a random SNR and
  spectral tilt with per-cell periodogram jitter;
- telephone band: mel bins above a random 3.4-4 kHz cut-off replaced by the noise floor;
- SpecAugment-style frequency and (short) time masks;
- edge padding (`pad_edges`, off unless asked for): a random stretch of quiet added before
  and after the speech, so the model does not learn how much pause its recordings hold.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from aligner.alignment import FRAME_SECONDS, frame_span
from aligner.atomic import atomic_path
from aligner.features import (QUIET_PEAK, FeatureConfig, log_mel, mel_filterbank,
                              model_input, model_wave)


# Transcripts of timed utterances (a TextGrid's intervals, a CHAT file's bulleted lines): training
# reads one text per recording, so these are left out (listed with the skipped files).
UNTRAINED_TRANSCRIPTS = (".textgrid", ".cha")


class CorpusError(ValueError):
    """A training corpus cannot be used (one-line message naming the folder or file)."""


@dataclass
class Item:
    """One cached utterance: log-mels [T, n_mels] float16 and phone class ids per word; `gold`,
    where a corpus has gold times (synthetic speech), the phone class under each frame [T]
    (-100 where unknown)."""

    name: str
    feats: Tensor
    words: list[list[int]]
    gold: Tensor | None = None

    @property
    def frames(self) -> int:
        return int(self.feats.shape[0])


# ---------------------------------------------------------------------------------- reading


def _cache_key(root: Path, files: list[tuple[str, int, int]], features: FeatureConfig) -> str:
    h = hashlib.sha1()
    h.update(str(root.resolve()).encode())
    h.update(json.dumps(features.to_dict(), sort_keys=True).encode())
    h.update(f"lift_quiet {QUIET_PEAK}".encode())  # features made before it differ for quiet files
    h.update(b"dc removed")  # ... and before `model_wave` for recordings with an offset
    for name, size, mtime in files:
        h.update(f"{name}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()[:16]


def read_corpus(root: Path, cache_dir: Path | None, features: FeatureConfig | None = None,
                log=print) -> tuple[list[Item], list[str]]:
    """All usable utterances of an MFA-style corpus as cached Items, and the skipped ones' reasons.

    Utterances whose audio or transcript cannot be used are skipped with a one-line reason
    (a training corpus of thousands of files should not stop for one bad file); a corpus with
    no usable utterance raises CorpusError.
    """
    from aligner.audio import load_audio
    from aligner.corpus import find_utterances
    from aligner.errors import one_line
    from aligner.text.frontend import load_lexicon, prepare_text, read_transcript
    from aligner.text.phones import phone_ids

    root = Path(root)
    features = features or FeatureConfig()
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder not found")
    utts = [u for u in find_utterances(root) if u.transcript is not None]
    if not utts:
        raise CorpusError(f"{root}: no recordings with transcripts (.lab/.txt) found")
    stamp = []
    for u in utts:
        st = u.audio.stat()
        tt = u.transcript.stat()
        stamp.append((u.name, st.st_size + tt.st_size, int(max(st.st_mtime, tt.st_mtime))))
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"{root.name}-{_cache_key(root, stamp, features)}.pt"
        if cache_file.is_file():
            data = torch.load(cache_file, weights_only=True)
            items = [Item(n, f, w) for n, f, w in zip(data["names"], data["feats"], data["words"])]
            log(f"{root}: {len(items)} utterances from cache {cache_file}")
            return items, list(data["skipped"])
    lexicon = load_lexicon()
    items: list[Item] = []
    skipped: list[str] = []
    for k, u in enumerate(utts):
        if k and k % 500 == 0:
            log(f"{root}: read {k}/{len(utts)} utterances")
        try:
            if u.transcript.suffix.lower() in UNTRAINED_TRANSCRIPTS:
                raise ValueError(f"{u.transcript.suffix} transcripts are not read for training "
                                 "(use .lab)")
            prepared = prepare_text(read_transcript(u.transcript), lexicon)
            ids = [phone_ids(phones) for phones in prepared.phones]
            wave = torch.from_numpy(load_audio(u.audio, features.sample_rate))
        except ValueError as err:
            skipped.append(f"{u.name}: {one_line(err)}")
            continue
        feats = log_mel(model_wave(wave), features)
        n_phones = sum(len(w) for w in ids)
        if feats.shape[0] < n_phones + 2:
            skipped.append(f"{u.name}: {n_phones} phones but only {feats.shape[0]} frames")
            continue
        items.append(Item(u.name, feats.to(torch.float16), ids))
    if not items:
        raise CorpusError(f"{root}: none of the {len(utts)} utterances is usable ({skipped[0]})")
    if cache_file is not None:
        with atomic_path(cache_file) as tmp:  # a killed run leaves no half-written cache
            torch.save({"names": [i.name for i in items], "feats": [i.feats for i in items],
                        "words": [i.words for i in items], "skipped": skipped}, tmp)
    log(f"{root}: {len(items)} utterances read ({len(skipped)} skipped)")
    return items, skipped


def write_feature_file(items: list[Item], path: Path, features: FeatureConfig) -> None:
    """Save items (features, phone ids, gold labels where they have them) as one file that
    `train` takes in place of a corpus folder (`read_feature_file`).

    Why: a GPU machine lent for a training run gets a 64 MiB working tree and no audio; the
    corpora travel as compact features (recipes/train/device) and become such a file there."""
    with atomic_path(Path(path)) as tmp:
        torch.save({"features": features.to_dict(), "names": [i.name for i in items],
                    "feats": [i.feats for i in items], "words": [i.words for i in items],
                    "gold": [i.gold for i in items]}, tmp)


def read_feature_file(path: Path, features: FeatureConfig) -> list[Item]:
    """The items of a file `write_feature_file` wrote; a CorpusError if it is not one or holds
    other features than the model takes."""
    try:
        data = torch.load(path, weights_only=True)
        items = [Item(n, f.to(torch.float16), w, g) for n, f, w, g in
                 zip(data["names"], data["feats"], data["words"], data["gold"], strict=True)]
        stored = FeatureConfig.from_dict(data["features"])
    except Exception as err:  # any unpickling or shape problem: the file is not ours
        raise CorpusError(f"{path}: not a corpus folder or a feature file from "
                          f"write_feature_file ({type(err).__name__})") from None
    if stored != features:
        raise CorpusError(f"{path}: its features ({stored}) are not the model's ({features})")
    return items


def gold_frame_labels(phones: list[tuple[float, float, str]], n_frames: int,
                      frame: float = FRAME_SECONDS, vocab: Sequence[str] | None = None) -> Tensor:
    """[n_frames] int64 phone class under each frame centre ((t + 0.5) * frame) from gold
    (start, end, label) phones: silence where the gold has none, -100 for a label outside
    `vocab` (default: the model's classes, aligner/text/phones.py)."""
    from aligner.phone_folding import SILENCE_LABELS, clean_phone
    from aligner.text.phones import VOCAB

    index = {p: i for i, p in enumerate(vocab or VOCAB)}
    silence = index["sil"]
    labels = torch.full((n_frames,), silence, dtype=torch.long)
    for start, end, label in phones:
        name = label.strip().upper().rstrip("012")
        cls = silence if clean_phone(label) in SILENCE_LABELS else index.get(name, -100)
        lo, hi = frame_span(start, end, n_frames, frame)
        labels[lo:hi] = cls
    return labels


def attach_gold_labels(root: Path, items: list[Item], cache_dir: Path | None, log=print) -> int:
    """Attach gold frame labels to the items of corpus `root` that have a `<name>.TextGrid`
    with a phones tier beside their audio (the synthetic corpus); returns how many got them.

    Why: where exact times exist, a frame cross-entropy on them can sit next to the OTTC loss
    (`train --gold-aux`); real corpora have none and train on their transcripts alone. Labels
    are cached like the features (TextGrids parse slowly by the thousand)."""
    root = Path(root)
    grids = [root / f"{it.name}.TextGrid" for it in items]
    stamp = [(g.name, g.stat().st_size, int(g.stat().st_mtime)) for g in grids if g.is_file()]
    if not stamp:
        return 0
    cache_file = None
    labels: dict[str, Tensor] = {}
    if cache_dir is not None:
        key = hashlib.sha1(json.dumps([str(root.resolve()), stamp]).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / f"{root.name}-gold-{key}.pt"
        if cache_file.is_file():
            labels = torch.load(cache_file, weights_only=True)
    if not labels:
        for k, (it, grid) in enumerate(zip(items, grids)):
            if k and k % 2000 == 0:
                log(f"{root}: gold times of {k}/{len(items)} utterances read")
            phones = _gold_phones(grid) if grid.is_file() else []
            if phones:
                labels[it.name] = gold_frame_labels(phones, it.frames).to(torch.int16)
        if cache_file is not None:
            with atomic_path(cache_file) as tmp:
                torch.save(labels, tmp)
    for it in items:
        if it.name in labels:
            it.gold = labels[it.name]
    return sum(it.gold is not None for it in items)


def _gold_phones(grid: Path) -> list[tuple[float, float, str]]:
    """(start, end, label) of a gold TextGrid's phones tier, its tiers found as `evaluate` and
    `adapt` find them (`phone`, `segments`, a speaker's `- phones` tier); none when it has no
    phones tier. Why tolerant: a strict read took a `phone` tier for none at all, and the
    corpus trained without its gold, without a word said."""
    from aligner.formats import read_textgrid

    return [(p.start, p.end, p.label) for a in read_textgrid(grid, tolerant=True) for p in a.phones]


def stretch_labels(labels: Tensor, n_frames: int) -> Tensor:
    """Frame labels [T] resampled (nearest) to `n_frames`, as `speed_perturb` stretches the
    features (linear interpolation with aligned corners)."""
    if labels.shape[0] == n_frames:
        return labels
    index = torch.linspace(0, labels.shape[0] - 1, n_frames).round().long()
    return labels[index]


def state_labels(phone_labels: Tensor, states: int) -> Tensor:
    """[T] phone-class frame labels -> sub-phonetic state labels: each run of one phone split
    into `states` equal parts in order (aligner/states.py's class layout); silence and -100 stay."""
    from aligner.states import FIRST_PHONE

    labels = phone_labels.long()
    if states == 1 or labels.numel() == 0:
        return labels
    change = torch.ones_like(labels, dtype=torch.bool)
    change[1:] = labels[1:] != labels[:-1]
    run = torch.cumsum(change.long(), 0) - 1
    starts = torch.nonzero(change).flatten()
    lengths = torch.diff(torch.cat([starts, torch.tensor([labels.numel()])]))
    pos = torch.arange(labels.numel()) - starts[run]
    state = (pos * states) // lengths[run]
    phone = labels >= FIRST_PHONE
    return torch.where(phone, FIRST_PHONE + (labels - FIRST_PHONE) * states + state, labels)


# ---------------------------------------------------------------------------------- batching


def make_batches(lengths: list[int], max_frames: int, seed: int) -> list[list[int]]:
    """Length-bucketed batches of indices with at most `max_frames` padded frames each.

    Sorting by length (with a little seeded noise so batches differ between epochs) keeps
    padding small; the batch order is shuffled with the same seed, so a run is reproducible.
    """
    rng = random.Random(seed)
    keyed = sorted(range(len(lengths)),
                   key=lambda i: lengths[i] * (1.0 + rng.uniform(-0.1, 0.1)))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in keyed:
        longest_new = max(longest, lengths[i])
        if current and longest_new * (len(current) + 1) > max_frames:
            batches.append(current)
            current, longest_new = [], lengths[i]
        current.append(i)
        longest = longest_new
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(feats: list[Tensor], log_floor: float = FeatureConfig.log_floor
            ) -> tuple[Tensor, Tensor, Tensor]:
    """Pad [T_i, F] log-mels at the end, each made the model's input (`features.model_input`,
    as aligning makes it with the model's `log_floor`): ([B, T, F] float32, lengths [B] int64,
    frames the normalisation counts [B, T] bool)."""
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
    out = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1], dtype=torch.float32)
    live = torch.zeros(len(feats), int(lengths.max()), dtype=torch.bool)
    for b, f in enumerate(feats):
        out[b, : f.shape[0]], live[b, : f.shape[0]] = model_input(f.float(), log_floor)
    return out, lengths, live


# ------------------------------------------------------------------------------ augmentation


@dataclass
class Augment:
    """Augmentation settings; `None`-like zeros switch a part off."""

    speed: tuple[float, float] = (0.9, 1.1)
    warp_prob: float = 0.0  # off unless --vtlp (the shipped recipe's): older recipes ran without it
    warp: tuple[float, float] = (0.9, 1.1)
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (5.0, 40.0)
    telephone_prob: float = 0.15
    freq_masks: int = 2
    freq_width: int = 10
    time_mask_every: float = 1.5  # one time mask per this many seconds on average
    time_width: int = 4  # frames
    edge_prob: float = 0.0  # off unless --edge-pad (the shipped recipe's)
    edge_seconds: float = 1.5  # at most this much quiet added on each side
    hold_prob: float = 0.0  # off unless --hold-vowels: the shipped model was trained without it
    hold_seconds: tuple[float, float] = (0.3, 1.5)  # how much longer a held vowel is made


def speed_perturb(feats: Tensor, factor: float) -> Tensor:
    """Time-stretch [T, F] log-mels to round(T / factor) frames (factor > 1 = faster speech)."""
    t = feats.shape[0]
    new_t = max(1, int(round(t / factor)))
    if new_t == t:
        return feats
    x = feats.float().T[None]  # [1, F, T]
    y = torch.nn.functional.interpolate(x, size=new_t, mode="linear", align_corners=True)
    return y[0].T


def frequency_warp(feats: Tensor, factor: float) -> Tensor:
    """Stretch the mel axis of [T, F] log-mels: bin k takes the value at k * factor (linear
    interpolation, edges clamped). factor < 1 moves formants up (a shorter vocal tract)."""
    f = feats.shape[1]
    pos = (torch.arange(f, dtype=torch.float32) * factor).clamp(0, f - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=f - 1)
    w = pos - lo.float()
    return feats[:, lo] * (1 - w) + feats[:, hi] * w


def _bin_centres(features: FeatureConfig) -> Tensor:
    fb = mel_filterbank(features.sample_rate, features.n_fft, features.n_mels, features.f_min,
                        features.f_max)
    freqs = torch.linspace(0, features.sample_rate / 2, fb.shape[0])
    return (fb * freqs[:, None]).sum(0) / fb.sum(0).clamp(min=1e-9)


# The quiet frames an utterance's padding is made of: its own quietest share of frames, or
# white noise, each at up to EDGE_BELOW_DB below that quiet, or digital silence (the log floor).
EDGE_QUIET_SHARE = 0.1
EDGE_BELOW_DB = 25.0


@lru_cache(maxsize=4)
def _white_noise_frames(features: FeatureConfig, n: int = 200) -> Tensor:
    """Log-mels [n, F] of white noise of unit variance (its band shape and frame-to-frame
    spread, to be moved to any level); computed once per feature setting."""
    gen = torch.Generator().manual_seed(0)
    return log_mel(torch.randn(n * features.hop_length, generator=gen), features)


def pad_edges(feats: Tensor, gold: Tensor | None, aug: Augment, rng: random.Random,
              features: FeatureConfig) -> tuple[Tensor, Tensor | None]:
    """An utterance's log-mels [T, F] and gold frame labels [T] (or None) with a random stretch
    of quiet before and after (silence in the gold), with probability `aug.edge_prob`.

    Why: the model normalises each recording by its own statistics, and recordings differ in
    how much pause surrounds the speech and how quiet it is (a recorder's lead-in, an editor's
    padding, a quieter room tone); a model that has seen only its corpora's edges moved word
    edges by more than 50 ms on 61% of learners' clips given 1 s of -70 dBFS noise each side.

    As the shipped model was trained: the room tone is the quietest tenth of the utterance's
    frames, digital silence included, so an utterance that holds a tenth or more of it (most
    synthetic ones) is padded with digital silence or next to it, which `features.model_input`
    then treats as aligning does. The batches are planned on the unpadded lengths, so a batch
    of short utterances can hold several times `--max-frames` once padded (mind a GPU's memory)."""
    if not aug.edge_prob or rng.random() >= aug.edge_prob:
        return feats, gold
    x = feats.float()
    most = int(aug.edge_seconds * features.sample_rate / features.hop_length)
    lead, trail = rng.randint(0, most), rng.randint(0, most)
    n = lead + trail
    if n == 0:
        return feats, gold
    floor = math.log(features.log_floor)
    energy = x.mean(1)
    quiet = x[energy.argsort()[: max(1, int(EDGE_QUIET_SHARE * x.shape[0]))]]
    below = rng.uniform(0.0, EDGE_BELOW_DB) * math.log(10) / 10
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    kind = rng.random()
    if kind < 0.4:  # the recording's own room tone, quieter
        pad = quiet[torch.randint(0, quiet.shape[0], (n,), generator=gen)] - below
    elif kind < 0.8:  # white noise below the room tone
        white = _white_noise_frames(features)
        pad = white[torch.randint(0, white.shape[0], (n,), generator=gen)]
        pad = pad - pad.mean() + quiet.mean() - below
    else:  # digital silence
        pad = torch.full((n, x.shape[1]), floor)
    pad = pad.clamp(min=floor)
    x = torch.cat([pad[:lead], x, pad[lead:]])
    if gold is not None:
        from aligner.text.phones import SILENCE_ID

        sil = gold.new_full((1,), SILENCE_ID)
        gold = torch.cat([sil.expand(lead), gold, sil.expand(trail)])
    return x, gold


@lru_cache(maxsize=1)
def _vowel_ids() -> Tensor:
    from aligner.text.phones import VOCAB, manner

    return torch.tensor([i for i, p in enumerate(VOCAB) if manner(p) == "vowel"])


HOLD_SPREAD = 0.1  # log-mel jitter on a held vowel's repeated frames (a voice is never still)


def hold_vowel(feats: Tensor, gold: Tensor | None, aug: Augment, rng: random.Random
               ) -> tuple[Tensor, Tensor | None]:
    """An utterance's log-mels [T, F] and gold frame labels [T] with, with probability
    `aug.hold_prob`, one vowel of at least 4 frames held `aug.hold_seconds` longer: the frames
    of its middle half played back and forth at its middle, with a little jitter, and the gold
    vowel extended over them. Utterances without gold are left as they are.

    Why: no training voice holds a vowel much beyond 300 ms, and the shipped model hears a held
    one (a sustained /a/ for maximum phonation time, a stretched "oh") as silence for most of
    its length: learners' vowels lengthened to 0.9-1.2 s got a 20 ms vowel and silence around
    it."""
    if gold is None or not aug.hold_prob or rng.random() >= aug.hold_prob:
        return feats, gold
    vowel = torch.isin(gold, _vowel_ids())
    edges = torch.diff(vowel.to(torch.int8), prepend=vowel.new_zeros(1, dtype=torch.int8),
                       append=vowel.new_zeros(1, dtype=torch.int8))
    starts, ends = edges.eq(1).nonzero()[:, 0].tolist(), edges.eq(-1).nonzero()[:, 0].tolist()
    runs = [(a, b) for a, b in zip(starts, ends) if b - a >= 4 and bool((gold[a:b] == gold[a]).all())]
    if not runs:
        return feats, gold
    a, b = runs[rng.randrange(len(runs))]
    lo, hi = a + (b - a) // 4, b - (b - a) // 4  # its middle half
    n = int(round(rng.uniform(*aug.hold_seconds) / FRAME_SECONDS))
    cycle = list(range(lo, hi)) + list(range(hi - 2, lo, -1))  # back and forth
    order = torch.tensor([cycle[k % len(cycle)] for k in range(n)])
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    held = feats.float()[order] + HOLD_SPREAD * torch.randn(n, feats.shape[1], generator=gen)
    mid = (a + b) // 2
    x = torch.cat([feats.float()[:mid], held, feats.float()[mid:]])
    g = torch.cat([gold[:mid], gold[mid].expand(n), gold[mid:]])
    return x, g


def augment(feats: Tensor, aug: Augment, rng: random.Random, features: FeatureConfig) -> Tensor:
    """One randomly augmented copy of an utterance's log-mels [T, F] (float32)."""
    x = feats.float()
    if aug.speed and aug.speed[0] != aug.speed[1]:
        x = speed_perturb(x, rng.uniform(*aug.speed))
    if aug.warp_prob and rng.random() < aug.warp_prob:
        x = frequency_warp(x, rng.uniform(*aug.warp))
    t, f = x.shape
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    if rng.random() < aug.noise_prob:
        level = torch.logsumexp(x, dim=0) - math.log(t)  # mean power per bin, log
        speech = float(torch.logsumexp(level, 0) - math.log(f))
        snr = rng.uniform(*aug.snr_db)
        tilt = torch.linspace(-1.0, 1.0, f) * rng.uniform(-2.0, 2.0)
        noise = speech - snr * math.log(10) / 10 + tilt
        noise = noise[None, :] + 0.5 * torch.randn(t, f, generator=gen)
        x = torch.logaddexp(x, noise)
    if rng.random() < aug.telephone_prob:
        cut = rng.uniform(3400.0, 4000.0)
        high = _bin_centres(features) > cut
        floor = x[:, high].amin() if bool(high.any()) else x.amin()
        x[:, high] = floor + 0.3 * torch.randn(t, int(high.sum()), generator=gen)
    mean = x.mean(0)
    for _ in range(aug.freq_masks):
        w = rng.randint(0, aug.freq_width)
        lo = rng.randint(0, max(0, f - w))
        x[:, lo:lo + w] = mean[lo:lo + w]
    if aug.time_mask_every > 0:
        n = int(t * FRAME_SECONDS / aug.time_mask_every + rng.random())
        for _ in range(n):
            w = rng.randint(1, aug.time_width)
            lo = rng.randint(0, max(0, t - w))
            x[lo:lo + w] = mean
    return x


NO_AUGMENT = Augment(speed=(1.0, 1.0), warp_prob=0.0, noise_prob=0.0, telephone_prob=0.0, freq_masks=0,
                     time_mask_every=0.0)
