"""LSTM generator: incremental steps == full forward, NumPy path == torch path, training lowers the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundart import checkpoint
from soundart.music.rnn import MusicRNN, RNNConfig
from soundart.music.rnn_np import NumpyLSTM

from .helpers import tiny_event_model


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest, and spinning threads crawl on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_step_matches_forward():
    torch.manual_seed(0)
    model = MusicRNN(RNNConfig(embed_dim=16, hidden_size=24, num_layers=2, dropout=0.0)).eval()
    tokens = torch.randint(1, model.config.vocab_size, (3, 20))
    full = model(tokens)
    assert full.shape == (3, 20, model.config.vocab_size), full.shape
    state = model.init_state(3)
    for t in range(20):
        logits, state = model.step(tokens[:, t], state)
        torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=1e-5)


def test_numpy_path_matches_torch(tmp_path):
    path = tiny_event_model(tmp_path / "m", steps=2)
    model = checkpoint.load(path)
    fast = NumpyLSTM.load(path)
    tokens = np.random.default_rng(0).integers(1, model.config.vocab_size, (2, 15))
    state_t, state_n = model.init_state(2), fast.init_state(2)
    for t in range(15):
        with torch.no_grad():
            lt, state_t = model.step(torch.from_numpy(tokens[:, t]), state_t)
        ln, state_n = fast.step(tokens[:, t], state_n)
        np.testing.assert_allclose(ln, lt.numpy(), atol=1e-4, rtol=1e-4)


def test_training_lowers_loss_and_ignores_padding():
    torch.manual_seed(0)
    model = MusicRNN(RNNConfig.debug(codec="frames"))
    tokens = torch.tensor([[1, 40, 44, 47, 2, 40, 44, 47, 2, 0, 0], [1, 41, 45, 2, 41, 45, 2, 41, 45, 2, 0]])
    batch = {"tokens": tokens, "mask": tokens != 0}
    first = float(model.training_step(batch).detach())
    # padding content does not change the loss
    other = tokens.clone()
    other[0, -2:] = 50
    assert abs(float(model.training_step({"tokens": other, "mask": batch["mask"]}).detach()) - first) < 1e-5
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(30):
        loss = model.training_step(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first * 0.5


def test_save_load_same_outputs(tmp_path):
    path = tiny_event_model(tmp_path / "m", steps=1)
    a, b = checkpoint.load(path), checkpoint.load(path)
    x = torch.randint(1, a.config.vocab_size, (1, 9))
    torch.testing.assert_close(a(x), b(x))
    assert a.config.codec_config == b.config.codec_config
