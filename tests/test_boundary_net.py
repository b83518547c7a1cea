"""The boundary network (aligner/boundary_net.py): its two paths give the same numbers, a long
recording's pieces join seamlessly, the moves keep every phone and the order, and a model
directory that holds one loads, aligns with it, and refuses a broken one. The recipe that
trains it (recipes/train/boundary_net.py) is run on a few fake utterances."""

from __future__ import annotations

import json

import pytest
import torch

from aligner.alignment import Interval
from aligner.boundary_net import (HOP, MIN_PHONE, SILENCE_ID, BoundaryNet, conv_as_product,
                                  move_boundaries, phone_id, piece_rows)
from aligner.features import CHANGE_MARGIN, FinePiece
from tests.conftest import speechlike


def _net(stride: int = 1, seed: int = 0) -> BoundaryNet:
    torch.manual_seed(seed)
    return BoundaryNet(channels=8, stride=stride, hidden=16, embed=4).eval()


def _moving_by(ms: float, stride: int = 1) -> BoundaryNet:
    """A network that moves every boundary later by the same amount (its readout's bias)."""
    net = _net(stride)
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias.fill_(ms)
    return net


@pytest.mark.parametrize("stride", [1, 2])
def test_the_training_crops_give_what_the_recording_gives(stride):
    net = _net(stride)
    pad = net.pad
    mel = torch.randn(300, 40)
    padded = torch.nn.functional.pad(mel, (0, 0, pad, pad))
    rows = net.features_of(padded[None])[0]
    frames = torch.tensor([0, 10, 150, 298]) // stride * stride  # the edges too
    crops = torch.stack([padded[k: k + 2 * pad + 1] for k in frames.tolist()])
    left, right = torch.tensor([1, 5, 9, 30]), torch.tensor([4, 1, 22, 1])
    with torch.no_grad():
        from_crops = net.crop_moves_ms(crops, left, right)
        from_rows = net.moves_ms(rows, frames // stride + pad // stride, left, right)
    torch.testing.assert_close(from_crops, from_rows, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (1, 2), (1, 4)])
def test_convolution_as_a_product_is_the_convolution(stride, dilation):
    torch.manual_seed(1)
    conv = torch.nn.Conv1d(6, 5, 5, stride=stride, dilation=dilation, padding=2 * dilation)
    x = torch.randn(2, 37, 6)
    with torch.no_grad():
        expected = conv(x.transpose(1, 2)).transpose(1, 2)
        torch.testing.assert_close(conv_as_product(x, conv), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_pieces_of_a_long_recording_join_into_the_whole_recordings_rows(stride):
    net = _net(stride)
    total, chunk = 701, 200
    mel = torch.randn(total, 40)
    whole = piece_rows(net, FinePiece(0, total, 0, total, mel))
    parts = []
    for first in range(0, total, chunk):
        last = min(total, first + chunk)
        lo, hi = max(0, first - CHANGE_MARGIN), min(total, last + CHANGE_MARGIN)
        parts.append(piece_rows(net, FinePiece(first, last, lo, total, mel[lo:hi])))
    joined = torch.cat(parts)
    assert joined.shape == whole.shape
    assert len(whole) == -(-(total + 2 * net.pad) // stride)
    torch.testing.assert_close(joined, whole, atol=1e-5, rtol=1e-5)


def test_phone_ids_drop_stress_and_know_silence_but_not_markup():
    assert phone_id("AH0") == phone_id("ah") != SILENCE_ID
    assert phone_id("") == phone_id("sil") == SILENCE_ID
    assert phone_id("spn") is None and phone_id("<blank>") is None


def _phones():
    return [Interval(0.0, 0.3, ""), Interval(0.3, 0.4, "HH"), Interval(0.4, 0.55, "AH0"),
            Interval(0.55, 0.6, "L"), Interval(0.6, 0.9, ""), Interval(0.9, 1.2, ""),
            Interval(1.2, 1.3, "spn"), Interval(1.3, 1.5, "OW1"), Interval(1.6, 1.8, "N")]


def test_boundaries_move_by_what_the_network_says():
    net = _moving_by(10.0)
    mel = torch.zeros(int(2.0 / HOP), 40)
    rows = piece_rows(net, FinePiece(0, len(mel), 0, len(mel), mel))
    out = move_boundaries(_phones(), rows, net)
    move = 60.0 * float(torch.tanh(torch.tensor(10.0 / 60.0))) / 1000.0
    assert [p.label for p in out] == [p.label for p in _phones()]
    assert out[1].start == pytest.approx(0.3 + move, abs=1e-6)  # silence to speech moves
    assert out[2].start == pytest.approx(0.4 + move, abs=1e-6)
    assert out[3].end == pytest.approx(0.6 + move, abs=1e-6)
    assert out[5].start == 0.9  # between two silences: stays
    assert out[6].start == 1.2 and out[7].start == 1.3  # next to markup: stays
    assert out[8].start == 1.6 and out[7].end == 1.5  # not touching: stays
    for a, b in zip(out, out[1:]):
        assert a.end <= b.start + 1e-9
    # a pause word's silence (index 4, `{SL}`): its edges stay, as a gap's would
    kept = move_boundaries(_phones(), rows, net, pauses={4})
    assert kept[3].end == kept[4].start == 0.6 and kept[4].end == 0.9
    assert kept[:3] == out[:3] and kept[3].start == out[3].start


def test_a_large_move_leaves_each_phone_its_minimum_and_the_order():
    net = _moving_by(1000.0)  # +60 ms, more than the short phones hold
    mel = torch.zeros(int(2.0 / HOP), 40)
    rows = piece_rows(net, FinePiece(0, len(mel), 0, len(mel), mel))
    before = _phones()
    out = move_boundaries(before, rows, net)
    for a, b in zip(before, out):
        assert b.end - b.start >= min(MIN_PHONE, a.end - a.start) - 1e-9
    for a, b in zip(out, out[1:]):
        assert a.start <= a.end <= b.start + 1e-9


def test_a_model_directory_with_a_boundary_network_loads_and_aligns(tmp_path):
    from aligner.align import Aligner
    from aligner.model import AcousticModel, ModelConfig, load_model, save_model

    torch.manual_seed(0)
    config = ModelConfig(dim=16, expand=1, blocks=1, dilations=[1], dropout=0.0,
                         boundary_net={"channels": 8, "stride": 1, "hidden": 16, "embed": 4})
    save_model(AcousticModel(config).eval(), tmp_path / "m")
    aligner = Aligner(load_model(tmp_path / "m"))
    assert aligner.model.boundary_net is not None
    wave = speechlike(2.0)
    with torch.no_grad():  # a network that moves every boundary 30 ms later
        aligner.model.boundary_net.head[-1].weight.zero_()
        aligner.model.boundary_net.head[-1].bias.fill_(35.0)
    moved = aligner.align(wave, "hello there my friend", sample_rate=16000)
    aligner.place_boundaries = False
    kept = aligner.align(wave, "hello there my friend", sample_rate=16000)
    assert [p.label for p in moved.phones] == [p.label for p in kept.phones]
    assert [p.start for p in moved.phones] != [p.start for p in kept.phones]
    for w in moved.words:  # the words follow their phones
        assert any(abs(p.start - w.start) < 1e-9 for p in moved.phones)


def test_a_broken_boundary_network_config_is_a_one_line_model_error(tiny_model_dir, tmp_path):
    import shutil

    from aligner.model import ModelError, load_model

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    config = json.loads((broken / "config.json").read_text())
    config["boundary_net"] = {"channels": 8, "stride": 3}
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="config.json: boundary_net: stride"):
        load_model(broken)
    config["boundary_net"] = {"channels": 8}  # sizes right, weights missing
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="weights do not match"):
        load_model(broken)


