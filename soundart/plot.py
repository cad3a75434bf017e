"""Pictures people would rather look at than read: spectrograms and piano rolls (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from soundart.io import atomic_output


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_spectrogram(image: np.ndarray, path: str | Path, *, sr: int, hop_length: int,
                     title: str = "", ylabel: str = "bin", colorbar_label: str = "",
                     force: bool = False) -> Path:
    """Draw ``image`` (bins, frames) with time in seconds on x; write a PNG atomically."""
    plt = _pyplot()
    image = np.asarray(image)
    seconds = image.shape[-1] * hop_length / sr
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    mesh = ax.imshow(image, origin="lower", aspect="auto", cmap="magma",
                     extent=(0.0, seconds, 0, image.shape[0]), interpolation="nearest")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    fig.tight_layout()
    with atomic_output(path, force) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def plot_images(images: Sequence[np.ndarray], path: str | Path, titles: Sequence[str] = (),
                force: bool = False) -> Path:
    """A row of small spectrogram images (e.g. generated samples), one PNG."""
    plt = _pyplot()
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(3 * n, 3), dpi=100, squeeze=False)
    for i, (ax, image) in enumerate(zip(axes[0], images)):
        ax.imshow(np.asarray(image), origin="lower", aspect="auto", cmap="magma")
        ax.set_title(titles[i] if i < len(titles) else "")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    with atomic_output(path, force) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def plot_pianoroll(notes: Sequence[tuple[float, float, int, int]], path: str | Path, *, title: str = "",
                   bar_seconds: float | None = None, force: bool = False) -> Path:
    """Draw notes as a piano roll (time in s on x, MIDI pitch on y, colour = velocity); write a PNG.

    Parameters
    ----------
    notes : ``(start_s, end_s, pitch, velocity)`` per note.
    bar_seconds : draw a bar line every this many seconds when given.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    cmap = plt.get_cmap("viridis")
    for start, end, pitch, velocity in notes:
        ax.add_patch(plt.Rectangle((start, pitch - 0.4), max(end - start, 1e-3), 0.8,
                                   color=cmap(velocity / 127.0), linewidth=0))
    end_time = max((n[1] for n in notes), default=1.0)
    pitches = [n[2] for n in notes] or [60]
    ax.set_xlim(0, end_time)
    ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    if bar_seconds:
        for x in np.arange(0.0, end_time + 1e-9, bar_seconds):
            ax.axvline(x, color="0.8", linewidth=0.6, zorder=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_output(path, force) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
