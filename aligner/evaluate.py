"""Boundary metrics that compare a hypothesis alignment with a gold one.

The figures decide this project's defaults, so the definitions are spelled out here and in
docs/benchmarks/accuracy.md, and the metric functions are pure (token lists in, numbers out). The
file side (reading TextGrid / JSON / CTM from any tool, pairing gold and hypothesis files,
writing the CSV) is kept apart at the bottom of the module, shared by the CLI and the benchmarks.

Definitions (per tier: phones or words; silence is never a token):
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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aligner.alignment import Alignment, Interval
from aligner.phone_folding import Folding, fold_words

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


def boundary_errors(gold: Sequence[Interval], hyp: Sequence[Interval],
                    pairs: Sequence[tuple[int | None, int | None]]) -> np.ndarray:
    """Absolute boundary errors in seconds (see `boundary_pairs`)."""
    return np.abs(boundary_offsets(gold, hyp, pairs))


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


def silence_frames(tokens: Sequence[Interval], n_frames: int, frame: float = 0.01) -> int:
    """Number of frames (centre (t + 0.5) * frame) that no token covers."""
    covered = np.zeros(n_frames, dtype=bool)
    for t in tokens:
        first = max(0, int(np.ceil(t.start / frame - 0.5 - 1e-9)))
        last = min(n_frames, int(np.ceil(t.end / frame - 0.5 - 1e-9)))  # exclusive
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
    """One utterance: status is 'ok', or 'failed' (no usable hypothesis) with a reason."""

    name: str
    status: str = "ok"
    reason: str = ""
    phones: TierScore | None = None
    words: TierScore | None = None
    frames: int = 0
    gold_silence_frames: int = 0
    hyp_silence_frames: int = 0


def score_utterance(name: str, gold: Alignment, hyp: Alignment, folding: Folding,
                    tolerance: float = 0.02, frame: float = 0.01) -> UtteranceScore:
    """Fold both sides, then score phones and words and count silence frames."""
    g_ph, h_ph = folding.fold_phones(gold.phones), folding.fold_phones(hyp.phones)
    g_w, h_w = fold_words(gold.words), fold_words(hyp.words)
    duration = max([gold.duration] + [t.end for t in g_ph + g_w])
    n_frames = int(np.ceil(duration / frame - 1e-9))
    return UtteranceScore(
        name=name,
        phones=score_tier(g_ph, h_ph, tolerance) if (g_ph or h_ph) else None,
        words=score_tier(g_w, h_w, tolerance) if (g_w or h_w) else None,
        frames=n_frames,
        gold_silence_frames=silence_frames(g_ph or g_w, n_frames, frame),
        hyp_silence_frames=silence_frames(h_ph or h_w, n_frames, frame),
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
# Everything below touches the file system: reading alignments written by any tool, pairing
# gold and hypothesis utterances, writing the per-utterance CSV.

ALIGNMENT_SUFFIXES = (".textgrid", ".json", ".ctm")
_TIER_SUFFIXES = (".words", ".phones", ".word", ".phone")
_WORD_TIERS = ("words", "word", "wrd", "orthography", "ort")
_PHONE_TIERS = ("phones", "phone", "phn", "phonemes", "phoneme", "segments", "segment")


class EvaluationError(ValueError):
    """A gold or hypothesis file that cannot be read; the message names the file."""


def _tier_kind(name: str) -> str | None:
    low = name.strip().lower()
    for kind, names in (("words", _WORD_TIERS), ("phones", _PHONE_TIERS)):
        if low in names or any(low.endswith(f" {n}") or low.endswith(f"-{n}") or low.endswith(f"_{n}")
                               for n in names):
            return kind
    return None


def _pick_tiers(path: Path, tiers: dict[str, list[Interval]]) -> tuple[list[Interval], list[Interval]]:
    """Find the word and phone tiers by name; two unnamed tiers are taken as words, phones."""
    found: dict[str, list[Interval]] = {}
    for name, entries in tiers.items():
        kind = _tier_kind(name)
        if kind is not None and kind not in found:
            found[kind] = entries
    if not found and len(tiers) == 2:
        first, second = tiers.values()
        found = {"words": first, "phones": second}
    if not found:
        raise EvaluationError(f"{path}: no 'words' or 'phones' tier (tiers: {', '.join(tiers) or 'none'})")
    return found.get("words", []), found.get("phones", [])


def read_textgrid(path: Path) -> Alignment:
    """A TextGrid (long or short format, any tool) -> Alignment; empty intervals stay silence.

    praatio reads it; files praatio rejects for a tolerable flaw (a zero-length interval, as
    some generators write) go through a plain token reader instead of failing the evaluation.
    """
    from praatio import textgrid as tgio  # praatio is a core dependency; imported where used

    try:
        tg = tgio.openTextgrid(str(path), includeEmptyIntervals=True, duplicateNamesMode="rename")
        tiers = {}
        for name in tg.tierNames:
            tier = tg.getTier(name)
            if tier.tierType == "IntervalTier":
                tiers[name] = [Interval(float(e.start), float(e.end), str(e.label)) for e in tier.entries]
        duration = float(tg.maxTimestamp)
    except Exception as err:  # praatio raises many types for malformed files
        try:
            tiers, duration = _read_textgrid_tokens(path)
        except (OSError, ValueError, IndexError):
            raise EvaluationError(f"{path}: not a readable TextGrid ({err})") from None
    words, phones = _pick_tiers(path, tiers)
    return Alignment(words=words, phones=phones, duration=duration)


_TG_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(?<![\w\[])([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w\]])'
                       r"|<(exists|absent)>")


def _read_textgrid_tokens(path: Path) -> tuple[dict[str, list[Interval]], float]:
    """Minimal TextGrid reader (long and short text formats share one value order)."""
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    text = re.sub(r"\[\s*\d+\s*\]", "", text)  # long format's "item [1]", "intervals [3]"
    tokens: list[object] = []
    for m in _TG_TOKEN.finditer(text):
        if m.group(1) is not None:
            tokens.append(m.group(1).replace('""', '"'))
        elif m.group(2) is not None:
            tokens.append(float(m.group(2)))
        else:
            tokens.append("<" + m.group(3) + ">")
    if tokens[:2] != ["ooTextFile", "TextGrid"]:
        raise ValueError("not a text TextGrid")
    duration = float(tokens[3])
    if tokens[4] != "<exists>":
        return {}, duration
    n_tiers, k = int(tokens[5]), 6
    tiers: dict[str, list[Interval]] = {}
    for _ in range(n_tiers):
        kind, name, n = tokens[k], str(tokens[k + 1]), int(tokens[k + 4])
        k += 5
        if kind == "IntervalTier":
            tiers[name] = [Interval(float(tokens[k + 3 * i]), float(tokens[k + 3 * i + 1]),
                                    str(tokens[k + 3 * i + 2])) for i in range(n)]
            k += 3 * n
        else:
            k += 2 * n
    return tiers, duration


def read_json(path: Path) -> Alignment:
    """ottc-align's (MFA-shaped) JSON: {"start", "end", "tiers": {name: {"entries": [[s, e, label, (conf)]]}}}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = data["tiers"]
        tiers = {}
        for name, tier in raw.items():
            entries = tier["entries"] if isinstance(tier, dict) else tier
            tiers[name] = [
                Interval(float(e[0]), float(e[1]), str(e[2]),
                         float(e[3]) if len(e) > 3 and e[3] is not None else None)
                for e in entries
            ]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as err:
        raise EvaluationError(f"{path}: not an alignment JSON ({type(err).__name__}: {err})") from None
    words, phones = _pick_tiers(path, tiers)
    ends = [iv.end for iv in words + phones]
    duration = float(data.get("end", max(ends, default=0.0)) or max(ends, default=0.0))
    return Alignment(words=words, phones=phones, duration=duration)


