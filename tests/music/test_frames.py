"""Frame tokens for the .mat benchmarks: exact serialization and exact NLL per frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io
import torch
from torch import nn

from soundart.errors import BadInputError
from soundart.music.frames import N_KEYS, FrameCodec, grammar_mask, load_mat, score_pieces


class UniformModel(nn.Module):
    """Equal logits everywhere: the grammar alone shapes its distribution (an exact reference)."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*tokens.shape, FrameCodec.vocab_size)


def write_mat(path, rng, n=(3, 2, 2)) -> None:
    def pieces(k):
        cell = np.empty((1, k), dtype=object)
        for i in range(k):
            cell[0, i] = (rng.random((int(rng.integers(3, 9)), N_KEYS)) < 0.05).astype(np.float64)
        return cell

    scipy.io.savemat(str(path), {"traindata": pieces(n[0]), "validdata": pieces(n[1]), "testdata": pieces(n[2])})


def test_round_trip_and_mask(rng):
    codec = FrameCodec()
    roll = (rng.random((20, N_KEYS)) < 0.06).astype(np.uint8)
    roll[3] = 0  # a silent frame
    tokens = codec.encode(roll)
    assert tokens.count(codec.eof) == 20
    np.testing.assert_array_equal(codec.decode(tokens), roll)
    mask = grammar_mask(torch.tensor([[1, 3 + 10, 3 + 20, 2]]))
    assert mask[0, 0, 3:].all() and mask[0, 0, 2]  # frame start: any key or EOF
    assert not mask[0, 1, 3:3 + 11].any() and mask[0, 1, 3 + 11:].all()
    assert not mask[0, 2, 3:3 + 21].any() and mask[0, 3, 3:].all()


def test_uniform_model_nll_is_exact(tmp_path, rng):
    """Under equal logits + grammar, p(frame) has a closed form; the scorer must match it."""
    write_mat(tmp_path / "x.mat", rng)
    rolls = load_mat(tmp_path / "x.mat")["test"]
    expected = 0.0
    for roll in rolls:
        for frame in roll:
            last = -1
            for k in np.flatnonzero(frame):
                expected -= math.log(1 / (N_KEYS - last - 1 + 1))
                last = k
            expected -= math.log(1 / (N_KEYS - last - 1 + 1))
    frames = sum(len(r) for r in rolls)
    res = score_pieces(UniformModel(), rolls)
    assert res["frames"] == frames
    assert res["nll_per_frame"] == pytest.approx(expected / frames, rel=1e-5)


def test_bad_mat(tmp_path):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file at all")
    with pytest.raises(BadInputError, match="bad.mat"):
        load_mat(bad)
    scipy.io.savemat(str(tmp_path / "nokeys.mat"), {"x": np.zeros(3)})
    with pytest.raises(BadInputError, match="traindata"):
        load_mat(tmp_path / "nokeys.mat")
    with pytest.raises(BadInputError, match="no such benchmark"):
        load_mat(tmp_path / "missing.mat")
