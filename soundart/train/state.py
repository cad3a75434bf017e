"""A run folder and the training state in it: refuse to lose work, save and restore exactly.

A run folder holds ``last`` (the model), ``trainer`` (every optimiser's state, RNG, step), ``best``, ``model`` (the
final model) and ``log.jsonl``. Starting a run into a folder that holds one would reset its state,
replace its models and mix two runs in its log, so that needs ``resume`` (continue it) or ``force``
(start over: the old run's files are removed first). Whatever is wrong with a saved state (truncated,
corrupt, from a different model) is one line, never a traceback.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from soundart import checkpoint
from soundart.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from soundart.train.loop import Trainer

RUN_FILES = ("trainer.safetensors", "trainer.json", "last.safetensors", "last.json", "best.safetensors",
             "best.json", "model.safetensors", "model.json", "log.jsonl")


def check_run_folder(out_dir: str | os.PathLike, resume: bool = False, force: bool = False,
                     is_main: bool = True) -> Path:
    """Check ``out_dir`` before any work starts (data loading can take minutes); with ``force`` on a
    folder that holds a run, remove that run's files (only on the main process, only files of a run)."""
    out = Path(out_dir)
    if resume and force:
        raise ConfigError("resume=True and force=True exclude each other: resume continues a run, force starts over")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: is a file, not a run folder")
    ancestor = out
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{out}: cannot make a run folder under {ancestor}, which is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):  # also False on a read-only file system, even for root
        reason = "read-only file system" if _read_only(ancestor) else "permission denied"
        raise ConfigError(f"cannot write {out}: {reason}")
    held = [name for name in RUN_FILES if (out / name).exists()]
    if resume and not all(path.exists() for path in state_paths(out)):
        raise ConfigError(f"resume: no training state in {out} (expected trainer.safetensors and trainer.json)")
    if held and not resume and not force:
        raise ConfigError(f"{out} holds a run{_progress_note(out)}; use resume=True or force=True")
    if held and force and is_main:
        for name in held:
            (out / name).unlink()
    return out


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _progress_note(out: Path) -> str:
    try:
        step = int(json.loads((out / "trainer.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return f" (saved at step {step})"


def state_paths(out_dir: Path) -> tuple[Path, Path]:
    return out_dir / "trainer.safetensors", out_dir / "trainer.json"


def save_state(trainer: Trainer) -> None:
    """Write ``last`` (model) and ``trainer`` (optimizer, RNG, step) to the run folder."""
    from safetensors.torch import save_file

    trainer.out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.save(trainer.model, trainer.out_dir / "last", trainer._metadata())
    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    np_state = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
    groups = {}
    for name, optimizer in trainer.optimizers.items():
        optim = optimizer.state_dict()
        tensors.update(_state_tensors(_prefix(name), optim["state"]))
        groups[name] = [dict(g) for g in optim["param_groups"]]
    document = {
        "step": trainer.step,
        "param_groups": groups.pop("model"),
        "optimizers": groups,  # those the model steps itself (the SpecGAN critic's)
        "numpy_rng": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python_rng": _jsonable(random.getstate()),
        "best_val": trainer.best_val,
        "history": trainer.history[-200:],
    }
    weights, meta = state_paths(trainer.out_dir)
    checkpoint.write_together([(weights, lambda p: save_file(tensors, str(p))),
                               (meta, lambda p: p.write_text(json.dumps(document)))])


def load_state(trainer: Trainer) -> None:
    """Restore model, optimizer, RNG and step from the run folder (``resume``), or one line saying why not."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    out = trainer.out_dir
    weights, meta = state_paths(out)
    if not weights.exists() or not meta.exists():
        raise ConfigError(f"resume: no training state in {out} (expected {weights.name})")
    saved = checkpoint.read_document(out / "last")
    ours = checkpoint.config_to_dict(trainer.model.config)
    kind = getattr(trainer.model, "kind", None)
    if saved["kind"] == kind:
        # a field added to the config class after the run was saved counts as its default, not as a change
        filled = checkpoint.config_to_dict(checkpoint.config_from_dict(type(trainer.model.config), saved["config"],
                                                                       "model"))
        saved["config"] = json.loads(json.dumps(filled))
    if saved["kind"] != kind or saved["config"] != json.loads(json.dumps(ours)):
        changes = _differences(saved["config"], ours) if saved["kind"] == kind else \
            [f"kind {saved['kind']} -> {kind}"]
        raise ConfigError(f"resume: the run in {out} was trained with another model config "
                          f"({'; '.join(changes[:3]) or 'different'}); resume with its recipe, or start "
                          "over with force=True")
    restored = checkpoint.load(out / "last", device=trainer.device)
    trainer.model.load_state_dict(restored.state_dict())
    try:
        document = json.loads(meta.read_text())
        tensors = load_file(str(weights))
        saved_groups = {"model": document["param_groups"], **document.get("optimizers", {})}
        for name, optimizer in trainer.optimizers.items():
            # a state saved before the training layer held a model's own optimisers has none: they start afresh
            if name in saved_groups:
                optimizer.load_state_dict({"state": _state_from(tensors, _prefix(name)),
                                           "param_groups": saved_groups[name]})
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], trainer.device)
        name, pos, has_gauss, cached = document["numpy_rng"]
        np.random.set_state((name, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
        random.setstate(_tuples(document["python_rng"]))
        trainer.step = int(document["step"])
        trainer.best_val = document.get("best_val")
        trainer.history = list(document.get("history", []))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ModelError(f"resume: the training state in {out} is damaged ({type(exc).__name__}: {reason}); "
                         "start over with force=True") from None


def _prefix(name: str) -> str:
    # the Trainer's own optimiser keeps the key names of states saved before there were others
    return "optim." if name == "model" else f"optimizers.{name}."


def _state_tensors(prefix: str, state: dict[int, dict[str, Any]]) -> dict[str, torch.Tensor]:
    """An optimiser's per-parameter state as flat tensors ``PREFIX{index}.{key}`` (safetensors holds no nesting)."""
    return {f"{prefix}{index}.{key}": value.detach().cpu().clone() if torch.is_tensor(value) else torch.tensor(value)
            for index, entry in state.items() for key, value in entry.items()}


def _state_from(tensors: dict[str, torch.Tensor], prefix: str) -> dict[int, dict[str, Any]]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, name = key[len(prefix):].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    return state


def _differences(saved: dict[str, Any], ours: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(saved) | set(ours)):
        a, b = saved.get(key), json.loads(json.dumps(ours.get(key)))
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a} -> {b}")
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
