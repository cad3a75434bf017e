"""The spectral pipeline's jobs: ``soundart.features(path, kind=...)`` (audio file -> feature array) and
``soundart.invert(array, ...)`` (a saved feature -> audio by Griffin-Lim).

Every number is checked before any file is read or written: a front end that cannot work (an FFT of
3 samples, more MFCCs than mel bands, mel bands that get no FFT bin) is refused with the argument named.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundart.checks import check_number, check_seed, check_sr
from soundart.errors import BadInputError, ConfigError

KINDS = ("stft", "mel", "logmel", "mfcc", "chroma")
INVERTIBLE = ("logmel", "mel", "stft")
N_FFT_RANGE = (16, 65536)
MAX_MELS = 1024
MAX_ITERATIONS = 10_000
MAX_VALUES = 2**28  # 1 GiB of float32 in the result: a hop of 1 over a song would ask for tens of GB


@dataclass
class Feature:
    """A spectral feature of one file: ``values`` (bins, frames) float32, made with ``config``."""

    values: np.ndarray
    kind: str
    config: Any  # the FeatureConfig (sr, n_fft, hop_length ...)
    seconds: float  # length of the audio it was computed from
    path: Path | None = None

    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write ``values`` as a .npy array; refuses to overwrite without ``force``."""
        from soundart.io import atomic_output

        path = Path(path)
        if path.suffix != ".npy":
            raise BadInputError(f"{path}: the output must be a .npy file")
        with atomic_output(path, force) as tmp, open(tmp, "wb") as fh:
            np.save(fh, self.values.astype(np.float32))
        self.path = path
        return path


def check_framing(sr: int, n_fft: int, hop_length: int) -> None:
    """Sample rate, FFT size and hop: whole numbers in their ranges (the error names the argument)."""
    check_sr(sr)
    check_number("n_fft", n_fft, *N_FFT_RANGE, integer=True)
    check_number("hop_length", hop_length, 0, lo_open=True, integer=True)
    if hop_length > n_fft:  # frames would skip samples; named with n_fft, which may be the one to change
        raise ConfigError(f"hop_length must be <= n_fft={n_fft}, got {hop_length}")


def front_end(*, kind: str, sr: int, n_fft: int, hop_length: int, n_mels: int, n_mfcc: int = 20) -> Any:
    """The FeatureConfig for these numbers, each checked: the error names the argument."""
    import warnings

    from soundart.features import FeatureConfig
    from soundart.features.functional import mel_filterbank

    check_framing(sr, n_fft, hop_length)
    check_number("n_mels", n_mels, 0, MAX_MELS, lo_open=True, integer=True)
    check_number("n_mfcc", n_mfcc, 0, lo_open=True, integer=True)
    if kind == "mfcc" and n_mfcc > n_mels:
        raise ConfigError(f"n_mfcc must be <= n_mels={n_mels}, got {n_mfcc}")
    cfg = FeatureConfig(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, n_mfcc=min(n_mfcc, n_mels))
    if kind in ("mel", "logmel", "mfcc"):
        with warnings.catch_warnings():  # torchaudio warns of empty filters; we say which argument to change
            warnings.simplefilter("ignore")
            empty = int((mel_filterbank(cfg).sum(dim=1) == 0).sum())
        if empty:
            raise ConfigError(f"n_mels={n_mels} is too many for n_fft={n_fft} at {sr} Hz: {empty} mel band(s) "
                              "get no FFT bin; use fewer bands or a larger FFT")
    return cfg


def _check_kind(kind: str, kinds: tuple[str, ...]) -> None:
    if kind not in kinds:
        raise ConfigError(f"kind must be one of {', '.join(kinds)}, got {kind!r}")


