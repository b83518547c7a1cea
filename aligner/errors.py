"""What every user-facing error message shares: it is one line.

Why a module of its own: reports, the command line and the readers all shorten an exception the
same way (a library's multi-line message must not break a table row or a one-line error), and
a torch-free, dependency-free home lets each of them import it without cost.
"""

from __future__ import annotations


def one_line(err: object) -> str:
    """The first line of an error's message; the exception's type name when it has none. A
    first line that ends in a colon announces what follows (praatio's "Two intervals in the
    same tier overlap in time:", then the two), so the next line is kept after it."""
    text = str(err).strip()
    if not text:
        return type(err).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def naming(source: object, err: object) -> str:
    """`one_line(err)` opening with `source` (a file's path), unless it names it already: a
    transcript's words are read without their file, and the error must say which it was."""
    message = one_line(err)
    return message if str(source) in message else f"{source}: {message}"
