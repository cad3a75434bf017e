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
TABLE_WIDTH = 100  # a table printed by any command fits a 100-column terminal (issue 31)

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
    """Re-raise a library error (a SoundartError, or the message of an interruption) with its argument names
    written as the CLI's flags (``{"top_k": "--top-k"}``: "top_k must be ..." -> "--top-k must be ...",
    "drums=funk" -> "--drums funk", "resume=True" -> "--resume", "add: ..." -> "--add: ...")."""
    from soundart.errors import SoundartError

    try:
        yield
    except (SoundartError, KeyboardInterrupt) as exc:
        text = str(exc)
        for name, flag in flags.items():
            text = re.sub(rf"\b{re.escape(name)}(?= must)", flag, text)
            text = re.sub(rf"\b{re.escape(name)}=True\b", flag, text)  # a boolean argument is a bare flag
            text = re.sub(rf"\b{re.escape(name)}=", f"{flag} ", text)
            text = re.sub(rf"^{re.escape(name)}:", f"{flag}:", text)
        raise type(exc)(text) from None


def positive(name: str, value: float | int | None, allow_zero: bool = False) -> None:
    """Raise a ConfigError naming the option when a number is out of range."""
    from soundart.errors import ConfigError

    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def format_rows(rows: list[dict[str, Any]], fmt: str, columns: Iterable[str] | None = None,
                width: int = TABLE_WIDTH) -> str:
    """Render rows as an aligned text table of at most ``width`` columns, JSON, or CSV.

    JSON and CSV carry every value in full. A table keeps to ``width`` so that it reads in a terminal
    and a log: when the cells do not fit, the widest columns are cut first (a cut cell ends in "…"),
    then the gap between columns narrows to one space, then long headers are cut too.
    """
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
    table = [[_one_line(str(c)) for c in columns]] + [[_one_line(_cell(row.get(c))) for c in columns] for row in rows]
    widths, gap = fit_widths([max(len(r[i]) for r in table) for i in range(len(columns))],
                             [len(h) for h in table[0]], width)
    lines = [(" " * gap).join(_clip(cell, w).ljust(w) for cell, w in zip(r, widths)).rstrip() for r in table]
    lines.insert(1, (" " * gap).join("-" * w for w in widths))
    return "\n".join(line[:width] for line in lines)


def fit_widths(natural: list[int], headers: list[int], width: int, floor: int = 4) -> tuple[list[int], int]:
    """(column widths, gap between columns) for a table of at most ``width`` characters.

    Values are cut before the layout gets tighter: the widest column still above its header's width
    (and above ``floor``) loses one character at a time; if that is not enough the gap narrows from two
    spaces to one; only then are headers cut too, again widest first, down to ``floor``.
    """
    header_limits = [max(h, floor) for h in headers]
    widths = list(natural)
    for gap, limits in ((2, header_limits), (1, header_limits), (1, [floor] * len(natural))):
        widths = list(natural)
        budget = width - gap * (len(widths) - 1)
        while sum(widths) > budget:
            wide = [i for i, (w, m) in enumerate(zip(widths, limits)) if w > m]
            if not wide:
                break
            widths[max(wide, key=lambda i: widths[i])] -= 1
        if sum(widths) <= budget:
            return widths, gap
    return widths, 1


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\t" in text else text


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
