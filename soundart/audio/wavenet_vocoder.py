"""The WaveNet mel vocoder: log-mel -> audio through the fast generator and its mel-guided beam search.

:func:`vocode_wavenet` loads a vocoder and checks the log-mel's front end against it;
:func:`vocode_in_groups` vocodes with a loaded one, a batch in groups that fit the beam search's
memory, and vocodes again through the training filter order the clips that saturate deeper filters.
How the defaults here were measured: ``recipes/notes/wavenet-vocoder.md``.
"""

from __future__ import annotations

import dataclasses

import torch

from soundart.audio.wavenet_beam import search_paths
from soundart.audio.wavenet_generate import generate_audio
from soundart.errors import ConfigError
from soundart.features import logmel

# paths a vocoder keeps by default (``soundart vocode --beam``; measured: the notes, "Beam search")
DEFAULT_VOCODER_BEAM = 8
# a beam search holds every path's samples, draws and per-hop copies: about 0.5 MB per path-second,
# so one search covers at most this many seconds of audio times paths (vocode_wavenet splits a batch)
MAX_BEAM_PATH_SECONDS = 2400.0
# a clip vocoded through deeper filters than training used (``synthesis_lpc_order``) whose log-mel L1
# against its mel is above this is vocoded again through the training order, and the closer one kept:
# on mels far sparser than any training note (pure synthetic tones) the order-256 filters ring until
# the samples clip (the notes, "Saturation")
SATURATED_L1_DB = 15.0
FRONT_END_FIELDS = ("sr", "n_fft", "hop_length", "win_length", "window", "center", "n_mels", "fmin", "fmax",
                    "mel_scale", "norm", "power", "log")



def vocode_wavenet(logmel: torch.Tensor, feature_config, model: str = "wavenet-vocoder", device: str = "cpu",
                   seed: int | None = None, progress: bool = False, beam: int = DEFAULT_VOCODER_BEAM) -> torch.Tensor:
    """Log-mel ``(B, n_mels, frames)`` in dB -> audio ``(B, (frames - 1) * hop)`` with a WaveNet vocoder.

    ``feature_config`` is the front end that made the log-mel; it must match the
    vocoder's (a ConfigError names the fields that differ). ``model`` is a
    shipped name or a checkpoint path; ``beam``: paths of the mel-guided search (1: plain sampling).
    A batch is searched in groups of clips that fit ``MAX_BEAM_PATH_SECONDS`` (group k seeded with
    ``seed + k``); a single clip above it is a ConfigError.
    """
    from soundart.errors import ModelError
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    wn = load_model(model, device=resolve_device(device), expect_kind="wavenet")
    if not wn.config.local:
        raise ModelError(f"model {model!r} is not a mel vocoder")
    mine = wn.config.features
    diff = [f"{name} {getattr(feature_config, name)} (vocoder: {getattr(mine, name)})"
            for name in FRONT_END_FIELDS if getattr(feature_config, name) != getattr(mine, name)]
    if diff:
        raise ConfigError("the log-mel's front end differs from the WaveNet vocoder's: " + ", ".join(diff))
    n_samples = max(1, (logmel.shape[-1] - 1) * mine.hop_length)
    return vocode_in_groups(wn, logmel, n_samples, seed=seed, beam=beam, progress=progress)


def vocode_in_groups(model, logmel: torch.Tensor, n_samples: int, *, seed: int | None = None,
                     temperature: float | None = None, beam: int = DEFAULT_VOCODER_BEAM, progress: bool = False,
                     refiltered: list[int] | None = None) -> torch.Tensor:
    """Vocode log-mels ``(B, n_mels, frames)`` with a loaded vocoder, ``n_samples`` per clip, searching
    as many clips at a time as fit ``MAX_BEAM_PATH_SECONDS`` (the k-th group draws from ``seed + k``);
    one clip above that limit is a ConfigError. A clip that saturates deeper sampling filters than
    training used (log-mel L1 above ``SATURATED_L1_DB``) is vocoded again through the training order
    and the closer of the two kept; the indices of clips so replaced go into ``refiltered``."""
    sr = model.config.features.sr
    paths = search_paths(beam)
    if n_samples * paths > MAX_BEAM_PATH_SECONDS * sr:
        raise ConfigError(f"{n_samples / sr:.0f} s of audio per clip is above the WaveNet vocoder's limit of "
                          f"{MAX_BEAM_PATH_SECONDS / paths:g} s with a beam of {beam} (lower --beam)")
    group = max(1, int(MAX_BEAM_PATH_SECONDS * sr // (n_samples * paths)))

    def run(mels: torch.Tensor) -> torch.Tensor:
        parts = [generate_audio(model, n_samples, mel=mels[i:i + group], temperature=temperature, progress=progress,
                                beam=beam, seed=None if seed is None else seed + k)
                 for k, i in enumerate(range(0, mels.shape[0], group))]
        return torch.cat(parts)

    audio = run(logmel)
    if refiltered is not None:
        refiltered.clear()
    cfg = model.config
    if cfg.sampling_lpc_order == cfg.lpc_order:
        return audio
    err = clip_logmel_l1(audio, logmel, cfg.features)
    again = (err > SATURATED_L1_DB).nonzero().flatten()
    if len(again):
        model.config = dataclasses.replace(cfg, synthesis_lpc_order=0)
        try:
            retry = run(logmel[again])
        finally:
            model.config = cfg
        better = clip_logmel_l1(retry, logmel[again], cfg.features) < err[again]
        audio[again[better]] = retry[better]
        if refiltered is not None:
            refiltered.extend(again[better].tolist())
    return audio


def clip_logmel_l1(audio: torch.Tensor, mel: torch.Tensor, features) -> torch.Tensor:
    """Log-mel L1 (dB) of each clip ``(B, T)`` against its mel ``(B, n_mels, F)``, over the frames both have."""
    got = logmel(audio.float(), features)
    frames = min(got.shape[-1], mel.shape[-1])
    return (got[..., :frames] - mel[..., :frames].float()).abs().mean(dim=(1, 2))
