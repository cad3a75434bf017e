"""The notes dataset: NSynth-like single notes rendered from a General MIDI SoundFont.

Each item is one note of one GM program: held 3 s, recorded 4 s (the release
rings into the last second) at 16 kHz, mono. Programs are grouped into
instrument families (:data:`FAMILIES`); splits are made by *program*, so the
validation and test instruments are never heard in training.

Files (written by ``data/make_notes.py``)::

    ROOT/manifest.csv        file,program,family,pitch,velocity,split,peak
    ROOT/audio/pNNN/pNNN-PPP-VVV.wav

Python::

    from soundart.audio.notes import NotesDataset, family_names
    ds = NotesDataset("data/notes", split="train")
    audio, pitch, family = ds[0]         # (64000,) float32, int, int (index into family_names())
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundart.errors import BadInputError, ConfigError

SAMPLE_RATE = 16000
NOTE_SECONDS = 4.0
HOLD_SECONDS = 3.0
PITCH_RANGE = (24, 96)          # inclusive MIDI pitches
VELOCITIES = (40, 80, 120)
MANIFEST_COLUMNS = ("file", "program", "family", "pitch", "velocity", "split", "peak")
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data" / "notes"

# family name -> GM programs (0-based). Timpani (47), orchestra hit (55) and the
# effects/ethnic/percussive programs 96-127 are left out.
FAMILIES: dict[str, tuple[int, ...]] = {
    "keyboard": tuple(range(0, 8)),
    "mallet": tuple(range(8, 16)),
    "organ": tuple(range(16, 24)),
    "guitar": tuple(range(24, 32)),
    "bass": tuple(range(32, 40)),
    "strings": (40, 41, 42, 43, 44, 45, 46, 48, 49, 50, 51),
    "vocal": (52, 53, 54),
    "brass": tuple(range(56, 64)),
    "reed": tuple(range(64, 72)),
    "flute": tuple(range(72, 80)),
    "lead": tuple(range(80, 88)),
    "pad": tuple(range(88, 96)),
}


def family_names() -> list[str]:
    """The instrument families in index order (the ``family`` integer a dataset item returns)."""
    return list(FAMILIES)


def family_index(name: str) -> int:
    """Index of a family name; a ConfigError listing the known ones if unknown."""
    names = family_names()
    if name not in names:
        raise ConfigError(f"unknown family {name!r} (known: {', '.join(names)})")
    return names.index(name)


def family_of_program(program: int) -> str | None:
    for name, programs in FAMILIES.items():
        if program in programs:
            return name
    return None


def program_splits(seed: int = 0) -> dict[int, str]:
    """program -> "train" | "valid" | "test": per family one program each for valid and test.

    Deterministic for a seed; families with 3 programs give one to each split.
    """
    rng = random.Random(seed)
    splits = {}
    for _name, programs in FAMILIES.items():
        order = list(programs)
        rng.shuffle(order)
        splits[order[0]] = "valid"
        splits[order[1]] = "test"
        for p in order[2:]:
            splits[p] = "train"
    return splits


@dataclass(frozen=True)
class NoteRow:
    file: str
    program: int
    family: str
    pitch: int
    velocity: int
    split: str
    peak: float


def read_manifest(root: str | os.PathLike) -> list[NoteRow]:
    """Rows of ``ROOT/manifest.csv``; a BadInputError naming the file if absent or malformed."""
    path = Path(root) / "manifest.csv"
    if not path.is_file():
        raise BadInputError(f"{path}: no notes manifest (make it with: python data/make_notes.py --out {root})")
    rows = []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(MANIFEST_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise BadInputError(f"{path}: manifest lacks column(s) {', '.join(sorted(missing))}")
        for r in reader:
            rows.append(NoteRow(r["file"], int(r["program"]), r["family"], int(r["pitch"]),
                                int(r["velocity"]), r["split"], float(r["peak"])))
    return rows


class NotesDataset:
    """Notes of one split, read from a manifest + WAV files (a torch-style map dataset).

    Parameters
    ----------
    root : folder holding ``manifest.csv`` and ``audio/``.
    split : "train" | "valid" | "test" | "all".
    families, pitches, velocities : keep only these (None: all).
    sr : resample to this rate (None: the dataset's 16 kHz).
    seconds : crop each note to its first ``seconds`` (None: all 4 s).

    ``ds[i]`` returns ``(audio (samples,) float32, pitch int, family index int)``.
    """

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, split: str = "train",
                 families: list[str] | None = None, pitches: tuple[int, int] | None = None,
                 velocities: list[int] | None = None, sr: int | None = None,
                 seconds: float | None = None) -> None:
        if split not in ("train", "valid", "test", "all"):
            raise ConfigError(f"split must be train, valid, test or all (got {split!r})")
        self.root = Path(root)
        names = family_names()
        for f in families or []:
            family_index(f)
        rows = read_manifest(self.root)
        self.rows = [r for r in rows
                     if (split == "all" or r.split == split)
                     and (families is None or r.family in families)
                     and (pitches is None or pitches[0] <= r.pitch <= pitches[1])
                     and (velocities is None or r.velocity in velocities)]
        self.family_names = names
        self.sr = sr or SAMPLE_RATE
        self.seconds = seconds

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[Any, int, int]:
        from soundart.io import load_audio

        row = self.rows[i]
        audio, _ = load_audio(self.root / row.file, sr=self.sr, duration=self.seconds)
        return audio[0], row.pitch, self.family_names.index(row.family)


def note_midi(program: int, pitches: list[int], velocities: list[int], slot: float):
    """A PrettyMIDI with one note per (pitch, velocity), each starting ``slot`` seconds apart."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    t = 0.0
    for p in pitches:
        for v in velocities:
            inst.notes.append(pretty_midi.Note(velocity=v, pitch=p, start=t, end=t + HOLD_SECONDS))
            t += slot
    pm.instruments.append(inst)
    return pm


def render_program(program: int, out_root: Path, pitches: list[int], velocities: list[int],
                   soundfont: str, backend: str = "fluidsynth", slot: float = 5.0,
                   min_peak: float = 1e-3) -> list[NoteRow]:
    """Render every (pitch, velocity) note of one program into ``out_root/audio/pNNN/``.

    Notes that come out silent (peak < ``min_peak``: outside the instrument's range
    in the SoundFont) are skipped. Returns the manifest rows written.
    """
    import numpy as np
    import soundfile

    from soundart.audio.render import render_midi

    family = family_of_program(program)
    if family is None:
        raise ConfigError(f"program {program} is in no notes family")
    pm = note_midi(program, pitches, velocities, slot)
    audio, _ = render_midi(pm, sr=SAMPLE_RATE, soundfont=soundfont, backend=backend, gain=1.5)
    audio = audio[0].numpy()
    folder = out_root / "audio" / f"p{program:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    n = int(NOTE_SECONDS * SAMPLE_RATE)
    split = program_splits()[program]
    rows = []
    i = 0
    for p in pitches:
        for v in velocities:
            start = int(round(i * slot * SAMPLE_RATE))
            i += 1
            clip = audio[start:start + n]
            if len(clip) < n:
                clip = np.pad(clip, (0, n - len(clip)))
            peak = float(np.abs(clip).max())
            if peak < min_peak:
                continue
            name = f"p{program:03d}-{p:03d}-{v:03d}.wav"
            soundfile.write(str(folder / name), np.clip(clip, -1, 1), SAMPLE_RATE, subtype="PCM_16")
            rows.append(NoteRow(f"audio/p{program:03d}/{name}", program, family, p, v, split, round(peak, 5)))
    return rows


def write_manifest(rows: list[NoteRow], root: Path) -> Path:
    path = root / "manifest.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for r in sorted(rows, key=lambda r: (r.program, r.pitch, r.velocity)):
            writer.writerow([r.file, r.program, r.family, r.pitch, r.velocity, r.split, r.peak])
    tmp.replace(path)
    return path
