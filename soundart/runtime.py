"""Devices and seeds: the two runtime choices every command shares."""

from __future__ import annotations

import random

import numpy as np
import torch

from soundart.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda[:N]`` into a ``torch.device``; ``auto`` prefers CUDA."""
    if isinstance(spec, torch.device):
        return spec
    spec = str(spec).strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {spec}: CUDA is not available on this machine")
        return torch.device(spec)
    raise ConfigError(f"unknown device {spec!r}: use auto, cpu or cuda")


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch Generator seeded with ``seed`` (or from entropy when None)."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen
