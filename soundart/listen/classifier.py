"""A short-chunk CNN over log-mel chunks with genre, mood and tag heads.

Input: chunks of the shared pipeline's log-mel, ``(B, n_mels, chunk_frames)``
in dB (``config.features`` is the exact front end). Five 3x3 conv blocks
(BatchNorm, ReLU, 2x2 max-pool) then global max+mean pooling give a
``config.embed_dim`` embedding per chunk, read by four linear heads:

* ``genre``: softmax over ``config.genres`` (trained on the genre-labelled items);
* ``quadrant``: softmax over Russell's four quadrants Q1..Q4 (happy/energetic,
  angry/tense, sad/depressed, calm/tender); valence and arousal are *derived*
  from it: P(valence > 0) = P(Q1) + P(Q4), P(arousal > 0) = P(Q1) + P(Q2);
* ``tags``: independent sigmoids over ``config.tags`` (AllMusic genre tags);
* ``gems``: independent sigmoids over the nine GEMS emotions (the fraction of
  listeners expected to choose each).

A recording is cut into non-overlapping chunks whose predictions are averaged
(:meth:`ListenClassifier.predict_recording`).

Stable API used by other parts of soundart (Frechet distances)::

    model.embed(x) -> (B, embed_dim)

``x`` is audio ``(B, samples)`` at ``config.features.sr`` Hz, or a log-mel
``(B, n_mels, frames)`` from ``soundart.features.logmel(audio, model.config.features)``.
Recordings longer than one chunk are cut into whole chunks (the tail is
dropped; shorter input is zero-padded in the log domain at -80 dB below peak)
and the chunk embeddings are averaged. Embeddings are taken after the
pooling, before the heads (ReLU outputs, so >= 0).

``model.feature_maps(logmel) -> (B, channels[0], n_mels, frames)``: the first
conv block's maps, for spectrogram style transfer (``soundart style --network classifier``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from soundart.features import FeatureConfig
from soundart.listen.data import GEMS, QUADRANT_NAMES, QUADRANTS


def default_features() -> FeatureConfig:
    return FeatureConfig(sr=16000, n_fft=1024, hop_length=512, n_mels=64, fmax=8000.0)


@dataclass
class ListenConfig:
    """Shape of the classifier and what its heads predict."""

    features: FeatureConfig = field(default_factory=default_features)
    chunk_frames: int = 96                      # 96 x 512 / 16 kHz = 3.07 s
    channels: tuple[int, ...] = (16, 32, 64, 128, 128)
    embed_dim: int = 128
    dropout: float = 0.3
    genres: tuple[str, ...] = ("classical", "electronic", "pop", "rock")
    tags: tuple[str, ...] = ()
    quadrants: tuple[str, ...] = QUADRANTS
    gems: tuple[str, ...] = GEMS
    # augmentation (training only)
    freq_mask: int = 8
    time_mask: int = 16
    gain_db: float = 6.0
    mix_prob: float = 0.3

    @classmethod
    def debug(cls) -> ListenConfig:
        return cls(channels=(8, 16, 16), embed_dim=16, chunk_frames=32)


class ListenClassifier(nn.Module):
    """Genre + mood CNN; see the module docstring."""

    kind = "listen-cnn"
    config_class = ListenConfig

    def __init__(self, config: ListenConfig) -> None:
        super().__init__()
        self.config = config
        self.input_norm = nn.BatchNorm2d(1)
        blocks = []
        c_in = 1
        for c_out in config.channels:
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2, ceil_mode=True)]
            c_in = c_out
        self.convs = nn.Sequential(*blocks)
        self.project = nn.Sequential(nn.Linear(2 * c_in, config.embed_dim), nn.ReLU())
        self.dropout = nn.Dropout(config.dropout)
        self.genre_head = nn.Linear(config.embed_dim, max(1, len(config.genres)))
        self.quadrant_head = nn.Linear(config.embed_dim, len(config.quadrants))
        self.tag_head = nn.Linear(config.embed_dim, max(1, len(config.tags)))
        self.gems_head = nn.Linear(config.embed_dim, len(config.gems))

    # -- core ----------------------------------------------------------------------
    def chunk_embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of log-mel chunks ``(B, n_mels, T)`` -> ``(B, embed_dim)``."""
        h = self.convs(self.input_norm(x[:, None]))           # (B, C, F', T')
        h = torch.cat([h.amax(dim=(2, 3)), h.mean(dim=(2, 3))], dim=1)  # (B, 2C)
        return self.project(h)                                 # (B, D)

    def feature_maps(self, logmel: torch.Tensor) -> torch.Tensor:
        """First conv block's maps of a log-mel ``(B, n_mels, T)`` -> ``(B, channels[0], n_mels, T)``.

        Taken before that block's pooling so the time axis keeps one step per
        frame (``soundart style --network classifier`` compares them frame by frame).
        """
        conv, norm, relu = self.convs[0], self.convs[1], self.convs[2]
        return relu(norm(conv(self.input_norm(logmel[:, None]))))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of every head for log-mel chunks ``(B, n_mels, T)``."""
        e = self.dropout(self.chunk_embed(x))
        return {"genre": self.genre_head(e), "quadrant": self.quadrant_head(e),
                "tags": self.tag_head(e), "gems": self.gems_head(e)}

    def logmel(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, frames)`` of audio ``(B, samples)`` with this model's front end."""
        from soundart import features

        return features.logmel(audio, self.config.features)

    def chunks(self, logmel: torch.Tensor) -> torch.Tensor:
        """Cut one recording's log-mel ``(n_mels, frames)`` into ``(n_chunks, n_mels, chunk_frames)``."""
        n = self.config.chunk_frames
        frames = logmel.shape[-1]
        if frames < n:
            floor = logmel.amax() - 80.0 if logmel.numel() else torch.tensor(-100.0)
            logmel = F.pad(logmel, (0, n - frames), value=float(floor))
            frames = n
        count = frames // n
        return logmel[:, :count * n].reshape(logmel.shape[0], count, n).transpose(0, 1).contiguous()

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Recording embeddings ``(B, embed_dim)`` of audio ``(B, samples)`` or log-mel ``(B, n_mels, T)``.

        Stable API (other modules compute Frechet distances on it): each
        recording is cut into whole chunks of ``config.chunk_frames`` frames,
        embedded, and the chunk embeddings are averaged.
        """
        if x.dim() == 1:
            x = x[None]
        if x.dim() == 2:
            x = self.logmel(x)
        if x.dim() != 3 or x.shape[1] != self.config.features.n_mels:
            raise ValueError(f"embed wants audio (B, samples) or log-mel (B, {self.config.features.n_mels}, T);"
                             f" got shape {tuple(x.shape)}")
        out = []
        for item in x:
            out.append(self.chunk_embed(self.chunks(item)).mean(0))
        return torch.stack(out)

    @torch.no_grad()
    def predict_chunks(self, chunks: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-chunk probabilities of ``(N, n_mels, chunk_frames)``: genre, quadrant, tags, gems."""
        logits = self.forward(chunks)
        return {"genre": logits["genre"].softmax(-1), "quadrant": logits["quadrant"].softmax(-1),
                "tags": logits["tags"].sigmoid(), "gems": logits["gems"].sigmoid()}

    @torch.no_grad()
    def predict_recording(self, logmel: torch.Tensor) -> dict[str, torch.Tensor]:
        """Chunk-averaged probabilities of one recording's log-mel ``(n_mels, frames)``."""
        probs = self.predict_chunks(self.chunks(logmel))
        return {k: v.mean(0) for k, v in probs.items()}

    @staticmethod
    def valence_arousal(quadrant_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """P(valence > 0) and P(arousal > 0) from quadrant probabilities ``(..., 4)``."""
        q = quadrant_probs
        return q[..., 0] + q[..., 3], q[..., 0] + q[..., 1]

    quadrant_names = QUADRANT_NAMES

    # -- training ------------------------------------------------------------------
    def augment(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Random gain, mixing of two chunks (power domain, labels mixed), SpecAugment masks."""
        cfg = self.config
        x = batch["x"]
        B, n_mels, T = x.shape
        x = x + (torch.rand(B, 1, 1, device=x.device) * 2 - 1) * cfg.gain_db
        batch = dict(batch)
        if cfg.mix_prob > 0 and B > 1:
            mix = torch.rand(B, device=x.device) < cfg.mix_prob
            perm = torch.randperm(B, device=x.device)
            lam = 0.5 + 0.5 * torch.rand(B, device=x.device)   # the original stays dominant
            lam = torch.where(mix, lam, torch.ones_like(lam))
            other = x[perm] + 10 * torch.log10(((1 - lam) / lam).clamp(min=1e-6))[:, None, None]
            mixed = 10 * torch.log10(10 ** (x / 10) + 10 ** (other / 10))
            x = torch.where(mix[:, None, None], mixed, x)
            batch["mix_lam"], batch["mix_perm"] = lam, perm
        fill = x.mean(dim=(1, 2), keepdim=True)
        f_width = torch.randint(0, cfg.freq_mask + 1, (B, 1, 1), device=x.device)
        f_start = (torch.rand(B, 1, 1, device=x.device) * (n_mels - f_width + 1)).long()
        t_width = torch.randint(0, cfg.time_mask + 1, (B, 1, 1), device=x.device)
        t_start = (torch.rand(B, 1, 1, device=x.device) * (T - t_width + 1)).long()
        f_idx = torch.arange(n_mels, device=x.device)[None, :, None]
        t_idx = torch.arange(T, device=x.device)[None, None, :]
        mask = ((f_idx >= f_start) & (f_idx < f_start + f_width)) | ((t_idx >= t_start) & (t_idx < t_start + t_width))
        batch["x"] = torch.where(mask, fill, x)
        return batch

    def losses(self, batch: dict[str, torch.Tensor], logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Masked losses of each head (items without a label do not count), mixing-aware."""
        lam = batch.get("mix_lam")
        perm = batch.get("mix_perm")
        out = {}
        zero = logits["genre"].sum() * 0.0
        for head in ("genre", "quadrant"):
            y = batch[head]
            pairs = [(y, lam if lam is not None else torch.ones_like(y, dtype=torch.float))]
            if lam is not None:
                pairs.append((y[perm], 1 - lam))   # the mixed-in chunk's label, weighted by its share
            losses = []
            for target, weight in pairs:
                keep = target >= 0
                if keep.any():
                    ce = F.cross_entropy(logits[head][keep], target[keep], reduction="none")
                    losses.append((ce * weight[keep]).sum() / keep.sum())
            out[head] = sum(losses) if losses else zero
        for head in ("tags", "gems"):
            y, m = batch[head], batch[f"{head}_mask"]
            if lam is not None:
                y = lam[:, None] * y + (1 - lam[:, None]) * y[perm]
                m = m * m[perm]
            if m.sum() > 0 and logits[head].shape[-1] == y.shape[-1]:
                bce = F.binary_cross_entropy_with_logits(logits[head], y, reduction="none").mean(-1)
                out[head] = (bce * m).sum() / m.sum()
            else:
                out[head] = zero
        return out

    def training_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        batch = self.augment(batch)
        parts = self.losses(batch, self.forward(batch["x"]))
        return sum(parts.values())

    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        parts = self.losses(batch, self.forward(batch["x"]))
        return {"loss": sum(parts.values()), **{f"{k}_loss": v for k, v in parts.items()}}

    def describe(self) -> dict[str, Any]:
        return {"parameters": sum(p.numel() for p in self.parameters()), **dataclasses.asdict(self.config)}
