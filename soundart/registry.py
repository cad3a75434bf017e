"""Where model kinds and training tasks are found, by name, without importing them all.

Each entry is ``"module:attribute"``, imported only when that kind is used, so
listing or loading one model never imports every model's dependencies.
Tests can add entries with ``register_model`` / ``register_task``.
"""

from __future__ import annotations

import importlib
from typing import Any

from soundart.errors import ConfigError, ModelError

# model kind (stored in every checkpoint's JSON) -> nn.Module class
MODEL_CLASSES: dict[str, str] = {
    "listen-cnn": "soundart.listen.classifier:ListenClassifier",
    "specgan": "soundart.spectral.gan:SpecGAN",
    "melvae": "soundart.audio.melvae:MelVAE",
    "music-rnn": "soundart.music.rnn:MusicRNN",
    "music-transformer": "soundart.music.transformer:MusicTransformer",
    "wavenet-notes": "soundart.audio.wavenet_notes:WaveNetNotes",
    "wavenet-vocoder": "soundart.audio.wavenet_vocoder:WaveNetVocoder",
}

# a kind older checkpoints were saved under -> "module:function", (config dict) -> (today's kind, the config
# in its terms): "wavenet" was one config for both WaveNets (the shipped wavenet-notes and -vocoder files)
OLD_KINDS: dict[str, str] = {
    "wavenet": "soundart.audio.wavenet_old_config:split_old_config",
}
# the same rule for today's kind alone, (config dict) -> kind, importing no torch (listings: soundart models)
OLD_KIND_NAMES: dict[str, str] = {
    "wavenet": "soundart.audio.wavenet_old_config:old_kind",
}

# recipe ``task:`` name -> soundart.train.recipe.Task
TASKS: dict[str, str] = {
    "listen": "soundart.listen.task:TASK",
    "specgan": "soundart.spectral.gan_task:TASK",
    "melvae": "soundart.audio.melvae_task:TASK",
    "music-rnn": "soundart.music.rnn:TASK",
    "music-transformer": "soundart.music.transformer_task:TASK",
    "wavenet-notes": "soundart.audio.wavenet_task:NOTES_TASK",
    "wavenet-vocoder": "soundart.audio.wavenet_task:VOCODER_TASK",
}

# a ``task:`` name older recipes used -> "module:function", (recipe mapping) -> the recipe in today's terms
OLD_TASKS: dict[str, str] = {
    "wavenet": "soundart.audio.wavenet_task:split_old_recipe",
}

_LOADED: dict[str, Any] = {}


def _resolve(target: str | Any) -> Any:
    if not isinstance(target, str):
        return target
    if target not in _LOADED:
        module, _, attr = target.partition(":")
        _LOADED[target] = getattr(importlib.import_module(module), attr)
    return _LOADED[target]


def model_class(kind: str) -> type:
    if kind not in MODEL_CLASSES:
        known = ", ".join(sorted(MODEL_CLASSES)) or "none"
        raise ModelError(f"unknown model kind {kind!r} (known: {known})")
    return _resolve(MODEL_CLASSES[kind])


def current_kind(kind: str, config: Any) -> tuple[str, Any]:
    """``(kind, config)`` of a checkpoint in today's terms (``OLD_KINDS``); unchanged for a current kind."""
    return _resolve(OLD_KINDS[kind])(config) if kind in OLD_KINDS else (kind, config)


def current_kind_name(kind: str, config: Any) -> str:
    """Today's kind of a checkpoint (``OLD_KIND_NAMES``), the one ``current_kind`` gives, without building its
    config (so without importing torch); unchanged for a current kind."""
    return _resolve(OLD_KIND_NAMES[kind])(config) if kind in OLD_KIND_NAMES else kind


def current_recipe(raw: dict[str, Any]) -> dict[str, Any]:
    """A recipe mapping in today's terms (``OLD_TASKS``); unchanged for a current task."""
    name = raw.get("task")
    return _resolve(OLD_TASKS[name])(raw) if isinstance(name, str) and name in OLD_TASKS else raw


def task(name: str) -> Any:
    if name not in TASKS:
        known = ", ".join(sorted(TASKS)) or "none"
        raise ConfigError(f"unknown task {name!r} in recipe (known: {known})")
    return _resolve(TASKS[name])


def register_model(cls: type) -> type:
    """Register a model class under ``cls.kind`` (usable as a decorator)."""
    MODEL_CLASSES[cls.kind] = cls  # type: ignore[assignment]
    return cls


def register_task(task_obj: Any) -> Any:
    TASKS[task_obj.name] = task_obj
    return task_obj
