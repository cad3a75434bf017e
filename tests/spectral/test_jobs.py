"""soundart.style called from Python: a Clip back, every number checked before any work."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import soundart
from soundart.errors import ConfigError
from tests.conftest import tone


def test_style_returns_a_clip_with_its_distances(tmp_path, one_thread):
    sf.write(tmp_path / "c.wav", tone(440.0, 0.5), 22050)
    noise = np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32)
    sf.write(tmp_path / "s.wav", noise, 16000)
    clip = soundart.style(tmp_path / "c.wav", tmp_path / "s.wav", iterations=2, filters=16, seed=1,
                          out=tmp_path / "o.wav")
    assert clip.sr == 22050 and len(clip.audio) == 11025 and clip.path == tmp_path / "o.wav"
    assert {"gram_ratio", "content_ratio"} <= set(clip.info)
    assert clip.notes == ["style s.wav: resampled 16000 Hz -> 22050 Hz"]


@pytest.mark.parametrize("options, message", [
    (dict(style_weight=float("nan")), "style_weight must be a finite number"),
    (dict(kernel=100000), "kernel must be <= 65"),
    (dict(filters=0), "filters must be > 0"),
    (dict(sr=10), "sr must be >= 1000 Hz"),
    (dict(style_weight=0, content_weight=0), "style_weight=0 and content_weight=0"),
])
def test_style_refuses_bad_numbers_before_reading_inputs(tmp_path, options, message):
    # the inputs do not exist: a number is refused before any file is read
    with pytest.raises(ConfigError, match=message):
        soundart.style(tmp_path / "c.wav", tmp_path / "s.wav", out=tmp_path / "o.wav", **options)
