"""A short-chunk CNN over log-mel chunks with genre, mood and tag heads.

Input: chunks of the shared pipeline's log-mel, ``(B, n_mels, chunk_frames)``
in dB (``config.features`` is the exact front end). Five 3x3 conv blocks
(BatchNorm, ReLU, 2x2 max-pool) then global max+mean pooling give a
``config.embed_dim`` embedding per chunk, read by four linear heads:

* ``genre``: independent sigmoids over ``config.genres`` (multi-label: a recording can be jazz and
  latin; the targets each source gives are in :mod:`soundart.listen.labels`);
* ``quadrant``: softmax over Russell's four quadrants Q1..Q4 (happy/energetic,
  angry/tense, sad/depressed, calm/tender); valence and arousal are *derived*
  from it: P(valence > 0) = P(Q1) + P(Q4), P(arousal > 0) = P(Q1) + P(Q2);
* ``tags``: independent sigmoids over ``config.tags`` (AllMusic genre tags);
* ``gems``: independent sigmoids over the nine GEMS emotions (the fraction of
  listeners expected to choose each).

A recording is cut into non-overlapping chunks whose predictions are averaged
(:meth:`ListenClassifier.predict_recording`). Genre and quadrant logits are
divided by temperatures fitted on the validation split after training
(``config.genre_temperature``, ``config.quadrant_temperature``) so that the
recording-level probabilities are calibrated.

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
import math
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
    chunk_hop: int = 0                          # frames between a recording's chunks at inference; 0 = chunk_frames
    channels: tuple[int, ...] = (16, 32, 64, 128, 128)
    embed_dim: int = 128
    dropout: float = 0.3
    genres: tuple[str, ...] = ("classical", "electronic", "pop", "rock")
    tags: tuple[str, ...] = ()
    quadrants: tuple[str, ...] = QUADRANTS
    gems: tuple[str, ...] = GEMS
    refit_heads: bool = False                  # after training, fit the heads on whole recordings (listen.refit)
    pooled_heads: bool = False                 # heads read a recording's mean chunk embedding (set by the refit)
    # the refitted heads also read the mean and standard deviation over the whole recording of this many
    # cepstral coefficients (DCT of the log-mel, i.e. MFCCs): timbre statistics no 3 s chunk sees; 0 = off
    recording_stats: int = 0
    genre_temperature: float = 1.0             # fitted on the validation split (listen.scores.fit_temperature)
    quadrant_temperature: float = 1.0
    # augmentation (training only)
    freq_mask: int = 8
    time_mask: int = 16
    gain_db: float = 6.0
    mix_prob: float = 0.3
    pitch_bins: int = 0              # mel-bin shifts up to +-pitch_bins (a pitch shift of the spectrum)
    stretch: float = 0.0             # time stretch by a factor in [1 - stretch, 1 + stretch]
    eq_db: float = 0.0               # a random smooth EQ curve over the mel bands, up to +-eq_db

    def __post_init__(self) -> None:
        from soundart.errors import ConfigError

        checks = [("chunk_frames", self.chunk_frames, 8, 4096), ("chunk_hop", self.chunk_hop, 0, self.chunk_frames),
                  ("pitch_bins", self.pitch_bins, 0, max(0, self.features.n_mels // 4)),
                  ("stretch", self.stretch, 0.0, 0.5), ("eq_db", self.eq_db, 0.0, 24.0),
                  ("gain_db", self.gain_db, 0.0, 40.0), ("mix_prob", self.mix_prob, 0.0, 1.0),
                  ("dropout", self.dropout, 0.0, 0.95),
                  ("recording_stats", self.recording_stats, 0, self.features.n_mels),
                  ("genre_temperature", self.genre_temperature, 0.01, 100.0),
                  ("quadrant_temperature", self.quadrant_temperature, 0.01, 100.0)]
        for name, value, low, high in checks:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"model.{name} must be a number in [{low}, {high}], got {value!r}")

    def crop_frames(self, training: bool) -> int:
        """Frames a dataset cuts per item: more than a chunk in training when time stretch is on."""
        n = self.chunk_frames
        return math.ceil(n * (1 + self.stretch)) if training and self.stretch > 0 else n

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
        head_in = self.pooled_width if config.pooled_heads else config.embed_dim
        self.genre_head = nn.Linear(head_in, max(1, len(config.genres)))
        self.quadrant_head = nn.Linear(head_in, len(config.quadrants))
        self.tag_head = nn.Linear(head_in, max(1, len(config.tags)))
        self.gems_head = nn.Linear(head_in, len(config.gems))

    @property
    def pooled_width(self) -> int:
        """Width of what the refitted heads read: the mean chunk embedding and the recording statistics."""
        return self.config.embed_dim + 2 * self.config.recording_stats

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
        """Logits of every head for log-mel chunks ``(B, n_mels, T)`` (the heads as trained, per chunk)."""
        return self.heads(self.dropout(self.chunk_embed(x)))

    def recording_statistics(self, logmel: torch.Tensor) -> torch.Tensor:
        """Mean and standard deviation over time of the first ``config.recording_stats`` cepstral
        coefficients of log-mels ``(..., n_mels, frames)`` -> ``(..., 2 * recording_stats)``."""
        from soundart.features.functional import dct_matrix

        n = self.config.recording_stats
        if n == 0:
            return logmel.new_zeros(logmel.shape[:-2] + (0,))
        cepstra = torch.matmul(dct_matrix(n, logmel.shape[-2], logmel.dtype, logmel.device), logmel)
        return torch.cat([cepstra.mean(-1), cepstra.std(-1, unbiased=False)], dim=-1)

    def pooled(self, logmel: torch.Tensor, chunk_embeddings: torch.Tensor) -> torch.Tensor:
        """What the refitted heads read for one recording ``(n_mels, frames)``: ``(1, pooled_width)``."""
        return torch.cat([chunk_embeddings.mean(0), self.recording_statistics(logmel)])[None]

    def heads(self, e: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of every head for embeddings ``(B, embed_dim)``."""
        return {"genre": self.genre_head(e), "quadrant": self.quadrant_head(e), "tags": self.tag_head(e),
                "gems": self.gems_head(e)}

    def logmel(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, frames)`` of audio ``(B, samples)`` with this model's front end."""
        from soundart import features

        return features.logmel(audio, self.config.features)

    def chunks(self, logmel: torch.Tensor) -> torch.Tensor:
        """Cut one recording's log-mel ``(n_mels, frames)`` into ``(n_chunks, n_mels, chunk_frames)``, one
        chunk every ``config.chunk_hop`` frames (0: back to back)."""
        n = self.config.chunk_frames
        hop = self.config.chunk_hop or n
        frames = logmel.shape[-1]
        if frames < n:
            floor = logmel.amax() - 80.0 if logmel.numel() else torch.tensor(-100.0)
            logmel = F.pad(logmel, (0, n - frames), value=float(floor))
        return logmel.unfold(-1, n, hop).transpose(0, 1).contiguous()

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

    def probabilities(self, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Head logits -> probabilities, genre and quadrant through their fitted temperatures."""
        cfg = self.config
        return {"genre": (logits["genre"] / cfg.genre_temperature).sigmoid(),
                "quadrant": (logits["quadrant"] / cfg.quadrant_temperature).softmax(-1),
                "tags": logits["tags"].sigmoid(), "gems": logits["gems"].sigmoid()}

    @torch.no_grad()
    def predict_chunks(self, chunks: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-chunk probabilities of ``(N, n_mels, chunk_frames)``: genre, quadrant, tags, gems."""
        return self.probabilities(self.forward(chunks))

    @torch.no_grad()
    def recording_logits(self, logmel: torch.Tensor) -> dict[str, torch.Tensor]:
        """Head logits of one recording's log-mel ``(n_mels, frames)``: ``(1, ...)`` from the mean chunk
        embedding when ``config.pooled_heads``, else ``(n_chunks, ...)`` (one row per chunk)."""
        e = self.chunk_embed(self.chunks(logmel))
        return self.heads(self.pooled(logmel, e) if self.config.pooled_heads else e)

    @torch.no_grad()
    def predict(self, logmel: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Probabilities of one recording's log-mel ``(n_mels, frames)``: the recording's and each chunk's.

        The recording's come from the mean chunk embedding when ``config.pooled_heads`` (the heads were
        fitted on it), else they are the chunks' probabilities averaged.
        """
        pieces = self.chunks(logmel)
        e = self.chunk_embed(pieces)
        if self.config.pooled_heads:   # a chunk is read as a short recording of its own
            chunks = self.probabilities(self.heads(torch.cat([e, self.recording_statistics(pieces)], dim=1)))
            whole = {k: v[0] for k, v in self.probabilities(self.heads(self.pooled(logmel, e))).items()}
        else:
            chunks = self.probabilities(self.heads(e))
            whole = {k: v.mean(0) for k, v in chunks.items()}
        return whole, chunks

    def predict_recording(self, logmel: torch.Tensor) -> dict[str, torch.Tensor]:
        """The recording's probabilities (:meth:`predict`)."""
        return self.predict(logmel)[0]

    @staticmethod
    def valence_arousal(quadrant_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """P(valence > 0) and P(arousal > 0) from quadrant probabilities ``(..., 4)``."""
        q = quadrant_probs
        return q[..., 0] + q[..., 3], q[..., 0] + q[..., 1]

    quadrant_names = QUADRANT_NAMES

    # -- training ------------------------------------------------------------------
    def augment(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Time stretch, pitch shift, random EQ and gain, mixing of two chunks (power domain, labels
        mixed), SpecAugment masks."""
        cfg = self.config
        x = self._stretch(batch["x"])
        B, n_mels, T = x.shape
        if cfg.pitch_bins > 0:
            shift = torch.randint(-cfg.pitch_bins, cfg.pitch_bins + 1, (B,), device=x.device)
            rows = (torch.arange(n_mels, device=x.device)[None, :] - shift[:, None]).clamp(0, n_mels - 1)
            x = torch.gather(x, 1, rows[:, :, None].expand(B, n_mels, T))   # edge bands repeat
        if cfg.eq_db > 0:
            # a smooth curve: random weights on the first cosines over the mel axis
            k = torch.arange(1, 4, device=x.device, dtype=x.dtype)
            axis = torch.linspace(0, torch.pi, n_mels, device=x.device, dtype=x.dtype)
            basis = torch.cos(k[:, None] * axis[None, :])                       # (3, n_mels)
            weights = (torch.rand(B, 3, device=x.device) * 2 - 1) * cfg.eq_db / 3
            x = x + (weights @ basis)[:, :, None]
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

    def _stretch(self, x: torch.Tensor) -> torch.Tensor:
        """Training crops longer than a chunk (``stretch`` > 0) -> chunks: a random span of
        ``chunk_frames x factor`` frames resampled to ``chunk_frames``."""
        n = self.config.chunk_frames
        if x.shape[-1] <= n:
            return x
        out = []
        for item in x:
            factor = 1 + (float(torch.rand(())) * 2 - 1) * self.config.stretch
            span = min(item.shape[-1], max(2, round(n * factor)))
            start = int(torch.randint(0, item.shape[-1] - span + 1, ()))
            out.append(F.interpolate(item[None, :, start:start + span], size=n, mode="linear", align_corners=False)[0])
        return torch.stack(out)

    def losses(self, batch: dict[str, torch.Tensor], logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Masked losses of each head (items without a label do not count), mixing-aware."""
        lam = batch.get("mix_lam")
        perm = batch.get("mix_perm")
        out = {}
        zero = logits["genre"].sum() * 0.0
        y = batch["quadrant"]
        pairs = [(y, lam if lam is not None else torch.ones_like(y, dtype=torch.float))]
        if lam is not None:
            pairs.append((y[perm], 1 - lam))   # the mixed-in chunk's label, weighted by its share
        losses = []
        for target, weight in pairs:
            keep = target >= 0
            if keep.any():
                ce = F.cross_entropy(logits["quadrant"][keep], target[keep], reduction="none")
                losses.append((ce * weight[keep]).sum() / keep.sum())
        out["quadrant"] = sum(losses) if losses else zero
        out["genre"] = self._genre_loss(batch, logits["genre"], lam, perm) if self.config.genres else zero
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

    @staticmethod
    def _genre_loss(batch: dict[str, torch.Tensor], logits: torch.Tensor, lam: torch.Tensor | None,
                    perm: torch.Tensor | None) -> torch.Tensor:
        """Binary cross-entropy on the genres each item's labels decide, plus -log P(at least one) over the
        genres a "one or both" tag names (``Pop/Rock``); a mixed chunk's known genres get mixed targets."""
        y, m, either = batch["genre"], batch["genre_mask"], batch["genre_either"]
        if lam is not None:
            y = lam[:, None] * y + (1 - lam[:, None]) * y[perm]
            m = m * m[perm]
        # summed over an item's genres, averaged over the items that have any genre label
        labelled = ((m.sum(-1) > 0) | (either.sum(-1) > 0)).sum().clamp(min=1)
        known = (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * m).sum() / labelled
        rows = either.sum(-1) > 0
        if not rows.any():
            return known
        # log P(none) = sum log(1 - p) over the named genres; P(at least one) = 1 - P(none)
        log_none = (F.logsigmoid(-logits[rows]) * either[rows]).sum(-1)
        at_least_one = -torch.log1p(-log_none.exp().clamp(max=1 - 1e-6))
        weight = lam[rows] if lam is not None else torch.ones_like(at_least_one)
        return known + (at_least_one * weight).sum() / labelled

    def training_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        batch = self.augment(batch)
        parts = self.losses(batch, self.forward(batch["x"]))
        return sum(parts.values())

    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        parts = self.losses(batch, self.forward(batch["x"]))
        return {"loss": sum(parts.values()), **{f"{k}_loss": v for k, v in parts.items()}}

    def describe(self) -> dict[str, Any]:
        return {"parameters": sum(p.numel() for p in self.parameters()), **dataclasses.asdict(self.config)}
