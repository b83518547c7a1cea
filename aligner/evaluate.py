"""Boundary metrics that compare a hypothesis alignment with a gold one.

The figures decide this project's defaults, so the definitions are spelled out here and in
docs/benchmarks/accuracy.md, and the metric functions are pure (token lists in, numbers out). The
file side (finding the files, which `aligner.formats` reads in its tolerant mode; pairing gold
and hypothesis files; writing the CSV) is kept apart at the bottom of the module, shared by the
CLI and the benchmarks.

Definitions (per tier: phones or words; silence is never a token; a tier the gold does not have,
or has without a labelled token, is not scored, so a phones-only gold counts no word insertions):
- Tokens of the two sides are paired by edit distance over their (folded) labels, with time
  overlap breaking ties; substitutions stay paired (their times are still comparable).
- Boundary error: for every paired token, its start and its end against the gold ones; a time
  shared by two consecutive paired tokens on both sides (end of one = start of the next) counts
  once. Mean, median and share within 10/20/25/50 ms are over these absolute errors.
  Bias: the mean signed offset (hyp - gold), which shows a system (or a gold voice) that is
  consistently late or early.
- Boundary F1 at a tolerance: the distinct boundary times (token starts and ends) of each side,
  matched one to one when within the tolerance, regardless of labels.
- IDR (intersection over duration ratio): per gold token, the share of its duration covered by its
  paired hypothesis token (0 if deleted); the mean over gold tokens.
- Silence share: the share of 10 ms frames (centre inside no token) on silence, hyp vs gold.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from aligner.alignment import FRAME_SECONDS, Alignment, Interval, frame_span
from aligner.atomic import atomic_open
from aligner.corpus import REPORT_NAME, TABLE_NAME, walk_files
from aligner.formats import (ACCEPTED, READ_SUFFIXES, FormatError, NotAlignmentError, TierNames,
                             ctm_field, ctm_id, named_kind, pool_speakers, read_utterances,
                             textgrid_tier_choice)
from aligner.phone_folding import SILENCE_LABELS, Folding, clean_phone, fold_words, load_folding
from aligner.text.phones import manner as phone_manner

TOLERANCES_MS: tuple[int, ...] = (10, 20, 25, 50)
_EPS = 1e-6


# ----------------------------------------------------------------------------- token pairing
_BLOCK = 400  # tokens per block when a recording is too long for one quadratic table


def pair_tokens(gold: Sequence[Interval], hyp: Sequence[Interval]) -> list[tuple[int | None, int | None]]:
    """Edit-distance pairing; long recordings are cut into time blocks to stay near-linear.

    A block holds `_BLOCK` gold tokens and the hyp tokens whose midpoint falls in its time range,
    so an hour of speech costs seconds, not an hour; per-utterance files pair in one piece.
    """
    if len(gold) * len(hyp) <= _BLOCK * _BLOCK * 4:
        return _pair_block(gold, hyp)
    mids = np.maximum.accumulate(np.array([(t.start + t.end) / 2 for t in hyp]))  # sorted
    pairs: list[tuple[int | None, int | None]] = []
    h_lo = 0
    for g_lo in range(0, len(gold), _BLOCK):
        g_hi = min(len(gold), g_lo + _BLOCK)
        limit = gold[g_hi].start if g_hi < len(gold) else float("inf")
        h_hi = int(np.searchsorted(mids, limit, side="left")) if g_hi < len(gold) else len(hyp)
        h_hi = max(h_hi, h_lo)
        for g, h in _pair_block(gold[g_lo:g_hi], hyp[h_lo:h_hi]):
            pairs.append((None if g is None else g + g_lo, None if h is None else h + h_lo))
        h_lo = h_hi
    return pairs


def _pair_block(gold: Sequence[Interval], hyp: Sequence[Interval]) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment of two token sequences: (gold index, hyp index) pairs in order.

    `None` on one side marks a deletion (gold token not in hyp) or an insertion. Costs are 1 for a
    substitution, insertion or deletion; a small time-disagreement term (< 1 in total) makes the
    choice among equally short edit paths follow the timing, so repeated phones pair sensibly.
    """
    n, m = len(gold), len(hyp)
    tie = 1e-3 / max(1, n + m)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    back = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 diagonal, 1 deletion (up), 2 insertion
    back[1:, 0] = 1
    back[0, 1:] = 2
    g_start = np.array([t.start for t in gold])
    g_end = np.array([t.end for t in gold])
    h_start = np.array([t.start for t in hyp])
    h_end = np.array([t.end for t in hyp])
    h_labels = np.array([t.label for t in hyp], dtype=object)
    if m == 0:
        return [(i, None) for i in range(n)]
    for i in range(1, n + 1):
        g = gold[i - 1]
        overlap = np.clip(np.minimum(g_end[i - 1], h_end) - np.maximum(g_start[i - 1], h_start), 0, None)
        span = np.maximum(np.maximum(g_end[i - 1], h_end) - np.minimum(g_start[i - 1], h_start), _EPS)
        miss = tie * (1.0 - overlap / span)
        sub = (h_labels != g.label).astype(np.float64) + miss
        prev = cost[i - 1]
        diag = prev[:-1] + sub
        up = prev[1:] + 1.0
        best = np.minimum(diag, up)
        # left moves: row[j] = min_k<=j (best[k] + j - k), a running minimum (vectorised)
        ramp = np.arange(m + 1, dtype=np.float64)
        full = np.concatenate(([cost[i, 0]], best))
        row = np.minimum.accumulate(full - ramp) + ramp
        cost[i, 1:] = row[1:]
        left = row[1:] < best - 1e-12
        back[i, 1:] = np.where(left, 2, np.where(diag <= up, 0, 1))
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        move = back[i, j]
        if move == 0:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move == 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    pairs.reverse()
    return pairs


