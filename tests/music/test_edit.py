"""Working on a user's own song (a tiny band model; real multi-track MIDI and MusicXML written and read
back): continue every track, add parts, regenerate bars, and the one-line errors."""

from __future__ import annotations

import hashlib

import pretty_midi
import pytest
from click.testing import CliRunner

import soundart
from soundart.cli import cli
from soundart.errors import SoundartError
from soundart.io import load_midi

from .helpers import song_file, tiny_band_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_band_model(tmp_path_factory.mktemp("band") / "tiny", steps=30))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ticks(midi, inst):
    """An instrument's notes as (start tick, end tick, pitch, velocity)."""
    return sorted((midi.time_to_tick(n.start), midi.time_to_tick(n.end), n.pitch, n.velocity) for n in inst.notes)


def meta(midi):
    return ([(round(t, 6), round(b, 6)) for t, b in zip(*midi.get_tempo_changes())],
            [(ts.numerator, ts.denominator, round(ts.time, 6)) for ts in midi.time_signature_changes],
            [(k.key_number, round(k.time, 6)) for k in midi.key_signature_changes])


def assert_kept(before, after, exclude_ticks=None):
    """Every track of ``before`` is in ``after`` with its name, program, drum flag and every note (outside
    ``exclude_ticks`` = (lo, hi)) unchanged to the tick; the tempo map and signatures identical."""
    assert meta(after) == meta(before)
    for a, b in zip(before.instruments, after.instruments):
        assert (a.name, a.program, a.is_drum) == (b.name, b.program, b.is_drum)
        keep = [x for x in ticks(before, a) if exclude_ticks is None or not exclude_ticks[0] <= x[0] < exclude_ticks[1]]
        got = [x for x in ticks(after, b) if exclude_ticks is None or not exclude_ticks[0] <= x[0] < exclude_ticks[1]]
        assert got == keep, a.name


