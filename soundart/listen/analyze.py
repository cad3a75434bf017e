"""Files and folders -> genre, mood and descriptors: one record per recording, streamed.

Decoding and the front end (``soundart.features``: one power spectrogram per file, its log-mel
for the classifier, descriptors from the same spectrogram) run in worker processes
(``listen/pool.py``); the classifier runs in the calling process on each file's chunks, and each
record is yielded as soon as its file is done, so a caller can write it out at once and keep no
list of results (an archive of 10,000+ files runs in flat memory). Every file gets a record:

* analysed: genre, mood, descriptors; ``short`` when it is shorter than the model's window (its
  log-mel is padded, as in training); ``silent`` (and nothing classified) when its peak stays
  below -80 dBFS; ``analysed_s`` when only its first ``max_duration`` seconds were read;
* not usable: ``{"file", "error"}`` with a one-line reason (missing, corrupt, truncated ...).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ConfigError, SoundartError
from soundart.io import AUDIO_FORMATS, is_audio_file

SILENCE_PEAK = 1e-4     # -80 dBFS: below this everywhere, a file is silent
MAX_DURATION_S = 1800.0  # read at most this much of a file: peak ~1.4 GB per worker, ~2 GB more per extra hour


def failure(path: str, reason: str) -> dict[str, Any]:
    """The record of a path that could not be analysed; ``reason`` without the path in front."""
    for prefix in (f"{path}: ", f"{Path(path)}: "):
        if reason.startswith(prefix):
            reason = reason[len(prefix):]
    return {"file": path, "error": reason}


def find_audio(paths: list[str], recursive: bool = False) -> tuple[list[str], list[dict[str, Any]]]:
    """Audio files named by ``paths`` (files, or folders scanned for audio suffixes).

    Returns the files in order, each once, and a failure record per unusable path: missing,
    unreadable, a folder with no audio, or a file with an unknown suffix.
    """
    files: list[str] = []
    failures: list[dict[str, Any]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            failures.append(failure(raw, "no such file or folder"))
        elif p.is_dir():
            if not os.access(p, os.R_OK | os.X_OK):
                failures.append(failure(raw, "folder cannot be read (permission denied)"))
                continue
            pattern = "**/*" if recursive else "*"
            try:
                found = sorted(str(f) for f in p.glob(pattern) if f.is_file() and is_audio_file(f))
            except OSError as exc:
                failures.append(failure(raw, f"folder cannot be read ({exc.strerror or exc})"))
                continue
            if not found:
                hint = "" if recursive else " (use --recursive to look in subfolders)"
                failures.append(failure(raw, f"folder holds no audio files{hint}"))
            files += found
        elif not is_audio_file(p):
            names = ", ".join(sorted({s.lstrip(".") for s in AUDIO_FORMATS}))
            failures.append(failure(raw, f"unsupported format {p.suffix or '(no suffix)'!r}; use one of {names}"))
        else:
            files.append(raw)
    seen: set[str] = set()  # a file named twice (a folder and one of its files) is analysed once
    unique = [f for f in files if not (os.path.normpath(f) in seen or seen.add(os.path.normpath(f)))]
    return unique, failures


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"K/N"`` or ``(K, N)`` -> (K, N) with 1 <= K <= N, or a ConfigError naming ``shard``."""
    if shard is None:
        return None
    if isinstance(shard, str):
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard)
        k, n = (int(m[1]), int(m[2])) if m else (0, 0)
    else:
        try:
            k, n = (int(v) for v in shard)
        except (TypeError, ValueError):
            k, n = 0, 0
    if not 1 <= k <= n:
        raise ConfigError(f"shard must be K/N with 1 <= K <= N (part K of N, e.g. 2/8), got {shard!r}")
    return k, n


def shard_files(files: list[str], k: int, n: int) -> list[str]:
    """Part ``k`` of ``n`` (1-based): every n-th file of the sorted list, from the k-th, kept in
    ``files``' order. The parts of 1/N ... N/N hold every file exactly once, for any N.
    """
    ranked = sorted(set(files))
    mine = {f for i, f in enumerate(ranked) if i % n == k - 1}
    return [f for f in files if f in mine]


