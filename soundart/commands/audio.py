"""``soundart render`` and ``soundart synth vae|morph|reconstruct``: audio clips from the shell."""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import device_option, force_option, positive, seed_option

GAP_SECONDS = 0.25  # silence between clips written into one file

model_option = click.option("--model", default="melvae", show_default=True,
                            help="A shipped model name or a checkpoint path.")
vocoder_option = click.option("--vocoder", type=click.Choice(["griffinlim", "wavenet"]), default="griffinlim",
                              show_default=True, help="How log-mels become audio.")
plot_option = click.option("--plot", type=click.Path(path_type=Path), default=None,
                           help="Also draw the log-mel spectrogram to this PNG.")
out_option = click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
                          help="Output audio file (.wav, .flac, .ogg).")


def _check_outputs(out: Path, plot: Path | None, force: bool) -> None:
    from soundart.io import audio_format, check_output_path

    audio_format(out)
    check_output_path(out, force)
    if plot is not None:
        check_output_path(plot, force)


def _plot(logmels, plot: Path | None, cfg, force: bool) -> None:
    if plot is None:
        return
    import numpy as np

    from soundart.plot import plot_spectrogram

    image = np.concatenate([m.cpu().numpy() for m in logmels], axis=-1)
    plot_spectrogram(image, plot, sr=cfg.sr, hop_length=cfg.hop_length, ylabel="mel band",
                     colorbar_label="dB", force=force)


def _join(clips, sr: int):
    import torch

    gap = torch.zeros(int(GAP_SECONDS * sr))
    parts = []
    for i, c in enumerate(clips):
        if i:
            parts.append(gap)
        parts.append(c)
    return torch.cat(parts)


def _load_vae(model: str, device: str):
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    dev = resolve_device(device)
    return load_model(model, device=dev, expect_kind="melvae").eval(), dev


def _vocode(vae, logmels, vocoder: str, device, seed: int | None):
    from soundart.audio.vocoder import vocode

    return vocode(logmels, vae.config.features, method=vocoder, device=str(device), seed=seed)


@click.command()
@click.argument("midi", type=click.Path(path_type=Path))
@out_option
@click.option("--soundfont", type=click.Path(path_type=Path), default=None,
              help="Your own .sf2/.sf3 (default: a system GM SoundFont, else pretty_midi's TimGM6mb.sf2).")
@click.option("--synth", "--backend", "synth", type=click.Choice(["auto", "tinysoundfont", "fluidsynth", "builtin"]),
              default="auto", show_default=True,
              help="auto: tinysoundfont (installed with soundart), else FluidSynth, else the built-in synth.")
@click.option("--sr", type=int, default=22050, show_default=True, help="Output sample rate (Hz), 8000-192000.")
@plot_option
@force_option
def render(midi: Path, out: Path, soundfont: Path | None, synth: str, sr: int, plot: Path | None,
           force: bool) -> None:
    """Render MIDI to audio with a General MIDI SoundFont (or the built-in synth as a last resort).

    Example: soundart render idea.mid -o idea.wav
    """
    from soundart.audio.render import check_sr, find_backend
    from soundart.audio.render import render as render_audio
    from soundart.commands.common import flags_in_errors
    from soundart.io import save_audio

    with flags_in_errors({"sr": "--sr", "synth": "--synth", "soundfont": "--soundfont"}):
        check_sr(sr)
        chosen = find_backend(soundfont, synth)
    _check_outputs(out, plot, force)
    if chosen.reason:
        click.echo(f"note: {chosen.reason}; falling back to the built-in synth", err=True)
    audio, sr = render_audio(midi, soundfont=soundfont, synth=chosen.name, sr=sr)
    save_audio(out, audio, sr, force=force)
    if plot is not None:
        from soundart.features import FeatureConfig, logmel

        cfg = FeatureConfig(sr=sr)
        _plot([logmel(audio[0], cfg)], plot, cfg, force)
    click.echo(f"wrote {out} ({audio.shape[-1] / sr:.1f} s at {sr} Hz) rendered with {chosen.describe()}")


@click.command()
@out_option
@click.option("-n", "n", type=int, default=1, show_default=True, help="How many clips (written one after another).")
@click.option("--pitch", type=int, default=60, show_default=True, help="MIDI pitch of the note.")
@click.option("--family", default=None, help="Instrument family (see `soundart synth vae --list-families`).")
@click.option("--seconds", type=float, default=None, help="Length of each clip (default: the model's, 2 s).")
@click.option("--temperature", type=float, default=None,
              help="Scale of the prior noise (default: the model's, see `--list-families`); "
                   "lower gives more typical notes of the family, 0 the prior's mean.")
