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
    from soundart.listen.labels import TAXONOMY

    assert row["genre"] in TAXONOMY, row["genre"]
    assert [name for name, _ in row["genres"]] and all(name in TAXONOMY for name, _ in row["genres"])
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
    assert m["test_quadrant_macro_f1"] > m["test_quadrant_baseline_macro_f1"], m
    assert "emotify" in meta["data"] and "mood4q" in meta["data"]


def test_shipped_model_knows_the_taxonomy_and_is_calibrated():
    """13 genres read from one multi-label head, heads fitted on whole recordings, and the card's
    calibration and ranking figures (measured on the fixed test split, data/listen-split.csv)."""
    from soundart.checkpoint import checkpoint_paths, read_document
    from soundart.listen.labels import TAXONOMY

    weights, _ = checkpoint_paths(shipped_path("listen"))
    document = read_document(weights)
    config, m = document["config"], document["metadata"]["metrics"]
    assert tuple(config["genres"]) == TAXONOMY and config["pooled_heads"] is True
    assert document["metadata"]["data_config"]["near_duplicates"] > 0
    assert m["test_genres_ece"] <= 0.05 and m["test_genres_macro_roc_auc"] > 0.75, m
