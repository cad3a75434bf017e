"""``soundart train`` and ``soundart models``."""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import TABLE_WIDTH, flags_in_errors, format_rows


@click.command()
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option("--steps", type=int, default=None, help="Override the recipe's number of steps.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run folder (default runs/NAME): checkpoints, log.jsonl, the final model.")
@click.option("--resume", is_flag=True, help="Continue the run saved in the run folder.")
@click.option("--force", is_flag=True, help="Start over in a run folder that holds a run (its files are removed).")
@click.option("--quiet", "-q", is_flag=True, help="No progress (a bar on a terminal, a line every 10% in a log).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Override the recipe's device.")
@click.option("--seed", type=int, default=None, help="Override the recipe's seed.")
@click.option("--batch-size", type=int, default=None, help="Override the recipe's batch size.")
def train(recipe: Path, steps: int | None, out: Path | None, resume: bool, force: bool, quiet: bool,
          device: str | None, seed: int | None, batch_size: int | None) -> None:
    """Train the model a RECIPE (YAML) describes, with the shared training loop.

    Ctrl-C (or SIGTERM) saves the state; --resume continues from it. A run folder
    that holds a run is never started over without --force. Under torchrun
    (torchrun --nproc_per_node N -m soundart train RECIPE) it trains with DDP.
    The final model is OUT/model.safetensors + OUT/model.json.
    """
    from soundart.train.api import train as train_recipe

    # --steps, --seed ... override recipe fields, and their errors name the field (train.steps), as for the YAML
    with flags_in_errors({"resume": "--resume", "force": "--force"}):
        result = train_recipe(recipe, out=out, resume=resume, force=force, quiet=quiet, steps=steps, device=device,
                              seed=seed, batch_size=batch_size)
    click.echo(f"model saved: {result.model}.safetensors (+ .json)")


TABLE_COLUMNS = ["name", "kind", "size_mb", "steps", "task"]  # the essentials; --format json|csv has all
ALL_COLUMNS = ["name", "kind", "task", "size_mb", "parameters", "steps", "train_seconds", "trained_on", "styles",
               "quality", "recipe", "files", "soundart_version", "saved_at"]


@click.command()
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
def models(name: str | None, fmt: str) -> None:
    """List the shipped default models, or show one model's whole card (soundart models NAME).

    The table holds the essentials; --format json or csv holds every field (training data, styles,
    measured quality, recipe, files).
    """
    from soundart.models import describe_model, describe_models

    if name is not None:
        row = describe_model(name)
        click.echo(format_card(row) if fmt == "table" else format_rows([row], fmt, ALL_COLUMNS))
        return
    rows = describe_models()
    if not rows and fmt == "table":
        click.echo("no shipped models yet")
        return
    click.echo(format_rows(rows, fmt, TABLE_COLUMNS if fmt == "table" else ALL_COLUMNS))
    if fmt == "table":
        click.echo("\nsoundart models NAME shows one model's card; --format json|csv lists every field.")


CARD_FIELDS = [("task", "task"), ("kind", "kind"), ("trained_on", "trained on"), ("styles", "styles"),
               ("recipe", "recipe"), ("steps", "steps"), ("train_seconds", "train time (s)"),
               ("size_mb", "size (MB)"), ("parameters", "parameters"), ("files", "files"),
               ("soundart_version", "soundart"), ("saved_at", "saved at")]


def format_card(row: dict, width: int = TABLE_WIDTH) -> str:
    """One model's card: ``label  value`` lines wrapped to ``width``, then its measured figures."""
    import textwrap

    label_width = max(len(label) for _, label in CARD_FIELDS) + 2
    lines = [f"{row['name']}"]
    for key, label in CARD_FIELDS:
        value = row.get(key)
        if value in (None, ""):
            continue
        if key == "parameters":
            value = f"{value:,}"
        lines += textwrap.wrap(str(value), width, initial_indent=f"  {label}".ljust(label_width + 2),
                               subsequent_indent=" " * (label_width + 2), break_on_hyphens=False)
    quality = row.get("quality")
    if isinstance(quality, dict) and quality:
        lines.append("  measured")
        name_width = min(max(len(k) for k in quality) + 2, 40)
        for key, value in quality.items():
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines += textwrap.wrap(text, width, initial_indent=f"    {key}".ljust(name_width + 4),
                                   subsequent_indent=" " * (name_width + 4), break_on_hyphens=False)
    elif quality:
        lines += textwrap.wrap(str(quality), width, initial_indent="  measured".ljust(label_width + 2),
                               subsequent_indent=" " * (label_width + 2))
    return "\n".join(lines)
