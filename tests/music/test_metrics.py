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


def test_band_metrics_chord_agreement_ioi_and_empty_bars():
    from soundart.music.chords import parse_progression
    from soundart.music.metrics import (
        band_as_gm,
        chord_agreement,
        empty_bar_rate,
        histogram_distance,
        ioi_histogram,
    )
    from soundart.music.tokens import BAND_PARTS, DRUMS

    from .helpers import band_piece

    piece = band_piece("pop", 4)  # A minor, F, C, G7: triads and the root in the bass on beat 1
    chords = parse_progression("Am F C G7")
    assert chord_agreement(piece, chords, 2) == (1.0, 1.0)
    wrong = parse_progression("C#m F#m C#m F#m")
    tones, bass = chord_agreement(piece, wrong, 2)
    assert tones == 0.0 and bass == 0.0
    slash = parse_progression("Am/C F C G7")
    assert chord_agreement(piece, slash, 2)[1] == 0.75
    assert empty_bar_rate(piece) == 0.0 and empty_bar_rate(piece, n_bars=8) == 0.5
    hist = ioi_histogram(piece)
    assert hist.shape == (16,) and abs(hist.sum() - 1) < 1e-9 and hist[3] == 1.0  # every onset 4 steps apart
    assert histogram_distance([piece], [piece]) == 0.0
    drums = band_as_gm(band_piece("rock", 2), BAND_PARTS)
    assert {n.program for n in drums.notes} == {DRUMS}
    assert histogram_distance([piece], [drums]) > 0.5
