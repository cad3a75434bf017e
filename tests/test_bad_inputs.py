"""Every bad input a careful user tried: one line on stderr naming the problem, exit 2, nothing written.

One table of cases per part of the toolkit; each case is (id, arguments, what the message names).
Arguments may hold ``{tmp}`` (the test's empty output folder), ``{tone}`` (a 1 s 440 Hz WAV) and
``{song}`` (an 8-bar multi-track MIDI song).
Nothing may be left in ``{tmp}`` by a refused command, except the inputs the case made itself.
"""

from __future__ import annotations

import pytest
import soundfile as sf
from click.testing import CliRunner

from soundart.cli import cli
from tests.conftest import tone
from tests.music.helpers import song_file

# ---- music: sketch, eval sketches ---------------------------------------------------------------------
MUSIC_CASES = [
    ("sketch-temperature-nan", ["sketch", "-o", "{tmp}/x.mid", "--temperature", "nan"], "--temperature"),
    ("sketch-temperature-inf", ["sketch", "-o", "{tmp}/x.mid", "--temperature", "inf"], "--temperature"),
    ("sketch-seed-negative", ["sketch", "-o", "{tmp}/x.mid", "--seed", "-1"], "--seed"),
    ("sketch-key-strength-nan", ["sketch", "-o", "{tmp}/x.mid", "--key-strength", "nan"], "--key-strength"),
    ("sketch-top-p-nan", ["sketch", "-o", "{tmp}/x.mid", "--top-p", "nan"], "--top-p"),
    ("sketch-tempo-inf", ["sketch", "-o", "{tmp}/x.mid", "--tempo", "inf"], "--tempo"),
    ("sketch-plot-suffix", ["sketch", "-o", "{tmp}/x.mid", "--plot", "{tmp}/roll.xyz"], "--plot"),
    ("render-plot-suffix", ["render", "{song}", "-o", "{tmp}/x.wav", "--plot", "{tmp}/roll.xyz"], "--plot"),
    ("eval-listen-plot-suffix", ["eval", "listen", "listen", "{tmp}", "--plot", "{tmp}/cm.xyz"], "--plot"),
    ("sketch-regenerate-outside", ["sketch", "-i", "{song}", "--regenerate", "7-12", "-o", "{tmp}/x.mid"],
     "bars 7-12 lie outside"),
    ("sketch-regenerate-reversed", ["sketch", "-i", "{song}", "--regenerate", "8-5", "-o", "{tmp}/x.mid"],
     "run backwards"),
    ("sketch-regenerate-overlap", ["sketch", "-i", "{song}", "--regenerate", "1-4,3-5", "-o", "{tmp}/x.mid"],
     "overlap"),
    ("sketch-add-unknown-part", ["sketch", "-i", "{song}", "--add", "kazoo", "-o", "{tmp}/x.mid"], "kazoo"),
    ("sketch-input-not-midi", ["sketch", "-i", "{tone}", "--add", "drums", "-o", "{tmp}/x.mid"], "tone.wav"),
]

