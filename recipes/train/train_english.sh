#!/usr/bin/env bash
# Rebuild the shipped English model (models/english) exactly as it was trained, the two-stage
# recipe from scratch, and the baselines. Every stage is one `ottc-align train` call initialised
# from the previous one (--init); recipes/train/README.md says what each group of stages adds
# and how the runs compare on real speech. On a GPU, one run of about 20 epochs is the simpler
# equivalent.
#
# Inputs (built by the other recipes, never committed):
#   $DATA/synth/{train,dev,test}  synthetic corpus with gold TextGrids (recipes/synth)
#   $DATA/real/allison            real telephone speech, transcripts only (recipes/real)
# Outputs: $DATA/runs/<stage>/ (train.log, checkpoint.pt, best/, last/, model/). Re-running a
# stage resumes from its last epoch checkpoint (--resume).
#
# Usage: DATA=DIR recipes/train/train_english.sh [all|ottc|clean|ctc|ctc-scratch|ceiling|export]
# (DATA=DIR THREADS=1 recipes/train/train_english.sh ctc-scratch runs beside another job)
set -euo pipefail
WHAT="${1:-all}"
DATA="${DATA:?set DATA to the folder that holds synth/ and real/ (Inputs above)}"
THREADS="${THREADS:-2}"
COMMON=("$DATA/synth/train" "$DATA/real/allison" --dev "$DATA/synth/dev" --dev-limit 120
        --cache-dir "$DATA/features" --max-frames 8000 --warmup 0.02 --threads "$THREADS"
        --log-every 50 --resume)

stage() {  # stage NAME ARGS...
    local name="$1"; shift
    mkdir -p "$DATA/runs/$name"
    ottc-align train "${COMMON[@]}" -o "$DATA/runs/$name/model" --work-dir "$DATA/runs/$name" "$@"
}

if [[ "$WHAT" == all || "$WHAT" == ottc ]]; then
    stage ottc-stage1 --loss ottc --epochs 6 --max-steps 1987 --seed 0
    stage ottc-stage2 --loss ottc --epochs 5 --seed 1 --init "$DATA/runs/ottc-stage1/last"
    stage ottc        --loss ottc --epochs 5 --lr 1e-3 --seed 2 --init "$DATA/runs/ottc-stage2/model"
    stage exp-sil01   --loss ottc --epochs 3 --lr 2e-3 --seed 6 --sil-mass 0.1 --init "$DATA/runs/ottc/model"
    stage exp-sil02   --loss ottc --epochs 5 --lr 1e-3 --seed 7 --sil-mass 0.2 --init "$DATA/runs/exp-sil01/model"
    stage exp-sil03   --loss ottc --epochs 5 --lr 1e-3 --seed 8 --init "$DATA/runs/exp-sil02/model"
    # Session 3: one thread, beside the CTC baseline's run.
    stage exp-sil04   --loss ottc --epochs 8 --lr 1.5e-3 --seed 10 --init "$DATA/runs/exp-sil03/model"
    # Session 4: 2 threads.
    stage exp-states3 --loss ottc --epochs 4 --lr 1e-3 --seed 12 --states 3 --no-short-first \
        --init "$DATA/runs/exp-sil04/model"
    stage exp-states3b --loss ottc --epochs 6 --lr 7e-4 --seed 13 --no-short-first \
        --init "$DATA/runs/exp-states3/model"
    # End of session 4 (ran on one thread).
    stage exp-states3c --loss ottc --epochs 8 --lr 5e-4 --seed 14 --no-short-first \
        --init "$DATA/runs/exp-states3b/model"
    # Session 5 (ran on one thread).
    stage exp-states3d --loss ottc --epochs 8 --lr 4e-4 --seed 15 --no-short-first \
        --init "$DATA/runs/exp-states3c/model"
    stage exp-vaux3 --loss ottc --epochs 3 --lr 3e-4 --seed 17 --no-short-first --viterbi-aux 0.5 \
        --init "$DATA/runs/exp-states3d/model"
    # Session 7 (one thread each, two runs side by side): the synthetic corpus's gold phone
    # times as a frame cross-entropy next to the OTTC loss (--gold-aux; the real prompts have
    # no gold and train on their transcripts alone), chosen on the hand-labelled real
    # recordings of gold-dev (benchmarks/real_speech.py; recipes/train/README.md).
    stage exp-gold1 --loss ottc --epochs 1 --lr 5e-4 --seed 31 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 1.0 --threads 1 --dev-limit 40 --init "$DATA/runs/exp-vaux3/model"
    stage exp-gold3 --loss ottc --epochs 2 --lr 3e-4 --seed 32 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 3.0 --threads 1 --dev-limit 40 --init "$DATA/runs/exp-gold1/model"
    # Session 8 (one thread): three more epochs with vocal-tract-length perturbation.
    stage exp-gold3v --loss ottc --epochs 3 --lr 3e-4 --seed 41 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 3.0 --vtlp --threads 1 --dev-limit 40 --init "$DATA/runs/exp-gold3/model"
    # Session 9 (one thread): 3 + 6 + 3 more epochs of the same; the last epoch of the last is
    # shipped (its `last/`: the 40-utterance dev sample's `best` is noise at this point).
    stage exp-gold3v-b --loss ottc --epochs 3 --lr 3e-4 --seed 61 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 3.0 --vtlp --threads 1 --dev-limit 40 --init "$DATA/runs/exp-gold3v/model"
    stage exp-gold3v-c --loss ottc --epochs 6 --lr 3e-4 --seed 71 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 3.0 --vtlp --threads 1 --dev-limit 40 --init "$DATA/runs/exp-gold3v-b/model"
    stage exp-gold3v-d --loss ottc --epochs 3 --lr 3e-4 --seed 81 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 3.0 --vtlp --threads 1 --dev-limit 40 --init "$DATA/runs/exp-gold3v-c/last"