def ctm_tier_of(path: Path) -> str:
    """'phones' if the file name says so (x.phones.ctm, phone_ctm), else 'words'."""
    return "phones" if "phone" in path.name.lower() else "words"


def read_ctm(path: Path) -> dict[str, list[Interval]]:
    """`<utt> <channel> <start> <duration> <token> [<confidence>]` lines -> tokens per utterance."""
    out: dict[str, list[Interval]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EvaluationError(f"{path}: cannot read CTM ({err})") from None
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith(";;") or parts[0].startswith("#"):
            continue
        if len(parts) < 5:
            raise EvaluationError(f"{path}:{number}: expected '<utt> <channel> <start> <duration> <token>'")
        try:
            start, dur = float(parts[2]), float(parts[3])
            conf = float(parts[5]) if len(parts) > 5 else None
        except ValueError:
            raise EvaluationError(f"{path}:{number}: start/duration/confidence are not numbers") from None
        out.setdefault(parts[0], []).append(Interval(start, start + dur, parts[4], conf))
    return out


def _strip_tier_suffix(stem: str) -> str:
    low = stem.lower()
    for suffix in _TIER_SUFFIXES:
        if low.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def _alignment_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in ALIGNMENT_SUFFIXES)


def load_alignments(root: Path, ctm_tier: str | None = None) -> dict[str, Alignment | EvaluationError]:
    """Every utterance under `root` (a file or a directory), keyed by relative path sans extension.

    CTM files holding one utterance take their key from the file name (word and phone CTMs of one
    stem are joined, also when `root` names one of them); a CTM holding several utterances is keyed by its utterance ids. A file that
    cannot be read is kept as its error, so the caller can count it as a failure.
    """
    if not root.exists():
        raise EvaluationError(f"{root}: no such file or directory")
    files = [root] if root.is_file() else _alignment_files(root)
    if root.is_file() and root.suffix.lower() == ".ctm":  # x.ctm + x.phones.ctm: one utterance
        stem = _strip_tier_suffix(root.name[: -len(root.suffix)])
        files += [s for s in (root.parent / f"{stem}{t}.ctm" for t in ("", *_TIER_SUFFIXES))
                  if s.is_file() and s != root]
    base = root.parent if root.is_file() else root
    out: dict[str, Alignment | EvaluationError] = {}
    ctm_parts: dict[str, dict[str, list[Interval]]] = {}
    for path in files:
        rel = path.relative_to(base).with_suffix("")
        key = str(rel.parent / _strip_tier_suffix(rel.name)) if str(rel.parent) != "." else _strip_tier_suffix(rel.name)
        suffix = path.suffix.lower()
        try:
            if suffix == ".textgrid":
                out[key] = read_textgrid(path)
            elif suffix == ".json":
                out[key] = read_json(path)
            elif suffix == ".ctm":
                tier = ctm_tier or ctm_tier_of(path)
                utts = read_ctm(path)
                if len(utts) <= 1:
                    ctm_parts.setdefault(key, {})[tier] = next(iter(utts.values()), [])
                else:
                    for utt, tokens in utts.items():
                        ctm_parts.setdefault(utt, {})[tier] = tokens
            else:
                raise EvaluationError(f"{path}: not a TextGrid, JSON or CTM file")
        except EvaluationError as err:
            out[key] = err
    for key, parts in ctm_parts.items():
        words, phones = parts.get("words", []), parts.get("phones", [])
        duration = max((iv.end for iv in words + phones), default=0.0)
        out.setdefault(key, Alignment(words=words, phones=phones, duration=duration))
    return out


