"""Reproducible data recipes (not part of the installed package): synthetic and real corpora."""
