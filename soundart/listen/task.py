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
from soundart.listen.data import GEMS, QUADRANTS, Item, ListenDataConfig, cached_features, label_vocab, read_items


class ChunkDataset(Dataset):
    """One log-mel chunk per item: a random crop (training) or the middle one (validation)."""

    def __init__(self, items: list[Item], feats: list[dict[str, np.ndarray]], config: ListenConfig,
                 random_crop: bool) -> None:
        self.items, self.feats, self.config, self.random_crop = items, feats, config, random_crop
        self.genre_index = {g: i for i, g in enumerate(config.genres)}
        self.tag_index = {t: i for i, t in enumerate(config.tags)}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item, L = self.items[i], self.feats[i]["logmel"]
        n = self.config.chunk_frames
        frames = L.shape[-1]
        if frames <= n:
            x = np.pad(L.astype(np.float32), ((0, 0), (0, n - frames)), constant_values=float(L.max()) - 80)
        else:
            start = int(torch.randint(0, frames - n + 1, ()).item()) if self.random_crop else (frames - n) // 2
            x = L[:, start:start + n].astype(np.float32)
        tags = torch.zeros(max(1, len(self.config.tags)))
        for t in item.tags:
            if t in self.tag_index:
                tags[self.tag_index[t]] = 1.0
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x)),
            "genre": torch.tensor(self.genre_index.get(item.genre, -1) if item.genre else -1),
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


def prepare(data_cfg: ListenDataConfig, model_cfg: ListenConfig):
    """Task hook: the classifier (label sets taken from the data) and chunk datasets."""
    from soundart.train.recipe import Prepared

    items, feats = load_data(data_cfg, model_cfg)
    train_items = [it for it in items if it.split == "train"]
    vocab = label_vocab(train_items)
    model_cfg = dataclasses.replace(model_cfg, genres=vocab.genres, tags=vocab.tags)
    model = ListenClassifier(model_cfg)

    def subset(split: str, random_crop: bool) -> ChunkDataset:
        idx = [i for i, it in enumerate(items) if it.split == split]
        return ChunkDataset([items[i] for i in idx], [feats[i] for i in idx], model_cfg, random_crop)

    counts = {s: sum(it.split == s for it in items) for s in ("train", "val", "test")}
    sources = sorted({it.source for it in items})
    description = (f"{' + '.join(sources)} ({len(items)} recordings; split by artist/group: "
                   f"{counts['train']} train, {counts['val']} val, {counts['test']} test); "
                   f"genre head: {', '.join(vocab.genres) or 'none'} "
                   f"({', '.join(sorted({it.source for it in items if it.genre})) or 'no genre labels'}); "
                   f"mood head: {'mood4q quadrants' if any(it.quadrant is not None for it in items) else 'no labels'}"
                   f"; tags {', '.join(vocab.tags) or 'none'}")
    return Prepared(model=model, train_data=subset("train", True), val_data=subset("val", False),
                    data_description=description)


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
    f1s = []
    for c in range(n):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        if tp + fp + fn > 0:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else float("nan")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Counts ``(n, n)``: rows are true classes, columns predictions."""
    m = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred):
        m[t, p] += 1
    return m


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> dict[str, Any]:
    """Accuracy, macro-F1, count and confusion matrix."""
    return {"accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else float("nan"),
            "macro_f1": _macro_f1(y_true, y_pred, n), "n": int(len(y_true)),
            "confusion": confusion(y_true, y_pred, n).tolist()}


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
    """Scores of the CNN on ``items`` (and of the MFCC baseline when training items are given)."""
    cfg = model.config
    probs = predict_items(model.eval(), feats)
    result: dict[str, Any] = {}
    heads = (("genre", list(cfg.genres), lambda it: it.genre),
             ("quadrant", list(QUADRANTS), lambda it: QUADRANTS[it.quadrant] if it.quadrant is not None else None))
    for head, labels, get in heads:
        idx = [i for i, it in enumerate(items) if get(it) in labels]
        if not idx or not labels:
            continue
        y = np.array([labels.index(get(items[i])) for i in idx])
        pred = probs[head][idx].argmax(-1)
        entry: dict[str, Any] = {"labels": labels, "cnn": classification_scores(y, pred, len(labels))}
        if head == "quadrant":
            va = np.array([[q in (0, 3), q in (0, 1)] for q in y])
            pv = probs[head][idx]
            entry["cnn"]["valence_accuracy"] = float(np.mean((pv[:, 0] + pv[:, 3] > 0.5) == va[:, 0]))
            entry["cnn"]["arousal_accuracy"] = float(np.mean((pv[:, 0] + pv[:, 1] > 0.5) == va[:, 1]))
        if train_items is not None and train_feats is not None:
            tr = [i for i, it in enumerate(train_items) if get(it) in labels]
            if len({get(train_items[i]) for i in tr}) >= 2:
                entry["baseline_mfcc_logreg"] = _baseline(
                    np.stack([train_feats[i]["mfcc_stats"] for i in tr]),
                    np.array([labels.index(get(train_items[i])) for i in tr]),
                    np.stack([feats[i]["mfcc_stats"] for i in idx]), y, len(labels))
        result[head] = entry
    idx = [i for i, it in enumerate(items) if it.source == "mood4q" or it.tags]
    if cfg.tags and idx:
        Y = np.array([[t in items[i].tags for t in cfg.tags] for i in idx], dtype=float)
        aucs = [_auc(Y[:, j], probs["tags"][idx, j]) for j in range(len(cfg.tags)) if 0 < Y[:, j].sum() < len(idx)]
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


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties get half)."""
    pos, neg = score[y > 0.5], score[y <= 0.5]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def _baseline(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, n: int
              ) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    clf.fit(X_train, y_train)
    return classification_scores(y_test, clf.predict(X_test), n)


def evaluate(model: ListenClassifier, data_cfg: ListenDataConfig, prepared: Any) -> dict[str, Any]:
    """Task hook: held-out test scores of the CNN and the MFCC baseline (stored in the checkpoint)."""
    items, feats = load_data(data_cfg, model.config, progress=False)
    test = [i for i, it in enumerate(items) if it.split == "test"]
    train = [i for i, it in enumerate(items) if it.split == "train"]
    scores = measure(model, [items[i] for i in test], [feats[i] for i in test],
                     [items[i] for i in train], [feats[i] for i in train])
    return summarize(scores)


def summarize(scores: dict[str, Any]) -> dict[str, Any]:
    """Flat metrics for a checkpoint's metadata (``soundart models`` shows them)."""
    flat: dict[str, Any] = {}
    for head, entry in scores.items():
        for who, s in entry.items():
            if who == "labels":
                continue
            tag = "" if who == "cnn" else "baseline_"
            for key in ("accuracy", "macro_f1", "valence_accuracy", "arousal_accuracy", "macro_roc_auc",
                        "mean_pearson_r", "n"):
                if key in s:
                    flat[f"test_{head}_{tag}{key}"] = round(s[key], 4) if isinstance(s[key], float) else s[key]
    return flat


def _make_task():
    from soundart.train.recipe import Task

    return Task("listen", ListenConfig, ListenDataConfig, prepare, evaluate)


TASK = _make_task()
