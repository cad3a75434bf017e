"""The sketch job: a token model writes MIDI in a style, for a band, over the chords asked for.

:func:`sketch` is what ``soundart sketch`` and ``soundart.sketch`` run. With a band model (a codec
with parts and chord tokens, the shipped default) it writes named tracks (melody, chords, bass,
drums) in one pass for the pitched parts and one for the drums (the drums were learnt from Groove
performances, which have no pitched parts; both passes share tempo, meter and bar grid, and run in
one batch). With a GM-program model (trained on plain MIDI) it writes what that model knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundart.checks import check_number, check_seed
from soundart.errors import BadInputError, ConfigError
from soundart.music.tokens import Codec, Piece

MAX_BARS = 1000  # ~45 minutes of music at 90 bpm in 4/4; about half a minute of sketching on one CPU core
MAX_SKETCHES = 1000
KEY_STRENGTH = 1.25  # 100 "D minor" sketches: 94% estimated D minor (31% at 0); see sample.key_pitch_bias
COMMON_KEYS = ("C major", "G major", "D major", "F major", "Bb major", "A major", "Eb major",
               "A minor", "D minor", "E minor", "G minor", "C minor", "B minor")


@dataclass
class Sketch:
    """One sketch: the MIDI (``pretty_midi.PrettyMIDI``), its piece on the grid and what it was asked."""

    midi: Any
    piece: Piece
    style: str
    tracks: tuple[str, ...]
    chords: list[str]                       # chord symbol per bar ("" = none)
    markers: list[tuple[float, str]] = field(default_factory=list)  # (seconds, chord) for save_midi
    bar_seconds: float = 0.0
    drums: str = ""                         # the groove of the drum part ("" = no drums)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the MIDI file (chords as markers); refuses to overwrite without ``force``."""
        from soundart.io import save_midi

        return save_midi(self.midi, path, force=force, markers=self.markers)


@dataclass(frozen=True)
class StyleInfo:
    """What a band model learnt of one style: its parts, meters (most common first), median tempo, and
    the meters of its drums."""

    name: str
    parts: tuple[str, ...]
    meters: tuple[str, ...]
    tempo: float
    drum_meters: tuple[str, ...] = ()  # the meters its drums were learnt in

    @property
    def pitched(self) -> bool:
        return any(p != "drums" for p in self.parts)


def model_styles(document: Mapping[str, Any], codec: Codec) -> dict[str, StyleInfo]:
    """The styles a checkpoint was trained on, from its metadata (``metrics.styles``).

    A model without that table (trained on the music21 corpus with GM programs) knows the styles of
    its recipe's data; every style listed here is one its training data had.
    """
    meta = document.get("metadata", {})
    table = meta.get("metrics", {}).get("styles")
    if table:
        return {s: StyleInfo(s, tuple(v["parts"]), tuple(v["meters"]), float(v["tempo"]),
                             tuple(v.get("drum_meters", v["meters"] if "drums" in v["parts"] else ())))
                for s, v in table.items()}
    from soundart.music.corpora import MUSIC21_STYLES

    trained = meta.get("data_config", {})
    names = trained.get("styles") if trained.get("source") == "music21" else None
    return {s: StyleInfo(s, (), tuple(codec.config.meters), MUSIC21_STYLES.get(s, ((), 0, 100.0, 0))[2])
            for s in (names or codec.config.styles)}


