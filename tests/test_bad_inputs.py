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
AUDIO_CASES: list = []

# ---- listening: analyze, eval listen ------------------------------------------------------------------
LISTEN_CASES = [
    ("analyze-shard-k-over-n", ["analyze", "{tone}", "--shard", "3/2"], "--shard"),
    ("analyze-shard-zero", ["analyze", "{tone}", "--shard", "0/0"], "--shard"),
    ("analyze-shard-text", ["analyze", "{tone}", "--shard", "half"], "--shard"),
    ("analyze-shard-negative", ["analyze", "{tone}", "--shard", "-1/4"], "--shard"),
    ("analyze-top-nan", ["analyze", "{tone}", "--top", "nan"], "--top"),
    ("analyze-top-zero", ["analyze", "{tone}", "--top", "0"], "--top"),
    ("analyze-top-fraction", ["analyze", "{tone}", "--top", "2.5"], "--top"),
    ("analyze-workers-zero", ["analyze", "{tone}", "--workers", "0"], "--workers"),
    ("analyze-workers-nan", ["analyze", "{tone}", "--workers", "nan"], "--workers"),
    ("analyze-max-duration-nan", ["analyze", "{tone}", "--max-duration", "nan"], "--max-duration"),
    ("analyze-max-duration-zero", ["analyze", "{tone}", "--max-duration", "0"], "--max-duration"),
    ("analyze-max-duration-text", ["analyze", "{tone}", "--max-duration", "an hour"], "--max-duration"),
    ("analyze-resume-no-output", ["analyze", "{tone}", "--resume"], "--resume"),
    ("analyze-resume-table", ["analyze", "{tone}", "--resume", "-o", "{tmp}/a.txt"], "--resume"),
    ("analyze-resume-json", ["analyze", "{tone}", "--resume", "-o", "{tmp}/a.json"], "--resume"),
    ("analyze-resume-force", ["analyze", "{tone}", "--resume", "--force", "-o", "{tmp}/a.jsonl"], "--resume"),
    ("analyze-output-folder", ["analyze", "{tone}", "-o", "{tmp}"], "is a directory"),
    ("analyze-output-no-folder", ["analyze", "{tone}", "-o", "{tmp}/no/a.jsonl"], "does not exist"),
    ("analyze-model-missing", ["analyze", "{tone}", "--model", "{tmp}/nope", "-o", "{tmp}/a.jsonl"], "nope"),
]

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
