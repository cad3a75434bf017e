"""soundart.io: round trips and the one-line error of every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch

from soundart.errors import BadInputError, ConfigError, OutputExistsError
from soundart.io import WriteError, load_audio, load_midi, resample, save_audio, save_midi
from tests.conftest import TINY_MIDI_NOTES, tiny_pretty_midi, tone

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_audio_round_trip(tmp_path, suffix):
    audio = torch.from_numpy(tone(330.0, 0.5))
    path = save_audio(tmp_path / f"x{suffix}", audio, 22050)
    back, sr = load_audio(path)
    assert sr == 22050
    assert back.shape == (1, audio.shape[0]), back.shape
    tolerance = 0.05 if suffix == ".ogg" else 1e-3  # vorbis is lossy
    assert torch.mean((back[0] - audio) ** 2).sqrt() < tolerance


def test_stereo_mono_offset_duration_and_resample(tmp_path):
    left, right = tone(220.0, 1.0), tone(440.0, 1.0) * 0.0
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 22050)
    stereo, _ = load_audio(tmp_path / "st.wav", mono=False)
    assert stereo.shape == (2, 22050), stereo.shape
    mono, _ = load_audio(tmp_path / "st.wav", offset=0.25, duration=0.5)
    assert mono.shape == (1, 11025), mono.shape
    assert torch.allclose(mono[0], torch.from_numpy(left[5512:16537]) / 2, atol=1e-4)
    down, sr = load_audio(tmp_path / "st.wav", sr=16000)
    assert sr == 16000 and down.shape == (1, 16000), down.shape


def test_resample_keeps_a_tone():
    x = torch.from_numpy(tone(1000.0, 1.0, sr=22050))
    y = resample(x, 22050, 16000)
    spectrum = torch.fft.rfft(y).abs()
    assert abs(int(spectrum.argmax()) - 1000) <= 1


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file"),
    ("directory", "is a directory"),
    ("empty", "empty file"),
    ("corrupt", "cannot decode audio"),
    ("truncated", "truncated"),
    ("unsupported", "unsupported audio format"),
    ("zero_length", "holds no audio samples"),
    ("nan", "NaN or infinite"),
])
def test_bad_audio_gives_one_line_error(tmp_path, case, message):
    if case == "missing":
        path = tmp_path / "nope.wav"
    elif case == "directory":
        path = tmp_path / "dir.wav"
        path.mkdir()
    elif case == "empty":
        path = _write_bytes(tmp_path / "empty.wav", b"")
    elif case == "corrupt":
        path = _write_bytes(tmp_path / "corrupt.flac", b"fLaC" + bytes(range(256)) * 8)
    elif case == "truncated":
        full = tmp_path / "full.wav"
        sf.write(full, tone(), 22050)
        path = _write_bytes(tmp_path / "trunc.wav", full.read_bytes()[:20000])
    elif case == "unsupported":
        path = _write_bytes(tmp_path / "notes.txt", b"hello")
    elif case == "zero_length":
        path = tmp_path / "zero.wav"
        sf.write(path, np.zeros((0,), np.float32), 22050)
    else:
        path = tmp_path / "nan.wav"
        data = tone()
        data[100] = np.nan
        sf.write(path, data, 22050, subtype="FLOAT")
    with pytest.raises(BadInputError) as info:
        load_audio(path)
    text = str(info.value)
    assert message in text and "\n" not in text, text
    assert path.name in text


def test_bad_rates():
    with pytest.raises(ConfigError, match="sample rate must be > 0"):
        save_audio("/tmp/never.wav", torch.zeros(10), 0)
    with pytest.raises(ConfigError):
        resample(torch.zeros(10), 0, 16000)


def test_save_audio_refuses_overwrite_and_leaves_no_partial_file(tmp_path):
    path = save_audio(tmp_path / "a.wav", torch.zeros(100), 8000)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="--force"):
        save_audio(path, torch.ones(100) * 0.5, 8000)
    assert path.read_bytes() == before
    save_audio(path, torch.ones(100) * 0.5, 8000, force=True)
    assert path.read_bytes() != before
    with pytest.raises(BadInputError, match="NaN"):
        save_audio(tmp_path / "b.wav", torch.tensor([0.0, float("nan")]), 8000)
    with pytest.raises(BadInputError, match="does not exist"):
        save_audio(tmp_path / "missing_dir" / "c.wav", torch.zeros(10), 8000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_written_files_get_the_umask_mode_not_a_private_temp_mode(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        path = save_audio(tmp_path / "a.wav", torch.zeros(100), 8000)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_midi_round_trip(tmp_path):
    path = save_midi(tiny_pretty_midi(), tmp_path / "a.mid")
    back = load_midi(path)
    notes = back.instruments[0].notes
    assert [(n.pitch, n.velocity) for n in notes] == [(p, v) for p, v, _, _ in TINY_MIDI_NOTES] == [(60, 90), (64, 70)]
    assert abs(notes[1].end - 1.0) < 1e-2
    with pytest.raises(OutputExistsError):
        save_midi(tiny_pretty_midi(), path)


@pytest.mark.parametrize("case, message", [
    ("not_midi", "not a MIDI file"),
    ("truncated", "cannot parse MIDI"),
    ("no_notes", "holds no notes"),
    ("empty", "empty file"),
])
def test_bad_midi(tmp_path, tiny_midi, case, message):
    if case == "not_midi":
        path = _write_bytes(tmp_path / "x.mid", b"RIFF0000WAVEfmt ")
    elif case == "truncated":
        path = _write_bytes(tmp_path / "t.mid", tiny_midi.read_bytes()[:30])
    elif case == "no_notes":
        path = save_midi(pretty_midi.PrettyMIDI(), tmp_path / "silent.mid")
    else:
        path = _write_bytes(tmp_path / "e.mid", b"")
    with pytest.raises(BadInputError) as info:
        load_midi(path)
    assert message in str(info.value) and "\n" not in str(info.value)


# ---- outputs that are not regular files, and outputs that cannot be written (issue 31) -----------------
def test_a_device_or_pipe_is_written_through_never_replaced(tmp_path):
    import stat
    import threading

    from soundart.io import atomic_output

    with atomic_output("/dev/null") as tmp:  # no --force needed: nothing is overwritten
        assert str(tmp) == "/dev/null"
        tmp.write_bytes(b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    midi = tiny_pretty_midi()
    for name in ("pipe.mid", "pipe.wav"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        received: list[bytes] = []
        reader = threading.Thread(target=lambda f=fifo, got=received: got.append(f.read_bytes()))
        reader.start()
        if name.endswith(".mid"):  # MIDI is written front to back: it goes down a pipe
            save_midi(midi, fifo)
            reader.join(10)
            assert received[0][:4] == b"MThd"
        else:  # WAV must seek back to fill in its header: one line, not a traceback
            with pytest.raises(WriteError, match=f"cannot write {fifo}: .*pipe"):
                save_audio(fifo, tone(seconds=0.1), 22050)
            reader.join(2)
            if reader.is_alive():
                open(fifo, "wb").close()  # let the reader finish
        reader.join(10)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.mid", "pipe.wav"]


def test_a_directory_is_refused_even_with_force(tmp_path):
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(BadInputError, match="is a directory"):
        save_audio(tmp_path / "d.wav", tone(), 22050, force=True)
    assert (tmp_path / "d.wav").is_dir()


def test_disk_full_is_one_error_naming_the_file_and_leaves_nothing(tmp_path):
    from tests.train.mounts import tmpfs

    with pytest.raises(WriteError, match="cannot write /dev/full: no space left on device"):
        _write_npy("/dev/full")  # a device is written through, so its ENOSPC is the writer's
    with tmpfs(tmp_path / "small") as small:
        for write, name in ((lambda p: save_audio(p, tone(seconds=10), 22050), "x.wav"),
                            (lambda p: _write_npy(p), "x.npy")):
            with pytest.raises(WriteError, match=f"cannot write {small / name}: no space left on device"):
                write(small / name)
            assert list(small.iterdir()) == []  # no partial file, no .part


def test_read_only_folder_is_one_error(tmp_path):
    from tests.train.mounts import tmpfs

    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root")
    with tmpfs(tmp_path / "ro", "ro") as ro:
        with pytest.raises(WriteError, match="read-only file system"):
            save_audio(ro / "x.wav", tone(), 22050)


def test_stdout_to_a_full_device_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "soundart", "models"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode in (1, 2) and done.stderr.strip().splitlines() == [
        "error: cannot write standard output: no space left on device"], done.stderr


def _write_npy(path):
    from soundart.io import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.zeros(200_000, np.float32))  # 800 kB: more than the 256 KiB tmpfs holds