def sketch(*, style: str | None = None, tracks: Sequence[str] | str | None = None,
           chords: str | Sequence[str] | None = None, key: str | None = None, tempo: float | None = None,
           meter: str | None = None, bars: int | None = None, programs: Mapping[str, int] | None = None,
           drums: str | None = None, primer: str | Path | None = None, include_primer: bool = False,
           add: Sequence[str] | str | None = None, regenerate: str | tuple[int, int] | None = None,
           temperature: float = 1.0, top_k: int | None = None, top_p: float | None = 0.95,
           free_pitch: bool = False, key_strength: float = KEY_STRENGTH, seed: int | None = None, n: int = 1,
           model: str = "transformer", device: str = "auto", progress: Any = None) -> list[Sketch]:
    """Write ``n`` MIDI sketches with a token model, or work on a song of your own (``primer``):
    continue every track, ``add`` parts to it, or ``regenerate`` some of its bars.

    Parameters
    ----------
    style : a style the model knows (``soundart models`` lists them; default pop, else the first).
    tracks : parts to write, e.g. ``"melody,chords,bass,drums"`` (default: the style's band).
    chords : one chord symbol per bar, e.g. ``"Am F C G7"`` or ``["Am", "F/A"]``, repeated to fill
        ``bars``; None = the model picks the chords.
    key : e.g. ``"D minor"``, ``"Bb"`` (default: the primer's, else drawn per sketch).
    tempo : bpm, 20-400 (default: the primer's, else the style's median).
    meter : e.g. ``"3/4"`` (default: the primer's, else the style's most common).
    bars : bars to write (after the primer), 1-1000; default 8 (not with ``add``/``regenerate``).
    programs : GM program per pitched part, e.g. ``{"bass": 33}`` (default: the style's).
    drums : the groove style of the drum part (default: ``style`` when it has drums).
    primer : your song, a MIDI (format 0/1) or MusicXML (``.mxl``, ``.musicxml``) file. Alone it is
        continued: every track goes on with its own program and name, in the song's key, meter and
        tempo (its last 16 bars are the prompt). With a band model, ``add`` or ``regenerate`` edit it.
    include_primer : keep the primer's bars at the start of the output.
    add : parts to add to ``primer``, e.g. ``"drums,bass"``: the output holds every note of the song
        unchanged plus the new parts over its whole length, following its chords (estimated from its
        notes, or ``chords``). ``style`` is the new parts' idiom (a groove such as ``"funk"`` for drums).
    regenerate : bars of ``primer`` to write again, ``"5-8"`` (1-based, inclusive; ``"1-4,9-12"`` for
        several); ``tracks`` limits it to some parts. Every note outside the bars stays as it was (a note
        belongs to the bar its onset falls in, on the 16th grid); new notes end by the span's end.
    temperature, top_k, top_p : sampling (temperature > 0, top_k >= 1, top_p in (0, 1]).
    free_pitch : let pitched notes leave the key's scale.
    key_strength : how hard pitched notes lean toward the key (0 = the model's own choice).
    seed : makes the sketches repeatable.
    n : how many sketches.
    model : a shipped model name (``transformer``, ``rnn``) or a checkpoint path.
    device : "auto" (NumPy on the CPU: fastest), "cpu" or "cuda" (torch).

    Returns
    -------
    list of :class:`Sketch` (``.midi`` is a ``pretty_midi.PrettyMIDI``; ``.save(path)`` writes it).

    Example
    -------
    >>> import soundart
    >>> s = soundart.sketch(style="pop", chords="Am F C G", bars=8, seed=1)[0]
    >>> s.save("idea.mid")
    """
    check_number("bars", bars, 1, MAX_BARS)
    check_number("n", n, 1, MAX_SKETCHES)
    if (add is not None or regenerate is not None) and primer is None:
        raise ConfigError("add and regenerate work on a song of yours: give it as primer=FILE")
    check_number("temperature", temperature, 1e-3, 100)
    check_number("top_k", top_k, 1, 1e9, integer=True)
    if top_p is not None and not (np.isfinite(top_p) and 0 < top_p <= 1):
        raise ConfigError(f"top_p must be in (0, 1], got {top_p}")
    check_number("key_strength", key_strength, 0, 100)
    check_number("tempo", tempo, 20, 400)
    check_seed(seed)
    from soundart.music.sample import load_stepper, read_codec_config
    from soundart.music.tokens import parse_key

    key_number = parse_key(key) if key is not None else None
    step_model, doc, _ = load_stepper(model, device)
    codec: Codec = read_codec_config(doc)
    styles = model_styles(doc, codec)
    if not codec.config.parts:
        from soundart.music.sketch_gm import sketch_gm

        if add is not None or regenerate is not None:
            raise ConfigError(f"model {model!r} has no parts (trained on GM programs): add and regenerate need a "
                              "band model")
        if tracks or chords or drums or programs and set(programs) - {"all"}:
            raise ConfigError(f"model {model!r} has no parts or chord tokens (trained on GM programs): "
                              "tracks, chords, drums and per-part programs need a band model")
        return sketch_gm(step_model, codec, styles, style=style, key_number=key_number, tempo=tempo, meter=meter,
                         bars=bars or 8, program=(programs or {}).get("all"), primer=primer,
                         include_primer=include_primer, temperature=temperature, top_k=top_k, top_p=top_p,
                         free_pitch=free_pitch, key_strength=key_strength, seed=seed, n=n, progress=progress,
                         model_name=model)
    if programs and "all" in programs:
        raise ConfigError(f"program={programs['all']} for every note: this model has parts; give one per part, "
                          "e.g. bass=33 (parts with a program: melody, chords, bass)")
    if primer is not None:
        from soundart.music.edit import edit_song

        if tempo is not None:
            raise ConfigError("tempo: a song of yours keeps its own tempo map (change it in your DAW)")
        return edit_song(step_model, codec, styles, path=primer, add=add, regenerate=regenerate, tracks=tracks,
                         style=style, drums=drums, chords=chords, programs=programs, key_number=key_number,
                         meter=meter, bars=bars, include_primer=include_primer, temperature=temperature,
                         top_k=top_k, top_p=top_p, free_pitch=free_pitch, key_strength=key_strength, seed=seed,
                         n=n, progress=progress)
    from soundart.music.sketch_band import sketch_band

    return sketch_band(step_model, codec, styles, style=style, tracks=tracks, chords=chords, key_number=key_number,
                       tempo=tempo, meter=meter, bars=bars or 8, programs=programs, drums=drums,
                       temperature=temperature, top_k=top_k, top_p=top_p, free_pitch=free_pitch,
                       key_strength=key_strength, seed=seed, n=n, progress=progress)


def draw_keys(rng: np.random.Generator, n: int, key_number: int | None) -> list[int]:
    """The key of each sketch: the asked one, else one drawn from COMMON_KEYS per sketch."""
    from soundart.music.tokens import parse_key

    if key_number is not None:
        return [key_number] * n
    return [parse_key(COMMON_KEYS[rng.integers(len(COMMON_KEYS))]) for _ in range(n)]


def check_primer(path: str | Path) -> Any:
    """The primer as PrettyMIDI, or a one-line error (no pitched notes, unreadable)."""
    from soundart.io import load_midi

    midi = load_midi(path)
    if all(inst.is_drum for inst in midi.instruments if inst.notes):
        raise BadInputError(f"{path}: holds only drums; a primer needs pitched notes")
    return midi
