"""Synthetic training corpus: text-to-speech engines render sentences whose phone and word times
they know exactly; the recipe writes them in Montreal-Forced-Aligner layout with gold TextGrids."""