@dataclass(frozen=True)
class EditCounts:
    """Outcome of pairing: error rate = (substituted + deleted + inserted) / gold."""

    gold: int
    hyp: int
    matched: int
    substituted: int
    deleted: int
    inserted: int

    @property
    def error_rate(self) -> float:
        return (self.substituted + self.deleted + self.inserted) / max(1, self.gold)


def edit_counts(gold: Sequence[Interval], hyp: Sequence[Interval],
                pairs: Sequence[tuple[int | None, int | None]]) -> EditCounts:
    matched = sum(1 for g, h in pairs if g is not None and h is not None and gold[g].label == hyp[h].label)
    both = sum(1 for g, h in pairs if g is not None and h is not None)
    deleted = sum(1 for g, h in pairs if h is None)
    inserted = sum(1 for g, h in pairs if g is None)
    return EditCounts(len(gold), len(hyp), matched, both - matched, deleted, inserted)


# ----------------------------------------------------------------------------- boundaries
def boundary_pairs(gold: Sequence[Interval], hyp: Sequence[Interval],
                   pairs: Sequence[tuple[int | None, int | None]]) -> list[tuple[float, float]]:
    """(gold time, hyp time) for the start and end of every paired token, shared ones once."""
    out: list[tuple[float, float]] = []
    both = [(g, h) for g, h in pairs if g is not None and h is not None]
    for k, (g, h) in enumerate(both):
        out.append((gold[g].start, hyp[h].start))
        if k + 1 < len(both):
            g2, h2 = both[k + 1]
            if (g2 == g + 1 and h2 == h + 1 and abs(gold[g].end - gold[g2].start) < _EPS
                    and abs(hyp[h].end - hyp[h2].start) < _EPS):
                continue  # the next token's start is this end: count it once
        out.append((gold[g].end, hyp[h].end))
    return out


def boundary_offsets(gold: Sequence[Interval], hyp: Sequence[Interval],
                     pairs: Sequence[tuple[int | None, int | None]]) -> np.ndarray:
    """Signed boundary offsets hyp - gold in seconds (positive: the hypothesis is late)."""
    bp = boundary_pairs(gold, hyp, pairs)
    return np.array([h - g for g, h in bp], dtype=np.float64)


def share_within(errors: np.ndarray, tolerance: float) -> float:
    """Share of errors at most `tolerance` seconds (NaN for no errors)."""
    if errors.size == 0:
        return float("nan")
    return float(np.mean(errors <= tolerance + 1e-9))


def boundary_times(tokens: Sequence[Interval]) -> np.ndarray:
    """The distinct times where a token starts or ends, sorted."""
    times = sorted({round(t.start, 6) for t in tokens} | {round(t.end, 6) for t in tokens})
    return np.array(times, dtype=np.float64)


def match_boundaries(gold_times: np.ndarray, hyp_times: np.ndarray, tolerance: float) -> int:
    """Largest one-to-one matching of sorted times within `tolerance` (greedy is optimal in 1-D)."""
    i = j = matched = 0
    while i < len(gold_times) and j < len(hyp_times):
        d = hyp_times[j] - gold_times[i]
        if abs(d) <= tolerance + 1e-9:
            matched += 1
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return matched


def f1_from_counts(matched: int, n_gold: int, n_hyp: int) -> tuple[float, float, float]:
    """(precision, recall, F1); NaN where undefined."""
    precision = matched / n_hyp if n_hyp else float("nan")
    recall = matched / n_gold if n_gold else float("nan")
    if not n_hyp or not n_gold or matched == 0:
        return precision, recall, 0.0 if (n_hyp and n_gold) else float("nan")
    return precision, recall, 2 * precision * recall / (precision + recall)


# ----------------------------------------------------------------------------- paper metrics
def idr_values(gold: Sequence[Interval], hyp: Sequence[Interval],
               pairs: Sequence[tuple[int | None, int | None]]) -> np.ndarray:
    """Per gold token: |gold span ∩ paired hyp span| / gold duration (0 for a deleted token)."""
    out = []
    for g, h in pairs:
        if g is None:
            continue
        dur = gold[g].end - gold[g].start
        if dur <= 0:
            continue
        if h is None:
            out.append(0.0)
            continue
        inter = min(gold[g].end, hyp[h].end) - max(gold[g].start, hyp[h].start)
        out.append(max(0.0, inter) / dur)
    return np.array(out, dtype=np.float64)


def silence_frames(tokens: Sequence[Interval], n_frames: int, frame: float = FRAME_SECONDS) -> int:
    """Number of frames (centre (t + 0.5) * frame) that no token covers."""
    covered = np.zeros(n_frames, dtype=bool)
    for t in tokens:
        first, last = frame_span(t.start, t.end, n_frames, frame)
        if last > first:
            covered[first:last] = True
    return int(n_frames - covered.sum())


