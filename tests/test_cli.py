"""The CLI as a user meets it: help, features/invert/train/models, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from soundart.cli import cli
from tests.conftest import tone


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_lists_commands_without_importing_torch():
    code = ("import sys; from click.testing import CliRunner; from soundart.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "print(r.output); assert 'torch' not in sys.modules, 'torch imported for --help'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("features", "invert", "train", "models"):
        assert name in out.stdout


@pytest.mark.parametrize("kind, bins", [("logmel", 64), ("mfcc", 20), ("chroma", 12), ("stft", 1025), ("mel", 64)])
def test_features_writes_npy_and_plot(tmp_path, tone_wav, kind, bins):
    out, png = tmp_path / "f.npy", tmp_path / "f.png"
    result = run("features", tone_wav, "--kind", kind, "--n-mels", 64, "--out", out, "--plot", png)
    assert result.exit_code == 0, result.output
    values = np.load(out)
    assert values.shape == (bins, 44), values.shape
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_features_then_invert_gives_audio(tmp_path, tone_wav):
    assert run("features", tone_wav, "--out", tmp_path / "x.npy").exit_code == 0
    result = run("invert", tmp_path / "x.npy", "--sr", 22050, "-o", tmp_path / "x.wav", "--seed", 1)
    assert result.exit_code == 0, result.output
    audio, sr = sf.read(tmp_path / "x.wav")
    assert sr == 22050 and abs(len(audio) - 22050) < 1024
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * sr / len(audio) - 440) < 15


def _bad_audio(tmp_path, case):
    if case == "missing":
        return tmp_path / "nope.wav"
    if case == "empty":
        (tmp_path / "e.wav").write_bytes(b"")
        return tmp_path / "e.wav"
    if case == "corrupt":
        (tmp_path / "c.ogg").write_bytes(b"OggS" + bytes(500))
        return tmp_path / "c.ogg"
    if case == "unsupported":
        (tmp_path / "a.xyz").write_bytes(b"123")
        return tmp_path / "a.xyz"
    if case == "directory":
        (tmp_path / "d.wav").mkdir()
        return tmp_path / "d.wav"
    if case == "nan":
        data = tone()
        data[5] = np.inf
        sf.write(tmp_path / "n.wav", data, 22050, subtype="FLOAT")
        return tmp_path / "n.wav"
    if case == "zero":
        sf.write(tmp_path / "z.wav", np.zeros(0, np.float32), 22050)
        return tmp_path / "z.wav"
    full = tmp_path / "full.wav"
    sf.write(full, tone(), 22050)
    (tmp_path / "t.wav").write_bytes(full.read_bytes()[:9000])
    return tmp_path / "t.wav"


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "unsupported", "directory", "nan", "zero",
                                  "truncated"])
def test_bad_audio_is_one_line_exit_2_nothing_written(tmp_path, case):
    path = _bad_audio(tmp_path, case)
    out = tmp_path / "out.npy"
    result = run("features", path, "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_bad_rate_and_existing_output(tmp_path, tone_wav):
    result = run("features", tone_wav, "--sr", 0, "--out", tmp_path / "x.npy")
    assert result.exit_code == 2 and "--sr must be > 0" in result.output
    out = tmp_path / "x.npy"
    out.write_bytes(b"keep me")
    result = run("features", tone_wav, "--out", out)
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_bytes() == b"keep me"
    assert run("features", tone_wav, "--out", out, "--force").exit_code == 0
    assert np.load(out).shape[0] == 128


def test_invert_rejects_bad_arrays(tmp_path):
    np.save(tmp_path / "nan.npy", np.full((128, 10), np.nan, np.float32))
    np.save(tmp_path / "flat.npy", np.zeros(10, np.float32))
    (tmp_path / "junk.npy").write_bytes(b"junk")
    for name, message in (("nan.npy", "NaN"), ("flat.npy", "(bins, frames)"), ("junk.npy", "not a readable")):
        result = run("invert", tmp_path / name, "-o", tmp_path / "o.wav")
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "o.wav").exists()


def test_train_recipe_errors_and_models_listing(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: test-tone\nmodle: {}\n")
    result = run("train", recipe)
    assert result.exit_code == 2 and "unknown key(s) modle" in result.output
    result = run("train", tmp_path / "missing.yaml")
    assert result.exit_code == 2 and "no such recipe" in result.output
    result = run("models", "--format", "json")
    assert result.exit_code == 0, result.output


# ---- tables fit a 100-column terminal (issue 31 item 1) ------------------------------------------------
def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_models_table_fits_100_columns_and_json_keeps_everything():
    table = run("models")
    assert table.exit_code == 0, table.output
    assert _widest(table.output) <= 100, table.output
    assert "transformer" in table.output and "music-transformer" in table.output
    rows = json.loads(run("models", "--format", "json").output)
    full = {r["name"]: r for r in rows}["transformer"]
    assert "held out by song/session" in full["trained_on"] and full["parameters"] > 0
    assert "fiddle" in full["quality"]["test_nll_per_token"]
    csv_text = run("models", "--format", "csv").output
    assert "held out by song/session" in csv_text  # csv too holds every field in full


@pytest.mark.parametrize("name", ["transformer", "listen", "melvae"])
def test_models_name_prints_the_whole_card_within_100_columns(name):
    result = run("models", name)
    assert result.exit_code == 0, result.output
    assert _widest(result.output) <= 100, result.output
    for label in ("trained on", "recipe", "size (MB)", "parameters", "measured"):
        assert label in result.output, label
    words = json.loads(run("models", name, "--format", "json").output)[0]["trained_on"].split()
    assert " ".join(result.output.split()).count(" ".join(words[-4:])) == 1  # wrapped, not cut


def test_models_lists_the_shipped_wavenets_under_the_kinds_they_load_as_without_importing_torch():
    from soundart.checkpoint import read_document
    from soundart.models import shipped_path
    from soundart.registry import current_kind

    rows = {r["name"]: r for r in json.loads(run("models", "--format", "json").output)}
    for name in ("wavenet-notes", "wavenet-vocoder"):
        document = read_document(shipped_path(name))
        assert document["kind"] == "wavenet"  # the shipped file keeps its old kind
        assert rows[name]["kind"] == name == current_kind(document["kind"], document["config"])[0]
    code = ("import sys; from soundart.models import describe_models; "
            "print(sorted(r['kind'] for r in describe_models())); assert 'torch' not in sys.modules, 'torch imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "'wavenet'" not in out.stdout and "'wavenet-vocoder'" in out.stdout


def test_models_unknown_name_is_one_line():
    result = run("models", "nope")
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "nope" in result.output


def test_format_rows_cuts_cells_then_gaps_then_headers_to_fit():
    from soundart.commands.common import format_rows

    wide = [{"file": "x" * 300, "genre": "electronic", "note": "a\nb"}, {"file": "short", "genre": "pop"}]
    text = format_rows(wide, "table")
    assert _widest(text) <= 100 and "…" in text and "a b" in text  # a newline never breaks a row
    assert text.splitlines()[3].startswith("short")
    many = [{f"column_{i:02d}": 1.5 for i in range(14)}]  # 14 headers of 9: needs 1-space gaps, cut headers
    assert _widest(format_rows(many, "table")) <= 100
    assert json.loads(format_rows(wide, "json"))[0]["file"] == "x" * 300
    assert "x" * 300 in format_rows(wide, "csv")
