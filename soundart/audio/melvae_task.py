"""Training the mel VAE from a recipe (task ``melvae``): data, cached log-mels, PCA baseline.

Data: the notes dataset (``data/make_notes.py``; train split for training,
valid split for validation, test split for the measured metrics) and/or any
folder of the user's audio (``audio_dir``; labels unknown). Log-mel patches are
computed once through the shared pipeline and cached in ``data/cache/``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from soundart.audio.melvae import MelVAE, MelVAEConfig
from soundart.errors import BadInputError, ConfigError
from soundart.train.recipe import Prepared, Task
from soundart.train.warm_start import WarmStart, WarmStartRules, warm_start

REPO = Path(__file__).resolve().parents[2]


@dataclass
class MelVAEData:
    """Where the training patches come from.

    root : the notes dataset folder (manifest.csv + audio/); "" to use only ``audio_dir``.
    audio_dir : a folder of audio files cut into patches (labels unknown); "" for none.
    families : keep only these families (empty: all).
    velocities : keep only these velocities (empty: all).
    pitch_step : keep every n-th pitch from the model's ``pitch_min``.
    max_train : at most this many training notes (0: all), a seeded subset.
    cache_dir : where computed log-mel patches are kept.
    init_from : start from these weights (a checkpoint path or a shipped model name) instead of a
        random initialisation, with the recipe's fresh learning-rate schedule: a second stage that
        continues a finished run. The checkpoint's model must have the recipe's shapes; training-only
        fields (beta, label_dropout, ...) come from the recipe.
    """

    root: str = "data/notes"
    audio_dir: str = ""
    families: tuple[str, ...] = ()
    velocities: tuple[int, ...] = ()
    pitch_step: int = 1
    max_train: int = 0
    max_eval: int = 1000
    cache_dir: str = "data/cache"
    seed: int = 0
    init_from: str = ""


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else REPO / p


class PatchSet(torch.utils.data.Dataset):
    """Normalised log-mel patches with pitch / family indices (a map dataset of dicts)."""

    def __init__(self, mel: torch.Tensor, pitch: torch.Tensor, family: torch.Tensor) -> None:
        self.mel, self.pitch, self.family = mel, pitch, family

    def __len__(self) -> int:
        return len(self.mel)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"mel": self.mel[i].float(), "pitch": self.pitch[i], "family": self.family[i]}


def note_patches(model: MelVAE, rows: list, root: Path, cache_dir: Path, what: str) -> PatchSet:
    """First-patch log-mels of manifest rows, through the model's front end (cached as float16)."""
    import soundfile

    from soundart.features import logmel
    from soundart.progress import progress

    cfg = model.config
    key = hashlib.sha1(json.dumps([cfg.features.to_dict(), cfg.frames, cfg.db_offset, cfg.db_scale,
                                   [r.file for r in rows]]).encode()).hexdigest()[:16]
    cache = cache_dir / f"melvae-{what}-{key}.pt"
    if cache.is_file():
        mel = torch.load(cache, weights_only=True)
    else:
        n_samples = (cfg.frames - 1) * cfg.features.hop_length
        chunks = []
        for start in progress(range(0, len(rows), 256), desc=f"log-mels ({what})", unit="batch", leave=False):
            batch = []
            for r in rows[start:start + 256]:
                data, sr = soundfile.read(str(root / r.file), dtype="float32", frames=n_samples * 2)
                audio = torch.from_numpy(data if data.ndim == 1 else data.mean(1))
                if sr != cfg.features.sr:
                    from soundart.io import resample

                    audio = resample(audio, sr, cfg.features.sr)
                audio = torch.nn.functional.pad(audio[:n_samples], (0, max(0, n_samples - len(audio))))
                batch.append(audio)
            chunks.append(model.normalize(logmel(torch.stack(batch), cfg.features))[..., : cfg.frames].half())
        mel = torch.cat(chunks)
        cache_dir.mkdir(parents=True, exist_ok=True)
        torch.save(mel, cache)
    pitch = torch.tensor([model.pitch_index(r.pitch) if cfg.condition != "none" else 0 for r in rows])
    fams = cfg.families
    family = torch.tensor([fams.index(r.family) if r.family in fams else len(fams) for r in rows])
    return PatchSet(mel, pitch, family)


