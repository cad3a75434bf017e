"""Music Transformer: relative attention, the KV cache against full recomputation, training, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from soundart import checkpoint
from soundart.errors import ConfigError
from soundart.music.rnn import make_codec
from soundart.music.transformer import MusicTransformer, TransformerConfig, local_causal_mask, skew
from tests.conftest import assert_batch_consistency


def _model(max_len: int = 64, vocab: int = 40, seed: int = 0, **kw) -> MusicTransformer:
    torch.manual_seed(seed)
    config = TransformerConfig.debug(vocab_size=vocab, max_len=max_len, **kw)
    model = MusicTransformer(config).eval()
    # random init is near-uniform; larger weights make the comparison sharper
    with torch.no_grad():
        for block in model.blocks:
            block.attn.rel_emb.mul_(20.0)
    return model


def _incremental(model: MusicTransformer, tokens: torch.Tensor) -> torch.Tensor:
    state = model.init_state(tokens.shape[0], tokens.device)
    out = []
    for t in range(tokens.shape[1]):
        logits, state = model.step(tokens[:, t], state)
        out.append(logits)
    return torch.stack(out, dim=1)


def test_skew_matches_index_arithmetic() -> None:
    length = 7
    rel = torch.randn(2, 3, length, length)
    out = skew(rel)
    assert out.shape == rel.shape, out.shape
    for i in range(length):
        for j in range(i + 1):
            assert torch.equal(out[..., i, j], rel[..., i, length - 1 - (i - j)]), (i, j)


def test_relative_attention_equals_naive_pairwise_version() -> None:
    """The skewed computation equals the O(L^2 D) per-pair formulation of Shaw et al."""
    model = _model(max_len=8)
    attn = model.blocks[0].attn
    x = torch.randn(2, 12, model.config.d_model)  # longer than max_len: the window applies
    y, _, _ = attn(x)
    q, k, v = attn._heads(x)
    length, m, hs = x.shape[1], attn.max_len, attn.head_dim
    pos = torch.arange(length)
    dist = pos[:, None] - pos[None, :]                                     # (L, L)
    pair_emb = attn.rel_emb[:, (m - 1 - dist).clamp(0, m - 1)]             # (nh, L, L, hs)
    rel = torch.einsum("bhid,hijd->bhij", q, pair_emb)
    scores = (q @ k.transpose(-1, -2) + rel) / math.sqrt(hs)
    scores = scores.masked_fill(~local_causal_mask(length, m, x.device), float("-inf"))
    ref = (scores.softmax(-1) @ v).transpose(1, 2).reshape(y.shape)
    assert (attn.out(ref) - y).abs().max() < 1e-5


@torch.no_grad()
def test_kv_cache_matches_full_recomputation_over_512_steps() -> None:
    model = _model(max_len=512)
    tokens = torch.randint(0, model.config.vocab_size, (2, 512), generator=torch.Generator().manual_seed(1))
    full = model(tokens)                                                    # (B, T, V)
    inc = _incremental(model, tokens)
    assert full.shape == inc.shape == (2, 512, model.config.vocab_size), (full.shape, inc.shape)
    diff = (full - inc).abs().max().item()
    assert diff <= 1e-4, f"max abs logit difference {diff}"
    assert full.std() > 0.1  # the model is not trivially flat


@torch.no_grad()
def test_sliding_window_beyond_trained_context_matches_banded_recomputation() -> None:
    model = _model(max_len=32)
    tokens = torch.randint(0, model.config.vocab_size, (1, 150), generator=torch.Generator().manual_seed(2))
    inc = _incremental(model, tokens)
    diff = (model(tokens) - inc).abs().max().item()
    assert diff <= 1e-4, f"max abs logit difference {diff}"
    # the last position only sees the last n_layers * max_len tokens ...
    tail = tokens[:, -model.config.n_layers * model.config.max_len:]
    assert (model(tail)[:, -1] - inc[:, -1]).abs().max() <= 1e-4
    # ... and the cache never grows past the window
    _, state = model.prefill(tokens)
    assert all(k.shape[2] == 32 and v.shape[2] == 32 for k, v in state["cache"])


@torch.no_grad()
def test_prefill_then_step_equals_stepping_from_scratch() -> None:
    model = _model(max_len=40)
    tokens = torch.randint(0, model.config.vocab_size, (3, 90), generator=torch.Generator().manual_seed(3))
    _, state = model.prefill(tokens[:, :70])
    out = []
    for t in range(70, 90):
        logits, state = model.step(tokens[:, t], state)
        out.append(logits)
    assert (torch.stack(out, 1) - model(tokens)[:, 70:]).abs().max() <= 1e-4


@torch.no_grad()
def test_batch_items_one_by_one_equal_the_batch() -> None:
    model = _model()
    tokens = torch.randint(0, model.config.vocab_size, (3, 20))
    assert_batch_consistency(model, tokens, atol=1e-5, rtol=0.0)


@torch.no_grad()
def test_generate_with_and_without_cache_agree_greedy() -> None:
    model = _model(max_len=16)
    prompt = torch.tensor([[1, 2, 3]])
    fast = model.generate(prompt, 40, temperature=0.0, use_cache=True)
    slow = model.generate(prompt, 40, temperature=0.0, use_cache=False)
    assert fast.shape == (1, 43) and torch.equal(fast, slow)


def test_training_learns_a_pattern_and_masks_padding() -> None:
    torch.manual_seed(0)
    model = MusicTransformer(TransformerConfig.debug(vocab_size=12, max_len=32)).train()
    pattern = torch.tensor([1, 5, 7, 3, 9, 2] * 5)                          # (30,)
    tokens = pattern[None].repeat(8, 1)
    mask = torch.ones_like(tokens, dtype=torch.bool)
    mask[:, 24:] = False
    tokens[:, 24:] = 0                                                      # padding, not predicted
    batch = {"tokens": tokens, "mask": mask}
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = model.training_step(batch).item()
    for _ in range(60):
        loss = model.training_step(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 2.0 and loss.item() < 0.2, (first, loss.item())
    # the tied output layer is the embedding
    assert model.head.weight.data_ptr() == model.embed.weight.data_ptr()


def test_checkpoint_round_trip_keeps_outputs(tmp_path) -> None:
    model = _model(max_len=24, codec="frames")
    checkpoint.save(model, tmp_path / "m", {"data": "random"})
    loaded = checkpoint.load(tmp_path / "m", expect_kind="music-transformer")
    tokens = torch.randint(0, model.config.vocab_size, (2, 30))
    with torch.no_grad():
        assert torch.equal(model(tokens), loaded(tokens))
    assert loaded.config == model.config
    assert loaded.head.weight.data_ptr() == loaded.embed.weight.data_ptr()


def test_bad_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="n_heads"):
        TransformerConfig(d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="max_len"):
        TransformerConfig(max_len=0)


@torch.no_grad()
def test_chunked_scoring_equals_full_forward() -> None:
    model = _model(max_len=24)
    tokens = torch.randint(0, model.config.vocab_size, (2, 100), generator=torch.Generator().manual_seed(4))
    assert (model.score_tokens(tokens) - model(tokens)).abs().max() <= 1e-4


@pytest.mark.parametrize("name", ["music-transformer", "transformer-jsb", "transformer-nottingham"])
def test_recipes_load_and_build_the_model(name: str) -> None:
    from soundart.train.recipe import load_recipe

    root = Path(__file__).resolve().parents[2]
    recipe = load_recipe(root / "recipes" / f"{name}.yaml")
    assert recipe.task == "music-transformer"
    assert recipe.data.max_len <= recipe.model.max_len
    model = MusicTransformer(recipe.model)
    size_mb = sum(p.numel() for p in model.parameters()) * 4 / 1e6
    assert size_mb < 8.0, size_mb  # shipped-weights budget
    assert model.config.vocab_size == make_codec(model.config).vocab_size


def test_task_refuses_a_codec_that_does_not_match_the_data() -> None:
    from soundart.music.corpora import MusicDataConfig
    from soundart.music.transformer_task import prepare

    with pytest.raises(ConfigError, match="model.codec"):
        prepare(MusicDataConfig(source="jsb"), TransformerConfig.debug(vocab_size=0))
    with pytest.raises(ConfigError, match="context"):
        prepare(MusicDataConfig(source="jsb", max_len=128), TransformerConfig.debug(vocab_size=0, codec="frames"))
