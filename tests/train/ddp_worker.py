"""Run by test_ddp.py under torchrun: two CPU ranks (gloo) train the tiny model together."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from soundart.train import TrainConfig, Trainer  # noqa: E402
from tests.train.tiny import ToneClassifier, ToneConfig, ToneDataset  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = ToneClassifier(ToneConfig(dropout=0.0))
    cfg = TrainConfig(steps=12, batch_size=8, lr=3e-2, warmup_steps=2, val_every=6, ckpt_every=6,
                      device="cpu", seed=1, out_dir=str(out), progress=False)
    trainer = Trainer(model, ToneDataset(32, 4, 1), cfg, val_data=ToneDataset(8, 4, 2))
    trainer.fit()
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in trainer.model.parameters()))
    (out / f"rank{os.environ['RANK']}.sha").write_text(digest.hexdigest())
    import torch.distributed as dist

    dist.destroy_process_group()


if __name__ == "__main__":
    main()
