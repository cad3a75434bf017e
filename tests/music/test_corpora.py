"""Corpora: folders of MIDI, the music21 cache, piece-level splits, windows and augmentation."""

from __future__ import annotations

import pytest

from soundart.errors import BadInputError
from soundart.music.corpora import (
    MusicDataConfig,
    TokenDataset,
    collate_tokens,
    midi_folder_pieces,
    music21_pieces,
    prepare_token_data,
    split_of,
)
from soundart.music.tokens import Codec

from .helpers import scale_piece, write_midi


def test_folder_pieces_skip_bad_files(tmp_path):
    for k in range(4):
        write_midi(tmp_path / f"song{k}.mid", scale_piece(key=k))
    (tmp_path / "bad.mid").write_bytes(b"nope")
    pieces, problems = midi_folder_pieces(tmp_path)
    assert len(pieces) == 4 and len(problems) == 1 and "bad.mid" in problems[0]
    with pytest.raises(BadInputError, match="no such folder"):
        midi_folder_pieces(tmp_path / "missing")


def test_splits_are_per_source_file():
    ids = [f"essen/file{i}.abc#{j}" for i in range(50) for j in range(5)]
    splits = {}
    for pid in ids:
        splits.setdefault(pid.split("#")[0], set()).add(split_of(pid, 0.2, 0.1))
    assert all(len(s) == 1 for s in splits.values())  # an opus never straddles splits
    assert {s for v in splits.values() for s in v} == {"train", "valid", "test"}
    assert split_of("a.mid", 0.2) == split_of("a.mid", 0.2)


def test_prepare_folder_data_windows_and_augmentation(tmp_path):
    for k in range(6):
        write_midi(tmp_path / f"s{k}.mid", scale_piece(key=k, bars=12))
    cfg = MusicDataConfig(source="folder", folder=str(tmp_path), max_len=64, transpose=(-2, 2), val_fraction=0.3)
    data = prepare_token_data(cfg)
    assert len(data.train) > 0 and len(data.valid) > 0
    train_ids = {pid for pid, _ in data.pieces["train"]}
    assert not train_ids & {pid for pid, _ in data.pieces["valid"]}
    codec = Codec()
    batch = collate_tokens([data.train[i] for i in range(min(4, len(data.train)))])
    assert batch["tokens"].shape == batch["mask"].shape and batch["tokens"].shape[1] <= 64
    assert (batch["tokens"][:, 0] == codec.bos).all() and (batch["tokens"][:, 5] == codec.bar).all()
    plain = TokenDataset(data.train.windows, codec, (0, 0))
    shifted = TokenDataset(data.train.windows, codec, (3, 3))
    a, b = plain[0].tolist(), shifted[0].tolist()
    assert codec.transpose(a, 3) == b


def test_music21_pieces_are_cached(tmp_path, monkeypatch):
    pytest.importorskip("music21")
    monkeypatch.setenv("SOUNDART_CACHE", str(tmp_path))
    first = music21_pieces("chorale", limit=2, progress=False)
    assert len(first) >= 1 and all(p.style == "chorale" and len(p.notes) > 50 for _, p in first)
    cached = list((tmp_path / "music").glob("*.json"))
    assert len(cached) == 1
    again = music21_pieces("chorale", limit=2, progress=False)
    assert [(i, len(p.notes), p.key) for i, p in again] == [(i, len(p.notes), p.key) for i, p in first]
