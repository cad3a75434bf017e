"""The ``soundart`` command line: a thin door onto the API.

Commands live in ``soundart/commands/*.py`` and are imported only when run
(or when their own ``--help`` is asked for), so ``soundart --help`` never
imports torch. A ``SoundartError`` anywhere becomes one line on stderr and
exit code 2.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
from typing import Any

import click

from soundart import __version__

# name -> ("module:function", one-line help shown by `soundart --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "features": ("soundart.commands.features:features", "Compute a spectral feature (stft/mel/logmel/mfcc/chroma) of an audio file."),
    "invert": ("soundart.commands.features:invert", "Turn a saved log-mel (.npy) back into audio (Griffin-Lim)."),
    "analyze": ("soundart.commands.listen:analyze", "Genre, mood and descriptors (tempo, key, loudness) of audio files and folders."),
    "train": ("soundart.commands.train:train", "Train a model from a recipe YAML (resumable; torchrun for DDP)."),
    "models": ("soundart.commands.train:models", "List the shipped default models with their data and measured quality."),
    "eval": ("soundart.cli:eval_group", "Measure a model: NLL on a benchmark, sketch statistics, classifier accuracy."),
    "style": ("soundart.commands.spectral:style", "Spectrogram style transfer: CONTENT with the texture of STYLE."),
    "synth": ("soundart.cli:synth_group", "Make audio clips with the generative audio models."),
    "vocode": ("soundart.commands.wavenet:vocode", "Turn a log-mel (.npy) or an audio file's log-mel into audio with the WaveNet vocoder."),
    "sketch": ("soundart.commands.music:sketch", "Write a MIDI sketch: style, key, tempo, meter, bars; continue a primer."),
    "render": ("soundart.commands.audio:render", "Render MIDI to audio (FluidSynth + GM SoundFont, or the built-in synth)."),
}

# subcommands of `soundart eval` and `soundart synth`, same layout as COMMANDS
EVAL_COMMANDS: dict[str, tuple[str, str]] = {
    "listen": ("soundart.commands.listen:eval_listen", "Accuracy, macro-F1, ROC-AUC and calibration of the listening classifier (+ MFCC baseline)."),
    "music": ("soundart.commands.music:eval_music", "Test NLL (nats/frame) of a frame-token model on JSB / Nottingham / a .mat."),
    "sketches": ("soundart.commands.music:eval_sketches", "MusPy-style statistics of generated MIDI vs a reference corpus."),
}
SYNTH_COMMANDS: dict[str, tuple[str, str]] = {
    "gan": ("soundart.commands.spectral:gan", "Sample audio clips from the spectrogram GAN (SpecGAN), optionally by family."),
    "vae": ("soundart.commands.audio:vae", "Sample new notes from the mel VAE (pitch, family)."),
    "morph": ("soundart.commands.audio:morph", "Morph one sound into another through the VAE's latent space."),
    "reconstruct": ("soundart.commands.audio:reconstruct", "Encode and decode a sound with the mel VAE."),
    "wavenet": ("soundart.commands.wavenet:synth_wavenet", "Generate notes sample by sample with WaveNet (family, pitch), faster than real time."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, commands_table: dict[str, tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.table = COMMANDS if commands_table is None else commands_table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.table)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.table:
            return None
        module, _, attr = self.table[name][0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.table[name][1]) for name in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        from soundart.errors import SoundartError

        try:
            return super().invoke(ctx)
        except SoundartError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt as exc:
            # click's standalone mode would turn this into "Aborted!" and exit 1; Ctrl-C is 130 (128 + SIGINT)
            # and SIGTERM 143 by shell convention. Clean-up (.part files, training state) ran while unwinding.
            word, code = ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
            click.echo(f"{word} {exc}".rstrip(), err=True)
            ctx.exit(code)
        except OSError as exc:
            line = os_error_line(exc)
            if line:
                click.echo(f"error: {line}", err=True)
            ctx.exit(1 if isinstance(exc, BrokenPipeError) else 2)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (no .part file left, training state saved)."""


_MAIN_PID = os.getpid()


def _on_sigterm(signum: int, frame: Any) -> None:
    if os.getpid() != _MAIN_PID:  # a forked worker (a DataLoader, a decoding pool): end as SIGTERM means
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise Terminated()


def os_error_line(exc: OSError) -> str:
    """One line for an I/O error that no command turned into a SoundartError; "" for a closed pipe.

    Files written through ``soundart.io`` already fail with a SoundartError naming them; what is left
    without a file name is, in practice, the command's own printing (``soundart models > /dev/full``).
    """
    if isinstance(exc, BrokenPipeError):  # `soundart models | head -1`: the reader has all it wants
        return ""
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "echo" and "click" in code.co_filename:
            stream = "standard error" if tb.tb_frame.f_locals.get("err") else "standard output"
            return f"cannot write {stream}: {reason}"
        tb = tb.tb_next
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
        return f"cannot write output: {reason}"
    return reason


def _silence_broken_stdout() -> None:
    """After a failed write to stdout, point it at /dev/null so the exit-time flush does not fail again
    with Python's "Exception ignored" message."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="soundart")
def cli() -> None:
    """soundart: make and listen to music with neural networks.

    MIDI sketches (sketch), audio clips (synth, render, vocode), and analysis of
    recordings (analyze); all offline, on shipped default models.
    """


@click.group(cls=LazyGroup, commands_table=EVAL_COMMANDS)
def eval_group() -> None:
    """Measure a model: test NLL on a benchmark set, statistics of generated sketches, accuracy."""


@click.group(cls=LazyGroup, commands_table=SYNTH_COMMANDS)
def synth_group() -> None:
    """Make audio clips: sample or interpolate timbres, reconstruct, vocode."""


def main() -> None:
    """The ``soundart`` executable: the click group plus process-wide signal and stdout handling."""
    with contextlib.suppress(ValueError):  # not the main thread: leave SIGTERM as it is
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(prog_name="soundart")
    except KeyboardInterrupt:  # between commands, outside LazyGroup.invoke
        click.echo("interrupted", err=True)
        sys.exit(130)
    finally:
        _silence_broken_stdout()


if __name__ == "__main__":
    main()
