"""``soundart features`` and ``soundart invert``: the spectral pipeline from the shell.

Each command parses options, calls a job in :mod:`soundart.features.jobs` and prints what it made.
"""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.audio import flags
from soundart.commands.common import device_option, flags_in_errors, force_option, seed_option

FEATURE_KINDS = ["stft", "mel", "logmel", "mfcc", "chroma"]
FRONT_END = ("sr", "n_fft", "hop_length", "n_mels", "n_mfcc", "kind", "plot", "iterations", "seed")


@click.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(FEATURE_KINDS), default="logmel", show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Output .npy file.")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Also draw it to this PNG.")
@click.option("--sr", type=int, default=22050, show_default=True, help="Resample the audio to this rate (Hz).")
@click.option("--n-fft", type=int, default=2048, show_default=True, help="FFT size (16-65536).")
@click.option("--hop-length", type=int, default=512, show_default=True, help="Hop in samples (1 .. n-fft).")
@click.option("--n-mels", type=int, default=128, show_default=True, help="Mel bands (1-1024).")
@click.option("--n-mfcc", type=int, default=20, show_default=True, help="MFCCs kept with --kind mfcc (<= n-mels).")
@device_option
@force_option
def features(audio: Path, kind: str, out: Path, plot: Path | None, sr: int, n_fft: int,
             hop_length: int, n_mels: int, n_mfcc: int, device: str, force: bool) -> None:
    """Compute one spectral feature of AUDIO and save it as a (bins, frames) .npy array.

    stft is the power spectrogram, logmel is in dB (80 dB range), chroma is
    peak-normalised per frame. Example: soundart features song.ogg --kind logmel
    --out song.npy --plot song.png
    """
    from soundart.features.jobs import features as run_features

    with flags_in_errors(flags(*FRONT_END)):
        f = run_features(audio, kind=kind, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, n_mfcc=n_mfcc,
                         device=device, out=out, plot=plot, force=force)
    bins, frames = f.values.shape
    click.echo(f"{out}: {kind} {bins} bins x {frames} frames ({f.seconds:.2f} s at {sr} Hz, hop {hop_length})")
    if plot is not None:
        click.echo(f"{plot}: plot written")


@click.command()
@click.argument("array", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output audio file.")
@click.option("--kind", type=click.Choice(["logmel", "mel", "stft"]), default="logmel", show_default=True,
              help="What the array holds (as written by `soundart features`).")
@click.option("--sr", type=int, default=22050, show_default=True)
@click.option("--n-fft", type=int, default=2048, show_default=True)
@click.option("--hop-length", type=int, default=512, show_default=True)
@click.option("--iterations", type=int, default=64, show_default=True, help="Griffin-Lim iterations (1-10000).")
@seed_option
@force_option
def invert(array: Path, out: Path, kind: str, sr: int, n_fft: int, hop_length: int, iterations: int,
           seed: int | None, force: bool) -> None:
    """Turn a (bins, frames) .npy feature back into audio.

    Mel inversion by non-negative least squares, then fast Griffin-Lim with
    momentum. The FFT size and hop must be those the array was computed with.
    """
    from soundart.features.jobs import invert as run_invert

    with flags_in_errors(flags(*FRONT_END)):
        clip = run_invert(array, kind=kind, sr=sr, n_fft=n_fft, hop_length=hop_length, iterations=iterations,
                          seed=seed, out=out, force=force)
    click.echo(f"{out}: {clip.seconds:.2f} s at {sr} Hz ({iterations} Griffin-Lim iterations)")
