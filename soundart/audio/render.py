"""MIDI -> audio: :func:`render` (the public API) and :func:`render_midi`, over three synthesizers.

* ``tinysoundfont``: TinySoundFont, a SoundFont synthesizer in C, from its wheel (``make install``
  installs it), playing a General MIDI SoundFont: a system one when installed, else the
  TimGM6mb.sf2 that pretty_midi ships, or ``soundfont=PATH``. The default: it needs no system
  package and renders a minute of a 4-track song in ~0.03 s (see benchmarks/bench_render.py).
* ``fluidsynth``: the FluidSynth program with the same SoundFonts, when installed and asked for.
* ``builtin``: the additive torch synth of :mod:`soundart.audio.render_builtin`, the last fallback.

``auto`` takes the first of these that is installed and says why when it falls back
(:func:`find_backend`).
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from soundart.audio.render_builtin import Voice, render_builtin, voice_for_program  # noqa: F401 (re-exported)
from soundart.errors import BadInputError, ConfigError

if TYPE_CHECKING:
    import pretty_midi
    import torch

BACKENDS = ("auto", "tinysoundfont", "fluidsynth", "builtin")
MIN_SR, MAX_SR = 8000, 192000  # below 8 kHz not even speech survives; above 192 kHz no converter goes
# the wheel declares PyAudio (live playback only, which we never use; it needs PortAudio headers to build)
TSF_INSTALL = "pip install --no-deps tinysoundfont==0.3.7"
TAIL_SECONDS = 1.0  # kept after the last note-off so releases ring out

# General MIDI SoundFonts looked for, in order, when none is given.
SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)


@dataclass(frozen=True)
class Backend:
    """The synthesizer chosen for a render: ``name`` is "tinysoundfont", "fluidsynth" or "builtin"."""

    name: str
    soundfont: str | None = None
    reason: str = ""  # why a fallback was chosen, when it was one

    def describe(self) -> str:
        if self.soundfont is not None:
            return f"{self.name} with {Path(self.soundfont).name}"
        return "built-in synth" + (f" ({self.reason})" if self.reason else "")


def bundled_soundfont() -> str | None:
    """The General MIDI SoundFont inside the pretty_midi package (TimGM6mb.sf2, 6 MB), if present."""
    import pretty_midi

    path = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"
    return str(path) if path.is_file() else None


def default_soundfont() -> str | None:
    """The first General MIDI SoundFont found on this system, else pretty_midi's TimGM6mb.sf2."""
    for path in SYSTEM_SOUNDFONTS:
        if os.path.isfile(path):
            return path
    return bundled_soundfont()


def check_sr(sr: int) -> int:
    """``sr`` as an int when it is a sample rate a file can hold, else a ConfigError naming ``sr``."""
    if isinstance(sr, bool) or not isinstance(sr, (int, float)) or not math.isfinite(sr) \
            or int(sr) != sr or not MIN_SR <= sr <= MAX_SR:
        raise ConfigError(f"sr must be a whole number of Hz in {MIN_SR}..{MAX_SR}, got {sr}")
    return int(sr)


def check_soundfont(path: str | os.PathLike) -> Path:
    """A readable, complete .sf2/.sf3 file, else a BadInputError naming it (loaded once, then cached)."""
    from soundart.io import check_input_file

    p = check_input_file(path, "a SoundFont")
    if p.suffix.lower() not in (".sf2", ".sf3"):
        raise BadInputError(f"{p}: a SoundFont must be a .sf2 or .sf3 file")
    with open(p, "rb") as fh:
        head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise BadInputError(f"{p}: not a SoundFont (no RIFF 'sfbk' header)")
    declared, actual = int.from_bytes(head[4:8], "little") + 8, p.stat().st_size
    if actual < declared:
        raise BadInputError(f"{p}: truncated SoundFont ({actual} of {declared} bytes present)")
    if _tsf_installed():
        _load_tsf(str(p.resolve()), p.stat().st_mtime_ns, actual)  # parse errors surface here, at the door
    return p


@functools.lru_cache(maxsize=1)
def _tsf_installed() -> bool:
    """Whether TinySoundFont's compiled module imports (a wheel for another Python counts as missing)."""
    try:
        import tinysoundfont._tinysoundfont  # noqa: F401
    except ImportError:
        return False
    return True


