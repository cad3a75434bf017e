"""``soundart.train(recipe)`` and ``soundart.evaluate(kind, ...)``: the library doors the ``train`` and
``eval`` commands open. Arguments match the commands' options one to one; errors name the arguments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from soundart.train.recipe import Recipe, TrainResult

EVALUATIONS = ("music", "sketches", "listen")


def train(recipe: str | os.PathLike | Recipe, out: str | os.PathLike | None = None, resume: bool = False,
          force: bool = False, quiet: bool = False, steps: int | None = None, device: str | None = None,
          seed: int | None = None, batch_size: int | None = None) -> TrainResult:
    """Train the model a recipe describes, with the shared training loop (``soundart train``).

    Parameters
    ----------
    recipe : path of a recipe YAML, or a loaded ``soundart.train.Recipe``.
    out : run folder (default ``runs/NAME``): checkpoints, ``log.jsonl``, the final model ``out/model``.
    resume : continue the run saved in ``out``.
    force : start over in a run folder that holds a run (its run files are removed first).
    quiet : no progress (a bar on a terminal, a line every 10% in a log).
    steps, device, seed, batch_size : override the recipe's ``train`` fields of the same name
        (``steps`` counts optimiser steps; ``batch_size`` is the global batch in items).

    Returns
    -------
    TrainResult
        ``out`` (run folder), ``model`` (final checkpoint stem), ``steps``, ``val`` (last validation
        figures, e.g. ``{"loss": ...}`` in the model's loss units), ``best_val`` (lowest validation
        loss), ``metrics`` (the task's measured figures).

    Raises
    ------
    ConfigError
        A bad recipe field (named ``train.steps`` ...), or a run folder that holds a run without
        ``resume`` or ``force``. KeyboardInterrupt (Ctrl-C, SIGTERM) after saving the state.

    Examples
    --------
    >>> import soundart
    >>> result = soundart.train("recipes/rnn-debug.yaml", out="runs/try", steps=3, quiet=True)  # doctest: +SKIP
    >>> result.steps, result.model                                                             # doctest: +SKIP
    (3, PosixPath('runs/try/model'))
    """
    from soundart.train.recipe import fit_recipe, load_recipe

    overrides = {"steps": steps, "out_dir": None if out is None else str(out), "device": device,
                 "seed": seed, "batch_size": batch_size, "progress": False if quiet else None}
    if isinstance(recipe, Recipe):
        recipe = _with_overrides(recipe, overrides)
    else:
        recipe = load_recipe(recipe, overrides)
    return fit_recipe(recipe, resume=resume, force=force)


def _with_overrides(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    import dataclasses

    from soundart.checkpoint import config_from_dict
    from soundart.train.config import TrainConfig

    fields = dataclasses.asdict(recipe.train)
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return dataclasses.replace(recipe, train=config_from_dict(TrainConfig, fields, "train"))


def evaluate(kind: str, *args: Any, **kwargs: Any) -> Any:
    """Measure a model or generated music (``soundart eval KIND``); returns what the command prints.

    Parameters
    ----------
    kind : "music" (frame-token NLL on a piano-roll benchmark: ``soundart.music.band_eval.frame_nll``),
        "sketches" (statistics of generated MIDI next to a corpus: ``band_eval.sketch_statistics``) or
        "listen" (accuracy / macro-F1 of a listening classifier: ``listen_scores`` below).
    *args, **kwargs : that function's arguments, which match the command's options.

    Examples
    --------
    >>> import soundart
    >>> row = soundart.evaluate("music", "runs/rnn-jsb/model", data="jsb")          # doctest: +SKIP
    >>> row.nll_per_frame                                                            # nats per frame  # doctest: +SKIP
    >>> stats = soundart.evaluate("sketches", "out/", reference="chorale", seed=0)   # doctest: +SKIP
    >>> stats.rows[0]["metric"]                                                      # doctest: +SKIP
    'pitch_class_entropy'
    """
    from soundart.errors import ConfigError
    from soundart.music import band_eval

    functions = {"music": band_eval.frame_nll, "sketches": band_eval.sketch_statistics, "listen": listen_scores}
    if kind not in functions:
        raise ConfigError(f"kind must be one of {', '.join(EVALUATIONS)}, got {kind!r}")
    return functions[kind](*args, **kwargs)


def listen_scores(model: str, data: str | os.PathLike, split: str = "test", baseline: bool = True,
                  cache_dir: str = "data/cache/listen", device: str = "auto") -> dict[str, Any]:
    """Accuracy, macro-F1, ROC-AUC, calibration error and confusion matrix of a listening classifier.

    Parameters
    ----------
    model : a shipped model name (``listen``) or a checkpoint path.
    data : a mood4q or emotify folder, a ``ROOT/<genre>/`` folder or a CSV manifest.
    split : "test" (the files the model was trained without: split by artist/group with the split
        settings stored in the model) or "all".
    baseline : also fit and score logistic regression on MFCC mean/std (train split of ``data``).
    cache_dir : folder for the cached features. device : "auto", "cpu" or "cuda".

    Returns
    -------
    dict
        head -> {"labels": [...], "cnn": {accuracy, macro_f1, ece, confusion, ...}, "baseline_mfcc_logreg":
        {...}}, fractions in [0, 1]; "genre" is the single-label choice read from the multi-label output,
        "genres" the ROC-AUC per AllMusic genre and the calibration error over every known
        (recording, genre) pair.
    """
    from soundart.errors import BadInputError
    from soundart.listen.data import ListenDataConfig, cached_features, read_items
    from soundart.listen.task import measure
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    data = Path(data)
    if not data.exists():
        raise BadInputError(f"data {data}: no such file or folder")
    net = load_model(model, device=resolve_device(device), expect_kind="listen-cnn")
    trained = (getattr(net, "checkpoint", {}) or {}).get("metadata", {}).get("data_config", {})
    split_keys = {k: trained[k] for k in ("test_fraction", "val_fraction", "split_seed", "near_duplicates")
                  if k in trained}
    # which reader a source needs is told by the file that marks its layout
    marker = next((k for k, f in (("mood4q", "metadata.csv"), ("emotify", "annotations.csv")) if (data / f).is_file()),
                  "manifest" if data.suffix.lower() == ".csv" else "folder")
    items = read_items(ListenDataConfig(**{"mood4q": "", "emotify": "", marker: str(data)}, cache_dir=cache_dir,
                                        **split_keys))
    feats = cached_features(items, net.config.features.to_dict(), cache_dir, workers=2)
    chosen = [i for i, it in enumerate(items) if split == "all" or it.split == "test"]
    train = [i for i, it in enumerate(items) if it.split == "train"] if baseline and split == "test" else []
    scores = measure(net, [items[i] for i in chosen], [feats[i] for i in chosen],
                     [items[i] for i in train] or None, [feats[i] for i in train] or None)
    if not scores:
        raise BadInputError(f"data {data}: none of its {len(chosen)} files carries a label this model predicts")
    return scores
