"""Build the synthetic corpus: `python -m recipes.synth.build --out $DATA/synth`.

Layout (Montreal Forced Aligner style): <out>/<split>/<speaker>/<utt>.flac + .lab (the text as a
person types it) + .TextGrid (gold tiers `words` and `phones`, for evaluation), plus
<out>/manifest.tsv and <out>/summary.json.

Why batches: work is cut into batches of one voice (an engine process is started once per
batch); a batch's manifest rows are written last, to <out>/.work/<batch>.tsv, so a rerun skips
finished batches (resumable), and every utterance's random choices come from a generator seeded
by (seed, utterance id), so the corpus does not depend on the order workers finish
(deterministic given the seed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from aligner.atomic import atomic_open

from . import augment
from .frication import stops_after_frication
from .gold import build_tiers, map_segments, shift_scale, write_textgrid
from .numbers import ABBREVIATIONS, spoken_words
from .phonemap import UnmappedPhone
from .sentences import generate
from .voices import Voice, select

SR = 16000
PUNCT_SPOKEN = {".": ".", "?": "?", "!": "!", ",": ",", ";": ",", ":": ","}
SPLITS = ("train", "dev", "test", "unseen-dev")
MANIFEST_COLUMNS = ["split", "speaker", "utt", "audio", "duration", "engine", "voice", "rate",
                    "pitch", "augment", "text"]


@dataclass
class Job:
    split: str
    voice: Voice
    utt: str
    text: str


@dataclass
class Prepared:
    """What the engines are given for one utterance, and how to map it back."""
    tokens: list[str]
    tts_text: str
    words: list[str]
    word_to_token: list[int] = field(default_factory=list)


def prepare(text: str, rng: random.Random, pause_prob: float = 0.25) -> Prepared:
    """Sentence -> tokens, the engine text (spoken words + pause punctuation, sometimes an extra
    comma for a pause the transcript does not show) and the word -> token map."""
    tokens = text.split()
    words: list[str] = []
    w2t: list[int] = []
    parts: list[str] = []
    extra = rng.randrange(1, len(tokens)) if len(tokens) > 3 and rng.random() < pause_prob else -1
    for i, tok in enumerate(tokens):
        sw = spoken_words(tok)
        words += sw
        w2t += [i] * len(sw)
        end = tok.rstrip("\"')")
        punct = PUNCT_SPOKEN.get(end[-1:], "") if end and tok not in ABBREVIATIONS else ""
        if not punct and i + 1 == extra:
            punct = ","
        parts.append(" ".join(sw) + punct)
    tts = " ".join(parts)
    if tts[-1] not in ".?!":
        tts += "."
    return Prepared(tokens, tts, words, w2t)


def word_label(token: str) -> str:
    """The token as the gold words tier shows it: the user's spelling without the sentence
    punctuation around it ("airport?" -> "airport", '"Where's' -> "Where's"); abbreviations
    keep their period ("Dr.")."""
    if token in ABBREVIATIONS:
        return token
    core = token.strip("\"'(").rstrip(".,?!;:\"')")
    if core + "." in ABBREVIATIONS:
        return core + "."
    return core or token


def _utt_rng(seed: int, utt: str) -> random.Random:
    return random.Random(f"{seed}:{utt}")


def per_voice(spec: str | int, speaker: str) -> int:
    """'700' or 'fest-:700,esp-:150' -> the count for `speaker` (first matching prefix)."""
    if isinstance(spec, int) or ":" not in str(spec):
        return int(spec)
    for part in str(spec).split(","):
        prefix, n = part.rsplit(":", 1)
        if speaker.startswith(prefix.strip()):
            return int(n)
    return 0


def plan(voices: list[Voice], seed: int, train_per_voice: str | int, dev_per_voice: int,
         test_per_voice: int, n_dev_sentences: int = 400, n_test_sentences: int = 400,
         n_train_sentences: int = 6000) -> list[Job]:
    """All jobs. Dev and test sentences are never in train; test uses only test voices;
    held-out ("unseen-dev") voices read dev sentences, `test_per_voice` of them."""
    sents = generate(n_train_sentences + n_dev_sentences + n_test_sentences, seed)
    dev_s = sents[:n_dev_sentences]
    test_s = sents[n_dev_sentences:n_dev_sentences + n_test_sentences]
    train_s = sents[n_dev_sentences + n_test_sentences:]
    jobs: list[Job] = []
    pools = {"train": train_s, "dev": dev_s, "test": test_s, "unseen-dev": dev_s}
    cursor = dict.fromkeys(pools, 0)

    def add(split: str, v: Voice, n: int) -> None:
        pool = pools[split]
        for k in range(n):
            idx = cursor[split] % len(pool)
            cursor[split] += 1
            jobs.append(Job(split, v, f"{v.speaker}-{split}-{k:05d}", pool[idx]))

    for v in voices:
        if v.split == "train":
            add("train", v, per_voice(train_per_voice, v.speaker))
            add("dev", v, dev_per_voice)
        elif v.split == "unseen-dev":
            add("unseen-dev", v, test_per_voice)
        else:
            add("test", v, test_per_voice)
    return jobs


def choose_augment(rng: random.Random, aug_fraction: float) -> dict:
    """Random augmentation recipe for one utterance (recorded in the manifest)."""
    a: dict = {"pad": (rng.uniform(0.02, 0.45), rng.uniform(0.02, 0.45)),
               "gain": rng.uniform(-14.0, 3.0)}
    if rng.random() < 0.3:
        a["speed"] = rng.uniform(0.88, 1.15)
    if rng.random() < aug_fraction:
        kinds = rng.sample(["noise", "reverb", "telephone"], k=rng.choice([1, 1, 2]))
        if "reverb" in kinds:
            a["reverb"] = rng.choice([0.2, 0.3, 0.45, 0.6, 0.8])
        if "telephone" in kinds:
            a["telephone"] = True
        if "noise" in kinds:
            a["noise"] = (rng.choice([5.0, 10.0, 15.0, 20.0, 30.0]),
                          rng.choice(["white", "pink", "brown"]))
    return a


def describe(a: dict) -> str:
    out = []
    if "speed" in a:
        out.append(f"speed{a['speed']:.3f}")
    if "reverb" in a:
        out.append(f"reverb{a['reverb']:.2f}")
    if "telephone" in a:
        out.append("telephone")
    if "noise" in a:
        out.append(f"noise{a['noise'][1]}{a['noise'][0]:.0f}dB")
    out.append(f"gain{a['gain']:+.1f}dB")
    return "+".join(out)


def apply_augment(audio: np.ndarray, segs: list, a: dict, seed: int, utt: str):
    """Apply `a` to 16 kHz audio and its segments; gold times follow speed and padding."""
    nrng = np.random.default_rng(abs(hash_str(f"{seed}:{utt}:noise")))
    if "speed" in a:
        audio, scale = augment.speed(audio, a["speed"], SR)
        segs = shift_scale(segs, scale=scale)
    audio, off = augment.pad(audio, SR, *a["pad"])
    segs = shift_scale(segs, offset=off)
    if "reverb" in a:
        audio = augment.reverb(audio, a["reverb"], nrng, SR)
    if "telephone" in a:
        audio = augment.telephone(audio, SR)
    if "noise" in a:
        audio = augment.add_noise(audio, a["noise"][0], nrng, SR, colour=a["noise"][1])
    audio = augment.gain(audio, a["gain"])
    return audio, segs


def hash_str(s: str) -> int:
    """Stable across processes (unlike hash())."""
    import hashlib
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "little")


@dataclass
class BatchSpec:
    batch_id: str
    jobs: list[Job]
    out: Path
    seed: int
    aug_fraction: float


def run_batch(spec: BatchSpec) -> tuple[str, list[dict], dict[str, int]]:
    """Synthesise and write one batch; returns (batch id, manifest rows, error counts)."""
    from .espeak_engine import EspeakRequest, synthesize_espeak
    from .festival_engine import FestivalRequest, synthesize_batch

    voice = spec.jobs[0].voice
    preps: dict[str, Prepared] = {}
    params: dict[str, tuple[float, float]] = {}
    reqs = []
    for j in spec.jobs:
        rng = _utt_rng(spec.seed, j.utt)
        p = prepare(j.text, rng)
        preps[j.utt] = p
        rate, pitch = rng.uniform(0.8, 1.3), rng.uniform(0.8, 1.25)
        params[j.utt] = (rate, pitch)
        if voice.engine == "festival":
            reqs.append(FestivalRequest(j.utt, p.tts_text, p.words, stretch=rate, f0_scale=pitch))
        else:
            reqs.append(EspeakRequest(j.utt, p.tts_text, p.words, voice.name, rate=1.0 / rate,
                                      pitch=pitch, wordgap=rng.choice([0, 0, 0, 0, 1, 2, 4]),
                                      bias=voice.bias))
    work = spec.out / ".work" / "tmp" / spec.batch_id
    if voice.engine == "festival":
        results = synthesize_batch(voice.name, reqs, work)
    else:
        results = synthesize_espeak(reqs)
    rows: list[dict] = []
    errors: dict[str, int] = {}
    for j, res in zip(spec.jobs, results):
        if res.error or res.audio is None:
            key = (res.error or "no audio").split(":")[0]
            errors[key] = errors.get(key, 0) + 1
            continue
        try:
            segs = map_segments(res.segments, voice.table)
        except UnmappedPhone as e:
            errors[f"unmapped phone {e.args[0]}"] = errors.get(f"unmapped phone {e.args[0]}", 0) + 1
            continue
        audio = res.audio.astype(np.float32)
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        if res.sample_rate != SR:
            audio = soxr.resample(audio, res.sample_rate, SR).astype(np.float32)
        if voice.bias:
            segs = shift_scale(segs, offset=voice.bias)
        segs = stops_after_frication(segs, audio, SR)
        rng = _utt_rng(spec.seed, j.utt + ":aug")
        a = choose_augment(rng, spec.aug_fraction)
        audio, segs = apply_augment(audio, segs, a, spec.seed, j.utt)
        duration = len(audio) / SR
        p = preps[j.utt]
        words, phones = build_tiers(segs, p.word_to_token, [word_label(t) for t in p.tokens],
                                    duration)
        d = spec.out / j.split / voice.speaker
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / f"{j.utt}.flac", audio, SR, subtype="PCM_16")
        (d / f"{j.utt}.lab").write_text(j.text + "\n", encoding="utf-8")
        write_textgrid(d / f"{j.utt}.TextGrid", words, phones, duration)
        rate, pitch = params[j.utt]
        rows.append({"split": j.split, "speaker": voice.speaker, "utt": j.utt,
                     "audio": f"{j.split}/{voice.speaker}/{j.utt}.flac",
                     "duration": f"{duration:.3f}", "engine": voice.engine, "voice": voice.name,
                     "rate": f"{rate:.3f}", "pitch": f"{pitch:.3f}", "augment": describe(a),
                     "text": j.text})
    if work.exists():
        for f in work.iterdir():
            f.unlink()
        work.rmdir()
    return spec.batch_id, rows, errors


def _write_rows(path: Path, rows: list[dict]) -> None:
    """A finished batch's manifest rows, all or nothing: `finalize` trusts every .tsv it finds."""
    with atomic_open(path) as f:
        for r in rows:
            f.write("\t".join(r[c].replace("\t", " ") for c in MANIFEST_COLUMNS) + "\n")


def finalize(out: Path, voices: list[Voice], elapsed: float, errors: dict[str, int],
             args: dict) -> dict:
    """Merge batch rows into manifest.tsv (sorted) and write summary.json."""
    rows: list[list[str]] = []
    for f in sorted((out / ".work").glob("*.tsv")):
        rows += [line.rstrip("\n").split("\t") for line in f.open(encoding="utf-8") if line.strip()]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    # files of utterances in no finished batch (a run interrupted mid-batch) are removed, so the
    # corpus on disk is exactly the manifest
    listed = {str(Path(r[3]).with_suffix("")) for r in rows}
    for split in SPLITS:
        for f in sorted((out / split).glob("*/*.*")) if (out / split).exists() else []:
            if str(f.relative_to(out).with_suffix("")) not in listed:
                f.unlink()
    with (out / "manifest.tsv").open("w", encoding="utf-8") as f:
        f.write("\t".join(MANIFEST_COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    summary: dict = {"splits": {}, "seed": args.get("seed"), "build_seconds": round(elapsed, 1),
                     "errors_this_run": errors, "args": args}
    for split in SPLITS:
        sr = [r for r in rows if r[0] == split]
        spk: dict[str, float] = {}
        for r in sr:
            spk[r[1]] = spk.get(r[1], 0.0) + float(r[4])
        summary["splits"][split] = {
            "utterances": len(sr), "hours": round(sum(float(r[4]) for r in sr) / 3600, 3),
            "voices": len(spk), "augmented": sum(1 for r in sr if any(
                k in r[9] for k in ("noise", "reverb", "telephone"))),
            "speakers": {k: round(v / 60, 2) for k, v in sorted(spk.items())}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--voices", default=None, help="speakers or prefixes (fest-,esp-,mb-); default all")
    ap.add_argument("--train-per-voice", default="fest-:700,esp-:150,mb-:500",
                    help="N for every voice, or per speaker prefix: 'fest-:700,esp-:150,mb-:500'")
    ap.add_argument("--dev-per-voice", type=int, default=12)
    ap.add_argument("--test-per-voice", type=int, default=60)
    ap.add_argument("--train-sentences", type=int, default=6000)
    ap.add_argument("--batch-size", type=int, default=25)
    ap.add_argument("--aug-fraction", type=float, default=0.35,
                    help="fraction of utterances given noise/reverb/telephone")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    try:
        voices = select(a.voices)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    jobs = plan(voices, a.seed, a.train_per_voice, a.dev_per_voice, a.test_per_voice,
                n_train_sentences=a.train_sentences,
                n_dev_sentences=min(400, max(10, a.dev_per_voice * 20)),
                n_test_sentences=min(400, max(10, a.test_per_voice * 4)))
    work = a.out / ".work"
    work.mkdir(parents=True, exist_ok=True)
    specs: list[BatchSpec] = []
    groups: dict[tuple[str, str], list[Job]] = {}
    for j in jobs:
        groups.setdefault((j.split, j.voice.speaker), []).append(j)
    for (split, spk), js in groups.items():
        for b in range(math.ceil(len(js) / a.batch_size)):
            bid = f"{split}-{spk}-{b:04d}"
            if not (work / f"{bid}.tsv").exists():
                specs.append(BatchSpec(bid, js[b * a.batch_size:(b + 1) * a.batch_size], a.out,
                                       a.seed, a.aug_fraction))
    # interleave voices so partial corpora are balanced
    specs.sort(key=lambda s: (int(s.batch_id.rsplit("-", 1)[1]), s.batch_id))
    errors: dict[str, int] = {}
    print(f"{len(jobs)} utterances planned, {len(specs)} batches to do "
          f"({len(groups)} voice/split groups), {a.workers} workers", flush=True)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    with Progress(TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), disable=a.no_progress) as prog:
        task = prog.add_task("batches", total=len(specs))
        done = 0
        with Pool(a.workers) as pool:
            for bid, rows, errs in pool.imap_unordered(run_batch, specs):
                _write_rows(work / f"{bid}.tsv", rows)
                for k, v in errs.items():
                    errors[k] = errors.get(k, 0) + v
                prog.advance(task)
                done += 1
                if a.no_progress and done % 10 == 0:
                    print(f"{done}/{len(specs)} batches, {time.time() - t0:.0f}s", flush=True)
    summary = finalize(a.out, voices, time.time() - t0, errors, {k: str(v) for k, v in vars(a).items()})
    for split, s in summary["splits"].items():
        print(f"{split}: {s['utterances']} utterances, {s['hours']:.2f} h, {s['voices']} voices")
    if errors:
        print("dropped:", json.dumps(errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
