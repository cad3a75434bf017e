"""A shipped ``music-rnn`` (LSTM) run with NumPy only, for sketching without importing torch.

Same maths as :meth:`soundart.music.rnn.MusicRNN.step` in float32; ``tests/music/test_rnn.py`` holds it
against the torch model. It follows the stepper protocol of :mod:`soundart.music.sample`:
``init_state(batch_size)`` and ``step(tokens (B,) ints, state) -> (logits (B, V), state)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ModelError


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _lstm_shapes(config: dict[str, Any], weights: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """The tensor shapes ``MusicRNN(config)`` has: a config that does not fit is one line at load time."""
    try:
        v, e, h, layers = (int(config[k]) for k in ("vocab_size", "embed_dim", "hidden_size", "num_layers"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"music-rnn config is incomplete or not numeric ({exc})") from None
    tied = bool(config.get("tie_weights", False))
    shapes: dict[str, tuple[int, ...]] = {"embed.weight": (v, e), "head.bias": (v,)}
    for i in range(layers):
        shapes.update({f"lstm.weight_ih_l{i}": (4 * h, e if i == 0 else h), f"lstm.weight_hh_l{i}": (4 * h, h),
                       f"lstm.bias_ih_l{i}": (4 * h,), f"lstm.bias_hh_l{i}": (4 * h,)})
    if tied:
        shapes.update({"proj.weight": (e, h), "proj.bias": (e,)})
    if "head.weight" in weights or not tied:
        shapes["head.weight"] = (v, e if tied else h)
    return shapes


class NumpyLSTM:
    """A ``music-rnn`` checkpoint run with NumPy only (same maths as ``MusicRNN.step``, float32)."""

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.config = config
        self.layers = int(config["num_layers"])
        self.hidden = int(config["hidden_size"])
        self.vocab_size = int(config["vocab_size"])
        from soundart.checkpoint import check_shapes

        check_shapes(weights, _lstm_shapes(config, weights), "music-rnn weights")
        w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.embed = w["embed.weight"]
        self.wih = [np.ascontiguousarray(w[f"lstm.weight_ih_l{i}"].T) for i in range(self.layers)]
        self.whh = [np.ascontiguousarray(w[f"lstm.weight_hh_l{i}"].T) for i in range(self.layers)]
        self.b = [w[f"lstm.bias_ih_l{i}"] + w[f"lstm.bias_hh_l{i}"] for i in range(self.layers)]
        self.proj = (np.ascontiguousarray(w["proj.weight"].T), w["proj.bias"]) if "proj.weight" in w else None
        head_w = w["head.weight"] if "head.weight" in w else w["embed.weight"]
        self.head_w, self.head_b = np.ascontiguousarray(head_w.T), w["head.bias"]

    @classmethod
    def load(cls, path: str | Path) -> NumpyLSTM:
        """From a checkpoint (``path`` with or without suffix) of kind ``music-rnn``."""
        from soundart.checkpoint import load_numpy

        doc, weights = load_numpy(path, "music-rnn")
        try:
            model = cls(doc["config"], weights)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
        model.checkpoint = doc
        return model

    def init_state(self, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
        z = np.zeros((batch_size, self.hidden), np.float32)
        return [(z.copy(), z.copy()) for _ in range(self.layers)]

    def step(self, tokens: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        x = self.embed[np.asarray(tokens)]  # (B, E)
        H = self.hidden
        new = []
        for i, (h, c) in enumerate(state):
            g = x @ self.wih[i] + h @ self.whh[i] + self.b[i]  # (B, 4H): gates i, f, g, o
            c = _sigmoid(g[:, H:2 * H]) * c + _sigmoid(g[:, :H]) * np.tanh(g[:, 2 * H:3 * H])
            h = _sigmoid(g[:, 3 * H:]) * np.tanh(c)
            new.append((h, c))
            x = h
        if self.proj is not None:
            x = x @ self.proj[0] + self.proj[1]
        return x @ self.head_w + self.head_b, new
