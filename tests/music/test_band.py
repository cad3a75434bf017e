"""The band codec (parts + chord tokens) and multi-track MIDI: round trips through tokens and files."""

from __future__ import annotations

import mido
import pretty_midi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soundart.io import load_midi, save_midi
from soundart.music.band import band_to_midi, parse_programs, part_programs
from soundart.music.chords import chord_token_names
from soundart.music.song import read_song
from soundart.music.tokens import BAND_PARTS, Codec, CodecConfig, Note, Piece

from .helpers import band_piece

CONFIG = CodecConfig(parts=BAND_PARTS, chords=True, styles=("pop", "jazz", "rock"))


def _key(n: Note) -> tuple:
    return (n.start, n.program, n.pitch, n.duration)


def test_band_vocabulary_has_parts_and_chords_not_gm_programs():
    codec = Codec(CONFIG)
    names = codec.names
    assert [n for n in names if n.startswith("PART_")] == [f"PART_{p}" for p in BAND_PARTS]
    assert not any(n.startswith("PROG_") for n in names)
    assert len([n for n in names if n.startswith("CHORD_")]) == len(chord_token_names())
    assert codec.drum_program == 3 and codec.kind(codec.prog0 + 3) == ("PROG", 3)


def test_multitrack_piece_round_trips_through_tokens():
    codec = Codec(CONFIG)
    piece = band_piece("pop", 4)
    piece.notes += band_piece("rock", 4).notes
    back = codec.decode(codec.encode(piece), strict=True)
    assert sorted(map(_key, back.notes)) == sorted(map(_key, piece.notes))
    assert back.chords == piece.chords and back.style == "pop"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(1, 40), st.integers(24, 100), st.integers(0, 3)),
                min_size=1, max_size=40),
       st.lists(st.sampled_from(chord_token_names()), min_size=4, max_size=4))
def test_any_band_piece_round_trips(notes, chords):
    codec = Codec(CONFIG)
    piece = Piece([Note(s, d, p, 80, part) for s, d, p, part in notes], "4/4", 100.0, 0, "jazz", chords)
    back = codec.decode(codec.encode(piece, n_bars=4), strict=True)
    assert sorted(set(map(_key, back.notes))) == sorted({(s, part, p, d) for s, d, p, part in
                                                          {(n.start, n.duration, n.pitch, n.program)
                                                           for n in piece.notes}} - _shadowed(piece))
    assert back.chords == chords


def _shadowed(piece: Piece) -> set:
    """Notes the codec drops: a shorter duplicate of (start, part, pitch)."""
    best: dict = {}
    for n in piece.notes:
        k = (n.start, n.program, n.pitch)
        best[k] = max(best.get(k, 0), n.duration)
    return {(n.start, n.program, n.pitch, n.duration) for n in piece.notes if n.duration < best[(n.start, n.program,
                                                                                                    n.pitch)]}


def test_transposition_moves_pitches_and_chords_not_drums():
    codec = Codec(CONFIG)
    piece = band_piece("pop", 2)
    piece.notes.append(Note(0, 1, 36, 100, 3))
    up = codec.decode(codec.transpose(codec.encode(piece), 2))
    assert up.chords == ["B:min", "G:maj"]
    assert sorted(n.pitch for n in up.notes if n.program == 3) == [36]
    assert sorted(n.pitch for n in up.notes if n.program == 0) == sorted(n.pitch + 2 for n in piece.notes
                                                                        if n.program == 0)


def test_band_midi_has_named_tracks_programs_drum_channel_and_chord_markers(tmp_path):
    piece = band_piece("pop", 4)
    piece.notes += band_piece("rock", 4).notes
    midi, markers = band_to_midi(piece, CONFIG, part_programs("pop", {"bass": 34}), "pop")
    path = save_midi(midi, tmp_path / "band.mid", markers=markers)
    back = load_midi(path)
    tracks = {i.name: i for i in back.instruments}
    assert list(tracks) == ["Melody", "Chords", "Bass", "Drums"]
    assert tracks["Bass"].program == 34 and tracks["Drums"].is_drum and not tracks["Melody"].is_drum
    assert [t.text for t in back.text_events] == ["Am", "F", "C", "G7"]
    marks = [m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "marker"]
    assert marks == ["Am", "F", "C", "G7"]
    # the file read back as a song keeps every note in its part and recovers its chords
    song = read_song(path, CONFIG)
    assert sorted(map(_key, song.notes)) == sorted(map(_key, piece.notes))
    assert song.chords == piece.chords
    assert {t.name: t.part for t in song.tracks} == {"Melody": "melody", "Chords": "chords", "Bass": "bass",
                                                     "Drums": "drums"}


def test_user_midi_tracks_become_parts(tmp_path):
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    for program, pitches in ((0, (72, 74)), (33, (36, 38)), (0, (60, 64, 67))):
        inst = pretty_midi.Instrument(program)
        inst.notes = [pretty_midi.Note(90, p, 0.5 * i, 0.5 * i + 0.5) for i, p in enumerate(pitches)]
        midi.instruments.append(inst)
    midi.write(str(tmp_path / "three.mid"))
    song = read_song(tmp_path / "three.mid", CONFIG)
    assert {BAND_PARTS[n.program] for n in song.notes} == {"melody", "bass", "chords"}
    assert max(n.pitch for n in song.notes if n.program == 2) == 38
    # a part about to be added is left free: the track that played it moves to the nearest other part
    song = read_song(tmp_path / "three.mid", CONFIG, free_parts=["bass"])
    assert "bass" not in song.parts and len(song.tracks) == 3


def test_low_piano_accompaniment_is_chords_not_bass(tmp_path):
    """A melody over an unnamed piano part below middle C (a verse from a DAW): the piano plays chords,
    and a low one-note-at-a-time line under them is the bass."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=100)
    melody, piano, low = (pretty_midi.Instrument(0) for _ in range(3))
    melody.notes = [pretty_midi.Note(90, 72 + i % 3, 0.6 * i, 0.6 * i + 0.5) for i in range(8)]
    piano.notes = [pretty_midi.Note(70, p, 1.2 * i, 1.2 * i + 1.0) for i in range(4) for p in (48, 52, 55, 60)]
    midi.instruments += [melody, piano]
    midi.write(str(tmp_path / "two.mid"))
    assert [t.part for t in read_song(tmp_path / "two.mid", CONFIG).tracks] == ["melody", "chords"]
    low.notes = [pretty_midi.Note(80, 36 + i % 2, 1.2 * i, 1.2 * i + 1.0) for i in range(4)]
    midi.instruments.append(low)
    midi.write(str(tmp_path / "three.mid"))
    assert [t.part for t in read_song(tmp_path / "three.mid", CONFIG).tracks] == ["melody", "chords", "bass"]


def test_program_options():
    assert parse_programs(["bass=33", "melody=65,chords=4"]) == {"bass": 33, "melody": 65, "chords": 4}
    from soundart.errors import ConfigError

    for bad in ("drums=3", "bass", "bass=200", "lead=3"):
        with pytest.raises(ConfigError):
            parse_programs([bad])
