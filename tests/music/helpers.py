"""Small real models and MIDI files for the music tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pretty_midi
import torch

from soundart import checkpoint
from soundart.music.midi_pieces import piece_to_midi
from soundart.music.rnn import MusicRNN, RNNConfig
from soundart.music.tokens import Codec, Note, Piece


def scale_piece(key: int = 14, bars: int = 4, style: str = "folk") -> Piece:
    notes = [Note(4 * i, 4, 62 + [0, 2, 3, 5, 7, 5, 3, 2][i % 8], 80, 0) for i in range(4 * bars)]
    notes += [Note(16 * b, 16, 50, 70, 0) for b in range(bars)]
    return Piece(notes, "4/4", 100.0, key, style)


def write_midi(path: Path, piece: Piece | None = None) -> Path:
    piece_to_midi(piece or scale_piece()).write(str(path))
    return path


def tiny_event_model(path: Path, steps: int = 5, seed: int = 0) -> Path:
    """A small event-token LSTM trained a few steps on scale pieces, saved as a checkpoint.

    Runs on one thread: tiny matrices gain nothing from more, and a busy CPU makes spinning threads slow.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_tiny(path, steps, seed)
    finally:
        torch.set_num_threads(threads)


def _train_tiny(path: Path, steps: int, seed: int) -> Path:
    torch.manual_seed(seed)
    codec = Codec()
    model = MusicRNN(RNNConfig.debug())
    fit(model, [codec.encode(scale_piece(k, 4, s)) for k in (2, 14) for s in ("folk", "chorale")], steps)
    checkpoint.save(model.eval(), path, {"data": "scale pieces (test)"})
    return path


def fit(model: torch.nn.Module, seqs: list[list[int]], steps: int) -> None:
    """A few Adam steps of ``model.training_step`` on all of ``seqs`` at once (padded, masked)."""
    T = max(len(s) for s in seqs)
    tokens = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = True
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = model.training_step({"tokens": tokens, "mask": mask})
        opt.zero_grad()
        loss.backward()
        opt.step()


def drums_only(path: Path) -> Path:
    midi = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0, is_drum=True)
    inst.notes = [pretty_midi.Note(100, 36, 0.5 * i, 0.5 * i + 0.1) for i in range(8)]
    midi.instruments.append(inst)
    midi.write(str(path))
    return path


# ---- band pieces and a tiny band model -----------------------------------------------------------------
BAND_STYLES = ("pop", "jazz", "folk", "fiddle", "chorale", "rock", "funk")
PROGRESSION = ("A:min", "F:maj", "C:maj", "G:7")


