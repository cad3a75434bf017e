"""The WaveNet note generator (:class:`WaveNetNotes`, config :mod:`soundart.audio.wavenet_notes_config`):
the shared network (:mod:`soundart.audio.wavenet`), conditioned on an instrument family and a MIDI pitch
(embeddings added to every gate), and its side inputs, what the input layer reads beside the previous sample:

- pitch waves: sines and cosines at the first harmonics of the clip's MIDI pitch (as neural
  source-filter models feed a sine source), in step with the note in training, from phase 0 when
  sampling;
- a note clock: decaying exponentials of the time since the note's onset;
- the note's level in dB per block (``LEVEL_HOP_S``): the crop's own in training, the family's
  median when sampling.

Why each one is there (what the generator did without it): ``recipes/notes/wavenet-notes.md``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from soundart.audio.wavenet import WaveNet
from soundart.audio.wavenet_notes_config import LEVEL_HOP_S, WaveNetNotesConfig
from soundart.errors import ConfigError

__all__ = ["LEVEL_HOP_S", "WaveNetNotes", "WaveNetNotesConfig"]


def midi_hz(pitch: torch.Tensor) -> torch.Tensor:
    """MIDI pitch -> frequency in Hz (float64), A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((pitch.double() - 69.0) / 12.0)


def pitch_waves(pitch: torch.Tensor, n_samples: int, harmonics: int, sample_rate: int,
                phase: torch.Tensor | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Sines, then cosines, at harmonics ``1..harmonics`` of each clip's MIDI ``pitch`` ``(B,)``:
    ``(B, 2 * harmonics, n_samples)``; ``phase`` ``(B, harmonics)`` radians at sample 0 (default 0).
    Harmonics at or above Nyquist are zero. Computed in float64 (the phase taken modulo one cycle
    per sample index, so long clips keep their precision), returned in ``dtype``."""
    cycles = midi_hz(pitch.reshape(-1)).cpu()[:, None] * torch.arange(1, harmonics + 1, dtype=torch.float64) \
        / sample_rate  # (B, K) cycles per sample
    t = torch.arange(n_samples, dtype=torch.float64)
    angle = 2 * math.pi * torch.remainder(cycles[:, :, None] * t, 1.0)
    if phase is not None:
        angle = angle + phase.detach().double().cpu()[:, :, None]
    below = (cycles < 0.5).double()[:, :, None]
    waves = torch.cat([torch.sin(angle) * below, torch.cos(angle) * below], dim=1)
    return waves.to(device=pitch.device, dtype=dtype)


NOTE_CLOCK_TAU_S = 0.025  # the first note-clock time constant; each next one is 4 times longer


def note_clock(start: torch.Tensor, n_samples: int, channels: int, sample_rate: int,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``exp(-(start + t) / tau_i)`` for ``tau_i = NOTE_CLOCK_TAU_S * 4**i`` seconds: ``(B, channels,
    n_samples)``, where ``start`` ``(B,)`` is each clip's first sample's offset from the note's onset."""
    t = (start.reshape(-1).double().cpu()[:, None] + torch.arange(n_samples, dtype=torch.float64)) / sample_rate
    tau = NOTE_CLOCK_TAU_S * 4.0 ** torch.arange(channels, dtype=torch.float64)
    return torch.exp(-t[:, None, :] / tau[None, :, None]).to(device=start.device, dtype=dtype)


LEVEL_FLOOR_DB = -80.0


def level_blocks_db(audio: torch.Tensor, hop: int) -> torch.Tensor:
    """``audio`` ``(B, T)`` -> each block of ``hop`` samples' mean square in dB ``(B, ceil(T / hop))``,
    floored at ``LEVEL_FLOOR_DB`` (a last short block is averaged over the samples it has)."""
    B, T = audio.shape
    n = -(-T // hop)
    power = F.pad(audio.detach().double() ** 2, (0, n * hop - T)).view(B, n, hop).sum(-1)
    count = torch.full((n,), float(hop), dtype=torch.float64, device=audio.device)
    count[-1] = T - (n - 1) * hop
    floor = 10.0 ** (LEVEL_FLOOR_DB / 10)
    return 10.0 * torch.log10(power / count + floor)


def level_track(blocks_db: torch.Tensor, n_samples: int, hop: int, dtype: torch.dtype = torch.float32,
                start: torch.Tensor | None = None) -> torch.Tensor:
    """Block levels in dB ``(B, F)`` -> the input the network reads ``(B, 1, n_samples)``: ``(dB + 40) / 20``
    interpolated linearly between block centres, held before the first and after the last; ``start``
    ``(B,)``: each clip's first sample's offset from block 0's start (default 0)."""
    B, n_blocks = blocks_db.shape
    start = torch.zeros(B, dtype=torch.long) if start is None else start.reshape(-1).long().cpu()
    t = start[:, None].double() + torch.arange(n_samples, dtype=torch.float64)  # (B, T) samples after block 0
    pos = ((t + 0.5) / hop - 0.5).clamp(0, n_blocks - 1)  # in blocks, between centres
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=n_blocks - 1)
    w = pos - i0.double()
    db = blocks_db.double().cpu()
    track = torch.gather(db, 1, i0) * (1 - w) + torch.gather(db, 1, i1) * w
    return ((track + 40.0) / 20.0)[:, None, :].to(device=blocks_db.device, dtype=dtype)


def harmonic_phases(audio: torch.Tensor, pitch: torch.Tensor, harmonics: int, sample_rate: int) -> torch.Tensor:
    """Each harmonic's phase in ``audio`` ``(B, T)`` at sample 0, ``(B, harmonics)`` radians."""
    return phases_along(audio, pitch_waves(pitch, audio.shape[-1], harmonics, sample_rate, dtype=torch.float64))


def phases_along(audio: torch.Tensor, waves: torch.Tensor) -> torch.Tensor:
    """Each harmonic's phase in ``audio`` ``(B, T)`` against its phase-0 ``waves`` ``(B, 2K, T)`` (float64):
    for ``x ~ A sin(w t + p)``, ``sum x sin(w t) ~ A T cos(p) / 2`` and ``sum x cos(w t) ~ A T sin(p) / 2``."""
    k = waves.shape[1] // 2
    x = audio.detach().double()[:, None, :]
    along_sin = (x * waves[:, :k].to(x.device)).sum(-1)
    along_cos = (x * waves[:, k:].to(x.device)).sum(-1)
    return torch.atan2(along_cos, along_sin).cpu()


def shift_phases(waves: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """Phase-0 ``waves`` ``(B, 2K, T)`` advanced by ``phase`` ``(B, K)`` radians: ``sin(a + p) = sin a cos p
    + cos a sin p``, ``cos(a + p) = cos a cos p - sin a sin p`` (what ``pitch_waves`` gives with ``phase``)."""
    k = waves.shape[1] // 2
    sin, cos = waves[:, :k], waves[:, k:]
    c, s = torch.cos(phase)[:, :, None].to(waves), torch.sin(phase)[:, :, None].to(waves)
    return torch.cat([sin * c + cos * s, cos * c - sin * s], dim=1)


class WaveNetNotes(WaveNet):
    """The note generator: a :class:`~soundart.audio.wavenet.WaveNet` with family and pitch embeddings added
    to every gate, and the side inputs above (``config``: :class:`WaveNetNotesConfig`)."""

    kind = "wavenet-notes"
    config_class = WaveNetNotesConfig

    def __init__(self, config: WaveNetNotesConfig) -> None:
        super().__init__(config)
        R, G, L = config.residual_channels, config.global_channels, len(config.dilations)
        self.family_embed = nn.Embedding(config.n_families, G) if config.n_families > 0 else None
        self.pitch_embed = nn.Embedding(128, G) if config.pitch_conditioning else None
        self.global_proj = (nn.Linear(G, 2 * R * L, bias=False)
                            if (self.family_embed is not None or self.pitch_embed is not None) else None)
        if config.note_level:
            # each family's median level (dB) per block after the onset, for sampling: saved with the weights
            self.register_buffer("family_level", torch.full((config.n_families, config.level_blocks),
                                                            LEVEL_FLOOR_DB))

    def global_bias(self, batch: int, family: torch.Tensor | None, pitch: torch.Tensor | None,
                    device=None, dtype=None) -> torch.Tensor:
        """Per-layer gate bias ``(B, L, 2R)``: conv biases plus the global conditioning."""
        out = super().global_bias(batch, family, pitch)
        if self.global_proj is None:
            return out
        L, R = len(self.config.dilations), self.config.residual_channels
        g = 0
        if self.family_embed is not None:
            if family is None:
                raise ConfigError("this WaveNet needs a family (it is family-conditioned)")
            g = g + self.family_embed(family.to(self.family_embed.weight.device).long().reshape(batch))
        if self.pitch_embed is not None:
            if pitch is None:
                raise ConfigError("this WaveNet needs a pitch (it is pitch-conditioned)")
            g = g + self.pitch_embed(pitch.to(self.pitch_embed.weight.device).long().reshape(batch))
        return out + self.global_proj(g).view(batch, L, 2 * R)

    def side_inputs(self, pitch: torch.Tensor | None, n_samples: int, dtype: torch.dtype,
                    audio: torch.Tensor | None = None, start: torch.Tensor | None = None,
                    family: torch.Tensor | None = None) -> torch.Tensor | None:
        """What the input layer reads beside the previous sample, ``(B, side_channels, n_samples)`` (None
        without side inputs): the pitch waves, then the note clock from ``start`` ``(B,)`` samples after
        the onset (needed with a note clock), then the note's level. With ``audio`` (training, measuring)
        the waves are in step with it and the level is its own; without (sampling) the waves start at
        phase 0 and the level is ``family``'s median from ``start`` on."""
        cfg = self.config
        parts = []
        if cfg.pitch_waves:
            if pitch is None:
                raise ConfigError("this WaveNet needs a pitch (it is pitch-conditioned)")
            waves = pitch_waves(pitch.reshape(-1), n_samples, cfg.pitch_waves, cfg.sample_rate, dtype=torch.float64)
            if audio is not None:  # in step with the note: its phases, measured against these same waves
                waves = shift_phases(waves, phases_along(audio, waves))
            parts.append(waves.to(device=pitch.device, dtype=dtype))
        if cfg.note_clock:
            if start is None:
                raise ConfigError("this WaveNet reads a note clock: give each clip's start after the onset")
            parts.append(note_clock(start, n_samples, cfg.note_clock, cfg.sample_rate, dtype))
        if cfg.note_level:
            if audio is not None:
                parts.append(level_track(level_blocks_db(audio, cfg.level_hop), n_samples, cfg.level_hop, dtype))
            else:
                if family is None:
                    raise ConfigError("this WaveNet needs a family (it is family-conditioned)")
                levels = self.family_level[family.to(self.family_level.device).long().reshape(-1)]
                parts.append(level_track(levels, n_samples, cfg.level_hop, dtype, start))
        if not parts:
            return None
        return torch.cat([p.to(parts[0].device) for p in parts], dim=1)
