"""WaveNet model: mu-law, causality and receptive field, conditioning, training, checkpoints, recipe task."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from soundart.audio.wavenet_codes import mulaw_companded, mulaw_decode, mulaw_encode, upsample_frames
from soundart.audio.wavenet_config import WaveNetConfig
from soundart.audio.wavenet_notes import WaveNetNotesConfig
from soundart.audio.wavenet_task import build
from soundart.audio.wavenet_vocoder import WaveNetVocoderConfig
from soundart.errors import BadInputError, ConfigError, ModelError
from tests.conftest import tiny_wavenet


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one thread avoids OpenMP spin-waiting on the shared 2-core CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


_model = tiny_wavenet


def _config(local: bool = False, **kw):
    """A tiny note generator's config, or with ``local`` a mel vocoder's."""
    return (WaveNetVocoderConfig if local else WaveNetNotesConfig).debug(**kw)


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
    model = build(WaveNetNotesConfig.debug(n_families=2, pitch_conditioning=True))
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
    loaded = checkpoint.load(tmp_path / "wn", expect_kind="wavenet-vocoder")
    assert loaded.config == model.config
    x = torch.rand(1, 256) * 2 - 1
    mel = torch.randn(1, model.config.features.n_mels, 5) * 10 - 30
    with torch.no_grad():
        assert torch.equal(model(x, mel=mel), loaded(x, mel=mel))


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="max_dilation_exp"):
        WaveNetNotesConfig(max_dilation_exp=20)
    with pytest.raises(ConfigError, match="residual_channels"):
        WaveNetNotesConfig(residual_channels=0)
    with pytest.raises(ConfigError, match="lpc_order must be in"):
        WaveNetVocoderConfig(lpc_order=2048)
    with pytest.raises(ConfigError, match="synthesis_lpc_order .* needs lpc_order"):
        WaveNetVocoderConfig(synthesis_lpc_order=256)
    assert WaveNetVocoderConfig(lpc_order=64, synthesis_lpc_order=256).sampling_lpc_order == 256
    assert WaveNetVocoderConfig(lpc_order=64).sampling_lpc_order == 64


def test_recipe_task_trains_and_evaluates(tiny_notes, tmp_path):
    """The wavenet-vocoder task through the recipe path: crops, mel collate, Trainer, evaluate's metrics."""
    import json

    from soundart.audio.wavenet_task import WaveNetDataConfig, make_collate, prepare
    from soundart.train import TrainConfig
    from soundart.train.recipe import Recipe, run_recipe

    torch.set_num_threads(1)
    model_cfg = WaveNetVocoderConfig.debug()
    data = WaveNetDataConfig(root=str(tiny_notes), segment=512, eval_items=2, eval_seconds=0.25)
    prepared = prepare(data, model_cfg)
    item = prepared.train_data[0]
    assert item["audio"].shape == (512,), item["audio"].shape
    batch = make_collate(model_cfg, 512)([prepared.train_data[i] for i in range(2)])
    hop = model_cfg.features.hop_length
    assert batch["mel"].shape == (2, model_cfg.features.n_mels, 512 // hop + 1), batch["mel"].shape
    assert torch.isfinite(batch["mel"]).all()
    recipe = Recipe(task="wavenet-vocoder", name="wn-test", data=data, model=model_cfg,
                    train=TrainConfig(steps=3, batch_size=2, warmup_steps=1, amp=False, device="cpu",
                                      val_every=3, val_batches=1, ckpt_every=100, out_dir=str(tmp_path / "run"),
                                      progress=False))
    final = run_recipe(recipe)
    meta = json.loads(final.with_name("model.json").read_text())["metadata"]
    metrics = meta["metrics"]
    assert metrics["test_logmel_l1_wavenet_db"] > 0 and metrics["test_logmel_l1_griffinlim64_db"] > 0, metrics
    assert np.isfinite(metrics["test_logmel_l1_wavenet_db"])
    assert "notes dataset" in meta["data"]
    assert 0 < metrics["test_logmel_l1_mulaw8_roundtrip_db"] < metrics["test_logmel_l1_wavenet_db"], metrics
    with pytest.raises(ConfigError, match="neither a note generator's nor a vocoder's"):
        prepare(data, WaveNetConfig.debug())
    with pytest.raises(ConfigError, match="peak_normalize is for a generator"):
        prepare(dataclasses.replace(data, peak_normalize=0.5), model_cfg)

    # a second stage: the 16-bit logistic-mixture vocoder starts from the mu-law run's body
    second = Recipe(task="wavenet-vocoder", name="wn-test-2",
                    data=WaveNetDataConfig(root=str(tiny_notes), segment=512, eval_items=2,
                                           eval_seconds=0.25, init_from=str(final.with_suffix(""))),
                    model=WaveNetVocoderConfig.debug(output="logistic", mixtures=2),
                    train=TrainConfig(steps=2, batch_size=2, warmup_steps=1, amp=False, device="cpu", val_every=2,
                                      val_batches=1, ckpt_every=100, out_dir=str(tmp_path / "run2"),
                                      progress=False))
    meta2 = json.loads(run_recipe(second).with_name("model.json").read_text())["metadata"]
    assert "started from" in meta2["data"] and "out2.weight" in meta2["data"], meta2["data"]
    assert np.isfinite(meta2["metrics"]["test_logmel_l1_wavenet_db"])


def test_recipe_task_trains_a_generator_with_side_inputs(tiny_notes, tmp_path):
    import json

    from soundart.audio.wavenet_task import WaveNetDataConfig
    from soundart.train import TrainConfig
    from soundart.train.recipe import Recipe, run_recipe

    torch.set_num_threads(1)
    recipe = Recipe(task="wavenet-notes", name="wn-gen-test",
                    data=WaveNetDataConfig(root=str(tiny_notes), segment=512, eval_items=2, eval_seconds=0.25,
                                           peak_normalize=0.5, crop_seconds=1.0),
                    model=WaveNetNotesConfig.debug(n_families=12, pitch_conditioning=True, pitch_waves=2, note_clock=2,
                                              input_noise=0.1),
                    train=TrainConfig(steps=3, batch_size=2, warmup_steps=1, amp=False, device="cpu", val_every=3,
                                      val_batches=1, ckpt_every=100, out_dir=str(tmp_path / "run"), progress=False))
    metrics = json.loads(run_recipe(recipe).with_name("model.json").read_text())["metadata"]["metrics"]
    assert metrics["test_notes"] == 2
    # near uniform over 256 classes after 3 steps; the waves from phase 0 differ from those in step
    for key in ("test_nll_bits_per_sample", "test_nll_bits_per_sample_as_sampled"):
        assert 4 < metrics[key] < 9, metrics
    assert metrics["test_nll_bits_per_sample"] != metrics["test_nll_bits_per_sample_as_sampled"]


def test_generator_crops_scaled_to_a_peak_and_kept_within_the_held_part(tiny_notes):
    from soundart.audio.wavenet_task import NoteCrops, WaveNetDataConfig, _notes, load_clips

    data = WaveNetDataConfig(root=str(tiny_notes), peak_normalize=0.5, crop_seconds=1.0)
    notes = _notes(data, "train")
    whole, _, _ = load_clips(notes, 4.0, peak=0.5)
    np.testing.assert_allclose(whole.abs().amax(-1).numpy(), 0.5, rtol=1e-3)
    raw, _, _ = load_clips(notes, 4.0)
    assert not np.allclose(raw.abs().amax(-1).numpy(), 0.5, rtol=1e-3)
    crops = NoteCrops(notes, 512, 128, onset_fraction=0.0, seed=0, whole=False, peak=0.5, crop_samples=16000)
    starts = [crops[i % len(crops)]["start"] for i in range(40)]
    assert max(starts) + 512 <= 16000 and len(set(starts)) > 5, starts
    for i in range(len(crops)):
        item = crops[i]
        row = notes.rows[i]
        expect = raw[i, item["start"]:item["start"] + 512] * (0.5 / row.peak)
        np.testing.assert_allclose(item["audio"].numpy(), expect.numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="peak_normalize"):
        WaveNetDataConfig(peak_normalize=1.5)


def test_logistic_mixture_nll_is_the_bins_probability():
    """The discretized-logistic loss equals -log of the bin's mass, computed directly, incl. the two end bins."""
    from soundart.audio.wavenet_codes import LEVELS, level_decode, level_encode, level_value, logistic_mixture_nll

    codes = torch.tensor([[0, 1000, 32768, 40000, 65535]])
    assert torch.equal(level_encode(level_decode(codes)), codes)
    x = level_value(codes, torch.float64)
    params = torch.tensor([[0.3, -0.2], [0.01, 0.02], [-3.0, -5.0]], dtype=torch.float64)  # logits, means, log s
    params = params[:, :, None].expand(3, 2, 5).reshape(1, 6, 5)
    half = 1.0 / (LEVELS - 1)
    w = torch.softmax(params[0, :2, 0], dim=0)
    expected = []
    for v in x[0]:
        mass = 0.0
        for k in range(2):
            mean, s = params[0, 2 + k, 0], math.exp(params[0, 4 + k, 0])
            hi = 1.0 if v >= 1 - half else torch.sigmoid((v + half - mean) / s)
            lo = 0.0 if v <= -1 + half else torch.sigmoid((v - half - mean) / s)
            mass += float(w[k]) * float(hi - lo)
        expected.append(-math.log(mass))
    got = [float(logistic_mixture_nll(params[..., i:i + 1], x[:, i:i + 1], 2, -11.0)) for i in range(5)]
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)
    # the floor on the log scale: a scale far below one 16-bit step cannot buy more than the whole bin
    sharp = torch.tensor([[[0.0], [float(x[0, 2])], [-30.0]]], dtype=torch.float64)
    s_min = math.exp(-11.0)
    floor = -math.log(1 / (1 + math.exp(-half / s_min)) - 1 / (1 + math.exp(half / s_min)))
    assert float(logistic_mixture_nll(sharp, x[:, 2:3], 1, -11.0)) == pytest.approx(floor, rel=1e-6)
    assert floor > 0.5


