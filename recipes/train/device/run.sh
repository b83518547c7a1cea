#!/usr/bin/env bash
# Train the shipped stage (english_stage.sh, as `train_english.sh english` does on a CPU) on a
# lent GPU machine, in one call of the device tool, from what pack.py put in .device/:
#
#   python recipes/train/device/pack.py pack --data DATA        (here, once: about 50 MiB)
#   device run, carry [".device"], command "bash recipes/train/device/run.sh", timeout_s 600
#
# Back in $OUT: last/ (the last epoch, which the recipe exports), train.log and checkpoint.pt
# (the history recipes/train/export.py reads): put it in $DATA/runs/english and run
# `train_english.sh english` here, which exports it and trains the short second stage on the
# CPU (12 min; it needs the exported model and the shared data's prior). MINUTES (default 6)
# bounds the training steps: on a slower machine the schedule shrinks to fit and still ends
# with its learning rate decayed (train --max-minutes), and the log says so. DEVICE=cpu runs the
# same steps on a CPU.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PACKED=.device
OUT="${OUT:-/tmp/ottc-device-out}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$PACKED"/wheels/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
python3 recipes/train/device/pack.py unpack "$PACKED" /tmp/feats
source recipes/train/english_stage.sh
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -m aligner.cli train /tmp/feats/train.pt /tmp/feats/allison.pt --dev "$PACKED/dev" \
    "${ENGLISH_STAGE[@]}" --device "${DEVICE:-cuda}" --max-minutes "${MINUTES:-6}" \
    -o /tmp/model --work-dir /tmp/run 2>&1 | tail -n 40
cp -r /tmp/run/last /tmp/run/train.log /tmp/run/checkpoint.pt "$OUT/"