def pair_utterances(gold: dict, hyp: dict) -> list[tuple[str, object, object | None]]:
    """(key, gold, hyp or None) for every gold utterance: by relative path, else by unique stem."""
    if len(gold) == 1 and len(hyp) == 1:
        (gk, gv), (hk, hv) = next(iter(gold.items())), next(iter(hyp.items()))
        return [(gk, gv, hv)]
    by_stem: dict[str, list[str]] = {}
    for key in hyp:
        by_stem.setdefault(Path(key).name, []).append(key)
    out = []
    for key, g in gold.items():
        if key in hyp:
            out.append((key, g, hyp[key]))
            continue
        candidates = by_stem.get(Path(key).name, [])
        out.append((key, g, hyp[candidates[0]] if len(candidates) == 1 else None))
    return out


def evaluate_paths(gold_root: Path, hyp_root: Path, folding: Folding, tolerance: float = 0.02,
                   ctm_tier: str | None = None) -> list[UtteranceScore]:
    """Score every gold utterance; a missing or unreadable hypothesis is a failed utterance.

    An unreadable gold file is bad input, not a failure of the aligner: it raises.
    """
    gold = load_alignments(Path(gold_root), ctm_tier)
    if not gold:
        raise EvaluationError(f"{gold_root}: no TextGrid, JSON or CTM files found")
    hyp = load_alignments(Path(hyp_root), ctm_tier)
    scores = []
    for key, g, h in pair_utterances(gold, hyp):
        if isinstance(g, EvaluationError):
            raise g
        if h is None:
            scores.append(UtteranceScore(key, status="failed", reason="no hypothesis"))
        elif isinstance(h, EvaluationError):
            scores.append(UtteranceScore(key, status="failed", reason=str(h)))
        elif not folding.fold_phones(h.phones) and not fold_words(h.words):
            scores.append(UtteranceScore(key, status="failed", reason="empty hypothesis"))
        else:
            scores.append(score_utterance(key, g, h, folding, tolerance))
    return scores


def write_csv(scores: Sequence[UtteranceScore], path: Path) -> None:
    """The per-utterance table (one row per gold utterance, failures included)."""
    rows = [utterance_row(s) for s in scores]
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def summary_json(summary: Summary) -> str:
    """The summary as JSON text (NaN written as null so any JSON reader takes it)."""
    def clean(x):
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, float) and math.isnan(x):
            return None
        return x
    return json.dumps(clean(summary.to_dict()), indent=2)