def test_logistic_output_trains_on_a_quiet_tone():
    """16-bit logistic-mixture output: the loss falls well below its start on tones at -30 dBFS."""
    torch.manual_seed(0)
    model = build(WaveNetNotesConfig.debug(n_families=2, output="logistic", mixtures=3))
    assert model.out2.out_channels == 9
    t = torch.arange(1024) / 16000
    audio = torch.stack([0.03 * torch.sin(2 * math.pi * 440 * t), 0.02 * torch.sin(2 * math.pi * 220 * t + 1)])
    batch = {"audio": audio, "family": torch.tensor([0, 1])}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.training_step(batch).detach())
    for _ in range(60):
        opt.zero_grad()
        model.training_step(batch).backward()
        opt.step()
    last = float(model.training_step(batch).detach())
    assert last < first - 2.0, (first, last)
    codes = model.encode(audio)
    # one 16-bit companded step at amplitude a is about 2 / 65535 * (1 + 255 a) ln(256) / 255
    step = 2 / 65535 * (1 + 255 * 0.03) * math.log(256) / 255
    assert codes.max() <= 65535 and (model.decode(codes) - audio).abs().max() <= step / 2 + 1e-7


def test_config_rejects_unknown_output():
    with pytest.raises(ConfigError, match="output"):
        WaveNetNotesConfig(output="gaussian")
    with pytest.raises(ConfigError, match="mixtures"):
        WaveNetNotesConfig(output="logistic", mixtures=0)


