"""The one training loop: every soundart model trains here.

A model provides ``training_step(batch) -> loss`` and, optionally,
``validation_step(batch) -> dict`` (with a "loss" entry) and ``inner_optimizers()
-> {name: optimizer}`` (the optimisers it steps itself inside training_step, e.g.
a GAN's critic; the Trainer holds, saves and resumes them). The Trainer does the
rest: device, bf16 autocast on CUDA, gradient clipping, warm-up + cosine
schedule, validation, checkpoints every N steps and on Ctrl-C, exact resume,
a progress bar, and DDP when started under ``torchrun``.

Data order is a pure function of (seed, step): step ``s`` of epoch
``s // steps_per_epoch`` takes its slice of a permutation seeded by the epoch,
so a resumed run sees exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from soundart import checkpoint
from soundart.errors import ConfigError
from soundart.runtime import resolve_device, seed_everything
from soundart.train import state
from soundart.train.config import TrainConfig


class StepBatchSampler(Sampler[list[int]]):
    """Batches of indices for steps ``start_step .. total_steps-1``, this rank's share only."""

    def __init__(self, n_items: int, batch_size: int, total_steps: int, start_step: int, seed: int,
                 rank: int = 0, world_size: int = 1) -> None:
        if n_items < 1:
            raise ConfigError("the training set is empty")
        self.n_items, self.batch_size = n_items, batch_size
        self.total_steps, self.start_step = total_steps, start_step
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.steps_per_epoch = max(1, n_items // batch_size)

    def _epoch_order(self, epoch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.n_items, generator=gen)
        if self.n_items < self.batch_size:  # tiny sets: repeat to fill one batch
            order = order.repeat(math.ceil(self.batch_size / self.n_items))
        return order

    def batch_for_step(self, step: int) -> list[int]:
        epoch, position = divmod(step, self.steps_per_epoch)
        order = self._epoch_order(epoch)
        batch = order[position * self.batch_size:(position + 1) * self.batch_size]
        return batch[self.rank::self.world_size].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.total_steps):
            yield self.batch_for_step(step)

    def __len__(self) -> int:
        return self.total_steps - self.start_step


