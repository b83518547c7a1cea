"""Training on a tiny corpus made in the test: the loss falls, checkpoints reload, align and
resume exactly; the CTC baseline trains too; the CLI reports bad input in one line.

The corpus is "tone speech": each phone of the front-end's pronunciation is a short tone whose
pitch depends on the phone, words are separated by short pauses. Not speech, but a signal whose
phone sequence is learnable in a few steps, so the tests check real learning without data files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from aligner.alignment import Alignment, Interval
from aligner.card import training_card, write_card
from aligner.dev_metrics import dev_metrics, find_dev_utterances
from aligner.train import TrainConfig, TrainError, lr_factor, train, weight_head_frozen

SENTENCES = [
    "bee see dough", "may no bee", "see may dough", "no no see", "dough bee may",
    "bee bee no", "may see see", "dough no may",
]
TINY = {"fine_dim": 16, "dim": 24, "blocks": 2, "kernel": 5, "dropout": 0.0}


def _tone_corpus(root: Path, with_gold: bool, seed: int = 0) -> Path:
    from aligner.formats import write_textgrid
    from aligner.text.frontend import load_lexicon, parse_transcript
    from aligner.text.phones import phone_ids

    lexicon = load_lexicon()
    rate = 16000
    for k, text in enumerate(SENTENCES):
        rng = np.random.default_rng(k + 1000 * seed)  # another seed: the same tones, other noise
        pieces, words, phones, t = [np.zeros(1600)], [], [], 0.1
        for w in parse_transcript(text, lexicon):
            start = t
            for ph, pid in zip(w.pronunciations[0], phone_ids(w.pronunciations[0])):
                dur = 0.06 + 0.02 * (pid % 3)
                n = int(round(dur * rate))
                tt = np.arange(n) / rate
                pieces.append(0.3 * np.sin(2 * math.pi * (150 + 90 * pid) * tt))
                phones.append(Interval(t, t + n / rate, ph.rstrip("012")))
                t += n / rate
            words.append(Interval(start, t, w.text))
            pieces.append(np.zeros(800))
            t += 0.05
        wave = np.concatenate(pieces + [np.zeros(800)])
        wave = (wave + 0.003 * rng.standard_normal(len(wave))).astype(np.float32)
        spk = root / f"spk{k % 2}"
        spk.mkdir(parents=True, exist_ok=True)
        sf.write(str(spk / f"u{k}.wav"), wave, rate)
        (spk / f"u{k}.lab").write_text(text + "\n")
        if with_gold:
            write_textgrid(Alignment(words, phones, len(wave) / rate), spk / f"u{k}.TextGrid")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _tone_corpus(tmp_path_factory.mktemp("tones"), with_gold=True)


def _cfg(tmp: Path, corpus: Path, name: str, **kw) -> TrainConfig:
    base = dict(corpora=[str(corpus)], output=str(tmp / name / "model"), work_dir=str(tmp / name / "work"),
                epochs=3, lr=1e-2, max_frames=900, augment=False, arch=TINY, threads=1,
                cache_dir=str(tmp / "cache"), log_every=0, seed=3)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("runs")
    cfg = _cfg(tmp, corpus, "full", epochs=6, dev=[str(corpus)], dev_limit=4)
    return tmp, cfg, train(cfg, echo=lambda line: None)


def test_loss_decreases_and_dev_metrics_are_logged(trained):
    _, cfg, summary = trained
    losses = [h["train_loss"] for h in summary["history"]]
    assert len(losses) == 6
    assert losses[-1] < 0.8 * losses[0]
    dev = summary["history"][-1]["dev"]
    assert set(dev) == {"ot", "viterbi"}
    assert 0.0 <= dev["ot"]["within_20ms"] <= 1.0 and dev["ot"]["utterances"] == 4
    log = (Path(cfg.work_dir) / "train.log").read_text()
    assert "epoch 6 done" in log and "<=20ms" in log


def test_dev_metrics_run_the_model_where_it_is(trained, corpus):
    """Training moves the model (to a GPU, say) and then scores it: the dev metrics must run it
    where it is, in its own precision, and leave it there. A float64 copy stands in for a model
    the Aligner's defaults do not fit (the CPU-only stand-in for the GPU case)."""
    import copy

    from aligner.model import load_model

    _, cfg, _ = trained
    utts = find_dev_utterances([str(corpus)], 0)
    single = load_model(Path(cfg.output))
    double = copy.deepcopy(single).double().train()
    expected, got = dev_metrics(single, utts), dev_metrics(double, utts)
    assert list(got) == list(expected) == ["ot", "viterbi"]
    for method, m in got.items():
        assert m["utterances"] == len(utts) and m["failed"] == 0
        assert m["within_20ms"] == pytest.approx(expected[method]["within_20ms"], abs=0.05)
    assert double.training and next(double.parameters()).dtype == torch.float64


def test_dev_sample_is_the_same_on_every_call(corpus):
    every = find_dev_utterances([str(corpus)], 0)
    some = find_dev_utterances([str(corpus)], 3)
    assert len(some) == 3 < len(every) and set(some) <= set(every)
    # The same sample on every call: runs with different seeds are scored on the same files.
    assert find_dev_utterances([str(corpus)], 3) == some


def test_trained_model_reloads_and_aligns(trained, corpus):
    from aligner.align import Aligner
    from aligner.model import load_model

    _, cfg, _ = trained
    model = load_model(Path(cfg.output))
    result = Aligner(model).align(corpus / "spk0" / "u0.wav", corpus / "spk0" / "u0.lab")
    assert [w.label for w in result.words if w.label] == ["bee", "see", "dough"]
    assert len([p for p in result.phones if p.label]) == 6
    assert all(a.end <= b.start + 1e-9 for a, b in zip(result.phones, result.phones[1:]))


def test_card_names_data_command_and_figures(trained):
    tmp, cfg, summary = trained
    card = write_card(Path(cfg.output), training_card(summary)).read_text()
    assert str(cfg.corpora[0]) in card and "Command" in card and "within 20 ms" in card
    assert card.splitlines()[2] == "Trained with `ottc-align train`."
    rows = [line for line in card.splitlines() if line.startswith("| 6 |")]
    assert [row.split(" | ")[2] for row in rows] == ["ot", "viterbi"]  # the last epoch, per method


