"""Genre taxonomy targets, near-duplicate groups, calibration scores and the "one or both" loss."""

from __future__ import annotations

import numpy as np
import torch

from soundart.listen.classifier import ListenClassifier, ListenConfig
from soundart.listen.data import Item, assign_splits
from soundart.listen.groups import link_near_duplicates
from soundart.listen.labels import TAXONOMY, genre_targets, label_vocab, source_genres
from soundart.listen.scores import categorical_nll, expected_calibration_error, fit_temperature, multilabel_nll


def _mood4q(tags: str) -> Item:
    return Item(path="x.ogg", group="artist:x", source="mood4q", tags=tuple(t.strip() for t in tags.split(";")))


def _emotify(genre: str) -> Item:
    return Item(path=f"{genre}.ogg", group=f"emotify:{genre}:0", source="emotify", genre=genre)


def test_vocab_follows_the_taxonomy_and_keeps_other_tags_apart():
    items = [_mood4q("Jazz; Latin; International")] * 25 + [_mood4q("Pop/Rock")] + [_emotify("rock")]
    vocab = label_vocab(items)
    assert vocab.genres == ("pop", "rock", "jazz", "latin"), vocab.genres
    assert vocab.tags == ("International",), vocab.tags


def test_targets_of_each_source():
    genres = TAXONOMY
    exclusive = source_genres([_emotify(g) for g in ("classical", "electronic", "pop", "rock")])
    rock = genre_targets(_emotify("rock"), genres, exclusive)
    known = {g: rock.target[i] for i, g in enumerate(genres) if rock.mask[i]}
    assert known == {"classical": 0, "electronic": 0, "pop": 0, "rock": 1}, known   # jazz etc. unknown
    tagged = genre_targets(_mood4q("Pop/Rock; Jazz"), genres, exclusive)
    known = {g: tagged.target[i] for i, g in enumerate(genres) if tagged.mask[i]}
    assert known["jazz"] == 1 and known["blues"] == 0 and known["classical"] == 0
    assert "pop" not in known and "rock" not in known      # "one or both": each alone unknown
    assert [genres[i] for i in np.nonzero(tagged.either)[0]] == ["pop", "rock"]
    plain = genre_targets(_mood4q("Blues"), genres, exclusive)
    assert plain.mask[genres.index("pop")] == 1 and plain.target[genres.index("pop")] == 0
    assert not plain.either.any()


def test_near_duplicates_join_one_group_and_one_split():
    rng = np.random.default_rng(0)
    prints = rng.normal(size=(40, 257)).astype(np.float32) * 5
    prints[7] = prints[3] + rng.normal(size=257) * 0.05 + 12      # the same recording, 12 dB louder
    items = [Item(path=f"{i}.ogg", group=f"emotify:{'rock' if i < 20 else 'pop'}:{i}", source="emotify",
                  genre="rock" if i < 20 else "pop") for i in range(40)]
    items[7].genre = "pop"                                         # near-duplicates may span genres
    links = link_near_duplicates(items, prints)
    assert [(a, b) for a, b, _ in links] == [(3, 7)], links
    assert items[3].group == items[7].group == min("emotify:rock:3", "emotify:rock:7")
    assert len({it.group for it in items}) == 39
    for seed in range(5):
        assign_splits(items, 0.3, 0.2, seed)
        assert items[3].split == items[7].split


def test_calibration_error_and_temperature_fit():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 1, 1)) * 3                         # one chunk per recording, one genre
    y = (rng.random((4000, 1)) < 1 / (1 + np.exp(-z[:, 0] / 2))).astype(float)  # true temperature 2
    p_true = 1 / (1 + np.exp(-z[:, 0, 0] / 2))
    assert expected_calibration_error(p_true, y[:, 0]) < 0.03
    assert expected_calibration_error(1 / (1 + np.exp(-z[:, 0, 0] * 2)), y[:, 0]) > 0.1
    t = fit_temperature(list(z), multilabel_nll(y, np.ones_like(y)))
    assert 1.7 < t < 2.4, t
    logits = rng.normal(size=(3000, 1, 4)) * 4
    labels = np.array([rng.choice(4, p=np.exp(z[0] / 3) / np.exp(z[0] / 3).sum()) for z in logits])
    assert 2.5 < fit_temperature(list(logits), categorical_nll(labels)) < 3.6


def test_one_or_both_tag_teaches_the_union_only():
    torch.manual_seed(0)
    config = ListenConfig(**{**ListenConfig.debug().__dict__, "genres": ("pop", "rock", "jazz")})
    model = ListenClassifier(config)
    n_mels, T = config.features.n_mels, config.chunk_frames
    x = torch.randn(16, n_mels, T) * 3 - 50
    x[8:, : n_mels // 2] += 30                                     # the loud items are tagged Pop/Rock
    either = torch.zeros(16, 3)
    either[8:, :2] = 1
    mask = torch.zeros(16, 3)
    mask[:8, :] = 1                                                # the quiet ones: known not pop/rock/jazz
    mask[8:, 2] = 1
    batch = {"x": x, "genre": torch.zeros(16, 3), "genre_mask": mask, "genre_either": either,
             "quadrant": torch.full((16,), -1), "tags": torch.zeros(16, 1), "tags_mask": torch.zeros(16),
             "gems": torch.zeros(16, 9), "gems_mask": torch.zeros(16)}
    model.config.mix_prob = 0.0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = model.training_step(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    p = model.eval()(x)["genre"].sigmoid().detach()
    union = 1 - (1 - p[:, 0]) * (1 - p[:, 1])
    assert (union[8:] > 0.8).all() and (union[:8] < 0.3).all(), union
    assert (p[:, 2] < 0.3).all(), p[:, 2]
