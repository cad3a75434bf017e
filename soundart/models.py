"""The shipped default models: name -> files in ``soundart/pretrained/``.

What a model was trained on and how well it does are read from its
checkpoint's JSON metadata (written by the recipe that trained it), never
typed here by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundart.errors import ModelError

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


@dataclass(frozen=True)
class ShippedModel:
    name: str          # what users type: --model NAME
    stem: str          # files pretrained/STEM.safetensors + STEM.json
    task: str          # what it is for, in a few words
    recipe: str        # the recipe that trained it: soundart train recipes/RECIPE.yaml


# Each issue that ships a model adds its line here.
DEFAULT_MODELS: dict[str, ShippedModel] = {
    "specgan": ShippedModel("specgan", "specgan",
                            "spectrogram GAN clips by instrument family (soundart synth gan)", "specgan-finetune"),
    "melvae": ShippedModel("melvae", "melvae", "audio notes (soundart synth vae/morph/reconstruct): "
                           "mel-spectrogram VAE conditioned on pitch and instrument family", "melvae"),
    "rnn": ShippedModel("rnn", "music-rnn", "MIDI sketches (soundart sketch --model rnn): LSTM over band tokens "
                        "(styles, parts, chords); the small, fastest model", "music-rnn"),
    "transformer": ShippedModel("transformer", "music-transformer", "MIDI sketches (soundart sketch default): "
                                "Music Transformer (relative attention) over band tokens: styles, parts "
                                "melody/chords/bass/drums, a chord per bar", "music-transformer"),
    "wavenet-notes": ShippedModel("wavenet-notes", "wavenet-notes",
                                  "WaveNet note generator (soundart synth wavenet): family + pitch conditioned, 16 kHz",
                                  "wavenet-notes"),
    "wavenet-vocoder": ShippedModel("wavenet-vocoder", "wavenet-vocoder",
                                    "WaveNet mel vocoder (soundart vocode, synth vae --vocoder wavenet): 64-band "
                                    "log-mel -> 16 kHz audio, linear prediction from the mel's envelope",
                                    "wavenet-vocoder-sharp"),
    "listen": ShippedModel("listen", "listen-cnn",
                           "analyze recordings: 13 genres, multi-label and calibrated (emotify + mood4q's AllMusic "
                           "tags), mood quadrant (mood4q; valence/arousal derived from it, no V/A labels), other "
                           "AllMusic tags, GEMS emotions", "listen-cnn"),
}


def shipped_path(name: str) -> Path:
    """Path stem of a shipped model's files; a ModelError if unknown or missing."""
    from soundart.checkpoint import checkpoint_paths

    if name not in DEFAULT_MODELS:
        known = ", ".join(sorted(DEFAULT_MODELS)) or "none yet"
        raise ModelError(f"no shipped model named {name!r} (shipped: {known})")
    entry = DEFAULT_MODELS[name]
    stem = PRETRAINED_DIR / entry.stem
    weights, meta = checkpoint_paths(stem)
    if not weights.exists() or not meta.exists():
        raise ModelError(f"shipped model {name!r} is missing its weights ({weights.name}); "
                         f"reinstall soundart or train it: soundart train recipes/{entry.recipe}.yaml")
    return stem


def load_model(spec: str, device: Any = "cpu", expect_kind: str | tuple[str, ...] | None = None) -> Any:
    """Load a shipped model by name, or a checkpoint by path (with or without suffix)."""
    from soundart import checkpoint

    if spec in DEFAULT_MODELS:
        return checkpoint.load(shipped_path(spec), device=device, expect_kind=expect_kind)
    p = Path(spec)
    if p.suffix in ("", ".safetensors", ".json") and (p.exists() or p.with_name(p.name + ".json").exists()
                                                      or p.with_suffix(".json").exists()):
        return checkpoint.load(p, device=device, expect_kind=expect_kind)
    known = ", ".join(sorted(DEFAULT_MODELS)) or "none yet"
    raise ModelError(f"model {spec!r} is neither a shipped model ({known}) nor a checkpoint path")


def describe_models() -> list[dict[str, Any]]:
    """One row per shipped model: name, kind, size, training data, measured quality."""
    return [describe_model(name) for name in sorted(DEFAULT_MODELS)]


def describe_model(name: str) -> dict[str, Any]:
    """Everything known about one shipped model (its card): task, recipe, files, size, data, quality.

    Read from the checkpoint's JSON and the safetensors header only, so it imports no torch.
    """
    from soundart.checkpoint import checkpoint_paths, read_document, tensor_shapes
    from soundart.registry import current_kind_name

    if name not in DEFAULT_MODELS:
        known = ", ".join(sorted(DEFAULT_MODELS)) or "none yet"
        raise ModelError(f"no shipped model named {name!r} (shipped: {known})")
    entry = DEFAULT_MODELS[name]
    weights, _ = checkpoint_paths(PRETRAINED_DIR / entry.stem)
    row: dict[str, Any] = {"name": name, "task": entry.task, "recipe": f"recipes/{entry.recipe}.yaml"}
    try:
        document = read_document(weights)
        shapes = tensor_shapes(weights)
    except ModelError as exc:
        row.update({"kind": "?", "size_mb": None, "trained_on": "", "quality": f"missing: {exc}"})
        return row
    meta = document.get("metadata", {})
    quality = dict(meta.get("metrics", {}))
    styles = quality.pop("styles", None)
    if styles:  # a band sketch model: its styles and each one's held-out NLL
        pitched = [s for s, v in styles.items() if set(v["parts"]) - {"drums"}]
        grooves = [s for s, v in styles.items() if "drums" in v["parts"]]
        row["styles"] = f"{', '.join(pitched)}; drum grooves: {', '.join(grooves)}"
        quality["test_nll_per_token"] = ", ".join(f"{s} {v['test_nll_per_token']:.3f}" for s, v in styles.items()
                                                  if "test_nll_per_token" in v)
    row.update({
        "kind": current_kind_name(document["kind"], document["config"]),  # an old kind in today's terms
        "size_mb": round(weights.stat().st_size / 1e6, 2),
        "parameters": sum(_count(shape) for shape in shapes.values()),
        "trained_on": meta.get("data", ""),
        "steps": meta.get("steps"),
        "train_seconds": meta.get("train_seconds"),
        "quality": quality,
        "files": str(weights.with_suffix("")) + ".{safetensors,json}",
        "soundart_version": document.get("soundart_version"),
        "saved_at": document.get("saved_at"),
    })
    return row


def _count(shape: list[int]) -> int:
    n = 1
    for size in shape:
        n *= size
    return n