# ---- audio: synth, vocode, render, style, features, invert --------------------------------------------
WAV, NPY = "{tmp}/x.wav", "{tmp}/x.npy"
AUDIO_CASES = [
    ("synth-wavenet-seconds-nan", ["synth", "wavenet", "-o", WAV, "--seconds", "nan"], "--seconds"),
    ("synth-wavenet-seconds-inf", ["synth", "wavenet", "-o", WAV, "--seconds", "inf"], "--seconds"),
    ("synth-wavenet-seconds-long", ["synth", "wavenet", "-o", WAV, "--seconds", "31"], "--seconds"),
    ("synth-wavenet-temperature-nan", ["synth", "wavenet", "-o", WAV, "--temperature", "nan"], "--temperature"),
    ("synth-wavenet-temperature-0", ["synth", "wavenet", "-o", WAV, "--temperature", "0"], "--temperature"),
    ("synth-wavenet-temperature-huge", ["synth", "wavenet", "-o", WAV, "--temperature", "1e9"], "--temperature"),
    ("synth-wavenet-n-0", ["synth", "wavenet", "-o", WAV, "-n", "0"], "-n must be > 0"),
    ("synth-wavenet-n-huge", ["synth", "wavenet", "-o", WAV, "-n", "100000"], "-n must be <= 100"),
    ("synth-wavenet-pitch", ["synth", "wavenet", "-o", WAV, "--pitch", "200"], "--pitch"),
    ("synth-wavenet-plot-suffix", ["synth", "wavenet", "-o", WAV, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("synth-vae-seconds-nan", ["synth", "vae", "-o", WAV, "--seconds", "nan"], "--seconds"),
    ("synth-vae-seconds-0", ["synth", "vae", "-o", WAV, "--seconds", "0"], "--seconds"),
    ("synth-vae-temperature-nan", ["synth", "vae", "-o", WAV, "--temperature", "nan"], "--temperature"),
    ("synth-vae-temperature-negative", ["synth", "vae", "-o", WAV, "--temperature", "-1"], "--temperature"),
    ("synth-vae-temperature-huge", ["synth", "vae", "-o", WAV, "--temperature", "inf"], "--temperature"),
    ("synth-vae-n-0", ["synth", "vae", "-o", WAV, "-n", "0"], "-n must be > 0"),
    ("synth-vae-n-huge", ["synth", "vae", "-o", WAV, "-n", "5000"], "-n must be <= 100"),
    ("synth-vae-pitch-negative", ["synth", "vae", "-o", WAV, "--pitch", "-5"], "--pitch"),
    ("synth-vae-plot-suffix", ["synth", "vae", "-o", WAV, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("synth-gan-n-0", ["synth", "gan", "-o", WAV, "-n", "0"], "-n must be > 0"),
    ("synth-gan-n-huge", ["synth", "gan", "-o", WAV, "-n", "101"], "-n must be <= 100"),
    ("synth-gan-plot-suffix", ["synth", "gan", "-o", WAV, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("synth-morph-steps-1", ["synth", "morph", "{tone}", "{tone}", "-o", WAV, "--steps", "1"], "--steps"),
    ("synth-morph-steps-huge", ["synth", "morph", "{tone}", "{tone}", "-o", WAV, "--steps", "1000000"], "--steps"),
    ("synth-morph-plot-suffix", ["synth", "morph", "{tone}", "{tone}", "-o", WAV, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("synth-reconstruct-pitch", ["synth", "reconstruct", "{tone}", "-o", WAV, "--pitch", "128"], "--pitch"),
    ("synth-reconstruct-plot-suffix", ["synth", "reconstruct", "{tone}", "-o", WAV, "--plot", "{tmp}/p.xyz"],
     "--plot"),
    ("vocode-temperature-nan", ["vocode", "{tone}", "-o", WAV, "--temperature", "nan"], "--temperature"),
    ("vocode-temperature-inf", ["vocode", "{tone}", "-o", WAV, "--temperature", "inf"], "--temperature"),
    ("vocode-beam-0", ["vocode", "{tone}", "-o", WAV, "--beam", "0"], "--beam"),
    ("vocode-beam-huge", ["vocode", "{tone}", "-o", WAV, "--beam", "100000"], "--beam"),
    ("vocode-plot-suffix", ["vocode", "{tone}", "-o", WAV, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("style-style-weight-nan", ["style", "{tone}", "{tone}", "-o", WAV, "--style-weight", "nan"], "--style-weight"),
    ("style-content-weight-inf", ["style", "{tone}", "{tone}", "-o", WAV, "--content-weight", "inf"],
     "--content-weight"),
    ("style-weights-both-0", ["style", "{tone}", "{tone}", "-o", WAV, "--style-weight", "0", "--content-weight",
                              "0"], "--style-weight 0 and --content-weight 0"),
    ("style-kernel-huge", ["style", "{tone}", "{tone}", "-o", WAV, "--kernel", "100000"], "--kernel"),
    ("style-kernel-0", ["style", "{tone}", "{tone}", "-o", WAV, "--kernel", "0"], "--kernel"),
    ("style-filters-huge", ["style", "{tone}", "{tone}", "-o", WAV, "--filters", "1000000"], "--filters"),
    ("style-iterations-huge", ["style", "{tone}", "{tone}", "-o", WAV, "--iterations", "1000000000"],
     "--iterations"),
    ("style-seconds-nan", ["style", "{tone}", "{tone}", "-o", WAV, "--seconds", "nan"], "--seconds"),
    ("style-sr-1", ["style", "{tone}", "{tone}", "-o", WAV, "--sr", "1"], "--sr"),
    ("style-plot-suffix", ["style", "{tone}", "{tone}", "-o", WAV, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("features-n-fft-3", ["features", "{tone}", "--out", NPY, "--n-fft", "3"], "--n-fft"),
    ("features-n-fft-huge", ["features", "{tone}", "--out", NPY, "--n-fft", "10000000"], "--n-fft"),
    ("features-n-mfcc-500", ["features", "{tone}", "--kind", "mfcc", "--n-mfcc", "500", "--out", NPY], "--n-mfcc"),
    ("features-n-mels-empty-bands", ["features", "{tone}", "--n-fft", "128", "--hop-length", "64", "--n-mels", "128",
                                     "--out", NPY],
     "--n-mels"),
    ("features-n-mels-huge", ["features", "{tone}", "--n-mels", "100000", "--out", NPY], "--n-mels"),
    ("features-hop-0", ["features", "{tone}", "--hop-length", "0", "--out", NPY], "--hop-length"),
    ("features-hop-above-n-fft", ["features", "{tone}", "--hop-length", "4096", "--out", NPY], "--hop-length"),
    ("features-sr-1", ["features", "{tone}", "--sr", "1", "--out", NPY], "--sr"),
    ("features-plot-suffix", ["features", "{tone}", "--out", NPY, "--plot", "{tmp}/p.xyz"], "--plot"),
    ("invert-iterations-0", ["invert", "{tone}", "-o", WAV, "--iterations", "0"], "--iterations"),
    ("invert-iterations-huge", ["invert", "{tone}", "-o", WAV, "--iterations", "100000000"], "--iterations"),
    ("invert-n-fft-3", ["invert", "{tone}", "-o", WAV, "--n-fft", "3"], "--n-fft"),
    ("invert-hop-0", ["invert", "{tone}", "-o", WAV, "--hop-length", "0"], "--hop-length"),
    ("invert-sr-1", ["invert", "{tone}", "-o", WAV, "--sr", "1"], "--sr"),
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
# Recipes live in tests/train/recipes/ (bad-*.yaml: one bad field each; ok.yaml: refused before its data is read).
TRAIN_CASES: list = [
    *[(f"recipe-{name}", ["train", f"{__file__.rpartition('/')[0]}/train/recipes/bad-{name}.yaml",
                          "--out", "{tmp}/run"], names)
      for name, names in [("steps-string", "train.steps"), ("steps-float", "train.steps"),
                          ("steps-bool", "train.steps"), ("lr-nan", "train.lr"), ("lr-list", "train.lr"),
                          ("betas-number", "train.betas"), ("betas-too-many", "train.betas"),
                          ("grad-clip-negative", "train.grad_clip"), ("device-unknown", "train.device"),
                          ("model-type", "model.hidden_size"), ("listen-stretch", "model.stretch"),
                          ("listen-near-duplicates", "near_duplicates")]],
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
    song = song_file(tone_file.parent / "song.mid", bars=8)
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(tmp=out, tone=tone_file, song=song) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and names in lines[0], result.output
    assert "Traceback" not in result.output
    assert not any(out.iterdir()), sorted(out.iterdir())
