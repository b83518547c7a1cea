"""Helpers the benchmark scripts share: the utterances of a split, describing the machine,
writing result tables, finding the models.

Every benchmark prints a table and writes `benchmarks/results/<name>.{md,json}` plus the docs page
`docs/benchmarks/<name>.md`, each with the command that reproduces it, the machine and the date.
System outputs are cached (`--cache`, outside the repository) per system, model and split, so an
interrupted run resumes where it stopped.

Data paths are arguments of each benchmark (`--corpus`, `--data`, `--ctc-model`, ...). No
machine's data folders are built in: a data path is required unless its environment variable
is set, so a machine sets them once: $OTTC_BENCH_CORPUS (the synthetic corpus, with its split
folders) and $OTTC_BENCH_RUNS (training runs, where the CTC baseline is looked for). Scratch
folders (`--cache`: system outputs; `--work`: scale.py's long recording, telephone copies) default
to $OTTC_BENCH_CACHE and $OTTC_BENCH_WORK, else to folders under the user's cache
(~/.cache/ottc-align/benchmarks), so the commands the pages print run as written.
The model is the one `ottc-align` uses ($OTTC_ALIGN_MODEL, else models/english) unless
`--model` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aligner.corpus import Utterance

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
DOCS = REPO / "docs" / "benchmarks"


def env_path(variable: str) -> Path | None:
    """The folder an environment variable names, None when it is unset or empty."""
    value = os.environ.get(variable)
    return Path(value) if value else None


def path_option(parser: argparse.ArgumentParser, flag: str, variable: str, help: str,
                below: str = "") -> None:
    """A data-path option (a string, as the scripts expect) whose default is the folder
    `variable` names (its subfolder `below`): required where the variable is unset, rather
    than a guess at where this machine keeps its data."""
    root = env_path(variable)
    parser.add_argument(flag, default=None if root is None else str(root / below),
                        required=root is None,
                        help=f"{help} (default: ${variable}{'/' + below if below else ''})")


def scratch_option(parser: argparse.ArgumentParser, flag: str, variable: str, help: str,
                   below: str = "") -> None:
    """A scratch-folder option (`--cache`, `--work`): the folder `variable` names (its subfolder
    `below`), else one under $XDG_CACHE_HOME or ~/.cache, ottc-align/benchmarks/<flag>/<below>.
    Why not required as data paths are: what it holds is rebuilt when missing, and a results
    page's command that failed for want of it ("required: --cache") reproduced nothing."""
    root = env_path(variable)
    if root is None:
        home = env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = home / "ottc-align" / "benchmarks" / flag.lstrip("-")
    parser.add_argument(flag, default=str(root / below) if below else str(root),
                        help=f"{help} (default: ${variable}{'/' + below if below else ''}, else "
                             f"~/.cache/ottc-align/benchmarks/{flag.lstrip('-')}"
                             f"{'/' + below if below else ''})")


def split_utterances(split_dir: Path, limit: int | None = None) -> list[Utterance]:
    """The utterances of a corpus split that have a gold alignment (`aligner.corpus.
    gold_utterances`: audio, text transcript, gold TextGrid), in name order.

    With `limit`, an evenly spaced subset, so every speaker (voice) stays represented.
    """
    from aligner.corpus import gold_utterances

    if not split_dir.is_dir():
        raise SystemExit(f"error: {split_dir}: no such corpus split")
    items = gold_utterances(split_dir)
    if limit is not None and 0 < limit < len(items):
        step = len(items) / limit
        items = [items[int(i * step)] for i in range(limit)]
    return items