def find_backend(soundfont: str | os.PathLike | None = None, backend: str = "auto") -> Backend:
    """Choose the synthesizer for :func:`render_midi`.

    Parameters
    ----------
    soundfont : a .sf2/.sf3 file (must exist and parse); None: :func:`default_soundfont`.
    backend : "auto" (tinysoundfont, else FluidSynth, else the builtin synth, saying why),
        "tinysoundfont" or "fluidsynth" (an error when missing) or "builtin".
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown synth {backend!r} (known: {', '.join(BACKENDS)})")
    if soundfont is not None:
        check_soundfont(soundfont)
    font = str(soundfont) if soundfont is not None else default_soundfont()
    return choose_backend(backend, font, installed_synths())


def installed_synths() -> dict[str, bool]:
    """Which SoundFont synthesizers this machine has: {"tinysoundfont": bool, "fluidsynth": bool}."""
    return {"tinysoundfont": _tsf_installed(), "fluidsynth": shutil.which("fluidsynth") is not None}


def choose_backend(backend: str, font: str | None, installed: dict[str, bool]) -> Backend:
    """The rule of :func:`find_backend`, given the SoundFont and what is installed."""
    if backend == "builtin":
        return Backend("builtin")
    problems = []
    for name in (("tinysoundfont", "fluidsynth") if backend == "auto" else (backend,)):
        if not installed.get(name):
            problems.append(f"{name} is not installed" + (f" ({TSF_INSTALL})" if name == "tinysoundfont" else ""))
        elif font is None:
            problems.append("no General MIDI SoundFont found (give one)")
        else:
            return Backend(name, soundfont=font)
    if backend != "auto":
        raise ConfigError(f"synth={backend}: cannot render, {problems[0]}")
    return Backend("builtin", reason="; ".join(dict.fromkeys(problems)))


def render_midi(midi: pretty_midi.PrettyMIDI, sr: int = 22050, soundfont: str | None = None,
                backend: str = "auto", gain: float | None = None) -> tuple[torch.Tensor, str]:
    """Render a PrettyMIDI object to mono audio.

    Parameters
    ----------
    midi : the score; it must hold at least one note.
    sr : output sample rate in Hz (8000-192000).
    soundfont : a .sf2/.sf3; None finds a GM SoundFont (see :func:`default_soundfont`).
    backend : "auto" | "tinysoundfont" | "fluidsynth" | "builtin" (see :func:`find_backend`).
    gain : linear master gain of FluidSynth and tinysoundfont (default 0.5: a 4-track GM song peaks
        near 0.8 with TimGM6mb.sf2);
        the builtin synth normalises its peak to 0.9.

    Returns
    -------
    audio : float32 tensor, shape (1, samples): the song plus 1 s of release, in [-1, 1].
    backend_name : the synthesizer used.
    """
    sr = check_sr(sr)
    if not any(inst.notes for inst in midi.instruments):
        raise BadInputError("MIDI holds no notes: nothing to render")
    chosen = find_backend(soundfont, backend)
    if chosen.name == "tinysoundfont":
        return render_tinysoundfont(midi, sr, chosen.soundfont, gain=0.5 if gain is None else gain), chosen.name
    if chosen.name == "fluidsynth":
        return render_fluidsynth(midi, sr, chosen.soundfont, gain=0.5 if gain is None else gain), chosen.name
    return render_builtin(midi, sr), "builtin"


def render(midi: pretty_midi.PrettyMIDI | str | os.PathLike, *, out: str | os.PathLike | None = None,
           soundfont: str | os.PathLike | None = None, synth: str = "auto", sr: int = 22050,
           force: bool = False):
    """Render MIDI to audio with a General MIDI SoundFont (or the built-in synth as the last fallback).

    Parameters
    ----------
    midi : a PrettyMIDI object or the path of a MIDI file.
    out : write the audio here (.wav, .flac, .ogg) and return its path instead of the audio.
    soundfont : a .sf2/.sf3 of your own; default a system GM SoundFont, else pretty_midi's TimGM6mb.sf2.
    synth : "auto" (tinysoundfont, else FluidSynth, else builtin), "tinysoundfont", "fluidsynth", "builtin".
    sr : sample rate in Hz, 8000-192000.
    force : overwrite ``out`` if it exists.

    Returns
    -------
    (audio, sr) : float32 tensor of shape (1, samples) (the song + 1 s of release) and its rate;
        or the written path when ``out`` is given.

    Examples
    --------
    >>> import soundart
    >>> audio, sr = soundart.render("idea.mid")                      # doctest: +SKIP
    >>> soundart.render("idea.mid", out="idea.wav", synth="builtin")  # doctest: +SKIP
    """
    from soundart.io import audio_format, check_output_path, load_midi, save_audio

    sr = check_sr(sr)
    find_backend(soundfont, synth)  # option errors before any file is read or written
    if out is not None:
        audio_format(out)
        check_output_path(out, force)
    pm = midi if hasattr(midi, "instruments") else load_midi(midi)
    audio, _ = render_midi(pm, sr=sr, soundfont=None if soundfont is None else str(soundfont), backend=synth)
    if out is None:
        return audio, sr
    return save_audio(out, audio, sr, force=force)


# ----------------------------------------------------------------------------- TinySoundFont


@functools.lru_cache(maxsize=4)
def _load_tsf(path: str, mtime_ns: int, size: int):
    """Parse a SoundFont once per (path, mtime, size); renders play on clones of it."""
    from tinysoundfont._tinysoundfont import SoundFont

    try:
        return SoundFont(path)
    except RuntimeError:
        raise BadInputError(f"{path}: cannot parse SoundFont, corrupt file") from None


def render_tinysoundfont(midi: pretty_midi.PrettyMIDI, sr: int, soundfont: str, gain: float = 0.5,
                         tail: float = TAIL_SECONDS) -> torch.Tensor:
    """Render with TinySoundFont -> (1, samples) float32, ``tail`` seconds after the last note-off.

    Each instrument plays on a channel of its own (so any number of tracks), with its program
    (drums from bank 128), control changes (volume, pan, sustain ...) and pitch bends. The
    peak is scaled down to 0.99 if the mix would clip.
    """
    import numpy as np
    import torch
    from tinysoundfont._tinysoundfont import OutputMode, SoundFont

    p = Path(soundfont).resolve()
    st = p.stat()
    synth = SoundFont(_load_tsf(str(p), st.st_mtime_ns, st.st_size))  # a clone: fresh channel state
    synth.set_output(OutputMode.Mono, int(sr), 20 * math.log10(gain) if gain > 0 else -120.0)
    synth.set_max_voices(256)
    events = []  # (seconds, order, kind, channel, a, b): at one instant controls, then note-offs, then note-ons
    for ch, inst in enumerate(midi.instruments):
        try:
            synth.channel_set_preset_number(ch, int(inst.program), bool(inst.is_drum))
        except RuntimeError:  # the font lacks this program: its first preset beats silence
            synth.channel_set_preset_index(ch, 0)
        for c in inst.control_changes:
            events.append((c.time, 0, "cc", ch, int(c.number), int(c.value)))
        for b in inst.pitch_bends:
            events.append((b.time, 0, "bend", ch, int(b.pitch) + 8192, 0))
        for n in inst.notes:
            end = max(n.end, n.start + 1.0 / sr)  # a zero-length note still sounds (a drum hit)
            events.append((n.start, 2, "on", ch, int(n.pitch), int(n.velocity)))
            events.append((end, 1, "off", ch, int(n.pitch), 0))
    events.sort(key=lambda e: (e[0], e[1]))
    end = max(midi.get_end_time(), events[-1][0] if events else 0.0) + tail
    out = np.zeros(int(round(end * sr)), dtype=np.float32)
    raw = out.view(np.uint8)  # the binding fills byte buffers: 4 bytes per float32 sample
    pos = 0
    for t, _, kind, ch, a, b in events:
        target = min(len(out), int(round(t * sr)))
        if target > pos:
            synth.render(raw[4 * pos:4 * target], False)
            pos = target
        if kind == "on":
            synth.channel_note_on(ch, a, b / 127.0)
        elif kind == "off":
            synth.channel_note_off(ch, a)
        elif kind == "cc":
            synth.channel_midi_control(ch, a, b)
        else:
            synth.channel_set_pitch_wheel(ch, a)
    if pos < len(out):
        synth.render(raw[4 * pos:], False)
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return torch.from_numpy(out)[None]


# ----------------------------------------------------------------------------- FluidSynth


def render_fluidsynth(midi: pretty_midi.PrettyMIDI, sr: int, soundfont: str, gain: float = 0.5,
                      tail: float = TAIL_SECONDS) -> torch.Tensor:
    """Render with the ``fluidsynth`` program (reverb and chorus off) -> (1, samples) float32.

    ``tail`` seconds are kept after the last note-off so releases ring out.
    """
    import numpy as np
    import pretty_midi
    import soundfile
    import torch

    binary = shutil.which("fluidsynth")
    if binary is None:
        raise ConfigError("fluidsynth is not installed")
    end = midi.get_end_time() + tail
    with tempfile.TemporaryDirectory(prefix="soundart-render-") as tmp:
        mid_path, wav_path = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        # a silent controller event at the end makes FluidSynth render the release tail
        marker = pretty_midi.Instrument(program=0)
        marker.control_changes.append(pretty_midi.ControlChange(number=110, value=0, time=end))
        midi.instruments.append(marker)
        try:
            midi.write(str(mid_path))
        finally:
            midi.instruments.pop()
        cmd = [binary, "-ni", "-q", "-R", "0", "-C", "0", "-g", str(gain), "-r", str(int(sr)),
               "-T", "wav", "-O", "s16", "-F", str(wav_path), str(soundfont), str(mid_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not wav_path.is_file():
            msg = " ".join((proc.stderr or proc.stdout or "no output").split())[:200]
            raise BadInputError(f"fluidsynth failed on this MIDI ({msg})")
        data, file_sr = soundfile.read(str(wav_path), dtype="float32", always_2d=True)
    audio = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))[None]
    if file_sr != sr:  # pragma: no cover - fluidsynth honours -r
        from soundart.io import resample

        audio = resample(audio, file_sr, sr)
    n = int(round(end * sr))
    if audio.shape[-1] < n:
        audio = torch.nn.functional.pad(audio, (0, n - audio.shape[-1]))
    return audio[:, :n].contiguous()
