"""Band pieces (melody, chords, bass, drums) with one chord name per bar, for the band sketch models.

Every loader returns ``[(piece_id, Piece), ...]`` of *band* pieces: ``Note.program`` is the index of
the part in :data:`~soundart.music.tokens.BAND_PARTS` (melody 0, chords 1, bass 2, drums 3) and
``Piece.chords`` holds one chord name per bar ("A:min7", "N"), bar 0 being the piece's first bar.
Results are cached as JSON in :func:`~soundart.music.corpora.cache_dir`.

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

import csv
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ConfigError
from soundart.music.chords import Chord, estimate_chord, parse_chord, parse_harte
from soundart.music.corpora import MUSIC21_STYLES, cache_dir, load_pieces, pickup_shift, save_pieces
from soundart.music.tokens import CodecConfig, Note, Piece, estimate_key, parse_key

PITCHED_STYLES = ("pop", "jazz", "folk", "fiddle", "chorale")
MELODY, CHORDS, BASS, DRUMS_PART = 0, 1, 2, 3  # indices in BAND_PARTS
SPQ = 4  # grid steps per quarter note (CodecConfig's default)
BASS_RANGE = (36, 47)
DERIVED_VELOCITY = 80
GROOVE_MIN_FILES = 10  # a Groove style is kept when the csv holds at least this many files of it
_CACHE_VERSION = 1

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


# ---- POP909 ------------------------------------------------------------------------------------------
class _BeatGrid:
    """Seconds -> grid steps: beat k after the first downbeat is step 4k, linear in between and
    extrapolated with the first / last beat interval."""

    def __init__(self, beat_times: np.ndarray) -> None:
        self.t = np.asarray(beat_times, float)
        self.s = np.arange(len(self.t)) * float(SPQ)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)
        out = np.interp(t, self.t, self.s)
        lo, hi = t < self.t[0], t > self.t[-1]
        out[lo] = SPQ * (t[lo] - self.t[0]) / (self.t[1] - self.t[0])
        out[hi] = self.s[-1] + SPQ * (t[hi] - self.t[-1]) / (self.t[-1] - self.t[-2])
        return out


def _pop_notes(insts: Sequence[tuple[Any, int]], grid: _BeatGrid, offset: float = 0.0) -> list[Note]:
    notes = []
    for inst, program in insts:
        if not inst.notes:
            continue
        on = np.rint(grid(np.array([n.start for n in inst.notes]) - offset)).astype(int)
        off = np.rint(grid(np.array([n.end for n in inst.notes]) - offset)).astype(int)
        for n, a, b in zip(inst.notes, on, off):
            if a >= 0:  # notes before the first downbeat are dropped
                notes.append(Note(int(a), int(max(1, b - a)), int(n.pitch), int(n.velocity), program))
    return notes


def _pop_version_offset(main_mel: Any, mel: Any) -> float | None:
    """Constant time offset of an arrangement whose melody has the main file's notes (None if not aligned)."""
    a = np.array([n.start for n in main_mel.notes])
    b = np.array([n.start for n in mel.notes])
    if len(a) == 0 or len(a) != len(b) or [n.pitch for n in main_mel.notes] != [n.pitch for n in mel.notes]:
        return None
    off = float(np.median(b - a))
    return off if abs(off) < 1.0 and np.abs(b - a - off).max() < 0.03 else None


