"""``soundart sketch``, ``soundart eval music`` and ``soundart eval sketches``.

Sketching with the shipped models (the default Music Transformer, the LSTM) runs
on NumPy (no torch import) so that a sketch takes about a second including start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from soundart.commands.common import force_option, format_rows, seed_option

SKETCH_DEFAULT_MODEL = "transformer"
MAX_BARS = 1000  # ~45 minutes of music at 90 bpm in 4/4; about half a minute of sketching on one CPU core
KEY_STRENGTH = 1.25  # 100 "D minor" sketches: 94% estimated D minor (31% at 0); see key_pitch_bias
COMMON_KEYS = ("C major", "G major", "D major", "F major", "Bb major", "A major", "Eb major",
               "A minor", "D minor", "E minor", "G minor", "C minor", "B minor")


def _outputs(output: Path, n: int) -> list[Path]:
    if n == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{i}{output.suffix}") for i in range(1, n + 1)]


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("sketch.mid"), show_default=True,
              help="MIDI file to write (with -n N: NAME-1.mid ... NAME-N.mid).")
@click.option("--model", "model_spec", default=SKETCH_DEFAULT_MODEL, show_default=True,
              help="A shipped model name (rnn, transformer) or a checkpoint path.")
@click.option("--style", default=None, help="Style control token: chorale, folk, fiddle, ... (default chorale).")
@click.option("--key", default=None, help='Key, e.g. "D minor", "F#", "Bbm" (default: from the primer, else drawn).')
@click.option("--tempo", type=float, default=None, help="Tempo in bpm (default: primer's, else the style's).")
@click.option("--meter", default=None, help='Time signature, e.g. "3/4" (default: primer\'s, else 4/4).')
@click.option("--bars", type=int, default=8, show_default=True, help=f"Bars to write (after the primer), 1-{MAX_BARS}.")
@click.option("--program", type=int, default=None, help="GM program 0-127 for every note (default: model's choice).")
@click.option("--primer", type=click.Path(path_type=Path), default=None, help="A MIDI file to continue.")
@click.option("--include-primer", is_flag=True, help="Keep the primer's bars at the start of the output.")
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
              help="Also render to audio (.wav), via soundart.audio.render (FluidSynth when present).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto = NumPy for the LSTM and the Transformer (fastest); cpu/cuda = torch.")
@force_option
def sketch(output: Path, model_spec: str, style: str | None, key: str | None, tempo: float | None,
           meter: str | None, bars: int, program: int | None, primer: Path | None, include_primer: bool,
           temperature: float, top_k: int | None, top_p: float | None, free_pitch: bool, key_strength: float,
           seed: int | None, count: int, plot: Path | None, render: Path | None, device: str, force: bool) -> None:
    """Write a MIDI sketch (or -n of them) from a token model: style, key, tempo, meter, bars.

    \b
    soundart sketch -o idea.mid --style chorale --key "D minor" --tempo 90 --bars 8
    soundart sketch --primer mine.mid --bars 4 -o more.mid --include-primer
    """
    import numpy as np

    from soundart.errors import BadInputError, ConfigError
    from soundart.io import check_output_path

    # --- check every option and output before any work ---
    if not 1 <= bars <= MAX_BARS:
        raise ConfigError(f"--bars must be 1-{MAX_BARS}, got {bars}")
    if count < 1:
        raise ConfigError(f"-n must be >= 1, got {count}")
    if temperature <= 0:
        raise ConfigError(f"--temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"--top-p must be in (0, 1], got {top_p}")
    if key_strength < 0:
        raise ConfigError(f"--key-strength must be >= 0, got {key_strength}")
    if tempo is not None and not 20 <= tempo <= 400:
        raise ConfigError(f"--tempo must be 20-400 bpm, got {tempo}")
    if program is not None and not 0 <= program <= 127:
        raise ConfigError(f"--program must be 0-127, got {program}")
    if output.suffix.lower() not in (".mid", ".midi"):
        raise BadInputError(f"{output}: a MIDI output needs a .mid or .midi suffix")
    outs = _outputs(output, count)
    for p in outs:
        check_output_path(p, force)
    renders = _outputs(render, count) if render is not None else []
    for p in renders:
        if p.suffix.lower() != ".wav":
            raise BadInputError(f"{p}: --render writes .wav files")
        check_output_path(p, force)
    if plot is not None:
        check_output_path(plot, force)

    from soundart.music.corpora import MUSIC21_STYLES
    from soundart.music.sample import generate, load_stepper, read_codec_config
    from soundart.music.tokens import DRUMS, Codec, Piece, key_name, midi_to_piece, parse_key, piece_to_midi

    key_number = parse_key(key) if key is not None else None
    step_model, doc, _ = load_stepper(model_spec, device)
    codec: Codec = read_codec_config(doc)
    styles = codec.config.styles
    style = style or ("chorale" if "chorale" in styles else styles[0])
    trained = doc.get("metadata", {}).get("data_config", {})
    if trained.get("source") == "music21" and trained.get("styles"):
        styles = tuple(trained["styles"])  # only the styles the model has seen
    if style not in styles:
        raise ConfigError(f"unknown style {style!r} for this model (known: {', '.join(styles)})")
    if meter is not None and meter not in codec.config.meters:
        raise ConfigError(f"unsupported --meter {meter!r} (supported: {', '.join(codec.config.meters)})")

    rng = np.random.default_rng(seed)
    primer_body: list[int] = []
    primer_bars = 0
    if primer is not None:
        from soundart.io import load_midi

        pm = load_midi(primer)
        piece = midi_to_piece(pm, codec.config, style)
        piece.notes = [n for n in piece.notes if n.program != DRUMS] + [n for n in piece.notes if n.program == DRUMS]
        if all(n.program == DRUMS for n in piece.notes):
            raise BadInputError(f"{primer}: holds only drums; a primer needs pitched notes")
        bar_len = codec.config.bar_steps(piece.meter)
        # keep the last 16 bars of a long primer
        last_bar = max(n.start for n in piece.notes) // bar_len
        first_bar = max(0, last_bar - 15)
        piece.notes = [n for n in piece.notes if n.start >= first_bar * bar_len]
        for n in piece.notes:
            n.start -= first_bar * bar_len
        meter = meter or piece.meter
        if meter != piece.meter:
            raise ConfigError(f"--meter {meter} differs from the primer's meter {piece.meter}")
        key_number = piece.key if key_number is None else key_number
        tempo = tempo or piece.tempo
        piece.key = key_number
        primer_piece = piece
        tokens = codec.encode(piece, eos=False)
        primer_body = tokens[Codec.HEADER_LEN:]
        primer_bars = primer_body.count(codec.bar)
    meter = meter or "4/4"
    tempo = float(tempo or MUSIC21_STYLES.get(style, ((), 0, 100.0, 0))[2])
    keys = [key_number if key_number is not None else parse_key(COMMON_KEYS[rng.integers(len(COMMON_KEYS))])
            for _ in range(count)] if key_number is None else [key_number] * count
    prompts = [codec.header(style, k, meter, tempo) + primer_body + [codec.bar] for k in keys]
    if len({len(p) for p in prompts}) != 1:
        raise ConfigError("internal: prompts differ in length")
    programs = [program] if program is not None else None
    from tqdm import tqdm

    bar_step = codec.config.bar_steps(meter)
    with tqdm(total=bars * count, desc="sketching", unit="bar", file=sys.stderr,
              disable=count * bars < 32) as progress:
        results = generate(step_model, codec, prompts, bars, temperature=temperature, top_k=top_k, top_p=top_p,
                           seed=int(rng.integers(2**31)), programs=programs, in_key=not free_pitch,
                           key_strength=key_strength,
                           progress=progress)
    from soundart.io import save_midi

    written = []
    for i, (res, out) in enumerate(zip(results, outs)):
        full = codec.decode(res.tokens)
        offset = primer_bars * bar_step
        if include_primer and primer is not None:
            notes = [n for n in primer_piece.notes] + [n for n in full.notes if n.start >= offset]
        else:
            notes = [n for n in full.notes if n.start >= offset]
            for n in notes:
                n.start -= offset
            offset = 0
        end = offset + bars * bar_step if not include_primer else (primer_bars + bars) * bar_step
        for n in notes:
            n.duration = max(1, min(n.duration, end - n.start))
        result = Piece(notes, meter, tempo, keys[i], style)
        midi = piece_to_midi(result, codec.config)
        save_midi(midi, out, force=force)
        written.append((out, result, midi))
        click.echo(f"wrote {out}: {bars} bars{' + primer' if include_primer and primer else ''}, "
                   f"{key_name(keys[i])}, {meter}, {tempo:g} bpm, {len(notes)} notes ({style}, {model_spec})")
    if plot is not None:
        from soundart.plot import plot_pianoroll

        out, result, midi = written[0]
        notes = [(n.start, n.end, n.pitch, n.velocity) for inst in midi.instruments for n in inst.notes]
        plot_pianoroll(notes, plot, title=f"{out.name}: {style}, {key_name(result.key)}, {meter}",
                       bar_seconds=bar_step * 60.0 / tempo / codec.config.steps_per_quarter, force=force)
        click.echo(f"wrote {plot}")
    for (_, _, midi), wav in zip(written, renders):
        _render(midi, wav, force)


def _render(midi: Any, path: Path, force: bool) -> None:
    from soundart.errors import ConfigError

    try:
        from soundart.audio.render import render_midi
    except ImportError:
        raise ConfigError("--render needs soundart.audio.render, which this installation lacks") from None
    from soundart.io import save_audio

    audio, backend = render_midi(midi, sr=22050)
    save_audio(path, audio, 22050, force=force)
    click.echo(f"wrote {path} (rendered with {backend})")


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
    from soundart.errors import ModelError
    from soundart.models import load_model
    from soundart.music.frames import load_mat, resolve_benchmark, score_pieces
    from soundart.runtime import resolve_device

    path = resolve_benchmark(data)
    dev = resolve_device(device)
    model = load_model(model_spec, device=dev)
    if getattr(model.config, "codec", None) != "frames":
        raise ModelError(f"{model_spec}: not trained on piano-roll frames (codec "
                         f"{getattr(model.config, 'codec', '?')!r}); train one with a .mat recipe")
    rolls = load_mat(path)[split]
    res = score_pieces(model, rolls, device=dev, progress=True)
    row = {"model": model_spec, "data": path.name, "split": split, "pieces": res["pieces"],
           "frames": res["frames"], "nll_per_frame": round(res["nll_per_frame"], 4),
           "nll_per_token": round(res["nll_per_token"], 4)}
    click.echo(format_rows([row], fmt))


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
    import numpy as np

    from soundart.errors import BadInputError
    from soundart.music.corpora import MUSIC21_STYLES, midi_folder_pieces, music21_pieces
    from soundart.music.metrics import METRICS, crop_bars, summarize
    from soundart.music.tokens import CodecConfig

    cfg = CodecConfig()
    gen, problems = midi_folder_pieces(folder, "other", cfg)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)
    if not gen:
        raise BadInputError(f"{folder}: no readable MIDI files")
    if reference in MUSIC21_STYLES:
        ref = music21_pieces(reference, limit, cfg.steps_per_quarter)
    elif Path(reference).is_dir():
        ref, _ = midi_folder_pieces(reference, "other", cfg)
    else:
        raise BadInputError(f"--reference {reference!r}: not a corpus style ({', '.join(MUSIC21_STYLES)}) "
                            "nor a folder")
    lengths = [max(n.start for n in p.notes) // cfg.bar_steps(p.meter) + 1 for _, p in gen]
    bars = bars or int(np.median(lengths))
    rng = np.random.default_rng(seed)
    ref_pieces = []
    for _, p in ref:
        total = max(n.start for n in p.notes) // cfg.bar_steps(p.meter) + 1
        start = int(rng.integers(0, max(1, total - bars + 1)))
        ref_pieces.append(crop_bars(p, bars, cfg, start))
    g, r = summarize([p for _, p in gen], cfg), summarize(ref_pieces, cfg)
    rows = [{"metric": m, "generated": f"{g[m][0]:.3f} ({g[m][1]:.3f})", "reference": f"{r[m][0]:.3f} ({r[m][1]:.3f})",
             "ratio": round(g[m][0] / r[m][0], 3) if r[m][0] else None} for m in METRICS]
    if fmt == "table":
        click.echo(f"{len(gen)} generated files vs {len(ref_pieces)} reference pieces "
                   f"({reference}, {bars}-bar excerpts)")
    click.echo(format_rows(rows, fmt))
