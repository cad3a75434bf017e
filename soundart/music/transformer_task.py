"""Training the Music Transformer (:mod:`soundart.music.transformer`): the ``music-transformer`` recipe task,
on the same data as the RNN's (:mod:`soundart.music.corpora`)."""

from __future__ import annotations

from typing import Any

from soundart.errors import ConfigError
from soundart.music.corpora import MusicDataConfig
from soundart.music.rnn import evaluate
from soundart.music.transformer import MusicTransformer, TransformerConfig
from soundart.train.recipe import Prepared, Task


def prepare(data_cfg: Any, model_cfg: TransformerConfig):
    """Task hook: data + model for ``task: music-transformer`` recipes (the same data as the RNN's)."""
    from soundart.music.corpora import collate_tokens, is_frame_source, prepare_token_data

    frames = is_frame_source(data_cfg.source)
    if frames != (model_cfg.codec == "frames"):
        raise ConfigError(f"data.source {data_cfg.source!r} needs model.codec: "
                          f"{'frames' if frames else 'events'} (got {model_cfg.codec!r})")
    if data_cfg.max_len > model_cfg.max_len:
        raise ConfigError(f"data.max_len {data_cfg.max_len} is longer than the model's context "
                          f"model.max_len {model_cfg.max_len}")
    data = prepare_token_data(data_cfg, model_cfg.codec_config)
    return Prepared(MusicTransformer(model_cfg), data.train, data.valid, collate_tokens, data.description,
                    data.pieces)


TASK = Task("music-transformer", TransformerConfig, MusicDataConfig, prepare, evaluate)
