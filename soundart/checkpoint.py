"""The one checkpoint format: ``NAME.safetensors`` (tensors) + ``NAME.json`` (config, metadata).

A model is an ``nn.Module`` with a class attribute ``kind`` (its registry name),
a ``config_class`` dataclass, a ``config`` instance, and a constructor
``Model(config)``. Loading rebuilds the model from the JSON config and loads
the tensors; nothing is ever unpickled.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from soundart.errors import ConfigError, ModelError

FORMAT = "soundart-checkpoint/1"
WRAPPER_PREFIXES = ("_orig_mod.", "module.")  # added by torch.compile and DDP


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(weights.safetensors, config.json)`` for a path given with either suffix or none."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict; nested dataclasses too.

    Unknown keys are errors, and so is a value of the wrong type for its field's annotation
    (``steps: "ten"``, ``steps: true``, ``lr: .nan``, ``betas: 0.9``): the message names the field
    as ``where.field``.
    """
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        sub = _dataclass_in(hints.get(name))
        if sub is not None and isinstance(value, dict):
            value = config_from_dict(sub, value, f"{where}.{name}")
        elif not (value is None and fields[name].default is None):  # a None default means "not set"
            value = check_type(value, hints.get(name), f"{where}.{name}")
        if isinstance(value, list) and isinstance(getattr(cls, name, None), tuple):  # an unannotated tuple
            value = tuple(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check_fields(obj: Any, where: str) -> None:
    """Check every field of dataclass instance ``obj`` against its annotation (``check_type``).

    For a config's ``__post_init__``, so that one built in Python is held to the same types as one read
    from a recipe, before any range check compares a string with a number.
    """
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if not (value is None and f.default is None):
            setattr(obj, f.name, check_type(value, hints.get(f.name), f"{where}.{f.name}"))


def check_type(value: Any, hint: Any, where: str) -> Any:
    """``value`` if it fits annotation ``hint`` (lists become tuples for tuple fields), else a ConfigError.

    bool is not an int here (YAML's ``true`` is no step count), an int is a float, and a float must be
    finite. Annotations this does not know (Any, classes) let the value through.
    """
    import math
    import numbers
    import types

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is None or hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return value
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return check_type(value, option, where)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0] if len(options) == 1 else ConfigError(f"{where} must be {_describe(hint)}, "
                                                              f"got {_show(value)}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, args))}, got {_show(value)}")
        return value
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:  # numbers.Integral: NumPy integers count too
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value}")
    elif hint is str:
        ok = isinstance(value, str)
    elif origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be {_describe(hint)}, got {_show(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where} must be {_describe(hint)}, got {_show(value)}")
            items = [check_type(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            item = args[0] if args else Any
            items = [check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    elif origin is dict or hint is dict:
        ok = isinstance(value, dict)
    else:
        return value
    if not ok:
        raise ConfigError(f"{where} must be {_describe(hint)}, got {_show(value)}")
    return value


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a mapping"}
    if hint in names:
        return names[hint]
    if origin is tuple and args and args[-1] is not Ellipsis:
        kinds = {_describe(a) for a in args}
        what = "numbers" if kinds == {"a number"} else "integers" if kinds == {"an integer"} else "values"
        return f"a list of {len(args)} {what}"
    if origin in (tuple, list):
        return "a list"
    if origin is dict:
        return "a mapping"
    return " or ".join(_describe(a) for a in args if a is not type(None)) or str(hint)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _dataclass_in(hint: Any) -> type | None:
    if dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):  # Optional[FeatureConfig] and friends
        if dataclasses.is_dataclass(arg):
            return arg
    return None


def strip_wrapper_prefixes(state: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in WRAPPER_PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def unwrap(model: Any) -> Any:
    """The plain model inside DDP / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner


def save(model: Any, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path.safetensors`` + ``path.json``; returns the weights path."""
    from safetensors.torch import save_file

    import soundart

    model = unwrap(model)
    weights, meta = checkpoint_paths(path)
    try:
        weights.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from soundart.io import WriteError

        raise WriteError(f"cannot write {weights}: {(exc.strerror or str(exc)).lower()}") from None
    # clone: safetensors refuses tensors that share storage (tied embeddings)
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    state = strip_wrapper_prefixes(state)
    document = {
        "format": FORMAT,
        "kind": model.kind,
        "config": config_to_dict(model.config),
        "metadata": metadata or {},
        "soundart_version": soundart.__version__,
        "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    write_together([(weights, lambda p: save_file(state, str(p), metadata={"format": FORMAT, "kind": model.kind})),
                    (meta, lambda p: p.write_text(text))])
    return weights


def write_together(files: list[tuple[Path, Callable[[Path], Any]]]) -> None:
    """Write each ``(path, writer)`` to ``path.part`` with ``writer(part)``, then rename them all into place.

    The weights and their JSON are renamed only once both are complete, so an interrupted or failed save
    (Ctrl-C, SIGTERM, disk full) leaves the previous pair and no ``.part`` file; a failure is a WriteError
    of one line.
    """
    from soundart.io import write_errors

    parts = [path.with_name(path.name + ".part") for path, _ in files]
    try:
        for (path, writer), part in zip(files, parts):
            with write_errors(path, path.parent):
                writer(part)
        for (path, _), part in zip(files, parts):
            with write_errors(path, path.parent):
                os.replace(part, path)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def read_document(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON half of a checkpoint (kind, config, metadata), checked."""
    weights, meta = checkpoint_paths(path)
    if not meta.exists() or not weights.exists():
        missing = meta if not meta.exists() else weights
        raise ModelError(f"checkpoint {weights.with_suffix('')}: missing {missing.name}")
    try:
        document = json.loads(meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta}: not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelError(f"{meta}: not a soundart checkpoint (format {document.get('format')!r})"
                         if isinstance(document, dict) else f"{meta}: not a soundart checkpoint")
    for key in ("kind", "config"):
        if key not in document:
            raise ModelError(f"{meta}: checkpoint has no {key!r}")
    return document


def tensor_shapes(path: str | os.PathLike) -> dict[str, list[int]]:
    """{tensor name: shape} from a safetensors file's header, without reading the tensors."""
    weights, _ = checkpoint_paths(path)
    try:
        with open(weights, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 0 < size <= 100_000_000:  # the format caps the header at 100 MB
                raise ValueError(f"header size {size}")
            header = json.loads(fh.read(size))
        return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{weights}: unreadable weights ({' '.join(str(exc).split())})") from None


def check_shapes(weights: dict[str, Any], expected: dict[str, tuple[int, ...]], where: str | os.PathLike) -> None:
    """A ModelError when a tensor is missing or its shape is not what the config implies.

    For the NumPy inference paths, which, unlike ``load_state_dict``, would otherwise fail later inside
    a matrix product with a traceback. ``expected`` maps tensor names to shapes derived from the config.
    """
    for name, shape in expected.items():
        if name not in weights:
            raise ModelError(f"{where} lack {name!r}, which the config implies")
        found = tuple(weights[name].shape)
        if found != tuple(shape):
            raise ModelError(f"{where} do not match the config ({name}: {found} in the file, "
                             f"{tuple(shape)} by the config)")


def load_numpy(path: str | os.PathLike, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(document, {name: float32 NumPy array}) of a checkpoint of ``kind``, without importing torch.

    For the NumPy inference paths, which start faster than torch can be imported.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    document = read_document(path)
    if document["kind"] != kind:
        raise ModelError(f"{path}: holds a {document['kind']!r} model, expected {kind}")
    weights, _ = checkpoint_paths(path)
    try:
        return document, load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{weights}: unreadable weights ({' '.join(str(exc).split())})") from None


def load(path: str | os.PathLike, device: Any = "cpu", expect_kind: str | tuple[str, ...] | None = None) -> Any:
    """Rebuild a model from its checkpoint; returns it in eval mode on ``device``.

    ``model.checkpoint`` holds the JSON document (config, metadata) afterwards.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from soundart.registry import current_kind, model_class

    document = read_document(path)
    try:
        kind, config_data = current_kind(document["kind"], document["config"])
    except ConfigError as exc:
        raise ModelError(f"{path}: config does not match its kind {document['kind']!r} ({exc})") from None
    if expect_kind is not None:
        allowed = (expect_kind,) if isinstance(expect_kind, str) else expect_kind
        if kind not in allowed:
            raise ModelError(f"{path}: holds a {kind!r} model, expected {' or '.join(allowed)}")
    cls = model_class(kind)
    try:
        config = config_from_dict(cls.config_class, config_data)
    except ConfigError as exc:
        raise ModelError(f"{path}: config does not match {cls.__name__} ({exc})") from None
    model = cls(config)
    weights, _ = checkpoint_paths(path)
    try:
        state = strip_wrapper_prefixes(load_file(str(weights), device="cpu"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{weights}: unreadable weights ({' '.join(str(exc).split())})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        details = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        raise ModelError(f"{weights}: weights do not match the config "
                         f"({details[0] if details else ' '.join(str(exc).split())})") from None
    model.checkpoint = document
    return model.to(device).eval()
