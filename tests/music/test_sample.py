"""Sampling: filters, grammar-constrained generation always decodes to valid MIDI with the asked bars."""

from __future__ import annotations

import numpy as np
import pytest

from soundart.errors import ConfigError
from soundart.music.midi_pieces import piece_to_midi
from soundart.music.sample import NumpyLSTM, draw, filter_logits, generate
from soundart.music.tokens import DRUMS, Codec

from .helpers import tiny_event_model


def test_filters():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    np.testing.assert_allclose(filter_logits(logits), [[0.5, 0.3, 0.15, 0.05]], atol=1e-9)
    np.testing.assert_allclose(filter_logits(logits, top_k=2), [[0.625, 0.375, 0, 0]], atol=1e-9)
    np.testing.assert_allclose(filter_logits(logits, top_p=0.7), [[0.625, 0.375, 0, 0]], atol=1e-9)
    np.testing.assert_allclose(filter_logits(logits, top_p=0.4), [[1, 0, 0, 0]], atol=1e-9)
    cold = filter_logits(logits, temperature=0.1)
    assert cold[0, 0] > 0.99
    masked = filter_logits(np.array([[0.0, -np.inf, 0.0]]))
    np.testing.assert_allclose(masked, [[0.5, 0, 0.5]])
    with pytest.raises(ConfigError, match="top-p"):
        filter_logits(logits, top_p=1.5)
    with pytest.raises(ConfigError, match="temperature"):
        filter_logits(logits, temperature=0)
    counts = np.bincount(draw(np.tile([[0.2, 0.8]], (4000, 1)), np.random.default_rng(0)), minlength=2)
    assert 0.75 < counts[1] / 4000 < 0.85


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory):
    return NumpyLSTM.load(tiny_event_model(tmp_path_factory.mktemp("m") / "m", steps=3))


def test_generation_is_valid_and_has_the_bars(fast_model):
    codec = Codec()
    for meter, bars in (("4/4", 4), ("3/4", 2), ("6/8", 3)):
        prompts = [codec.header("folk", 14, meter, 90) + [codec.bar] for _ in range(6)]
        out = generate(fast_model, codec, prompts, bars, temperature=1.5, seed=1)
        bar_len = codec.config.bar_steps(meter)
        for g in out:
            body = g.tokens
            assert body.count(codec.bar) == bars, codec.describe(body)
            piece = codec.decode(body, strict=True)  # every token in place
            assert all(0 <= n.start < bars * bar_len and n.duration >= 1 for n in piece.notes)
            assert all(21 <= n.pitch <= 108 for n in piece.notes if n.program != DRUMS)
            piece_to_midi(piece)  # builds a valid MIDI object


def test_seed_repeats_and_programs_constrain(fast_model):
    codec = Codec()
    prompts = [codec.header("chorale", 2, "4/4", 90) + [codec.bar]] * 2
    a = generate(fast_model, codec, prompts, 2, seed=7, programs=[40])
    b = generate(fast_model, codec, prompts, 2, seed=7, programs=[40])
    assert [g.tokens for g in a] == [g.tokens for g in b]
    notes = [n for g in a for n in codec.decode(g.tokens).notes]
    assert notes and all(n.program == 40 for n in notes)


def test_primer_continuation_counts_new_bars(fast_model):
    codec = Codec()
    from .helpers import scale_piece

    primer = codec.encode(scale_piece(bars=3), eos=False)
    prompt = primer + [codec.bar]
    out = generate(fast_model, codec, [prompt], 2, seed=3)[0]
    assert out.tokens[: len(prompt)] == prompt
    assert out.tokens.count(codec.bar) == 3 + 2


def test_in_key_constraint_keeps_the_scale(fast_model):
    from soundart.music.grammar import scale_pitch_classes

    codec = Codec()
    assert scale_pitch_classes(14) == {2, 4, 5, 7, 9, 10, 0, 1}  # D minor + C#
    prompts = [codec.header("chorale", 14, "4/4", 90) + [codec.bar]] * 4
    out = generate(fast_model, codec, prompts, 3, temperature=2.0, seed=0, in_key=True, programs=[0])
    pitches = [n.pitch for g in out for n in codec.decode(g.tokens).notes]
    assert pitches and all(p % 12 in scale_pitch_classes(14) for p in pitches)


def test_key_leaning_reweights_pitches_but_keeps_their_total_probability():
    from soundart.music.sample import key_pitch_bias, lean_pitches, relative_key

    assert relative_key(14) == 5 and relative_key(5) == 14 and relative_key(7) == 16  # Dm-F, G-Em
    bias = key_pitch_bias(14)  # D minor, against F major
    assert bias.shape == (128,) and bias[2 + 12 * 5] == bias[2]  # the same in every octave
    assert min(bias[2], bias[9], bias[1]) > 0 > max(bias[5], bias[0])  # D, A, C# up; F, C down
    logits = np.full(128, -np.inf)
    logits[[60, 62, 65, 69]] = [0.5, 0.0, 0.2, -0.3]  # C, D, F, A
    leaned = lean_pitches(logits, bias, 2.0)
    finite = np.isfinite(logits)
    assert np.array_equal(np.isfinite(leaned), finite)  # masked pitches stay masked
    np.testing.assert_allclose(np.logaddexp.reduce(leaned[finite]), np.logaddexp.reduce(logits[finite]))
    assert np.argmax(leaned) == 62 and np.argmax(logits) == 60
    np.testing.assert_array_equal(lean_pitches(logits, bias, 0.0), logits)
    with pytest.raises(ConfigError, match="key strength"):
        generate(NumpyLSTM.__new__(NumpyLSTM), Codec(), [[0]], 1, key_strength=-1)


def test_free_chords_lean_toward_the_tonic_and_stay_in_key():
    from soundart.music.chords import chord_token_names
    from soundart.music.grammar import EventGrammar
    from soundart.music.sample import key_chord_bias
    from soundart.music.tokens import BAND_PARTS, Codec, CodecConfig

    names = chord_token_names()
    bias = key_chord_bias(0, names)  # C major
    assert bias[names.index("N")] == 0
    triads = {n: bias[names.index(n)] for n in ("C:maj", "F:maj", "G:maj", "A:min", "D:min", "E:min")}
    assert max(triads, key=triads.get) == "C:maj"
    codec = Codec(CodecConfig(parts=BAND_PARTS, chords=True, styles=("pop",)))
    g = EventGrammar(codec, 2, key=0)
    for t in codec.header("pop", 0, "4/4", 100) + [codec.bar]:
        g.feed(t)
    allowed = {codec.names[i][6:] for i in range(codec.vocab_size) if g.allowed()[i]}
    assert {"C:maj", "A:min", "G:7", "N"} <= allowed and not {"C#:maj", "F:min", "Bb:maj"} & allowed
