"""Write output files all-or-nothing.

Why: a corpus run skips utterances whose outputs already exist, so an interrupted run must never
leave a half-written file that looks finished. Each file is written to a temporary name in the
same directory (same file system, so `os.replace` is atomic) and renamed into place only once it
is complete; on any error the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class OutputError(OSError):
    """An output file or directory cannot be written; the message names the path."""


def _cannot_write(path: Path, err: OSError) -> OutputError:
    """The one-line error for an output that cannot be written, with the system's reason."""
    return OutputError(f"{path}: cannot write ({err.strerror or err})")


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name one file: the same absolute path, or (when both exist) the same
    file through a link or a case-blind disk. Outputs are checked against the user's inputs
    with this, so that no output ever replaces a recording or a transcript."""
    if os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b)):
        return True
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


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


def check_writable(directory: Path) -> None:
    """Raise OutputError now if outputs could not be written under `directory` later.

    Why: a single-file run should not spend minutes aligning and then fail to write. Nothing
    is created: a missing directory is fine when its nearest existing ancestor is a writable
    directory (it will be created when the outputs are written)."""
    directory = Path(directory)
    probe = directory
    while not probe.exists():
        if probe.is_symlink():  # a dangling link cannot be created through
            raise OutputError(f"{directory}: cannot create output directory "
                              f"({probe} is a broken link)")
        parent = probe.parent
        if parent == probe:
            break
        probe = parent
    if not probe.is_dir():
        raise OutputError(f"{directory}: cannot create output directory "
                          f"({probe} exists and is not a directory)")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "output directory is not writable" if probe == directory else (
            f"cannot create output directory ({probe} is not writable)")
        raise OutputError(f"{directory}: {what}")


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (no race with threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _final_mode(path: Path) -> int:
    """The mode `open(path, "w")` would give: an existing file keeps its mode, a new one gets
    0o666 minus the umask. (mkstemp creates 0o600, which os.replace would otherwise keep,
    making every output readable by its owner only.)"""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


# `.<name>.<pid>.<random>.tmp`: the pid lets a later run tell a dead run's leftovers from a
# live run's files in progress.
_TEMP_RE = re.compile(r"^\..+\.(?P<pid>\d+)\.[a-z0-9_]+\.tmp$")


NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows)
_TEMP_EXTRA = 16  # tempfile's random part (8), ".tmp" and the dots, with room to spare


def _temp_prefix(path: Path) -> str:
    """`.<name>.<pid>.`, the name shortened so the temporary file's whole name stays within
    NAME_MAX bytes: a 240-byte output name is valid, and failed as too long for its temp."""
    pid = f".{os.getpid()}."
    room = NAME_MAX - 1 - len(pid) - _TEMP_EXTRA
    name = path.name.encode("utf-8")[:room].decode("utf-8", "ignore")
    return f".{name}{pid}"


def _free_temp_name(path: Path) -> Path:
    """A name for a temporary file beside `path` that no file has: `_temp_prefix`, 8 random
    hex digits, `.tmp` (what `_TEMP_RE` matches)."""
    while True:
        tmp = path.with_name(f"{_temp_prefix(path)}{secrets.token_hex(4)}.tmp")
        if not os.path.lexists(tmp):
            return tmp


def clean_stale_temps(directory: Path) -> list[Path]:
    """Remove temporary files left under `directory` (recursively) by runs that were killed
    (SIGKILL, power cut: no chance to clean up). Files of processes still alive are kept.
    Returns the removed paths."""
    removed: list[Path] = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for tmp in directory.rglob(".*.tmp"):
        match = _TEMP_RE.match(tmp.name)
        if match is None or not tmp.is_file() or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    except OSError:
        return False
    try:  # a killed process nobody has reaped yet (common in containers) is a zombie: dead
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


LOCK_NAME = ".ottc-align.lock"


def hold_folder(directory: Path) -> Path:
    """Hold `directory` for one corpus run (its lock file, returned for `release_folder`): a
    second run into it while this one lives raises OutputError naming the first's process and
    the lock. Why: two runs into one folder (shards of a dump started side by side) each wrote
    the report, and the second replaced the first's rows with exit 0. The lock appears whole
    (written aside, then linked: a reader never sees it half-written); one whose process is gone
    (killed), or that names this very process (its id reused after a kill, as PID 1 is in every
    container), is taken over."""
    directory = Path(directory)
    path = directory / LOCK_NAME
    me = (os.getpid(), socket.gethostname())
    try:
        fd, aside = tempfile.mkstemp(prefix=f"{LOCK_NAME}.", dir=directory)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{me[0]} {me[1]}\n")
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        for _ in range(3):
            try:
                os.link(aside, path)
                return path
            except FileExistsError:
                pid, host = _lock_holder(path)
                if host not in ("", me[1]):
                    raise OutputError(f"{directory}: a run on {host} (process {pid}) holds this "
                                      f"folder; if none is going on, delete {path}") from None
                if pid not in (0, me[0]) and _alive(pid):
                    raise OutputError(f"{directory}: another ottc-align run (process {pid}) is "
                                      "writing to this folder; wait for it to end, or give this "
                                      f"run its own folder (-o) ({path})") from None
                path.unlink(missing_ok=True)  # a killed run's
            except OSError as err:
                raise _cannot_write(path, err) from None
        raise OutputError(f"{directory}: other ottc-align runs are starting in this folder; "
                          "give this run its own folder (-o)")
    finally:
        Path(aside).unlink(missing_ok=True)


def _lock_holder(path: Path) -> tuple[int, str]:
    """(process id, host) a lock file names; (0, "") when it cannot be read."""
    try:
        pid, host = path.read_text().split()[:2]
        return int(pid), host
    except (OSError, ValueError):
        return 0, ""


def release_folder(lock: Path) -> None:
    """Remove `hold_folder`'s lock file, if it is still this process's."""
    if _lock_holder(lock) == (os.getpid(), socket.gethostname()):
        lock.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed to `path`.

    For libraries that insist on writing to a file name themselves (praatio). A device, a pipe
    or a stream of this process (`/dev/null`, a FIFO, `/dev/stdout` whether it is a terminal,
    a pipe or a file the shell redirected it to) is written into, and a symbolic link to a file
    written through (its target gets the file; the link stays): the rename replaced them all
    with a plain file, /dev/null included when run as root, and a log behind `>> run.log` lost
    what it held."""
    path = Path(path)
    if _written_as_a_stream(path):
        with _written_in_place(path) as tmp:
            yield tmp
        return
    if path.is_symlink():
        path = _link_target(path)
    ensure_dir(path.parent)
    tmp = _free_temp_name(path)  # named before it exists: an interrupt at any moment after it
    try:  # is created finds it in `finally` (mkstemp's name came back too late for that)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as err:
            raise _cannot_write(path, err) from None
        yield tmp
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except OSError as err:
        raise _cannot_write(path, err) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


