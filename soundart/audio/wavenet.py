"""WaveNet: the network shared by the note generator and the mel vocoder, and its config.

Causal dilated convolutions (kernel 2, cycles of dilations 1, 2, ..., 2**max_dilation_exp),
gated ``tanh * sigmoid`` units, residual and skip paths, and one of two outputs: an 8-bit mu-law
categorical output, or a discretized mixture of logistics over 16-bit levels of the mu-law
companded amplitude (:mod:`soundart.audio.wavenet_codes`).

Two optional conditionings,

- global: instrument family and MIDI pitch embeddings, added to every gate (the generator);
- local: log-mel frames from the shared pipeline (``soundart.features``), turned into per-frame
  features by a small frame convolution, projected per layer and linearly interpolated to the
  sample rate (the vocoder);

and, for the generator, side inputs the input layer reads beside the previous sample
(:mod:`soundart.audio.wavenet_notes`: pitch waves, a note clock, the note's level).

A vocoder may also predict through linear prediction (``lpc_order`` > 0, as in LPCNet, Valin &
Skoglund 2019): per frame, the log-mel's spectral envelope gives all-pole coefficients and the
excitation's expected RMS (:func:`soundart.features.logmel_lpc`); each sample is ``p + e``, ``p``
the prediction from the previous samples, and the network models only the excitation ``e``, divided
by ``EXCITATION_HEADROOM`` times that RMS, reading its own previous excitation code, so the sampling
noise takes the note's spectral shape and the level comes from the mel.

The network reads the companded value of the previous sample in [-1, 1] and predicts the
distribution of the next one. Generation: :mod:`soundart.audio.wavenet_generate` (naive recompute
path and the cached "Fast WaveNet" path, checked equal in tests); vocoding:
:mod:`soundart.audio.wavenet_vocoder`. Why each piece is there, with the runs that measured it:
``recipes/notes/wavenet-notes.md`` and ``recipes/notes/wavenet-vocoder.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from soundart.audio.wavenet_codes import (
    EXCITATION_HEADROOM,
    all_pole_filter,
    frame_index,
    interpolation_table,
    level_decode,
    level_encode,
    level_value,
    logistic_mixture_nll,
    mulaw_companded,
    mulaw_decode,
    mulaw_encode,
)
from soundart.audio.wavenet_notes import (
    LEVEL_FLOOR_DB,
    LEVEL_HOP_S,
    level_blocks_db,
    level_track,
    note_clock,
    phases_along,
    pitch_waves,
    shift_phases,
)
from soundart.errors import BadInputError, ConfigError
from soundart.features import FeatureConfig

MAX_LPC_ORDER = 1024  # linear prediction; a beam search also needs it below the vocoder's n_fft

# the mel-VAE's front end (soundart.audio.melvae.default_features), so the vocoder reads its mels as they are
NOTES_FEATURES = FeatureConfig(sr=16000, n_fft=2048, hop_length=512, n_mels=64, fmax=8000.0, top_db=80.0)


@dataclass
class WaveNetConfig:
    """Shape of a WaveNet (why each option is there, and what it measured: ``recipes/notes/``).

    Attributes
    ----------
    residual_channels, skip_channels : widths of the residual stream and the skip sum.
    max_dilation_exp : one cycle has dilations 1, 2, ..., 2**max_dilation_exp.
    cycles : how many cycles are stacked.
    output : "mulaw" (categorical over ``n_classes`` mu-law classes) or "logistic" (a
        discretized mixture of ``mixtures`` logistics over 16-bit levels of the
        mu-law companded amplitude, mu 255).
    n_classes : mu-law classes (256 = 8 bit); ``mu = n_classes - 1``.
    mixtures : logistic components (output "logistic").
    log_scale_min : floor of a logistic's log scale; -11 is about one 16-bit step, so
        silence can be predicted as silence.
    input_noise : training only: each crop's teacher-forced inputs (companded, in [-1, 1]) get
        Gaussian noise of a standard deviation drawn uniformly from [0, input_noise], targets
        stay clean, so the network has to follow its conditioning rather than lean on its past. 0 = off.
    lpc_order : vocoder only: each sample is the all-pole prediction from the previous
        ``lpc_order`` samples (coefficients from the mel's envelope) plus an excitation whose
        scaled codes the network models; 0 = off (the network models the sample itself).
    lpc_lag_window_hz, lpc_noise_floor : how smooth that envelope is (``logmel_lpc``'s lag
        window and white-noise floor): less smoothing follows the mel's valleys deeper, so
        the sampling noise fills them less.
    synthesis_lpc_order : the order of the all-pole filters (and of their excitation level) that
        sampling passes the network's excitation through; 0 = ``lpc_order``. Training always
        uses ``lpc_order``: the network reads only its own excitation codes, so sampling stays
        consistent when the filters differ.
    n_families : instrument families for global conditioning (0: none).
    pitch_conditioning : add a MIDI pitch (0-127) embedding to the global conditioning.
    pitch_waves : generator only: the input layer also reads sines and cosines at the first
        ``pitch_waves`` harmonics of the clip's pitch (:func:`~soundart.audio.wavenet_notes.pitch_waves`;
        harmonics at or above Nyquist are zero). In training each harmonic's phase is the one measured
        in the crop, so the waves are in step with the note; sampling starts them all at phase 0 and the
        note follows them. Needs ``input_noise`` and ``note_clock`` to be used. 0 = off.
    note_clock : generator only: the input layer also reads ``note_clock`` decaying exponentials of
        the time since the note's onset, ``exp(-t / tau)`` with ``tau`` = 25 ms, 100 ms, 400 ms, ...
        (x4 each; :func:`~soundart.audio.wavenet_notes.note_clock`). 0 = off.
    note_level : generator only: the input layer also reads the note's level in dB (the mean square of
        blocks of ``LEVEL_HOP_S``, interpolated between block centres, as ``(dB + 40) / 20``): in
        training the crop's own, when sampling the family's median level at that time after the onset
        (the ``family_level`` buffer, ``(n_families, level_blocks)``, filled from the training notes by
        the recipe; held after its last block). Needs n_families.
    note_level_seconds : how much of that median level ``family_level`` holds.
    sampling_temperature : the temperature sampling uses when none is given (``generate``, ``soundart
        synth wavenet`` without ``--temperature``); the recipe sets what it measured best.
    global_channels : size of the global embedding.
    local : condition on log-mel frames (a vocoder).
    frame_channels : width of the per-frame features made from the mel.
    features : the spectral front end the mel frames come from.
    mel_offset, mel_scale : the mel in dB enters the network as ``(L + offset) / scale``.
    sample_rate : audio rate in Hz.
    """

    residual_channels: int = 16
    skip_channels: int = 32
    max_dilation_exp: int = 9
    cycles: int = 2
    output: str = "mulaw"
    n_classes: int = 256
    mixtures: int = 10
    log_scale_min: float = -11.0
    input_noise: float = 0.0
    lpc_order: int = 0
    lpc_lag_window_hz: float = 40.0
    lpc_noise_floor: float = 1e-3
    synthesis_lpc_order: int = 0
    n_families: int = 0
    pitch_conditioning: bool = False
    pitch_waves: int = 0
    note_clock: int = 0
    note_level: bool = False
    note_level_seconds: float = 3.0
    sampling_temperature: float = 1.0
    global_channels: int = 16
    local: bool = False
    frame_channels: int = 32
    features: FeatureConfig = field(default_factory=lambda: NOTES_FEATURES)
    mel_offset: float = 40.0
    mel_scale: float = 40.0
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if self.residual_channels < 1 or self.skip_channels < 1 or self.cycles < 1:
            raise ConfigError("wavenet: residual_channels, skip_channels and cycles must be >= 1")
        if not 0 <= self.max_dilation_exp <= 14:
            raise ConfigError(f"wavenet: max_dilation_exp must be in 0..14 (got {self.max_dilation_exp})")
        if self.output not in ("mulaw", "logistic"):
            raise ConfigError(f"wavenet: output must be mulaw or logistic (got {self.output!r})")
        if self.n_classes < 2:
            raise ConfigError(f"wavenet: n_classes must be >= 2 (got {self.n_classes})")
        if self.mixtures < 1:
            raise ConfigError(f"wavenet: mixtures must be >= 1 (got {self.mixtures})")
        if self.input_noise < 0:
            raise ConfigError(f"wavenet: input_noise must be >= 0 (got {self.input_noise})")
        if not 0 <= self.lpc_order <= MAX_LPC_ORDER:
            raise ConfigError(f"wavenet: lpc_order must be in 0..{MAX_LPC_ORDER} (got {self.lpc_order})")
        if self.lpc_lag_window_hz < 0 or not 0 < self.lpc_noise_floor <= 1:
            raise ConfigError("wavenet: lpc_lag_window_hz must be >= 0 and lpc_noise_floor in (0, 1] "
                              f"(got {self.lpc_lag_window_hz}, {self.lpc_noise_floor})")
        if not 0 <= self.synthesis_lpc_order <= MAX_LPC_ORDER or (self.synthesis_lpc_order and not self.lpc_order):
            raise ConfigError(f"wavenet: synthesis_lpc_order must be in 0..{MAX_LPC_ORDER} and needs lpc_order > 0 "
                              f"(got {self.synthesis_lpc_order}, lpc_order {self.lpc_order})")
        if self.pitch_waves < 0 or (self.pitch_waves and not self.pitch_conditioning):
            raise ConfigError(f"wavenet: pitch_waves must be >= 0 and needs pitch_conditioning "
                              f"(got {self.pitch_waves})")
        if not 0 <= self.note_clock <= 8:
            raise ConfigError(f"wavenet: note_clock must be in 0..8 (got {self.note_clock})")
        if self.note_level and (self.n_families < 1 or self.local or self.note_level_seconds <= 0):
            raise ConfigError("wavenet: note_level is for a family-conditioned generator (n_families > 0, "
                              f"local false) with note_level_seconds > 0 (got {self.note_level_seconds})")
        if not self.sampling_temperature > 0:
            raise ConfigError(f"wavenet: sampling_temperature must be > 0 (got {self.sampling_temperature})")
        if self.lpc_order and not self.local:
            raise ConfigError("wavenet: lpc_order needs local: true (the coefficients come from the mel)")
        if self.local and self.features.sr != self.sample_rate:
            raise ConfigError(f"wavenet: features.sr {self.features.sr} != sample_rate {self.sample_rate}")

    @property
    def sampling_lpc_order(self) -> int:
        """The all-pole filters' order when sampling (0: no linear prediction)."""
        return self.synthesis_lpc_order or self.lpc_order

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

    @property
    def dilations(self) -> list[int]:
        return [2 ** i for i in range(self.max_dilation_exp + 1)] * self.cycles

    @property
    def out_channels(self) -> int:
        """Output channels per sample: class logits, or mixture logits, means and log scales."""
        return self.n_classes if self.output == "mulaw" else 3 * self.mixtures

    @property
    def receptive_field(self) -> int:
        """Samples of past input one output depends on."""
        return 1 + sum(self.dilations)

    @classmethod
    def debug(cls, **kw) -> WaveNetConfig:
        """A tiny model for tests."""
        base = dict(residual_channels=8, skip_channels=8, max_dilation_exp=4, cycles=1, global_channels=4,
                    frame_channels=8, features=NOTES_FEATURES.replace(n_fft=256, hop_length=64, n_mels=16, n_mfcc=16))
        base.update(kw)
        return cls(**base)



