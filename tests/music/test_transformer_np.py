"""The NumPy Music Transformer (sketching without torch) against the torch model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundart import checkpoint
from soundart.errors import ModelError
from soundart.music.tokens import Codec
from soundart.music.transformer import MusicTransformer, TransformerConfig
from soundart.music.transformer_np import NumpyTransformer


def _saved_model(tmp_path, max_len: int, header_len: int | None = 0):
    torch.manual_seed(0)
    model = MusicTransformer(TransformerConfig.debug(vocab_size=50, max_len=max_len)).eval()
    with torch.no_grad():  # sharper than the near-uniform init
        for p in model.parameters():
            p.mul_(5.0)
    checkpoint.save(model, tmp_path / "m")
    return model, NumpyTransformer.load(tmp_path / "m", header_len=header_len)


@pytest.mark.parametrize("max_len", [200, 16])  # inside the context, and far beyond it (sliding window)
def test_numpy_steps_match_torch(tmp_path, max_len: int) -> None:
    model, np_model = _saved_model(tmp_path, max_len)
    tokens = torch.randint(0, 50, (2, 120), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(tokens)                                                  # (B, T, V)
    state = np_model.init_state(2)
    out = []
    for t in range(tokens.shape[1]):
        logits, state = np_model.step(tokens[:, t].numpy(), state)
        assert logits.shape == (2, 50) and logits.dtype == np.float32, (logits.shape, logits.dtype)
        out.append(logits)
    diff = np.abs(np.stack(out, 1) - ref.numpy()).max()
    assert diff <= 1e-4, diff
    assert ref.std() > 0.5


def test_beyond_the_context_the_cache_is_rebuilt_from_the_header_and_latest_bars(tmp_path) -> None:
    """Sequences opening with BOS keep their 5-token control header in view: once the (batch's) cache is full,
    every row is rebuilt and the logits equal a full torch pass over the row's header + latest whole bars
    (the training windows' shape)."""
    model, np_model = _saved_model(tmp_path, 32, header_len=None)
    assert np_model.header_len == 5
    gen = torch.Generator().manual_seed(2)
    tokens = torch.randint(4, 50, (2, 150), generator=gen)
    tokens[:, 0] = Codec.BOS
    tokens[0, 5::7] = Codec.BAR                                # bars of different lengths in the two rows
    tokens[1, 5::11] = Codec.BAR
    state = np_model.init_state(2)
    contexts = [[], []]
    rebuilds = 0
    for t in range(tokens.shape[1]):
        logits, state = np_model.step(tokens[:, t].numpy(), state)
        full = max(len(c) for c in contexts) >= 32
        rebuilds += full
        for b in range(2):
            if full:
                contexts[b] = list(np_model.window(tokens[b, : t + 1].numpy()))
                assert contexts[b][:5] == tokens[b, :5].tolist() and contexts[b][5] == Codec.BAR
                assert len(contexts[b]) <= 16
            else:
                contexts[b].append(int(tokens[b, t]))
            with torch.no_grad():
                ref = model(torch.tensor([contexts[b]]))[0, -1].numpy()
            assert np.abs(logits[b] - ref).max() <= 1e-4, (t, b)
    assert rebuilds >= 5


def test_numpy_loader_refuses_other_kinds(tmp_path) -> None:
    from soundart.music.rnn import MusicRNN, RNNConfig

    checkpoint.save(MusicRNN(RNNConfig.debug(codec="frames")), tmp_path / "r")
    with pytest.raises(ModelError, match="expected music-transformer"):
        NumpyTransformer.load(tmp_path / "r")


def test_sketch_with_a_transformer_checkpoint_writes_valid_midi(tmp_path) -> None:
    """`soundart sketch --model PATH` on a (tiny, untrained) event-token transformer: NumPy stepper, valid MIDI."""
    from click.testing import CliRunner

    from soundart.cli import cli
    from soundart.io import load_midi
    from soundart.music.sample import load_stepper

    torch.manual_seed(0)
    model = MusicTransformer(TransformerConfig.debug(vocab_size=0, codec="events", max_len=32))
    checkpoint.save(model, tmp_path / "tf")
    stepper, doc, _ = load_stepper(str(tmp_path / "tf"), device="cpu")
    assert isinstance(stepper, NumpyTransformer) and doc["kind"] == "music-transformer"
    out = tmp_path / "x.mid"
    result = CliRunner().invoke(cli, ["sketch", "--model", str(tmp_path / "tf"), "-o", str(out),
                                       "--bars", "2", "--seed", "0", "--tempo", "90"])
    assert result.exit_code == 0, result.output
    pm = load_midi(out, require_notes=False)
    assert abs(pm.get_tempo_changes()[1][0] - 90) < 5
