"""``soundart synth wavenet`` and ``soundart vocode``: WaveNet audio from the shell.

Each command parses options, calls a job in :mod:`soundart.audio.wavenet_jobs` and prints what it made.
"""

from __future__ import annotations

from pathlib import Path

import click

from soundart.audio.wavenet_jobs import MAX_SYNTH_SECONDS
from soundart.commands.audio import flags
from soundart.commands.common import device_option, flags_in_errors, force_option, seed_option

plot_option = click.option("--plot", type=click.Path(path_type=Path), default=None,
                           help="Also draw the log-mel spectrogram of the result to this PNG.")


@click.command()
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output audio file (.wav, .flac, .ogg); with -n N: NAME-1.wav ... NAME-N.wav.")
@click.option("--family", default="keyboard", show_default=True, help="Instrument family (strings, brass, ...).")
@click.option("--pitch", type=int, default=60, show_default=True, help="MIDI pitch (24-96).")
@click.option("--seconds", type=float, default=2.0, show_default=True,
              help=f"Length of each clip (at most {MAX_SYNTH_SECONDS:g} s).")
@click.option("-n", "n", type=int, default=1, show_default=True,
              help="How many clips, 1-100 (generated as one batch, one file each).")
@click.option("--temperature", type=float, default=None,
              help="Softmax temperature, > 0 and at most 10 (default: the model's; 0.7 for the shipped generator, "
                   "where it played the asked pitch most often).")
@click.option("--model", default="wavenet-notes", show_default=True, help="A shipped model name or a checkpoint path.")
@plot_option
@seed_option
@device_option
@force_option
def synth_wavenet(out: Path, family: str, pitch: int, seconds: float, n: int, temperature: float | None, model: str,
                  plot: Path | None, seed: int | None, device: str, force: bool) -> None:
    """Generate notes sample by sample with the WaveNet generator (family + pitch conditioned).

    Runs the cached (Fast WaveNet) generator on the CPU, faster than real time
    at 16 kHz. Example: soundart synth wavenet --family strings --pitch 55 --seconds 2 -n 2 --seed 1 -o s.wav
    """
    from soundart.audio.wavenet_jobs import synth_wavenet as run_synth

    with flags_in_errors(flags("n", "family", "pitch", "seconds", "temperature", "model", "plot", "seed")):
        clips = run_synth(n=n, family=family, pitch=pitch, seconds=seconds, temperature=temperature, model=model,
                          seed=seed, device=device, out=out, plot=plot, force=force, progress=True)
    for clip in clips:
        click.echo(f"wrote {clip.path}: {clip.seconds:g} s ({family}, pitch {pitch})")
    if plot is not None:
        click.echo(f"{plot}: plot written")
    elapsed = clips[0].info["elapsed"]
    click.echo(f"{n} clip(s) of {seconds:g} s in {elapsed:.1f} s ({n * seconds / max(elapsed, 1e-9):.2f}x real time)")


@click.command()
@click.argument("source", metavar="IN", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output audio file (.wav, .flac, .ogg).")
@click.option("--model", default="wavenet-vocoder", show_default=True,
              help="A shipped vocoder name or a checkpoint path.")
@click.option("--vocoder", type=click.Choice(["wavenet", "griffinlim"]), default="wavenet", show_default=True,
              help="WaveNet, or 64-iteration Griffin-Lim through the same front end (for comparison).")
@click.option("--temperature", type=float, default=None,
              help="WaveNet sampling temperature, > 0 and at most 10 (default: the model's, 1.0 for the shipped "
                   "vocoder; below 1: less random samples, where the shipped vocoder measured worse, see the README).")
@click.option("--beam", type=int, default=None,
              help="Paths of the WaveNet's mel-guided search, 1-64: more follow the log-mel more closely and take "
                   "longer, about proportionally; 1 samples plainly (fastest).  [default: 8]")
@plot_option
@seed_option
@device_option
@force_option
def vocode(source: Path, out: Path, model: str, vocoder: str, temperature: float | None, beam: int | None,
           plot: Path | None, seed: int | None, device: str, force: bool) -> None:
    """Turn a log-mel into audio with the WaveNet vocoder.

    IN is a log-mel in dB saved as .npy, shape (bands, frames) or (clips, bands,
    frames), made with the model's front end (for the shipped vocoder: 16 kHz,
    n_fft 2048, hop 512, 64 mel bands up to 8 kHz, as the mel VAE and
    `soundart features --sr 16000 --n-fft 2048 --n-mels 64` make them), or an
    audio file, whose log-mel is computed first (a resynthesis); at most 600 s.
    Example: soundart vocode note.wav -o resynth.wav
    """
    from soundart.audio.wavenet_jobs import vocode as run_vocode

    with flags_in_errors(flags("temperature", "beam", "model", "vocoder", "plot", "seed")):
        clip = run_vocode(source, model=model, vocoder=vocoder, temperature=temperature, beam=beam, seed=seed,
                          device=device, out=out, plot=plot, force=force, progress=True)
    for note in clip.notes:  # on stdout, as before: it explains the file just written
        click.echo(note)
    if plot is not None:
        click.echo(f"{plot}: plot written")
    info = clip.info
    method = f"wavenet, beam {info['beam']}" if vocoder == "wavenet" else vocoder
    click.echo(f"wrote {out}: {clip.seconds:.2f} s from {info['source']} ({method}) in {info['elapsed']:.1f} s "
               f"({clip.seconds / max(info['elapsed'], 1e-9):.2f}x real time)")
