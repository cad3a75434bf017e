"""``soundart sketch``, ``soundart eval music`` and ``soundart eval sketches``.

Sketching with the shipped models (the default Music Transformer, the LSTM) runs
on NumPy (no torch import) so that a sketch takes about a second including start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from soundart.checks import check_number
from soundart.commands.common import flags_in_errors, force_option, format_rows, seed_option
from soundart.music.sketch import KEY_STRENGTH, MAX_BARS, MAX_SKETCHES

SKETCH_DEFAULT_MODEL = "transformer"


# the library's argument names in its errors -> sketch's flags
SKETCH_FLAGS = {"bars": "--bars", "n": "-n", "temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p",
                "key_strength": "--key-strength", "tempo": "--tempo", "drums": "--drums", "chords": "--chords",
                "program": "--program", "meter": "--meter", "add": "--add", "regenerate": "--regenerate",
                "primer": "--primer", "tracks": "--tracks", "include_primer": "--include-primer"}


def _shipped_styles() -> str:
    """The default model's styles and grooves, read from its checkpoint (for --help)."""
    try:
        from soundart.checkpoint import read_document
        from soundart.models import shipped_path
        from soundart.music.sample import read_codec_config
        from soundart.music.sketch import model_styles

        doc = read_document(shipped_path(SKETCH_DEFAULT_MODEL))
        styles = model_styles(doc, read_codec_config(doc))
    except Exception:  # --help must work even without weights
        return "see soundart models"
    pitched = [s for s, i in styles.items() if i.pitched or not i.parts]
    grooves = [s for s, i in styles.items() if "drums" in i.parts]
    return f"{', '.join(pitched)}; drum grooves: {', '.join(grooves)}" if grooves else ", ".join(pitched)


