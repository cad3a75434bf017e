"""The one spectral pipeline every audio model in soundart consumes.

Calling the package runs the features job: ``soundart.features("song.ogg", kind="mfcc")``
(:func:`soundart.features.jobs.features`).
"""

import sys
import types

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


class _CallableModule(types.ModuleType):
    """``soundart.features`` is both this subpackage and the features job: ``soundart.features(path, ...)``.

    A plain function named ``features`` in ``soundart`` would be replaced by this subpackage as soon as
    any of its modules is first imported (the import system sets the parent's attribute), so the
    subpackage itself answers the call.
    """

    def __call__(self, *args, **kwargs):
        from soundart.features.jobs import features

        return features(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