def test_init_from_copies_the_body_and_leaves_a_new_output_fresh(tmp_path):
    from soundart import checkpoint
    from soundart.audio.wavenet_warm_start import init_from

    source = _model(local=True)
    checkpoint.save(source, tmp_path / "mulaw", {"data": "test"})
    torch.manual_seed(5)
    target = build(WaveNetVocoderConfig.debug(output="logistic", mixtures=2))
    fresh_out = target.out2.weight.clone()
    fresh = init_from(target, str(tmp_path / "mulaw"))
    assert sorted(fresh) == ["out2.bias", "out2.weight"]
    assert torch.equal(target.dilated[3].weight, source.dilated[3].weight)
    assert torch.equal(target.frame_net[0].weight, source.frame_net[0].weight)
    assert torch.equal(target.out2.weight, fresh_out)
    with pytest.raises(ConfigError, match="do not fit"):
        init_from(build(WaveNetVocoderConfig.debug(residual_channels=4)), str(tmp_path / "mulaw"))
    with pytest.raises(ModelError, match="holds a 'wavenet-vocoder' model, expected wavenet-notes"):
        init_from(build(WaveNetNotesConfig.debug()), str(tmp_path / "mulaw"))


@pytest.mark.parametrize("kw", [dict(local=True), dict(n_families=3, pitch_conditioning=True),
                                dict(n_families=3, pitch_conditioning=True, pitch_waves=2)])
