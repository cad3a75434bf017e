"""soundart: make and listen to music with neural networks.

The public API, imported lazily so that ``import soundart`` stays light::

    import soundart
    audio, sr = soundart.load_audio("song.ogg", sr=22050)
    mel = soundart.logmel(audio, soundart.FeatureConfig())
    model = soundart.load_model("NAME")          # a shipped model, or a checkpoint path
    sketches = soundart.sketch(style="pop", chords="Am F C G", bars=8, seed=1)
    sketches[0].save("idea.mid")
    clips = soundart.synth("vae", n=3, pitch=55, family="strings", seed=1)   # list of Clip
    clips[0].save("pad.wav")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_API: dict[str, str] = {
    "sketch": "soundart.music.sketch:sketch",
    "synth": "soundart.audio.synth:synth",
    "morph": "soundart.audio.melvae_jobs:morph",
    "reconstruct": "soundart.audio.melvae_jobs:reconstruct",
    "vocode": "soundart.audio.wavenet_jobs:vocode",
    "style": "soundart.spectral.style_jobs:style",
    # the subpackage itself: calling it runs soundart.features.jobs.features (see features/__init__.py)
    "features": "soundart.features",
    "invert": "soundart.features.jobs:invert",
    "Clip": "soundart.audio.clip:Clip",
    "render": "soundart.audio.render:render",
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
    "train": "soundart.train.api:train",
    "evaluate": "soundart.train.api:evaluate",
    "Trainer": "soundart.train:Trainer",
    "TrainConfig": "soundart.train:TrainConfig",
    "SoundartError": "soundart.errors:SoundartError",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'soundart' has no attribute {name!r}")
    module, _, attr = _API[name].partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value
