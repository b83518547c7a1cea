"""ottc-align: a speech forced aligner built on Optimal Temporal Transport Classification."""

__version__ = "0.1.0"
