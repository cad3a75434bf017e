"""A user's song (a MIDI or MusicXML file) on a band model's grid, and the way back to its own time.

The file as read stays untouched (``Song.midi``: every note, track name, program, tempo change and
time signature): edits copy it and add notes. The model sees the song as a band
:class:`~soundart.music.tokens.Piece`: each track plays one part (melody, chords, bass or drums), and
notes sit on a grid of steps counted in MIDI ticks from bar 1's downbeat, so a tempo change moves no
note off its beat and a step maps back to the file's own seconds (:meth:`Song.seconds_at`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import BadInputError, ConfigError
from soundart.music.tokens import CodecConfig, Note, Piece, estimate_key

MUSICXML_SUFFIXES = (".mxl", ".musicxml", ".xml")
# a part's usual register (mean MIDI pitch): where a track goes when its own part is taken
PART_REGISTER = {"melody": 72.0, "chords": 60.0, "bass": 40.0}
BASS_BELOW = 55.0  # mean pitch under which a one-note-at-a-time lowest track is a bass line (G3)
# words in a track's name that say its part (checked in this order: "bass" before "piano" for "Piano Bass")
NAME_HINTS = (("bass", ("bass",)), ("melody", ("melody", "lead", "vocal", "voice", "solo", "soprano")),
              ("chords", ("chord", "piano", "pad", "keys", "comp", "rhythm", "accomp", "alto", "tenor")))


@dataclass
class Track:
    """One track of the song: where it is in ``midi.instruments`` and the part the model plays it as."""

    index: int
    name: str
    program: int
    is_drum: bool
    part: str
    mean_pitch: float
    pitch_counts: dict[int, int]


@dataclass
class Song:
    """A song on the grid. ``notes[i]`` (a band note: ``program`` = part index) is note ``source[i][1]``
    of ``midi.instruments[source[i][0]]``; ``chords`` has one chord token name per bar ("N" = none)."""

    midi: Any
    path: Path
    meter: str
    key: int
    tempo: float
    origin_tick: float
    step_ticks: float
    bar_steps: int
    tracks: list[Track]
    notes: list[Note]
    source: list[tuple[int, int]]
    chords: list[str]
    pickup: bool = False

    @property
    def n_bars(self) -> int:
        return len(self.chords)

    @property
    def parts(self) -> list[str]:
        """The parts the song's tracks play, in band order."""
        from soundart.music.tokens import BAND_PARTS

        have = {t.part for t in self.tracks}
        return [p for p in BAND_PARTS if p in have]

    def step_at(self, seconds: float) -> int:
        """The grid step nearest to a time of the file."""
        return int(round((self.midi.time_to_tick(seconds) - self.origin_tick) / self.step_ticks))

    def seconds_at(self, step: float) -> float:
        """The file's time of a grid step (after the file's last tempo change, at its last tempo)."""
        tick = self.origin_tick + step * self.step_ticks
        if tick <= 0:
            return 0.0
        return float(self.midi.tick_to_time(int(round(tick))))

    def tempo_at_end(self) -> float:
        """The tempo (bpm) in force after the last tempo change."""
        _, tempi = self.midi.get_tempo_changes()
        return float(tempi[-1]) if len(tempi) else self.tempo

    def piece(self, style: str, notes: Sequence[Note] | None = None) -> Piece:
        """The song (or ``notes`` on its grid) as a band piece in ``style``."""
        return Piece([copy.copy(n) for n in (self.notes if notes is None else notes)], self.meter, self.tempo,
                     self.key, style, list(self.chords))

    def tracks_of(self, part: str) -> list[Track]:
        return [t for t in self.tracks if t.part == part]


