"""Make the notes dataset: single GM-program notes rendered from a SoundFont (NSynth-like).

    python data/make_notes.py                      # -> data/notes/ (FluidR3_GM via fluidsynth)
    python data/make_notes.py --out /tmp/notes --programs 0,24,40 --pitch-step 12
    python data/make_notes.py --backend builtin    # no fluidsynth: the torch synth's voices

Every note: 4 s at 16 kHz mono, held 3 s; pitches 24-96, velocities 40/80/120,
programs grouped into families (soundart.audio.notes.FAMILIES), split by program.
Deterministic: the same SoundFont gives the same files and manifest.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from soundart.audio.notes import (  # noqa: E402
    FAMILIES,
    PITCH_RANGE,
    VELOCITIES,
    render_program,
    write_manifest,
)


def _one(args):
    program, out, pitches, velocities, soundfont, backend = args
    return render_program(program, out, pitches, velocities, soundfont, backend=backend)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "notes")
    ap.add_argument("--soundfont", default=None, help="a .sf2 (default: the system's GM SoundFont)")
    ap.add_argument("--backend", choices=["fluidsynth", "builtin"], default="fluidsynth")
    ap.add_argument("--programs", default=None, help="comma-separated GM programs (default: all families)")
    ap.add_argument("--pitch-step", type=int, default=1)
    ap.add_argument("--velocities", default=",".join(map(str, VELOCITIES)))
    ap.add_argument("--workers", type=int, default=1, help="processes (0: render in this process)")
    args = ap.parse_args(argv)

    from soundart.audio.render import find_backend

    chosen = find_backend(args.soundfont, args.backend)
    programs = sorted(p for ps in FAMILIES.values() for p in ps)
    if args.programs:
        programs = [int(p) for p in args.programs.split(",")]
    pitches = list(range(PITCH_RANGE[0], PITCH_RANGE[1] + 1, args.pitch_step))
    velocities = [int(v) for v in args.velocities.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"rendering {len(programs)} programs x {len(pitches)} pitches x {len(velocities)} velocities "
          f"with {chosen.describe()} -> {args.out}", file=sys.stderr)
    from tqdm import tqdm

    t0 = time.time()
    jobs = [(p, args.out, pitches, velocities, chosen.soundfont, chosen.name) for p in programs]
    rows = []
    if args.workers <= 0:
        for job in tqdm(jobs, unit="program", file=sys.stderr):
            rows.extend(_one(job))
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for r in tqdm(pool.map(_one, jobs), total=len(jobs), unit="program", file=sys.stderr):
                rows.extend(r)
    manifest = write_manifest(rows, args.out)
    counts = {s: sum(r.split == s for r in rows) for s in ("train", "valid", "test")}
    print(f"{len(rows)} notes ({counts}) in {time.time() - t0:.0f} s; manifest {manifest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