# ----------------------------------------------------------------------------- one utterance
@dataclass
class TierScore:
    """Everything needed to pool one tier of one utterance into corpus figures."""

    counts: EditCounts
    offsets: np.ndarray             # signed boundary offsets hyp - gold, seconds
    idr: np.ndarray                 # per gold token
    f1_matched: int
    f1_gold: int
    f1_hyp: int

    @property
    def errors(self) -> np.ndarray:
        """Absolute boundary errors, seconds."""
        return np.abs(self.offsets)

    @property
    def f1(self) -> float:
        return f1_from_counts(self.f1_matched, self.f1_gold, self.f1_hyp)[2]


def score_tier(gold: Sequence[Interval], hyp: Sequence[Interval], tolerance: float = 0.02) -> TierScore:
    """Score one tier; `gold` and `hyp` are already folded non-silence tokens in time order."""
    pairs = pair_tokens(gold, hyp)
    gt, ht = boundary_times(gold), boundary_times(hyp)
    return TierScore(
        counts=edit_counts(gold, hyp, pairs),
        offsets=boundary_offsets(gold, hyp, pairs),
        idr=idr_values(gold, hyp, pairs),
        f1_matched=match_boundaries(gt, ht, tolerance),
        f1_gold=len(gt),
        f1_hyp=len(ht),
    )


@dataclass
class UtteranceScore:
    """One utterance: status is 'ok'; 'failed' (no usable hypothesis, or nothing in the gold to
    score) or 'unreadable' (the gold or the hypothesis file cannot be read), with a reason."""

    name: str
    status: str = "ok"
    reason: str = ""
    phones: TierScore | None = None
    words: TierScore | None = None
    frames: int = 0
    gold_silence_frames: int = 0
    hyp_silence_frames: int = 0


def hypothesis_folding(gold_folding: Folding) -> Folding:
    """The hypothesis' folding when none is given. Aligners write ARPAbet, so: the gold's own
    when that is an ARPAbet table (cmu39, timit39, a fold file, none), which keeps both sides in
    the same classes (timit39 merges AO into AA); cmu39 when the gold is IPA or SAMPA (ipa,
    emu-ae), whose case-sensitive tables would read ARPAbet T S D N Z as SAMPA TH SH DH NG ZH."""
    return load_folding("cmu39") if gold_folding.case_sensitive else gold_folding


def score_utterance(name: str, gold: Alignment, hyp: Alignment, folding: Folding,
                    tolerance: float = 0.02, hyp_folding: Folding | None = None) -> UtteranceScore:
    """Fold each side with its own table (`folding` the gold, `hyp_folding` the hypothesis,
    default `hypothesis_folding(folding)`), then score the tiers both sides have (a words-only
    hypothesis, e.g. WhisperX's, is not charged with deleting every gold phone) and count silence
    frames (on the phones when both have them, else on the words, the same tier on both)."""
    hyp_folding = hyp_folding or hypothesis_folding(folding)
    g_ph, h_ph = folding.fold_phones(gold.phones), hyp_folding.fold_phones(hyp.phones)
    g_w, h_w = fold_words(gold.words), fold_words(hyp.words)
    duration = max([gold.duration] + [t.end for t in g_ph + g_w])
    n_frames = int(np.ceil(duration / FRAME_SECONDS - 1e-9))
    # a tier is there when the file holds entries for it (before folding: a hypothesis that
    # aligned only silence still has its phones tier, and is scored as deleting every phone)
    both_phones = bool(gold.phones and hyp.phones)
    both_words = bool(gold.words and hyp.words)
    g_sil, h_sil = (g_ph, h_ph) if both_phones else (g_w, h_w)
    return UtteranceScore(
        name=name,
        phones=score_tier(g_ph, h_ph, tolerance) if both_phones else None,
        words=score_tier(g_w, h_w, tolerance) if both_words else None,
        frames=n_frames,
        gold_silence_frames=silence_frames(g_sil, n_frames),
        hyp_silence_frames=silence_frames(h_sil, n_frames),
    )


# ----------------------------------------------------------------------------- corpus summary
@dataclass
class TierSummary:
    """Pooled figures for one tier over all scored utterances."""

    boundaries: int = 0
    mean_ms: float = float("nan")
    median_ms: float = float("nan")
    bias_ms: float = float("nan")      # mean signed offset hyp - gold (positive: late)
    within: dict[int, float] = field(default_factory=dict)   # tolerance ms -> share
    gold_tokens: int = 0
    hyp_tokens: int = 0
    match_rate: float = float("nan")     # identical labels / gold tokens
    error_rate: float = float("nan")     # (S + D + I) / gold tokens
    f1: float = float("nan")
    precision: float = float("nan")
    recall: float = float("nan")
    idr: float = float("nan")


