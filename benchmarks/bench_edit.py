"""Working on a user's own song: continue it, add drums and bass, regenerate bars -- on held-out POP909.

    python benchmarks/bench_edit.py                    # both shipped band models, 40 test songs
    python benchmarks/bench_edit.py --songs 106 --model transformer

Songs: POP909 songs of the band models' *test* split (``split_of(id, 0.05, 0.15) == "test"``: whole
songs, never trained on nor used for validation), main versions. Each input is what a DAW user would
hand us: the song's own three tracks (MELODY, BRIDGE, PIANO, names and programs kept) moved onto its
labelled beat grid (``beat_midi.txt``: bar 1 = first downbeat), one tempo, no key signature (the key is
estimated, as for a user's file). Labels used only for scoring: ``key_audio.txt`` and ``chord_midi.txt``.

- continue: the first 8 bars -> 8 new bars. Key kept = Krumhansl-Schmuckler estimate of the new bars
  equals the labelled key; tracks kept = every input track name is in the output; MusPy-style metrics of
  the new bars as ratios to the real bars 9-16 of the same songs (means over songs; "within 15%").
- add drums,bass to the first 16 bars: drum onsets on the input's 16th grid (within 1/4 of a 16th);
  kick on beat 1 and the snare's share on the backbeat (2 and 4), next to held-out Groove performances of
  the groove used (rock, pop's default); bar-to-bar groove consistency the same way. Bass: on beats 1
  and 3 (beat 1 in 3/4) the sounding bass note's pitch class is the labelled chord's root (a beat with
  a labelled chord and no bass note counts as a miss).
- regenerate bars 5-8 of the first 16: notes outside the span identical (count), and the NLL (nats)
  per token and per note of the span's tokens under the model, regenerated vs the real bars, in the
  first 12 bars (the same prompt before; bars 9-12 after).
- speed: ``soundart sketch -i song.mid --add drums,bass`` on a 32-bar, 3-track song as a subprocess
  (start-up included), median of 3, next to ``python -c "import torch"``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from benchkit import wall

from soundart.progress import progress

KICKS, SNARES = {35, 36}, {37, 38, 40}
GROOVE = "rock"  # the drum groove that add drums uses for the pop style


def test_songs(n: int) -> list[Path]:
    from soundart.music.band_data import shared_midi_dir
    from soundart.music.corpora import split_of

    root = shared_midi_dir() / "pop909"
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.mid").exists())
    return [f for f in folders if split_of(f"pop909/{f.name}", 0.05, 0.15) == "test"][:n]


class PopSong:
    """One POP909 song on its labelled grid: the input files and the labels to score against."""

    def __init__(self, folder: Path) -> None:
        import pretty_midi

        from soundart.music.band_midi import _BeatGrid, _pop_song
        from soundart.music.chords import parse_harte

        self.name = folder.name
        pieces = _pop_song(folder, Counter())
        if not pieces:
            raise ValueError(f"{folder.name}: dropped by the POP909 reader (no usable beat grid or key)")
        self.piece = pieces[0][1]  # key label, meter, tempo
        beats = np.loadtxt(folder / "beat_midi.txt", ndmin=2)
        grid = _BeatGrid(beats[np.flatnonzero(beats[:, 2] == 1)[0]:, 0])
        self.bar_steps = 16 if self.piece.meter == "4/4" else 12
        self.step_seconds = 60.0 / self.piece.tempo / 4
        raw = pretty_midi.PrettyMIDI(str(folder / f"{folder.name}.mid"))
        self.tracks = []  # (name, program, [(start step, end step, pitch, velocity)])
        for inst in raw.instruments:
            on = np.rint(grid(np.array([n.start for n in inst.notes]))).astype(int)
            off = np.rint(grid(np.array([n.end for n in inst.notes]))).astype(int)
            notes = [(int(a), int(max(a + 1, b)), n.pitch, n.velocity)
                     for n, a, b in zip(inst.notes, on, off) if a >= 0]
            self.tracks.append((inst.name, inst.program, notes))
        self.chord_at: dict[int, Any] = {}  # grid step of a beat -> labelled chord (None = "N")
        for line in (folder / "chord_midi.txt").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                a, b = np.rint(grid(np.array([float(parts[0]), float(parts[1])]))).astype(int)
                for s in range(max(0, int(np.ceil(a / 4)) * 4), int(b), 4):
                    self.chord_at[s] = parse_harte(parts[2])
        # the song starts at its first bar with notes (a silent intro would be an empty 8-bar primer)
        first = min((n[0] for _, _, notes in self.tracks for n in notes), default=0) // self.bar_steps
        shift = first * self.bar_steps
        self.tracks = [(name, program, [(a - shift, b - shift, p, v) for a, b, p, v in notes if a >= shift])
                       for name, program, notes in self.tracks]
        self.chord_at = {s - shift: c for s, c in self.chord_at.items() if s >= shift}

    @property
    def n_bars(self) -> int:
        last = max((n[0] for _, _, notes in self.tracks for n in notes), default=0)
        return last // self.bar_steps + 1

    def write(self, path: Path, bars: int) -> Path:
        """The song's first ``bars`` bars as a 3-track MIDI file (notes cut at the end)."""
        import pretty_midi

        midi = pretty_midi.PrettyMIDI(initial_tempo=self.piece.tempo)
        num = int(self.piece.meter.split("/")[0])
        midi.time_signature_changes.append(pretty_midi.TimeSignature(num, 4, 0.0))
        end = bars * self.bar_steps
        for name, program, notes in self.tracks:
            inst = pretty_midi.Instrument(program=program, name=name)
            inst.notes = [pretty_midi.Note(velocity=v, pitch=p, start=a * self.step_seconds,
                                           end=min(b, end) * self.step_seconds) for a, b, p, v in notes if a < end]
            midi.instruments.append(inst)
        midi.write(str(path))
        return path


