"""``soundart style`` and ``soundart synth gan``: the image-side ideas on spectrograms."""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import device_option, force_option, positive, seed_option


def _load_for_style(path: Path, sr: int, seconds: float | None, name: str):
    import soundfile as sf

    from soundart.errors import BadInputError
    from soundart.io import load_audio

    try:
        native = sf.info(str(path)).samplerate
    except Exception:  # unreadable: let load_audio produce its one-line error
        native = None
    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    audio, _ = load_audio(path, sr=sr, mono=True, duration=seconds)
    if native is not None and native != sr:
        click.echo(f"{name} {path.name}: resampled {native} Hz -> {sr} Hz", err=True)
    return audio[0]


@click.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Output audio file.")
@click.option("--style-weight", type=float, default=1.0, show_default=True, help="Weight of the Gram (style) loss.")
@click.option("--content-weight", type=float, default=0.5, show_default=True,
              help="Weight of the content loss (0: pure texture).")
@click.option("--iterations", type=int, default=100, show_default=True, help="Optimiser iterations.")
@click.option("--seconds", type=float, default=None, help="Use only the first S seconds of each input.")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--init", type=click.Choice(["content", "noise"]), default="content", show_default=True)
@click.option("--filters", type=int, default=512, show_default=True, help="Random conv filters.")
@click.option("--kernel", type=int, default=11, show_default=True, help="Filter width in frames.")
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
          classifier: str | None, sr: int, plot: Path | None, device: str, seed: int | None,
          force: bool) -> None:
    """Render CONTENT with the texture of STYLE (spectrogram style transfer).

    Log-magnitude spectrograms go through a fixed random 1-D convolution
    (frequency bins as channels); the output matches the style's Gram matrix
    and stays near the content's feature maps; phase by Griffin-Lim. Inputs at
    other sample rates are resampled (and said). Example: soundart style
    voice.wav rain.wav -o rainy_voice.wav --iterations 100 --plot s.png
    """
    from soundart.errors import BadInputError
    from soundart.io import check_output_path, save_audio
    from soundart.runtime import resolve_device, seed_everything
    from soundart.spectral.style import STYLE_FEATURES, classifier_front_end, style_transfer

    positive("--iterations", iterations)
    positive("--seconds", seconds)
    positive("--filters", filters)
    positive("--kernel", kernel)
    positive("--sr", sr)
    positive("--style-weight", style_weight, allow_zero=True)
    positive("--content-weight", content_weight, allow_zero=True)
    check_output_path(out, force)
    if plot is not None:
        check_output_path(plot, force)
    seed = 0 if seed is None else seed
    seed_everything(seed)
    cfg = STYLE_FEATURES
    if network == "classifier":
        # the classifier's feature maps only make sense on spectra framed as it was trained
        cfg = classifier_front_end(classifier, cfg)
        if sr is not None and sr != cfg.sr:
            raise BadInputError(f"--sr {sr}: the classifier {classifier!r} works at {cfg.sr} Hz; leave --sr out")
    sr = cfg.sr if sr is None else sr
    cfg = cfg.replace(sr=sr)
    content_audio = _load_for_style(content, sr, seconds, "content")
    style_audio = _load_for_style(style, sr, seconds, "style")
    result = style_transfer(content_audio, style_audio, cfg=cfg, style_weight=style_weight,
                            content_weight=content_weight, iterations=iterations, optimizer=optimizer,
                            init=init, n_filters=filters, kernel_size=kernel, network=network,
                            classifier=classifier, seed=seed, device=resolve_device(device))
    save_audio(out, result.audio, sr, force=force)
    m = result.metrics
    click.echo(f"{out}: {result.audio.numel() / sr:.2f} s at {sr} Hz; Gram distance to style "
               f"{m['gram_output']:.3g} (content {m['gram_content']:.3g}, ratio {m['gram_ratio']:.2f}); "
               f"content distance {m['content_output']:.3g} (style {m['content_style']:.3g}, "
               f"ratio {m['content_ratio']:.2f})")
    if plot is not None:
        import numpy as np

        from soundart.plot import plot_images

        # log1p magnitudes look almost black where the sound is quiet: draw them in dB (80 dB range)
        spectra = [x.numpy() for x in (result.content_log_magnitude, result.style_log_magnitude,
                                       result.log_magnitude)]
        decibels = [20 * np.log10(np.expm1(x) + 1e-6) for x in spectra]
        top = max(float(d.max()) for d in decibels)
        plot_images([np.clip(d, top - 80, top) for d in decibels], plot,
                    titles=["content", "style", "output"], force=force)
        click.echo(f"{plot}: plot written")


@click.command()
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="Output audio file (the N clips one after another, 0.25 s apart).")
@click.option("-n", "n", type=int, default=1, show_default=True, help="How many clips.")
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
    """Sample audio clips from the spectrogram GAN (SpecGAN).

    Example: soundart synth gan -n 4 --family strings -o strings.wav
    """
    import torch

    from soundart.io import check_output_path, save_audio
    from soundart.models import load_model
    from soundart.runtime import make_generator, resolve_device, seed_everything

    positive("-n", n)
    check_output_path(out, force)
    if plot is not None:
        check_output_path(plot, force)
    seed = 0 if seed is None else seed
    seed_everything(seed)
    dev = resolve_device(device)
    model = load_model(model_spec, device=dev, expect_kind="specgan").eval()
    logmels = model.sample(n, family=family, generator=make_generator(seed, dev))
    clips = model.to_audio(logmels, generator=torch.Generator().manual_seed(seed))  # (n, samples)
    sr = model.config.features.sr
    gap = torch.zeros(n, sr // 4)
    audio = torch.cat([clips.cpu(), gap], dim=1).reshape(-1)[: -(sr // 4)]
    save_audio(out, audio, sr, force=force)
    what = f"family {family}" if family else "unconditioned"
    click.echo(f"{out}: {n} clip(s), {clips.shape[-1] / sr:.2f} s each at {sr} Hz ({what}, vocoder {vocoder})")
    if plot is not None:
        from soundart.plot import plot_images

        plot_images([x.cpu().numpy() for x in logmels], plot, titles=[f"sample {i}" for i in range(n)],
                    force=force)
        click.echo(f"{plot}: plot written")
