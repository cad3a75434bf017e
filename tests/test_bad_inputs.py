"""Every bad input a careful user tried: one line on stderr naming the problem, exit 2, nothing written.

One table of cases per part of the toolkit; each case is (id, arguments, what the message names).
Arguments may hold ``{tmp}`` (the test's empty output folder) and ``{tone}`` (a 1 s 440 Hz WAV).
Nothing may be left in ``{tmp}`` by a refused command, except the inputs the case made itself.
"""

from __future__ import annotations

import pytest
import soundfile as sf
from click.testing import CliRunner

from soundart.cli import cli
from tests.conftest import tone

# ---- music: sketch, eval sketches ---------------------------------------------------------------------
MUSIC_CASES = [
    ("sketch-temperature-nan", ["sketch", "-o", "{tmp}/x.mid", "--temperature", "nan"], "--temperature"),
    ("sketch-temperature-inf", ["sketch", "-o", "{tmp}/x.mid", "--temperature", "inf"], "--temperature"),
    ("sketch-seed-negative", ["sketch", "-o", "{tmp}/x.mid", "--seed", "-1"], "--seed"),
    ("sketch-key-strength-nan", ["sketch", "-o", "{tmp}/x.mid", "--key-strength", "nan"], "--key-strength"),
    ("sketch-top-p-nan", ["sketch", "-o", "{tmp}/x.mid", "--top-p", "nan"], "--top-p"),
    ("sketch-tempo-inf", ["sketch", "-o", "{tmp}/x.mid", "--tempo", "inf"], "--tempo"),
]

# ---- audio: synth, vocode, render, style, features, invert --------------------------------------------
AUDIO_CASES: list = [
    ("render-sr-1", ["render", "{tone}", "-o", "{tmp}/x.wav", "--sr", "1"], "--sr"),
    ("render-sr-huge", ["render", "{tone}", "-o", "{tmp}/x.wav", "--sr", "10000000"], "--sr"),
    ("render-soundfont-missing", ["render", "{tone}", "-o", "{tmp}/x.wav", "--soundfont", "{tmp}/no.sf2"], "no.sf2"),
    ("render-soundfont-not-sf2", ["render", "{tone}", "-o", "{tmp}/x.wav", "--soundfont", "{tone}"], "tone.wav"),
    ("render-not-midi", ["render", "{tone}", "-o", "{tmp}/x.wav"], "tone.wav"),
    ("sketch-render-soundfont-not-sf2", ["sketch", "-o", "{tmp}/x.mid", "--render", "{tmp}/x.wav", "--soundfont",
                                         "{tone}"], "tone.wav"),
    ("sketch-soundfont-without-render", ["sketch", "-o", "{tmp}/x.mid", "--soundfont", "{tone}"], "--soundfont"),
]

# ---- listening: analyze, eval listen ------------------------------------------------------------------
LISTEN_CASES: list = []

# ---- training, models, files: train, models, output paths ---------------------------------------------
TRAIN_CASES: list = []

CASES = MUSIC_CASES + AUDIO_CASES + LISTEN_CASES + TRAIN_CASES


@pytest.fixture
def tone_file(tmp_path):
    path = tmp_path / "in" / "tone.wav"
    path.parent.mkdir()
    sf.write(path, tone(), 22050)
    return path


@pytest.mark.parametrize("args, names", [pytest.param(a, n, id=i) for i, a, n in CASES])
def test_bad_input_is_refused_in_one_line(tmp_path, tone_file, args, names):
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(tmp=out, tone=tone_file) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and names in lines[0], result.output
    assert "Traceback" not in result.output
    assert not any(out.iterdir()), sorted(out.iterdir())
