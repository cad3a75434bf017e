"""The style job: ``soundart.style(content, style)`` reads two sounds and renders the content with the
texture of the style (:func:`soundart.spectral.style.style_transfer`).

Returns a :class:`~soundart.audio.clip.Clip` and writes files only when given ``out``; every argument is
checked before any input is read or anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from soundart.audio.clip import Clip, check_outputs, to_clip
from soundart.checks import check_number, check_seed, check_sr
from soundart.errors import BadInputError, ConfigError

MAX_WEIGHT = 1e6  # the losses are relative (1 at the start): a weight beyond this only scales the other away
MAX_ITERATIONS = 100_000
MAX_SECONDS = 600.0
MAX_FILTERS = 4096
# A filter spans n_freqs x kernel weights: 4096 x 1025 x 65 float32 is ~1.1 GB (100000 frames wanted 210 GB)
MAX_KERNEL = 65


def _load(path: Path, sr: int, seconds: float | None, name: str, notes: list[str]) -> Any:
    import soundfile as sf

    from soundart.io import load_audio

    try:
        native = sf.info(str(path)).samplerate
    except Exception:  # unreadable: let load_audio produce its one-line error
        native = None
    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    audio, _ = load_audio(path, sr=sr, mono=True, duration=seconds)
    if native is not None and native != sr:
        notes.append(f"{name} {path.name}: resampled {native} Hz -> {sr} Hz")
    return audio[0]


def style(content: str | os.PathLike, style: str | os.PathLike, *, style_weight: float = 1.0,
          content_weight: float = 0.5, iterations: int = 100, seconds: float | None = None,
          optimizer: str = "lbfgs", init: str = "content", filters: int = 512, kernel: int = 11,
          network: str = "random", classifier: str = "listen", sr: int | None = None, seed: int | None = None,
          device: str = "auto", out: str | os.PathLike | None = None, plot: str | os.PathLike | None = None,
          force: bool = False, progress: bool = False) -> Clip:
    """Render ``content`` with the texture of ``style`` (spectrogram style transfer).

    Log-magnitude spectrograms go through a fixed random 1-D convolution (frequency bins as channels);
    the output matches the style's Gram matrix and stays near the content's feature maps; phase by
    Griffin-Lim. Inputs at other sample rates are resampled (the clip's ``notes`` say so).

    Parameters
    ----------
    content, style : audio files.
    style_weight, content_weight : weights of the Gram (style) and content losses, 0 .. 1e6, not both 0
        (``content_weight=0``: pure texture).
    iterations : optimiser iterations, 1 .. 100000.
    seconds : use only the first ``seconds`` of each input (> 0, at most 600; None: all).
    optimizer : "lbfgs" or "adam".
    init : "content" or "noise" (where the optimisation starts).
    filters, kernel : random conv filters (1-4096) and their width in frames (1-65).
    network : "random" (a random 1-D conv) or "classifier" (a trained classifier's feature maps).
    classifier : classifier name or checkpoint for ``network="classifier"``.
    sr : work at this sample rate in Hz, 1000-384000 (None: 22050, or the classifier's own).
    seed : 0 .. 2**32-1 (None: 0).
    device : "auto", "cpu" or "cuda".
    out, plot, force : write the audio, and the content, style and output spectrograms (picture).
    progress : report progress on stderr.

    Returns
    -------
    :class:`Clip` as long as the content; ``info`` holds the Gram and content distances
    (``gram_output``, ``gram_ratio``, ``content_output``, ``content_ratio`` ...).

    Example
    -------
    >>> import soundart
    >>> clip = soundart.style("voice.wav", "rain.wav", iterations=50)  # doctest: +SKIP
    >>> clip.save("rainy_voice.wav")  # doctest: +SKIP
    """
    from soundart.runtime import resolve_device, seed_everything
    from soundart.spectral.style import STYLE_FEATURES, classifier_front_end, style_transfer

    check_number("style_weight", style_weight, 0, MAX_WEIGHT)
    check_number("content_weight", content_weight, 0, MAX_WEIGHT)
    check_number("iterations", iterations, 0, MAX_ITERATIONS, lo_open=True, integer=True)
    check_number("seconds", seconds, 0, MAX_SECONDS, lo_open=True, unit=" s")
    check_number("filters", filters, 0, MAX_FILTERS, lo_open=True, integer=True)
    check_number("kernel", kernel, 0, MAX_KERNEL, lo_open=True, integer=True)
    check_sr(sr)
    check_seed(seed)
    if style_weight + content_weight == 0:
        raise ConfigError("style_weight=0 and content_weight=0: nothing to optimise; make one of them > 0")
    check_outputs(out, plot, force)
    seed = 0 if seed is None else seed
    seed_everything(seed)
    cfg = STYLE_FEATURES
    if network == "classifier":
        # the classifier's feature maps only make sense on spectra framed as it was trained
        cfg = classifier_front_end(classifier, cfg)
        if sr is not None and sr != cfg.sr:
            raise ConfigError(f"sr={sr}: the classifier {classifier!r} works at {cfg.sr} Hz; leave it out")
    sr = cfg.sr if sr is None else sr
    cfg = cfg.replace(sr=sr)
    notes: list[str] = []
    content_audio = _load(Path(content), sr, seconds, "content", notes)
    style_audio = _load(Path(style), sr, seconds, "style", notes)
    result = style_transfer(content_audio, style_audio, cfg=cfg, style_weight=style_weight,
                            content_weight=content_weight, iterations=iterations, optimizer=optimizer,
                            init=init, n_filters=filters, kernel_size=kernel, network=network,
                            classifier=classifier, seed=seed, device=resolve_device(device), progress=progress)
    clip = to_clip(result.audio, sr, info=dict(result.metrics), notes=notes)
    if out is not None:
        clip.save(out, force=force)
    if plot is not None:
        _plot(result, plot, force)
    return clip


def _plot(result: Any, plot: str | os.PathLike, force: bool) -> None:
    import numpy as np

    from soundart.plot import plot_images

    # log1p magnitudes look almost black where the sound is quiet: draw them in dB (80 dB range)
    spectra = [x.numpy() for x in (result.content_log_magnitude, result.style_log_magnitude, result.log_magnitude)]
    decibels = [20 * np.log10(np.expm1(x) + 1e-6) for x in spectra]
    top = max(float(d.max()) for d in decibels)
    plot_images([np.clip(d, top - 80, top) for d in decibels], plot, titles=["content", "style", "output"],
                force=force)
