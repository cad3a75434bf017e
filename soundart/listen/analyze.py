"""Files and folders -> genre, mood and descriptors, one result per recording.

Decoding and the front end (``soundart.features``: one power spectrogram per
file, its log-mel for the classifier, descriptors from the same spectrogram)
run in worker processes; the classifier runs in the calling process on each
file's chunks. A file that cannot be analysed becomes a failure record (path +
one-line reason) and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import BadInputError, SoundartError
from soundart.io import AUDIO_FORMATS, is_audio_file

MIN_SECONDS = 1.0
SILENCE_PEAK = 1e-4  # -80 dBFS: below this everywhere, a file is silent


@dataclass
class Failure:
    """A file that could not be analysed."""

    path: str
    reason: str


def find_audio(paths: list[str], recursive: bool = False) -> tuple[list[str], list[Failure]]:
    """Audio files named by ``paths`` (files, or folders scanned for audio suffixes).

    Returns the files in order and a failure per unusable path: missing,
    unreadable, a folder with no audio, or a file with an unknown suffix.
    """
    files: list[str] = []
    failures: list[Failure] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            failures.append(Failure(raw, "no such file or folder"))
        elif p.is_dir():
            if not os.access(p, os.R_OK | os.X_OK):
                failures.append(Failure(raw, "folder cannot be read (permission denied)"))
                continue
            pattern = "**/*" if recursive else "*"
            try:
                found = sorted(str(f) for f in p.glob(pattern) if f.is_file() and is_audio_file(f))
            except OSError as exc:
                failures.append(Failure(raw, f"folder cannot be read ({exc.strerror or exc})"))
                continue
            if not found:
                hint = "" if recursive else " (use --recursive to look in subfolders)"
                failures.append(Failure(raw, f"folder holds no audio files{hint}"))
            files += found
        elif not is_audio_file(p):
            names = ", ".join(sorted({s.lstrip(".") for s in AUDIO_FORMATS}))
            failures.append(Failure(raw, f"unsupported format {p.suffix or '(no suffix)'!r}; use one of {names}"))
        else:
            files.append(raw)
    return files, failures


def front_end(path: str, feature_dict: dict[str, Any]) -> dict[str, Any]:
    """Decode one file and compute its log-mel and descriptors (runs in a worker).

    Returns ``{"path", "duration_s", "logmel": (n_mels, frames) float32, "descriptors"}``;
    raises ``BadInputError`` for empty, corrupt, truncated, silent or < 1 s audio.
    """
    import torch

    from soundart import features
    from soundart.features import FeatureConfig
    from soundart.io import load_audio
    from soundart.listen.descriptors import describe

    cfg = FeatureConfig.from_dict(feature_dict)
    audio, sr = load_audio(path, sr=cfg.sr)
    duration = audio.shape[-1] / sr
    if duration < MIN_SECONDS:
        raise BadInputError(f"{path}: too short ({duration:.2f} s; need at least {MIN_SECONDS:g} s)")
    if float(audio.abs().max()) < SILENCE_PEAK:
        raise BadInputError(f"{path}: silent (peak below -80 dBFS)")
    with torch.no_grad():
        S = features.spectrogram(audio[0], cfg)
        L = features.logmel(None, cfg, S=S)
    return {"path": path, "duration_s": duration, "logmel": L.numpy(), "descriptors": describe(S, L, cfg)}


def _front_end_safe(args: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    path, feature_dict = args
    try:
        return front_end(path, feature_dict)
    except SoundartError as exc:
        return {"path": path, "error": str(exc)}
    except Exception as exc:  # anything else a broken file provokes: report it, keep going
        return {"path": path, "error": f"{path}: {type(exc).__name__}: {' '.join(str(exc).split())}"}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def front_ends(files: list[str], feature_dict: dict[str, Any], workers: int) -> Iterator[dict[str, Any]]:
    """Front-end results in file order, from ``workers`` processes (in-process when 1 or one file)."""
    jobs = [(f, feature_dict) for f in files]
    if workers <= 1 or len(files) <= 1:
        for job in jobs:
            yield _front_end_safe(job)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap(_front_end_safe, jobs, chunksize=1)


def _top(names: tuple[str, ...] | list[str], probs: np.ndarray, k: int) -> list[tuple[str, float]]:
    order = np.argsort(-probs)[:k]
    return [(names[i], round(float(probs[i]), 3)) for i in order]


def summarize(model: Any, probs: dict[str, np.ndarray], top: int) -> dict[str, Any]:
    """Readable labels and probabilities from recording-level head outputs."""
    cfg = model.config
    q = probs["quadrant"]
    valence, arousal = q[0] + q[3], q[0] + q[1]
    best_q = int(np.argmax(q))
    out: dict[str, Any] = {
        "genre": cfg.genres[int(np.argmax(probs["genre"]))] if cfg.genres else None,
        "genre_p": round(float(probs["genre"].max()), 3) if cfg.genres else None,
        "genres": _top(cfg.genres, probs["genre"], top) if cfg.genres else [],
        "mood": model.quadrant_names[best_q],
        "mood_p": round(float(q[best_q]), 3),
        "moods": _top(list(model.quadrant_names), q, top),
        "valence": round(float(valence - (1 - valence)), 3),   # P(+) - P(-): -1..1
        "arousal": round(float(arousal - (1 - arousal)), 3),
    }
    if cfg.tags:
        out["tags"] = _top(cfg.tags, probs["tags"], top)
    out["emotions"] = _top(cfg.gems, probs["gems"], top)
    return out


def analyze(paths: list[str], model: str = "listen", device: str = "auto", workers: int | None = None,
            top: int = 3, segments: bool = False, recursive: bool = False, progress: bool = False
            ) -> Iterator[dict[str, Any] | Failure]:
    """Analyse audio files and folders.

    Parameters
    ----------
    paths : files and/or folders.
    model : shipped model name or checkpoint path of a ``listen-cnn`` model.
    device : "auto" | "cpu" | "cuda".
    workers : decoding processes (None: up to 2, at most the number of CPUs).
    top : how many labels with probabilities to list per head.
    segments : add per-chunk (about 3 s) genre and mood over time.
    recursive : look into subfolders.
    progress : tqdm bar on stderr (shown when there are several files).

    Yields
    ------
    One dict per analysed file (file, duration_s, genre, genre_p, genres, mood,
    mood_p, moods, valence, arousal (each -1..1), tags, emotions, descriptors...,
    and ``segments`` when asked), or a ``Failure`` per unusable path or file.
    """
    import torch

    from soundart.models import load_model
    from soundart.runtime import resolve_device

    files, failures = find_audio(paths, recursive)
    yield from failures
    if not files:
        return
    dev = resolve_device(device)
    net = load_model(model, device=dev, expect_kind="listen-cnn")
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if workers > 1 and len(files) > 1 and dev.type == "cpu":
        torch.set_num_threads(1)
    feature_dict = net.config.features.to_dict()
    results = front_ends(files, feature_dict, workers)
    if progress and len(files) > 1:
        import sys

        from tqdm import tqdm

        results = tqdm(results, total=len(files), desc="analyze", unit="file", file=sys.stderr)
    hop_s = net.config.features.hop_length / net.config.features.sr
    for res in results:
        if "error" in res:
            yield Failure(res["path"], res["error"])
            continue
        L = torch.from_numpy(res["logmel"]).to(dev)
        chunk_probs = {k: v.cpu().numpy() for k, v in net.predict_chunks(net.chunks(L)).items()}
        probs = {k: v.mean(0) for k, v in chunk_probs.items()}
        row: dict[str, Any] = {"file": res["path"], "duration_s": round(res["duration_s"], 2)}
        row.update(summarize(net, probs, top))
        row.update(res["descriptors"])
        if segments:
            n = net.config.chunk_frames
            segs = []
            for i in range(chunk_probs["genre"].shape[0]):
                one = summarize(net, {k: v[i] for k, v in chunk_probs.items()}, 1)
                segs.append({"start_s": round(i * n * hop_s, 2), "end_s": round((i + 1) * n * hop_s, 2),
                             "genre": one["genre"], "genre_p": one["genre_p"], "mood": one["mood"],
                             "mood_p": one["mood_p"], "valence": one["valence"], "arousal": one["arousal"]})
            row["segments"] = segs
        yield row