def test_the_recipe_trains_resumes_and_attaches(tiny_model_dir, tmp_path, monkeypatch, capsys):
    import argparse
    import shutil

    from aligner.model import load_model
    from recipes.train import boundary_net as recipe

    data = {"mels": [torch.randn(400, 40).half() for _ in range(3)],
            "bounds": [torch.tensor([[0.2, 1, 5], [0.5, 5, 9], [0.8, 9, 1]], dtype=torch.float64)
                       for _ in range(3)]}
    torch.save(data, tmp_path / "d.pt")
    monkeypatch.setattr(recipe, "CHECK_EVERY", 2)
    args = argparse.Namespace(train=[tmp_path / "d.pt"], dev=tmp_path / "d.pt",
                              out=tmp_path / "net.pt", steps=3, batch=8, lr=1e-3, channels=8,
                              stride=1, hidden=16, embed=4, seed=0, threads=1)
    calls = {"n": 0}
    real_loss = torch.nn.functional.smooth_l1_loss

    def loss_then_stop(*a, **k):  # a session that ends during step 3, after step 2's checkpoint
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_loss(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "smooth_l1_loss", loss_then_stop)
    with pytest.raises(KeyboardInterrupt):
        recipe.train(args)
    model = tmp_path / "m"
    shutil.copytree(tiny_model_dir, model)
    with pytest.raises(SystemExit, match="step 2 of 3"):
        recipe.attach(args.out, model)
    capsys.readouterr()
    recipe.train(args)  # continues from step 2
    assert "continuing" in capsys.readouterr().out
    saved = torch.load(args.out, weights_only=False)
    assert saved["step"] == 3
    recipe.attach(args.out, model)
    loaded = load_model(model)
    assert loaded.boundary_net is not None
    torch.testing.assert_close(loaded.boundary_net.head[-1].bias, saved["state"]["head.2.bias"])


def test_the_recipes_gold_boundaries_give_gaps_to_silence_and_skip_markup():
    from recipes.train.boundary_net import gold_boundaries

    phones = [Interval(0.1, 0.2, "HH"), Interval(0.2, 0.3, "AH"), Interval(0.4, 0.5, "spn"),
              Interval(0.6, 0.7, "L")]
    got = gold_boundaries(phones, 1.0)
    hh, ah, l_ = phone_id("HH"), phone_id("AH"), phone_id("L")
    assert got == [(0.1, SILENCE_ID, hh), (0.2, hh, ah), (0.3, ah, SILENCE_ID),
                   (0.6, SILENCE_ID, l_), (0.7, l_, SILENCE_ID)]


def test_the_recipe_trains_on_several_caches_as_one_set(tmp_path):
    from recipes.train import boundary_net as recipe

    for name, n in (("a.pt", 2), ("b.pt", 3)):
        torch.save({"mels": [torch.full((50, 40), float(n)).half() for _ in range(n)],
                    "bounds": [torch.tensor([[0.05, 1, 5]], dtype=torch.float64)] * n},
                   tmp_path / name)
    data = recipe.load_boundaries([tmp_path / "a.pt", tmp_path / "b.pt"])
    assert [float(m[0, 0]) for m in data["mels"]] == [2.0, 2.0, 3.0, 3.0, 3.0]
    utt, t, left, right = recipe.flat_boundaries(data)
    assert utt.tolist() == [0, 1, 2, 3, 4] and left.tolist() == [1] * 5
