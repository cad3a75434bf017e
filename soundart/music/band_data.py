"""Band pieces (melody, chords, bass, drums) with one chord name per bar, for the band sketch models.

Every loader returns ``[(piece_id, Piece), ...]`` of *band* pieces: ``Note.program`` is the index of
the part in :data:`~soundart.music.tokens.BAND_PARTS` (melody 0, chords 1, bass 2, drums 3) and
``Piece.chords`` holds one chord name per bar ("A:min7", "N"), bar 0 being the piece's first bar.
Results are cached as JSON in :func:`~soundart.music.corpora.cache_dir`. The readers of each source
are :mod:`soundart.music.band_midi` (POP909, Groove) and :mod:`soundart.music.band_scores` (OpenEWLD
and the music21 corpus, read through music21); this module holds what they share and picks by style.

Sources and what is derived (the rest is played in the source):

=========  ===================================  =============================================================
style      source                               parts
=========  ===================================  =============================================================
pop        POP909 (``midi/pop909``)             melody = MELODY track, chords = PIANO track (BRIDGE dropped),
                                                bass DERIVED from the labelled chords (``chord_midi.txt``)
jazz       OpenEWLD lead sheets                 melody = the lead sheet's notes; chords and bass DERIVED from
                                                its chord symbols
chorale    music21 Bach chorales                soprano = melody, alto + tenor = chords, bass = bass (all
                                                played); per-bar chord names ESTIMATED from the notes
folk       music21 Essen folk songs             melody = the tune; per-bar chord ESTIMATED from the melody,
fiddle     music21 Ryan's Mammoth Collection    chords and bass DERIVED from that chord
drum       Groove MIDI (``midi/groove``)        drums only (program 3); chords all "N"
styles
=========  ===================================  =============================================================

Derived parts are block chords: a chord's tones in close position (every tone inside one octave
above the register's floor) and its root (or slash bass) in 36..47, struck at the chord's start and
on the meter's main beats inside its span (:data:`MAIN_BEATS`), each note lasting until the next
strike or the chord's end, velocity 80 (:func:`realize_chords`).

Ids: ``pop909/NNN`` (``#vK`` for an aligned other arrangement), ``groove/<drummer>/<session>#<n>``,
``openewld/<Composer>/<Title>``, ``corpus/path[#n]`` for music21; ``corpora.split_of`` hashes the part
before ``#``, so a song's arrangements, a Groove session and an opus each stay in one split.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from soundart.errors import ConfigError
from soundart.music.chords import Chord
from soundart.music.corpora import cache_dir, load_pieces, save_pieces
from soundart.music.tokens import CodecConfig, Note, Piece

PITCHED_STYLES = ("pop", "jazz", "folk", "fiddle", "chorale")
MELODY, CHORDS, BASS, DRUMS_PART = 0, 1, 2, 3  # indices in BAND_PARTS
SPQ = 4  # grid steps per quarter note (CodecConfig's default)
BASS_RANGE = (36, 47)
DERIVED_VELOCITY = 80
GROOVE_MIN_FILES = 10  # a Groove style is kept when the csv holds at least this many files of it
_CACHE_VERSION = 1
# the parts a pitched style's data derives from its chord labels: style -> (the derived chords' floor
# pitch, None = chords played in the source; whether the bass is derived)
DERIVED_PARTS: dict[str, tuple[int | None, bool]] = {"pop": (None, True), "jazz": (52, True), "folk": (48, True),
                                                     "fiddle": (48, True)}
SKIPPED: dict[str, Counter] = {}  # style -> why sources were skipped, from the last uncached load

# meter -> onsets (in quarter notes from the bar line) of the beats a derived chord is struck on:
# simple duple/quadruple meters every half bar, triple meters beat 1, compound meters every dotted beat
MAIN_BEATS: dict[str, tuple[float, ...]] = {
    "4/4": (0.0, 2.0), "3/4": (0.0,), "2/4": (0.0,), "2/2": (0.0, 2.0), "6/8": (0.0, 1.5), "3/8": (0.0,),
    "9/8": (0.0, 1.5, 3.0), "12/8": (0.0, 3.0), "6/4": (0.0, 3.0), "3/2": (0.0,), "5/4": (0.0, 3.0),
}


# ---- paths, caching ------------------------------------------------------------------------------
def shared_midi_dir() -> Path:
    """``shared/data/midi`` beside the repo, or ``$SOUNDART_SHARED_DATA/midi``."""
    env = os.environ.get("SOUNDART_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    return base / "midi"


def _cache_path(name: str, limit: int | None) -> Path:
    return cache_dir() / f"band-{name}-{limit or 'all'}-v{_CACHE_VERSION}.json"


def _cached(path: Path, build: Callable[[], list[tuple[str, Piece]]]) -> list[tuple[str, Piece]]:
    if path.exists():
        return load_pieces(path)
    out = build()
    save_pieces(path, out)
    return out


def _progress(items: Sequence[Any], desc: str, progress: bool) -> Iterable[Any]:
    if not progress:
        return items
    from soundart.progress import progress as progress_bar

    return progress_bar(items, desc=desc, unit="file")


def _require(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(f"{path}: shared data not found (set SOUNDART_SHARED_DATA to the 'data' folder)")
    return path


# ---- the derivation helpers ------------------------------------------------------------------------
def strike_steps(start: int, end: int, meter: str, steps_per_quarter: int = SPQ) -> list[int]:
    """Grid steps in ``[start, end)`` where a derived chord is struck: ``start`` and every main beat
    of ``meter`` (:data:`MAIN_BEATS`; bars counted from step 0) after it."""
    bar = CodecConfig(steps_per_quarter=steps_per_quarter).bar_steps(meter)
    beats = [int(round(q * steps_per_quarter)) for q in MAIN_BEATS.get(meter, (0.0,))]
    out = [start] if end > start else []
    for b in range(start // bar, (end - 1) // bar + 1 if end > start else 0):
        out += [b * bar + o for o in beats if start < b * bar + o < end]
    return sorted(set(out))


def close_voicing(chord: Chord, low: int) -> list[int]:
    """The chord's tones in close position: each pitch class once, in ``low .. low + 11``."""
    return sorted(low + (pc - low) % 12 for pc in chord.pitch_classes)


