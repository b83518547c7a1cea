"""aligner/atomic.py: an output file is complete or absent, gets the normal file mode, and a
crashed run's temporary files are cleaned up while a running one's are kept."""

from __future__ import annotations

import os
import subprocess
import sys

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
