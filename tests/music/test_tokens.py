"""Event codec: exact round trips on random pieces and real MIDI, keys, transposition."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from soundart.errors import BadInputError, ConfigError
from soundart.io import load_midi, save_midi
from soundart.music.corpora import bar_windows
from soundart.music.midi_pieces import midi_to_piece, piece_to_midi
from soundart.music.tokens import (
    DRUMS,
    Codec,
    CodecConfig,
    Note,
    Piece,
    parse_key,
)


def random_piece(rng: np.random.Generator, codec: Codec) -> Piece:
    meter = str(rng.choice(codec.config.meters))
    notes = []
    programs = [0, 40, DRUMS] if rng.random() < 0.5 else [int(rng.integers(128))]
    for _ in range(int(rng.integers(1, 60))):
        notes.append(Note(int(rng.integers(0, 200)), int(rng.integers(1, 80)), int(rng.integers(0, 128)),
                          int(rng.integers(1, 128)), int(rng.choice(programs))))
    return Piece(notes, meter, float(rng.uniform(40, 240)), int(rng.integers(24)), str(rng.choice(codec.config.styles)))


def canonical(piece: Piece, codec: Codec) -> set:
    seen = {}
    for n in sorted(piece.notes, key=lambda n: (n.start, n.program, n.pitch, -n.duration)):
        seen.setdefault((n.start, n.program, n.pitch), (n.duration, codec.velocity_bin(n.velocity)))
    return {k + v for k, v in seen.items()}


def test_random_pieces_round_trip(rng):
    codec = Codec()
    for _ in range(200):
        piece = random_piece(rng, codec)
        tokens = codec.encode(piece)
        back = codec.decode(tokens, strict=True)
        assert canonical(back, codec) == canonical(piece, codec)
        assert (back.meter, back.key, back.style) == (piece.meter, piece.key, piece.style)
        assert abs(back.tempo / piece.tempo - 1) < 0.04
        assert codec.encode(back) == tokens  # the serialization is unique


def test_midi_round_trip_through_files(rng, tmp_path):
    """Random MIDI (tempo 100, 3/4, two instruments + drums) -> file -> tokens -> file: notes on the grid survive."""
    codec = Codec()
    step = 60 / 100 / 4
    midi = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0))
    expected = set()
    for program, drum in ((0, False), (33, False), (0, True)):
        inst = pretty_midi.Instrument(program=program, is_drum=drum)
        for _ in range(40):
            s, d = int(rng.integers(0, 96)), int(rng.integers(1, 40))
            p, v = int(rng.integers(30, 90)), int(rng.integers(1, 128))
            # off-grid jitter smaller than half a step must be absorbed by quantization
            inst.notes.append(pretty_midi.Note(v, p, s * step + 0.01, (s + d) * step - 0.01))
            expected.add((s, DRUMS if drum else program, p))
        midi.instruments.append(inst)
    src = tmp_path / "in.mid"
    midi.write(str(src))
    piece = midi_to_piece(load_midi(src), codec.config)
    assert piece.meter == "3/4"
    tokens = codec.encode(piece)
    out = tmp_path / "out.mid"
    save_midi(piece_to_midi(codec.decode(tokens, strict=True), codec.config), out)
    again = midi_to_piece(load_midi(out), codec.config)
    assert {(n.start, n.program, n.pitch) for n in again.notes} == expected
    assert canonical(again, codec) == canonical(piece, codec)
    drums = [i for i in load_midi(out).instruments if i.is_drum]
    assert len(drums) == 1


def test_real_file_round_trip(tmp_path):
    """A real MIDI file (a music21 chorale written by music21) survives the round trip."""
    music21 = pytest.importorskip("music21")
    score = music21.corpus.parse("bach/bwv66.6")
    path = tmp_path / "chorale.mid"
    score.write("midi", fp=str(path))
    codec = Codec()
    piece = midi_to_piece(load_midi(path), codec.config)
    assert len(piece.notes) > 100
    back = codec.decode(codec.encode(piece), strict=True)
    assert canonical(back, codec) == canonical(piece, codec)


def test_long_notes_chain_durations():
    codec = Codec(CodecConfig(max_duration=8))
    piece = Piece([Note(0, 8, 60), Note(0, 9, 62), Note(0, 17, 64), Note(0, 16, 65)])
    names = codec.describe(codec.encode(piece))
    assert names.count("DUR_8") == 1 + 1 + 2 + 2
    assert canonical(codec.decode(codec.encode(piece)), codec) == canonical(piece, codec)


def test_keys_and_errors():
    assert parse_key("D minor") == 14 and parse_key("Dm") == 14 and parse_key("f# major") == 6
    assert parse_key("Bb") == 10 and parse_key("Ebm") == 15
    for bad in ("H minor", "D dorian", ""):
        with pytest.raises(ConfigError, match="unknown key"):
            parse_key(bad)
    codec = Codec()
    with pytest.raises(ConfigError, match="unknown style"):
        codec.header("polka", 0, "4/4", 120)
    with pytest.raises(ConfigError, match="meter"):
        codec.header("folk", 0, "7/8", 120)
    with pytest.raises(BadInputError, match="out of place"):
        codec.decode([codec.bos, codec.pitch0 + 60], strict=True)


def test_transpose_moves_pitches_and_key_not_drums():
    codec = Codec()
    piece = Piece([Note(0, 4, 60, 80, 0), Note(0, 2, 36, 80, DRUMS)], key=14)
    up = codec.decode(codec.transpose(codec.encode(piece), 3))
    assert {(n.pitch, n.program) for n in up.notes} == {(63, 0), (36, DRUMS)}
    assert up.key == 17  # D minor -> F minor
    assert codec.transpose(codec.encode(Piece([Note(0, 1, 126)])), 5) is None


def test_bar_windows_open_with_header():
    codec = Codec()
    piece = Piece([Note(16 * b + p, 2, 60 + p) for b in range(20) for p in range(0, 16, 2)], style="folk")
    tokens = codec.encode(piece)
    windows = bar_windows(tokens, codec, 64)
    assert len(windows) > 1
    for w in windows:
        assert w[:5] == tokens[:5] and w[5] == codec.bar and len(w) <= 64
