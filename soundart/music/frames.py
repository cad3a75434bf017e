"""Piano-roll frames as tokens, for the polyphonic benchmarks (JSB Chorales, Nottingham .mat).

A frame (the set of the 88 keys sounding at one time step) is serialized as its
sounding keys in ascending order, then an end-of-frame token; a piece is
``BOS`` followed by its frames. Each frame has exactly one serialization, so a
token model's log-probability of a frame is the sum of its tokens'
log-probabilities, and the test NLL in nats per frame is exact
(``../shared/data/README.md``). At scoring time the grammar (keys rise within
a frame) is enforced by renormalizing over the tokens allowed at each step,
which keeps the model a proper distribution over frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundart.errors import BadInputError

N_KEYS = 88
LOWEST_PITCH = 21
SHARED_POLYPHONIC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "polyphonic"
BENCHMARKS = {"jsb": "JSB_Chorales.mat", "nottingham": "Nottingham.mat"}


class FrameCodec:
    """PAD=0, BOS=1, EOF=2 (end of frame), KEY_k = 3 + k for key k in 0..87 (MIDI pitch 21 + k)."""

    pad, bos, eof, key0 = 0, 1, 2, 3
    vocab_size = 3 + N_KEYS

    def encode(self, roll: np.ndarray) -> list[int]:
        """Tokens of a piano roll ``(T, 88)`` (nonzero = sounding): BOS, then per frame keys ascending + EOF."""
        roll = np.asarray(roll)
        if roll.ndim != 2 or roll.shape[1] != N_KEYS:
            raise BadInputError(f"a piano roll is (frames, {N_KEYS}), got shape {roll.shape}")
        out = [self.bos]
        for frame in roll:
            out += [self.key0 + int(k) for k in np.flatnonzero(frame)]
            out.append(self.eof)
        return out

    def decode(self, tokens: Sequence[int]) -> np.ndarray:
        """Piano roll ``(T, 88)`` float32 from tokens (a trailing unfinished frame is kept)."""
        frames, cur = [], np.zeros(N_KEYS, np.float32)
        dirty = False
        for t in tokens:
            t = int(t)
            if t == self.eof:
                frames.append(cur)
                cur, dirty = np.zeros(N_KEYS, np.float32), False
            elif t >= self.key0:
                cur[t - self.key0] = 1.0
                dirty = True
        if dirty:
            frames.append(cur)
        return np.stack(frames) if frames else np.zeros((0, N_KEYS), np.float32)


def resolve_benchmark(name_or_path: str | Path) -> Path:
    """``jsb`` / ``nottingham`` -> the shared .mat file; any other value is a path to a .mat file."""
    key = str(name_or_path).lower()
    p = SHARED_POLYPHONIC / BENCHMARKS[key] if key in BENCHMARKS else Path(name_or_path)
    if not p.is_file():
        raise BadInputError(f"{p}: no such benchmark file (use jsb, nottingham or a .mat path)")
    return p


def load_mat(name_or_path: str | Path) -> dict[str, list[np.ndarray]]:
    """Read a Boulanger-Lewandowski .mat file: ``{"train"|"valid"|"test": [roll (T, 88) uint8, ...]}``."""
    import scipy.io

    p = resolve_benchmark(name_or_path)
    try:
        mat = scipy.io.loadmat(str(p))
    except Exception as exc:  # scipy raises ValueError / MatReadError / TypeError on bad files
        raise BadInputError(f"{p}: not a readable .mat file ({' '.join(str(exc).split())[:120]})") from None
    out = {}
    for split in ("train", "valid", "test"):
        key = f"{split}data"
        if key not in mat:
            keys = ", ".join(k for k in mat if not k.startswith("__"))
            raise BadInputError(f"{p}: no {key!r} cell array (keys: {keys})")
        pieces = [np.asarray(x) for x in mat[key][0]]
        for x in pieces:
            if x.ndim != 2 or x.shape[1] != N_KEYS:
                raise BadInputError(f"{p}: {key} holds an array of shape {x.shape}, expected (T, {N_KEYS})")
        out[split] = [(x > 0).astype(np.uint8) for x in pieces]
    return out


def grammar_mask(tokens: Any) -> Any:
    """Which next tokens the frame grammar allows after each prefix.

    Parameters
    ----------
    tokens : LongTensor (B, T) of frame tokens (starting with BOS).

    Returns
    -------
    BoolTensor (B, T, V): ``mask[b, t, v]`` is True when token ``v`` may follow ``tokens[b, :t+1]``:
    EOF, or a key above the last key of the current frame.
    """
    import torch

    B, T = tokens.shape
    is_key = tokens >= FrameCodec.key0
    # last key value in the current frame: reset to -1 at BOS/EOF
    idx = torch.arange(T, device=tokens.device).expand(B, T)
    reset = torch.where(~is_key, idx, torch.full_like(idx, -1))
    last_reset = torch.cummax(reset, dim=1).values  # (B, T)
    last_key = torch.where(last_reset == idx, torch.full_like(tokens, -1), tokens - FrameCodec.key0)
    v = torch.arange(FrameCodec.vocab_size, device=tokens.device)
    allowed_key = (v[None, None, :] - FrameCodec.key0) > last_key[:, :, None]
    mask = allowed_key & (v >= FrameCodec.key0)
    mask[:, :, FrameCodec.eof] = True
    return mask


def score_pieces(model: Any, rolls: Sequence[np.ndarray], device: Any = "cpu", progress: bool = False,
                 max_tokens: int = 16384) -> dict[str, float]:
    """Test NLL of piano rolls under a frame-token model, in nats per frame.

    ``NLL = -sum_pieces sum_t log p(x_t | x_<t) / total_frames`` with each frame's
    log-probability the sum over its tokens (keys ascending + EOF), after
    renormalizing over the tokens the grammar allows. Pieces are scored whole
    (``model.score_tokens(tokens)`` is used when the model has one, e.g. for a
    limited context); batches are grouped by length to bound memory.

    Returns ``{"nll_per_frame", "frames", "pieces", "nll_per_token"}``.
    """
    import torch

    codec = FrameCodec()
    seqs = [codec.encode(r) for r in rolls]
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    total_nll, total_tokens = 0.0, 0
    frames = int(sum(len(r) for r in rolls))
    bar = None
    if progress:
        from soundart.progress import progress as progress_bar

        bar = progress_bar(total=len(seqs), desc="scoring", unit="piece")
    model.eval()
    i = 0
    with torch.no_grad():
        while i < len(order):
            longest = len(seqs[order[i]])
            j = i + 1
            while j < len(order) and (j - i + 1) * len(seqs[order[j]]) <= max_tokens:
                j += 1
            batch = [seqs[k] for k in order[i:j]]
            T = max(len(s) for s in batch)
            x = torch.zeros(len(batch), T, dtype=torch.long)
            for b, s in enumerate(batch):
                x[b, : len(s)] = torch.tensor(s)
            x = x.to(device)
            inp, target = x[:, :-1], x[:, 1:]
            logits = model.score_tokens(inp) if hasattr(model, "score_tokens") else model(inp)
            logits = logits.float().masked_fill(~grammar_mask(inp), -math.inf)
            logp = torch.log_softmax(logits, dim=-1).gather(-1, target[..., None])[..., 0]
            real = target != codec.pad
            total_nll -= float(logp[real].sum())
            total_tokens += int(real.sum())
            if bar is not None:
                bar.update(j - i)
            i = j
            del longest
    if bar is not None:
        bar.close()
    return {"nll_per_frame": total_nll / max(frames, 1), "frames": frames, "pieces": len(seqs),
            "nll_per_token": total_nll / max(total_tokens, 1)}
