"""What every user-facing error message shares: it is one line.

Why a module of its own: reports, the command line and the readers all shorten an exception the
same way (a library's multi-line message must not break a table row or a one-line error), and
a torch-free, dependency-free home lets each of them import it without cost.
"""

from __future__ import annotations


def one_line(err: object) -> str:
    """The first line of an error's message; the exception's type name when it has none."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
