"""Scale benchmark: time and peak memory of `ottc-align` aligning a one-hour recording.

The recording is built once by concatenating test-split utterances (audio, transcripts and gold
TextGrids shifted by their offsets) until it reaches `--minutes`; it is cached under
`--work` (default $OTTC_BENCH_WORK/long). `ottc-align AUDIO TRANSCRIPT -o OUT` then runs in a
subprocess; its wall time and peak resident memory (the child's ru_maxrss from wait4) are
measured, and the output is scored against the concatenated gold, which shows whether a long
alignment drifts. Target: peak memory under 2 GB.

    python benchmarks/scale.py --corpus SYNTH --work DIR --minutes 60
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.decode import DECODERS, DEFAULT_METHOD  # noqa: E402
from benchmarks.common import (  # noqa: E402
    find_model, machine, machine_lines, markdown_table, model_tag, path_option, scratch_option,
    split_utterances, write_results,
)

DOCS_INTRO = """
Time and peak memory of aligning one long recording in a single call of the command line tool.
The recording is made by concatenating test-split utterances (audio, transcripts, gold
boundaries shifted by each utterance's offset) up to one hour; the transcript is one text file.
Peak memory is the aligner process's maximum resident set size as the kernel reports it
(`ru_maxrss` of the child). Target: under 2 GB.

Reproduce (from the repository root):

    python benchmarks/scale.py --corpus $DATA/synth --work $DATA/bench_cache/long --minutes 60 --threads 1 --method viterbi

`--corpus` is the synthetic corpus built by `python -m recipes.synth.build --out $DATA/synth`
(docs/corpus.md); `--corpus` and `--work` may be left out when $OTTC_BENCH_CORPUS and
$OTTC_BENCH_WORK name them.

Options: `--model DIR`, `--method ot|viterbi`, `--minutes`, `--work DIR` (where the long
recording and the output are kept, default $OTTC_BENCH_WORK/long), `--timeout` seconds,
`--threads N` (sets OMP_NUM_THREADS for the aligner; default: ottc-align's own choice).
"""

GIB = 1024 ** 3


def build_long(split_dir: Path, minutes: float, work: Path) -> tuple[Path, Path, Path, float, int]:
    """(audio, transcript, gold TextGrid, seconds, utterances) of the concatenated recording."""
    import numpy as np
    import soundfile as sf

    from aligner.alignment import Alignment, Interval
    from aligner.audio import load_audio
    from aligner.formats import read_alignment
    from aligner.formats import write_textgrid
    from aligner.text.frontend import read_transcript

    tag = f"long-{split_dir.name}-{minutes:g}min"
    audio, text, gold, meta = (work / f"{tag}.flac", work / f"{tag}.txt", work / f"{tag}.TextGrid",
                               work / f"{tag}.json")
    utts = split_utterances(split_dir)
    if all(p.exists() for p in (audio, text, gold, meta)):
        info = json.loads(meta.read_text())
        if info.get("source_utterances") == len(utts):  # else the split changed: rebuild
            return audio, text, gold, info["seconds"], info["utterances"]
    if not utts:
        raise SystemExit(f"error: {split_dir}: no utterances to build a long recording from")
    target = minutes * 60
    pieces, texts, words, phones = [], [], [], []
    offset, n = 0.0, 0
    while offset < target:
        u = utts[n % len(utts)]
        wave = load_audio(u.audio)
        g = read_alignment(u.gold)
        for src, dst in ((g.words, words), (g.phones, phones)):
            dst.extend(Interval(iv.start + offset, iv.end + offset, iv.label) for iv in src if iv.label)
        texts.append(" ".join(read_transcript(u.transcript).split()))
        pieces.append(wave)
        offset += len(wave) / 16000
        n += 1
    work.mkdir(parents=True, exist_ok=True)
    sf.write(str(audio), np.concatenate(pieces), 16000, subtype="PCM_16")
    text.write_text("\n".join(texts) + "\n", encoding="utf-8")
    write_textgrid(Alignment(words, phones, offset), gold)
    meta.write_text(json.dumps({"seconds": offset, "utterances": n, "source_utterances": len(utts)}))
    return audio, text, gold, offset, n


def run_measured(cmd: list[str], env: dict[str, str], timeout: float, log: Path) -> dict:
    """Run `cmd`; wall time, exit code and the child's peak RSS (bytes) from wait4.

    Output goes to `log` (a file, so a chatty child can never block on a full pipe)."""
    t0 = time.perf_counter()
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = t0 + timeout
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.send_signal(signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            timed_out = True
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    output = log.read_text(encoding="utf-8", errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "exit_code": proc.returncode, "peak_rss_bytes": usage.ru_maxrss * 1024,
            "timed_out": timed_out, "output_tail": output[-2000:]}


def drift(gold, hyp, window: float = 600.0) -> list[dict]:
    """Per stretch of `window` seconds: phone boundaries within 20 ms and the median signed
    offset, which shows whether a long alignment wanders off and comes back."""
    import numpy as np

    from aligner.evaluate import boundary_pairs, pair_tokens
    from aligner.phone_folding import load_folding

    fold = load_folding()
    g, h = fold.fold_phones(gold.phones), fold.fold_phones(hyp.phones)
    bp = np.array(boundary_pairs(g, h, pair_tokens(g, h))).reshape(-1, 2)
    out = []
    for lo in np.arange(0.0, gold.duration, window):
        sel = (bp[:, 0] >= lo) & (bp[:, 0] < lo + window)
        if sel.any():
            off = bp[sel, 1] - bp[sel, 0]
            out.append({"from_s": float(lo), "boundaries": int(sel.sum()),
                        "within_20ms": float(np.mean(np.abs(off) <= 0.020 + 1e-9)),
                        "median_offset_ms": float(np.median(off) * 1000)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    path_option(ap, "--corpus", "OTTC_BENCH_CORPUS", "corpus root with split folders")
    ap.add_argument("--split", default="test")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--model", default=None)
    ap.add_argument("--method", default=DEFAULT_METHOD, choices=list(DECODERS))
    ap.add_argument("--threads", type=int, default=None,
                    help="OMP_NUM_THREADS for the aligner (default: leave it to ottc-align)")
    ap.add_argument("--device", default="cpu")
    scratch_option(ap, "--work", "OTTC_BENCH_WORK", "where the long recording is built and kept",
                   "long")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--name", default="scale")
    args = ap.parse_args(argv)

    model = find_model(args.model)
    if model is None:
        print("error: no model (give --model DIR)", file=sys.stderr)
        return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    audio, text, gold, seconds, n_utts = build_long(Path(args.corpus) / args.split, args.minutes, work)
    print(f"long recording: {audio} ({seconds / 60:.1f} min, {n_utts} utterances)", file=sys.stderr)
    exe = shutil.which("ottc-align") or str(Path(sys.executable).parent / "ottc-align")
    out = work / f"{audio.stem}.{args.method}.out.TextGrid"
    out.unlink(missing_ok=True)
    cmd = [exe, str(audio), str(text), "-o", str(out), "--model", str(model), "--device",
           args.device, "--method", args.method, "-q"]
    env = dict(os.environ)
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
    r = run_measured(cmd, env, args.timeout, work / f"{audio.stem}.{args.method}.log")
    r.update(audio_s=seconds, xrt=seconds / r["wall_s"], peak_rss_gib=r["peak_rss_bytes"] / GIB)

    accuracy = None
    if r["exit_code"] in (0, 1) and out.exists():
        from aligner.evaluate import score_utterance, summarise
        from aligner.formats import read_alignment
        from aligner.phone_folding import load_folding

        g_ali, h_ali = read_alignment(gold), read_alignment(out)
        s = summarise([score_utterance("long", g_ali, h_ali, load_folding())])
        accuracy = s.to_dict()
        accuracy["drift"] = drift(g_ali, h_ali)
    else:
        print(r["output_tail"], file=sys.stderr)

    def pct(x):
        return "-" if x is None or x != x else f"{100 * x:.1f}"
    p = (accuracy or {}).get("phones", {})
    w = (accuracy or {}).get("words", {})
    rows = [[f"{seconds / 60:.1f} min ({n_utts} utts)", args.method, args.device, args.threads or "default",
             f"{r['wall_s']:.0f}", f"{r['xrt']:.1f}", f"{r['peak_rss_gib']:.2f}",
             "yes" if r["peak_rss_gib"] < 2 else "NO", r["exit_code"],
             f"{p.get('mean_ms', float('nan')):.1f}" if p.get("mean_ms") is not None else "-",
             pct((p.get("within") or {}).get("20ms")), pct((w.get("within") or {}).get("20ms"))]]
    header = ["recording", "method", "device", "threads", "wall s", "x real time", "peak RSS GiB",
              "< 2 GB", "exit", "phone mean ms", "phone ≤20 ms %", "word ≤20 ms %"]
    table = markdown_table(header, rows)
    if accuracy and accuracy.get("drift"):
        table += "\n\nAlong the recording (phones):\n\n" + markdown_table(
            ["from min", "boundaries", "≤20 ms %", "median offset ms"],
            [[f"{d['from_s'] / 60:.0f}", d["boundaries"], pct(d["within_20ms"]),
              f"{d['median_offset_ms']:+.0f}"] for d in accuracy["drift"]])
    m = machine()
    body = (f"{table}\n\n- Model: `{model}` (tag {model_tag(model)})\n"
            f"- Aligner command: `{' '.join(cmd)}`"
            + (f" (OMP_NUM_THREADS={args.threads})" if args.threads else "") + "\n"
            + machine_lines(m))
    print(table)
    write_results(args.name, "Scale: one long recording", body,
                  {"machine": m, "model": model, "command": cmd, "result": r, "accuracy": accuracy},
                  DOCS_INTRO if args.name == "scale" else "")
    return 0 if r["exit_code"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
