"""Pictures people would rather look at than read, in units: spectrograms (Hz, seconds, dB), piano rolls
(note names, bars, one colour per track) and confusion matrices (class names). PNG files.

Each function returns the matplotlib ``Figure`` it drew (closed, so it holds no GUI resources; its axes,
ticks and labels stay readable) and writes it to ``path`` atomically when a path is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ConfigError
from soundart.io import atomic_output

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
HZ_TICKS = (50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000)
# the y axis a caller meant, from the label the commands pass (they predate ``axis``)
AXIS_OF_LABEL = {"mel band": "mel", "frequency bin": "linear", "pitch class (C..B)": "chroma"}
PLOT_SUFFIXES = (".png",)  # what the figures are written as (PNG bytes under another suffix would mislead)


def check_plot(plot: str | os.PathLike | None, force: bool) -> Path | None:
    """A picture path: a known picture suffix, a folder that exists, no file there unless ``force``."""
    from soundart.io import check_output_path

    if plot is None:
        return None
    plot = Path(plot)
    if plot.suffix.lower() not in PLOT_SUFFIXES:
        raise ConfigError(f"plot: {plot}: a picture needs a {' or '.join(PLOT_SUFFIXES)} suffix")
    return check_output_path(plot, force)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, path: str | Path | None, force: bool):
    """Write ``fig`` as a PNG (atomically: never a half-written file) and close it."""
    plt = _pyplot()
    if path is not None:
        with atomic_output(path, force) as tmp:
            fig.savefig(tmp, format="png")
    plt.close(fig)
    return fig


def note_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name (60 -> "C4")."""
    return f"{NOTE_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def mel_ticks(n_mels: int, sr: int, fmin: float = 0.0, fmax: float | None = None,
              htk: bool = False) -> tuple[np.ndarray, list[str]]:
    """Positions (in band units, 0 = the lowest band's centre) and labels of round Hz values on a mel axis
    of ``n_mels`` bands from ``fmin`` to ``fmax`` (default sr / 2), as librosa's filterbank spaces them."""
    import librosa

    fmax = sr / 2 if fmax is None else fmax
    centres = librosa.mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]
    hz = [f for f in HZ_TICKS if centres[0] <= f <= centres[-1]]
    pos = np.interp(librosa.hz_to_mel(np.array(hz, dtype=float), htk=htk),
                    librosa.hz_to_mel(centres, htk=htk), np.arange(n_mels))
    keep = []  # from the top down, drop a tick closer than 1/16 of the axis to the one above (labels overlap)
    for i in range(len(hz) - 1, -1, -1):
        if not keep or pos[keep[-1]] - pos[i] >= n_mels / 16:
            keep.append(i)
    keep.reverse()
    return pos[keep], [_hz_label(hz[i]) for i in keep]


def plot_spectrogram(image: np.ndarray, path: str | Path | None = None, *, sr: int, hop_length: int,
                     title: str = "", ylabel: str = "bin", colorbar_label: str = "", force: bool = False,
                     axis: str | None = None, fmin: float = 0.0, fmax: float | None = None,
                     htk: bool = False) -> Any:
    """Draw ``image`` (bins, frames) with time in seconds on x and the bins in their units on y.

    Parameters
    ----------
    image : (bins, frames) values, e.g. a log-mel in dB.
    sr, hop_length : the sample rate (Hz) and hop (samples) that made the frames.
    axis : what the rows are: "mel" (bands from ``fmin`` to ``fmax``, ``htk`` or Slaney scale: Hz
        ticks at mel spacing), "linear" (STFT bins 0..sr/2: Hz), "chroma" (note names), or None:
        from ``ylabel`` ("mel band" -> mel, "frequency bin" -> linear, "pitch class (C..B)" ->
        chroma), else plain bin numbers under ``ylabel``.
    colorbar_label : the colour bar's unit (default "dB" for mel and linear axes).
    path : write a PNG here; ``force`` overwrites.

    Returns
    -------
    The matplotlib Figure (closed).
    """
    plt = _pyplot()
    image = np.asarray(image)
    axis = axis or AXIS_OF_LABEL.get(ylabel)
    seconds = image.shape[-1] * hop_length / sr
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    extent = (0.0, seconds, -0.5, image.shape[0] - 0.5)  # row i centred on y = i
    if axis == "linear":
        extent = (0.0, seconds, 0.0, sr / 2)
    mesh = ax.imshow(image, origin="lower", aspect="auto", cmap="magma", extent=extent, interpolation="nearest")
    if axis == "mel":
        pos, labels = mel_ticks(image.shape[0], sr, fmin, fmax, htk)
        ax.set_yticks(pos, labels)
        ylabel = "frequency (Hz, mel-spaced)"
    elif axis == "linear":
        ylabel = "frequency (Hz)"
    elif axis == "chroma":
        ax.set_yticks(range(image.shape[0]), [NOTE_NAMES[i % 12] for i in range(image.shape[0])])
        ylabel = "pitch class"
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, label=colorbar_label or ("dB" if axis in ("mel", "linear") else ""))
    fig.tight_layout()
    return _finish(fig, path, force)


