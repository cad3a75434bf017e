"""DDP under torchrun: two CPU processes keep identical weights and write one final model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from soundart import checkpoint, registry
from tests.train.tiny import ToneClassifier

registry.register_model(ToneClassifier)


def test_torchrun_two_ranks_stay_in_sync(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(worker), str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    digests = {(tmp_path / f"rank{r}.sha").read_text() for r in (0, 1)}
    assert len(digests) == 1, "ranks diverged: gradients were not averaged"
    model = checkpoint.load(tmp_path / "model")
    assert model.checkpoint["metadata"]["steps"] == 12
