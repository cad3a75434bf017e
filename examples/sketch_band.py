"""The sketch job from Python: a pop band over named chords, a jig, and funk drums, as MIDI files.

    python examples/sketch_band.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import soundart


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    chorus = soundart.sketch(style="pop", chords="Am F C G", bars=8, seed=1)[0]
    print("pop:", [track.name for track in chorus.midi.instruments], chorus.chords)
    chorus.save(out / "chorus.mid", force=True)
    jig = soundart.sketch(style="fiddle", meter="6/8", key="D major", bars=8, seed=2)[0]
    jig.save(out / "jig.mid", force=True)
    for i, groove in enumerate(soundart.sketch(style="funk", bars=4, n=2, seed=3), 1):
        groove.save(out / f"funk-{i}.mid", force=True)
    print(f"wrote 4 MIDI files to {out}/")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-out/sketches"))