def audio_seconds(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


def model_tag(model: Path | None) -> str:
    """A short id of what a model directory aligns with: the digest of its config and weights
    that a corpus run's report records as `model=` (`runner.content_digest`).

    Why contents and not paths or times: two clones of one commit hold the same model, and a
    benchmark page should say so; a regenerated card or metrics file changes no output."""
    from aligner.model import CONFIG_FILE, WEIGHTS_FILE, ModelError, model_directory
    from aligner.runner import content_digest

    if model is None:
        return "none"
    try:
        folder = model_directory(model)  # a weights or config file: its folder, as aligning
    except ModelError:
        return content_digest([model]) if model.is_file() else "missing"
    return content_digest([folder / CONFIG_FILE, folder / WEIGHTS_FILE])  # the report's model=


def machine() -> dict[str, object]:
    """What ran the benchmark: CPU, cores, memory, Python/torch versions, git commit, date."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform(),
        "python": platform.python_version(), "torch": torch_version, "commit": commit,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def command_line() -> str:
    """The command that reproduces this run, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_s = str(script.relative_to(REPO))
    except ValueError:
        script_s = str(script)
    return "python " + " ".join(shlex.quote(a) for a in [script_s, *sys.argv[1:]])


def machine_lines(m: dict[str, object]) -> str:
    return (f"- Command: `{command_line()}`\n"
            f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM; {m['os']}; "
            f"Python {m['python']}, torch {m['torch']}\n"
            f"- Code: commit {m['commit']}; date {m['date']}\n")


def write_results(name: str, title: str, body_md: str, data: dict, docs_intro: str = "") -> None:
    """benchmarks/results/<name>.md/.json and docs/benchmarks/<name>.md (intro + the same body),
    each written all or nothing (`aligner.atomic`): a run killed while writing leaves the
    previous results in place, never a truncated table."""
    from aligner.atomic import atomic_open

    body_md, docs_intro = portable_paths(body_md), portable_paths(docs_intro)
    md = f"# {title}\n\n{body_md.strip()}\n"
    docs = DOCS / f"{name}.md"
    page = f"# {title}\n\n{docs_intro.strip()}\n\n## Latest results\n\n{body_md.strip()}\n" if docs_intro else md
    for path, text in ((RESULTS / f"{name}.md", md),
                       (RESULTS / f"{name}.json", json.dumps(_clean(data), indent=2) + "\n"),
                       (docs, page)):
        with atomic_open(path) as handle:  # creates the folder, like the mkdirs it replaces
            handle.write(text)
    print(f"wrote {RESULTS / (name + '.md')}, {RESULTS / (name + '.json')}, {docs}")


def portable_paths(text: str) -> str:
    """`text` with this machine's paths as a reader can follow them: the repository's own
    relative to its root (`models/english`), those under the folder `$DATA` names (the docs'
    name for the data folder, when it is set) as `$DATA/...`. Why: the pages are read on other
    machines, where `/work/data/synth` means nothing; the JSON keeps the paths as they were."""
    start = r"(?<![\w./-])"  # a whole path begins there, not inside another one
    end = r"(?=[/`'\"\s),;:]|\.(?!\w)|$)"  # ... and a component ends there
    text = re.sub(start + re.escape(str(REPO)) + "/", "", text)
    text = re.sub(start + re.escape(str(REPO)) + end, ".", text)
    data = os.environ.get("DATA", "").rstrip("/")
    if data and os.path.isabs(data):
        text = re.sub(start + re.escape(data) + end, "$DATA", text)
    return text


def _clean(x):
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, Path):
        return str(x)
    return x


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "-"
        return str(v)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval of a share measured on n items (Wilson's score interval), so that a table of
    a few hundred boundaries shows how far apart two systems must be before the gap means
    anything. It treats the items as independent: boundaries of one recording are not, so the
    real uncertainty is wider."""
    if n <= 0 or share != share:
        return float("nan"), float("nan")
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (share * (1 - share) / n + z * z / (4 * n * n)) ** 0.5
    return max(0.0, centre - half), min(1.0, centre + half)


def set_threads(n: int) -> None:
    """Limit every math library to `n` threads (set before heavy imports where possible)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass


def find_model(explicit: str | None) -> Path | None:
    """The model to benchmark: the explicit path, else the one `ottc-align` itself would use
    ($OTTC_ALIGN_MODEL, else the shipped models/english: `aligner.model.default_model_dir`), or
    None when that folder holds no model."""
    from aligner.model import CONFIG_FILE, default_model_dir

    if explicit:
        return Path(explicit)
    default = default_model_dir()
    return default if (default / CONFIG_FILE).is_file() else None


_PREFERENCE = {"model": 0, "best": 1, "last": 2}


def _pick(candidates: list[Path]) -> Path | None:
    """The newest run's model; within one run its final `model`, else `best`, else `last`."""
    if not candidates:
        return None
    newest_run = max(candidates, key=lambda p: p.stat().st_mtime).parent
    same_run = [c for c in candidates if c.parent == newest_run] or candidates
    return min(same_run, key=lambda p: (_PREFERENCE.get(p.name, 3), -p.stat().st_mtime))


def run_models(root: Path) -> list[Path]:
    """Model directories (config.json + weights) of training runs: <run>/{model,best,last}/ or
    <run>/ itself."""
    found = {p.parent for pattern in ("*/config.json", "*/*/config.json") for p in root.glob(pattern)}
    return sorted(d for d in found if any(d.glob("*.safetensors")))


def model_loss(model: Path) -> str | None:
    """'ottc' or 'ctc' from a model directory's config.json (None if unreadable)."""
    try:
        return json.loads((model / "config.json").read_text()).get("loss", "ottc")
    except (OSError, ValueError):
        return None


def find_ctc_model(explicit: str | None) -> Path | None:
    """The CTC baseline: explicit path, else the from-scratch one under $OTTC_BENCH_RUNS
    (ctc-scratch2/model, `recipes/train/train_english.sh ctc-scratch`), else the older
    OTTC-initialised one (ctc/model), else any CTC run there; None without either."""
    runs = env_path("OTTC_BENCH_RUNS")
    if explicit or runs is None:
        return Path(explicit) if explicit else None
    for run in ("ctc-scratch2", "ctc"):
        for name in ("model", "best", "last"):
            default = runs / run / name
            if (default / "config.json").exists():
                return default
    return _pick([c for c in run_models(runs) if model_loss(c) == "ctc"])
