"""`analyze` at archive scale: the Python API, streamed output, --resume, --shard, Ctrl-C, progress."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import soundart
from soundart.cli import cli
from tests.listen.conftest import write_clip

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner(env=env).invoke(cli, list(args))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Twelve short clips in two subfolders (one name sorts differently by folder than by file)."""
    root = tmp_path_factory.mktemp("archive")
    for i in range(12):
        write_clip(root / ("b" if i % 3 else "a") / f"clip{i:02d}.wav", "calm" if i % 2 else "loud",
                   seconds=1.5, seed=i)
    return root


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _all_files(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*.wav")}


def test_api_yields_the_records_of_the_jsonl_output(tiny_model, folder, tmp_path):
    records = soundart.analyze(folder, model=str(tiny_model), recursive=True, workers=2, top=2)
    assert hasattr(records, "__next__")  # a generator: the caller streams, nothing is collected
    api = list(records)
    out = tmp_path / "lib.jsonl"
    res = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "--top", "2", "-o", str(out), "-q")
    assert res.exit_code == 0, res.output
    assert res.stderr == ""  # --quiet: no progress
    assert api == _jsonl(out)
    assert {r["file"] for r in api} == _all_files(folder)
    assert all(len(r["genres"]) == 2 and r["short"] is False and r["silent"] is False for r in api)


def test_resume_after_a_killed_run_repeats_and_loses_nothing(tiny_model, folder, tmp_path):
    out = tmp_path / "lib.jsonl"
    assert _run("analyze", str(folder), "-r", "--model", str(tiny_model), "-o", str(out)).exit_code == 0
    full = out.read_text().splitlines(keepends=True)
    # a run killed while writing its sixth record: five whole lines and half of the sixth
    out.write_text("".join(full[:5]) + full[5][: len(full[5]) // 2])
    res = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "-o", str(out), "--resume")
    assert res.exit_code == 0, res.output
    assert "7 analysed; 5 were already in" in res.stderr
    records = _jsonl(out)  # every line parses: the half line was cut off before appending
    assert sorted(r["file"] for r in records) == sorted(_all_files(folder))
    again = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "-o", str(out), "--resume")
    assert again.exit_code == 0 and len(_jsonl(out)) == 12, again.output


def test_resume_csv_keeps_one_header(tiny_model, folder, tmp_path):
    out = tmp_path / "lib.csv"
    first = _run("analyze", str(folder / "a"), "--model", str(tiny_model), "-o", str(out))
    assert first.exit_code == 0, first.output
    res = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "-o", str(out), "--resume")
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("file,duration_s,genre") and len(lines) == 13
    assert sum(ln.startswith("file,") for ln in lines) == 1
    wrong = tmp_path / "other.csv"
    wrong.write_text("a,b\n1,2\n")
    res = _run("analyze", str(folder), "--model", str(tiny_model), "-o", str(wrong), "--resume")
    assert res.exit_code == 2 and "columns" in res.stderr and wrong.read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize("n", [1, 3, 5])
def test_shards_cover_every_file_exactly_once(tiny_model, folder, n):
    seen: list[str] = []
    for k in range(1, n + 1):
        part = [r["file"] for r in soundart.analyze(folder, model=str(tiny_model), recursive=True, workers=1,
                                                     shard=f"{k}/{n}")]
        assert abs(len(part) - 12 / n) < 1, (k, n, part)  # dealt round-robin: sizes differ by one at most
        seen += part
    assert sorted(seen) == sorted(_all_files(folder))


def test_shard_by_cli_matches_the_api(tiny_model, folder, tmp_path):
    out = tmp_path / "part.jsonl"
    res = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "--shard", "2/3", "-o", str(out))
    assert res.exit_code == 0, res.output
    api = [r["file"] for r in soundart.analyze(folder, model=str(tiny_model), recursive=True, shard=(2, 3))]
    assert [r["file"] for r in _jsonl(out)] == api


def test_progress_lines_in_a_log_none_with_quiet(tiny_model, folder):
    res = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "--format", "csv")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("analyze: ")]
    assert lines and lines[-1].startswith("analyze: 12/12 file (100%)") and "\r" not in res.stderr
    quiet = _run("analyze", str(folder), "-r", "--model", str(tiny_model), "--format", "csv", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_table_streams_with_the_file_last(tiny_model, folder, tmp_path):
    short = write_clip(tmp_path / "a short one with a long name.wav", "calm", seconds=0.4)
    res = _run("analyze", str(folder / "a"), str(short), "--model", str(tiny_model), "-q")
    assert res.exit_code == 0, res.output
    head, rule, *rows = res.stdout.splitlines()
    assert head.split()[0] == "genre" and head.split()[-1] == "file" and len(rows) == 5
    assert all(row.endswith(".wav") for row in rows)
    at = head.index("file")  # fixed widths: every file name starts in the column of its heading
    files = [*sorted(str(p) for p in (folder / "a").glob("*.wav")), str(short)]
    # a path too long for 100 columns keeps its end: the file's own name
    assert all(len(row) <= 100 and (row[at:] == f or (row[at] == "…" and f.endswith(row[at + 1:])))
               for row, f in zip(rows, files))
    assert "  short  " in rows[-1] and "short" not in rows[0]


def test_long_file_is_cut_at_max_duration_and_says_so(tiny_model, tmp_path):
    clip = write_clip(tmp_path / "long.wav", "loud", seconds=6.0)
    res = _run("analyze", str(clip), "--model", str(tiny_model), "--format", "json", "--max-duration", "2.5")
    assert res.exit_code == 0, res.output
    (rec,) = json.loads(res.stdout)
    assert rec["duration_s"] == pytest.approx(6.0) and rec["analysed_s"] == pytest.approx(2.5, abs=0.01)
    assert "analysed its first 0:00:02" in res.stderr  # rounded to whole seconds on the clock


def test_many_channels_high_rate(tiny_model, tmp_path):
    x = 0.1 * np.random.default_rng(0).standard_normal((192000 * 2, 8)).astype(np.float32)
    path = tmp_path / "ch8.wav"
    sf.write(path, x, 192000, subtype="FLOAT")
    (rec,) = list(soundart.analyze(path, model=str(tiny_model)))
    assert rec["duration_s"] == pytest.approx(2.0) and rec["genre"] in ("calm", "loud")


def _interrupt_after(cmd: list[str], out: Path, lines: int, env: dict[str, str], group: bool = False,
                     stdout: Path | None = None) -> tuple[int, str, float]:
    """Start ``cmd``, wait for ``lines`` records in ``out``, send SIGINT to it (``group``: to its whole
    process group, workers included, as a terminal's Ctrl-C does); (exit code, stderr, seconds to stop)."""
    sink = open(stdout, "w") if stdout else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            start_new_session=group)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.read_text().count("\n") < lines) and proc.poll() is None:
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    start = time.monotonic()
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("analyze hangs after Ctrl-C")
    return proc.returncode, err, time.monotonic() - start