@pytest.mark.parametrize("fmt", [0, 1])
def test_add_keeps_every_note_and_adds_the_parts_on_the_grid(model, tmp_path, fmt):
    song = song_file(tmp_path / "song.mid", bars=6, fmt=fmt)
    before = load_midi(song)
    digest = hashlib.sha256(song.read_bytes()).hexdigest()
    s = soundart.sketch(model=model, primer=song, add="drums,bass", style="pop", drums="funk", seed=3)[0]
    after = load_midi(s.save(tmp_path / "out.mid"))
    assert hashlib.sha256(song.read_bytes()).hexdigest() == digest  # the input is never touched
    assert_kept(before, after)
    new = after.instruments[len(before.instruments):]
    assert [(i.name, i.is_drum) for i in new] == [("Bass", False), ("Drums", True)]
    assert new[0].program == 33 and all(i.notes for i in new)
    song_end = max(after.time_to_tick(n.end) for i in before.instruments for n in i.notes)
    step = after.resolution // 4
    for inst in new:
        for n in inst.notes:  # on the song's 16th grid (through its tempo change), within its length
            assert after.time_to_tick(n.start) % step == 0 and after.time_to_tick(n.start) < song_end + step
    # the bass follows the song's chords: its lowest note on beat 1 is the bar's chord root
    bars = [(after.time_to_tick(n.start) // (4 * after.resolution), n.pitch) for n in new[0].notes
            if after.time_to_tick(n.start) % (4 * after.resolution) == 0]
    roots = {0: 9, 1: 5, 2: 0, 3: 7, 4: 9, 5: 5}  # Am F C G7 Am F
    for bar, pitch in bars:
        lowest = min(p for b, p in bars if b == bar)
        assert lowest % 12 == roots[bar], (bar, pitch)


def test_add_melody_to_an_accompaniment(model, tmp_path):
    song = song_file(tmp_path / "song.mid", bars=4)
    before = load_midi(song)
    before.instruments = before.instruments[1:]  # only the electric piano
    before.write(str(tmp_path / "keys.mid"))
    s = soundart.sketch(model=model, primer=tmp_path / "keys.mid", add="melody", seed=2)[0]
    after = load_midi(s.save(tmp_path / "out.mid"))
    assert_kept(load_midi(tmp_path / "keys.mid"), after)
    assert [i.name for i in after.instruments] == ["E.Piano", "Melody"]


def test_regenerate_rewrites_only_the_span(model, tmp_path):
    song = song_file(tmp_path / "song.mid", bars=6, drums=True)
    before = load_midi(song)
    bar = 4 * before.resolution
    drafts = soundart.sketch(model=model, primer=song, regenerate="3-4", seed=5, n=2)
    again = soundart.sketch(model=model, primer=song, regenerate="3-4", seed=5, n=2)
    assert len(drafts) == 2
    for s, t in zip(drafts, again):  # repeatable with a seed
        assert [ticks(s.midi, i) for i in s.midi.instruments] == [ticks(t.midi, i) for i in t.midi.instruments]
    for s in drafts:
        after = load_midi(s.save(tmp_path / "r.mid", force=True))
        assert_kept(before, after, exclude_ticks=(2 * bar, 4 * bar))
        for inst in after.instruments:  # the span's new notes start and end inside it: no hanging notes
            for x in ticks(after, inst):
                if 2 * bar <= x[0] < 4 * bar:
                    assert x[1] <= 4 * bar
    assert any(ticks(d.midi, d.midi.instruments[0]) != ticks(before, before.instruments[0]) for d in drafts)


def test_regenerate_one_part_keeps_the_others_in_the_span(model, tmp_path):
    song = song_file(tmp_path / "song.mid", bars=6, pickup=True)
    before = load_midi(song)
    s = soundart.sketch(model=model, primer=song, regenerate="2-3,5", tracks="melody", seed=1)[0]
    after = load_midi(s.save(tmp_path / "r.mid"))
    assert ticks(after, after.instruments[1]) == ticks(before, before.instruments[1])  # the chords stay
    # bars count as a DAW shows them: the one-beat pickup is bar 1, bar 2 starts at tick `start`
    bar, start = 4 * before.resolution, before.resolution
    outside = [x for x in ticks(before, before.instruments[0])
               if not (start <= x[0] < start + 2 * bar or start + 3 * bar <= x[0] < start + 4 * bar)]
    assert set(outside) <= set(ticks(after, after.instruments[0]))


def test_continue_every_track_in_the_songs_key_meter_and_tempo(model, tmp_path):
    song = song_file(tmp_path / "song.mid", bars=4, pickup=True, drums=True)
    before = load_midi(song)
    s = soundart.sketch(model=model, primer=song, bars=2, seed=4)[0]
    after = load_midi(s.save(tmp_path / "more.mid"))
    assert [(i.name, i.program, i.is_drum) for i in after.instruments] == \
        [(i.name, i.program, i.is_drum) for i in before.instruments]
    assert after.key_signature_changes[0].key_number == 21 and after.get_tempo_changes()[1][-1] == pytest.approx(120)
    assert (after.time_signature_changes[0].numerator, after.time_signature_changes[0].denominator) == (4, 4)
    assert all(i.notes for i in after.instruments)
    assert max(n.end for i in after.instruments for n in i.notes) <= 2 * 2.0 + 1e-3  # 2 bars at 120 bpm
    both = load_midi(soundart.sketch(model=model, primer=song, bars=2, seed=4, include_primer=True)[0]
                     .save(tmp_path / "both.mid"))
    end = max(both.time_to_tick(n.end) for i in before.instruments for n in i.notes)
    for a, b in zip(before.instruments, both.instruments):
        old = ticks(before, a)
        assert ticks(both, b)[:len(old)] == old
        assert len(ticks(both, b)) > len(old) and ticks(both, b)[len(old)][0] >= end - before.resolution


def test_musicxml_in_midi_out(model, tmp_path):
    music21 = pytest.importorskip("music21")
    score = music21.stream.Score()
    for name, pitches in (("Violin", "E5 D5 C5 B4 A4 B4 C5 D5"), ("Cello", "A2 A2 F2 F2 C3 C3 G2 G2")):
        part = music21.stream.Part()
        part.partName = name
        part.append(music21.meter.TimeSignature("4/4"))
        for p in pitches.split():
            part.append(music21.note.Note(p, quarterLength=2))
        score.append(part)
    score.write("musicxml", fp=str(tmp_path / "duet.musicxml"))
    s = soundart.sketch(model=model, primer=tmp_path / "duet.musicxml", add="drums", drums="rock", seed=1)[0]
    after = load_midi(s.save(tmp_path / "duet.mid"))
    assert [i.is_drum for i in after.instruments] == [False, False, True]
    assert sorted(n.pitch for n in after.instruments[0].notes) == sorted(
        pretty_midi.note_name_to_number(p) for p in "E5 D5 C5 B4 A4 B4 C5 D5".split())
    r = soundart.sketch(model=model, primer=tmp_path / "duet.musicxml", regenerate="2", seed=1)[0]
    assert len(r.midi.instruments) == 2


def test_cli_add_and_regenerate(model, tmp_path):
    song = song_file(tmp_path / "song.mid", bars=4)
    r = run("sketch", "--model", model, "-i", song, "--add", "bass", "-o", tmp_path / "b.mid", "--seed", 1)
    assert r.exit_code == 0, r.output
    assert "song.mid + bass" in r.output and (tmp_path / "b.mid").exists()
    r = run("sketch", "--model", model, "--primer", song, "--regenerate", "2-3", "-n", 2, "-o", tmp_path / "r.mid")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r-1.mid").exists() and (tmp_path / "r-2.mid").exists()


def test_bad_songs_and_spans_are_one_line_errors(model, tmp_path):
    song = song_file(tmp_path / "song.mid", bars=4)
    digest = hashlib.sha256(song.read_bytes()).hexdigest()
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(0))
    empty.write(str(tmp_path / "empty.mid"))
    song_file(tmp_path / "drums.mid", bars=2, drums=True)
    only_drums = load_midi(tmp_path / "drums.mid")
    only_drums.instruments = [i for i in only_drums.instruments if i.is_drum]
    only_drums.write(str(tmp_path / "drums.mid"))
    song_file(tmp_path / "changes.mid", bars=4, meter_change=True)
    (tmp_path / "bad.mxl").write_bytes(b"PK\x03\x04 encrypted or broken")
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    out = tmp_path / "out.mid"
    cases = [
        (["-i", tmp_path / "empty.mid", "--add", "drums"], "no notes"),
        (["-i", tmp_path / "drums.mid", "--add", "bass"], "only drums"),
        (["-i", song, "--regenerate", "3-9"], "outside the song (bars 1-4)"),
        (["-i", song, "--regenerate", "3-2"], "backwards"),
        (["-i", song, "--regenerate", "1-3,2-4"], "overlap"),
        (["-i", song, "--regenerate", "x"], "FIRST-LAST"),
        (["-i", tmp_path / "changes.mid", "--add", "bass"], "time signature changes from 4/4 to 3/4 at bar 3"),
        (["-i", tmp_path / "bad.mxl", "--add", "bass"], "cannot read this MusicXML"),
        (["-i", tmp_path / "bad.mid", "--add", "bass"], "cannot parse MIDI"),
        (["-i", song, "--add", "bass", "--regenerate", "1"], "one at a time"),
        (["-i", song, "--add", "bass", "--bars", "4"], "--bars N is the length of new music"),
        (["-i", song, "--add", "lead"], "--add: unknown part 'lead'"),
        (["--add", "bass"], "give it as --primer FILE"),
        (["-i", song, "--regenerate", "1", "--tracks", "bass"], "no bass part to regenerate"),
        (["-i", song, "--add", "drums", "--style", "folk"], "folk has no drums"),
    ]
    for args, message in cases:
        r = run("sketch", "--model", model, "-o", out, *args)
        assert r.exit_code == 2, (args, r.output)
        assert message in r.output and "Traceback" not in r.output, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
        assert not out.exists()
    r = run("sketch", "--model", model, "-i", song, "--add", "bass", "-o", song, "--force")
    assert r.exit_code == 2 and "never overwritten" in r.output
    assert hashlib.sha256(song.read_bytes()).hexdigest() == digest
    with pytest.raises(SoundartError, match="already has drums"):
        soundart.sketch(model=model, primer=song_file(tmp_path / "d.mid", drums=True), add="drums")


