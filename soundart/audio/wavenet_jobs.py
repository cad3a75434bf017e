"""The WaveNet jobs: notes sample by sample (``synth("wavenet")``) and log-mel -> audio (``vocode``).

Each returns :class:`~soundart.audio.clip.Clip` objects and writes files only when given ``out``;
every argument is checked before the model is loaded or anything is written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from soundart.audio.clip import Clip, check_count, check_outputs, join, make_all, plot_logmel, to_clip
from soundart.checks import check_number, check_seed
from soundart.errors import BadInputError, ConfigError, ModelError

MAX_SYNTH_SECONDS = 30.0
MAX_VOCODE_SECONDS = 600.0
MAX_TEMPERATURE = 10.0  # softmax temperature; far above 1 every class is about as likely (white noise)
MAX_BEAM = 64  # paths of the mel-guided search; time and memory grow about in proportion
VOCODERS = ("wavenet", "griffinlim")
WAVENET_KINDS = ("wavenet-notes", "wavenet-vocoder")


def load_wavenet(model: str, device: str = "auto", *, local: bool) -> Any:
    """A shipped WaveNet name or checkpoint path -> the model in eval mode; ``local``: a mel vocoder
    (else a note generator), a ModelError when it is the other kind."""
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    wn = load_model(model, device=resolve_device(device), expect_kind=WAVENET_KINDS)
    if wn.config.local != local:
        what = "a mel vocoder" if local else "a sample generator"
        raise ModelError(f"model {model!r} is not {what} (try model='wavenet-{'vocoder' if local else 'notes'}')")
    return wn.eval()


def synth_wavenet(*, n: int = 1, family: str = "keyboard", pitch: int = 60, seconds: float = 2.0,
                  temperature: float | None = None, model: str = "wavenet-notes", seed: int | None = None,
                  device: str = "auto", out: str | os.PathLike | None = None,
                  plot: str | os.PathLike | None = None, force: bool = False,
                  progress: bool = False) -> list[Clip]:
    """Generate ``n`` notes sample by sample with the WaveNet generator (family and pitch conditioned).

    The cached (Fast WaveNet) generator runs faster than real time at 16 kHz on a CPU; the ``n`` clips
    are generated as one batch.

    Parameters
    ----------
    n : how many clips, 1-100 (with ``out``: one file each, ``NAME-1.wav ... NAME-n.wav``).
    family : instrument family (keyboard, strings, brass, ...).
    pitch : MIDI pitch, 24-96.
    seconds : length of each clip in seconds, > 0 and at most 30.
    temperature : softmax temperature, > 0 and at most 10 (None: the model's; 0.7 for the shipped one).
    model : a shipped model name or a checkpoint path.
    seed : 0 .. 2**32-1, for a repeatable result.
    device : "auto", "cpu" or "cuda".
    out, plot, force : write the clips (audio files) and the log-mel of all of them (picture).
    progress : report progress on stderr.

    Returns
    -------
    list of ``n`` :class:`Clip`; ``info["elapsed"]`` is the batch's generation time in seconds.

    Example
    -------
    >>> import soundart
    >>> clips = soundart.synth("wavenet", family="strings", pitch=55, seconds=0.5, seed=1)
    >>> clips[0].sr
    16000
    """
    from soundart.audio.notes import PITCH_RANGE, family_index
    from soundart.audio.wavenet_generate import generate

    check_count(n)
    check_number("seconds", seconds, 0, lo_open=True, unit=" s")
    if seconds > MAX_SYNTH_SECONDS:
        raise ConfigError(f"seconds={seconds:g} is above the limit of {MAX_SYNTH_SECONDS:g} s")
    check_number("temperature", temperature, 0, MAX_TEMPERATURE, lo_open=True)
    check_number("pitch", pitch, integer=True)
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
        raise ConfigError(f"pitch={pitch} is outside the trained range {PITCH_RANGE[0]}-{PITCH_RANGE[1]}")
    check_seed(seed)
    fam = family_index(family)
    paths = check_outputs(out, plot, force, n)
    wn = load_wavenet(model, device, local=False)
    cfg = wn.config
    if cfg.n_families and fam >= cfg.n_families:
        raise ConfigError(f"family {family!r} is beyond the model's {cfg.n_families} families")
    t0 = time.perf_counter()
    q = generate(wn, int(round(seconds * cfg.sample_rate)), batch=n, family=fam if cfg.n_families else None,
                 pitch=pitch if cfg.pitch_conditioning else None, seed=seed, temperature=temperature,
                 progress=progress)
    elapsed = time.perf_counter() - t0
    audio = wn.decode(q)
    # the n clips were generated together (the progress above counted samples): here they are only written
    clips = make_all(n, lambda lo, hi: [to_clip(a, cfg.sample_rate, info={"elapsed": elapsed}) for a in audio[lo:hi]],
                     paths, force, group=n)
    if plot is not None:
        import torch

        from soundart.features import logmel

        image = logmel(torch.from_numpy(join(clips).audio), cfg.features).numpy()
        plot_logmel(image, plot, cfg.features, force, title=f"wavenet: {family} pitch {pitch}")
    return clips


def _read_source(source: Path, cfg: Any) -> tuple[Any, str]:
    """A log-mel .npy or an audio file -> (log-mel (clips, n_mels, frames), what it was)."""
    import numpy as np
    import torch

    from soundart.features import logmel
    from soundart.io import is_audio_file, load_audio

    if source.suffix.lower() == ".npy":
        if not source.is_file():
            raise BadInputError(f"{source}: no such file")
        try:
            mel = torch.from_numpy(np.load(source, allow_pickle=False).astype(np.float32))
        except (ValueError, OSError) as exc:
            raise BadInputError(f"{source}: not a readable .npy array ({exc})") from None
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        if mel.dim() != 3:
            raise BadInputError(f"{source}: expected a (bands, frames) log-mel, got shape {tuple(mel.shape)}")
        if mel.shape[1] != cfg.n_mels:
            raise BadInputError(f"{source}: the log-mel has {mel.shape[1]} bands but the model expects {cfg.n_mels}")
        if not torch.isfinite(mel).all():
            raise BadInputError(f"{source}: the log-mel contains NaN or infinite values")
        return mel, f"{mel.shape[-1]} frames"
    if is_audio_file(source):
        audio, _ = load_audio(source, sr=cfg.sr, mono=True)
        return logmel(audio, cfg), f"log-mel of {source.name}"
    raise BadInputError(f"{source}: give a log-mel .npy or an audio file")


def vocode(source: str | os.PathLike, *, model: str = "wavenet-vocoder", vocoder: str = "wavenet",
           temperature: float | None = None, beam: int | None = None, seed: int | None = None,
           device: str = "auto", out: str | os.PathLike | None = None, plot: str | os.PathLike | None = None,
           force: bool = False, progress: bool = False) -> Clip:
    """Turn a log-mel into audio with the WaveNet vocoder (or Griffin-Lim through the same front end).

    Parameters
    ----------
    source : a log-mel in dB saved as .npy, shape (bands, frames) or (clips, bands, frames), made with the
        model's front end (the shipped vocoder: 16 kHz, n_fft 2048, hop 512, 64 mel bands up to 8 kHz),
        or an audio file, whose log-mel is computed first (a resynthesis). At most 600 s of audio.
    model : a shipped vocoder name or a checkpoint path.
    vocoder : "wavenet", or "griffinlim" (64 iterations) for comparison.
    temperature : WaveNet sampling temperature, > 0 and at most 10 (None: the model's, 1.0 shipped).
    beam : paths of the WaveNet's mel-guided search, 1-64 (None: 8; 1 samples plainly, fastest).
    seed : 0 .. 2**32-1, for a repeatable result.
    device : "auto", "cpu" or "cuda".
    out, plot, force : write the audio (the clips one after another) and its log-mel (picture).
    progress : report progress on stderr.

    Returns
    -------
    :class:`Clip`; ``info`` holds ``elapsed`` (s), ``source`` (what was vocoded), ``beam``, and
    ``refiltered`` (clips vocoded again through the training filter order).

    Example
    -------
    >>> import soundart
    >>> clip = soundart.vocode("note.wav", beam=1, seed=0)  # doctest: +SKIP
    """
    from soundart.audio.wavenet_vocoder import DEFAULT_VOCODER_BEAM, vocode_in_groups
    from soundart.features import logmel_to_audio
    from soundart.runtime import make_generator

    if vocoder not in VOCODERS:
        raise ConfigError(f"vocoder must be one of {', '.join(VOCODERS)}, got {vocoder!r}")
    check_number("temperature", temperature, 0, MAX_TEMPERATURE, lo_open=True)
    beam = DEFAULT_VOCODER_BEAM if beam is None else beam
    check_number("beam", beam, 0, MAX_BEAM, lo_open=True, integer=True)
    check_seed(seed)
    check_outputs(out, plot, force)
    source = Path(source)
    wn = load_wavenet(model, device, local=True)
    cfg = wn.config.features
    mel, what = _read_source(source, cfg)
    n_samples = max(1, (mel.shape[-1] - 1) * cfg.hop_length)
    if n_samples * mel.shape[0] > MAX_VOCODE_SECONDS * cfg.sr:
        raise ConfigError(f"{source}: {n_samples * mel.shape[0] / cfg.sr:.0f} s of audio is above the limit of "
                          f"{MAX_VOCODE_SECONDS:g} s")
    t0 = time.perf_counter()
    notes: list[str] = []
    refiltered: list[int] = []
    if vocoder == "wavenet":
        try:  # it refuses a clip too long for the beam before any work
            clips = vocode_in_groups(wn, mel, n_samples, seed=seed, temperature=temperature, beam=int(beam),
                                     progress=progress, refiltered=refiltered)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        if refiltered:
            notes.append(f"{len(refiltered)} clip(s) saturated the order-{wn.config.sampling_lpc_order} filters "
                         f"(a mel sparser than the training notes): vocoded through order {wn.config.lpc_order}; "
                         f"the Griffin-Lim vocoder may suit such sounds better")
    else:
        clips = logmel_to_audio(mel, cfg, n_iter=64, length=n_samples, generator=make_generator(seed))
    info = {"elapsed": time.perf_counter() - t0, "source": what, "beam": int(beam), "refiltered": refiltered}
    clip = to_clip(clips.reshape(-1), cfg.sr, info=info, notes=notes)
    if out is not None:
        clip.save(out, force=force)
    if plot is not None:
        import torch

        from soundart.features import logmel

        image = logmel(torch.from_numpy(clip.audio), cfg).numpy()
        plot_logmel(image, plot, cfg, force, title=f"{vocoder}: {source.name}")
    return clip
