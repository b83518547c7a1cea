"""Write output files all-or-nothing.

Why: a corpus run skips utterances whose outputs already exist, so an interrupted run must never
leave a half-written file that looks finished. Each file is written to a temporary name in the
same directory (same file system, so `os.replace` is atomic) and renamed into place only once it
is complete; on any error the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class OutputError(OSError):
    """An output file or directory cannot be written; the message names the path."""


def ensure_dir(directory: Path) -> None:
    """Create `directory` (and parents) or raise OutputError with a one-line reason."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{directory}: exists and is not a directory") from None
    except PermissionError:
        raise OutputError(f"{directory}: cannot create output directory (permission denied)") from None
    except OSError as err:
        raise OutputError(f"{directory}: cannot create output directory ({err.strerror})") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{directory}: output directory is not writable")


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed to `path`.

    For libraries that insist on writing to a file name themselves (praatio)."""
    path = Path(path)
    ensure_dir(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OutputError(f"{path}: cannot write ({err.strerror or err})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"{path}: cannot write ({err.strerror or err})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Like `open(path, mode)` for writing, but the file appears only when the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
