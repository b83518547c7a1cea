"""`ottc-align adapt`: the adaptation run's configuration, the guards (minimum corpus size,
held-out check, time budget), the step budget and length cap it relies on in the training
loop, and the command end to end on tiny tone corpora."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from aligner import adapt
from aligner.adapt import ADAPT_VITERBI_WEIGHT, Recording, adaptation_config, choose_held_out, too_small
from aligner.train import BUDGET_PROBE_STEPS, TrainError, budget_total, train
from tests.test_train import _cfg, _tone_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _tone_corpus(tmp_path_factory.mktemp("tones"), with_gold=True)


@pytest.fixture(scope="module")
def corpus16(tmp_path_factory) -> Path:
    """16 recordings: the 8 tone sentences twice (with other noise: not copies), under two
    'speakers' folders each."""
    root = tmp_path_factory.mktemp("tones16")
    for seed, part in enumerate(("a", "b")):
        _tone_corpus(root / part, with_gold=False, seed=seed)
    return root


@pytest.fixture(scope="module")
def base_model(corpus, tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("base")
    cfg = _cfg(tmp, corpus, "base", epochs=4, states=2)
    train(cfg, echo=lambda line: None)
    return Path(cfg.output)


@pytest.fixture
def small_minimum(monkeypatch):
    """Tone corpora are far below the real minimum: lower it for the tests that adapt."""
    monkeypatch.setattr(adapt, "ADAPT_MIN_UTTERANCES", 8)
    monkeypatch.setattr(adapt, "ADAPT_MIN_SECONDS", 5.0)


def _recordings(n: int, seconds: float) -> list[Recording]:
    return [Recording(Path("c"), f"s/u{k}", Path(f"c/s/u{k}.wav"), Path(f"c/s/u{k}.lab"), seconds)
            for k in range(n)]


def _weights(model_dir: Path) -> dict:
    from aligner.model import load_model

    return load_model(model_dir).state_dict()


def test_adaptation_config_is_hard_em_from_the_base_model(tmp_path):
    cfg = adaptation_config([tmp_path / "c"], tmp_path / "out", tmp_path / "base", tmp_path / "w",
                            steps=123, leave_out=["s/u1"], threads=1)
    assert cfg.init == str(tmp_path / "base") and cfg.loss == "ottc"
    assert cfg.steps == 123 and cfg.viterbi_aux == ADAPT_VITERBI_WEIGHT > 1
    assert cfg.dev == [] and cfg.short_first is False
    assert cfg.cache_dir == str(tmp_path / "w" / "features")
    assert cfg.max_minutes == adapt.ADAPT_MAX_MINUTES and cfg.leave_out == ["s/u1"]
    assert cfg.purpose == "adapt"  # what the card's first line says, whatever the model's name
    for bad in ({"steps": 0}, {"lr": 0.0}, {"viterbi_weight": -1.0}, {"max_minutes": 0.0}):
        with pytest.raises(ValueError):
            adaptation_config([tmp_path], tmp_path / "o", tmp_path / "b", tmp_path / "w", **bad)


def test_corpora_below_the_minimum_are_refused_with_what_is_enough():
    enough = adapt.ADAPT_MIN_SECONDS / adapt.ADAPT_MIN_UTTERANCES
    assert too_small(_recordings(adapt.ADAPT_MIN_UTTERANCES, enough)) is None
    few = too_small(_recordings(8, 11.0))
    assert few.startswith("8 recording(s) (1.4 min of audio")  # 1.47: not rounded up to 1.5
    assert f"at least {adapt.ADAPT_MIN_UTTERANCES} recordings" in few
    assert too_small(_recordings(adapt.ADAPT_MIN_UTTERANCES, 1.0)) is not None  # many, too short


def test_held_out_share_is_bounded_and_stable():
    assert len(choose_held_out(_recordings(100, 3.0), 0)) == 10
    assert len(choose_held_out(_recordings(20, 3.0), 0)) == adapt.HOLD_OUT_MIN
    assert len(choose_held_out(_recordings(5000, 3.0), 0)) == adapt.HOLD_OUT_MAX
    assert len(choose_held_out(_recordings(3, 3.0), 0)) == 2  # never the whole corpus
    recs = _recordings(100, 3.0)
    assert choose_held_out(recs, 0) == choose_held_out(list(recs), 0) != choose_held_out(recs, 1)


def test_budget_total_shrinks_to_the_pace_and_never_grows():
    assert budget_total(500, BUDGET_PROBE_STEPS - 1, 1000.0, 60.0) == 500  # still probing
    assert budget_total(500, 20, 10.0, 600.0) == 500                     # 0.5 s/step: all fit
    assert budget_total(500, 20, 40.0, 600.0) == 300                     # 2 s/step: 300 fit
    assert budget_total(500, 400, 900.0, 600.0) == 400                   # spent: stop now


def test_time_budget_shortens_the_schedule(corpus, tmp_path):
    lines: list[str] = []
    cfg = _cfg(tmp_path, corpus, "budget", steps=60, max_minutes=1e-6)  # spent after the probe
    summary = train(cfg, echo=lines.append)
    assert summary["steps_run"] == BUDGET_PROBE_STEPS < summary["steps_planned"]
    assert any(f"{BUDGET_PROBE_STEPS} of {summary['steps_planned']} steps fit" in line for line in lines)
    ckpt = torch.load(Path(cfg.work_dir) / "checkpoint.pt", weights_only=False)
    assert ckpt["total"] == BUDGET_PROBE_STEPS
    again = train(_cfg(tmp_path, corpus, "budget", steps=60, max_minutes=1e-6, resume=True),
                  echo=lambda line: None)
    assert again["steps_run"] == BUDGET_PROBE_STEPS  # a resumed run keeps the shortened total


def test_left_out_utterances_are_not_trained_on(corpus, tmp_path):
    summary = train(_cfg(tmp_path, corpus, "held", epochs=1, max_steps=1, leave_out=["spk0/u0", "spk1/u3"]),
                    echo=lambda line: None)
    assert summary["utterances"] == 6
    every = [f"spk{k % 2}/u{k}" for k in range(8)]
    with pytest.raises(TrainError, match="every utterance was left out"):
        train(_cfg(tmp_path, corpus, "held2", epochs=1, leave_out=every), echo=lambda line: None)


def test_held_out_check_compares_confidence_on_unseen_recordings(corpus, base_model):
    from aligner.model import AcousticModel, ModelConfig, load_model

    trained = load_model(base_model)
    torch.manual_seed(0)
    untrained = AcousticModel(ModelConfig.from_dict(trained.config.to_dict())).eval()
    recs = adapt.usable_recordings([corpus], 60.0)
    held = choose_held_out(recs, 0)
    sample = adapt.trained_sample(recs, held, 0)
    assert len(sample) == min(len(held), len(recs) - len(held)) and not set(sample) & set(held)
    check = adapt.check_held_out(untrained, trained, held, sample)
    assert check.recordings == len(held) and check.adapted_held > check.base_held
    assert check.adapted_is_better and "held-out recordings" in check.describe()
    assert not adapt.check_held_out(trained, untrained, held, sample).adapted_is_better


def test_step_budget_replaces_epochs(corpus, tmp_path):
    # 8 utterances with max_frames 900 make several batches per epoch; a budget of 7 steps
    # must run whole epochs until at least 7 steps are done, whatever `epochs` says
    cfg = _cfg(tmp_path, corpus, "budget", epochs=50, steps=7)
    summary = train(cfg, echo=lambda line: None)
    steps = [h["step"] for h in summary["history"]]
    per_epoch = steps[0]
    assert len(steps) == math.ceil(7 / per_epoch) < 50
    assert 7 <= steps[-1] < 7 + per_epoch


def test_long_utterances_are_left_out_and_all_too_long_is_an_error(corpus, tmp_path):
    lines: list[str] = []
    cfg = _cfg(tmp_path, corpus, "cap", epochs=1, max_steps=1, max_utterance_s=0.83)
    summary = train(cfg, echo=lines.append)
    assert 0 < summary["utterances"] < 8
    assert any("left out" in line and "longer than 0.83 s" in line for line in lines)
    with pytest.raises(TrainError, match="every utterance is longer than 0.1 s"):
        train(_cfg(tmp_path, corpus, "cap2", epochs=1, max_utterance_s=0.1), echo=lambda line: None)


def _adapt(corpus: Path, out: Path, base: Path, *args: str):
    from typer.testing import CliRunner

    from aligner.cli import app

    return CliRunner().invoke(app, ["adapt", str(corpus), "-o", str(out), "--model", str(base),
                                    "--threads", "1", *args])


def test_recordings_with_empty_transcripts_do_not_count(corpus, tmp_path):
    import shutil

    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    first, second = sorted(copy.rglob("*.lab"))[:2]
    first.write_text("  \n", encoding="utf-8")
    # a time-stamped label file: training skips it, so it is not counted either
    second.write_text("0.0 0.5 a\n0.5 1.0 b\n1.0 1.5 c\n", encoding="utf-8")
    before = adapt.usable_recordings([corpus], 60.0)
    assert len(adapt.usable_recordings([copy], 60.0)) == len(before) - 2
    # a CHAT file: its timed lines are no one text to train on (its headers were trained on)
    third = sorted(copy.rglob("*.lab"))[2]
    third.with_suffix(".cha").write_text("@Begin\n*PAR:\tbee see dough .\n%mor:\tn|bee\n@End\n",
                                         encoding="utf-8")
    third.unlink()
    assert len(adapt.usable_recordings([copy], 60.0)) == len(before) - 3


def test_cli_refuses_a_corpus_too_small_and_writes_nothing(corpus, base_model, tmp_path):
    result = _adapt(corpus, tmp_path / "m", base_model)
    assert result.exit_code == 2
    assert "8 recording(s)" in result.output and "too few to adapt to safely" in result.output
    assert f"at least {adapt.ADAPT_MIN_UTTERANCES} recordings" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists() and not (tmp_path / "m-train").exists()


def test_cli_reads_only_the_base_model_config_before_training(corpus, base_model, tmp_path, monkeypatch):
    """Checking the corpus needs the base model's name, not its weights."""
    import aligner.model

    def no_weights(*args, **kwargs):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr(aligner.model, "load_model", no_weights)
    result = _adapt(corpus, tmp_path / "m", base_model)
    assert result.exit_code == 2 and "too few to adapt to safely" in result.output


