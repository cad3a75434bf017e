"""The band: parts (melody, chords, bass, drums), their default GM programs per style, and the
conversions between a band :class:`~soundart.music.tokens.Piece` and a multi-track MIDI file.

In a band piece a note's ``program`` is its part's index in ``CodecConfig.parts``; the GM program
of each part is chosen only when the MIDI file is written (``programs``), so the same sketch can be
voiced for any instruments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from soundart.errors import ConfigError
from soundart.music.chords import chord_from_token, estimate_chord
from soundart.music.midi_pieces import empty_midi
from soundart.music.tokens import BAND_PARTS, CodecConfig, Note, Piece

# the parts a sketch of each style writes when --tracks is not given (drum styles: the drums)
DEFAULT_TRACKS: dict[str, tuple[str, ...]] = {
    "pop": ("melody", "chords", "bass", "drums"),
    "jazz": ("melody", "chords", "bass", "drums"),
    "folk": ("melody", "chords", "bass"),
    "fiddle": ("melody", "chords"),
    "chorale": ("melody", "chords", "bass"),
}
# GM programs (0-based) per style and part: what a DAW loads when the file opens
DEFAULT_PROGRAMS: dict[str, dict[str, int]] = {
    "pop": {"melody": 80, "chords": 0, "bass": 33},      # square lead, grand piano, finger bass
    "jazz": {"melody": 65, "chords": 0, "bass": 32},     # alto sax, grand piano, acoustic bass
    "folk": {"melody": 73, "chords": 24, "bass": 32},    # flute, nylon guitar, acoustic bass
    "fiddle": {"melody": 40, "chords": 24, "bass": 32},  # violin, nylon guitar, acoustic bass
    "chorale": {"melody": 52, "chords": 52, "bass": 52},  # choir aahs: four voices
}
FALLBACK_PROGRAMS = {"melody": 0, "chords": 0, "bass": 33}
# track names where a style's parts have their own names (a chorale's are voices)
TRACK_NAMES: dict[str, dict[str, str]] = {
    "chorale": {"melody": "Soprano", "chords": "Alto & Tenor", "bass": "Bass"},
}


def default_tracks(style: str, style_parts: Sequence[str]) -> tuple[str, ...]:
    """The parts a sketch of ``style`` writes by default (those of DEFAULT_TRACKS the data has)."""
    wanted = DEFAULT_TRACKS.get(style, tuple(style_parts))
    return tuple(p for p in wanted if p in style_parts or p == "drums")


def part_programs(style: str, overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """GM program per pitched part for ``style``, with ``overrides`` (``{"bass": 33}``) applied."""
    programs = dict(DEFAULT_PROGRAMS.get(style, FALLBACK_PROGRAMS))
    for part, program in (overrides or {}).items():
        if part not in BAND_PARTS or part == "drums":
            raise ConfigError(f"program for unknown part {part!r} (parts with a program: melody, chords, bass)")
        if not 0 <= int(program) <= 127:
            raise ConfigError(f"program for {part} must be 0-127, got {program}")
        programs[part] = int(program)
    return programs


def parse_programs(text: Sequence[str] | str | None) -> dict[str, int]:
    """``["bass=33", "melody=65"]`` or ``"bass=33,melody=65"`` -> ``{"bass": 33, "melody": 65}``."""
    if not text:
        return {}
    items = [text] if isinstance(text, str) else list(text)
    out: dict[str, int] = {}
    for item in (x for chunk in items for x in str(chunk).split(",") if x.strip()):
        part, sep, value = item.partition("=")
        part = part.strip()
        if not sep or part not in ("melody", "chords", "bass"):
            raise ConfigError(f"program {item!r}: use PART=NUMBER with PART one of melody, chords, bass "
                              "(e.g. bass=33)")
        try:
            out[part] = int(value)
        except ValueError:
            raise ConfigError(f"program {item!r}: {value!r} is not a GM program number 0-127") from None
    part_programs("", out)  # checks the numbers
    return out


def band_to_midi(piece: Piece, config: CodecConfig, programs: Mapping[str, int], style: str = "",
                 symbols: Sequence[str] | None = None):
    """A ``pretty_midi.PrettyMIDI`` with one named track per part (drums on the GM drum channel) and
    the chord of each bar as a text event (``symbols``, e.g. "C/E", else from ``piece.chords``).
    Returns (midi, markers) where markers are ``(seconds, chord symbol)`` for
    :func:`soundart.io.save_midi`."""
    import pretty_midi

    midi, step = empty_midi(piece, config)
    names = TRACK_NAMES.get(style, {})
    tracks: dict[int, Any] = {}
    for n in piece.sorted_notes():
        part = config.parts[n.program]
        inst = tracks.get(n.program)
        if inst is None:
            drum = part == "drums"
            inst = pretty_midi.Instrument(program=0 if drum else int(programs.get(part, 0)), is_drum=drum,
                                          name=names.get(part, part.capitalize()))
            tracks[n.program] = inst
        inst.notes.append(pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch),
                                           start=n.start * step, end=(n.start + n.duration) * step))
    midi.instruments = [tracks[p] for p in sorted(tracks)]
    bar_seconds = config.bar_steps(piece.meter) * step
    if symbols is None:
        symbols = [str(chord) if (chord := chord_from_token(name)) is not None else "" for name in piece.chords]
    markers = [(bar * bar_seconds, text) for bar, text in enumerate(symbols) if text]
    for t, text in markers:
        midi.text_events.append(pretty_midi.Text(text, t))
    return midi, markers


def chords_per_bar(notes: Sequence[Note], n_bars: int, bar_len: int, drum_program: int) -> list[str]:
    """Estimated chord name per bar ("N" for a bar without pitched notes): duration-weighted pitch
    classes, the lowest note on the downbeat as the bass (``chords.estimate_chord``)."""
    weights = np.zeros((n_bars, 12))
    lowest: dict[int, int] = {}
    for n in notes:
        if n.program == drum_program:
            continue
        first, last = n.start // bar_len, (n.start + n.duration - 1) // bar_len
        for b in range(max(0, first), min(n_bars - 1, last) + 1):
            overlap = min(n.start + n.duration, (b + 1) * bar_len) - max(n.start, b * bar_len)
            weights[b, n.pitch % 12] += overlap * (1.5 if n.start == b * bar_len else 1.0)
        if n.start % bar_len == 0 and 0 <= first < n_bars:
            lowest[first] = min(lowest.get(first, 128), n.pitch)
    out = []
    for b in range(n_bars):
        chord = estimate_chord(weights[b], lowest[b] % 12 if b in lowest else None)
        out.append(chord.token if chord is not None else "N")
    return out
