"""Speed benchmark: audio seconds aligned per wall second, ottc-align vs pocketsphinx, same files.

Both systems run in one invocation on the same utterances, on this machine's CPU with the same
thread budget (`--threads`, default 2): ottc-align in one process with 1 and with N torch
threads (on a machine whose cores are busy with other work, more threads can be far slower);
pocketsphinx (single-threaded by design) once in one process and once with N worker processes,
so it gets the same cores. Model/decoder loading and one warm-up utterance are timed separately
and not counted; the timed loop reads audio and transcript and aligns (no output writing).
With `--device cuda` ottc-align also runs on the GPU, when there is one.

    python benchmarks/speed.py --corpus $DATA/synth --limit 0 --threads 2 --methods viterbi --ottc-threads 1
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.decode import DEFAULT_METHOD  # noqa: E402
from benchmarks.common import (  # noqa: E402
    audio_seconds, find_model, machine, machine_lines, markdown_table, model_tag, path_option,
    set_threads, split_utterances, write_results,
)

DOCS_INTRO = """
How fast ottc-align aligns compared with pocketsphinx 5 on the same files, in the same run, on
the same cores. Speed is audio seconds aligned per wall-clock second ("x real time"); the ratio
is ottc-align's speed over pocketsphinx's on as many cores (1 thread vs 1 process, N processes
vs N processes). The floor: at least 5x pocketsphinx on CPU.

Reproduce (from the repository root, `pip install -e '.[bench]'`):

    python benchmarks/speed.py --corpus $DATA/synth --limit 0 --threads 2 --methods viterbi --ottc-threads 1

