"""A tiny real model for exercising the training loop: tone-pitch classification on log-mel.

Each item is a short synthetic tone at one of ``n_classes`` pitches (with noise
and a random level); the model sees its log-mel from the shared pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import Dataset

from soundart.features import FeatureConfig, SpectralPipeline
from soundart.train import Prepared, Task

FEATURES = FeatureConfig(sr=8000, n_fft=256, hop_length=128, n_mels=32)


@dataclass
class ToneConfig:
    n_classes: int = 4
    hidden: int = 16
    dropout: float = 0.1
    features: FeatureConfig = field(default_factory=lambda: FEATURES)


class ToneClassifier(nn.Module):
    kind = "test-tone"
    config_class = ToneConfig

    def __init__(self, config: ToneConfig) -> None:
        super().__init__()
        self.config = config
        self.frontend = SpectralPipeline(config.features)
        self.net = nn.Sequential(
            nn.Conv1d(config.features.n_mels, config.hidden, 3, padding=1), nn.ReLU(),
            nn.Dropout(config.dropout), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
            nn.Linear(config.hidden, config.n_classes),
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:  # (B, samples) -> (B, n_classes)
        feats = self.frontend.logmel(audio) / 40.0  # (B, n_mels, frames)
        return self.net(feats)

    def training_step(self, batch) -> torch.Tensor:
        audio, label = batch
        return nn.functional.cross_entropy(self(audio), label)

    def validation_step(self, batch) -> dict:
        audio, label = batch
        logits = self(audio)
        return {"loss": nn.functional.cross_entropy(logits, label),
                "accuracy": (logits.argmax(-1) == label).float().mean()}


class ToneDataset(Dataset):
    def __init__(self, n_items: int, n_classes: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, n_classes, (n_items,), generator=gen)
        t = torch.arange(2000) / FEATURES.sr
        freqs = 200.0 * 2 ** (self.labels.float() / 2)  # half-octave steps
        level = 0.1 + 0.8 * torch.rand(n_items, 1, generator=gen)
        noise = 0.05 * torch.randn(n_items, t.numel(), generator=gen)
        self.audio = level * torch.sin(2 * torch.pi * freqs[:, None] * t) + noise

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.audio[index], self.labels[index]


@dataclass
class ToneData:
    n_train: int = 64
    n_val: int = 16


def prepare(data: ToneData, model: ToneConfig) -> Prepared:
    return Prepared(model=ToneClassifier(model), train_data=ToneDataset(data.n_train, model.n_classes, 1),
                    val_data=ToneDataset(data.n_val, model.n_classes, 2), data_description="synthetic tones")


def evaluate(model, data: ToneData, prepared: Prepared) -> dict:
    audio, labels = prepared.val_data.audio, prepared.val_data.labels
    with torch.no_grad():
        accuracy = (model(audio).argmax(-1) == labels).float().mean().item()
    return {"val_accuracy": round(accuracy, 4)}


TASK = Task(name="test-tone", model_config_class=ToneConfig, data_config_class=ToneData,
            prepare=prepare, evaluate=evaluate)
