"""Pictures in units: the figures' axes, ticks, legends and colour bars, and the PNG files they make."""

from __future__ import annotations

import librosa
import matplotlib.image
import numpy as np
import pytest
from click.testing import CliRunner

from soundart.cli import cli
from soundart.plot import mel_ticks, note_name, plot_confusion, plot_pianoroll, plot_spectrogram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_size=(200, 300)):
    assert path.read_bytes()[:8] == PNG_MAGIC
    h, w = matplotlib.image.imread(path).shape[:2]
    assert h >= min_size[0] and w >= min_size[1], (h, w)


def ticklabels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels()]


def test_mel_axis_has_hz_ticks_where_the_bands_are(tmp_path):
    image = np.random.default_rng(0).normal(-40, 10, (64, 100))
    fig = plot_spectrogram(image, tmp_path / "mel.png", sr=16000, hop_length=512, axis="mel", fmax=8000)
    ax = fig.axes[0]
    labels = ticklabels(ax.yaxis)
    assert labels == ["200", "500", "1k", "2k", "4k"], labels  # 50 and 100 Hz would overlap 200
    assert ax.get_ylabel() == "frequency (Hz, mel-spaced)" and ax.get_xlabel() == "time (s)"
    assert ax.get_xlim() == pytest.approx((0.0, 100 * 512 / 16000))
    # the 1 kHz tick sits between the two bands whose centres straddle 1 kHz
    centres = librosa.mel_frequencies(66, fmin=0, fmax=8000)[1:-1]
    pos = dict(zip(labels, ax.get_yticks()))["1k"]
    assert centres[int(np.floor(pos))] <= 1000 <= centres[int(np.ceil(pos))]
    assert fig.axes[1].get_ylabel() == "dB"  # the colour bar
    assert_png(tmp_path / "mel.png")


def test_mel_ticks_follow_the_scale_and_range():
    slaney = dict(zip(*reversed(mel_ticks(128, 22050))))
    pos_htk, labels = mel_ticks(128, 22050, htk=True)
    assert labels[-1] == "8k" and slaney["1k"] != pytest.approx(dict(zip(labels, pos_htk))["1k"], abs=1)
    assert np.all(np.diff(pos_htk) > 0) and 0 <= pos_htk[0] and pos_htk[-1] <= 127


def test_the_commands_labels_choose_the_axis():
    image = np.zeros((1025, 20))
    ax = plot_spectrogram(image, sr=22050, hop_length=512, ylabel="frequency bin").axes[0]
    assert ax.get_ylim() == (0.0, 11025.0) and ax.get_ylabel() == "frequency (Hz)"
    ax = plot_spectrogram(np.zeros((12, 20)), sr=22050, hop_length=512, ylabel="pitch class (C..B)").axes[0]
    assert ticklabels(ax.yaxis) == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    ax = plot_spectrogram(np.zeros((20, 20)), sr=22050, hop_length=512, ylabel="MFCC").axes[0]
    assert ax.get_ylabel() == "MFCC"  # no unit to show: bins as they are


def test_pianoroll_names_notes_tracks_and_bars(tmp_path):
    tracks = {"melody": [(0.0, 0.5, 72, 100), (0.5, 1.0, 76, 60)], "bass": [(0.0, 2.0, 48, 90)],
              "chords": [(0.0, 2.0, 60, 70), (0.0, 2.0, 64, 70)]}
    fig = plot_pianoroll(tracks, tmp_path / "roll.png", title="t", bar_seconds=0.5)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["melody (2)", "bass (1)", "chords (2)"]
    assert "C3" in ticklabels(ax.yaxis) and "C5" in ticklabels(ax.yaxis)
    colours = {tuple(p.get_facecolor()[:3]) for p in ax.patches if p.get_width() > 0}
    assert len(colours) == 3  # one colour per track
    assert len(ax.lines) == 5  # bar lines at 0, 0.5, 1, 1.5, 2 s
    assert ax.get_ylabel() == "note" and ax.get_xlabel() == "time (s)"
    assert_png(tmp_path / "roll.png")


def test_pianoroll_of_one_list_still_draws_and_names_notes():
    ax = plot_pianoroll([(0.0, 1.0, 60, 100), (1.0, 2.0, 67, 100)]).axes[0]
    assert ticklabels(ax.yaxis) == [note_name(p) for p in range(59, 69)]
    assert ax.get_legend() is None
    assert note_name(60) == "C4" and note_name(69) == "A4" and note_name(21) == "A0"


def test_confusion_names_the_classes(tmp_path):
    labels = ["rock", "jazz", "classical"]
    m = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 9]])
    fig = plot_confusion([("genre", m, labels), ("mood", np.eye(2, dtype=int) * 4, ["happy", "sad"])],
                         tmp_path / "cm.png")
    ax = fig.axes[0]
    assert ticklabels(ax.xaxis) == labels and ticklabels(ax.yaxis) == labels
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert [t.get_text() for t in ax.texts] == [str(v) for v in m.ravel()]
    assert ticklabels(fig.axes[1].xaxis) == ["happy", "sad"] or ticklabels(fig.axes[2].xaxis) == ["happy", "sad"]
    assert_png(tmp_path / "cm.png")


def test_features_plot_from_the_command_line_is_in_hz(tmp_path, tone_wav):
    out, png = tmp_path / "m.npy", tmp_path / "m.png"
    result = CliRunner().invoke(cli, ["features", str(tone_wav), "--kind", "logmel", "--out", str(out),
                                      "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert_png(png)
