"""Fast (cached, numba) WaveNet generation == the naive recompute path; seeds; the CLI and its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from soundart.audio.wavenet_codes import mulaw_decode
from soundart.audio.wavenet_generate import generate, generate_audio
from soundart.audio.wavenet_notes import WaveNetNotesConfig
from soundart.audio.wavenet_task import build
from soundart.audio.wavenet_vocoder import WaveNetVocoderConfig
from soundart.cli import cli
from soundart.errors import ConfigError
from tests.conftest import tiny_wavenet


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one thread avoids OpenMP spin-waiting on the shared 2-core CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


_model = tiny_wavenet


@pytest.mark.parametrize("side", [{}, dict(pitch_waves=3, note_clock=2),
                                  dict(pitch_waves=3, note_clock=2, note_level=True, note_level_seconds=0.1)])
def test_fast_equals_naive_generator_first_2000_samples(side):
    model = _model(n_families=3, pitch_conditioning=True, **side)
    if model.config.note_level:  # family levels rising from -60 to -10 dB over the first 0.1 s
        model.family_level.copy_(torch.linspace(-60, -10, model.config.level_blocks).repeat(3, 1))
    kw = dict(batch=2, family=[0, 2], pitch=[60, 43], seed=7, dtype=torch.float64)
    fast = generate(model, 2000, method="fast", **kw)
    naive = generate(model, 2000, method="naive", **kw)
    assert fast.shape == (2, 2000), fast.shape
    mismatch = (fast != naive).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"
    assert fast.unique().numel() > 50  # a real random walk through many classes, not a constant
    # float32 fast path (the default) follows the same samples for a long stretch
    f32 = generate(model, 2000, method="fast", batch=2, family=[0, 2], pitch=[60, 43], seed=7)
    assert (f32[:, :500] == fast[:, :500]).float().mean() > 0.99



def test_sampling_temperature_comes_from_the_model_unless_given():
    model = _model(n_families=3)
    model.config.sampling_temperature = 0.5
    kw = dict(batch=2, family=[0, 2], seed=7)
    default = generate(model, 300, **kw)
    assert torch.equal(default, generate(model, 300, temperature=0.5, **kw))
    assert not torch.equal(default, generate(model, 300, temperature=1.0, **kw))
    with pytest.raises(ConfigError, match="sampling_temperature"):
        WaveNetNotesConfig(sampling_temperature=0)

def test_fast_equals_naive_vocoder():
    model = _model(local=True)
    hop = model.config.features.hop_length
    mel = torch.randn(1, model.config.features.n_mels, 2000 // hop + 2) * 10 - 30
    fast = generate(model, 2000, mel=mel, seed=3, dtype=torch.float64)
    naive = generate(model, 2000, mel=mel, seed=3, dtype=torch.float64, method="naive")
    mismatch = (fast != naive).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"


@pytest.mark.parametrize("kind", ["vocoder", "generator"])
def test_fast_equals_naive_logistic_mixture(kind):
    """The 16-bit logistic-mixture output: same codes from both paths for 2,000 samples.

    A continuous amplitude rounded to one of 65,536 levels sees float differences a class choice
    does not: this test found the fast path's skip biases summed in float32 (1e-8 off), now float64.
    """
    if kind == "vocoder":
        model = _model(local=True, output="logistic", mixtures=4)
        hop = model.config.features.hop_length
        kw = dict(mel=torch.randn(2, model.config.features.n_mels, 2000 // hop + 2) * 10 - 30)
    else:
        model = _model(n_families=3, output="logistic", mixtures=4)
        kw = dict(batch=2, family=[0, 2], temperature=0.7)  # the temperature path too
    fast = generate(model, 2000, seed=3, dtype=torch.float64, **kw)
    naive = generate(model, 2000, seed=3, dtype=torch.float64, method="naive", **kw)
    mismatch = (fast != naive).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"
    assert fast.shape == (2, 2000) and fast.unique().numel() > 500 and int(fast.max()) <= 65535
    audio = generate_audio(model, 2000, seed=3, **kw)
    assert audio.abs().max() <= 1.0 and audio.dtype == torch.float32


def _tones(n_samples: int, sr: int) -> torch.Tensor:
    """Two decaying harmonic tones (220 and 330 Hz, five partials) ``(2, n_samples)``."""
    t = torch.arange(n_samples) / sr
    return torch.stack([sum(0.3 / k * torch.sin(2 * np.pi * f0 * k * t) for k in range(1, 6)) * torch.exp(-2 * t)
                        for f0 in (220.0, 330.0)])


def _tone_mel(features, seconds: float) -> torch.Tensor:
    """Log-mel of :func:`_tones` (a real envelope for the all-pole coefficients)."""
    from soundart.features import logmel

    return logmel(_tones(int(seconds * features.sr), features.sr), features)


@pytest.mark.parametrize("output,synthesis_order", [("mulaw", 0), ("logistic", 0), ("mulaw", 24)])
def test_fast_equals_naive_linear_prediction(output, synthesis_order):
    """Linear prediction (the network samples the excitation): both paths give the same codes and audio,
    also when sampling runs the excitation through deeper filters than training used."""
    model = _model(local=True, lpc_order=8, output=output, mixtures=4, synthesis_lpc_order=synthesis_order)
    mel = _tone_mel(model.config.features, 2000 / 16000 + 0.01)
    kw = dict(mel=mel, seed=5, dtype=torch.float64)
    fast_codes, fast = generate(model, 2000, **kw), generate_audio(model, 2000, **kw)
    naive_codes = generate(model, 2000, method="naive", **kw)
    naive = generate_audio(model, 2000, method="naive", **kw)
    mismatch = (fast_codes != naive_codes).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"
    assert fast_codes.unique().numel() > 50
    assert torch.equal(fast, naive)
    # the audio is the prediction plus the excitation, not the excitation's codes decoded
    assert not torch.allclose(fast, model.decode(fast_codes), atol=1e-3)
    assert fast.abs().max() <= 1.0
    if synthesis_order:
        # the network reads only its own codes: the same codes, through other filters
        trained = _model(local=True, lpc_order=8, output=output, mixtures=4)
        trained.load_state_dict(model.state_dict())
        assert torch.equal(generate(trained, 2000, **kw), fast_codes)
        assert not torch.allclose(generate_audio(trained, 2000, **kw), fast, atol=1e-3)


@pytest.mark.parametrize("lpc_order", [8, 0])
def test_beam_search_follows_the_mel(lpc_order):
    """The mel-guided beam search: its clip matches the given log-mel better than plain samples do,
    its codes and audio come from one traced-back path, and it is seeded like plain sampling."""
    from soundart.audio.wavenet_beam import BEAM_CHILDREN
    from soundart.features import logmel

    model = _model(local=True, lpc_order=lpc_order)
    cfg = model.config.features
    mel = _tone_mel(cfg, 0.2)  # two clips, two tones
    n = (mel.shape[-1] - 1) * cfg.hop_length

    def l1(audio):
        return (logmel(audio, cfg) - mel).abs().mean(dim=(1, 2))

    found = generate_audio(model, n, mel=mel, seed=0, beam=4)
    assert found.shape == (2, n) and torch.isfinite(found).all()
    assert torch.equal(found, generate_audio(model, n, mel=mel, seed=0, beam=4))
    assert not torch.equal(found, generate_audio(model, n, mel=mel, seed=1, beam=4))
    assert generate_audio(model, n // 2, mel=mel, seed=0, beam=2).shape == (2, n // 2)  # shorter than the mel
    plain = torch.stack([l1(generate_audio(model, n, mel=mel, seed=s)) for s in range(4 * BEAM_CHILDREN)])
    assert (l1(found) < plain.mean(dim=0)).all(), (l1(found), plain)
    assert (l1(found) <= plain.min(dim=0).values + 0.5).all(), (l1(found), plain)
    # one path traced back: every sample is its code's excitation plus the prediction from the
    # samples before it (float64, as the loops compute), or its code decoded
    codes = generate(model, n, mel=mel, seed=0, beam=4, dtype=torch.float64)
    audio = generate_audio(model, n, mel=mel, seed=0, beam=4, dtype=torch.float64).double()
    if lpc_order:
        from soundart.audio.wavenet_codes import frame_index

        coeffs, scale = model.lpc_coefficients(mel, sampling=True)
        f = frame_index(n, scale.shape[1], cfg.hop_length)
        past = torch.nn.functional.pad(audio, (lpc_order, 0))
        pred = -sum(coeffs[:, f, k - 1] * past[:, lpc_order - k:lpc_order - k + n] for k in range(1, lpc_order + 1))
        again = (pred + model.code_value(codes) * scale[:, f]).clamp(-1.0, 1.0)
        assert torch.allclose(again, audio, atol=1e-6), (again - audio).abs().max()  # audio is float32
    else:
        assert torch.equal(model.decode(codes), audio.float())


def test_beam_search_bad_uses():
    vocoder, generator = _model(local=True), _model(n_families=3)
    mel = _tone_mel(vocoder.config.features, 0.1)
    for kw, message in ((dict(model=generator, family=0, beam=2), "needs a vocoder"),
                        (dict(model=vocoder, mel=mel, beam=2, method="naive"), "fast generation method"),
                        (dict(model=vocoder, mel=mel, beam=0), "beam must be")):
        with pytest.raises(ConfigError, match=message):
            generate(n_samples=500, seed=0, **kw)


def test_linear_prediction_leaves_a_small_excitation():
    """Coefficients from the log-mel alone predict a harmonic tone: the excitation the network
    models is far quieter than the tone (measured on rendered notes: -18 dB at order 16), its
    level estimated from the mel is right within a factor of 4, and the codes take the tone back
    to within their 8-bit rounding."""
    from soundart.audio.wavenet_codes import EXCITATION_HEADROOM, frame_index
    from soundart.audio.wavenet_config import NOTES_FEATURES

    model = build(WaveNetVocoderConfig(lpc_order=16))
    mel = _tone_mel(NOTES_FEATURES, 1.0)
    tones = _tones(16000, NOTES_FEATURES.sr)
    codes = model.lpc_codes(tones, mel)
    _, scale = model.lpc_coefficients(mel)
    excitation = model.code_value(codes) * scale[:, frame_index(16000, scale.shape[1], NOTES_FEATURES.hop_length)]
    ratio_db = 10 * torch.log10(excitation.square().sum() / tones.double().square().sum())
    assert ratio_db < -15, float(ratio_db)
    rms = model.code_value(codes).square().mean(dim=-1).sqrt() * EXCITATION_HEADROOM  # 1 = the mel's estimate
    assert ((rms > 0.25) & (rms < 4)).all(), rms.tolist()
    back = model.lpc_synthesize(codes, mel)
    assert (back - tones.double()).abs().max() < 0.01
    loss = model.loss(tones, mel=mel)
    assert torch.isfinite(loss) and loss > 0


def test_sharper_envelope_follows_deeper_valleys():
    """No lag window and a 1e-5 floor (the shipped vocoder's envelope) give all-pole filters whose
    response spans ~20 dB more than the 40 Hz / 1e-3 defaults on the tones (measured 71-78 dB
    against 51-53), and a smaller excitation."""
    from soundart.audio.wavenet_config import NOTES_FEATURES
    from soundart.features import logmel_lpc

    mel = _tone_mel(NOTES_FEATURES, 1.0)
    ranges, gains = [], []
    for lag_hz, floor in [(40.0, 1e-3), (0.0, 1e-5)]:
        a, gain = logmel_lpc(mel, NOTES_FEATURES, 32, lag_window_hz=lag_hz, noise_floor=floor)
        response_db = -20 * torch.log10(torch.fft.rfft(torch.cat([torch.ones_like(a[..., :1]), a], -1), n=1024).abs())
        middle = a.shape[1] // 2
        ranges.append((response_db.amax(-1) - response_db.amin(-1))[:, middle])
        gains.append(gain[:, middle])
    assert (ranges[1] > ranges[0] + 12).all(), ranges
    assert (gains[1] < gains[0]).all(), gains
    with pytest.raises(ConfigError, match="lpc_noise_floor"):
        WaveNetVocoderConfig(lpc_order=8, lpc_noise_floor=0.0)


def test_seed_repeats_and_changes():
    model = _model(n_families=2)
    a = generate(model, 300, family=1, seed=1)
    b = generate(model, 300, family=1, seed=1)
    c = generate(model, 300, family=1, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    audio = generate_audio(model, 300, family=1, seed=1)
    assert torch.equal(audio, mulaw_decode(a)) and audio.abs().max() <= 1.0


def test_generate_bad_arguments():
    model = _model(n_families=2, pitch_conditioning=True)
    with pytest.raises(ConfigError, match="family index"):
        generate(model, 10, family=5, pitch=60)
    with pytest.raises(ConfigError, match="samples"):
        generate(model, 0, family=1, pitch=60)
    with pytest.raises(ConfigError, match="temperature"):
        generate(model, 10, family=1, pitch=60, temperature=0)
    with pytest.raises(ConfigError, match="vocoder"):
        generate(_model(local=True), 10)


# ---- CLI ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from soundart import checkpoint

    root = tmp_path_factory.mktemp("wavenet")
    gen = _model(n_families=12, pitch_conditioning=True)
    voc = _model(local=True)
    checkpoint.save(gen, root / "gen", {"data": "test"})
    checkpoint.save(voc, root / "voc", {"data": "test"})
    return root / "gen", root / "voc", voc.config.features


def test_cli_synth_wavenet_writes_clips(checkpoints, tmp_path):
    gen, _, _ = checkpoints
    out = tmp_path / "note.wav"
    result = CliRunner().invoke(cli, ["synth", "wavenet", "--model", str(gen), "--family", "strings", "--pitch", "55",
                                      "--seconds", "0.1", "-n", "2", "--seed", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert not out.exists()  # -n 2: note-1.wav and note-2.wav
    clips = [sf.read(tmp_path / f"note-{i}.wav") for i in (1, 2)]
    assert [(sr, len(audio)) for audio, sr in clips] == [(16000, 1600)] * 2
    again = tmp_path / "again.wav"
    CliRunner().invoke(cli, ["synth", "wavenet", "--model", str(gen), "--family", "strings", "--pitch", "55",
                             "--seconds", "0.1", "-n", "2", "--seed", "1", "-o", str(again)])
    for i, (audio, _) in enumerate(clips, 1):
        assert np.array_equal(sf.read(tmp_path / f"again-{i}.wav")[0], audio)


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0"], "--seconds must be > 0"),
    (["--seconds", "31"], "above the limit of 30 s"),
    (["--family", "kazoo"], "unknown family 'kazoo'"),
    (["--pitch", "120"], "outside the trained range"),
])
def test_cli_synth_wavenet_bad_input(checkpoints, tmp_path, args, message):
    gen, _, _ = checkpoints
    out = tmp_path / "x.wav"
    result = CliRunner().invoke(cli, ["synth", "wavenet", "--model", str(gen), "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_vocode_npy_and_wav(checkpoints, tmp_path):
    from soundart.features import logmel

    _, voc, cfg = checkpoints
    t = np.arange(4000) / 16000
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16000)
    out = tmp_path / "resynth.wav"
    result = CliRunner().invoke(cli, ["vocode", str(wav), "--model", str(voc), "--seed", "0", "-o", str(out)])
    assert result.exit_code == 0, result.output
    frames = cfg.n_frames(4000)
    assert len(sf.read(out)[0]) == (frames - 1) * cfg.hop_length
    mel = logmel(torch.from_numpy(sf.read(wav, dtype="float32")[0]), cfg).numpy()
    npy = tmp_path / "mel.npy"
    np.save(npy, mel)
    out2 = tmp_path / "from_npy.wav"
    result = CliRunner().invoke(cli, ["vocode", str(npy), "--model", str(voc), "--seed", "0", "-o", str(out2)])
    assert result.exit_code == 0, result.output
    assert np.allclose(sf.read(out2)[0], sf.read(out)[0], atol=1e-4)
    out3 = tmp_path / "cool.wav"
    result = CliRunner().invoke(cli, ["vocode", str(npy), "--model", str(voc), "--seed", "0", "--temperature", "0.5",
                                      "-o", str(out3)])
    assert result.exit_code == 0, result.output
    assert not np.allclose(sf.read(out3)[0], sf.read(out)[0], atol=1e-4)


def test_cli_vocode_bad_mels(checkpoints, tmp_path):
    _, voc, cfg = checkpoints
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((cfg.n_mels + 3, 10), np.float32))
    nan = tmp_path / "nan.npy"
    bad = np.zeros((cfg.n_mels, 10), np.float32)
    bad[2, 3] = np.nan
    np.save(nan, bad)
    out = tmp_path / "x.wav"
    for path, message in ((wrong, f"has {cfg.n_mels + 3} bands but the model expects {cfg.n_mels}"),
                          (nan, "NaN")):
        result = CliRunner().invoke(cli, ["vocode", str(path), "--model", str(voc), "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
        assert not out.exists()
    gen, _, _ = checkpoints
    result = CliRunner().invoke(cli, ["vocode", str(wrong), "--model", str(gen), "-o", str(out)])
    assert result.exit_code == 2 and "not a mel vocoder" in result.output, result.output
    result = CliRunner().invoke(cli, ["vocode", str(nan), "--model", str(voc), "--temperature", "0", "-o", str(out)])
    assert result.exit_code == 2 and "--temperature" in result.output and not out.exists(), result.output
    result = CliRunner().invoke(cli, ["vocode", str(wrong), "--model", str(voc), "--beam", "0", "-o", str(out)])
    assert result.exit_code == 2 and "--beam must be > 0" in result.output and not out.exists(), result.output
    long = tmp_path / "long.npy"  # 200 s: within the plain limit, above a beam of 8's
    np.save(long, np.full((cfg.n_mels, 200 * cfg.sr // cfg.hop_length + 1), -40.0, np.float32))
    result = CliRunner().invoke(cli, ["vocode", str(long), "--model", str(voc), "--beam", "8", "-o", str(out)])
    assert result.exit_code == 2 and "long.npy: 200 s of audio per clip is above the WaveNet vocoder's limit of " \
        "150 s with a beam of 8" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_vocode_wavenet_splits_a_batch_over_the_beam_limit(checkpoints, monkeypatch, tmp_path):
    """Many clips (``synth vae -n 100 --vocoder wavenet``) are searched in groups that fit the
    memory limit; one clip longer than the limit is a one-line ConfigError."""
    import soundart.audio.wavenet_vocoder as wg
    from soundart.audio.wavenet_beam import BEAM_CHILDREN

    _, voc, cfg = checkpoints
    mel = torch.stack([_tone_mel(cfg, 0.1)[0] + shift for shift in (0.0, -3.0, -6.0)])  # 3 clips
    whole = wg.vocode_wavenet(mel, cfg, model=str(voc), seed=4, beam=2)
    n = (mel.shape[-1] - 1) * cfg.hop_length
    assert whole.shape == (3, n)
    # room for two clips' paths per search: clips 0-1 from seed 4, clip 2 alone from seed 5
    monkeypatch.setattr(wg, "MAX_BEAM_PATH_SECONDS", 2 * 2 * BEAM_CHILDREN * n / cfg.sr)
    split = wg.vocode_wavenet(mel, cfg, model=str(voc), seed=4, beam=2)
    assert torch.equal(split[:2], whole[:2])
    assert torch.equal(split[2:], wg.vocode_wavenet(mel[2:], cfg, model=str(voc), seed=5, beam=2))
    monkeypatch.setattr(wg, "MAX_BEAM_PATH_SECONDS", 0.5 * 2 * BEAM_CHILDREN * n / cfg.sr)
    with pytest.raises(ConfigError, match="per clip is above the WaveNet vocoder's limit"):
        wg.vocode_wavenet(mel, cfg, model=str(voc), seed=4, beam=2)

    # the vocode command groups a multi-clip .npy the same way
    stack = tmp_path / "three.npy"
    np.save(stack, mel.numpy())
    out = tmp_path / "three.wav"
    monkeypatch.setattr(wg, "MAX_BEAM_PATH_SECONDS", 2 * 2 * BEAM_CHILDREN * n / cfg.sr)
    result = CliRunner().invoke(cli, ["vocode", str(stack), "--model", str(voc), "--beam", "2", "--seed", "4",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    written, _ = sf.read(str(out), dtype="float32")
    assert np.abs(written - split.reshape(-1).numpy()).max() < 1e-3


def test_shipped_vocoder_revocodes_clips_that_saturate_its_deep_filters(tmp_path):
    """The shipped vocoder samples through order-256 filters (trained at 64); on mels far sparser
    than its training notes (a sawtooth, pure tones) they ring until the samples clip, and those
    clips are vocoded again through the training order, keeping the closer one."""
    from soundart.audio.wavenet_vocoder import SATURATED_L1_DB, clip_logmel_l1, vocode_in_groups
    from soundart.features import logmel
    from soundart.models import load_model

    voc = load_model("wavenet-vocoder", expect_kind="wavenet-vocoder")
    assert voc.config.sampling_lpc_order == 256 and voc.config.lpc_order == 64
    cfg = voc.config.features
    n = 16 * cfg.hop_length
    t = torch.arange(n) / cfg.sr
    saw = 0.25 * sum(torch.sin(2 * np.pi * 440 * k * t) / k for k in range(1, 18))
    mel = logmel(torch.cat([_tones(n, cfg.sr), saw[None]]), cfg)
    deep = generate_audio(voc, n, mel=mel, seed=0)
    deep_err = clip_logmel_l1(deep, mel, cfg)
    assert (deep_err > SATURATED_L1_DB).any(), deep_err
    refiltered: list[int] = []
    kept = vocode_in_groups(voc, mel, n, seed=0, beam=1, refiltered=refiltered)
    kept_err = clip_logmel_l1(kept, mel, cfg)
    assert refiltered and set(refiltered) <= set((deep_err > SATURATED_L1_DB).nonzero().flatten().tolist())
    assert (kept_err[refiltered] < deep_err[refiltered]).all(), (kept_err, deep_err)
    others = [i for i in range(len(mel)) if i not in refiltered]
    assert torch.equal(kept[others], deep[others])
    # the vocode command says so
    wav, out = tmp_path / "saw.wav", tmp_path / "out.wav"
    sf.write(wav, saw.numpy(), cfg.sr)
    result = CliRunner().invoke(cli, ["vocode", str(wav), "-o", str(out), "--beam", "1", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "saturated the order-256 filters" in result.output and "order 64" in result.output, result.output


def test_cli_vocode_help_states_the_default_beam():
    from soundart.audio.wavenet_vocoder import DEFAULT_VOCODER_BEAM

    result = CliRunner().invoke(cli, ["vocode", "--help"], terminal_width=200)
    assert f"[default: {DEFAULT_VOCODER_BEAM}]" in result.output, result.output
