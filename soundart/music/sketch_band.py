"""Sketching with a band model: parts (melody, chords, bass, drums), chord control, drum grooves.

The pitched parts of a sketch come from one sequence in the asked style; the drums from a second
sequence in a drum style (a groove of the Groove performances), on the same key, meter, tempo and
bars. Both kinds of sequence are rows of one batch when their prompts are of one length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from soundart.errors import ConfigError
from soundart.music.band import band_to_midi, default_tracks, part_programs
from soundart.music.chords import Chord, chord_from_token, parse_chord, parse_progression, progression_key
from soundart.music.tokens import Codec, Piece

MAX_DRAWS = 4  # draws of a sketch that lacks a part asked for, before it is kept as it is

# the groove a style's drums take when the style's own data has none
FALLBACK_GROOVES = {"pop": "rock", "jazz": "jazz"}


def resolve_tracks(tracks: Sequence[str] | str | None, style: str, info: Any, parts: Sequence[str]) -> list[str]:
    """The parts to write, checked against the codec's parts and the style's data."""
    if tracks is None:
        want = list(default_tracks(style, info.parts))
    else:
        from soundart.music.passes import part_list

        want = part_list(tracks, parts, "tracks")
    pitched = [p for p in want if p != "drums"]
    if pitched and not info.pitched:
        raise ConfigError(f"{style} is a drum groove (its data has drums only): write drums alone, or take a "
                          f"pitched style for {', '.join(pitched)} with drums={style}")
    for p in pitched:
        if p not in info.parts:
            raise ConfigError(f"style {style} has no {p} part in its training data (its parts: "
                              f"{', '.join(info.parts)})")
    return sorted(want, key=list(parts).index)


def resolve_chords(chords: str | Sequence[str] | None, bars: int) -> list[Chord | None] | None:
    """One Chord (or None = no chord) per bar, the progression repeated to fill ``bars``."""
    if chords is None:
        return None
    progression = parse_progression(chords) if isinstance(chords, str) else [parse_chord(c) for c in chords]
    if not progression:
        raise ConfigError("empty chord progression (give one chord per bar, e.g. \"Am F C G\")")
    if len(progression) > bars:
        raise ConfigError(f"{len(progression)} chords for {bars} bars (one chord per bar: ask for more bars "
                          "or fewer chords)")
    return [progression[i % len(progression)] for i in range(bars)]


def sketch_band(step_model: Any, codec: Codec, styles: Mapping[str, Any], *, style: str | None,
                tracks: Sequence[str] | str | None, chords: str | Sequence[str] | None, key_number: int | None,
                tempo: float | None, meter: str | None, bars: int, programs: Mapping[str, int] | None,
                drums: str | None, temperature: float, top_k: int | None, top_p: float | None, free_pitch: bool,
                key_strength: float, seed: int | None, n: int, progress: Any) -> list:
    """See :func:`soundart.music.sketch.sketch` (this is its path for new music with band models; a
    song of the user's goes to ``music.edit``)."""
    from soundart.music.sample import generate
    from soundart.music.sketch import Sketch, draw_keys

    parts = codec.config.parts
    pitched_styles = [s for s, i in styles.items() if i.pitched]
    grooves = [s for s, i in styles.items() if "drums" in i.parts]
    style = style or ("pop" if "pop" in styles else next(iter(styles)))
    if style not in styles:
        raise ConfigError(f"unknown style {style!r} (styles: {', '.join(pitched_styles)}; drum grooves: "
                          f"{', '.join(grooves)})")
    info = styles[style]
    want = resolve_tracks(tracks, style, info, parts)
    pitched = [p for p in want if p != "drums"]
    groove = None
    if "drums" in want:
        groove = drums or (style if "drums" in info.parts else FALLBACK_GROOVES.get(style))
        if groove not in grooves and tracks is None and drums is None:  # a default band without drum data
            want.remove("drums")
            groove = None
        elif groove is None:
            raise ConfigError(f"style {style} has no drums in its data: pick a groove for them with drums= "
                              f"({', '.join(grooves)})")
        elif groove not in grooves:
            raise ConfigError(f"unknown drum groove {groove!r} (grooves: {', '.join(grooves)})")
    elif drums is not None:
        raise ConfigError(f"drums={drums} names a groove, but the parts asked for ({', '.join(want)}) have no drums")
    bar_chords = resolve_chords(chords, bars)
    if bar_chords is not None and not pitched:
        raise ConfigError("chords need a pitched part to follow them; the parts asked for are drums only")
    programs = part_programs(style, programs)
    rng = np.random.default_rng(seed)
    meter = meter or (info.meters[0] if info.meters else "4/4")
    checks = ([(style, styles[style].meters, "")] if pitched else [])
    checks += [(groove, styles[groove].drum_meters, " drums")] if groove else []
    for name, meters, what in checks:
        if meter not in meters:
            raise ConfigError(f"meter {meter} is not in {name}'s{what} training data (its meters: {', '.join(meters)})")
    tempo = float(tempo or info.tempo or (styles[groove].tempo if groove else 100.0))
    if key_number is None and bar_chords is not None:
        key_number = progression_key(bar_chords)
    keys = draw_keys(rng, n, key_number)

    drum_index = parts.index("drums") if "drums" in parts else -1
    # the pitched row plays every pitched part of the style and the parts not asked for are dropped after:
    # masking a part the model expects at an onset pushes its notes into the parts that remain
    played = [p for p in info.parts if p != "drums"] if pitched else []
    rows: list[tuple[list[int], list[int], list | None]] = []  # (prompt, part indices, chords per bar)
    for k in keys:
        if pitched:
            rows.append((codec.header(style, k, meter, tempo) + [codec.bar], [parts.index(p) for p in played],
                         bar_chords))
        if groove:
            rows.append((codec.header(groove, k, meter, tempo) + [codec.bar], [drum_index], [None] * bars))
    bass = parts.index("bass") if "bass" in played else None
    # rows whose new bars lack a part asked for (a pop sketch can come out as an 8-bar piano intro, no
    # melody) are drawn again, up to MAX_DRAWS times in all
    bar_len = codec.config.bar_steps(meter)
    needed = [{parts.index(p) for p in want if p != "drums"} if r[1] != [drum_index] else {drum_index} for r in rows]
    decoded: list[Piece | None] = [None] * len(rows)
    todo = list(range(len(rows)))
    if progress is not None:  # every sketch is len(rows) // n sequences; count its bars once
        from soundart.progress import Scaled

        progress = Scaled(progress, n / len(rows))
    for _ in range(MAX_DRAWS):
        for length in sorted({len(rows[i][0]) for i in todo}):  # one batch per prompt length
            idx = [i for i in todo if len(rows[i][0]) == length]
            results = generate(step_model, codec, [rows[i][0] for i in idx], bars, temperature=temperature,
                               top_k=top_k, top_p=top_p, seed=int(rng.integers(2**31)),
                               programs=[rows[i][1] for i in idx], in_key=not free_pitch, key_strength=key_strength,
                               chords=[rows[i][2] for i in idx], bass_part=bass,
                               progress=progress if decoded[idx[0]] is None else None)
            for i, res in zip(idx, results):
                decoded[i] = codec.decode(res.tokens)
        todo = [i for i in todo if not needed[i] <= {n.program for n in decoded[i].notes}]
        if not todo:
            break

    end = bars * bar_len
    out, row = [], 0
    for k in keys:
        notes: list = []
        chord_names = ["N"] * bars
        if pitched:
            piece = decoded[row]
            row += 1
            notes += piece.notes
            got = piece.chords[:bars]
            chord_names = got + ["N"] * (bars - len(got))
        if groove:
            notes += decoded[row].notes
            row += 1
        asked = {parts.index(p) for p in want}
        notes = [x for x in notes if x.program in asked]
        for x in notes:
            x.duration = max(1, min(x.duration, end - x.start))
        kept = notes
        symbols = [str(c) if c is not None else "" for c in bar_chords] if bar_chords is not None else \
            [str(c) if (c := chord_from_token(name)) is not None else "" for name in chord_names]
        result = Piece(kept, meter, tempo, k, style, chord_names)
        midi, markers = band_to_midi(result, codec.config, programs, style, symbols)
        out.append(Sketch(midi, result, style, tuple(want), symbols, markers,
                          bar_seconds=bar_len * 60.0 / tempo / codec.config.steps_per_quarter,
                          drums=groove if groove and "drums" in want else ""))
    return out

