"""SpecGAN: a DCGAN-style WGAN-GP on 128x128 log-mel images.

After Donahue, McAuley & Puckette (2018): treat a fixed-size spectrogram as an
image, normalise each frequency bin with the dataset's moments, clip at 3
standard deviations and scale to [-1, 1], and fit a DCGAN generator with the
Wasserstein loss plus gradient penalty (Gulrajani et al. 2017: 5 critic steps
per generator step, penalty weight 10, Adam(1e-4, betas 0.5/0.9)). Images are
log-mels from :mod:`soundart.features` (the model's config carries the
FeatureConfig); audio comes back through the pipeline's inverse (NNLS un-mel +
Griffin-Lim). Optional conditioning on instrument family: a learned embedding
concatenated to the generator's noise, and a projection term in the critic
(Miyato & Koyama 2018). Two stronger, opt-in forms (config fields default off
so older checkpoints load as they were trained):

- ``cond_norm``: every generator block's BatchNorm gets a per-family gain and
  bias (conditional batch norm, de Vries et al. 2017), so the family steers
  every scale of the image, not only the seed the first layer grows from.
- ``aux_weight`` > 0: an auxiliary-classifier head on the critic's features
  (AC-GAN, Odena et al. 2017). The critic learns it with cross-entropy on real
  notes only; the generator is also trained to be classified as the family it
  was asked for. Training the head on generated images too (as AC-GAN does)
  would let generator and critic agree on a private code the family classifier
  of real notes does not read; on real notes only, it pulls samples towards
  what tells families apart in real data.

How the two optimisers fit the one shared Trainer
-------------------------------------------------
The Trainer calls ``training_step(batch)`` once per step and steps *its*
optimiser on the returned loss. Here that optimiser trains the generator:

1. The batch the Trainer hands over holds ``n_critic * B`` real images. It is
   split into ``n_critic`` fresh real mini-batches of ``B``, and for each one
   ``training_step`` itself does a full critic update (critic loss with
   gradient penalty, backward, step of the model's own ``critic_optimizer``,
   Adam with ``config.critic_lr`` and ``config.critic_betas``, constant rate).
2. It then freezes the critic (``requires_grad=False``), computes the
   generator loss ``-D(G(z))`` on ``B`` fresh samples and returns it. The
   critic's parameters therefore get no gradient, and the Trainer's AdamW
   (which holds all parameters) only moves the generator, with the recipe's
   ``lr``, warm-up/cosine schedule and gradient clipping.

So a recipe's ``batch_size`` is ``n_critic * B`` and ``steps`` counts
generator steps. The critic's optimiser is handed to the Trainer
(``inner_optimizers``), which saves and resumes its Adam moments with its own
optimiser's: a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from soundart.errors import BadInputError, ConfigError
from soundart.features import FeatureConfig, logmel_to_audio

SPECGAN_FEATURES = FeatureConfig(sr=16000, n_fft=1024, hop_length=256, n_mels=128)


@dataclass
class SpecGANConfig:
    """SpecGAN hyper-parameters.

    features : the log-mel front end (128 mels; 128 frames at hop 256 = 2.05 s at 16 kHz).
    frames : image width in frames (a power of two, 128 by default); n_mels is the height.
    latent : noise dimension. channels : width of the first critic layer (doubles per layer).
    families : instrument-family names for conditioning; empty = unconditioned.
    family_dim : size of the family embedding fed to the generator.
    n_critic, gp_weight, critic_lr, critic_betas : WGAN-GP settings (see module docstring).
    clip_sigmas : per-bin normalisation clips at this many standard deviations.
    cond_norm : per-family gain and bias in every generator BatchNorm (needs families).
    aux_weight : weight of the critic's auxiliary family classifier (AC-GAN); 0 = none.
    """

    features: FeatureConfig = field(default_factory=lambda: SPECGAN_FEATURES)
    frames: int = 128
    latent: int = 64
    channels: int = 12
    families: tuple[str, ...] = ()
    family_dim: int = 16
    n_critic: int = 5
    gp_weight: float = 10.0
    critic_lr: float = 1e-4
    critic_betas: tuple[float, float] = (0.5, 0.9)
    clip_sigmas: float = 3.0
    cond_norm: bool = False
    aux_weight: float = 0.0

    def __post_init__(self) -> None:
        self.families = tuple(self.families)
        self.critic_betas = tuple(self.critic_betas)
        for name in ("frames",):
            value = getattr(self, name)
            if value < 16 or value & (value - 1):
                raise ConfigError(f"specgan: {name} must be a power of two >= 16 (got {value})")
        m = self.features.n_mels
        if m < 16 or m & (m - 1):
            raise ConfigError(f"specgan: features.n_mels must be a power of two >= 16 (got {m})")
        if self.n_critic < 1 or self.latent < 1 or self.channels < 1:
            raise ConfigError("specgan: n_critic, latent and channels must be >= 1")
        if len(set(self.families)) != len(self.families):
            raise ConfigError(f"specgan: duplicate family names in {self.families}")
        if self.aux_weight < 0:
            raise ConfigError(f"specgan: aux_weight must be >= 0 (got {self.aux_weight})")
        if (self.cond_norm or self.aux_weight) and not self.families:
            raise ConfigError("specgan: cond_norm and aux_weight need families to condition on")

    @classmethod
    def debug(cls, **kw: Any) -> SpecGANConfig:
        """A tiny model for tests: 32x32 images, few channels."""
        base = dict(features=SPECGAN_FEATURES.replace(n_mels=32), frames=32, latent=8, channels=4,
                    family_dim=4, n_critic=2)
        base.update(kw)
        return cls(**base)


def _n_layers(cfg: SpecGANConfig) -> tuple[int, int, int]:
    """Number of stride-2 layers and the 4x? seed shape (height, width) of the generator."""
    h, w = cfg.features.n_mels, cfg.frames
    n = int(math.log2(min(h, w) // 4))
    return n, h >> n, w >> n


class CondBatchNorm(nn.Module):
    """BatchNorm without its own affine; gain and bias looked up per family (identity at init)."""

    def __init__(self, ch: int, n_families: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(ch, affine=False)
        self.gain = nn.Embedding(n_families, ch)
        self.bias = nn.Embedding(n_families, ch)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, family: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.gain(family)[:, :, None, None] + self.bias(family)[:, :, None, None]


class Generator(nn.Module):
    """z (B, latent) [+ family embedding] -> image (B, 1, n_mels, frames) in [-1, 1]."""

    def __init__(self, cfg: SpecGANConfig) -> None:
        super().__init__()
        n, h0, w0 = _n_layers(cfg)
        self.top = cfg.channels * 2 ** (n - 1)
        self.h0, self.w0 = h0, w0
        cond = cfg.family_dim if cfg.families else 0
        self.embed = nn.Embedding(len(cfg.families), cfg.family_dim) if cfg.families else None
        self.fc = nn.Linear(cfg.latent + cond, self.top * h0 * w0)
        blocks: list[nn.Module] = []
        norms: list[nn.Module] = []
        ch = self.top
        for i in range(n):
            out = 1 if i == n - 1 else ch // 2
            blocks.append(nn.ConvTranspose2d(ch, out, 4, stride=2, padding=1))
            if i < n - 1:
                if cfg.cond_norm:
                    norms.append(CondBatchNorm(out, len(cfg.families)))
                else:
                    blocks += [nn.BatchNorm2d(out), nn.ReLU()]
            ch = out
        # cond_norm keeps the convolutions in ``net`` and the norms beside them (the
        # norms need the family); without it ``net`` is the plain Sequential older
        # checkpoints were saved from.
        self.net = nn.Sequential(*blocks)
        self.norms = nn.ModuleList(norms) if cfg.cond_norm else None

    def forward(self, z: torch.Tensor, family: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if family is None:
                raise ConfigError("this SpecGAN is family-conditioned: give a family")
            z = torch.cat([z, self.embed(family)], dim=1)
        x = torch.relu(self.fc(z)).view(-1, self.top, self.h0, self.w0)  # (B, top, h0, w0)
        if self.norms is None:
            return torch.tanh(self.net(x))  # (B, 1, n_mels, frames)
        for i, conv in enumerate(self.net):
            x = conv(x)
            if i < len(self.norms):
                x = torch.relu(self.norms[i](x, family))
        return torch.tanh(x)  # (B, 1, n_mels, frames)


class Critic(nn.Module):
    """image (B, 1, n_mels, frames) [+ family] -> score (B,). No normalisation layers (gradient penalty)."""

    def __init__(self, cfg: SpecGANConfig) -> None:
        super().__init__()
        n, h0, w0 = _n_layers(cfg)
        layers: list[nn.Module] = []
        ch_in, ch = 1, cfg.channels
        for _ in range(n):
            layers += [nn.Conv2d(ch_in, ch, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            ch_in, ch = ch, ch * 2
        self.net = nn.Sequential(*layers)
        feat = ch_in * h0 * w0
        self.out = nn.Linear(feat, 1)
        self.project = nn.Embedding(len(cfg.families), feat) if cfg.families else None
        self.classify = nn.Linear(feat, len(cfg.families)) if cfg.aux_weight > 0 else None

    def score_and_logits(self, x: torch.Tensor, family: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Wasserstein score (B,) and, with an auxiliary head, family logits (B, n_families)."""
        h = self.net(x).flatten(1)  # (B, feat)
        score = self.out(h).squeeze(1)
        if self.project is not None and family is not None:
            score = score + (self.project(family) * h).sum(dim=1)
        return score, (self.classify(h) if self.classify is not None else None)

    def forward(self, x: torch.Tensor, family: torch.Tensor | None = None) -> torch.Tensor:
        return self.score_and_logits(x, family)[0]


