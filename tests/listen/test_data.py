"""Readers and artist-grouped splits."""

from __future__ import annotations

import pytest

from soundart.listen.data import Item, ListenDataConfig, assign_splits, read_emotify, read_mood4q
from tests.conftest import SHARED_DATA


def test_no_group_in_two_splits():
    items = [Item(path=f"{i}.wav", group=f"artist{i % 13}", source="manifest") for i in range(100)]
    assign_splits(items, 0.2, 0.1, seed=3)
    where: dict[str, set[str]] = {}
    for it in items:
        where.setdefault(it.group, set()).add(it.split)
    assert all(len(s) == 1 for s in where.values()), where
    counts = {s: sum(it.split == s for it in items) for s in ("train", "val", "test")}
    assert counts["test"] >= 15 and counts["val"] >= 5 and counts["train"] >= 60, counts


def test_fractions_are_checked():
    from soundart.errors import ConfigError

    with pytest.raises(ConfigError):
        ListenDataConfig(test_fraction=0.6, val_fraction=0.5)


@pytest.mark.skipif(not (SHARED_DATA / "mood4q").is_dir(), reason=f"shared data absent: {SHARED_DATA}/mood4q")
def test_real_sets_split_by_artist_and_block():
    items = read_mood4q(SHARED_DATA / "mood4q") + read_emotify(SHARED_DATA / "emotify")
    assign_splits(items, 0.2, 0.1, seed=0)
    artists = {}
    for it in items:
        artists.setdefault(it.group, set()).add(it.split)
    assert all(len(s) == 1 for s in artists.values())
    test_genres = {it.genre for it in items if it.split == "test" and it.source == "emotify"}
    assert test_genres == {"classical", "electronic", "pop", "rock"}, test_genres
    assert all(it.gems is not None and len(it.gems) == 9 for it in items if it.source == "emotify")


@pytest.mark.skipif(not (SHARED_DATA / "mood4q").is_dir(), reason=f"shared data absent: {SHARED_DATA}/mood4q")
def test_the_documented_split_is_the_computed_one():
    """data/listen-split.csv is the fixed test split every figure is measured on: recomputing it (artists,
    emotify blocks, near-duplicates) must give the same listing, and no group may sit in two splits."""
    import csv
    import importlib.util

    from tests.conftest import REPO_ROOT

    spec = importlib.util.spec_from_file_location("make_listen_split", REPO_ROOT / "data" / "make_listen_split.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(module.LISTING, newline="") as fh:
        listed = list(csv.DictReader(fh))
    assert module.computed_rows() == listed
    where: dict[str, set[str]] = {}
    for row in listed:
        where.setdefault(row["group"], set()).add(row["split"])
    assert all(len(s) == 1 for s in where.values())