def test_cli_damaged_base_weights_are_a_one_line_error(corpus16, base_model, tmp_path, small_minimum):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(base_model, broken)
    (broken / "model.safetensors").write_bytes(b"not a tensor file")
    result = _adapt(corpus16, tmp_path / "m", broken)
    assert result.exit_code == 2, result.output
    assert f"{broken / 'model.safetensors'}: damaged" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_cli_adapts_and_keeps_the_adapted_model_when_it_helps(corpus16, base_model, tmp_path, small_minimum,
                                                              monkeypatch):
    import aligner.cli.adapt as adapt_cli
    from aligner.align import Aligner

    # honest confidence: a model surer of what it was adapted to than of new recordings says
    # so (here any margin counts, so the note must be printed)
    monkeypatch.setattr(adapt_cli, "MEMORISED", -1.0)
    out = tmp_path / "adapted"
    result = _adapt(corpus16, out, base_model, "--steps", "30", "--lr", "1e-2")
    assert result.exit_code == 0, result.output
    assert "much surer of the recordings it was adapted to" in result.output
    assert "16 recordings" in result.output and f"{adapt.HOLD_OUT_MIN} held out" in result.output
    assert "adapted model written to" in result.output and "align with" in result.output
    assert "judges the adapted model by proxies" in result.output  # what the check cannot see
    config = json.loads((out / "config.json").read_text())
    assert config["name"].endswith("-adapted") and config["states"] == 2
    card = (out / "MODEL_CARD.md").read_text()
    assert card.splitlines()[2].startswith(f"Adapted with `ottc-align adapt` from `{base_model}`: 30 steps")
    assert "## Held-out check" in card and "the adapted model was kept" in card
    ckpt = torch.load(tmp_path / "adapted-train" / "checkpoint.pt", weights_only=False)
    assert ckpt["train_config"]["viterbi_aux"] == ADAPT_VITERBI_WEIGHT and ckpt["step"] >= 30
    assert len(ckpt["train_config"]["leave_out"]) == adapt.HOLD_OUT_MIN
    before, after = _weights(base_model), _weights(out)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    result = Aligner.load(out).align(next(corpus16.glob("a/*/u0.wav")), "bee see dough")
    assert [w.label for w in result.words if w.label] == ["bee", "see", "dough"]


