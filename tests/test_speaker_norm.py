"""A speaker's own statistics for normalising their short recordings (aligner/speaker_norm.py,
`NormPrior.for_speaker`): which speakers get them, that each row of a batch is normalised with
its own, and that a corpus run gives them to every recording of the speaker, in one process
or several."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from aligner.model import AcousticModel, ModelConfig, NormPrior, save_model, stacked_priors
from cli_helpers import cli, write_pair
from conftest import speechlike

N_MELS = ModelConfig().feature_config.n_mels


@pytest.fixture(scope="module")
def prior_model_dir(tmp_path_factory) -> Path:
    """A tiny random model with a speech prior that counts fully for any recording under 10 s
    of counted frames (so every clip here is normalised with a prior)."""
    prior = {"frames": 100.0, "variety": [0.0, 0.0], "counted": [1000.0, 1000.0],
             "shape": [0.0] * N_MELS, "var": [1.0] * N_MELS}
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                                      norm_top_db=25.0, norm_prior=prior, name="tiny-prior"))
    path = tmp_path_factory.mktemp("models") / "tiny-prior"
    save_model(model.eval(), path)
    return path


def _clip(seconds: float, seed: int, tone: float) -> np.ndarray:
    """A clip with its own voice: speechlike sound plus a steady tone of `tone` Hz."""
    t = np.arange(int(seconds * 16000)) / 16000
    return (speechlike(seconds, seed=seed) + 0.2 * np.sin(2 * np.pi * tone * t)).astype(np.float32)


def test_a_speakers_prior_is_the_median_of_their_recordings_statistics():
    gates = NormPrior(torch.zeros(N_MELS), torch.ones(N_MELS), 100.0, (1.5, 2.0), (60.0, 120.0))
    stats = [(torch.full((N_MELS,), value), torch.full((N_MELS,), value + 1.0))
             for value in (1.0, 3.0, 2.0, 40.0)]  # 40: a recording of hiss, say
    mine = gates.for_speaker(stats)
    assert torch.equal(mine.shape, torch.full((N_MELS,), 2.0))
    assert torch.equal(mine.var, torch.full((N_MELS,), 3.0))
    assert (mine.frames, mine.variety, mine.counted) == (100.0, (1.5, 2.0), (60.0, 120.0))


def test_each_row_of_a_batch_is_normalised_with_its_own_prior():
    gen = torch.Generator().manual_seed(3)
    feats = torch.randn(2, 50, N_MELS, generator=gen)
    mask = torch.ones(2, 50, dtype=torch.bool)
    mask[1, 40:] = False
    priors = [NormPrior(torch.randn(N_MELS, generator=gen), torch.rand(N_MELS, generator=gen) + 0.5,
                        100.0, (5.0, 6.0), (1000.0, 1000.0)) for _ in range(2)]
    batch = AcousticModel.normalise(feats, mask, None, 25.0, 0, stacked_priors(priors))
    for row, prior in enumerate(priors):
        n = int(mask[row].sum())
        alone = AcousticModel.normalise(feats[row:row + 1, :n], mask[row:row + 1, :n], None, 25.0,
                                        0, prior)
        torch.testing.assert_close(batch[row, :n], alone[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(batch[0], AcousticModel.normalise(feats[:1], mask[:1], None, 25.0,
                                                                0, priors[1])[0], atol=1e-3)


def test_only_speakers_with_short_recordings_get_statistics(tmp_path, prior_model_dir,
                                                           tiny_model_dir):
    from aligner.align import Aligner
    from aligner.corpus import find_utterances
    from aligner.speaker_norm import MIN_RECORDINGS, speaker_priors

    for k in range(MIN_RECORDINGS):
        write_pair(tmp_path / "words", f"w{k}", _clip(0.8, k, 300.0))  # a word list
        write_pair(tmp_path / "sentences", f"s{k}", _clip(2.5, k, 300.0))
    for k in range(MIN_RECORDINGS - 1):
        write_pair(tmp_path / "few", f"f{k}", _clip(0.8, k, 300.0))
    write_pair(tmp_path / "words", "broken", audio_bytes=b"not audio")  # passed over
    utterances = find_utterances(tmp_path)
    everyone = {u.speaker for u in utterances}
    aligner = Aligner.load(prior_model_dir, device="cpu")
    priors = speaker_priors(aligner, utterances, everyone)
    assert sorted(priors) == ["words"]
    assert not torch.allclose(priors["words"].shape, aligner.model.norm_prior.shape)
    assert speaker_priors(aligner, utterances, {"sentences"}) == {}
    # a model without a speech prior has no gates to use them behind
    assert speaker_priors(Aligner.load(tiny_model_dir, device="cpu"), utterances, everyone) == {}


def _fits(report: Path) -> dict[str, str]:
    return {r["utterance"]: r["transcript_fit"]
            for r in csv.DictReader(open(report, encoding="utf-8"))}


def test_a_corpus_run_normalises_a_speakers_short_recordings_by_their_statistics(
        tmp_path, prior_model_dir):
    """The same fits with one process or two (the workers are given the statistics), and other
    fits than with --no-speaker-norm, which the report records; a single file refuses it."""
    root = tmp_path / "corpus"
    for k in range(6):
        write_pair(root / "ann", f"a{k}", _clip(0.9, k, 250.0), text="hello")
        write_pair(root / "bob", f"b{k}", _clip(0.9, 10 + k, 700.0), text="hello")
    runs = {}
    for name, jobs in (("one", "1"), ("two", "2")):
        result = cli(root, "-o", tmp_path / name, "--model", prior_model_dir, "--jobs", jobs, "-q")
        assert result.exit_code == 0, result.output
        runs[name] = _fits(tmp_path / name / "alignment_report.csv")
    result = cli(root, "-o", tmp_path / "none", "--model", prior_model_dir, "--jobs", "1", "-q",
                 "--no-speaker-norm")
    assert result.exit_code == 0, result.output
    without = _fits(tmp_path / "none" / "alignment_report.csv")
    assert len(runs["one"]) == 12 and runs["one"] == runs["two"]
    assert sum(runs["one"][k] != without[k] for k in without) >= 10
    rows = list(csv.DictReader(open(tmp_path / "none" / "alignment_report.csv", encoding="utf-8")))
    assert all("speaker_norm=off" in r["settings"] for r in rows)
    result = cli(root / "ann" / "a0.wav", root / "ann" / "a0.lab", "--model", prior_model_dir,
                 "--no-speaker-norm")
    assert result.exit_code == 2 and "--no-speaker-norm is for corpus runs" in result.stderr


def test_recordings_added_to_a_speaker_align_their_earlier_ones_again(tmp_path, prior_model_dir):
    """Review 118: a speaker's clips aligned 4 at a time, then grown to 8, kept the first four
    as aligned without the speaker's statistics (fewer than 5 then), unlike a run over all 8.
    The report records what each speaker's statistics are read from; a run where that changed
    aligns the speaker's recordings again, and only theirs; an unchanged corpus is skipped."""
    def rows(out: Path) -> dict[str, dict[str, str]]:
        return {r["utterance"]: r for r in csv.DictReader(open(out / "alignment_report.csv",
                                                               encoding="utf-8"))}

    root, grown, out = tmp_path / "corpus", tmp_path / "grown", tmp_path / "out"
    for k in range(8):
        for folder in ((root, grown) if k < 4 else (grown,)):
            write_pair(folder / "ann", f"a{k}", _clip(0.9, k, 250.0), text="hello")
        write_pair(root / "bob", f"b{k}", _clip(0.9, 10 + k, 700.0), text="hello")
        write_pair(grown / "bob", f"b{k}", _clip(0.9, 10 + k, 700.0), text="hello")
    args = ["--model", prior_model_dir, "--jobs", "1", "-q"]
    assert cli(root, "-o", out, *args).exit_code == 0
    assert "speaker_stats=none" in rows(out)["ann/a0"]["settings"]
    for k in range(4, 8):  # the corpus grows: ann now has statistics
        write_pair(root / "ann", f"a{k}", _clip(0.9, k, 250.0), text="hello")
    assert cli(root, "-o", out, *args).exit_code == 0
    after = rows(out)
    assert all(after[f"ann/a{k}"]["status"] != "skipped" for k in range(8))
    assert all(after[f"bob/b{k}"]["status"] == "skipped" for k in range(8))
    assert cli(grown, "-o", tmp_path / "whole", *args).exit_code == 0
    whole = rows(tmp_path / "whole")
    assert all(after[n]["transcript_fit"] == whole[n]["transcript_fit"] for n in whole)
    assert cli(root, "-o", out, *args).exit_code == 0
    assert {r["status"] for r in rows(out).values()} == {"skipped"}


def test_a_tier_of_another_speaker_is_not_given_the_folders_statistics(prior_model_dir,
                                                                      monkeypatch):
    """A TextGrid with the folder's speaker and an examiner: only the speaker's own intervals
    are encoded with the folder speaker's statistics."""
    from aligner.align import Aligner
    from aligner.formats import Segment

    aligner = Aligner.load(prior_model_dir, device="cpu")
    mine = aligner.model.norm_prior.for_speaker([(torch.ones(N_MELS), torch.ones(N_MELS))] * 5)
    aligner.speaker_priors = {"child01": mine}
    seen = []
    real = type(aligner).encode

    def spy(self, waves, priors=None):
        seen.append(priors)
        return real(self, waves, priors)

    monkeypatch.setattr(type(aligner), "encode", spy)
    segments = [Segment("hello", "a [1]", "child01", 0.1, 0.9),
                Segment("hello", "a [2]", "examiner", 1.1, 1.9)]
    aligner.align_waveform(_clip(2.0, 1, 300.0), segments, speaker="child01")
    assert seen == [mine, None]