def read_song(path: str | Path, config: CodecConfig, chords: Sequence[Any] | None = None,
              free_parts: Sequence[str] = ()) -> Song:
    """Read a MIDI (format 0 or 1) or MusicXML file as a :class:`Song` on ``config``'s grid.

    Parameters
    ----------
    path : a ``.mid``/``.midi`` file, or ``.mxl``/``.musicxml``/``.xml`` (read with music21).
    config : the band codec's config (its parts, meters and steps per quarter).
    chords : one ``music.chords.Chord`` (or None) per bar to use instead of the chords estimated from
        the notes.
    free_parts : parts that are about to be written anew (``add``): no track is assigned to them.

    Raises BadInputError for a file with no notes, or a meter the grid cannot hold (a time signature
    that changes after a pickup bar, or one the model was not trained in).
    """
    p = Path(path)
    midi, pickup_ticks = _read_file(p)
    resolution = midi.resolution
    step_ticks = resolution / config.steps_per_quarter
    meter, origin_tick, pickup = _meter_and_origin(midi, p, config, pickup_ticks)
    bar_steps = config.bar_steps(meter)
    tracks = assign_parts(midi, config, free_parts)
    notes, source = [], []
    for t in tracks:
        part = config.parts.index(t.part)
        for j, n in enumerate(midi.instruments[t.index].notes):
            s = (midi.time_to_tick(n.start) - origin_tick) / step_ticks
            e = (midi.time_to_tick(n.end) - origin_tick) / step_ticks
            start = int(round(s))
            notes.append(Note(max(0, start), max(1, int(round(e)) - start), int(n.pitch), int(n.velocity), part))
            source.append((t.index, j))
    if not notes:
        raise BadInputError(f"{p}: holds no notes")
    n_bars = max(n.start for n in notes) // bar_steps + 1
    if midi.key_signature_changes:
        key = int(midi.key_signature_changes[0].key_number)
    else:
        drum = config.parts.index("drums") if "drums" in config.parts else -1
        tonal = [n for n in notes if n.program != drum]
        key = estimate_key([n.pitch for n in tonal], [n.duration for n in tonal]) if tonal else 0
    _, tempi = midi.get_tempo_changes()
    tempo = float(tempi[0]) if len(tempi) else 120.0
    if chords is not None:
        names = [c.token if c is not None else "N" for c in chords]
        bar_chords = [names[b % len(names)] for b in range(n_bars)]
    else:
        from soundart.music.band import chords_per_bar

        drum = config.parts.index("drums") if "drums" in config.parts else -1
        bar_chords = chords_per_bar(notes, n_bars, bar_steps, drum)
    return Song(midi, p, meter, key, tempo, origin_tick, step_ticks, bar_steps, tracks, notes, source,
                bar_chords, pickup)


def _read_file(path: Path) -> tuple[Any, int]:
    """The file as PrettyMIDI, and (MusicXML) the ticks of its pickup bar's missing beats."""
    from soundart.io import check_input_file, load_midi

    if path.suffix.lower() not in MUSICXML_SUFFIXES:
        return load_midi(path), 0
    check_input_file(path, "a MusicXML file")
    import io
    import tempfile

    import pretty_midi

    try:
        import music21
    except ImportError:
        raise ConfigError(f"{path}: reading MusicXML needs music21 (pip install music21)") from None
    try:
        score = music21.converter.parse(str(path))
        from soundart.music.corpora import pickup_shift

        ts = next(iter(score.recurse().getElementsByClass("TimeSignature")), None)
        bar_q = float(ts.barDuration.quarterLength) if ts is not None else 4.0
        shift_q = pickup_shift(score.parts, bar_q) if score.parts else 0.0
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "score.mid"
            score.write("midi", fp=str(out))
            data = out.read_bytes()
        midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # music21 raises many kinds on bad, encrypted or unsupported files
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise BadInputError(f"{path}: cannot read this MusicXML file ({reason})") from None
    if not any(inst.notes for inst in midi.instruments):
        raise BadInputError(f"{path}: holds no notes")
    return midi, int(round(shift_q * midi.resolution))


