"""Small real models and MIDI files for the music tests."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import torch

from soundart import checkpoint
from soundart.music.rnn import MusicRNN, RNNConfig
from soundart.music.tokens import Codec, Note, Piece, piece_to_midi


def scale_piece(key: int = 14, bars: int = 4, style: str = "folk") -> Piece:
    notes = [Note(4 * i, 4, 62 + [0, 2, 3, 5, 7, 5, 3, 2][i % 8], 80, 0) for i in range(4 * bars)]
    notes += [Note(16 * b, 16, 50, 70, 0) for b in range(bars)]
    return Piece(notes, "4/4", 100.0, key, style)


def write_midi(path: Path, piece: Piece | None = None) -> Path:
    piece_to_midi(piece or scale_piece()).write(str(path))
    return path


def tiny_event_model(path: Path, steps: int = 5, seed: int = 0) -> Path:
    """A small event-token LSTM trained a few steps on scale pieces, saved as a checkpoint.

    Runs on one thread: tiny matrices gain nothing from more, and a busy CPU makes spinning threads slow.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_tiny(path, steps, seed)
    finally:
        torch.set_num_threads(threads)


def _train_tiny(path: Path, steps: int, seed: int) -> Path:
    torch.manual_seed(seed)
    codec = Codec()
    model = MusicRNN(RNNConfig.debug())
    seqs = [codec.encode(scale_piece(k, 4, s)) for k in (2, 14) for s in ("folk", "chorale")]
    T = max(len(s) for s in seqs)
    tokens = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = True
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = model.training_step({"tokens": tokens, "mask": mask})
        opt.zero_grad()
        loss.backward()
        opt.step()
    checkpoint.save(model.eval(), path, {"data": "scale pieces (test)"})
    return path


def drums_only(path: Path) -> Path:
    midi = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0, is_drum=True)
    inst.notes = [pretty_midi.Note(100, 36, 0.5 * i, 0.5 * i + 0.1) for i in range(8)]
    midi.instruments.append(inst)
    midi.write(str(path))
    return path