def front_end(path: str, feature_dict: dict[str, Any], max_seconds: float | None = None) -> dict[str, Any]:
    """Decode one file and compute its log-mel and descriptors (runs in a worker).

    Returns ``{"path", "duration_s", "analysed_s", "warnings", "silent"}`` and, unless silent,
    ``"logmel": (n_mels, frames) float32`` and ``"descriptors"``; raises ``BadInputError`` for a
    missing, empty, corrupt or truncated file.
    """
    import torch

    from soundart import features
    from soundart.features import FeatureConfig
    from soundart.listen.decode import read_audio
    from soundart.listen.descriptors import describe

    cfg = FeatureConfig.from_dict(feature_dict)
    dec = read_audio(path, cfg.sr, max_seconds)
    prefix = f"{Path(path)}: "
    out: dict[str, Any] = {"path": path, "duration_s": dec.duration_s, "analysed_s": dec.analysed_s,
                           "warnings": [w[len(prefix):] if w.startswith(prefix) else w for w in dec.warnings]}
    audio = torch.from_numpy(dec.audio)
    out["silent"] = float(audio.abs().max()) < SILENCE_PEAK
    if out["silent"]:
        return out
    with torch.no_grad():
        S = features.spectrogram(audio, cfg)
        L = features.logmel(None, cfg, S=S)
    out["logmel"] = L.numpy()
    out["descriptors"] = describe(S, L, cfg, audio=dec.audio)
    return out


def _front_end_safe(job: tuple[str, dict[str, Any], float | None]) -> dict[str, Any]:
    path = job[0]
    try:
        return front_end(*job)
    except SoundartError as exc:
        return failure(path, str(exc)) | {"path": path}
    except MemoryError:
        return failure(path, "out of memory while decoding (lower --max-duration)") | {"path": path}
    except Exception as exc:  # anything else a broken file provokes: report it, keep going
        return failure(path, f"{type(exc).__name__}: {' '.join(str(exc).split())}") | {"path": path}


def _worker_died(job: tuple[str, dict[str, Any], float | None], code: int) -> dict[str, Any]:
    why = " (killed: out of memory?)" if code == -9 else ""
    return failure(job[0], f"the decoding process died on it, exit code {code}{why}") | {"path": job[0]}


def _init_worker() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    # one thread per worker for torch and for NumPy's BLAS (key chroma, loudness): each worker has a
    # core, and BLAS threads spinning beside the other processes halved throughput (bench_analyze)
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def _top(names: tuple[str, ...] | list[str], probs: np.ndarray, k: int) -> list[list[str | float]]:
    order = np.argsort(-probs)[:k]
    return [[names[i], round(float(probs[i]), 3)] for i in order]  # lists: a record is what its JSON reads back


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


def _record(net: Any, res: dict[str, Any], top: int, segments: bool, dev: Any) -> dict[str, Any]:
    """The output record of one front-end result (see the module docstring)."""
    import torch

    if "error" in res:
        return {"file": res["path"], "error": res["error"]}
    fcfg = net.config.features
    hop_s = fcfg.hop_length / fcfg.sr
    n = net.config.chunk_frames
    step = net.config.chunk_hop or n
    rec: dict[str, Any] = {"file": res["path"], "duration_s": round(res["duration_s"], 3)}
    if res["analysed_s"] < res["duration_s"] - 0.01:
        rec["analysed_s"] = round(res["analysed_s"], 3)
    frames = res["logmel"].shape[-1] if "logmel" in res else 1 + round(res["analysed_s"] / hop_s)
    rec["short"] = frames < n
    rec["silent"] = res["silent"]
    if not res["silent"]:
        L = torch.from_numpy(res["logmel"]).to(dev)
        whole, per_chunk = net.predict(L)
        probs = {k: v.cpu().numpy() for k, v in whole.items()}
        chunk_probs = {k: v.cpu().numpy() for k, v in per_chunk.items()}
        rec.update(summarize(net, probs, top))
        rec.update(res["descriptors"])
        if segments:
            segs = []
            for i in range(chunk_probs["genre"].shape[0]):
                one = summarize(net, {k: v[i] for k, v in chunk_probs.items()}, 1)
                start = i * step * hop_s
                end = min(start + n * hop_s, res["analysed_s"])  # a padded chunk ends with the audio
                segs.append({"start_s": round(start, 2), "end_s": round(end, 2),
                             "genre": one["genre"], "genre_p": one["genre_p"], "mood": one["mood"],
                             "mood_p": one["mood_p"], "valence": one["valence"], "arousal": one["arousal"]})
            rec["segments"] = segs
    if res["warnings"]:
        rec["warnings"] = res["warnings"]
    return rec


