"""`-o` in single-file mode: a known suffix writes exactly that file, anything else is a usage error
or a directory, never a silently created folder or a second file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligner.cli import app, single_output_base
from aligner.formats import read_json, read_textgrid


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
