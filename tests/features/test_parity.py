"""The spectral pipeline against librosa with identical parameters (float64)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from soundart.features import FeatureConfig, chroma, logmel, mel, mfcc, spectrogram

SR = 22050


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(2.5 * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    return (0.6 * chord * np.exp(-0.5 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float64)


CONFIGS = [
    {},
    {"mel_scale": "htk", "norm": None, "n_mels": 64, "fmin": 40.0, "fmax": 8000.0},
    {"n_fft": 1024, "hop_length": 256, "win_length": 800, "window": "hamming", "n_mels": 80},
    {"center": False, "n_mels": 40, "n_mfcc": 13},
]


def _librosa_kwargs(cfg: FeatureConfig) -> dict:
    return dict(sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                window=cfg.window, center=cfg.center, pad_mode=cfg.pad_mode)


def _mel_kwargs(cfg: FeatureConfig) -> dict:
    return dict(n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax, htk=cfg.mel_scale == "htk", norm=cfg.norm)


def max_relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """max |ours - ref| relative to the reference's scale (max |ref|)."""
    assert ours.shape == ref.shape, f"shape {ours.shape} != librosa's {ref.shape}"
    return float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("overrides", CONFIGS)
def test_mel_logmel_mfcc_chroma_match_librosa(signal, overrides):
    cfg = FeatureConfig(**overrides)
    x = torch.from_numpy(signal)
    S_ref = np.abs(librosa.stft(signal, **{k: v for k, v in _librosa_kwargs(cfg).items() if k != "sr"})) ** 2
    M_ref = librosa.feature.melspectrogram(S=S_ref, sr=cfg.sr, **_mel_kwargs(cfg))
    L_ref = librosa.power_to_db(M_ref, ref=1.0, amin=cfg.amin, top_db=cfg.top_db)
    C_ref = librosa.feature.mfcc(S=L_ref, n_mfcc=cfg.n_mfcc, dct_type=2, norm="ortho")
    H_ref = librosa.feature.chroma_stft(S=S_ref, sr=cfg.sr, n_fft=cfg.n_fft, n_chroma=cfg.n_chroma, tuning=0.0)

    assert max_relative_error(spectrogram(x, cfg).numpy(), S_ref) <= 1e-10
    M = mel(x, cfg).numpy()
    assert np.max(np.abs(M - M_ref) / np.maximum(np.abs(M_ref), 1e-8 * M_ref.max())) <= 1e-4
    assert max_relative_error(logmel(x, cfg).numpy(), L_ref) <= 1e-4
    assert max_relative_error(mfcc(x, cfg).numpy(), C_ref) <= 1e-4
    assert max_relative_error(chroma(x, cfg).numpy(), H_ref) <= 1e-4


def test_mfcc_matches_librosa_from_audio(signal):
    cfg = FeatureConfig()
    ref = librosa.feature.mfcc(y=signal, sr=SR, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128)
    assert max_relative_error(mfcc(torch.from_numpy(signal), cfg).numpy(), ref) <= 1e-4


def test_log1p_and_log_modes(signal):
    x = torch.from_numpy(signal)
    M = mel(x, FeatureConfig()).numpy()
    np.testing.assert_allclose(logmel(x, FeatureConfig(log="log1p")).numpy(), np.log1p(M), rtol=1e-10)
    np.testing.assert_allclose(logmel(x, FeatureConfig(log="log", log_offset=1e-3)).numpy(),
                               np.log(M + 1e-3), rtol=1e-10)
