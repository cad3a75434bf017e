"""The mel VAE's jobs: new notes (``synth("vae")``), a morph between two sounds, a reconstruction.

Each returns :class:`~soundart.audio.clip.Clip` objects and writes files only when given ``out``;
every argument is checked before the model is loaded or anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from soundart.audio.clip import GROUP, Clip, check_count, check_outputs, join, make_all, plot_logmel, to_clip
from soundart.checks import check_number, check_seed
from soundart.errors import BadInputError, ConfigError

VOCODERS = ("griffinlim", "wavenet")
MAX_TEMPERATURE = 10.0  # the prior's spread; far above 1 the decoder sees codes it never met
MAX_STEPS = 100
MAX_RECONSTRUCT_SECONDS = 600.0  # as vocode: a 30-minute file ran over 10 minutes at 4.2 GB


def load_vae(model: str = "melvae", device: str = "auto") -> Any:
    """A shipped mel VAE name or checkpoint path -> the model in eval mode on ``device``."""
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    return load_model(model, device=resolve_device(device), expect_kind="melvae").eval()


def describe(vae: Any) -> str:
    """One line: the families, pitch range, clip length and default temperature of a loaded VAE."""
    cfg = vae.config
    return (f"families: {', '.join(cfg.families) or '(unconditioned)'}; pitches {cfg.pitch_min}-{cfg.pitch_max}; "
            f"clip {cfg.seconds:.2f} s at {cfg.features.sr} Hz; temperature {cfg.temperature:g}")


def _check_vocoder(vocoder: str) -> None:
    if vocoder not in VOCODERS:
        raise ConfigError(f"vocoder must be one of {', '.join(VOCODERS)}, got {vocoder!r}")


def _vocode(vae: Any, logmels: Any, vocoder: str, seed: int | None) -> Any:
    from soundart.audio.vocoder import vocode

    device = next(vae.parameters()).device
    return vocode(logmels, vae.config.features, method=vocoder, device=str(device), seed=seed)


def synth_vae(*, n: int = 1, pitch: int = 60, family: str | None = None, seconds: float | None = None,
              temperature: float | None = None, model: str = "melvae", vocoder: str = "griffinlim",
              seed: int | None = None, device: str = "auto", out: str | os.PathLike | None = None,
              plot: str | os.PathLike | None = None, force: bool = False, progress: bool = False) -> list[Clip]:
    """Sample ``n`` new notes from the mel VAE's prior, conditioned on pitch and family.

    Parameters
    ----------
    n : how many clips, 1-100 (with ``out``: one file each, ``NAME-1.wav ... NAME-n.wav``).
    pitch : MIDI pitch of the note, within the model's range (the shipped model: 24-96).
    family : instrument family, e.g. ``"strings"`` (None: unknown; ``describe(load_vae())`` lists them).
    seconds : length of each clip in seconds, > 0 and at most the model's clip (default: the model's, 2 s).
    temperature : scale of the prior noise, 0-10 (None: the model's; 0: the prior's mean).
    model : a shipped model name or a checkpoint path.
    vocoder : "griffinlim" or "wavenet" (how log-mels become audio).
    seed : 0 .. 2**32-1, for a repeatable result.
    device : "auto", "cpu" or "cuda".
    out, plot, force : write the clips (audio file) and their log-mels (.png); overwrite only
        with ``force``.
    progress : report progress on stderr.

    Returns
    -------
    list of ``n`` :class:`Clip` (``.audio`` (samples,), ``.sr`` Hz, ``.logmel`` dB, ``.save(path)``).

    Example
    -------
    >>> import soundart
    >>> clips = soundart.synth("vae", n=2, pitch=55, family="strings", seed=1)
    >>> clips[0].save("pad.wav")  # doctest: +SKIP
    """
    from soundart.runtime import make_generator, seed_everything

    check_count(n)
    check_number("pitch", pitch, 0, 127, integer=True)
    check_number("seconds", seconds, 0, lo_open=True, unit=" s")
    # 0 is allowed: the prior's mean, one note per label
    check_number("temperature", temperature, 0, MAX_TEMPERATURE)
    check_seed(seed)
    _check_vocoder(vocoder)
    paths = check_outputs(out, plot, force, n)
    vae = load_vae(model, device)
    cfg = vae.config
    seconds = cfg.seconds if seconds is None else seconds
    if seconds > cfg.seconds + 1e-6:
        raise ConfigError(f"seconds={seconds} is longer than the model's clip ({cfg.seconds:.2f} s)")
    seed_everything(seed)
    logmels = vae.sample(n, pitch=pitch, family=family, generator=make_generator(seed), temperature=temperature)
    frames = min(cfg.frames, int(seconds * cfg.features.sr / cfg.features.hop_length) + 1)
    logmels = logmels[..., :frames]
    # the WaveNet vocoder searches its own groups of clips (with its own progress); Griffin-Lim goes a group
    # at a time, so that files are counted as they are made (group k's phases drawn from seed + k)
    batch = _vocode(vae, logmels, vocoder, seed) if vocoder == "wavenet" else None

    def make(lo: int, hi: int) -> list[Clip]:
        if batch is not None:
            audio = batch[lo:hi]
        else:
            audio = _vocode(vae, logmels[lo:hi], vocoder, None if seed is None else seed + lo // GROUP)
        return [to_clip(a, cfg.features.sr, m) for a, m in zip(audio, logmels[lo:hi])]

    clips = make_all(n, make, paths, force, progress=progress, desc="synth vae")
    plot_logmel(join(clips).logmel, plot, cfg.features, force)
    return clips


def _encode_file(vae: Any, path: str | os.PathLike, notes: list[str]) -> tuple[Any, int]:
    """Audio file -> (patches (P, n_mels, frames), samples at the model rate); says so in ``notes``
    when it was resampled, refuses it when longer than MAX_RECONSTRUCT_SECONDS before decoding it."""
    import soundfile

    from soundart.io import check_input_file, load_audio, resample

    path = Path(path)
    target = vae.config.features.sr
    check_input_file(path, "an audio file")
    try:
        info = soundfile.info(str(path))
        file_sr, file_seconds = info.samplerate, info.frames / max(info.samplerate, 1)
    except Exception:  # load_audio below says in one line what is wrong with it
        file_sr, file_seconds = target, 0.0
    if file_seconds > MAX_RECONSTRUCT_SECONDS:
        raise ConfigError(f"{path}: {file_seconds:.0f} s of audio is above the limit of "
                          f"{MAX_RECONSTRUCT_SECONDS:g} s")
    audio, _ = load_audio(path)
    if file_sr != target:
        audio = resample(audio, file_sr, target)
        notes.append(f"{path} resampled from {file_sr} Hz to the model's {target} Hz")
    try:
        x = vae.patches(audio[0])
    except BadInputError:
        raise BadInputError(f"{path}: input audio is silent, nothing to encode") from None
    return x.to(next(vae.parameters()).device), audio.shape[-1]


def morph(a: str | os.PathLike, b: str | os.PathLike, *, steps: int = 5, model: str = "melvae",
          vocoder: str = "griffinlim", seed: int | None = None, device: str = "auto",
          out: str | os.PathLike | None = None, plot: str | os.PathLike | None = None,
          force: bool = False) -> list[Clip]:
    """Morph sound ``a`` into sound ``b``: decode ``steps`` points on the line between their latent codes.

    Each input's first clip (the model's clip length, 2 s for the shipped model) is encoded.

    Parameters
    ----------
    a, b : audio files (any rate: resampled to the model's, which the clips' ``notes`` say).
    steps : clips from A to B, both included, 2-100.
    model, vocoder, seed, device : as for :func:`synth_vae`.
    out, plot, force : write the clips one after another (0.25 s apart) into one audio file, and their
        log-mels to a picture.

    Returns
    -------
    list of ``steps`` :class:`Clip`, A first.

    Example
    -------
    >>> import soundart
    >>> clips = soundart.morph("a.wav", "b.wav", steps=6)  # doctest: +SKIP
    """
    import torch

    check_number("steps", steps, 2, MAX_STEPS, integer=True)
    check_seed(seed)
    _check_vocoder(vocoder)
    check_outputs(out, plot, force)
    vae = load_vae(model, device)
    notes: list[str] = []
    xa, _ = _encode_file(vae, a, notes)
    xb, _ = _encode_file(vae, b, notes)
    with torch.no_grad():
        za, _ = vae.encode(xa[:1])
        zb, _ = vae.encode(xb[:1])
    logmels = vae.interpolate(za[0], zb[0], steps)
    audio = _vocode(vae, logmels, vocoder, seed)
    clips = [to_clip(x, vae.config.features.sr, m, notes=list(notes)) for x, m in zip(audio, logmels)]
    whole = join(clips)
    if out is not None:
        whole.save(out, force=force)
    plot_logmel(whole.logmel, plot, vae.config.features, force)
    return clips


def reconstruct(audio_in: str | os.PathLike, *, pitch: int | None = None, family: str | None = None,
                model: str = "melvae", vocoder: str = "griffinlim", seed: int | None = None, device: str = "auto",
                out: str | os.PathLike | None = None, plot: str | os.PathLike | None = None,
                force: bool = False) -> Clip:
    """Pass a sound through the VAE (encode, decode): what the model hears of it.

    Parameters
    ----------
    audio_in : an audio file, at most 600 s (resampled to the model's rate).
    pitch, family : the input's MIDI pitch and instrument family, if known (None: unknown).
    model, vocoder, seed, device : as for :func:`synth_vae`.
    out, plot, force : write the result (audio file) and its log-mel (picture).

    Returns
    -------
    :class:`Clip` as long as the input; ``info["logmel_l1_db"]`` is the mean log-mel error in dB.

    Example
    -------
    >>> import soundart
    >>> clip = soundart.reconstruct("note.wav", out="note-vae.wav")  # doctest: +SKIP
    """
    import torch

    check_number("pitch", pitch, 0, 127, integer=True)
    check_seed(seed)
    _check_vocoder(vocoder)
    check_outputs(out, plot, force)
    vae = load_vae(model, device)
    notes: list[str] = []
    x, n_samples = _encode_file(vae, audio_in, notes)
    p, f = (None, None)
    if pitch is not None or family is not None:
        p, f = vae._label_tensors(len(x), pitch, family, x.device)
    with torch.no_grad():
        x_hat, _, _ = vae(x, p, f)
    cfg = vae.config
    logmel = vae.denormalize(x_hat)  # (P, n_mels, frames)
    whole = logmel.permute(1, 0, 2).reshape(cfg.features.n_mels, -1)[None]
    audio = _vocode(vae, whole, vocoder, seed)[0][:n_samples]
    error_db = float((x_hat - x).abs().mean()) * cfg.db_scale
    clip = to_clip(audio, cfg.features.sr, whole[0], info={"logmel_l1_db": error_db}, notes=notes)
    if out is not None:
        clip.save(out, force=force)
    plot_logmel(clip.logmel, plot, cfg.features, force)
    return clip
