"""What the audio jobs return, and the output rules they share.

Every job (``soundart.synth``, ``morph``, ``reconstruct``, ``vocode``, ``style``, ``invert``) returns
:class:`Clip` objects: the samples, their rate, and what the job has to say about them. Files are
written only when the caller names them (``out=``), and every output path is checked before any work
starts, so a refused call leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundart.checks import check_number

GAP_SECONDS = 0.25  # silence between clips joined into one file (morph)
# soundart.plot writes PNG whatever the name: refuse other suffixes rather than put PNG bytes in a .pdf/.svg
# (add them here once it picks the format from the suffix)
MAX_CLIPS = 100  # -n: files per call; a batch of 100 two-second notes is ~1 GB of WaveNet uniforms
# Griffin-Lim runs clips in batches: one clip at a time took ~10x as long per clip on the 2-core CPU,
# while groups of this many still let progress count files as they are written
GROUP = 8


@dataclass
class Clip:
    """One piece of audio made by a job.

    Attributes
    ----------
    audio : float32 samples, shape (samples,), in [-1, 1].
    sr : sample rate in Hz.
    logmel : the log-mel (dB, (n_mels, frames)) the clip was made from, when there was one.
    info : figures the job measured (e.g. ``elapsed`` seconds, ``logmel_l1_db``).
    notes : things worth telling the user (an input resampled, a fallback taken), one line each.
    path : where the clip was written, once it was.
    """

    audio: np.ndarray
    sr: int
    logmel: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sr

    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write the clip (format by suffix: .wav, .flac, .ogg ...); refuses to overwrite without ``force``."""
        from soundart.io import save_audio

        self.path = save_audio(path, self.audio, self.sr, force=force)
        return self.path


def to_clip(audio: Any, sr: int, logmel: Any = None, **fields: Any) -> Clip:
    """A Clip from a tensor or array (samples,); ``logmel`` likewise (kept as NumPy)."""
    def numpy(x: Any) -> np.ndarray:
        return x.detach().cpu().float().numpy() if hasattr(x, "detach") else np.asarray(x, np.float32)

    return Clip(numpy(audio).reshape(-1), int(sr), None if logmel is None else numpy(logmel), **fields)


def join(clips: Sequence[Clip], gap: float = GAP_SECONDS) -> Clip:
    """The clips one after another, ``gap`` seconds of silence apart, as one Clip."""
    sr = clips[0].sr
    silence = np.zeros(int(gap * sr), np.float32)
    parts: list[np.ndarray] = []
    for i, c in enumerate(clips):
        parts += [silence, c.audio] if i else [c.audio]
    logmels = [c.logmel for c in clips if c.logmel is not None]
    logmel = np.concatenate(logmels, axis=-1) if len(logmels) == len(clips) else None
    notes = list(dict.fromkeys(n for c in clips for n in c.notes))
    return Clip(np.concatenate(parts), sr, logmel, dict(clips[0].info), notes)


def numbered_paths(out: str | os.PathLike, n: int) -> list[Path]:
    """``out`` itself for one file, else ``NAME-1.SUF ... NAME-n.SUF`` (as ``soundart sketch -n`` names them)."""
    out = Path(out)
    if n == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(1, n + 1)]


def check_outputs(out: str | os.PathLike | None, plot: str | os.PathLike | None, force: bool,
                  n: int = 1) -> list[Path]:
    """Check every audio output (``n`` numbered files) and the picture before any work; the audio paths."""
    from soundart.io import audio_format, check_output_path
    from soundart.plot import check_plot

    check_plot(plot, force)
    if out is None:
        return []
    paths = numbered_paths(out, n)
    for p in paths:
        audio_format(p)
        check_output_path(p, force)
    return paths


def check_count(n: int, name: str = "n") -> None:
    check_number(name, n, 0, MAX_CLIPS, lo_open=True, integer=True)


def make_all(n: int, make: Callable[[int, int], Sequence[Clip]], paths: Sequence[Path], force: bool, *,
             group: int = GROUP, progress: bool = False, desc: str = "synth") -> list[Clip]:
    """Clips ``lo..hi-1`` = ``make(lo, hi)`` for groups of ``group``, each written to ``paths`` (when given)
    as soon as its group is made, counting files: with several, a bar on a terminal or lines in a log."""
    from soundart.progress import progress as progress_bar

    clips: list[Clip] = []
    with progress_bar(total=n, desc=desc, unit="file", quiet=not progress or n < 2) as bar:
        for lo in range(0, n, group):
            made = list(make(lo, min(n, lo + group)))
            for clip in made:
                if paths:
                    clip.save(paths[len(clips)], force=force)
                clips.append(clip)
            bar.update(len(made))
    return clips


def plot_logmel(logmel: np.ndarray, plot: str | os.PathLike | None, features: Any, force: bool,
                title: str = "") -> None:
    """Draw a dB log-mel (n_mels, frames) made with ``features`` (a FeatureConfig) to ``plot``."""
    if plot is None:
        return
    from soundart.plot import plot_spectrogram

    plot_spectrogram(logmel, plot, sr=features.sr, hop_length=features.hop_length, title=title,
                     ylabel="mel band", colorbar_label="dB", force=force)
