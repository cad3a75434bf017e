"""Sampling from any autoregressive token model: temperature, top-k, top-p, primers, constraints.

A model is driven through a *stepper*: ``init_state(batch_size)`` and
``step(tokens (B,) int array, state) -> (logits (B, V) float array, state)``.
:func:`stepper` wraps any token ``nn.Module`` with ``init_state``/``step``
(the LSTM, the Music Transformer); :class:`~soundart.music.rnn_np.NumpyLSTM` runs a shipped LSTM with
NumPy only, so sketching need not import torch. Draws use a NumPy generator,
so a seed gives the same sketch on either path.

The event grammar (:mod:`soundart.music.grammar`) masks every token that would
make an invalid sequence, so every sampled sequence decodes to valid MIDI (no
dangling notes: each note carries its duration).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import ConfigError, ModelError
from soundart.music.grammar import EventGrammar, KnownBar
from soundart.music.rnn_np import NumpyLSTM
from soundart.music.tokens import Codec, key_profile


def filter_logits(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> np.ndarray:
    """Probabilities ``(B, V)`` from logits ``(B, V)`` after temperature, top-k and top-p (nucleus).

    ``-inf`` logits (masked tokens) keep probability 0. ``temperature`` must be > 0,
    ``top_k`` >= 1, ``top_p`` in (0, 1].
    """
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top-k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"top-p must be in (0, 1], got {top_p}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1:
        order = np.argsort(-p, axis=-1)
        sorted_p = np.take_along_axis(p, order, axis=-1)
        keep_sorted = np.cumsum(sorted_p, axis=-1) - sorted_p < top_p  # always keeps the top token
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=-1, keepdims=True)
    return p


def relative_key(key: int) -> int:
    """The key with the same scale and the other mode: D minor (14) <-> F major (5)."""
    return (key + 3) % 12 if key >= 12 else (key + 9) % 12 + 12


def key_pitch_bias(key: int) -> np.ndarray:
    """Log-odds ``(128,)`` that lean pitches toward a key and away from its relative key: the log
    ratio of the two keys' Krumhansl-Kessler profiles (:func:`key_profile`),
    zero mean over pitch classes.

    Why the ratio: the in-key constraint already keeps the scale, and the key token alone lets the
    model drift to the relative key on the same scale ("D minor" written as F major). The ratio
    weights exactly the degrees that tell the two apart (D, A and C# against F and C) and is near zero
    elsewhere, so it costs less pitch variety than leaning on the full profile: 100 "D minor"
    sketches, Krumhansl-Schmuckler agreement 94% at pitch-class entropy 2.61 bits, against 93% at
    2.42 bits with the profile (unsteered: 31% at 2.70).
    """
    log_ratio = np.log(key_profile(key)) - np.log(key_profile(relative_key(key)))
    return np.tile(log_ratio - log_ratio.mean(), 11)[:128]


# how much harder a free chord leans toward the key than a pitch does: 10 sketches in asked keys per
# pitched style (the LSTM, seeds 0-9) read as the asked key in 1-7 / 10 with no chord lean, 5-7 at 1,
# 6-9 at 2, 8-9 at 3 (benchmarks/bench_sketch.py's key control)
CHORD_KEY_WEIGHT = 3.0


# how hard pitched notes lean toward the tones of an asked chord (log-odds per chord tone, times the key
# strength or 1): bars holding the chord's root and third, LSTM, 24 sketches of 8 bars: pop 0.79 -> 0.83,
# chorale 0.72 -> 0.88 (benchmarks/bench_sketch.py's chord control)
CHORD_TONE_WEIGHT = 1.0


def key_chord_bias(key: int, chord_names: Sequence[str]) -> np.ndarray:
    """Log-odds ``(len(chord_names),)`` that lean a free chord choice toward the key: the mean log
    Krumhansl-Kessler weight of each chord's tones (so the tonic triad leads, then the dominant and
    subdominant), centred over the chords; "N" gets 0.

    Why: the scale alone lets a sketch settle on its dominant's chords and read as that key ("C major"
    sketches estimated as G major)."""
    from soundart.music.chords import chord_from_token

    log_profile = np.log(key_profile(key))
    out = np.zeros(len(chord_names))
    for i, name in enumerate(chord_names):
        chord = chord_from_token(name)
        if chord is not None:
            out[i] = np.mean([log_profile[pc] for pc in chord.pitch_classes])
    sounding = np.array([name != "N" for name in chord_names])
    out[sounding] -= out[sounding].mean()
    return out


def lean_pitches(logits: np.ndarray, bias: np.ndarray, strength: float) -> np.ndarray:
    """Add ``strength * bias`` to the finite logits of a pitch slice ``(128,)`` and shift the slice
    so its total probability is unchanged: which pitch is chosen changes, not how many notes."""
    finite = np.isfinite(logits)
    if strength == 0 or not finite.any():
        return logits
    leaned = logits + strength * bias
    shift = np.logaddexp.reduce(logits[finite]) - np.logaddexp.reduce(leaned[finite])
    return leaned + shift


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row of ``probs (B, V)`` (inverse-CDF sampling; deterministic given ``rng``)."""
    c = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[0]) * c[:, -1]
    return np.minimum((c < u[:, None]).sum(axis=-1), probs.shape[-1] - 1)