def summarise_tier(scores: Sequence[TierScore]) -> TierSummary:
    if not scores:
        return TierSummary()
    offsets = np.concatenate([s.offsets for s in scores])
    errors = np.abs(offsets)
    idr = np.concatenate([s.idr for s in scores])
    gold = sum(s.counts.gold for s in scores)
    edits = sum(s.counts.substituted + s.counts.deleted + s.counts.inserted for s in scores)
    p, r, f1 = f1_from_counts(sum(s.f1_matched for s in scores), sum(s.f1_gold for s in scores),
                              sum(s.f1_hyp for s in scores))
    return TierSummary(
        boundaries=int(errors.size),
        mean_ms=float(errors.mean() * 1000) if errors.size else float("nan"),
        median_ms=float(np.median(errors) * 1000) if errors.size else float("nan"),
        bias_ms=float(offsets.mean() * 1000) if offsets.size else float("nan"),
        within={tol: share_within(errors, tol / 1000) for tol in TOLERANCES_MS},
        gold_tokens=gold,
        hyp_tokens=sum(s.counts.hyp for s in scores),
        match_rate=sum(s.counts.matched for s in scores) / gold if gold else float("nan"),
        error_rate=edits / gold if gold else float("nan"),
        f1=f1, precision=p, recall=r,
        idr=float(idr.mean()) if idr.size else float("nan"),
    )


@dataclass
class Summary:
    """Corpus figures: pooled over boundaries/tokens/frames of the utterances that were scored."""

    utterances: int
    failed: int
    tolerance_ms: float
    phones: TierSummary
    words: TierSummary
    gold_silence_share: float
    hyp_silence_share: float

    def to_dict(self) -> dict:
        def tier(t: TierSummary) -> dict:
            d = dict(t.__dict__)
            d["within"] = {f"{k}ms": v for k, v in t.within.items()}
            return d
        return {
            "utterances": self.utterances, "failed": self.failed, "tolerance_ms": self.tolerance_ms,
            "phones": tier(self.phones), "words": tier(self.words),
            "gold_silence_share": self.gold_silence_share, "hyp_silence_share": self.hyp_silence_share,
        }


def summarise(scores: Sequence[UtteranceScore], tolerance: float = 0.02) -> Summary:
    ok = [s for s in scores if s.status == "ok"]
    frames = sum(s.frames for s in ok)
    return Summary(
        utterances=len(scores),
        failed=len(scores) - len(ok),
        tolerance_ms=tolerance * 1000,
        phones=summarise_tier([s.phones for s in ok if s.phones is not None]),
        words=summarise_tier([s.words for s in ok if s.words is not None]),
        gold_silence_share=sum(s.gold_silence_frames for s in ok) / frames if frames else float("nan"),
        hyp_silence_share=sum(s.hyp_silence_frames for s in ok) / frames if frames else float("nan"),
    )


def utterance_row(s: UtteranceScore) -> dict[str, object]:
    """One CSV row: the per-utterance view of the summary's figures."""
    row: dict[str, object] = {"utterance": s.name, "status": s.status, "reason": s.reason}
    for tier_name in ("phones", "words"):
        t: TierScore | None = getattr(s, tier_name)
        prefix = tier_name[:-1]
        if t is None:
            row.update({f"{prefix}_{k}": "" for k in (
                "gold", "hyp", "matched", "error_rate", "boundaries", "mean_ms", "median_ms", "bias_ms",
                *[f"within_{tol}ms" for tol in TOLERANCES_MS], "f1", "idr")})
            continue
        row.update({
            f"{prefix}_gold": t.counts.gold, f"{prefix}_hyp": t.counts.hyp,
            f"{prefix}_matched": t.counts.matched, f"{prefix}_error_rate": _r(t.counts.error_rate),
            f"{prefix}_boundaries": int(t.errors.size),
            f"{prefix}_mean_ms": _r(t.errors.mean() * 1000 if t.errors.size else float("nan")),
            f"{prefix}_median_ms": _r(np.median(t.errors) * 1000 if t.errors.size else float("nan")),
            f"{prefix}_bias_ms": _r(t.offsets.mean() * 1000 if t.offsets.size else float("nan")),
            **{f"{prefix}_within_{tol}ms": _r(share_within(t.errors, tol / 1000)) for tol in TOLERANCES_MS},
            f"{prefix}_f1": _r(t.f1),
            f"{prefix}_idr": _r(float(t.idr.mean()) if t.idr.size else float("nan")),
        })
    row["gold_silence_share"] = _r(s.gold_silence_frames / s.frames) if s.frames else ""
    row["hyp_silence_share"] = _r(s.hyp_silence_frames / s.frames) if s.frames else ""
    return row


def _r(x: float) -> object:
    return "" if x != x else round(float(x), 4)


# ============================================================================= files
# Everything below touches the file system: finding the alignment files under a folder (read by
# aligner.formats in its tolerant mode), pairing gold and hypothesis utterances, writing the
# per-utterance CSV.

_TIER_SUFFIXES = (".words", ".phones", ".word", ".phone")
_PREFERENCE = {".textgrid": 0, ".json": 1, ".csv": 2, ".tsv": 2, ".ctm": 3}  # several files, one utterance
# Reports that tools write beside their alignments (ours, MFA's, `train`'s), and a `-f csv`
# corpus run's table of every utterance's rows (it would read as one utterance holding the whole
# corpus): never alignments of their own.
REPORT_FILES = frozenset({REPORT_NAME, TABLE_NAME, "alignment_analysis.csv", "summary.json"})


class EvaluationError(ValueError):
    """A gold or hypothesis file that cannot be read; the message names the file."""


class NotAlignmentFile(EvaluationError):
    """A JSON or CSV/TSV file that holds no alignment (no tiers, no start/end/label columns):
    an error when named on its own, skipped with a note when met in a folder."""


