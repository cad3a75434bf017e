"""Working on a user's own song with a band model: continue every track, add parts, regenerate bars.

All three are one kind of pass over the song's bars (:class:`Plan`): bars before the work are the
prompt; every bar the model writes holds the song's notes that stay exactly as they are (forced
tokens, :class:`~soundart.music.grammar.KnownBar`) and new notes only for the parts being written.
After a regenerated span the song's next bars are forced too and scored: of several drafts of a span,
the one whose bars lead best into what follows is kept (the model writes left to right; the score is
how it hears the right-hand seam).

The output is a copy of the input file with notes added (and, for ``regenerate``, the span's notes of
the rewritten parts removed): every other note, track, program, tempo change and time signature is
the input's own. Pitched parts follow one sequence in a pitched style; drums a second sequence in a
drum groove (the model learnt drums from Groove performances, which have no pitched parts).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import BadInputError, ConfigError
from soundart.music.grammar import known_bars
from soundart.music.passes import (
    Plan,
    Sampling,
    add_to_track,
    bar_chords,
    derived_notes,
    edit_result,
    new_notes,
    part_list,
    prompt_tokens,
    run_plans,
    styles_for,
)
from soundart.music.song import Song, read_song, track_for
from soundart.music.tokens import Codec, Note

AFTER_BARS = 2      # bars after a regenerated span that score how the new bars join them
SEAM_DRAFTS = 4     # drafts per regenerated span; the one that leads best into the next bars is kept


def parse_span(text: str | Sequence[int] | tuple[int, int], n_bars: int) -> list[tuple[int, int]]:
    """``"5-8"`` (1-based, inclusive), ``"5"`` or ``"1-4,9-12"`` -> 0-based half-open spans
    ``[(4, 8)]``; a reversed, overlapping or out-of-song span is a ConfigError."""
    if isinstance(text, (tuple, list)) and len(text) == 2 and all(isinstance(x, (int, np.integer)) for x in text):
        items = [(int(text[0]), int(text[1]))]
    else:
        items = []
        for chunk in (c.strip() for c in str(text).split(",")):
            a, sep, b = chunk.partition("-")
            try:
                items.append((int(a), int(b) if sep else int(a)))
            except ValueError:
                raise ConfigError(f"bars to regenerate {chunk!r}: use FIRST-LAST, e.g. 5-8 (bars count from 1)") \
                    from None
    spans = []
    for a, b in items:
        if a > b:
            raise ConfigError(f"bars {a}-{b} run backwards (write {b}-{a})")
        if a < 1 or b > n_bars:
            raise ConfigError(f"bars {a}-{b} lie outside the song (bars 1-{n_bars})")
        spans.append((a - 1, b))
    spans.sort()
    for (a0, b0), (a1, b1) in zip(spans, spans[1:]):
        if a1 < b0:
            raise ConfigError(f"bars {a0 + 1}-{b0} and {a1 + 1}-{b1} overlap")
    return spans


def edit_song(step_model: Any, codec: Codec, styles: Mapping[str, Any], *, path: str | Path,
              add: Sequence[str] | str | None, regenerate: Any, tracks: Sequence[str] | str | None,
              style: str | None, drums: str | None, chords: Any, programs: Mapping[str, int] | None,
              key_number: int | None, meter: str | None, bars: int | None, include_primer: bool,
              temperature: float, top_k: int | None,
              top_p: float | None, free_pitch: bool, key_strength: float, seed: int | None, n: int,
              progress: Any) -> list:
    """Continue (neither ``add`` nor ``regenerate``), add parts to, or regenerate bars of the song at
    ``path``; see :func:`soundart.music.sketch.sketch` for the arguments."""
    from soundart.music.sketch_band import resolve_chords

    parts = list(codec.config.parts)
    if add is not None and regenerate is not None:
        raise ConfigError("add and regenerate are two different edits: ask for one at a time")
    if (add is not None or regenerate is not None) and bars is not None:
        raise ConfigError("bars=N is the length of new music; add and regenerate keep the song's own bars")
    added = part_list(add, parts, "add") if add is not None else []
    song = read_song(path, codec.config, free_parts=added)
    if meter is not None and meter != song.meter:
        raise ConfigError(f"meter {meter} differs from the song's meter {song.meter}")
    if key_number is not None:
        song.key = key_number
    given_chords = None
    if chords is not None and (add is not None or regenerate is not None):  # the song's harmony, as given
        given_chords = resolve_chords(chords, song.n_bars)
        song.chords = [c.token if c is not None else "N" for c in given_chords]
    if add is not None:
        return _add(step_model, codec, styles, song, added, style, drums, programs, given_chords,
                    Sampling(temperature, top_k, top_p, free_pitch, key_strength), seed, n, progress)
    if regenerate is not None:
        spans = parse_span(regenerate, song.n_bars)
        return _regenerate(step_model, codec, styles, song, spans, tracks, style, drums, given_chords,
                           Sampling(temperature, top_k, top_p, free_pitch, key_strength), seed, n, progress)
    new_chords = resolve_chords(chords, bars or 8) if chords is not None else None
    return _continue(step_model, codec, styles, song, tracks, style, drums, programs, new_chords, bars or 8,
                     include_primer, Sampling(temperature, top_k, top_p, free_pitch, key_strength), seed, n,
                     progress)


# ---- add ----------------------------------------------------------------------------------------
def _add(step_model: Any, codec: Codec, styles: Mapping[str, Any], song: Song, added: list[str],
         style: str | None, drums: str | None, programs: Mapping[str, int] | None, given_chords: Any,
         sampling: Sampling, seed: int | None, n: int, progress: Any) -> list:
    import pretty_midi

    from soundart.music.band import TRACK_NAMES, part_programs

    parts = list(codec.config.parts)
    if "drums" in added and song.tracks_of("drums"):
        names = ", ".join(repr(t.name or f"track {t.index + 1}") for t in song.tracks_of("drums"))
        raise ConfigError(f"the song already has drums ({names}): regenerate them instead of adding more")
    pitched_new = [p for p in added if p != "drums"]
    pitched_have = [p for p in song.parts if p != "drums"]
    if pitched_new and not pitched_have:
        raise BadInputError(f"{song.path}: holds only drums; a new {pitched_new[0]} part needs pitched notes to "
                            "follow")
    melodic, groove = styles_for(styles, style, drums, bool(pitched_new), "drums" in added, song.meter)
    rng = np.random.default_rng(seed)
    plans = []
    if pitched_new:
        free = frozenset(parts.index(p) for p in pitched_new)
        derived = derived_notes(codec, song, melodic, skip=pitched_new)
        piece = song.piece(melodic, [x for x in song.notes if x.program != codec.drum_program] + derived)
        known = known_bars(codec, piece, 0, song.n_bars, [free] * song.n_bars)
        plays = free | {parts.index(p) for p in pitched_have} | {x.program for x in derived}
        plans.append(Plan(melodic, prompt_tokens(codec, song, melodic, 0, False, derived), 0, song.n_bars,
                          sorted(plays), bar_chords(song, 0, song.n_bars), known, needed=free))
    if groove:
        plans.append(Plan(groove, prompt_tokens(codec, song, groove, 0, True), 0, song.n_bars, [codec.drum_program],
                          [None] * song.n_bars, [None] * song.n_bars, drums=True,
                          needed=frozenset({codec.drum_program})))
    run_plans(step_model, codec, plans, n, sampling, rng, progress)
    gm = part_programs(melodic or "pop", programs)
    names = TRACK_NAMES.get(melodic or "", {})
    end = song.n_bars * song.bar_steps
    out = []
    for i in range(n):
        midi = copy.deepcopy(song.midi)
        notes = list(song.notes)
        for plan in plans:
            piece, _ = plan.results[i]
            new = new_notes(codec, plan, piece, {parts.index(p) for p in (["drums"] if plan.drums else pitched_new)})
            notes += new
            for part in (["drums"] if plan.drums else pitched_new):
                inst = pretty_midi.Instrument(program=0 if part == "drums" else gm[part], is_drum=part == "drums",
                                              name=names.get(part, part.capitalize()))
                add_to_track(inst, song, [x for x in new if x.program == parts.index(part)], end)
                midi.instruments.append(inst)
        out.append(edit_result(codec, song, midi, notes, melodic or groove, song.parts + added, groove=groove))
    return out


# ---- regenerate ---------------------------------------------------------------------------------
def _regenerate(step_model: Any, codec: Codec, styles: Mapping[str, Any], song: Song, spans: list[tuple[int, int]],
                tracks: Sequence[str] | str | None, style: str | None, drums: str | None, given_chords: Any,
                sampling: Sampling, seed: int | None, n: int, progress: Any) -> list:
    parts = list(codec.config.parts)
    redo = part_list(tracks, parts, "tracks") if tracks is not None else list(song.parts)
    missing = [p for p in redo if p not in song.parts]
    if missing:
        raise ConfigError(f"the song has no {missing[0]} part to regenerate (its parts: {', '.join(song.parts)})")
    pitched = [p for p in redo if p != "drums"]
    melodic, groove = styles_for(styles, style, drums, bool(pitched), "drums" in redo, song.meter)
    first, last = spans[0][0], min(song.n_bars, spans[-1][1] + AFTER_BARS)
    in_span = [any(a <= b < e for a, e in spans) for b in range(first, last)]
    rng = np.random.default_rng(seed)
    plans = []
    all_pitched = set(pitched) == {p for p in song.parts if p != "drums"}
    for drum_row, row_parts in ((False, pitched), (True, ["drums"] if "drums" in redo else [])):
        if not row_parts:
            continue
        free = frozenset(parts.index(p) for p in row_parts)
        row_style = groove if drum_row else melodic
        new_chords = not drum_row and all_pitched and given_chords is None  # the span's chords are new too
        derived = [] if drum_row else derived_notes(codec, song, melodic)
        if new_chords:  # derived parts follow the new chords: free in the span (and dropped)
            free = free | {x.program for x in derived}
        notes = [x for x in song.notes + derived if (x.program == codec.drum_program) == drum_row
                 and not (x.program in free and _in_spans(x.start // song.bar_steps, spans))]
        piece = song.piece(row_style, notes)
        known = known_bars(codec, piece, first, last - first, [free if s else frozenset() for s in in_span],
                           scored=[not s for s in in_span])
        if drum_row:
            chords = [None] * (last - first)
        else:
            chords = bar_chords(song, first, last - first)
            if new_chords:
                chords = ["free" if s else c for s, c in zip(in_span, chords)]
        have = {parts.index(p) for p in song.parts if (p == "drums") == drum_row} | {x.program for x in derived}
        plans.append(Plan(row_style, prompt_tokens(codec, song, row_style, first, drum_row, derived), first,
                          last - first, sorted(have), chords, known, drums=drum_row))
    drafts = SEAM_DRAFTS if last > spans[-1][1] or len(spans) > 1 else 1
    run_plans(step_model, codec, plans, n * drafts, sampling, rng, progress)
    out = []
    for i in range(n):
        midi = copy.deepcopy(song.midi)
        remove: set[tuple[int, int]] = set()
        notes = []
        for x, src in zip(song.notes, song.source):
            if parts[x.program] in redo and _in_spans(x.start // song.bar_steps, spans):
                remove.add(src)
            else:
                notes.append(x)
        chord_names = list(song.chords)
        new_all: list[Note] = []
        for plan in plans:
            best = max(plan.results[i * drafts:(i + 1) * drafts], key=lambda r: r[1])[0]
            free = {parts.index(p) for p in (["drums"] if plan.drums else pitched)}
            new = new_notes(codec, plan, best, free, in_span)
            for x in new:  # no note hangs over the span's end
                span_end = next(e for a, e in spans if a * song.bar_steps <= x.start < e * song.bar_steps)
                x.duration = max(1, min(x.duration, span_end * song.bar_steps - x.start))
            new_all += new
            if not plan.drums:
                prompt_bars = max(0, plan.prompt.count(codec.bar) - 1)
                for b in range(first, last):
                    if in_span[b - first] and b - first + prompt_bars < len(best.chords):
                        chord_names[b] = best.chords[b - first + prompt_bars]
        for inst_index, inst in enumerate(midi.instruments):
            inst.notes = [x for j, x in enumerate(inst.notes) if (inst_index, j) not in remove]
        into: dict[int, list[Note]] = {}  # one call per track: it indexes the track's notes once
        for x in new_all:
            into.setdefault(track_for(song, parts[x.program], x.pitch).index, []).append(x)
        for index, notes_in in into.items():
            add_to_track(midi.instruments[index], song, notes_in)
        out.append(edit_result(codec, song, midi, notes + new_all, melodic or groove, redo, chord_names, groove=groove))
    return out


def _in_spans(bar: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= bar < b for a, b in spans)


# ---- continue -----------------------------------------------------------------------------------
def _continue(step_model: Any, codec: Codec, styles: Mapping[str, Any], song: Song, tracks: Sequence[str] | str | None,
              style: str | None, drums: str | None, programs: Mapping[str, int] | None, given_chords: Any, bars: int,
              include_primer: bool, sampling: Sampling, seed: int | None, n: int, progress: Any) -> list:
    import pretty_midi

    from soundart.music.band import TRACK_NAMES, part_programs

    parts = list(codec.config.parts)
    want = part_list(tracks, parts, "tracks") if tracks is not None else list(song.parts)
    pitched = [p for p in want if p != "drums"]
    if pitched and not [p for p in song.parts if p != "drums"]:
        raise BadInputError(f"{song.path}: holds only drums; continuing {pitched[0]} needs pitched notes to follow")
    melodic, groove = styles_for(styles, style, drums, bool(pitched), "drums" in want, song.meter)
    start = song.n_bars
    chords = given_chords  # the asked progression over the new bars, or the model's choice
    rng = np.random.default_rng(seed)
    plans = []
    if pitched:
        asked = [parts.index(p) for p in pitched]
        derived = derived_notes(codec, song, melodic)  # heard in the prompt, played on, then dropped
        plays = sorted(set(asked) | {x.program for x in derived})
        plans.append(Plan(melodic, prompt_tokens(codec, song, melodic, start, False, derived), start, bars, plays,
                          chords, [None] * bars, needed=frozenset(asked)))
    if groove:
        plans.append(Plan(groove, prompt_tokens(codec, song, groove, start, True), start, bars, [codec.drum_program],
                          [None] * bars, [None] * bars, drums=True, needed=frozenset({codec.drum_program})))
    run_plans(step_model, codec, plans, n, sampling, rng, progress)
    gm = part_programs(melodic or "pop", programs)
    names = TRACK_NAMES.get(melodic or "", {})
    offset = start * song.bar_steps
    out = []
    for i in range(n):
        new: list[Note] = []
        chord_names = ["N"] * bars
        for plan in plans:
            piece, _ = plan.results[i]
            new += new_notes(codec, plan, piece, {parts.index(p) for p in want})
            if not plan.drums:
                prompt_bars = max(0, plan.prompt.count(codec.bar) - 1)
                got = piece.chords[prompt_bars:prompt_bars + bars]
                chord_names = got + ["N"] * (bars - len(got))
        end = offset + bars * song.bar_steps
        if include_primer:
            midi = copy.deepcopy(song.midi)
            timing = song
        else:
            midi, timing = _fresh_midi(song, offset)
        tracks_now = {t.index: midi.instruments[t.index] for t in song.tracks} if include_primer else {}
        if not include_primer:  # one track per input track, with its name, program and drum flag
            for t in song.tracks:
                inst = pretty_midi.Instrument(program=t.program, is_drum=t.is_drum, name=t.name)
                tracks_now[t.index] = inst
                midi.instruments.append(inst)
        extra: dict[str, Any] = {}
        into: dict[int, tuple[Any, list[Note]]] = {}  # one add_to_track call per track
        for x in new:
            part = parts[x.program]
            track = track_for(song, part, x.pitch)
            if track is not None:
                inst = tracks_now[track.index]
            else:  # a part asked for that the song lacks: a new track
                if part not in extra:
                    extra[part] = pretty_midi.Instrument(program=0 if part == "drums" else gm[part],
                                                         is_drum=part == "drums",
                                                         name=names.get(part, part.capitalize()))
                    midi.instruments.append(extra[part])
                inst = extra[part]
            into.setdefault(id(inst), (inst, []))[1].append(x)
        for inst, notes_in in into.values():
            add_to_track(inst, timing, notes_in, end)
        kept = list(song.notes) if include_primer else []
        shifted = new if include_primer else [Note(x.start - offset, x.duration, x.pitch, x.velocity, x.program)
                                             for x in new]
        out_chords = (song.chords + chord_names) if include_primer else chord_names
        out.append(edit_result(codec, song, midi, kept + shifted, melodic or groove, want, out_chords, groove=groove))
    return out


def _fresh_midi(song: Song, offset: int) -> tuple[Any, Any]:
    """An empty file in the song's meter and key at its closing tempo, and a timing whose step
    ``offset`` is time 0 (a continuation without its primer)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=song.tempo_at_end(), resolution=song.midi.resolution)
    num, den = (int(x) for x in song.meter.split("/"))
    midi.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(int(song.key), 0.0))
    timing = copy.copy(song)
    timing.midi = midi
    timing.origin_tick = -offset * song.step_ticks
    return midi, timing
