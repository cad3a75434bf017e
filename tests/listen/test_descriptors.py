"""Descriptors on signals whose answer is known."""

from __future__ import annotations

import numpy as np
import torch

from soundart import features
from soundart.listen.classifier import default_features
from soundart.listen.descriptors import PITCH_CLASSES, describe, key_chroma, key_estimate, tempo

CFG = default_features()
SR = CFG.sr


def _describe(x: np.ndarray, with_audio: bool = False) -> dict:
    S = features.spectrogram(torch.from_numpy(x.astype(np.float32)), CFG)
    return describe(S, features.logmel(None, CFG, S=S), CFG, audio=x if with_audio else None)


def _tone(midi: int, n: int, harmonics: int) -> np.ndarray:
    """A plucked harmonic tone: ``harmonics`` partials at 1/k, 1.5 s decay."""
    t = np.arange(n) / SR
    f = 440.0 * 2 ** ((midi - 69) / 12)
    env = np.minimum(1.0, np.arange(n) / 200) * np.exp(-t / 1.5)
    return env * sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, harmonics + 1) if k * f < SR / 2)


def _progression(tonic: int, minor: bool, bars: int = 8) -> np.ndarray:
    """I-IV-V-I (i-iv-v-i in natural minor) as crotchet chords around middle C at 120 BPM, over a bass
    holding each bar's root in octave 1-2 (A1 55 Hz .. G#2 104 Hz) with ten partials."""
    third = 3 if minor else 4
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 7 + third, 14), (0, third, 7)]
    beat = SR // 2
    x = np.zeros(bars * 4 * beat)
    for b in range(bars):
        chord = [60 + tonic + step for step in chords[b % 4]]
        for q in range(4):
            start = (4 * b + q) * beat
            x[start:start + beat] += 0.1 * sum(_tone(m, beat, 6) for m in chord)
        root = (tonic + chords[b % 4][0]) % 12
        x[4 * b * beat:4 * (b + 1) * beat] += 0.25 * _tone(36 + root - (12 if root > 7 else 0), 4 * beat, 10)
    return x


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


def test_key_of_chord_progressions_over_a_low_bass_in_every_key():
    # the long-window STFT resolves the bass notes (2 Hz bins); folding the shared 1024-point STFT
    # (15.6 Hz bins, two to five semitones at 55-104 Hz) reads 10 of these 24 keys
    for tonic in range(12):
        for minor in (False, True):
            d = _describe(_progression(tonic, minor), with_audio=True)
            assert d["key"] == f"{PITCH_CLASSES[tonic]} {'minor' if minor else 'major'}", (tonic, minor, d)


def test_key_chroma_of_silence_and_a_short_clip():
    assert key_chroma(np.zeros(SR), SR).shape == (12, 0)
    assert key_estimate(key_chroma(np.zeros(SR), SR)) == ("", 0.0)
    chroma = key_chroma(_tone(57, SR // 10, 6), SR)  # 0.1 s of A3: shorter than one 0.5 s window
    assert chroma.shape[0] == 12 and chroma.shape[1] >= 1, chroma.shape
    assert int(np.argmax(chroma.mean(axis=1))) == 9, chroma.mean(axis=1)