`--corpus` is the synthetic corpus built by `python -m recipes.synth.build --out $DATA/synth`
(docs/corpus.md; it may be left out when $OTTC_BENCH_CORPUS names it). Options: `--model DIR`, `--split test`, `--methods ot,viterbi`, `--device cuda` (adds GPU rows
when a GPU is present), `--limit N` utterances (0 = all). Loading and one warm-up utterance are
excluded; the timed loop includes reading audio and transcript; each ottc-align row is the median
of `--repeat` (default 3) timed passes over all files. ottc-align runs in one process
with `--ottc-threads` torch threads (default 1 and `--threads`) and, like pocketsphinx, in
`--threads` single-threaded worker processes (what `ottc-align CORPUS --jobs N` does). "corpus"
rows run the way a corpus run does: recordings sorted by length, one padded forward pass per
~60 s of audio (`--batch-seconds`; with N processes smaller where each would get fewer than
8), each decoded on its own; "file by file" rows call the
single-file API once per recording (what `ottc-align AUDIO TRANSCRIPT` does). When other
jobs keep the cores busy, PyTorch's worker threads wait on each other and 2 threads can be many
times slower than 1. The load average at start and end is recorded: read the figures with it.
"""


_ALIGNERS: dict[tuple[str, str], object] = {}


def _align_batches(aligner, items, method: str, batch_seconds: float) -> int:
    """One pass the way `ottc-align CORPUS` runs on one process: speakers' statistics, length
    batches, one forward pass per batch, each utterance decoded on its own (no output
    writing). Returns failures."""
    from aligner.runner import align_batch, length_batches
    from aligner.speaker_norm import speaker_priors

    aligner.speaker_priors = speaker_priors(aligner, items, {u.speaker for u in items})
    failed = 0
    for batch in length_batches(items, batch_seconds):
        for _, outcome in align_batch(aligner, batch, method):
            failed += isinstance(outcome, BaseException)
    return failed


def time_ottc(model: Path, method: str, device: str, utts, threads: int, repeat: int = 1,
              batch_seconds: float = 0.0) -> dict:
    """Align `utts` with ottc-align using `threads` torch threads; load/warm-up timed apart.
    batch_seconds > 0: in length batches as a corpus run does; 0: one file at a time
    (`Aligner.align`, the single-file command). With `repeat` > 1 the pass is timed that many
    times and the median wall time is kept (a pass takes only seconds, so one busy moment of
    the machine would skew a single one)."""
    import torch

    from aligner import Aligner

    t0 = time.perf_counter()
    key = (str(model), device)
    if key not in _ALIGNERS:
        _ALIGNERS[key] = Aligner.load(model, device=device)
    aligner = _ALIGNERS[key]
    torch.set_num_threads(threads)
    aligner.align(utts[0].audio, utts[0].transcript, method=method)  # warm-up
    load_s = time.perf_counter() - t0

    def one_pass() -> int:
        if batch_seconds > 0:
            return _align_batches(aligner, utts, method, batch_seconds)
        failed = 0
        for u in utts:
            try:
                aligner.align(u.audio, u.transcript, method=method)
            except ValueError:
                failed += 1
        return failed

    return {"load_s": load_s, **_median_of_passes(one_pass, repeat)}


def _median_of_passes(one_pass, repeat: int) -> dict:
    """Time `one_pass()` (it returns the number of failures) `repeat` times: the median wall
    time, every wall time, and the failures of the last pass."""
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        failed = one_pass()
        walls.append(time.perf_counter() - t0)
    return {"wall_s": statistics.median(walls), "walls_s": walls, "failed": failed}


_OTTC_WORKER = None


def _ottc_init(model: str, method: str) -> None:
    """Worker start-up: one torch thread, the model loaded once per process."""
    global _OTTC_WORKER
    import torch

    from aligner import Aligner

    torch.set_num_threads(1)
    _OTTC_WORKER = (Aligner.load(Path(model)), method)


def _ottc_batch(task) -> int:
    """One length batch and the speakers' statistics, aligned as a corpus run's worker does
    (`runner._work`: no sorting it again, which would read every file's header twice). Returns
    failures."""
    from aligner.runner import align_batch

    batch, priors = task
    aligner, method = _OTTC_WORKER
    aligner.speaker_priors = priors
    outcomes = align_batch(aligner, batch, method)
    return sum(isinstance(outcome, BaseException) for _, outcome in outcomes)


def time_ottc_processes(model: Path, method: str, utts, workers: int, repeat: int,
                        batch_seconds: float) -> dict:
    """Align `utts` with `workers` single-threaded ottc-align processes, each taking one length
    batch at a time (what `ottc-align CORPUS --jobs N` does), the same way pocketsphinx gets the
    cores; load/warm-up timed apart; median of `repeat`."""
    from aligner import Aligner
    from aligner.runner import length_batches
    from aligner.speaker_norm import speaker_priors

    ctx = mp.get_context("spawn")
    t0 = time.perf_counter()
    parent = Aligner.load(model, device="cpu")  # the CLI's parent holds one too
    with ctx.Pool(workers, initializer=_ottc_init, initargs=(str(model), method)) as pool:
        pool.map(_ottc_batch, [([it], {}) for it in utts[:workers]], chunksize=1)
        load_s = time.perf_counter() - t0

        def one_pass() -> int:  # the parent's statistics, as `ottc-align CORPUS --jobs N`
            priors = speaker_priors(parent, utts, {u.speaker for u in utts})
            batches = list(reversed(length_batches(utts, batch_seconds, workers)))  # longest first
            return sum(pool.map(_ottc_batch, [(b, priors) for b in batches], chunksize=1))

        timed = _median_of_passes(one_pass, repeat)
    return {"load_s": load_s, **timed}


_PS = None


def _ps_init() -> None:
    global _PS
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    from benchmarks.pocketsphinx_align import PocketsphinxAligner

    _PS = PocketsphinxAligner()


def _ps_one(item: tuple[str, str]) -> bool:
    from aligner.text.frontend import read_transcript

    try:
        _PS.align(Path(item[0]), read_transcript(Path(item[1])))
        return True
    except (ValueError, RuntimeError):
        return False


def time_pocketsphinx(utts, workers: int) -> dict:
    items = [(str(u.audio), str(u.transcript)) for u in utts]
    t0 = time.perf_counter()
    if workers <= 1:
        _ps_init()
        _ps_one(items[0])
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ok = [_ps_one(it) for it in items]
        return {"load_s": load_s, "wall_s": time.perf_counter() - t0, "failed": ok.count(False)}
    ctx = mp.get_context("spawn")  # no fork after torch has started its threads
    with ctx.Pool(workers, initializer=_ps_init) as pool:
        pool.map(_ps_one, items[:workers], chunksize=1)  # warm-up: every worker loaded
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ok = pool.map(_ps_one, items, chunksize=1)
        wall = time.perf_counter() - t0
    return {"load_s": load_s, "wall_s": wall, "failed": ok.count(False)}


def _cores(threads: str) -> int:
    """'2 processes' / '1 thread' -> 2 / 1: the number of cores a row used."""
    return int(threads.split()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    path_option(ap, "--corpus", "OTTC_BENCH_CORPUS", "corpus root with split folders")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--model", default=None)
    ap.add_argument("--methods", default=DEFAULT_METHOD)
    ap.add_argument("--threads", type=int, default=2,
                    help="the thread budget: pocketsphinx also runs with this many processes")
    ap.add_argument("--ottc-threads", default=None,
                    help="comma list of torch thread counts to time ottc-align with "
                         "(default: 1 and --threads)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda to add GPU rows")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed passes per ottc-align row; the median is reported")
    ap.add_argument("--batch-seconds", type=float, default=None,
                    help="corpus rows: audio seconds per length batch (default: the CLI's, "
                         "60 on CPU, 600 on CUDA)")
    ap.add_argument("--skip-pocketsphinx", action="store_true")
    ap.add_argument("--name", default="speed")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    from aligner.runner import CPU_BATCH_SECONDS, GPU_BATCH_SECONDS

    def batch_for(device: str) -> float:
        if args.batch_seconds is not None:
            return args.batch_seconds
        return CPU_BATCH_SECONDS if device == "cpu" else GPU_BATCH_SECONDS

    utts = split_utterances(Path(args.corpus) / args.split, args.limit or None)
    if not utts:
        print("error: no utterances", file=sys.stderr)
        return 2
    audio_s = sum(audio_seconds(u.audio) for u in utts)
    model = find_model(args.model)
    load_start = os.getloadavg()
    results: list[dict] = []

    def add(system: str, device: str, threads: str, r: dict) -> None:
        r.update(system=system, device=device, threads=threads, xrt=audio_s / r["wall_s"])
        results.append(r)
        print(f"  {system} [{device}, {threads}]: {r['xrt']:.1f}x real time "
              f"({r['wall_s']:.1f} s, {r['failed']} failed)", file=sys.stderr, flush=True)

    devices = ["cpu"] + (["cuda"] if args.device == "cuda" else [])
    if model is None:
        print("warning: no OTTC model found; timing pocketsphinx only", file=sys.stderr)
    else:
        counts = ([int(x) for x in args.ottc_threads.split(",")] if args.ottc_threads
                  else sorted({1, args.threads}))
        for device in devices:
            for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
                for n in (counts if device == "cpu" else [args.threads]):
                    threads = f"{n} thread{'s' if n > 1 else ''}"
                    add(f"ottc-align ({method}, corpus)", device, threads,
                        time_ottc(model, method, device, utts, n, args.repeat,
                                  batch_for(device)))
                    if device == "cpu" and n == 1:
                        add(f"ottc-align ({method}, file by file)", device, threads,
                            time_ottc(model, method, device, utts, n, args.repeat))
                if device == "cpu" and args.threads > 1:
                    add(f"ottc-align ({method}, corpus)", device, f"{args.threads} processes",
                        time_ottc_processes(model, method, utts, args.threads, args.repeat,
                                            batch_for("cpu")))
    if not args.skip_pocketsphinx:
        add("pocketsphinx", "cpu", "1 process", time_pocketsphinx(utts, 1))
        if args.threads > 1:
            add("pocketsphinx", "cpu", f"{args.threads} processes", time_pocketsphinx(utts, args.threads))
    load_end = os.getloadavg()

    ps_by_cores = {_cores(r["threads"]): r["xrt"] for r in results if r["system"] == "pocketsphinx"}
    rows = []
    for r in results:
        peer = ps_by_cores.get(_cores(r["threads"]))
        ratio = r["xrt"] / peer if peer and not r["system"].startswith("pocketsphinx") else None
        r["ratio_vs_pocketsphinx_same_cores"] = ratio
        rows.append([r["system"], r["device"], r["threads"], f"{r['xrt']:.1f}", f"{r['wall_s']:.1f}",
                     f"{r['load_s']:.1f}", r["failed"], f"{ratio:.1f}x" if ratio else "-"])
    header = ["system", "device", "threads/processes", "x real time", "wall s", "load+warm-up s",
              "failed", "ratio vs pocketsphinx on as many cores"]
    table = markdown_table(header, rows)
    m = machine()
    body = (f"{len(utts)} utterances, {audio_s:.1f} s of audio from `{args.corpus}/{args.split}` "
            f"(same files for every row).\n\n{table}\n\n"
            + (f"- Model: `{model}` (tag {model_tag(model)})\n" if model else "")
            + f"- Load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/"
              f"{load_start[2]:.2f}, at end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}\n"
            + machine_lines(m))
    print(table)
    write_results(args.name, "Speed: ottc-align vs pocketsphinx", body,
                  {"machine": m, "utterances": len(utts), "audio_s": audio_s, "model": model,
                   "load_avg_start": load_start, "load_avg_end": load_end, "rows": results},
                  DOCS_INTRO if args.name == "speed" else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
