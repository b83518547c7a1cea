#!/usr/bin/env bash
# Rebuild the shipped English model (models/english) and the CTC baseline of the same size.
#
# Inputs (built by the other recipes, never committed):
#   /work/data/synth/{train,dev,test}  synthetic corpus with gold TextGrids (recipes/synth)
#   /work/data/real/allison            real telephone speech, transcripts only (recipes/real)
# Outputs: /work/data/runs/{ottc,ctc}/ (train.log, checkpoint.pt, best/, last/, model/).
# Re-running the same command resumes from the last epoch checkpoint (--resume).
#
# Usage: recipes/train/train_english.sh [ottc|ctc] [EPOCHS]
set -euo pipefail
LOSS="${1:-ottc}"
EPOCHS="${2:-16}"
DATA="${DATA:-/work/data}"
RUN="$DATA/runs/$LOSS"
THREADS="${THREADS:-2}"
mkdir -p "$RUN"
exec ottc-align train "$DATA/synth/train" "$DATA/real/allison" \
    --dev "$DATA/synth/dev" --dev-limit 120 \
    -o "$RUN/model" --work-dir "$RUN" --cache-dir "$DATA/features" \
    --loss "$LOSS" --epochs "$EPOCHS" --threads "$THREADS" --seed 0 --resume
