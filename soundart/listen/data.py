"""Labelled recordings for the listening models: readers, artist-grouped splits, a feature cache.

Three layouts are read into one list of :class:`Item`:

* ``mood4q`` (Panda et al. 2018): ``ROOT/metadata.csv`` with ``file, artist,
  quadrant, moods, genres``; the quadrant gives the mood label and the
  ``;``-separated AllMusic genres give multi-label genre *tags*.
* ``emotify`` (Aljanaki et al. 2016): ``ROOT/<genre>/<track id>.ogg`` and
  ``ROOT/annotations.csv`` (one row per listener); the genre folder is the
  genre label and the listeners' GEMS choices give a 9-emotion profile. The
  set lists no artists, so tracks are grouped in blocks of
  ``EMOTIFY_BLOCK`` consecutive track ids per genre (tracks of one album were
  numbered together), and near-duplicate recordings anywhere in a source join
  one group (:mod:`soundart.listen.groups`: their long-term spectra match).
* any folder ``ROOT/<genre>/*.wav|flac|ogg|mp3`` (genre labels only), or a CSV
  manifest with columns ``path, genre, quadrant, tags, artist`` (any may be empty).

Splits are by group (the artist where known, merged with near-duplicates): no group is in two
splits. The split of the shared data is listed in ``data/listen-split.csv`` (a test keeps it fixed).
Features are the shared pipeline's log-mel (``soundart.features``) of the whole
recording, cached as float16 ``.npy`` in a gitignored folder (``data/cache/``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import BadInputError, ConfigError
from soundart.io import is_audio_file
from soundart.listen.groups import NEAR_DUPLICATE_THRESHOLD, link_near_duplicates, spectral_fingerprint

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
QUADRANT_NAMES = ("happy/energetic", "angry/tense", "sad/depressed", "calm/tender")
GEMS = ("amazement", "solemnity", "tenderness", "nostalgia", "calmness", "power",
        "joyful_activation", "tension", "sadness")
EMOTIFY_BLOCK = 10
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class Item:
    """One labelled recording. Missing labels are None / empty."""

    path: str
    group: str                      # split unit: the artist, or a block of tracks
    source: str                     # "mood4q", "emotify", "folder", "manifest"
    genre: str | None = None        # single-label genre
    quadrant: int | None = None     # 0..3 for Q1..Q4
    tags: tuple[str, ...] = ()      # multi-label genre tags (AllMusic)
    gems: tuple[float, ...] | None = None  # emotify emotion profile, fractions of listeners
    split: str = ""


@dataclass
class ListenDataConfig:
    """Where the labelled audio is and how it is split (a recipe's ``data:``).

    ``mood4q`` / ``emotify`` / ``folder`` / ``manifest``: roots or CSV path ("" = not used;
    relative paths are read from the current folder). ``test_fraction`` and
    ``val_fraction`` of the groups of each stratum go to test and validation. ``init_from`` starts
    the network from a trained listening model (a checkpoint path or a shipped name, e.g. ``listen``),
    fine-tuning it on these labels (its heads start afresh).
    """

    mood4q: str = "../shared/data/mood4q"
    emotify: str = "../shared/data/emotify"
    folder: str = ""
    manifest: str = ""
    cache_dir: str = "data/cache/listen"
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    split_seed: int = 0
    max_items: int = 0              # 0 = all; >0 keeps the first N per source (tests)
    workers: int = 2                # processes that decode while the cache is built
    near_duplicates: float = NEAR_DUPLICATE_THRESHOLD  # fingerprint similarity that joins groups; 0 = off
    init_from: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.test_fraction < 1 or not 0 <= self.val_fraction < 1:
            raise ConfigError("data: test_fraction and val_fraction must be in [0, 1)")
        if self.test_fraction + self.val_fraction >= 1:
            raise ConfigError("data: test_fraction + val_fraction must be < 1")
        if not 0 <= self.near_duplicates <= 1:
            raise ConfigError("data: near_duplicates must be a similarity in [0, 1] (0 = off)")


def _split_tags(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(";") if t.strip())


def read_mood4q(root: str | Path) -> list[Item]:
    """Items of the mood4q layout (quadrant + AllMusic genre tags, grouped by artist)."""
    root = Path(root)
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise BadInputError(f"{root}: not a mood4q folder (no metadata.csv)")
    items = []
    with open(meta, newline="") as fh:
        for row in csv.DictReader(fh):
            q = row["quadrant"].strip()
            items.append(Item(path=str(root / row["file"]), group="artist:" + row["artist"].strip().lower(),
                              source="mood4q", quadrant=QUADRANTS.index(q) if q in QUADRANTS else None,
                              tags=_split_tags(row.get("genres", ""))))
    return items


def read_emotify(root: str | Path) -> list[Item]:
    """Items of the emotify layout (genre + GEMS profile, grouped by blocks of track ids)."""
    root = Path(root)
    ann = root / "annotations.csv"
    if not ann.is_file():
        raise BadInputError(f"{root}: not an emotify folder (no annotations.csv)")
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    with open(ann, newline="") as fh:
        for row in csv.DictReader(fh, skipinitialspace=True):
            row = {k.strip(): v for k, v in row.items()}
            tid = row["track id"].strip()
            vec = np.array([float(row[g]) for g in GEMS])
            sums[tid] = sums.get(tid, 0) + vec
            counts[tid] = counts.get(tid, 0) + 1
    items = []
    for genre_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted((p for p in genre_dir.iterdir() if is_audio_file(p)), key=lambda p: int(p.stem)
                       if p.stem.isdigit() else 0)
        for path in files:
            tid = path.stem
            gems = tuple(float(x) for x in sums[tid] / counts[tid]) if tid in sums else None
            block = int(tid) // EMOTIFY_BLOCK if tid.isdigit() else tid
            items.append(Item(path=str(path), group=f"emotify:{genre_dir.name}:{block}", source="emotify",
                              genre=genre_dir.name, gems=gems))
    return items


def read_folder(root: str | Path) -> list[Item]:
    """``ROOT/<genre>/*.audio``: one item per file, genre = folder name, group = the file."""
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder")
    items = [Item(path=str(p), group=f"file:{p}", source="folder", genre=p.parent.name)
             for p in sorted(root.glob("*/*")) if p.is_file() and is_audio_file(p)]
    if not items:
        raise BadInputError(f"{root}: no audio files in ROOT/<label>/ folders")
    return items


def read_manifest(path: str | Path) -> list[Item]:
    """CSV manifest ``path, genre, quadrant, tags, artist`` (paths relative to the CSV)."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: no such manifest")
    items = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if "path" not in row:
                raise BadInputError(f"{path}: a manifest needs a 'path' column")
            audio = Path(row["path"])
            audio = audio if audio.is_absolute() else path.parent / audio
            q = (row.get("quadrant") or "").strip()
            artist = (row.get("artist") or "").strip().lower()
            items.append(Item(path=str(audio), group=f"artist:{artist}" if artist else f"file:{audio}",
                              source="manifest", genre=(row.get("genre") or "").strip() or None,
                              quadrant=QUADRANTS.index(q) if q in QUADRANTS else None,
                              tags=_split_tags(row.get("tags", ""))))
    return items


def read_items(cfg: ListenDataConfig) -> list[Item]:
    """All items the config names, each with ``split`` set to train / val / test."""
    items: list[Item] = []
    for attr, reader in (("mood4q", read_mood4q), ("emotify", read_emotify), ("folder", read_folder),
                         ("manifest", read_manifest)):
        where = getattr(cfg, attr)
        if where:
            got = reader(where)
            items += got[:cfg.max_items] if cfg.max_items else got
    if not items:
        raise ConfigError("data: no source given (mood4q, emotify, folder or manifest)")
    if cfg.near_duplicates > 0:
        prints = fingerprints(items, cfg.cache_dir, cfg.workers)   # drops files that cannot be decoded
        for source in sorted({it.source for it in items}):
            idx = [i for i, it in enumerate(items) if it.source == source]
            link_near_duplicates([items[i] for i in idx], prints[idx], cfg.near_duplicates)
    assign_splits(items, cfg.test_fraction, cfg.val_fraction, cfg.split_seed)
    return items


def assign_splits(items: list[Item], test_fraction: float, val_fraction: float, seed: int) -> None:
    """Set ``item.split`` so that every group lands in exactly one split.

    Groups are shuffled per stratum (source, plus genre where the source has
    genre folders) and taken for test, then validation, until each holds its
    fraction of that stratum's items.
    """
    by_group: dict[str, list[Item]] = {}
    for item in items:
        by_group.setdefault(item.group, []).append(item)
    strata: dict[str, dict[str, list[Item]]] = {}
    for group, members in by_group.items():
        first = members[0]   # a group that spans genres (near-duplicates) is placed with its first item's
        stratum = first.source + (f":{first.genre}" if first.source in ("emotify", "folder") else "")
        strata.setdefault(stratum, {})[group] = members
    for stratum in sorted(strata):
        groups = strata[stratum]
        names = sorted(groups)
        random.Random(f"{seed}:{stratum}").shuffle(names)
        total = sum(len(v) for v in groups.values())
        taken = 0
        for name in names:
            if taken < test_fraction * total:
                split = "test"
            elif taken < (test_fraction + val_fraction) * total:
                split = "val"
            else:
                split = "train"
            for item in groups[name]:
                item.split = split
            taken += len(groups[name])


# -- the feature cache -----------------------------------------------------------------

CACHE_VERSION = 2
# The fingerprint's own front end: fixed, so the groups (and the split) do not depend on a model's features.
FINGERPRINT_FEATURES = {"sr": 16000, "n_fft": 2048, "hop_length": 1024, "n_mels": 64, "fmax": 8000.0}

def _cache_key(path: str, features: dict[str, Any]) -> str:
    p = Path(path).resolve()
    stat = p.stat()
    text = json.dumps([CACHE_VERSION, str(p), stat.st_size, int(stat.st_mtime), features], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def extract(path: str, feature_dict: dict[str, Any]) -> dict[str, np.ndarray]:
    """Decode one file and compute its features with the shared pipeline.

    Returns ``logmel`` (n_mels, frames) float16 and ``mfcc_stats`` (2 * n_mfcc,)
    float32: the mean and standard deviation over time of the MFCCs (the baseline's input).
    """
    import torch

    from soundart import features
    from soundart.features import FeatureConfig
    from soundart.io import load_audio

    cfg = FeatureConfig.from_dict(feature_dict)
    audio, _ = load_audio(path, sr=cfg.sr)
    with torch.no_grad():
        S = features.spectrogram(audio[0], cfg)
        L = features.logmel(None, cfg, S=S)
        M = features.mfcc(None, cfg, S=S)
    stats = torch.cat([M.mean(-1), M.std(-1)]).numpy().astype(np.float32)
    return {"logmel": L.numpy().astype(np.float16), "mfcc_stats": stats}


def _ignore_interrupt() -> None:
    """Ctrl-C reaches the whole process group: the main process stops the pool, so a worker only has to
    go quietly (else every worker printed its KeyboardInterrupt traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def extract_fingerprint(path: str, feature_dict: dict[str, Any]) -> dict[str, np.ndarray]:
    """Decode one file and compute its spectral fingerprint (:mod:`soundart.listen.groups`)."""
    import torch

    from soundart import features
    from soundart.features import FeatureConfig
    from soundart.io import load_audio

    cfg = FeatureConfig.from_dict(feature_dict)
    audio, _ = load_audio(path, sr=cfg.sr)
    with torch.no_grad():
        S = features.spectrogram(audio[0], cfg).numpy()
    return {"fingerprint": spectral_fingerprint(S ** (2.0 / cfg.power))}


def _extract_cached(args: tuple[str, dict[str, Any], str]) -> tuple[str, str | None]:
    path, feature_dict, cache_dir = args
    import torch

    torch.set_num_threads(1)
    try:
        out = Path(cache_dir) / (_cache_key(path, feature_dict) + ".npz")
        if not out.exists():
            result = (extract_fingerprint if feature_dict == FINGERPRINT_FEATURES else extract)(path, feature_dict)
            tmp = out.with_name(out.stem + ".part.npz")
            np.savez(tmp, **result)
            tmp.replace(out)
        return path, None
    except Exception as exc:  # one bad file must not stop the cache build
        return path, " ".join(str(exc).split())


def cached_features(items: list[Item], feature_dict: dict[str, Any], cache_dir: str,
                    workers: int = 2, progress: bool = True) -> list[dict[str, np.ndarray]]:
    """Features of every item, computed once (in ``workers`` processes) and then read from the cache.

    Items whose file cannot be decoded are reported on stderr and dropped from
    ``items`` in place; the returned list matches the remaining items.
    """
    import multiprocessing as mp
    import sys

    from soundart.progress import progress as progress_bar

    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    todo = [(it.path, feature_dict, cache_dir) for it in items
            if not (Path(cache_dir) / (_cache_key(it.path, feature_dict) + ".npz")).exists()]
    failed: dict[str, str] = {}
    if todo:
        bar = progress_bar(total=len(todo), desc="features", unit="file", quiet=not progress)
        if workers > 1:
            with mp.get_context("fork").Pool(workers, initializer=_ignore_interrupt) as pool:
                for path, err in pool.imap_unordered(_extract_cached, todo, chunksize=4):
                    if err:
                        failed[path] = err
                    bar.update()
        else:
            for args in todo:
                path, err = _extract_cached(args)
                if err:
                    failed[path] = err
                bar.update()
        bar.close()
    for path, err in failed.items():
        print(f"skipped {path}: {err}", file=sys.stderr)
    items[:] = [it for it in items if it.path not in failed]
    out = []
    for it in items:
        with np.load(Path(cache_dir) / (_cache_key(it.path, feature_dict) + ".npz")) as z:
            out.append({k: z[k] for k in z.files})
    return out


def fingerprints(items: list[Item], cache_dir: str, workers: int = 2) -> np.ndarray:
    """Spectral fingerprints ``(N, n_freqs)`` of the items (cached like the features; undecodable items
    are reported and dropped from ``items``)."""
    feats = cached_features(items, FINGERPRINT_FEATURES, cache_dir, workers, progress=False)
    return np.stack([f["fingerprint"] for f in feats]) if feats else np.zeros((0, 1), np.float32)


def split_rows(items: list[Item], roots: dict[str, str]) -> list[dict[str, str]]:
    """One row per item: ``source, file`` (relative to the source's root in ``roots``), ``group, split``;
    sorted, so that a listing written once can be compared with the split computed today."""
    rows = []
    for it in items:
        root = roots.get(it.source)
        file = Path(it.path).relative_to(root).as_posix() if root else it.path
        rows.append({"source": it.source, "file": file, "group": it.group, "split": it.split})
    return sorted(rows, key=lambda r: (r["source"], r["file"]))