def _meter_and_origin(midi: Any, path: Path, config: CodecConfig, pickup_ticks: int) -> tuple[str, float, bool]:
    """The song's one meter, the tick of bar 1's downbeat (negative when a pickup bar opens it) and
    whether it opens with a pickup. A pickup is a first bar shorter than the meter: a short first time
    signature (MIDI), or a MusicXML first measure shorter than the rest (``pickup_ticks``)."""
    signatures = sorted(midi.time_signature_changes, key=lambda ts: ts.time)
    ticks = [midi.time_to_tick(ts.time) for ts in signatures]
    meters = [f"{ts.numerator}/{ts.denominator}" for ts in signatures]
    origin, pickup = 0.0, False
    if not meters:
        meters, ticks = ["4/4"], [0]
    per_quarter = midi.resolution
    if len(meters) >= 2 and ticks[0] == 0 and meters[0] != meters[1]:
        num, den = (int(x) for x in meters[0].split("/"))
        first_bar = num * 4 * per_quarter / den
        full_bar = _bar_ticks(meters[1], per_quarter)
        if abs(ticks[1] - first_bar) < 1 and first_bar < full_bar:  # one short bar: a pickup
            origin, pickup = ticks[1] - full_bar, True
            meters, ticks = meters[1:], ticks[1:]
    meter = meters[0]
    for m, t in zip(meters[1:], ticks[1:]):
        if m != meter:
            bar = int((t - origin) // _bar_ticks(meter, per_quarter)) + 1
            raise BadInputError(f"{path}: the time signature changes from {meter} to {m} at bar {bar}; the model's "
                                "grid holds one meter per song (a pickup bar is fine)")
    if meter not in config.meters:
        raise BadInputError(f"{path}: meter {meter} is not one the model knows ({', '.join(config.meters)})")
    if pickup_ticks and not pickup:
        origin, pickup = -float(pickup_ticks), True
    return meter, origin, pickup


def _bar_ticks(meter: str, per_quarter: int) -> float:
    num, den = (int(x) for x in meter.split("/"))
    return num * 4 * per_quarter / den


def assign_parts(midi: Any, config: CodecConfig, free_parts: Sequence[str] = ()) -> list[Track]:
    """One part per track with notes. Drum tracks play drums; a pitched track whose GM program or name
    says its part (a bass program, "Bass", "Melody"/"Lead"/"Vocal", "Chords"/"Piano"/"Pad") plays that;
    of the rest, the highest (mean pitch) that mostly plays one note at a time is the melody, the lowest
    of two or more the bass when it is low and one note at a time (a piano accompaniment below middle C
    is chords, not bass), the others chords. Parts in ``free_parts`` are left for new notes: their tracks
    go to the nearest free-to-take part by register."""
    out: list[Track] = []
    pitched = []
    for i, inst in enumerate(midi.instruments):
        if not inst.notes:
            continue
        counts: dict[int, int] = {}
        for n in inst.notes:
            counts[int(n.pitch)] = counts.get(int(n.pitch), 0) + 1
        track = Track(i, inst.name, int(inst.program), bool(inst.is_drum), "drums" if inst.is_drum else "",
                      float(np.mean([n.pitch for n in inst.notes])), counts)
        out.append(track)
        if not inst.is_drum:
            track.part = _named_part(inst)
            pitched.append(track)
    single = {t.index: _mostly_single(midi.instruments[t.index].notes) for t in pitched}
    unnamed = sorted((t for t in pitched if not t.part), key=lambda t: -t.mean_pitch)
    if unnamed and single[unnamed[0].index] and not any(t.part == "melody" for t in pitched):
        unnamed.pop(0).part = "melody"
    if (len(pitched) > 1 and unnamed and unnamed[-1].mean_pitch < BASS_BELOW and single[unnamed[-1].index]
            and not any(t.part == "bass" for t in pitched)):
        unnamed.pop().part = "bass"
    for t in unnamed:
        t.part = "chords"
    takeable = [p for p in config.parts if p != "drums" and p not in free_parts]
    for t in pitched:
        if t.part not in takeable:
            if not takeable:
                raise ConfigError("every pitched part is to be written anew, but the song has pitched tracks "
                                  "for the model to follow: add fewer parts")
            t.part = min(takeable, key=lambda p: abs(PART_REGISTER.get(p, 60.0) - t.mean_pitch))
    return [t for t in out if t.part in config.parts]


def _named_part(inst: Any) -> str:
    """The part a pitched track's GM program or name says it plays ("" when they do not say)."""
    if 32 <= inst.program <= 39:
        return "bass"
    name = inst.name.lower()
    for part, words in NAME_HINTS:
        if any(w in name for w in words):
            return part
    return ""


def _mostly_single(notes: Sequence[Any]) -> bool:
    """Whether a track mostly plays one note at a time (>= 80% of its notes start alone)."""
    onsets = len({round(n.start, 3) for n in notes})
    return onsets >= 0.8 * len(notes)


def track_for(song: Song, part: str, pitch: int) -> Track | None:
    """The song's track that a new note of ``part`` belongs to: for pitched parts the track nearest in
    register, for drums the track that plays that drum most (else the first drum track)."""
    tracks = song.tracks_of(part)
    if not tracks:
        return None
    if part == "drums":
        return max(tracks, key=lambda t: (t.pitch_counts.get(pitch, 0), -tracks.index(t)))
    return min(tracks, key=lambda t: abs(t.mean_pitch - pitch))