def _pop_song(folder: Path, stats: Counter) -> list[tuple[str, Piece]]:
    import pretty_midi

    song = folder.name
    beats = np.loadtxt(folder / "beat_midi.txt", ndmin=2)
    down = np.flatnonzero(beats[:, 2] == 1)
    if len(down) < 2:
        stats["skipped: fewer than two downbeats"] += 1
        return []
    per_bar = Counter(np.diff(down).tolist()).most_common(1)[0][0]
    meter = {4: "4/4", 3: "3/4"}.get(per_bar)
    if meter is None:
        stats[f"skipped: {per_bar} beats per bar"] += 1
        return []
    times = beats[down[0]:, 0]
    grid = _BeatGrid(times)
    tempo = 60.0 / float(np.median(np.diff(beats[:, 0])))
    key_rows = (folder / "key_audio.txt").read_text().split("\n")
    key = parse_key(key_rows[0].split()[2].replace(":", " ")) if key_rows and key_rows[0].strip() else 0
    segments = []
    for line in (folder / "chord_midi.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        a, b = np.rint(grid(np.array([float(parts[0]), float(parts[1])]))).astype(int)
        a = max(0, int(a))
        if b > a:
            segments.append((a, int(b), parse_harte(parts[2])))
    bass = realize_chords(segments, meter, chord_low=None)

    midi = pretty_midi.PrettyMIDI(str(folder / f"{song}.mid"))
    names = [i.name.strip().upper() for i in midi.instruments]
    mel = midi.instruments[names.index("MELODY")] if "MELODY" in names else midi.instruments[0]
    pno = [i for i, nm in zip(midi.instruments, names) if nm == "PIANO"] or midi.instruments[-1:]
    notes = _pop_notes([(mel, MELODY)] + [(p, CHORDS) for p in pno], grid) + bass
    out = [(f"pop909/{song}", _finish(notes, meter, tempo, key, "pop", segments))]
    main_pno = sorted((round(n.start, 2), n.pitch) for p in pno for n in p.notes)
    for vfile in sorted((folder / "versions").glob("*.mid")):
        try:
            vm = pretty_midi.PrettyMIDI(str(vfile))
        except Exception:
            stats["versions skipped: unreadable"] += 1
            continue
        off = _pop_version_offset(mel, vm.instruments[0]) if len(vm.instruments) >= 2 else None
        if off is None:
            stats["versions skipped: melody not aligned with the main file"] += 1
            continue
        vp = [i for i in vm.instruments[1:] if "PIANO" in i.name.upper()] or vm.instruments[-1:]
        if sorted((round(n.start - off, 2), n.pitch) for p in vp for n in p.notes) == main_pno:
            stats["versions skipped: same piano as the main file"] += 1
            continue
        vnotes = _pop_notes([(vm.instruments[0], MELODY)] + [(p, CHORDS) for p in vp], grid, off) + bass
        tag = vfile.stem.split("-")[-1]
        out.append((f"pop909/{song}#{tag}", _finish(vnotes, meter, tempo, key, "pop", segments)))
        stats["versions kept"] += 1
    return out


SKIPPED: dict[str, Counter] = {}  # style -> why sources were skipped, from the last uncached load


def pop909_pieces(limit: int | None = None, progress: bool = True) -> list[tuple[str, Piece]]:
    """POP909 songs as band pieces, style "pop" (``limit`` = at most this many songs).

    Grid from ``beat_midi.txt``: bar 1 starts at the first downbeat, beat k after it is step 4k,
    linear in between (extrapolated at the ends); notes before the first downbeat are dropped.
    Meter from the beats per downbeat (4 -> 4/4, 3 -> 3/4, other songs skipped), tempo = 60 / median
    beat interval, key from ``key_audio.txt``'s first row. Parts: MELODY -> melody, PIANO -> chords;
    the BRIDGE track (secondary melodies) is dropped. The bass is DERIVED from ``chord_midi.txt``: each
    labelled chord's root (or slash bass) in 36..47, struck at the label's start and on beats 1 and 3
    (beat 1 in 3/4), see :func:`realize_chords`. ``Piece.chords`` = the label overlapping each bar most.

    An arrangement under ``versions/`` is kept (id ``pop909/NNN#vK``) only when its melody has the main
    file's notes at the same times (up to one constant offset, which is removed), so the song's beat
    and chord labels fit it, and when its piano part differs from the main file's (no duplicates).
    """
    root = _require(shared_midi_dir() / "pop909")

    def build() -> list[tuple[str, Piece]]:
        stats = SKIPPED.setdefault("pop", Counter())
        stats.clear()
        songs = sorted(p for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.mid").exists())
        songs = songs[:limit] if limit else songs
        out = []
        for folder in _progress(songs, "pop909", progress):
            try:
                out += _pop_song(folder, stats)
            except Exception as exc:  # a malformed label file or MIDI: skip the song
                stats[f"skipped: {type(exc).__name__}"] += 1
        return out

    return _cached(_cache_path("pop909", limit), build)


# ---- Groove ----------------------------------------------------------------------------------------------
def _groove_rows() -> list[dict[str, str]]:
    with open(_require(shared_midi_dir() / "groove" / "info.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


def groove_style_counts() -> Counter:
    """Files per Groove style (the part of ``style`` before any "/") over the whole ``info.csv``."""
    return Counter(r["style"].split("/")[0] for r in _groove_rows())


def groove_styles() -> tuple[str, ...]:
    """The Groove styles kept (at least :data:`GROOVE_MIN_FILES` files in the csv), most files first."""
    return tuple(s for s, n in groove_style_counts().most_common() if n >= GROOVE_MIN_FILES)


def groove_pieces(limit: int | None = None, progress: bool = True) -> list[tuple[str, Piece]]:
    """Groove MIDI performances in 4/4 of the kept styles (:func:`groove_styles`) as drum-only band pieces.

    Onsets are rounded to the grid of the file's tick resolution (a step = resolution / 4 ticks),
    every note lasts one step and keeps its GM drum pitch and velocity; program 3 (drums). Tempo from
    the bpm column, key 0, chords "N" in every bar, style = the Groove style (e.g. "rock"; Groove's
    "jazz" and "pop" are drum styles, see :func:`drum_pieces`). Id ``groove/<drummer>/<session>#<n>``.
    """
    root = _require(shared_midi_dir() / "groove")

    def build() -> list[tuple[str, Piece]]:
        import pretty_midi

        kept = set(groove_styles())
        rows = [r for r in _groove_rows() if r["time_signature"] == "4-4" and r["style"].split("/")[0] in kept]
        rows = rows[:limit] if limit else rows
        out = []
        for r in _progress(rows, "groove", progress):
            try:
                midi = pretty_midi.PrettyMIDI(str(root / r["midi_filename"]))
            except Exception:
                continue
            step = midi.resolution / SPQ
            notes = [Note(int(round(midi.time_to_tick(n.start) / step)), 1, int(n.pitch), int(n.velocity), DRUMS_PART)
                     for inst in midi.instruments for n in inst.notes]
            if not notes:
                continue
            pid = f"groove/{r['session']}#{r['id'].split('/')[-1]}"
            out.append((pid, _finish(notes, "4/4", float(r["bpm"]), 0, r["style"].split("/")[0],
                                     lambda n: ["N"] * n)))
        return out

    return _cached(_cache_path("groove", limit), build)


def drum_pieces(style: str | None = None, limit: int | None = None) -> list[tuple[str, Piece]]:
    """Groove pieces of one drum style (None = all kept styles)."""
    if style is not None and style not in groove_styles():
        raise ConfigError(f"unknown drum style {style!r} (known: {', '.join(groove_styles())})")
    return [(pid, p) for pid, p in groove_pieces(limit) if style is None or p.style == style]


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
    derived = realize_chords(segments, meter, chord_low=52)
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
    derived = realize_chords(segments, meter, chord_low=48)
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


# ---- dispatch ---------------------------------------------------------------------------------------------
def band_pieces(style: str, limit: int | None = None) -> list[tuple[str, Piece]]:
    """The band pieces of a pitched style (:data:`PITCHED_STYLES`); drum styles: :func:`drum_pieces`."""
    if style == "pop":
        return pop909_pieces(limit)
    if style == "jazz":
        return openewld_pieces(limit)
    if style in ("chorale", "folk", "fiddle"):
        return music21_band_pieces(style, limit)
    raise ConfigError(f"unknown pitched style {style!r} (known: {', '.join(PITCHED_STYLES)}; "
                      "drum styles: drum_pieces)")


__all__ = ["PITCHED_STYLES", "MAIN_BEATS", "band_pieces", "drum_pieces", "pop909_pieces", "groove_pieces",
           "groove_styles", "groove_style_counts", "openewld_pieces", "music21_band_pieces", "realize_chords",
           "strike_steps", "chords_per_bar", "close_voicing", "bass_pitch", "shared_midi_dir"]
