"""Checkpoint metadata that can travel: the recipe and what the data was, never where files lay.

A checkpoint may be shipped (``soundart/pretrained/``) or handed to someone else, so the metadata the
training layer writes says *what* trained it (recipe name, task, settings, the data's description and
a warm start's recipe) and not *where* on the training machine things were: no run folder, cache
folder, absolute path, home directory or path that climbs out of the project (``../``).
"""

from __future__ import annotations

import re
from typing import Any

# fields that only say where files were kept on the machine that trained: left out of shipped metadata
WHERE_KEYS = ("out_dir", "cache_dir")
# a path token that names a place on one machine: absolute, in a home directory, climbing out of the
# project, or inside a run folder; preceded by the start of the text, a space, "(", "=" or a quote
_LOCAL = re.compile(r"""(?:(?<=^)|(?<=[\s(="']))(?:/|~|\.\./|\./\.\./|runs/)[^\s,;)"']*""")
_RUN_FILES = ("model", "best", "last")


def local_paths(value: Any) -> list[str]:
    """Every local path in ``value`` (nested dicts, lists and strings), and every ``WHERE_KEYS`` field."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in WHERE_KEYS:
                found.append(f"{key}={item}")
            found += local_paths(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += local_paths(item)
    elif isinstance(value, str):
        found += [m.group(0) for m in _LOCAL.finditer(value)]
    return found


def portable(value: Any) -> Any:
    """``value`` with ``WHERE_KEYS`` fields left out and each local path replaced by the name it ends in.

    ``runs/wavenet-vocoder-lpc/model`` becomes ``wavenet-vocoder-lpc`` (the run's name, which is its
    recipe's unless the run folder was chosen), ``../shared/data/mood4q`` becomes ``mood4q``.
    """
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items() if key not in WHERE_KEYS}
    if isinstance(value, list):
        return [portable(item) for item in value]
    if isinstance(value, tuple):
        return tuple(portable(item) for item in value)
    if isinstance(value, str):
        return _LOCAL.sub(lambda m: _name(m.group(0)), value)
    return value


def _name(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".", "..", "~")]
    while len(parts) > 1 and parts[-1].rsplit(".", 1)[0] in _RUN_FILES:  # runs/NAME/model -> NAME
        parts.pop()
    return parts[-1] if parts else ""
