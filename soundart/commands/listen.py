"""``soundart analyze`` and ``soundart eval listen``: the listening classifier from the shell."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from soundart.commands.common import device_option, force_option, format_rows, positive

TABLE_COLUMNS = ["file", "duration_s", "genre", "genre_p", "mood", "mood_p", "valence", "arousal",
                 "tempo_bpm", "key", "loudness_lufs", "brightness_hz"]
CSV_COLUMNS = ["file", "duration_s", "genre", "genre_p", "genres", "mood", "mood_p", "moods", "valence",
               "arousal", "tags", "emotions", "tempo_bpm", "beat_strength", "key", "key_confidence",
               "loudness_lufs", "loudness_range_lu", "brightness_hz", "onset_rate"]
SEGMENT_COLUMNS = ["file", "start_s", "end_s", "genre", "genre_p", "mood", "mood_p", "valence", "arousal"]


def _labels(pairs: list[tuple[str, float]]) -> str:
    return ";".join(f"{name}:{p:.3f}" for name, p in pairs)


def render(rows: list[dict[str, Any]], fmt: str, segments: bool) -> str:
    """Rows from ``soundart.listen.analyze.analyze`` as table, JSON or CSV text."""
    if fmt == "json":
        import json

        return json.dumps(rows, indent=2)
    if segments:
        flat = [{"file": r["file"], **s} for r in rows for s in r.get("segments", [])]
        return format_rows(flat, fmt, SEGMENT_COLUMNS)
    flat = []
    for r in rows:
        f = dict(r)
        for key in ("genres", "moods", "tags", "emotions"):
            if key in f:
                f[key] = _labels(f[key])
        flat.append(f)
    return format_rows(flat, fmt, TABLE_COLUMNS if fmt == "table" else CSV_COLUMNS)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--recursive", "-r", is_flag=True, help="Look for audio in subfolders too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--top", type=int, default=3, show_default=True, help="Labels with probabilities listed per head.")
@click.option("--segments", is_flag=True, help="Report genre and mood per ~3 s segment over time.")
@click.option("--model", default="listen", show_default=True, help="Shipped model name or checkpoint path.")
@click.option("--workers", type=int, default=None, help="Decoding processes (default: up to 2).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write to FILE, not stdout.")
@device_option
@force_option
def analyze(paths: tuple[str, ...], recursive: bool, fmt: str, top: int, segments: bool, model: str,
            workers: int | None, output: Path | None, device: str, force: bool) -> None:
    """Genre, mood (quadrant, valence, arousal) and descriptors of audio PATHS (files or folders).

    A file that cannot be read is reported on stderr (name and reason) and
    skipped; the run finishes and exits with 1 if any file failed.
    """
    from soundart.io import atomic_output, check_output_path
    from soundart.listen.analyze import Failure
    from soundart.listen.analyze import analyze as run

    positive("--top", top)
    positive("--workers", workers)
    if output is not None:
        check_output_path(output, force)
    rows: list[dict[str, Any]] = []
    failures: list[Failure] = []
    for result in run(list(paths), model=model, device=device, workers=workers, top=top, segments=segments,
                      recursive=recursive, progress=True):
        if isinstance(result, Failure):
            failures.append(result)
        else:
            rows.append(result)
    if rows:
        text = render(rows, fmt, segments)
        if output is None:
            click.echo(text)
        else:
            with atomic_output(output, force) as tmp:
                tmp.write_text(text + "\n")
    for failure in failures:  # after the progress bar is done, one line each
        reason = failure.reason if failure.reason.startswith(failure.path) else f"{failure.path}: {failure.reason}"
        click.echo(f"skipped: {reason}", err=True)
    if failures:
        click.echo(f"{len(failures)} of {len(failures) + len(rows)} inputs failed; "
                   f"{len(rows)} analysed", err=True)
        sys.exit(1)


def _read_eval_items(data: Path, split_cfg: dict[str, Any]):
    """Items of DATA with the split the model was trained with (each source's strata split independently)."""
    from soundart.listen.data import ListenDataConfig, read_items

    keys = {k: split_cfg[k] for k in ("test_fraction", "val_fraction", "split_seed") if k in split_cfg}
    source = {"mood4q": "", "emotify": ""}
    if data.is_file() and data.suffix.lower() == ".csv":
        source["manifest"] = str(data)
    elif (data / "metadata.csv").is_file():
        source["mood4q"] = str(data)
    elif (data / "annotations.csv").is_file():
        source["emotify"] = str(data)
    else:
        source["folder"] = str(data)
    return read_items(ListenDataConfig(**source, **keys))


@click.command("listen")
@click.argument("model")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["test", "all"]), default="test", show_default=True,
              help="test: the held-out split the model was trained without (same split seed); all: every file.")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also fit and score logistic regression on MFCC mean/std (train split of DATA).")