def test_a_new_note_never_cuts_a_held_note_of_the_same_pitch(tmp_path):
    """One MIDI channel cannot hold two notes of one pitch at once: read back, the held note would end
    where the new one starts. A new note starts when the held note ends, and ends where a later one
    starts; the held notes come back from the file unchanged."""
    from soundart.music.passes import add_to_track
    from soundart.music.song import read_song
    from soundart.music.tokens import BAND_PARTS, CodecConfig, Note

    midi = pretty_midi.PrettyMIDI(initial_tempo=120)  # a 16th = 0.125 s
    inst = pretty_midi.Instrument(0, name="Piano")
    inst.notes = [pretty_midi.Note(80, 60, 0.0, 1.5), pretty_midi.Note(80, 64, 2.0, 2.5)]
    midi.instruments.append(inst)
    midi.write(str(tmp_path / "held.mid"))
    song = read_song(tmp_path / "held.mid", CodecConfig(parts=BAND_PARTS))
    held = [(n.start, n.end, n.pitch) for n in inst.notes]
    add_to_track(inst, song, [Note(8, 8, 60, 90, 1),     # 1.0-2.0 s inside the held C: starts at 1.5
                              Note(12, 8, 64, 90, 1),    # 1.5-2.5 s runs into the later E: ends at 2.0
                              Note(8, 2, 60, 90, 1)])    # 1.0-1.25 s wholly inside the held C: dropped
    midi.write(str(tmp_path / "out.mid"))
    back = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid")).instruments[0].notes
    got = sorted((round(n.start, 3), round(n.end, 3), n.pitch) for n in back)
    assert got == sorted(held + [(1.5, 2.0, 60), (1.5, 2.0, 64)])
