"""``soundart features`` and ``soundart invert``: the spectral pipeline from the shell."""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import device_option, force_option, positive, seed_option

FEATURE_KINDS = ["stft", "mel", "logmel", "mfcc", "chroma"]


def _feature_config(sr: int, n_fft: int, hop_length: int, n_mels: int, n_mfcc: int):
    from soundart.features import FeatureConfig

    for name, value in (("--sr", sr), ("--n-fft", n_fft), ("--hop-length", hop_length),
                        ("--n-mels", n_mels), ("--n-mfcc", n_mfcc)):
        positive(name, value)
    return FeatureConfig(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                         n_mfcc=min(n_mfcc, n_mels))


@click.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(FEATURE_KINDS), default="logmel", show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Output .npy file.")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Also draw it to this PNG.")
@click.option("--sr", type=int, default=22050, show_default=True, help="Resample the audio to this rate (Hz).")
@click.option("--n-fft", type=int, default=2048, show_default=True)
@click.option("--hop-length", type=int, default=512, show_default=True)
@click.option("--n-mels", type=int, default=128, show_default=True)
@click.option("--n-mfcc", type=int, default=20, show_default=True)
@device_option
@force_option
def features(audio: Path, kind: str, out: Path, plot: Path | None, sr: int, n_fft: int,
             hop_length: int, n_mels: int, n_mfcc: int, device: str, force: bool) -> None:
    """Compute one spectral feature of AUDIO and save it as a (bins, frames) .npy array.

    stft is the power spectrogram, logmel is in dB (80 dB range), chroma is
    peak-normalised per frame. Example: soundart features song.ogg --kind logmel
    --out song.npy --plot song.png
    """
    import numpy as np

    from soundart.errors import BadInputError
    from soundart.features import compute
    from soundart.io import atomic_output, check_output_path, load_audio
    from soundart.runtime import resolve_device

    cfg = _feature_config(sr, n_fft, hop_length, n_mels, n_mfcc)
    if out.suffix != ".npy":
        raise BadInputError(f"{out}: the output must be a .npy file")
    check_output_path(out, force)
    if plot is not None:
        check_output_path(plot, force)
    waveform, _ = load_audio(audio, sr=cfg.sr, mono=True)
    values = compute(waveform[0].to(resolve_device(device)), cfg, kind).cpu().numpy()
    with atomic_output(out, force) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, values.astype(np.float32))
    click.echo(f"{out}: {kind} {values.shape[0]} bins x {values.shape[1]} frames "
               f"({waveform.shape[-1] / cfg.sr:.2f} s at {cfg.sr} Hz, hop {cfg.hop_length})")
    if plot is not None:
        from soundart.plot import plot_spectrogram

        image = values
        label = {"logmel": "dB", "mfcc": "coefficient"}.get(kind, "")
        if kind in ("stft", "mel"):
            image, label = 10 * np.log10(np.maximum(values, 1e-10)), "dB"
        ylabel = {"stft": "frequency bin", "mel": "mel band", "logmel": "mel band",
                  "mfcc": "MFCC", "chroma": "pitch class (C..B)"}[kind]
        plot_spectrogram(image, plot, sr=cfg.sr, hop_length=cfg.hop_length,
                         title=f"{audio.name}: {kind}", ylabel=ylabel, colorbar_label=label, force=force)
        click.echo(f"{plot}: plot written")


@click.command()
@click.argument("array", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output audio file.")
@click.option("--kind", type=click.Choice(["logmel", "mel", "stft"]), default="logmel", show_default=True,
              help="What the array holds (as written by `soundart features`).")
@click.option("--sr", type=int, default=22050, show_default=True)
@click.option("--n-fft", type=int, default=2048, show_default=True)
@click.option("--hop-length", type=int, default=512, show_default=True)
@click.option("--iterations", type=int, default=64, show_default=True, help="Griffin-Lim iterations.")
@seed_option
@force_option
def invert(array: Path, out: Path, kind: str, sr: int, n_fft: int, hop_length: int, iterations: int,
           seed: int | None, force: bool) -> None:
    """Turn a (bins, frames) .npy feature back into audio.

    Mel inversion by non-negative least squares, then fast Griffin-Lim with
    momentum. The FFT size and hop must be those the array was computed with.
    """
    import numpy as np
    import torch

    from soundart.errors import BadInputError
    from soundart.features import FeatureConfig, griffin_lim, logmel_to_audio, mel_to_spectrogram
    from soundart.io import check_output_path, save_audio
    from soundart.runtime import make_generator

    positive("--iterations", iterations)
    check_output_path(out, force)
    if not array.is_file():
        raise BadInputError(f"{array}: no such file")
    try:
        values = np.load(array, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadInputError(f"{array}: not a readable .npy array ({' '.join(str(exc).split())})") from None
    if values.ndim != 2 or values.shape[1] == 0:
        raise BadInputError(f"{array}: expected a (bins, frames) array, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise BadInputError(f"{array}: contains NaN or infinite values")
    bins = values.shape[0]
    if kind == "stft" and bins != n_fft // 2 + 1:
        raise BadInputError(f"{array}: {bins} frequency bins, but --n-fft {n_fft} gives {n_fft // 2 + 1}")
    cfg = FeatureConfig(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=bins if kind != "stft" else 128)
    tensor = torch.from_numpy(values.astype(np.float32))
    generator = make_generator(seed)
    if kind == "logmel":
        audio = logmel_to_audio(tensor, cfg, n_iter=iterations, generator=generator)
    elif kind == "mel":
        audio = griffin_lim(mel_to_spectrogram(tensor.clamp(min=0), cfg).sqrt(), cfg, n_iter=iterations,
                            generator=generator)
    else:
        audio = griffin_lim(tensor.clamp(min=0).sqrt(), cfg, n_iter=iterations, generator=generator)
    peak = float(audio.abs().max())
    if peak > 1.0:  # keep the level, but never clip
        audio = audio / peak
    save_audio(out, audio, sr, force=force)
    click.echo(f"{out}: {audio.shape[-1] / sr:.2f} s at {sr} Hz ({iterations} Griffin-Lim iterations)")
