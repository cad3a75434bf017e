"""Decoding for ``analyze``: any file an archive holds, in bounded memory, with one-line reasons.

``soundart.io.load_audio`` reads a whole file at its own rate and channel count before mixing and
resampling; for a 3-hour, 8-channel, 192 kHz file that is 66 GB. Here a file whose decoded size
would pass ``BLOCK_BYTES`` is read one block at a time, mixed to mono and resampled as a stream, and
only the first ``max_seconds`` are read. Two checks libsndfile does not make:

* a cut-off MP3 decodes without an error, as a shorter file (libmpg123 only prints warnings of
  its own on stderr): :func:`mp3_problem` walks the MPEG frames and compares them with the
  Xing/Info frame count, and any format is compared with the length its header declares;
* libmpg123 writes its warnings straight to file descriptor 2, past Python; they are captured
  while an MP3 decodes and come back as warnings of ours (one line each) instead.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundart.errors import BadInputError

BLOCK_BYTES = 256 * 2**20      # decoded float32 size above which a file is read block by block
BLOCK_SECONDS = 30.0           # one block, at the file's own rate

# MPEG audio frame headers: bitrates (kbit/s) by (MPEG-1?, layer) and sample rates by version bits
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass
class Decoded:
    """Mono audio at the asked rate, the file's whole duration, and how much of it was read."""

    audio: np.ndarray              # (samples,) float32
    duration_s: float              # the whole file
    analysed_s: float              # what ``audio`` holds (less than duration_s when cut at max_seconds)
    warnings: list[str] = field(default_factory=list)


def read_audio(path: str, sr: int, max_seconds: float | None = None) -> Decoded:
    """Decode ``path`` to mono float32 at ``sr`` Hz, at most its first ``max_seconds``.

    Raises ``BadInputError`` (one line naming the file) for a missing, empty, corrupt or
    truncated file, MP3 included.
    """
    import soundfile as sf

    from soundart.io import audio_format, check_input_file, load_audio

    p = check_input_file(path, "an audio file")
    audio_format(p)
    is_mp3 = p.suffix.lower() == ".mp3"
    with _captured_fd2(is_mp3) as chatter:
        try:
            info = sf.info(str(p))
        except Exception as exc:  # libsndfile reports unreadable headers with assorted exception types
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise BadInputError(f"{p}: cannot decode audio, corrupt or truncated file ({reason})") from None
        if info.samplerate <= 0 or info.channels <= 0:
            raise BadInputError(f"{p}: invalid header ({info.samplerate} Hz, {info.channels} channels)")
        notes: list[str] = []
        if is_mp3:
            problem, notes = mp3_check(p)
            if problem:
                raise BadInputError(f"{p}: {problem}")
        duration = info.frames / info.samplerate
        want = info.frames if max_seconds is None else min(info.frames, int(max_seconds * info.samplerate))
        if info.frames > 0 and want * info.channels * 4 > BLOCK_BYTES:
            audio = _read_blocks(p, info, sr, want)
        else:
            cut = want / info.samplerate if 0 < want < info.frames else None
            audio = load_audio(p, sr=sr, duration=cut)[0][0].numpy()
            want = want if cut else info.frames
    # one line of ours per file: what the frame walk found, else the decoder's messages in one line
    said = "; ".join(dict.fromkeys(chatter.lines()))
    warnings = [f"{p}: {note}" for note in notes] or ([f"{p}: decoder: {said[:300]}"] if said else [])
    got_native = audio.shape[0] * info.samplerate / sr
    # the header's length against what decoded: a FLAC or AIFF cut at a frame boundary says so only
    # here. Not for MP3: without a Xing header its length is an estimate (mp3_problem did that check).
    if not is_mp3 and want > 0 and want - got_native > max(2304, 0.002 * want):
        raise BadInputError(f"{p}: truncated file (decoded {got_native / info.samplerate:.2f} s of the "
                            f"{want / info.samplerate:.2f} s its header declares)")
    if info.frames <= 0:  # no length in the header (a stream): the decoded length is all we know
        duration = got_native / info.samplerate
    return Decoded(audio, duration, audio.shape[0] / sr, warnings)


