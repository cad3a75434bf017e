"""Descriptors scored against labels: tempo on Groove drum performances, key on POP909 songs.

Both sets are MIDI with labels (``shared/data/midi``); each file is rendered to audio with
``soundart.render`` (the default SoundFont synthesizer), then analysed twice in the same run:

- ours: ``soundart.analyze`` (the descriptors every record carries: ``tempo_bpm``, ``key``);
- librosa's: ``librosa.feature.tempo`` on the same audio, and for key (librosa has no key estimator)
  the same Krumhansl-Kessler templates on librosa's CQT chroma.

Tempo: ACC1 = estimate within 4% of the labelled bpm; ACC2 = also at 1/3, 1/2, 2 or 3 times it (the
usual octave errors). Groove files of the validation split, "beat" takes in 4/4 of at least 20 s.
Key: the MIREX weighted score (same key 1, a fifth apart 0.5, relative 0.3, parallel 0.2) and the share
exactly right, on POP909 songs with one labelled key (``key_audio.txt``), the first ``--seconds`` s.

    python benchmarks/bench_descriptors.py [--groove 100] [--pop 100] [--seconds 30]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np
from benchkit import median_seconds, table

TONICS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5, "F": 5, "F#": 6, "Gb": 6,
          "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11, "B#": 0}


def parse_key(text: str) -> tuple[int, str] | None:
    """"Gb:maj" / "A minor" / "Eb major" -> (tonic pitch class, "major" | "minor"); None when unreadable."""
    text = text.strip().replace(":", " ")
    parts = text.split()
    if len(parts) != 2 or parts[0] not in TONICS:
        return None
    mode = "major" if parts[1].lower().startswith("maj") else "minor" if parts[1].lower().startswith("min") else ""
    return (TONICS[parts[0]], mode) if mode else None


def mirex_key_score(est: tuple[int, str] | None, ref: tuple[int, str]) -> float:
    if est is None:
        return 0.0
    (et, em), (rt, rm) = est, ref
    if (et, em) == (rt, rm):
        return 1.0
    if em == rm and (et - rt) % 12 in (5, 7):
        return 0.5
    relative = (rt + 9) % 12 if rm == "major" else (rt + 3) % 12
    if em != rm and et == relative:
        return 0.3
    if em != rm and et == rt:
        return 0.2
    return 0.0


def tempo_hits(est: float | None, ref: float) -> tuple[bool, bool]:
    if est is None or not np.isfinite(est):
        return False, False
    acc1 = abs(est - ref) <= 0.04 * ref
    return acc1, any(abs(est - f * ref) <= 0.04 * f * ref for f in (1 / 3, 1 / 2, 1, 2, 3))


def groove_items(n: int) -> list[tuple[Path, float]]:
    from soundart.music.band_data import shared_midi_dir

    root = shared_midi_dir() / "groove"
    with open(root / "info.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "validation" and r["beat_type"] == "beat"
                and r["time_signature"] == "4-4" and float(r["duration"]) >= 20]
    return [(root / r["midi_filename"], float(r["bpm"])) for r in rows[:n]]


def pop_items(n: int) -> list[tuple[Path, tuple[int, str]]]:
    from soundart.music.band_data import shared_midi_dir

    out = []
    for folder in sorted((shared_midi_dir() / "pop909").iterdir()):
        label = folder / "key_audio.txt"
        if not label.exists():
            continue
        rows = [line.split() for line in label.read_text().splitlines() if line.strip()]
        key = parse_key(rows[0][2]) if len(rows) == 1 and len(rows[0]) == 3 else None
        if key is not None:
            out.append((folder / f"{folder.name}.mid", key))
        if len(out) >= n:
            break
    return out


def render_all(items: list[tuple[Path, object]], folder: Path, seconds: float) -> list[Path]:
    import pretty_midi
    import soundfile as sf

    import soundart

    paths = []
    from soundart.progress import progress

    for i, (midi_path, _) in enumerate(progress(items, desc=f"render {folder.name}", unit="file")):
        midi = pretty_midi.PrettyMIDI(str(midi_path))
        for inst in midi.instruments:  # the first `seconds` only: render no more than is analysed
            inst.notes = [x for x in inst.notes if x.start < seconds]
        audio, sr = soundart.render(midi, sr=22050)
        audio = np.asarray(audio).reshape(-1)[: int(seconds * sr)]
        path = folder / f"{i:04d}.wav"
        sf.write(path, audio, sr)
        paths.append(path)
    return paths


def librosa_tempo(path: Path) -> float:
    import librosa

    y, sr = librosa.load(path, sr=22050)
    return float(np.atleast_1d(librosa.feature.tempo(y=y, sr=sr))[0])


def librosa_key(path: Path) -> tuple[int, str] | None:
    import librosa

    from soundart.listen.descriptors import key_estimate

    y, sr = librosa.load(path, sr=22050)
    name, _ = key_estimate(librosa.feature.chroma_cqt(y=y, sr=sr))
    return parse_key(name) if name else None


def key_seconds(path: Path) -> tuple[float, float]:
    """Median seconds of one key estimate on ``path``'s audio, already decoded: ours (the long-window
    STFT and templates of ``describe``) and librosa's (CQT chroma and the same templates)."""
    import librosa

    from soundart.listen.descriptors import key_chroma, key_estimate

    y16, _ = librosa.load(path, sr=16000)
    y22, _ = librosa.load(path, sr=22050)
    return (median_seconds(lambda: key_estimate(key_chroma(y16, 16000)), 5),
            median_seconds(lambda: key_estimate(librosa.feature.chroma_cqt(y=y22, sr=22050)), 5))


