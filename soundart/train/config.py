"""TrainConfig: what the one training loop needs to know."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings shared by every model's recipe.

    The learning rate warms up linearly for ``warmup_steps`` and then follows a
    cosine down to ``lr * min_lr_ratio`` at ``steps``. ``batch_size`` is the
    global batch: under torchrun each of the ``WORLD_SIZE`` ranks takes its share.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    grad_clip: float | None = 1.0
    amp: bool = True
    device: str = "auto"
    seed: int = 0
    val_every: int = 250
    val_batches: int = 50
    ckpt_every: int = 500
    log_every: int = 10
    out_dir: str = "runs/default"
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        """Every field checked by type, then by range; each message names the field (``train.steps``)."""
        from soundart.checkpoint import check_fields
        from soundart.errors import ConfigError

        check_fields(self, "train")  # also turns a YAML list of betas into a tuple
        at_least = {"steps": 1, "batch_size": 1, "warmup_steps": 0, "val_every": 0, "val_batches": 1,
                    "ckpt_every": 0, "log_every": 1, "num_workers": 0, "seed": 0, "weight_decay": 0}
        for name, low in at_least.items():
            if getattr(self, name) < low:
                raise ConfigError(f"train.{name} must be >= {low}, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        if self.seed >= 2**32:
            raise ConfigError(f"train.seed must be in 0..{2**32 - 1}, got {self.seed}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"train.betas must both be in [0, 1), got {list(self.betas)}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"train.grad_clip must be > 0 (or null for none), got {self.grad_clip}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise ConfigError(f"train.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if not self.out_dir:
            raise ConfigError("train.out_dir must be a folder name, got an empty string")
