"""Spectrogram style transfer: the optimisation really moves towards the style, bad inputs, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from soundart.cli import cli
from soundart.errors import BadInputError, ConfigError
from soundart.spectral.style import (
    STYLE_FEATURES,
    RandomSpectralNet,
    fit_frames,
    gram,
    log_magnitude,
    style_transfer,
)

SR = 22050


def melody(seconds: float = 1.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    f = 220 * 2 ** ((np.floor(t * 4) % 5) / 12)
    return (0.5 * np.sin(2 * np.pi * np.cumsum(f) / sr)).astype(np.float32)


def texture(seconds: float = 1.5, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 5 * t) > 0)
    return (0.3 * bursts + 0.2 * np.sin(2 * np.pi * 1760 * t)).astype(np.float32)


def test_gram_and_fit_frames_shapes() -> None:
    x = torch.randn(2, 7, 10)
    g = gram(x)
    assert g.shape == (2, 7, 7), g.shape
    assert torch.allclose(g, g.transpose(-1, -2))
    spec = torch.arange(3.0).reshape(1, 3)
    assert fit_frames(spec, 7).tolist() == [[0, 1, 2, 0, 1, 2, 0]]
    assert fit_frames(spec, 2).tolist() == [[0, 1]]


def test_random_net_is_fixed_by_seed() -> None:
    a, b = RandomSpectralNet(20, 8, 5, seed=1), RandomSpectralNet(20, 8, 5, seed=1)
    c = RandomSpectralNet(20, 8, 5, seed=2)
    assert torch.equal(a.conv.weight, b.conv.weight)
    assert not torch.equal(a.conv.weight, c.conv.weight)
    assert not any(p.requires_grad for p in a.parameters())
    y = a(torch.rand(1, 20, 30))
    assert y.shape == (1, 8, 30), y.shape


def test_style_transfer_moves_towards_style_and_keeps_content(one_thread) -> None:
    content, style = torch.from_numpy(melody(0.8)), torch.from_numpy(texture(0.8))
    r = style_transfer(content, style, iterations=25, n_filters=64, content_weight=0.5,
                       griffin_lim_iters=4, progress=False)
    assert r.audio.shape == content.shape, r.audio.shape
    assert torch.isfinite(r.audio).all() and r.audio.abs().max() <= 1.0
    assert r.log_magnitude.shape == log_magnitude(content, STYLE_FEATURES).shape
    m = r.metrics
    # the output is much closer to the style's Gram than the content was ...
    assert m["gram_ratio"] < 0.6, m
    # ... and much closer to the content's feature maps than the style is
    assert m["content_ratio"] < 0.6, m
    assert r.losses[-1] < r.losses[0]
    # content weight 0 (pure texture) gets closer to the style than with content
    pure = style_transfer(content, style, iterations=25, n_filters=64, content_weight=0.0,
                          griffin_lim_iters=1, progress=False)
    assert pure.metrics["gram_output"] < m["gram_output"]


def test_style_transfer_deterministic_and_adam() -> None:
    content, style = torch.from_numpy(melody(0.6)), torch.from_numpy(texture(0.6))
    kw = dict(iterations=5, n_filters=32, optimizer="adam", griffin_lim_iters=2, progress=False, seed=3)
    a, b = style_transfer(content, style, **kw), style_transfer(content, style, **kw)
    assert torch.equal(a.audio, b.audio)
    assert len(a.losses) == 5


@pytest.mark.parametrize("content,style,err,match", [
    (np.zeros(1000, np.float32), texture(0.5), BadInputError, "shorter than one frame"),
    (np.zeros(SR, np.float32), texture(0.5), BadInputError, "silent"),
    (melody(0.5), np.zeros(SR // 2, np.float32), BadInputError, "style: audio is silent"),
])
def test_bad_inputs(content, style, err, match) -> None:
    with pytest.raises(err, match=match):
        style_transfer(torch.from_numpy(content), torch.from_numpy(style), iterations=1, progress=False)


def test_zero_iterations_is_config_error() -> None:
    with pytest.raises(ConfigError, match="iterations"):
        style_transfer(torch.from_numpy(melody(0.5)), torch.from_numpy(texture(0.5)), iterations=0)


def _write(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    sf.write(path, audio, sr)
    return path


def test_cli_style_writes_audio_and_plot(tmp_path: Path) -> None:
    c = _write(tmp_path / "c.wav", melody(1.0))
    s = _write(tmp_path / "s.wav", texture(1.0, sr=16000), sr=16000)  # other rate: resampled
    out, png = tmp_path / "out.wav", tmp_path / "out.png"
    res = CliRunner().invoke(cli, ["style", str(c), str(s), "-o", str(out), "--iterations", "5",
                                   "--filters", "16", "--plot", str(png), "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "resampled 16000 Hz -> 22050 Hz" in res.output
    audio, sr = sf.read(out)
    assert sr == SR and audio.shape[0] == SR
    assert png.stat().st_size > 0
    again = CliRunner().invoke(cli, ["style", str(c), str(s), "-o", str(out), "--iterations", "1"])
    assert again.exit_code == 2 and "exists" in again.output


def test_cli_style_with_the_shipped_classifier_works_at_its_front_end(tmp_path: Path) -> None:
    c = _write(tmp_path / "c.wav", melody(1.0))
    s = _write(tmp_path / "s.wav", texture(1.0))
    out = tmp_path / "out.wav"
    res = CliRunner().invoke(cli, ["style", str(c), str(s), "-o", str(out), "--iterations", "3",
                                   "--network", "classifier"])
    assert res.exit_code == 0, res.output
    audio, sr = sf.read(out)
    assert sr == 16000 and audio.shape[0] == 16000  # the listen model's rate; the inputs were resampled
    clash = CliRunner().invoke(cli, ["style", str(c), str(s), "-o", str(tmp_path / "x.wav"),
                                     "--network", "classifier", "--sr", "22050"])
    assert clash.exit_code == 2 and "works at 16000 Hz" in clash.output
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("args,match", [
    (["--iterations", "0"], "--iterations must be > 0"),
    (["--seconds", "0"], "--seconds must be > 0"),
])
def test_cli_bad_options(tmp_path: Path, args, match) -> None:
    c = _write(tmp_path / "c.wav", melody(0.5))
    s = _write(tmp_path / "s.wav", texture(0.5))
    out = tmp_path / "out.wav"
    res = CliRunner().invoke(cli, ["style", str(c), str(s), "-o", str(out), *args])
    assert res.exit_code == 2, res.output
    assert match in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_cli_silent_and_short_inputs(tmp_path: Path) -> None:
    c = _write(tmp_path / "c.wav", melody(0.5))
    silent = _write(tmp_path / "silent.wav", np.zeros(SR, np.float32))
    short = _write(tmp_path / "short.wav", melody(0.02))
    out = tmp_path / "out.wav"
    for bad, match in ((silent, "silent"), (short, "shorter than one frame")):
        res = CliRunner().invoke(cli, ["style", str(c), str(bad), "-o", str(out), "--iterations", "1"])
        assert res.exit_code == 2 and match in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
        assert not out.exists()
