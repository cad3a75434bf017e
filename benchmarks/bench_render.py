"""MIDI rendering: speed and a listening check of each synthesizer, side by side.

For every synthesizer installed here (soundart's tinysoundfont, fluidsynth and builtin back ends, and
midirenderer, a Rust SoundFont renderer from PyPI weighed as an alternative), on pretty_midi's
TimGM6mb.sf2:

1. Speed on one minute of a 4-track song (melody, chords, bass, drums; 120 bpm):
   "cold" is the wall time of a fresh process from the command line to the written WAV (soundart's
   back ends through `soundart render`; midirenderer through its own few lines), the figure the
   issue bounds at 6 s; "warm" the render alone in a warm process (median of 3); x real time; and
   the ratio of the cold time to the 6 s budget (the reference).
2. Listening check: a tune of 8 notes on piano, guitar, violin and flute, transcribed back
   (librosa onset detection; pYIN pitch, median over each note): the share of notes whose detected
   onset is within 50 ms of the MIDI's (the MIREX onset window) and whose pitch is within half a
   semitone, and the median onset distance.

    .venv/bin/python benchmarks/bench_render.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import librosa
import numpy as np
import pretty_midi
from benchkit import median_seconds, table, wall

from soundart.audio.render import bundled_soundfont, installed_synths, render_midi

BUDGET_S = 6.0
SR = 22050
TUNE = [60, 64, 67, 72, 69, 65, 62, 55]
PROGRAMS = {"piano": 0, "guitar": 24, "violin": 40, "flute": 73}


def song(seconds: float) -> pretty_midi.PrettyMIDI:
    """A 4-track GM song: melody eighths/quarters, 3-note chords per bar, a bass line, a drum groove."""
    rng = np.random.default_rng(0)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody, chords = pretty_midi.Instrument(73, name="melody"), pretty_midi.Instrument(0, name="chords")
    bass, drums = pretty_midi.Instrument(33, name="bass"), pretty_midi.Instrument(0, is_drum=True, name="drums")
    roots = [57, 53, 48, 55]  # Am F C G
    bar = 0
    while bar * 2.0 < seconds:
        t, root = bar * 2.0, roots[bar % 4]
        for p in (root, root + 3 + (bar % 4 != 0), root + 7):
            chords.notes.append(pretty_midi.Note(70, p + 12, t, t + 1.9))
        for k in range(4):
            bass.notes.append(pretty_midi.Note(95, root - 12 + (7 if k == 2 else 0), t + k * 0.5, t + k * 0.5 + 0.45))
        for k in range(8):
            s = t + k * 0.25
            drums.notes.append(pretty_midi.Note(90, 42, s, s + 0.05))
            if k % 4 == 0:
                drums.notes.append(pretty_midi.Note(110, 36, s, s + 0.1))
            if k % 4 == 2:
                drums.notes.append(pretty_midi.Note(105, 38, s, s + 0.1))
            if rng.random() < 0.6:
                melody.notes.append(pretty_midi.Note(100, int(rng.choice([69, 71, 72, 74, 76, 79])), s, s + 0.23))
        bar += 1
    pm.instruments += [melody, chords, bass, drums]
    return pm


def tune(program: int) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes += [pretty_midi.Note(100, p, 0.25 + 0.5 * i, 0.65 + 0.5 * i) for i, p in enumerate(TUNE)]
    pm.instruments.append(inst)
    return pm


def midirenderer_audio(pm: pretty_midi.PrettyMIDI, font: str) -> np.ndarray:
    """midirenderer renders WAV bytes at 48 kHz stereo: mono, resampled to SR."""
    import midirenderer
    import soundfile

    buf = io.BytesIO()
    pm.write(buf)
    data, sr = soundfile.read(io.BytesIO(midirenderer.render_wave_from(Path(font).read_bytes(), buf.getvalue())))
    return librosa.resample(data.mean(axis=1).astype(np.float32), orig_sr=sr, target_sr=SR)


def render_with(name: str, pm: pretty_midi.PrettyMIDI, font: str) -> np.ndarray:
    if name == "midirenderer":
        return midirenderer_audio(pm, font)
    return render_midi(pm, sr=SR, soundfont=font, backend=name)[0][0].numpy()


MIDIRENDERER_CLI = """
import sys, soundfile, midirenderer, io
from pathlib import Path
data, sr = soundfile.read(io.BytesIO(midirenderer.render_wave_from(Path(sys.argv[1]).read_bytes(),
                                                                   Path(sys.argv[2]).read_bytes())))
soundfile.write(sys.argv[3], data, sr)
"""


def cold_seconds(name: str, mid: Path, font: str, out: Path) -> float:
    if name == "midirenderer":
        cmd = [sys.executable, "-c", MIDIRENDERER_CLI, font, str(mid), str(out)]
    else:
        cmd = [sys.executable, "-m", "soundart", "render", str(mid), "-o", str(out), "--synth", name,
               "--soundfont", font, "--force"]
    return wall(cmd)


def listening(name: str, font: str) -> tuple[float, float]:
    """(share of notes heard at the right onset and pitch, median onset distance in ms) over PROGRAMS."""
    good, distances = 0, []
    for program in PROGRAMS.values():
        pm = tune(program)
        audio = render_with(name, pm, font)
        onsets = librosa.onset.onset_detect(y=audio, sr=SR, units="time", hop_length=256)
        f0, voiced, _ = librosa.pyin(audio, fmin=60, fmax=1100, sr=SR, frame_length=2048, hop_length=256)
        times = librosa.times_like(f0, sr=SR, hop_length=256)
        for n in pm.instruments[0].notes:
            d = float(np.min(np.abs(onsets - n.start))) if len(onsets) else 1.0
            inside = (times > n.start + 0.08) & (times < n.end - 0.05) & voiced
            pitch = float(librosa.hz_to_midi(np.median(f0[inside]))) if inside.any() else float("nan")
            distances.append(d)
            good += d < 0.05 and abs(pitch - n.pitch) <= 0.5
    return good / len(distances), 1000 * statistics.median(distances)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the 4-track song")
    args = parser.parse_args()
    font = bundled_soundfont()
    have = installed_synths()
    names = [n for n in ("tinysoundfont", "fluidsynth") if have[n]] + ["builtin"]
    try:
        import midirenderer  # noqa: F401

        names.append("midirenderer")
    except ImportError:
        print("(midirenderer not installed: pip install midirenderer to weigh it too)", file=sys.stderr)
    pm = song(args.seconds)
    notes = sum(len(i.notes) for i in pm.instruments)
    print(f"## {args.seconds:g} s of a 4-track song ({notes} notes), {Path(font).name}, {SR} Hz mono\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "song.mid"
        pm.write(str(mid))
        for name in names:
            cold = cold_seconds(name, mid, font, Path(tmp) / f"{name}.wav")
            w = median_seconds(lambda: render_with(name, pm, font), 3)  # noqa: B023 (called at once); warm-up first
            right, onset_ms = listening(name, font)
            rows.append((name, cold, cold / BUDGET_S, f"{w:.3f}", f"{args.seconds / w:,.0f}", f"{right:.0%}",
                         f"{onset_ms:.0f}"))
    print(table(["synth", "cold s (fresh process)", "cold / 6 s budget", "warm render s", "x real time",
                 "notes heard right", "median onset ms"], rows))
    if not shutil.which("fluidsynth"):
        print("\n(fluidsynth not installed: apt-get install fluidsynth to measure it too)")


if __name__ == "__main__":
    main()
