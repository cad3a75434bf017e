"""``soundart train`` and ``soundart models``."""

from __future__ import annotations

from pathlib import Path

import click

from soundart.commands.common import format_rows


@click.command()
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option("--steps", type=int, default=None, help="Override the recipe's number of steps.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run folder (default runs/NAME): checkpoints, log.jsonl, the final model.")
@click.option("--resume", is_flag=True, help="Continue the run saved in the run folder.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Override the recipe's device.")
@click.option("--seed", type=int, default=None, help="Override the recipe's seed.")
@click.option("--batch-size", type=int, default=None, help="Override the recipe's batch size.")
def train(recipe: Path, steps: int | None, out: Path | None, resume: bool, device: str | None,
          seed: int | None, batch_size: int | None) -> None:
    """Train the model a RECIPE (YAML) describes, with the shared training loop.

    Ctrl-C saves a checkpoint; --resume continues from it. Under torchrun
    (torchrun --nproc_per_node N -m soundart train RECIPE) it trains with DDP.
    The final model is OUT/model.safetensors + OUT/model.json.
    """
    from soundart.train.recipe import load_recipe, run_recipe

    overrides = {"steps": steps, "out_dir": str(out) if out else None, "device": device,
                 "seed": seed, "batch_size": batch_size}
    loaded = load_recipe(recipe, overrides)
    final = run_recipe(loaded, resume=resume)
    click.echo(f"model saved: {final}.safetensors (+ .json)")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
def models(fmt: str) -> None:
    """List the shipped default models: size, training data and measured quality."""
    from soundart.models import describe_models

    rows = describe_models()
    if not rows and fmt == "table":
        click.echo("no shipped models yet")
        return
    click.echo(format_rows(rows, fmt, ["name", "kind", "task", "size_mb", "trained_on", "styles", "quality",
                                       "recipe"]))