def ours(paths: list[Path]) -> dict[str, dict]:
    """File name -> its ``soundart.analyze`` record (the descriptors are fields of it)."""
    import soundart

    return {Path(r["file"]).name: r for r in soundart.analyze([str(p) for p in paths])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groove", type=int, default=100, help="Groove performances (tempo)")
    ap.add_argument("--pop", type=int, default=100, help="POP909 songs (key)")
    ap.add_argument("--seconds", type=float, default=30.0, help="audio analysed per file")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "groove").mkdir()
        (folder / "pop").mkdir()
        grooves = groove_items(args.groove)
        pops = pop_items(args.pop)
        g_paths = render_all(grooves, folder / "groove", args.seconds)
        p_paths = render_all(pops, folder / "pop", args.seconds)
        g_ours, p_ours = ours(g_paths), ours(p_paths)
        rows = []
        for name, estimate in (("soundart", lambda p: g_ours[p.name].get("tempo_bpm")), ("librosa", librosa_tempo)):
            hits = [tempo_hits(estimate(p), bpm) for p, (_, bpm) in zip(g_paths, grooves)]
            rows.append((f"tempo ({len(hits)} Groove performances)", name, f"{np.mean([h[0] for h in hits]):.1%}",
                         f"{np.mean([h[1] for h in hits]):.1%}"))
        for name, estimate in (("soundart", lambda p: parse_key(p_ours[p.name].get("key") or "")),
                               ("librosa chroma + same templates", librosa_key)):
            est = [estimate(p) for p in p_paths]
            score = np.mean([mirex_key_score(e, k) for e, (_, k) in zip(est, pops)])
            exact = np.mean([e == k for e, (_, k) in zip(est, pops)])
            rows.append((f"key ({len(est)} POP909 songs)", name, f"MIREX {score:.3f}", f"exact {exact:.1%}"))
        ours_s, librosa_s = key_seconds(p_paths[0])
    print(table(["descriptor", "estimator", "ACC1 / MIREX score", "ACC2 / exact"], rows))
    print(f"\nkey of one {args.seconds:g} s file, decoded audio in, median of 5: ours {1000 * ours_s:.1f} ms, "
          f"librosa CQT chroma {1000 * librosa_s:.1f} ms")
    print(f"({time.perf_counter() - t0:.0f} s; first {args.seconds:g} s of each file, rendered by soundart.render)")


if __name__ == "__main__":
    main()
