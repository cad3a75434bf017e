"""SpecGAN: shapes, normalisation round trip, the critic/generator alternation, training, CLI."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from soundart import checkpoint
from soundart.cli import cli
from soundart.errors import BadInputError, ConfigError
from soundart.spectral.gan import SpecGAN, SpecGANConfig
from soundart.spectral.gan_task import SpecGANDataConfig, clip_logmel, prepare
from soundart.train.config import TrainConfig
from soundart.train.loop import Trainer

FAMS = ("keyboard", "strings")


def tiny(**kw) -> SpecGAN:
    torch.manual_seed(0)
    return SpecGAN(SpecGANConfig.debug(**kw))


def fake_logmels(n: int, m: int = 32, t: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return -60 + 20 * torch.rand(n, m, t, generator=g) + torch.linspace(20, 0, m)[:, None]


def test_shapes_and_normalisation_round_trip() -> None:
    model = tiny()
    x = fake_logmels(6)
    model.set_moments(x)
    img = model.normalize(x)
    assert img.shape == (6, 1, 32, 32), img.shape
    assert img.abs().max() <= 1.0
    inside = (x - model.bin_mean[:, None]).abs() < 3 * model.bin_std[:, None]
    assert torch.allclose(model.denormalize(img)[inside], x[inside], atol=1e-3)
    out = model.generator(torch.randn(3, 8))
    assert out.shape == (3, 1, 32, 32), out.shape
    assert model.critic(out).shape == (3,)
    assert model.sample(2).shape == (2, 32, 32)


def test_default_config_fits_the_size_budget() -> None:
    model = SpecGAN(SpecGANConfig(families=tuple(f"f{i}" for i in range(12))))
    size_mb = sum(p.numel() for p in model.state_dict().values()) * 4 / 1e6
    assert size_mb <= 5.0, size_mb
    assert model.generator(torch.randn(1, 64), torch.tensor([3])).shape == (1, 1, 128, 128)


def test_training_step_updates_critic_itself_and_leaves_generator_to_trainer(one_thread) -> None:
    model = tiny(families=FAMS)
    x = fake_logmels(8)
    model.set_moments(x)
    critic_before = [p.detach().clone() for p in model.critic.parameters()]
    gen_before = [p.detach().clone() for p in model.generator.parameters()]
    loss = model.training_step({"logmel": x, "family": torch.tensor([0, 1] * 4)})
    assert loss.ndim == 0 and torch.isfinite(loss)
    # the critic moved during the call (its own optimiser), the generator did not
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, model.critic.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(gen_before, model.generator.parameters()))
    loss.backward()
    assert all(p.grad is None for p in model.critic.parameters())  # the Trainer cannot move the critic
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())
    assert all(p.requires_grad for p in model.critic.parameters())


def test_family_checks() -> None:
    model = tiny(families=FAMS)
    assert model.sample(3, family="strings", generator=torch.Generator().manual_seed(0)).shape == (3, 32, 32)
    with pytest.raises(BadInputError, match="unknown family 'tuba'"):
        model.sample(1, family="tuba")
    with pytest.raises(BadInputError, match="not family-conditioned"):
        tiny().sample(1, family="strings")


def _train(model: SpecGAN, steps: int, batch_of: Callable[[torch.Tensor], Any]) -> None:
    """``steps`` generator steps (each after the critic's own) on mini-batches of 16 of 64 items,
    ``batch_of(indices)`` giving the training batch."""
    opt = torch.optim.Adam(model.generator.parameters(), lr=3e-3, betas=(0.5, 0.9))
    model.critic_optimizer = torch.optim.Adam(model.critic.parameters(), lr=3e-3, betas=(0.5, 0.9))
    g = torch.Generator().manual_seed(2)
    for _ in range(steps):
        idx = torch.randint(64, (16,), generator=g)
        opt.zero_grad()
        model.training_step(batch_of(idx)).backward()
        opt.step()


def test_wgan_gp_learns_per_bin_moments_on_synthetic_images(one_thread) -> None:
    """Real images: a fixed bright band; after training, samples are closer to it than at init."""
    torch.manual_seed(0)
    model = tiny(n_critic=2)
    real = fake_logmels(64)
    real[:, 8:12] += 25.0  # a loud band the generator has to learn
    model.set_moments(real)
    gen0 = model.sample(64, generator=torch.Generator().manual_seed(0))
    gap0 = (gen0.mean(dim=(0, 2)) - real.mean(dim=(0, 2))).abs().mean()
    _train(model, 25, lambda idx: real[idx])
    gen1 = model.sample(64, generator=torch.Generator().manual_seed(0))
    gap1 = (gen1.mean(dim=(0, 2)) - real.mean(dim=(0, 2))).abs().mean()
    assert gap1 < 0.5 * gap0, (float(gap0), float(gap1))


def _notes_folder(root: Path, per_family: int = 4) -> Path:
    """A miniature notes dataset in the real layout: manifest.csv + audio/pNNN/*.wav at 16 kHz."""
    sr = 16000
    t = np.arange(int(0.6 * sr)) / sr
    rows = []
    for program, family, split in ((0, "keyboard", "train"), (40, "strings", "train"),
                                   (1, "keyboard", "valid"), (41, "strings", "valid")):
        for k in range(per_family):
            pitch = 48 + 3 * k
            f0 = 440 * 2 ** ((pitch - 69) / 12)
            env = np.exp(-4 * t) if family == "keyboard" else np.minimum(1, t * 8)
            harm = sum(np.sin(2 * np.pi * f0 * h * t) / h ** (1 if family == "strings" else 2) for h in range(1, 6))
            audio = (0.3 * env * harm).astype(np.float32)
            rel = Path("audio") / f"p{program:03d}" / f"p{program:03d}-{pitch:03d}-080.wav"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / rel, audio, sr)
            rows.append({"file": str(rel), "program": program, "family": family, "pitch": pitch,
                         "velocity": 80, "split": split, "peak": float(np.abs(audio).max())})
    with open(root / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def test_task_trains_with_shared_trainer_saves_and_reloads(tmp_path: Path, one_thread) -> None:
    root = _notes_folder(tmp_path / "notes")
    cfg = SpecGANConfig.debug(families=FAMS)
    prepared = prepare(SpecGANDataConfig(root=str(root), pitches=(24, 96)), cfg)
    images = prepared.train_data.images
    assert images.shape == (8, 32, 32), images.shape
    assert set(prepared.train_data.families.tolist()) == {0, 1}
    model = prepared.model
    assert torch.allclose(model.bin_mean, images.mean(dim=(0, 2)))
    out = tmp_path / "run"
    trainer = Trainer(model, prepared.train_data, TrainConfig(steps=3, batch_size=4, warmup_steps=0, lr=1e-3,
                      val_every=2, val_batches=1, ckpt_every=3, device="cpu", amp=False, progress=False,
                      out_dir=str(out)), val_data=prepared.val_data)
    trainer.fit()
    loaded = checkpoint.load(out / "model", expect_kind="specgan")
    assert loaded.config.families == FAMS and loaded.config.features == cfg.features
    assert torch.equal(loaded.bin_std, model.bin_std)
    g1, g2 = (torch.Generator().manual_seed(5) for _ in range(2))
    assert torch.allclose(loaded.sample(2, "keyboard", generator=g1), model.cpu().sample(2, "keyboard", generator=g2))
    audio = loaded.to_audio(loaded.sample(1, "strings"), n_iter=2)
    assert audio.shape == (1, 31 * 256), audio.shape
    assert clip_logmel(torch.zeros(100), cfg).shape == (32, 32)


def test_cli_synth_gan(tmp_path: Path) -> None:
    model = tiny(families=FAMS)
    model.set_moments(fake_logmels(4))
    ckpt = tmp_path / "gan"
    checkpoint.save(model, ckpt, {"data": "synthetic"})
    out, png = tmp_path / "g.wav", tmp_path / "g.png"
    run = CliRunner()
    res = run.invoke(cli, ["synth", "gan", "--model", str(ckpt), "-n", "2", "--family", "strings",
                           "-o", str(out), "--plot", str(png), "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert not out.exists()  # -n 2: one file per clip, g-1.wav and g-2.wav
    for i in (1, 2):
        audio, sr = sf.read(tmp_path / f"g-{i}.wav")
        assert sr == 16000 and audio.shape[0] == 31 * 256
    assert png.exists()
    bad = run.invoke(cli, ["synth", "gan", "--model", str(ckpt), "--family", "tuba", "-o", str(tmp_path / "x.wav")])
    assert bad.exit_code == 2 and "unknown family 'tuba'" in bad.output
    assert not (tmp_path / "x.wav").exists()
    zero = run.invoke(cli, ["synth", "gan", "--model", str(ckpt), "-n", "0", "-o", str(tmp_path / "x.wav")])
    assert zero.exit_code == 2 and "-n must be > 0" in zero.output


def _two_family_images(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic notes whose family is where a loud band sits: rows 4-8 (family 0) or 20-24 (family 1)."""
    x = fake_logmels(n)
    fam = torch.arange(n) % 2
    x[fam == 0, 4:8] += 25.0
    x[fam == 1, 20:24] += 25.0
    return x, fam


def _band_gap(model: SpecGAN, family: str) -> float:
    """Mean level of band 4-8 minus band 20-24 in the model's samples of ``family`` (dB)."""
    s = model.sample(64, family=family, generator=torch.Generator().manual_seed(0))
    return float(s[:, 4:8].mean() - s[:, 20:24].mean())


def test_conditioned_generator_and_aux_head_learn_families(one_thread) -> None:
    """cond_norm + AC-GAN head: after a few steps, each family's samples put the band where its real notes do."""
    torch.manual_seed(0)
    model = tiny(families=FAMS, n_critic=2, cond_norm=True, aux_weight=1.0)
    assert model.generator.norms is not None and model.critic.classify is not None
    real, fam = _two_family_images(64)
    model.set_moments(real)
    # at init the family only enters through identity-initialised norms: both families look alike
    assert abs(_band_gap(model, "keyboard") - _band_gap(model, "strings")) < 1.0
    _train(model, 40, lambda idx: {"logmel": real[idx], "family": fam[idx]})
    assert model.generator.norms[0].gain.weight.grad.abs().sum() > 0  # the family reaches every block
    gap_k, gap_s = _band_gap(model, "keyboard"), _band_gap(model, "strings")
    assert gap_k > 5.0 and gap_s < -5.0, (gap_k, gap_s)
    metrics = model.validation_step({"logmel": real, "family": fam})
    assert metrics["aux_real_acc"] >= 0.9, metrics  # the critic's head reads the families of real notes
    assert metrics["aux_fake_acc"] >= 0.9, metrics  # and the samples carry the family they were asked for


def test_new_conditioning_is_opt_in_so_old_checkpoints_load(tmp_path: Path) -> None:
    plain = tiny(families=FAMS)
    keys = set(plain.state_dict())
    assert "generator.net.1.weight" in keys  # the BatchNorm affine of checkpoints saved before cond_norm
    assert not any(".norms." in k or "classify" in k for k in keys)
    assert plain.validation_step({"logmel": fake_logmels(4), "family": torch.tensor([0, 1, 0, 1])}).keys() == {"loss"}
    new = tiny(families=FAMS, cond_norm=True, aux_weight=0.5)
    checkpoint.save(new, tmp_path / "new", {})
    loaded = checkpoint.load(tmp_path / "new", expect_kind="specgan")
    assert loaded.config.cond_norm and loaded.config.aux_weight == 0.5
    g1, g2 = (torch.Generator().manual_seed(3) for _ in range(2))
    assert torch.equal(loaded.sample(2, "strings", generator=g1), new.sample(2, "strings", generator=g2))
    with pytest.raises(ConfigError, match="need families"):
        SpecGANConfig.debug(cond_norm=True)
    with pytest.raises(ConfigError, match="aux_weight must be >= 0"):
        SpecGANConfig.debug(families=FAMS, aux_weight=-1.0)


def test_family_reaches_every_block_and_generator_pays_the_aux_loss(one_thread) -> None:
    model = tiny(families=FAMS, cond_norm=True, aux_weight=2.0, critic_lr=0.0)
    model.set_moments(fake_logmels(8))
    before = [model.sample(4, family=f, generator=torch.Generator().manual_seed(0)) for f in FAMS]
    with torch.no_grad():  # the last block's bias for family 1 only: family 0 must not change
        model.generator.norms[-1].bias.weight[1] += 3.0
    after = [model.sample(4, family=f, generator=torch.Generator().manual_seed(0)) for f in FAMS]
    assert torch.equal(before[0], after[0]) and not torch.allclose(before[1], after[1])
    # with the critic's score zeroed (and frozen by critic_lr 0), the generator loss is the AC term alone
    with torch.no_grad():
        for p in (model.critic.out.weight, model.critic.out.bias, model.critic.project.weight):
            p.zero_()
    loss = model.training_step({"logmel": fake_logmels(8), "family": torch.tensor([0, 1] * 4)})
    loss = loss.detach()
    assert 2.0 * 0.3 < float(loss) < 2.0 * 3.0, float(loss)  # 2 x cross-entropy of two classes near ln 2
