"""The sketch job on a band model: every style, part and chord option end to end, the API and the CLI,
and the one-line errors (a tiny band model trained a few steps; real MIDI written and read back)."""

from __future__ import annotations

import mido
import pytest
from click.testing import CliRunner

import soundart
from soundart.cli import cli
from soundart.errors import ConfigError
from soundart.io import load_midi
from soundart.music.chords import parse_chord

from .helpers import BAND_STYLES, band_piece, tiny_band_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_band_model(tmp_path_factory.mktemp("band") / "tiny", steps=30))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("style", BAND_STYLES)
def test_every_style_sketches_its_default_band(model, style):
    s = soundart.sketch(model=model, style=style, bars=3, seed=1)[0]
    names = [i.name for i in s.midi.instruments]
    if style in ("rock", "funk"):
        assert s.tracks == ("drums",) and names == ["Drums"] and s.midi.instruments[0].is_drum
    elif style == "pop":  # pop's own data has no drums here: its band takes the rock groove
        assert s.tracks == ("melody", "chords", "bass", "drums") and names[-1] == "Drums"
    else:  # no drum data for these styles: no drums unless asked for with a groove
        assert "drums" not in s.tracks and s.tracks[0] == "melody"
    meter = s.piece.meter
    assert meter == {"fiddle": "6/8", "folk": "3/4"}.get(style, "4/4")
    bar_seconds = s.bar_seconds
    assert max(n.end for i in s.midi.instruments for n in i.notes) <= 3 * bar_seconds + 1e-6


@pytest.mark.parametrize("tracks", ["melody", "bass", "melody,bass", "chords,melody", "drums",
                                    "melody,chords,bass,drums"])
def test_any_subset_of_parts(model, tracks):
    groove = "funk" if "drums" in tracks else None
    s = soundart.sketch(model=model, style="pop", tracks=tracks, drums=groove, bars=2, seed=4)[0]
    want = sorted(tracks.split(","), key=["melody", "chords", "bass", "drums"].index)
    assert list(s.tracks) == want
    assert {i.name.lower() for i in s.midi.instruments} <= set(want)


def test_chords_are_followed_and_written_as_markers(model, tmp_path):
    s = soundart.sketch(model=model, style="pop", tracks="melody,chords,bass", chords="Am F C/E G7", bars=8,
                        seed=2, programs={"bass": 34})[0]
    assert s.chords == ["Am", "F", "C/E", "G7"] * 2
    assert s.piece.chords == ["A:min", "F:maj", "C:maj", "G:7"] * 2
    path = s.save(tmp_path / "c.mid")
    midi = load_midi(path)
    assert [t.text for t in midi.text_events] == s.chords
    assert [m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "marker"] == s.chords
    bass = next(i for i in midi.instruments if i.name == "Bass")
    assert bass.program == 34
    bar = s.bar_seconds
    for b, symbol in enumerate(s.chords):  # the bass's lowest note on beat 1 is the chord's (slash) bass
        on_one = [n.pitch for n in bass.notes if abs(n.start - b * bar) < 1e-6]
        if on_one:
            assert min(on_one) % 12 == parse_chord(symbol).bass, (b, symbol)
    assert s.piece.key == 21  # A minor, from the progression


def test_same_seed_same_sketch_and_n_gives_n(model):
    a = soundart.sketch(model=model, style="jazz", bars=2, seed=7, n=3)
    b = soundart.sketch(model=model, style="jazz", bars=2, seed=7, n=3)
    assert len(a) == 3
    for x, y in zip(a, b):
        assert [(n.start, n.pitch) for i in x.midi.instruments for n in i.notes] == \
            [(n.start, n.pitch) for i in y.midi.instruments for n in i.notes]


def test_primer_is_continued_with_its_meter_key_and_tempo(model, tmp_path):
    from soundart.music.band import band_to_midi, part_programs
    from soundart.music.tokens import BAND_PARTS, CodecConfig

    config = CodecConfig(parts=BAND_PARTS, chords=True, styles=BAND_STYLES)
    primer = band_piece("folk", 2, "3/4", 14)
    primer.tempo = 80.0
    midi, _ = band_to_midi(primer, config, part_programs("folk"), "folk")
    midi.write(str(tmp_path / "primer.mid"))
    s = soundart.sketch(model=model, style="folk", primer=tmp_path / "primer.mid", bars=2, include_primer=True,
                        seed=0)[0]
    assert s.piece.meter == "3/4" and s.piece.key == 14 and abs(s.piece.tempo - 80) < 1e-6
    assert len(s.chords) == 4 and s.chords[:2] == ["Am", "F"]
    starts = sorted(n.start for n in s.piece.notes)
    assert starts[0] == 0


