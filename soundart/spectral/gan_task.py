"""The ``specgan`` training task: SpecGAN on the notes dataset (or any folder of audio).

Data: notes from :class:`soundart.audio.notes.NotesDataset` (manifest + WAVs,
16 kHz, family labels), or, with ``folder:``, every audio file under a folder
(unconditioned). Each clip's first ``frames`` log-mel frames (shared pipeline,
the model's FeatureConfig) are computed once and held in memory; the per-bin
moments come from the training images and are stored in the model's buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from soundart.errors import BadInputError
from soundart.spectral.gan import SpecGAN, SpecGANConfig
from soundart.train.recipe import Prepared, Task


@dataclass
class SpecGANDataConfig:
    """Where the training images come from.

    root : notes dataset folder (manifest.csv + audio/); used when ``folder`` is empty.
    folder : any folder of audio files instead (recursive; unconditioned training).
    families : keep only these families (empty: all in the model's ``families``, or all).
    pitches : inclusive MIDI pitch range kept.
    velocities : velocities kept (empty: all).
    max_train, max_valid : cap on items (spread evenly over the split), 0 = no cap.
    """

    root: str = "data/notes"
    folder: str = ""
    families: tuple[str, ...] = ()
    pitches: tuple[int, int] = (24, 96)
    velocities: tuple[int, ...] = ()
    max_train: int = 3000
    max_valid: int = 256


def clip_logmel(audio: torch.Tensor, cfg: SpecGANConfig) -> torch.Tensor:
    """(samples,) audio -> (n_mels, frames) dB log-mel of its first ``cfg.frames`` frames (zero-padded)."""
    from soundart.features import logmel

    fc = cfg.features
    n = (cfg.frames - 1) * fc.hop_length
    audio = audio[:n]
    if audio.numel() < n:
        audio = torch.nn.functional.pad(audio, (0, n - audio.numel()))
    return logmel(audio, fc)[..., : cfg.frames]


def _spread(items: list[Any], cap: int) -> list[Any]:
    if cap <= 0 or len(items) <= cap:
        return items
    step = len(items) / cap
    return [items[int(i * step)] for i in range(cap)]


def load_images(data: SpecGANDataConfig, cfg: SpecGANConfig, split: str,
                progress: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mel images ``(N, n_mels, frames)`` and family indices ``(N,)`` (into ``cfg.families``; -1 if none)."""
    from soundart.io import is_audio_file, load_audio
    from soundart.progress import progress as progress_bar

    cap = data.max_train if split == "train" else data.max_valid
    sr = cfg.features.sr
    seconds = cfg.frames * cfg.features.hop_length / sr
    sources: list[tuple[Any, int]] = []
    if data.folder:
        root = Path(data.folder)
        if not root.is_dir():
            raise BadInputError(f"{root}: no such folder")
        files = sorted(p for p in root.rglob("*") if p.is_file() and is_audio_file(p))
        cut = max(1, len(files) // 10)
        files = files[cut:] if split == "train" else files[:cut]
        sources = [(p, -1) for p in _spread(files, cap)]
        if not sources:
            raise BadInputError(f"{root}: no audio files")
    else:
        from soundart.audio.notes import NotesDataset

        fams = list(data.families) or list(cfg.families) or None
        ds = NotesDataset(data.root, split=split, families=fams, pitches=tuple(data.pitches),
                          velocities=list(data.velocities) or None, seconds=seconds)
        rows = _spread(list(range(len(ds))), cap)
        sources = [(ds, i) for i in rows]
        if not sources:
            raise BadInputError(f"{data.root}: no notes in split {split!r} for families {fams}")
    images, labels = [], []
    for src, i in progress_bar(sources, desc=f"log-mels ({split})", unit="clip", quiet=not progress, leave=False):
        if isinstance(src, Path):
            audio = load_audio(src, sr=sr, duration=seconds)[0][0]
            fam = -1
        else:
            audio, _pitch, fam_idx = src[i]
            if sr != src.sr:
                from soundart.io import resample

                audio = resample(audio, src.sr, sr)
            name = src.family_names[fam_idx]
            fam = cfg.families.index(name) if name in cfg.families else -1
        images.append(clip_logmel(audio, cfg))
        labels.append(fam)
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)


class ImageSet(torch.utils.data.Dataset):
    """In-memory (logmel, family) pairs; items are dicts the model's training_step reads."""

    def __init__(self, images: torch.Tensor, families: torch.Tensor) -> None:
        self.images, self.families = images, families

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"logmel": self.images[i], "family": self.families[i].clamp(min=0)}


def prepare(data: SpecGANDataConfig, model_cfg: SpecGANConfig) -> Prepared:
    model = SpecGAN(model_cfg)
    train_images, train_fams = load_images(data, model_cfg, "train")
    try:
        valid_images, valid_fams = load_images(data, model_cfg, "valid")
    except BadInputError:
        valid_images, valid_fams = train_images[:64], train_fams[:64]
    if model_cfg.families and (train_fams < 0).any():
        raise BadInputError("some training notes have a family the model does not know; "
                            "list them in model.families or restrict data.families")
    model.set_moments(train_images)
    src = data.folder or data.root
    what = f"{len(train_images)} clips from {src}"
    if model_cfg.families:
        what += f" (families: {', '.join(model_cfg.families)})"
    desc = (f"{what}; first {model_cfg.frames} log-mel frames "
            f"({model_cfg.frames * model_cfg.features.hop_length / model_cfg.features.sr:.2f} s)")
    return Prepared(model=model, train_data=ImageSet(train_images, train_fams),
                    val_data=ImageSet(valid_images, valid_fams), data_description=desc)


def evaluate(model: SpecGAN, data: SpecGANDataConfig, prepared: Prepared) -> dict[str, Any]:
    """Held-out measures stored in the checkpoint: the critic's Wasserstein estimate and a
    per-bin moment distance between samples and held-out notes (dB)."""
    val = prepared.val_data
    real = val.images
    dev = model.bin_mean.device
    with torch.no_grad():
        gen = torch.Generator(device=dev).manual_seed(0)
        fake = torch.cat([model.sample(min(64, real.shape[0] - i), generator=gen)
                          for i in range(0, real.shape[0], 64)])
        w = model.validation_step({"logmel": real.to(dev), "family": val.families.clamp(min=0).to(dev)})["loss"]
    mean_gap = (fake.mean(dim=(0, 2)).cpu() - real.mean(dim=(0, 2))).abs().mean()
    std_gap = (fake.std(dim=(0, 2)).cpu() - real.std(dim=(0, 2))).abs().mean()
    return {"valid_wasserstein": round(float(w), 4), "bin_mean_gap_db": round(float(mean_gap), 3),
            "bin_std_gap_db": round(float(std_gap), 3), "valid_items": int(real.shape[0])}


TASK = Task(name="specgan", model_config_class=SpecGANConfig, data_config_class=SpecGANDataConfig,
            prepare=prepare, evaluate=evaluate)