def _read_blocks(p: Path, info, sr: int, frames: int) -> np.ndarray:
    """The first ``frames`` frames of ``p`` as mono at ``sr``, holding one block at the file's rate at a time."""
    import soundfile as sf
    import soxr  # librosa's resampler; its stream keeps block edges seamless (torchaudio's would click)

    from soundart.io import _check_ogg_complete, _check_riff_complete

    _check_riff_complete(p)
    _check_ogg_complete(p)
    stream = None if info.samplerate == sr else soxr.ResampleStream(info.samplerate, sr, 1, dtype="float32")
    block = max(1, int(BLOCK_SECONDS * info.samplerate))
    parts: list[np.ndarray] = []
    read = 0
    try:
        with sf.SoundFile(str(p)) as fh:
            while read < frames:
                data = fh.read(min(block, frames - read), dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                read += data.shape[0]
                if not np.isfinite(data).all():
                    raise BadInputError(f"{p}: contains NaN or infinite samples")
                mono = data.mean(axis=1, dtype=np.float32)
                last = read >= frames
                parts.append(mono if stream is None else stream.resample_chunk(mono, last=last))
                del data
            if stream is not None and read < frames:  # ended early: flush what the resampler holds
                parts.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    except BadInputError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BadInputError(f"{p}: cannot decode audio, corrupt or truncated file ({reason})") from None
    if read == 0:
        raise BadInputError(f"{p}: holds no audio samples")
    return np.concatenate(parts).astype(np.float32, copy=False)


class _Chatter:
    def __init__(self) -> None:
        self.text = ""

    def lines(self) -> list[str]:
        return [" ".join(line.split()) for line in self.text.splitlines() if line.strip()]


@contextlib.contextmanager
def _captured_fd2(enabled: bool) -> Iterator[_Chatter]:
    """Collect what C libraries write to file descriptor 2 meanwhile (libmpg123 prints there)."""
    chatter = _Chatter()
    if not enabled:
        yield chatter
        return
    import sys

    with tempfile.TemporaryFile() as sink:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield chatter
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            chatter.text = sink.read(4096).decode("utf-8", "replace")


def mp3_problem(path: str | os.PathLike) -> str | None:
    """Why an MPEG audio file is not whole (a frame cut short, fewer frames than its Xing/Info
    header counts), or None when every frame is complete or the stream cannot be walked
    (free-format bitrate). See :func:`mp3_check` for the notes too.
    """
    return mp3_check(path)[0]


def mp3_check(path: str | os.PathLike) -> tuple[str | None, list[str]]:
    """(why the file is not whole or None, notes): walks every MPEG frame of the file.

    Bytes between frames that are not MPEG audio (a second ID3 tag where two files were joined,
    damage) are skipped as the decoder does, and become a note rather than an error.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 4:
            return "truncated file (too short to hold an MPEG frame)", []
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _walk_mpeg(data, size)


def _frame_header(data, pos: int) -> tuple[tuple[int, int, int], int] | None:
    """((version, layer, rate), frame length in bytes) of a header at ``pos``, or None."""
    b1, b2 = data[pos + 1], data[pos + 2]
    if data[pos] != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version, layer_bits, rate_idx, bitrate_idx = (b1 >> 3) & 3, (b1 >> 1) & 3, (b2 >> 2) & 3, b2 >> 4
    if version == 1 or layer_bits == 0 or rate_idx == 3 or bitrate_idx in (0, 15):
        return None  # reserved values, or free format (no length in the header)
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_idx] * 1000
    rate = _RATES[version][rate_idx]
    pad = (b2 >> 1) & 1
    if layer == 1:
        length = (12 * bitrate // rate + pad) * 4
    else:
        length = (144 if mpeg1 or layer == 2 else 72) * bitrate // rate + pad
    return (version, layer, rate), length


def _walk_mpeg(data, size: int) -> tuple[str | None, list[str]]:
    pos = 0
    if data[:3] == b"ID3" and size >= 10:  # ID3v2 tag: syncsafe size, +10 with a footer
        tag = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        pos = 10 + tag + (10 if data[5] & 0x10 else 0)
    end = size
    if end - 128 >= pos and data[end - 128:end - 125] == b"TAG":  # ID3v1
        end -= 128
    if end - 32 >= pos and data[end - 32:end - 24] == b"APETAGEX":
        end -= int.from_bytes(data[end - 20:end - 16], "little") + (32 if data[end - 9] & 0x80 else 0)
    first = None
    for start in range(pos, min(end - 3, pos + 65536)):  # tolerate junk before the first frame
        head = _frame_header(data, start) if data[start] == 0xFF else None
        if head and _chained(data, start, head, end):
            first = start
            break
    if first is None:
        return None, []  # no walkable frames (free format or not MPEG): leave it to the decoder
    kind = _frame_header(data, first)[0]
    declared = _xing_frames(data, first, end)
    pos, frames, junk, junk_at = first, 0, 0, -1
    known: dict[bytes, tuple | None] = {}  # a stream repeats few distinct headers: parse each once
    while pos + 4 <= end:
        key = data[pos:pos + 3]
        head = known[key] if key in known else known.setdefault(key, _frame_header(data, pos))
        if head is None or head[0] != kind:  # not a frame: find the next one, as the decoder does
            nxt = _resync(data, pos, end, kind)
            junk_at = pos if junk_at < 0 else junk_at
            junk += (end if nxt is None else nxt) - pos
            pos = end if nxt is None else nxt
            continue
        if pos + head[1] > end:
            return f"truncated file (its last MPEG frame is cut off at byte {size} of {pos + head[1]})", []
        pos += head[1]
        frames += 1
    if pos < end:
        return f"truncated file (a partial MPEG frame header at byte {pos} of {size})", []
    if declared is not None and frames - 1 < declared:  # the count leaves out the Xing/Info frame itself
        return f"truncated file ({frames - 1} of the {declared} MPEG frames its Xing/Info header counts)", []
    notes = [f"{junk} bytes that are not MPEG audio (from byte {junk_at} of {size}) skipped"] if junk else []
    return None, notes


def _chained(data, at: int, head: tuple, end: int) -> bool:
    """A header at ``at`` followed by another of the same kind (or by the end): a frame, not noise."""
    nxt = at + head[1]
    return nxt >= end - 3 or (_frame_header(data, nxt) or (None,))[0] == head[0]


def _resync(data, pos: int, end: int, kind: tuple) -> int | None:
    """The next frame of ``kind`` after ``pos``, or None."""
    at = pos + 1
    while True:
        at = data.find(b"\xff", at, end - 3)
        if at < 0:
            return None
        head = _frame_header(data, at)
        if head and head[0] == kind and _chained(data, at, head, end):
            return at
        at += 1


def _xing_frames(data, first: int, end: int) -> int | None:
    """The frame count of a Xing/Info header in the first frame, if it has one."""
    head = _frame_header(data, first)
    window = bytes(data[first:min(first + head[1], end)])
    for tag in (b"Xing", b"Info"):
        at = window.find(tag)
        if at >= 0 and at + 12 <= len(window) and window[at + 7] & 1:
            return int.from_bytes(window[at + 8:at + 12], "big")
    return None
