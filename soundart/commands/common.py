"""Options and output helpers shared by the CLI commands."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

import click

device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                             show_default=True, help="Where to run: GPU when present with auto.")
force_option = click.option("--force", is_flag=True, help="Overwrite existing output files.")


def _check_seed(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    from soundart.errors import ConfigError

    if value is not None and not 0 <= value < 2**32:
        raise ConfigError(f"--seed must be in 0..{2**32 - 1}, got {value}")
    return value


seed_option = click.option("--seed", type=int, default=None, callback=_check_seed,
                           help="Random seed for a repeatable result (0 .. 2**32-1).")


@contextlib.contextmanager
def flags_in_errors(flags: dict[str, str]):
    """Re-raise a library ConfigError with its argument names written as the CLI's flags
    (``{"top_k": "--top-k"}``: "top_k must be ..." -> "--top-k must be ...", "drums=funk" -> "--drums funk",
    "add: ..." -> "--add: ...")."""
    from soundart.errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        text = str(exc)
        for name, flag in flags.items():
            text = re.sub(rf"\b{re.escape(name)}(?= must)", flag, text)
            text = re.sub(rf"\b{re.escape(name)}=", f"{flag} ", text)
            text = re.sub(rf"^{re.escape(name)}:", f"{flag}:", text)
        raise ConfigError(text) from None


def positive(name: str, value: float | int | None, allow_zero: bool = False) -> None:
    """Raise a ConfigError naming the option when a number is out of range."""
    from soundart.errors import ConfigError

    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def format_rows(rows: list[dict[str, Any]], fmt: str, columns: Iterable[str] | None = None) -> str:
    """Render rows as an aligned text table, JSON, or CSV."""
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        return buffer.getvalue().rstrip("\n")
    table = [[str(c) for c in columns]] + [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ";".join(_cell(v) for v in value)
    return str(value)
