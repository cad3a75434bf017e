"""The shipped Music Transformer: the default of `soundart sketch`, torch-free, controls in the file."""

from __future__ import annotations

import math

from click.testing import CliRunner

from soundart.cli import cli
from soundart.commands.music import SKETCH_DEFAULT_MODEL
from soundart.io import load_midi
from soundart.models import shipped_path
from soundart.music.sample import load_stepper
from soundart.music.transformer_np import NumpyTransformer


def test_sketch_defaults_to_the_shipped_transformer_and_obeys_key_tempo_meter_bars(tmp_path):
    assert SKETCH_DEFAULT_MODEL == "transformer"
    out = tmp_path / "idea.mid"
    res = CliRunner().invoke(cli, ["sketch", "-o", str(out), "--key", "D minor", "--tempo", "90", "--meter", "3/4",
                                   "--bars", "4", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert "transformer)" in res.output, res.output
    midi = load_midi(out)
    assert midi.key_signature_changes[0].key_number == 14
    assert abs(midi.get_tempo_changes()[1][0] - 90) < 0.01
    ts = midi.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)
    bar_seconds = 3 * 60 / 90
    assert math.ceil(midi.get_end_time() / bar_seconds - 1e-6) == 4
    pitch_classes = {n.pitch % 12 for inst in midi.instruments for n in inst.notes}
    assert pitch_classes <= {2, 4, 5, 7, 9, 10, 0, 1}, pitch_classes  # D harmonic/natural minor


def test_shipped_transformer_runs_on_numpy_and_its_card_holds_measurements():
    from soundart.checkpoint import checkpoint_paths, read_document

    stepper, doc, _ = load_stepper("transformer")
    assert isinstance(stepper, NumpyTransformer)
    weights, _ = checkpoint_paths(shipped_path("transformer"))
    assert weights.stat().st_size < 10e6, weights.stat().st_size
    meta = read_document(weights)["metadata"]
    assert doc["config"]["codec"] == "events"
    assert "chorale" in meta["data_config"]["styles"]
    assert 0 < meta["metrics"]["val_nll_per_token"] < 0.674, meta["metrics"]  # the shipped LSTM's (5000 steps)


def test_rnn_stays_selectable(tmp_path):
    out = tmp_path / "rnn.mid"
    res = CliRunner().invoke(cli, ["sketch", "--model", "rnn", "-o", str(out), "--bars", "2", "--seed", "0"])
    assert res.exit_code == 0, res.output
    assert "rnn)" in res.output and load_midi(out).instruments
