"""WaveNet model: mu-law, causality and receptive field, conditioning, training, checkpoints, recipe task."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from soundart.audio.wavenet import (
    WaveNet,
    WaveNetConfig,
    mulaw_companded,
    mulaw_decode,
    mulaw_encode,
    upsample_frames,
)
from soundart.errors import BadInputError, ConfigError


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one thread avoids OpenMP spin-waiting on the shared 2-core CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _model(seed: int = 0, **kw) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(WaveNetConfig.debug(**kw))
    with torch.no_grad():
        for p in model.parameters():  # larger weights than the default init: outputs depend on inputs visibly
            p.normal_(0.0, 0.3)
    return model.eval()


def test_mulaw_round_trip_and_range():
    x = torch.linspace(-1, 1, 10001)
    q = mulaw_encode(x)
    assert q.min().item() == 0 and q.max().item() == 255, (q.min(), q.max())
    assert torch.all(q[1:] >= q[:-1])  # monotone
    err = (mulaw_decode(q) - x).abs()
    # mu-law steps are finest near 0 (half a step there: ln(256) / 255 / 255 ~ 8.5e-5), relative beyond
    assert err[x.abs() < 0.001].max() < 1.2e-4, err[x.abs() < 0.001].max()
    assert (err / x.abs().clamp(min=0.01)).max() < 0.05
    assert torch.equal(mulaw_encode(mulaw_decode(q)), q)
    assert mulaw_companded(torch.tensor([0, 255])).tolist() == [-1.0, 1.0]


def test_causal_and_receptive_field():
    model = _model()
    cfg = model.config
    rf = cfg.receptive_field
    assert rf == 1 + sum(cfg.dilations) == 32, rf
    T, t0 = rf + 40, 10
    x = torch.rand(1, T) * 2 - 1
    y = x.clone()
    y[0, t0] += 0.5
    with torch.no_grad():
        a, b = model(x), model(y)
    changed = (a - b).abs().amax(dim=1)[0] > 1e-6
    assert not changed[:t0].any(), "output before the change moved: not causal"
    assert changed[t0] and changed[t0 + rf - 1], "outputs inside the receptive field did not move"
    assert not changed[t0 + rf:].any(), f"outputs beyond the receptive field {rf} moved"


def test_global_conditioning_changes_logits_and_is_required():
    model = _model(n_families=3, pitch_conditioning=True)
    x = torch.rand(2, 64) * 2 - 1
    with torch.no_grad():
        a = model(x, torch.tensor([0, 0]), torch.tensor([60, 60]))
        b = model(x, torch.tensor([1, 0]), torch.tensor([60, 61]))
    assert a.shape == (2, 256, 64), a.shape
    assert (a[0] - b[0]).abs().max() > 1e-3 and (a[1] - b[1]).abs().max() > 1e-3
    with pytest.raises(ConfigError, match="family"):
        model(x, None, torch.tensor([60, 60]))


def test_local_conditioning_upsampling_and_bad_mels():
    model = _model(local=True)
    cfg = model.config
    hop = cfg.features.hop_length
    frames = torch.arange(5.0).view(1, 1, 5)
    up = upsample_frames(frames, 4 * hop, hop)
    assert up.shape == (1, 1, 4 * hop), up.shape
    assert torch.allclose(up[0, 0, ::hop], torch.arange(4.0))  # frame f sits on sample f * hop
    assert math.isclose(float(up[0, 0, hop // 2]), 0.5, abs_tol=1e-6)
    x = torch.rand(1, 4 * hop) * 2 - 1
    mel = torch.randn(1, cfg.features.n_mels, 5) * 10 - 30
    with torch.no_grad():
        a = model(x, mel=mel)
        mel2 = mel.clone()
        mel2[..., 4] += 20  # two kernel-3 frame convs spread it to frames 2-4: samples after 1 * hop
        b = model(x, mel=mel2)
    moved = (a - b).abs().amax(dim=1)[0] > 1e-6
    assert not moved[:hop + 1].any() and moved[-1], moved.nonzero()[:3]
    with pytest.raises(BadInputError, match=f"has {cfg.features.n_mels + 1} mel bands but the model expects "
                                            f"{cfg.features.n_mels}"):
        model(x, mel=torch.zeros(1, cfg.features.n_mels + 1, 5))
    bad = mel.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(BadInputError, match="NaN"):
        model(x, mel=bad)


def test_training_steps_lower_the_loss_on_a_tone():
    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig.debug(n_families=2, pitch_conditioning=True))
    t = torch.arange(1024) / 16000
    audio = torch.stack([0.5 * torch.sin(2 * math.pi * 440 * t), 0.3 * torch.sin(2 * math.pi * 220 * t + 1)])
    batch = {"audio": audio, "family": torch.tensor([0, 1]), "pitch": torch.tensor([69, 57])}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.training_step(batch).detach())
    assert abs(first - math.log(256)) < 1.0, first  # starts near uniform over 256 classes
    for _ in range(40):
        opt.zero_grad()
        loss = model.training_step(batch)
        loss.backward()
        opt.step()
    last = float(model.training_step(batch).detach())
    assert last < first - 0.5, (first, last)  # measured: 5.55 -> 4.76 after 40 steps
    assert set(model.validation_step(batch)) == {"loss"}


def test_checkpoint_round_trip(tmp_path):
    from soundart import checkpoint

    model = _model(local=True)
    checkpoint.save(model, tmp_path / "wn", {"data": "test"})
    loaded = checkpoint.load(tmp_path / "wn", expect_kind="wavenet")
    assert loaded.config == model.config
    x = torch.rand(1, 256) * 2 - 1
    mel = torch.randn(1, model.config.features.n_mels, 5) * 10 - 30
    with torch.no_grad():
        assert torch.equal(model(x, mel=mel), loaded(x, mel=mel))


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="max_dilation_exp"):
        WaveNetConfig(max_dilation_exp=20)
    with pytest.raises(ConfigError, match="residual_channels"):
        WaveNetConfig(residual_channels=0)


@pytest.mark.parametrize("mode", ["vocoder"])
def test_recipe_task_trains_and_evaluates(tiny_notes, tmp_path, mode):
    """The wavenet task through the recipe path: crops, mel collate, Trainer, evaluate's metrics."""
    import json

    from soundart.audio.wavenet_task import WaveNetDataConfig, make_collate, prepare
    from soundart.train import TrainConfig
    from soundart.train.recipe import Recipe, run_recipe

    torch.set_num_threads(1)
    model_cfg = WaveNetConfig.debug(local=True)
    data = WaveNetDataConfig(root=str(tiny_notes), mode=mode, segment=512, eval_items=2, eval_seconds=0.25)
    prepared = prepare(data, model_cfg)
    item = prepared.train_data[0]
    assert item["audio"].shape == (512,), item["audio"].shape
    batch = make_collate(model_cfg, 512)([prepared.train_data[i] for i in range(2)])
    hop = model_cfg.features.hop_length
    assert batch["mel"].shape == (2, model_cfg.features.n_mels, 512 // hop + 1), batch["mel"].shape
    assert torch.isfinite(batch["mel"]).all()
    recipe = Recipe(task="wavenet", name="wn-test", data=data, model=model_cfg,
                    train=TrainConfig(steps=3, batch_size=2, warmup_steps=1, amp=False, device="cpu",
                                      val_every=3, val_batches=1, ckpt_every=100, out_dir=str(tmp_path / "run"),
                                      progress=False))
    final = run_recipe(recipe)
    meta = json.loads(final.with_name("model.json").read_text())["metadata"]
    metrics = meta["metrics"]
    assert metrics["test_logmel_l1_wavenet_db"] > 0 and metrics["test_logmel_l1_griffinlim64_db"] > 0, metrics
    assert np.isfinite(metrics["test_logmel_l1_wavenet_db"])
    assert "notes dataset" in meta["data"]
    with pytest.raises(ConfigError, match="local"):
        prepare(data, WaveNetConfig.debug())
