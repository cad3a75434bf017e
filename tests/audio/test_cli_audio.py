"""`soundart synth vae|morph|reconstruct` on a tiny trained VAE: files written, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from soundart.cli import cli
from soundart.models import load_model


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def vae_info(tiny_vae):
    model = load_model(str(tiny_vae), expect_kind="melvae")
    return str(tiny_vae), model.config


def test_trained_checkpoint_records_data_and_metrics(vae_info):
    from soundart.checkpoint import read_document

    doc = read_document(vae_info[0] + ".json")
    assert "notes dataset" in doc["metadata"]["data"]


def test_synth_vae_writes_n_clips(vae_info, tmp_path):
    spec, cfg = vae_info
    out, png = tmp_path / "s.wav", tmp_path / "s.png"
    result = run("synth", "vae", "--model", spec, "-n", 3, "--pitch", 60, "--family", "strings",
                 "--seconds", 0.2, "--seed", 1, "-o", out, "--plot", png, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert not out.exists()  # -n 3: s-1.wav, s-2.wav, s-3.wav
    frames = int(0.2 * cfg.features.sr / cfg.features.hop_length) + 1
    clip = (frames - 1) * cfg.features.hop_length
    written = []
    for i in (1, 2, 3):
        data, sr = sf.read(tmp_path / f"s-{i}.wav")
        assert sr == cfg.features.sr and len(data) == clip, (sr, len(data))
        assert np.abs(data).max() > 0
        written.append(data)
    assert png.read_bytes()[:4] == b"\x89PNG"
    again = tmp_path / "again.wav"
    assert run("synth", "vae", "--model", spec, "-n", 3, "--pitch", 60, "--family", "strings",
               "--seconds", 0.2, "--seed", 1, "-o", again, "--device", "cpu").exit_code == 0
    for i, data in enumerate(written, 1):  # --seed makes it repeatable
        assert np.array_equal(sf.read(tmp_path / f"again-{i}.wav")[0], data)


@pytest.mark.parametrize("args, message", [
    (["--family", "kazoo"], "unknown family 'kazoo'"),
    (["--pitch", "110"], "pitch 110 is outside"),
    (["--seconds", "60"], "longer than the model's clip"),
])
def test_synth_vae_bad_input(vae_info, tmp_path, args, message):
    out = tmp_path / "bad.wav"
    result = run("synth", "vae", "--model", vae_info[0], "-o", out, "--device", "cpu", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def _note(path, sr, freq=220.0, seconds=1.0, amp=0.4):
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (amp * np.sin(2 * np.pi * freq * t) * np.exp(-t)).astype(np.float32), sr)
    return path


def test_morph_resamples_and_writes_steps(vae_info, tmp_path):
    spec, cfg = vae_info
    a = _note(tmp_path / "a.wav", cfg.features.sr)
    b = _note(tmp_path / "b.wav", 22050, freq=440.0)
    out = tmp_path / "m.wav"
    result = run("synth", "morph", a, b, "--steps", 4, "-o", out, "--model", spec, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "resampled from 22050 Hz" in result.output
    clip = (cfg.frames - 1) * cfg.features.hop_length
    assert len(sf.read(out)[0]) == 4 * clip + 3 * int(0.25 * cfg.features.sr)


def test_reconstruct_keeps_length_and_silent_input_fails(vae_info, tmp_path):
    spec, cfg = vae_info
    note = _note(tmp_path / "n.wav", cfg.features.sr, seconds=1.3)
    out = tmp_path / "r.wav"
    result = run("synth", "reconstruct", note, "-o", out, "--model", spec, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "log-mel L1" in result.output
    assert len(sf.read(out)[0]) == int(1.3 * cfg.features.sr)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000, np.float32), cfg.features.sr)
    out2 = tmp_path / "r2.wav"
    result = run("synth", "reconstruct", silent, "-o", out2, "--model", spec, "--device", "cpu")
    assert result.exit_code == 2 and "silent" in result.output, result.output
    assert not out2.exists()
