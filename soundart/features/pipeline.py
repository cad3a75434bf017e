"""SpectralPipeline: the nn.Module face of ``features.functional``.

A model holds one of these built from the FeatureConfig stored in its
checkpoint, so inference always sees the front end training saw.
"""

from __future__ import annotations

import torch
from torch import nn

from soundart.features import functional as F
from soundart.features.config import FeatureConfig

KINDS = ("stft", "mel", "logmel", "mfcc", "chroma")


class SpectralPipeline(nn.Module):
    """Callable front end: ``pipeline(audio, kind="logmel")`` -> ``(..., bins, frames)``."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        super().__init__()
        self.config = config or FeatureConfig()

    def stft(self, audio: torch.Tensor) -> torch.Tensor:
        return F.stft(audio, self.config)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        return F.spectrogram(audio, self.config)

    def mel(self, audio: torch.Tensor) -> torch.Tensor:
        return F.mel(audio, self.config)

    def logmel(self, audio: torch.Tensor) -> torch.Tensor:
        return F.logmel(audio, self.config)

    def mfcc(self, audio: torch.Tensor) -> torch.Tensor:
        return F.mfcc(audio, self.config)

    def chroma(self, audio: torch.Tensor) -> torch.Tensor:
        return F.chroma(audio, self.config)

    def logmel_to_audio(self, logmel: torch.Tensor, n_iter: int = 64, **kwargs) -> torch.Tensor:
        return F.logmel_to_audio(logmel, self.config, n_iter=n_iter, **kwargs)

    def forward(self, audio: torch.Tensor, kind: str = "logmel") -> torch.Tensor:
        if kind == "stft":
            return self.spectrogram(audio)
        if kind not in KINDS:
            raise ValueError(f"unknown feature kind {kind!r}; use one of {', '.join(KINDS)}")
        return getattr(self, kind)(audio)

    def extra_repr(self) -> str:
        c = self.config
        return f"sr={c.sr}, n_fft={c.n_fft}, hop={c.hop_length}, n_mels={c.n_mels}, log={c.log}"


def compute(audio: torch.Tensor, config: FeatureConfig, kind: str = "logmel") -> torch.Tensor:
    """One-shot ``SpectralPipeline(config)(audio, kind)``."""
    return SpectralPipeline(config)(audio, kind)
