"""soundart.features and soundart.invert called from Python: arrays back, files only when asked."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import soundart
from soundart.errors import ConfigError


def test_features_returns_the_array_and_saves_on_request(tmp_path, tone_wav):
    f = soundart.features(tone_wav, kind="mfcc", n_mfcc=13, n_mels=64)
    assert f.values.shape == (13, 44) and f.values.dtype == np.float32 and f.path is None
    assert f.config.sr == 22050 and f.seconds == pytest.approx(1.0)
    saved = soundart.features(tone_wav, kind="chroma", out=tmp_path / "c.npy")
    assert np.array_equal(np.load(tmp_path / "c.npy"), saved.values) and saved.values.shape[0] == 12


@pytest.mark.parametrize("options, message", [
    (dict(n_fft=3), "n_fft must be >= 16"),
    (dict(kind="mfcc", n_mfcc=500), "n_mfcc must be <= n_mels=128"),
    (dict(n_fft=128, hop_length=64), "n_mels=128 is too many for n_fft=128"),
    (dict(hop_length=0), "hop_length must be > 0"),
    (dict(sr=22050.5), "sr must be a whole number"),
    (dict(plot="p.xyz"), "plot: p.xyz: a picture needs"),
])
def test_features_refuses_front_ends_that_cannot_work(tmp_path, tone_wav, options, message):
    with pytest.raises(ConfigError, match=message):
        soundart.features(tone_wav, out=tmp_path / "x.npy", **options)
    assert not (tmp_path / "x.npy").exists()


def test_invert_takes_an_array_or_a_file(tmp_path, tone_wav):
    f = soundart.features(tone_wav, out=tmp_path / "x.npy")
    from_array = soundart.invert(f.values, sr=22050, seed=1)
    from_file = soundart.invert(tmp_path / "x.npy", sr=22050, seed=1, out=tmp_path / "x.wav")
    assert np.allclose(from_array.audio, from_file.audio)
    audio, sr = sf.read(tmp_path / "x.wav")
    assert sr == 22050 and abs(len(audio) - 22050) < 1024
    with pytest.raises(ConfigError, match="iterations must be > 0"):
        soundart.invert(f.values, iterations=0)