def _read_file(path: Path, tier: str | None = None,
               chosen: TierNames | None = None) -> dict[str | None, Alignment]:
    """One file's utterances (`formats.read_utterances`), its errors turned into evaluate's own:
    an utterance that cannot be read is reported and the others are scored."""
    try:
        return read_utterances(path, tier, chosen)
    except NotAlignmentError as err:
        raise NotAlignmentFile(str(err)) from None
    except FormatError as err:
        raise EvaluationError(str(err)) from None


def _combine(found: list[tuple[int, Alignment]]) -> Alignment:
    """One utterance written as several files (x.ctm + x.phones.ctm, x.TextGrid + x.csv): each
    tier from the most complete format that has it (TextGrid, JSON, CSV/TSV, CTM)."""
    ordered = [a for _, a in sorted(found, key=lambda item: item[0])]
    words = next((a.words for a in ordered if a.words), [])
    phones = next((a.phones for a in ordered if a.phones), [])
    return Alignment(words=words, phones=phones, duration=max(a.duration for a in ordered))


def _strip_tier_suffix(stem: str) -> str:
    low = stem.lower()
    for suffix in _TIER_SUFFIXES:
        if low.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def _alignment_files(root: Path, exclude: Iterable[Path] = ()) -> tuple[list[Path], list[Path]]:
    """(files to read, reports left out) under a folder: every file with an alignment suffix
    but the known report files and `exclude` (this run's own results)."""
    excluded = {p.resolve() for p in exclude}
    found = sorted(p for p in walk_files(root)
                   if p.is_file() and p.suffix.lower() in READ_SUFFIXES)
    is_report = lambda p: p.name.lower() in REPORT_FILES or p.resolve() in excluded
    return [p for p in found if not is_report(p)], [p for p in found if is_report(p)]


def _key(path: Path, base: Path) -> str:
    """Relative path without suffix or tier suffix: s1/a.phones.ctm -> s1/a."""
    rel = path.relative_to(base).with_suffix("")
    name = _strip_tier_suffix(rel.name)
    return name if str(rel.parent) == "." else str(rel.parent / name)


class Utterances(dict):
    """`load_alignments`' result: key -> Alignment or EvaluationError, and `from_ids`, the keys
    that are utterance ids read inside a file (a CTM's), not file names: only those can be the
    `<id>-<speaker>` ids that `by_ctm_id` pools (files a-1.TextGrid and a-2.TextGrid are not
    two speakers of a)."""

    from_ids: frozenset[str] = frozenset()


def load_alignments(root: Path, tier: str | None = None, exclude: Iterable[Path] = (),
                    note: Callable[[str], None] | None = None,
                    chosen: TierNames | None = None) -> Utterances:
    """Every utterance under `root` (a file or a directory), keyed by relative path sans extension.

    Files of one stem are one utterance (x.ctm + x.phones.ctm, also when `root` names one of
    them; x.words.tsv + x.phones.tsv); a CTM holding several utterances is keyed by its
    utterance ids. An utterance none of whose files can be read is kept as the first error, so
    the caller can report it and go on with the others; a broken file beside one that was read
    is only a `note`. In a folder, report files (`REPORT_FILES`, `exclude`) and JSON or CSV/TSV
    files that hold no alignment are skipped, said in one `note` line. `chosen`: the words and
    phones tiers to read from TextGrid and JSON files, by name.
    """
    if not root.exists():
        raise EvaluationError(f"{root}: no such file or directory")
    files, skipped = ([root], []) if root.is_file() else _alignment_files(root, exclude)
    if root.is_file() and root.suffix.lower() in (".ctm", ".csv", ".tsv"):  # one tier per file
        stem = _strip_tier_suffix(root.name[: -len(root.suffix)])
        files += [s for s in (root.parent / f"{stem}{t}{root.suffix}" for t in ("", *_TIER_SUFFIXES))
                  if s.is_file() and s != root]
    base = root.parent if root.is_file() else root
    parts: dict[str, list[tuple[int, Alignment]]] = {}
    errors: dict[str, EvaluationError] = {}  # each utterance's first
    from_ids: set[str] = set()
    for path in files:
        key = _key(path, base)
        try:
            for utt, alignment in _read_file(path, tier, chosen).items():
                parts.setdefault(key if utt is None else utt, []).append(
                    (_PREFERENCE.get(path.suffix.lower(), 9), alignment))
                if utt is not None:
                    from_ids.add(utt)
        except NotAlignmentFile as err:
            if root.is_file():
                errors.setdefault(key, err)
            else:
                skipped.append(path)
        except EvaluationError as err:
            errors.setdefault(key, err)
    out = Utterances({k: _combine(v) for k, v in parts.items()})
    out.from_ids = frozenset(from_ids)
    for key, err in errors.items():
        if key not in out:
            out[key] = err
        elif note is not None:
            note(f"{key}: read from its other files; ignored {err}")
    if skipped and note is not None:
        note(_skipped_line(root, skipped))
    return out


