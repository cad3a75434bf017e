"""The ``listen`` training task and the measurements shared by training and ``soundart eval listen``.

``evaluate`` scores the CNN on the held-out test split (whole recordings,
chunk predictions averaged) and, in the same run, a baseline: logistic
regression on the mean and standard deviation of the MFCCs of each recording
(``soundart.features.mfcc``), fit on the training split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from soundart.listen.classifier import ListenClassifier, ListenConfig
from soundart.listen.data import GEMS, QUADRANTS, Item, ListenDataConfig, cached_features, read_items
from soundart.listen.labels import ALLMUSIC_GENRES, EITHER_TAGS, genre_targets, label_vocab, source_genres
from soundart.listen.scores import (
    categorical_nll,
    classification_scores,
    expected_calibration_error,
    fit_temperature,
    multilabel_nll,
    roc_auc,
)
from soundart.train.warm_start import WarmStartRules, warm_start


class ChunkDataset(Dataset):
    """One log-mel chunk per item: a random crop (training) or the middle one (validation)."""

    def __init__(self, items: list[Item], feats: list[dict[str, np.ndarray]], config: ListenConfig,
                 random_crop: bool, exclusive: dict[str, set[str]]) -> None:
        self.items, self.feats, self.config, self.random_crop = items, feats, config, random_crop
        self.genre_targets = [genre_targets(it, config.genres, exclusive) for it in items]
        self.tag_index = {t: i for i, t in enumerate(config.tags)}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        L = self.feats[i]["logmel"]
        n = self.config.crop_frames(self.random_crop)
        frames = L.shape[-1]
        if frames <= n:
            x = np.pad(L.astype(np.float32), ((0, 0), (0, n - frames)), constant_values=float(L.max()) - 80)
        else:
            start = int(torch.randint(0, frames - n + 1, ()).item()) if self.random_crop else (frames - n) // 2
            x = L[:, start:start + n].astype(np.float32)
        return {"x": torch.from_numpy(np.ascontiguousarray(x)), **self.targets(i)}

    def targets(self, i: int) -> dict[str, torch.Tensor]:
        """The labels of item ``i`` as the heads' losses read them (masks say which are known)."""
        item = self.items[i]
        tags = torch.zeros(max(1, len(self.config.tags)))
        for t in item.tags:
            if t in self.tag_index:
                tags[self.tag_index[t]] = 1.0
        genres = self.genre_targets[i]
        return {
            "genre": torch.from_numpy(genres.target), "genre_mask": torch.from_numpy(genres.mask),
            "genre_either": torch.from_numpy(genres.either),
            "quadrant": torch.tensor(-1 if item.quadrant is None else item.quadrant),
            "tags": tags,
            "tags_mask": torch.tensor(1.0 if (item.source == "mood4q" or item.tags) and self.config.tags else 0.0),
            "gems": torch.tensor(item.gems if item.gems is not None else [0.0] * len(GEMS), dtype=torch.float),
            "gems_mask": torch.tensor(0.0 if item.gems is None else 1.0),
        }


def load_data(data_cfg: ListenDataConfig, model_cfg: ListenConfig, progress: bool = True
              ) -> tuple[list[Item], list[dict[str, np.ndarray]]]:
    """Items with their split and cached features (computed on first use)."""
    items = read_items(data_cfg)
    feats = cached_features(items, model_cfg.features.to_dict(), data_cfg.cache_dir, data_cfg.workers, progress)
    return items, feats


# the heads follow the recipe's labels (another model's may have as many outputs meaning other
# genres), so they always start afresh; the trunk must fit
WARM_START = WarmStartRules(same=((("features",), "log-mel front end"),),
                            skip=("genre_head.", "quadrant_head.", "tag_head.", "gems_head."),
                            fit_hint="channels and embed_dim must match")


def prepare(data_cfg: ListenDataConfig, model_cfg: ListenConfig):
    """Task hook: the classifier (label sets taken from the data) and chunk datasets."""
    from soundart.train.recipe import Prepared

    items, feats = load_data(data_cfg, model_cfg)
    train_items = [it for it in items if it.split == "train"]
    vocab = label_vocab(train_items)
    model_cfg = dataclasses.replace(model_cfg, genres=vocab.genres, tags=vocab.tags)
    model = ListenClassifier(model_cfg)
    started = warm_start(model, data_cfg.init_from, WARM_START) if data_cfg.init_from else None
    exclusive = source_genres(items)

    def subset(split: str, random_crop: bool) -> ChunkDataset:
        idx = [i for i, it in enumerate(items) if it.split == split]
        return ChunkDataset([items[i] for i in idx], [feats[i] for i in idx], model_cfg, random_crop, exclusive)

    counts = {s: sum(it.split == s for it in items) for s in ("train", "val", "test")}
    sources = sorted({it.source for it in items})
    description = (f"{' + '.join(sources)} ({len(items)} recordings; split by artist/group: "
                   f"{counts['train']} train, {counts['val']} val, {counts['test']} test); "
                   f"genre head (multi-label): {', '.join(vocab.genres) or 'none'} "
                   f"({', '.join(sorted({it.source for it in items if it.genre or it.tags})) or 'no genre labels'}); "
                   f"mood head: {'mood4q quadrants' if any(it.quadrant is not None for it in items) else 'no labels'}"
                   f"; tags {', '.join(vocab.tags) or 'none'}")
    return Prepared(model=model, train_data=subset("train", True), val_data=subset("val", False),
                    data_description=description, started=started)