def test_resume_continues_exactly(trained, corpus):
    from safetensors.torch import load_file

    tmp, _, _ = trained
    torch.set_num_threads(1)
    straight = train(_cfg(tmp, corpus, "straight"), echo=lambda line: None)
    per_epoch = straight["history"][0]["step"]
    cut = _cfg(tmp, corpus, "cut", max_steps=per_epoch)
    assert len(train(cut, echo=lambda line: None)["history"]) == 1
    # A checkpoint from before the training config said what the run was for resumes too, and
    # one from before the model config's norm_level is read as a config file is ("mean")
    ckpt_path = Path(cut.work_dir) / "checkpoint.pt"
    ckpt = torch.load(ckpt_path, weights_only=False)
    assert ckpt["train_config"].pop("purpose") == "train"
    assert ckpt["model_config"].pop("norm_level") == "power"
    torch.save(ckpt, ckpt_path)
    with pytest.raises(TrainError, match="checkpoint was made with another model configuration"):
        train(_cfg(tmp, corpus, "cut", resume=True), echo=lambda line: None)
    resumed = train(_cfg(tmp, corpus, "cut", resume=True, arch={**TINY, "norm_level": "mean"}),
                    echo=lambda line: None)  # TINY has no norm_top_db: the same network
    assert [h["step"] for h in resumed["history"]] == [h["step"] for h in straight["history"]]
    a = load_file(str(tmp / "straight" / "model" / "model.safetensors"))
    b = load_file(str(tmp / "cut" / "model" / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_ctc_baseline_trains_and_aligns(corpus, tmp_path):
    from aligner.align import Aligner
    from aligner.model import load_model

    torch.set_num_threads(1)
    summary = train(_cfg(tmp_path, corpus, "ctc", loss="ctc", epochs=2, augment=True),
                    echo=lambda line: None)
    assert all(math.isfinite(h["train_loss"]) for h in summary["history"])
    model = load_model(tmp_path / "ctc" / "model")
    assert model.config.loss == "ctc"
    result = Aligner(model).align(corpus / "spk1" / "u1.wav", "may no bee")
    assert [w.label for w in result.words if w.label] == ["may", "no", "bee"]
    # Its dev metrics are reported under the method it decodes with, the only one it has.
    utts = find_dev_utterances([str(corpus)], 2)
    assert list(dev_metrics(model, utts)) == ["viterbi"]
    with pytest.raises(ValueError, match="frame weights"):
        dev_metrics(model, utts, methods=("ot", "viterbi"))


def test_fine_tuning_starts_from_a_model(trained, corpus, tmp_path):
    from aligner.model import load_model

    _, cfg, _ = trained
    torch.set_num_threads(1)
    summary = train(_cfg(tmp_path, corpus, "ft", init=cfg.output, epochs=1, arch={}),
                    echo=lambda line: None)
    assert summary["parameters"] == load_model(Path(cfg.output)).num_parameters()


def test_fine_tuning_keeps_or_overrides_the_silence_mass(trained, corpus, tmp_path):
    from aligner.model import load_model

    _, cfg, _ = trained
    torch.set_num_threads(1)
    base = load_model(Path(cfg.output)).config.sil_mass
    kept = _cfg(tmp_path, corpus, "keep", init=cfg.output, epochs=1, arch={}, max_steps=1)
    train(kept, echo=lambda line: None)
    assert load_model(Path(kept.output)).config.sil_mass == base
    changed = _cfg(tmp_path, corpus, "change", init=cfg.output, epochs=1, arch={}, max_steps=1,
                   sil_mass=base / 4)
    train(changed, echo=lambda line: None)
    assert load_model(Path(changed.output)).config.sil_mass == pytest.approx(base / 4)


def test_schedule_warms_up_decays_and_freezes():
    total = 100
    assert lr_factor(0, total, 0.1, 0.0) == pytest.approx(0.1)
    assert lr_factor(9, total, 0.1, 0.0) == pytest.approx(1.0)
    assert lr_factor(55, total, 0.1, 0.0) == pytest.approx(0.5)
    assert lr_factor(100, total, 0.1, 0.02) == pytest.approx(0.02)
    assert not weight_head_frozen(74, total, 0.75) and weight_head_frozen(75, total, 0.75)


def test_cli_reports_bad_corpus_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from aligner.cli import app

    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["train", str(tmp_path / "empty"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "no recordings with transcripts" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["train", str(tmp_path / "empty"), "-o", str(tmp_path / "m"),
                                      "--edge-pad", "--no-augment"])
    assert result.exit_code == 2 and "--edge-pad is augmentation" in result.output


def test_cli_trains_a_few_steps(corpus, tmp_path):
    from typer.testing import CliRunner

    from aligner.cli import app

    torch.set_num_threads(1)
    result = CliRunner().invoke(app, [
        "train", str(corpus), "-o", str(tmp_path / "m"), "--epochs", "1", "--max-steps", "2",
        "--arch", '{"fine_dim": 16, "dim": 16, "blocks": 1}', "--threads", "1", "--no-augment",
        "--max-frames", "900", "--log-every", "1", "--states", "2", "--no-short-first", "--steps", "5",
    ])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "model.safetensors").is_file() and (tmp_path / "m" / "MODEL_CARD.md").is_file()
    assert json.loads((tmp_path / "m" / "config.json").read_text())["states"] == 2
    ckpt = torch.load(tmp_path / "m-train" / "checkpoint.pt", weights_only=False)
    assert ckpt["train_config"]["short_first"] is False and ckpt["train_config"]["states"] == 2
    assert ckpt["train_config"]["steps"] == 5


def test_training_runs_on_the_device_asked_for(tmp_path, monkeypatch):
    """`train --device`: cpu even where a GPU is present; cuda where none is, a one-line error
    before any data is read (exit 2), as `align --device cuda` says it."""
    from typer.testing import CliRunner

    from aligner.cli import app
    from aligner.train import _start_process

    cfg = TrainConfig(corpora=[], output=str(tmp_path / "m"), work_dir=str(tmp_path / "w"))
    assert _start_process(cfg, "cpu") == (1, 0, torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _start_process(cfg, "auto")[2] == torch.device("cpu")
    for command in ("train", "adapt"):
        result = CliRunner().invoke(app, [command, str(tmp_path / "nowhere"), "-o",
                                          str(tmp_path / "m"), "--device", "cuda"])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == ("error: device 'cuda' was requested but no CUDA GPU is "
                                         "available (use cpu or auto)")
    assert not (tmp_path / "m").exists()


def test_gold_frame_labels_come_from_the_gold_textgrids_phones(corpus):
    """`train --gold-aux`'s labels: each frame gets the class of the gold phone under its
    centre (the TextGrid read by formats.py), silence where the gold has none."""
    import textgrid as tgpkg

    from aligner.dataset import attach_gold_labels, read_corpus
    from aligner.text.phones import VOCAB

    items, _ = read_corpus(corpus, None, log=lambda line: None)
    assert attach_gold_labels(corpus, items, None, log=lambda line: None) == len(items) == len(SENTENCES)
    for it in items:
        assert it.gold.shape == (it.frames,) and VOCAB[int(it.gold[0])] == "sil"
        tg = tgpkg.TextGrid.fromFile(str(corpus / f"{it.name}.TextGrid"))
        for phone in next(t for t in tg.tiers if t.name == "phones"):
            if phone.mark:
                frame = int((phone.minTime + phone.maxTime) / 2 / 0.01)
                assert VOCAB[int(it.gold[frame])] == phone.mark.upper()


def test_gold_tiers_named_phone_and_word_still_give_labels(corpus, tmp_path):
    """The gold reader is the tolerant one `evaluate` and `adapt` use: a strict read took a
    `phone` tier for none, and the corpus trained without its gold with nothing said."""
    import shutil

    from aligner.dataset import attach_gold_labels, read_corpus

    renamed = tmp_path / "renamed"
    shutil.copytree(corpus, renamed)
    for grid in renamed.rglob("*.TextGrid"):
        text = grid.read_text(encoding="utf-8")
        grid.write_text(text.replace('"phones"', '"phone"').replace('"words"', '"word"'),
                        encoding="utf-8")
    assert '"phone"' in grid.read_text(encoding="utf-8")
    items, _ = read_corpus(renamed, None, log=lambda line: None)
    assert attach_gold_labels(renamed, items, None, log=lambda line: None) == len(items) > 0


def test_a_feature_file_trains_like_its_corpus(corpus, tmp_path):
    """A corpus saved as a feature file (what travels to a GPU machine, recipes/train/device)
    trains in place of the folder: the same utterances, features and gold labels, so the same
    seed gives the same model; a file that is not one, or holds other features, is one line
    (exit 2)."""
    from typer.testing import CliRunner

    from aligner.cli import app
    from aligner.dataset import attach_gold_labels, read_corpus, read_feature_file, write_feature_file
    from aligner.features import FeatureConfig

    torch.set_num_threads(1)
    items, _ = read_corpus(corpus, None, log=lambda line: None)
    attach_gold_labels(corpus, items, None, log=lambda line: None)
    packed = tmp_path / "tones.pt"
    write_feature_file(items, packed, FeatureConfig())
    again = read_feature_file(packed, FeatureConfig())
    assert [i.name for i in again] == [i.name for i in items]
    assert all(torch.equal(a.feats, b.feats) and torch.equal(a.gold, b.gold) and a.words == b.words
               for a, b in zip(again, items))
    runs = [train(_cfg(tmp_path, source, name, epochs=1, gold_aux=1.0, max_steps=3),
                  echo=lambda line: None)["history"][-1]["train_loss"]
            for source, name in ((corpus, "folder"), (packed, "file"))]
    assert runs[0] == pytest.approx(runs[1], rel=1e-6)
    with pytest.raises(Exception, match="are not the model's"):
        read_feature_file(packed, FeatureConfig(n_mels=40))
    (tmp_path / "notes.pt").write_text("not a tensor file")
    result = CliRunner().invoke(app, ["train", str(tmp_path / "notes.pt"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "notes.pt: not a corpus folder or a feature file" in result.output
    assert "Traceback" not in result.output


def test_feature_cache_is_written_all_or_nothing(tmp_path, monkeypatch):
    """A run killed (or out of disk) while saving the feature cache leaves no cache file and no
    temporary one; the next run reads the corpus again and caches it."""
    from aligner.dataset import read_corpus

    corpus = _tone_corpus(tmp_path / "tones", with_gold=False)
    cache = tmp_path / "cache"

    def half_written(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\0")
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(torch, "save", half_written)
        with pytest.raises(OSError, match="cannot write .No space left"):
            read_corpus(corpus, cache, log=lambda line: None)
    assert list(cache.iterdir()) == []
    items, _ = read_corpus(corpus, cache, log=lambda line: None)
    assert [p.suffix for p in cache.iterdir()] == [".pt"]
    again, _ = read_corpus(corpus, cache, log=lambda line: None)  # from the cache
    assert [i.name for i in again] == [i.name for i in items]
    assert all(torch.equal(a.feats, b.feats) for a, b in zip(again, items))


def test_viterbi_labels_follow_the_posteriors():
    from aligner.train import viterbi_labels

    # 6 frames, tokens sil A sil B sil (A=5, B=7); posteriors say A for frames 0-2, B for 3-5.
    lp = torch.full((1, 6, 41), -10.0)
    lp[0, :3, 5] = 0.0
    lp[0, 3:, 7] = 0.0
    tgt = {"targets": torch.tensor([[1, 5, 1, 7, 1]]), "target_lengths": torch.tensor([5]),
           "optional": torch.tensor([[True, False, True, False, True]])}
    labels = viterbi_labels(lp, torch.tensor([6]), tgt)
    assert labels.tolist() == [[5, 5, 5, 7, 7, 7]]


def test_viterbi_labels_skip_an_utterance_too_short_for_its_tokens():
    from aligner.train import compute_loss, viterbi_labels

    # Utterance 0: 6 frames, 2 required tokens; utterance 1: 2 frames (then padding) for 3
    # required tokens, as three states of a fast phone can be: no path, so no hard-EM target.
    lp = torch.full((2, 6, 41), -10.0)
    lp[:, :3, 5] = 0.0
    lp[:, 3:, 7] = 0.0
    tgt = {"targets": torch.tensor([[1, 5, 1, 7, 1], [5, 6, 7, 1, 0]]),
           "target_lengths": torch.tensor([5, 4]),
           "optional": torch.tensor([[True, False, True, False, True], [False, False, False, True, False]]),
           "beta": torch.full((2, 5), 0.25)}
    labels = viterbi_labels(lp, torch.tensor([6, 2]), tgt)
    assert labels[0].tolist() == [5, 5, 5, 7, 7, 7] and labels[1].tolist() == [-100] * 6

    class Fixed(torch.nn.Module):  # a "model" that returns the second utterance's posteriors
        def forward(self, feats, lengths):
            return lp[1:].log_softmax(-1), torch.zeros(1, lp.shape[1])

    # A batch in which no utterance has a path: the loss is the OTTC loss alone, finite.
    short = {k: v[1:] for k, v in tgt.items()}
    value, _ = compute_loss(Fixed(), torch.zeros(1, 6, 80), torch.tensor([2]), short, "ottc", 0.5)
    assert math.isfinite(float(value))


def test_viterbi_aux_option_trains(corpus, tmp_path):
    torch.set_num_threads(1)
    summary = train(_cfg(tmp_path, corpus, "aux", epochs=1, viterbi_aux=1.0), echo=lambda line: None)
    assert math.isfinite(summary["history"][0]["train_loss"])


# ----------------------------------------------------------------------------- dataset helpers


def test_batches_cover_every_utterance_once_within_the_frame_budget():
    from aligner.dataset import make_batches

    lengths = [50 + (7 * i) % 300 for i in range(200)]
    batches = make_batches(lengths, max_frames=1000, seed=4)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(200))
    assert all(max(lengths[i] for i in b) * len(b) <= 1000 for b in batches)
    assert batches == make_batches(lengths, max_frames=1000, seed=4)  # seeded
    assert batches != make_batches(lengths, max_frames=1000, seed=5)


def test_collate_pads_at_the_end():
    from aligner.dataset import collate

    x, lengths, live = collate([torch.ones(3, 80), torch.ones(5, 80)])
    assert x.shape == (2, 5, 80) and lengths.tolist() == [3, 5]
    assert float(x[0, 3:].abs().sum()) == 0.0
    assert live[0].tolist() == [True] * 3 + [False] * 2 and live[1].all()


def test_training_sees_digital_silence_as_aligning_does():
    """An utterance that is mostly exact zeros is given to the model in training as it is when
    aligning (`features.model_input`): the excess filled in and left out of the statistics."""
    from aligner.dataset import collate
    from aligner.features import log_mel, model_input

    wave = torch.zeros(48000)
    wave[16000:24000] = 0.1 * torch.sin(torch.arange(8000) * 0.3)
    mel = log_mel(wave)
    x, _, live = collate([mel])
    filled, counted = model_input(mel)
    assert torch.equal(x[0], filled) and torch.equal(live[0], counted)
    assert 0 < int((~counted).sum()) < int((mel.mean(1) < -14).sum())  # a quarter kept as it was


def test_speed_and_frequency_warp():
    from aligner.dataset import frequency_warp, speed_perturb

    x = torch.randn(100, 80)
    assert speed_perturb(x, 1.25).shape == (80, 80)
    assert speed_perturb(x, 0.8).shape == (125, 80)
    torch.testing.assert_close(frequency_warp(x, 1.0), x)
    peak = torch.zeros(1, 80)
    peak[0, 40] = 1.0
    assert int(frequency_warp(peak, 0.8).argmax()) == 50  # formants move up when factor < 1


def test_augment_keeps_features_usable():
    import random

    from aligner.dataset import Augment, augment
    from aligner.features import FeatureConfig, log_mel

    t = torch.arange(32000) / 16000
    feats = log_mel(0.3 * torch.sin(2 * math.pi * 440 * t)).half()
    rng = random.Random(0)
    for _ in range(5):
        out = augment(feats, Augment(noise_prob=1.0, telephone_prob=1.0), rng, FeatureConfig())
        assert out.shape[1] == 80 and 160 <= out.shape[0] <= 223
        assert bool(torch.isfinite(out).all())


def _speech_like(seconds: float = 2.0, seed: int = 0) -> torch.Tensor:
    """Log-mels of broadband "speech" (noise under a syllable-rate envelope) with 200 ms pauses
    of faint room tone around and inside it."""
    from aligner.features import log_mel

    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * 16000)) / 16000
    wave = 0.1 * torch.randn(len(t), generator=gen) * (0.55 + 0.45 * torch.sin(2 * math.pi * 4 * t))
    wave[:3200] = 0.0
    wave[-3200:] = 0.0
    wave[12000:15200] = 0.0
    return log_mel(wave + 0.0005 * torch.randn(len(wave), generator=gen))


def test_edge_padding_adds_quiet_labelled_silence_around_the_utterance():
    import random

    from aligner.dataset import Augment, pad_edges
    from aligner.features import FeatureConfig
    from aligner.text.phones import SILENCE_ID

    feats = _speech_like()
    gold = torch.full((feats.shape[0],), 7, dtype=torch.int16)
    quiet = float(feats.mean(1).sort().values[: feats.shape[0] // 10].mean())
    rng = random.Random(3)
    grew, kinds = 0, set()
    for _ in range(40):
        x, g = pad_edges(feats, gold, Augment(edge_prob=1.0), rng, FeatureConfig())
        extra = x.shape[0] - feats.shape[0]
        assert g.shape[0] == x.shape[0] and extra <= 2 * 150
        middle = g != SILENCE_ID
        assert int(middle.sum()) == feats.shape[0]  # the utterance's own labels, in one piece
        lead = int(middle.long().argmax())
        assert torch.equal(x[lead:lead + feats.shape[0]], feats.float())
        pad = torch.cat([x[:lead], x[lead + feats.shape[0]:]])
        if extra:
            grew += 1
            assert float(pad.mean(1).max()) <= quiet + 1.0  # never louder than the room tone
            assert float(pad.min()) >= math.log(FeatureConfig().log_floor) - 1e-4
            kinds.add(round(float(pad.mean()), 1) == round(math.log(1e-8), 1))
    assert grew >= 35 and kinds == {True, False}  # digital silence among the kinds, not only


def test_edge_padding_off_leaves_the_utterance_and_the_random_stream_alone():
    """Recipes without --edge-pad: their augmentation must draw exactly as before."""
    import random

    from aligner.dataset import Augment, pad_edges
    from aligner.features import FeatureConfig

    feats, rng = _speech_like(), random.Random(5)
    x, g = pad_edges(feats, None, Augment(), rng, FeatureConfig())
    assert x is feats and g is None and rng.random() == random.Random(5).random()


def test_a_held_vowel_is_its_own_frames_played_longer_with_its_gold():
    """--hold-vowels: one vowel of a gold utterance is made 0.3-1.5 s longer from its own middle
    frames, and the gold says that vowel throughout; everything else keeps its order and
    values. Off (the shipped recipe), nothing changes and the random stream is not touched."""
    import random

    from aligner.dataset import Augment, hold_vowel
    from aligner.text.phones import PHONE_TO_ID, SILENCE_ID

    feats = _speech_like()
    t = feats.shape[0]
    gold = torch.full((t,), SILENCE_ID, dtype=torch.int16)
    aa, s = PHONE_TO_ID["AA"], PHONE_TO_ID["S"]
    gold[20:60], gold[60:80] = aa, s
    rng = random.Random(2)
    for _ in range(10):
        x, g = hold_vowel(feats, gold, Augment(hold_prob=1.0), rng)
        n = x.shape[0] - t
        assert 30 <= n <= 150 and g.shape[0] == x.shape[0] and g.dtype == gold.dtype
        assert int((g == aa).sum()) == 40 + n and int((g == s).sum()) == 20
        assert torch.equal(x[:40], feats[:40].float()) and torch.equal(x[40 + n:], feats[40:].float())
        middle = feats[30:50].float()  # the vowel's middle half, each held frame near one of them
        gap = (x[40:40 + n, None] - middle[None]).abs().mean(-1).min(1).values
        assert float(gap.max()) < 0.2
    x, g = hold_vowel(feats, None, Augment(hold_prob=1.0), rng)  # no gold: nothing to hold
    assert x is feats and g is None
    rng = random.Random(5)
    x, g = hold_vowel(feats, gold, Augment(), rng)
    assert x is feats and g is gold and rng.random() == random.Random(5).random()


def test_normalising_by_loud_frames_ignores_the_pause_around_the_speech():
    """A model with norm_top_db sees the same speech whatever quiet surrounds it; the shipped
    normalisation (over every frame) does not, which is what the option is for."""
    from aligner.features import log_mel
    from aligner.model import AcousticModel

    feats = _speech_like()
    gen = torch.Generator().manual_seed(1)
    hush = log_mel(1e-4 * torch.randn(16000, generator=gen))  # 1 s of quieter noise, -80 dBFS
    padded = torch.cat([hush, feats, hush])
    n = feats.shape[0]

    def normalised(x: torch.Tensor, top_db: float) -> torch.Tensor:
        return AcousticModel.normalise(x[None], torch.ones(1, x.shape[0], dtype=torch.bool), None, top_db)[0]

    for top_db, moved in ((0.0, True), (25.0, False)):
        diff = (normalised(feats, top_db) - normalised(padded, top_db)[100:100 + n]).abs().mean()
        assert (float(diff) > 0.3) == moved, (top_db, float(diff))
    loud_only = normalised(feats, 25.0)
    assert bool(torch.isfinite(loud_only).all())


def test_room_tone_louder_than_the_pauses_is_not_counted_as_speech():
    """White room tone at -60 dBFS around a voice at -26 dBFS whose harmonics fall off as
    speech's do: by mean log-mel the tone lies within 25 dB of the voice's loud frames (white
    noise fills the high bands the voice leaves empty), by power 36 dB down, so the
    normalisation (model.frame_power) counts the voice and none of the tone."""
    from aligner.features import log_mel
    from aligner.model import counted_frames, frame_power, loud_level

    t = torch.arange(16000) / 16000
    voice = sum(0.1 / k ** 1.5 * torch.sin(2 * math.pi * 120 * k * t) for k in range(1, 66))
    voice = voice * (0.6 + 0.4 * torch.sin(2 * math.pi * 4 * t))
    tone = 10 ** (-60 / 20) * torch.randn(3 * 16000, generator=torch.Generator().manual_seed(2))
    feats = log_mel(torch.cat([tone, voice, tone]))
    keep = counted_frames(feats[None], torch.ones(1, feats.shape[0], dtype=torch.bool), None,
                          25.0)[0]
    assert not keep[:295].any() and not keep[-295:].any()
    assert bool(keep[305:-305].all())
    db = 10 / math.log(10)
    for level, gap in ((feats.mean(-1), (15, 25)), (frame_power(feats[None])[0], (30, 45))):
        below = db * float(loud_level(level[None])[0, 0] - level[:290].median())
        assert gap[0] < below < gap[1], below


def test_a_local_loud_reference_keeps_a_quiet_voice_in_the_statistics():
    """norm_local_s: in a long recording a voice 16 dB quieter than the one before it has its
    own loud frames as reference, so its weaker sounds count; a recording shorter than the
    window is normalised exactly as with the whole-recording reference."""
    from aligner.model import AcousticModel, loud_level

    loud = _speech_like(3.0, seed=3)
    quiet = _speech_like(3.0, seed=4) - 16 * math.log(10) / 10
    level = torch.cat([loud, quiet]).mean(-1)[None]
    whole, local = loud_level(level), loud_level(level, 100)
    n = loud.shape[0]
    step_db = float(local[0, n + 150:].mean() - local[0, :n - 150].mean()) * 10 / math.log(10)
    assert -18 < step_db < -14 and bool((whole == whole[0, 0]).all()), step_db
    counted = {name: int((level[0, n:] >= ref - 25 * math.log(10) / 10).sum())
               for name, ref in (("whole", whole[0]), ("local", local[0, n:]))}
    assert counted["local"] > counted["whole"] + 20, counted
    both = torch.cat([loud, quiet])[None]
    mask = torch.ones(both.shape[:2], dtype=torch.bool)
    for frames, apart in ((0, True), (100, False)):  # each voice's speech frames, normalised
        x = AcousticModel.normalise(both, mask, None, 25.0, frames)[0].mean(-1)
        gap = float(x[:n].quantile(0.9) - x[n:].quantile(0.9))
        assert (abs(gap) > 0.5) == apart, (frames, gap)
    short = _speech_like(1.5, seed=5)[None]
    mask = torch.ones(short.shape[:2], dtype=torch.bool)
    assert torch.allclose(AcousticModel.normalise(short, mask, None, 25.0, short.shape[1]),
                          AcousticModel.normalise(short, mask, None, 25.0), atol=1e-4)


def test_local_statistics_stay_bounded_over_a_long_pause():
    """Digital silence longer than the local window holds no counted frame: its frames fall back
    on the whole recording's statistics rather than being divided by those of none."""
    from aligner import model
    from aligner.features import log_mel

    gen = torch.Generator().manual_seed(2)
    pause = log_mel(1e-4 * torch.randn(16000 * 6, generator=gen))
    feats = torch.cat([_speech_like(2.0, seed=6), pause, _speech_like(2.0, seed=7)])[None]
    mask = torch.ones(feats.shape[:2], dtype=torch.bool)
    live = mask.clone()
    live[0, 200:200 + pause.shape[0]] = False  # as features.dead_frames marks digital silence
    whole = model.AcousticModel.normalise(feats, mask, live, 25.0)
    local = model.AcousticModel.normalise(feats, mask, live, 25.0, 100)
    assert bool(torch.isfinite(local).all()) and float(local.abs().max()) < 1.5 * float(whole.abs().max())


def test_normalising_by_loud_frames_is_per_row_in_a_padded_batch():
    """Rows of different lengths, some frames not live: each row as if it were alone (with the
    whole-row and with a local loud reference)."""
    from aligner.model import AcousticModel

    a, b = _speech_like(2.0, seed=1), _speech_like(1.2, seed=2)
    live_a = torch.ones(a.shape[0], dtype=torch.bool)
    live_a[:30] = False
    feats = torch.zeros(2, a.shape[0], a.shape[1])
    feats[0], feats[1, : b.shape[0]] = a, b
    mask = torch.zeros(2, a.shape[0], dtype=torch.bool)
    mask[0], mask[1, : b.shape[0]] = True, True
    live = mask.clone()
    live[0] = live_a
    for local in (0, 40):
        batch = AcousticModel.normalise(feats, mask, live, 25.0, local)
        alone_a = AcousticModel.normalise(a[None], torch.ones(1, a.shape[0], dtype=torch.bool),
                                          live_a[None], 25.0, local)[0]
        alone_b = AcousticModel.normalise(b[None], torch.ones(1, b.shape[0], dtype=torch.bool),
                                          None, 25.0, local)[0]
        assert torch.allclose(batch[0], alone_a, atol=1e-5), local
        assert torch.allclose(batch[1, : b.shape[0]], alone_b, atol=1e-5), local
        assert float(batch[1, b.shape[0]:].abs().sum()) == 0.0


def test_local_normalisation_of_a_recording_within_one_window_is_the_whole_recordings():
    """Every window of a recording at most local_frames + 1 frames long holds all of it: its
    statistics are the whole recording's, taken without the running sums (exactly); in a batch
    with a longer recording the running sums give it the same up to rounding."""
    from aligner.model import AcousticModel

    a, b = _speech_like(2.0, seed=3), _speech_like(2.5, seed=4)
    n = a.shape[0]
    alone = torch.ones(1, n, dtype=torch.bool)
    whole = AcousticModel.normalise(a[None], alone, None, 25.0)[0]
    assert torch.equal(AcousticModel.normalise(a[None], alone, None, 25.0, n - 1)[0], whole)
    feats = torch.zeros(2, b.shape[0], b.shape[1])
    feats[0, :n], feats[1] = a, b
    mask = torch.zeros(2, b.shape[0], dtype=torch.bool)
    mask[0, :n], mask[1] = True, True
    summed = AcousticModel.normalise(feats, mask, None, 25.0, n - 1)[0, :n]
    assert not torch.equal(summed, whole) and torch.allclose(summed, whole, atol=1e-5)


def test_normalisation_settings_are_stored_and_old_configs_read_as_off():
    from aligner.model import ModelConfig

    stored = ModelConfig.from_dict(ModelConfig(norm_top_db=25.0, norm_local_s=4.0).to_dict())
    assert (stored.norm_top_db, stored.norm_local_s) == (25.0, 4.0)
    old = ModelConfig().to_dict()
    del old["norm_top_db"], old["norm_local_s"]
    assert (ModelConfig.from_dict(old).norm_top_db, ModelConfig.from_dict(old).norm_local_s) == (0.0, 0.0)


def test_a_model_saved_before_norm_level_is_normalised_as_it_was_trained():
    """Models trained before session 45 ranked frames for `norm_top_db` by their mean log-mel;
    read with the power ranking (the default since), white room tone around speech counted for
    them as it never did in training. Their configs lack `norm_level` and are read as "mean";
    new ones say which, and the shipped model says "power"."""
    from aligner.model import AcousticModel, ModelConfig, counted_frames, load_config

    fresh = ModelConfig(norm_top_db=25.0)
    assert fresh.norm_level == ModelConfig.from_dict(fresh.to_dict()).norm_level == "power"
    old = fresh.to_dict()
    del old["norm_level"]
    assert ModelConfig.from_dict(old).norm_level == "mean"
    assert load_config().norm_level == "power"
    with pytest.raises(ValueError, match="norm_level must be one of power, mean"):
        ModelConfig(norm_level="median")
    # speech loud in its low bands, flat tone 30 dB below its power: the two rankings disagree
    g = torch.Generator().manual_seed(0)
    speech = torch.linspace(2.0, -8.0, 80).expand(200, 80) + 0.3 * torch.randn(200, 80, generator=g)
    tone = torch.full((100, 80), float(speech.exp().mean(-1).log().mean()) - 3.0 * math.log(10))
    feats = torch.cat([tone, speech, tone])[None]
    mask = torch.ones(1, feats.shape[1], dtype=torch.bool)
    by_power = counted_frames(feats, mask, None, 25.0, by="power")[0]
    by_mean = counted_frames(feats, mask, None, 25.0, by="mean")[0]
    assert not by_power[:100].any() and by_power[100:300].all() and by_mean[:100].all()
    models = {by: AcousticModel(ModelConfig(norm_top_db=25.0, norm_level=by)).eval()
              for by in ("power", "mean")}
    models["mean"].load_state_dict(models["power"].state_dict())
    with torch.no_grad():
        outs = [m(feats, torch.tensor([feats.shape[1]]))[0] for m in models.values()]
    assert not torch.allclose(*outs)


def test_edge_pad_option_trains(corpus, tmp_path):
    torch.set_num_threads(1)
    cfg = _cfg(tmp_path, corpus, "edge", epochs=1, augment=True, edge_pad=True, gold_aux=1.0,
               arch={**TINY, "norm_top_db": 25.0})
    summary = train(cfg, echo=lambda line: None)
    assert math.isfinite(summary["history"][0]["train_loss"])


def test_phone_masses_are_stored_kept_and_used_by_the_aligner(trained, corpus, tmp_path):
    """--phone-mass puts the masses in the model's config; a later fine-tune keeps them, and the
    aligner builds its OTTC targets (and so `ot` boundaries) with them."""
    import json

    from aligner.align import Aligner
    from aligner.model import load_model

    _, cfg, _ = trained
    torch.set_num_threads(1)
    masses = tmp_path / "masses.json"
    masses.write_text(json.dumps({"AA": 2.0, "M": 0.5}))
    first = _cfg(tmp_path, corpus, "mass", init=cfg.output, epochs=1, arch={}, max_steps=1,
                 phone_mass=str(masses))
    train(first, echo=lambda line: None)
    model = load_model(Path(first.output))
    assert model.config.phone_mass == {"AA": 2.0, "M": 0.5}
    by_id = model.config.phone_mass_by_id()
    assert by_id[model.config.phones.index("AA")] == 2.0 and by_id[model.config.phones.index("B")] == 1.0
    again = _cfg(tmp_path, corpus, "mass2", init=first.output, epochs=1, arch={}, max_steps=1)
    train(again, echo=lambda line: None)
    assert load_model(Path(again.output)).config.phone_mass == {"AA": 2.0, "M": 0.5}
    uniform = load_model(Path(cfg.output))
    audio = corpus / "spk1" / "u1.wav"
    ot_mass = Aligner(model).align(audio, "may no bee", method="ot")
    model.config.phone_mass = {}
    ot_uniform = Aligner(model).align(audio, "may no bee", method="ot")
    assert [p.start for p in ot_mass.phones] != [p.start for p in ot_uniform.phones]
    assert uniform.config.phone_mass == {}


@pytest.mark.parametrize("content,match", [
    ("[1, 2]", "JSON object"), ('{"XX": 1.0}', "not phones"), ('{"AA": 0}', "positive"),
    ('{"AA": "big"}', "positive"), ("{oops", "cannot read"),
])
def test_bad_phone_mass_files_are_one_line_errors(tmp_path, content, match):
    from aligner.train import TrainError, read_phone_mass

    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(TrainError, match=match) as err:
        read_phone_mass(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_states_split_the_init_model_train_and_align(trained, corpus, tmp_path):
    """--states 3 with --init from a one-state model splits its label head; the result trains,
    keeps its states on the next fine-tune, and aligns whole phones."""
    from aligner.align import Aligner
    from aligner.model import load_model

    _, cfg, _ = trained
    torch.set_num_threads(1)
    split = _cfg(tmp_path, corpus, "states", init=cfg.output, epochs=2, arch={}, states=3)
    summary = train(split, echo=lambda line: None)
    assert math.isfinite(summary["history"][-1]["train_loss"])
    model = load_model(Path(split.output))
    assert model.config.states == 3 and model.config.n_classes == 2 + 39 * 3
    again = _cfg(tmp_path, corpus, "states2", init=split.output, epochs=1, arch={}, max_steps=1)
    train(again, echo=lambda line: None)
    assert load_model(Path(again.output)).config.states == 3
    result = Aligner(model).align(corpus / "spk1" / "u1.wav", "may no bee")
    assert [p.label for p in result.phones if p.label] == ["M", "EY1", "N", "OW1", "B", "IY1"]


def test_fine_tuning_takes_arch_settings_that_keep_the_weights_and_refuses_others(
        trained, corpus, tmp_path):
    """--arch with --model: a setting that keeps the network's weights (the normalisation's
    gate, dropout) is fine-tuned with and stored; one that would change them, or has an option
    of its own, or a value out of range, is refused with one line, not ignored (it was,
    silently)."""
    from aligner.model import load_model
    from aligner.train import TrainError

    _, cfg, _ = trained
    torch.set_num_threads(1)
    tuned = _cfg(tmp_path, corpus, "gate30", init=cfg.output, epochs=1, max_steps=1,
                 arch={"norm_top_db": 30.0, "dropout": 0.2, "norm_level": "mean"})
    train(tuned, echo=lambda line: None)
    config = load_model(Path(tuned.output)).config
    assert (config.norm_top_db, config.dropout, config.dim) == (30.0, 0.2, TINY["dim"])
    assert config.norm_level == "mean"
    for arch, named in (({"dim": TINY["dim"] * 2}, "dim cannot change"),
                        ({"loss": "ctc"}, "loss cannot change"),
                        ({"no_such_setting": 1}, "no_such_setting cannot change"),
                        ({"dropout": -0.1}, "dropout: -0.1 is not a number"),
                        ({"norm_top_db": "30"}, "norm_top_db: '30' is not a number"),
                        ({"norm_level": "median"}, "norm_level: 'median' is not one of")):
        wider = _cfg(tmp_path, corpus, "wider", init=cfg.output, max_steps=1, arch=arch)
        with pytest.raises(TrainError, match=named) as err:
            train(wider, echo=lambda line: None)
        assert "\n" not in str(err.value) and "--arch" in str(err.value)


def test_fresh_states_model_and_bad_states_options(corpus, tmp_path):
    from aligner.model import load_model
    from aligner.train import TrainError

    torch.set_num_threads(1)
    fresh = _cfg(tmp_path, corpus, "fresh3", epochs=1, max_steps=2, states=2)
    train(fresh, echo=lambda line: None)
    assert load_model(Path(fresh.output)).config.states == 2
    with pytest.raises(TrainError, match="--states"):
        train(_cfg(tmp_path, corpus, "ctc3", loss="ctc", states=3), echo=lambda line: None)
    with pytest.raises(TrainError, match="one-state"):
        train(_cfg(tmp_path, corpus, "re", init=fresh.output, states=3, arch={}), echo=lambda line: None)


def test_fine_tuning_keeps_the_boundary_network_as_it_was(trained, corpus, tmp_path):
    """The boundary network is trained apart (recipes/train/boundary_net.py): training the
    acoustic model from a model that holds one keeps it to the bit (it is frozen meanwhile:
    under torchrun, DDP would otherwise wait for its gradients)."""
    from dataclasses import replace

    from aligner.model import AcousticModel, load_model, save_model

    _, cfg, _ = trained
    torch.set_num_threads(1)
    base = load_model(Path(cfg.output))
    torch.manual_seed(5)
    with_net = AcousticModel(replace(base.config, boundary_net={"channels": 4, "hidden": 8,
                                                                "embed": 2}))
    with_net.load_state_dict({**with_net.state_dict(), **base.state_dict()})
    save_model(with_net, tmp_path / "init")
    tuned = _cfg(tmp_path, corpus, "tuned", init=str(tmp_path / "init"), epochs=1, max_steps=2,
                 arch={})
    train(tuned, echo=lambda line: None)
    after = load_model(Path(tuned.output))
    for k, v in with_net.boundary_net.state_dict().items():
        assert torch.equal(after.boundary_net.state_dict()[k], v), k
    assert not torch.equal(after.stem.weight, with_net.stem.weight)  # the rest did train


def _held_vowel(frames: int = 120) -> torch.Tensor:
    """Log-mels [T, 80] of one steady vowel-like sound (two formant peaks over a falling
    slope, a little frame-to-frame jitter) with 30 frames of faint room tone before and after:
    a sustained /a/."""
    gen = torch.Generator().manual_seed(8)
    k = torch.arange(80, dtype=torch.float32)
    formants = 3 * torch.exp(-((k - 12) / 4) ** 2) + 2 * torch.exp(-((k - 22) / 5) ** 2)
    spectrum = -4 + formants - 0.05 * k
    vowel = spectrum + 0.1 * torch.randn(frames, 80, generator=gen)
    quiet = -18 + 0.5 * torch.randn(30, 80, generator=gen)
    return torch.cat([quiet, vowel, quiet[:20]])


def _variety(feats: torch.Tensor) -> float:
    """The mean over bands of the standard deviation over the frames `normalise` counts."""
    from aligner.model import counted_frames

    keep = counted_frames(feats[None], torch.ones(1, feats.shape[0], dtype=torch.bool), None,
                          25.0)[0]
    return float(feats[keep].std(0, unbiased=False).mean())


def test_a_speech_prior_keeps_a_held_vowels_spectrum_and_leaves_speech_alone():
    """A recording of one held sound normalised by itself is left with no spectrum (its mean
    is its spectrum): the model heard sustained vowels as silence. With typical speech's
    statistics counted beside its own (NormPrior), its spectral shape survives; at any gain;
    with local statistics too; and a recording of varied sounds is normalised as before."""
    from aligner.model import AcousticModel, NormPrior, counted_frames

    vowel, speech = _held_vowel(), _speech_like(2.0, seed=9)
    assert _variety(vowel) < 0.3 < 0.6 < _variety(speech), (_variety(vowel), _variety(speech))
    n_mels = vowel.shape[1]
    prior = NormPrior(torch.zeros(n_mels), torch.ones(n_mels), 100.0, (0.3, 0.6))

    def norm(x, p=None, local=0):
        return AcousticModel.normalise(x[None], torch.ones(1, x.shape[0], dtype=torch.bool), None,
                                       25.0, local, p)[0]

    middle = slice(30, vowel.shape[0] - 20)
    shape = vowel[middle].mean(0) - vowel[middle].mean()
    alone, helped = norm(vowel)[middle].mean(0), norm(vowel, prior)[middle].mean(0)
    assert float(alone.abs().mean()) < 0.05
    assert float(torch.corrcoef(torch.stack([helped, shape]))[0, 1]) > 0.9
    assert float(helped.abs().mean()) > 0.3
    assert torch.allclose(norm(vowel + 3.0, prior), norm(vowel, prior), atol=1e-4)  # gain
    long = torch.cat([vowel] * 10)  # 17 s: each frame's own 4 s window
    local = norm(long, prior, 400)[long.mean(-1) > -10].mean(0)
    assert bool(torch.isfinite(local).all())
    assert float(torch.corrcoef(torch.stack([local, shape]))[0, 1]) > 0.9
    assert torch.equal(norm(speech, prior), norm(speech))
    assert torch.equal(norm(speech, prior, 100), norm(speech, None, 100))
    # a single word: varied sounds, but few of them
    counted = int(counted_frames(speech[None], torch.ones(1, speech.shape[0], dtype=torch.bool),
                                 None, 25.0).sum())
    few = NormPrior(prior.shape, prior.var, 100.0, (0.3, 0.6), (counted + 10.0, counted + 20.0))
    many = NormPrior(prior.shape, prior.var, 100.0, (0.3, 0.6), (counted - 20.0, counted - 10.0))
    assert not torch.allclose(norm(speech, few), norm(speech), atol=1e-3)
    assert torch.equal(norm(speech, many), norm(speech))


def test_a_models_speech_prior_is_kept_in_its_config(tmp_path):
    """norm_prior travels with the model (config.json) and is what its encoder uses; a model
    without one normalises as before."""
    from aligner.model import AcousticModel, ModelConfig, load_model, save_model

    n_mels = ModelConfig().feature_config.n_mels
    prior = {"frames": 100.0, "variety": [0.3, 0.6], "shape": [0.0] * n_mels,
             "var": [1.0] * n_mels}
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                                      norm_top_db=25.0, norm_prior=prior)).eval()
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m").eval()
    assert loaded.config.norm_prior == prior and loaded.norm_prior is not None
    plain = AcousticModel(ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                                      norm_top_db=25.0)).eval()
    plain.load_state_dict(model.state_dict())
    vowel = _held_vowel()[None]
    lengths = torch.tensor([vowel.shape[1]])
    with torch.no_grad():
        assert torch.allclose(loaded(vowel, lengths)[0], model(vowel, lengths)[0])
        assert not torch.allclose(plain(vowel, lengths)[0], model(vowel, lengths)[0], atol=1e-3)


def test_a_recording_gets_the_same_speech_prior_alone_and_in_a_batch():
    """A short recording in a batch with a long one (local statistics for the batch) is
    normalised as when alone, prior and all; the long one, above both gates, exactly as with
    no prior (a corpus run batches recordings of all lengths together)."""
    from aligner.model import AcousticModel, NormPrior

    word, long = _held_vowel(60), _speech_like(9.0, seed=11)
    n_mels = word.shape[1]
    prior = NormPrior(torch.zeros(n_mels), torch.ones(n_mels), 100.0, (0.3, 0.6), (60.0, 120.0))
    feats = torch.zeros(2, long.shape[0], n_mels)
    feats[0], feats[1, : word.shape[0]] = long, word
    mask = torch.zeros(2, long.shape[0], dtype=torch.bool)
    mask[0], mask[1, : word.shape[0]] = True, True
    batch = AcousticModel.normalise(feats, mask, None, 25.0, 400, prior)
    alone = AcousticModel.normalise(word[None], torch.ones(1, word.shape[0], dtype=torch.bool),
                                    None, 25.0, 400, prior)[0]
    plain = AcousticModel.normalise(word[None], torch.ones(1, word.shape[0], dtype=torch.bool),
                                    None, 25.0, 400)[0]
    assert torch.allclose(batch[1, : word.shape[0]], alone, atol=1e-4)
    assert not torch.allclose(alone, plain, atol=1e-2)  # the prior did count
    assert torch.equal(batch[0], AcousticModel.normalise(feats, mask, None, 25.0, 400)[0])
