"""A WaveNet's sample codes and sample-rate helpers: mu-law and 16-bit companded levels, the
logistic-mixture likelihood, frame-to-sample interpolation and the all-pole (linear prediction) filter.

Samples are integer codes: mu-law classes (the 8-bit categorical output, van den Oord et al. 2016),
or 16-bit levels ``0..65535`` of the mu-law *companded* amplitude (the discretized mixture of
logistics, PixelCNN++, Salimans et al. 2017); the network reads the companded value of the
previous sample in [-1, 1] either way. Why 16-bit levels exist, and why companded:
``recipes/notes/wavenet-vocoder.md``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def mulaw_encode(audio: torch.Tensor, n_classes: int = 256) -> torch.Tensor:
    """Audio in [-1, 1] ``(...)`` -> mu-law classes ``(...)`` int64 in ``[0, n_classes)``."""
    mu = n_classes - 1
    x = audio.clamp(-1.0, 1.0)
    f = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((f + 1) / 2 * mu + 0.5).floor().long().clamp(0, mu)


def mulaw_companded(q: torch.Tensor, n_classes: int = 256) -> torch.Tensor:
    """Classes -> the companded value in [-1, 1] the network reads as input."""
    return 2.0 * q.to(torch.get_default_dtype() if not q.is_floating_point() else q.dtype) / (n_classes - 1) - 1.0


def mulaw_decode(q: torch.Tensor, n_classes: int = 256, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Mu-law classes ``(...)`` -> audio in [-1, 1] ``(...)`` (float32 unless ``dtype``)."""
    mu = n_classes - 1
    f = 2.0 * q.to(dtype) / mu - 1.0
    return torch.sign(f) * ((1 + mu) ** f.abs() - 1) / mu


EXCITATION_HEADROOM = 16.0  # linear prediction: codes span +-16 times the frame's expected excitation RMS
LEVELS = 65536  # 16-bit levels of the companded amplitude: the logistic output's codes
COMPAND_MU = 255  # the logistic output's companding


def compand(x: torch.Tensor, mu: int = COMPAND_MU) -> torch.Tensor:
    """Continuous mu-law companding of amplitudes in [-1, 1] (quiet detail gets most of the range)."""
    return torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)


def expand(y: torch.Tensor, mu: int = COMPAND_MU) -> torch.Tensor:
    """Inverse of :func:`compand`."""
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def level_encode(audio: torch.Tensor) -> torch.Tensor:
    """Audio in [-1, 1] -> 16-bit levels ``0..65535`` (int64) of its companded value."""
    y = compand(audio.double().clamp(-1.0, 1.0))
    return torch.floor((y + 1) / 2 * (LEVELS - 1) + 0.5).long()


def level_value(codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """16-bit levels -> the companded value in [-1, 1] (what the network reads and predicts)."""
    return codes.to(dtype) * (2.0 / (LEVELS - 1)) - 1.0


def level_decode(codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """16-bit levels -> audio in [-1, 1] (computed in float64; float32 unless ``dtype``)."""
    return expand(level_value(codes, torch.float64)).to(dtype)


def logistic_mixture_nll(params: torch.Tensor, x: torch.Tensor, mixtures: int, log_scale_min: float) -> torch.Tensor:
    """Mean NLL (nats per sample) of 16-bit levels ``x`` ``(B, T)`` (in [-1, 1]) under a logistic mixture.

    ``params`` ``(B, 3 * mixtures, T)``: mixture logits, means, log scales. Each level is
    the bin ``x +- 1 / (LEVELS - 1)``; the two end levels take the tails (PixelCNN++).
    """
    logits, means, log_scales = params.split(mixtures, dim=1)
    log_scales = log_scales.clamp(min=log_scale_min)
    x = x.unsqueeze(1)
    half = 1.0 / (LEVELS - 1)
    centred = x - means
    inv_s = torch.exp(-log_scales)
    plus = inv_s * (centred + half)
    minus = inv_s * (centred - half)
    log_cdf_plus = plus - F.softplus(plus)          # log sigmoid(plus): the bottom level's mass
    log_one_minus_cdf_min = -F.softplus(minus)       # log (1 - sigmoid(minus)): the top level's mass
    cdf_delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    mid = inv_s * centred
    # where the bin's mass underflows in float32, use the density at the centre times the bin width
    log_pdf_mid = mid - log_scales - 2 * F.softplus(mid) + math.log(2 * half)
    inner = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)), log_pdf_mid)
    log_probs = torch.where(x <= -1 + half, log_cdf_plus, torch.where(x >= 1 - half, log_one_minus_cdf_min, inner))
    return -torch.logsumexp(log_probs + F.log_softmax(logits, dim=1), dim=1).mean()


def upsample_frames(frames: torch.Tensor, n_samples: int, hop: int) -> torch.Tensor:
    """Linearly interpolate frame features ``(B, C, F)`` to samples ``(B, C, n_samples)``.

    Frame ``f`` is centred on sample ``f * hop`` (the pipeline's ``center=True``);
    samples past the last frame hold its value.
    """
    idx0, idx1, w = interpolation_table(n_samples, hop, frames.shape[-1], frames.device, frames.dtype)
    return frames[..., idx0] * (1 - w) + frames[..., idx1] * w


def all_pole_filter(excitation: torch.Tensor, coeffs: torch.Tensor, hop: int) -> torch.Tensor:
    """``x[t] = e[t] - sum_k a[k - 1] x[t - k]`` with the coefficients ``(B, F, order)`` of the frame
    nearest each sample, from zero history: excitation ``(B, T)`` -> ``(B, T)`` float64."""
    import numpy as np

    a = coeffs.double().cpu().numpy()
    order = a.shape[-1]
    e = excitation.double().cpu().numpy()
    frame = frame_index(e.shape[-1], a.shape[1], hop).numpy()
    x = np.zeros((e.shape[0], e.shape[1] + order))  # `order` zeros of history, then the output
    for t in range(e.shape[1]):
        x[:, t + order] = e[:, t] - (a[:, frame[t]] * x[:, t:t + order][:, ::-1]).sum(1)  # x[t-1] .. x[t-order]
    return torch.from_numpy(x[:, order:]).to(excitation.device)


def frame_index(n_samples: int, n_frames: int, hop: int, device=None) -> torch.Tensor:
    """The frame nearest each sample ``(n_samples,)``: frame ``f`` is centred on sample ``f * hop``."""
    return torch.clamp((torch.arange(n_samples, device=device) + hop // 2) // hop, max=n_frames - 1)


def interpolation_table(n_samples: int, hop: int, n_frames: int, device=None, dtype=torch.float32):
    """``(idx0, idx1, w)`` such that sample t = (1 - w) frame[idx0] + w frame[idx1]."""
    t = torch.arange(n_samples, device=device)
    idx0 = torch.clamp(t // hop, max=n_frames - 1)
    idx1 = torch.clamp(idx0 + 1, max=n_frames - 1)
    w = ((t - (t // hop) * hop).to(dtype) / hop)
    w = torch.where(t // hop >= n_frames - 1, torch.zeros_like(w), w)
    return idx0, idx1, w


