"""MIDI rendering: the built-in synth (always), FluidSynth when installed, and `soundart render`."""

from __future__ import annotations

import shutil

import pretty_midi
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from soundart.audio.render import find_backend, render_builtin, render_midi, voice_for_program
from soundart.cli import cli
from soundart.errors import BadInputError


def band(seconds: float = 2.0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    piano, strings = pretty_midi.Instrument(program=0), pretty_midi.Instrument(program=48)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    for i in range(int(seconds * 2)):
        t = i * 0.5
        piano.notes.append(pretty_midi.Note(velocity=100, pitch=60 + i % 5, start=t, end=t + 0.4))
        drums.notes.append(pretty_midi.Note(velocity=110, pitch=(36, 38, 42)[i % 3], start=t, end=t + 0.1))
    strings.notes.append(pretty_midi.Note(velocity=80, pitch=48, start=0.0, end=seconds))
    pm.instruments += [piano, strings, drums]
    return pm


def test_builtin_renders_every_track_with_the_right_length():
    audio, backend = render_midi(band(), sr=16000, backend="builtin")
    assert backend == "builtin"
    assert audio.shape == (1, int(round(3.0 * 16000)) + 1), audio.shape
    assert audio.dtype == torch.float32 and audio.abs().max() <= 0.9 + 1e-6
    # the strings note sounds in the middle of the clip, the piano's 5th note at 2.0 s is silent
    assert audio[0, 16000:17000].abs().max() > 0.05


def test_builtin_is_deterministic_and_pitch_is_right():
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=80)  # synth lead: saw-like, f0 the strongest partial
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=69, start=0.0, end=1.0))
    pm.instruments.append(inst)
    a, b = render_builtin(pm, 16000), render_builtin(pm, 16000)
    assert torch.equal(a, b)
    spectrum = torch.fft.rfft(a[0, :16000]).abs()
    assert abs(int(spectrum.argmax()) - 440) <= 2, int(spectrum.argmax())


def test_velocity_makes_it_louder_and_families_differ():
    def one(program, velocity):
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(program=program)
        inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=60, start=0.0, end=0.5))
        quiet = pretty_midi.Instrument(program=program)  # a fixed-level reference note
        quiet.notes.append(pretty_midi.Note(velocity=127, pitch=72, start=1.0, end=1.5))
        pm.instruments += [inst, quiet]
        return render_builtin(pm, 16000)[0]

    soft, loud = one(0, 30), one(0, 120)
    assert loud[:8000].abs().max() > 2 * soft[:8000].abs().max()
    assert voice_for_program(0) != voice_for_program(40)


def test_no_notes_is_a_clear_error():
    with pytest.raises(BadInputError, match="no notes"):
        render_midi(pretty_midi.PrettyMIDI(), backend="builtin")


def test_missing_soundfont_names_the_file(tmp_path):
    with pytest.raises(BadInputError, match="nope.sf2"):
        find_backend(tmp_path / "nope.sf2")


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_fluidsynth_backend_when_installed():
    audio, backend = render_midi(band(1.0), sr=16000, backend="fluidsynth")
    assert backend == "fluidsynth"
    assert audio.shape[0] == 1 and audio.abs().max() > 0.01


def test_render_cli_writes_wav_and_refuses_bad_input(tmp_path):
    mid, out = tmp_path / "band.mid", tmp_path / "band.wav"
    band().write(str(mid))
    runner = CliRunner()
    result = runner.invoke(cli, ["render", str(mid), "-o", str(out), "--backend", "builtin", "--sr", "16000"])
    assert result.exit_code == 0, result.output
    assert "built-in synth" in result.output
    data, sr = sf.read(out)
    assert sr == 16000 and len(data) == 3 * 16000 + 1
    # exists without --force: refused, exit 2
    result = runner.invoke(cli, ["render", str(mid), "-o", str(out), "--backend", "builtin"])
    assert result.exit_code == 2 and "error:" in result.output
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    result = runner.invoke(cli, ["render", str(empty), "-o", str(tmp_path / "e.wav")])
    assert result.exit_code == 2 and "no notes" in result.output
    assert not (tmp_path / "e.wav").exists()


def test_without_fluidsynth_it_falls_back_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no fluidsynth binary on PATH
    chosen = find_backend(None, "auto")
    assert chosen.name == "builtin" and "fluidsynth is not installed" in chosen.reason
    mid, out = tmp_path / "band.mid", tmp_path / "band.wav"
    band(1.0).write(str(mid))
    result = CliRunner().invoke(cli, ["render", str(mid), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "fluidsynth is not installed; falling back to the built-in synth" in result.output
    assert out.exists()
