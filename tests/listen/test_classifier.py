"""The CNN: shapes, embed() API, batch consistency, checkpoint round trip, learning."""

from __future__ import annotations

import copy

import pytest
import torch

from soundart import checkpoint, features
from soundart.listen.classifier import ListenClassifier, ListenConfig
from tests.conftest import assert_batch_consistency


def _model() -> ListenClassifier:
    torch.manual_seed(0)
    return ListenClassifier(ListenConfig.debug()).eval()


def test_heads_shapes():
    model = _model()
    x = torch.randn(3, model.config.features.n_mels, model.config.chunk_frames) * 10 - 40
    out = model(x)
    assert out["genre"].shape == (3, len(model.config.genres)), out["genre"].shape
    assert out["quadrant"].shape == (3, 4), out["quadrant"].shape
    assert out["gems"].shape == (3, 9), out["gems"].shape


def test_embed_audio_equals_embed_logmel_and_batch_consistent():
    model = _model()
    sr = model.config.features.sr
    audio = torch.randn(2, sr * 3) * 0.1
    e_audio = model.embed(audio)
    e_mel = model.embed(features.logmel(audio, model.config.features))
    assert e_audio.shape == (2, model.config.embed_dim), e_audio.shape
    assert torch.allclose(e_audio, e_mel, atol=1e-5)
    assert_batch_consistency(model.embed, audio, atol=1e-5, rtol=1e-5)


def test_short_input_is_padded_to_one_chunk():
    model = _model()
    chunks = model.chunks(torch.zeros(model.config.features.n_mels, 5) - 30)
    assert chunks.shape == (1, model.config.features.n_mels, model.config.chunk_frames), chunks.shape


def test_overlapping_chunks_at_inference():
    model = _model()
    n = model.config.chunk_frames
    logmel = torch.randn(model.config.features.n_mels, 3 * n + 5)
    assert model.chunks(logmel).shape[0] == 3
    model.config.chunk_hop = n // 2
    chunks = model.chunks(logmel)
    assert chunks.shape[0] == 5 and torch.equal(chunks[1], logmel[:, n // 2:n // 2 + n])


def test_augmentation_keeps_the_chunk_shape():
    torch.manual_seed(0)
    config = ListenConfig(**{**ListenConfig.debug().__dict__, "pitch_bins": 2, "stretch": 0.2, "eq_db": 6.0})
    model = ListenClassifier(config)
    crop = config.crop_frames(training=True)
    assert crop > config.chunk_frames == config.crop_frames(training=False)
    x = torch.randn(4, config.features.n_mels, crop) - 40
    out = model.augment({"x": x})["x"]
    assert out.shape == (4, config.features.n_mels, config.chunk_frames) and torch.isfinite(out).all()


def test_checkpoint_round_trip(tmp_path):
    model = _model()
    checkpoint.save(model, tmp_path / "m")
    loaded = checkpoint.load(tmp_path / "m", expect_kind="listen-cnn")
    x = torch.randn(2, model.config.features.n_mels, model.config.chunk_frames)
    assert torch.allclose(model(x)["quadrant"], loaded(x)["quadrant"])


def test_valence_arousal_from_quadrants():
    v, a = ListenClassifier.valence_arousal(torch.tensor([0.7, 0.1, 0.1, 0.1]))
    assert abs(float(v) - 0.8) < 1e-6 and abs(float(a) - 0.8) < 1e-6


def test_learns_two_separable_classes():
    torch.manual_seed(0)
    model = ListenClassifier(ListenConfig.debug())
    n_mels, T = model.config.features.n_mels, model.config.chunk_frames
    x = torch.randn(16, n_mels, T) * 3 - 50
    y = torch.arange(16) % 2
    x[y == 1, : n_mels // 2] += 30  # class 1: loud low bands
    n_genres = len(model.config.genres)
    batch = {"x": x, "genre": torch.nn.functional.one_hot(y, n_genres).float(), "genre_mask": torch.ones(16, n_genres),
             "genre_either": torch.zeros(16, n_genres), "quadrant": y + 2, "tags": torch.zeros(16, 1),
             "tags_mask": torch.zeros(16), "gems": torch.zeros(16, 9), "gems_mask": torch.zeros(16)}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(25):
        loss = model.training_step(batch)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    acc = (model(x)["genre"].argmax(-1) == y).float().mean()
    assert float(loss.detach()) < first and acc >= 0.9, (first, float(loss), float(acc))


def test_feature_maps_keep_every_frame_and_follow_the_input():
    model = _model()
    n_mels = model.config.features.n_mels
    x = torch.randn(2, n_mels, 50) * 10 - 40
    maps = model.feature_maps(x)
    assert maps.shape == (2, model.config.channels[0], n_mels, 50), maps.shape
    assert (maps >= 0).all()
    changed = x.clone()
    changed[:, :, 30:] += 20
    assert torch.allclose(model.feature_maps(changed)[..., :25], maps[..., :25], atol=1e-5)
    assert not torch.allclose(model.feature_maps(changed)[..., 31:], maps[..., 31:])


@pytest.mark.parametrize("stats", [0, 3])
def test_refit_heads_reads_whole_recordings(stats):
    """Heads refitted on mean chunk embeddings (frozen network) separate two kinds of recording, and a
    recording's probabilities then come from its mean embedding (and, with ``recording_stats``, its cepstral
    statistics: wider heads that survive a save and load)."""
    from soundart.listen.data import Item
    from soundart.listen.refit import refit_heads
    from soundart.listen.task import ChunkDataset

    torch.manual_seed(0)
    config = ListenConfig(**{**ListenConfig.debug().__dict__, "genres": ("calm", "loud"), "recording_stats": stats})
    model = ListenClassifier(config).eval()
    n_mels, n = config.features.n_mels, config.chunk_frames
    gen = torch.Generator().manual_seed(1)

    def recordings(count: int) -> tuple[list[Item], list[dict]]:
        items, feats = [], []
        for i in range(count):
            loud = i % 2 == 1
            L = torch.randn(n_mels, 3 * n, generator=gen) * 3 - 50
            L[: n_mels // 2] += 25 if loud else 0
            items.append(Item(path=f"{i}.wav", group=str(i), source="folder", genre="loud" if loud else "calm",
                              quadrant=1 if loud else 3))
            feats.append({"logmel": L.numpy()})
        return items, feats

    exclusive = {"folder": {"calm", "loud"}}
    train, val = (ChunkDataset(*recordings(c), config, False, exclusive) for c in (24, 12))
    penalties = refit_heads(model, train, val)
    assert config.pooled_heads and set(penalties) == {"genre_penalty", "quadrant_penalty", "tags_penalty",
                                                      "gems_penalty"}
    assert model.genre_head.in_features == config.embed_dim + 2 * stats
    test_items, test_feats = recordings(10)
    reloaded = ListenClassifier(copy.deepcopy(config))
    reloaded.load_state_dict(model.state_dict())
    for item, f in zip(test_items, test_feats):
        L = torch.from_numpy(f["logmel"])
        whole, chunks = model.predict(L)
        assert chunks["genre"].shape == (3, 2)
        e = model.chunk_embed(model.chunks(L))
        pooled = torch.cat([e.mean(0), model.recording_statistics(L)])[None]
        expected = model.probabilities(model.heads(pooled))
        assert torch.allclose(whole["quadrant"], expected["quadrant"][0])
        assert torch.allclose(reloaded.eval().predict(L)[0]["genre"], whole["genre"])
        assert ("loud" if whole["genre"][1] > whole["genre"][0] else "calm") == item.genre
        assert int(whole["quadrant"].argmax()) == item.quadrant