def test_init_from_a_narrower_model_widens_it_without_changing_its_outputs(tmp_path, kw):
    from soundart import checkpoint
    from soundart.audio.wavenet_warm_start import init_from

    narrow = _model(**kw)
    checkpoint.save(narrow, tmp_path / "narrow", {"data": "test"})
    torch.manual_seed(1)
    wide = build(_config(residual_channels=12, skip_channels=16, **kw))
    assert init_from(wide, str(tmp_path / "narrow")) == []
    wide.eval()
    torch.manual_seed(2)
    x = torch.rand(2, 300) * 2 - 1
    cond = (dict(mel=torch.randn(2, 16, 6) * 10 - 40) if kw.get("local")
            else dict(family=torch.tensor([0, 2]), pitch=torch.tensor([40, 70])))
    assert torch.allclose(wide(x, **cond), narrow(x, **cond), atol=1e-5)
    # every weight can learn (but the last layer's residual update, which nothing reads)
    wide.train()
    F.cross_entropy(wide(x, **cond), torch.randint(0, 256, (2, 300))).backward()
    last = len(wide.config.dilations) - 1
    still = [name for name, p in wide.named_parameters() if p.grad is None or not p.grad.any()]
    assert still == [f"residual.{last}.weight", f"residual.{last}.bias"]
    with pytest.raises(ConfigError, match="do not fit"):  # narrower, or another depth
        init_from(build(_config(residual_channels=12, skip_channels=4, **kw)), str(tmp_path / "narrow"))
    with pytest.raises(ConfigError, match="do not fit"):
        init_from(build(_config(residual_channels=12, cycles=2, **kw)), str(tmp_path / "narrow"))


