"""Batching, dtypes, devices, gradients and inversion of the spectral pipeline."""

from __future__ import annotations

import pytest
import torch

from soundart.errors import BadInputError, ConfigError
from soundart.features import (
    KINDS,
    FeatureConfig,
    SpectralPipeline,
    griffin_lim,
    logmel,
    logmel_to_audio,
    mel,
    mel_to_spectrogram,
    spectrogram,
    stft,
)


def _audio(batch=(3, 2), seconds=0.5, sr=22050, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*batch, int(seconds * sr), generator=gen) * 0.1


@pytest.mark.parametrize("kind", KINDS)
def test_batch_equals_items_one_by_one(kind):
    cfg = FeatureConfig(n_mels=64)
    pipe = SpectralPipeline(cfg)
    x = _audio()
    batched = pipe(x, kind)
    expected_bins = {"stft": cfg.n_freqs, "mel": 64, "logmel": 64, "mfcc": cfg.n_mfcc, "chroma": 12}[kind]
    assert batched.shape == (3, 2, expected_bins, cfg.n_frames(x.shape[-1])), batched.shape
    for i in range(3):
        for c in range(2):
            single = pipe(x[i, c], kind)
            if kind in ("logmel", "mfcc"):  # top_db clipping is per item: compare the item alone
                assert torch.allclose(single, pipe(x[i:i + 1, c:c + 1], kind)[0, 0], atol=1e-4)
            else:
                assert torch.allclose(batched[i, c], single, rtol=1e-4, atol=1e-6), (kind, i, c)


def test_float32_close_to_float64():
    x = _audio((1,))
    cfg = FeatureConfig()
    a = logmel(x.float(), cfg)
    b = logmel(x.double(), cfg)
    assert a.dtype == torch.float32 and b.dtype == torch.float64
    assert (a.double() - b).abs().max() < 1e-2  # dB


def test_differentiable():
    x = _audio((2,)).requires_grad_(True)
    loss = logmel(x, FeatureConfig(log="log1p")).mean()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():
    x = _audio((2,))
    cfg = FeatureConfig()
    assert torch.allclose(logmel(x.cuda(), cfg).cpu(), logmel(x, cfg), atol=1e-3)


def test_mel_inversion_recovers_spectrogram_shape():
    cfg = FeatureConfig(n_mels=128)
    t = torch.arange(22050) / 22050
    x = 0.5 * torch.sin(2 * torch.pi * 440 * t)
    S = spectrogram(x, cfg)
    M = mel(None, cfg, S=S)
    for method in ("pinv", "nnls"):
        S_hat = mel_to_spectrogram(M, cfg, method=method)
        assert S_hat.shape == S.shape and (S_hat >= 0).all()
        # the estimate puts its energy at 440 Hz
        peak_bin = int(S_hat.mean(-1).argmax())
        assert abs(peak_bin * cfg.sr / cfg.n_fft - 440) < 30, (method, peak_bin)
    # NNLS fits the mel spectrogram better than the clamped pseudo-inverse
    err = {m: (mel(None, cfg, S=mel_to_spectrogram(M, cfg, method=m)) - M).norm() / M.norm()
           for m in ("pinv", "nnls")}
    assert err["nnls"] < err["pinv"], err


def spectral_convergence(audio, magnitude, cfg):
    rebuilt = stft(audio, cfg).abs()
    return float((rebuilt - magnitude).norm() / magnitude.norm())


def test_fast_griffin_lim_converges_faster_than_plain():
    cfg = FeatureConfig(n_fft=1024, hop_length=256)
    t = torch.arange(22050) / 22050
    x = 0.4 * torch.sin(2 * torch.pi * 330 * t) * torch.exp(-2 * t) + 0.2 * torch.sin(2 * torch.pi * 660 * t)
    magnitude = stft(x, cfg).abs()
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    fast = griffin_lim(magnitude, cfg, n_iter=32, momentum=0.99, length=x.numel(), generator=gen())
    plain = griffin_lim(magnitude, cfg, n_iter=32, momentum=0.0, length=x.numel(), generator=gen())
    sc_fast, sc_plain = spectral_convergence(fast, magnitude, cfg), spectral_convergence(plain, magnitude, cfg)
    assert sc_fast < sc_plain and sc_fast < 0.1, (sc_fast, sc_plain)


def test_logmel_to_audio_round_trip():
    cfg = FeatureConfig()
    t = torch.arange(22050) / 22050
    x = 0.5 * torch.sin(2 * torch.pi * 440 * t)
    y = logmel_to_audio(logmel(x, cfg), cfg, n_iter=32, length=x.numel(),
                        generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    diff = (logmel(y, cfg) - logmel(x, cfg)).abs()
    assert diff[:, 2:-2].mean() < 3.0, float(diff.mean())  # dB, away from the edges
    with pytest.raises(BadInputError, match="NaN"):
        logmel_to_audio(torch.full((128, 4), float("nan")), cfg)


def test_config_validation_and_round_trip():
    cfg = FeatureConfig(n_mels=80, fmax=8000.0)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown key"):
        FeatureConfig.from_dict({"n_mel": 80})
    with pytest.raises(ConfigError, match="fmax"):
        FeatureConfig(fmax=20000.0)
    with pytest.raises(ConfigError, match="log must be"):
        FeatureConfig(log="ln")
    with pytest.raises(BadInputError, match="shorter than one frame"):
        stft(torch.zeros(100), FeatureConfig(center=False))
