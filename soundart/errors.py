"""The few exceptions soundart raises on purpose.

Every message is one line that names the file or value at fault; the CLI prints
it on stderr and exits with code 2 (see ``soundart.cli``).
"""

from __future__ import annotations


class SoundartError(Exception):
    """Base class: an error the user can fix, reported as one line."""

    def __str__(self) -> str:  # keep it to one line whatever the cause carried
        return " ".join(super().__str__().split())


class BadInputError(SoundartError):
    """Input audio, MIDI or array that cannot be used (missing, corrupt, empty ...)."""


class ConfigError(SoundartError):
    """An impossible option, an unknown recipe key, a config that does not fit."""


class ModelError(SoundartError):
    """Missing weights, a checkpoint that does not match its config, an unknown model."""


class OutputExistsError(SoundartError):
    """An output file exists and ``force`` was not given."""
