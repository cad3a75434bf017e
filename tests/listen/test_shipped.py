"""The shipped default listening model: it loads, analyses without --model, and its card holds measurements."""

from __future__ import annotations

import json

from click.testing import CliRunner

from soundart.cli import cli
from soundart.listen.data import QUADRANT_NAMES
from soundart.models import shipped_path
from tests.listen.conftest import write_clip


def test_analyze_uses_the_shipped_model_by_default(tmp_path):
    clip = write_clip(tmp_path / "clip.wav", "loud")
    res = CliRunner().invoke(cli, ["analyze", str(clip), "--format", "json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)[0]
    assert row["genre"] in ("classical", "electronic", "pop", "rock"), row["genre"]
    assert row["mood"] in QUADRANT_NAMES, row["mood"]
    assert {name for name, _ in row["emotions"]} <= {"amazement", "solemnity", "tenderness", "nostalgia",
                                                       "calmness", "power", "joyful_activation", "tension",
                                                       "sadness"}


def test_shipped_card_records_the_cnn_beating_the_mfcc_baseline():
    from soundart.checkpoint import checkpoint_paths, read_document

    weights, _ = checkpoint_paths(shipped_path("listen"))
    assert weights.stat().st_size < 5e6, weights.stat().st_size
    meta = read_document(weights)["metadata"]
    m = meta["metrics"]
    assert m["test_genre_n"] == m["test_genre_baseline_n"] > 0
    assert m["test_genre_accuracy"] > m["test_genre_baseline_accuracy"], m
    assert m["test_genre_macro_f1"] > m["test_genre_baseline_macro_f1"], m
    assert "emotify" in meta["data"] and "mood4q" in meta["data"]
