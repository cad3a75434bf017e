"""The spectral pipeline from Python: log-mel, MFCC and chroma of a clip, then audio back from the log-mel.

    .venv/bin/python examples/features_and_inversion.py [AUDIO] [--out resynth.wav]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import soundart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="?", default=str(Path(__file__).parent / "data" / "clip.ogg"))
    parser.add_argument("--out", default="resynth.wav")
    args = parser.parse_args()

    cfg = soundart.FeatureConfig(sr=22050, n_fft=2048, hop_length=512, n_mels=128)
    audio, sr = soundart.load_audio(args.audio, sr=cfg.sr)          # (1, samples)
    pipeline = soundart.SpectralPipeline(cfg)
    logmel = pipeline.logmel(audio)                                   # (1, 128, frames), dB
    mfcc = pipeline.mfcc(audio)                                       # (1, 20, frames)
    chroma = pipeline.chroma(audio)                                   # (1, 12, frames)
    print(f"{args.audio}: {audio.shape[-1] / sr:.2f} s -> log-mel {tuple(logmel.shape)}, "
          f"mfcc {tuple(mfcc.shape)}, chroma {tuple(chroma.shape)}")
    pitch_classes = "C C# D D# E F F# G G# A A# B".split()
    strongest = chroma[0].mean(-1).topk(3).indices.tolist()
    print("strongest pitch classes:", ", ".join(pitch_classes[i] for i in strongest))
    rebuilt = pipeline.logmel_to_audio(logmel, n_iter=64, length=audio.shape[-1])
    soundart.save_audio(args.out, rebuilt / max(1.0, float(rebuilt.abs().max())), sr, force=True)
    print(f"{args.out}: resynthesised from the log-mel alone")


if __name__ == "__main__":
    main()