def tier_note(root: Path) -> str | None:
    """When the first gold TextGrid's tiers are not simply named words/phones: which tiers were
    read as the words and phones (an emuR TextGrid has Word, Text, Phoneme and Phonetic; the
    first two of a kind win), so that a user whose gold lives in others knows to name them."""
    grids = [root] if root.is_file() else sorted(walk_files(root))
    first = next((p for p in grids if p.is_file() and p.suffix.lower() == ".textgrid"), None)
    if first is None:
        return None
    try:
        read, names = textgrid_tier_choice(first)
    except FormatError:
        return None
    if all(named_kind(n) for n in names):
        return None
    took = ", ".join(f"{kind} from tier {name!r}" for kind, name in read.items()) or "no tiers"
    emur = (" (emuR's layout: `Word` holds accent classes, C and F, and the words are in `Text`:"
            " --gold-tiers Text,Phonetic)"
            if read.get("words") == "Word" and {"Text", "Phonetic"} <= set(names) else "")
    return (f"{first}: read {took} (its tiers: {', '.join(names)}){emur}; "
            "--gold-tiers WORDS,PHONES names others")


def _skipped_line(root: Path, skipped: list[Path]) -> str:
    """One line for every file a folder scan left out: '<root>: skipped 2 files that are not
    alignments (reports, or no words/phones tiers or start,end,label columns): a.csv, b.json'."""
    names = [str(p.relative_to(root)) for p in sorted(skipped)]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    files = "file that is not an alignment" if len(names) == 1 else "files that are not alignments"
    return (f"{root}: skipped {len(names)} {files} (reports, or no words/phones tiers or "
            f"start,end,label columns): {shown}")


def pair_utterances(gold: dict, hyp: dict, files: bool = False
                    ) -> list[tuple[str, object, object | None]]:
    """(key, gold, hyp or None) for every gold utterance: by relative path, else by the CTM
    utterance ids ottc-align writes for it (`by_ctm_id`), else by unique stem among the
    hypotheses no other gold took by path or id. `files`: the user named one gold file and one
    hypothesis file, which are each other's whatever their names; two folders of one file each
    are paired by the rules (a gold with another's recording was scored against it)."""
    if files and len(gold) == 1 and len(hyp) == 1:
        (gk, gv), (_, hv) = next(iter(gold.items())), next(iter(hyp.items()))
        return [(gk, gv, hv)]
    by_id = by_ctm_id(gold, hyp)
    taken = {id(h) for key, h in by_id.items()} | {id(hyp[key]) for key in gold if key in hyp}
    by_stem: dict[str, list[str]] = {}
    for key, h in hyp.items():
        if id(h) not in taken:
            by_stem.setdefault(Path(key).name, []).append(key)
    out = []
    for key, g in gold.items():
        if key in hyp:
            out.append((key, g, hyp[key]))
        elif key in by_id:
            out.append((key, g, by_id[key]))
        else:
            candidates = by_stem.get(Path(key).name, [])
            out.append((key, g, hyp[candidates[0]] if len(candidates) == 1 else None))
    return out


def written_ctm_id(key: str) -> str:
    """The CTM utterance id ottc-align writes for the utterance at relative path `key`: a corpus
    run's `formats.ctm_id` (`spkA/001` -> `spkA-001`, so that concatenated CTMs keep utterances
    apart), as `formats.write_ctm` writes it (`ctm_field`: whitespace becomes `_`, a CTM line
    being split at it)."""
    return ctm_field(ctm_id(key))


def by_ctm_id(gold: Iterable[str], hyp: dict[str, Alignment | EvaluationError]
              ) -> dict[str, Alignment | EvaluationError]:
    """Gold key -> the hypothesis that ottc-align's CTM ids name for it: the id of the whole
    utterance (`written_ctm_id`), else the ids `<id>-<speaker>` that `formats.write_ctm` gives
    a recording's speakers, pooled as its JSON's or TextGrid's speakers are. A gold's whole id
    is never taken as another's speaker (gold `a-b` is not a speaker of gold `a`), nor is a
    file's name (`Utterances.from_ids`); the other ids go to the gold whose id is their longest
    prefix at a `-`, and an id that is no gold's matches nothing (that gold is reported as
    having no hypothesis)."""
    ids = {written_ctm_id(key): key for key in gold}
    in_files = getattr(hyp, "from_ids", frozenset(hyp))  # a plain dict: every key is an id
    whole: dict[str, Alignment | EvaluationError] = {}
    speakers: dict[str, list[Alignment | EvaluationError]] = {}
    for utt, value in hyp.items():
        if utt in ids:
            whole[ids[utt]] = value
        elif utt in in_files and (owner := _recording_of(utt, ids)) is not None:
            speakers.setdefault(owner, []).append(value)
    pooled = {key: _pooled(values) for key, values in speakers.items() if key not in whole}
    return {**pooled, **whole}


def _recording_of(utt: str, ids: dict[str, str]) -> str | None:
    """The gold key whose CTM id `utt` extends by `-<speaker>`, None when no gold's id is a
    prefix of it at a `-`. Every `-` is tried, as a speaker's name may hold one; from the right,
    so that of golds `a` and `a-b` the id `a-b-Zoë` is a speaker of `a-b`."""
    cut = utt.rfind("-")
    while cut > 0:
        if utt[:cut] in ids:
            return ids[utt[:cut]]
        cut = utt.rfind("-", 0, cut)
    return None


def _pooled(speakers: list[Alignment | EvaluationError]) -> Alignment | EvaluationError:
    """A recording's speakers as one hypothesis, as a file's speakers are read; one that could
    not be read makes the recording unreadable, as a broken JSON of it would."""
    error = next((s for s in speakers if isinstance(s, EvaluationError)), None)
    return error if error is not None else pool_speakers(speakers)


