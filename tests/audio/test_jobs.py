"""The audio jobs called as a Python user would: soundart.synth / morph / reconstruct / vocode."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import soundart
from soundart.errors import ConfigError, OutputExistsError
from tests.spectral.conftest import one_thread  # noqa: F401  (a fixture)

# small models: one thread avoids OpenMP spin-waiting on the shared 2-core CPU
pytestmark = pytest.mark.usefixtures("one_thread")


def _note(path, sr=16000, freq=220.0, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.4 * np.sin(2 * np.pi * freq * t) * np.exp(-t)).astype(np.float32), sr)
    return path


def test_import_stays_light_and_features_is_callable():
    code = ("import sys, soundart; soundart.synth; soundart.morph; soundart.vocode; soundart.Clip; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert callable(soundart.features) and soundart.features.FeatureConfig")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_synth_vae_n_files_and_no_overwrite(tmp_path):
    out = tmp_path / "v.wav"
    clips = soundart.synth("vae", n=3, pitch=55, family="strings", seconds=0.2, seed=1, device="cpu", out=out)
    assert len(clips) == 3 and not out.exists()
    cfg = soundart.load_model("melvae").config
    samples = (int(0.2 * cfg.features.sr / cfg.features.hop_length)) * cfg.features.hop_length
    for i, clip in enumerate(clips, 1):
        data, sr = sf.read(tmp_path / f"v-{i}.wav", dtype="float32")
        assert clip.path == tmp_path / f"v-{i}.wav"
        assert sr == clip.sr == cfg.features.sr and len(data) == len(clip.audio) == samples
        assert np.allclose(data, clip.audio, atol=1e-4)  # 16-bit PCM of the same samples
    (tmp_path / "w-2.wav").write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="w-2.wav exists"):
        soundart.synth("vae", n=3, seconds=0.2, out=tmp_path / "w.wav", device="cpu")
    assert not (tmp_path / "w-1.wav").exists() and (tmp_path / "w-2.wav").read_bytes() == b"keep"
    one = soundart.synth("vae", n=1, seconds=0.2, seed=1, out=tmp_path / "one.wav", device="cpu")
    assert one[0].path == tmp_path / "one.wav" and (tmp_path / "one.wav").exists()


def test_synth_wavenet_n_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOUNDART_PROGRESS", "lines")
    clips = soundart.synth("wavenet", n=2, family="strings", pitch=55, seconds=0.1, seed=1, device="cpu",
                           out=tmp_path / "w.flac", progress=True)
    assert [len(sf.read(tmp_path / f"w-{i}.flac")[0]) for i in (1, 2)] == [1600, 1600]
    assert clips[0].info["elapsed"] > 0 and clips[0].sr == 16000
    assert "wavenet: " in capsys.readouterr().err  # plain progress lines, not carriage-return frames
    again = soundart.synth("wavenet", n=2, family="strings", pitch=55, seconds=0.1, seed=1, device="cpu")
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(clips, again))


def test_synth_gan_n_files_with_progress_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOUNDART_PROGRESS", "lines")
    clips = soundart.synth("gan", n=3, family="brass", seed=1, out=tmp_path / "g.wav", progress=True)
    for i, clip in enumerate(clips, 1):
        data, sr = sf.read(tmp_path / f"g-{i}.wav")
        assert sr == 16000 and len(data) == len(clip.audio) == clip.logmel.shape[-1] * 256 - 256
    assert "synth gan: 3/3 file (100%)" in capsys.readouterr().err


@pytest.mark.parametrize("kind, options, message", [
    ("vae", dict(seconds=float("nan")), "seconds must be a finite number"),
    ("vae", dict(temperature=float("nan")), "temperature must be a finite number"),
    ("wavenet", dict(temperature=float("nan")), "temperature must be a finite number"),
    ("wavenet", dict(seconds=float("inf")), "seconds must be a finite number"),
    ("wavenet", dict(n=0), "n must be > 0"),
    ("gan", dict(n=2.5), "n must be a whole number"),
    ("gan", dict(pitch=60), "pitch: synth('gan') takes no such argument"),
    ("kazoo", {}, "kind must be one of vae, gan, wavenet"),
])
def test_synth_refuses_bad_arguments_by_name(tmp_path, kind, options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        soundart.synth(kind, out=tmp_path / "x.wav", **options)
    assert not any(tmp_path.iterdir())


def test_morph_and_reconstruct_return_clips(tmp_path):
    a = _note(tmp_path / "a.wav")
    b = _note(tmp_path / "b.wav", sr=22050, freq=440.0)
    clips = soundart.morph(a, b, steps=3, seed=0, device="cpu", out=tmp_path / "m.wav")
    assert len(clips) == 3 and "b.wav resampled from 22050 Hz" in clips[0].notes[0]
    whole = sf.read(tmp_path / "m.wav")[0]
    assert len(whole) == 3 * len(clips[0].audio) + 2 * int(0.25 * 16000)
    clip = soundart.reconstruct(a, pitch=57, device="cpu")
    assert len(clip.audio) == 16000 and clip.info["logmel_l1_db"] > 0 and clip.path is None


def test_reconstruct_refuses_a_long_input_before_reading_it(tmp_path):
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(601 * 1000, np.float32), 1000)  # 601 s at 1 kHz: a small file
    with pytest.raises(ConfigError, match="601 s of audio is above the limit of 600 s"):
        soundart.reconstruct(long, out=tmp_path / "r.wav", device="cpu")
    assert not (tmp_path / "r.wav").exists()
    from click.testing import CliRunner

    from soundart.cli import cli

    result = CliRunner().invoke(cli, ["synth", "reconstruct", str(long), "-o", str(tmp_path / "r.wav")])
    assert result.exit_code == 2 and "above the limit of 600 s" in result.output, result.output


def test_vocode_returns_a_clip(tmp_path):
    note = _note(tmp_path / "n.wav", seconds=0.25)
    clip = soundart.vocode(note, beam=1, seed=0, device="cpu", out=tmp_path / "v.wav")
    assert clip.sr == 16000 and len(clip.audio) == (4000 // 512) * 512
    assert clip.info["beam"] == 1 and clip.info["source"] == "log-mel of n.wav"
    assert len(sf.read(tmp_path / "v.wav")[0]) == len(clip.audio)
    with pytest.raises(ConfigError, match="beam must be <= 64"):
        soundart.vocode(note, beam=1000)
