"""The instrument-tagged pretraining renders: tags say what plays, clips read back, runs repeat exactly."""

from __future__ import annotations

import csv

import pretty_midi
import pytest
import soundfile as sf

from soundart.audio.notes import FAMILIES
from soundart.errors import ConfigError
from soundart.listen.renders import arrange, make_renders, render_jobs


@pytest.fixture(scope="module")
def midi_dir(tmp_path_factory):
    """A POP909-like folder of three two-track songs and a Groove-like folder with one rock beat."""
    root = tmp_path_factory.mktemp("midi")
    for k in range(3):
        pm = pretty_midi.PrettyMIDI(initial_tempo=100)
        for name, low in (("MELODY", 67), ("PIANO", 48)):
            part = pretty_midi.Instrument(0, name=name)
            part.notes = [pretty_midi.Note(80, low + (i * 5 + k) % 12, i * 0.5, i * 0.5 + 0.45) for i in range(12)]
            pm.instruments.append(part)
        (root / "pop909" / f"{k:03d}").mkdir(parents=True)
        pm.write(str(root / "pop909" / f"{k:03d}" / f"{k:03d}.mid"))
    drums = pretty_midi.PrettyMIDI(initial_tempo=120)
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes = [pretty_midi.Note(100, 36 if i % 2 == 0 else 38, i * 0.5, i * 0.5 + 0.1) for i in range(48)]
    drums.instruments.append(kit)
    (root / "groove" / "d1").mkdir(parents=True)
    drums.write(str(root / "groove" / "d1" / "1_rock_120_beat_4-4.mid"))
    (root / "groove" / "info.csv").write_text(
        "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split\n"
        "d1,d1/s1,d1/s1/1,rock,120,beat,4-4,d1/1_rock_120_beat_4-4.mid,x.wav,24.0,train\n")
    return root


def test_tags_name_exactly_the_families_that_play(midi_dir):
    jobs = render_jobs(midi_dir / "pop909", [], renders_per_song=4, seed=0)
    assert len(jobs) == 12 and len({j.seed for j in jobs}) == 12
    seen = set()
    for job in jobs:
        clip, tags = arrange(job, [(str(midi_dir / "groove/d1/1_rock_120_beat_4-4.mid"), 120.0)], seconds=4.0)
        heard = {"drums" if p.is_drum else next(f for f, progs in FAMILIES.items() if p.program in progs)
                 for p in clip.instruments}
        assert set(tags) == heard
        assert all(n.start < 4.0 for p in clip.instruments for n in p.notes)
        seen |= heard
    assert {"bass", "drums"} <= seen and len(seen) >= 5


def test_renders_read_back_and_repeat_exactly(midi_dir, tmp_path):
    kw = dict(seconds=2.0, renders_per_song=1, workers=1, limit=3, quiet=True)
    manifest, failed = make_renders(tmp_path / "a", midi_dir, **kw)
    assert failed == []
    rows = list(csv.DictReader(open(manifest)))
    assert [r["genre"] for r in rows] == ["pop"] * 3 and all(r["tags"] for r in rows)
    for r in rows:
        audio, sr = sf.read(tmp_path / "a" / r["path"])
        assert sr == 16000 and len(audio) == 32000 and abs(audio).max() > 1e-3
    again, _ = make_renders(tmp_path / "b", midi_dir, **kw)
    assert open(again).read() == open(manifest).read()
    assert (tmp_path / "a" / rows[0]["path"]).read_bytes() == (tmp_path / "b" / rows[0]["path"]).read_bytes()
    with pytest.raises(ConfigError, match="exists"):
        make_renders(tmp_path / "a", midi_dir, **kw)
    with pytest.raises(ConfigError, match="seconds"):
        make_renders(tmp_path / "c", midi_dir, **{**kw, "seconds": float("nan")})