def band_piece(style: str, bars: int = 4, meter: str = "4/4", key: int = 21) -> Piece:
    """A small band piece: a melody, triads and a root bass over PROGRESSION (or a drum groove for
    rock/funk), with one chord name per bar, as the band data loaders make them."""
    from soundart.music.chords import QUALITIES, chord_from_token
    from soundart.music.tokens import CodecConfig

    bar = CodecConfig().bar_steps(meter)
    notes: list[Note] = []
    if style in ("rock", "funk"):
        for b in range(bars):
            for s in range(0, bar, 2):
                notes.append(Note(b * bar + s, 1, 42, 70, 3))
            notes += [Note(b * bar, 1, 36, 100, 3), Note(b * bar + bar // 2, 1, 38, 100, 3)]
        return Piece(notes, meter, 110.0, 0, style, ["N"] * bars)
    chords = [PROGRESSION[b % len(PROGRESSION)] for b in range(bars)]
    for b, name in enumerate(chords):
        c = chord_from_token(name)
        tones = [48 + (c.root + i) % 12 for i in QUALITIES[c.quality]]
        for s in range(0, bar, 4):
            notes.append(Note(b * bar + s, 4, 72 + tones[(s // 4) % len(tones)] % 12, 80, 0))
        notes += [Note(b * bar, bar, p, 70, 1) for p in tones]
        notes.append(Note(b * bar, bar // 2, 36 + c.root, 80, 2))
    return Piece(notes, meter, 96.0, key, style, chords)


def tiny_band_model(path: Path, steps: int = 30, seed: int = 0, kind: str = "transformer") -> Path:
    """A tiny band-codec model (parts + chord tokens) trained a few steps on :func:`band_piece`s of every
    style in BAND_STYLES, saved with the per-style table that sketching reads."""
    from soundart.music.band_eval import style_table
    from soundart.music.tokens import BAND_PARTS, CodecConfig
    from soundart.music.transformer import MusicTransformer, TransformerConfig

    torch.manual_seed(seed)
    config = CodecConfig(parts=BAND_PARTS, chords=True, styles=BAND_STYLES)
    codec = Codec(config)
    pieces = []
    for style in BAND_STYLES:
        meters = {"folk": ("3/4", "4/4"), "fiddle": ("6/8",)}.get(style, ("4/4",))
        pieces += [(f"{style}-{m}-{k}", band_piece(style, 4, m, k)) for m in meters for k in (21, 9)]
    if kind == "transformer":
        model = MusicTransformer(TransformerConfig.debug(vocab_size=0, max_len=128, codec_config=config))
    else:
        model = MusicRNN(RNNConfig.debug(codec_config=config))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit(model, [codec.encode(p)[:128] for _, p in pieces], steps)
    finally:
        torch.set_num_threads(threads)
    checkpoint.save(model.eval(), path, {"data": "band pieces (test)",
                                         "metrics": {"styles": style_table(pieces, codec)}})
    return path


# ---- a user's song: a real multi-track MIDI file (format 0 or 1, tempo map, pickup, drums) ---------------------
def song_file(path: Path, bars: int = 6, fmt: int = 1, tempos: tuple[tuple[int, float], ...] = ((0, 100.0), (2, 120.0)),
              pickup: bool = False, meter_change: bool = False, drums: bool = False, resolution: int = 480) -> Path:
    """A song as a DAW writes it, with mido: a named melody (flute), chords (electric piano) and, with
    ``drums``, a drum track on channel 10, over PROGRESSION in A minor; tempo changes at the given bars; a
    one-beat pickup (a 1/4 bar first) when ``pickup``; a 3/4 bar in the middle when ``meter_change``. One
    melody note is off the grid (a human's timing) so that 'unchanged' means unchanged to the tick."""
    import mido

    from soundart.music.chords import QUALITIES, chord_from_token

    bar = 4 * resolution
    start = resolution if pickup else 0  # bar 1's downbeat
    events: dict[str, list[tuple[int, Any]]] = {"Flute": [], "E.Piano": [], "Kit": []}

    def note(track: str, channel: int, tick: int, length: int, pitch: int, velocity: int) -> None:
        events[track].append((tick, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
        events[track].append((tick + length, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))

    if pickup:
        note("Flute", 0, 0, resolution, 69, 70)
    for b in range(bars):
        c = chord_from_token(PROGRESSION[b % len(PROGRESSION)])
        tones = [48 + (c.root + i) % 12 for i in QUALITIES[c.quality]]
        t0 = start + b * bar
        for q in range(4):
            jitter = 7 if (b, q) == (1, 2) else 0
            note("Flute", 0, t0 + q * resolution + jitter, resolution - 40, 72 + tones[q % len(tones)] % 12, 90 - q)
        for p in tones:
            note("E.Piano", 1, t0, bar - 10, p + 12, 64)
        if drums:
            for q in range(8):
                note("Kit", 9, t0 + q * resolution // 2, 60, 42, 60)
            note("Kit", 9, t0, 60, 36, 100)
            note("Kit", 9, t0 + 2 * resolution, 60, 38, 100)
    conductor = [(0, mido.MetaMessage("track_name", name="Song")),
                 (0, mido.MetaMessage("key_signature", key="Am"))]
    if pickup:
        conductor.append((0, mido.MetaMessage("time_signature", numerator=1, denominator=4)))
    conductor.append((start, mido.MetaMessage("time_signature", numerator=4, denominator=4)))
    if meter_change:
        conductor.append((start + 2 * bar, mido.MetaMessage("time_signature", numerator=3, denominator=4)))
        conductor.append((start + 2 * bar + 3 * resolution, mido.MetaMessage("time_signature", numerator=4,
                                                                           denominator=4)))
    for b, bpm in tempos:
        conductor.append((start + b * bar if b else 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    programs = {"Flute": (0, 73), "E.Piano": (1, 4), "Kit": (9, 0)}
    tracks = [("Song", conductor)] + [(name, ev) for name, ev in events.items() if ev]
    mf = mido.MidiFile(type=fmt, ticks_per_beat=resolution)

    def to_track(items: list[tuple[int, Any]]) -> Any:
        track, now = mido.MidiTrack(), 0
        for tick, msg in sorted(items, key=lambda e: (e[0], e[1].type == "note_on")):
            track.append(msg.copy(time=tick - now))
            now = tick
        return track

    if fmt == 0:
        merged = list(conductor)
        for name, ev in tracks[1:]:
            ch, program = programs[name]
            merged += [(0, mido.Message("program_change", channel=ch, program=program))] + ev
        mf.tracks.append(to_track(merged))
    else:
        for name, ev in tracks:
            head = [(0, mido.MetaMessage("track_name", name=name))] if name != "Song" else []
            if name in programs:
                ch, program = programs[name]
                head.append((0, mido.Message("program_change", channel=ch, program=program)))
            mf.tracks.append(to_track(head + ev))
    mf.save(str(path))
    return path
