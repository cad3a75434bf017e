"""Sketching with a GM-program token model (no parts, no chord tokens): the codec of models trained
on plain MIDI or the music21 corpus. The band models' path is ``sketch_band``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ConfigError
from soundart.music.tokens import DRUMS, Codec, Piece


def crop_primer(piece: Piece, bar_len: int, keep_bars: int = 16) -> Piece:
    """The last ``keep_bars`` bars of ``piece`` (pitched notes first), moved to start at bar 1."""
    notes = [n for n in piece.notes if n.program != DRUMS] + [n for n in piece.notes if n.program == DRUMS]
    last_bar = max(n.start for n in notes) // bar_len
    first_bar = max(0, last_bar - keep_bars + 1)
    kept = [n for n in notes if n.start >= first_bar * bar_len]
    for n in kept:
        n.start -= first_bar * bar_len
    piece.notes = kept
    piece.chords = piece.chords[first_bar:]
    return piece


def cut_result(notes: list, offset: int, end: int, include_primer: bool, primer_notes: list) -> list:
    """The generated notes after ``offset`` (moved to bar 1 unless the primer is kept), each ending by ``end``."""
    new = [n for n in notes if n.start >= offset]
    if include_primer:
        new = list(primer_notes) + new
    else:
        for n in new:
            n.start -= offset
        end -= offset
    for n in new:
        n.duration = max(1, min(n.duration, end - n.start))
    return new


def sketch_gm(step_model: Any, codec: Codec, styles: Mapping[str, Any], *, style: str | None, key_number: int | None,
              tempo: float | None, meter: str | None, bars: int, program: int | None, primer: str | Path | None,
              include_primer: bool, temperature: float, top_k: int | None, top_p: float | None, free_pitch: bool,
              key_strength: float, seed: int | None, n: int, progress: Any, model_name: str) -> list:
    """See :func:`soundart.music.sketch.sketch` (this is its path for GM-program models)."""
    from soundart.music.midi_pieces import midi_to_piece, piece_to_midi
    from soundart.music.sample import generate
    from soundart.music.sketch import Sketch, check_primer, draw_keys

    style = style or ("chorale" if "chorale" in styles else next(iter(styles)))
    if style not in styles:
        raise ConfigError(f"unknown style {style!r} for this model (known: {', '.join(styles)})")
    if meter is not None and meter not in codec.config.meters:
        raise ConfigError(f"unsupported meter {meter!r} (supported: {', '.join(codec.config.meters)})")
    if program is not None and not 0 <= program <= 127:
        raise ConfigError(f"program must be 0-127, got {program}")
    rng = np.random.default_rng(seed)
    primer_body: list[int] = []
    primer_bars = 0
    primer_piece = None
    if primer is not None:
        piece = midi_to_piece(check_primer(primer), codec.config, style)
        if meter is not None and meter != piece.meter:
            raise ConfigError(f"meter {meter} differs from the primer's meter {piece.meter}")
        meter = piece.meter
        primer_piece = crop_primer(piece, codec.config.bar_steps(meter))
        key_number = piece.key if key_number is None else key_number
        tempo = tempo or piece.tempo
        piece.key = key_number
        primer_body = codec.encode(piece, eos=False)[Codec.HEADER_LEN:]
        primer_bars = primer_body.count(codec.bar)
    meter = meter or "4/4"
    tempo = float(tempo or styles[style].tempo)
    keys = draw_keys(rng, n, key_number)
    prompts = [codec.header(style, k, meter, tempo) + primer_body + [codec.bar] for k in keys]
    results = generate(step_model, codec, prompts, bars, temperature=temperature, top_k=top_k, top_p=top_p,
                       seed=int(rng.integers(2**31)), programs=[program] if program is not None else None,
                       in_key=not free_pitch, key_strength=key_strength, progress=progress)
    bar_len = codec.config.bar_steps(meter)
    out = []
    for res, k in zip(results, keys):
        full = codec.decode(res.tokens)
        notes = cut_result(full.notes, primer_bars * bar_len, (primer_bars + bars) * bar_len, include_primer,
                           primer_piece.notes if primer_piece is not None else [])
        piece = Piece(notes, meter, tempo, k, style)
        out.append(Sketch(piece_to_midi(piece, codec.config), piece, style, (), [],
                          bar_seconds=bar_len * 60.0 / tempo / codec.config.steps_per_quarter))
    return out
