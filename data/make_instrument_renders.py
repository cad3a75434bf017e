"""Make the listening CNN's pretraining set: the shared MIDI sets rendered with random GM instruments.

    python data/make_instrument_renders.py                 # -> data/instruments/ (1,865 clips, ~4 min)
    python data/make_instrument_renders.py --limit 20 --out /tmp/instruments

POP909 songs (two 30 s windows each) and music21's Bach four-part settings, each part played by a
random instrument family, with a bass line and Groove drums at random; every clip is tagged with
the families heard (`soundart/listen/renders.py`). 16 kHz mono WAV + manifest.csv, read by
`recipes/listen-instruments.yaml`. Deterministic: the same sets and SoundFont give the same files.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from soundart.errors import SoundartError
    from soundart.listen.renders import make_renders
    from soundart.music.band_data import shared_midi_dir

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "instruments")
    ap.add_argument("--midi", type=Path, default=shared_midi_dir(), help="the shared MIDI sets (pop909/, groove/)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--renders-per-song", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="first N clips only (0: all)")
    ap.add_argument("--force", action="store_true", help="render again over an existing set")
    args = ap.parse_args(argv)
    start = time.time()
    try:
        manifest, failed = make_renders(args.out, args.midi, seconds=args.seconds,
                                        renders_per_song=args.renders_per_song, seed=args.seed,
                                        workers=args.workers, limit=args.limit, force=args.force)
    except SoundartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    rows = sum(1 for _ in open(manifest)) - 1
    print(f"{rows} clips in {time.time() - start:.0f} s; manifest {manifest}" +
          (f"; {len(failed)} failed" if failed else ""), file=sys.stderr)
    return 1 if failed and not rows else 0


if __name__ == "__main__":
    sys.exit(main())
