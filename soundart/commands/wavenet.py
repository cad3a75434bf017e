"""``soundart synth wavenet`` and ``soundart vocode``: WaveNet audio from the shell."""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import device_option, force_option, positive, seed_option

MAX_SYNTH_SECONDS = 30.0
MAX_VOCODE_SECONDS = 600.0
GAP_SECONDS = 0.25

out_option = click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
                          help="Output audio file (.wav, .flac, .ogg).")
plot_option = click.option("--plot", type=click.Path(path_type=Path), default=None,
                           help="Also draw the log-mel spectrogram of the result to this PNG.")


def _load(spec: str, device: str, local: bool):
    from soundart.errors import ModelError
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    dev = resolve_device(device)
    model = load_model(spec, device=dev, expect_kind="wavenet")
    if model.config.local != local:
        what = "a mel vocoder" if local else "a sample generator"
        raise ModelError(f"model {spec!r} is not {what} (try --model wavenet-{'vocoder' if local else 'notes'})")
    return model.eval(), dev


def _plot(audio, cfg, plot: Path | None, title: str, force: bool) -> None:
    if plot is None:
        return
    from soundart.features import logmel
    from soundart.plot import plot_spectrogram

    plot_spectrogram(logmel(audio, cfg).numpy(), plot, sr=cfg.sr, hop_length=cfg.hop_length, title=title,
                     ylabel="mel band", colorbar_label="dB", force=force)
    click.echo(f"{plot}: plot written")


@click.command()
@out_option
@click.option("--family", default="keyboard", show_default=True, help="Instrument family (strings, brass, ...).")
@click.option("--pitch", type=int, default=60, show_default=True, help="MIDI pitch (24-96).")
@click.option("--seconds", type=float, default=2.0, show_default=True,
              help=f"Length of each clip (at most {MAX_SYNTH_SECONDS:g} s).")
@click.option("-n", "n", type=int, default=1, show_default=True,
              help="How many clips (generated as one batch, written one after another).")
@click.option("--temperature", type=float, default=None,
              help="Softmax temperature (default: the model's; 0.7 for the shipped generator, where it played "
                   "the asked pitch most often).")
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
    import time

    import torch

    from soundart.audio.notes import PITCH_RANGE, family_index
    from soundart.audio.wavenet_generate import generate
    from soundart.errors import ConfigError
    from soundart.io import audio_format, check_output_path, save_audio

    positive("--seconds", seconds)
    positive("-n", n)
    positive("--temperature", temperature)
    if seconds > MAX_SYNTH_SECONDS:
        raise ConfigError(f"--seconds {seconds:g} is above the limit of {MAX_SYNTH_SECONDS:g} s")
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
        raise ConfigError(f"--pitch {pitch} is outside the trained range {PITCH_RANGE[0]}-{PITCH_RANGE[1]}")
    fam = family_index(family)
    audio_format(out)
    check_output_path(out, force)
    if plot is not None:
        check_output_path(plot, force)
    wn, _ = _load(model, device, local=False)
    cfg = wn.config
    if cfg.n_families and fam >= cfg.n_families:
        raise ConfigError(f"family {family!r} is beyond the model's {cfg.n_families} families")
    n_samples = int(round(seconds * cfg.sample_rate))
    t0 = time.perf_counter()
    q = generate(wn, n_samples, batch=n, family=fam if cfg.n_families else None,
                 pitch=pitch if cfg.pitch_conditioning else None, seed=seed, temperature=temperature,
                 progress=True)
    elapsed = time.perf_counter() - t0
    clips = wn.decode(q)
    gap = torch.zeros(int(GAP_SECONDS * cfg.sample_rate))
    audio = torch.cat([torch.cat([c, gap]) if i < n - 1 else c for i, c in enumerate(clips)])
    save_audio(out, audio, cfg.sample_rate, force=force)
    _plot(audio, cfg.features, plot, f"wavenet: {family} pitch {pitch}", force)
    click.echo(f"wrote {out}: {n} clip(s) of {seconds:g} s ({family}, pitch {pitch}) in {elapsed:.1f} s "
               f"({n * seconds / elapsed:.2f}x real time)")