def _check_options(top: int, workers: int | None, max_duration: float | None) -> None:
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or not 1 <= top <= 1000:
        raise ConfigError(f"top must be a whole number in 1..1000, got {top!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or not 1 <= workers <= 256):
        raise ConfigError(f"workers must be a whole number in 1..256, got {workers!r}")
    if max_duration is not None and (not isinstance(max_duration, (int, float)) or not math.isfinite(max_duration)
                                     or max_duration <= 0):
        raise ConfigError(f"max_duration must be a number of seconds > 0, got {max_duration!r}")


def analyze(paths: str | os.PathLike | Iterable[str | os.PathLike], *, model: str = "listen",
            device: str = "auto", workers: int | None = None, top: int = 3, segments: bool = False,
            recursive: bool = False, shard: str | tuple[int, int] | None = None,
            skip: Iterable[str] = (), max_duration: float | None = MAX_DURATION_S,
            progress: bool = False) -> Iterator[dict[str, Any]]:
    """Analyse audio files and folders, yielding one record per file as soon as it is done.

    Parameters
    ----------
    paths : a file or folder, or several.
    model : shipped model name or checkpoint path of a ``listen-cnn`` model.
    device : "auto" | "cpu" | "cuda" (the classifier; decoding is always on the CPU).
    workers : decoding processes (None: up to 2, at most the number of CPUs).
    top : how many labels with probabilities to list per head (1..1000).
    segments : add per-chunk (about 3 s) genre and mood over time.
    recursive : look into subfolders.
    shard : ``"K/N"`` or ``(K, N)``: analyse only part K of N (1-based) of the files, for a job
        array; the files are sorted and dealt round-robin, so the N parts hold every file once.
    skip : files not to analyse again (``soundart.listen.records.done_files(path)`` lists those an
        earlier output holds: that is ``--resume``).
    max_duration : read at most this many seconds of each file (None: all of it); a longer file
        is analysed on its first ``max_duration`` seconds and its record says ``analysed_s``.
    progress : show progress on stderr (a bar with rate and ETA on a terminal, plain lines in a log).

    Yields
    ------
    dict
        One record per file, the fields of ``soundart analyze --format jsonl``: ``file``,
        ``duration_s``, ``short``, ``silent``, ``analysed_s`` (only when cut), ``genre``,
        ``genre_p``, ``genres``, ``mood``, ``mood_p``, ``moods``, ``valence``, ``arousal`` (each
        -1..1), ``tags``, ``emotions``, the descriptors (``tempo_bpm``, ``key`` ...), ``warnings``
        (when the decoder had any) and ``segments`` when asked; a silent file has no labels nor
        descriptors. A path that cannot be analysed yields ``{"file": ..., "error": reason}``.

    Examples
    --------
    >>> import soundart
    >>> for rec in soundart.analyze("archive/", recursive=True, workers=2):  # doctest: +SKIP
    ...     if "error" in rec:
    ...         print(rec["file"], "failed:", rec["error"])
    ...     elif not rec["silent"]:
    ...         print(rec["file"], rec["genre"], rec["mood"], rec["tempo_bpm"])
    """
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    # everything a caller can get wrong is checked here, at the call, not at the first record
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    _check_options(top, workers, max_duration)
    part = parse_shard(shard)
    files, failures = find_audio(paths, recursive)
    if part is not None:
        files = shard_files(files, *part)
    done = {os.path.normpath(os.fspath(s)) for s in skip}
    todo = [f for f in files if os.path.normpath(f) not in done]
    net = dev = None
    if todo:
        dev = resolve_device(device)
        net = load_model(model, device=dev, expect_kind="listen-cnn")
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    return _stream(failures, todo, len(files), net, dev, workers, top, segments, max_duration, progress)


def _stream(failures: list[dict[str, Any]], todo: list[str], total: int, net: Any, dev: Any, workers: int,
            top: int, segments: bool, max_duration: float | None, progress: bool) -> Iterator[dict[str, Any]]:
    import torch

    from soundart.listen.pool import ordered_map
    from soundart.progress import progress as progress_bar

    yield from failures
    if not todo:
        return
    if workers > 1 and len(todo) > 1 and dev.type == "cpu":
        torch.set_num_threads(1)  # the workers use the other cores
    jobs = [(f, net.config.features.to_dict(), max_duration) for f in todo]
    results = ordered_map(_front_end_safe, jobs, workers, init=_init_worker, on_crash=_worker_died)
    bar = progress_bar(total=total, initial=total - len(todo), desc="analyze", unit="file",
                       quiet=not progress or len(todo) < 2)
    try:
        for res in results:
            yield _record(net, res, top, segments, dev)
            bar.update(1)
    finally:
        results.close()  # stops the workers now, also when the caller stops early or is interrupted
        bar.close()
