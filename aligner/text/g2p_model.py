"""The G2P network, forward pass in numpy (no torch needed to pronounce a word).

A small pre-norm transformer encoder reads the letters of a word; each letter emits `slots`
output frames, and a CTC-style greedy decoding (collapse repeats, drop blanks) turns the frames
into phones. Non-autoregressive, so one batched pass pronounces any number of words; numpy keeps
the text front-end light (the first unknown word costs a few milliseconds, not a torch import).

The training recipe (`recipes/g2p/train_g2p.py`) builds the same network in torch with the same
parameter names and saves it with `safetensors`; `tests/test_text_g2p.py` checks both agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LETTERS = "'abcdefghijklmnopqrstuvwxyz"
CHAR_TO_ID = {c: i + 1 for i, c in enumerate(LETTERS)}
BLANK = "<b>"


def encode_word(word: str, max_len: int) -> list[int]:
    """Letters -> ids (unknown characters dropped), cut to the model's maximum length."""
    ids = [CHAR_TO_ID[c] for c in word.lower() if c in CHAR_TO_ID]
    return ids[:max_len]


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * g + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


class G2PModel:
    """Weights + config; `predict` pronounces a batch of words."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict):
        # Linear weights are stored transposed and contiguous: x @ W is 4x faster than x @ W.T
        # on the tiny matrices of one word.
        self.w = {k: (np.ascontiguousarray(v.astype(np.float32).T) if k.endswith(".weight")
                      and v.ndim == 2 else v.astype(np.float32)) for k, v in weights.items()}
        self.config = config
        self.phones: list[str] = config["phones"]  # index 0 is the CTC blank
        self.layers = int(config["layers"])
        self.heads = int(config["heads"])
        self.slots = int(config["slots"])
        self.max_len = int(config["max_len"])

    @classmethod
    def load(cls, path: Path) -> "G2PModel":
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            config = json.loads(f.metadata()["config"])
            weights = {k: f.get_tensor(k) for k in f.keys()}
        return cls(weights, config)

    def logits(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """ids [B, L] (0 = pad) -> logits [B, L * slots, C]."""
        w = self.w
        bsz, n = ids.shape
        x = w["embed"][ids] + w["pos"][:n][None]
        mask = np.arange(n)[None, :] < lengths[:, None]  # [B, L] valid keys
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        d = x.shape[-1]
        hd = d // self.heads
        for i in range(self.layers):
            p = f"layers.{i}."
            h = _layer_norm(x, w[p + "ln1.weight"], w[p + "ln1.bias"])
            qkv = h @ w[p + "qkv.weight"] + w[p + "qkv.bias"]
            q, k, v = np.split(qkv, 3, axis=-1)
            q = q.reshape(bsz, n, self.heads, hd).transpose(0, 2, 1, 3)
            k = k.reshape(bsz, n, self.heads, hd).transpose(0, 2, 1, 3)
            v = v.reshape(bsz, n, self.heads, hd).transpose(0, 2, 1, 3)
            att = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            o = (att @ v).transpose(0, 2, 1, 3).reshape(bsz, n, d)
            x = x + o @ w[p + "out.weight"] + w[p + "out.bias"]
            h = _layer_norm(x, w[p + "ln2.weight"], w[p + "ln2.bias"])
            h = _gelu(h @ w[p + "ff1.weight"] + w[p + "ff1.bias"])
            x = x + h @ w[p + "ff2.weight"] + w[p + "ff2.bias"]
        x = _layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
        out = x @ w["head.weight"] + w["head.bias"]  # [B, L, slots * C]
        return out.reshape(bsz, n * self.slots, -1)

    def predict(self, words: list[str]) -> list[list[list[str]]]:
        """Greedy CTC decoding; one variant per word (ARPAbet with stress). Words longer than
        the model's window are pronounced in equal pieces, joined."""
        out: list[list[list[str]]] = []
        for word in words:
            letters = [c for c in word.lower() if c in CHAR_TO_ID]
            if len(letters) <= self.max_len:
                out.append([])
                continue
            k = -(-len(letters) // self.max_len)
            size = -(-len(letters) // k)
            parts = ["".join(letters[i: i + size]) for i in range(0, len(letters), size)]
            out.append([[p for part in self._predict(parts) for p in part[0]]])
        short = [w for w, o in zip(words, out) if not o]
        if short:
            it = iter(self._predict(short))
            out = [o or next(it) for o in out]
        return out

    def _predict(self, words: list[str]) -> list[list[list[str]]]:
        encoded = [encode_word(wd, self.max_len) or [CHAR_TO_ID["a"]] for wd in words]
        n = max(len(e) for e in encoded)
        ids = np.zeros((len(encoded), n), dtype=np.int64)
        for i, e in enumerate(encoded):
            ids[i, : len(e)] = e
        lengths = np.array([len(e) for e in encoded])
        best = self.logits(ids, lengths).argmax(-1)
        out = []
        for i, e in enumerate(encoded):
            frames = best[i, : len(e) * self.slots]
            phones = []
            prev = 0
            for f in frames:
                if f != prev and f != 0:
                    phones.append(self.phones[f])
                prev = f
            out.append([phones or ["AH0"]])
        return out
