"""Fine-tuning a trained listening model on other labels (a recipe's ``data: init_from``)."""

from __future__ import annotations

import pytest
import torch

from soundart.errors import ConfigError
from soundart.listen.classifier import ListenConfig
from soundart.listen.data import ListenDataConfig
from soundart.listen.task import prepare
from soundart.models import load_model

HEADS = ("genre_head.", "quadrant_head.", "tag_head.", "gems_head.")


def _data(folder, tmp_path, start) -> ListenDataConfig:
    return ListenDataConfig(mood4q="", emotify="", folder=str(folder), cache_dir=str(tmp_path / "cache"),
                            test_fraction=0.2, val_fraction=0.2, workers=1, near_duplicates=0, init_from=start)


def test_init_from_copies_the_trunk_and_starts_the_heads_afresh(tiny_model, labelled_folder, tmp_path):
    start = load_model(str(tiny_model))
    assert start.config.pooled_heads   # its heads were refitted wider: they cannot be copied, nor need be
    config = ListenConfig(chunk_frames=32, channels=(8, 16, 16), embed_dim=16, recording_stats=4)
    prepared = prepare(_data(labelled_folder, tmp_path, str(tiny_model)), config)
    theirs = start.state_dict()
    trunk = [k for k in prepared.model.state_dict() if not k.startswith(HEADS)]
    assert trunk and all(torch.equal(prepared.model.state_dict()[k], theirs[k]) for k in trunk)
    assert prepared.model.genre_head.in_features == 16 != start.genre_head.in_features
    assert not prepared.model.config.pooled_heads
    assert prepared.started is not None and "started from" not in prepared.started.source


def test_init_from_a_network_of_another_width_is_one_line(tiny_model, labelled_folder, tmp_path):
    config = ListenConfig(chunk_frames=32, channels=(8, 16, 32), embed_dim=16)
    with pytest.raises(ConfigError, match=r"init_from .*: its weights do not fit the recipe's model \(channels"):
        prepare(_data(labelled_folder, tmp_path, str(tiny_model)), config)
