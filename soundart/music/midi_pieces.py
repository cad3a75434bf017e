"""Plain MIDI files <-> pieces on the codec's grid (the GM-program codec; band pieces: music.band)."""

from __future__ import annotations

from collections.abc import Iterable

from soundart.music.tokens import DRUMS, Codec, CodecConfig, Note, Piece, estimate_key


def midi_to_piece(midi, config: CodecConfig | None = None, style: str = "other") -> Piece:
    """Quantize a ``pretty_midi.PrettyMIDI`` onto the codec grid.

    The first time signature gives the meter (4/4 when absent or unsupported),
    the first tempo the tempo, the first key signature the key (estimated from
    the notes when absent). Bar 1 starts at time 0.
    """
    c = config or CodecConfig()
    step_ticks = midi.resolution / c.steps_per_quarter
    meter = "4/4"
    if midi.time_signature_changes:
        ts = midi.time_signature_changes[0]
        cand = f"{ts.numerator}/{ts.denominator}"
        meter = cand if cand in c.meters else "4/4"
    tempo = float(midi.get_tempo_changes()[1][0]) if len(midi.get_tempo_changes()[1]) else 120.0
    notes = []
    for inst in midi.instruments:
        program = DRUMS if inst.is_drum else int(inst.program)
        for n in inst.notes:
            s = int(round(midi.time_to_tick(n.start) / step_ticks))
            e = int(round(midi.time_to_tick(n.end) / step_ticks))
            notes.append(Note(s, max(1, e - s), int(n.pitch), int(n.velocity), program))
    if midi.key_signature_changes:
        key = int(midi.key_signature_changes[0].key_number)
    else:
        tonal = [n for n in notes if n.program != DRUMS]
        key = estimate_key([n.pitch for n in tonal], [n.duration for n in tonal])
    return Piece(notes=notes, meter=meter, tempo=tempo, key=key, style=style)


def empty_midi(piece: Piece, config: CodecConfig):
    """A ``pretty_midi.PrettyMIDI`` with ``piece``'s tempo, time and key signature and no notes, and
    the length of one grid step in seconds."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=float(piece.tempo), resolution=480)
    num, den = (int(x) for x in piece.meter.split("/"))
    midi.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(int(piece.key), 0.0))
    return midi, 60.0 / float(piece.tempo) / config.steps_per_quarter


def piece_to_midi(piece: Piece, config: CodecConfig | None = None):
    """A ``pretty_midi.PrettyMIDI`` of ``piece`` (one instrument per program, drums on channel 10)."""
    import pretty_midi

    c = config or CodecConfig()
    midi, step = empty_midi(piece, c)
    instruments: dict[int, pretty_midi.Instrument] = {}
    for n in piece.sorted_notes():
        inst = instruments.get(n.program)
        if inst is None:
            drum = n.program == DRUMS
            inst = pretty_midi.Instrument(program=0 if drum else n.program, is_drum=drum,
                                          name="Drums" if drum else pretty_midi.program_to_instrument_name(n.program))
            instruments[n.program] = inst
        inst.notes.append(pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch),
                                           start=n.start * step, end=(n.start + n.duration) * step))
    midi.instruments = [instruments[p] for p in sorted(instruments)]
    return midi


def midi_to_tokens(midi, codec: Codec, style: str = "other") -> list[int]:
    """Shortcut: PrettyMIDI -> Piece -> token ids."""
    return codec.encode(midi_to_piece(midi, codec.config, style))


def tokens_to_midi(tokens: Iterable[int], codec: Codec):
    """Shortcut: token ids -> Piece -> PrettyMIDI."""
    return piece_to_midi(codec.decode(tokens), codec.config)
