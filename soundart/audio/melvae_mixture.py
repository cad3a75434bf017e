"""The mel VAE's sampling prior fitted after training (``prior_mixture`` > 0): per family (and pitch band), a
diagonal Gaussian mixture over where that family's training notes sit, fitted by EM.

The model: :mod:`soundart.audio.melvae` (its module docstring says why; :meth:`MelVAE.draw` samples from it).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from soundart.errors import ConfigError


@torch.no_grad()
def fit_prior_mixture(model: Any, mu: torch.Tensor, pitch: torch.Tensor, family: torch.Tensor,
                      iters: int = 40, seed: int = 0) -> None:
    """Fit ``model``'s per-family (and per pitch band) sampling mixtures (``prior_mixture`` components) by EM,
    in its buffers ``mix_logw``, ``mix_mu``, ``mix_logvar`` (and ``mix_fitted``).

    ``mu``: posterior means ``(N, latent)`` of training notes encoded with their labels;
    ``pitch`` / ``family``: their label indices ``(N,)``, pitches known. The offsets from the
    learned prior's mean of each family's notes (in each pitch band) get a diagonal Gaussian
    mixture; a family (band) with no training notes gets one zero-offset component with the
    prior's average variance.
    """
    cfg = model.config
    if not cfg.prior_mixture:
        raise ConfigError("this model has no prior mixture (prior_mixture is 0)")
    g = torch.Generator().manual_seed(seed)
    prior_mu, prior_logvar = model.prior(pitch, family, len(mu), mu.device)
    offsets = mu - prior_mu
    K, bands = cfg.prior_mixture, cfg.pitch_bands
    band = model._pitch_band(pitch)
    for row in range(len(cfg.families) * bands):
        fi = row // bands
        x = offsets[(family == fi) & (band == row % bands)].double()
        if len(x) == 0:
            model.mix_logw[row] = 0.0
            model.mix_mu[row] = 0.0
            model.mix_logvar[row] = prior_logvar.mean(0)
            continue
        k = min(K, len(x))
        logw, means, var = diagonal_mixture(x, k, iters, g)
        model.mix_logw[row] = torch.cat([logw, torch.full((K - k,), -1e9, dtype=x.dtype)]).float()
        model.mix_mu[row, :k], model.mix_logvar[row, :k] = means.float(), var.log().float()
    model.mix_fitted.fill_(1)


def diagonal_mixture(x: torch.Tensor, k: int, iters: int,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EM for a ``k``-component diagonal Gaussian mixture over the rows of ``x`` ``(n, D)``, ``k`` <= n, started
    at ``k`` rows drawn with ``generator`` -> ``(log weights (k,), means (k, D), variances (k, D))``."""
    means = x[torch.randperm(len(x), generator=generator)[:k]].clone()
    var = x.var(0, unbiased=False).clamp(min=1e-4).expand(k, -1).clone()
    logw = torch.full((k,), -math.log(k), dtype=x.dtype)
    for _ in range(iters):
        # E: responsibilities from diagonal Gaussian log densities
        logp = -0.5 * (((x[:, None] - means[None]) ** 2 / var[None]) + var.log()[None]).sum(-1) + logw
        r = logp.softmax(-1)  # (n, k)
        # M: weights, means and variances; a floor keeps a one-note component from collapsing
        nk = r.sum(0) + 1e-9
        logw = (nk / nk.sum()).log()
        means = (r.T @ x) / nk[:, None]
        var = ((r.T @ x.square()) / nk[:, None] - means.square()).clamp(min=1e-2)
    return logw, means, var