@click.option("--cache", "cache_dir", default="data/cache/listen", show_default=True,
              help="Folder for the cached features.")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Draw the confusion matrices to this PNG.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@device_option
@force_option
def eval_listen(model: str, data: Path, split: str, baseline: bool, cache_dir: str, plot: Path | None,
                fmt: str, device: str, force: bool) -> None:
    """Accuracy, macro-F1 and confusion matrix of a listening MODEL on labelled DATA.

    DATA is a mood4q or emotify folder, a ROOT/<genre>/ folder or a CSV
    manifest. With --split test the files are split by artist/group exactly as
    in training (the split settings stored in the model), and only the test
    split is scored.
    """
    from soundart.errors import BadInputError
    from soundart.io import check_output_path
    from soundart.listen.data import cached_features
    from soundart.listen.task import measure
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    if plot is not None:
        check_output_path(plot, force)
    if not data.exists():
        raise BadInputError(f"{data}: no such file or folder")
    net = load_model(model, device=resolve_device(device), expect_kind="listen-cnn")
    split_cfg = (getattr(net, "checkpoint", {}) or {}).get("metadata", {}).get("data_config", {})
    items = _read_eval_items(data, split_cfg)
    feats = cached_features(items, net.config.features.to_dict(), cache_dir, workers=2)
    chosen = [i for i, it in enumerate(items) if split == "all" or it.split == "test"]
    train = [i for i, it in enumerate(items) if it.split == "train"] if baseline and split == "test" else []
    scores = measure(net, [items[i] for i in chosen], [feats[i] for i in chosen],
                     [items[i] for i in train] if train else None, [feats[i] for i in train] if train else None)
    if not scores:
        raise BadInputError(f"{data}: none of its {len(chosen)} files carries a label this model predicts")
    if fmt == "json":
        import json

        click.echo(json.dumps(scores, indent=2))
    else:
        for head, entry in scores.items():
            rows = []
            for who, s in entry.items():
                if who == "labels":
                    continue
                rows.append({"head": head, "model": who, **{k: v for k, v in s.items() if k != "confusion"}})
            click.echo(format_rows(rows, "table"))
            if "confusion" in entry["cnn"]:
                labels = entry["labels"]
                conf = [{"true \\ predicted": lab, **dict(zip(labels, row))}
                        for lab, row in zip(labels, entry["cnn"]["confusion"])]
                click.echo(f"\nconfusion matrix of the CNN ({head}):")
                click.echo(format_rows(conf, "table"))
            click.echo("")
    if plot is not None:
        _plot_confusions(scores, plot)
        click.echo(f"plot: {plot}", err=True)


def _plot_confusions(scores: dict[str, Any], path: Path) -> None:
    import numpy as np

    from soundart.plot import _pyplot

    heads = [h for h, e in scores.items() if "confusion" in e["cnn"]]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(heads), figsize=(4.5 * len(heads), 4), squeeze=False)
    for ax, head in zip(axes[0], heads):
        m = np.array(scores[head]["cnn"]["confusion"])
        labels = scores[head]["labels"]
        ax.imshow(m, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center")
        ax.set_title(f"{head}: acc {scores[head]['cnn']['accuracy']:.2f}")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
