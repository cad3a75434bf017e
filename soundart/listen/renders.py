"""Instrument-tagged renders of the MIDI sets: pretraining data for the listening CNN.

The labelled recordings are few (725 training clips), and what tells pop from rock or jazz from
country is largely which instruments play. Rendering the shared MIDI sets with random General MIDI
instruments gives clips whose instrument families are known exactly: POP909 songs (each track a
random family) and Bach chorales (one random family per voice), with a bass line under them 60% of
the time and a Groove drum performance looped at the song's tempo half of the time. The network is
pretrained to name the families heard (``tags``, multi-label) and the source (``genre``: pop or
chorale), then fine-tuned on the real recordings (``recipes/listen-instruments.yaml`` ->
``recipes/listen-cnn.yaml``; measured in the README, issue 30 try 7).

Deterministic: item ``i`` draws from ``random.Random(seed + i)``, so the same sets and SoundFont give
the same clips and manifest.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundart.errors import BadInputError, ConfigError

# families a part can be played by: the notes set's families without bass (a bass line is added on its
# own, so "bass" always means a bass line) and mallets (rarely a whole part)
PART_FAMILIES = ("keyboard", "organ", "guitar", "strings", "vocal", "brass", "reed", "flute", "lead", "pad")
DRUM_STYLES = ("rock", "funk", "pop", "soul", "hiphop")  # Groove styles a pop arrangement may borrow
BASS_SLOT_S = 0.6          # the bass line plays the lowest sounding note once per slot
MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class RenderJob:
    """One clip to make: ``source`` "pop" (``where``: a POP909 MIDI file) or "chorale" (a music21
    corpus path); ``group`` keeps every clip of one piece in one split."""

    name: str
    source: str
    where: str
    group: str
    seed: int


def _midi(job: RenderJob) -> Any:
    import io

    import pretty_midi

    if job.source == "pop":
        return pretty_midi.PrettyMIDI(job.where)
    from music21 import corpus
    from music21.midi.translate import streamToMidiFile

    midi_file = streamToMidiFile(corpus.parse(job.where))
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_file.writestr()))


def window(pm: Any, start: float, seconds: float) -> Any:
    """The pitched notes of ``pm`` starting in ``[start, start + seconds)``, moved to time 0."""
    import pretty_midi

    out = pretty_midi.PrettyMIDI(initial_tempo=120)
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        part = pretty_midi.Instrument(inst.program, name=inst.name)
        part.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start - start, min(n.end, start + seconds) - start)
                      for n in inst.notes if start <= n.start < start + seconds]
        if part.notes:
            out.instruments.append(part)
    return out


def bass_line(parts: list[Any], seconds: float, program: int) -> Any:
    """A bass part: in each slot the lowest note sounding (or starting) in the parts, folded below
    MIDI 51 and kept at or above 28."""
    import pretty_midi

    notes = [n for p in parts for n in p.notes]
    bass = pretty_midi.Instrument(program)
    t = 0.0
    while t < seconds:
        sounding = [n for n in notes if n.start <= t < n.end] or [n for n in notes if t <= n.start < t + BASS_SLOT_S]
        if sounding:
            pitch = min(n.pitch for n in sounding)
            while pitch > 50:
                pitch -= 12
            bass.notes.append(pretty_midi.Note(90, max(pitch, 28), t, t + BASS_SLOT_S - 0.05))
        t += BASS_SLOT_S
    return bass


def looped_groove(groove: Any, groove_bpm: float, bpm: float, seconds: float) -> Any:
    """A Groove performance played at ``bpm`` and looped to fill ``seconds``."""
    import pretty_midi

    scale = groove_bpm / bpm
    hits = [n for inst in groove.instruments for n in inst.notes]
    drums = pretty_midi.Instrument(0, is_drum=True)
    span = max(n.end for n in hits) * scale
    offset = 0.0
    while offset < seconds:
        for n in hits:
            t = n.start * scale + offset
            if t < seconds:
                drums.notes.append(pretty_midi.Note(n.velocity, n.pitch, t, min(t + 0.1, seconds)))
        offset += span
    return drums


def grooves(groove_dir: Path) -> list[tuple[str, float]]:
    """(MIDI path, bpm) of Groove's beats of at least 20 s in :data:`DRUM_STYLES`."""
    from soundart.music.band_midi import groove_rows

    return [(str(groove_dir / r["midi_filename"]), float(r["bpm"])) for r in groove_rows(groove_dir)
            if r["beat_type"] == "beat" and float(r["duration"]) >= 20 and r["style"].split("/")[0] in DRUM_STYLES]


