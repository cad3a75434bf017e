"""MusPy-style metrics on pieces with known answers."""

from __future__ import annotations

import math

import pytest

from soundart.music.metrics import (
    crop_bars,
    empty_beat_rate,
    groove_consistency,
    pitch_class_entropy,
    polyphony,
    scale_consistency,
)
from soundart.music.tokens import DRUMS, Note, Piece


def test_known_values():
    c_major = Piece([Note(4 * i, 4, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])])
    assert pitch_class_entropy(c_major) == pytest.approx(_entropy([2, 1, 1, 1, 1, 1, 1]))  # C twice
    assert scale_consistency(c_major) == 1.0
    chromatic = Piece([Note(i, 1, 60 + i) for i in range(12)])
    assert pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)
    triads = Piece([Note(0, 4, 60), Note(0, 4, 64), Note(0, 4, 67), Note(4, 4, 62), Note(8, 8, 36, 90, DRUMS)])
    assert polyphony(triads) == pytest.approx((4 * 3 + 4 * 1) / 8)  # drums not counted
    gaps = Piece([Note(0, 4, 60), Note(12, 4, 60)])  # beats: sound, rest, rest, sound
    assert empty_beat_rate(gaps) == pytest.approx(0.5)
    same = Piece([Note(16 * b + p, 2, 60) for b in range(4) for p in (0, 4, 8)])
    assert groove_consistency(same) == 1.0
    diff = Piece([Note(0, 1, 60), Note(16 + 1, 1, 60)])
    assert groove_consistency(diff) == pytest.approx(1 - 2 / 16)
    cropped = crop_bars(same, 2, start_bar=1)
    assert min(n.start for n in cropped.notes) == 0 and max(n.start for n in cropped.notes) < 32


def _entropy(counts):
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts)