def test_cli_keeps_the_base_model_when_adapting_does_not_help(corpus16, base_model, tmp_path, small_minimum):
    out = tmp_path / "kept"
    result = _adapt(corpus16, out, base_model, "--steps", "12", "--lr", "3")  # a rate that wrecks it
    assert result.exit_code == 0, result.output
    assert "adapting did not help" in result.output and f"{out} holds the model it started from" in result.output
    assert "judges the adapted model by proxies" not in result.output
    assert "much surer" not in result.output  # the model written is the one it started from
    before, after = _weights(base_model), _weights(out)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert json.loads((out / "config.json").read_text()) == json.loads((base_model / "config.json").read_text())
    assert "this is the model it started from" in (out / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("args,message", [
    (["--steps", "0"], "--steps must be at least 1"),
    (["--max-minutes", "0"], "--max-minutes must be positive"),
    (["--model", "no-such-model"], "no-such-model"),
    (["--threads", "-2"], "--threads -2: give 1 or more"),  # was an internal error, after training
])
def test_cli_bad_options_are_one_line_errors(corpus16, tmp_path, args, message, small_minimum):
    from typer.testing import CliRunner

    from aligner.cli import app

    result = CliRunner().invoke(app, ["adapt", str(corpus16), "-o", str(tmp_path / "m"), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_cli_an_output_that_cannot_be_written_is_refused_before_training(corpus16, tmp_path,
                                                                         small_minimum):
    """`-o` naming an existing file trained for the whole budget, then failed with "internal
    error: FileExistsError"."""
    from typer.testing import CliRunner

    from aligner.cli import app

    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["adapt", str(corpus16), "-o", str(tmp_path / "afile")])
    assert result.exit_code == 2 and "a model is written to a folder" in result.output
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "afile-train").exists()


def test_cli_empty_or_missing_corpus_is_a_one_line_error(base_model, tmp_path):
    (tmp_path / "empty").mkdir()
    result = _adapt(tmp_path / "empty", tmp_path / "m", base_model)
    assert result.exit_code == 2
    assert "no recordings with transcripts" in result.output and "Traceback" not in result.output
    result = _adapt(tmp_path / "nowhere", tmp_path / "m", base_model)
    assert result.exit_code == 2 and "nowhere: corpus folder not found" in result.output
    assert not (tmp_path / "m").exists()


def _distinct_gold(corpus: Path, into: Path) -> Path:
    """A copy of the gold tone corpus whose recordings are 10 ms longer: the same names as the
    tone corpora's but other recordings (an exact copy counts as the corpus's own)."""
    import shutil

    import soundfile as sf

    shutil.copytree(corpus, into)
    for wav in into.rglob("*.wav"):
        data, rate = sf.read(wav)
        sf.write(wav, np.concatenate([data, np.zeros(160)]), rate)
    return into


def test_gold_check_prefers_the_model_nearer_the_hand_placed_boundaries(corpus, base_model):
    from aligner.model import AcousticModel, ModelConfig, load_model
    from aligner.phone_folding import load_folding

    trained = load_model(base_model)
    torch.manual_seed(0)
    untrained = AcousticModel(ModelConfig.from_dict(trained.config.to_dict())).eval()
    gold = adapt.gold_recordings(corpus)
    assert len(gold) == 8
    folding = load_folding("cmu39")
    check = adapt.check_gold(untrained, trained, gold, folding)
    assert check.base.tier == check.adapted.tier == "phones" and check.base.boundaries > 0
    assert check.adapted.within > check.base.within and check.adapted_is_better
    assert "phones boundaries within 20 ms of the hand-placed ones on 8" in check.describe()
    assert check.few  # 8 tone sentences: far too few boundaries to tell small differences
    assert not adapt.check_gold(trained, untrained, gold, folding).adapted_is_better
    assert not adapt.check_gold(trained, trained, gold, folding).adapted_is_better  # a tie keeps the base


def test_gold_recordings_errors_name_the_folder_or_file(corpus, tmp_path):
    import shutil

    with pytest.raises(ValueError, match="--gold folder not found"):
        adapt.gold_recordings(tmp_path / "nowhere")
    plain = tmp_path / "plain"
    _tone_corpus(plain, with_gold=False)
    with pytest.raises(ValueError, match="no hand-labelled recordings found"):
        adapt.gold_recordings(plain)
    broken = tmp_path / "broken"
    shutil.copytree(corpus, broken)
    bad = sorted(broken.rglob("*.TextGrid"))[0]
    bad.write_text("File type = \"ooTextFile\"\nObject class = \"TextGrid\"\nxmin = 0\n")
    with pytest.raises(ValueError, match=bad.name):
        adapt.gold_recordings(broken)


def test_gold_recordings_inside_the_corpus_are_left_out_of_training(corpus, corpus16, tmp_path):
    import shutil

    root = tmp_path / "c"
    shutil.copytree(corpus16, root)
    _distinct_gold(corpus, root / "g")
    recs = adapt.usable_recordings([root], 60.0)
    inside = adapt.gold_in_corpus(recs, adapt.gold_recordings(root / "g"))
    assert sorted(r.name for r in inside) == sorted(f"g/spk{k % 2}/u{k}" for k in range(8))
    # copies elsewhere (same name and size: recordings copied out to label them in Praat)
    # count too: the tone corpus16 holds the gold corpus's 8 sentences twice, in a/ and b/
    copies = adapt.gold_in_corpus(recs, adapt.gold_recordings(corpus))
    assert {r.name.split("/")[0] for r in copies} == {"a", "b"} and len(copies) == 16
    other = _distinct_gold(corpus, tmp_path / "other")  # the same names, other recordings
    assert adapt.gold_in_corpus(adapt.usable_recordings([corpus16], 60.0),
                                adapt.gold_recordings(other)) == []


def test_cli_gold_decides_and_is_never_trained_on(corpus, corpus16, base_model, tmp_path, small_minimum):
    import shutil

    root = tmp_path / "c"
    shutil.copytree(corpus16, root)
    _distinct_gold(corpus, root / "g")
    out = tmp_path / "kept"
    result = _adapt(root, out, base_model, "--gold", str(root / "g"), "--steps", "12", "--lr", "3")
    assert result.exit_code == 0, result.output
    assert "judged on 8 hand-labelled recording(s) (8 of them in the corpus, not trained on)" in result.output
    assert "adapting did not help (phones boundaries within 20 ms of the hand-placed ones" in result.output
    assert "mean word confidence on" in result.output  # the held-out figures still shown
    assert "hand-placed boundaries can tell only large differences" in result.output
    assert "judges the adapted model by proxies" not in result.output
    ckpt = torch.load(tmp_path / "kept-train" / "checkpoint.pt", weights_only=False)
    left_out = set(ckpt["train_config"]["leave_out"])
    assert {f"g/spk{k % 2}/u{k}" for k in range(8)} <= left_out
    before, after = _weights(base_model), _weights(out)
    assert all(torch.equal(before[k], after[k]) for k in before)
    card = (out / "MODEL_CARD.md").read_text()
    assert "hand-placed ones on 8" in card and "this is the model it started from" in card


def test_cli_gold_errors_stop_before_training(corpus, base_model, tmp_path, small_minimum):
    result = _adapt(corpus, tmp_path / "m", base_model, "--gold", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "--gold folder not found" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m-train").exists()
    # the gold is the whole corpus: nothing is left to train on
    result = _adapt(corpus, tmp_path / "m", base_model, "--gold", str(corpus))
    assert result.exit_code == 2 and "too few to adapt to safely" in result.output
    assert "not counting the 8 --gold recording(s) in it" in result.output
    result = _adapt(corpus, tmp_path / "m", base_model, "--gold", str(corpus), "--gold-fold", "klingon")
    assert result.exit_code == 2 and "klingon" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists() and not (tmp_path / "m-train").exists()


def test_landmark_strength_is_the_sharpest_change_near_each_boundary():
    import numpy as np

    from aligner.alignment import Interval

    change = np.ones(400)  # 1 s at 2.5 ms
    change[200] = 9.0      # an abrupt change at 0.50125 s (frame 200's centre)
    on = [Interval(0.1, 0.501, "AA"), Interval(0.501, 0.8, "B")]
    off = [Interval(0.1, 0.56, "AA"), Interval(0.56, 0.8, "B")]  # 60 ms late
    assert adapt.landmark_strength(on, change, 0.0025) == pytest.approx([1.0, 9.0, 1.0])
    assert adapt.landmark_strength(off, change, 0.0025) == pytest.approx([1.0, 1.0, 1.0])
    assert adapt.landmark_strength([Interval(0.2, 0.4, "")], change, 0.0025) == []  # silence: none
    assert adapt.landmark_strength(on, np.ones(0), 0.0025) == []


def test_held_out_check_needs_both_confidence_and_landmarks():
    rising = dict(recordings=5, base_held=0.4, adapted_held=0.6, base_trained=0.4, adapted_trained=0.9)
    assert adapt.HeldOutCheck(**rising, base_landmarks=2.5, adapted_landmarks=2.6).adapted_is_better
    drifted = adapt.HeldOutCheck(**rising, base_landmarks=2.59, adapted_landmarks=2.49)
    assert not drifted.adapted_is_better  # surer, but its boundaries left the spectral changes
    assert "spectral change at their phone boundaries 2.59 -> 2.49 x the median" in drifted.describe()
    falling = dict(rising, adapted_held=0.3)
    assert not adapt.HeldOutCheck(**falling, base_landmarks=2.5, adapted_landmarks=2.6).adapted_is_better


def test_resume_refuses_a_checkpoint_that_left_other_recordings_out(tmp_path):
    """Resumed with another --gold, recordings trained on were called unseen (review)."""
    assert adapt.resumed_leave_out_conflict(tmp_path, ["s/u1"]) is None  # nothing to resume
    torch.save({"train_config": {"leave_out": ["s/u1", "s/u2"]}}, tmp_path / "checkpoint.pt")
    assert adapt.resumed_leave_out_conflict(tmp_path, ["s/u2", "s/u1"]) is None  # same, any order
    why = adapt.resumed_leave_out_conflict(tmp_path, ["s/u1", "g/u9"])
    assert "left other recordings out of training" in why and "same --gold and --seed" in why


def test_landmarks_of_a_recording_half_digital_silence_stay_on_its_scale():
    from aligner.alignment import Interval

    change = np.concatenate([np.zeros(400), np.ones(200), np.zeros(400)])  # zeros: no change
    change[500] = 4.0
    strength = adapt.landmark_strength([Interval(1.1, 1.251, "AA"), Interval(1.251, 1.4, "B")],
                                       change, 0.0025)
    assert max(strength) == pytest.approx(4.0) and min(strength) == pytest.approx(1.0)


def test_gold_check_keeps_the_base_when_the_adapted_model_fails_another_recording():
    base = adapt.GoldFigures("phones", 300, 0.70, 15.0, frozenset({"a"}))
    assert not adapt.GoldCheck(8, base, adapt.GoldFigures("phones", 290, 0.75, 14.0,
                                                          frozenset({"b"}))).adapted_is_better
    assert adapt.GoldCheck(8, base, adapt.GoldFigures("phones", 290, 0.75, 14.0,
                                                      frozenset({"a"}))).adapted_is_better
    nothing = adapt.GoldFigures("phones", 0, 0.0, float("nan"), frozenset({"a", "b"}))
    better = adapt.GoldCheck(2, nothing, adapt.GoldFigures("phones", 40, 0.8, 12.0))
    assert better.adapted_is_better and "phones boundaries" in better.describe()
    assert "2 -> 0 recording(s) not aligned" in better.describe()


def test_copies_of_recordings_are_neither_counted_nor_trained_on(tmp_path):
    """20 recordings copied three times passed the size check, and the held-out ones were copies
    of some trained on: the check that keeps the base model judged the training data."""
    root = tmp_path / "c"
    (root / "s").mkdir(parents=True)
    for k in range(3):
        (root / "s" / f"u{k}.wav").write_bytes(bytes([k]) * 100)
    for k in range(3, 6):  # copies of u0-u2, and one of the same size that differs
        (root / "s" / f"u{k}.wav").write_bytes(bytes([k - 3]) * 100)
    (root / "s" / "u6.wav").write_bytes(bytes([9]) * 100)
    recs = [Recording(root, f"s/u{k}", root / "s" / f"u{k}.wav", root / "s" / f"u{k}.lab", 10.0)
            for k in range(7)]
    assert [r.name for r in adapt.copies(recs)] == ["s/u3", "s/u4", "s/u5"]
    assert too_small(_recordings(29, 118.5 / 29)).startswith("29 recording(s) (1.9 min")