# ---- steppers -------------------------------------------------------------------------------------
class TorchStepper:
    """Drive a torch token model (``init_state`` / ``step``) with NumPy in and out."""

    def __init__(self, model: Any, device: Any = "cpu") -> None:
        self.model, self.device = model, device
        self.vocab_size = model.config.vocab_size

    def init_state(self, batch_size: int) -> Any:
        return self.model.init_state(batch_size, self.device)

    def step(self, tokens: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        import torch

        with torch.no_grad():
            logits, state = self.model.step(torch.as_tensor(np.asarray(tokens), dtype=torch.long,
                                                            device=self.device), state)
        return logits.float().cpu().numpy(), state


def stepper(model: Any, device: Any = "cpu") -> Any:
    """A stepper for ``model``: NumpyLSTM as is, or a torch module wrapped in TorchStepper."""
    return model if isinstance(model, NumpyLSTM) else TorchStepper(model, device)


def read_codec_config(document: dict[str, Any]) -> Any:
    """The event codec of a checkpoint document (its ``config``), or a ModelError for frame models."""
    from soundart.checkpoint import config_from_dict
    from soundart.music.tokens import CodecConfig

    cfg = document.get("config", {})
    if cfg.get("codec", "events") != "events":
        raise ModelError(f"model of kind {document.get('kind')!r} is trained on piano-roll frames "
                         "(a benchmark model); sketching needs an event-token model")
    return Codec(config_from_dict(CodecConfig, cfg.get("codec_config", {}), "codec_config"))


# ---- generation ---------------------------------------------------------------------------------------
@dataclass
class Generated:
    tokens: list[int]      # the whole sequence: prompt + new tokens (without the final BAR/EOS)
    prompt_len: int
    score: float = 0.0     # summed log-probability of the tokens of scored known bars (KnownBar.scored)


def generate(step_model: Any, codec: Codec, prompts: Sequence[Sequence[int]], bars: int, *,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, programs: Sequence[int] | Sequence[Sequence[int] | None] | None = None,
             in_key: bool = False, key_strength: float = 0.0, chords: Sequence[Sequence[Any] | None] | None = None,
             bass_part: int | None = None, known: Sequence[Sequence[KnownBar | None] | None] | None = None,
             progress: Any = None) -> list[Generated]:
    """Continue each prompt (header [+ primer bars + BAR]) until ``bars`` more bars are complete.

    Parameters
    ----------
    step_model : a stepper (see :func:`stepper`).
    prompts : token ids per sequence; all are fed through the model, state carried (no recomputation).
    bars : bars to generate after the prompt (the prompt's BAR tokens are counted separately).
    programs : allowed GM programs (None = any, 128 = drums) or, for a band codec, part indices; one
        list for every row, or a list per row.
    in_key : keep pitched notes in the scale of each prompt's KEY token.
    key_strength : lean pitched notes toward each prompt's KEY and away from its relative key
        (:func:`key_pitch_bias` times this; 0 = the model's own choice).
    chords : per row, the chord of each generated bar (``music.chords.Chord``, None = no chord,
        "free" = the model's choice) for codecs with chord tokens; None = the model chooses.
    bass_part : the part (program value) whose lowest note on beat 1 plays each chord's bass.
    known : per row, a :class:`KnownBar` (or None: free) per generated bar: notes the bar must hold as
        given, and the parts free to add notes to (accompaniment, infilling).

    Every sequence is complete on return: the grammar caps the tokens of one bar, so the loop's
    budget (that cap, plus the bar's end, per bar) always suffices.
    """
    from threadpoolctl import threadpool_limits

    # one BLAS thread: a sampling step multiplies tiny matrices, where threads only add hand-offs, and
    # on a busy machine their spinning made one Transformer window 15x slower (973 ms vs 63 ms)
    with threadpool_limits(limits=1, user_api="blas"):
        return _generate(step_model, codec, prompts, bars, temperature=temperature, top_k=top_k, top_p=top_p,
                         seed=seed, programs=programs, in_key=in_key, key_strength=key_strength, chords=chords,
                         bass_part=bass_part, known=known, progress=progress)


def _generate(step_model: Any, codec: Codec, prompts: Sequence[Sequence[int]], bars: int, *,
              temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
              seed: int | None = None, programs: Sequence[int] | Sequence[Sequence[int] | None] | None = None,
              in_key: bool = False, key_strength: float = 0.0, chords: Sequence[Sequence[Any] | None] | None = None,
              bass_part: int | None = None, known: Sequence[Sequence[KnownBar | None] | None] | None = None,
              progress: Any = None) -> list[Generated]:
    if bars < 1:
        raise ConfigError(f"bars must be >= 1, got {bars}")
    if key_strength < 0:
        raise ConfigError(f"key strength must be >= 0, got {key_strength}")
    rng = np.random.default_rng(seed)
    B = len(prompts)
    per_row = programs is not None and len(programs) > 0 and not isinstance(programs[0], (int, np.integer))
    row_programs = list(programs) if per_row else [programs] * B
    row_chords = list(chords) if chords is not None else [None] * B
    row_known = list(known) if known is not None else [None] * B
    grammars, biases, chord_biases = [], [], []
    for p, progs, bar_chords, bars_known in zip(prompts, row_programs, row_chords, row_known):
        prompt_bars = sum(1 for t in p if t == codec.bar)
        keys = [codec.kind(t)[1] for t in p if codec.kind(t)[0] == "KEY"]
        g = EventGrammar(codec, bars + max(0, prompt_bars - 1) if prompt_bars else bars, progs,
                         key=keys[0] if in_key and keys else None, chords=bar_chords, bass_part=bass_part,
                         known=bars_known)
        g.prompt_bars = max(0, prompt_bars - 1)
        grammars.append(g)
        biases.append(key_pitch_bias(keys[0]) if key_strength > 0 and keys else None)
        chord_biases.append(key_chord_bias(keys[0], codec.chord_names) if key_strength > 0 and keys
                            and codec.chord0 >= 0 else None)
    pitches = slice(codec.pitch0, codec.pitch0 + 128)
    forced_chords = [c is not None for c in row_chords]
    chords = slice(codec.chord0, codec.chord0 + len(codec.chord_names)) if codec.chord0 >= 0 else slice(0, 0)
    # feed prompts (right-aligned would mix states; feed token by token with per-row padding by repeat)
    state = step_model.init_state(B)
    seqs = [list(p) for p in prompts]
    L = max(len(p) for p in prompts)
    if any(len(p) != L for p in prompts):
        raise ConfigError("all prompts in one batch must have the same length")
    logits = None
    for t in range(L):
        tok = np.array([p[t] for p in prompts])
        logits, state = step_model.step(tok, state)
        for g, x in zip(grammars, tok):
            g.feed(int(x))
    done = np.array([g.done for g in grammars])
    budget = max((g.bars + 1) * (g.max_bar_tokens + 1) + sum(b.n_tokens for b in g.known if b is not None)
                 for g in grammars)
    scores = np.zeros(B)
    for _ in range(budget):
        if done.all():
            break
        masks = np.stack([g.allowed() for g in grammars])
        z = np.where(masks, logits, -np.inf)
        for i, (g, bias, chord_bias) in enumerate(zip(grammars, biases, chord_biases)):
            if bias is not None and not done[i] and g.wants_pitched_note():
                z[i, pitches] = lean_pitches(z[i, pitches], bias, key_strength)
            if forced_chords[i] and not done[i] and g.wants_pitched_note() and g.bar_chord_lean is not None:
                strength = CHORD_TONE_WEIGHT * max(key_strength, 1.0)
                z[i, pitches] = lean_pitches(z[i, pitches], g.bar_chord_lean, strength)
            if chord_bias is not None and not done[i] and g.state == "chord":
                z[i, chords] = z[i, chords] + CHORD_KEY_WEIGHT * key_strength * chord_bias
        probs = filter_logits(z, temperature, top_k, top_p)
        nxt = draw(probs, rng)
        for i, g in enumerate(grammars):
            if done[i]:
                continue
            if g.scoring:
                row = np.asarray(logits[i], dtype=np.float64)
                scores[i] += row[nxt[i]] - np.logaddexp.reduce(row)
            g.feed(int(nxt[i]))
            if g.done:
                done[i] = True
                if progress is not None:  # the token that ends a row ends its last bar
                    progress.update(1)
            else:
                seqs[i].append(int(nxt[i]))
                if progress is not None and int(nxt[i]) == codec.bar:
                    progress.update(1)
        logits, state = step_model.step(nxt, state)
    if not done.all():
        raise RuntimeError(f"internal: sketch not finished after {budget} tokens (the grammar should end it)")
    return [Generated(s, len(p), float(score)) for s, p, score in zip(seqs, prompts, scores)]


def load_stepper(spec: str, device: str = "auto") -> tuple[Any, dict[str, Any], str]:
    """Resolve ``--model`` (a shipped name or a checkpoint path) to (stepper, document, path).

    With ``device="auto"`` a ``music-rnn`` checkpoint runs on NumPy (no torch import); "cpu" / "cuda"
    (and any other kind of model) load it with torch on that device.
    """
    from soundart.checkpoint import read_document
    from soundart.models import DEFAULT_MODELS, shipped_path

    if spec in DEFAULT_MODELS:
        path = shipped_path(spec)
    else:
        p = Path(spec)
        if p.suffix in (".safetensors", ".json"):
            p = p.with_suffix("")
        if not (p.with_name(p.name + ".json").exists() or p.with_name(p.name + ".safetensors").exists()):
            known = ", ".join(sorted(DEFAULT_MODELS)) or "none yet"
            raise ModelError(f"model {spec!r} is neither a shipped model ({known}) nor a checkpoint path")
        path = p
    doc = read_document(path)
    if doc["kind"] == "music-rnn" and device == "auto":
        return NumpyLSTM.load(path), doc, str(path)
    if doc["kind"] == "music-transformer" and device != "cuda":
        from soundart.music.transformer_np import NumpyTransformer

        return NumpyTransformer.load(path), doc, str(path)
    from soundart.checkpoint import load
    from soundart.runtime import resolve_device

    dev = resolve_device(device)
    model = load(path, device=dev)
    if not hasattr(model, "step"):
        raise ModelError(f"{spec}: a {doc['kind']!r} model cannot generate tokens")
    return TorchStepper(model, dev), doc, str(path)


__all__ = ["filter_logits", "relative_key", "key_pitch_bias", "lean_pitches", "draw", "NumpyLSTM", "TorchStepper",
           "stepper", "generate", "load_stepper", "read_codec_config", "json"]
