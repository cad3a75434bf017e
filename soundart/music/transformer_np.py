"""A shipped Music Transformer run with NumPy only, for sketching without importing torch.

Same maths as :meth:`soundart.music.transformer.MusicTransformer.step` in
float32: pre-norm blocks, relative attention over a key/value cache, exact
(erf) GELU, tied output layer. ``tests/music/test_transformer_np.py`` holds it
against the torch model. It follows the stepper protocol of
:mod:`soundart.music.sample`: ``init_state(batch_size)`` and
``step(tokens (B,) ints, state) -> (logits (B, V), state)``.

Beyond the trained context (``max_len`` tokens) the torch model slides its
window, which soon drops a sketch's control header (BOS STYLE KEY METER
TEMPO): the model then no longer sees the key it was asked for. Every
training window opens with that header followed by whole bars, so here, for
sequences that open with BOS, a full cache is instead rebuilt from the header
plus the latest bars (at most half the context, so rebuilds stay rare) --
the kind of window the model was trained on. ``header_len=0`` gives the plain
sliding window, identical to the torch model's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from soundart.checkpoint import check_shapes
from soundart.errors import ModelError
from soundart.music.tokens import Codec

LN_EPS = 1e-5


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _expected_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The tensor shapes ``MusicTransformer(config)`` has, so a config that does not fit its weights is
    one line at load time, not a matmul traceback mid-sketch."""
    try:
        v, d, f = int(config["vocab_size"]), int(config["d_model"]), int(config["d_ff"])
        nh, layers, max_len = int(config["n_heads"]), int(config["n_layers"]), int(config["max_len"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"music-transformer config is incomplete or not numeric ({exc})") from None
    if nh < 1 or d % nh:
        raise ModelError(f"music-transformer config: d_model {d} is not a multiple of n_heads {nh}")
    shapes: dict[str, tuple[int, ...]] = {"embed.weight": (v, d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for i in range(layers):
        p = f"blocks.{i}."
        shapes.update({p + "ln1.weight": (d,), p + "ln1.bias": (d,), p + "ln2.weight": (d,), p + "ln2.bias": (d,),
                       p + "attn.qkv.weight": (3 * d, d), p + "attn.qkv.bias": (3 * d,),
                       p + "attn.out.weight": (d, d), p + "attn.out.bias": (d,),
                       p + "attn.rel_emb": (nh, max_len, d // nh),
                       p + "ffn.0.weight": (f, d), p + "ffn.0.bias": (f,), p + "ffn.2.weight": (d, f),
                       p + "ffn.2.bias": (d,)})
    return shapes


class NumpyTransformer:
    """Incremental decoding of a ``music-transformer`` checkpoint with NumPy (float32)."""

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray], header_len: int | None = None) -> None:
        self.config = config
        if header_len is None:
            header_len = Codec.HEADER_LEN if config.get("codec", "events") == "events" else 0
        self.header_len = header_len
        self.vocab_size = int(config["vocab_size"])
        self.n_heads = int(config["n_heads"])
        self.head_dim = int(config["d_model"]) // self.n_heads
        self.max_len = int(config["max_len"])
        check_shapes(weights, _expected_shapes(config), "music-transformer weights")
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
                    "rel_t": np.ascontiguousarray(w[p + "attn.rel_emb"].transpose(0, 2, 1)),
                    "ln2": (w[p + "ln2.weight"], w[p + "ln2.bias"]),
                    "ff1": (np.ascontiguousarray(w[p + "ffn.0.weight"].T), w[p + "ffn.0.bias"]),
                    "ff2": (np.ascontiguousarray(w[p + "ffn.2.weight"].T), w[p + "ffn.2.bias"]),
                })
        except KeyError as exc:
            raise ModelError(f"music-transformer weights lack {exc.args[0]!r}") from None
        self.head = np.ascontiguousarray(self.embed.T)                      # (D, V), tied
        self.scale = np.float32(1.0 / math.sqrt(self.head_dim))

    @classmethod
    def load(cls, path: str | Path, header_len: int | None = None) -> NumpyTransformer:
        """From a checkpoint (``path`` with or without suffix) of kind ``music-transformer``."""
        from soundart.checkpoint import load_numpy

        doc, weights = load_numpy(path, "music-transformer")
        try:
            model = cls(doc["config"], weights, header_len)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
        model.checkpoint = doc
        return model

    def init_state(self, batch_size: int) -> dict[str, Any]:
        """An empty cache (one (keys, values) pair per layer, filled by ``step``) and token history."""
        return {"cache": self._buffers(batch_size), "filled": 0, "history": np.zeros((batch_size, 0), np.int64),
                "pad": np.zeros(batch_size, np.int64)}

    def _buffers(self, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
        # keys/values written in place, one position a step: growing arrays by concatenation copied the
        # whole cache of every layer at every step
        shape = (batch_size, self.n_heads, self.max_len, self.head_dim)
        return [(np.zeros(shape, np.float32), np.zeros(shape, np.float32)) for _ in self.blocks]

    def window(self, history: np.ndarray) -> np.ndarray:
        """The tokens a full cache is rebuilt from: the header, then the latest bars (<= max_len // 2 tokens)."""
        head, body = history[:self.header_len], history[self.header_len:]
        budget = max(1, self.max_len // 2 - self.header_len)
        bars = np.flatnonzero(body == Codec.BAR)
        starts = bars[len(body) - bars <= budget]
        start = int(starts[0]) if len(starts) else len(body) - budget  # a bar too long: its latest tokens
        return np.concatenate([head, body[start:]])

    def step(self, tokens: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """tokens (B,) ints -> (logits (B, V) float32, next state). The cache buffers are updated in place:
        step on from the returned state only (sampling never branches a state)."""
        tokens = np.asarray(tokens)
        history = np.concatenate([state["history"], tokens[:, None]], axis=1)
        full = state["filled"] >= self.max_len
        if full and self.header_len and (history[:, 0] == Codec.BOS).all():
            logits, cache, filled, pad = self._rebuild(history)
            return logits, {"cache": cache, "filled": filled, "history": history, "pad": pad}
        logits, filled = self._step(tokens, state["cache"], state["filled"], state["pad"])
        return logits, {"cache": state["cache"], "filled": filled, "history": history, "pad": state["pad"]}

    def _rebuild(self, history: np.ndarray) -> tuple[np.ndarray, list, int, np.ndarray]:
        """Recompute each row's cache over its :meth:`window`; rows are left-padded to one length (masked).
        Returns (logits, cache, filled positions, padding per row)."""
        rows = [self._forward(self.window(h)) for h in history]
        lengths = [layers[0][0].shape[2] for _, layers in rows]
        filled = max(lengths)
        pad = np.array([filled - n for n in lengths], np.int64)
        cache = self._buffers(len(rows))
        for (keys, values), layer in zip(cache, range(len(self.blocks))):
            for b, ((_, layers), p) in enumerate(zip(rows, pad)):
                k, v = layers[layer]
                keys[b, :, p:filled] = k[0]
                values[b, :, p:filled] = v[0]
        return np.concatenate([r[0] for r in rows]), cache, filled, pad

    def _forward(self, tokens: np.ndarray) -> tuple[np.ndarray, list]:
        """One sequence (L <= max_len) at once: (last position's logits (1, V), per layer (k, v) (1, nh, L, hs))."""
        x = self.embed[tokens]                                               # (L, D)
        n = len(tokens)
        nh, hs = self.n_heads, self.head_dim
        dist = np.arange(n)[:, None] - np.arange(n)[None, :]                 # query i, key j: i - j
        causal = dist >= 0
        rows = np.broadcast_to(self.max_len - 1 - np.clip(dist, 0, None), (nh, n, n))
        layers = []
        for blk in self.blocks:
            h = _layer_norm(x, *blk["ln1"])
            qkv = (h @ blk["qkv"][0] + blk["qkv"][1]).reshape(n, 3, nh, hs).transpose(1, 2, 0, 3)
            q, k, v = qkv[0], qkv[1], qkv[2]                                 # (nh, L, hs)
            rel = np.take_along_axis(q @ blk["rel_t"], rows, axis=-1)          # (nh, L, max_len) -> (nh, L, L)
            scores = np.where(causal, (q @ k.transpose(0, 2, 1) + rel) * self.scale, -np.inf)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)                   # (nh, L, L)
            y = (attn @ v).transpose(1, 0, 2).reshape(n, nh * hs)
            x = x + y @ blk["out"][0] + blk["out"][1]
            h = _layer_norm(x, *blk["ln2"])
            x = x + _gelu(h @ blk["ff1"][0] + blk["ff1"][1]) @ blk["ff2"][0] + blk["ff2"][1]
            layers.append((k[None], v[None]))
        x = _layer_norm(x[-1:], *self.ln_f)
        return (x @ self.head).astype(np.float32), layers

    def _step(self, tokens: np.ndarray, cache: list, filled: int, pad: np.ndarray) -> tuple[np.ndarray, int]:
        """One position on top of the cache's ``filled`` positions (written into it in place); ``pad[b]``
        leading cache entries of row b are padding. Returns (logits, positions now filled)."""
        x = self.embed[np.asarray(tokens)]                                   # (B, D)
        b = x.shape[0]
        nh, hs = self.n_heads, self.head_dim
        slide = filled >= self.max_len                                       # sliding window: drop the oldest
        s = self.max_len if slide else filled + 1
        for blk, (keys, values) in zip(self.blocks, cache):
            h = _layer_norm(x, *blk["ln1"])
            qkv = (h @ blk["qkv"][0] + blk["qkv"][1]).reshape(b, 3, nh, hs)
            q = qkv[:, 0]                                                    # (B, nh, hs)
            if slide:
                keys[:, :, :-1] = keys[:, :, 1:]
                values[:, :, :-1] = values[:, :, 1:]
            keys[:, :, s - 1] = qkv[:, 1]
            values[:, :, s - 1] = qkv[:, 2]
            k, v = keys[:, :, :s], values[:, :, :s]
            rel = blk["rel"][:, self.max_len - s:]                           # (nh, S, hs): distances S-1 .. 0
            # matmuls, not einsum: einsum's per-call overhead was a third of a sampling step
            scores = ((k + rel) @ q[..., None])[..., 0] * self.scale                # (B, nh, S)
            if pad.any():
                scores = np.where((np.arange(s)[None, :] >= pad[:, None])[:, None, :], scores, -np.inf)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)                   # (B, nh, S)
            y = (attn[:, :, None] @ v).reshape(b, nh * hs)
            x = x + y @ blk["out"][0] + blk["out"][1]
            h = _layer_norm(x, *blk["ln2"])
            x = x + _gelu(h @ blk["ff1"][0] + blk["ff1"][1]) @ blk["ff2"][0] + blk["ff2"][1]
        x = _layer_norm(x, *self.ln_f)
        return (x @ self.head).astype(np.float32), s
