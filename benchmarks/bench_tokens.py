"""Our band codec against MidiTok 3.x's REMI and MMM tokenizers, on the same band pieces.

    pip install miditok==3.1.0      # not a soundart dependency; only this comparison needs it
    python benchmarks/bench_tokens.py --songs 40

Per tokenizer: vocabulary size, tokens per bar (sequence length drives training and sampling time),
encode + decode time per piece (ours: tokens <-> Piece; MidiTok's: file -> tokens -> file, as it
works on files), and the share of notes that survive MIDI -> tokens -> MIDI exactly
(onset and offset on the sixteenth grid, pitch, track). The pieces are POP909 band pieces (melody,
piano, derived bass) plus Groove drums, written as multi-track MIDI by soundart.music.band.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from benchkit import table, timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=40)
    args = ap.parse_args()
    import pretty_midi

    from soundart.music.band import band_to_midi, part_programs
    from soundart.music.band_data import drum_pieces
    from soundart.music.band_midi import pop909_pieces
    from soundart.music.tokens import BAND_PARTS, Codec, CodecConfig

    config = CodecConfig(parts=BAND_PARTS, chords=True, styles=("pop", "rock"))
    codec = Codec(config)
    pieces = [p for _, p in pop909_pieces()[: args.songs]] + [p for _, p in drum_pieces("rock")[: args.songs // 4]]
    tmp = Path(tempfile.mkdtemp())
    files = []
    for i, p in enumerate(pieces):
        midi, _ = band_to_midi(p, config, part_programs("pop"), "pop")
        path = tmp / f"{i}.mid"
        midi.write(str(path))
        files.append((path, p))
    bars = sum(len(p.chords) or max(n.start for n in p.notes) // 16 + 1 for _, p in files)

    def grid_notes(midi: pretty_midi.PrettyMIDI, tempo: float) -> set:
        """Notes on the sixteenth grid counted in ticks (a tokenizer may requantize the tempo itself)."""
        step = midi.resolution / 4
        def at(t: float) -> int:
            return round(midi.time_to_tick(t) / step)
        return {(at(n.start), at(n.end), n.pitch, inst.is_drum, 0 if inst.is_drum else inst.program)
                for inst in midi.instruments for n in inst.notes}

    def ours() -> tuple[int, list[float]]:
        lengths, kept = 0, []
        for _, p in files:
            tokens = codec.encode(p)
            back = codec.decode(tokens)
            lengths += len(tokens)
            a = {(n.start, n.start + n.duration, n.pitch, n.program) for n in p.notes}
            b = {(n.start, n.start + n.duration, n.pitch, n.program) for n in back.notes}
            kept.append(len(a & b) / max(len(a), 1))
        return lengths, kept

    def miditok_round_trips(tok) -> tuple[int, list[float]]:
        lengths, kept = 0, []
        for path, p in files:
            seq = tok.encode(path)
            ids = seq.ids if hasattr(seq, "ids") else [i for s in seq for i in s.ids]
            lengths += len(ids)
            score = tok.decode(seq)
            out = tmp / "back.mid"
            score.dump_midi(str(out))
            a = grid_notes(pretty_midi.PrettyMIDI(str(path)), p.tempo)
            b = grid_notes(pretty_midi.PrettyMIDI(str(out)), p.tempo)
            kept.append(len(a & b) / max(len(a), 1))
        return lengths, kept

    rows = []
    # ours: band piece <-> tokens (the MIDI read is the same for every tokenizer, so it is left out)
    (lengths, kept), secs = timed(ours)
    rows.append(("soundart band codec (REMI-like, parts + a chord per bar)", codec.vocab_size, lengths / bars,
                 secs / len(files), float(np.mean(kept))))
    try:
        import miditok
    except ImportError:
        print("miditok is not installed: pip install miditok==3.1.0 to compare")
    else:
        from importlib.metadata import version

        for name in ("REMI", "MMM"):
            extra = {"base_tokenizer": "REMI"} if name == "MMM" else {}
            cfg = miditok.TokenizerConfig(use_programs=True, one_token_stream_for_programs=name == "REMI",
                                          beat_res={(0, 4): 4, (4, 12): 4}, num_velocities=8,
                                          use_chords=False, use_tempos=True, use_time_signatures=True, **extra)
            tok = miditok.REMI(cfg) if name == "REMI" else miditok.MMM(cfg)
            (lengths, kept), secs = timed(miditok_round_trips, tok)
            rows.append((f"MidiTok {version('miditok')} {name} "
                         "(programs, no chord controls)", len(tok), lengths / bars,
                         secs / len(files), float(np.mean(kept))))
    print(f"{len(files)} pieces ({args.songs} POP909 songs + Groove rock), {bars} bars\n")
    print(table(["tokenizer", "vocabulary", "tokens per bar", "encode + decode s / piece", "notes kept exactly"],
                [(name, vocab, f"{per_bar:.1f}", f"{secs:.4f}", f"{kept_share:.3f}")
                 for name, vocab, per_bar, secs, kept_share in rows]))


if __name__ == "__main__":
    main()
