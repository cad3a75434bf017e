"""Chord symbols: parsing, the codec's chord names, per-bar estimation, a progression's key."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from soundart.errors import ConfigError
from soundart.music.chords import (
    QUALITIES,
    Chord,
    chord_from_token,
    chord_token_names,
    estimate_chord,
    parse_chord,
    parse_harte,
    parse_progression,
    progression_key,
)


@pytest.mark.parametrize("symbol, root, quality, bass", [
    ("C", 0, "maj", 0), ("Am", 9, "min", 9), ("G7", 7, "7", 7), ("Fmaj7", 5, "maj7", 5), ("FM7", 5, "maj7", 5),
    ("Dm7", 2, "min7", 2), ("Bm7b5", 11, "hdim7", 11), ("Bø", 11, "hdim7", 11), ("Edim7", 4, "dim7", 4),
    ("C#dim", 1, "dim", 1), ("Ebaug", 3, "aug", 3), ("Dsus4", 2, "sus4", 2), ("Asus2", 9, "sus2", 9),
    ("C/E", 0, "maj", 4), ("Am7/G", 9, "min7", 7), ("Bb6", 10, "maj", 10), ("G9", 7, "7", 7), ("F#m", 6, "min", 6),
])
def test_parse_chord_symbols(symbol, root, quality, bass):
    assert parse_chord(symbol) == Chord(root, quality, bass)


def test_no_chord_and_bad_symbols():
    assert parse_chord("N.C.") is None and parse_chord("N") is None
    for bad in ("H7", "Cxyz", "", "7"):
        with pytest.raises(ConfigError, match="unparseable chord symbol"):
            parse_chord(bad)
    assert [str(c) for c in parse_progression("Am | F, C/E G7")] == ["Am", "F", "C/E", "G7"]
    with pytest.raises(ConfigError, match="empty"):
        parse_progression("  ")


def test_harte_labels_of_pop909():
    assert parse_harte("Gb:maj") == Chord(6, "maj", 6)
    assert parse_harte("A:min7/b7") == Chord(9, "min7", 7)
    assert parse_harte("C:maj/3") == Chord(0, "maj", 4)
    assert parse_harte("N") is None


@given(st.sampled_from(chord_token_names()[1:]))
def test_token_names_round_trip(name):
    chord = chord_from_token(name)
    assert chord.token == name
    assert parse_chord(str(chord)) == chord  # the symbol written into MIDI reads back as the same chord


def test_estimate_chord_from_pitch_classes():
    w = np.zeros(12)
    w[[9, 0, 4]] = [4, 2, 2]  # A C E
    assert estimate_chord(w, 9) == Chord(9, "min", 9)
    w[7] = 2  # G: A minor seventh
    assert estimate_chord(w, 9).quality == "min7"
    assert estimate_chord(np.zeros(12)) is None
    assert set(QUALITIES) >= {"maj", "min", "7", "maj7", "min7", "dim", "hdim7", "aug", "sus4"}


def test_progression_key():
    assert progression_key(parse_progression("C F G7 C")) == 0
    assert progression_key(parse_progression("Am Dm E7 Am")) == 21
    assert progression_key(parse_progression("Am F C G")) == 21
    assert progression_key(parse_progression("Dm7 G7 Cmaj7 A7")) == 0  # V7 -> I marks the tonic
    assert progression_key(parse_progression("Bm7b5 E7 Am Am")) == 21
