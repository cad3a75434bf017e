"""The mel VAE's config (:class:`MelVAEConfig`) and its default front end; the model: :mod:`soundart.audio.melvae`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from soundart.errors import ConfigError
from soundart.features import FeatureConfig

CONDITIONS = ("none", "pitch", "pitch_family")


def default_features() -> FeatureConfig:
    return FeatureConfig(sr=16000, n_fft=2048, hop_length=512, n_mels=64, fmax=8000.0, top_db=80.0)


@dataclass
class MelVAEConfig:
    """Shape of the mel VAE and the front end and labels it was trained with.

    ``frames`` must be divisible by ``2 ** len(channels)`` and so must ``n_mels``.
    """

    features: FeatureConfig = field(default_factory=default_features)
    frames: int = 64
    channels: tuple[int, ...] = (32, 64, 96, 96)
    latent: int = 32
    condition: str = "pitch_family"
    pitch_min: int = 24
    pitch_max: int = 96
    families: tuple[str, ...] = ()
    cond_dim: int = 16
    label_dropout: float = 0.2
    db_offset: float = -40.0
    db_scale: float = 40.0
    beta: float = 1.0
    kl_warmup: int = 1000
    free_bits: float = 0.1
    learned_prior: bool = False
    # default scale of the prior noise when sampling (``sample``/``draw`` with temperature None;
    # ``soundart synth vae`` without --temperature). Below 1 the draws stay nearer the middle of
    # the family's region of latent space: typical notes of that family instead of its edges.
    temperature: float = 1.0
    # components per family of a Gaussian mixture over where the training notes sit in latent
    # space (posterior means minus the learned prior's mean), fitted after training
    # (``fit_prior_mixture``); samples asked for a family come from it. 0: the Gaussian prior.
    prior_mixture: int = 0
    # width in semitones of the pitch bands that get a mixture of their own (per family), fitted on
    # the notes in that band only; 0: one mixture per family for all pitches. A program's offset
    # from the prior mean changes with pitch, so an offset fitted at one pitch decodes to a less
    # typical timbre at another (bench: 83% of samples recognised when the offsets of real notes
    # of the same pitch are reused, 67% with offsets from any pitch).
    prior_mixture_band: int = 0
    # gradient steps that refine the encoder's posterior mean towards the latent whose decoding
    # has the least L1 to the input (``forward``, so reconstructions; semi-amortized inference):
    # the encoder only approximates that latent, worst on timbres it never saw. 0: the posterior mean.
    refine_steps: int = 0
    refine_lr: float = 0.05

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.families = tuple(self.families)
        if isinstance(self.features, dict):
            self.features = FeatureConfig.from_dict(self.features)
        down = 2 ** len(self.channels)
        if self.frames % down or self.features.n_mels % down:
            raise ConfigError(f"melvae: frames ({self.frames}) and n_mels ({self.features.n_mels}) "
                              f"must be divisible by 2**len(channels) = {down}")
        if self.condition not in CONDITIONS:
            raise ConfigError(f"melvae: condition must be one of {CONDITIONS} (got {self.condition!r})")
        if self.condition == "pitch_family" and not self.families:
            raise ConfigError("melvae: condition 'pitch_family' needs the list of families")
        if self.pitch_max < self.pitch_min:
            raise ConfigError(f"melvae: pitch range {self.pitch_min}-{self.pitch_max} is empty")
        if self.prior_mixture < 0 or (self.prior_mixture and not (self.learned_prior
                                                                    and self.condition == "pitch_family")):
            raise ConfigError("melvae: prior_mixture needs learned_prior and condition 'pitch_family' "
                              f"(got prior_mixture {self.prior_mixture})")
        if self.prior_mixture_band < 0 or self.refine_steps < 0 or not self.refine_lr > 0:
            raise ConfigError("melvae: prior_mixture_band and refine_steps must be >= 0 and refine_lr > 0 (got "
                              f"{self.prior_mixture_band}, {self.refine_steps}, {self.refine_lr})")
        if not self.temperature > 0:
            raise ConfigError(f"melvae: temperature must be > 0 (got {self.temperature})")

    @property
    def pitch_bands(self) -> int:
        """How many pitch bands the sampling mixture has per family (1 without bands)."""
        if not self.prior_mixture_band:
            return 1
        return math.ceil((self.pitch_max - self.pitch_min + 1) / self.prior_mixture_band)

    @property
    def seconds(self) -> float:
        """Length of one patch in seconds."""
        return (self.frames - 1) * self.features.hop_length / self.features.sr

    @classmethod
    def debug(cls) -> MelVAEConfig:
        return cls(features=FeatureConfig(sr=8000, n_fft=256, hop_length=64, n_mels=16, fmax=4000.0, n_mfcc=13),
                   frames=16, channels=(8, 16), latent=4, families=("a", "b"), cond_dim=4, kl_warmup=10)