def arrange(job: RenderJob, drums: list[tuple[str, float]], seconds: float) -> tuple[Any, list[str]] | None:
    """The clip's score and its instrument-family tags; None when the window holds no notes."""
    import pretty_midi

    from soundart.audio.notes import FAMILIES

    rng = random.Random(job.seed)
    pm = _midi(job)
    start = rng.uniform(0, max(0.0, pm.get_end_time() - seconds)) if job.source == "pop" else 0.0
    clip = window(pm, start, seconds)
    if not clip.instruments:
        return None
    tags = set()
    for part in clip.instruments:
        family = rng.choice(PART_FAMILIES)
        part.program = rng.choice(FAMILIES[family])
        tags.add(family)
    if rng.random() < 0.6:
        bass = bass_line(clip.instruments, seconds, rng.choice(FAMILIES["bass"]))
        if bass.notes:
            clip.instruments.append(bass)
            tags.add("bass")
    if rng.random() < 0.5 and drums:
        tempi = pm.get_tempo_changes()[1]
        path, groove_bpm = rng.choice(drums)
        clip.instruments.append(looped_groove(pretty_midi.PrettyMIDI(path), groove_bpm,
                                              float(tempi[0]) if len(tempi) else 100.0, seconds))
        tags.add("drums")
    return clip, sorted(tags)


def render_one(args: tuple[RenderJob, list[tuple[str, float]], float, int, Path]) -> dict[str, str] | str | None:
    """Render one job to ``out/NAME.wav``; its manifest row, None (nothing audible), or why it failed."""
    import numpy as np

    from soundart.audio.render import render_midi
    from soundart.io import save_audio

    job, drums, seconds, sr, out = args
    try:
        made = arrange(job, drums, seconds)
        if made is None:
            return None
        clip, tags = made
        audio, _ = render_midi(clip, sr=sr, backend="tinysoundfont")
        audio = audio.reshape(-1)[: int(sr * seconds)]
        if float(audio.abs().max()) < 1e-3:
            return None
        save_audio(out / f"{job.name}.wav", np.asarray(audio.numpy(), dtype=np.float32), sr, force=True)
    except Exception as exc:  # one bad score must not stop a dataset of thousands; reported at the end
        return f"{job.name}: {type(exc).__name__}: {exc}"
    return {"path": f"{job.name}.wav", "genre": job.source, "quadrant": "", "tags": ";".join(tags),
            "artist": job.group}


def render_jobs(pop909_dir: Path, chorales: Iterable[str], renders_per_song: int, seed: int) -> list[RenderJob]:
    """Every clip to make, in a fixed order: each POP909 song ``renders_per_song`` times, each chorale once."""
    pieces = [(f"pop909-{s.stem}_{r}", "pop", str(s), f"pop909-{s.stem}")
              for s in sorted(pop909_dir.glob("*/*.mid")) for r in range(renders_per_song)]
    pieces += [(f"chorale-{i:04d}", "chorale", path, f"chorale-{i:04d}") for i, path in enumerate(chorales)]
    return [RenderJob(*piece, seed=seed + i) for i, piece in enumerate(pieces)]


def bach_chorales() -> list[str]:
    """music21's Bach corpus files (the chorales and the other four-part settings)."""
    from music21 import corpus

    return [str(p) for p in corpus.getComposer("bach")]


def make_renders(out: str | Path, midi_dir: str | Path, *, seconds: float = 30.0, sr: int = 16000,
                 renders_per_song: int = 2, seed: int = 0, workers: int = 2, limit: int = 0,
                 force: bool = False, quiet: bool = False) -> tuple[Path, list[str]]:
    """Render the pretraining set into ``out`` (WAVs + ``manifest.csv``: path, genre, quadrant, tags,
    artist). Returns the manifest's path and the clips that failed, each with its reason."""
    import multiprocessing as mp

    from soundart.listen.data import _ignore_interrupt
    from soundart.progress import progress

    out, midi_dir = Path(out), Path(midi_dir)
    if not 1 <= seconds <= 600 or not 8000 <= sr <= 48000 or not 1 <= renders_per_song <= 20 or limit < 0:
        raise ConfigError("seconds must be 1-600, sr 8000-48000, renders_per_song 1-20, limit >= 0")
    if (out / MANIFEST).exists() and not force:
        raise ConfigError(f"{out / MANIFEST} exists: pass force=True (--force) to render again")
    if not (midi_dir / "pop909").is_dir():
        raise BadInputError(f"{midi_dir}: no pop909 folder")
    jobs = render_jobs(midi_dir / "pop909", bach_chorales(), renders_per_song, seed)
    jobs = jobs[:limit] if limit else jobs
    drums = grooves(midi_dir / "groove") if (midi_dir / "groove").is_dir() else []
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(job, drums, seconds, sr, out) for job in jobs]
    rows, failed = [], []

    def collect(results: Iterable[dict[str, str] | str | None]) -> None:
        with progress(total=len(tasks), desc="render", unit="clip", quiet=quiet) as bar:
            for result in results:
                if isinstance(result, dict):
                    rows.append(result)
                elif isinstance(result, str):
                    failed.append(result)
                bar.update(1)

    if workers > 1:   # as the feature cache: in order (a deterministic manifest), workers quiet on Ctrl-C
        with mp.get_context("fork").Pool(workers, initializer=_ignore_interrupt) as pool:
            collect(pool.imap(render_one, tasks, chunksize=4))
    else:
        collect(map(render_one, tasks))
    manifest = out / MANIFEST
    part = manifest.with_suffix(".csv.part")
    with open(part, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["path", "genre", "quadrant", "tags", "artist"])
        writer.writeheader()
        writer.writerows(rows)
    part.replace(manifest)
    return manifest, failed
