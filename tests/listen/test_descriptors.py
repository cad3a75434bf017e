"""Descriptors on signals whose answer is known."""

from __future__ import annotations

import numpy as np
import torch

from soundart import features
from soundart.listen.classifier import default_features
from soundart.listen.descriptors import describe, tempo

CFG = default_features()
SR = CFG.sr


def _describe(x: np.ndarray) -> dict:
    S = features.spectrogram(torch.from_numpy(x.astype(np.float32)), CFG)
    return describe(S, features.logmel(None, CFG, S=S), CFG)


def test_sine_loudness_and_brightness():
    t = np.arange(8 * SR) / SR
    d = _describe(np.sin(2 * np.pi * 997 * t))
    assert abs(d["brightness_hz"] - 997) < 30, d
    # full-scale ~1 kHz sine: -3.0 LUFS on a BS.1770 meter; ours is approximate
    assert abs(d["loudness_lufs"] + 3.0) < 1.0, d
    quieter = _describe(0.1 * np.sin(2 * np.pi * 997 * t))
    assert abs((d["loudness_lufs"] - quieter["loudness_lufs"]) - 20.0) < 0.2, (d, quieter)


def test_tempo_onsets_and_key_of_a_click_track_over_a_minor_chord():
    rng = np.random.default_rng(0)
    t = np.arange(12 * SR) / SR
    x = 0.15 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63))
    for beat in np.arange(0, 12, 0.5):  # 120 BPM
        i = int(beat * SR)
        x[i:i + 400] += rng.standard_normal(400) * 0.5 * np.exp(-np.arange(400) / 80)
    d = _describe(x)
    assert abs(d["tempo_bpm"] - 120) < 6, d
    assert 1.6 <= d["onset_rate"] <= 2.4, d
    assert d["key"] == "A minor", d
    assert d["beat_strength"] > 0.3, d


def test_tempo_stays_in_the_searched_range_when_the_peak_is_at_its_edge():
    # a slow wave: its autocorrelation falls smoothly (concave) from lag 0, so the best lag in range is the
    # shortest one allowed; interpolating towards the lag outside the range would carry the estimate far
    # past the upper bound (this gave 520 BPM on a sustained string note)
    frame_rate = 16000 / 512
    envelope = np.sin(2 * np.pi * np.arange(400) / 60.0)
    bpm, _ = tempo(envelope, frame_rate, low=50.0, high=200.0)
    assert 50.0 <= bpm <= 200.0, bpm
