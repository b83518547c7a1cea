"""--channel: one channel of a multi-channel recording aligned instead of the mix (a patient on
one microphone, the clinician on the other), in a single-file run and a corpus run."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from aligner import runner
from aligner.audio import AudioError, load_audio
from cli_helpers import cli
from conftest import speechlike


def _stereo(write_wav, path, seconds=1.5):
    left, right = speechlike(seconds, seed=1), speechlike(seconds, seed=2)
    write_wav(path, np.stack([left, right], axis=1))
    return left, right


def test_load_audio_takes_the_channel_asked_for(tmp_path, write_wav):
    left, right = _stereo(write_wav, tmp_path / "s.wav")
    assert np.allclose(load_audio(tmp_path / "s.wav", 16000, channel=2), right, atol=1e-4)
    assert np.allclose(load_audio(tmp_path / "s.wav", 16000, channel=1), left, atol=1e-4)
    mix = load_audio(tmp_path / "s.wav", 16000)
    assert not np.allclose(mix, left, atol=1e-2) and not np.allclose(mix, right, atol=1e-2)
    with pytest.raises(AudioError, match=r"s.wav: holds 2 channel\(s\): there is no channel 3"):
        load_audio(tmp_path / "s.wav", 16000, channel=3)


def test_a_channel_aligns_as_that_channel_alone_would(tmp_path, write_wav, tiny_model_dir):
    """The right channel of a stereo file gives the alignment of a mono file of it, and its
    JSON says which channel it is (the mix's says none); a channel the file lacks is a usage
    error naming the file."""
    _, right = _stereo(write_wav, tmp_path / "s.wav")
    write_wav(tmp_path / "r.wav", right)
    for name in ("s", "r"):
        (tmp_path / f"{name}.lab").write_text("hello there", encoding="utf-8")
    result = cli(tmp_path / "s.wav", "-o", tmp_path / "s.json", "--model", tiny_model_dir,
                 "--channel", "2")
    assert result.exit_code == 0, result.output
    result = cli(tmp_path / "r.wav", "-o", tmp_path / "r.json", "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    written = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("s", "r")]
    assert written[0]["tiers"] == written[1]["tiers"]
    assert written[0]["channel"] == 2 and "channel" not in written[1]
    # the CTM's channel field too: the two sides of a call stay apart when joined for sclite
    for name, args in (("s", ("--channel", "2")), ("r", ())):
        result = cli(tmp_path / f"{name}.wav", "-o", tmp_path / f"{name}.ctm", "--model",
                     tiny_model_dir, *args)
        assert result.exit_code == 0, result.output
    for name, channel in (("s", "2"), ("r", "1")):
        for ctm in (f"{name}.ctm", f"{name}.phones.ctm"):
            lines = (tmp_path / ctm).read_text().splitlines()
            assert lines and {line.split()[1] for line in lines} == {channel}, ctm
    result = cli(tmp_path / "s.wav", "-o", tmp_path / "x.json", "--model", tiny_model_dir,
                 "--channel", "3")
    assert result.exit_code == 2 and "no channel 3" in result.stderr, result.output
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_corpus_run_aligns_the_channel_and_fails_files_without_it(
        tmp_path, write_wav, tiny_model_dir, jobs):
    """A mono recording in a corpus aligned with --channel 2 fails by name, the others go on;
    the channel is a setting of the run, so a run without it aligns the stereo one again."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    _stereo(write_wav, root / "spk" / "s.wav")
    write_wav(root / "spk" / "m.wav", speechlike(1.5, seed=3))
    for name in ("s", "m"):
        (root / "spk" / f"{name}.lab").write_text("hello there", encoding="utf-8")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--channel", "2", "-j", jobs)
    assert result.exit_code == 1, result.output
    assert "audio aligned (s)" in result.stdout  # the stereo recording's 1.5 s, not the mono's too
    assert re.search(r"\b1\.5\s", result.stdout) and not re.search(r"\b3\.0\s", result.stdout)
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["spk/s"]["status"] in ("aligned", "flagged") and "channel=2" in rows["spk/s"]["settings"]
    assert rows["spk/m"]["status"] == "failed" and "no channel 2" in rows["spk/m"]["reason"]
    result = cli(root, "-o", out, "--model", tiny_model_dir)
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["spk/s"]["status"] in ("aligned", "flagged")  # not skipped: aligned again
    assert "channel" not in rows["spk/s"]["settings"]


def test_plot_draws_the_channel_asked_for(tmp_path, write_wav):
    pytest.importorskip("matplotlib")
    _stereo(write_wav, tmp_path / "s.wav")
    (tmp_path / "s.csv").write_text("Begin,End,Label,Type\n0.1,0.5,hello,words\n0.1,0.5,HH,phones\n",
                                    encoding="utf-8")
    result = cli("plot", tmp_path / "s.wav", tmp_path / "s.csv", "--channel", "3")
    assert result.exit_code == 2 and "no channel 3" in result.stderr, result.output
    result = cli("plot", tmp_path / "s.wav", tmp_path / "s.csv", "--channel", "2", "-q")
    assert result.exit_code == 0 and (tmp_path / "s.png").is_file(), result.output


def test_validate_checks_the_channel_align_would_read(tmp_path, write_wav):
    """A mono recording has no channel 2, and a stereo one silent on it holds nothing to align:
    both are problems before an hour of aligning finds them."""
    root = tmp_path / "corpus"
    write_wav(root / "m.wav", speechlike(1.5, seed=3))
    left = speechlike(1.5, seed=1)
    write_wav(root / "s.wav", np.stack([left, np.zeros_like(left)], axis=1))
    write_wav(root / "ok.wav", np.stack([left, left[::-1].copy()], axis=1))
    for name in ("m", "s", "ok"):
        (root / f"{name}.lab").write_text("hello there", encoding="utf-8")
    result = cli("validate", root, "--channel", "2", "--report", tmp_path / "v.csv")
    assert result.exit_code == 1, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(open(tmp_path / "v.csv", encoding="utf-8"))}
    assert "no channel 2" in rows["m"]["problems"]
    assert "channel 2 is silent" in rows["s"]["problems"] and not rows["ok"]["problems"]
    assert cli("validate", root, "--channel", "1").exit_code == 0
