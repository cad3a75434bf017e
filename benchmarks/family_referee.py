"""The instrument-family referee that judges generated notes in bench_gan and bench_melvae.

One design, one training recipe, one embedding and one score for every model of notes: a small CNN
trained on real rendered notes of the notes dataset's *train* programs (never on a sample), its weights
chosen on the *valid* programs, scored on the *test* programs (instruments it never heard). It reads dB
log-mels ``(N, n_mels, frames)`` of whatever front end the judged model has, averaged down to ``size`` (SpecGAN's
128x128 and the mel VAE's 64x64 both cover 0-8 kHz and ~2.05 s, so both become 64 mel bands x 64 frames), and
standardises them with per-bin statistics of its own training notes: no judged model's normalisation enters it.

    from family_referee import RefereeConfig, train_referee, frechet
    ref, valid_acc = train_referee(train_db, train_y, valid_db, valid_y, n_classes, RefereeConfig(seed=0))
    ref.accuracy(test_db, test_y); ref.predict(samples_db); frechet(ref.embed(a), ref.embed(b))

Training: AdamW with a one-cycle schedule, label smoothing 0.1, batches of 64 with a random gain, a random
spectral tilt and a roll of a few mel bins (held-out programs differ from the training ones in loudness,
tilt and formants, not only in family), ``strong`` adds SpecAugment masks; the weights with the best
valid-program accuracy of ``checks`` evenly spaced checks are kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class RefereeConfig:
    """How the referee is built and trained (every field enters its cache key).

    steps, batch, lr, weight_decay : optimisation (AdamW, one-cycle schedule peaking at ``lr``).
    gain_db, tilt_db : random level and spectral tilt (+- dB, tilt from the lowest to the highest bin).
    shift : random roll of up to this fraction of the mel bins.
    strong : also one band and one span of each note set to its floor (SpecAugment), wider gain and roll.
    checks : valid-program accuracy checks; the best checked weights are kept.
    size : (mel bins, frames) every input is averaged down to.
    """

    steps: int = 1600
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    gain_db: float = 10.0
    tilt_db: float = 6.0
    shift: float = 1 / 32
    strong: bool = True             # the better referee on held-out programs (recipes/notes/family-referee.md)
    checks: int = 8
    size: tuple[int, int] = (64, 64)
    seed: int = 0


class FamilyNet(nn.Module):
    """Standardised log-mel ``(B, n_mels, frames)`` -> embedding ``(B, 64)`` -> family logits ``(B, n_classes)``."""

    def __init__(self, n_classes: int, embed_dim: int = 64) -> None:
        super().__init__()
        layers, c = [], 1
        for out in (16, 32, 64, 128):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            c = out
        self.body = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(2 * c, embed_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(embed_dim, n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x[:, None])  # (B, C, n_mels / 16, frames / 16)
        return self.proj(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class Referee:
    """A trained :class:`FamilyNet` with the per-bin statistics it standardises its dB input with."""

    def __init__(self, net: FamilyNet, mean: torch.Tensor, std: torch.Tensor, size: tuple[int, int]) -> None:
        self.net, self.mean, self.std, self.size = net.eval(), mean, std, size  # mean, std: (size[0], 1)

    def _standardise(self, x_db: torch.Tensor) -> torch.Tensor:
        return (shrink(x_db, self.size) - self.mean) / self.std

    @torch.no_grad()
    def _batches(self, x_db: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        self.net.eval()
        return torch.cat([fn(self._standardise(x_db[i:i + 256])) for i in range(0, len(x_db), 256)])

    def predict(self, x_db: torch.Tensor) -> torch.Tensor:
        """dB log-mels ``(N, n_mels, frames)`` -> family indices ``(N,)``."""
        return self._batches(x_db, lambda x: self.net(x).argmax(-1))

    def embed(self, x_db: torch.Tensor) -> np.ndarray:
        """dB log-mels ``(N, n_mels, frames)`` -> embeddings ``(N, 64)`` (float64, for :func:`frechet`)."""
        return self._batches(x_db, self.net.embed).numpy().astype(np.float64)

    def accuracy(self, x_db: torch.Tensor, y: torch.Tensor) -> float:
        """Share of ``x_db`` labelled ``y``."""
        return float((self.predict(x_db) == y).float().mean())

    def state(self) -> dict[str, torch.Tensor]:
        return {**{f"net.{k}": v for k, v in self.net.state_dict().items()}, "mean": self.mean, "std": self.std}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], n_classes: int, size: tuple[int, int]) -> Referee:
        net = FamilyNet(n_classes)
        net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")})
        return cls(net, state["mean"], state["std"], size)


def shrink(x_db: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """dB log-mels ``(N, n_mels, frames)`` averaged down to ``(N, *size)`` (float32; as is when already that size)."""
    x = x_db.float()
    if tuple(x.shape[1:]) == tuple(size):
        return x
    return nn.functional.adaptive_avg_pool2d(x[:, None], size)[:, 0]


def augment(x: torch.Tensor, cfg: RefereeConfig, g: torch.Generator) -> torch.Tensor:
    """Random gain, tilt and mel roll (dB in, dB out); with ``cfg.strong`` 1.5x wider gain and roll and one
    band of up to 1/8 of the mel bins and one span of up to 1/5 of the frames set to each note's floor."""
    n, n_mels, frames = x.shape
    wide = 1.5 if cfg.strong else 1.0
    slope = torch.linspace(-0.5, 0.5, n_mels)[None, :, None]  # (1, n_mels, 1)
    gain = (torch.rand(n, 1, 1, generator=g) - 0.5) * 2 * cfg.gain_db * wide
    tilt = (torch.rand(n, 1, 1, generator=g) - 0.5) * 2 * cfg.tilt_db
    x = x + gain + tilt * slope
    shift = round(cfg.shift * n_mels * wide)
    x = torch.roll(x, int(torch.randint(-shift, shift + 1, (1,), generator=g)), dims=1)
    if not cfg.strong:
        return x
    floor = x.amin(dim=(1, 2), keepdim=True)
    f0, fw = int(torch.randint(0, n_mels, (1,), generator=g)), int(torch.randint(0, n_mels // 8 + 1, (1,), generator=g))
    t0, tw = int(torch.randint(0, frames, (1,), generator=g)), int(torch.randint(0, frames // 5 + 1, (1,), generator=g))
    mask = torch.zeros(1, n_mels, frames, dtype=torch.bool)
    mask[:, f0:f0 + fw] = True
    mask[:, :, t0:t0 + tw] = True
    return torch.where(mask, floor, x)


def train_referee(x_db: torch.Tensor, y: torch.Tensor, valid_db: torch.Tensor, valid_y: torch.Tensor,
                  n_classes: int, cfg: RefereeConfig = RefereeConfig()) -> tuple[Referee, float]:
    """Train on real train-program notes ``x_db (N, n_mels, frames)`` (dB) with families ``y (N,)``; keep the
    weights with the best accuracy on the valid programs. Returns the referee and that valid accuracy."""
    torch.manual_seed(cfg.seed)  # the initial weights, whatever the caller drew before
    x = shrink(x_db, cfg.size)
    mean, std = x.mean(dim=(0, 2))[:, None], x.std(dim=(0, 2))[:, None].clamp_min(1e-3)
    net = FamilyNet(n_classes)
    ref = Referee(net, mean, std, cfg.size)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    g = torch.Generator().manual_seed(cfg.seed)
    best, best_state = -1.0, None
    for step in range(1, cfg.steps + 1):
        net.train()
        idx = torch.randint(0, len(x), (cfg.batch,), generator=g)
        batch = (augment(x[idx], cfg, g) - mean) / std
        loss = nn.functional.cross_entropy(net(batch), y[idx], label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, cfg.steps // cfg.checks) == 0 or step == cfg.steps:
            acc = ref.accuracy(valid_db, valid_y)
            if acc > best:
                best, best_state = acc, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    return Referee(net, mean, std, cfg.size), best


def cached_referee(cache: Path, data_key: list, n_classes: int, cfg: RefereeConfig,
                   train_fn: Callable[[], tuple[Referee, float]]) -> tuple[Referee, float]:
    """The referee trained on the data named by ``data_key`` with ``cfg``, from ``cache`` when it is there
    (``train_fn()`` trains it otherwise), and its valid-program accuracy."""
    from safetensors.torch import load_file, save_file

    key = hashlib.sha1(json.dumps(["FamilyNet/2", n_classes, asdict(cfg), data_key]).encode()).hexdigest()[:16]
    path = cache / f"family-referee-{key}.safetensors"
    if path.is_file():
        state = load_file(str(path))
        return Referee.from_state(state, n_classes, cfg.size), float(state.pop("valid_acc"))
    ref, valid_acc = train_fn()
    cache.mkdir(parents=True, exist_ok=True)
    save_file({**{k: v.contiguous() for k, v in ref.state().items()}, "valid_acc": torch.tensor(valid_acc)},
              str(path))
    return ref, valid_acc


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two embedding sets ``(N, D)``."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))
