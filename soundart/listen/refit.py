"""Fit the heads again on whole recordings, after training.

Training sees one random 3 s chunk at a time, so each head learns what a chunk
says; a recording is then judged by averaging its chunks' probabilities. Fitting
the heads (linear layers) once more on each training recording's *mean* chunk
embedding, with the network frozen, matches what is judged at inference, and
the strength of the weight penalty is chosen per head on the validation split
(too little data to trust one setting for all heads). The fitted heads read the
mean embedding (``config.pooled_heads``) and, with ``config.recording_stats``, the
recording's cepstral statistics beside it; the losses are the model's own (masked
targets, the "one or both" genre term).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

PENALTIES = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
HEADS = {"genre": "genre_head", "quadrant": "quadrant_head", "tags": "tag_head", "gems": "gems_head"}


@torch.no_grad()
def recording_embeddings(model: Any, feats: list[dict[str, np.ndarray]]) -> torch.Tensor:
    """What the refitted heads read, ``(N, model.pooled_width)``, for each recording's cached log-mel: the
    mean chunk embedding and the recording statistics (``config.recording_stats``)."""
    device = next(model.parameters()).device
    model.eval()
    rows = []
    for f in feats:
        logmel = torch.from_numpy(f["logmel"].astype(np.float32)).to(device)
        rows.append(model.pooled(logmel, model.chunk_embed(model.chunks(logmel)))[0])
    return torch.stack(rows)


def _stack(dataset: Any) -> dict[str, torch.Tensor]:
    rows = [dataset.targets(i) for i in range(len(dataset))]
    return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


def _fit(model: Any, z: torch.Tensor, batch: dict[str, torch.Tensor], penalty: float) -> dict[str, torch.nn.Linear]:
    """Heads fitted from zero on standardised embeddings ``z`` by full-batch L-BFGS."""
    heads = {name: torch.nn.Linear(z.shape[1], getattr(model, attr).out_features) for name, attr in HEADS.items()}
    for head in heads.values():
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
    params = [p for head in heads.values() for p in head.parameters()]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=200, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = {name: head(z) for name, head in heads.items()}
        loss = sum(model.losses(batch, logits).values())
        loss = loss + penalty * sum((head.weight ** 2).sum() for head in heads.values())
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return heads


def refit_heads(model: Any, train: Any, val: Any) -> dict[str, float]:
    """Refit every head on recording embeddings of ``train`` (a dataset with ``targets(i)`` and ``feats``),
    choosing each head's weight penalty on ``val``; sets ``config.pooled_heads``. Returns the penalties."""
    e_train, e_val = recording_embeddings(model, train.feats), recording_embeddings(model, val.feats)
    mean, std = e_train.mean(0), e_train.std(0) + 1e-6
    z_train, z_val = (e_train - mean) / std, (e_val - mean) / std
    b_train, b_val = _stack(train), _stack(val)
    best: dict[str, tuple[float, float, torch.nn.Linear]] = {}
    for penalty in PENALTIES:
        heads = _fit(model, z_train.cpu(), b_train, penalty)
        with torch.no_grad():
            val_losses = model.losses(b_val, {name: head(z_val.cpu()) for name, head in heads.items()})
        for name, head in heads.items():
            value = float(val_losses[name])
            if name not in best or value < best[name][0] - 1e-9:
                best[name] = (value, penalty, copy.deepcopy(head))
    with torch.no_grad():
        for name, (_, _, head) in best.items():
            old = getattr(model, HEADS[name])
            target = torch.nn.Linear(head.in_features, head.out_features).to(old.weight.device)
            weight = head.weight / std.cpu()                # fold the standardisation into the layer
            target.weight.copy_(weight.to(target.weight.device))
            target.bias.copy_((head.bias - weight @ mean.cpu()).to(target.bias.device))
            setattr(model, HEADS[name], target)             # wider than the chunk head with recording_stats
    model.config.pooled_heads = True
    return {f"{name}_penalty": penalty for name, (_, penalty, _) in best.items()}
