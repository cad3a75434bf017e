"""`soundart train` never loses work: run folders, --resume / --force, damaged state, Ctrl-C and SIGTERM
in a real process, progress lines, recipe field checks, shape checks of the NumPy sketch loaders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from soundart import checkpoint, registry
from soundart.cli import cli
from soundart.errors import ConfigError
from soundart.train import load_recipe
from tests.train.mounts import tmpfs
from tests.train.tiny import TASK, ToneClassifier

registry.register_model(ToneClassifier)
registry.register_task(TASK)

RECIPES = Path(__file__).parent / "recipes"
TONE = RECIPES / "tone.yaml"
REPO = Path(__file__).resolve().parents[2]


def train(*args) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["train", str(TONE), *map(str, args)])
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def one_line_error(code: int, lines: list[str], *words: str) -> None:
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, lines)
    assert all(w in lines[0] for w in words), lines


def test_a_folder_that_holds_a_run_needs_resume_or_force(tmp_path):
    out = tmp_path / "run"
    code, lines = train("--out", out)
    assert code == 0, lines
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    one_line_error(*train("--out", out), "holds a run", "saved at step 12", "--resume or --force")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    assert train("--out", out, "--resume")[0] == 0  # a finished run: resuming just rewrites the final model
    code, lines = train("--out", out, "--force", "--steps", 4)
    assert code == 0, lines
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4]  # a fresh log, not two runs mixed
    assert checkpoint.read_document(out / "model")["metadata"]["steps"] == 4


def test_an_interrupted_run_is_not_reset(tmp_path):
    out = tmp_path / "run"
    from soundart.train import run_recipe

    run_recipe(load_recipe(TONE, {"out_dir": str(out)}), stop_at=5)  # like Ctrl-C at step 5
    one_line_error(*train("--out", out), "holds a run", "step 5")
    code, lines = train("--out", out, "--resume")
    assert code == 0, lines
    assert checkpoint.read_document(out / "model")["metadata"]["steps"] == 12


def test_a_config_field_added_since_the_run_was_saved_resumes_at_its_default(tmp_path):
    """A run saved before its config class gained a field (here: the saved config lacks ``dropout``) resumes
    when the recipe leaves that field at its default."""
    from soundart.train import run_recipe

    out = tmp_path / "run"
    run_recipe(load_recipe(TONE, {"out_dir": str(out)}), stop_at=5)
    document = json.loads((out / "last.json").read_text())
    del document["config"]["dropout"]
    (out / "last.json").write_text(json.dumps(document))
    code, lines = train("--out", out, "--resume")
    assert code == 0, lines
    assert checkpoint.read_document(out / "model")["metadata"]["steps"] == 12


def test_resume_after_the_model_changed_or_with_damaged_state_is_one_line(tmp_path):
    out = tmp_path / "run"
    assert train("--out", out)[0] == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(TONE.read_text().replace("hidden: 12", "hidden: 10"))
    result = CliRunner().invoke(cli, ["train", str(changed), "--out", str(out), "--resume"])
    lines = result.output.strip().splitlines()
    one_line_error(result.exit_code, lines, "another model config", "hidden: 12 -> 10")

    state = (out / "trainer.safetensors").read_bytes()
    (out / "trainer.safetensors").write_bytes(state[:len(state) // 2])  # truncated
    one_line_error(*train("--out", out, "--resume"), "training state", "damaged")
    (out / "trainer.safetensors").write_bytes(state)
    for text in ("{not json", '{"step": "x"}', "[]", '{"step": 3}'):
        (out / "trainer.json").write_text(text)
        one_line_error(*train("--out", out, "--resume"), "training state")


def test_out_naming_a_file_or_an_unwritable_folder_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    one_line_error(*train("--out", tmp_path / "f"), "is a file")
    if os.geteuid() == 0:  # root writes anywhere; a read-only mount is what stops it
        with tmpfs(tmp_path / "ro", "ro") as ro:
            one_line_error(*train("--out", ro / "run"), "cannot write", "read-only file system")
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        one_line_error(*train("--out", tmp_path / "ro" / "run"), "cannot write")


def test_progress_lines_in_a_log_and_none_with_quiet(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDART_PROGRESS", "lines")  # what a log sees (stderr not a terminal)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TONE.read_text().replace("progress: false", "progress: true"))
    result = CliRunner().invoke(cli, ["train", str(recipe), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    progress = [line for line in result.output.splitlines() if line.startswith("train: ")]
    assert progress and progress[-1].startswith("train: 12/12 step (100%)"), result.output
    assert "\r" not in result.output
    quiet = CliRunner().invoke(cli, ["train", str(recipe), "--out", str(tmp_path / "b"), "--quiet"])
    assert quiet.exit_code == 0 and "train: " not in quiet.output, quiet.output


@pytest.mark.parametrize("field, value, message", [
    ("steps", '"ten"', "train.steps must be an integer, got 'ten'"),
    ("steps", "3.7", "train.steps must be an integer, got 3.7"),
    ("steps", "true", "train.steps must be an integer, got true"),
    ("lr", ".nan", "train.lr must be a finite number"),
    ("lr", "[1]", "train.lr must be a number"),
    ("betas", "0.9", "train.betas must be a list of 2 numbers"),
    ("betas", "[0.9, 1.5]", "train.betas must both be in"),
    ("batch_size", "0", "train.batch_size must be >= 1"),
    ("grad_clip", "null", None),  # null: no clipping, allowed
    ("amp", "1", "train.amp must be true or false"),
])
def test_every_train_field_is_checked_by_type_and_range(tmp_path, field, value, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"task: test-tone\ntrain: {{{field}: {value}}}\n")
    if message is None:
        assert load_recipe(recipe).train.grad_clip is None
        return
    with pytest.raises(ConfigError) as info:
        load_recipe(recipe)
    assert str(info.value) == f"r.yaml: {message}" or str(info.value).startswith(f"r.yaml: {message}"), info.value


def test_train_config_in_python_is_held_to_the_same_types():
    from soundart.train import TrainConfig

    with pytest.raises(ConfigError, match="train.steps must be an integer"):
        TrainConfig(steps="ten")  # type: ignore[arg-type]
    assert TrainConfig(betas=[0.8, 0.9]).betas == (0.8, 0.9)  # type: ignore[arg-type]


# ---- a real process: Ctrl-C and SIGTERM ----------------------------------------------------------------
def _spawn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOUNDART_PROGRESS": "none"}
    return subprocess.Popen([sys.executable, "-m", "tests.train.cli_with_tiny", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_signal_during_training_saves_state_and_exits_with_one_line(tmp_path, sig, code, word):
    out = tmp_path / "run"
    proc = _spawn("train", str(TONE), "--out", str(out), "--steps", "100000")
    _wait_for(lambda: (out / "log.jsonl").exists(), proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, (proc.returncode, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{word} at step "), stderr
    assert "--resume" in lines[0] and "Aborted" not in stderr
    step = json.loads((out / "trainer.json").read_text())["step"]
    assert int(lines[0].split()[3].rstrip(";")) == step > 0
    assert not list(out.glob("*.part"))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_long_write_leaves_no_part_file(tmp_path, sig, code):
    target = tmp_path / "out.bin"
    proc = _spawn("slow-write", str(target))
    _wait_for(lambda: any(tmp_path.glob(".out.bin.*.part")), proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code and len(stderr.strip().splitlines()) == 1, (proc.returncode, stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the target nor .out.bin.*.part




# ---- checkpoints whose JSON config does not match their tensors -----------------------------------------
@pytest.mark.parametrize("stem, field, value", [("music-transformer", "d_ff", 512), ("music-rnn", "hidden_size", 256),
                                                ("music-transformer", "n_layers", 9)])
def test_numpy_sketch_loaders_check_shapes_against_the_config(tmp_path, stem, field, value):
    import shutil

    from soundart.models import PRETRAINED_DIR

    for suffix in (".safetensors", ".json"):
        shutil.copy(PRETRAINED_DIR / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    doc = json.loads((tmp_path / f"{stem}.json").read_text())
    doc["config"][field] = value
    (tmp_path / f"{stem}.json").write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["sketch", "--model", str(tmp_path / stem), "-o", str(tmp_path / "x.mid")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "do not match the config" in lines[0] or "lack" in lines[0], lines
    assert not (tmp_path / "x.mid").exists()
