"""Write data/listen-split.csv: the fixed train/val/test split of the shared listening data.

Usage: python data/make_listen_split.py [--check]

The split is what ``soundart train recipes/listen-cnn.yaml`` computes (groups = mood4q artists, emotify
blocks of 10 track ids, both merged with near-duplicate recordings; seed 0; 20% test, 10% validation);
this listing documents it, and tests/listen/test_data.py fails if the computed split ever changes.
With --check, compare instead of writing.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from soundart.listen.data import ListenDataConfig, read_items, split_rows  # noqa: E402
from soundart.train.recipe import load_recipe  # noqa: E402

LISTING = REPO / "data" / "listen-split.csv"


def computed_rows() -> list[dict[str, str]]:
    recipe = load_recipe(REPO / "recipes" / "listen-cnn.yaml")
    data: ListenDataConfig = recipe.data
    shared = REPO.parent / "shared" / "data"
    cfg = ListenDataConfig(mood4q=str(shared / "mood4q"), emotify=str(shared / "emotify"),
                           cache_dir=str(REPO / data.cache_dir), test_fraction=data.test_fraction,
                           val_fraction=data.val_fraction, split_seed=data.split_seed,
                           near_duplicates=data.near_duplicates)
    return split_rows(read_items(cfg), {"mood4q": cfg.mood4q, "emotify": cfg.emotify})


def main() -> int:
    rows = computed_rows()
    if "--check" in sys.argv[1:]:
        with open(LISTING, newline="") as fh:
            same = list(csv.DictReader(fh)) == rows
        print("split unchanged" if same else "split CHANGED")
        return 0 if same else 1
    with open(LISTING, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["source", "file", "group", "split"])
        writer.writeheader()
        writer.writerows(rows)
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    print(f"wrote {LISTING}: {len(rows)} recordings, {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
