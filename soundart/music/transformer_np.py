"""A shipped Music Transformer run with NumPy only, for sketching without importing torch.

Same maths as :meth:`soundart.music.transformer.MusicTransformer.step` in
float32: pre-norm blocks, relative attention over a key/value cache of at most
``max_len`` positions (the sliding window), exact (erf) GELU, tied output
layer. ``tests/music/test_transformer_np.py`` holds it against the torch model.
It follows the stepper protocol of :mod:`soundart.music.sample`:
``init_state(batch_size)`` and ``step(tokens (B,) ints, state) -> (logits (B, V), state)``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ModelError

LN_EPS = 1e-5


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class NumpyTransformer:
    """Incremental decoding of a ``music-transformer`` checkpoint with NumPy (float32)."""

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.config = config
        self.vocab_size = int(config["vocab_size"])
        self.n_heads = int(config["n_heads"])
        self.head_dim = int(config["d_model"]) // self.n_heads
        self.max_len = int(config["max_len"])
        w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        try:
            self.embed = w["embed.weight"]                                   # (V, D)
            self.ln_f = (w["ln_f.weight"], w["ln_f.bias"])
            self.blocks = []
            for i in range(int(config["n_layers"])):
                p = f"blocks.{i}."
                self.blocks.append({
                    "ln1": (w[p + "ln1.weight"], w[p + "ln1.bias"]),
                    "qkv": (np.ascontiguousarray(w[p + "attn.qkv.weight"].T), w[p + "attn.qkv.bias"]),
                    "out": (np.ascontiguousarray(w[p + "attn.out.weight"].T), w[p + "attn.out.bias"]),
                    "rel": w[p + "attn.rel_emb"],                            # (nh, max_len, hs)
                    "ln2": (w[p + "ln2.weight"], w[p + "ln2.bias"]),
                    "ff1": (np.ascontiguousarray(w[p + "ffn.0.weight"].T), w[p + "ffn.0.bias"]),
                    "ff2": (np.ascontiguousarray(w[p + "ffn.2.weight"].T), w[p + "ffn.2.bias"]),
                })
        except KeyError as exc:
            raise ModelError(f"music-transformer weights lack {exc.args[0]!r}") from None
        self.head = np.ascontiguousarray(self.embed.T)                      # (D, V), tied
        self.scale = np.float32(1.0 / math.sqrt(self.head_dim))

    @classmethod
    def load(cls, path: str | Path) -> NumpyTransformer:
        """From a checkpoint (``path`` with or without suffix) of kind ``music-transformer``."""
        from soundart.checkpoint import load_numpy

        doc, weights = load_numpy(path, "music-transformer")
        model = cls(doc["config"], weights)
        model.checkpoint = doc
        return model

    def init_state(self, batch_size: int) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """An empty cache: one (keys, values) pair per layer, filled by ``step``."""
        return [None] * len(self.blocks)

    def step(self, tokens: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """tokens (B,) ints -> (logits (B, V) float32, new state); the input state is not modified."""
        x = self.embed[np.asarray(tokens)]                                   # (B, D)
        b = x.shape[0]
        nh, hs = self.n_heads, self.head_dim
        new_state = []
        for blk, cache in zip(self.blocks, state):
            h = _layer_norm(x, *blk["ln1"])
            qkv = (h @ blk["qkv"][0] + blk["qkv"][1]).reshape(b, 3, nh, hs)
            q, k, v = qkv[:, 0], qkv[:, 1, :, None], qkv[:, 2, :, None]     # (B, nh, hs), (B, nh, 1, hs)
            if cache is not None:
                k = np.concatenate([cache[0], k], axis=2)
                v = np.concatenate([cache[1], v], axis=2)
            if k.shape[2] > self.max_len:                                    # sliding window
                k, v = k[:, :, -self.max_len:], v[:, :, -self.max_len:]
            s = k.shape[2]
            rel = blk["rel"][:, self.max_len - s:]                           # (nh, S, hs): distances S-1 .. 0
            scores = (np.einsum("bhd,bhsd->bhs", q, k) + np.einsum("bhd,hsd->bhs", q, rel)) * self.scale
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)                   # (B, nh, S)
            y = np.einsum("bhs,bhsd->bhd", attn, v).reshape(b, nh * hs)
            x = x + y @ blk["out"][0] + blk["out"][1]
            h = _layer_norm(x, *blk["ln2"])
            x = x + _gelu(h @ blk["ff1"][0] + blk["ff1"][1]) @ blk["ff2"][0] + blk["ff2"][1]
            new_state.append((k, v))
        x = _layer_norm(x, *self.ln_f)
        return (x @ self.head).astype(np.float32), new_state
