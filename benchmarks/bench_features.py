"""Spectral pipeline speed: soundart vs librosa on the same audio, in one run.

10 minutes of audio at 22.05 kHz; log-mel (n_fft 2048, hop 512, 128 mels) and
20 MFCCs; each timed warm, median of 5 runs. Prints seconds, times real time
and the throughput ratio soundart / librosa. With a GPU, also batched log-mel
on CUDA (16 clips of 10 minutes at once).

    python benchmarks/bench_features.py [--minutes 10] [--repeats 5]
"""

from __future__ import annotations

import argparse

import librosa
import numpy as np
import torch
from benchkit import median_seconds

from soundart.features import FeatureConfig, logmel, mfcc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    sr = 22050
    seconds = args.minutes * 60
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32)
    x = torch.from_numpy(y)
    cfg = FeatureConfig(sr=sr, n_fft=2048, hop_length=512, n_mels=128, n_mfcc=20)

    jobs = {
        "log-mel": (
            lambda: librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512,
                                                                        n_mels=128), top_db=80.0),
            lambda: logmel(x, cfg),
        ),
        "mfcc": (
            lambda: librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128),
            lambda: mfcc(x, cfg),
        ),
    }
    rows = []
    with torch.inference_mode():
        for name, (reference, ours) in jobs.items():
            t_ref = median_seconds(reference, args.repeats)
            t_ours = median_seconds(ours, args.repeats)
            rows.append((name, "cpu", t_ref, t_ours))
        if torch.cuda.is_available():
            batch = x.cuda().repeat(16, 1)
            sync = torch.cuda.synchronize
            t_gpu = median_seconds(lambda: logmel(batch, cfg), args.repeats, sync)
            rows.append(("log-mel x16 batch", "cuda", None, t_gpu / 16))

    print(f"audio: {args.minutes:g} min at {sr} Hz, float32; torch threads: {torch.get_num_threads()}; "
          f"median of {args.repeats} warm runs")
    header = f"{'feature':<18} {'device':<6} {'librosa s':>10} {'soundart s':>11} {'librosa xRT':>12} " \
             f"{'soundart xRT':>13} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name, device, t_ref, t_ours in rows:
        ref_s = f"{t_ref:10.3f}" if t_ref else f"{'-':>10}"
        ref_rt = f"{seconds / t_ref:12.0f}" if t_ref else f"{'-':>12}"
        ratio = f"{t_ref / t_ours:6.2f}x" if t_ref else f"{'-':>7}"
        print(f"{name:<18} {device:<6} {ref_s} {t_ours:11.3f} {ref_rt} {seconds / t_ours:13.0f} {ratio}")


if __name__ == "__main__":
    main()
