"""Decoding any file an archive holds: cut-off MP3s, block-by-block reading, one-line reasons."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from soundart.errors import BadInputError
from soundart.listen import decode
from soundart.listen.decode import mp3_problem, read_audio


@pytest.fixture
def mp3(tmp_path):
    x = (0.3 * np.random.default_rng(0).standard_normal((44100 * 3, 2))).astype(np.float32)
    path = tmp_path / "whole.mp3"
    sf.write(path, x, 44100)
    return path


def _frame_starts(data: bytes) -> list[int]:
    pos, starts = 0, []
    while pos + 4 <= len(data):
        head = decode._frame_header(data, pos)
        assert head is not None, pos
        starts.append(pos)
        pos += head[1]
    return starts


def test_whole_mp3_passes_and_decodes(mp3):
    assert mp3_problem(mp3) is None
    dec = read_audio(str(mp3), 16000)
    assert dec.duration_s == pytest.approx(3.0, abs=0.01) and dec.audio.shape[0] == pytest.approx(48000, abs=200)
    assert dec.warnings == []


@pytest.mark.parametrize("cut", [0.5, 0.9, -1])
def test_cut_off_mp3_is_truncated(mp3, tmp_path, cut):
    data = mp3.read_bytes()
    short = tmp_path / "short.mp3"
    short.write_bytes(data[: int(len(data) * cut) if cut > 0 else cut])
    with pytest.raises(BadInputError, match=r"short\.mp3: truncated file \(") as err:
        read_audio(str(short), 16000)
    assert "\n" not in str(err.value)


def test_mp3_cut_at_a_frame_boundary_is_caught_by_its_frame_count(mp3, tmp_path):
    data = mp3.read_bytes()
    starts = _frame_starts(data)
    short = tmp_path / "boundary.mp3"
    short.write_bytes(data[: starts[len(starts) // 2]])  # whole frames only: just fewer than the Xing count
    assert "MPEG frames its Xing/Info header counts" in mp3_problem(short)


def test_mp3_without_xing_header_cut_mid_frame(mp3, tmp_path):
    data = mp3.read_bytes()
    starts = _frame_starts(data)
    plain = data[starts[1]:]  # drop the Xing/Info frame: a stream that does not say its length
    whole = tmp_path / "plain.mp3"
    whole.write_bytes(plain)
    assert mp3_problem(whole) is None
    cut = tmp_path / "plain_cut.mp3"
    cut.write_bytes(plain[: len(plain) // 2 + 7])
    assert "last MPEG frame is cut off" in mp3_problem(cut)


def test_id3_tags_are_not_frames(mp3, tmp_path):
    data = mp3.read_bytes()
    tagged = tmp_path / "tagged.mp3"
    id3v2 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    id3v1 = b"TAG" + b"x" * 125
    tagged.write_bytes(id3v2 + data + id3v1)
    assert mp3_problem(tagged) is None
    tagged.write_bytes(id3v2 + data[:-100] + id3v1)
    assert "truncated" in mp3_problem(tagged)


def test_blocks_equal_one_read(tmp_path, monkeypatch):
    """Above BLOCK_BYTES a file is read block by block and resampled as a stream: the same signal."""
    sr = 48000
    t = np.arange(sr * 5) / sr
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)], 1).astype(np.float32)
    path = tmp_path / "stereo48k.flac"
    sf.write(path, x, sr)
    whole = read_audio(str(path), 16000)
    monkeypatch.setattr(decode, "BLOCK_BYTES", 4 * 48000)   # a block path for anything over half a second
    monkeypatch.setattr(decode, "BLOCK_SECONDS", 0.7)       # blocks that do not divide the file
    blocks = read_audio(str(path), 16000)
    assert blocks.audio.shape == whole.audio.shape and blocks.duration_s == whole.duration_s
    inner = slice(200, -200)  # the two resamplers differ only in how they treat the file's very ends
    assert np.max(np.abs(blocks.audio[inner] - whole.audio[inner])) < 2e-3
    cut = read_audio(str(path), 16000, max_seconds=1.9)
    assert cut.analysed_s == pytest.approx(1.9, abs=1e-3) and cut.duration_s == pytest.approx(5.0)


def test_truncated_flac_and_non_audio_are_one_line(tmp_path):
    x = (0.3 * np.random.default_rng(0).standard_normal(16000 * 3)).astype(np.float32)
    flac = tmp_path / "cut.flac"
    sf.write(flac, x, 16000)
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    fake = tmp_path / "page.ogg"
    fake.write_text("<html>not found</html>")
    for path, phrase in ((flac, "cut.flac: "), (fake, "page.ogg: cannot decode audio")):
        with pytest.raises(BadInputError, match=phrase) as err:
            read_audio(str(path), 16000)
        assert "\n" not in str(err.value)


def test_junk_between_frames_is_a_warning_not_an_error(mp3, tmp_path):
    """Two files joined (an ID3 tag in the middle) or a damaged stretch: the decoder resyncs, so do we."""
    data = mp3.read_bytes()
    starts = _frame_starts(data)
    joined = tmp_path / "joined.mp3"
    middle = starts[len(starts) // 2]
    joined.write_bytes(data[:middle] + b"ID3\x04\x00\x00\x00\x00\x00\x20" + b"\x00" * 32 + data[middle:])
    dec = read_audio(str(joined), 16000)
    assert dec.duration_s > 2.5
    assert len(dec.warnings) == 1 and "42 bytes that are not MPEG audio" in dec.warnings[0], dec.warnings
    assert "\n" not in dec.warnings[0] and dec.warnings[0].startswith(str(joined))


def test_every_command_refuses_a_cut_off_mp3(mp3, tmp_path):
    """soundart.io.load_audio (features, synth reconstruct, vocode, style ...) walks the frames too."""
    from soundart.io import load_audio

    assert load_audio(mp3, sr=16000)[1] == 16000
    short = tmp_path / "half.mp3"
    short.write_bytes(mp3.read_bytes()[: len(mp3.read_bytes()) // 2])
    with pytest.raises(BadInputError, match=r"half\.mp3: truncated file \("):
        load_audio(short, sr=16000)
