"""The WaveNet note generator's config (:class:`WaveNetNotesConfig`); the model: :mod:`soundart.audio.wavenet_notes`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from soundart.audio.wavenet_config import WaveNetConfig
from soundart.errors import ConfigError

LEVEL_HOP_S = 0.032  # the note level's block: 512 samples at 16 kHz


@dataclass
class WaveNetNotesConfig(WaveNetConfig):
    """A note generator: the shared shape (:class:`~soundart.audio.wavenet_config.WaveNetConfig`) and its
    global conditioning and side inputs (why each is there, and what it measured:
    ``recipes/notes/wavenet-notes.md``).

    Attributes
    ----------
    n_families : instrument families for global conditioning (0: none).
    pitch_conditioning : add a MIDI pitch (0-127) embedding to the global conditioning.
    pitch_waves : the input layer also reads sines and cosines at the first ``pitch_waves`` harmonics
        of the clip's pitch (:func:`~soundart.audio.wavenet_notes.pitch_waves`; harmonics at or above
        Nyquist are zero). In training each harmonic's phase is the one measured in the crop, so the
        waves are in step with the note; sampling starts them all at phase 0 and the note follows them.
        Needs ``input_noise`` and ``note_clock`` to be used. 0 = off.
    note_clock : the input layer also reads ``note_clock`` decaying exponentials of the time since the
        note's onset, ``exp(-t / tau)`` with ``tau`` = 25 ms, 100 ms, 400 ms, ... (x4 each;
        :func:`~soundart.audio.wavenet_notes.note_clock`). 0 = off.
    note_level : the input layer also reads the note's level in dB (the mean square of blocks of
        ``LEVEL_HOP_S``, interpolated between block centres, as ``(dB + 40) / 20``): in training the
        crop's own, when sampling the family's median level at that time after the onset (the
        ``family_level`` buffer, ``(n_families, level_blocks)``, filled from the training notes by the
        recipe; held after its last block). Needs n_families.
    note_level_seconds : how much of that median level ``family_level`` holds.
    global_channels : size of the global embedding.
    """

    n_families: int = 0
    pitch_conditioning: bool = False
    pitch_waves: int = 0
    note_clock: int = 0
    note_level: bool = False
    note_level_seconds: float = 3.0
    global_channels: int = 16

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pitch_waves < 0 or (self.pitch_waves and not self.pitch_conditioning):
            raise ConfigError(f"wavenet: pitch_waves must be >= 0 and needs pitch_conditioning "
                              f"(got {self.pitch_waves})")
        if not 0 <= self.note_clock <= 8:
            raise ConfigError(f"wavenet: note_clock must be in 0..8 (got {self.note_clock})")
        if self.note_level and (self.n_families < 1 or self.note_level_seconds <= 0):
            raise ConfigError("wavenet: note_level is for a family-conditioned generator (n_families > 0) "
                              f"with note_level_seconds > 0 (got {self.note_level_seconds})")

    @property
    def level_hop(self) -> int:
        """Samples per level block (``note_level``)."""
        return max(1, int(round(LEVEL_HOP_S * self.sample_rate)))

    @property
    def level_blocks(self) -> int:
        """Blocks of the family levels held for sampling (``note_level_seconds``)."""
        return max(1, math.ceil(self.note_level_seconds * self.sample_rate / self.level_hop))

    @property
    def side_channels(self) -> int:
        """How many side inputs the input layer reads beside the previous sample."""
        return 2 * self.pitch_waves + self.note_clock + int(self.note_level)

    @classmethod
    def debug(cls, **kw) -> WaveNetNotesConfig:
        """A tiny note generator for tests."""
        return super().debug(**{"global_channels": 4, **kw})
