"""Style-transfer bars: Gram and content distances, and speed for 10 s of audio.

For each (content, style) pair: real recordings from ``../shared/data/emotify``
(a classical piece as content, rock / electronic as style) when present, and a
synthetic pair (a sine melody, noise bursts + a high tone). Prints:

- Gram distance of output to style / Gram distance of content to style (bar <= 0.3)
- content-feature distance of output to content / of style to content (bar <= 0.5)
- seconds of wall time for 10 s of audio (bar <= 60 s on the 2-core CPU)

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_style.py --iterations 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from benchkit import table, timed

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotify"


def synthetic(seconds: float, sr: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = np.arange(int(seconds * sr)) / sr
    f = 220 * 2 ** ((np.floor(t * 2) % 8) / 12)
    content = 0.5 * np.sin(2 * np.pi * np.cumsum(f) / sr)
    rng = np.random.default_rng(0)
    style = 0.3 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 3 * t) > 0) + 0.2 * np.sin(2 * np.pi * 880 * t)
    return torch.tensor(content, dtype=torch.float32), torch.tensor(style, dtype=torch.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--content-weight", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from soundart.io import load_audio
    from soundart.spectral.style import STYLE_FEATURES, style_transfer

    sr = STYLE_FEATURES.sr
    pairs = [("synthetic melody <- noise bursts", *synthetic(args.seconds, sr))]
    if SHARED.is_dir():
        def clip(genre: str) -> torch.Tensor:
            path = sorted((SHARED / genre).glob("*"))[0]
            return load_audio(path, sr=sr, offset=20.0, duration=args.seconds)[0][0], path.name

        (c, cn), (r, rn), (e, en) = clip("classical"), clip("rock"), clip("electronic")
        pairs.append((f"classical {cn} <- rock {rn}", c, r))
        pairs.append((f"classical {cn} <- electronic {en}", c, e))
    # warm-up (imports, first-call allocations) so timings are of the work itself
    style_transfer(pairs[0][1][:sr], pairs[0][2][:sr], iterations=2, griffin_lim_iters=1, progress=False)
    rows = []
    for name, c, s in pairs:
        r, dt = timed(style_transfer, c, s, iterations=args.iterations, content_weight=args.content_weight,
                      progress=False)
        m = r.metrics
        ok = m["gram_ratio"] <= 0.3 and m["content_ratio"] <= 0.5 and dt <= 60 * c.numel() / sr / 10
        rows.append((name, f"{m['gram_ratio']:.3f}", f"{m['content_ratio']:.3f}", f"{dt:.1f}",
                     f"{c.numel() / sr:.1f}", "PASS" if ok else "FAIL"))
    print(table(["pair", "gram ratio", "content ratio", "seconds", "audio s", "bar"], rows))
    print(f"bars: gram ratio <= 0.3, content ratio <= 0.5, <= 60 s per 10 s of audio "
          f"({args.iterations} L-BFGS iterations, {args.threads} thread(s))")


if __name__ == "__main__":
    main()