def mean_metrics(pieces: list) -> dict[str, float]:
    from soundart.music.metrics import piece_metrics

    rows = [piece_metrics(p) for p in pieces]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def continue_rows(songs: list[PopSong], model: str, tmp: Path, seed: int) -> dict[str, Any]:
    import soundart
    from soundart.music.metrics import crop_bars
    from soundart.music.sample import load_stepper, read_codec_config
    from soundart.music.song import read_song
    from soundart.music.tokens import estimate_key

    config = read_codec_config(load_stepper(model)[1]).config
    drum = config.parts.index("drums")
    keys, real_keys, primer_keys, kept, new, real = [], [], [], [], [], []
    for i, song in enumerate(progress(songs, desc="continue", unit="song")):
        primer = song.write(tmp / f"{song.name}-8.mid", 8)
        out = soundart.sketch(primer=primer, bars=8, seed=seed + i, model=model)[0]
        path = out.save(tmp / f"{song.name}-cont.mid")
        cont = read_song(path, config).piece("pop")
        tonal = [n for n in cont.notes if n.program != drum]
        estimated = estimate_key([n.pitch for n in tonal], [n.duration for n in tonal])
        keys.append(estimated == song.piece.key)
        primer_keys.append(estimated == read_song(primer, config).key)
        names = {t.name for t in read_song(primer, config).midi.instruments if t.notes}
        kept.append(names <= {t.name for t in out.midi.instruments})
        new.append(crop_bars(cont, 8))
        real.append(crop_bars(read_song(song.write(tmp / f"{song.name}-16.mid", 16), config).piece("pop"), 8,
                              start_bar=8))
        tonal = [n for n in real[-1].notes if n.program != drum]  # the estimator on the real bars 9-16
        real_keys.append(estimate_key([n.pitch for n in tonal], [n.duration for n in tonal]) == song.piece.key)
    gen_m, real_m = mean_metrics(new), mean_metrics(real)
    return {"key": float(np.mean(keys)), "real_key": float(np.mean(real_keys)),
            "primer_key": float(np.mean(primer_keys)), "tracks": float(np.mean(kept)),
            "ratios": {k: (gen_m[k], real_m[k]) for k in gen_m}}


