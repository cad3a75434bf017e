"""Configs saved under the old kind ``"wavenet"`` (one config for both WaveNets, ``local`` telling which)
in today's terms (:data:`soundart.registry.OLD_KINDS`): :func:`old_kind` names today's model without
importing torch, :func:`split_old_config` gives its kind and config. The shipped ``wavenet-notes`` and
``wavenet-vocoder`` files hold such configs; today's configs: :mod:`soundart.audio.wavenet_notes_config`,
:mod:`soundart.audio.wavenet_vocoder_config`.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from soundart.errors import ConfigError

# the fields of the other model that a config saved under the old kind "wavenet" (one config for both
# models) holds, and the value that means "off": they must be off, and are dropped
GENERATOR_SWITCHES = {"n_families": 0, "pitch_conditioning": False, "pitch_waves": 0, "note_clock": 0,
                      "note_level": False}
VOCODER_SWITCHES = {"lpc_order": 0, "synthesis_lpc_order": 0}


def old_kind(config: Any) -> str:
    """Today's kind of a config saved under the old kind ``"wavenet"``: ``"wavenet-vocoder"`` when its
    ``local`` is true (a mel vocoder), else ``"wavenet-notes"``. Imports no torch (``soundart models`` reads it)."""
    if not isinstance(config, dict):
        raise ConfigError(f"wavenet: expected a mapping, got {type(config).__name__}")
    if config.get("local", False) not in (True, False):
        raise ConfigError(f"wavenet.local must be true or false, got {config['local']!r}")
    return "wavenet-vocoder" if config.get("local", False) is True else "wavenet-notes"


def split_old_config(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A config saved under the old kind ``"wavenet"`` -> ``(kind, config)`` of today's model.

    ``local`` said which model it is (a mel vocoder, else a note generator); the other model's fields go,
    and must be off (a ConfigError names the ones that are not); unknown keys stay, for the config's own
    error. The shipped ``wavenet-notes`` and ``wavenet-vocoder`` files are such configs.
    """
    from soundart.audio.wavenet_notes_config import WaveNetNotesConfig
    from soundart.audio.wavenet_vocoder_config import WaveNetVocoderConfig

    kind = old_kind(config)
    vocoder = kind == "wavenet-vocoder"
    mine, other, switches = ((WaveNetVocoderConfig, WaveNetNotesConfig, GENERATOR_SWITCHES) if vocoder
                             else (WaveNetNotesConfig, WaveNetVocoderConfig, VOCODER_SWITCHES))
    theirs = {f.name for f in fields(other)} - {f.name for f in fields(mine)}
    on = [key for key, off in switches.items() if key in config and config[key] != off]
    if on:
        what, others = ("mel vocoder", "note generator") if vocoder else ("note generator", "mel vocoder")
        raise ConfigError(f"wavenet: a {what} cannot have {', '.join(on)} (only a {others} has them)")
    return kind, {key: value for key, value in config.items() if key not in theirs and key != "local"}
