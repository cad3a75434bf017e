"""`soundart analyze` and `soundart eval listen` through the CLI, good and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from soundart.cli import cli
from tests.listen.conftest import write_clip


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_analyze_json_fields(tiny_model, tmp_path):
    good = write_clip(tmp_path / "good.wav", "loud")
    res = _run("analyze", str(good), "--model", str(tiny_model), "--format", "json", "--segments", "--top", "2")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["genre"] in ("calm", "loud") and 0 <= row["genre_p"] <= 1
    assert len(row["genres"]) == 2 and all(0 <= p <= 1 for _, p in row["genres"])  # multi-label
    assert row["mood"] in ("happy/energetic", "angry/tense", "sad/depressed", "calm/tender")
    assert -1 <= row["valence"] <= 1 and -1 <= row["arousal"] <= 1
    assert row["duration_s"] == pytest.approx(3.5, abs=0.01) and row["short"] is False and row["silent"] is False
    for key in ("tempo_bpm", "key", "loudness_lufs", "loudness_range_lu", "brightness_hz", "onset_rate"):
        assert key in row, key
    assert len(row["segments"]) >= 1 and row["segments"][0]["start_s"] == 0


def test_analyze_folder_csv_to_file(tiny_model, labelled_folder, tmp_path):
    out = tmp_path / "lib.csv"
    res = _run("analyze", str(labelled_folder), "-r", "--model", str(tiny_model), "--format", "csv",
               "-o", str(out), "--workers", "2")
    assert res.exit_code == 0, res.output
    lines = out.read_text().strip().splitlines()
    assert lines[0].startswith("file,duration_s,genre") and len(lines) == 11, lines[:2]
    again = _run("analyze", str(labelled_folder), "-r", "--model", str(tiny_model), "-o", str(out))
    assert again.exit_code == 2 and "exists" in again.stderr


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    good = write_clip(tmp / "good.wav", "calm")
    corrupt = tmp / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + os.urandom(2000))
    empty = tmp / "empty.flac"
    empty.write_bytes(b"")
    truncated = tmp / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    noise = (0.3 * np.random.default_rng(1).standard_normal(16000 * 4)).astype(np.float32)
    whole_ogg = tmp / "whole.ogg"
    sf.write(whole_ogg, noise, 16000)
    truncated_ogg = tmp / "truncated.ogg"  # libsndfile would decode the part before the cut without complaint
    truncated_ogg.write_bytes(whole_ogg.read_bytes()[: whole_ogg.stat().st_size // 2])
    whole_ogg.unlink()
    whole_mp3 = tmp / "whole.mp3"
    sf.write(whole_mp3, noise, 16000)
    truncated_mp3 = tmp / "truncated.mp3"  # libmpg123 too, printing warnings of its own
    truncated_mp3.write_bytes(whole_mp3.read_bytes()[: whole_mp3.stat().st_size // 2])
    whole_mp3.unlink()
    text_wav = tmp / "text.wav"
    text_wav.write_text("not audio at all\n" * 20)
    silent = tmp / "silent.wav"
    sf.write(silent, np.zeros(16000 * 3, np.float32), 16000)
    short = tmp / "short.wav"
    sf.write(short, (0.3 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32), 16000)
    unknown = tmp / "notes.txt"
    unknown.write_text("not audio")
    no_audio = tmp / "empty_folder"
    no_audio.mkdir()
    return {"corrupt": corrupt, "empty": empty, "truncated": truncated, "truncated_ogg": truncated_ogg,
            "truncated_mp3": truncated_mp3, "text_wav": text_wav, "silent": silent, "short": short,
            "unknown": unknown, "no_audio": no_audio, "missing": tmp / "missing.wav", "good": good}


def test_bad_inputs_one_line_each_run_goes_on_exit_1(tiny_model, tmp_path):
    paths = _bad_inputs(tmp_path)
    res = _run("analyze", *map(str, paths.values()), "--model", str(tiny_model), "--format", "json")
    assert res.exit_code == 1, res.output
    rows = json.loads(res.stdout)
    analysed = {Path(r["file"]).name: r for r in rows if "error" not in r}
    assert sorted(analysed) == ["good.wav", "short.wav", "silent.wav"]
    # a silent file is reported as silent, not classified; a short one is padded and classified
    assert analysed["silent.wav"]["silent"] is True and "genre" not in analysed["silent.wav"]
    assert analysed["short.wav"]["short"] is True and analysed["short.wav"]["genre"] in ("calm", "loud")
    assert analysed["good.wav"]["short"] is False and analysed["good.wav"]["silent"] is False
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("skipped: ")]
    expect = {"corrupt": "corrupt", "empty": "empty", "truncated": "truncated", "truncated_ogg": "truncated",
              "truncated_mp3": "truncated", "text_wav": "cannot decode",
              "unknown": "unsupported format", "no_audio": "no audio", "missing": "no such file"}
    errors = {r["file"]: r["error"] for r in rows if "error" in r}
    for name, phrase in expect.items():
        hits = [ln for ln in lines if str(paths[name]) in ln]
        assert len(hits) == 1 and phrase in hits[0], (name, hits, res.stderr)
        assert phrase in errors[str(paths[name])], (name, errors)  # the output says so too
    assert len(lines) == len(expect)
    assert "Traceback" not in res.output
    assert "libmpg123" not in res.stderr and "Warning:" not in res.stderr, res.stderr  # no raw decoder chatter
    assert f"{len(expect)} of {len(paths)} inputs failed; 3 analysed" in res.stderr


def test_unreadable_file(tiny_model, tmp_path):
    locked = write_clip(tmp_path / "locked.wav", "calm")
    locked.chmod(0)
    if not os.access(locked, os.R_OK):
        res = _run("analyze", str(locked), "--model", str(tiny_model))
        code, err = res.exit_code, res.stderr
    else:
        # root reads any file; drop the capabilities that let it (setpriv) so the failure is real
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: every file is readable")
        drop = "-dac_override,-dac_read_search"
        proc = subprocess.run([setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", sys.executable, "-m",
                               "soundart", "analyze", str(locked), "--model", str(tiny_model)],
                              capture_output=True, text=True)
        if proc.stderr.startswith("setpriv:"):
            pytest.skip(f"cannot drop root's capabilities here: {proc.stderr.strip()}")
        code, err = proc.returncode, proc.stderr
    assert code == 1 and "locked.wav: cannot be read" in err, err
    assert "1 of 1 inputs failed" in err


def test_usage_errors_exit_2(tiny_model, tmp_path):
    good = write_clip(tmp_path / "g.wav", "calm")
    assert _run("analyze", str(good), "--top", "0", "--model", str(tiny_model)).exit_code == 2
    res = _run("analyze", str(good), "--model", str(tmp_path / "nope"))
    assert res.exit_code == 2 and res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert _run("analyze").exit_code == 2


def test_eval_listen_reports_accuracy_and_plots(tiny_model, labelled_folder, tmp_path):
    png = tmp_path / "conf.png"
    res = _run("eval", "listen", str(tiny_model), str(labelled_folder), "--split", "all", "--no-baseline",
               "--cache", str(tmp_path / "cache"), "--plot", str(png), "--format", "json")
    assert res.exit_code == 0, res.output
    scores = json.loads(res.stdout)
    genre = scores["genre"]["cnn"]
    assert genre["n"] == 10 and 0 <= genre["accuracy"] <= 1
    assert np.array(genre["confusion"]).sum() == 10
    assert png.stat().st_size > 1000


def test_trained_checkpoint_has_measured_metrics(tiny_model):
    from soundart.checkpoint import read_document

    meta = read_document(tiny_model)["metadata"]
    assert "test_genre_accuracy" in meta["metrics"] and "test_genre_baseline_accuracy" in meta["metrics"]
    assert "folder" in meta["data"]
