"""The WaveNet mel vocoder (:class:`WaveNetVocoder`, config :mod:`soundart.audio.wavenet_vocoder_config`):
log-mel -> audio through the fast generator and its mel-guided beam search.

The model is the shared network (:mod:`soundart.audio.wavenet`) conditioned on log-mel frames from the
shared pipeline (``soundart.features``): a small frame convolution turns them into per-frame features,
projected per layer and linearly interpolated to the sample rate. It may also predict through linear
prediction (``lpc_order`` > 0, as in LPCNet, Valin & Skoglund 2019): per frame, the log-mel's spectral
envelope gives all-pole coefficients and the excitation's expected RMS (:func:`soundart.features.logmel_lpc`);
each sample is ``p + e``, ``p`` the prediction from the previous samples, and the network models only the
excitation ``e``, divided by ``EXCITATION_HEADROOM`` times that RMS, reading its own previous excitation
code, so the sampling noise takes the note's spectral shape and the level comes from the mel.

:func:`vocode_wavenet` loads a vocoder and checks the log-mel's front end against it;
:func:`vocode_in_groups` vocodes with a loaded one, a batch in groups that fit the beam search's
memory, and vocodes again through the training filter order the clips that saturate deeper filters.
How the defaults here were measured: ``recipes/notes/wavenet-vocoder.md``.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from soundart.audio.wavenet import WaveNet
from soundart.audio.wavenet_beam import search_paths
from soundart.audio.wavenet_codes import EXCITATION_HEADROOM, all_pole_filter, frame_index, interpolation_table
from soundart.audio.wavenet_generate import generate_audio
from soundart.audio.wavenet_vocoder_config import MAX_LPC_ORDER, WaveNetVocoderConfig
from soundart.errors import BadInputError, ConfigError
from soundart.features import logmel

__all__ = ["MAX_LPC_ORDER", "WaveNetVocoder", "WaveNetVocoderConfig", "check_mel", "vocode_in_groups",
           "vocode_wavenet"]

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


class WaveNetVocoder(WaveNet):
    """The mel vocoder: a :class:`~soundart.audio.wavenet.WaveNet` conditioned on log-mel frames, with
    optional linear prediction (``config``: :class:`WaveNetVocoderConfig`)."""

    kind = "wavenet-vocoder"
    config_class = WaveNetVocoderConfig

    def __init__(self, config: WaveNetVocoderConfig) -> None:
        super().__init__(config)
        R, C, L = config.residual_channels, config.frame_channels, len(config.dilations)
        self.frame_net = nn.Sequential(nn.Conv1d(config.features.n_mels, C, 3, padding=1), nn.Tanh(),
                                       nn.Conv1d(C, C, 3, padding=1), nn.Tanh())
        self.local_proj = nn.Conv1d(C, 2 * R * L, 1, bias=False)

    def frame_conditioning(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, F)`` in dB -> per-layer gate inputs per frame ``(B, L, 2R, F)``."""
        cfg = self.config
        if self.local_proj is None:
            raise ConfigError("this WaveNet is not a vocoder (no local conditioning)")
        check_mel(mel, cfg.features.n_mels)
        x = (mel + cfg.mel_offset) / cfg.mel_scale
        h = self.local_proj(self.frame_net(x))  # (B, L*2R, F)
        return h.view(h.shape[0], len(cfg.dilations), 2 * cfg.residual_channels, h.shape[-1])

    def local_conditioning(self, mel: torch.Tensor | None, n_samples: int, device):
        """``add_local(z, i)``: layer ``i``'s gate input ``z`` ``(B, 2R, n_samples)`` plus the mel's frames,
        interpolated to the sample rate."""
        cfg = self.config
        frames = self.frame_conditioning(mel)  # (B, L, 2R, F)
        idx0, idx1, w = interpolation_table(n_samples, cfg.features.hop_length, frames.shape[-1], device,
                                            frames.dtype)

        def add_local(z: torch.Tensor, i: int) -> torch.Tensor:
            fr = frames[:, i]  # (B, 2R, F)
            return z + fr[..., idx0] * (1 - w) + fr[..., idx1] * w

        return add_local

    def target_codes(self, audio: torch.Tensor, mel: torch.Tensor | None) -> torch.Tensor:
        """The codes of ``audio`` ``(B, T)``, or with linear prediction of its scaled excitation."""
        if not self.config.lpc_order:
            return self.encode(audio)
        if mel is None:
            raise ConfigError("this WaveNet is a vocoder: give it a log-mel")
        return self.lpc_codes(audio, mel)

    def lpc_coefficients(self, mel: torch.Tensor, sampling: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel ``(B, n_mels, F)`` -> all-pole coefficients ``(B, F, order)`` and the excitation's
        scale per frame ``(B, F)`` (codes are of excitation / scale), both float64; ``order`` is
        ``lpc_order`` (training, measuring) or with ``sampling`` ``sampling_lpc_order``."""
        from soundart.features import logmel_lpc

        cfg = self.config
        order = cfg.sampling_lpc_order if sampling else cfg.lpc_order
        coeffs, gain = logmel_lpc(mel, cfg.features, order, cfg.lpc_lag_window_hz, cfg.lpc_noise_floor)
        return coeffs, gain * EXCITATION_HEADROOM

    def lpc_codes(self, audio: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """The codes of ``audio``'s ``(B, T)`` scaled excitation under linear prediction from its own
        past (teacher forcing) ``(B, T)``: what the network learns to predict."""
        coeffs, scale = self.lpc_coefficients(mel)
        x = audio.double()
        frame = frame_index(x.shape[-1], coeffs.shape[1], self.config.features.hop_length, x.device)
        order = self.config.lpc_order
        # (B, T, order): x[t - 1], ..., x[t - order] (zeros before the start), one product for all lags
        past = F.pad(x, (order, 0)).unfold(-1, order, 1)[:, :-1].flip(-1)
        pred = -torch.einsum("btk,btk->bt", past, coeffs[:, frame])
        return self.encode(((x - pred) / scale[:, frame]).clamp(-1.0, 1.0))

    def lpc_synthesize(self, codes: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """Excitation codes ``(B, T)`` -> audio ``(B, T)`` float64 through the mel's all-pole filters, as
        the sampling loops do (each sample clipped to [-1, 1]); for measuring, not for sampling."""
        coeffs, scale = self.lpc_coefficients(mel)
        hop = self.config.features.hop_length
        excitation = self.code_value(codes) * scale[:, frame_index(codes.shape[-1], scale.shape[1], hop)]
        return all_pole_filter(excitation, coeffs, hop).clamp(-1.0, 1.0)


def check_mel(mel: torch.Tensor, n_mels: int) -> None:
    """A BadInputError for a mel of the wrong shape or with NaN/inf values."""
    if mel.dim() != 3:
        raise BadInputError(f"log-mel must be (batch, bands, frames), got shape {tuple(mel.shape)}")
    if mel.shape[1] != n_mels:
        raise BadInputError(f"log-mel has {mel.shape[1]} mel bands but the model expects {n_mels}")
    if mel.shape[-1] < 1:
        raise BadInputError("log-mel has no frames")
    if not torch.isfinite(mel).all():
        raise BadInputError("log-mel contains NaN or infinite values")



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

    wn = load_model(model, device=resolve_device(device), expect_kind=("wavenet-notes", "wavenet-vocoder"))
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
