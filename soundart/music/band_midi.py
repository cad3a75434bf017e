"""POP909 songs and Groove drum performances (``shared/data/midi``) as band pieces (see band_data)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundart.music.band_data import (
    CHORDS,
    DRUMS_PART,
    GROOVE_MIN_FILES,
    MELODY,
    SKIPPED,
    SPQ,
    _cache_path,
    _cached,
    _finish,
    _progress,
    _require,
    realize_chords,
    shared_midi_dir,
)
from soundart.music.chords import parse_harte
from soundart.music.tokens import Note, Piece, parse_key


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
def groove_rows(root: Path | None = None) -> list[dict[str, str]]:
    """The rows of Groove's ``info.csv`` in ``root`` (default: the shared data's ``groove``)."""
    with open(_require((root or shared_midi_dir() / "groove") / "info.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


def groove_style_counts() -> Counter:
    """Files per Groove style (the part of ``style`` before any "/") over the whole ``info.csv``."""
    return Counter(r["style"].split("/")[0] for r in groove_rows())


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
        rows = [r for r in groove_rows() if r["time_signature"] == "4-4" and r["style"].split("/")[0] in kept]
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