@click.command()
@click.argument("source", metavar="IN", type=click.Path(path_type=Path))
@out_option
@click.option("--model", default="wavenet-vocoder", show_default=True,
              help="A shipped vocoder name or a checkpoint path.")
@click.option("--vocoder", type=click.Choice(["wavenet", "griffinlim"]), default="wavenet", show_default=True,
              help="WaveNet, or 64-iteration Griffin-Lim through the same front end (for comparison).")
@click.option("--temperature", type=float, default=None,
              help="WaveNet sampling temperature (default: the model's, 1.0 for the shipped vocoder; below 1: "
                   "less random samples, where the shipped vocoder measured worse, see the README).")
@click.option("--beam", type=int, default=None,
              help="Paths of the WaveNet's mel-guided search: more follow the log-mel more closely and take "
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
    audio file, whose log-mel is computed first (a resynthesis).
    Example: soundart vocode note.wav -o resynth.wav
    """
    import time

    import numpy as np
    import torch

    from soundart.audio.wavenet_generate import DEFAULT_VOCODER_BEAM, vocode_in_groups
    from soundart.errors import BadInputError, ConfigError
    from soundart.features import logmel, logmel_to_audio
    from soundart.io import audio_format, check_output_path, is_audio_file, load_audio, save_audio
    from soundart.runtime import make_generator

    positive("--temperature", temperature)
    beam = DEFAULT_VOCODER_BEAM if beam is None else beam
    positive("--beam", beam)
    audio_format(out)
    check_output_path(out, force)
    if plot is not None:
        check_output_path(plot, force)
    wn, _ = _load(model, device, local=True)
    cfg = wn.config.features
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
        what = f"{mel.shape[-1]} frames"
    elif is_audio_file(source):
        audio, _ = load_audio(source, sr=cfg.sr, mono=True)
        mel = logmel(audio, cfg)
        what = f"log-mel of {source.name}"
    else:
        raise BadInputError(f"{source}: give a log-mel .npy or an audio file")
    n_samples = max(1, (mel.shape[-1] - 1) * cfg.hop_length)
    if n_samples * mel.shape[0] > MAX_VOCODE_SECONDS * cfg.sr:
        raise ConfigError(f"{source}: {n_samples * mel.shape[0] / cfg.sr:.0f} s of audio is above the limit of "
                          f"{MAX_VOCODE_SECONDS:g} s")
    t0 = time.perf_counter()
    if vocoder == "wavenet":
        refiltered: list[int] = []
        try:  # it refuses a clip too long for the beam before any work
            clips = vocode_in_groups(wn, mel, n_samples, seed=seed, temperature=temperature, beam=beam,
                                     progress=True, refiltered=refiltered)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        if refiltered:
            click.echo(f"{len(refiltered)} clip(s) saturated the order-{wn.config.sampling_lpc_order} filters "
                       f"(a mel sparser than the training notes): vocoded through order {wn.config.lpc_order}; "
                       f"--vocoder griffinlim may suit such sounds better")
    else:
        clips = logmel_to_audio(mel, cfg, n_iter=64, length=n_samples, generator=make_generator(seed))
    elapsed = time.perf_counter() - t0
    audio = clips.reshape(-1)
    save_audio(out, audio, cfg.sr, force=force)
    _plot(audio, cfg, plot, f"{vocoder}: {source.name}", force)
    seconds = audio.shape[-1] / cfg.sr
    method = f"wavenet, beam {beam}" if vocoder == "wavenet" else vocoder
    click.echo(f"wrote {out}: {seconds:.2f} s from {what} ({method}) in {elapsed:.1f} s "
               f"({seconds / max(elapsed, 1e-9):.2f}x real time)")