@torch.no_grad()
def predict_items(model: ListenClassifier, feats: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Recording-level probabilities of each head, stacked: genre (N, G), quadrant (N, 4) ..."""
    device = next(model.parameters()).device
    out: dict[str, list] = {}
    for f in feats:
        probs = model.predict_recording(torch.from_numpy(f["logmel"].astype(np.float32)).to(device))
        for k, v in probs.items():
            out.setdefault(k, []).append(v.cpu().numpy())
    return {k: np.stack(v) for k, v in out.items()}


def measure(model: ListenClassifier, items: list[Item], feats: list[dict[str, np.ndarray]],
            train_items: list[Item] | None = None, train_feats: list[dict[str, np.ndarray]] | None = None
            ) -> dict[str, Any]:
    """Scores of the CNN on ``items`` (and of the MFCC baseline when training items are given).

    ``genre``: single-label accuracy read from the multi-label output, the argmax over the genres the
    item's source chooses from (emotify's four); ``genres``: ROC-AUC per AllMusic genre (``Pop/Rock``
    scored by P(pop or rock)) and the calibration error over every known (recording, genre) pair.
    """
    cfg = model.config
    probs = predict_items(model.eval(), feats)
    result: dict[str, Any] = {}
    by_source = source_genres(items)
    single = [i for i, it in enumerate(items) if it.genre in cfg.genres]
    labels = sorted({g for i in single for g in by_source[items[i].source] if g in cfg.genres},
                    key=list(cfg.genres).index)
    def quadrant_of(it: Item) -> str | None:
        return QUADRANTS[it.quadrant] if it.quadrant is not None else None

    for head, names, get in (("genre", labels, lambda it: it.genre), ("quadrant", list(QUADRANTS), quadrant_of)):
        idx = [i for i, it in enumerate(items) if get(it) in names]
        if not idx or not names:
            continue
        y = np.array([names.index(get(items[i])) for i in idx])
        if head == "genre":
            columns = [list(cfg.genres).index(g) for g in names]
            p = probs["genre"][idx][:, columns]
        else:
            p = probs["quadrant"][idx]
        entry: dict[str, Any] = {"labels": names, "cnn": classification_scores(y, p.argmax(-1), len(names))}
        entry["cnn"]["ece"] = expected_calibration_error(p.max(-1), p.argmax(-1) == y)  # of the top label
        if head == "quadrant":
            va = np.array([[q in (0, 3), q in (0, 1)] for q in y])
            entry["cnn"]["valence_accuracy"] = float(np.mean((p[:, 0] + p[:, 3] > 0.5) == va[:, 0]))
            entry["cnn"]["arousal_accuracy"] = float(np.mean((p[:, 0] + p[:, 1] > 0.5) == va[:, 1]))
        if train_items is not None and train_feats is not None:
            tr = [i for i, it in enumerate(train_items) if get(it) in names]
            if len({get(train_items[i]) for i in tr}) >= 2:
                entry["baseline_mfcc_logreg"] = _baseline(
                    np.stack([train_feats[i]["mfcc_stats"] for i in tr]),
                    np.array([names.index(get(train_items[i])) for i in tr]),
                    np.stack([feats[i]["mfcc_stats"] for i in idx]), y, len(names))
        result[head] = entry
    if cfg.genres:
        result.update(_genre_taxonomy_scores(cfg, items, probs["genre"], by_source))
    idx = [i for i, it in enumerate(items) if it.source == "mood4q" or it.tags]
    if cfg.tags and idx:
        Y = np.array([[t in items[i].tags for t in cfg.tags] for i in idx], dtype=float)
        aucs = [roc_auc(Y[:, j], probs["tags"][idx, j]) for j in range(len(cfg.tags)) if 0 < Y[:, j].sum() < len(idx)]
        if aucs:
            result["tags"] = {"labels": list(cfg.tags), "cnn": {"macro_roc_auc": float(np.mean(aucs)),
                                                                "n": len(idx)}}
    idx = [i for i, it in enumerate(items) if it.gems is not None]
    if idx:
        Y = np.array([items[i].gems for i in idx])
        P = probs["gems"][idx]
        rs = [float(np.corrcoef(Y[:, j], P[:, j])[0, 1]) for j in range(Y.shape[1]) if Y[:, j].std() > 0]
        result["gems"] = {"labels": list(GEMS), "cnn": {"mean_pearson_r": float(np.mean(rs)), "n": len(idx)}}
    return result


def _genre_taxonomy_scores(cfg: ListenConfig, items: list[Item], P: np.ndarray, by_source: dict[str, set[str]]
                           ) -> dict[str, Any]:
    """ROC-AUC per AllMusic genre on the tagged items and ECE over every known (item, genre) pair."""
    out: dict[str, Any] = {}
    tagged = [i for i, it in enumerate(items) if it.tags]
    per_genre: dict[str, float] = {}
    column = {g: i for i, g in enumerate(cfg.genres)}
    for tag, genre in list(ALLMUSIC_GENRES.items()) + [(t, members) for t, members in EITHER_TAGS.items()]:
        members = (genre,) if isinstance(genre, str) else genre
        if not tagged or any(g not in column for g in members):
            continue
        y = np.array([tag in items[i].tags for i in tagged], dtype=float)
        none = np.prod([1 - P[tagged, column[g]] for g in members], axis=0)   # P(none of the members)
        if 0 < y.sum() < len(y):
            per_genre[tag] = roc_auc(y, 1 - none)
    targets = [genre_targets(it, cfg.genres, by_source) for it in items]
    mask = np.stack([t.mask for t in targets]) > 0
    truth = np.stack([t.target for t in targets])
    scores: dict[str, Any] = {"ece": expected_calibration_error(P[mask], truth[mask]), "n_pairs": int(mask.sum())}
    if per_genre:
        scores.update(macro_roc_auc=float(np.mean(list(per_genre.values()))), n=len(tagged),
                      roc_auc={k: round(v, 4) for k, v in per_genre.items()})
    out["genres"] = {"labels": list(cfg.genres), "cnn": scores}
    return out


@torch.no_grad()
def calibrate(model: ListenClassifier, items: list[Item], feats: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Fit the genre and quadrant temperatures on ``items`` (the validation split) and set them in the
    model's config; returns them."""
    cfg = model.config
    device = next(model.parameters()).device
    logits = [model.eval().recording_logits(torch.from_numpy(f["logmel"].astype(np.float32)).to(device))
              for f in feats]
    fitted = {}
    by_source = source_genres(items)
    if cfg.genres:
        targets = [genre_targets(it, cfg.genres, by_source) for it in items]
        keep = [i for i, t in enumerate(targets) if t.mask.any()]
        if keep:
            cfg.genre_temperature = fit_temperature(
                [logits[i]["genre"].cpu().numpy() for i in keep],
                multilabel_nll(np.stack([targets[i].target for i in keep]), np.stack([targets[i].mask for i in keep])))
            fitted["genre_temperature"] = cfg.genre_temperature
    keep = [i for i, it in enumerate(items) if it.quadrant is not None]
    if keep:
        cfg.quadrant_temperature = fit_temperature([logits[i]["quadrant"].cpu().numpy() for i in keep],
                                                   categorical_nll(np.array([items[i].quadrant for i in keep])))
        fitted["quadrant_temperature"] = cfg.quadrant_temperature
    return fitted