def test_ctrl_c_stops_fast_keeps_every_record_and_resume_completes(tiny_model, tmp_path):
    """A real process and a real SIGINT, twice, over 160 clips; then --resume finishes the job."""
    root = tmp_path / "many"
    for i in range(160):
        write_clip(root / f"c{i:03d}.wav", "calm" if i % 2 else "loud", seconds=2.0, seed=i)
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOUNDART_PROGRESS": "lines"}
    cmd = [sys.executable, "-m", "soundart", "analyze", str(root), "--model", str(tiny_model), "--workers", "2",
           "-o", str(out)]
    for round_, lines in enumerate((10, 40)):
        code, err, took = _interrupt_after(cmd + (["--resume"] if round_ else []), out, lines, env,
                                           group=round_ == 1)
        assert code == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert "interrupted: " in err and "--resume" in err.splitlines()[-1], err
        assert took < 10, took  # about a second here; generous for a loaded machine
        text = out.read_text()
        assert text.endswith("\n")
        files = [json.loads(line)["file"] for line in text.splitlines()]  # every line is a whole record
        assert len(files) == len(set(files)) >= lines
    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr
    files = [r["file"] for r in _jsonl(out)]
    assert len(files) == 160 and set(files) == {str(p) for p in root.glob("*.wav")}


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_ctrl_c_with_stdout_redirected_keeps_what_was_written(tiny_model, tmp_path, fmt):
    """`analyze DIR > out` used to lose every result on Ctrl-C: now each is written as it is done."""
    root = tmp_path / "many"
    for i in range(120):
        write_clip(root / f"c{i:03d}.wav", "calm", seconds=2.0, seed=i)
    out = tmp_path / "out.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "soundart", "analyze", str(root), "--model", str(tiny_model), "--format", fmt]
    code, err, _ = _interrupt_after(cmd, out, 300 if fmt == "json" else 20, env, group=True, stdout=out)
    assert code == 130 and "Traceback" not in err, err
    if fmt == "json":
        rows = json.loads(out.read_text())  # the array is closed on the way out: still valid JSON
        assert len(rows) >= 5 and all(r["file"].endswith(".wav") for r in rows)
    else:
        rows = out.read_text().splitlines()[2:]
        assert len(rows) >= 18 and all(row.endswith(".wav") for row in rows)


def test_api_checks_its_arguments_at_the_call(tiny_model, folder, tmp_path):
    from soundart.errors import ConfigError, ModelError

    for bad in ({"shard": "3/2"}, {"shard": (0, 0)}, {"top": 0}, {"workers": 0}, {"max_duration": float("nan")}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            soundart.analyze(folder, model=str(tiny_model), **bad)  # raised before any iteration
    with pytest.raises(ModelError, match="nope"):
        soundart.analyze(folder, model=str(tmp_path / "nope"), recursive=True)


def test_a_caller_that_stops_early_stops_the_workers(tiny_model, folder):
    import multiprocessing as mp

    records = soundart.analyze(folder, model=str(tiny_model), recursive=True, workers=2)
    first = next(records)
    assert first["file"].endswith(".wav") and len(mp.active_children()) == 2
    records.close()
    assert mp.active_children() == []


def test_table_rows_fit_100_columns_and_keep_the_file_name():
    """The table holds the essentials in 100 columns (everything else is in json/csv); a long path is
    cut from the front so the file's own name stays."""
    import io

    from soundart.listen.records import RecordWriter

    out = io.StringIO()
    writer = RecordWriter(out, "table", "<stdout>")
    rec = {"file": "/archive/" + "deep/" * 30 + "a song.flac", "duration_s": 245.3, "genre": "electronic",
           "genre_p": 0.862, "mood": "sad/depressed", "mood_p": 0.521, "tempo_bpm": 187.5, "key": "C# minor",
           "loudness_lufs": -23.1, "short": True}
    writer.write(rec)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100, lines
    assert lines[-1].endswith("a song.flac") and "…" in lines[-1]