@click.option("--list-families", is_flag=True, help="Print the model's families and pitch range, then exit.")
@model_option
@vocoder_option
@plot_option
@seed_option
@device_option
@force_option
def vae(out: Path, n: int, pitch: int, family: str | None, seconds: float | None, temperature: float | None,
        list_families: bool, model: str, vocoder: str, plot: Path | None, seed: int | None, device: str,
        force: bool) -> None:
    """Sample new notes from the mel VAE (pitch- and family-conditioned) into one audio file.

    Example: soundart synth vae -n 4 --family strings --pitch 55 --seed 1 -o pad.wav
    """
    from soundart.errors import ConfigError
    from soundart.io import save_audio
    from soundart.runtime import make_generator, seed_everything

    vae_model, dev = _load_vae(model, device)
    cfg = vae_model.config
    if list_families:
        click.echo(f"families: {', '.join(cfg.families) or '(unconditioned)'}; "
                   f"pitches {cfg.pitch_min}-{cfg.pitch_max}; clip {cfg.seconds:.2f} s at {cfg.features.sr} Hz; "
                   f"temperature {cfg.temperature:g}")
        return
    positive("-n", n)
    positive("--seconds", seconds)
    seconds = cfg.seconds if seconds is None else seconds
    positive("--temperature", temperature, allow_zero=True)  # 0: the prior mean, one note per label
    if seconds > cfg.seconds + 1e-6:
        raise ConfigError(f"--seconds {seconds} is longer than the model's clip ({cfg.seconds:.2f} s)")
    _check_outputs(out, plot, force)
    seed_everything(seed)
    logmels = vae_model.sample(n, pitch=pitch, family=family, generator=make_generator(seed),
                               temperature=temperature)
    frames = min(cfg.frames, int(seconds * cfg.features.sr / cfg.features.hop_length) + 1)
    logmels = logmels[..., :frames]
    audio = _vocode(vae_model, logmels, vocoder, dev, seed)
    save_audio(out, _join(list(audio), cfg.features.sr), cfg.features.sr, force=force)
    _plot(list(logmels), plot, cfg.features, force)
    what = f"pitch {pitch}" + (f", family {family}" if family else "")
    click.echo(f"wrote {out}: {n} clip(s) of {audio.shape[-1] / cfg.features.sr:.2f} s ({what}; {vocoder})")


def _encode_file(vae_model, path: Path, dev):
    """Audio file -> (patches (P, n_mels, frames), n_samples at the model rate), saying if resampled."""
    import soundfile

    from soundart.io import load_audio

    target = vae_model.config.features.sr
    audio, _ = load_audio(path)
    try:
        file_sr = soundfile.info(str(path)).samplerate
    except Exception:  # load_audio already validated it; keep going with the target rate
        file_sr = target
    if file_sr != target:
        from soundart.io import resample

        audio = resample(audio, file_sr, target)
        click.echo(f"note: {path} resampled from {file_sr} Hz to the model's {target} Hz", err=True)
    from soundart.errors import BadInputError

    try:
        x = vae_model.patches(audio[0])
    except BadInputError:
        raise BadInputError(f"{path}: input audio is silent, nothing to encode") from None
    return x.to(dev), audio.shape[-1]


@click.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@out_option
@click.option("--steps", type=int, default=5, show_default=True, help="Clips from A to B (A and B included).")
@model_option
@vocoder_option
@plot_option
@seed_option
@device_option
@force_option
def morph(a: Path, b: Path, out: Path, steps: int, model: str, vocoder: str, plot: Path | None,
          seed: int | None, device: str, force: bool) -> None:
    """Morph sound A into sound B: decode STEPS points between their latent codes.

    Each input's first clip (the model's clip length) is encoded; the clips
    are written one after another. Example: soundart synth morph a.wav b.wav --steps 6 -o ab.wav
    """
    import torch

    from soundart.errors import ConfigError
    from soundart.io import save_audio

    if steps < 2:
        raise ConfigError(f"--steps must be >= 2 (A and B), got {steps}")
    vae_model, dev = _load_vae(model, device)
    _check_outputs(out, plot, force)
    xa, _ = _encode_file(vae_model, a, dev)
    xb, _ = _encode_file(vae_model, b, dev)
    with torch.no_grad():
        za, _ = vae_model.encode(xa[:1])
        zb, _ = vae_model.encode(xb[:1])
    logmels = vae_model.interpolate(za[0], zb[0], steps)
    audio = _vocode(vae_model, logmels, vocoder, dev, seed)
    sr = vae_model.config.features.sr
    save_audio(out, _join(list(audio), sr), sr, force=force)
    _plot(list(logmels), plot, vae_model.config.features, force)
    click.echo(f"wrote {out}: {steps} clips of {audio.shape[-1] / sr:.2f} s from {a.name} to {b.name} ({vocoder})")


@click.command()
@click.argument("audio_in", metavar="IN", type=click.Path(path_type=Path))
@out_option
@click.option("--pitch", type=int, default=None, help="MIDI pitch of the input, if known (else unknown).")
@click.option("--family", default=None, help="Instrument family of the input, if known.")
@model_option
@vocoder_option
@plot_option
@seed_option
@device_option
@force_option
def reconstruct(audio_in: Path, out: Path, pitch: int | None, family: str | None, model: str, vocoder: str,
                plot: Path | None, seed: int | None, device: str, force: bool) -> None:
    """Pass IN through the VAE (encode, decode) and write what the model hears.

    Example: soundart synth reconstruct note.wav -o note-vae.wav
    """
    import torch

    from soundart.io import save_audio

    vae_model, dev = _load_vae(model, device)
    _check_outputs(out, plot, force)
    x, n_samples = _encode_file(vae_model, audio_in, dev)
    p, f = (None, None)
    if pitch is not None or family is not None:
        p, f = vae_model._label_tensors(len(x), pitch, family, dev)
    with torch.no_grad():
        x_hat, _, _ = vae_model(x, p, f)
    cfg = vae_model.config
    logmel = vae_model.denormalize(x_hat)  # (P, n_mels, frames)
    whole = logmel.permute(1, 0, 2).reshape(cfg.features.n_mels, -1)[None]
    audio = _vocode(vae_model, whole, vocoder, dev, seed)[0][:n_samples]
    x_err = float((x_hat - x).abs().mean()) * cfg.db_scale
    save_audio(out, audio, cfg.features.sr, force=force)
    _plot([whole[0]], plot, cfg.features, force)
    click.echo(f"wrote {out} ({len(audio) / cfg.features.sr:.2f} s; log-mel L1 {x_err:.2f} dB; {vocoder})")
