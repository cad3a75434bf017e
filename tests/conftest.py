"""Fixtures and helpers shared by the whole suite: seeded rng, synthetic tones and audio files, a tiny
MIDI file, tiny models, a batch-consistency check, shared data paths."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SOUNDART_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# Keep the suite inside its time budget on 2 cores and avoid oversubscription.
try:
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
except ImportError:  # pragma: no cover - torch is a hard dependency
    pass


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def tone(freq: float = 440.0, seconds: float = 1.0, sr: int = 22050, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def tone_wav(tmp_path: Path) -> Path:
    import soundfile as sf

    path = tmp_path / "tone.wav"
    sf.write(path, tone(), 22050)
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


# ---- a tiny MIDI file ----------------------------------------------------------------------------------
TINY_MIDI_NOTES = [(60, 90, 0.0, 0.5), (64, 70, 0.5, 1.0)]  # (pitch, velocity, start s, end s), piano


def tiny_pretty_midi():
    """Two piano notes at 100 bpm (``TINY_MIDI_NOTES``), as a ``pretty_midi.PrettyMIDI``."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for p, v, s, e in TINY_MIDI_NOTES]
    pm.instruments.append(piano)
    return pm


@pytest.fixture
def tiny_midi(tmp_path: Path) -> Path:
    """``tiny_pretty_midi()`` written with pretty_midi to ``tmp_path/tiny.mid`` and read back (checked)."""
    import pretty_midi

    path = tmp_path / "tiny.mid"
    tiny_pretty_midi().write(str(path))
    back = pretty_midi.PrettyMIDI(str(path)).instruments[0].notes
    assert [(n.pitch, n.velocity) for n in back] == [(p, v) for p, v, _, _ in TINY_MIDI_NOTES], back
    return path


# ---- tiny models ---------------------------------------------------------------------------------------
def tiny_wavenet(seed: int = 0, local: bool = False, **kw: Any):
    """A debug-size note generator (or with ``local`` a mel vocoder), seeded, in eval mode, with weights drawn
    from N(0, 0.3): larger than the default init, so outputs depend visibly on inputs and sampling spreads over
    many classes."""
    import torch

    from soundart.audio.wavenet_notes import WaveNetNotesConfig
    from soundart.audio.wavenet_task import build
    from soundart.audio.wavenet_vocoder import WaveNetVocoderConfig

    torch.manual_seed(seed)
    model = build((WaveNetVocoderConfig if local else WaveNetNotesConfig).debug(**kw))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model.eval()


# ---- batch consistency ---------------------------------------------------------------------------------
def assert_batch_consistency(fn: Callable[..., Any], batch: Any, *, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``fn`` on a batch equals ``fn`` on each item alone: ``fn(*batch)[i] == fn(*items_i)[0]`` within
    ``atol`` + ``rtol`` * |batch output| (``torch.testing.assert_close``).

    batch : a tensor ``(B, ...)`` or a tuple of tensors that share their first dimension (fn's arguments).
    fn : returns a tensor ``(B, ...)``.
    """
    import torch

    args = batch if isinstance(batch, tuple) else (batch,)
    full = fn(*args)
    for i in range(args[0].shape[0]):
        one = fn(*(a[i:i + 1] for a in args))
        assert one.shape[0] == 1, one.shape
        torch.testing.assert_close(one[0], full[i], atol=atol, rtol=rtol, msg=lambda m, i=i: f"item {i}: {m}")