class SpecGAN(nn.Module):
    """Generator + critic + per-bin log-mel moments (buffers, saved in the checkpoint)."""

    kind = "specgan"
    config_class = SpecGANConfig

    def __init__(self, config: SpecGANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.critic = Critic(config)
        m = config.features.n_mels
        self.register_buffer("bin_mean", torch.zeros(m))
        self.register_buffer("bin_std", torch.ones(m))
        self.critic_optimizer: torch.optim.Optimizer | None = None

    # -- normalisation ------------------------------------------------------------
    @torch.no_grad()
    def set_moments(self, logmels: torch.Tensor) -> None:
        """Per-bin mean and std over a dataset of log-mels ``(N, n_mels, frames)`` (dB)."""
        if logmels.ndim != 3 or logmels.shape[1] != self.config.features.n_mels:
            raise BadInputError(f"set_moments wants (N, {self.config.features.n_mels}, frames), "
                                f"got {tuple(logmels.shape)}")
        self.bin_mean.copy_(logmels.mean(dim=(0, 2)))
        self.bin_std.copy_(logmels.std(dim=(0, 2)).clamp(min=1e-3))

    def normalize(self, logmel: torch.Tensor) -> torch.Tensor:
        """dB log-mel (B, n_mels, frames) -> image (B, 1, n_mels, frames) in [-1, 1]."""
        c = self.config.clip_sigmas
        z = (logmel - self.bin_mean[:, None]) / self.bin_std[:, None]
        return (z.clamp(-c, c) / c).unsqueeze(1)

    def denormalize(self, image: torch.Tensor) -> torch.Tensor:
        """Image (B, 1, n_mels, frames) -> dB log-mel (B, n_mels, frames)."""
        return image.squeeze(1) * self.config.clip_sigmas * self.bin_std[:, None] + self.bin_mean[:, None]

    # -- conditioning ---------------------------------------------------------------
    def family_index(self, family: str | None, n: int) -> torch.Tensor | None:
        """Family name -> (n,) index tensor; None for unconditioned models; BadInputError if unknown."""
        fams = self.config.families
        if not fams:
            if family is not None:
                raise BadInputError(f"family {family!r}: this SpecGAN is not family-conditioned")
            return None
        if family is None:
            return torch.randint(len(fams), (n,), device=self.bin_mean.device)
        if family not in fams:
            raise BadInputError(f"unknown family {family!r} (known: {', '.join(fams)})")
        return torch.full((n,), fams.index(family), dtype=torch.long, device=self.bin_mean.device)

    # -- generation -------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, family: str | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` dB log-mels ``(n, n_mels, frames)``; ``family`` picks the class (random when None)."""
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        dev = self.bin_mean.device
        z = torch.randn(n, self.config.latent, generator=generator,
                        device=generator.device if generator is not None else dev).to(dev)
        fam = self.family_index(family, n)
        was = self.generator.training
        self.generator.eval()
        out = self.denormalize(self.generator(z, fam))
        self.generator.train(was)
        return out

    def to_audio(self, logmels: torch.Tensor, n_iter: int = 64,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """dB log-mels ``(B, n_mels, frames)`` -> audio ``(B, samples)`` at ``features.sr``.

        Uses the pipeline's inverse (NNLS un-mel + fast Griffin-Lim).
        """
        cfg = self.config.features
        audio = logmel_to_audio(logmels.float().cpu(), cfg, n_iter=n_iter, generator=generator)
        return audio / audio.abs().amax(dim=-1, keepdim=True).clamp(min=1e-8) * 0.9

    # -- training ---------------------------------------------------------------------
    def _unpack(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(batch, dict):
            x, fam = batch["logmel"], batch.get("family")
        elif isinstance(batch, (tuple, list)):
            x, fam = batch[0], (batch[1] if len(batch) > 1 else None)
        else:
            x, fam = batch, None
        if not self.config.families:
            fam = None
        return self.normalize(x.float()), fam

    def critic_loss(self, real: torch.Tensor, family: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """WGAN-GP critic loss on one real mini-batch; returns (loss, Wasserstein estimate)."""
        B = real.shape[0]
        z = torch.randn(B, self.config.latent, device=real.device)
        with torch.no_grad():
            fake = self.generator(z, family)
        (d_real, logits), d_fake = self.critic.score_and_logits(real, family), self.critic(fake, family)
        eps = torch.rand(B, 1, 1, 1, device=real.device)
        mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
        grads = torch.autograd.grad(self.critic(mix, family).sum(), mix, create_graph=True)[0]
        penalty = (grads.flatten(1).norm(dim=1) - 1).square().mean()
        wasserstein = d_real.mean() - d_fake.mean()
        loss = -wasserstein + self.config.gp_weight * penalty
        if logits is not None and family is not None:
            # the auxiliary head learns families from real notes only (see module docstring)
            loss = loss + self.config.aux_weight * nn.functional.cross_entropy(logits, family)
        return loss, wasserstein.detach()

    def _critic_opt(self) -> torch.optim.Optimizer:
        if self.critic_optimizer is None:
            self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=self.config.critic_lr,
                                                     betas=self.config.critic_betas)
        return self.critic_optimizer

    def inner_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimiser ``training_step`` steps itself, for the Trainer to hold, save and resume."""
        return {"critic": self._critic_opt()}

    def training_step(self, batch: Any) -> torch.Tensor:
        """``n_critic`` critic updates (own optimiser), then the generator loss for the Trainer."""
        real, fam = self._unpack(batch)
        k = self.config.n_critic
        if real.shape[0] < k:
            raise ConfigError(f"specgan: batch_size {real.shape[0]} is smaller than n_critic={k}")
        opt = self._critic_opt()
        self.critic.requires_grad_(True)
        for idx in torch.arange(real.shape[0], device=real.device).chunk(k):
            loss_d, self.last_wasserstein = self.critic_loss(real[idx], None if fam is None else fam[idx])
            opt.zero_grad(set_to_none=True)
            loss_d.backward()
            opt.step()
        opt.zero_grad(set_to_none=True)  # so the Trainer's optimiser never moves the critic
        self.critic.requires_grad_(False)
        B = max(1, real.shape[0] // k)
        z = torch.randn(B, self.config.latent, device=real.device)
        gfam = None if fam is None else fam[torch.randint(fam.shape[0], (B,), device=fam.device)]
        score, logits = self.critic.score_and_logits(self.generator(z, gfam), gfam)
        loss_g = -score.mean()
        if logits is not None and gfam is not None:
            # AC-GAN: be recognised by the critic's real-note classifier as the family asked for
            loss_g = loss_g + self.config.aux_weight * nn.functional.cross_entropy(logits, gfam)
        self.critic.requires_grad_(True)
        return loss_g

    @torch.no_grad()
    def validation_step(self, batch: Any) -> dict[str, float]:
        """Critic's Wasserstein estimate on held-out real images vs. samples (lower = closer)."""
        real, fam = self._unpack(batch)
        z = torch.randn(real.shape[0], self.config.latent, device=real.device)
        fake = self.generator(z, fam)
        (d_real, logits_real), (d_fake, logits_fake) = (self.critic.score_and_logits(real, fam),
                                                        self.critic.score_and_logits(fake, fam))
        out = {"loss": float(d_real.mean() - d_fake.mean())}
        if logits_real is not None and fam is not None:
            # how well the auxiliary head reads families: on held-out real notes, and on samples asked for them
            out["aux_real_acc"] = float((logits_real.argmax(1) == fam).float().mean())
            out["aux_fake_acc"] = float((logits_fake.argmax(1) == fam).float().mean())
        return out
