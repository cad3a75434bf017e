"""Scores of the listening model: classification, ranking, calibration, and the temperature fit."""

from __future__ import annotations

from typing import Any

import numpy as np


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
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
            "macro_f1": macro_f1(y_true, y_pred, n), "n": int(len(y_true)),
            "confusion": confusion(y_true, y_pred, n).tolist()}


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties get half)."""
    pos, neg = score[y > 0.5], score[y <= 0.5]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def expected_calibration_error(prob: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """ECE of probabilities ``prob`` for binary ``outcome`` (equal-width bins, weighted by their counts):
    how far, on average, "p = 0.8" is from being right 80% of the time."""
    prob, outcome = np.asarray(prob, float).ravel(), np.asarray(outcome, float).ravel()
    if not len(prob):
        return float("nan")
    which = np.minimum((prob * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.sum() * abs(prob[sel].mean() - outcome[sel].mean())
    return float(total / len(prob))


TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))


def fit_temperature(chunk_logits: list[np.ndarray], nll) -> float:
    """The temperature (from :data:`TEMPERATURES`) with the least ``nll(recording_probs)``, where a
    recording's probabilities are its chunks' probabilities at ``logits / T``, averaged; ``nll`` takes the
    list of tempered per-chunk logits and returns the validation negative log-likelihood."""
    best, best_t = np.inf, 1.0
    for t in TEMPERATURES:
        value = nll([z / t for z in chunk_logits])
        if value < best - 1e-9:
            best, best_t = value, float(t)
    return best_t


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def multilabel_nll(targets: np.ndarray, masks: np.ndarray):
    """``nll`` for :func:`fit_temperature`: binary cross-entropy of chunk-averaged sigmoids on the known
    genres (``targets``, ``masks``: ``(N, G)``)."""
    def nll(tempered: list[np.ndarray]) -> float:
        p = np.clip(np.stack([_sigmoid(z).mean(0) for z in tempered]), 1e-6, 1 - 1e-6)
        ll = targets * np.log(p) + (1 - targets) * np.log(1 - p)
        return float(-(ll * masks).sum() / max(masks.sum(), 1))
    return nll


def categorical_nll(labels: np.ndarray):
    """``nll`` for :func:`fit_temperature`: cross-entropy of chunk-averaged softmaxes (``labels``: ``(N,)``)."""
    def nll(tempered: list[np.ndarray]) -> float:
        p = np.stack([_softmax(z).mean(0) for z in tempered])
        return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-9, 1)).mean())
    return nll
