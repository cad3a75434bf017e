"""Training WaveNets on the notes dataset: the ``wavenet-notes`` and ``wavenet-vocoder`` recipe tasks.

``wavenet-notes`` trains a family + pitch conditioned sample generator (:mod:`soundart.audio.wavenet_notes`);
``wavenet-vocoder`` trains a mel vocoder (:mod:`soundart.audio.wavenet_vocoder`: local conditioning on the
log-mel of the same note, made by the shared pipeline with the model's FeatureConfig). Recipes of the old
``wavenet`` task (one config for both, ``data.mode`` said which) still load (:func:`split_old_recipe`).
Items are random crops of ``segment`` samples (half of them from the note's
onset, where the attack is); splits follow the dataset's (held-out programs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundart.audio.wavenet import WaveNet
from soundart.audio.wavenet_notes import WaveNetNotes, WaveNetNotesConfig
from soundart.audio.wavenet_old_config import split_old_config
from soundart.audio.wavenet_vocoder import WaveNetVocoder, WaveNetVocoderConfig
from soundart.audio.wavenet_warm_start import WARM_START
from soundart.errors import ConfigError
from soundart.train.recipe import Prepared, Task
from soundart.train.warm_start import warm_start


@dataclass
class WaveNetDataConfig:
    """Where the notes are and how they are cut.

    root : notes dataset folder (``data/make_notes.py``); relative to the working directory.
    segment : samples per training crop (a multiple of the mel hop for a vocoder).
    onset_fraction : share of crops that start at the note's onset.
    peak_normalize : generator only: scale every note so its peak is this (0: as rendered). Why: the
        notes come at velocities 40/80/120, peaks 0.04 to 0.7, and a generator that is not told the
        velocity picks a level at the onset; from a quiet start it fell to near silence.
    crop_seconds : random crops lie within the note's first ``crop_seconds`` (0: anywhere). Why:
        the notes are held 3 s and then fade to silence, and a generator trained on silent tails
        can fall into one mid-note.
    max_items : cap on training notes (0: all), drawn deterministically.
    eval_items : held-out (test split) notes measured by ``evaluate``.
    eval_seconds : seconds of each held-out note vocoded or scored.
    seed : crop and subset seed.
    init_from : start from these weights (a shipped model name or a checkpoint path), with the
        recipe's fresh schedule. Tensors of the same name and shape are copied; the output layer
        may differ (a mu-law vocoder's body starting a logistic-mixture one: both read the
        previous sample companded), and keeps its fresh initialisation. A start with fewer
        residual or skip channels (and otherwise the same shape) is widened so that the wider
        model computes exactly what it did (``widen_into``). Everything else must fit.
    """

    root: str = "data/notes"
    segment: int = 2048
    onset_fraction: float = 0.5
    peak_normalize: float = 0.0
    crop_seconds: float = 0.0
    max_items: int = 0
    eval_items: int = 16
    eval_seconds: float = 1.0
    seed: int = 0
    init_from: str = ""

    def __post_init__(self) -> None:
        if self.segment < 16:
            raise ConfigError(f"wavenet data.segment must be >= 16 (got {self.segment})")
        if not 0 <= self.peak_normalize <= 1 or self.crop_seconds < 0:
            raise ConfigError("wavenet data.peak_normalize must be in [0, 1] and data.crop_seconds >= 0 "
                              f"(got {self.peak_normalize}, {self.crop_seconds})")


class NoteCrops(torch.utils.data.Dataset):
    """Random crops of notes: ``{"audio": (segment,), "family": int, "pitch": int, "start": int}``.

    A vocoder's crop also carries the whole note (``"note"``) so the collate can
    compute the log-mel over the full note and cut the frames the crop covers. ``peak`` and
    ``crop_samples``: ``WaveNetDataConfig.peak_normalize`` and ``crop_seconds`` in samples.
    """

    def __init__(self, notes, segment: int, hop: int, onset_fraction: float, seed: int, whole: bool,
                 peak: float = 0.0, crop_samples: int = 0) -> None:
        self.notes, self.segment, self.hop = notes, segment, hop
        self.onset_fraction, self.seed, self.whole = onset_fraction, seed, whole
        self.peak, self.crop_samples = peak, crop_samples
        self.calls = 0

    def __len__(self) -> int:
        return len(self.notes)

    def __getitem__(self, i: int) -> dict[str, Any]:
        import soundfile

        row = self.notes.rows[i]
        rng = random.Random((self.seed, i, self.calls).__hash__())
        self.calls += 1
        path = self.notes.root / row.file
        n = soundfile.info(str(path)).frames
        if self.crop_samples:
            n = min(n, max(self.crop_samples, self.segment))
        start = 0
        if rng.random() >= self.onset_fraction and n > self.segment:
            start = rng.randrange(0, (n - self.segment) // self.hop + 1) * self.hop
        item = {"family": self.notes.family_names.index(row.family), "pitch": row.pitch, "start": start}
        if self.whole:
            note, _ = soundfile.read(str(path), dtype="float32")
            item["note"] = torch.from_numpy(np.ascontiguousarray(note))
            audio = note[start:start + self.segment]
        else:
            audio, _ = soundfile.read(str(path), start=start, stop=start + self.segment, dtype="float32")
        if len(audio) < self.segment:
            audio = np.pad(audio, (0, self.segment - len(audio)))
        item["audio"] = torch.from_numpy(np.ascontiguousarray(scaled_to_peak(audio, row, self.peak)))
        return item


def scaled_to_peak(audio: np.ndarray, row, peak: float) -> np.ndarray:
    """``audio`` cut from ``row``'s note, scaled so that the whole note peaks at ``peak`` (0: as rendered;
    ``WaveNetDataConfig.peak_normalize``)."""
    return audio * np.float32(peak / row.peak) if peak else audio


def make_collate(model_config: WaveNetNotesConfig | WaveNetVocoderConfig, segment: int):
    """Batch crops; a vocoder batch gets ``"mel"`` ``(B, n_mels, segment // hop + 1)`` in dB."""
    def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        from soundart.features import logmel

        batch = {"audio": torch.stack([it["audio"] for it in items])}
        if not model_config.local:
            for key, used in (("family", model_config.n_families > 0), ("pitch", model_config.pitch_conditioning),
                              ("start", model_config.note_clock)):
                if used:
                    batch[key] = torch.tensor([it[key] for it in items])
        else:
            hop = model_config.features.hop_length
            notes = torch.stack([it["note"] for it in items])
            mel = logmel(notes, model_config.features)  # (B, n_mels, frames of the whole note)
            n = segment // hop + 1
            mel = torch.nn.functional.pad(mel, (0, n), value=float(mel.min()))  # crops reaching the end
            batch["mel"] = torch.stack([mel[b, :, it["start"] // hop: it["start"] // hop + n]
                                        for b, it in enumerate(items)])
        return batch

    return collate


def _notes(data: WaveNetDataConfig, split: str):
    from soundart.audio.notes import NotesDataset

    ds = NotesDataset(Path(data.root), split=split)
    if split == "train" and data.max_items and len(ds) > data.max_items:
        rows = list(ds.rows)
        random.Random(data.seed).shuffle(rows)
        ds.rows = sorted(rows[:data.max_items], key=lambda r: r.file)
    return ds


@torch.no_grad()
def family_levels(notes, config: WaveNetNotesConfig, peak: float, per_family: int = 200, seed: int = 0) -> torch.Tensor:
    """Each family's median note level in dB per block after the onset, ``(n_families, level_blocks)``
    (``WaveNetNotesConfig.note_level``), from up to ``per_family`` of ``notes`` each (drawn with ``seed``),
    scaled to ``peak`` as in training; a family without notes gets the median over all of them."""
    import copy

    from soundart.audio.wavenet_notes import level_blocks_db

    hop, n_blocks = config.level_hop, config.level_blocks
    rows = list(notes.rows)
    random.Random(seed).shuffle(rows)
    levels: dict[int, torch.Tensor] = {}  # family -> (notes, blocks)
    for f, name in enumerate(notes.family_names):
        mine = copy.copy(notes)
        mine.rows = [r for r in rows if r.family == name][:per_family]
        if mine.rows:  # load_clips pads a short note with silence after its end
            levels[f] = level_blocks_db(load_clips(mine, n_blocks * hop / config.sample_rate, peak)[0], hop)
    if not levels:
        raise ConfigError("wavenet: note_level needs training notes to measure the families' levels")
    everyone = torch.cat(list(levels.values())).median(dim=0).values
    return torch.stack([levels[f].median(dim=0).values if f in levels else everyone
                        for f in range(config.n_families)]).float()


def build(config: WaveNetNotesConfig | WaveNetVocoderConfig) -> WaveNet:
    """The model ``config`` describes: a note generator or a mel vocoder."""
    for config_class, model_class in ((WaveNetVocoderConfig, WaveNetVocoder), (WaveNetNotesConfig, WaveNetNotes)):
        if isinstance(config, config_class):
            return model_class(config)
    raise ConfigError(f"wavenet: {type(config).__name__} is neither a note generator's nor a vocoder's config")


def prepare(data: WaveNetDataConfig, model_config: WaveNetNotesConfig | WaveNetVocoderConfig) -> Prepared:
    from soundart.audio.notes import family_names

    model = build(model_config)
    vocoder = model_config.local
    if vocoder and data.peak_normalize:
        raise ConfigError("wavenet data.peak_normalize is for a generator (a vocoder follows the mel's level)")
    if vocoder and data.segment % model_config.features.hop_length:
        raise ConfigError(f"wavenet: data.segment {data.segment} must be a multiple of the hop "
                          f"{model_config.features.hop_length}")
    if not vocoder and model_config.n_families not in (0, len(family_names())):
        raise ConfigError(f"wavenet: model.n_families must be {len(family_names())} for the notes dataset")
    started = warm_start(model, data.init_from, WARM_START) if data.init_from else None
    hop = model_config.features.hop_length
    cut = dict(peak=data.peak_normalize, crop_samples=int(round(data.crop_seconds * model_config.sample_rate)))
    train = NoteCrops(_notes(data, "train"), data.segment, hop, data.onset_fraction, data.seed, vocoder, **cut)
    valid = NoteCrops(_notes(data, "valid"), data.segment, hop, data.onset_fraction, data.seed + 1, vocoder, **cut)
    if not vocoder and model_config.note_level:
        model.family_level.copy_(family_levels(train.notes, model_config, data.peak_normalize, seed=data.seed))
    what = "log-mel -> audio vocoder" if vocoder else "family + pitch conditioned generator"
    description = (f"notes dataset ({data.root}): {len(train)} training notes of "
                   f"{len(set(r.program for r in train.notes.rows))} GM programs, 16 kHz, crops of "
                   f"{data.segment} samples; {what}; valid/test programs held out")
    return Prepared(model=model, train_data=train, val_data=valid, collate_fn=make_collate(model_config, data.segment),
                    data_description=description, started=started)


@torch.no_grad()
def evaluate(model: WaveNet, data: WaveNetDataConfig, prepared: Prepared) -> dict[str, Any]:
    """Held-out (test split, unseen programs) metrics.

    generator: NLL in bits per sample of the first ``eval_seconds`` of ``eval_items`` notes (scaled as in
    training, ``peak_normalize``); with pitch waves or the note level, both with the side inputs as trained
    (waves in step with each note, its own level) and as sampled (``..._as_sampled``: waves from phase 0,
    the family's median level).
    vocoder: log-mel L1 (dB) of WaveNet-vocoded audio vs 64-iteration Griffin-Lim from the same mel.
    """
    test = _notes(data, "test")
    rows = list(test.rows)
    random.Random(data.seed).shuffle(rows)
    test.rows = rows[:data.eval_items]
    if not model.config.local:
        result = {"test_nll_bits_per_sample": round(generator_nll(model, test, data.eval_seconds,
                                                                  peak=data.peak_normalize), 4),
                  "test_notes": len(test.rows)}
        if model.config.pitch_waves or model.config.note_level:  # the side inputs that sampling guesses
            result["test_nll_bits_per_sample_as_sampled"] = round(
                generator_nll(model, test, data.eval_seconds, as_sampled=True, peak=data.peak_normalize), 4)
        return result
    result = vocoder_l1(model, test, data.eval_seconds)
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}


def load_clips(notes, seconds: float, peak: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first ``seconds`` of every note: audio ``(N, samples)``, family ``(N,)``, pitch ``(N,)``;
    with ``peak``, every note scaled to that peak (``WaveNetDataConfig.peak_normalize``)."""
    import soundfile

    n = int(round(seconds * 16000))
    audio, fam, pitch = [], [], []
    for row in notes.rows:
        a = scaled_to_peak(soundfile.read(str(notes.root / row.file), stop=n, dtype="float32")[0], row, peak)
        audio.append(torch.from_numpy(np.pad(a, (0, n - len(a)))))
        fam.append(notes.family_names.index(row.family))
        pitch.append(row.pitch)
    return torch.stack(audio), torch.tensor(fam), torch.tensor(pitch)


@torch.no_grad()
def generator_nll(model: WaveNet, notes, seconds: float, as_sampled: bool = False, peak: float = 0.0) -> float:
    """Mean NLL (bits per sample) of the model on the notes' first ``seconds`` (``as_sampled``:
    see :meth:`WaveNet.loss`; ``peak``: see :func:`load_clips`)."""
    import math

    audio, fam, pitch = load_clips(notes, seconds, peak)
    device = next(model.parameters()).device
    total = 0.0
    for i in range(len(audio)):
        loss = model.loss(audio[i:i + 1].to(device), fam[i:i + 1].to(device), pitch[i:i + 1].to(device),
                          as_sampled=as_sampled)
        total += float(loss)
    return total / len(audio) / math.log(2)


def vocoder_l1(model: WaveNet, notes, seconds: float, seed: int = 0, beam: int | None = None) -> dict[str, float]:
    """Log-mel L1 (dB) against the original note: WaveNet-vocoded vs 64-iteration Griffin-Lim.

    The WaveNet runs its mel-guided beam search with ``beam`` paths (None: the vocoder's default,
    ``DEFAULT_VOCODER_BEAM``); with a beam above 1, plain sampling (beam 1) is measured beside it.
    Both go through :func:`vocode_in_groups`, as ``soundart vocode`` does (with its second pass
    for clips that saturate deeper sampling filters).
    Also the L1 of the original itself through 8-bit mu-law and back: the error an 8-bit
    mu-law output makes even when it samples the note exactly; with linear prediction, also
    the original's excitation through the model's codes and back through the all-pole filters
    (the same floor for that model).
    """
    from soundart.audio.wavenet_codes import mulaw_decode, mulaw_encode
    from soundart.audio.wavenet_vocoder import DEFAULT_VOCODER_BEAM, vocode_in_groups
    from soundart.features import logmel, logmel_to_audio

    beam = DEFAULT_VOCODER_BEAM if beam is None else beam
    cfg = model.config.features
    audio, _, _ = load_clips(notes, seconds)
    hop = cfg.hop_length
    n = (audio.shape[-1] // hop) * hop
    audio = audio[:, :n]
    mel = logmel(audio, cfg)  # (N, n_mels, n // hop + 1)

    def l1(y: torch.Tensor) -> float:
        return float((logmel(y, cfg) - mel).abs().mean())

    wn = vocode_in_groups(model, mel, n, seed=seed, beam=beam)
    gl = logmel_to_audio(mel, cfg, n_iter=64, length=n, generator=torch.Generator().manual_seed(seed))
    result = {"test_logmel_l1_wavenet_db": l1(wn), "beam": beam, "test_logmel_l1_griffinlim64_db": l1(gl),
              "test_logmel_l1_mulaw8_roundtrip_db": l1(mulaw_decode(mulaw_encode(audio))),
              "test_notes": int(audio.shape[0]), "seconds_per_note": n / cfg.sr}
    if beam > 1:
        result["test_logmel_l1_wavenet_plain_db"] = l1(vocode_in_groups(model, mel, n, seed=seed, beam=1))
    if model.config.lpc_order:
        floor = model.lpc_synthesize(model.lpc_codes(audio, mel), mel).float()
        result["test_logmel_l1_excitation_roundtrip_db"] = l1(floor)
    return result


def split_old_recipe(raw: dict[str, Any]) -> dict[str, Any]:
    """A recipe of the old ``wavenet`` task in today's terms: ``data.mode`` (generator or vocoder) becomes
    the task ``wavenet-notes`` or ``wavenet-vocoder``, and the model section that task's config
    (:func:`~soundart.audio.wavenet_old_config.split_old_config`, which drops ``local``)."""
    sections = {key: {} if raw.get(key) is None else raw[key] for key in ("data", "model")}
    for key, section in sections.items():
        if not isinstance(section, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(section).__name__}")
    data = dict(sections["data"])
    mode = data.pop("mode", "generator")
    if mode not in ("generator", "vocoder"):
        raise ConfigError(f"wavenet data.mode must be generator or vocoder (got {mode!r})")
    if (sections["model"].get("local", False) is True) != (mode == "vocoder"):
        raise ConfigError(f"wavenet: data.mode {mode} needs model.local: {'true' if mode == 'vocoder' else 'false'}")
    kind, model = split_old_config(sections["model"])
    return {**raw, "task": kind, "data": data, "model": model}


NOTES_TASK = Task(name="wavenet-notes", model_config_class=WaveNetNotesConfig, data_config_class=WaveNetDataConfig,
                  prepare=prepare, evaluate=evaluate)
VOCODER_TASK = Task(name="wavenet-vocoder", model_config_class=WaveNetVocoderConfig,
                    data_config_class=WaveNetDataConfig, prepare=prepare, evaluate=evaluate)
