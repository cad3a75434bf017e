"""The WaveNet mel vocoder's config (:class:`WaveNetVocoderConfig`); the model:
:mod:`soundart.audio.wavenet_vocoder`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from soundart.audio.wavenet_config import WaveNetConfig
from soundart.errors import ConfigError

MAX_LPC_ORDER = 1024  # linear prediction; a beam search also needs it below the vocoder's n_fft


@dataclass
class WaveNetVocoderConfig(WaveNetConfig):
    """A mel vocoder: the shared shape (:class:`~soundart.audio.wavenet_config.WaveNetConfig`), conditioned
    on log-mel frames from ``features`` (why each option is there, and what it measured:
    ``recipes/notes/wavenet-vocoder.md``).

    Attributes
    ----------
    lpc_order : each sample is the all-pole prediction from the previous ``lpc_order`` samples
        (coefficients from the mel's envelope) plus an excitation whose scaled codes the network
        models; 0 = off (the network models the sample itself).
    lpc_lag_window_hz, lpc_noise_floor : how smooth that envelope is (``logmel_lpc``'s lag
        window and white-noise floor): less smoothing follows the mel's valleys deeper, so
        the sampling noise fills them less.
    synthesis_lpc_order : the order of the all-pole filters (and of their excitation level) that
        sampling passes the network's excitation through; 0 = ``lpc_order``. Training always
        uses ``lpc_order``: the network reads only its own excitation codes, so sampling stays
        consistent when the filters differ.
    frame_channels : width of the per-frame features made from the mel.
    mel_offset, mel_scale : the mel in dB enters the network as ``(L + offset) / scale``.
    """

    local: ClassVar[bool] = True

    lpc_order: int = 0
    lpc_lag_window_hz: float = 40.0
    lpc_noise_floor: float = 1e-3
    synthesis_lpc_order: int = 0
    frame_channels: int = 32
    mel_offset: float = 40.0
    mel_scale: float = 40.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.lpc_order <= MAX_LPC_ORDER:
            raise ConfigError(f"wavenet: lpc_order must be in 0..{MAX_LPC_ORDER} (got {self.lpc_order})")
        if self.lpc_lag_window_hz < 0 or not 0 < self.lpc_noise_floor <= 1:
            raise ConfigError("wavenet: lpc_lag_window_hz must be >= 0 and lpc_noise_floor in (0, 1] "
                              f"(got {self.lpc_lag_window_hz}, {self.lpc_noise_floor})")
        if not 0 <= self.synthesis_lpc_order <= MAX_LPC_ORDER or (self.synthesis_lpc_order and not self.lpc_order):
            raise ConfigError(f"wavenet: synthesis_lpc_order must be in 0..{MAX_LPC_ORDER} and needs lpc_order > 0 "
                              f"(got {self.synthesis_lpc_order}, lpc_order {self.lpc_order})")
        if self.features.sr != self.sample_rate:
            raise ConfigError(f"wavenet: features.sr {self.features.sr} != sample_rate {self.sample_rate}")

    @property
    def sampling_lpc_order(self) -> int:
        """The all-pole filters' order when sampling (0: no linear prediction)."""
        return self.synthesis_lpc_order or self.lpc_order

    @classmethod
    def debug(cls, **kw) -> WaveNetVocoderConfig:
        """A tiny vocoder for tests."""
        return super().debug(**{"frame_channels": 8, **kw})