def folder_patches(model: MelVAE, folder: Path) -> PatchSet:
    """Every patch of every audio file under ``folder`` (labels unknown)."""
    from soundart.io import is_audio_file, load_audio

    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_audio_file(p))
    if not files:
        raise BadInputError(f"{folder}: no audio files to train on")
    mels = []
    for f in files:
        audio, _ = load_audio(f, sr=model.config.features.sr)
        try:
            mels.append(model.patches(audio[0]).half())
        except BadInputError:
            continue  # a silent file adds nothing
    mel = torch.cat(mels)
    n = len(mel)
    return PatchSet(mel, torch.full((n,), model.unknown_pitch), torch.full((n,), model.unknown_family))


def _subset(rows: list, n: int, seed: int) -> list:
    if n <= 0 or len(rows) <= n:
        return rows
    g = torch.Generator().manual_seed(seed)
    keep = sorted(torch.randperm(len(rows), generator=g)[:n].tolist())
    return [rows[i] for i in keep]


# the sampling mixture is fitted after training, so it is not copied (its shape follows the recipe's
# prior_mixture settings) and a start without one is complete
WARM_START = WarmStartRules(same=((("features",), "log-mel front end"),), skip=("mix_",),
                            fit_hint="channels, latent, condition, families and learned_prior must match")


def _init_from(model: MelVAE, spec: str) -> WarmStart:
    """Copy the weights (and the step counter, so the KL warm-up is not repeated) of ``spec`` into
    ``model``; ConfigError when the shapes or feature front end differ."""
    return warm_start(model, spec, WARM_START)


def prepare(data: MelVAEData, model_cfg: MelVAEConfig) -> Prepared:
    from soundart.audio.notes import family_names, read_manifest

    if model_cfg.condition == "pitch_family" and not model_cfg.families:
        model_cfg.families = tuple(family_names())
    model = MelVAE(model_cfg)
    started = _init_from(model, data.init_from) if data.init_from else None
    cache_dir = _resolve(data.cache_dir)
    sets, val, described = [], None, []
    if data.root:
        root = _resolve(data.root)
        rows = read_manifest(root)
        rows = [r for r in rows
                if model_cfg.pitch_min <= r.pitch <= model_cfg.pitch_max
                and (r.pitch - model_cfg.pitch_min) % data.pitch_step == 0
                and (not data.families or r.family in data.families)
                and (not data.velocities or r.velocity in data.velocities)]
        train_rows = _subset([r for r in rows if r.split == "train"], data.max_train, data.seed)
        valid_rows = _subset([r for r in rows if r.split == "valid"], data.max_eval, data.seed)
        if not train_rows:
            raise ConfigError(f"{root}: no training notes match the recipe's data filters")
        sets.append(note_patches(model, train_rows, root, cache_dir, "train"))
        if valid_rows:
            val = note_patches(model, valid_rows, root, cache_dir, "valid")
        programs = sorted({r.program for r in train_rows})
        described.append(f"notes dataset ({root.name}: {len(train_rows)} train notes from {len(programs)} GM "
                         f"programs rendered with FluidR3_GM, pitches {model_cfg.pitch_min}-"
                         f"{model_cfg.pitch_max}; valid/test programs held out)")
    if data.audio_dir:
        folder = _resolve(data.audio_dir)
        if not folder.is_dir():
            raise BadInputError(f"{folder}: no such audio folder")
        sets.append(folder_patches(model, folder))
        described.append(f"audio folder {folder.name} ({len(sets[-1])} patches)")
    if not sets:
        raise ConfigError("melvae recipe: give data.root (notes dataset) or data.audio_dir")
    train = sets[0] if len(sets) == 1 else PatchSet(*(torch.cat([getattr(s, k) for s in sets])
                                                       for k in ("mel", "pitch", "family")))
    return Prepared(model=model, train_data=train, val_data=val, data_description="; ".join(described),
                    started=started)


