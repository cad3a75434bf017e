"""``soundart style`` and ``soundart synth gan``: the image-side ideas on spectrograms.

Each command parses options, calls a job (:mod:`soundart.spectral.style_jobs`,
:mod:`soundart.spectral.gan_jobs`) and prints what it made.
"""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.audio import echo_notes, flags
from soundart.commands.common import device_option, flags_in_errors, force_option, seed_option


@click.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output audio file.")
@click.option("--style-weight", type=float, default=1.0, show_default=True,
              help="Weight of the Gram (style) loss, 0-1e6.")
@click.option("--content-weight", type=float, default=0.5, show_default=True,
              help="Weight of the content loss, 0-1e6 (0: pure texture).")
@click.option("--iterations", type=int, default=100, show_default=True, help="Optimiser iterations.")
@click.option("--seconds", type=float, default=None, help="Use only the first S seconds of each input (at most 600).")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--init", type=click.Choice(["content", "noise"]), default="content", show_default=True)
@click.option("--filters", type=int, default=512, show_default=True, help="Random conv filters (1-4096).")
@click.option("--kernel", type=int, default=11, show_default=True, help="Filter width in frames (1-65).")
@click.option("--network", type=click.Choice(["random", "classifier"]), default="random", show_default=True,
              help="Random 1-D conv, or a trained classifier's feature maps (--classifier).")
@click.option("--classifier", type=str, default="listen", show_default=True,
              help="Classifier name or checkpoint for --network classifier.")
@click.option("--sr", type=int, default=None,
              help="Work at this sample rate (Hz). Default 22050, or the classifier's own with --network classifier.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Draw content, style and output spectrograms to this PNG.")
@device_option
@seed_option
@force_option
def style(content: Path, style: Path, out: Path, style_weight: float, content_weight: float, iterations: int,
          seconds: float | None, optimizer: str, init: str, filters: int, kernel: int, network: str,
          classifier: str, sr: int | None, plot: Path | None, device: str, seed: int | None,
          force: bool) -> None:
    """Render CONTENT with the texture of STYLE (spectrogram style transfer).

    Log-magnitude spectrograms go through a fixed random 1-D convolution
    (frequency bins as channels); the output matches the style's Gram matrix
    and stays near the content's feature maps; phase by Griffin-Lim. Inputs at
    other sample rates are resampled (and said). Example: soundart style
    voice.wav rain.wav -o rainy_voice.wav --iterations 100 --plot s.png
    """
    from soundart.spectral.style_jobs import style as run_style

    names = ("style_weight", "content_weight", "iterations", "seconds", "filters", "kernel", "sr", "plot", "seed")
    with flags_in_errors(flags(*names)):
        clip = run_style(content, style, style_weight=style_weight, content_weight=content_weight,
                         iterations=iterations, seconds=seconds, optimizer=optimizer, init=init, filters=filters,
                         kernel=kernel, network=network, classifier=classifier, sr=sr, seed=seed, device=device,
                         out=out, plot=plot, force=force, progress=True)
    echo_notes(clip)
    m = clip.info
    click.echo(f"{out}: {clip.seconds:.2f} s at {clip.sr} Hz; Gram distance to style "
               f"{m['gram_output']:.3g} (content {m['gram_content']:.3g}, ratio {m['gram_ratio']:.2f}); "
               f"content distance {m['content_output']:.3g} (style {m['content_style']:.3g}, "
               f"ratio {m['content_ratio']:.2f})")
    if plot is not None:
        click.echo(f"{plot}: plot written")


@click.command()
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="Output audio file; with -n N: NAME-1.wav ... NAME-N.wav.")
@click.option("-n", "n", type=int, default=1, show_default=True, help="How many clips (one file each), 1-100.")
@click.option("--family", type=str, default=None, help="Instrument family (conditioned models).")
@click.option("--model", "model_spec", type=str, default="specgan", show_default=True,
              help="Shipped model name or checkpoint path.")
@click.option("--vocoder", type=click.Choice(["griffin-lim"]), default="griffin-lim", show_default=True)
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Draw the generated log-mels.")
@device_option
@seed_option
@force_option
def gan(out: Path, n: int, family: str | None, model_spec: str, vocoder: str, plot: Path | None,
        device: str, seed: int | None, force: bool) -> None:
    """Sample audio clips from the spectrogram GAN (SpecGAN), one file each.

    Example: soundart synth gan -n 4 --family strings -o strings.wav
    """
    from soundart.spectral.gan_jobs import synth_gan

    with flags_in_errors(flags("n", "family", "model", "plot", "seed")):
        clips = synth_gan(n=n, family=family, model=model_spec, vocoder=vocoder, seed=seed, device=device, out=out,
                          plot=plot, force=force, progress=True)
    what = f"family {family}" if family else "unconditioned"
    for clip in clips:
        click.echo(f"{clip.path}: {clip.seconds:.2f} s at {clip.sr} Hz ({what}, vocoder {vocoder})")
    if plot is not None:
        click.echo(f"{plot}: plot written")