def _baseline(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, n: int
              ) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    clf.fit(X_train, y_train)
    return classification_scores(y_test, clf.predict(X_test), n)


def evaluate(model: ListenClassifier, data_cfg: ListenDataConfig, prepared: Any) -> dict[str, Any]:
    """Task hook: the heads refitted on whole recordings (``refit_heads``, :mod:`soundart.listen.refit`) and
    temperatures fitted on the validation split, then held-out test scores of the CNN and the MFCC baseline
    (stored in the checkpoint; the fitted heads and temperatures are saved with the model)."""
    items, feats = load_data(data_cfg, model.config, progress=False)
    val = [i for i, it in enumerate(items) if it.split == "val"]
    test = [i for i, it in enumerate(items) if it.split == "test"]
    train = [i for i, it in enumerate(items) if it.split == "train"]
    fitted: dict[str, float] = {}
    if model.config.refit_heads and not model.config.pooled_heads:
        from soundart.listen.refit import refit_heads

        exclusive = source_genres(items)
        fitted.update(refit_heads(model, *(ChunkDataset([items[i] for i in idx], [feats[i] for i in idx], model.config,
                                                        False, exclusive) for idx in (train, val))))
    fitted.update(calibrate(model, [items[i] for i in val], [feats[i] for i in val]))
    scores = measure(model, [items[i] for i in test], [feats[i] for i in test],
                     [items[i] for i in train], [feats[i] for i in train])
    return {**summarize(scores), **{k: round(v, 4) for k, v in fitted.items()}}


def summarize(scores: dict[str, Any]) -> dict[str, Any]:
    """Flat metrics for a checkpoint's metadata (``soundart models`` shows them)."""
    flat: dict[str, Any] = {}
    for head, entry in scores.items():
        for who, s in entry.items():
            if who == "labels":
                continue
            tag = "" if who == "cnn" else "baseline_"
            for key in ("accuracy", "macro_f1", "valence_accuracy", "arousal_accuracy", "macro_roc_auc",
                        "ece", "mean_pearson_r", "n"):
                if key in s:
                    flat[f"test_{head}_{tag}{key}"] = round(s[key], 4) if isinstance(s[key], float) else s[key]
    return flat


def _make_task():
    from soundart.train.recipe import Task

    return Task("listen", ListenConfig, ListenDataConfig, prepare, evaluate)


TASK = _make_task()
