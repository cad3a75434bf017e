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
        from soundart.errors import ConfigError

        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError(f"train: steps and batch_size must be >= 1 (got {self.steps}, {self.batch_size})")
        if self.lr <= 0:
            raise ConfigError(f"train: lr must be > 0 (got {self.lr})")
        if self.warmup_steps < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("train: warmup_steps must be >= 0 and min_lr_ratio in [0, 1]")
        self.betas = tuple(self.betas)  # YAML gives a list
