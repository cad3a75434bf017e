"""The one spectral pipeline every audio model in soundart consumes."""

from soundart.features.config import FeatureConfig
from soundart.features.functional import (
    amplitude_to_log,
    chroma,
    griffin_lim,
    istft,
    log_to_amplitude,
    logmel,
    logmel_lpc,
    logmel_to_audio,
    mel,
    mel_to_spectrogram,
    mfcc,
    spectrogram,
    stft,
)
from soundart.features.pipeline import KINDS, SpectralPipeline, compute

__all__ = [
    "FeatureConfig", "SpectralPipeline", "KINDS", "compute", "stft", "istft", "spectrogram", "mel",
    "logmel", "mfcc", "chroma", "amplitude_to_log", "log_to_amplitude", "mel_to_spectrogram",
    "griffin_lim", "logmel_to_audio", "logmel_lpc",
]