def test_cli_sketch_plot_render_and_program(model, tmp_path):
    out = tmp_path / "band.mid"
    r = run("sketch", "--model", model, "--style", "pop", "--tracks", "melody,bass,drums", "--drums", "rock",
            "--chords", "C G Am F", "--program", "melody=65", "--bars", 4, "--seed", 1, "-o", out,
            "--plot", tmp_path / "roll.png", "--render", tmp_path / "band.wav")
    assert r.exit_code == 0, r.output
    assert "chords: C G Am F" in r.output
    midi = load_midi(out)
    assert [i.name for i in midi.instruments] == ["Melody", "Bass", "Drums"]
    assert midi.instruments[0].program == 65 and midi.instruments[2].is_drum
    assert (tmp_path / "roll.png").stat().st_size > 1000 and (tmp_path / "band.wav").stat().st_size > 1000


@pytest.mark.parametrize("args, message", [
    (["--style", "polka"],
     "unknown style 'polka' (styles: pop, jazz, folk, fiddle, chorale; drum grooves: rock, funk)"),
    (["--tracks", "melody,guitar"], "unknown part 'guitar' (parts: melody, chords, bass, drums)"),
    (["--program", "tuba=3"], "use PART=NUMBER"),
    (["--program", "bass=128"], "bass must be 0-127"),
    (["--chords", "Am Hq"], "unparseable chord symbol 'Hq'"),
    (["--chords", "Am F C G", "--bars", 2], "4 chords for 2 bars"),
    (["--meter", "7/8"], "meter 7/8 is not in pop's training data (its meters: 4/4)"),
    (["--tracks", "drums", "--drums", "rock", "--chords", "Am"], "chords need a pitched part"),
    (["--style", "rock", "--tracks", "melody"], "rock is a drum groove"),
    (["--style", "chorale", "--tracks", "melody,drums"], "pick a groove for them with --drums (rock, funk)"),
    (["--tracks", "drums", "--drums", "polka"], "unknown drum groove 'polka'"),
    (["--tracks", "melody", "--drums", "rock"], "--drums rock names a groove"),
    (["--style", "fiddle", "--tracks", "melody,drums", "--drums", "rock"], "meter 6/8 is not in rock's"),
])
def test_bad_options_are_one_line_errors_and_write_nothing(model, tmp_path, args, message):
    out = tmp_path / "x.mid"
    r = run("sketch", "--model", model, "-o", out, *args)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.output
    assert not out.exists()


def test_api_errors_name_arguments(model):
    with pytest.raises(ConfigError, match="drums=rock names a groove"):
        soundart.sketch(model=model, tracks="melody", drums="rock")
    with pytest.raises(ConfigError, match="bars must be >= 1"):
        soundart.sketch(model=model, bars=0)


def test_a_groove_continues_a_drums_only_primer_but_a_band_needs_pitched_notes(model, tmp_path):
    from .helpers import drums_only

    primer = drums_only(tmp_path / "beat.mid")
    s = soundart.sketch(model=model, style="rock", primer=primer, bars=2, include_primer=True, seed=1)[0]
    # the primer's one drum track goes on (its name and drum flag kept)
    assert [i.is_drum for i in s.midi.instruments] == [True] and len(s.midi.instruments[0].notes) > 8
    for asked in ({"tracks": "melody,drums", "bars": 2}, {"add": "bass"}):  # pitched parts need notes to follow
        with pytest.raises(soundart.SoundartError, match="only drums"):
            soundart.sketch(model=model, style="pop", primer=primer, **asked)


def test_drums_are_refused_in_a_meter_their_data_lacks(model):
    from soundart.music.sample import load_stepper, read_codec_config
    from soundart.music.sketch import model_styles

    _, doc, _ = load_stepper(model)
    styles = model_styles(doc, read_codec_config(doc))
    assert styles["rock"].drum_meters == ("4/4",) and styles["folk"].drum_meters == ()
    s = soundart.sketch(model=model, style="folk", meter="3/4", tracks="melody", bars=2, seed=0)[0]
    assert s.piece.meter == "3/4"
    with pytest.raises(ConfigError, match="meter 3/4 is not in rock's drums training data"):
        soundart.sketch(model=model, style="folk", meter="3/4", tracks="melody,drums", drums="rock", bars=2)


def test_a_plain_program_number_on_a_band_model_asks_for_parts(model, tmp_path):
    r = run("sketch", "--model", model, "--program", 33, "-o", tmp_path / "x.mid")
    assert r.exit_code == 2 and "--program 33 for every note: this model has parts" in r.output
    assert not (tmp_path / "x.mid").exists()
