"""`python -m aligner.cli ...`: the same as `ottc-align ...` (and what torchrun runs)."""

from aligner.cli import main

main()
