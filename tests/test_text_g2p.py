"""G2P: the numpy inference matches the torch training network; the shipped model is sane."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aligner.text import g2p
from aligner.text.g2p_model import G2PModel, encode_word
from aligner.text.phones import PHONES


def test_numpy_forward_matches_torch_network():
    from recipes.g2p.train_g2p import G2PNet, export

    torch.set_num_threads(1)
    torch.manual_seed(0)
    phones = ["<b>"] + ["AH0", "B", "K", "T"]
    config = {"phones": phones, "layers": 2, "heads": 2, "d": 16, "slots": 3, "max_len": 12,
              "ff": 24}
    net = G2PNet(len(phones), 16, 2, 2, 24, 3, 12, dropout=0.0).eval()
    words = ["cat", "abacus", "b"]
    enc = [encode_word(w, 12) for w in words]
    ids = torch.zeros(3, max(map(len, enc)), dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e)
    lengths = torch.tensor([len(e) for e in enc])
    with torch.no_grad():
        ref = net(ids, lengths).numpy()
    model = export(net, config)
    got = model.logits(ids.numpy(), lengths.numpy())
    for i, n in enumerate(lengths.tolist()):  # padded positions may differ; valid ones agree
        np.testing.assert_allclose(got[i, : n * 3], ref[i, : n * 3], rtol=1e-4, atol=1e-4)


def test_rules_fallback_gives_phones():
    p = g2p.rules_g2p("thinking")
    assert p[0] == "TH" and all(x.rstrip("012") in PHONES for x in p)


@pytest.mark.skipif(not g2p.MODEL_PATH.exists(), reason="no shipped G2P weights")
def test_shipped_model_pronounces_plausibly():
    model = G2PModel.load(g2p.MODEL_PATH)
    preds = model.predict(["blick", "shampooed", "zorble"])
    for (p,) in preds:
        assert p and all(x.rstrip("012") in PHONES for x in p)
    assert [x.rstrip("012") for x in preds[0][0]] == ["B", "L", "IH", "K"]
    assert preds[1][0][0] == "SH"


def test_predict_is_cached_and_returns_copies():
    a = g2p.predict("glorptastic")
    a[0].append("X")
    assert "X" not in g2p.predict("glorptastic")[0]


@pytest.mark.skipif(not g2p.MODEL_PATH.exists(), reason="no shipped G2P weights")
def test_long_words_are_pronounced_in_pieces():
    model = G2PModel.load(g2p.MODEL_PATH)
    word = "supercalifragilisticexpialidocious" * 2  # longer than the model's window
    (long_pron,), (short_pron,) = model.predict([word, "cat"])
    assert len(long_pron) > 40
    assert [p.rstrip("012") for p in short_pron] == ["K", "AE", "T"]