def plot_images(images: Sequence[np.ndarray], path: str | Path | None = None, titles: Sequence[str] = (),
                force: bool = False) -> Any:
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
    return _finish(fig, path, force)


Note = tuple[float, float, int, int]  # (start_s, end_s, pitch, velocity)


def plot_pianoroll(notes: Sequence[Note] | Mapping[str, Sequence[Note]], path: str | Path | None = None, *,
                   title: str = "", bar_seconds: float | None = None, force: bool = False) -> Any:
    """Draw notes as a piano roll: time in s on x, note names on y, bar lines, one colour per track.

    Parameters
    ----------
    notes : ``(start_s, end_s, pitch, velocity)`` per note, or ``{track name: notes}`` for several
        tracks (a legend names them). Velocity sets each note's opacity.
    bar_seconds : draw a bar line every this many seconds (numbered every 4 bars) when given.

    Returns
    -------
    The matplotlib Figure (closed).
    """
    plt = _pyplot()
    tracks = dict(notes) if isinstance(notes, Mapping) else {"": list(notes)}
    every = [n for track in tracks.values() for n in track]
    end_time = max((n[1] for n in every), default=1.0)
    pitches = [n[2] for n in every] or [60]
    lo, hi = min(pitches) - 1, max(pitches) + 1
    fig, ax = plt.subplots(figsize=(10, 4 if hi - lo < 30 else 6), dpi=100)
    colours = plt.get_cmap("tab10").colors
    for i, (name, track) in enumerate(tracks.items()):
        colour = colours[i % len(colours)]
        for start, end, pitch, velocity in track:
            ax.add_patch(plt.Rectangle((start, pitch - 0.4), max(end - start, 1e-3), 0.8, facecolor=colour,
                                       alpha=0.35 + 0.65 * velocity / 127.0, linewidth=0))
        if name:
            ax.add_patch(plt.Rectangle((0, 0), 0, 0, facecolor=colour, label=f"{name} ({len(track)})"))
    ax.set_xlim(0, end_time)
    ax.set_ylim(lo - 0.5, hi + 0.5)
    # every note named while about two octaves fit, else C, E and G of each octave, else only the Cs
    span = hi - lo
    names = range(12) if span <= 24 else (0, 4, 7) if span <= 48 else (0,)
    ticks = [p for p in range(lo, hi + 1) if p % 12 in names]
    ax.set_yticks(ticks, [note_name(p) for p in ticks])
    if bar_seconds:
        for k, x in enumerate(np.arange(0.0, end_time + 1e-9, bar_seconds)):
            ax.axvline(x, color="0.55" if k % 4 == 0 else "0.82", linewidth=0.7, zorder=0)
        secax = ax.secondary_xaxis("top")
        bars = np.arange(0.0, end_time + 1e-9, 4 * bar_seconds)
        secax.set_xticks(bars, [str(int(round(b / bar_seconds)) + 1) for b in bars])
        secax.set_xlabel("bar")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("note")
    ax.set_title(title)
    if any(tracks):
        ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    fig.tight_layout()
    return _finish(fig, path, force)


def plot_confusion(panels: Sequence[tuple[str, np.ndarray, Sequence[str]]], path: str | Path | None = None, *,
                   force: bool = False) -> Any:
    """Confusion matrices side by side, one per ``(title, matrix (true, predicted) counts, class names)``.

    Rows are the true classes, columns the predicted ones, both named; each cell shows its count,
    coloured by the share of its row (so small classes read as clearly as big ones).

    Returns
    -------
    The matplotlib Figure (closed).
    """
    plt = _pyplot()
    n = max(1, len(panels))
    width = max(4.5, 0.45 * max((len(p[2]) for p in panels), default=8) + 2)
    fig, axes = plt.subplots(1, n, figsize=(width * n, width * 0.9), dpi=100, squeeze=False)
    for ax, (title, matrix, labels) in zip(axes[0], panels):
        m = np.asarray(matrix)
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if share[i, j] > 0.6 else "black")
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        fig.colorbar(image, ax=ax, label="share of the true class", fraction=0.046)
    fig.tight_layout()
    return _finish(fig, path, force)