fi
if [[ "$WHAT" == clean ]]; then
    # The two-stage recipe from scratch (session 8, one thread, 62 + 15 min): a larger network
    # taught OTTC and the synthetic gold times from the start, then hard EM. Ties the shipped
    # model on real speech, not shipped yet (recipes/train/README.md says why).
    stage clean1 --loss ottc --epochs 8 --seed 51 --states 3 --sil-mass 0.2 --gold-aux 3.0 \
        --arch '{"dim": 160, "blocks": 8}' --threads 1 --dev-limit 40
    stage clean2 --loss ottc --epochs 3 --lr 3e-4 --seed 52 --no-short-first --viterbi-aux 0.5 \
        --gold-aux 3.0 --threads 1 --dev-limit 40 --init "$DATA/runs/clean1/model"
fi
if [[ "$WHAT" == all || "$WHAT" == ceiling ]]; then
    # Diagnostic only, never shipped: stage 7's network fine-tuned on the gold phone times, to
    # see how far this network gets when the alignment is given (the card reports it).
    (cd "$(dirname "$0")/../.." && python recipes/train/supervised_ceiling.py \
        --init "$DATA/runs/exp-sil04/model" --corpus "$DATA/synth/train" --cache-dir "$DATA/features" \
        --out "$DATA/runs/diag-supervised" --epochs 2 --lr 5e-4)
fi
if [[ "$WHAT" == ctc ]]; then
    # The first CTC comparison model (session 1): the OTTC stage-2 network fine-tuned with CTC
    # for one epoch. Superseded by ctc-scratch; kept to reproduce the older figures.
    stage ctc --loss ctc --epochs 1 --lr 1e-3 --seed 3 --init "$DATA/runs/ottc-stage2/model"
fi
if [[ "$WHAT" == all || "$WHAT" == ctc-scratch ]]; then
    # The fair CTC baseline: same network, data and schedule as OTTC stages 1-2 (8 epochs from
    # scratch: stage 1 stopped after 3 of 6 epochs, stage 2 five more), only the loss differs.
    # The card compares it with runs/ottc-stage2 (the OTTC model at the same point).
    stage ctc-scratch1 --loss ctc --epochs 6 --max-steps 1987 --seed 0
    stage ctc-scratch2 --loss ctc --epochs 5 --seed 1 --init "$DATA/runs/ctc-scratch1/last"
fi
if [[ "$WHAT" == all || "$WHAT" == ottc || "$WHAT" == export ]]; then
    cd "$(dirname "$0")/../.."  # the repository root: the card names models/english as is
    python recipes/train/export.py --run "$DATA/runs/exp-gold3v-d" --which last \
        --previous "$DATA/runs/ottc-stage1" --previous "$DATA/runs/ottc-stage2" \
        --previous "$DATA/runs/ottc" --previous "$DATA/runs/exp-sil01" --previous "$DATA/runs/exp-sil02" \
        --previous "$DATA/runs/exp-sil03" --previous "$DATA/runs/exp-sil04" \
        --previous "$DATA/runs/exp-states3" --previous "$DATA/runs/exp-states3b" \
        --previous "$DATA/runs/exp-states3c" --previous "$DATA/runs/exp-states3d" \
        --previous "$DATA/runs/exp-vaux3" --previous "$DATA/runs/exp-gold1" --previous "$DATA/runs/exp-gold3" \
        --previous "$DATA/runs/exp-gold3v" --previous "$DATA/runs/exp-gold3v-b" --previous "$DATA/runs/exp-gold3v-c" --out models/english \
        --dev "$DATA/synth/dev" --test "$DATA/synth/test" \
        $( [[ -d "$DATA/runs/diag-supervised/epoch2" ]] && echo --ceiling "$DATA/runs/diag-supervised/epoch2" ) \
        $( [[ -d "$DATA/runs/ctc-scratch2" ]] && echo --ctc-run "$DATA/runs/ctc-scratch2" \
           --ctc-previous "$DATA/runs/ctc-scratch1" --ottc-same-budget "$DATA/runs/ottc-stage2" )
fi
