"""MIDI rendering: TinySoundFont with pretty_midi's GM SoundFont (installed by `make install`), FluidSynth
when installed, the built-in synth, `soundart render` and `soundart.render`.

The listening checks transcribe what each synthesizer played (onset detection, pYIN pitch) and hold it
against the MIDI it was given.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import librosa
import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

import soundart
from soundart.audio.render import (
    TSF_INSTALL,
    bundled_soundfont,
    check_soundfont,
    choose_backend,
    find_backend,
    render_builtin,
    render_midi,
    voice_for_program,
)
from soundart.cli import cli
from soundart.errors import BadInputError, ConfigError

TIMGM = bundled_soundfont()
MELODY = [60, 64, 67, 72, 69, 65, 62, 55]  # a tune over an octave and a half, one note per 0.5 s


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
    result = runner.invoke(cli, ["render", str(mid), "-o", str(out), "--synth", "builtin", "--sr", "16000"])
    assert result.exit_code == 0, result.output
    assert "built-in synth" in result.output
    data, sr = sf.read(out)
    assert sr == 16000 and len(data) == 3 * 16000 + 1
    # exists without --force: refused, exit 2
    result = runner.invoke(cli, ["render", str(mid), "-o", str(out), "--synth", "builtin"])
    assert result.exit_code == 2 and "error:" in result.output
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    result = runner.invoke(cli, ["render", str(empty), "-o", str(tmp_path / "e.wav")])
    assert result.exit_code == 2 and "no notes" in result.output
    assert not (tmp_path / "e.wav").exists()


def melody(program: int, pitches=MELODY, step: float = 0.5, length: float = 0.4) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    for i, p in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(velocity=100, pitch=p, start=0.25 + i * step, end=0.25 + i * step + length))
    pm.instruments.append(inst)
    return pm


def transcribe(audio: np.ndarray, sr: int, notes) -> tuple[list[float], list[float]]:
    """Per MIDI note: the distance (s) to the nearest detected onset and the sung pitch (MIDI, median pYIN)."""
    onsets = librosa.onset.onset_detect(y=audio, sr=sr, units="time", hop_length=256, backtrack=False)
    f0, voiced, _ = librosa.pyin(audio, fmin=60, fmax=1100, sr=sr, frame_length=2048, hop_length=256)
    times = librosa.times_like(f0, sr=sr, hop_length=256)
    errors, pitches = [], []
    for n in notes:
        errors.append(float(np.min(np.abs(onsets - n.start))) if len(onsets) else 1.0)
        inside = (times > n.start + 0.08) & (times < n.end - 0.05) & voiced
        pitches.append(float(librosa.hz_to_midi(np.median(f0[inside]))) if inside.any() else float("nan"))
    return errors, pitches


@pytest.mark.parametrize("program", [0, 24, 40, 73], ids=["piano", "guitar", "violin", "flute"])
def test_tinysoundfont_plays_the_notes_of_the_midi(program):
    """Listening check: each note starts within 50 ms of its MIDI onset (MIREX's onset window: a flute's
    slow attack peaks ~40 ms late) at its MIDI pitch (within half a semitone)."""
    pm = melody(program)
    audio, used = render_midi(pm, sr=22050, soundfont=TIMGM, backend="tinysoundfont")
    assert used == "tinysoundfont"
    notes = pm.instruments[0].notes
    errors, pitches = transcribe(audio[0].numpy(), 22050, notes)
    assert max(errors) < 0.05, errors
    assert np.allclose(pitches, [n.pitch for n in notes], atol=0.5), (pitches, MELODY)


def test_builtin_plays_the_notes_of_the_midi():
    pm = melody(73)
    notes = pm.instruments[0].notes
    errors, pitches = transcribe(render_builtin(pm, 22050)[0].numpy(), 22050, notes)
    assert max(errors) < 0.05, errors
    assert np.allclose(pitches, [n.pitch for n in notes], atol=0.5), pitches


def test_tinysoundfont_renders_drums_programs_and_any_number_of_tracks():
    pm = band(2.0)
    for i in range(20):  # more tracks than MIDI's 16 channels: each plays on a channel of its own
        inst = pretty_midi.Instrument(program=i * 6)
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=60 + i, start=2.0 + 0.05 * i, end=3.5))
        pm.instruments.append(inst)
    audio, _ = render_midi(pm, sr=16000, soundfont=TIMGM, backend="tinysoundfont")
    assert audio.shape == (1, int(round((pm.get_end_time() + 1.0) * 16000))), audio.shape
    assert audio.dtype == torch.float32 and 0.05 < float(audio.abs().max()) <= 0.99 + 1e-6
    drums = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes.append(pretty_midi.Note(velocity=110, pitch=38, start=0.0, end=0.0))  # zero length, as drum files do
    drums.instruments.append(kit)
    hit, _ = render_midi(drums, sr=16000, soundfont=TIMGM, backend="tinysoundfont")
    assert hit[0, :4000].abs().max() > 0.05  # the snare of bank 128 sounds


def test_auto_picks_the_soundfont_synth_without_system_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no fluidsynth program: what a fresh machine has
    chosen = find_backend(TIMGM, "auto")
    assert (chosen.name, chosen.soundfont) == ("tinysoundfont", TIMGM)
    assert find_backend(None, "auto").name == "tinysoundfont"  # with a system GM font or pretty_midi's
    with pytest.raises(ConfigError, match="synth=fluidsynth: cannot render, fluidsynth is not installed"):
        find_backend(None, "fluidsynth")


def test_fallbacks_in_order_and_said():
    none = {"tinysoundfont": False, "fluidsynth": False}
    assert choose_backend("auto", TIMGM, {"tinysoundfont": True, "fluidsynth": True}).name == "tinysoundfont"
    assert choose_backend("auto", TIMGM, {"tinysoundfont": False, "fluidsynth": True}).name == "fluidsynth"
    last = choose_backend("auto", TIMGM, none)
    assert last.name == "builtin" and TSF_INSTALL in last.reason and "fluidsynth is not installed" in last.reason
    assert choose_backend("auto", None, {"tinysoundfont": True}).reason.startswith("no General MIDI SoundFont")
    with pytest.raises(ConfigError, match="synth=tinysoundfont"):
        choose_backend("tinysoundfont", TIMGM, none)


def test_the_makefile_installs_the_synth_the_fallback_note_names():
    spec = TSF_INSTALL.split()[-1]
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    assert re.search(rf"SOUNDFONT_SYNTH := {re.escape(spec)}\n", makefile), spec
    assert "pip install --no-deps '$(SOUNDFONT_SYNTH)'" in makefile


def test_a_minute_of_four_tracks_renders_fast():
    pm = band(60.0)
    bass = pretty_midi.Instrument(program=33)
    bass.notes += [pretty_midi.Note(velocity=100, pitch=36 + i % 7, start=i * 0.5, end=i * 0.5 + 0.45)
                   for i in range(120)]
    pm.instruments.append(bass)
    render_midi(melody(0), sr=22050, soundfont=TIMGM, backend="tinysoundfont")  # the font is parsed once
    start = time.perf_counter()
    audio, _ = render_midi(pm, sr=22050, soundfont=TIMGM, backend="tinysoundfont")
    took = time.perf_counter() - start
    assert audio.shape[-1] == int(round(61.0 * 22050))
    assert took < 1.0, f"{took:.2f} s for a minute (benchmarks/bench_render.py measured ~0.05 s)"


def test_bad_soundfonts_are_refused_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.sf2"
    garbage.write_bytes(b"RIFF\x0c\x00\x00\x00sfbk" + b"\x00" * 8)
    with pytest.raises(BadInputError, match="garbage.sf2: cannot parse SoundFont"):
        check_soundfont(garbage)
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(Path(TIMGM).read_bytes()[:100_000])
    with pytest.raises(BadInputError, match="cut.sf2: truncated SoundFont"):
        check_soundfont(cut)
    text = tmp_path / "text.sf2"
    text.write_text("not a soundfont at all")
    with pytest.raises(BadInputError, match="text.sf2: not a SoundFont"):
        check_soundfont(text)


@pytest.mark.parametrize("case", ["garbage", "missing", "sr"])
def test_render_cli_refuses_bad_soundfont_and_rate_writing_nothing(tmp_path, case):
    mid, out = tmp_path / "band.mid", tmp_path / "out" / "band.wav"
    out.parent.mkdir()
    band(1.0).write(str(mid))
    garbage = tmp_path / "garbage.sf2"
    garbage.write_bytes(b"RIFF\x0c\x00\x00\x00sfbk" + b"\x00" * 8)
    extra = {"garbage": ["--soundfont", str(garbage)], "missing": ["--soundfont", str(tmp_path / "no.sf2")],
             "sr": ["--sr", "1"]}[case]
    result = CliRunner().invoke(cli, ["render", str(mid), "-o", str(out), *extra])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and {"garbage": "garbage.sf2", "missing": "no.sf2", "sr": "--sr"}[case] in lines[0]
    assert not any(out.parent.iterdir())


def test_render_cli_uses_the_soundfont_synth(tmp_path):
    mid, out = tmp_path / "band.mid", tmp_path / "band.wav"
    band(1.0).write(str(mid))
    result = CliRunner().invoke(cli, ["render", str(mid), "-o", str(out), "--soundfont", TIMGM])
    assert result.exit_code == 0, result.output
    assert "rendered with tinysoundfont with TimGM6mb.sf2" in result.output
    data, sr = sf.read(out)
    assert sr == 22050 and len(data) == int(round(2.0 * 22050)) and np.abs(data).max() > 0.05


def test_python_api_returns_audio_or_writes(tmp_path):
    mid = tmp_path / "m.mid"
    melody(0).write(str(mid))
    audio, sr = soundart.render(mid, soundfont=TIMGM, sr=16000)
    assert sr == 16000 and audio.shape == (1, int(round(5.15 * 16000))), audio.shape
    same, _ = soundart.render(pretty_midi.PrettyMIDI(str(mid)), soundfont=TIMGM, sr=16000)
    assert torch.equal(audio, same)  # deterministic, path or object
    path = soundart.render(mid, out=tmp_path / "m.flac", synth="builtin", sr=16000)
    assert path == tmp_path / "m.flac" and sf.info(path).samplerate == 16000
    with pytest.raises(ConfigError, match="sr must be"):
        soundart.render(mid, sr=float("nan"))


def test_sketch_render_uses_the_soundfont_and_refuses_a_bad_one_first(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.sf2"
    bad.write_text("nope")
    args = ["sketch", "-o", str(tmp_path / "s.mid"), "--bars", "2", "--seed", "1", "--render", str(tmp_path / "s.wav")]
    result = runner.invoke(cli, [*args, "--soundfont", str(bad)])
    assert result.exit_code == 2 and "bad.sf2: not a SoundFont" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sf2"]  # no MIDI, no audio
    result = runner.invoke(cli, [*args, "--soundfont", TIMGM])
    assert result.exit_code == 0, result.output
    assert "rendered with tinysoundfont with TimGM6mb.sf2" in result.output
    assert sf.info(tmp_path / "s.wav").duration > 2.0
