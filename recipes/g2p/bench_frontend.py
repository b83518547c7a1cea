"""Speed of the text front-end: start-up, utterances per second, first-unknown-word latency.

    python recipes/g2p/bench_frontend.py [--n 5000] [--json benchmarks/results/text_frontend.json]

Start-up is timed in a fresh interpreter (import + load_lexicon + one parse). Throughput uses
random utterances of 8-20 tokens drawn from CMUdict's 126k words, mixed with numbers, money,
times, abbreviations and invented words (10 % of utterances have one), so the per-word cache
rarely helps; the cache is not cleared between utterances (as in a real corpus run).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

_STARTUP = (
    "import time; t=time.perf_counter();"
    "from aligner.text.frontend import load_lexicon, parse_transcript;"
    "lex=load_lexicon(); parse_transcript('Dr. Smith paid $5.50 in 1999.', lex);"
    "print(time.perf_counter()-t)"
)
_EXTRAS = ["1999", "$5.50", "4:30", "50%", "Dr.", "St.", "21st", "3.14", "don't", "it's",
           "U.S.", "well-known", "and/or", "2,345", "the '90s", "Mr.", "e.g."]


def startup_seconds(repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True,
                             check=True)
        times.append(float(out.stdout.strip()))
    return min(times)


def make_utterances(words: list[str], n: int, rng: random.Random) -> list[str]:
    utts = []
    for i in range(n):
        toks = [rng.choice(words) for _ in range(rng.randint(8, 20))]
        for _ in range(rng.randint(0, 2)):
            toks.insert(rng.randrange(len(toks) + 1), rng.choice(_EXTRAS))
        if i % 10 == 0:
            toks.insert(rng.randrange(len(toks) + 1),
                        "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou")
                                for _ in range(rng.randint(2, 4))) + "x")
        toks[0] = toks[0].capitalize()
        utts.append(" ".join(toks) + rng.choice([".", "?", "!", ""]))
    return utts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    start = startup_seconds()
    from aligner.text import g2p
    from aligner.text.frontend import load_lexicon, parse_transcript

    lex = load_lexicon()
    t = time.perf_counter()
    parse_transcript("the zorblaxian", lex)
    first_unknown = time.perf_counter() - t
    rng = random.Random(0)
    words = [w for w in lex.cmu if w.isalpha()]
    utts = make_utterances(words, args.n, rng)
    n_tokens = sum(len(u.split()) for u in utts)
    t = time.perf_counter()
    n_unknown = 0
    for u in utts:
        n_unknown += sum(w.unknown for w in parse_transcript(u, lex))
    elapsed = time.perf_counter() - t
    rows = {
        "startup_s (import + load_lexicon + first parse, fresh process, best of 3)": start,
        "first_unknown_word_s (loads G2P model)": first_unknown,
        "utterances": args.n, "tokens": n_tokens, "unknown_words": n_unknown,
        "utterances_per_s": args.n / elapsed, "tokens_per_s": n_tokens / elapsed,
        "g2p": "model" if g2p.MODEL_PATH.exists() else "rules fallback",
    }
    width = max(len(k) for k in rows)
    for k, v in rows.items():
        print(f"{k:<{width}}  {v:.3f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