class _StyleHelp(click.Option):
    """--style's help names the styles of the shipped default model, read only when help is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = f"Style (the default model's: {_shipped_styles()}). Default pop."
        return super().get_help_record(ctx)


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("sketch.mid"), show_default=True,
              help="MIDI file to write (with -n N: NAME-1.mid ... NAME-N.mid).")
@click.option("--model", "model_spec", default=SKETCH_DEFAULT_MODEL, show_default=True,
              help="A shipped model name (rnn, transformer) or a checkpoint path.")
@click.option("--style", default=None, cls=_StyleHelp, help="Style.")
@click.option("--tracks", default=None, help="Parts to write: any of melody,chords,bass,drums "
              "(default: the style's band, e.g. pop = all four, fiddle = melody,chords).")
@click.option("--chords", default=None, help='One chord per bar, repeated to fill --bars, e.g. "Am F C G7" or '
              '"Dm7 G7 Cmaj7 C/E" (default: the model picks).')
@click.option("--drums", "groove", default=None, help="Groove of the drum part, e.g. funk (default: the style's).")
@click.option("--key", default=None, help='Key, e.g. "D minor", "F#", "Bbm" (default: from the primer, else drawn).')
@click.option("--tempo", type=float, default=None, help="Tempo in bpm (default: primer's, else the style's).")
@click.option("--meter", default=None, help='Time signature, e.g. "3/4" (default: primer\'s, else the style\'s).')
@click.option("--bars", type=int, default=None, help=f"Bars to write (after the primer), 1-{MAX_BARS}; default 8.")
@click.option("--program", "program_specs", multiple=True,
              help="GM program per part, PART=N (e.g. --program bass=33 --program melody=65); a plain N sets "
                   "every note's program on a model without parts.")
@click.option("--primer", "-i", "--input", "primer", type=click.Path(path_type=Path), default=None,
              help="Your song (MIDI, or MusicXML .mxl/.musicxml): continued, every track with its own "
                   "program and name; with --add or --regenerate, edited (the file itself is never changed).")
@click.option("--include-primer", is_flag=True, help="Keep the primer's bars at the start of the output.")
@click.option("--add", "add", default=None,
              help="Parts to add to --primer over its whole length, following its chords: any of "
                   "melody,chords,bass,drums (e.g. --add drums,bass --style funk). Its own notes stay unchanged.")
@click.option("--regenerate", "regenerate", default=None,
              help="Bars of --primer to write again, e.g. 5-8 (from 1, inclusive; 1-4,9-12 for several); "
                   "--tracks limits it to some parts. Every note outside them stays as it was.")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Sampling temperature (> 0).")
@click.option("--top-k", type=int, default=None, help="Sample among the K likeliest tokens.")
@click.option("--top-p", type=float, default=0.95, show_default=True, help="Nucleus sampling mass in (0, 1].")
@click.option("--free-pitch", is_flag=True, help="Let the model leave the key's scale (default: notes stay in key).")
@click.option("--key-strength", type=float, default=KEY_STRENGTH, show_default=True,
              help="How hard notes lean toward the key, away from its relative key (0 = the model's own choice).")
@seed_option
@click.option("-n", "count", type=int, default=1, show_default=True, help="How many sketches.")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Piano-roll PNG of the (first) sketch.")
@click.option("--render", type=click.Path(path_type=Path), default=None,
              help="Also render to audio (.wav) with a GM SoundFont (as `soundart render` does).")
@click.option("--soundfont", type=click.Path(path_type=Path), default=None,
              help="The .sf2/.sf3 for --render (default: a system GM SoundFont, else pretty_midi's TimGM6mb.sf2).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto = NumPy for the LSTM and the Transformer (fastest); cpu/cuda = torch.")
@force_option
@click.option("--quiet", is_flag=True, help="No progress output.")
def sketch(output: Path, model_spec: str, style: str | None, tracks: str | None, chords: str | None,
           groove: str | None, key: str | None, tempo: float | None, meter: str | None, bars: int | None,
           program_specs: tuple[str, ...], primer: Path | None, include_primer: bool, add: str | None,
           regenerate: str | None, temperature: float,
           top_k: int | None, top_p: float | None, free_pitch: bool, key_strength: float, seed: int | None,
           count: int, plot: Path | None, render: Path | None, soundfont: Path | None, device: str,
           force: bool, quiet: bool) -> None:
    """Write a MIDI sketch (or -n of them): a band in a style, over the chords you name.

    \b
    soundart sketch -o idea.mid --style pop --chords "Am F C G" --bars 8
    soundart sketch --style fiddle --meter 6/8 --key D -o jig.mid
    soundart sketch --style jazz --tracks melody,bass,drums --program bass=32 -o head.mid
    soundart sketch --primer mine.mid --bars 4 -o more.mid --include-primer
    soundart sketch --primer verse.mid --add drums,bass --style funk -o band.mid
    soundart sketch --primer verse.mid --regenerate 5-8 --tracks melody -n 4 -o take.mid
    """
    from soundart.music.sketch import sketch as run_sketch
    from soundart.music.sketch_files import check_paths, midi_paths, parse_program_specs, plot_sketch
    from soundart.progress import progress as progress_bar

    outs = midi_paths(output, count)
    renders = _render_paths(render, soundfont, count)
    with flags_in_errors({"plot": "--plot"}):
        check_paths(outs + renders, plot=plot, primer=primer, force=force)
    with flags_in_errors({"program": "--program"}):
        programs = parse_program_specs(program_specs)
    with flags_in_errors(SKETCH_FLAGS):  # before the progress bar opens
        check_number("bars", bars, 1, MAX_BARS)
        check_number("n", count, 1, MAX_SKETCHES)
    small = count * (bars or 8) < 32 or add is not None or regenerate is not None
    with progress_bar(total=(bars or 8) * count, desc="sketching", unit="bar", quiet=quiet or small) as progress, \
            flags_in_errors(SKETCH_FLAGS):
        sketches = run_sketch(style=style, tracks=tracks, chords=chords, key=key, tempo=tempo, meter=meter,
                              bars=bars, programs=programs or None, drums=groove, primer=primer,
                              include_primer=include_primer, add=add, regenerate=regenerate,
                              temperature=temperature, top_k=top_k, top_p=top_p,
                              free_pitch=free_pitch, key_strength=key_strength, seed=seed, n=count,
                              model=model_spec, device=device, progress=progress)
    for s, out in zip(sketches, outs):
        s.save(out, force=force)
        click.echo(f"wrote {out}: {_what(bars, primer, include_primer, add, regenerate)}, {_summary(s)} "
                   f"({model_spec})")
    if plot is not None:
        plot_sketch(sketches[0], plot, name=outs[0].name, force=force)
        click.echo(f"wrote {plot}")
    for s, wav in zip(sketches, renders):
        _render(s.midi, wav, soundfont, force)


def _what(bars: int | None, primer: Path | None, include_primer: bool, add: str | None,
          regenerate: str | None) -> str:
    if add is not None:
        return f"{primer.name} + {add}"
    if regenerate is not None:
        return f"{primer.name}, bars {regenerate} regenerated"
    return f"{bars or 8} bars" + (f" after {primer.name}" if primer is not None else "") + \
        (" (primer included)" if include_primer and primer is not None else "")


def _summary(s: Any) -> str:
    from soundart.music.tokens import key_name

    p = s.piece
    tracks = ", ".join(f"{i.name} ({len(i.notes)})" for i in s.midi.instruments) or "no notes"
    chords = " ".join(c or "-" for c in s.chords[:8]) + (" ..." if len(s.chords) > 8 else "")
    style = f"{s.style} with {s.drums} drums" if s.drums and s.drums != s.style else s.style
    text = f"{style}, {key_name(p.key)}, {p.meter}, {p.tempo:g} bpm; tracks: {tracks}"
    return text + (f"; chords: {chords}" if any(s.chords) else "")


def _render_paths(render: Path | None, soundfont: Path | None, n: int) -> list[Path]:
    """The .wav files --render writes (none without it); a bad SoundFont is refused before any file is
    written, and a note on stderr says when --render falls back to the built-in synth."""
    from soundart.audio.clip import numbered_paths
    from soundart.audio.render import find_backend
    from soundart.errors import BadInputError

    renders = numbered_paths(render, n) if render is not None else []
    for p in renders:
        if p.suffix.lower() != ".wav":
            raise BadInputError(f"{p}: --render writes .wav files")
    if render is None and soundfont is None:
        return renders
    if render is None:
        raise BadInputError("--soundfont is for --render: give --render PATH.wav too")
    chosen = find_backend(soundfont)
    if chosen.reason:
        click.echo(f"note: {chosen.reason}; --render falls back to the built-in synth", err=True)
    return renders


def _render(midi: Any, path: Path, soundfont: Path | None, force: bool) -> None:
    from soundart.audio.render import find_backend, render
    from soundart.io import save_audio

    chosen = find_backend(soundfont)
    audio, sr = render(midi, soundfont=soundfont, synth=chosen.name, sr=22050)
    save_audio(path, audio, sr, force=force)
    click.echo(f"wrote {path} (rendered with {chosen.describe()})")


@click.command("music")
@click.argument("model_spec", metavar="MODEL")
@click.option("--data", "data", default="jsb", show_default=True, help="jsb, nottingham, or a path to a .mat file.")
@click.option("--split", type=click.Choice(["test", "valid", "train"]), default="test", show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def eval_music(model_spec: str, data: str, split: str, device: str, fmt: str) -> None:
    """Test NLL (nats per frame) of a frame-token MODEL on a piano-roll benchmark (.mat).

    NLL = -sum over pieces and frames of log p(frame | past) / total frames, each
    frame scored as its sounding keys ascending + end-of-frame (exact).
    """
    import dataclasses

    from soundart.train.api import evaluate

    with flags_in_errors({"data": "--data", "split": "--split", "device": "--device"}):
        row = evaluate("music", model_spec, data=data, split=split, device=device)
    click.echo(format_rows([dataclasses.asdict(row)], fmt))


@click.command("sketches")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--reference", default="chorale", show_default=True,
              help="A music21 corpus style (chorale, folk, fiddle, ...) or a folder of MIDI files.")
@click.option("--bars", type=int, default=None, help="Crop reference pieces to random N-bar excerpts "
              "(default: the median length of the generated files).")
@click.option("--limit", type=int, default=400, show_default=True, help="Source files of a music21 style.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@seed_option
def eval_sketches(folder: Path, reference: str, bars: int | None, limit: int, fmt: str, seed: int | None) -> None:
    """MusPy-style statistics of the MIDI files in FOLDER next to a reference corpus.

    Metrics: pitch-class entropy, scale consistency, polyphony, empty-beat rate,
    groove consistency, pitch range, notes per bar; mean (sd) per side and their ratio.
    """
    from soundart.train.api import evaluate

    with flags_in_errors({"reference": "--reference", "bars": "--bars", "limit": "--limit", "seed": "--seed"}):
        stats = evaluate("sketches", folder, reference=reference, bars=bars, limit=limit, seed=seed)
    for problem in stats.skipped:
        click.echo(f"skipped: {problem}", err=True)
    if fmt == "table":
        click.echo(f"{stats.generated} generated files vs {stats.reference_pieces} reference pieces "
                   f"({stats.reference}, {stats.bars}-bar excerpts)")
    click.echo(format_rows(stats.rows, fmt))