def pca_l1(train: torch.Tensor, test: torch.Tensor, k: int) -> float:
    """Mean |x - x_hat| of ``test`` rebuilt from the top-``k`` principal components of ``train``.

    ``train``, ``test``: (N, D) float32. Returns the mean absolute error per element.
    """
    mean = train.mean(0, keepdim=True)
    _, _, V = torch.svd_lowrank(train - mean, q=k + 10, niter=4)
    V = V[:, :k]
    rebuilt = (test - mean) @ V @ V.T + mean
    return float((rebuilt - test).abs().mean())


@torch.no_grad()
def reconstruction_l1(model: MelVAE, data: PatchSet, batch: int = 128, refine_steps: int | None = None) -> float:
    """Mean L1 (model units) of the model's reconstructions (``forward``: the posterior mean refined by
    ``refine_steps``, None: the model's), labels given."""
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(data), batch):
        x = data.mel[i:i + batch].float().to(device)
        p = data.pitch[i:i + batch].to(device) if model.config.condition != "none" else None
        f = data.family[i:i + batch].to(device) if model.config.condition == "pitch_family" else None
        x_hat, _, _ = model(x, p, f, refine_steps=refine_steps)
        total += float((x_hat - x).abs().sum())
        count += x.numel()
    return total / count


@torch.no_grad()
def posterior_means(model: MelVAE, data: PatchSet, batch: int = 256) -> torch.Tensor:
    """Posterior means ``(N, latent)`` of ``data`` encoded with its labels."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(data), batch):
        p = data.pitch[i:i + batch].to(device) if model.config.condition != "none" else None
        f = data.family[i:i + batch].to(device) if model.config.condition == "pitch_family" else None
        out.append(model.encode(data.mel[i:i + batch].float().to(device), p, f)[0])
    return torch.cat(out)


def fit_sampling_prior(model: MelVAE, train: PatchSet, seed: int = 0) -> int:
    """Fit the model's per-family sampling mixture on the training notes that carry a family label;
    returns how many notes it was fitted on (0 when the model has no mixture)."""
    if not model.config.prior_mixture:
        return 0
    labelled = train.family < model.unknown_family
    subset = PatchSet(train.mel[labelled], train.pitch[labelled], train.family[labelled])
    mu = posterior_means(model, subset)
    device = mu.device
    model.fit_prior_mixture(mu, subset.pitch.to(device), subset.family.to(device), seed=seed)
    return len(subset)


def evaluate(model: MelVAE, data: MelVAEData, prepared: Prepared) -> dict[str, Any]:
    """After training: fit the sampling mixture (``prior_mixture``; part of the saved model, which
    the recipe writes after this), then measure held-out (test-program) reconstruction L1 in dB
    next to PCA with the same latent size."""
    from soundart.audio.notes import read_manifest

    fitted = fit_sampling_prior(model, prepared.train_data, data.seed)
    if not data.root:
        return {"prior_mixture_notes": fitted} if fitted else {}
    root = _resolve(data.root)
    cfg = model.config
    rows = [r for r in read_manifest(root) if r.split == "test" and cfg.pitch_min <= r.pitch <= cfg.pitch_max
            and (not data.families or r.family in data.families)]
    rows = _subset(rows, data.max_eval, data.seed)
    if not rows:
        return {"prior_mixture_notes": fitted} if fitted else {}
    test = note_patches(model, rows, root, _resolve(data.cache_dir), "test")
    vae = reconstruction_l1(model, test) * cfg.db_scale
    train = prepared.train_data.mel
    train = train[_subset(list(range(len(train))), 4000, data.seed)].float().flatten(1)
    pca = pca_l1(train, test.mel.float().flatten(1), cfg.latent) * cfg.db_scale
    metrics = {"test_notes": len(rows), "recon_l1_db": round(vae, 3), "pca_l1_db": round(pca, 3),
               "l1_ratio_vs_pca": round(vae / pca, 3)}
    return {**metrics, "prior_mixture_notes": fitted} if fitted else metrics


TASK = Task(name="melvae", model_config_class=MelVAEConfig, data_config_class=MelVAEData,
            prepare=prepare, evaluate=evaluate)

__all__ = ["TASK", "MelVAEData", "PatchSet", "prepare", "evaluate", "pca_l1", "reconstruction_l1",
           "note_patches", "posterior_means", "fit_sampling_prior", "asdict", "math"]
