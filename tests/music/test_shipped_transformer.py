"""The shipped band models (the default Music Transformer and the LSTM): every style they list works,
the controls land in the file, and their cards hold the measured figures."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

import soundart
from soundart.cli import cli
from soundart.commands.music import SKETCH_DEFAULT_MODEL
from soundart.io import load_midi
from soundart.models import shipped_path
from soundart.music.sample import load_stepper, read_codec_config
from soundart.music.sketch import KEY_STRENGTH, model_styles
from soundart.music.transformer_np import NumpyTransformer


def test_sketch_defaults_to_a_pop_band_from_the_shipped_transformer(tmp_path):
    assert SKETCH_DEFAULT_MODEL == "transformer"
    out = tmp_path / "idea.mid"
    res = CliRunner().invoke(cli, ["sketch", "-o", str(out), "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert "pop" in res.output and "(transformer)" in res.output, res.output
    midi = load_midi(out)
    assert [i.name for i in midi.instruments] == ["Melody", "Chords", "Bass", "Drums"]
    assert midi.instruments[-1].is_drum and midi.instruments[2].program == 33
    assert len(midi.text_events) >= 4  # a chord per bar


def test_controls_key_tempo_meter_bars_land_in_the_file(tmp_path):
    out = tmp_path / "chorale.mid"
    res = CliRunner().invoke(cli, ["sketch", "-o", str(out), "--style", "chorale", "--key", "D minor",
                                   "--tempo", "90", "--meter", "3/4", "--bars", "4", "--seed", "2"])
    assert res.exit_code == 0, res.output
    midi = load_midi(out)
    assert midi.key_signature_changes[0].key_number == 14
    assert abs(midi.get_tempo_changes()[1][0] - 90) < 0.01
    ts = midi.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)
    assert math.ceil(midi.get_end_time() / (3 * 60 / 90) - 1e-6) == 4
    pitch_classes = {n.pitch % 12 for inst in midi.instruments for n in inst.notes}
    assert pitch_classes <= {2, 4, 5, 7, 9, 10, 0, 1}, pitch_classes  # D harmonic/natural minor


@pytest.mark.parametrize("model", ["transformer", "rnn"])
def test_every_style_the_model_lists_sketches(model):
    _, doc, _ = load_stepper(model)
    styles = model_styles(doc, read_codec_config(doc))
    assert {"pop", "jazz", "folk", "fiddle", "chorale"} <= set(styles)
    assert {"rock", "funk", "latin", "hiphop"} <= {s for s, i in styles.items() if "drums" in i.parts}
    for style in styles:
        s = soundart.sketch(model=model, style=style, bars=2, seed=0)[0]
        assert s.midi.instruments and all(i.notes for i in s.midi.instruments), style


def test_chords_asked_are_followed_by_the_shipped_model():
    from soundart.music.chords import parse_progression
    from soundart.music.metrics import chord_agreement

    chords = parse_progression("Am F C G")
    tones, bass = [], []
    for s in soundart.sketch(style="pop", chords="Am F C G", bars=8, n=4, seed=3):
        t, b = chord_agreement(s.piece, chords * 2, 2)
        tones.append(t)
        bass.append(b)
    assert sum(tones) / 4 >= 0.6 and sum(bass) / 4 >= 0.6, (tones, bass)


def test_shipped_transformer_runs_on_numpy_and_its_card_holds_measurements():
    from soundart.checkpoint import checkpoint_paths, read_document

    stepper, doc, _ = load_stepper("transformer")
    assert isinstance(stepper, NumpyTransformer)
    total = 0
    for name in ("transformer", "rnn"):
        weights, _ = checkpoint_paths(shipped_path(name))
        total += weights.stat().st_size
        meta = read_document(weights)["metadata"]
        assert meta["data_config"]["source"] == "band"
        table = meta["metrics"]["styles"]
        for style in ("pop", "jazz", "folk", "fiddle", "chorale", "rock"):
            assert 0 < table[style]["test_nll_per_token"] < 3.0, (name, style, table[style])
    assert total < 30e6, total


def test_key_strength_makes_the_asked_minor_key_win_over_its_relative_major():
    from soundart.music.tokens import estimate_key

    def share_in_d_minor(strength: float) -> float:
        out = soundart.sketch(style="chorale", key="D minor", bars=4, n=16, seed=0, key_strength=strength)
        keys = [estimate_key([n.pitch for n in s.piece.notes], [n.duration for n in s.piece.notes]) for s in out]
        return sum(k == 14 for k in keys) / len(keys)

    plain, leaned = share_in_d_minor(0.0), share_in_d_minor(KEY_STRENGTH)
    assert leaned >= 0.7 and leaned >= plain, (plain, leaned)