def evaluate_paths(gold_root: Path, hyp_root: Path, folding: Folding, tolerance: float = 0.02,
                   tier: str | None = None, hyp_folding: Folding | None = None,
                   exclude: Iterable[Path] = (),
                   note: Callable[[str], None] | None = None,
                   gold_tiers: TierNames | None = None) -> list[UtteranceScore]:
    """Score every gold utterance, the gold folded with `folding` and the hypothesis with
    `hyp_folding` (default `hypothesis_folding(folding)`). An unreadable gold or hypothesis, a
    missing or empty hypothesis is that utterance's failure; the others are scored. Files the
    folder scans leave out (`load_alignments`; `exclude`: this run's results) are told to
    `note`. Raises EvaluationError only when there is nothing to score at all (`gold_root`
    missing or holding no alignment files). `gold_tiers`: the gold's words and phones tiers by
    name; without it, the tiers guessed from a gold TextGrid with other names are told to
    `note` (`tier_note`)."""
    gold = load_alignments(Path(gold_root), tier, exclude, note, gold_tiers)
    if note is not None and gold_tiers is None:
        line = tier_note(Path(gold_root))
        if line:
            note(line)
    if not gold:
        raise EvaluationError(f"{gold_root}: no alignment files found ({ACCEPTED})")
    if note is not None:
        line = foreign_labels_note(gold.values(), folding)
        if line:
            note(line)
    hyp = load_alignments(Path(hyp_root), tier, exclude, note)
    hyp_folding = hyp_folding or hypothesis_folding(folding)
    pairs = pair_utterances(gold, hyp, Path(gold_root).is_file() and Path(hyp_root).is_file())
    if note is not None:
        hyps = [h for _, _, h in pairs if h is not None]
        for line in (foreign_labels_note(hyps, hyp_folding, "hypothesis"),
                     foreign_words_note(pairs), unrelated_pairs_note(pairs)):
            if line:
                note(line)
    return [_score_pair(key, g, h, folding, hyp_folding, tolerance) for key, g, h in pairs]


UNRELATED_MIN_WORDS = 3  # a gold of fewer words may share none by chance (a name, a digit)


