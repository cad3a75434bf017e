"""The mel VAE recipe path on the tiny notes: the sampling mixture (per pitch band) is fitted and saved, a second
stage starts from the first's weights, and `synth vae` draws from the mixture at the model's
temperature."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from soundart.checkpoint import read_document
from soundart.cli import cli
from soundart.errors import ConfigError
from soundart.models import load_model


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_recipe_fits_and_saves_the_sampling_mixture(tiny_vae):
    model = load_model(str(tiny_vae), expect_kind="melvae")
    assert model.config.prior_mixture == 2 and int(model.mix_fitted) == 1
    metrics = read_document(str(tiny_vae) + ".json")["metadata"]["metrics"]
    assert metrics["prior_mixture_notes"] > 0
    bands = model.config.pitch_bands  # 12-semitone bands, one tiny-notes pitch each
    assert bands == 7
    weights = model.mix_logw.exp().view(len(model.config.families), bands, 2)
    # every family with training notes got a proper mixture in every pitch band (weights sum to 1)
    trained = [model.config.families.index(f) for f in ("keyboard", "strings")]
    torch.testing.assert_close(weights[trained].sum(-1), torch.ones(2, bands))


def _stage_two(tiny_notes, tiny_vae, out, **model_overrides):
    from soundart.train.recipe import load_recipe, run_recipe

    from .conftest import REPO

    recipe = load_recipe(REPO / "recipes" / "melvae_debug.yaml", {"out_dir": str(out), "steps": 2})
    recipe.data.root = str(tiny_notes)
    recipe.data.families = ()
    recipe.data.velocities = ()
    recipe.data.cache_dir = str(out / "cache")
    recipe.data.pitch_step = 12
    recipe.data.init_from = str(tiny_vae)
    for key, value in model_overrides.items():
        setattr(recipe.model, key, value)
    return run_recipe(recipe)


def test_second_stage_starts_from_the_first(tiny_notes, tiny_vae, tmp_path):
    torch.set_num_threads(1)
    first = load_model(str(tiny_vae), expect_kind="melvae")
    final = _stage_two(tiny_notes, tiny_vae, tmp_path / "stage2")
    second = load_model(str(final), expect_kind="melvae")
    # two small steps from the first stage's weights, not a fresh initialisation
    diff = (second.head.weight - first.head.weight).detach().abs().max()
    assert 0 < float(diff) < 0.05, float(diff)
    assert int(second.step) == int(first.step) + 2  # the KL warm-up continues, not restarts
    with pytest.raises(ConfigError, match="do not fit"):
        _stage_two(tiny_notes, tiny_vae, tmp_path / "bad", latent=5)


def test_synth_vae_temperature(tiny_vae, tmp_path):
    spec = str(tiny_vae)
    listed = run("synth", "vae", "--model", spec, "--list-families", "-o", tmp_path / "unused.wav")
    assert listed.exit_code == 0 and "temperature 0.6" in listed.output, listed.output
    outs = {}
    for name, temp in (("t0", "0"), ("default", None), ("t06", "0.6"), ("t2", "2")):
        out = tmp_path / f"{name}.wav"
        args = ["synth", "vae", "--model", spec, "-n", 2, "--family", "strings", "--seed", 3, "-o", out,
                "--device", "cpu"] + (["--temperature", temp] if temp else [])
        result = run(*args)
        assert result.exit_code == 0, result.output
        outs[name] = np.concatenate([sf.read(tmp_path / f"{name}-{i}.wav")[0] for i in (1, 2)])  # -n 2: 2 files
    assert (outs["default"] == outs["t06"]).all()  # the default is the model's temperature
    assert not (outs["t2"] == outs["t06"]).all()
    bad = run("synth", "vae", "--model", spec, "--temperature", "-1", "-o", tmp_path / "bad.wav")
    assert bad.exit_code == 2 and "--temperature must be >= 0" in bad.output, bad.output
    assert len(bad.output.strip().splitlines()) == 1
