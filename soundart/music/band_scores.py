"""OpenEWLD lead sheets and the music21 corpus (chorales, folk, fiddle tunes) as band pieces, read
through music21 (see band_data)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ConfigError
from soundart.music.band_data import (
    BASS,
    CHORDS,
    DERIVED_PARTS,
    MELODY,
    SKIPPED,
    SPQ,
    _cache_path,
    _cached,
    _finish,
    _progress,
    _require,
    n_bars_of,
    realize_chords,
    shared_midi_dir,
)
from soundart.music.chords import Chord, estimate_chord, parse_chord
from soundart.music.corpora import MUSIC21_STYLES, pickup_shift
from soundart.music.tokens import CodecConfig, Note, Piece, estimate_key


# ---- music21 helpers ------------------------------------------------------------------------------------
def _meter_tempo(score: Any, default_tempo: float) -> tuple[str, float]:
    """(meter, tempo) of a score; the meter is "" without a time signature (free meter), "mixed" when the
    score changes meter (the one-meter bar grid would not fit) and "x/y" when unsupported."""
    from music21 import meter as m21meter
    from music21 import tempo as m21tempo

    flat = score.flatten()
    meters = [ts.ratioString for ts in flat.getElementsByClass(m21meter.TimeSignature)]
    mm = next(iter(flat.getElementsByClass(m21tempo.MetronomeMark)), None)
    tempo = float(mm.getQuarterBPM()) if mm is not None and mm.number else default_tempo
    if not meters:
        return "", tempo
    return (meters[0] if len(set(meters)) == 1 else "mixed"), tempo


def _meter_problem(meter: str) -> str | None:
    if meter in CodecConfig().meters:
        return None
    return {"": "no time signature", "mixed": "meter changes"}.get(meter, f"meter {meter} unsupported")


def _part_notes(part: Any, shift: float, program: int) -> list[Note]:
    from music21 import harmony

    notes = []
    for el in part.stripTies().flatten().notes:
        if isinstance(el, harmony.ChordSymbol):
            continue
        start = int(round((float(el.offset) + shift) * SPQ))
        dur = max(1, int(round(float(el.duration.quarterLength) * SPQ)))
        vel = el.volume.velocity if el.volume is not None and el.volume.velocity else 80
        notes += [Note(start, dur, int(p.midi), int(vel), program) for p in el.pitches if 0 <= p.midi < 128]
    return notes


def _pc_weights(notes: Iterable[Note], lo: int, hi: int, onset_bonus: float = 0.0) -> np.ndarray:
    w = np.zeros(12)
    for n in notes:
        ov = min(hi, n.start + n.duration) - max(lo, n.start)
        if ov > 0:
            w[n.pitch % 12] += ov + (onset_bonus if n.start == lo else 0.0)
    return w


# ---- OpenEWLD ---------------------------------------------------------------------------------------------
_KIND = {"major": "maj", "minor": "min", "augmented": "aug", "diminished": "dim", "dominant-seventh": "7",
         "major-seventh": "maj7", "minor-seventh": "min7", "diminished-seventh": "dim7", "augmented-seventh": "7",
         "half-diminished-seventh": "hdim7", "major-minor": "min7", "major-sixth": "maj", "minor-sixth": "min",
         "dominant-ninth": "7", "major-ninth": "maj7", "minor-ninth": "min7", "dominant-11th": "7",
         "major-11th": "maj7", "minor-11th": "min7", "dominant-13th": "7", "major-13th": "maj7",
         "minor-13th": "min7", "suspended-second": "sus2", "suspended-fourth": "sus4",
         "suspended-fourth-seventh": "sus4", "power": "maj", "dominant": "7", "augmented-ninth": "7",
         "minor-major": "min7"}


def _symbol_chord(cs: Any) -> Chord | None:
    """Our Chord of a music21 ChordSymbol: its kind mapped to QUALITIES, else estimated from its pitches."""
    from music21 import harmony

    if isinstance(cs, harmony.NoChord) or not cs.pitches:
        return None
    root = cs.root().pitchClass
    bass = cs.bass().pitchClass if cs.bass() is not None else root
    quality = _KIND.get(cs.chordKind or "")
    if quality is not None:
        return Chord(root, quality, bass)
    try:
        chord = parse_chord(str(cs.figure).replace("-", "b"))
        if chord is not None:
            return Chord(chord.root, chord.quality, bass)
    except Exception:
        pass
    w = np.zeros(12)
    w[[p.pitchClass for p in cs.pitches]] = 1.0
    est = estimate_chord(w, bass)
    return None if est is None else Chord(est.root, est.quality, bass)


def _openewld_piece(path: Path) -> Piece | str:
    from music21 import converter, harmony

    score = converter.parse(str(path))
    meter, tempo = _meter_tempo(score, 120.0)
    problem = _meter_problem(meter)
    if problem:
        return problem
    parts = list(score.parts) or [score]
    bar = CodecConfig().bar_steps(meter)
    shift = pickup_shift(parts, bar / SPQ)
    melody = _part_notes(parts[0], shift, MELODY)
    if len(melody) < 8:
        return "fewer than 8 notes"
    symbols = [(int(round((float(cs.offset) + shift) * SPQ)), _symbol_chord(cs))
               for cs in parts[0].flatten().getElementsByClass(harmony.ChordSymbol)]
    end = max(n.start + n.duration for n in melody)
    end = max(end, -(-end // bar) * bar)  # the last chord lasts to the end of the last bar
    segments = [(s, nxt, c) for (s, c), (nxt, _) in zip(symbols, symbols[1:] + [(end, None)]) if nxt > s]
    derived = realize_chords(segments, meter, chord_low=DERIVED_PARTS["jazz"][0])
    key = estimate_key([n.pitch for n in melody], [n.duration for n in melody])
    return _finish(melody + derived, meter, tempo, key, "jazz", segments)


def openewld_pieces(limit: int | None = None, progress: bool = True) -> list[tuple[str, Piece]]:
    """OpenEWLD lead sheets as band pieces, style "jazz" (``limit`` = at most this many files).

    Melody = the notes of the first part (a pickup bar is shifted so that bar 2 starts on a downbeat).
    The chord symbols give ``Piece.chords`` (per bar, the symbol sounding longest in it; each lasts
    to the next symbol) and two DERIVED parts (:func:`realize_chords`): chords = the symbol's tones
    in close position in 52..63, bass = its root or slash bass in 36..47, both struck at the symbol and
    on the meter's main beats. Meter from the time signature (scores without one, with meter changes
    or in an unsupported meter are skipped: one bar grid must fit the whole piece),
    tempo from a metronome mark else 120, key estimated from the melody; unreadable files are skipped.
    """
    root = _require(shared_midi_dir() / "openewld")

    def build() -> list[tuple[str, Piece]]:
        skipped = SKIPPED.setdefault("jazz", Counter())
        skipped.clear()
        files = sorted(root.rglob("*.mxl"))
        files = files[:limit] if limit else files
        out = []
        for f in _progress(files, "openewld", progress):
            try:
                piece = _openewld_piece(f)
            except Exception as exc:  # music21 raises many kinds on odd files
                piece = f"unreadable ({type(exc).__name__})"
            if isinstance(piece, str):
                skipped[piece] += 1
            else:
                rel = f.relative_to(root).parts
                out.append((f"openewld/{rel[0]}/{rel[1]}", piece))
        return out

    return _cached(_cache_path("openewld", limit), build)


# ---- music21 corpus -------------------------------------------------------------------------------------
def _chorale_piece(score: Any, meter: str, tempo: float) -> Piece | None:
    parts = list(score.parts)
    if len(parts) < 3:
        return None
    bar = CodecConfig().bar_steps(meter)
    shift = pickup_shift(parts, bar / SPQ)
    notes = _part_notes(parts[0], shift, MELODY) + _part_notes(parts[-1], shift, BASS)
    for p in parts[1:-1]:
        notes += _part_notes(p, shift, CHORDS)
    if len(notes) < 8:
        return None

    def names(n_bars: int) -> list[str]:
        out = []
        for b in range(n_bars):
            lo = b * bar
            sounding = [n.pitch for n in notes if n.start <= lo < n.start + n.duration]
            chord = estimate_chord(_pc_weights(notes, lo, lo + bar), min(sounding) % 12 if sounding else None)
            out.append(chord.token if chord is not None else "N")
        return out

    key = estimate_key([n.pitch for n in notes], [n.duration for n in notes])
    return _finish(notes, meter, tempo, key, "chorale", names)


def _tune_piece(score: Any, meter: str, tempo: float, style: str) -> Piece | None:
    parts = list(score.parts) or [score]
    bar = CodecConfig().bar_steps(meter)
    shift = pickup_shift(parts, bar / SPQ)
    melody = _part_notes(parts[0], shift, MELODY)
    if len(melody) < 8:
        return None
    segments: list[tuple[int, int, Chord | None]] = []
    for b in range(n_bars_of(melody, bar)):
        lo = b * bar
        chord = estimate_chord(_pc_weights(melody, lo, lo + bar, onset_bonus=float(SPQ)))
        start = lo if b > 0 else min(n.start for n in melody)  # a pickup's chord starts with its first note
        segments.append((start, lo + bar, chord))
    derived = realize_chords(segments, meter, chord_low=DERIVED_PARTS[style][0])
    key = estimate_key([n.pitch for n in melody], [n.duration for n in melody])
    return _finish(melody + derived, meter, tempo, key, style, segments)


def music21_band_pieces(style: str, limit: int | None = None, progress: bool = True) -> list[tuple[str, Piece]]:
    """Music21 corpus scores as band pieces; ``style`` is "chorale", "folk" or "fiddle".

    chorale: soprano -> melody, the middle voices -> chords, the lowest voice -> bass (all played);
    ``Piece.chords`` ESTIMATED per bar (``chords.estimate_chord`` of the bar's duration-weighted pitch
    classes, bass = the lowest pitch sounding on the downbeat).
    folk, fiddle: the tune -> melody; per-bar chord ESTIMATED from the melody (duration-weighted pitch
    classes, notes on beat 1 weigh a quarter note more) and two DERIVED parts (:func:`realize_chords`):
    chords = that chord in close position in 48..59, bass = its root in 36..47, struck on the meter's
    main beats (:data:`MAIN_BEATS`). Pickup bars are shifted so that bar 2 starts on a downbeat;
    scores without a time signature, with meter changes or in an unsupported meter are skipped
    (``SKIPPED[style]`` counts why). Folk reads at most 4 Essen opus files (``corpora.MUSIC21_STYLES``).
    Ids as ``corpora.music21_pieces`` makes them (``corpus/path[#n]``).
    """
    if style not in ("chorale", "folk", "fiddle"):
        raise ConfigError(f"music21 band style must be chorale, folk or fiddle, got {style!r}")
    folders, _, default_tempo, cap = MUSIC21_STYLES[style]
    limit = min(limit, cap) if limit else (cap if cap < 10_000 else None)

    def build() -> list[tuple[str, Piece]]:
        from music21 import corpus

        paths = sorted(str(p) for p in corpus.getPaths() if str(p).split("/corpus/")[-1].split("/")[0] in folders)
        if style == "chorale":
            paths = [p for p in paths if "/bwv" in p]
        paths = paths[:limit] if limit else paths
        skipped = SKIPPED.setdefault(style, Counter())
        skipped.clear()
        out = []
        for path in _progress(paths, style, progress):
            rel = path.split("/corpus/")[-1]
            try:
                parsed = corpus.parse(path)
            except Exception:
                skipped["unreadable file"] += 1
                continue
            scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
            for i, score in enumerate(scores):
                try:
                    meter, tempo = _meter_tempo(score, default_tempo)
                    problem = _meter_problem(meter)
                    if problem:
                        skipped[problem] += 1
                        continue
                    piece = (_chorale_piece(score, meter, tempo) if style == "chorale"
                             else _tune_piece(score, meter, tempo, style))
                except Exception as exc:
                    skipped[f"unreadable ({type(exc).__name__})"] += 1
                    continue
                if piece is None:
                    skipped["fewer than 8 notes or 3 parts"] += 1
                else:
                    out.append((f"{rel}#{i}" if len(scores) > 1 else rel, piece))
        return out

    return _cached(_cache_path(f"m21-{style}", limit), build)