class _TrainingStep(nn.Module):
    """Routes DDP's forward to ``model.training_step`` so gradient sync hooks fire."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> torch.Tensor:
        return self.model.training_step(batch)


def move_to(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device) for v in batch)
    return batch


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine to ``min_lr_ratio`` at ``config.steps``."""
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Trainer:
    """Fit ``model`` on ``train_data``; see the module docstring for what it takes care of."""

    def __init__(self, model: nn.Module, train_data: Dataset, config: TrainConfig,
                 val_data: Dataset | None = None, collate_fn: Callable | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        self.config = config
        self.train_data, self.val_data, self.collate_fn = train_data, val_data, collate_fn
        self.metadata = dict(metadata or {})
        self.out_dir = Path(config.out_dir)
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.distributed = self.world_size > 1
        if self.distributed:
            self._init_distributed()
        else:
            self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.best_val: float | None = None
        self.interrupted = False
        self.interruption: KeyboardInterrupt | None = None  # Ctrl-C, or SIGTERM raised as one by the CLI
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": config.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr,
                                           betas=config.betas)
        # every optimiser of the run, saved and resumed together: the Trainer's own ("model") and those a
        # model steps itself inside training_step (the SpecGAN critic's), which it hands over here
        inner = getattr(self.model, "inner_optimizers", None)
        self.optimizers: dict[str, torch.optim.Optimizer] = {"model": self.optimizer, **(inner() if inner else {})}
        self.runner: nn.Module = _TrainingStep(self.model)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.runner = DDP(self.runner, device_ids=ids)

    # -- distributed -------------------------------------------------------------
    def _init_distributed(self) -> None:
        import torch.distributed as dist

        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        wanted = self.config.device
        use_cuda = torch.cuda.is_available() and wanted in ("auto", "cuda")
        if use_cuda:
            torch.cuda.set_device(local_rank)
            self.device = torch.device("cuda", local_rank)
        else:
            self.device = torch.device("cpu")
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- checkpoints (soundart.train.state) ------------------------------------------------
    def save_state(self) -> None:
        """Write ``last`` (model) and ``trainer`` (optimizer, RNG, step) to ``out_dir``."""
        if self.is_main:
            state.save_state(self)

    def load_state(self) -> None:
        """Restore model, optimizer, RNG and step from ``out_dir`` (``--resume``)."""
        state.load_state(self)

    def _metadata(self) -> dict[str, Any]:
        """What every checkpoint of the run stores: the caller's metadata (recipe, data) and the progress,
        portable (``soundart.train.provenance``): no run folder or other local path."""
        from soundart.train.provenance import portable

        last_val = next((h for h in reversed(self.history) if "val_loss" in h), {})
        train_losses = [h["loss"] for h in self.history[-20:] if "loss" in h]
        return portable({
            **self.metadata,
            "steps": self.step,
            "train_loss": float(np.mean(train_losses)) if train_losses else None,
            "val": {k[4:]: v for k, v in last_val.items() if k.startswith("val_")},
        })

    # -- the loop -------------------------------------------------------------------
    def _loader(self, dataset: Dataset, sampler: Sampler) -> DataLoader:
        # The loader draws a worker base seed when iteration starts; give it its own
        # generator so that draw never shifts the global RNG (resume would diverge).
        generator = torch.Generator().manual_seed(self.config.seed * 7919 + self.step)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=self.collate_fn,
                          num_workers=self.config.num_workers, generator=generator,
                          pin_memory=self.device.type == "cuda")

    def _autocast(self):
        if self.config.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        if self.val_data is None or len(self.val_data) == 0:
            return {}
        self.model.eval()
        n = len(self.val_data)
        batch = min(self.config.batch_size, n)
        totals: dict[str, float] = {}
        count = 0
        indices = list(range(n))
        for start in range(0, min(n, batch * self.config.val_batches), batch):
            items = self.collate([self.val_data[i] for i in indices[start:start + batch]])
            items = move_to(items, self.device)
            with self._autocast():
                if hasattr(self.model, "validation_step"):
                    out = self.model.validation_step(items)
                else:
                    out = {"loss": self.model.training_step(items)}
            for key, value in out.items():
                totals[key] = totals.get(key, 0.0) + float(value)
            count += 1
        self.model.train()
        return {key: value / count for key, value in totals.items()}

    def collate(self, items: list[Any]) -> Any:
        if self.collate_fn is not None:
            return self.collate_fn(items)
        from torch.utils.data import default_collate

        return default_collate(items)

    def fit(self, resume: bool = False, stop_at: int | None = None) -> dict[str, Any]:
        """Train until ``config.steps`` (or ``stop_at``, which behaves like Ctrl-C there).

        Returns the metadata stored with the final model (steps, losses, validation).
        """
        cfg = self.config
        seed_everything(cfg.seed + self.rank)
        if resume:
            self.load_state()
        if self.step >= cfg.steps:
            return self._finish()
        sampler = StepBatchSampler(len(self.train_data), cfg.batch_size, cfg.steps, self.step,
                                   cfg.seed, self.rank, self.world_size)
        self.model.train()
        bar = self._progress_bar()
        interrupted = False
        started = time.perf_counter()
        try:
            for batch in self._loader(self.train_data, sampler):
                if stop_at is not None and self.step >= stop_at:
                    interrupted = True
                    break
                loss = self._train_one(batch)
                self.step += 1
                record: dict[str, Any] = {"step": self.step, "loss": loss}
                if cfg.val_every and (self.step % cfg.val_every == 0 or self.step == cfg.steps):
                    val = self.validate()
                    record.update({f"val_{k}": v for k, v in val.items()})
                    if "loss" in val and (self.best_val is None or val["loss"] < self.best_val):
                        self.best_val = val["loss"]
                        if self.is_main:
                            checkpoint.save(self.model, self.out_dir / "best", self._metadata_with(record))
                self.history.append(record)
                if bar is not None:
                    bar.update(1)
                    shown = {"loss": f"{loss:.4f}", "lr": f"{self.optimizer.param_groups[0]['lr']:.2e}"}
                    if "val_loss" in record:
                        shown["val"] = f"{record['val_loss']:.4f}"
                    bar.set_postfix(shown, refresh=False)
                if self.is_main and (self.step % cfg.log_every == 0 or "val_loss" in record):
                    self._log(record)
                if cfg.ckpt_every and self.step % cfg.ckpt_every == 0:
                    self.save_state()
        except KeyboardInterrupt as exc:
            interrupted, self.interruption = True, exc
        finally:
            if bar is not None:
                bar.close()
        if interrupted:
            self.interrupted = True
            self.save_state()  # the caller says so (run_recipe: "interrupted at step N ...")
            return self._metadata()
        self.metadata["train_seconds"] = round(time.perf_counter() - started, 1)
        self.save_state()
        return self._finish()

    def _metadata_with(self, record: dict[str, Any]) -> dict[str, Any]:
        meta = self._metadata()
        meta["val"] = {k[4:]: v for k, v in record.items() if k.startswith("val_")}
        return meta

    def _finish(self) -> dict[str, Any]:
        meta = self._metadata()
        if self.is_main:
            checkpoint.save(self.model, self.out_dir / "model", meta)
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()
        return meta

    def _train_one(self, batch: Any) -> float:
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * lr_factor(self.step, cfg)
        batch = move_to(batch, self.device)
        with self._autocast():
            loss = self.runner(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        return float(loss.detach())

    def _progress_bar(self):
        if not self.is_main:
            return None
        from soundart.progress import progress

        # a bar with rate and ETA on a terminal, a plain line every 10% in a log, nothing when quiet
        return progress(total=self.config.steps, initial=self.step, desc="train", unit="step",
                        quiet=not self.config.progress)

    def _log(self, record: dict[str, Any]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")

