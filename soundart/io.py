"""Audio and MIDI in and out, with one-line errors for every bad file.

Audio is read with soundfile (wav, flac, ogg, mp3, aiff), mixed to mono if
asked, and resampled with torchaudio. Everything written goes to a temporary
file beside the target first and is renamed into place when complete, so a
failure never leaves a half-written file, and an existing file is only
replaced with ``force=True``.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundart.errors import BadInputError, ConfigError, OutputExistsError, SoundartError

if TYPE_CHECKING:  # torch and pretty_midi are imported lazily at call time
    import pretty_midi
    import torch

AUDIO_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".oga": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".aif": ("AIFF", "PCM_16"),
    ".aiff": ("AIFF", "PCM_16"),
}
MIDI_SUFFIXES = (".mid", ".midi", ".kar")


def check_input_file(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise BadInputError(f"{p}: no such file")
    if p.is_dir():
        raise BadInputError(f"{p}: is a directory, not {what}")
    try:
        size = p.stat().st_size
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise BadInputError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise BadInputError(f"{p}: empty file (0 bytes)")
    return p


class WriteError(SoundartError):
    """An output that could not be written (disk full, read-only folder ...); nothing is left behind."""


def check_output_path(path: str | os.PathLike, force: bool = False) -> Path:
    """Validate an output path: its folder must exist and it must not exist unless ``force``.

    A character device or a named pipe (``/dev/null``, ``/dev/stdout``, a FIFO) is written through and
    needs no ``force``: nothing is overwritten, as with the shell's ``noclobber``, which guards regular
    files only. A directory, a block device or a socket is refused whatever ``force`` says.
    """
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise BadInputError(f"{p}: is a directory; give a file name")
    if mode is not None and (stat.S_ISBLK(mode) or stat.S_ISSOCK(mode)):
        raise BadInputError(f"{p}: is a {'block device' if stat.S_ISBLK(mode) else 'socket'}, not a file; "
                            "refusing to write to it")
    if not p.parent.exists() and str(p.parent) not in ("", "."):
        raise BadInputError(f"{p}: output folder {p.parent} does not exist")
    if mode is not None and stat.S_ISREG(mode) and not force:
        raise OutputExistsError(f"{p} exists; use --force to overwrite it")
    return p


def is_stream(path: str | os.PathLike) -> bool:
    """True for a character device or a named pipe: written in place, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success.

    The temporary file is a hidden ``.NAME.*.part``; it is removed on any failure, Ctrl-C included
    (and SIGTERM, which the CLI raises as an interruption). A device or a pipe is yielded itself and
    written through. Disk full, a read-only folder or any other I/O failure becomes a WriteError of
    one line naming ``path``.
    """
    target = check_output_path(path, force)
    if is_stream(target):
        with write_errors(target, target, stream=True):
            yield target
        return
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise WriteError(f"cannot write {target}: {_reason(exc)}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with write_errors(target, directory):
            yield tmp
            # mkstemp makes the file private (0600); give it the mode a plain open() would have
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def write_errors(target: Path, where: Path, stream: bool = False) -> Iterator[None]:
    """Turn a writer's failure into a WriteError naming ``target``.

    Writers report a full disk in their own ways: an OSError with an errno (open, write), an OSError
    without one (numpy's "200000 requested and 65504 written"), a RuntimeError (libsndfile's "system
    error"), a SafetensorError quoting "os error 28". The errno is taken from the exception when it has
    one, else a full file system is recognised by its free space.
    """
    try:
        yield
    except SoundartError:
        raise
    except Exception as exc:  # OSError, or a library's own type (LibsndfileError, SafetensorError ...)
        errno_ = getattr(exc, "errno", None) or _quoted_errno(exc)
        if errno_:
            raise WriteError(f"cannot write {target}: {os.strerror(errno_).lower()}") from None
        if _full(where):  # measured before the partial file is removed
            raise WriteError(f"cannot write {target}: no space left on device") from None
        if stream or isinstance(exc, OSError):  # e.g. a pipe cannot seek back to fill in a header
            raise WriteError(f"cannot write {target}: {' '.join(str(exc).split()) or type(exc).__name__}") from None
        raise


def _quoted_errno(exc: Exception) -> int | None:
    found = re.search(r"os error (\d+)", str(exc))  # Rust's io::Error text, as safetensors passes it on
    return int(found.group(1)) if found else None


def _full(where: Path) -> bool:
    try:
        return os.statvfs(where if where.is_dir() else where.parent).f_bavail == 0
    except OSError:
        return False


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def audio_format(path: str | os.PathLike) -> tuple[str, str]:
    """(soundfile format, subtype) for a file name, or a BadInputError for an unknown suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_FORMATS:
        names = ", ".join(sorted({s.lstrip(".") for s in AUDIO_FORMATS}))
        raise BadInputError(f"{path}: unsupported audio format {suffix or '(no suffix)'!r}; use one of {names}")
    return AUDIO_FORMATS[suffix]


def is_audio_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in AUDIO_FORMATS


def load_audio(
    path: str | os.PathLike,
    sr: int | None = None,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
) -> tuple[torch.Tensor, int]:
    """Read an audio file.

    Parameters
    ----------
    path : file to read (wav, flac, ogg, mp3, aiff).
    sr : target sample rate in Hz; None keeps the file's rate.
    mono : average the channels into one.
    offset, duration : seconds to skip, and seconds to read (None: to the end).

    Returns
    -------
    audio : float32 tensor, shape (channels, samples); channels is 1 when ``mono``.
    sr : the sample rate of ``audio`` in Hz.
    """
    import soundfile as sf
    import torch

    if sr is not None and sr <= 0:
        raise ConfigError(f"sample rate must be > 0, got {sr}")
    if offset < 0 or (duration is not None and duration <= 0):
        raise ConfigError(f"offset must be >= 0 and duration > 0 (got offset={offset}, duration={duration})")
    p = check_input_file(path, "an audio file")
    audio_format(p)
    try:
        info = sf.info(str(p))
        if info.samplerate <= 0:
            raise BadInputError(f"{p}: invalid sample rate {info.samplerate} in the header")
        start = int(round(offset * info.samplerate))
        frames = -1 if duration is None else int(round(duration * info.samplerate))
        data, file_sr = sf.read(str(p), start=start, frames=frames, dtype="float32", always_2d=True)
    except BadInputError:
        raise
    except Exception as exc:  # libsndfile reports corrupt data with assorted exception types
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BadInputError(f"{p}: cannot decode audio, corrupt or truncated file ({reason})") from None
    _check_riff_complete(p)
    _check_ogg_complete(p)
    _check_mp3_complete(p)
    if data.shape[0] == 0:
        where = f" after offset {offset} s" if start else ""
        raise BadInputError(f"{p}: holds no audio samples{where}")
    if not np.isfinite(data).all():
        raise BadInputError(f"{p}: contains NaN or infinite samples")
    audio = torch.from_numpy(np.ascontiguousarray(data.T))  # (channels, samples)
    if mono and audio.shape[0] > 1:
        audio = audio.mean(dim=0, keepdim=True)
    if sr is not None and sr != file_sr:
        audio = resample(audio, file_sr, sr)
        file_sr = sr
    return audio, int(file_sr)


def _check_riff_complete(path: Path) -> None:
    """libsndfile silently reads what is left of a cut-off WAV; its RIFF header says the full size."""
    with open(path, "rb") as fh:
        header = fh.read(12)
    if len(header) == 12 and header[:4] == b"RIFF" and header[8:12] == b"WAVE":
        declared = int.from_bytes(header[4:8], "little") + 8
        actual = path.stat().st_size
        if declared != 0xFFFFFFFF + 8 and actual < declared:  # 0xFFFFFFFF: streamed, size unknown
            raise BadInputError(f"{path}: truncated file ({actual} of {declared} bytes present)")


def _check_ogg_complete(path: Path) -> None:
    """libsndfile also decodes a cut-off Ogg up to the cut; a whole stream ends on a page flagged end-of-stream."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"OggS":
            return
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))  # an Ogg page is at most 65,307 bytes
        tail = fh.read()
    last_page = tail.rfind(b"OggS")
    if last_page < 0 or last_page + 5 >= len(tail) or not tail[last_page + 5] & 0x04:
        raise BadInputError(f"{path}: truncated file (the Ogg stream has no end-of-stream page)")


def _check_mp3_complete(path: Path) -> None:
    """libmpg123 decodes a cut-off MP3 as a shorter file (with raw warnings): every MPEG frame is walked
    (``soundart.listen.decode``, which ``analyze`` shares) and a cut-off one refused."""
    if path.suffix.lower() != ".mp3":
        return
    from soundart.listen.decode import mp3_problem

    problem = mp3_problem(path)
    if problem:
        raise BadInputError(f"{path}: {problem}")


def resample(audio: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited resampling of ``(..., samples)`` from ``orig_sr`` to ``new_sr`` Hz."""
    if orig_sr <= 0 or new_sr <= 0:
        raise ConfigError(f"sample rates must be > 0 (got {orig_sr} -> {new_sr})")
    if orig_sr == new_sr:
        return audio
    import torchaudio.functional as AF

    return AF.resample(audio, int(orig_sr), int(new_sr))


def save_audio(path: str | os.PathLike, audio, sr: int, force: bool = False) -> Path:
    """Write ``audio`` (tensor or array, shape (samples,) or (channels, samples)) at ``sr`` Hz.

    The format follows the suffix. Samples are clipped to [-1, 1] for integer formats.
    """
    import soundfile as sf

    if sr <= 0:
        raise ConfigError(f"sample rate must be > 0, got {sr}")
    fmt, subtype = audio_format(path)
    if fmt not in sf.available_formats():
        raise BadInputError(f"{path}: this libsndfile cannot write {fmt}; use wav, flac or ogg")
    data = audio.detach().cpu().float().numpy() if hasattr(audio, "detach") else np.asarray(audio, np.float32)
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2 or data.shape[-1] == 0:
        raise BadInputError(f"{path}: nothing to write (audio of shape {tuple(data.shape)})")
    if not np.isfinite(data).all():
        raise BadInputError(f"{path}: refusing to write audio with NaN or infinite samples")
    data = np.clip(data, -1.0, 1.0).T  # soundfile wants (samples, channels)
    with atomic_output(path, force) as tmp:
        sf.write(str(tmp), data, int(sr), format=fmt, subtype=subtype)
    return Path(path)


def load_midi(path: str | os.PathLike, require_notes: bool = True) -> pretty_midi.PrettyMIDI:
    """Read a Standard MIDI File with pretty_midi; one-line errors for anything unusable."""
    import pretty_midi

    p = check_input_file(path, "a MIDI file")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic != b"MThd":
        raise BadInputError(f"{p}: not a MIDI file (no 'MThd' header)")
    try:
        midi = pretty_midi.PrettyMIDI(str(p))
    except Exception as exc:  # mido raises OSError, EOFError, KeyError, ValueError ... on bad data
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BadInputError(f"{p}: cannot parse MIDI, corrupt or truncated file ({reason})") from None
    if require_notes and not any(inst.notes for inst in midi.instruments):
        raise BadInputError(f"{p}: MIDI file holds no notes")
    return midi


def save_midi(midi: pretty_midi.PrettyMIDI, path: str | os.PathLike, force: bool = False,
              markers: list[tuple[float, str]] | None = None) -> Path:
    """Write a PrettyMIDI object to ``path`` atomically.

    ``markers`` ``[(seconds, text), ...]`` become marker meta events on the first track (a DAW shows
    them on its timeline, e.g. one chord symbol per bar).
    """
    if Path(path).suffix.lower() not in MIDI_SUFFIXES:
        raise BadInputError(f"{path}: a MIDI output needs a .mid or .midi suffix")
    with atomic_output(path, force) as tmp:
        midi.write(str(tmp))
        if markers:
            _add_markers(tmp, midi, markers)
    return Path(path)


def _add_markers(path: Path, midi: pretty_midi.PrettyMIDI, markers: list[tuple[float, str]]) -> None:
    import mido

    mf = mido.MidiFile(str(path))
    track = mf.tracks[0]
    events, now = [], 0  # absolute ticks of the track's events
    for msg in track:
        now += msg.time
        events.append((now, msg))
    end = [e for e in events if e[1].type == "end_of_track"]
    events = [e for e in events if e[1].type != "end_of_track"]
    events += [(midi.time_to_tick(t), mido.MetaMessage("marker", text=str(text))) for t, text in markers]
    events.sort(key=lambda e: e[0])
    last = max([events[-1][0]] + [e[0] for e in end]) if events else 0
    track.clear()
    prev = 0
    for tick, msg in events + [(last, mido.MetaMessage("end_of_track"))]:
        track.append(msg.copy(time=tick - prev))
        prev = tick
    mf.save(str(path))