def test_input_noise_only_in_training():
    """input_noise perturbs the teacher-forced inputs while training; evaluation sees clean inputs."""
    torch.manual_seed(0)
    model = build(WaveNetVocoderConfig.debug(output="logistic", mixtures=2, input_noise=0.05))
    audio = torch.rand(2, 256) * 0.2 - 0.1
    mel = torch.randn(2, model.config.features.n_mels, 256 // model.config.features.hop_length + 1) * 10 - 30
    with torch.no_grad():
        model.eval()
        clean = [float(model.loss(audio, mel=mel)) for _ in range(2)]
        model.train()
        noisy = [float(model.loss(audio, mel=mel)) for _ in range(2)]
    assert clean[0] == clean[1] and noisy[0] != noisy[1] and clean[0] not in noisy
    with pytest.raises(ConfigError, match="input_noise"):
        WaveNetNotesConfig(input_noise=-1)


def test_pitch_waves_are_in_step_with_the_note():
    """Training reads harmonics in the phase measured in the crop; sampling starts them at phase 0."""
    from soundart.audio.wavenet_notes import harmonic_phases, pitch_waves

    t = torch.arange(2048, dtype=torch.float64) / 16000
    f0 = 440 * 2 ** ((60 - 69) / 12)
    phases = torch.tensor([[0.5, -2.0, 3.0]], dtype=torch.float64)
    note = sum(0.4 / k * torch.sin(2 * math.pi * k * f0 * t + phases[0, k - 1]) for k in (1, 2, 3))[None]
    got = harmonic_phases(note, torch.tensor([60]), 3, 16000)
    assert torch.allclose(got, phases, atol=0.02), got
    waves = pitch_waves(torch.tensor([60, 108]), 2048, 3, 16000, got.repeat(2, 1), dtype=torch.float64)
    assert waves.shape == (2, 6, 2048)
    assert float((waves[0, 0] * 0.4 - note[0] + sum(0.4 / k * torch.sin(2 * math.pi * k * f0 * t + phases[0, k - 1])
                                                    for k in (2, 3))).abs().max()) < 0.01
    assert waves[1, [1, 2, 4, 5]].abs().max() == 0  # 8.4 and 12.6 kHz are past Nyquist
    assert torch.allclose(pitch_waves(torch.tensor([60]), 5, 1, 16000, dtype=torch.float64)[0, 1, 0],
                          torch.tensor(1.0, dtype=torch.float64))  # cosine at phase 0
    model = build(WaveNetNotesConfig.debug(pitch_conditioning=True, pitch_waves=3))
    pitch = torch.tensor([60])  # the side inputs in training: the waves at the phases measured in the note
    assert torch.allclose(model.side_inputs(pitch, 2048, torch.float64, audio=note),
                          pitch_waves(pitch, 2048, 3, 16000, got, dtype=torch.float64), atol=1e-12)
    assert torch.equal(model.side_inputs(pitch, 2048, torch.float64), pitch_waves(pitch, 2048, 3, 16000,
                                                                                   dtype=torch.float64))
    with pytest.raises(ConfigError, match="pitch_waves"):
        WaveNetNotesConfig(pitch_waves=2)  # without pitch conditioning


def test_note_clock_counts_from_the_onset():
    from soundart.audio.wavenet_notes import note_clock

    clock = note_clock(torch.tensor([0, 400]), 800, 3, 16000, dtype=torch.float64)
    assert clock.shape == (2, 3, 800) and (clock[0, :, 0] == 1).all()
    assert torch.allclose(clock[0, :, 400:], clock[1, :, :400])  # a crop 400 samples in goes on from there
    assert abs(float(clock[0, 0, 400]) - math.exp(-1)) < 1e-12  # 25 ms
    assert abs(float(clock[0, 1, 400]) - math.exp(-0.25)) < 1e-12  # 100 ms
    model = build(WaveNetNotesConfig.debug(note_clock=3)).eval()
    x = torch.rand(1, 300) * 2 - 1
    with torch.no_grad():  # the default clock starts at the onset; a later start changes the outputs
        assert torch.equal(model(x), model(x, side=model.side_inputs(None, 300, x.dtype, start=torch.tensor([0]))))
        assert not torch.allclose(model(x), model(x, side=model.side_inputs(None, 300, x.dtype,
                                                                           start=torch.tensor([8000]))))
    with pytest.raises(ConfigError, match="note_clock"):
        WaveNetNotesConfig(note_clock=9)


def test_generator_with_pitch_waves_plays_the_asked_pitch():
    """A tiny generator trained on tones of random phase with noisy inputs plays each asked pitch."""
    from soundart.audio.wavenet_generate import generate

    torch.manual_seed(0)
    model = build(WaveNetNotesConfig.debug(n_families=1, pitch_conditioning=True, pitch_waves=2, input_noise=0.3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    pitch = torch.tensor([57, 69] * 4)
    f0 = 440 * 2 ** ((pitch[:, None].double() - 69) / 12)
    for _ in range(200):
        phase = torch.rand(8, 1, dtype=torch.float64) * 2 * math.pi
        audio = (0.5 * torch.sin(2 * math.pi * f0 * torch.arange(512) / 16000 + phase)).float()
        opt.zero_grad()
        model.loss(audio, torch.zeros(8, dtype=torch.long), pitch).backward()
        opt.step()
    model.eval()
    codes = generate(model, 4096, batch=2, family=[0, 0], pitch=[69, 57], seed=0)
    for clip, hz in zip(model.decode(codes), (440.0, 220.0)):
        spectrum = torch.fft.rfft(clip * torch.hann_window(4096)).abs()
        assert abs(float(spectrum.argmax()) * 16000 / 4096 - hz) < 8, float(spectrum.argmax()) * 16000 / 4096
        assert float(clip.pow(2).mean().sqrt()) > 0.2  # measured 0.35: the tone, not a quiet hiss


def test_note_level_blocks_and_track():
    """A block's level is its mean square in dB; the track interpolates between block centres."""
    from soundart.audio.wavenet_notes import LEVEL_FLOOR_DB, level_blocks_db, level_track

    t = torch.arange(1100, dtype=torch.float64)
    amplitude = torch.where(t < 512, 0.5, 0.05)
    audio = amplitude * torch.sin(2 * math.pi * t / 16)  # whole periods per block: mean square A^2 / 2
    audio[1024:] = 0.0  # a short last block of silence
    blocks = level_blocks_db(audio[None], 512)
    assert blocks.shape == (1, 3)
    expect = [10 * math.log10(0.5 ** 2 / 2), 10 * math.log10(0.05 ** 2 / 2)]
    assert torch.allclose(blocks[0, :2], torch.tensor(expect, dtype=torch.float64), atol=1e-6), blocks
    assert abs(float(blocks[0, 2]) - LEVEL_FLOOR_DB) < 1e-6
    track = level_track(blocks, 1536, 512, torch.float64)[0, 0]
    to_input = (blocks[0] + 40) / 20
    assert torch.allclose(track[:256], to_input[0].expand(256))  # held before the first centre
    # centres at samples 255.5 and 767.5: samples 511 and 512 lie either side of halfway
    assert abs(float(track[511] + track[512]) / 2 - float(to_input[0] + to_input[1]) / 2) < 1e-9
    assert torch.allclose(track[1280:], to_input[2].expand(256))  # and after the last
    later = level_track(blocks, 500, 512, torch.float64, start=torch.tensor([700]))[0, 0]
    assert torch.allclose(later, track[700:1200])


def test_note_level_trained_as_read_and_sampled_from_the_family_median(tiny_notes):
    """Training reads each crop's own level; sampling (and the as-sampled NLL) the family's median level,
    which the recipe measures on the training notes and the checkpoint keeps."""
    from soundart import checkpoint
    from soundart.audio.wavenet_notes import level_blocks_db, level_track
    from soundart.audio.wavenet_task import WaveNetDataConfig, _notes, family_levels, load_clips

    torch.manual_seed(0)
    config = WaveNetNotesConfig.debug(n_families=12, note_level=True, note_level_seconds=0.5)
    model = build(config).eval()
    assert model.input.weight.shape[1] == 2  # the previous sample and the level
    audio = torch.rand(2, 1000) * 0.2 - 0.1
    side = model.side_inputs(None, 1000, torch.float32, audio=audio)
    assert torch.allclose(side, level_track(level_blocks_db(audio, 512), 1000, 512))
    notes = _notes(WaveNetDataConfig(root=str(tiny_notes)), "train")
    levels = family_levels(notes, config, peak=0.5)
    assert levels.shape == (12, config.level_blocks) == (12, 16)
    clips, fam, _ = load_clips(notes, 16 * 512 / 16000, peak=0.5)
    for f in range(12):
        mine = fam == f
        if mine.any():
            expect = level_blocks_db(clips[mine], 512).median(dim=0).values.float()
            assert torch.allclose(levels[f], expect, atol=1e-4), f
    model.family_level.copy_(levels)
    f = int(fam[0])
    sampled = model.side_inputs(None, 3000, torch.float32, start=torch.tensor([500]), family=torch.tensor([f]))
    assert torch.allclose(sampled, level_track(levels[f:f + 1], 3000, 512, start=torch.tensor([500])))
    checkpoint.save(model, tiny_notes.parent / "level")
    assert torch.equal(checkpoint.load(tiny_notes.parent / "level").family_level, levels)
    with torch.no_grad():  # a quieter family median changes the NLL as sampled, not as trained
        as_trained = float(model.loss(clips[:1], fam[:1]))
        as_sampled = float(model.loss(clips[:1], fam[:1], as_sampled=True))
        model.family_level.sub_(30.0)
        assert float(model.loss(clips[:1], fam[:1])) == as_trained
        assert abs(float(model.loss(clips[:1], fam[:1], as_sampled=True)) - as_sampled) > 1e-3
    with pytest.raises(ConfigError, match="note_level"):
        WaveNetNotesConfig(note_level=True)  # without families


def test_generator_with_note_level_plays_at_the_level_it_reads():
    """A tiny generator trained on tones of random level, given a quiet and a loud family median level,
    samples a quiet and a loud tone: the level input sets the loudness."""
    from soundart.audio.wavenet_generate import generate

    torch.manual_seed(0)
    config = WaveNetNotesConfig.debug(n_families=2, note_level=True, note_level_seconds=0.3, input_noise=0.3)
    model = build(config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    t = torch.arange(512, dtype=torch.float64) / 16000
    for _ in range(200):
        amplitude = 10 ** (torch.rand(8, 1, dtype=torch.float64) * 1.5 - 2)  # 0.01 to 0.3
        phase = torch.rand(8, 1, dtype=torch.float64) * 2 * math.pi
        audio = (amplitude * torch.sin(2 * math.pi * 440 * t + phase)).float()
        opt.zero_grad()
        model.loss(audio, torch.randint(0, 2, (8,))).backward()  # the family says nothing of the level
        opt.step()
    model.eval()
    asked = torch.tensor([0.02, 0.25])
    model.family_level.copy_((20 * torch.log10(asked / math.sqrt(2)))[:, None].expand(2, config.level_blocks))
    clips = model.decode(generate(model, 4096, batch=2, family=[0, 1], seed=0))
    rms = clips[:, 1024:].pow(2).mean(-1).sqrt()
    for got, want in zip(rms.tolist(), (asked / math.sqrt(2)).tolist()):
        assert want / 2 < got < want * 2, (rms, asked / math.sqrt(2))


def test_shipped_checkpoints_of_the_old_kind_load_as_their_model():
    """The shipped files say kind "wavenet" (one config for both): local picks the model and its config."""
    from soundart.audio.wavenet_notes import WaveNetNotes
    from soundart.audio.wavenet_vocoder import WaveNetVocoder
    from soundart.models import load_model

    notes, vocoder = load_model("wavenet-notes"), load_model("wavenet-vocoder")
    assert notes.checkpoint["kind"] == vocoder.checkpoint["kind"] == "wavenet"
    assert type(notes) is WaveNetNotes and type(notes.config) is WaveNetNotesConfig
    assert type(vocoder) is WaveNetVocoder and type(vocoder.config) is WaveNetVocoderConfig
    assert notes.config.n_families == 12 and vocoder.config.lpc_order == 64
    assert load_model("wavenet-notes", expect_kind="wavenet-notes") is not None
    with pytest.raises(ModelError, match="holds a 'wavenet-vocoder' model, expected wavenet-notes"):
        load_model("wavenet-vocoder", expect_kind="wavenet-notes")


def test_an_old_config_with_the_other_models_conditioning_on_is_refused(tmp_path):
    import json

    from soundart import checkpoint
    from soundart.audio.wavenet_old_config import split_old_config

    assert split_old_config({"local": True, "n_families": 0, "lpc_order": 8}) == ("wavenet-vocoder",
                                                                                   {"lpc_order": 8})
    assert split_old_config({"lpc_order": 0, "frame_channels": 8, "n_families": 2}) == ("wavenet-notes",
                                                                                          {"n_families": 2})
    with pytest.raises(ConfigError, match="a mel vocoder cannot have n_families"):
        split_old_config({"local": True, "n_families": 3})
    model = _model(local=True)
    checkpoint.save(model, tmp_path / "old")
    document = json.loads((tmp_path / "old.json").read_text())
    document["kind"], document["config"]["local"] = "wavenet", True
    (tmp_path / "old.json").write_text(json.dumps(document))
    assert checkpoint.load(tmp_path / "old", expect_kind="wavenet-vocoder").config == model.config
    document["config"]["pitch_conditioning"] = True
    (tmp_path / "old.json").write_text(json.dumps(document))
    with pytest.raises(ModelError, match="cannot have pitch_conditioning"):
        checkpoint.load(tmp_path / "old")


def test_a_recipe_of_the_old_wavenet_task_loads_as_todays(tmp_path):
    from soundart.train.recipe import load_recipe

    path = tmp_path / "old.yaml"
    path.write_text("task: wavenet\ndata: {mode: vocoder, segment: 1024}\nmodel: {local: true, lpc_order: 32}\n")
    recipe = load_recipe(path)
    assert recipe.task == "wavenet-vocoder" and recipe.model == WaveNetVocoderConfig(lpc_order=32)
    assert recipe.data.segment == 1024
    path.write_text("task: wavenet\ndata: {peak_normalize: 0.5}\nmodel: {n_families: 12, note_clock: 2}\n")
    recipe = load_recipe(path)
    assert recipe.task == "wavenet-notes" and recipe.model == WaveNetNotesConfig(n_families=12, note_clock=2)
    path.write_text("task: wavenet\ndata: {mode: vocoder}\nmodel: {lpc_order: 32}\n")
    with pytest.raises(ConfigError, match="old.yaml: wavenet: data.mode vocoder needs model.local: true"):
        load_recipe(path)
