"""Speed benchmark: audio seconds aligned per wall second, ottc-align vs pocketsphinx, same files.

Both systems run in one invocation on the same utterances, on this machine's CPU with the same
thread budget (`--threads`, default 2): ottc-align in one process with 1 and with N torch
threads (on a machine whose cores are busy with other work, more threads can be far slower);
pocketsphinx (single-threaded by design) once in one process and once with N worker processes,
so it gets the same cores. Model/decoder loading and one warm-up utterance are timed separately
and not counted; the timed loop reads audio and transcript and aligns (no output writing). The
systems' passes take turns, round by round (`timed_rounds`).
With `--device cuda` ottc-align also runs on the GPU, when there is one.

    python benchmarks/speed.py --corpus $DATA/synth --limit 0 --threads 2 --methods viterbi --ottc-threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
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
excluded; the timed loop includes reading audio and transcript. The passes are timed in
`--repeat` (default 3) rounds, each of which runs every row's pass over all files once, in the
reverse order of the round before: a row's speed is the median of its passes, and its ratio the
median of the rounds' ratios, each taken between passes that ran a minute apart at most (these
VMs' speed drifts by a third within minutes; timed one after the other, the systems were
compared on the machine of different moments). ottc-align runs in one process
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

# A row's timed pass: aligns every utterance once, returns the failures.
Pass = Callable[[], int]


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


def ottc_pass(model: Path, method: str, device: str, utts, threads: int,
              batch_seconds: float = 0.0) -> tuple[float, Pass]:
    """(seconds to load and warm up, a pass aligning `utts` with ottc-align on `threads` torch
    threads). batch_seconds > 0: in length batches as a corpus run does; 0: one file at a time
    (`Aligner.align`, the single-file command)."""
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
        torch.set_num_threads(threads)  # the rows of a round take turns in this process
        if batch_seconds > 0:
            return _align_batches(aligner, utts, method, batch_seconds)
        failed = 0
        for u in utts:
            try:
                aligner.align(u.audio, u.transcript, method=method)
            except ValueError:
                failed += 1
        return failed

    return load_s, one_pass


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


def ottc_processes_pass(stack: contextlib.ExitStack, model: Path, method: str, utts,
                        workers: int, batch_seconds: float) -> tuple[float, Pass]:
    """(seconds to start and warm up, a pass aligning `utts` with `workers` single-threaded
    ottc-align processes, each taking one length batch at a time: what `ottc-align CORPUS
    --jobs N` does, the same way pocketsphinx gets the cores). The pool lives in `stack`."""
    from aligner import Aligner
    from aligner.runner import length_batches
    from aligner.speaker_norm import speaker_priors

    t0 = time.perf_counter()
    parent = Aligner.load(model, device="cpu")  # the CLI's parent holds one too
    pool = stack.enter_context(mp.get_context("spawn").Pool(
        workers, initializer=_ottc_init, initargs=(str(model), method)))
    pool.map(_ottc_batch, [([it], {}) for it in utts[:workers]], chunksize=1)

    def one_pass() -> int:  # the parent's statistics, as `ottc-align CORPUS --jobs N`
        priors = speaker_priors(parent, utts, {u.speaker for u in utts})
        batches = list(reversed(length_batches(utts, batch_seconds, workers)))  # longest first
        return sum(pool.map(_ottc_batch, [(b, priors) for b in batches], chunksize=1))

    return time.perf_counter() - t0, one_pass


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


def pocketsphinx_pass(stack: contextlib.ExitStack, utts, workers: int) -> tuple[float, Pass]:
    """(seconds to load and warm up, a pass aligning `utts` with pocketsphinx in this process,
    or in `workers` processes whose pool lives in `stack`)."""
    items = [(str(u.audio), str(u.transcript)) for u in utts]
    t0 = time.perf_counter()
    if workers <= 1:
        _ps_init()
        _ps_one(items[0])
        return time.perf_counter() - t0, lambda: [_ps_one(it) for it in items].count(False)
    # spawn: no fork after torch has started its threads
    pool = stack.enter_context(mp.get_context("spawn").Pool(workers, initializer=_ps_init))
    pool.map(_ps_one, items[:workers], chunksize=1)  # warm-up: every worker loaded
    return (time.perf_counter() - t0,
            lambda: pool.map(_ps_one, items, chunksize=1).count(False))


def timed_rounds(passes: list[Pass], repeat: int) -> tuple[list[list[float]], list[int]]:
    """Wall seconds of each pass in each of `repeat` rounds ([pass][round]), and each pass's
    failures in its last round; a round runs every pass once, in the reverse order of the round
    before. Why rounds: these VMs' speed drifts
    by a third or more within minutes, and a system timed minutes after the other was compared
    with the machine of another moment; within a round the passes follow one another, and
    alternating the order keeps any one of them from always going first."""
    walls: list[list[float]] = [[] for _ in passes]
    failed = [0] * len(passes)
    for r in range(repeat):
        order = range(len(passes)) if r % 2 == 0 else reversed(range(len(passes)))
        for i in order:
            t0 = time.perf_counter()
            failed[i] = passes[i]()
            walls[i].append(time.perf_counter() - t0)
    return walls, failed


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
                    help="timed rounds: each runs every row's pass once; a row's speed is the "
                         "median of its passes, its ratio the median of the rounds'")
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
    devices = ["cpu"] + (["cuda"] if args.device == "cuda" else [])
    rows_meta: list[tuple[str, str, str]] = []  # (system, device, threads) of each pass
    loads: list[float] = []
    passes: list[Pass] = []

    def row(system: str, device: str, threads: str, prepared: tuple[float, Pass]) -> None:
        rows_meta.append((system, device, threads))
        loads.append(prepared[0])
        passes.append(prepared[1])
        print(f"  ready: {system} [{device}, {threads}], {prepared[0]:.1f} s to load",
              file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        if model is None:
            print("warning: no OTTC model found; timing pocketsphinx only", file=sys.stderr)
        else:
            counts = ([int(x) for x in args.ottc_threads.split(",")] if args.ottc_threads
                      else sorted({1, args.threads}))
            for device in devices:
                for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
                    for n in (counts if device == "cpu" else [args.threads]):
                        threads = f"{n} thread{'s' if n > 1 else ''}"
                        row(f"ottc-align ({method}, corpus)", device, threads,
                            ottc_pass(model, method, device, utts, n, batch_for(device)))
                        if device == "cpu" and n == 1:
                            row(f"ottc-align ({method}, file by file)", device, threads,
                                ottc_pass(model, method, device, utts, n))
                    if device == "cpu" and args.threads > 1:
                        row(f"ottc-align ({method}, corpus)", device,
                            f"{args.threads} processes",
                            ottc_processes_pass(stack, model, method, utts, args.threads,
                                                batch_for("cpu")))
        if not args.skip_pocketsphinx:
            row("pocketsphinx", "cpu", "1 process", pocketsphinx_pass(stack, utts, 1))
            if args.threads > 1:
                row("pocketsphinx", "cpu", f"{args.threads} processes",
                    pocketsphinx_pass(stack, utts, args.threads))
        walls, failed = timed_rounds(passes, args.repeat)
    load_end = os.getloadavg()

    results: list[dict] = []
    for (system, device, threads), load_s, w, f in zip(rows_meta, loads, walls, failed):
        wall = statistics.median(w)
        results.append({"system": system, "device": device, "threads": threads,
                        "load_s": load_s, "wall_s": wall, "walls_s": w, "failed": f,
                        "xrt": audio_s / wall})
    peers = {_cores(r["threads"]): r for r in results if r["system"] == "pocketsphinx"}
    rows = []
    for r in results:
        peer = peers.get(_cores(r["threads"])) if r["device"] == "cpu" else None
        ratios = None  # pocketsphinx's wall over ottc-align's, round by round
        if peer is not None and not r["system"].startswith("pocketsphinx"):
            ratios = [p / o for p, o in zip(peer["walls_s"], r["walls_s"])]
        r["ratio_vs_pocketsphinx_same_cores"] = statistics.median(ratios) if ratios else None
        r["ratios_by_round"] = ratios
        rows.append([r["system"], r["device"], r["threads"], f"{r['xrt']:.1f}", f"{r['wall_s']:.1f}",
                     f"{r['load_s']:.1f}", r["failed"],
                     f"{statistics.median(ratios):.1f}x" if ratios else "-",
                     f"{min(ratios):.1f}-{max(ratios):.1f}x" if ratios else "-"])
    header = ["system", "device", "threads/processes", "x real time", "wall s", "load+warm-up s",
              "failed", "ratio vs pocketsphinx on as many cores", "ratio, round by round"]
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
