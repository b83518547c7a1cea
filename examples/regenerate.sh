#!/usr/bin/env bash
# Regenerate the expected output of the example with the shipped model (models/english).
# Run from anywhere after `pip install -e .`; rewrite examples/allison.TextGrid when the shipped
# model changes, and check the diff by eye (e.g. `ottc-align plot`) before committing it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ottc-align "$here/allison.wav" "$here/allison.txt" --device cpu --format textgrid,json --overwrite \
    -o "$here" "$@"
