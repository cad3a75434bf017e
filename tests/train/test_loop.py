"""The shared Trainer on a real tiny model: learning, checkpoints, exact resume, recipes."""

from __future__ import annotations

import json

import pytest
import torch

from soundart import checkpoint, registry
from soundart.errors import ConfigError, ModelError
from soundart.train import StepBatchSampler, TrainConfig, Trainer, load_recipe, lr_factor, run_recipe
from tests.train.tiny import TASK, ToneClassifier, ToneConfig, ToneDataset

registry.register_model(ToneClassifier)
registry.register_task(TASK)


def _trainer(tmp_path, steps=24, **overrides):
    torch.manual_seed(0)
    model = ToneClassifier(ToneConfig())
    cfg = TrainConfig(steps=steps, batch_size=8, lr=3e-2, warmup_steps=4, val_every=8, ckpt_every=10,
                      log_every=4, device="cpu", seed=3, out_dir=str(tmp_path), progress=False, **overrides)
    return Trainer(model, ToneDataset(64, 4, 1), cfg, val_data=ToneDataset(16, 4, 2))


def test_trainer_learns_and_writes_checkpoints(tmp_path):
    trainer = _trainer(tmp_path, steps=60)
    first_loss = trainer.validate()["loss"]
    meta = trainer.fit()
    assert meta["steps"] == 60
    assert meta["val"]["loss"] < first_loss * 0.7, (meta["val"], first_loss)
    for name in ("model", "best", "last", "trainer"):
        assert (tmp_path / f"{name}.safetensors").exists() and (tmp_path / f"{name}.json").exists(), name
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 60 and "val_loss" in log[-1]
    loaded = checkpoint.load(tmp_path / "model")
    x = torch.randn(3, 2000)
    assert torch.equal(loaded(x), trainer.model.eval()(x))


def test_resume_reaches_the_same_loss_as_an_uninterrupted_run(tmp_path):
    straight = _trainer(tmp_path / "a")
    straight.fit()
    interrupted = _trainer(tmp_path / "b")
    interrupted.fit(stop_at=13)  # behaves like Ctrl-C at step 13: state saved
    assert interrupted.step == 13
    resumed = _trainer(tmp_path / "b")
    resumed.fit(resume=True)
    assert resumed.step == 24
    a = [h["loss"] for h in straight.history]
    b = [h["loss"] for h in resumed.history]
    assert a == b, (a[-3:], b[-3:])
    for (name, p), q in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(p, q), name


def test_resume_without_state_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no training state"):
        _trainer(tmp_path).fit(resume=True)


def test_sampler_is_a_function_of_step_and_splits_across_ranks():
    full = StepBatchSampler(20, 4, 12, 0, seed=5)
    later = StepBatchSampler(20, 4, 12, 7, seed=5)
    assert list(full)[7:] == list(later)
    batches = list(full)[:5]
    assert sorted(i for b in batches for i in b) == list(range(20))  # one epoch sees each item once
    ranks = [StepBatchSampler(20, 4, 12, 0, seed=5, rank=r, world_size=2).batch_for_step(3) for r in (0, 1)]
    assert sorted(ranks[0] + ranks[1]) == sorted(full.batch_for_step(3))


def test_lr_schedule_warms_up_then_decays():
    cfg = TrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1)
    factors = [lr_factor(s, cfg) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[-1] == pytest.approx(0.1, abs=0.01)


def test_checkpoint_strips_wrapper_prefixes_and_rejects_mismatches(tmp_path):
    model = ToneClassifier(ToneConfig(hidden=8))
    path = checkpoint.save(model, tmp_path / "m", {"note": "x"})
    # a torch.compile / DDP style state dict loads too
    from safetensors.torch import load_file, save_file

    state = load_file(str(path))
    save_file({f"_orig_mod.module.{k}": v for k, v in state.items()}, str(path))
    assert torch.equal(checkpoint.load(tmp_path / "m").net[0].weight, model.net[0].weight)
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["config"]["hidden"] = 12
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="do not match"):
        checkpoint.load(tmp_path / "m")
    doc["config"]["hiddn"] = 12
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="unknown key"):
        checkpoint.load(tmp_path / "m")
    doc["kind"] = "no-such-model"
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="unknown model kind"):
        checkpoint.load(tmp_path / "m")
    with pytest.raises(ModelError, match="missing"):
        checkpoint.load(tmp_path / "absent")


def test_recipe_runs_and_records_metrics(tmp_path):
    recipe = tmp_path / "tone.yaml"
    recipe.write_text(
        "task: test-tone\ndata: {n_train: 48}\nmodel: {hidden: 12}\n"
        f"train: {{steps: 30, batch_size: 8, lr: 0.03, warmup_steps: 3, val_every: 10, device: cpu, "
        f"progress: false, out_dir: {tmp_path / 'run'}}}\n")
    final = run_recipe(load_recipe(recipe))
    doc = checkpoint.read_document(final)
    assert doc["metadata"]["steps"] == 30 and doc["metadata"]["data"] == "synthetic tones"
    assert 0.0 <= doc["metadata"]["metrics"]["val_accuracy"] <= 1.0
    assert doc["config"]["hidden"] == 12


@pytest.mark.parametrize("text, message", [
    ("task: test-tone\nmodel: {hiden: 3}\n", "unknown key\\(s\\) hiden"),
    ("task: test-tone\ntrain: {stepz: 3}\n", "unknown key\\(s\\) stepz"),
    ("task: test-tone\nextra: 1\n", "unknown key\\(s\\) extra"),
    ("task: nope\n", "unknown task"),
    ("task: [unclosed\n", "not valid YAML"),
])
def test_recipe_errors_name_the_bad_key(tmp_path, text, message):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_recipe(recipe)
