"""The training layer owns training: one warm start, every optimiser resumed (the SpecGAN critic's too),
portable metadata (no local path in a run's checkpoints or the shipped ones), and the API doors
``soundart.train`` / ``soundart.evaluate``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

import soundart
from soundart import checkpoint, registry
from soundart.errors import ConfigError
from soundart.models import PRETRAINED_DIR
from soundart.spectral.gan import SpecGANConfig
from soundart.spectral.gan_task import SpecGANDataConfig
from soundart.train import Recipe, TrainConfig, fit_recipe, load_recipe
from soundart.train.loop import Trainer
from soundart.train.provenance import local_paths
from soundart.train.warm_start import WarmStartRules, warm_start
from tests.listen.conftest import labelled_folder, tiny_model  # noqa: F401  (the listening fixtures, reused)
from tests.train.tiny import TASK, ToneClassifier, ToneConfig

registry.register_model(ToneClassifier)
registry.register_task(TASK)

TONE = Path(__file__).parent / "recipes" / "tone.yaml"


def test_no_shipped_checkpoint_records_a_local_path():
    shipped = sorted(PRETRAINED_DIR.glob("*.json"))
    assert shipped
    for path in shipped:
        assert local_paths(json.loads(path.read_text())) == [], path.name


def test_a_runs_checkpoints_hold_no_local_path_and_the_api_returns_its_figures(tmp_path):
    out = tmp_path / "run"  # an absolute path, as a user's run folder would be
    result = soundart.train(TONE, out=out, quiet=True)
    assert result.out == out and result.model == out / "model" and result.steps == 12
    assert set(result.val) == {"loss", "accuracy"} and result.best_val <= result.val["loss"]
    assert 0 <= result.metrics["val_accuracy"] <= 1
    for name in ("model", "best", "last"):
        meta = checkpoint.read_document(out / name)["metadata"]
        assert local_paths(meta) == [] and "out_dir" not in meta["train_config"], name
        assert meta["recipe"] == "tone" and meta["data"] == "synthetic tones"
    with pytest.raises(ConfigError, match="use resume=True or force=True"):  # the library names arguments
        soundart.train(TONE, out=out)
    again = soundart.train(load_recipe(TONE), out=out, force=True, steps=4, quiet=True)  # a loaded Recipe too
    assert again.steps == 4


def test_a_warm_start_copies_the_weights_and_is_recorded_by_its_recipe(tmp_path):
    start = soundart.train(TONE, out=tmp_path / "start", quiet=True).model
    model = ToneClassifier(ToneConfig(hidden=12))
    done = warm_start(model, str(start))
    assert done.source == "recipe tone" and done.fresh == ()
    for name, tensor in checkpoint.load(start).state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    wider = ToneClassifier(ToneConfig(hidden=16))
    with pytest.raises(ConfigError, match=rf"init_from {start}: its weights do not fit"):
        warm_start(wider, str(start))
    with pytest.raises(ConfigError, match="its front end differs"):
        warm_start(ToneClassifier(ToneConfig(hidden=12, features=dataclasses.replace(
            ToneConfig().features, hop_length=64))), str(start), WarmStartRules(same=((("features",), "front end"),)))
    # a new output layer may stay fresh when the task allows it
    more = ToneClassifier(ToneConfig(hidden=12, n_classes=5))
    done = warm_start(more, str(start), WarmStartRules(may_differ=frozenset({"net.5.weight", "net.5.bias"})))
    assert sorted(done.fresh) == ["net.5.bias", "net.5.weight"]


def _clips(folder: Path, n: int = 10) -> Path:
    folder.mkdir()
    t = np.arange(9000) / 16000
    for i in range(n):
        tone = 0.3 * np.sin(2 * np.pi * (110 * 2 ** (i / 12)) * t) * np.exp(-2 * t)
        sf.write(folder / f"clip{i}.wav", tone.astype(np.float32), 16000)
    return folder


def _gan_recipe(folder: Path, out: Path) -> Recipe:
    return Recipe(task="specgan", name="specgan-tiny", data=SpecGANDataConfig(folder=str(folder)),
                  model=SpecGANConfig.debug(),
                  train=TrainConfig(steps=4, batch_size=4, lr=1e-3, warmup_steps=0, val_every=0, ckpt_every=0,
                                    amp=False, device="cpu", progress=False, out_dir=str(out)))


def test_a_resumed_gan_run_continues_with_the_critics_optimiser_state(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    clips = _clips(tmp_path / "clips")
    whole = fit_recipe(_gan_recipe(clips, tmp_path / "whole"))  # 4 steps in one go
    fit_recipe(_gan_recipe(clips, tmp_path / "halves"), stop_at=2)  # like Ctrl-C after step 2
    saved = load_file(str(tmp_path / "halves" / "trainer.safetensors"))
    critic_saved = {k: v for k, v in saved.items() if k.startswith("optimizers.critic.")}
    assert critic_saved and any(k.endswith("exp_avg_sq") for k in critic_saved)
    assert all(float(v) == 2 * 2 for k, v in critic_saved.items() if k.endswith(".step"))  # 2 steps x n_critic 2

    # the state a resumed Trainer starts from is the saved one, moment for moment
    recipe = _gan_recipe(clips, tmp_path / "halves")
    prepared = registry.task("specgan").prepare(recipe.data, recipe.model)
    trainer = Trainer(prepared.model, prepared.train_data, recipe.train, val_data=prepared.val_data)
    trainer.load_state()
    state = trainer.optimizers["critic"].state_dict()["state"]
    for key, value in critic_saved.items():
        index, name = key.removeprefix("optimizers.critic.").split(".", 1)
        assert torch.equal(torch.as_tensor(state[int(index)][name]).float(), value.float()), key

    # and the resumed run ends where the uninterrupted one did
    resumed = fit_recipe(recipe, resume=True)
    assert resumed.steps == whole.steps == 4
    a, b = checkpoint.load(whole.model), checkpoint.load(resumed.model)
    for name, tensor in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[name], tensor, msg=name)


def test_evaluate_sketches_and_unknown_kinds(tmp_path):
    from tests.music.helpers import scale_piece, write_midi

    gen, ref = tmp_path / "gen", tmp_path / "ref"
    gen.mkdir()
    ref.mkdir()
    for k in range(3):
        write_midi(gen / f"g{k}.mid", scale_piece(key=k, bars=4))
        write_midi(ref / f"r{k}.mid", scale_piece(key=k + 2, bars=6))
    stats = soundart.evaluate("sketches", gen, reference=str(ref), seed=0)
    assert stats.generated == 3 and stats.reference_pieces == 3 and stats.bars == 4
    rows = {r["metric"]: r for r in stats.rows}
    assert rows["pitch_class_entropy"]["ratio"] == pytest.approx(1.0, abs=0.2)
    with pytest.raises(ConfigError, match="kind must be one of music, sketches, listen"):
        soundart.evaluate("loudness", gen)
    with pytest.raises(soundart.SoundartError, match="reference='nowhere'"):
        soundart.evaluate("sketches", gen, reference="nowhere")


def test_evaluate_listen_scores_a_tiny_classifier(tiny_model, labelled_folder, tmp_path):  # noqa: F811
    scores = soundart.evaluate("listen", str(tiny_model), labelled_folder, split="all", baseline=False,
                               cache_dir=str(tmp_path / "cache"), device="cpu")
    genre = scores["genre"]["cnn"]
    assert genre["n"] == 10 and 0 <= genre["accuracy"] <= 1 and np.array(genre["confusion"]).sum() == 10
    with pytest.raises(soundart.SoundartError, match="no such file or folder"):
        soundart.evaluate("listen", str(tiny_model), tmp_path / "nowhere")
