# The shipped stage's options (sourced by train_english.sh and device/run.sh, so that a run on a
# lent GPU machine trains exactly what the CPU recipe trains): OTTC with three ordered states per
# phone, the synthetic corpus's gold phone times as a frame cross-entropy at weight 40 from the
# first step (--gold-aux; the real prompts have no gold and train on their transcripts alone),
# vocal-tract-length perturbation, quiet of random length and level added at half the
# utterances' edges (--edge-pad), dropout 0.4 (the network's default is 0.1), each recording
# normalised by its frames within 25 dB of its loud ones (norm_top_db), 12 epochs; its last
# epoch is exported.
ENGLISH_STAGE=(--loss ottc --epochs 12 --seed 104 --states 3 --sil-mass 0.2 --gold-aux 40.0 --vtlp
               --edge-pad --arch '{"dropout": 0.4, "norm_top_db": 25}'
               --dev-limit 40 --max-frames 8000 --warmup 0.02 --log-every 50)
