"""Fixtures for the audio tests: a tiny notes dataset (built-in synth) and a tiny trained mel VAE."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_PROGRAMS = "0,1,40,43"  # keyboard: 0 train, 1 test; strings: 40 train, 43 valid


@pytest.fixture(scope="session")
def tiny_notes(tmp_path_factory) -> Path:
    """Notes of 4 programs (keyboard + strings), every 12th pitch, velocity 100, built-in synth."""
    import sys

    sys.path.insert(0, str(REPO / "data"))
    import make_notes

    out = tmp_path_factory.mktemp("notes")
    assert make_notes.main(["--out", str(out), "--backend", "builtin", "--programs", TINY_PROGRAMS,
                            "--pitch-step", "12", "--velocities", "100", "--workers", "0"]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_vae(tiny_notes, tmp_path_factory) -> Path:
    """A debug-size mel VAE trained 30 steps on ``tiny_notes`` through the recipe path."""
    import torch

    from soundart.train.recipe import load_recipe, run_recipe

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("vae")
    recipe = load_recipe(REPO / "recipes" / "melvae_debug.yaml",
                         {"out_dir": str(out / "run"), "steps": 15})
    recipe.data.root = str(tiny_notes)
    recipe.data.families = ()
    recipe.data.velocities = ()
    recipe.data.cache_dir = str(out / "cache")
    recipe.data.pitch_step = 12
    return run_recipe(recipe)
