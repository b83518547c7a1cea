"""ottc-align: a speech forced aligner built on Optimal Temporal Transport Classification.

    from aligner import Aligner
    aligner = Aligner.load()                      # shipped English model, GPU if available
    result = aligner.align("a.wav", "a.txt")      # paths, or samples + sample_rate, or text
    result.words, result.phones                   # Interval(start, end, label, confidence)

`Aligner` is imported lazily so that `import aligner` (and the command line's start-up) does not
pay for torch until something is aligned.
"""

__version__ = "0.1.0"

__all__ = ["Aligner", "Alignment", "Interval", "__version__"]


def __getattr__(name: str):
    if name == "Aligner":
        from aligner.align import Aligner

        return Aligner
    if name in ("Alignment", "Interval"):
        from aligner import alignment

        return getattr(alignment, name)
    raise AttributeError(f"module 'aligner' has no attribute {name!r}")
