"""WaveNet: the network both WaveNets share, the note generator and the mel vocoder.

Causal dilated convolutions (kernel 2, cycles of dilations 1, 2, ..., 2**max_dilation_exp),
gated ``tanh * sigmoid`` units, residual and skip paths, and one of two outputs: an 8-bit mu-law
categorical output, or a discretized mixture of logistics over 16-bit levels of the mu-law
companded amplitude (:mod:`soundart.audio.wavenet_codes`).

The network reads the companded value of the previous sample in [-1, 1] and predicts the
distribution of the next one. Each model adds its conditioning through a few hooks
(:meth:`WaveNet.global_bias`, :meth:`WaveNet.side_inputs`, :meth:`WaveNet.local_conditioning`,
:meth:`WaveNet.target_codes`):

- the note generator (:class:`~soundart.audio.wavenet_notes.WaveNetNotes`): global instrument family
  and MIDI pitch embeddings, added to every gate, and side inputs the input layer reads beside the
  previous sample (pitch waves, a note clock, the note's level);
- the mel vocoder (:class:`~soundart.audio.wavenet_vocoder.WaveNetVocoder`): log-mel frames from the
  shared pipeline (``soundart.features``), turned into per-frame features, projected per layer and
  linearly interpolated to the sample rate; optionally linear prediction from the mel's envelope.

Configs: :mod:`soundart.audio.wavenet_config` and each model's ``*_config`` module. Generation:
:mod:`soundart.audio.wavenet_generate` (naive recompute path and the cached "Fast WaveNet" path,
checked equal in tests). Why each piece is there, with the runs that measured it:
``recipes/notes/wavenet-notes.md`` and ``recipes/notes/wavenet-vocoder.md``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from soundart.audio.wavenet_codes import (
    level_decode,
    level_encode,
    level_value,
    logistic_mixture_nll,
    mulaw_companded,
    mulaw_decode,
    mulaw_encode,
)
from soundart.audio.wavenet_config import NOTES_FEATURES, WaveNetConfig
from soundart.errors import ConfigError

__all__ = ["NOTES_FEATURES", "WaveNet", "WaveNetConfig"]


class WaveNet(nn.Module):
    """Causal dilated-convolution audio model with a mu-law categorical or logistic-mixture output.

    ``forward(inputs, family, pitch, mel)``: ``inputs`` ``(B, T)`` companded previous samples
    -> ``(B, config.out_channels, T)`` (class logits, or mixture logits/means/log scales), where
    output ``t`` predicts sample ``t`` from inputs ``<= t``. Without conditioning here; the models
    are :class:`~soundart.audio.wavenet_notes.WaveNetNotes` and
    :class:`~soundart.audio.wavenet_vocoder.WaveNetVocoder`.
    """

    config_class = WaveNetConfig

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        R, S = config.residual_channels, config.skip_channels
        L = len(config.dilations)
        # the previous sample, and a note generator's side inputs: the pitch's waves, the note clock and level
        self.input = nn.Conv1d(1 + config.side_channels, R, 1)
        self.dilated = nn.ModuleList([nn.Conv1d(R, 2 * R, 2) for _ in range(L)])   # taps (t - d, t)
        self.residual = nn.ModuleList([nn.Conv1d(R, R, 1) for _ in range(L)])
        self.skip = nn.ModuleList([nn.Conv1d(R, S, 1) for _ in range(L)])
        self.out1 = nn.Conv1d(S, S, 1)
        self.out2 = nn.Conv1d(S, config.out_channels, 1)
        # the conditioning layers the models add (the note generator's embeddings, the vocoder's frame net)
        self.family_embed = self.pitch_embed = self.global_proj = None
        self.frame_net = self.local_proj = None

    # ---- conditioning: hooks each model fills in ------------------------------------------------
    def global_bias(self, batch: int, family: torch.Tensor | None, pitch: torch.Tensor | None,
                    device=None, dtype=None) -> torch.Tensor:
        """Per-layer gate bias ``(B, L, 2R)``: the dilated convolutions' biases (plus a note generator's
        global conditioning)."""
        L, R = len(self.config.dilations), self.config.residual_channels
        bias = torch.stack([conv.bias for conv in self.dilated])  # (L, 2R)
        return bias.unsqueeze(0).expand(batch, L, 2 * R)

    def side_inputs(self, pitch: torch.Tensor | None, n_samples: int, dtype: torch.dtype,
                    audio: torch.Tensor | None = None, start: torch.Tensor | None = None,
                    family: torch.Tensor | None = None) -> torch.Tensor | None:
        """What the input layer reads beside the previous sample, ``(B, side_channels, n_samples)``: None
        here (a note generator's: :meth:`~soundart.audio.wavenet_notes.WaveNetNotes.side_inputs`)."""
        return None

    def onset_side_inputs(self, batch: int, n_samples: int, dtype: torch.dtype, pitch: torch.Tensor | None = None,
                          family: torch.Tensor | None = None) -> torch.Tensor | None:
        """The side inputs as sampled for ``batch`` clips that start at the note's onset (generation)."""
        return self.side_inputs(pitch, n_samples, dtype, start=torch.zeros(batch, dtype=torch.long), family=family)

    def frame_conditioning(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, F)`` in dB -> per-layer gate inputs per frame ``(B, L, 2R, F)`` (a vocoder's)."""
        raise ConfigError("this WaveNet is not a vocoder (no local conditioning)")

    def local_conditioning(self, mel: torch.Tensor | None, n_samples: int, device):
        """``add_local(z, i)`` -> layer ``i``'s gate input ``z`` plus its local conditioning from ``mel``
        over ``n_samples`` (for :meth:`network`); None without (a vocoder's:
        :meth:`~soundart.audio.wavenet_vocoder.WaveNetVocoder.local_conditioning`)."""
        return None

    def target_codes(self, audio: torch.Tensor, mel: torch.Tensor | None) -> torch.Tensor:
        """The codes of ``audio`` ``(B, T)`` the network learns to predict (a vocoder with linear
        prediction: of its excitation)."""
        return self.encode(audio)

    # ---- the network --------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, family: torch.Tensor | None = None, pitch: torch.Tensor | None = None,
                mel: torch.Tensor | None = None, side: torch.Tensor | None = None) -> torch.Tensor:
        """``side``: the side inputs (:meth:`side_inputs`; default: as sampled from the note's onset)."""
        B, T = inputs.shape
        if side is None and self.config.side_channels:
            side = self.onset_side_inputs(B, T, inputs.dtype, pitch, family)
        add_local = self.local_conditioning(mel, T, inputs.device)
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
        q = self.target_codes(audio, mel)
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
