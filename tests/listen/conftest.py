"""A folder of labelled synthetic recordings and a tiny listening model trained on it a few steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_clip(path: Path, kind: str, seconds: float = 3.5, sr: int = 16000, seed: int = 0) -> Path:
    """A low tone with clicks ("calm") or bright noise bursts ("loud"), written with soundfile."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "calm":
        x = 0.3 * np.sin(2 * np.pi * (110 + 20 * seed) * t)
    else:
        x = 0.3 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 2 * t) > 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), sr)
    return path


@pytest.fixture(scope="session")
def labelled_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("labelled")
    for genre in ("calm", "loud"):
        for i in range(5):
            write_clip(root / genre / f"{genre}{i}.wav", genre, seed=i)
    return root


@pytest.fixture(scope="session")
def tiny_model(labelled_folder: Path, tmp_path_factory) -> Path:
    """Checkpoint stem of a debug-size classifier trained 12 steps through the recipe machinery."""
    import yaml

    from soundart.train.recipe import load_recipe, run_recipe

    work = tmp_path_factory.mktemp("run")
    recipe = work / "listen-test.yaml"
    recipe.write_text(yaml.safe_dump({
        "task": "listen", "name": "listen-test",
        "data": {"mood4q": "", "emotify": "", "folder": str(labelled_folder), "cache_dir": str(work / "cache"),
                 "test_fraction": 0.2, "val_fraction": 0.2, "workers": 1,
                 "near_duplicates": 0},   # the synthetic clips of a class are near-duplicates by design
        "model": {"chunk_frames": 32, "channels": [8, 16, 16], "embed_dim": 16, "refit_heads": True,
                  "recording_stats": 4},
        "train": {"steps": 12, "batch_size": 4, "lr": 0.003, "warmup_steps": 2, "amp": False, "device": "cpu",
                  "val_every": 6, "val_batches": 2, "ckpt_every": 100, "log_every": 6, "progress": False,
                  "out_dir": str(work / "out")},
    }))
    return run_recipe(load_recipe(recipe))
