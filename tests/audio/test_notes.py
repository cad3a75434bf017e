"""The notes dataset: deterministic rendering, manifest, splits by program, NotesDataset."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from soundart.audio.notes import (
    FAMILIES,
    MANIFEST_COLUMNS,
    NotesDataset,
    family_index,
    family_names,
    program_splits,
    read_manifest,
)
from soundart.errors import BadInputError, ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_families_are_disjoint_and_splits_hold_out_whole_programs():
    programs = [p for ps in FAMILIES.values() for p in ps]
    assert len(programs) == len(set(programs))
    splits = program_splits()
    assert set(splits) == set(programs)
    for name, ps in FAMILIES.items():
        got = sorted(splits[p] for p in ps)
        assert got.count("valid") == 1 and got.count("test") == 1, (name, got)
    assert program_splits() == splits  # deterministic


def test_manifest_and_dataset_items(tiny_notes):
    rows = read_manifest(tiny_notes)
    with open(tiny_notes / "manifest.csv") as fh:
        assert tuple(next(csv.reader(fh))) == MANIFEST_COLUMNS
    assert len(rows) == 4 * 7, len(rows)  # 4 programs x pitches 24, 36, ..., 96, one velocity
    by_program = {}
    for r in rows:
        by_program.setdefault(r.program, set()).add(r.split)
        assert r.family in ("keyboard", "strings") and 24 <= r.pitch <= 96 and r.velocity == 100
    assert all(len(s) == 1 for s in by_program.values()), by_program
    assert {p: s.pop() for p, s in by_program.items()} == {0: "train", 1: "test", 40: "train", 43: "valid"}
    ds = NotesDataset(tiny_notes, split="all", families=["strings"])
    assert len(ds) == 2 * 7
    audio, pitch, family = ds[0]
    assert audio.shape == (64000,), audio.shape
    assert family == family_names().index("strings") and pitch == 24
    assert audio.abs().max() > 0.01


def test_rendering_is_deterministic(tiny_notes, tmp_path):
    sys.path.insert(0, str(REPO / "data"))
    import make_notes

    again = tmp_path / "again"
    assert make_notes.main(["--out", str(again), "--backend", "builtin", "--programs", "40",
                            "--pitch-step", "12", "--velocities", "100", "--workers", "0"]) == 0
    first = [r for r in read_manifest(tiny_notes) if r.program == 40]
    second = read_manifest(again)
    assert first == second
    for r in second:
        assert (again / r.file).read_bytes() == (tiny_notes / r.file).read_bytes(), r.file


def test_bad_inputs_name_the_value(tmp_path):
    with pytest.raises(ConfigError, match="unknown family 'kazoo'"):
        family_index("kazoo")
    with pytest.raises(BadInputError, match="manifest"):
        NotesDataset(tmp_path)
    with pytest.raises(ConfigError, match="split"):
        NotesDataset(tmp_path, split="dev")
