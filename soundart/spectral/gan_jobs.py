"""The SpecGAN job: ``synth("gan")`` samples log-mels from the spectrogram GAN and inverts them to audio.

Returns :class:`~soundart.audio.clip.Clip` objects and writes files only when given ``out``; every
argument is checked before the model is loaded or anything is written.
"""

from __future__ import annotations

import os

from soundart.audio.clip import GROUP, Clip, check_count, check_outputs, make_all, to_clip
from soundart.checks import check_seed
from soundart.errors import ConfigError

VOCODERS = ("griffin-lim",)


def synth_gan(*, n: int = 1, family: str | None = None, model: str = "specgan", vocoder: str = "griffin-lim",
              seed: int | None = None, device: str = "auto", out: str | os.PathLike | None = None,
              plot: str | os.PathLike | None = None, force: bool = False, progress: bool = False) -> list[Clip]:
    """Sample ``n`` audio clips from the spectrogram GAN (SpecGAN).

    Parameters
    ----------
    n : how many clips, 1-100 (with ``out``: one file each, ``NAME-1.wav ... NAME-n.wav``).
    family : instrument family of a conditioned model (None: drawn at random per clip).
    model : a shipped model name or a checkpoint path.
    vocoder : "griffin-lim" (NNLS un-mel + 64 iterations of fast Griffin-Lim).
    seed : 0 .. 2**32-1 (None: 0), for a repeatable result.
    device : "auto", "cpu" or "cuda".
    out, plot, force : write the clips (audio files) and their log-mels side by side (picture).
    progress : report progress on stderr.

    Returns
    -------
    list of ``n`` :class:`Clip` (2.03 s at 16 kHz for the shipped model), ``.logmel`` in dB.

    Example
    -------
    >>> import soundart
    >>> clips = soundart.synth("gan", n=2, family="strings", seed=1)
    >>> len(clips), clips[0].sr
    (2, 16000)
    """
    import torch

    from soundart.models import load_model
    from soundart.runtime import make_generator, resolve_device, seed_everything

    check_count(n)
    check_seed(seed)
    if vocoder not in VOCODERS:
        raise ConfigError(f"vocoder must be one of {', '.join(VOCODERS)}, got {vocoder!r}")
    paths = check_outputs(out, plot, force, n)
    seed = 0 if seed is None else seed
    seed_everything(seed)
    dev = resolve_device(device)
    gan = load_model(model, device=dev, expect_kind="specgan").eval()
    logmels = gan.sample(n, family=family, generator=make_generator(seed, dev))

    def make(lo: int, hi: int) -> list[Clip]:  # a group at a time, so that files are counted as they are made
        audio = gan.to_audio(logmels[lo:hi], generator=torch.Generator().manual_seed(seed + lo // GROUP))
        return [to_clip(a, gan.config.features.sr, m) for a, m in zip(audio, logmels[lo:hi])]

    clips = make_all(n, make, paths, force, progress=progress, desc="synth gan")
    if plot is not None:
        from soundart.plot import plot_images

        plot_images([c.logmel for c in clips], plot, titles=[f"sample {i}" for i in range(n)], force=force)
    return clips
