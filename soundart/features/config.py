"""FeatureConfig: every front-end parameter stated explicitly.

torchaudio's and librosa's defaults differ (n_fft 400 vs 2048, pad mode, mel
scale htk vs Slaney, filter norm None vs "slaney"); a FeatureConfig names each
one so that a model's checkpoint can carry the exact front end it was trained
with. Defaults follow librosa's so that its numbers are the reference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from soundart.errors import ConfigError

LOG_MODES = ("db", "log1p", "log")
MEL_SCALES = ("slaney", "htk")
WINDOWS = ("hann", "hamming", "blackman")


@dataclass(frozen=True)
class FeatureConfig:
    """Parameters of the spectral pipeline (frozen: hashable, so filterbanks cache on it).

    Attributes
    ----------
    sr : sample rate in Hz the features assume.
    n_fft, hop_length, win_length : STFT size, hop and window length in samples
        (``win_length=None`` means ``n_fft``).
    window : "hann" | "hamming" | "blackman" (periodic, as librosa's ``get_window``).
    center, pad_mode : pad ``n_fft // 2`` on both sides with this mode before framing.
    n_mels, fmin, fmax : mel bands and their frequency range in Hz (``fmax=None``: sr / 2).
    mel_scale, norm : "slaney" | "htk" mel formula; "slaney" area normalisation or None.
    power : 1.0 magnitude, 2.0 power spectrogram.
    log : "db" (10 log10 of power, floored at ``amin``, clipped ``top_db`` below the
        item's peak), "log1p", or "log" (natural log of x + ``log_offset``).
    n_mfcc, n_chroma : coefficients kept by MFCC and chroma.
    """

    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int | None = None
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    mel_scale: str = "slaney"
    norm: str | None = "slaney"
    power: float = 2.0
    log: str = "db"
    top_db: float | None = 80.0
    amin: float = 1e-10
    log_offset: float = 1e-6
    n_mfcc: int = 20
    n_chroma: int = 12

    def __post_init__(self) -> None:
        problems = []
        if self.sr <= 0:
            problems.append(f"sr must be > 0 (got {self.sr})")
        if self.n_fft <= 0 or self.hop_length <= 0:
            problems.append(f"n_fft and hop_length must be > 0 (got {self.n_fft}, {self.hop_length})")
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            problems.append(f"win_length must be in 1..n_fft={self.n_fft} (got {self.win_length})")
        if self.window not in WINDOWS:
            problems.append(f"window must be one of {WINDOWS} (got {self.window!r})")
        if self.mel_scale not in MEL_SCALES:
            problems.append(f"mel_scale must be one of {MEL_SCALES} (got {self.mel_scale!r})")
        if self.norm not in (None, "slaney"):
            problems.append(f"norm must be 'slaney' or None (got {self.norm!r})")
        if self.log not in LOG_MODES:
            problems.append(f"log must be one of {LOG_MODES} (got {self.log!r})")
        if self.power not in (1.0, 2.0):
            problems.append(f"power must be 1.0 or 2.0 (got {self.power})")
        if self.n_mels <= 0 or self.n_mfcc <= 0 or self.n_chroma <= 0:
            problems.append("n_mels, n_mfcc and n_chroma must be > 0")
        if self.n_mfcc > self.n_mels:
            problems.append(f"n_mfcc={self.n_mfcc} cannot exceed n_mels={self.n_mels}")
        if not 0 <= self.fmin < self.max_frequency <= self.sr / 2 + 1e-9:
            problems.append(f"need 0 <= fmin < fmax <= sr/2 (got fmin={self.fmin}, fmax={self.fmax}, sr={self.sr})")
        if problems:
            raise ConfigError("FeatureConfig: " + "; ".join(problems))

    @property
    def max_frequency(self) -> float:
        return self.sr / 2 if self.fmax is None else float(self.fmax)

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """Frames the STFT yields for ``n_samples`` samples."""
        if self.center:
            return 1 + n_samples // self.hop_length
        return 1 + (n_samples - self.n_fft) // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"FeatureConfig: unknown key(s) {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> FeatureConfig:
        return dataclasses.replace(self, **changes)
