"""OTTC loss vs CTC loss: forward + backward time and peak memory as the input grows.

Usage:
    nice -n 10 python benchmarks/loss_speed.py                 # T in 500 2000 8000 32000, CPU
    python benchmarks/loss_speed.py --lengths 500 2000 --reps 3 --device cuda

Batch 8, m = T / 6 target tokens, 40 classes, float32 log-probabilities (a leaf tensor, so both
losses are timed from log-probs to gradients). Each (loss, T) runs in its own subprocess so that
CPU peak memory can be read as the growth of the process's peak RSS over its RSS just before the
first call (CUDA: torch.cuda.max_memory_allocated minus the inputs). Time is the median of
the timed calls (`--reps` for OTTC, `--ctc-reps` / `--ctc-long-reps` for CTC, which is slow)
after one untimed warm-up call; the fastest call is kept in the JSON too.

CTC's alpha/beta tables are [B, T, 2m+1] floats each, about 22 GB at T = 32000, B = 8, more than
this machine has; when the estimate exceeds `--ctc-max-gb` the CTC run uses the largest batch
that fits and its time is scaled to batch 8 (CPU ctc_loss loops over the batch, so time is
linear in it); the table marks such rows. Results go to benchmarks/results/loss_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def worker(method: str, t: int, batch: int, classes: int, reps: int, device: str, threads: int) -> dict:
    """Time one loss at one length in this process; returns a result row."""
    import torch

    from aligner.ctc import ctc_loss
    from aligner.ottc import ottc_loss

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    m = t // 6
    lp = torch.randn(batch, t, classes, generator=g).log_softmax(-1).to(device).requires_grad_()
    w = torch.randn(batch, t, generator=g).to(device).requires_grad_()
    y = torch.randint(1, classes, (batch, m), generator=g).to(device)
    il = torch.full((batch,), t, dtype=torch.long, device=device)
    tl = torch.full((batch,), m, dtype=torch.long, device=device)

    def step() -> None:
        lp.grad = None
        w.grad = None
        if method == "ottc":
            loss = ottc_loss(lp, w, y, il, tl, reduction="sum")
        else:
            loss = ctc_loss(lp, y, il, tl, reduction="sum")
        loss.backward()
        if device == "cuda":
            torch.cuda.synchronize()

    base_rss = _rss_mb()
    if device == "cuda":
        torch.cuda.synchronize()
        base_cuda = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    step()  # warm-up (and the memory peak)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    if device == "cuda":
        peak_mb = (torch.cuda.max_memory_allocated() - base_cuda) / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_rss
    return {"method": method, "T": t, "m": m, "batch": batch, "classes": classes, "device": device,
            "reps": reps, "median_s": statistics.median(times), "min_s": min(times), "times_s": times,
            "peak_mb": max(peak_mb, 0.0), "threads": threads}


def _run_worker(method: str, t: int, batch: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", method, "--lengths", str(t), "--batch", str(batch),
           "--classes", str(args.classes), "--reps", str(_reps(method, t, args)),
           "--device", args.device, "--threads", str(args.threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _reps(method: str, t: int, args: argparse.Namespace) -> int:
    if method == "ottc":
        return args.reps
    return args.ctc_long_reps if t >= 32000 else args.ctc_reps


def _ctc_gb(batch: int, t: int, m: int) -> float:
    return 2 * batch * t * (2 * m + 1) * 4 / 2**30  # log_alpha + log_beta, float32


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", type=int, nargs="+", default=[500, 2000, 8000, 32000])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--classes", type=int, default=40)
    p.add_argument("--reps", type=int, default=15, help="OTTC timed reps")
    p.add_argument("--ctc-reps", type=int, default=3, help="CTC timed reps at T < 32000")
    p.add_argument("--ctc-long-reps", type=int, default=1, help="CTC reps at T >= 32000")
    p.add_argument("--ctc-max-gb", type=float, default=4.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--worker", choices=["ottc", "ctc"], help=argparse.SUPPRESS)
    p.add_argument("--tag", default="", help="suffix for the results files, e.g. _cuda")
    args = p.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.lengths[0], args.batch, args.classes, args.reps,
                                args.device, args.threads)))
        return

    load_start = os.getloadavg()[0]
    rows = []
    for t in args.lengths:
        m = t // 6
        ottc = _run_worker("ottc", t, args.batch, args)
        ctc_batch = args.batch
        while ctc_batch > 1 and _ctc_gb(ctc_batch, t, m) > args.ctc_max_gb:
            ctc_batch //= 2
        ctc = _run_worker("ctc", t, ctc_batch, args)
        scale = args.batch / ctc_batch
        ctc_time = ctc["median_s"] * scale
        row = {"T": t, "m": m, "ottc": ottc, "ctc": ctc, "ctc_time_batch_s": ctc_time,
               "ctc_scaled_from_batch": ctc_batch if ctc_batch != args.batch else None,
               "speedup": ctc_time / ottc["median_s"]}
        rows.append(row)
        print(_format_row(row), flush=True)

    import torch

    meta = {"date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": "python " + " ".join(sys.argv), "machine": platform.platform(),
            "processor": _cpu_name(), "torch": torch.__version__, "threads": args.threads,
            "device": args.device, "batch": args.batch, "classes": args.classes,
            "cpus": os.cpu_count(), "load_start": load_start, "load_end": os.getloadavg()[0]}
    from aligner.atomic import atomic_open

    with atomic_open(RESULTS / f"loss_speed{args.tag}.json") as handle:  # all or nothing
        handle.write(json.dumps({"meta": meta, "rows": rows}, indent=2))
    table = markdown_table(rows, args.batch)
    with atomic_open(RESULTS / f"loss_speed{args.tag}.md") as handle:
        handle.write(
            f"Command: `{meta['command']}`  \nMachine: {meta['processor']}, {meta['machine']}, torch "
            f"{meta['torch']}, {args.threads} thread(s), device {args.device}  \nDate: {meta['date']}; "
            f"1-min load average {meta['load_start']:.1f} at start, {meta['load_end']:.1f} at end, on "
            f"{meta['cpus']} CPUs\n\n" + table + "\n")
    print()
    print(table)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _format_row(row: dict) -> str:
    return (f"T={row['T']:>6} ottc {row['ottc']['median_s'] * 1e3:9.1f} ms  ctc "
            f"{row['ctc_time_batch_s'] * 1e3:11.1f} ms  x{row['speedup']:.0f}")


def markdown_table(rows: list[dict], batch: int) -> str:
    lines = ["| T (frames) | m (tokens) | OTTC fwd+bwd (ms) | CTC fwd+bwd (ms) | CTC / OTTC time "
             "| OTTC peak mem (MB) | CTC peak mem (MB) | reps OTTC / CTC |",
             "|---:|---:|---:|---:|---:|---:|---:|---|"]
    notes = []
    for r in rows:
        ctc_cell = f"{r['ctc_time_batch_s'] * 1e3:.1f}"
        mem_cell = f"{r['ctc']['peak_mb']:.0f}"
        if r["ctc_scaled_from_batch"]:
            b = r["ctc_scaled_from_batch"]
            ctc_cell += " *"
            mem_cell += f" (batch {b}) *"
            notes.append(f"\\* T={r['T']}: CTC measured at batch {b} (batch {batch} needs "
                         f"~{_ctc_gb(batch, r['T'], r['m']):.0f} GB for its alpha/beta tables), "
                         f"time scaled by {batch}/{b}.")
        lines.append(f"| {r['T']} | {r['m']} | {r['ottc']['median_s'] * 1e3:.1f} | {ctc_cell} | "
                     f"{r['speedup']:.0f}x | {r['ottc']['peak_mb']:.0f} | {mem_cell} | "
                     f"{r['ottc']['reps']} / {r['ctc']['reps']} |")
    return "\n".join(lines + ([""] + notes if notes else []))


if __name__ == "__main__":
    main()
