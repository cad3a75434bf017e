"""Throughput of `soundart analyze` on real recordings, and its start-up time.

Prints two tables:

1. Folder throughput: seconds of audio analysed per second of wall time
   ("x real time") for decoding alone (the reference, same worker count) and
   for the whole analysis (decode + shared front end + descriptors + CNN),
   and for the CNN alone on the same recordings' log-mels (the part that
   ``--device cuda`` moves to a GPU; the rest stays on the CPU's workers).
2. Start-up: wall time of `soundart analyze ONE_FILE` (a fresh process, from
   the command line to the first result printed) next to `python -c "import
   torch"` measured in the same run.

    .venv/bin/python benchmarks/bench_analyze.py [--data ../shared/data/mood4q] [--files 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchkit import table, wall

ROOT = Path(__file__).resolve().parents[1]


def _decode(path: str) -> float:
    import torch

    from soundart.io import load_audio

    torch.set_num_threads(1)
    audio, sr = load_audio(path, sr=16000)
    return audio.shape[-1] / sr


def decode_only(files: list[str], workers: int) -> tuple[float, float]:
    import multiprocessing as mp

    start = time.perf_counter()
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            seconds = sum(pool.map(_decode, files, chunksize=1))
    else:
        seconds = sum(_decode(f) for f in files)
    return seconds, time.perf_counter() - start


def full(files: list[str], workers: int, model: str, device: str) -> tuple[float, float, int]:
    from soundart.listen.analyze import analyze

    start = time.perf_counter()
    seconds, failed = 0.0, 0
    for row in analyze(files, model=model, device=device, workers=workers):
        if "error" in row:
            failed += 1
        else:
            seconds += row["duration_s"]
    return seconds, time.perf_counter() - start, failed


def network_only(files: list[str], model: str, device: str) -> tuple[float, float]:
    """Seconds of audio and wall time of the CNN alone (``predict``) on the files' log-mels, computed
    beforehand by the same front end ``analyze`` runs in its workers."""
    import torch

    from soundart.listen.analyze import front_end
    from soundart.models import load_model

    torch.set_num_threads(1)  # as analyze's main process, whose workers use the other cores
    net = load_model(model, device=device).eval()
    logmels = [torch.from_numpy(front_end(f, net.config.features.to_dict())["logmel"]).to(device) for f in files]
    hop_s = net.config.features.hop_length / net.config.features.sr
    start = time.perf_counter()
    for L in logmels:
        net.predict(L)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return sum(L.shape[-1] for L in logmels) * hop_s, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mood4q"))
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default="listen")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="start-up timings (the median is shown)")
    args = parser.parse_args()

    import torch

    from soundart.io import is_audio_file

    files = sorted(str(p) for p in Path(args.data).rglob("*") if is_audio_file(p))[: args.files]
    if not files:
        sys.exit(f"no audio under {args.data}")
    full(files[:2], args.workers, args.model, args.device)  # warm the page cache and the model load
    audio_s, dec_t = decode_only(files, args.workers)
    seconds, full_t, failed = full(files, args.workers, args.model, args.device)
    print(f"{len(files)} files, {audio_s:.0f} s of audio, {args.workers} workers, device {args.device}, "
          f"torch threads {torch.get_num_threads()}; failed: {failed}")
    net_s, net_t = network_only(files, args.model, args.device)
    print(table(["stage", "wall s", "x real time", "ratio"], [
        ("decode only (reference)", dec_t, f"{audio_s / dec_t:.0f}", 1.0),
        ("analyze (decode+features+desc+CNN)", full_t, f"{seconds / full_t:.0f}",
         (seconds / full_t) / (audio_s / dec_t)),
        (f"CNN alone (main process, {args.device})", net_t, f"{net_s / net_t:.0f}",
         (net_s / net_t) / (audio_s / dec_t))]))

    exe = str(ROOT / ".venv" / "bin" / "soundart")
    py = str(ROOT / ".venv" / "bin" / "python")
    t_torch = wall([py, "-c", "import torch"], args.repeats, cwd=ROOT)
    t_help = wall([exe, "--help"], args.repeats, cwd=ROOT)
    t_first = wall([exe, "analyze", files[0], "--model", args.model], args.repeats, cwd=ROOT)
    print()
    print(table([f"start-up (median of {args.repeats})", "wall s", "vs import torch"], [
        ('python -c "import torch" (reference)', t_torch, 1.0),
        ("soundart --help", t_help, t_help / t_torch),
        ("soundart analyze ONE_30s_FILE", t_first, t_first / t_torch)]))


if __name__ == "__main__":
    main()
