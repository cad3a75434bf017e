"""Recipes: YAML files that map onto a task's dataclasses, and the task protocol.

A recipe has four top-level keys, each checked against a dataclass (an unknown
key anywhere is an error that names it)::

    task: rnn            # a name in soundart.registry.TASKS
    data: {...}          # the task's data_config_class
    model: {...}         # the task's model config_class
    train: {...}         # soundart.train.TrainConfig

A ``Task`` knows how to turn (data config, model config) into a model and
datasets; the Trainer does the rest, and the task may add measured metrics to
the final checkpoint (``evaluate``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundart.checkpoint import config_from_dict
from soundart.errors import BadInputError, ConfigError
from soundart.train.config import TrainConfig

RECIPE_KEYS = ("task", "name", "data", "model", "train")


@dataclass
class Prepared:
    """What a task hands the Trainer."""

    model: Any
    train_data: Any
    val_data: Any = None
    collate_fn: Callable | None = None
    data_description: str = ""
    pieces: Any = None  # what the task may evaluate on afterwards (e.g. split -> held-out pieces)
    started: Any = None  # a soundart.train.warm_start.WarmStart when the task began from a checkpoint


@dataclass
class Task:
    """How one kind of model is trained from a recipe.

    prepare(data_config, model_config) -> Prepared
    evaluate(model, data_config, prepared) -> dict of measured metrics (optional),
        stored in the final checkpoint's metadata under "metrics".
    """

    name: str
    model_config_class: type
    data_config_class: type
    prepare: Callable[[Any, Any], Prepared]
    evaluate: Callable[[Any, Any, Prepared], dict[str, Any]] | None = None


@dataclass
class Recipe:
    task: str
    name: str
    data: Any
    model: Any
    train: TrainConfig
    path: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read and validate a recipe YAML; ``overrides`` replace ``train`` fields (CLI flags)."""
    import yaml

    from soundart import registry

    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"{p}: no such recipe file")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file; a recipe is YAML") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: a recipe is a mapping with keys {', '.join(RECIPE_KEYS)}")
    unknown = sorted(set(raw) - set(RECIPE_KEYS))
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {', '.join(unknown)} (known: {', '.join(RECIPE_KEYS)})")
    if "task" not in raw:
        raise ConfigError(f"{p}: missing 'task'")
    if not isinstance(raw["task"], str):
        raise ConfigError(f"{p.name}: task must be a name, got {raw['task']!r}")
    try:  # an older task name (the one ``wavenet`` task for both WaveNets) in today's terms
        raw = registry.current_recipe(raw)
    except ConfigError as exc:
        raise ConfigError(f"{p.name}: {exc}") from None
    task = registry.task(raw["task"])
    name = str(raw.get("name") or p.stem)
    sections = {key: {} if raw.get(key) is None else raw[key] for key in ("data", "model", "train")}
    try:  # the errors name the field (train.steps); the file name goes in front
        data = config_from_dict(task.data_config_class, sections["data"], "data")
        model = config_from_dict(task.model_config_class, sections["model"], "model")
        if not isinstance(sections["train"], dict):
            raise ConfigError(f"train: expected a mapping, got {type(sections['train']).__name__}")
        train_raw = dict(sections["train"])
        train_raw.setdefault("out_dir", str(Path("runs") / name))
        for key, value in (overrides or {}).items():
            if value is not None:
                train_raw[key] = value
        train = config_from_dict(TrainConfig, train_raw, "train")
    except ConfigError as exc:
        raise ConfigError(f"{p.name}: {exc}") from None
    return Recipe(task=raw["task"], name=name, data=data, model=model, train=train, path=str(p), raw=raw)


@dataclass
class TrainResult:
    """What a training run ended with.

    out : the run folder. model : the final checkpoint's path stem (``out/model``), None when the run
    stopped early (interrupted: resume it). steps : steps done. val : the last validation figures
    (``{"loss": ...}`` and whatever the model's ``validation_step`` reports). best_val : the lowest
    validation loss seen (its model is ``out/best``). metrics : the task's measured figures, if any.
    """

    out: Path
    model: Path | None
    steps: int
    val: dict[str, float] = field(default_factory=dict)
    best_val: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def run_recipe(recipe: Recipe, resume: bool = False, stop_at: int | None = None, force: bool = False) -> Path:
    """Train a recipe with the shared Trainer; returns the final checkpoint path (``OUT/model``).

    See ``fit_recipe``, which returns the figures too.
    """
    return fit_recipe(recipe, resume=resume, stop_at=stop_at, force=force).out / "model"


def fit_recipe(recipe: Recipe, resume: bool = False, stop_at: int | None = None, force: bool = False) -> TrainResult:
    """Train a recipe with the shared Trainer.

    A run folder that already holds a run needs ``resume=True`` (continue it) or ``force=True`` (start
    over); anything else is refused before the data is loaded, so no saved work is ever reset.
    Interrupted (Ctrl-C, SIGTERM), the state is saved and the interruption re-raised with a message
    saying where to resume from. The metadata stored with every checkpoint is portable
    (``soundart.train.provenance``): the recipe and the data's provenance, no local path.
    """
    import os

    from soundart import checkpoint, registry
    from soundart.runtime import seed_everything
    from soundart.train.loop import Trainer
    from soundart.train.provenance import portable
    from soundart.train.state import check_run_folder

    out = check_run_folder(recipe.train.out_dir, resume=resume, force=force,
                           is_main=int(os.environ.get("RANK", "0")) == 0)
    task = registry.task(recipe.task)
    seed_everything(recipe.train.seed)  # model initialisation is part of the run
    prepared = task.prepare(recipe.data, recipe.model)
    data_config = dataclasses.asdict(recipe.data)
    description = prepared.data_description
    if prepared.started is not None:  # recorded by what made the start, not where its files lay
        data_config["init_from"] = prepared.started.source
        fresh = prepared.started.fresh
        description += f"; started from {prepared.started.source}" + (f" (fresh: {', '.join(fresh)})" if fresh else "")
    metadata = {
        "recipe": recipe.name,
        "task": recipe.task,
        "data": description,
        "train_config": dataclasses.asdict(recipe.train),
        "data_config": data_config,
    }
    trainer = Trainer(prepared.model, prepared.train_data, recipe.train, val_data=prepared.val_data,
                      collate_fn=prepared.collate_fn, metadata=metadata)
    meta = trainer.fit(resume=resume, stop_at=stop_at)
    if trainer.interrupted and stop_at is None:  # Ctrl-C / SIGTERM: state saved, no final model yet
        raise type(trainer.interruption or KeyboardInterrupt())(
            f"at step {trainer.step}; state saved in {out}: continue with resume=True")
    final = out / "model"
    done = meta.get("steps", 0) >= recipe.train.steps
    if task.evaluate is not None and done and trainer.is_main:
        model = trainer.model.eval()
        meta["metrics"] = task.evaluate(model, recipe.data, prepared)
        meta = portable(meta)
        checkpoint.save(model, final, meta)
    return TrainResult(out=out, model=final if done else None, steps=int(meta.get("steps", 0)),
                       val=dict(meta.get("val") or {}), best_val=trainer.best_val, metrics=meta.get("metrics", {}))
