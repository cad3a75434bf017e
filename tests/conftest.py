"""Fixtures shared by the whole suite: seeded rng, synthetic audio files, shared data paths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SOUNDART_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# Keep the suite inside its time budget on 2 cores and avoid oversubscription.
try:
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
except ImportError:  # pragma: no cover - torch is a hard dependency
    pass


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def tone(freq: float = 440.0, seconds: float = 1.0, sr: int = 22050, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def tone_wav(tmp_path: Path) -> Path:
    import soundfile as sf

    path = tmp_path / "tone.wav"
    sf.write(path, tone(), 22050)
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA
