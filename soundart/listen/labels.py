"""The genre taxonomy, and how each source's labels become per-genre targets.

The genre head answers "which of these genres does this recording belong to"
with one independent probability per genre (multi-label), because the labels
say so: AllMusic tags a recording with every genre it fits. Sources and what
they tell about each genre of :data:`TAXONOMY`:

* a genre folder or column (emotify, ``ROOT/<genre>/``, a manifest's ``genre``):
  that genre is true, and the other genres *that source uses* are false (an
  emotify rock track is not pop); genres the source never names stay unknown;
* AllMusic tags (mood4q, a manifest's ``tags``): every genre the tags can name is
  true or false, except that ``Pop/Rock`` says "pop, rock or both": pop and rock
  are then unknown one by one and only "at least one of them" is trained
  (:attr:`GenreTargets.either`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

TAXONOMY = ("classical", "electronic", "pop", "rock", "jazz", "r&b", "blues", "country", "latin", "rap", "folk",
            "new age", "reggae")
ALLMUSIC_GENRES = {"Classical": "classical", "Electronic": "electronic", "Jazz": "jazz", "R&B": "r&b",
                   "Blues": "blues", "Country": "country", "Latin": "latin", "Rap": "rap", "Folk": "folk",
                   "New Age": "new age", "Reggae": "reggae"}
EITHER_TAGS = {"Pop/Rock": ("pop", "rock")}   # a tag that names "one or both" of several genres


@dataclass
class Labels:
    """The label vocabularies a model is trained on (stored in its config)."""

    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenreTargets:
    """Per-genre training targets of one recording: ``target`` where ``mask`` is 1; ``either`` marks genres
    of which at least one is true (each alone unknown)."""

    target: np.ndarray
    mask: np.ndarray
    either: np.ndarray


def genre_names_of_tags(tags: tuple[str, ...] | list[str]) -> set[str]:
    """Taxonomy genres a tag list names (``Pop/Rock`` names both pop and rock)."""
    names = {ALLMUSIC_GENRES[t] for t in tags if t in ALLMUSIC_GENRES}
    for t in tags:
        names.update(EITHER_TAGS.get(t, ()))
    return names


def _ordered(names: set[str]) -> tuple[str, ...]:
    return tuple(g for g in TAXONOMY if g in names) + tuple(sorted(names - set(TAXONOMY)))


def label_vocab(items: list[Any], max_tags: int = 12, min_tag_count: int = 20) -> Labels:
    """Genres the items can teach (folder genres and those their tags name, in :data:`TAXONOMY` order) and
    the most frequent other tags (at least ``min_tag_count`` items, genre tags excluded)."""
    genres = {it.genre for it in items if it.genre}
    counts: dict[str, int] = {}
    for it in items:
        genres |= genre_names_of_tags(it.tags)
        for t in set(it.tags):
            if t not in ALLMUSIC_GENRES and t not in EITHER_TAGS:
                counts[t] = counts.get(t, 0) + 1
    common = sorted((t for t, c in counts.items() if c >= min_tag_count), key=lambda t: (-counts[t], t))
    return Labels(genres=_ordered(genres), tags=tuple(common[:max_tags]))


def source_genres(items: list[Any]) -> dict[str, set[str]]:
    """The single-label genres each source uses (what an item's folder genre rules out)."""
    out: dict[str, set[str]] = {}
    for it in items:
        if it.genre:
            out.setdefault(it.source, set()).add(it.genre)
    return out


def genre_targets(item: Any, genres: tuple[str, ...], exclusive: dict[str, set[str]]) -> GenreTargets:
    """Targets of one item over ``genres`` (see the module docstring for what each source tells)."""
    n = len(genres)
    target, mask, either = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    index = {g: i for i, g in enumerate(genres)}
    if item.tags:
        named = {ALLMUSIC_GENRES[t] for t in item.tags if t in ALLMUSIC_GENRES}
        for g in set(ALLMUSIC_GENRES.values()) | {m for ms in EITHER_TAGS.values() for m in ms}:
            if g in index:
                mask[index[g]], target[index[g]] = 1.0, float(g in named)
        for tag, members in EITHER_TAGS.items():
            if tag in item.tags:
                for g in members:
                    if g in index:
                        mask[index[g]], either[index[g]] = 0.0, 1.0
    if item.genre:
        for g in exclusive.get(item.source, ()):
            if g in index:
                mask[index[g]], target[index[g]] = 1.0, 0.0
        if item.genre in index:
            i = index[item.genre]
            mask[i], target[i], either[i] = 1.0, 1.0, 0.0
    return GenreTargets(target, mask, either)