def unrelated_pairs_note(pairs: Iterable[tuple[str, object, object]]) -> str:
    """A note naming the utterances whose gold has UNRELATED_MIN_WORDS words or more, none of
    them a word of the hypothesis (case and punctuation aside): another recording's alignment,
    paired by a shared name, was scored "ok" and pooled into the summary with nothing said;
    "" when there is none. A note, not a failure: a gold whose words tier holds other labels
    (emuR's accent classes) has its own note, `foreign_words_note`."""
    from aligner.phone_folding import fold_words

    def words(a: object) -> set[str]:
        return {w.label for w in fold_words(a.words)} if isinstance(a, Alignment) else set()

    odd = [key for key, g, h in pairs
           if len(words(g)) >= UNRELATED_MIN_WORDS and words(h) and not words(g) & words(h)]
    if not odd:
        return ""
    named = ", ".join(odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
    return (f"{len(odd)} utterance(s) share no word with their hypothesis ({named}): is it "
            "another recording's alignment? They are scored and pooled all the same")


def foreign_words_note(pairs: Iterable[tuple[str, object, object]]) -> str:
    """A note when under half of the gold's word labels are words of the output's transcript
    (case and punctuation aside): the tier read as words holds something else (emuR's `Word`
    tier holds accent classes, C and F; its words are in `Text`), and the word figures mean
    nothing; "" otherwise."""
    from aligner.phone_folding import fold_words

    def words(a: object) -> list[str]:  # silence labels (sp, <sil>) left out, case aside
        return [w.label for w in fold_words(a.words)] if isinstance(a, Alignment) else []

    total = found = 0
    for _, g, h in pairs:
        said = set(words(h))
        if not said:
            continue
        labels = words(g)
        total += len(labels)
        found += sum(w in said for w in labels)
    if total < 20 or found >= 0.5 * total:
        return ""
    return (f"only {found} of the gold's {total} word labels are words of the aligned "
            "transcripts: is the gold's words tier the one holding the words? Name it with "
            "--gold-tiers WORDS,PHONES (emuR: Text,Phonetic)")


FOREIGN_LABELS_MIN = 3  # a single short file's gold says enough (a 14-phone praatio example)


def foreign_labels_note(alignments: Iterable[Alignment | EvaluationError], folding: Folding,
                        side: Literal["gold", "hypothesis"] = "gold") -> str:
    """A note when over a fifth of one side's phone labels, and FOREIGN_LABELS_MIN or more,
    are not ARPAbet once folded (IPA or SAMPA gold under the default cmu39: every such phone
    counts as a label mismatch, and pooled label match read 49.6% on gold-dev; the same for a
    hypothesis written with `--ipa` and read without `--hyp-fold ipa`: 50%); "" otherwise, or
    when folding is `none`. side: "gold" or "hypothesis", whose option the note names."""
    from aligner.phone_folding import clean_phone
    from aligner.text.phones import PHONES

    if not folding.table:
        return ""
    arpabet = {clean_phone(p) for p in PHONES}
    labels = [clean_phone(p.label) for a in alignments if isinstance(a, Alignment)
              for p in folding.fold_phones(a.phones) if p.label]
    foreign = [x for x in labels if x not in arpabet]
    if len(foreign) < FOREIGN_LABELS_MIN or len(foreign) <= 0.2 * len(labels):
        return ""
    examples = ", ".join(sorted(set(foreign))[:6])
    advice = ("IPA or SAMPA gold wants --fold ipa (emu-ae for EMU's Australian English)"
              if side == "gold" else "an IPA or SAMPA hypothesis (`--ipa`, another tool's) "
              "wants --hyp-fold ipa (emu-ae for EMU's)")
    return (f"{len(foreign)} of the {side}'s {len(labels)} phone labels are not ARPAbet after "
            f"this folding ({examples}): they count as label mismatches; {advice}")


def _score_pair(key: str, gold: Alignment | EvaluationError, hyp: Alignment | EvaluationError | None,
                folding: Folding, hyp_folding: Folding, tolerance: float) -> UtteranceScore:
    if isinstance(gold, EvaluationError):
        return UtteranceScore(key, status="unreadable", reason=str(gold))
    if hyp is None:
        return UtteranceScore(key, status="failed", reason="no hypothesis")
    if isinstance(hyp, EvaluationError):
        return UtteranceScore(key, status="unreadable", reason=str(hyp))
    has_phones, has_words = bool(folding.fold_phones(gold.phones)), bool(fold_words(gold.words))
    if not has_phones and not has_words:
        return UtteranceScore(key, status="failed", reason="the gold has no labelled words or phones")
    if not (has_phones and hyp_folding.fold_phones(hyp.phones)) and not (has_words and fold_words(hyp.words)):
        wanted = " or ".join(t for t, ok in (("phones", has_phones), ("words", has_words)) if ok)
        return UtteranceScore(key, status="failed", reason=f"empty hypothesis (no {wanted})")
    unit = _unit_mismatch(gold, hyp)
    if unit:
        return UtteranceScore(key, status="failed", reason=unit)
    return score_utterance(key, gold, hyp, folding, tolerance, hyp_folding=hyp_folding)


# Gold running this many times longer than its hypothesis is on another time scale (1000:
# milliseconds), not a hypothesis cut short: scored, every error would be in the hundreds of
# seconds, with nothing said.
TIME_SCALE_RATIO = 50


def _unit_mismatch(gold: Alignment, hyp: Alignment) -> str | None:
    """Why `gold` cannot be scored against `hyp` for its time unit, or None: either one's
    labelled entries run TIME_SCALE_RATIO times past the other's whole span (its duration or
    last entry, so a gold that labels the first seconds of a long recording is no mismatch)."""
    ends = lambda a: [iv.end for iv in (*a.words, *a.phones) if iv.label]
    for first, second, name in ((gold, hyp, "gold"), (hyp, gold, "hypothesis")):
        end = max(ends(first), default=0.0)
        span = max([second.duration, *ends(second)])
        if end > TIME_SCALE_RATIO * max(span, 0.1):
            return (f"the {name}'s times run to {end:g} s and the "
                    f"{'hypothesis' if name == 'gold' else 'gold'}'s to {span:g} s: are the "
                    f"{name} times in milliseconds? evaluate reads seconds")
    return None


def write_scores(scores: Sequence[UtteranceScore], path: Path) -> None:
    """The per-utterance table as CSV (one row per gold utterance, failures included)."""
    rows = [utterance_row(s) for s in scores]
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    with atomic_open(path, newline="") as fh:  # all or nothing, like every output
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_summary(summary: Summary, path: Path) -> None:
    """The summary as a JSON file, written atomically."""
    with atomic_open(path) as fh:
        fh.write(summary_json(summary) + "\n")


def summary_json(summary: Summary) -> str:
    """The summary as JSON text (NaN written as null so any JSON reader takes it)."""
    def clean(x):
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, float) and math.isnan(x):
            return None
        return x
    return json.dumps(clean(summary.to_dict()), indent=2)


# ----------------------------------------------------------------------------- boundary types
def manner(label: str) -> str:
    """Manner class of an ARPAbet phone (`text.phones.MANNER`; stress ignored): 'pause' for
    silence labels, vowels and anything outside the inventory 'vowel'."""
    return "pause" if clean_phone(label) in SILENCE_LABELS else phone_manner(label) or "vowel"


def phone_start_offsets(gold: Alignment, hyp: Alignment, folding: Folding) -> list[tuple[str, float]]:
    """(boundary type, hyp - gold seconds) for each paired non-silence phone start; the type is
    `manner before > manner of this phone` ('pause' after silence), so a convention offset (e.g.
    where a stop's release ends) shows up as one type's median rather than as noise."""
    g = [p for p in folding.fold_phones(list(gold.phones)) if manner(p.label) != "pause"]
    h = [p for p in folding.fold_phones(list(hyp.phones)) if manner(p.label) != "pause"]
    out = []
    for gi, hi in pair_tokens(g, h):
        if gi is None or hi is None:
            continue
        before = g[gi - 1] if gi > 0 and abs(g[gi - 1].end - g[gi].start) < 1e-6 else None
        kind = f"{manner(before.label) if before else 'pause'} > {manner(g[gi].label)}"
        out.append((kind, h[hi].start - g[gi].start))
    return out
