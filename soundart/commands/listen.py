"""``soundart analyze`` and ``soundart eval listen``: the listening classifier from the shell."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from soundart.commands.common import device_option, flags_in_errors, force_option, format_rows


def _whole(name: str, lo: int, hi: int):
    """A click callback reading a whole number in lo..hi, refusing anything else in one line naming ``name``."""
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
        from soundart.errors import ConfigError

        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            raise ConfigError(f"{name} must be a whole number in {lo}..{hi}, got {value!r}")
        return number
    return check


def _seconds(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """--max-duration read here rather than by click's FLOAT, so "abc" gets one line like "nan" does."""
    import math

    from soundart.errors import ConfigError

    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"--max-duration must be a number of seconds > 0, got {value!r}")
    return seconds


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _say(line: str) -> None:
    """One line on stderr without tearing a progress bar (tqdm.write clears and redraws it)."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


EXIT_CODES = """\b
Exit codes: 0 every file analysed (silent and short files included);
1 some inputs could not be analysed (each reported on stderr, and in
json/jsonl/csv output as a record with "error"); 2 a usage error or an
output that cannot be written; 130 interrupted (Ctrl-C): every file
finished so far is in the output, and --resume goes on from there."""


@click.command(epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, required=True)
@click.option("--recursive", "-r", is_flag=True, help="Look for audio in subfolders too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None,
              help="Output format [default: from the -o suffix (.jsonl .json .csv), else table]. "
                   "Every format is written file by file as the run goes.")
@click.option("--top", default="3", show_default=True, metavar="K", callback=_whole("--top", 1, 1000),
              help="Labels with probabilities listed per head.")
@click.option("--segments", is_flag=True, help="Report genre and mood per ~3 s segment over time.")
@click.option("--model", default="listen", show_default=True, help="Shipped model name or checkpoint path.")
@click.option("--workers", default=None, metavar="N", callback=_whole("--workers", 1, 256),
              help="Decoding processes (default: up to 2).")
@click.option("--shard", default=None, metavar="K/N",
              help="Analyse part K of N (1-based) of the sorted files, for job arrays: parts 1/N .. N/N "
                   "hold every file exactly once.")
@click.option("--resume", is_flag=True,
              help="Skip the files already in the -o FILE (jsonl or csv) and append to it; start it if absent.")
@click.option("--max-duration", default="1800", show_default=True, metavar="SECONDS", callback=_seconds,
              help="Seconds of each file to analyse; a longer file is analysed on its start (analysed_s).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write to FILE, not stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@device_option
@force_option
def analyze(paths: tuple[str, ...], recursive: bool, fmt: str | None, top: int, segments: bool, model: str,
            workers: int | None, shard: str | None, resume: bool, max_duration: float, output: Path | None,
            quiet: bool, device: str, force: bool) -> None:
    """Genre, mood (quadrant, valence, arousal) and descriptors of audio PATHS (files or folders).

    Genres are 13 (classical, electronic, pop, rock, jazz, r&b, blues, country,
    latin, rap, folk, new age, reggae), each with its own calibrated probability
    (a recording can be several: "genres" lists the top K). Each file's record
    is written as soon as it is done. A file that cannot be analysed is
    reported on stderr (name and reason) and the run goes on.
    """
    from soundart.listen.analyze import analyze as run
    from soundart.listen.analyze import parse_shard
    from soundart.listen.records import Output, format_for

    fmt = format_for(output, fmt)
    with flags_in_errors({"shard": "--shard"}):
        part = parse_shard(shard)
    skip = _prepare_output(output, fmt, segments, resume, force)
    out = Output(output, fmt, segments=segments, append=resume)
    results = run(list(paths), model=model, device=device, workers=workers, top=top, segments=segments,
                  recursive=recursive, shard=part, skip=skip, max_duration=max_duration, progress=not quiet)
    analysed, failed, interrupted = _drain(results, out, skip)
    done = f"; {len(skip)} were already in {output}" if resume else ""
    if interrupted:
        where = (f"all in {output}: run the same command with --resume to go on" if output
                 else "all written to stdout (write to -o FILE to be able to --resume)")
        click.echo(f"interrupted: {analysed + failed} files finished this run{done}; {where}", err=True)
        sys.exit(130)
    if failed:
        click.echo(f"{failed} of {failed + analysed} inputs failed; {analysed} analysed{done}", err=True)
        sys.exit(1)
    if resume and not quiet:
        click.echo(f"{analysed} analysed{done}", err=True)


def _prepare_output(output: Path | None, fmt: str, segments: bool, resume: bool, force: bool) -> set[str]:
    """Check -o/--resume/--force before any work; the files a resumed output already holds."""
    from soundart.errors import ConfigError
    from soundart.io import check_output_path
    from soundart.listen.records import done_files

    if not resume:
        if output is not None:
            check_output_path(output, force)
        return set()
    if output is None:
        raise ConfigError("--resume needs -o FILE: the output to read and append to")
    if fmt not in ("jsonl", "csv"):
        raise ConfigError(f"--resume needs --format jsonl or csv (a {fmt} output cannot be appended to)")
    if force:
        raise ConfigError("--resume appends to -o FILE and --force would replace it; give one of them")
    skip = done_files(output, fmt, segments)
    check_output_path(output, force=True)
    return skip


def _drain(results, out, skip: set[str]) -> tuple[int, int, bool]:
    """Write each record as it comes, say what went wrong on stderr; (analysed, failed, interrupted)."""
    import os
    import signal

    analysed = failed = 0
    try:
        for rec in results:
            if "error" in rec:
                failed += 1
                _say(f"skipped: {rec['file']}: {rec['error']}")
                if os.path.normpath(rec["file"]) in skip:  # a bad path the resumed output already reports
                    continue
            else:
                analysed += 1
                for warning in rec.get("warnings", []):
                    _say(f"warning: {rec['file']}: {warning}")
                if "analysed_s" in rec:
                    _say(f"note: {rec['file']}: {_clock(rec['duration_s'])} long; analysed its first "
                         f"{_clock(rec['analysed_s'])} (--max-duration)")
            out.write(rec)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the clean-up
        return analysed, failed, True
    finally:
        results.close()  # the workers stop here, before anything else is printed
        out.close()
    return analysed, failed, False


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
    """Accuracy, macro-F1, ROC-AUC, calibration and confusion matrix of a listening MODEL on labelled DATA.

    DATA is a mood4q or emotify folder, a ROOT/<genre>/ folder or a CSV
    manifest. With --split test the files are split by artist/group exactly as
    in training (the split settings stored in the model), and only the test
    split is scored.
    """
    from soundart.plot import check_plot
    from soundart.train.api import listen_scores

    with flags_in_errors({"plot": "--plot"}):
        check_plot(plot, force)
    scores = listen_scores(model, data, split=split, baseline=baseline, cache_dir=cache_dir, device=device)
    if fmt == "json":
        import json

        click.echo(json.dumps(scores, indent=2))
    else:
        _print_scores(scores)
    if plot is not None:
        _plot_confusions(scores, plot)
        click.echo(f"plot: {plot}", err=True)


def _print_scores(scores: dict[str, Any]) -> None:
    """One table per head, the per-genre ROC-AUC and the confusion matrices."""
    for head, entry in scores.items():
        rows = [{"head": head, "model": who, **{k: v for k, v in s.items() if k != "confusion"
                                                and not isinstance(v, dict)}}
                for who, s in entry.items() if who != "labels"]
        click.echo(format_rows(rows, "table"))
        if "roc_auc" in entry["cnn"]:
            click.echo(f"\nROC-AUC per AllMusic genre ({head}):")
            click.echo(format_rows([{"genre": g, "roc_auc": v} for g, v in entry["cnn"]["roc_auc"].items()], "table"))
        if "confusion" in entry["cnn"]:
            labels = entry["labels"]
            conf = [{"true \\ predicted": lab, **dict(zip(labels, row))}
                    for lab, row in zip(labels, entry["cnn"]["confusion"])]
            click.echo(f"\nconfusion matrix of the CNN ({head}):")
            click.echo(format_rows(conf, "table"))
        click.echo("")


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