def beat_hits(notes: list[tuple[float, int]], step: float, bar_steps: int) -> tuple[float, float]:
    """(share of bars with a kick on beat 1, share of snare onsets on the backbeat) of drum onsets
    ``(time, pitch)`` with ``step`` = the time of one 16th."""
    steps = [(int(round(t / step)), p) for t, p in notes]
    bars = max(s for s, _ in steps) // bar_steps + 1
    kick_bars = {s // bar_steps for s, p in steps if p in KICKS and s % bar_steps == 0}
    snares = [s % bar_steps for s, p in steps if p in SNARES]
    backbeat = [s in (4, 12) for s in snares] if bar_steps == 16 else [s in (4, 8) for s in snares]
    return len(kick_bars) / bars, float(np.mean(backbeat)) if backbeat else 0.0


def groove_reference(bars: int) -> dict[str, float]:
    """Held-out Groove performances of GROOVE: kick / backbeat shares and groove consistency."""
    from soundart.music.band_midi import groove_pieces
    from soundart.music.corpora import split_of
    from soundart.music.metrics import crop_bars, groove_consistency

    pieces = [p for pid, p in groove_pieces(progress=False)
              if p.style == GROOVE and split_of(pid, 0.05, 0.15) == "test" and p.meter == "4/4"]
    kick, back, gc = [], [], []
    for p in pieces:
        p = crop_bars(p, bars)
        if len(p.notes) < 8:
            continue
        k, b = beat_hits([(n.start, n.pitch) for n in p.notes], 1.0, 16)
        kick.append(k)
        back.append(b)
        gc.append(groove_consistency(p))
    return {"pieces": len(kick), "kick": float(np.mean(kick)), "backbeat": float(np.mean(back)),
            "groove": float(np.nanmean(gc))}


def add_rows(songs: list[PopSong], model: str, tmp: Path, seed: int) -> dict[str, Any]:
    import soundart
    from soundart.music.metrics import groove_consistency
    from soundart.music.tokens import Note, Piece

    on_grid, kick, back, gc, root_hits, beats = [], [], [], [], 0, 0
    for i, song in enumerate(progress(songs, desc="add", unit="song")):
        primer = song.write(tmp / f"{song.name}-16.mid", 16)
        out = soundart.sketch(primer=primer, add="drums,bass", seed=seed + i, model=model)[0].midi
        drums = [n for inst in out.instruments if inst.is_drum for n in inst.notes]
        bass = sorted((n for inst in out.instruments if inst.name == "Bass" for n in inst.notes),
                      key=lambda n: n.start)
        step = song.step_seconds
        on_grid += [abs(n.start / step - round(n.start / step)) <= 0.25 for n in drums]
        if drums:
            k, b = beat_hits([(n.start, n.pitch) for n in drums], step, song.bar_steps)
            kick.append(k)
            back.append(b)
            gc.append(groove_consistency(Piece([Note(int(round(n.start / step)), 1, n.pitch, n.velocity, 3)
                                                for n in drums], song.piece.meter)))
        strong = (0, 8) if song.bar_steps == 16 else (0,)
        for bar in range(16):
            for off in strong:
                s = bar * song.bar_steps + off
                chord = song.chord_at.get(s)
                if chord is None:
                    continue
                t = s * step
                sounding = [n for n in bass if n.start <= t + 1e-6 < n.end]
                beats += 1
                root_hits += bool(sounding) and sounding[-1].pitch % 12 == chord.root
    return {"on_grid": float(np.mean(on_grid)), "kick": float(np.mean(kick)), "backbeat": float(np.mean(back)),
            "groove": float(np.nanmean(gc)), "bass_root": root_hits / max(beats, 1), "beats": beats}


def span_nll(torch_model: Any, codec: Any, piece: Any, first_bar: int, last_bar: int) -> tuple[float, int, int]:
    """Summed NLL (nats) of the tokens of bars ``first_bar..last_bar-1`` (0-based), their count and the
    notes there."""
    import torch
    import torch.nn.functional as F

    tokens = codec.encode(piece)
    x = torch.tensor([tokens])
    with torch.no_grad():
        nll = F.cross_entropy(torch_model(x).float()[0, :-1], x[0, 1:], reduction="none").numpy()
    bar_of = np.cumsum(np.array(tokens) == codec.bar) - 1  # bar index of each token (its BAR token included)
    inside = (bar_of[1:] >= first_bar) & (bar_of[1:] < last_bar)
    bar = codec.config.bar_steps(piece.meter)
    notes = sum(first_bar * bar <= n.start < last_bar * bar for n in piece.notes)
    return float(nll[inside].sum()), int(inside.sum()), notes


def file_notes(midi: Any) -> list[tuple[int, int, int, int, int]]:
    """(track, start tick, end tick, pitch, velocity) of every note of a PrettyMIDI."""
    return [(i, midi.time_to_tick(n.start), midi.time_to_tick(n.end), n.pitch, n.velocity)
            for i, inst in enumerate(midi.instruments) for n in inst.notes]


def regenerate_rows(songs: list[PopSong], model: str, tmp: Path, seed: int) -> dict[str, Any]:
    import soundart
    from soundart.models import load_model
    from soundart.music.metrics import crop_bars
    from soundart.music.sample import load_stepper, read_codec_config
    from soundart.music.song import read_song

    codec = read_codec_config(load_stepper(model)[1])
    torch_model = load_model(model).eval()
    same, total, sums = 0, 0, {"real": [0.0, 0, 0], "regenerated": [0.0, 0, 0]}
    for i, song in enumerate(progress(songs, desc="regenerate", unit="song")):
        primer = song.write(tmp / f"{song.name}-16.mid", 16)
        out = soundart.sketch(primer=primer, regenerate="5-8", seed=seed + i, model=model)[0]
        path = out.save(tmp / f"{song.name}-regen.mid")
        before, after = read_song(primer, codec.config), read_song(path, codec.config)
        # compared in the files themselves (track, ticks, pitch, velocity): re-reading the output can give a
        # track another part (its notes changed), which is not a changed note
        lo, hi = (before.midi.time_to_tick(song.step_seconds * b * song.bar_steps) for b in (4, 8))
        outside = {n for n in file_notes(before.midi) if not lo <= n[1] < hi}
        same += len(outside & set(file_notes(after.midi)))
        total += len(outside)
        for label, song_read in (("real", before), ("regenerated", after)):
            s = span_nll(torch_model, codec, crop_bars(song_read.piece("pop"), 12), 4, 8)
            sums[label] = [a + b for a, b in zip(sums[label], s)]
    return {"outside_same": same / max(total, 1), "outside_notes": total,
            **{f"nll_{k}": (v[0] / max(v[1], 1), v[0] / max(v[2], 1)) for k, v in sums.items()}}


def speed_rows(songs: list[PopSong], models: list[str], tmp: Path, repeats: int) -> list[tuple[str, float]]:
    song = next(s for s in songs if s.n_bars >= 32 and s.piece.meter == "4/4")
    primer = song.write(tmp / "song32.mid", 32)
    rows = [("python -c 'import torch' (reference)", wall([sys.executable, "-c", "import torch"], repeats))]
    for model in models:
        cmd = [sys.executable, "-m", "soundart", "sketch", "-i", str(primer), "--add", "drums,bass", "--model", model,
               "--seed", "1", "-o", str(tmp / "out.mid"), "--force"]
        rows.append((f"sketch -i song32.mid --add drums,bass --model {model} (POP909 {song.name}, 3 tracks)",
                     wall(cmd, repeats)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=40, help="held-out POP909 songs (the test split has 106)")
    ap.add_argument("--model", action="append", help="band model(s) (default: transformer and rnn)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    models = args.model or ["transformer", "rnn"]
    songs = []
    for folder in test_songs(args.songs):
        try:
            songs.append(PopSong(folder))
        except ValueError as e:
            print(f"skipped {e}")
    songs16 = [s for s in songs if s.n_bars >= 16]
    print(f"{len(songs)} held-out POP909 songs ({len(songs16)} with 16+ bars)")
    ref = groove_reference(16)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for label, wall_s in speed_rows(songs, models, tmp, args.repeats):
            print(f"| {label} | {wall_s:.2f} s |")
        for model in models:
            t = time.perf_counter()
            tmp = Path(tmp_name) / model
            tmp.mkdir()
            cont = continue_rows(songs16, model, tmp, args.seed)
            add = add_rows(songs16, model, tmp, args.seed)
            regen = regenerate_rows(songs16, model, tmp, args.seed)
            print(f"\n## {model} ({len(songs16)} songs, {time.perf_counter() - t:.0f} s)")
            print("| measure | value | mark |\n|---|---|---|")
            print(f"| continue: key of the 8 new bars = labelled key | {cont['key']:.0%} (real bars 9-16: "
                  f"{cont['real_key']:.0%}) | >= 80% |")
            print(f"| continue: key of the 8 new bars = the primer's estimated key | {cont['primer_key']:.0%} | |")
            print(f"| continue: every input track in the output | {cont['tracks']:.0%} | 100% |")
            for k, (g, r) in cont["ratios"].items():
                ratio = f"{g / r:.2f}" if r else "(no ratio: real is 0)"
                print(f"| continue: {k} new / real bars 9-16 | {g:.3f} / {r:.3f} = {ratio} | 0.85-1.15 |")
            print(f"| add: drum onsets on the 16th grid | {add['on_grid']:.1%} | >= 90% |")
            print(f"| add: bars with a kick on beat 1 | {add['kick']:.0%} (Groove {GROOVE}: {ref['kick']:.0%}) | |")
            print(f"| add: snare hits on beats 2/4 | {add['backbeat']:.0%} "
                  f"(Groove {GROOVE}: {ref['backbeat']:.0%}) | |")
            print(f"| add: groove consistency | {add['groove']:.3f} (Groove {GROOVE}: {ref['groove']:.3f}, "
                  f"{ref['pieces']} held-out) | |")
            print(f"| add: bass root on beats 1 and 3 (labelled chords, {add['beats']} beats) | "
                  f"{add['bass_root']:.0%} | >= 70% |")
            print(f"| regenerate 5-8: notes outside the span unchanged | {regen['outside_same']:.1%} "
                  f"of {regen['outside_notes']} | 100% |")
            for label in ("real", "regenerated"):
                tok, note = regen[f"nll_{label}"]
                print(f"| regenerate 5-8: span NLL, {label} bars | {tok:.3f} nats/token, {note:.2f} nats/note | |")


if __name__ == "__main__":
    main()
