"""Music Transformer: a decoder-only Transformer with relative position attention.

Huang et al. (2018), "Music Transformer": every attention head adds to its
content logits ``q_i . k_j`` a relative term ``q_i . E[i - j]`` where ``E`` is a
learned embedding of the distance ``i - j`` (0 .. max_len-1). The relative
term is computed with the paper's memory-efficient *skewing*: ``Q E^T`` is an
``(L, L)`` matrix whose row ``i`` holds every distance; padding one column on
the left, reshaping to ``(L+1, L)`` and dropping the first row moves entry
``(i, r)`` to ``(i, j)`` with ``r = L-1-(i-j)``, so the ``(L, L, D)`` tensor of
per-pair embeddings of Shaw et al. is never built (memory O(L*D), not O(L^2*D)).

Attention is *local*: a query sees at most ``max_len`` keys (distances
0 .. max_len-1), the length the model was trained on. Within the trained
context that is ordinary causal attention; beyond it, it is a sliding window,
and because the relative term depends only on distances the key/value cache
simply drops its oldest entry, so incremental decoding equals full
recomputation (with the same banded mask) at every length.

The token-model contract shared with ``soundart.music.rnn``::

    forward(tokens (B, T)) -> logits (B, T, V)
    init_state(batch_size, device) -> state
    step(tokens (B,), state) -> (logits (B, V), new_state)
    training_step({"tokens": (B, T), "mask": (B, T) bool}) -> next-token cross-entropy
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from soundart.errors import ConfigError
from soundart.music.tokens import CodecConfig

# A cache: one (keys, values) pair per layer, each (B, n_heads, S, head_dim), S <= max_len.
KVCache = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class TransformerConfig:
    """Size of a Music Transformer and the token codec it was trained with.

    ``max_len`` is the trained context: the longest distance a query attends
    over (number of relative embeddings). ``codec`` ("events" = the event
    codec of ``soundart.music.tokens`` with ``codec_config``, or "frames" = the
    piano-roll frame tokens of ``soundart.music.frames``) is stored with the
    weights so inference decodes tokens exactly as training encoded them.
    ``vocab_size`` 0 = take it from the codec.
    """

    codec: str = "events"
    codec_config: CodecConfig = field(default_factory=CodecConfig)
    vocab_size: int = 0
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 8
    d_ff: int = 1024
    max_len: int = 512
    dropout: float = 0.1
    attn_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.codec not in ("events", "frames"):
            raise ConfigError(f"model.codec must be 'events' or 'frames', got {self.codec!r}")
        if isinstance(self.codec_config, dict):
            from soundart.checkpoint import config_from_dict

            self.codec_config = config_from_dict(CodecConfig, self.codec_config, "model.codec_config")
        if self.vocab_size == 0:
            from soundart.music.rnn import make_codec

            self.vocab_size = make_codec(self).vocab_size
        if self.d_model % self.n_heads:
            raise ConfigError(f"model.d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "max_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1 or not 0 <= self.attn_dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}, {self.attn_dropout}")

    @classmethod
    def debug(cls, vocab_size: int = 40, max_len: int = 64, **kw: Any) -> TransformerConfig:
        """A tiny configuration for tests."""
        return cls(**{"vocab_size": vocab_size, "d_model": 32, "n_layers": 2, "n_heads": 4, "d_ff": 64,
                      "max_len": max_len, "dropout": 0.0, **kw})


def skew(rel: torch.Tensor) -> torch.Tensor:
    """Huang et al.'s skewing: relative logits indexed by distance -> by key position.

    Parameters
    ----------
    rel : Tensor (..., L, L)
        ``rel[..., i, r] = q_i . E_r`` where embedding ``r`` stands for the
        distance ``L-1-r`` (so ``r = L-1`` is distance 0).

    Returns
    -------
    Tensor (..., L, L)
        ``out[..., i, j] = rel[..., i, L-1-(i-j)]`` for ``j <= i``; entries
        above the diagonal are meaningless and must be masked by the caller.
    """
    *lead, length, _ = rel.shape
    padded = F.pad(rel, (1, 0))                          # (..., L, L+1)
    padded = padded.reshape(*lead, length + 1, length)   # (..., L+1, L)
    return padded[..., 1:, :]                            # (..., L, L)


def local_causal_mask(length: int, window: int, device: torch.device) -> torch.Tensor:
    """Bool (L, L): True where query i may attend to key j (0 <= i - j < window)."""
    pos = torch.arange(length, device=device)
    dist = pos[:, None] - pos[None, :]
    return (dist >= 0) & (dist < window)


class RelativeSelfAttention(nn.Module):
    """Causal multi-head self-attention with learned relative position embeddings (per head)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.max_len = config.max_len
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)
        # rel_emb[h, r] embeds distance max_len-1-r (the last row is distance 0)
        self.rel_emb = nn.Parameter(torch.randn(config.n_heads, config.max_len, self.head_dim) * 0.02)
        self.attn_dropout = config.attn_dropout

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)             # each (B, nh, T, hs)
        return q, k, v

    def _relative_embeddings(self, length: int) -> torch.Tensor:
        """(nh, L, hs) embeddings for distances L-1 .. 0; distances >= max_len get zeros (masked anyway)."""
        if length <= self.max_len:
            return self.rel_emb[:, self.max_len - length:]
        zeros = self.rel_emb.new_zeros(self.n_heads, length - self.max_len, self.head_dim)
        return torch.cat([zeros, self.rel_emb], dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, D) -> (y (B, T, D), keys (B, nh, T, hs), values (B, nh, T, hs))."""
        b, t, d = x.shape
        q, k, v = self._heads(x)
        emb = self._relative_embeddings(t)                            # (nh, T, hs)
        rel = skew(torch.einsum("bhid,hrd->bhir", q, emb))            # (B, nh, T, T)
        allowed = local_causal_mask(t, self.max_len, x.device)        # (T, T)
        bias = rel.masked_fill(~allowed, float("-inf")) / math.sqrt(self.head_dim)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                           dropout_p=self.attn_dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, t, d)                        # (B, T, D)
        return self.out(y), k, v

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One new position: x (B, 1, D), cache of earlier keys/values -> (y (B, 1, D), new cache)."""
        b, _, d = x.shape
        q, k, v = self._heads(x)                                      # (B, nh, 1, hs)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        if k.shape[2] > self.max_len:                                 # sliding window
            k, v = k[:, :, -self.max_len:], v[:, :, -self.max_len:]
        s = k.shape[2]
        emb = self.rel_emb[:, self.max_len - s:]                      # (nh, S, hs): distances S-1 .. 0
        scores = (q @ k.transpose(-1, -2) + torch.einsum("bhqd,hsd->bhqs", q, emb)) / math.sqrt(self.head_dim)
        y = torch.softmax(scores, dim=-1) @ v                         # (B, nh, 1, hs)
        return self.out(y.transpose(1, 2).reshape(b, 1, d)), (k, v)


    def extend(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
               ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """A chunk of C new positions after S cached ones: x (B, C, D) -> (y (B, C, D), new cache).

        The relative logits of the rectangular (C, S+C) score matrix are
        gathered from ``Q E^T`` (B, nh, C, max_len) by distance; used to score
        sequences far longer than the context in bounded memory.
        """
        b, c, d = x.shape
        q, k, v = self._heads(x)                                      # (B, nh, C, hs)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        s = k.shape[2] - c
        dist = (torch.arange(c, device=x.device)[:, None] + s) - torch.arange(s + c, device=x.device)[None, :]
        allowed = (dist >= 0) & (dist < self.max_len)                 # (C, S+C)
        index = (self.max_len - 1 - dist).clamp(0, self.max_len - 1)  # embedding row of each distance
        rel = torch.einsum("bhcd,hrd->bhcr", q, self.rel_emb)         # (B, nh, C, max_len)
        rel = rel.gather(-1, index.expand(b, self.n_heads, c, s + c))  # (B, nh, C, S+C)
        scores = (q @ k.transpose(-1, -2) + rel) / math.sqrt(self.head_dim)
        y = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1) @ v
        cache = (k[:, :, -self.max_len:], v[:, :, -self.max_len:])
        return self.out(y.transpose(1, 2).reshape(b, c, d)), cache


