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
LISTEN_CASES: list = []

# ---- training, models, files: train, models, output paths ---------------------------------------------
# Recipes live in tests/train/recipes/ (bad-*.yaml: one bad field each; ok.yaml: refused before its data is read).
TRAIN_CASES: list = [
    *[(f"recipe-{name}", ["train", f"{__file__.rpartition('/')[0]}/train/recipes/bad-{name}.yaml",
                          "--out", "{tmp}/run"], names)
      for name, names in [("steps-string", "train.steps"), ("steps-float", "train.steps"),
                          ("steps-bool", "train.steps"), ("lr-nan", "train.lr"), ("lr-list", "train.lr"),
                          ("betas-number", "train.betas"), ("betas-too-many", "train.betas"),
                          ("grad-clip-negative", "train.grad_clip"), ("device-unknown", "train.device"),
                          ("model-type", "model.hidden_size")]],
    ("recipe-binary-file", ["train", "{tone}", "--out", "{tmp}/run"], "not a text file"),
    ("recipe-missing", ["train", "{tmp}/none.yaml"], "no such recipe"),
    *[(f"train-{name}", ["train", f"{__file__.rpartition('/')[0]}/train/recipes/ok.yaml", *args], names)
      for name, args, names in [
          ("out-is-a-file", ["--out", "{tone}"], "is a file, not a run folder"),
          ("out-under-a-file", ["--out", "{tone}/run"], "not a folder"),
          ("resume-and-force", ["--out", "{tmp}/run", "--resume", "--force"], "exclude each other"),
          ("resume-without-state", ["--out", "{tmp}/run", "--resume"], "no training state"),
          ("steps-zero", ["--out", "{tmp}/run", "--steps", "0"], "train.steps"),
          ("seed-too-big", ["--out", "{tmp}/run", "--seed", str(2**32)], "train.seed")]],
    ("models-unknown-name", ["models", "no-such-model"], "no-such-model"),
    ("output-is-a-directory-even-with-force", ["analyze", "{tone}", "-o", "{tmp}", "--force"], "is a directory"),
]

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
