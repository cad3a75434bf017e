"""Make examples/data/clip.ogg: the 4-second example clip the demo and README use.

A plucked-string arpeggio (A minor, then F major) over a soft bass, synthesised
with NumPy so it is ours to ship. Deterministic: running it again gives the same file.

    python data/make_example_clip.py [--out examples/data/clip.ogg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def pluck(freq: float, seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    partials = sum((0.6 ** k) * np.sin(2 * np.pi * freq * (k + 1) * t) for k in range(6))
    return partials * np.exp(-3.0 * t) * np.minimum(1.0, t * 200)


def make_clip() -> np.ndarray:
    out = np.zeros(4 * SR)
    chords = [(57, 60, 64, 69), (53, 57, 60, 65)]  # A minor, F major (MIDI pitches)
    for half, chord in enumerate(chords):
        for i, pitch in enumerate(chord * 2):
            start = int((half * 2.0 + i * 0.25) * SR)
            note = pluck(440.0 * 2 ** ((pitch + 12 * (i >= 4) - 69) / 12), 1.0)
            end = min(out.size, start + note.size)
            out[start:end] += 0.18 * note[: end - start]
        bass = pluck(440.0 * 2 ** ((chord[0] - 12 - 69) / 12), 2.0)
        out[half * 2 * SR: half * 2 * SR + bass.size] += 0.25 * bass
    return (out / np.abs(out).max() * 0.8).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "examples/data/clip.ogg")
    args = parser.parse_args()
    sf.write(args.out, make_clip(), SR, format="OGG", subtype="VORBIS")
    print(f"{args.out}: {4.0:.1f} s at {SR} Hz")


if __name__ == "__main__":
    main()
