"""``soundart.synth(kind, ...)``: one door onto the three generators of new sounds.

``kind`` picks the model family; the other keyword arguments are that generator's (the options of
``soundart synth KIND``), checked there before any work.
"""

from __future__ import annotations

from typing import Any

from soundart.audio.clip import Clip
from soundart.errors import ConfigError

KINDS = {
    "vae": "soundart.audio.melvae_jobs:synth_vae",
    "gan": "soundart.spectral.gan_jobs:synth_gan",
    "wavenet": "soundart.audio.wavenet_jobs:synth_wavenet",
}


def synth(kind: str, **options: Any) -> list[Clip]:
    """Make new audio clips with a generative model.

    Parameters
    ----------
    kind : "vae" (mel VAE: ``pitch``, ``family``, ``seconds``, ``temperature``, ``vocoder``),
        "gan" (SpecGAN: ``family``, ``vocoder``) or "wavenet" (sample by sample: ``family``, ``pitch``,
        ``seconds``, ``temperature``); see :func:`soundart.audio.melvae_jobs.synth_vae`,
        :func:`soundart.spectral.gan_jobs.synth_gan`, :func:`soundart.audio.wavenet_jobs.synth_wavenet`.
    **options : every kind also takes ``n`` (clips, 1-100), ``model``, ``seed``, ``device``, and
        ``out``/``plot``/``force`` to write files: with ``n > 1``, ``out="v.wav"`` writes
        ``v-1.wav ... v-n.wav`` (nothing is overwritten without ``force``).

    Returns
    -------
    list of :class:`~soundart.audio.clip.Clip` (``.audio`` float32 (samples,), ``.sr`` in Hz, ``.save(path)``).

    Example
    -------
    >>> import soundart
    >>> clips = soundart.synth("gan", n=2, family="strings", seed=1)
    >>> [round(c.seconds, 2) for c in clips]  # the shipped SpecGAN's clips: 2.03 s at 16 kHz
    [2.03, 2.03]
    """
    import importlib

    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    import inspect

    module, _, name = KINDS[kind].partition(":")
    job = getattr(importlib.import_module(module), name)
    known = list(inspect.signature(job).parameters)
    unknown = [k for k in options if k not in known]
    if unknown:  # a TypeError would name the internal function, not the kind the caller asked for
        raise ConfigError(f"{unknown[0]}: synth({kind!r}) takes no such argument (it takes {', '.join(known)})")
    return job(**options)
