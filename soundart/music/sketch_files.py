"""The files a sketch run writes besides its MIDI: every path checked before any work, and the piano roll.

:func:`~soundart.music.sketch.sketch` returns :class:`~soundart.music.sketch.Sketch` objects; these helpers
are what ``soundart sketch`` (and any caller writing files) does around it: name the ``n`` outputs, refuse a
bad path before sketching, turn ``PART=N`` program strings into a mapping, draw the first sketch's roll.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from soundart.errors import BadInputError


def midi_paths(out: str | Path, n: int) -> list[Path]:
    """``out`` for one sketch, else ``NAME-1.mid ... NAME-n.mid``; BadInputError without a MIDI suffix."""
    from soundart.audio.clip import numbered_paths

    out = Path(out)
    if out.suffix.lower() not in (".mid", ".midi"):
        raise BadInputError(f"{out}: a MIDI output needs a .mid or .midi suffix")
    return numbered_paths(out, n)


def check_paths(paths: Sequence[Path], *, plot: str | Path | None = None, primer: str | Path | None = None,
                force: bool = False) -> None:
    """Check every output (``paths`` and the ``plot`` picture) before any work: a known picture suffix, not
    the ``primer`` (which is never overwritten), a folder that exists, no file there unless ``force``."""
    from soundart.io import check_output_path
    from soundart.plot import PLOT_SUFFIXES

    if plot is not None and Path(plot).suffix.lower() not in PLOT_SUFFIXES:
        raise BadInputError(f"plot={plot}: a picture needs a {' or '.join(PLOT_SUFFIXES)} suffix")
    for p in list(paths) + ([Path(plot)] if plot is not None else []):
        if primer is not None and p.resolve() == Path(primer).resolve():
            raise BadInputError(f"{p}: that is the input file, which is never overwritten; write to another path")
        check_output_path(p, force)


def parse_program_specs(specs: Sequence[str]) -> dict[str, int]:
    """``["bass=33", "melody=65"]`` -> ``{"bass": 33, "melody": 65}``; a plain ``"N"`` (the last one wins)
    sets every note's program, ``{"all": N}``, on a model without parts."""
    from soundart.music.band import parse_programs

    plain = [s for s in specs if "=" not in s]
    programs = parse_programs([s for s in specs if "=" in s])
    if plain:
        try:
            programs["all"] = int(plain[-1])
        except ValueError:
            raise BadInputError(f"program={plain[-1]!r}: use PART=N (e.g. bass=33) or a number 0-127") from None
    return programs


def plot_sketch(sketch: Any, path: str | Path, *, name: str, force: bool = False) -> Any:
    """Draw ``sketch``'s piano roll to ``path``, one colour per track, titled ``name`` and what it is.

    Drum keys are sounds, not pitches: a band's roll shows its pitched parts, a groove's its drum keys.
    Returns the matplotlib ``Figure``.
    """
    from soundart.music.tokens import key_name
    from soundart.plot import plot_pianoroll

    drums = all(inst.is_drum for inst in sketch.midi.instruments)
    notes: dict[str, list] = {}  # one colour per track
    for i, inst in enumerate(sketch.midi.instruments):
        if inst.is_drum == drums and inst.notes:
            notes.setdefault(inst.name or f"track {i + 1}", []).extend(
                (n.start, n.end, n.pitch, n.velocity) for n in inst.notes)
    p = sketch.piece
    shown = "drum keys" if drums else "pitched parts"
    title = f"{name}: {sketch.style}, {key_name(p.key)}, {p.meter}, {p.tempo:g} bpm ({shown})"
    return plot_pianoroll(notes, path, title=title, bar_seconds=sketch.bar_seconds, force=force)
