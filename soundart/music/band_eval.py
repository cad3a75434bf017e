"""What a band model learnt, per style: its parts, meters and tempo (the table sketching reads from
the checkpoint) and its held-out negative log-likelihood per token and per note."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

import numpy as np

from soundart.music.tokens import Codec, Piece


def style_table(pieces: Sequence[tuple[str, Piece]], codec: Codec) -> dict[str, dict[str, Any]]:
    """Per style: parts present, meters (most common first), the meters of its pieces with drums
    (``drum_meters``), median tempo (bpm), number of pieces."""
    by_style: dict[str, list[Piece]] = collections.defaultdict(list)
    for _, p in pieces:
        by_style[p.style].append(p)
    parts = codec.config.parts
    table = {}
    for style in codec.config.styles:
        ps = by_style.get(style)
        if not ps:
            continue
        counts = collections.Counter(n.program for p in ps for n in p.notes)
        present = [parts[i] for i in range(len(parts)) if counts[i] >= 0.01 * sum(counts.values())]
        table[style] = {"parts": present, "meters": _common_meters(ps),
                        "tempo": round(float(np.median([p.tempo for p in ps])), 1), "pieces": len(ps)}
        drummed = [p for p in ps if any(n.program == codec.drum_program for n in p.notes)]
        if drummed:  # the drums of a style may come from other data in fewer meters (Groove: 4/4)
            table[style]["drum_meters"] = _common_meters(drummed)
    return table


def _common_meters(pieces: Sequence[Piece]) -> list[str]:
    """The meters of ``pieces``, most common first; a meter seen once is left out (unless it is the only one)."""
    meters = collections.Counter(p.meter for p in pieces)
    return [m for m, c in meters.most_common() if c >= 2 or len(meters) == 1]


def eval_windows(tokens: list[int], codec: Codec, max_len: int) -> list[list[int]]:
    """Consecutive, non-overlapping windows of whole bars, each opened by the piece's header, so
    every body token is scored exactly once (a bar longer than a window is cut)."""
    head, body = tokens[: Codec.HEADER_LEN], tokens[Codec.HEADER_LEN:]
    span = max_len - len(head)
    starts = [i for i, t in enumerate(body) if t == codec.bar] + [len(body)]
    out, begin = [], 0
    for a, b in zip(starts, starts[1:]):
        if b - begin > span and a > begin:
            out.append(head + body[begin:a])
            begin = a
    while begin < len(body):
        out.append(head + body[begin: begin + span])
        begin += span
    return out


def style_nll(model: Any, codec: Codec, pieces: Sequence[tuple[str, Piece]], max_len: int,
              batch_size: int = 16) -> dict[str, dict[str, float]]:
    """Held-out NLL (nats) per style: per body token and per note, from ``model(tokens) -> logits``.

    The header's tokens are given, not scored; every other token (bars, chords, positions, parts,
    pitches, velocities, durations, EOS) is, once.
    """
    import torch
    import torch.nn.functional as F

    from soundart.music.corpora import collate_tokens

    device = next(model.parameters()).device
    sums: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0, 0])
    model.eval()
    for style in sorted({p.style for _, p in pieces}):
        windows = []
        for _, p in pieces:
            if p.style == style:
                windows += eval_windows(codec.encode(p), codec, max_len)
                sums[style][2] += len(p.notes)
        for i in range(0, len(windows), batch_size):
            batch = collate_tokens([torch.tensor(w) for w in windows[i: i + batch_size]])
            x, scored = batch["tokens"], batch["mask"].clone()
            scored[:, : Codec.HEADER_LEN] = False  # the header is given, not scored
            with torch.no_grad():
                logits = model(x.to(device)).float()[:, :-1]
            nll = F.cross_entropy(logits.transpose(1, 2), x[:, 1:].to(device), reduction="none")
            mask = scored[:, 1:].to(device)
            sums[style][0] += float((nll * mask).sum())
            sums[style][1] += int(mask.sum())
    return {s: {"nll_per_token": round(v[0] / max(v[1], 1), 4), "nll_per_note": round(v[0] / max(v[2], 1), 4),
                "tokens": v[1], "notes": v[2]} for s, v in sums.items()}