def bass_pitch(chord: Chord, low: int = BASS_RANGE[0]) -> int:
    """The chord's bass (its slash bass, else its root) in ``low .. low + 11`` (36..47)."""
    return low + (chord.bass - low) % 12


def realize_chords(segments: Sequence[tuple[int, int, Chord | None]], meter: str, chord_low: int | None = None,
                   bass: bool = True, steps_per_quarter: int = SPQ) -> list[Note]:
    """Derived chord (program 1) and bass (program 2) notes from chord segments ``(start, end, chord)``.

    Each chord is struck at :func:`strike_steps` of its span; each note lasts until the next strike or
    the span's end; velocity 80. Chords go in close position from ``chord_low`` (None = no chord part),
    the bass is the slash bass or root in 36..47. Segments with chord None ("N") stay silent.
    """
    notes: list[Note] = []
    for start, end, chord in segments:
        if chord is None or end <= start:
            continue
        hits = strike_steps(start, end, meter, steps_per_quarter)
        for h, nxt in zip(hits, hits[1:] + [end]):
            if chord_low is not None:
                notes += [Note(h, nxt - h, p, DERIVED_VELOCITY, CHORDS) for p in close_voicing(chord, chord_low)]
            if bass:
                notes.append(Note(h, nxt - h, bass_pitch(chord), DERIVED_VELOCITY, BASS))
    return notes


def chords_per_bar(segments: Sequence[tuple[int, int, Chord | None]], n_bars: int, bar_steps: int) -> list[str]:
    """For each bar, the token of the segment with the longest overlap with it ("N" if none or if a
    no-chord segment overlaps most); a tie goes to the earlier segment."""
    best: list[tuple[int, str]] = [(0, "N")] * n_bars
    for start, end, chord in segments:
        for b in range(max(0, start // bar_steps), min(n_bars, (end - 1) // bar_steps + 1)):
            ov = min(end, (b + 1) * bar_steps) - max(start, b * bar_steps)
            if ov > best[b][0]:
                best[b] = (ov, chord.token if chord is not None else "N")
    return [name for _, name in best]


def n_bars_of(notes: Iterable[Note], bar_steps: int) -> int:
    """Bars up to the last note's onset (the codec's count)."""
    return max((n.start // bar_steps for n in notes), default=-1) + 1


def _finish(notes: list[Note], meter: str, tempo: float, key: int, style: str,
            chords: Callable[[int], list[str]] | list[tuple[int, int, Chord | None]]) -> Piece:
    bar = CodecConfig().bar_steps(meter)
    n_bars = n_bars_of(notes, bar)
    names = chords(n_bars) if callable(chords) else chords_per_bar(chords, n_bars, bar)
    return Piece(notes, meter, float(tempo), int(key), style, names)


# ---- by style ---------------------------------------------------------------------------------------------
def drum_pieces(style: str | None = None, limit: int | None = None) -> list[tuple[str, Piece]]:
    """Groove pieces of one drum style (None = all kept styles)."""
    from soundart.music.band_midi import groove_pieces, groove_styles

    if style is not None and style not in groove_styles():
        raise ConfigError(f"unknown drum style {style!r} (known: {', '.join(groove_styles())})")
    return [(pid, p) for pid, p in groove_pieces(limit) if style is None or p.style == style]


def band_pieces(style: str, limit: int | None = None) -> list[tuple[str, Piece]]:
    """The band pieces of a pitched style (:data:`PITCHED_STYLES`); drum styles: :func:`drum_pieces`."""
    from soundart.music.band_midi import pop909_pieces
    from soundart.music.band_scores import music21_band_pieces, openewld_pieces

    if style == "pop":
        return pop909_pieces(limit)
    if style == "jazz":
        return openewld_pieces(limit)
    if style in ("chorale", "folk", "fiddle"):
        return music21_band_pieces(style, limit)
    raise ConfigError(f"unknown pitched style {style!r} (known: {', '.join(PITCHED_STYLES)}; "
                      "drum styles: drum_pieces)")


__all__ = ["PITCHED_STYLES", "MAIN_BEATS", "band_pieces", "drum_pieces", "realize_chords", "strike_steps",
           "chords_per_bar", "close_voicing", "bass_pitch", "shared_midi_dir"]
