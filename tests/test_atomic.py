"""aligner/atomic.py: an output file is complete or absent, gets the normal file mode, and a
crashed run's temporary files are cleaned up while a running one's are kept."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from cli_helpers import cli, outputs


def test_outputs_get_the_normal_file_mode(tmp_path, tiny_model_dir, example_pair):
    """mkstemp makes 0600 files; outputs must get 0666 minus the umask like any other file."""
    wav, txt = example_pair
    old = os.umask(0o022)
    try:
        result = cli(wav, txt, "--model", tiny_model_dir, "-f", "textgrid,json,csv,ctm", "-q")
        assert result.exit_code == 0, result.output
        for path in outputs(wav.parent):
            assert (path.stat().st_mode & 0o777) == 0o644, path
        os.umask(0o002)
        from aligner.atomic import atomic_open

        with atomic_open(tmp_path / "g.txt") as handle:
            handle.write("x")
        assert (tmp_path / "g.txt").stat().st_mode & 0o777 == 0o664
        (tmp_path / "g.txt").chmod(0o600)  # an existing file keeps its mode, as with open()
        with atomic_open(tmp_path / "g.txt") as handle:
            handle.write("y")
        assert (tmp_path / "g.txt").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_stale_temporary_files_are_removed_but_live_ones_kept(tmp_path):
    from aligner.atomic import clean_stale_temps

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "a").mkdir()
    stale = tmp_path / "a" / f".u1.TextGrid.{dead}.abc123_x.tmp"
    live = tmp_path / "a" / f".u2.TextGrid.{os.getpid()}.zzz999_y.tmp"
    other = tmp_path / "a" / ".keep.tmp"  # not ours: never touched
    for p in (stale, live, other):
        p.write_text("partial")
    assert clean_stale_temps(tmp_path) == [stale]
    assert live.exists() and other.exists() and not stale.exists()



def test_an_output_name_near_the_limit_is_written(tmp_path):
    """A 245-byte output name is valid, but its temporary file `.<name>.<pid>.<random>.tmp` went
    over 255 bytes and the write failed as "File name too long"."""
    from aligner.atomic import atomic_open

    for name in ("e" * 240 + ".json", "é" * 120 + ".json"):
        with atomic_open(tmp_path / name) as fh:
            fh.write("{}")
        assert (tmp_path / name).read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_link_is_written_through_and_a_pipe_written_into(tmp_path):
    """Run as root, `--report /dev/full` or `--json /dev/null` replaced the device with a plain
    file (the temporary file was renamed over it), and `-o link.json` replaced the link with a
    file, leaving its target as it was. A link's target gets the file; a pipe (what /dev/stdout
    is, here a FIFO) and a device get it written into."""
    import threading

    from aligner.atomic import atomic_open

    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with atomic_open(link) as handle:
        handle.write("new")
    assert link.is_symlink() and target.read_text() == "new"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_open(fifo) as handle:
        handle.write("through the pipe")
    reader.join(10)
    assert received == ["through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_link_to_this_process_s_stdout_is_written_into(tmp_path):
    """`--report /dev/stdout >> run.log`: the link (/dev/stdout -> /proc/self/fd/1) was followed
    to run.log and the file replaced, losing what the log held; piped (`| cat`) it failed on
    the pseudo-name `pipe:[N]`. The stream is written into, after what it holds."""
    link = tmp_path / "stdout_link"
    link.symlink_to("/proc/self/fd/1")
    code = ("import sys; from aligner.atomic import atomic_open\n"
            f"with atomic_open({str(link)!r}) as h: h.write('report\\n')\n")
    log = tmp_path / "run.log"
    log.write_text("yesterday\n")
    root = Path(__file__).resolve().parent.parent
    with open(log, "a") as handle:
        subprocess.run([sys.executable, "-c", code], stdout=handle, check=True, cwd=root)
    assert log.read_text() == "yesterday\nreport\n" and link.is_symlink()
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=root)
    assert piped.stdout == b"report\n"


def test_a_dangling_link_or_a_loop_is_refused(tmp_path):
    """A link into a folder that does not exist (an unmounted disk) created that folder and
    wrote there; a loop of links was replaced by a plain file."""
    import pytest

    from aligner.atomic import OutputError, atomic_open

    dangling = tmp_path / "out.json"
    dangling.symlink_to(tmp_path / "mnt" / "usb" / "out.json")
    with pytest.raises(OutputError, match="whose folder does not exist"):
        with atomic_open(dangling) as handle:
            handle.write("x")
    assert not (tmp_path / "mnt").exists()
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OutputError, match="loop"):
        with atomic_open(tmp_path / "a") as handle:
            handle.write("x")
    assert (tmp_path / "a").is_symlink()
    ok = tmp_path / "ok.json"  # a dangling link whose folder exists: the target is created
    ok.symlink_to(tmp_path / "real.json")
    with atomic_open(ok) as handle:
        handle.write("x")
    assert (tmp_path / "real.json").read_text() == "x"
