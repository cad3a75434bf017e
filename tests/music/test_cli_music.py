"""soundart sketch / eval music / eval sketches through click: outputs, determinism, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from soundart.cli import cli
from soundart.io import load_midi

from .helpers import drums_only, tiny_event_model, write_midi


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_event_model(tmp_path_factory.mktemp("model") / "tiny", steps=3))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_sketch_writes_n_files_plot_and_repeats_with_seed(model, tmp_path):
    out = tmp_path / "idea.mid"
    r = run("sketch", "--model", model, "-o", out, "--bars", 3, "--meter", "3/4", "--key", "D minor",
            "--tempo", 90, "-n", 2, "--seed", 5, "--plot", tmp_path / "roll.png")
    assert r.exit_code == 0, r.output
    files = [tmp_path / "idea-1.mid", tmp_path / "idea-2.mid"]
    for f in files:
        midi = load_midi(f, require_notes=False)
        assert midi.time_signature_changes[0].numerator == 3
        assert midi.key_signature_changes[0].key_number == 14
        assert midi.get_end_time() <= 3 * 3 * 60 / 90 + 1e-6
    assert (tmp_path / "roll.png").stat().st_size > 1000
    again = tmp_path / "again.mid"
    r = run("sketch", "--model", model, "-o", again, "--bars", 3, "--meter", "3/4", "--key", "D minor",
            "--tempo", 90, "--seed", 5, "-n", 2)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "again-1.mid").read_bytes() == files[0].read_bytes()


def test_sketch_continues_a_primer(model, tmp_path):
    primer = write_midi(tmp_path / "primer.mid")  # 4 bars of 4/4 at 100 bpm
    out = tmp_path / "more.mid"
    r = run("sketch", "--model", model, "--primer", primer, "--bars", 2, "-o", out, "--seed", 1)
    assert r.exit_code == 0, r.output
    assert load_midi(out, require_notes=False).get_end_time() <= 2 * 4 * 60 / 100 + 1e-6
    r = run("sketch", "--model", model, "--primer", primer, "--bars", 2, "-o", tmp_path / "with.mid",
            "--seed", 1, "--include-primer")
    assert r.exit_code == 0, r.output
    with_primer = load_midi(tmp_path / "with.mid")
    assert with_primer.get_end_time() > 4 * 4 * 60 / 100 - 0.5
    first = sorted(n.start for i in with_primer.instruments for n in i.notes)[0]
    assert first == pytest.approx(0.0)


def test_long_sketch_has_every_bar_asked_for(model, tmp_path):
    # ~13,000 tokens: a fixed budget of 8,192 tokens used to cut a sketch this long short while the
    # message still claimed every bar
    out = tmp_path / "long.mid"
    r = run("sketch", "--model", model, "-o", out, "--bars", 200, "--tempo", 120, "--seed", 0)
    assert r.exit_code == 0, r.output
    assert "200 bars" in r.output
    midi = load_midi(out)
    assert len(midi.get_downbeats()) == 200
    last_bar_start = 199 * 4 * 60 / 120
    assert max(n.start for inst in midi.instruments for n in inst.notes) >= last_bar_start


def _bad_inputs(tmp_path, model):
    not_midi = tmp_path / "notes.txt"
    not_midi.write_text("hello")
    empty = tmp_path / "empty.mid"
    import pretty_midi

    pretty_midi.PrettyMIDI().write(str(empty))
    drums = drums_only(tmp_path / "drums.mid")
    exists = tmp_path / "exists.mid"
    exists.write_bytes(b"keep")
    out = tmp_path / "o.mid"
    return [
        (["--primer", not_midi, "-o", out], "not a MIDI file"),
        (["--primer", empty, "-o", out], "no notes"),
        (["--primer", drums, "-o", out], "only drums"),
        (["--style", "polka", "-o", out], "unknown style"),
        (["--key", "H minor", "-o", out], "unknown key"),
        (["--bars", 0, "-o", out], "--bars"),
        (["--bars", 1001, "-o", out], "--bars must be <= 1000"),
        (["--top-p", 1.5, "-o", out], "--top-p"),
        (["--tempo", "nan", "-o", out], "--tempo must be a finite number"),
        (["--temperature", "inf", "-o", out], "--temperature"),
        (["--chords", "Am F", "-o", out], "no parts or chord tokens"),
        (["--program", "bass=x", "-o", out], "not a GM program"),
        (["-o", tmp_path / "nowhere" / "x.mid"], "does not exist"),
        (["-o", exists], "exists"),
        (["--model", tmp_path / "nomodel", "-o", out], "neither a shipped model"),
    ]


def test_sketch_bad_inputs_are_one_line_errors(model, tmp_path):
    for args, message in _bad_inputs(tmp_path, model):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        r = run("sketch", "--model", model, *args)
        assert r.exit_code == 2, (args, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (args, r.output)
        assert sorted(p.name for p in tmp_path.rglob("*")) == before, args
    assert (tmp_path / "exists.mid").read_bytes() == b"keep"


def test_eval_music_on_a_small_mat(tmp_path, rng):
    from soundart.train.recipe import load_recipe, run_recipe

    from .test_frames import write_mat

    write_mat(tmp_path / "tiny.mat", rng)
    recipe = tmp_path / "r.yaml"
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "recipes" / "rnn-debug.yaml"
    recipe.write_text(src.read_text().replace("source: jsb", f"source: {tmp_path / 'tiny.mat'}"))
    final = run_recipe(load_recipe(recipe, {"out_dir": str(tmp_path / "run")}))
    r = run("eval", "music", final, "--data", tmp_path / "tiny.mat", "--format", "json")
    assert r.exit_code == 0, r.output
    import json

    row = json.loads(r.stdout)[0]
    assert row["frames"] > 0 and 0 < row["nll_per_frame"] < 100
    # the same number the recipe stored in the checkpoint
    from soundart.checkpoint import read_document

    assert read_document(final)["metadata"]["metrics"]["test_nll_per_frame"] == pytest.approx(
        row["nll_per_frame"], abs=1e-3)
    r = run("eval", "music", final, "--data", tmp_path / "missing.mat")
    assert r.exit_code == 2 and "no such benchmark" in r.output


def test_eval_sketches_side_by_side(model, tmp_path):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    gen.mkdir()
    ref.mkdir()
    r = run("sketch", "--model", model, "-o", gen / "s.mid", "-n", 3, "--seed", 2, "--bars", 4)
    assert r.exit_code == 0, r.output
    from .helpers import scale_piece

    for k in range(3):
        write_midi(ref / f"r{k}.mid", scale_piece(key=k, bars=6))
    (gen / "broken.mid").write_bytes(b"MThd garbage")
    r = run("eval", "sketches", gen, "--reference", ref, "--format", "csv")
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith(("metric", "pitch_class_entropy", "scale"))]
    assert lines[0].startswith("metric,generated,reference,ratio")
    ref_entropy = float(lines[1].split(",")[2].split()[0])
    assert 1.5 < ref_entropy < np.log2(5) + 1e-9  # the reference melody uses 5 pitch classes
    assert "skipped" in r.output and "broken.mid" in r.output
