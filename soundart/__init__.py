"""soundart: make and listen to music with neural networks.

The public API, imported lazily so that ``import soundart`` stays light::

    import soundart
    audio, sr = soundart.load_audio("song.ogg", sr=22050)
    mel = soundart.logmel(audio, soundart.FeatureConfig())
    model = soundart.load_model("NAME")          # a shipped model, or a checkpoint path
    sketches = soundart.sketch(style="pop", chords="Am F C G", bars=8, seed=1)
    sketches[0].save("idea.mid")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_API: dict[str, str] = {
    "sketch": "soundart.music.sketch:sketch",
    "analyze": "soundart.listen.analyze:analyze",
    "load_model": "soundart.models:load_model",
    "save": "soundart.checkpoint:save",
    "load": "soundart.checkpoint:load",
    "load_audio": "soundart.io:load_audio",
    "save_audio": "soundart.io:save_audio",
    "load_midi": "soundart.io:load_midi",
    "save_midi": "soundart.io:save_midi",
    "FeatureConfig": "soundart.features:FeatureConfig",
    "SpectralPipeline": "soundart.features:SpectralPipeline",
    "logmel": "soundart.features:logmel",
    "mfcc": "soundart.features:mfcc",
    "chroma": "soundart.features:chroma",
    "logmel_to_audio": "soundart.features:logmel_to_audio",
    "Trainer": "soundart.train:Trainer",
    "TrainConfig": "soundart.train:TrainConfig",
    "SoundartError": "soundart.errors:SoundartError",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'soundart' has no attribute {name!r}")
    module, _, attr = _API[name].partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
