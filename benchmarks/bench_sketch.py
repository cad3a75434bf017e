"""Sketch speed (wall, start-up included) and sketch quality of the default model.

    python benchmarks/bench_sketch.py                 # speed table
    python benchmarks/bench_sketch.py --samples 1000  # + validity and statistics of 1,000 sketches

Speed: ``soundart sketch --bars 8 -o x.mid`` as a subprocess, NumPy path (default) vs the torch
path (``--device cpu``) and vs ``python -c "import torch"`` (the reference: start-up alone).
Quality: N 8-bar sketches (chorale style, random common keys), every file written and re-read
with pretty_midi; MusPy-style statistics next to 8-bar excerpts of the training corpus.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOUNDART = [sys.executable, "-m", "soundart"]


def wall(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def speed(repeats: int, model: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ref = wall([sys.executable, "-c", "import torch"], repeats)
        rows = [("python -c 'import torch' (reference)", ref)]
        for label, extra in (("sketch --bars 8 (NumPy path, default)", []),
                             ("sketch --bars 8 --device cpu (torch path)", ["--device", "cpu"])):
            cmd = SOUNDART + ["sketch", "--model", model, "--bars", "8", "-o", f"{tmp}/x.mid", "--force",
                              "--seed", "0"] + extra
            rows.append((label, wall(cmd, repeats)))
    print(f"| command | median wall s ({repeats} runs) | ratio to import torch |")
    print("|---|---|---|")
    for label, t in rows:
        print(f"| {label} | {t:.2f} | {t / ref:.2f} |")


def quality(n: int, model: str, seed: int, in_key: bool, key_strength: float) -> None:
    import numpy as np
    import pretty_midi

    from soundart.commands.music import COMMON_KEYS
    from soundart.music.corpora import music21_pieces
    from soundart.music.metrics import METRICS, crop_bars, summarize
    from soundart.music.sample import generate, load_stepper, read_codec_config
    from soundart.music.tokens import midi_to_piece, parse_key, piece_to_midi

    step_model, doc, _ = load_stepper(model, "auto")
    codec = read_codec_config(doc)
    rng = np.random.default_rng(seed)
    keys = [parse_key(COMMON_KEYS[i]) for i in rng.integers(len(COMMON_KEYS), size=n)]
    t = time.perf_counter()
    pieces, invalid = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, n, 100):
            batch = keys[start:start + 100]
            prompts = [codec.header("chorale", k, "4/4", 84) + [codec.bar] for k in batch]
            for i, g in enumerate(generate(step_model, codec, prompts, 8, top_p=0.95, seed=seed + start,
                                                 in_key=in_key, key_strength=key_strength)):
                path = Path(tmp) / f"{start + i}.mid"
                try:
                    piece = codec.decode(g.tokens, strict=True)
                    piece_to_midi(piece, codec.config).write(str(path))
                    back = pretty_midi.PrettyMIDI(str(path))
                    if not any(inst.notes for inst in back.instruments):
                        raise ValueError("no notes")
                    pieces.append(midi_to_piece(back, codec.config))
                except Exception:  # counted, not raised: the figure is how many fail
                    invalid += 1
    seconds = time.perf_counter() - t
    ref = []
    for _, p in music21_pieces("chorale", 400):
        bars = max(n.start for n in p.notes) // codec.config.bar_steps(p.meter) + 1
        ref.append(crop_bars(p, 8, codec.config, int(rng.integers(0, max(1, bars - 7)))))
    g, r = summarize(pieces, codec.config), summarize(ref, codec.config)
    print(f"\n{n} sketches (8 bars, chorale, top-p 0.95, {'in key (default)' if in_key else '--free-pitch'}, "
          f"--key-strength {key_strength:g}) "
          f"in {seconds:.1f} s; invalid MIDI files: {invalid}")
    print("| metric | sketches mean (sd) | chorales mean (sd) | ratio |")
    print("|---|---|---|---|")
    for m in METRICS:
        print(f"| {m} | {g[m][0]:.3f} ({g[m][1]:.3f}) | {r[m][0]:.3f} ({r[m][1]:.3f}) | {g[m][0] / r[m][0]:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--samples", type=int, default=0, help="also generate this many sketches (quality)")
    ap.add_argument("--model", default="rnn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--free-pitch", action="store_true", help="sample without the in-key constraint")
    ap.add_argument("--key-strength", type=float, default=None, help="default: soundart sketch's")
    args = ap.parse_args()
    speed(args.repeats, args.model)
    if args.samples:
        from soundart.commands.music import KEY_STRENGTH

        strength = KEY_STRENGTH if args.key_strength is None else args.key_strength
        quality(args.samples, args.model, args.seed, not args.free_pitch, strength)


if __name__ == "__main__":
    main()
