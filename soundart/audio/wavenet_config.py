"""What both WaveNets share (:class:`WaveNetConfig`): the network's shape, its output, its sampling.

Each model's own config adds its conditioning: the note generator's
(:class:`~soundart.audio.wavenet_notes_config.WaveNetNotesConfig`: family, pitch, side inputs) and the mel
vocoder's (:class:`~soundart.audio.wavenet_vocoder_config.WaveNetVocoderConfig`: log-mel frames, linear
prediction). The models: :mod:`soundart.audio.wavenet` (the shared network), :mod:`soundart.audio.wavenet_notes`,
:mod:`soundart.audio.wavenet_vocoder`. Why each option is there, and what it measured: ``recipes/notes/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from soundart.errors import ConfigError
from soundart.features import FeatureConfig

# the mel-VAE's front end (soundart.audio.melvae_config.default_features), so the vocoder reads its mels as they are
NOTES_FEATURES = FeatureConfig(sr=16000, n_fft=2048, hop_length=512, n_mels=64, fmax=8000.0, top_db=80.0)


@dataclass
class WaveNetConfig:
    """Shape of a WaveNet, the part both models share.

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
    sampling_temperature : the temperature sampling uses when none is given (``generate``, ``soundart
        synth wavenet`` without ``--temperature``); the recipe sets what it measured best.
    features : the spectral front end of the model's audio: the log-mel frames a vocoder reads, the
        pictures of a generator's notes.
    sample_rate : audio rate in Hz.
    """

    # a vocoder reads log-mel frames (local conditioning); a note generator does not
    local: ClassVar[bool] = False

    residual_channels: int = 16
    skip_channels: int = 32
    max_dilation_exp: int = 9
    cycles: int = 2
    output: str = "mulaw"
    n_classes: int = 256
    mixtures: int = 10
    log_scale_min: float = -11.0
    input_noise: float = 0.0
    sampling_temperature: float = 1.0
    features: FeatureConfig = field(default_factory=lambda: NOTES_FEATURES)
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
        if not self.sampling_temperature > 0:
            raise ConfigError(f"wavenet: sampling_temperature must be > 0 (got {self.sampling_temperature})")

    @property
    def sampling_lpc_order(self) -> int:
        """The all-pole filters' order when sampling (0: no linear prediction; only a vocoder predicts so)."""
        return 0

    @property
    def side_channels(self) -> int:
        """How many side inputs the input layer reads beside the previous sample (a note generator's)."""
        return 0

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
        base = dict(residual_channels=8, skip_channels=8, max_dilation_exp=4, cycles=1,
                    features=NOTES_FEATURES.replace(n_fft=256, hop_length=64, n_mels=16, n_mfcc=16))
        base.update(kw)
        return cls(**base)

