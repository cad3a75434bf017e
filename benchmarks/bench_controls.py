"""Are the controls of `soundart sketch` obeyed? Key, tempo, bars, and key-keeping continuations.

    python benchmarks/bench_controls.py                       # the default model
    python benchmarks/bench_controls.py --model rnn --trials 50

Every sketch is made by the CLI itself (``python -m soundart sketch ...`` as a subprocess, default
sampling options) and judged from the MIDI file it wrote:

- key: ``--count`` sketches asked in "D minor" (8 bars, 90 bpm); the share whose key estimate is
  D minor, by music21's ``analyze('key')`` (its default, Aarden-Essen weights) and by
  Krumhansl-Schmuckler (``soundart.music.tokens.estimate_key``), both weighted by duration;
- tempo: the share of those files whose MIDI tempo is the one asked (within 0.01 bpm);
- bars: ``--bars N`` for N in 1, 4, 8, 16 in 4/4 and 3/4; the share of files whose notes span
  exactly N bars of the file's own tempo and time signature;
- continuation: ``--trials`` two-minute continuations of polyphonic primers (Bach chorales held out
  of training, written as MIDI, ``--trials / 5`` primers x 5 seeds); the share that re-reads as
  valid MIDI of at least two minutes, and the share whose key estimate (of the continuation alone)
  equals the primer's estimate by the same method.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from benchkit import table, timed

SOUNDART = [sys.executable, "-m", "soundart"]
ASKED_KEY = "D minor"
ASKED_TEMPO = 90.0


def run_sketch(args: list[str]) -> None:
    """``soundart sketch --style chorale ARGS`` (chorales: the style with 4/4 and 3/4 and the primers' style)."""
    done = subprocess.run(SOUNDART + ["sketch", "--style", "chorale", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"soundart sketch {' '.join(args)} failed: {done.stderr.strip()}")


def written(stem: Path, n: int) -> list[Path]:
    """The files ``soundart sketch -n N -o STEM`` writes (STEM itself when N is 1)."""
    return [stem] if n == 1 else [stem.with_name(f"{stem.stem}-{i}{stem.suffix}") for i in range(1, n + 1)]


def read_notes(path: Path) -> tuple[object, list[tuple[float, float, int]]]:
    """(PrettyMIDI, [(start_s, end_s, pitch)] of pitched notes) of a MIDI file."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(path))
    notes = [(n.start, n.end, n.pitch) for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    return midi, notes


def key_estimates(notes: list[tuple[float, float, int]], tempo: float) -> tuple[str, str]:
    """(music21 analyze('key'), Krumhansl-Schmuckler) key names, e.g. "D minor", weighted by duration."""
    from music21 import note as m21note
    from music21 import stream

    from soundart.music.tokens import estimate_key, key_name

    quarter = 60.0 / tempo
    s = stream.Stream()
    for start, end, pitch in notes:
        s.insert(start / quarter, m21note.Note(pitch, quarterLength=max((end - start) / quarter, 0.25)))
    k = s.analyze("key")
    m21 = key_name(k.tonic.pitchClass + (12 if k.mode == "minor" else 0))
    ks = key_name(estimate_key([p for _, _, p in notes], [e - s_ for s_, e, _ in notes]))
    return m21, ks


def bars_spanned(midi: object, notes: list[tuple[float, float, int]]) -> int:
    """How many bars (of the file's first tempo and time signature) the notes reach into."""
    tempo = float(midi.get_tempo_changes()[1][0])
    ts = midi.time_signature_changes[0]
    bar_s = ts.numerator * 4 / ts.denominator * 60.0 / tempo
    return math.ceil(max(e for _, e, _ in notes) / bar_s - 1e-6)


def key_and_tempo(model: str, count: int, seed: int, tmp: Path) -> list[tuple[str, str, str]]:
    run_sketch(["--model", model, "--key", ASKED_KEY, "--tempo", str(ASKED_TEMPO), "--bars", "8", "-n", str(count),
                "--seed", str(seed), "-o", str(tmp / "dminor.mid")])
    m21_hits = ks_hits = tempo_hits = 0
    for path in written(tmp / "dminor.mid", count):
        midi, notes = read_notes(path)
        m21, ks = key_estimates(notes, ASKED_TEMPO)
        m21_hits += m21 == ASKED_KEY
        ks_hits += ks == ASKED_KEY
        tempos = midi.get_tempo_changes()[1]
        tempo_hits += len(tempos) == 1 and abs(float(tempos[0]) - ASKED_TEMPO) < 0.01
    return [(f"key: {count} sketches asked in {ASKED_KEY}, estimate agrees (music21 analyze('key'))",
             f"{m21_hits / count:.0%}", ">= 80%"),
            ("key: same, Krumhansl-Schmuckler", f"{ks_hits / count:.0%}", ">= 80%"),
            (f"tempo: MIDI tempo == --tempo {ASKED_TEMPO:g}", f"{tempo_hits}/{count}", "all")]


def bar_counts(model: str, per_setting: int, seed: int, tmp: Path) -> list[tuple[str, str, str]]:
    rows = []
    for meter in ("4/4", "3/4"):
        for n_bars in (1, 4, 8, 16):
            stem = tmp / f"bars-{meter.replace('/', '')}-{n_bars}.mid"
            run_sketch(["--model", model, "--meter", meter, "--bars", str(n_bars), "-n", str(per_setting),
                        "--seed", str(seed), "-o", str(stem)])
            got = [bars_spanned(*read_notes(path)) for path in written(stem, per_setting)]
            ok = sum(g == n_bars for g in got)
            rows.append((f"bars: --meter {meter} --bars {n_bars}, files spanning exactly {n_bars} bars",
                         f"{ok}/{per_setting} (got {sorted(set(got))})", "all"))
    return rows


def held_out_primers(n: int, tmp: Path) -> list[tuple[Path, float]]:
    """Write ``n`` 4/4 Bach chorales of the recipe's validation split (never trained on) as MIDI files."""
    from soundart.music.corpora import music21_pieces, split_of
    from soundart.music.midi_pieces import piece_to_midi

    out = []
    for pid, piece in music21_pieces("chorale", 400, progress=False):
        if split_of(pid, 0.05) != "valid" or piece.meter != "4/4" or len(piece.notes) < 100:
            continue
        path = tmp / f"primer-{len(out)}.mid"
        piece_to_midi(piece).write(str(path))
        out.append((path, piece.tempo))
        if len(out) == n:
            break
    return out


def continuations(model: str, trials: int, seed: int, tmp: Path) -> list[tuple[str, str, str]]:
    seeds_per_primer = 5
    primers = held_out_primers(math.ceil(trials / seeds_per_primer), tmp)
    valid = m21_kept = ks_kept = done = 0
    lengths = []
    for j, (primer, tempo) in enumerate(primers):
        n = min(seeds_per_primer, trials - done)
        bars = math.ceil(120.0 / (4 * 60.0 / tempo))  # two minutes at the primer's tempo
        stem = tmp / f"cont-{j}.mid"
        run_sketch(["--model", model, "--primer", str(primer), "--bars", str(bars), "-n", str(n),
                    "--seed", str(seed + j), "-o", str(stem)])
        _, primer_notes = read_notes(primer)
        primer_keys = key_estimates(primer_notes, tempo)
        for path in written(stem, n):
            try:
                midi, notes = read_notes(path)
                length = max(e for _, e, _ in notes)
            except Exception:  # counted, not raised: the figure is how many fail
                continue
            lengths.append(length)
            valid += length >= 119.0
            m21, ks = key_estimates(notes, tempo)
            m21_kept += m21 == primer_keys[0]
            ks_kept += ks == primer_keys[1]
        done += n
    return [(f"continuation: {done} two-minute continuations of {len(primers)} held-out chorales, valid MIDI "
             f">= 2 min (lengths {min(lengths):.0f}-{max(lengths):.0f} s)", f"{valid}/{done}", "all"),
            ("continuation: keeps the primer's key (music21 analyze('key'))", f"{m21_kept / done:.0%}", ">= 80%"),
            ("continuation: keeps the primer's key (Krumhansl-Schmuckler)", f"{ks_kept / done:.0%}", ">= 80%")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="transformer")
    ap.add_argument("--count", type=int, default=100, help="sketches asked in D minor")
    ap.add_argument("--per-setting", type=int, default=5, help="sketches per --bars / --meter setting")
    ap.add_argument("--trials", type=int, default=50, help="two-minute continuations")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"model: {args.model}\n")
    with tempfile.TemporaryDirectory() as tmp:
        rows = key_and_tempo(args.model, args.count, args.seed, Path(tmp))
        rows += bar_counts(args.model, args.per_setting, args.seed, Path(tmp))
        cont, took = timed(continuations, args.model, args.trials, args.seed, Path(tmp))
    print(table(["control", "measured", "bar"], rows + cont))
    print(f"\n(continuations took {took:.0f} s)")


if __name__ == "__main__":
    main()
