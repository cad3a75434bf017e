"""``soundart render`` and ``soundart synth vae|morph|reconstruct``: audio clips from the shell.

The VAE commands parse options, call the jobs in :mod:`soundart.audio.melvae_jobs` and print what
they made; the helpers at the bottom are shared by every audio command.
"""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import device_option, flags_in_errors, force_option, seed_option

model_option = click.option("--model", default="melvae", show_default=True,
                            help="A shipped model name or a checkpoint path.")
vocoder_option = click.option("--vocoder", type=click.Choice(["griffinlim", "wavenet"]), default="griffinlim",
                              show_default=True, help="How log-mels become audio.")
plot_option = click.option("--plot", type=click.Path(path_type=Path), default=None,
                           help="Also draw the log-mel spectrogram to this PNG.")
out_option = click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
                          help="Output audio file (.wav, .flac, .ogg).")


def _check_outputs(out: Path, plot: Path | None, force: bool) -> None:
    from soundart.commands.common import flags_in_errors
    from soundart.io import audio_format, check_output_path
    from soundart.plot import check_plot

    audio_format(out)
    check_output_path(out, force)
    with flags_in_errors({"plot": "--plot"}):
        check_plot(plot, force)


def _plot(logmels, plot: Path | None, cfg, force: bool) -> None:
    if plot is None:
        return
    import numpy as np

    from soundart.plot import plot_spectrogram

    image = np.concatenate([m.cpu().numpy() for m in logmels], axis=-1)
    plot_spectrogram(image, plot, sr=cfg.sr, hop_length=cfg.hop_length, ylabel="mel band",
                     colorbar_label="dB", force=force)


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
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output audio file (.wav, .flac, .ogg); with -n N: NAME-1.wav ... NAME-N.wav.")
@click.option("-n", "n", type=int, default=1, show_default=True, help="How many clips (one file each), 1-100.")
@click.option("--pitch", type=int, default=60, show_default=True, help="MIDI pitch of the note.")
@click.option("--family", default=None, help="Instrument family (see `soundart synth vae --list-families`).")
@click.option("--seconds", type=float, default=None, help="Length of each clip (default: the model's, 2 s).")
@click.option("--temperature", type=float, default=None,
              help="Scale of the prior noise, 0-10 (default: the model's, see `--list-families`); "
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
    """Sample new notes from the mel VAE (pitch- and family-conditioned), one audio file each.

    Example: soundart synth vae -n 4 --family strings --pitch 55 --seed 1 -o pad.wav
    """
    from soundart.audio.melvae_jobs import describe, load_vae, synth_vae

    if list_families:
        click.echo(describe(load_vae(model, device)))
        return
    with flags_in_errors(flags("n", "pitch", "family", "seconds", "temperature", "plot", "seed", "model")):
        clips = synth_vae(n=n, pitch=pitch, family=family, seconds=seconds, temperature=temperature, model=model,
                          vocoder=vocoder, seed=seed, device=device, out=out, plot=plot, force=force, progress=True)
    what = f"pitch {pitch}" + (f", family {family}" if family else "")
    for clip in clips:
        click.echo(f"wrote {clip.path}: {clip.seconds:.2f} s ({what}; {vocoder})")


@click.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@out_option
@click.option("--steps", type=int, default=5, show_default=True, help="Clips from A to B (A and B included), 2-100.")
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
    from soundart.audio.melvae_jobs import morph as run_morph

    with flags_in_errors(flags("steps", "plot", "seed", "model")):
        clips = run_morph(a, b, steps=steps, model=model, vocoder=vocoder, seed=seed, device=device, out=out,
                          plot=plot, force=force)
    echo_notes(clips[0])
    click.echo(f"wrote {out}: {steps} clips of {clips[0].seconds:.2f} s from {a.name} to {b.name} ({vocoder})")


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
    """Pass IN (at most 600 s) through the VAE (encode, decode) and write what the model hears.

    Example: soundart synth reconstruct note.wav -o note-vae.wav
    """
    from soundart.audio.melvae_jobs import reconstruct as run_reconstruct

    with flags_in_errors(flags("pitch", "family", "plot", "seed", "model")):
        clip = run_reconstruct(audio_in, pitch=pitch, family=family, model=model, vocoder=vocoder, seed=seed,
                               device=device, out=out, plot=plot, force=force)
    echo_notes(clip)
    click.echo(f"wrote {out} ({clip.seconds:.2f} s; log-mel L1 {clip.info['logmel_l1_db']:.2f} dB; {vocoder})")


# ---- shared by the audio commands (synth, vocode, style, features, invert) ------------------------


def flags(*names: str) -> dict[str, str]:
    """Argument names -> the flags that set them (``n`` -> ``-n``, ``hop_length`` -> ``--hop-length``)."""
    return {name: "-n" if name == "n" else "--" + name.replace("_", "-") for name in names}


def echo_notes(clip) -> None:
    """What a job had to say about its clip (an input resampled ...), one ``note:`` line each on stderr."""
    for note in clip.notes:
        click.echo(f"note: {note}", err=True)