class Block(nn.Module):
    """Pre-norm Transformer block: x + attn(ln(x)), then x + ffn(ln(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = RelativeSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.ffn = nn.Sequential(nn.Linear(config.d_model, config.d_ff), nn.GELU(),
                                 nn.Linear(config.d_ff, config.d_model))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, k, v = self.attn(self.ln1(x))
        x = x + self.drop(a)
        x = x + self.drop(self.ffn(self.ln2(x)))
        return x, k, v

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, cache = self.attn.step(self.ln1(x), cache)
        x = x + a
        return x + self.ffn(self.ln2(x)), cache


    def extend(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
               ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, cache = self.attn.extend(self.ln1(x), cache)
        x = x + a
        return x + self.ffn(self.ln2(x)), cache


class MusicTransformer(nn.Module):
    """Decoder-only Transformer over event tokens, with tied input/output embeddings."""

    kind = "music-transformer"
    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.embed.weight  # tied
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("attn.out.weight") or name.endswith("ffn.2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    # ---------------------------------------------------------------- full pass
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits at every position.

        Parameters
        ----------
        tokens : LongTensor (B, T)
            Any length; beyond ``max_len`` each position attends to the last
            ``max_len`` positions only (the same sliding window as ``step``).

        Returns
        -------
        Tensor (B, T, V)
        """
        return self.prefill(tokens)[0]

    def prefill(self, tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """Run a whole prefix at once: (logits (B, T, V), state to continue from with ``step``)."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, T), got shape {tuple(tokens.shape)}")
        x = self.drop(self.embed(tokens))                             # (B, T, D)
        cache: KVCache = []
        for block in self.blocks:
            x, k, v = block(x)
            cache.append((k[:, :, -self.config.max_len:], v[:, :, -self.config.max_len:]))
        logits = self.head(self.ln_f(x))                              # (B, T, V)
        return logits, {"cache": cache, "length": tokens.shape[1]}

    # ---------------------------------------------------------- incremental pass
    def init_state(self, batch_size: int, device: torch.device | str = "cpu") -> dict[str, Any]:
        """An empty key/value cache (the batch size and device are fixed by the first step)."""
        return {"cache": [None] * len(self.blocks), "length": 0}

    def step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Feed one token per sequence, reusing cached keys/values.

        Parameters
        ----------
        tokens : LongTensor (B,)
        state : dict from ``init_state``, ``prefill`` or a previous ``step``

        Returns
        -------
        logits : Tensor (B, V), for the token after ``tokens``
        new_state : dict (the input state is not modified)
        """
        x = self.embed(tokens[:, None])                               # (B, 1, D)
        new_cache: KVCache = []
        for block, layer_cache in zip(self.blocks, state["cache"]):
            x, layer_cache = block.step(x, layer_cache)
            new_cache.append(layer_cache)
        logits = self.head(self.ln_f(x))[:, 0]                        # (B, V)
        return logits, {"cache": new_cache, "length": state["length"] + 1}

    def extend(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Feed a chunk of tokens (B, C) after ``state``: (logits (B, C, V), new state)."""
        x = self.embed(tokens)                                        # (B, C, D)
        new_cache: KVCache = []
        for block, layer_cache in zip(self.blocks, state["cache"]):
            x, layer_cache = block.extend(x, layer_cache)
            new_cache.append(layer_cache)
        return self.head(self.ln_f(x)), {"cache": new_cache, "length": state["length"] + tokens.shape[1]}

    @torch.no_grad()
    def score_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) like ``forward`` for any T, in chunks of ``max_len`` (memory O(T * max_len))."""
        state = self.init_state(tokens.shape[0], tokens.device)
        out = []
        for start in range(0, tokens.shape[1], self.config.max_len):
            logits, state = self.extend(tokens[:, start:start + self.config.max_len], state)
            out.append(logits)
        return torch.cat(out, dim=1)

    # ----------------------------------------------------------------- training
    def _loss(self, batch: dict[str, torch.Tensor], reduction: str = "mean") -> tuple[torch.Tensor, torch.Tensor]:
        tokens, mask = batch["tokens"], batch["mask"]
        logits = self(tokens[:, :-1])                                 # (B, T-1, V)
        target = tokens[:, 1:]
        weight = mask[:, 1:].to(logits.dtype)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1),
                              reduction="none").view_as(weight)
        return (nll * weight).sum(), weight.sum()

    def training_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean next-token cross-entropy (nats) over the positions where ``mask`` is True.

        ``batch["mask"][b, t]`` says whether token ``t`` is a real token to be
        predicted (position 0 is never predicted).
        """
        total, count = self._loss(batch)
        return total / count.clamp_min(1.0)

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        total, count = self._loss(batch)
        return {"loss": total / count.clamp_min(1.0)}

    # --------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, n_new: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None, use_cache: bool = True) -> torch.Tensor:
        """Plain ancestral sampling (for benchmarks and tests; see ``soundart.music.sample`` for constraints).

        Parameters
        ----------
        prompt : LongTensor (B, P), P >= 1
        n_new : number of tokens to add
        temperature : 0 means greedy
        use_cache : False recomputes the whole (windowed) sequence at every step

        Returns
        -------
        LongTensor (B, P + n_new)
        """
        seq = prompt
        logits, state = self.prefill(prompt)
        last = logits[:, -1]
        for _ in range(n_new):
            if temperature <= 0:
                nxt = last.argmax(-1)
            else:
                probs = torch.softmax(last.float() / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
            seq = torch.cat([seq, nxt[:, None]], dim=1)
            if use_cache:
                last, state = self.step(nxt, state)
            else:
                last = self(seq[:, -self.config.n_layers * self.config.max_len:])[:, -1]
        return seq
