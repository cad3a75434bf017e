"""Band pieces: the chord-derivation helpers (pure) and each loader on a few items of the shared data."""

from __future__ import annotations

import pytest

from soundart.music import band_data, band_midi, band_scores
from soundart.music.chords import Chord
from soundart.music.tokens import BAND_PARTS, Codec, CodecConfig


def test_realize_chords_strikes_on_main_beats():
    c_maj, a_min7_g = Chord(0, "maj", 0), Chord(9, "min7", 7)
    # 4/4 (16 steps a bar): C for a bar and a half from step 0, then A:min7/G from step 24 to 40, then N
    segments = [(0, 24, c_maj), (24, 40, a_min7_g), (40, 48, None)]
    notes = band_data.realize_chords(segments, "4/4", chord_low=48)
    bass = sorted((n.start, n.duration, n.pitch) for n in notes if n.program == 2)
    assert bass == [(0, 8, 36), (8, 8, 36), (16, 8, 36), (24, 8, 43), (32, 8, 43)]  # slash bass G = 43
    chords = sorted((n.start, n.pitch) for n in notes if n.program == 1)
    assert [p for s, p in chords if s == 0] == [48, 52, 55]
    assert [p for s, p in chords if s == 24] == [48, 52, 55, 57]  # A C E G in close position from 48
    assert all(n.velocity == 80 for n in notes) and not [n for n in notes if n.start >= 40]
    # longest overlap per bar; a tie goes to the earlier chord
    assert band_data.chords_per_bar(segments, 3, 16) == ["C:maj", "C:maj", "A:min7"]
    assert band_data.chords_per_bar([(0, 20, c_maj), (20, 40, None)], 3, 16) == ["C:maj", "N", "N"]
    # a segment starting off a main beat is struck at its start, then on the beats; 6/8 and 3/4 beats
    assert band_data.strike_steps(5, 20, "4/4") == [5, 8, 16]
    assert band_data.strike_steps(0, 24, "6/8") == [0, 6, 12, 18]
    assert band_data.strike_steps(0, 24, "3/4") == [0, 12]
    assert all(m in CodecConfig().meters for m in band_data.MAIN_BEATS)


needs_data = pytest.mark.skipif(not band_data.shared_midi_dir().is_dir(),
                                reason="shared MIDI data (shared/data/midi or $SOUNDART_SHARED_DATA) not present")


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDART_CACHE", str(tmp_path))
    return tmp_path


def _check(pieces, parts, derived_bass=True, style=None):
    assert pieces
    codec = Codec(CodecConfig(parts=BAND_PARTS, chords=True, styles=(*band_data.PITCHED_STYLES, "funk", "rock")))
    for pid, p in pieces:
        assert p.meter in CodecConfig().meters, pid
        bar = CodecConfig().bar_steps(p.meter)
        assert len(p.chords) == max(n.start for n in p.notes) // bar + 1, pid
        assert all(n.start >= 0 and n.duration >= 1 and isinstance(n.start, int) for n in p.notes), pid
        assert {n.program for n in p.notes} == set(parts), pid
        if derived_bass:
            assert all(36 <= n.pitch <= 47 for n in p.notes if n.program == 2), pid
        if style:
            assert p.style == style
        if p.style in codec.config.styles:
            assert codec.encode(p)[0] == codec.bos


@needs_data
def test_pop909(tmp_cache):
    pieces = band_midi.pop909_pieces(limit=2, progress=False)
    _check(pieces, {0, 1, 2}, style="pop")
    assert all(pid.split("#")[0] in ("pop909/001", "pop909/003") for pid, _ in pieces)
    assert band_midi.pop909_pieces(limit=2, progress=False)[0][0] == pieces[0][0]  # from the cache
    assert any(c != "N" for _, p in pieces for c in p.chords)


@needs_data
def test_groove(tmp_cache):
    pieces = band_midi.groove_pieces(limit=3, progress=False)
    _check(pieces, {3}, derived_bass=False)
    assert all(p.meter == "4/4" and set(p.chords) == {"N"} for _, p in pieces)
    assert all(pid.startswith("groove/drummer") and "#" in pid for pid, _ in pieces)
    assert "rock" in band_midi.groove_styles() and all(p.style in band_midi.groove_styles() for _, p in pieces)


@needs_data
def test_openewld(tmp_cache):
    pieces = band_scores.openewld_pieces(limit=2, progress=False)
    _check(pieces, {0, 1, 2}, style="jazz")
    assert all(52 <= n.pitch <= 67 for _, p in pieces for n in p.notes if n.program == 1)
    assert all(pid.startswith("openewld/") for pid, _ in pieces)


@needs_data
@pytest.mark.parametrize("style", ["chorale", "fiddle"])
def test_music21_band(tmp_cache, style):
    pytest.importorskip("music21")
    pieces = band_scores.music21_band_pieces(style, limit=3, progress=False)
    _check(pieces, {0, 1, 2}, derived_bass=style != "chorale", style=style)
    assert band_data.band_pieces(style, limit=3) == pieces  # dispatch, read from the cache


def test_band_pieces_rejects_unknown_style():
    with pytest.raises(Exception, match="unknown pitched style"):
        band_data.band_pieces("rock")