def features(audio: str | os.PathLike, *, kind: str = "logmel", sr: int = 22050, n_fft: int = 2048,
             hop_length: int = 512, n_mels: int = 128, n_mfcc: int = 20, device: str = "auto",
             out: str | os.PathLike | None = None, plot: str | os.PathLike | None = None,
             force: bool = False) -> Feature:
    """Compute one spectral feature of an audio file as a (bins, frames) array.

    Parameters
    ----------
    audio : an audio file (resampled to ``sr``, mixed to mono).
    kind : "stft" (power spectrogram), "mel", "logmel" (dB, 80 dB range), "mfcc" or "chroma"
        (peak-normalised per frame).
    sr : sample rate in Hz, 1000-384000.
    n_fft : FFT size in samples, 16-65536.
    hop_length : hop in samples, 1 .. n_fft.
    n_mels : mel bands, 1-1024 (each must get at least one FFT bin).
    n_mfcc : MFCCs kept, 1 .. n_mels (``kind="mfcc"`` only).
    device : "auto", "cpu" or "cuda".
    out, plot, force : write the array (.npy) and a picture of it (.png).

    Returns
    -------
    :class:`Feature` with ``.values`` (bins, frames) float32, ``.config``, ``.seconds``, ``.save(path)``.

    Example
    -------
    >>> import soundart
    >>> f = soundart.features("song.ogg", kind="mfcc", n_mfcc=13)  # doctest: +SKIP
    >>> f.values.shape  # doctest: +SKIP
    (13, 1292)
    """
    from soundart.features import compute
    from soundart.io import check_output_path, load_audio
    from soundart.plot import check_plot
    from soundart.runtime import resolve_device

    _check_kind(kind, KINDS)
    cfg = front_end(kind=kind, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, n_mfcc=n_mfcc)
    if out is not None:
        if Path(out).suffix != ".npy":
            raise BadInputError(f"{out}: the output must be a .npy file")
        check_output_path(out, force)
    check_plot(plot, force)
    waveform, _ = load_audio(audio, sr=cfg.sr, mono=True)
    frames, bins = cfg.n_frames(waveform.shape[-1]), {"stft": cfg.n_freqs, "chroma": cfg.n_chroma,
                                                        "mfcc": cfg.n_mfcc}.get(kind, cfg.n_mels)
    if frames * bins > MAX_VALUES:
        raise ConfigError(f"hop_length={hop_length}: {bins} x {frames} values for {audio} is above the limit of "
                          f"{MAX_VALUES:.3g}; raise hop_length or use a shorter file")
    values = compute(waveform[0].to(resolve_device(device)), cfg, kind).cpu().numpy().astype(np.float32)
    result = Feature(values, kind, cfg, waveform.shape[-1] / cfg.sr)
    if out is not None:
        result.save(out, force=force)
    if plot is not None:
        _plot(result, plot, Path(audio).name, force)
    return result


def _plot(f: Feature, plot: str | os.PathLike, name: str, force: bool) -> None:
    from soundart.plot import plot_spectrogram

    image, label = f.values, {"logmel": "dB", "mfcc": "coefficient"}.get(f.kind, "")
    if f.kind in ("stft", "mel"):
        image, label = 10 * np.log10(np.maximum(f.values, 1e-10)), "dB"
    ylabel = {"stft": "frequency bin", "mel": "mel band", "logmel": "mel band", "mfcc": "MFCC",
              "chroma": "pitch class (C..B)"}[f.kind]
    plot_spectrogram(image, plot, sr=f.config.sr, hop_length=f.config.hop_length, title=f"{name}: {f.kind}",
                     ylabel=ylabel, colorbar_label=label, force=force)


def _read_array(array: Path) -> np.ndarray:
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
    return values


def invert(array: str | os.PathLike | np.ndarray, *, kind: str = "logmel", sr: int = 22050, n_fft: int = 2048,
           hop_length: int = 512, iterations: int = 64, seed: int | None = None,
           out: str | os.PathLike | None = None, force: bool = False) -> Any:
    """Turn a (bins, frames) feature back into audio: mel inversion by non-negative least squares, then
    fast Griffin-Lim with momentum. ``n_fft`` and ``hop_length`` must be those it was computed with.

    Parameters
    ----------
    array : a .npy file (as :func:`features` writes it) or the array itself.
    kind : what it holds: "logmel" (dB), "mel" or "stft" (power).
    sr : sample rate in Hz, 1000-384000.
    n_fft, hop_length : FFT size (16-65536) and hop (1 .. n_fft) in samples.
    iterations : Griffin-Lim iterations, 1-10000.
    seed : 0 .. 2**32-1, seeds the initial phase.
    out, force : write the audio file.

    Returns
    -------
    :class:`~soundart.audio.clip.Clip` (peak-normalised when it would clip).

    Example
    -------
    >>> import soundart
    >>> f = soundart.features("song.ogg")  # doctest: +SKIP
    >>> soundart.invert(f.values, sr=22050).save("song-gl.wav")  # doctest: +SKIP
    """
    import torch

    from soundart.audio.clip import check_outputs, to_clip
    from soundart.features import griffin_lim, logmel_to_audio, mel_to_spectrogram
    from soundart.runtime import make_generator

    _check_kind(kind, INVERTIBLE)
    check_framing(sr, n_fft, hop_length)
    check_number("iterations", iterations, 0, MAX_ITERATIONS, lo_open=True, integer=True)
    check_seed(seed)
    check_outputs(out, None, force)
    name = array if not isinstance(array, np.ndarray) else "array"
    values = _read_array(Path(array)) if not isinstance(array, np.ndarray) else np.asarray(array)
    if values.ndim != 2 or values.shape[1] == 0 or not np.isfinite(values).all():
        raise BadInputError(f"{name}: expected a finite (bins, frames) array, got shape {values.shape}")
    bins = values.shape[0]
    if kind == "stft" and bins != n_fft // 2 + 1:
        raise BadInputError(f"{name}: {bins} frequency bins, but n_fft={n_fft} gives {n_fft // 2 + 1}")
    cfg = front_end(kind=kind, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=bins if kind != "stft" else 128)
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
    clip = to_clip(audio, sr, info={"iterations": iterations})
    if out is not None:
        clip.save(out, force=force)
    return clip
