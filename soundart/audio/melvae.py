"""A convolutional VAE over log-mel patches, optionally conditioned on pitch and family.

The model sees a fixed-size log-mel patch ``(n_mels, frames)`` from the shared
spectral pipeline (its ``FeatureConfig`` lives in the model config), scaled to
about [-1, 1] by ``(dB - db_offset) / db_scale``. The encoder is a stack of
stride-2 convolutions; the decoder mirrors it with transposed convolutions.
Both have a linear path around the convolutions (input -> latent statistics,
latent -> output), so the model contains a linear, PCA-like autoencoder and
the convolutions add what a linear map cannot.

Conditioning (``condition="pitch_family"``): a pitch embedding and a family
embedding join the encoder's features before the latent heads and ``z`` in the
decoder. Each label has an extra "unknown" index, and training drops labels
with probability ``label_dropout`` so the same model reconstructs and morphs a
user's audio whose pitch and family nobody gave.

Loss: L1 reconstruction (summed over the patch) + beta * KL, with beta warmed
up linearly over ``kl_warmup`` steps and free bits (each latent dimension's
batch-mean KL counts only above ``free_bits`` nats). The L1 sum is the negative
log-likelihood of a Laplace distribution whose scale is one model unit
(``db_scale`` dB); ``beta`` < 1 says the reconstruction is trusted to a finer
scale (beta 0.1 with db_scale 40 = a 4 dB Laplace scale), so the latent may
carry more detail.

With ``learned_prior`` the prior over ``z`` is a diagonal Gaussian predicted
from the labels, ``p(z | pitch, family)`` (the prior network of a conditional
VAE), and the KL is taken against it. Samples asked for a family then come from
where that family's notes actually sit in latent space, even when ``z`` also
carries family information; without it the prior is N(0, I).

``prior_mixture`` > 0 adds a sampling prior fitted after training: per family, a
diagonal Gaussian mixture over the training notes' posterior means minus the
learned prior's mean at their pitch (a density fitted to the aggregate
posterior, as in "ex-post density estimation"). A family's notes come from a few
programs, so they sit in separate clusters; one Gaussian per label covers the
space between them too, and decodes there to notes a family classifier does not
recognise (bench: 39% of Gaussian-prior samples labelled as asked against 69%
when the offsets of real training notes are reused). The learned prior's mean
still carries the requested pitch; the mixture adds the timbre offset. That offset
still changes with pitch, so ``prior_mixture_band`` > 0 fits one mixture per family
and pitch band (of that many semitones) and draws from the requested pitch's band.

``refine_steps`` > 0: reconstructions (``forward``) start at the encoder's posterior
mean and take that many Adam steps on the latent down the L1 of its decoding
(semi-amortized inference): the encoder only approximates the best latent, and
worst on timbres it never saw.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from soundart.audio.melvae_config import CONDITIONS, MelVAEConfig, default_features  # noqa: F401 (re-exported)
from soundart.errors import BadInputError, ConfigError
from soundart.features import logmel


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.GroupNorm(min(8, c_out), c_out),
                         nn.SiLU())


def _up_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
                         nn.GroupNorm(min(8, c_out), c_out), nn.SiLU())


class MelVAE(nn.Module):
    """Convolutional VAE on log-mel patches ``(B, n_mels, frames)``; see the module docstring."""

    kind = "melvae"
    config_class = MelVAEConfig

    def __init__(self, config: MelVAEConfig) -> None:
        super().__init__()
        self.config = cfg = config
        n_mels, ch = cfg.features.n_mels, cfg.channels
        down = 2 ** len(ch)
        self.bottom = (ch[-1], n_mels // down, cfg.frames // down)
        flat = ch[-1] * (n_mels // down) * (cfg.frames // down)
        self.encoder = nn.Sequential(*[_block(a, b) for a, b in zip((1,) + ch[:-1], ch)])
        cond = 0
        if cfg.condition in ("pitch", "pitch_family"):
            self.pitch_embed = nn.Embedding(cfg.pitch_max - cfg.pitch_min + 2, cfg.cond_dim)  # last: unknown
            cond += cfg.cond_dim
        if cfg.condition == "pitch_family":
            self.family_embed = nn.Embedding(len(cfg.families) + 1, cfg.cond_dim)  # last: unknown
            cond += cfg.cond_dim
        self.cond_size = cond
        self.to_stats = nn.Linear(flat + cond, 2 * cfg.latent)
        self.from_latent = nn.Linear(cfg.latent + cond, flat)
        # linear paths around the convolutions: the model contains a linear (PCA-like)
        # autoencoder and the convolutions learn what a linear map cannot
        self.linear_in = nn.Linear(n_mels * cfg.frames, 2 * cfg.latent)
        if cfg.learned_prior and cond:
            self.prior_net = nn.Linear(cond, 2 * cfg.latent)  # labels -> prior (mu, logvar), starts at N(0, I)
            nn.init.zeros_(self.prior_net.weight)
            nn.init.zeros_(self.prior_net.bias)
        self.linear_out = nn.Linear(cfg.latent + cond, n_mels * cfg.frames)
        nn.init.zeros_(self.linear_in.weight)
        nn.init.normal_(self.linear_out.weight, std=1e-3)
        rev = ch[::-1]
        self.decoder = nn.Sequential(*[_up_block(a, b) for a, b in zip(rev, rev[1:] + (rev[-1],))])
        self.head = nn.Conv2d(rev[-1], 1, 3, padding=1)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        if cfg.prior_mixture:  # fitted by fit_prior_mixture; until then draws use the Gaussian prior
            # one mixture per (family, pitch band), row family * pitch_bands + band
            shape = (len(cfg.families) * cfg.pitch_bands, cfg.prior_mixture)
            self.register_buffer("mix_logw", torch.zeros(shape))
            self.register_buffer("mix_mu", torch.zeros(*shape, cfg.latent))
            self.register_buffer("mix_logvar", torch.zeros(*shape, cfg.latent))
            self.register_buffer("mix_fitted", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ labels and scaling
    @property
    def unknown_pitch(self) -> int:
        return self.config.pitch_max - self.config.pitch_min + 1

    @property
    def unknown_family(self) -> int:
        return len(self.config.families)

    def pitch_index(self, pitch: int | None) -> int:
        """Embedding index of a MIDI pitch (None -> unknown); ConfigError outside the trained range."""
        cfg = self.config
        if pitch is None:
            return self.unknown_pitch
        if not cfg.pitch_min <= pitch <= cfg.pitch_max:
            raise ConfigError(f"pitch {pitch} is outside the model's trained range {cfg.pitch_min}-{cfg.pitch_max}")
        return int(pitch) - cfg.pitch_min

    def family_index(self, family: str | None) -> int:
        """Embedding index of a family name (None -> unknown); ConfigError naming the known ones."""
        if family is None:
            return self.unknown_family
        if family not in self.config.families:
            known = ", ".join(self.config.families) or "none: this model is not family-conditioned"
            raise ConfigError(f"unknown family {family!r} (known: {known})")
        return self.config.families.index(family)

    def normalize(self, db: torch.Tensor) -> torch.Tensor:
        return (db - self.config.db_offset) / self.config.db_scale

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Model space -> log-mel in the feature config's dB."""
        return x * self.config.db_scale + self.config.db_offset

    def patches(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio ``(samples,)`` at ``features.sr`` -> normalised patches ``(P, n_mels, frames)``.

        The log-mel is cut into consecutive patches; the last is padded with the
        silence level. Raises BadInputError when the audio is silent.
        """
        if audio.abs().max() < 1e-5:
            raise BadInputError("input audio is silent: nothing to encode")
        L = self.normalize(logmel(audio, self.config.features))  # (n_mels, T)
        T, F_ = L.shape[-1], self.config.frames
        n = max(1, math.ceil(T / F_))
        floor = L.min()
        L = F.pad(L, (0, n * F_ - T), value=float(floor))
        return L.reshape(L.shape[0], n, F_).permute(1, 0, 2).contiguous()

    # ------------------------------------------------------------------ model
    def _cond(self, pitch: torch.Tensor | None, family: torch.Tensor | None, batch: int,
              device: torch.device) -> torch.Tensor | None:
        if self.cond_size == 0:
            return None
        if pitch is None:
            pitch = torch.full((batch,), self.unknown_pitch, dtype=torch.long, device=device)
        parts = [self.pitch_embed(pitch)]
        if self.config.condition == "pitch_family":
            if family is None:
                family = torch.full((batch,), self.unknown_family, dtype=torch.long, device=device)
            parts.append(self.family_embed(family))
        return torch.cat(parts, dim=-1)

    def encode(self, x: torch.Tensor, pitch: torch.Tensor | None = None,
               family: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Patches ``(B, n_mels, frames)`` (normalised) -> ``(mu, logvar)`` each ``(B, latent)``.

        ``pitch`` and ``family`` are embedding indices ``(B,)`` (see ``pitch_index``), None = unknown.
        """
        h = self.encoder(x[:, None]).flatten(1)  # (B, flat)
        c = self._cond(pitch, family, x.shape[0], x.device)
        if c is not None:
            h = torch.cat([h, c], dim=-1)
        mu, logvar = (self.to_stats(h) + self.linear_in(x.flatten(1))).chunk(2, dim=-1)
        return mu, logvar.clamp(-12, 8)

    def prior(self, pitch: torch.Tensor | None, family: torch.Tensor | None, batch: int,
              device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Prior ``(mu, logvar)`` each ``(batch, latent)``: learned from the labels, or N(0, I)."""
        if hasattr(self, "prior_net"):
            mu, logvar = self.prior_net(self._cond(pitch, family, batch, device)).chunk(2, dim=-1)
            return mu, logvar.clamp(-8, 4)
        zeros = torch.zeros(batch, self.config.latent, device=device)
        return zeros, zeros

    def decode(self, z: torch.Tensor, pitch: torch.Tensor | None = None,
               family: torch.Tensor | None = None) -> torch.Tensor:
        """Latents ``(B, latent)`` -> normalised patches ``(B, n_mels, frames)``."""
        c = self._cond(pitch, family, z.shape[0], z.device)
        if c is not None:
            z = torch.cat([z, c], dim=-1)
        h = self.from_latent(z).view(z.shape[0], *self.bottom)
        linear = self.linear_out(z).view(z.shape[0], self.config.features.n_mels, self.config.frames)
        return self.head(self.decoder(h))[:, 0] + linear

    def forward(self, x: torch.Tensor, pitch: torch.Tensor | None = None, family: torch.Tensor | None = None,
                refine_steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruct: returns ``(x_hat, z, logvar)``, ``z`` the posterior mean refined by
        ``refine_steps`` (None: the config's; see ``refine``), ``x_hat`` its decoding."""
        mu, logvar = self.encode(x, pitch, family)
        z = self.refine(x, mu, pitch, family, steps=refine_steps)
        return self.decode(z, pitch, family), z, logvar

    def refine(self, x: torch.Tensor, z: torch.Tensor, pitch: torch.Tensor | None = None,
               family: torch.Tensor | None = None, steps: int | None = None) -> torch.Tensor:
        """Move latents ``z`` ``(B, latent)`` by ``steps`` Adam steps (None: ``refine_steps``; lr
        ``refine_lr``) down the L1 between their decoding and ``x``; the weights stay as they are.

        Each row is refined on its own (Adam's steps are per coordinate), so a patch's result does not
        depend on the rest of the batch. Works under ``torch.no_grad`` too; returns a detached tensor.
        """
        steps = self.config.refine_steps if steps is None else steps
        if steps <= 0:
            return z.detach()
        z = z.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=self.config.refine_lr)
        with torch.enable_grad():
            for _ in range(steps):
                loss = (self.decode(z, pitch, family) - x).abs().sum()
                (z.grad,) = torch.autograd.grad(loss, z)  # the weights' .grad stay untouched
                opt.step()
        return z.detach()

    def loss(self, x: torch.Tensor, pitch: torch.Tensor | None, family: torch.Tensor | None,
             sample: bool = True) -> dict[str, torch.Tensor]:
        mu, logvar = self.encode(x, pitch, family)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        x_hat = self.decode(z, pitch, family)
        rec = (x_hat - x).abs().sum(dim=(1, 2)).mean()
        mu_p, logvar_p = self.prior(pitch, family, x.shape[0], x.device)
        kl_dim = 0.5 * (((mu - mu_p).square() + logvar.exp()) / logvar_p.exp() - 1 + logvar_p - logvar).mean(0)
        # kl_dim: (latent,) nats, KL(q(z | x) || p(z | labels)) per dimension
        kl = kl_dim.sum()
        kl_free = torch.clamp(kl_dim, min=self.config.free_bits).sum()
        return {"rec": rec, "kl": kl, "kl_free": kl_free,
                "l1": (x_hat - x).abs().mean() * self.config.db_scale}  # mean L1 in dB

    def _labels(self, batch: dict[str, torch.Tensor], drop: bool) -> tuple[Any, Any]:
        pitch = family = None
        if self.config.condition != "none":
            pitch = batch["pitch"].clone()
            if drop and self.config.label_dropout > 0:
                pitch[torch.rand(pitch.shape, device=pitch.device) < self.config.label_dropout] = self.unknown_pitch
        if self.config.condition == "pitch_family":
            family = batch["family"].clone()
            if drop and self.config.label_dropout > 0:
                mask = torch.rand(family.shape, device=family.device) < self.config.label_dropout
                family[mask] = self.unknown_family
        return pitch, family

    def training_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``batch``: {"mel": (B, n_mels, frames) normalised, "pitch": (B,) index, "family": (B,) index}."""
        pitch, family = self._labels(batch, drop=True)
        parts = self.loss(batch["mel"], pitch, family)
        warm = min(1.0, float(self.step.item() + 1) / max(1, self.config.kl_warmup))
        self.step += 1
        return parts["rec"] + self.config.beta * warm * parts["kl_free"]

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        pitch, family = self._labels(batch, drop=False)
        parts = self.loss(batch["mel"], pitch, family, sample=False)
        return {"loss": float(parts["rec"] + self.config.beta * parts["kl"]), "l1_db": float(parts["l1"]),
                "kl": float(parts["kl"])}

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def sample(self, n: int, pitch: int | None = None, family: str | None = None,
               generator: torch.Generator | None = None, temperature: float | None = None) -> torch.Tensor:
        """Draw ``n`` patches from the prior -> log-mel in dB ``(n, n_mels, frames)``.

        ``temperature`` scales the prior's standard deviation (None: the config's ``temperature``).
        """
        device = next(self.parameters()).device
        p, f = self._label_tensors(n, pitch, family, device)
        return self.denormalize(self.draw(n, p, f, generator, temperature))

    @torch.no_grad()
    def draw(self, n: int, pitch: torch.Tensor | None = None, family: torch.Tensor | None = None,
             generator: torch.Generator | None = None, temperature: float | None = None) -> torch.Tensor:
        """Decode ``n`` latents drawn from the prior -> normalised patches ``(n, n_mels, frames)``.

        ``pitch`` / ``family``: label indices ``(n,)`` (see ``pitch_index``), None = unknown.
        ``temperature``: scale of the prior noise (None: the config's; 0 decodes the prior mean).
        """
        if temperature is None:
            temperature = self.config.temperature
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0 (got {temperature})")
        device = next(self.parameters()).device
        mu, logvar = self.prior(pitch, family, n, device)
        eps = torch.randn(n, self.config.latent, generator=generator).to(device)
        if family is not None and self.config.prior_mixture and int(self.mix_fitted):
            known = family != self.unknown_family  # an unknown family keeps the Gaussian prior
            rows = self._mixture_rows(family.clamp(max=self.unknown_family - 1), pitch, generator)
            k = torch.multinomial(self.mix_logw[rows].softmax(-1).cpu(), 1, generator=generator)[:, 0].to(device)
            mix_mu, mix_logvar = self.mix_mu[rows, k], self.mix_logvar[rows, k]
            mu = torch.where(known[:, None], mu + mix_mu, mu)
            logvar = torch.where(known[:, None], mix_logvar, logvar)
        return self.decode(mu + eps * (0.5 * logvar).exp() * temperature, pitch, family)

    def _pitch_band(self, pitch: torch.Tensor) -> torch.Tensor:
        """Pitch band of known pitch indices ``(N,)`` (0 without bands)."""
        if not self.config.prior_mixture_band:
            return torch.zeros_like(pitch)
        return pitch // self.config.prior_mixture_band

    def _mixture_rows(self, family: torch.Tensor, pitch: torch.Tensor | None,
                      generator: torch.Generator | None) -> torch.Tensor:
        """Mixture row (family * pitch_bands + band) per draw; an unknown pitch gets a band drawn
        uniformly (the family's notes cover all the bands)."""
        bands = self.config.pitch_bands
        if bands == 1:
            return family
        n = len(family)
        drawn = torch.randint(0, bands, (n,), generator=generator).to(family.device)
        if pitch is None:
            band = drawn
        else:
            known = self._pitch_band(pitch.clamp(max=self.unknown_pitch - 1))
            band = torch.where(pitch == self.unknown_pitch, drawn, known)
        return family * bands + band

    def fit_prior_mixture(self, mu: torch.Tensor, pitch: torch.Tensor, family: torch.Tensor,
                          iters: int = 40, seed: int = 0) -> None:
        """Fit the per-family (and per pitch band) sampling mixtures by EM from training notes' posterior means
        ``mu`` ``(N, latent)`` and label indices ``(N,)``: :func:`.melvae_mixture.fit_prior_mixture`."""
        from soundart.audio.melvae_mixture import fit_prior_mixture

        fit_prior_mixture(self, mu, pitch, family, iters=iters, seed=seed)

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
        """Decode ``steps`` points on the straight line from latent ``a`` to ``b`` ``(latent,)``
        -> log-mel in dB ``(steps, n_mels, frames)`` (labels unknown)."""
        if steps < 2:
            raise ConfigError(f"interpolation needs at least 2 steps, got {steps}")
        w = torch.linspace(0, 1, steps, device=a.device)[:, None]
        return self.denormalize(self.decode((1 - w) * a[None] + w * b[None]))

    def _label_tensors(self, n: int, pitch: int | None, family: str | None,
                       device: torch.device) -> tuple[Any, Any]:
        if self.config.condition == "none":
            if pitch is not None or family is not None:
                raise ConfigError("this model is unconditioned: --pitch and --family cannot be used")
            return None, None
        if family is not None and self.config.condition != "pitch_family":
            raise ConfigError("this model is not family-conditioned: --family cannot be used")
        p = torch.full((n,), self.pitch_index(pitch), dtype=torch.long, device=device)
        f = None
        if self.config.condition == "pitch_family":
            f = torch.full((n,), self.family_index(family), dtype=torch.long, device=device)
        return p, f
