"""How large a corpus `ottc-align adapt` needs, and what its held-out check sees.

For each size N: draw N recordings (seeded: the k-th size uses seed k) from a corpus with gold
TextGrids and adapt to them with `adapt`'s training run (called directly, so that sizes below
the command's minimum can be measured too; from that minimum on, `adapt`'s held-out share is
left out of training as the command does). Then score the base and the adapted model on three
groups: the recordings trained on, the held-out ones, and `--other` recordings of the same
corpus that neither saw (the same voices). Gold figures (phone and word boundaries within 20 ms,
`viterbi` decoder) next to the gold-free ones a held-out check could use: mean word confidence
(what `adapt` uses), the OTTC loss, and the mean log-probability per frame of the model's own
Viterbi path.

    python benchmarks/adaptation_size.py $DATA/synth/test --sizes 8 30 100 --threads 1
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    find_model, machine, machine_lines, markdown_table, model_tag, set_threads, write_results,
)

DOCS_INTRO = """
What adapting to corpora of different sizes does to the recordings adapted to, to held-out
recordings of the corpus, and to other recordings of the same voices, with gold boundaries and
with the gold-free figures a held-out check could use. `ottc-align adapt` refuses corpora below
its minimum and keeps an adapted model only when its mean word confidence on held-out
recordings rises.
"""


def gold_recordings(corpus: Path) -> list[Path]:
    """Audio files with a gold TextGrid and a .lab beside them, sorted."""
    return sorted(p for p in corpus.glob("*/*") if p.suffix.lower() in (".wav", ".flac")
                  and p.with_suffix(".TextGrid").is_file() and p.with_suffix(".lab").is_file())


def link_corpus(files: list[Path], dst: Path) -> None:
    """A corpus folder of symlinks (audio and .lab), speakers kept."""
    for f in files:
        d = dst / f.parent.name
        d.mkdir(parents=True, exist_ok=True)
        for src in (f, f.with_suffix(".lab")):
            os.symlink(src.resolve(), d / src.name)


def adapt_to(files: list[Path], work: Path, base: Path, threads: int, hold_out: bool,
             steps: int) -> tuple[Path, list[Path], float]:
    """Adapt `base` to `files` as `ottc-align adapt` does (its step budget, no time budget):
    (adapted model directory, held-out audio files, seconds)."""
    from aligner import adapt
    from aligner.train import train

    corpus = work / "corpus"
    link_corpus(files, corpus)
    recordings = adapt.usable_recordings([corpus], adapt.ADAPT_MAX_UTTERANCE_S)
    held = adapt.choose_held_out(recordings, 0) if hold_out else []
    cfg = adapt.adaptation_config([corpus], work / "adapted", base, work, steps=steps, threads=threads,
                                  max_minutes=None, leave_out=[r.name for r in held],
                                  name="adapted")
    t0 = time.time()
    train(cfg, echo=lambda line: None)
    originals = {f.parent.name + "/" + f.stem: f for f in files}
    return work / "adapted", [originals[r.name] for r in held], time.time() - t0


def figures(model_dir: Path, files: list[Path]) -> dict[str, float]:
    """Gold and gold-free figures of one model over `files` (pooled boundaries, mean per file)."""
    import torch

    from aligner.align import Aligner
    from aligner.dataset import Item, collate
    from aligner.evaluate import score_utterance
    from aligner.formats import read_alignment
    from aligner.features import log_mel, model_wave
    from aligner.model import load_model
    from aligner.phone_folding import load_folding
    from aligner.text.frontend import parse_transcript, read_transcript
    from aligner.text.phones import phone_ids
    from aligner.train import batch_targets, compute_loss, viterbi_labels

    model = load_model(model_dir)
    cfg = model.config
    aligner = Aligner(model)
    folding = load_folding("cmu39")
    ph_in = ph_n = wd_in = wd_n = 0
    conf, ottc, path_lp = [], [], []
    for f in files:
        hyp = aligner.align(f, f.with_suffix(".lab"))
        s = score_utterance(f.stem, read_alignment(f.with_suffix(".TextGrid")), hyp, folding)
        ph, wd = np.abs(s.phones.offsets), np.abs(s.words.offsets)
        ph_in, ph_n = ph_in + int((ph <= 0.02 + 1e-9).sum()), ph_n + ph.size
        wd_in, wd_n = wd_in + int((wd <= 0.02 + 1e-9).sum()), wd_n + wd.size
        conf.append(float(np.mean([w.confidence for w in hyp.words if w.label])))
        words = parse_transcript(read_transcript(f.with_suffix(".lab")), aligner.lexicon)
        wave = aligner.load_waveform(f)[0]
        item = Item(f.stem, log_mel(torch.from_numpy(model_wave(wave)), cfg.feature_config),
                    [phone_ids(w.pronunciations[0]) for w in words])
        with torch.no_grad():
            x, lengths, live = collate([item.feats.float()])
            tgt = batch_targets([item], "ottc", cfg.sil_mass, cfg.phone_mass_by_id(), cfg.states)
            ottc.append(float(compute_loss(model, x, lengths, tgt, "ottc", live=live)[0]))
            log_probs, _ = model(x, lengths, live)
            labels = viterbi_labels(log_probs, lengths, tgt)[0]
            keep = labels != -100
            path_lp.append(float(log_probs[0][keep].gather(1, labels[keep][:, None]).mean()))
    return {"n": len(files), "phones_20ms": ph_in / max(1, ph_n), "words_20ms": wd_in / max(1, wd_n),
            "confidence": float(np.mean(conf)), "ottc_loss": float(np.mean(ottc)),
            "path_logprob": float(np.mean(path_lp))}


def main(argv: list[str] | None = None) -> int:
    from aligner.adapt import ADAPT_MIN_UTTERANCES, ADAPT_STEPS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, help="a corpus with gold TextGrids and .lab beside the audio")
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 30, 100])
    ap.add_argument("--other", type=int, default=60, help="recordings of the corpus neither model saw")
    ap.add_argument("--model", default=None, help="base model (default: the shipped one)")
    ap.add_argument("--steps", type=int, default=ADAPT_STEPS, help="adaptation steps (fewer: a quick look)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="adaptation_size")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    base = find_model(args.model)
    everything = gold_recordings(args.corpus)
    rows, data = [], {"model": str(base), "corpus": str(args.corpus), "sizes": {}}
    for k, size in enumerate(args.sizes, start=1):
        files = random.Random(k).sample(everything, size)
        with tempfile.TemporaryDirectory() as tmp:
            adapted, held, seconds = adapt_to(files, Path(tmp), base, args.threads,
                                              hold_out=size >= ADAPT_MIN_UTTERANCES, steps=args.steps)
            rest = [f for f in everything if f not in files]
            other = random.Random(7).sample(rest, min(args.other, len(rest)))
            groups = {"adapted to": [f for f in files if f not in held], "held out": held, "other": other}
            result = {g: {"before": figures(base, fs), "after": figures(adapted, fs)}
                      for g, fs in groups.items() if fs}
        data["sizes"][size] = {"groups": result, "adapt_seconds": seconds}
        for g, r in result.items():
            b, a = r["before"], r["after"]
            rows.append([size, g, b["n"], *(f"{100 * b[m]:.1f} -> {100 * a[m]:.1f}" for m in ("phones_20ms", "words_20ms")),
                         f"{b['confidence']:.2f} -> {a['confidence']:.2f}", f"{b['ottc_loss']:.2f} -> {a['ottc_loss']:.2f}",
                         f"{b['path_logprob']:.2f} -> {a['path_logprob']:.2f}", f"{seconds:.0f}"])
        print(*rows[-len(result):], sep="\n", flush=True)
    table = markdown_table(["recordings", "group", "n", "phones ≤20 ms %", "words ≤20 ms %",
                            "mean word confidence", "OTTC loss", "own-path log-prob/frame", "adapt s"], rows)
    body = "\n\n".join([
        f"Corpus `{args.corpus}`; base model `{base}` (tag {model_tag(base)}); `adapt`'s training "
        f"run with its defaults ({args.steps} steps, no time budget), {args.threads} thread(s); sizes from "
        f"{ADAPT_MIN_UTTERANCES} on hold out `adapt`'s share. Before -> after adapting.",
        table, machine_lines(machine())])
    write_results(args.name, "Adapting to corpora of different sizes", body, data, DOCS_INTRO)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
