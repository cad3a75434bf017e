"""An LSTM token generator (Performance-RNN style) and its training task.

Token model contract (shared with the Music Transformer): ``forward(tokens
(B, T)) -> logits (B, T, V)``, ``init_state(batch_size, device)``, ``step(tokens
(B,), state) -> (logits (B, V), state)`` for incremental generation (the LSTM
carries its hidden state: nothing is recomputed), ``training_step(batch)`` on
``{"tokens", "mask"}`` (next-token cross-entropy over real positions), and a
config that holds the codec (``codec`` = "events" with ``codec_config``, or
"frames" for the piano-roll benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from soundart.errors import ConfigError
from soundart.music.tokens import CodecConfig


@dataclass
class RNNConfig:
    """LSTM generator settings. ``vocab_size`` 0 = take it from the codec."""

    codec: str = "events"  # "events" (tokens.Codec) or "frames" (frames.FrameCodec)
    codec_config: CodecConfig = field(default_factory=CodecConfig)
    vocab_size: int = 0
    embed_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool = False

    def __post_init__(self) -> None:
        if self.codec not in ("events", "frames"):
            raise ConfigError(f"model.codec must be 'events' or 'frames', got {self.codec!r}")
        if isinstance(self.codec_config, dict):
            from soundart.checkpoint import config_from_dict

            self.codec_config = config_from_dict(CodecConfig, self.codec_config, "model.codec_config")
        if self.vocab_size == 0:
            self.vocab_size = make_codec(self).vocab_size
        for name in ("embed_dim", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def debug(cls, **kw: Any) -> RNNConfig:
        return cls(**{"embed_dim": 16, "hidden_size": 32, "num_layers": 1, "dropout": 0.0, **kw})


def make_codec(config: Any):
    """The codec a token model's config names (``config.codec``, ``config.codec_config``)."""
    if config.codec == "frames":
        from soundart.music.frames import FrameCodec

        return FrameCodec()
    from soundart.music.tokens import Codec

    cc = config.codec_config
    if isinstance(cc, dict):
        cc = CodecConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cc.items()})
    return Codec(cc)


class MusicRNN(nn.Module):
    """Embedding -> LSTM (num_layers, dropout) -> linear logits over the token vocabulary."""

    kind = "music-rnn"
    config_class = RNNConfig

    def __init__(self, config: RNNConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.lstm = nn.LSTM(c.embed_dim, c.hidden_size, c.num_layers, batch_first=True,
                            dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.proj = nn.Linear(c.hidden_size, c.embed_dim) if c.tie_weights else None
        self.head = nn.Linear(c.embed_dim if c.tie_weights else c.hidden_size, c.vocab_size)
        if c.tie_weights:
            self.head.weight = self.embed.weight

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        h = self.drop(h)
        if self.proj is not None:
            h = self.proj(h)
        return self.head(h)

    def forward(self, tokens: torch.Tensor, state: Any = None) -> torch.Tensor:
        """Logits ``(B, T, V)`` for next-token prediction at every position of ``tokens (B, T)``."""
        out, _ = self.lstm(self.embed(tokens), state)  # (B, T, H)
        return self._logits(out)

    def init_state(self, batch_size: int, device: Any = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Zero LSTM state ``(h, c)``, each ``(num_layers, B, H)``."""
        c = self.config
        z = torch.zeros(c.num_layers, batch_size, c.hidden_size, device=device)
        return z, z.clone()

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One token per sequence ``(B,)`` -> next-token logits ``(B, V)`` and the new state."""
        out, state = self.lstm(self.embed(tokens[:, None]), state)  # (B, 1, H)
        return self._logits(out[:, 0]), state

    def training_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean next-token cross-entropy (nats) over real positions of ``batch["tokens"] (B, T)``."""
        tokens, mask = batch["tokens"], batch["mask"]
        logits = self(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tokens[:, 1:].reshape(-1),
                               reduction="none")
        m = mask[:, 1:].reshape(-1).float()
        return (loss * m).sum() / m.sum().clamp(min=1)

    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return {"loss": float(self.training_step(batch))}


# ---- recipe task --------------------------------------------------------------------------------
def prepare(data_cfg: Any, model_cfg: RNNConfig):
    """Task hook: data + model for ``task: music-rnn`` recipes."""
    from soundart.music.corpora import collate_tokens, is_frame_source, prepare_token_data
    from soundart.train.recipe import Prepared

    frames = is_frame_source(data_cfg.source)
    if frames != (model_cfg.codec == "frames"):
        raise ConfigError(f"data.source {data_cfg.source!r} needs model.codec: "
                          f"{'frames' if frames else 'events'} (got {model_cfg.codec!r})")
    data = prepare_token_data(data_cfg, model_cfg.codec_config)
    return Prepared(MusicRNN(model_cfg), data.train, data.valid, collate_tokens, data.description,
                    data.pieces)


def evaluate(model: Any, data_cfg: Any, prepared: Any) -> dict[str, Any]:
    """Task hook: measured metrics stored in the checkpoint (test NLL for .mat sources, val loss otherwise)."""
    from soundart.music.corpora import is_frame_source

    device = next(model.parameters()).device
    if is_frame_source(data_cfg.source):
        from soundart.music.frames import load_mat, score_pieces

        res = score_pieces(model, load_mat(data_cfg.source)["test"], device=device)
        return {"test_nll_per_frame": round(res["nll_per_frame"], 4), "test_frames": res["frames"]}
    from soundart.music.corpora import collate_tokens

    if data_cfg.source == "band":
        from soundart.music.band_eval import style_nll, style_table

        codec = make_codec(model.config)
        splits = prepared.pieces
        held_out = splits["test"] or splits["valid"]
        table = style_table([p for s in splits.values() for p in s], codec)
        nll = style_nll(model, codec, held_out, data_cfg.max_len)
        for style, row in table.items():
            row.update({f"test_{k}": v for k, v in nll.get(style, {}).items()})
        return {"styles": table, "test_split": "test" if splits["test"] else "valid"}
    ds = prepared.val_data
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(ds), 32):
            batch = collate_tokens([ds[j] for j in range(i, min(len(ds), i + 32))])
            batch = {k: v.to(device) for k, v in batch.items()}
            n = int(batch["mask"][:, 1:].sum())
            total += float(model.training_step(batch)) * n
            count += n
    return {"val_nll_per_token": round(total / max(count, 1), 4)}


def _make_task():
    from soundart.music.corpora import MusicDataConfig
    from soundart.train.recipe import Task

    return Task("music-rnn", RNNConfig, MusicDataConfig, prepare, evaluate)


TASK = _make_task()