_OWN_STREAMS = ("/proc/self/fd/", "/dev/fd/", f"/proc/{os.getpid()}/fd/")


def _written_as_a_stream(path: Path) -> bool:
    """Whether `path` is a device, a pipe or a socket, or a link to a stream this process has
    open (`/dev/stdout` -> /proc/self/fd/1), which must be written into, not replaced."""
    try:
        mode = os.stat(path).st_mode  # through links: a pipe behind /dev/stdout is a FIFO
    except OSError:
        return False
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return True
    link = str(path)
    for _ in range(40):  # the chain of links, for a file the shell redirected stdout to
        if not os.path.islink(link):
            return False
        link = os.path.join(os.path.dirname(link), os.readlink(link))  # an absolute target as is
        if link.startswith(_OWN_STREAMS):
            return True
    return False


def _link_target(path: Path) -> Path:
    """The file a symbolic link names, to be written through as `open(path, "w")` would; an
    OutputError for a loop, or a target whose folder does not exist (a link into an unmounted
    disk would otherwise write onto another)."""
    try:
        target = Path(os.path.realpath(path, strict=False))
        if path.exists() or target.parent.is_dir():
            if target.is_symlink():  # realpath stops at a loop
                raise OSError(40, "a loop of symbolic links")
            return target
    except OSError as err:
        raise _cannot_write(path, err) from None
    raise OutputError(f"{path}: cannot write (it links to {target}, whose folder does not exist)")


@contextlib.contextmanager
def _written_in_place(path: Path) -> Iterator[Path]:
    """A temporary file whose content is copied into the device, pipe or stream `path` when the
    block succeeds (nothing is written to it when the block fails); appended, so a log that the
    shell redirected to (`>> run.log`) keeps what it held."""
    fd, tmp_name = tempfile.mkstemp(suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as source, open(path, "ab") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
    except OSError as err:
        raise _cannot_write(path, err) from None
    finally:
        tmp.unlink(missing_ok=True)


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
