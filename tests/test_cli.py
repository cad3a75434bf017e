"""The CLI as a user meets it: help, features/invert/train/models, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from soundart.cli import cli
from tests.conftest import tone


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_lists_commands_without_importing_torch():
    code = ("import sys; from click.testing import CliRunner; from soundart.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "print(r.output); assert 'torch' not in sys.modules, 'torch imported for --help'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("features", "invert", "train", "models"):
        assert name in out.stdout


@pytest.mark.parametrize("kind, bins", [("logmel", 64), ("mfcc", 20), ("chroma", 12), ("stft", 1025), ("mel", 64)])
def test_features_writes_npy_and_plot(tmp_path, tone_wav, kind, bins):
    out, png = tmp_path / "f.npy", tmp_path / "f.png"
    result = run("features", tone_wav, "--kind", kind, "--n-mels", 64, "--out", out, "--plot", png)
    assert result.exit_code == 0, result.output
    values = np.load(out)
    assert values.shape == (bins, 44), values.shape
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_features_then_invert_gives_audio(tmp_path, tone_wav):
    assert run("features", tone_wav, "--out", tmp_path / "x.npy").exit_code == 0
    result = run("invert", tmp_path / "x.npy", "--sr", 22050, "-o", tmp_path / "x.wav", "--seed", 1)
    assert result.exit_code == 0, result.output
    audio, sr = sf.read(tmp_path / "x.wav")
    assert sr == 22050 and abs(len(audio) - 22050) < 1024
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * sr / len(audio) - 440) < 15


def _bad_audio(tmp_path, case):
    if case == "missing":
        return tmp_path / "nope.wav"
    if case == "empty":
        (tmp_path / "e.wav").write_bytes(b"")
        return tmp_path / "e.wav"
    if case == "corrupt":
        (tmp_path / "c.ogg").write_bytes(b"OggS" + bytes(500))
        return tmp_path / "c.ogg"
    if case == "unsupported":
        (tmp_path / "a.xyz").write_bytes(b"123")
        return tmp_path / "a.xyz"
    if case == "directory":
        (tmp_path / "d.wav").mkdir()
        return tmp_path / "d.wav"
    if case == "nan":
        data = tone()
        data[5] = np.inf
        sf.write(tmp_path / "n.wav", data, 22050, subtype="FLOAT")
        return tmp_path / "n.wav"
    if case == "zero":
        sf.write(tmp_path / "z.wav", np.zeros(0, np.float32), 22050)
        return tmp_path / "z.wav"
    full = tmp_path / "full.wav"
    sf.write(full, tone(), 22050)
    (tmp_path / "t.wav").write_bytes(full.read_bytes()[:9000])
    return tmp_path / "t.wav"


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "unsupported", "directory", "nan", "zero",
                                  "truncated"])
def test_bad_audio_is_one_line_exit_2_nothing_written(tmp_path, case):
    path = _bad_audio(tmp_path, case)
    out = tmp_path / "out.npy"
    result = run("features", path, "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_bad_rate_and_existing_output(tmp_path, tone_wav):
    result = run("features", tone_wav, "--sr", 0, "--out", tmp_path / "x.npy")
    assert result.exit_code == 2 and "--sr must be > 0" in result.output
    out = tmp_path / "x.npy"
    out.write_bytes(b"keep me")
    result = run("features", tone_wav, "--out", out)
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_bytes() == b"keep me"
    assert run("features", tone_wav, "--out", out, "--force").exit_code == 0
    assert np.load(out).shape[0] == 128


def test_invert_rejects_bad_arrays(tmp_path):
    np.save(tmp_path / "nan.npy", np.full((128, 10), np.nan, np.float32))
    np.save(tmp_path / "flat.npy", np.zeros(10, np.float32))
    (tmp_path / "junk.npy").write_bytes(b"junk")
    for name, message in (("nan.npy", "NaN"), ("flat.npy", "(bins, frames)"), ("junk.npy", "not a readable")):
        result = run("invert", tmp_path / name, "-o", tmp_path / "o.wav")
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "o.wav").exists()


def test_train_recipe_errors_and_models_listing(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: test-tone\nmodle: {}\n")
    result = run("train", recipe)
    assert result.exit_code == 2 and "unknown key(s) modle" in result.output
    result = run("train", tmp_path / "missing.yaml")
    assert result.exit_code == 2 and "no such recipe" in result.output
    result = run("models", "--format", "json")
    assert result.exit_code == 0, result.output