class WaveNet(nn.Module):
    """Causal dilated-convolution audio model with a mu-law categorical or logistic-mixture output.

    ``forward(inputs, family, pitch, mel)``: ``inputs`` ``(B, T)`` companded previous samples
    -> ``(B, config.out_channels, T)`` (class logits, or mixture logits/means/log scales), where
    output ``t`` predicts sample ``t`` from inputs ``<= t``.
    """

    kind = "wavenet"
    config_class = WaveNetConfig

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        R, S, G = config.residual_channels, config.skip_channels, config.global_channels
        L = len(config.dilations)
        # the previous sample, and the side inputs: the pitch's waves, the note clock and level
        self.input = nn.Conv1d(1 + config.side_channels, R, 1)
        self.dilated = nn.ModuleList([nn.Conv1d(R, 2 * R, 2) for _ in range(L)])   # taps (t - d, t)
        self.residual = nn.ModuleList([nn.Conv1d(R, R, 1) for _ in range(L)])
        self.skip = nn.ModuleList([nn.Conv1d(R, S, 1) for _ in range(L)])
        self.out1 = nn.Conv1d(S, S, 1)
        self.out2 = nn.Conv1d(S, config.out_channels, 1)
        self.family_embed = nn.Embedding(config.n_families, G) if config.n_families > 0 else None
        self.pitch_embed = nn.Embedding(128, G) if config.pitch_conditioning else None
        self.global_proj = (nn.Linear(G, 2 * R * L, bias=False)
                            if (self.family_embed is not None or self.pitch_embed is not None) else None)
        if config.local:
            C = config.frame_channels
            self.frame_net = nn.Sequential(nn.Conv1d(config.features.n_mels, C, 3, padding=1), nn.Tanh(),
                                           nn.Conv1d(C, C, 3, padding=1), nn.Tanh())
            self.local_proj = nn.Conv1d(C, 2 * R * L, 1, bias=False)
        else:
            self.frame_net = None
            self.local_proj = None
        if config.note_level:
            # each family's median level (dB) per block after the onset, for sampling: saved with the weights
            self.register_buffer("family_level", torch.full((config.n_families, config.level_blocks),
                                                            LEVEL_FLOOR_DB))

    # ---- conditioning -------------------------------------------------------------------------
    def global_bias(self, batch: int, family: torch.Tensor | None, pitch: torch.Tensor | None,
                    device=None, dtype=None) -> torch.Tensor:
        """Per-layer gate bias ``(B, L, 2R)``: conv biases plus the global conditioning."""
        L, R = len(self.config.dilations), self.config.residual_channels
        bias = torch.stack([conv.bias for conv in self.dilated])  # (L, 2R)
        out = bias.unsqueeze(0).expand(batch, L, 2 * R)
        if self.global_proj is not None:
            g = 0
            if self.family_embed is not None:
                if family is None:
                    raise ConfigError("this WaveNet needs a family (it is family-conditioned)")
                g = g + self.family_embed(family.to(self.family_embed.weight.device).long().reshape(batch))
            if self.pitch_embed is not None:
                if pitch is None:
                    raise ConfigError("this WaveNet needs a pitch (it is pitch-conditioned)")
                g = g + self.pitch_embed(pitch.to(self.pitch_embed.weight.device).long().reshape(batch))
            out = out + self.global_proj(g).view(batch, L, 2 * R)
        return out

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

    def onset_side_inputs(self, batch: int, n_samples: int, dtype: torch.dtype, pitch: torch.Tensor | None = None,
                          family: torch.Tensor | None = None) -> torch.Tensor | None:
        """The side inputs as sampled for ``batch`` clips that start at the note's onset (generation)."""
        return self.side_inputs(pitch, n_samples, dtype, start=torch.zeros(batch, dtype=torch.long), family=family)

    def frame_conditioning(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, F)`` in dB -> per-layer gate inputs per frame ``(B, L, 2R, F)``."""
        cfg = self.config
        if self.local_proj is None:
            raise ConfigError("this WaveNet is not a vocoder (no local conditioning)")
        check_mel(mel, cfg.features.n_mels)
        x = (mel + cfg.mel_offset) / cfg.mel_scale
        h = self.local_proj(self.frame_net(x))  # (B, L*2R, F)
        return h.view(h.shape[0], len(cfg.dilations), 2 * cfg.residual_channels, h.shape[-1])

    # ---- the network --------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, family: torch.Tensor | None = None, pitch: torch.Tensor | None = None,
                mel: torch.Tensor | None = None, side: torch.Tensor | None = None) -> torch.Tensor:
        """``side``: the side inputs (:meth:`side_inputs`; default: as sampled from the note's onset)."""
        B, T = inputs.shape
        cfg = self.config
        if side is None and cfg.side_channels:
            side = self.onset_side_inputs(B, T, inputs.dtype, pitch, family)
        add_local = None
        if self.local_proj is not None:
            frames = self.frame_conditioning(mel)  # (B, L, 2R, F)
            idx0, idx1, w = interpolation_table(T, cfg.features.hop_length, frames.shape[-1], inputs.device,
                                                frames.dtype)

            def add_local(z: torch.Tensor, i: int) -> torch.Tensor:
                fr = frames[:, i]  # (B, 2R, F)
                return z + fr[..., idx0] * (1 - w) + fr[..., idx1] * w

        return self.network(inputs, self.global_bias(B, family, pitch), add_local, side)

    def network(self, inputs: torch.Tensor, gbias: torch.Tensor, add_local=None,
                side: torch.Tensor | None = None) -> torch.Tensor:
        """The layers over ``inputs`` ``(B, W)`` -> ``(B, out_channels, W)``, given the gate biases ``gbias``
        ``(B, L, 2R)`` (:meth:`global_bias`), ``add_local(z, i)`` -> layer ``i``'s gate input ``z``
        ``(B, 2R, W)`` plus its local conditioning (None: none) and the side inputs ``(B, C, W)`` (or None).
        :meth:`forward` and the naive generator (over a window of the past) both run this."""
        x = inputs.unsqueeze(1)
        h = self.input(x if side is None else torch.cat([x, side.to(x)], dim=1))  # (B, R, W)
        skip = 0
        for i, d in enumerate(self.config.dilations):
            z = F.conv1d(F.pad(h, (d, 0)), self.dilated[i].weight, None, dilation=d)  # (B, 2R, W)
            z = z + gbias[:, i, :, None]
            if add_local is not None:
                z = add_local(z, i)
            a, b = z.chunk(2, dim=1)
            g = torch.tanh(a) * torch.sigmoid(b)
            h = h + self.residual[i](g)
            skip = skip + self.skip[i](g)
        return self.out2(F.relu(self.out1(F.relu(skip))))

    # ---- sample codes ---------------------------------------------------------------------------
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio in [-1, 1] -> the integer codes the model predicts (mu-law classes or 16-bit levels)."""
        if self.config.output == "mulaw":
            return mulaw_encode(audio, self.config.n_classes)
        return level_encode(audio)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer codes -> audio in [-1, 1] (float32)."""
        if self.config.output == "mulaw":
            return mulaw_decode(codes, self.config.n_classes)
        return level_decode(codes)

    def code_value(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer codes -> amplitude in float64 (what the sampling loops add to the prediction)."""
        if self.config.output == "mulaw":
            return mulaw_decode(codes, self.config.n_classes, torch.float64)
        return level_decode(codes, torch.float64)

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

    def code_input(self, codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Integer codes -> the companded value the network reads as the previous sample."""
        if self.config.output == "mulaw":
            return mulaw_companded(codes.to(dtype), self.config.n_classes)
        return level_value(codes, dtype)

    # ---- training -----------------------------------------------------------------------------
    def loss(self, audio: torch.Tensor, family: torch.Tensor | None = None, pitch: torch.Tensor | None = None,
             mel: torch.Tensor | None = None, start: torch.Tensor | None = None,
             as_sampled: bool = False) -> torch.Tensor:
        """Mean NLL (nats per sample) of the codes of ``audio`` ``(B, T)``: 256 mu-law classes or 16-bit
        levels (of the excitation, with linear prediction). ``start`` ``(B,)``: where each crop starts
        after its note's onset (the note clock; default 0). Side inputs as trained (pitch waves with the
        phases measured in ``audio``, its own level), or ``as_sampled`` (waves from phase 0, the
        family's median level)."""
        if self.config.lpc_order:
            if mel is None:
                raise ConfigError("this WaveNet is a vocoder: give it a log-mel")
            q = self.lpc_codes(audio, mel)
        else:
            q = self.encode(audio)
        prev = F.pad(self.code_input(q[:, :-1], audio.dtype), (1, 0))
        if self.training and self.config.input_noise > 0:
            std = torch.rand(prev.shape[0], 1, device=prev.device, dtype=prev.dtype) * self.config.input_noise
            prev = prev + std * torch.randn_like(prev)
        if start is None:
            start = torch.zeros(audio.shape[0], dtype=torch.long)
        side = self.side_inputs(pitch, audio.shape[-1], audio.dtype, None if as_sampled else audio, start, family)
        out = self(prev, family, pitch, mel, side)
        if self.config.output == "mulaw":
            return F.cross_entropy(out, q)
        return logistic_mixture_nll(out, level_value(q, out.dtype), self.config.mixtures,
                                    self.config.log_scale_min)

    def training_step(self, batch: dict) -> torch.Tensor:
        return self.loss(batch["audio"], batch.get("family"), batch.get("pitch"), batch.get("mel"), batch.get("start"))

    def validation_step(self, batch: dict) -> dict:
        return {"loss": float(self.training_step(batch).detach())}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


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
