"""`-o` in single-file mode: a known suffix writes exactly that file, anything else is a usage error
or a directory, never a silently created folder or a second file. A missing output folder (also
a corpus run's) is created; one that cannot be written is a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligner.cli import app
from aligner.cli.align import single_output_base
from aligner.formats import read_json, read_textgrid
from cli_helpers import assert_one_line_error, cli, write_pair
from conftest import speechlike


def run(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_usage_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_suffixes_name_the_file_and_its_format(tmp_path: Path):
    audio = tmp_path / "talk.wav"
    for name, fmt in (("out.textgrid", "textgrid"), ("Out.TEXTGRID", "textgrid"), ("x.JSON", "json"),
                      ("x.csv", "csv"), ("x.ctm", "ctm"), ("x.srt", "srt"), ("x.vtt", "vtt")):
        base, fmts, file = single_output_base(audio, tmp_path / name, ["textgrid"])
        assert (fmts, file) == ([fmt], tmp_path / name)
    assert single_output_base(audio, tmp_path / "x.csv", ["csv"])[2] == tmp_path / "x.csv"


def test_directories_and_the_default(tmp_path: Path):
    audio = tmp_path / "in" / "talk.wav"
    assert single_output_base(audio, None, ["json"]) == (tmp_path / "in" / "talk", ["json"], None)
    out = tmp_path / "results"
    assert single_output_base(audio, out, ["textgrid", "csv"]) == (out / "talk", ["textgrid", "csv"], None)
    (tmp_path / "run.v2").mkdir()  # an existing directory may have a dot in its name
    assert single_output_base(audio, tmp_path / "run.v2", ["csv"])[2] is None


@pytest.mark.parametrize("name,fmts,needles", [
    ("result.txt", ["textgrid"], ["'.txt'", ".TextGrid, .ctm, .json, .csv, .srt, .vtt"]),
    ("x.tsv", ["csv"], ["'.tsv'", "directory"]),
    ("x.csv", ["json"], ["csv file name", "--format asks for json"]),
    ("x.json", ["json", "csv"], ["give -o a directory"]),
])
def test_bad_suffixes_are_usage_errors(tmp_path: Path, name, fmts, needles):
    with pytest.raises(ValueError) as info:
        single_output_base(tmp_path / "a.wav", tmp_path / name, fmts)
    for needle in needles:
        assert needle in str(info.value)


def test_cli_writes_exactly_the_named_file(example_pair, tiny_model_dir, tmp_path: Path):
    wav, txt = example_pair
    out = tmp_path / "out"
    result = run(wav, txt, "--model", tiny_model_dir, "-o", out / "res.textgrid", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["res.textgrid"]
    assert read_textgrid(out / "res.textgrid")[0].words
    result = run(wav, txt, "--model", tiny_model_dir, "-o", out / "w.CTM", "-f", "ctm", "-q")
    assert result.exit_code == 0, result.output
    assert {"w.CTM", "w.phones.CTM"} <= {p.name for p in out.iterdir()}
    assert (out / "w.CTM").read_text().startswith("allison 1 ")


def test_cli_rejects_unknown_and_conflicting_suffixes(example_pair, tiny_model_dir, tmp_path: Path):
    wav, txt = example_pair
    _one_line_usage_error(run(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "result.txt"),
                          "result.txt", ".TextGrid, .ctm, .json")
    _one_line_usage_error(run(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "x.csv",
                              "-f", "json"), "x.csv", "json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["allison.txt", "allison.wav"]
    result = run(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "j.json", "-f", "json", "-q")
    assert result.exit_code == 0 and read_json(tmp_path / "j.json")[0].words


def test_a_corpus_output_named_like_a_file_is_a_usage_error(tmp_path, tiny_model_dir):
    """`ottc-align corpus/ -o x.TextGrid` made a folder called x.TextGrid (exit 0); a corpus is
    written one file per recording, so a file name there is a mistake to report."""
    write_pair(tmp_path / "c" / "s", "u", speechlike(1.0))
    for name in ("x.TextGrid", "result.txt", "out.wav"):  # `result.txt` made a folder too
        result = run(tmp_path / "c", "--model", tiny_model_dir, "-o", tmp_path / name)
        _one_line_usage_error(result, name, "folder")
        assert not (tmp_path / name).exists()
    result = run(tmp_path / "c", "--model", tiny_model_dir, "-o", tmp_path / "aligned.v2", "-q")
    assert result.exit_code == 0 and (tmp_path / "aligned.v2" / "s" / "u.TextGrid").is_file()


def test_standard_output_is_not_an_output(example_pair, tiny_model_dir, tmp_path: Path,
                                          monkeypatch):
    """`-o - -f json` made a folder named "-" in the working directory."""
    wav, txt = example_pair
    monkeypatch.chdir(tmp_path)
    _one_line_usage_error(run(wav, txt, "--model", tiny_model_dir, "-o", "-", "-f", "json"),
                          "-o -", "standard output")
    assert not (tmp_path / "-").exists()


# ----------------------------------------------------------------------------- output folders

def test_missing_output_directory_is_created(tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    result = cli(wav, txt, "--model", tiny_model_dir, "-o", tmp_path / "a" / "b" / "c", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "b" / "c" / "allison.TextGrid").exists()
    root = tmp_path / "corpus"
    write_pair(root, "u1", speechlike(1.0))
    result = cli(root, "-o", tmp_path / "x" / "y", "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0 and (tmp_path / "x" / "y" / "u1.TextGrid").exists()


def _deny_writes(monkeypatch, folder: Path) -> None:
    """Tests run as root, where chmod does not stop writes: make the folder read-only the way
    the aligner checks it (os.access), which is what a non-root user would see."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path).resolve() == folder.resolve() and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_read_only_output_directory(tmp_path, tiny_model_dir, example_pair, monkeypatch):
    wav, txt = example_pair
    ro = tmp_path / "readonly"
    ro.mkdir()
    _deny_writes(monkeypatch, ro)
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "-o", ro), 2,
                          "readonly", "not writable")
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "-o", ro / "sub" / "x.json"),
                          2, "readonly", "not writable")
    root = tmp_path / "corpus"
    write_pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", ro, "--model", tiny_model_dir), 2, "readonly",
                          "not writable")
    assert list(ro.iterdir()) == []


def test_output_path_blocked_by_a_file(tmp_path, tiny_model_dir, example_pair):
    wav, txt = example_pair
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert_one_line_error(cli(wav, txt, "--model", tiny_model_dir, "-o", blocker / "x.TextGrid"),
                          2, "blocker", "not a directory")
    root = tmp_path / "corpus"
    write_pair(root, "u1", speechlike(1.0))
    assert_one_line_error(cli(root, "-o", blocker, "--model", tiny_model_dir), 2, "blocker",
                          "not a directory")


def test_unwritable_system_location_in_a_real_subprocess(tmp_path, tiny_model_dir, example_pair):
    """/proc refuses new files even to root: the real entry point says so in one line."""
    wav, txt = example_pair
    target = Path("/proc/self/ottc-out")
    done = subprocess.run([sys.executable, "-m", "aligner.cli", str(wav), str(txt), "--model",
                           str(tiny_model_dir), "-o", str(target / "x.TextGrid")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "ottc-out" in lines[0], lines
