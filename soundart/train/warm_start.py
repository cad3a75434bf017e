"""Warm start (a recipe's ``init_from``): copy a trained checkpoint's weights into a fresh model.

One implementation for every task. A task states only what may differ between the start and the
recipe's model (``WarmStartRules``); the copying, the checks and the one-line errors are here. The
start is recorded by what made it (its recipe, or the shipped model's name), never by where its
files lay, so a checkpoint trained from it can be shipped as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundart.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WarmStartRules:
    """What a task allows to differ between a start checkpoint and the recipe's model.

    same : ``(config fields, what they are in words)``: these fields must be equal, else the error says
        "its <words> differs from the recipe's model".
    may_differ : tensor names that keep the fresh initialisation when the start lacks them or has another
        shape (a new output layer); any other such tensor is an error.
    skip : name prefixes neither copied nor checked (state fitted after training, refilled by the task).
    fit_hint : what must match, in words, for the error when the weights do not fit.
    reshape : ``reshape(start, model) -> bool``: a task's own way to take a start of another shape
        (True: done, nothing more to copy); it raises ConfigError saying why not ("its weights ...").
    """

    same: tuple[tuple[tuple[str, ...], str], ...] = ()
    may_differ: frozenset[str] = frozenset()
    skip: tuple[str, ...] = ()
    fit_hint: str = "all shapes must match"
    reshape: Callable[[Any, Any], bool] | None = None


@dataclass(frozen=True)
class WarmStart:
    """What a warm start did: ``source`` names the start portably, ``fresh`` the tensors left as initialised."""

    source: str
    fresh: tuple[str, ...] = ()


def warm_start(model: Any, spec: str, rules: WarmStartRules = WarmStartRules()) -> WarmStart:
    """Copy the weights of ``spec`` (a shipped model name or a checkpoint path) into ``model`` in place.

    Buffers are copied too (a step counter, so a warm-up schedule is not repeated). A relative path that
    does not exist from the working directory is looked up from the repository, where recipes point.

    Raises
    ------
    ConfigError
        Naming ``init_from`` and ``spec`` when the start is of another kind or does not fit ``rules``.
    """
    from soundart.models import DEFAULT_MODELS, load_model

    path = spec if spec in DEFAULT_MODELS or Path(spec).is_absolute() else _from_repo(spec)
    start = load_model(path, expect_kind=model.kind)
    for fields, words in rules.same:
        if any(getattr(start.config, f) != getattr(model.config, f) for f in fields):
            raise ConfigError(f"init_from {spec}: its {words} differs from the recipe's model")
    source = describe_start(spec, start)
    try:
        if rules.reshape is not None and rules.reshape(start, model):
            return WarmStart(source)
    except ConfigError as exc:
        raise ConfigError(f"init_from {spec}: {exc}") from None
    mine = {k: v for k, v in model.state_dict().items() if not k.startswith(rules.skip)}
    theirs = {k: v for k, v in start.state_dict().items() if not k.startswith(rules.skip)}
    fresh = tuple(k for k, v in mine.items() if k not in theirs or theirs[k].shape != v.shape)
    if set(fresh) - rules.may_differ or set(theirs) - set(mine):
        raise ConfigError(f"init_from {spec}: its weights do not fit the recipe's model ({rules.fit_hint})")
    model.load_state_dict({k: v for k, v in theirs.items() if k not in fresh}, strict=False)
    return WarmStart(source, fresh)


def describe_start(spec: str, start: Any) -> str:
    """The start as provenance: "shipped model NAME", "recipe NAME" (what trained it), else its file's name."""
    from soundart.models import DEFAULT_MODELS

    if spec in DEFAULT_MODELS:
        return f"shipped model {spec}"
    recipe = (getattr(start, "checkpoint", None) or {}).get("metadata", {}).get("recipe")
    return f"recipe {recipe}" if recipe else f"checkpoint {Path(spec).stem}"


def _from_repo(spec: str) -> str:
    p = Path(spec)
    if p.exists() or p.with_name(p.name + ".json").exists():
        return spec
    return str(REPO / p)
