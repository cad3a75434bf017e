"""What a band model learnt, per style: its parts, meters and tempo (the table sketching reads from
the checkpoint) and its held-out negative log-likelihood per token and per note; and the measures of
``soundart eval music`` (``frame_nll``) and ``soundart eval sketches`` (``sketch_statistics``)."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
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


@dataclass
class FrameNLL:
    """Test NLL of a frame-token model on a piano-roll benchmark (``soundart eval music``).

    nll_per_frame, nll_per_token : nats. pieces, frames : how much was scored.
    """

    model: str
    data: str
    split: str
    pieces: int
    frames: int
    nll_per_frame: float
    nll_per_token: float


def frame_nll(model: str, data: str = "jsb", split: str = "test", device: str = "auto",
              progress: bool = True) -> FrameNLL:
    """Exact NLL (nats per frame) of a frame-token ``model`` on a piano-roll benchmark.

    NLL = -sum over pieces and frames of log p(frame | past) / total frames, each frame scored as its
    sounding keys ascending + end-of-frame.

    Parameters
    ----------
    model : a checkpoint path (a model trained with ``codec: frames``).
    data : "jsb", "nottingham", or a path to a ``.mat`` file.
    split : "test", "valid" or "train". device : "auto", "cpu" or "cuda".

    Examples
    --------
    >>> from soundart.music.band_eval import frame_nll
    >>> frame_nll("runs/rnn-jsb/model", data="jsb").nll_per_frame  # doctest: +SKIP
    """
    from soundart.errors import ModelError
    from soundart.models import load_model
    from soundart.music.frames import load_mat, resolve_benchmark, score_pieces
    from soundart.runtime import resolve_device

    path = resolve_benchmark(data)
    dev = resolve_device(device)
    net = load_model(model, device=dev)
    if getattr(net.config, "codec", None) != "frames":
        raise ModelError(f"model {model}: not trained on piano-roll frames (codec "
                         f"{getattr(net.config, 'codec', '?')!r}); train one with a .mat recipe")
    res = score_pieces(net, load_mat(path)[split], device=dev, progress=progress)
    return FrameNLL(model=model, data=path.name, split=split, pieces=res["pieces"], frames=res["frames"],
                    nll_per_frame=round(res["nll_per_frame"], 4), nll_per_token=round(res["nll_per_token"], 4))


@dataclass
class SketchStatistics:
    """``rows``: one per metric, ``{"metric", "generated", "reference", "ratio"}`` (mean (sd) as text,
    ratio of the means); ``generated`` / ``reference`` pieces compared in ``bars``-bar excerpts;
    ``skipped``: files of the folder that could not be read, with why."""

    rows: list[dict[str, Any]]
    generated: int
    reference_pieces: int
    reference: str
    bars: int
    skipped: list[str] = field(default_factory=list)


def sketch_statistics(folder: str | Path, reference: str = "chorale", bars: int | None = None, limit: int = 400,
                      seed: int | None = None) -> SketchStatistics:
    """MusPy-style statistics of the MIDI files in ``folder`` next to a reference corpus.

    Metrics: pitch-class entropy, scale consistency, polyphony, empty-beat rate, groove consistency,
    pitch range (semitones), notes per bar; mean (sd) per side and their ratio.

    Parameters
    ----------
    folder : the generated MIDI files.
    reference : a music21 corpus style (chorale, folk, fiddle, ...) or a folder of MIDI files.
    bars : crop reference pieces to random excerpts of this many bars (default: the generated files'
        median length). limit : source files of a music21 style. seed : the excerpts' random seed.

    Examples
    --------
    >>> from soundart.music.band_eval import sketch_statistics
    >>> sketch_statistics("sketches/", reference="chorale", seed=0).rows  # doctest: +SKIP
    """
    from soundart.errors import BadInputError
    from soundart.music.corpora import MUSIC21_STYLES, midi_folder_pieces, music21_pieces
    from soundart.music.metrics import METRICS, crop_bars, summarize
    from soundart.music.tokens import CodecConfig

    cfg = CodecConfig()
    gen, problems = midi_folder_pieces(folder, "other", cfg)
    if not gen:
        raise BadInputError(f"folder {folder}: no readable MIDI files")
    if reference in MUSIC21_STYLES:
        ref = music21_pieces(reference, limit, cfg.steps_per_quarter)
    elif Path(reference).is_dir():
        ref, _ = midi_folder_pieces(reference, "other", cfg)
    else:
        raise BadInputError(f"reference={reference!r}: not a corpus style ({', '.join(MUSIC21_STYLES)}) nor a folder")
    lengths = [max(n.start for n in p.notes) // cfg.bar_steps(p.meter) + 1 for _, p in gen]
    bars = bars or int(np.median(lengths))
    rng = np.random.default_rng(seed)
    ref_pieces = []
    for _, p in ref:
        total = max(n.start for n in p.notes) // cfg.bar_steps(p.meter) + 1
        start = int(rng.integers(0, max(1, total - bars + 1)))
        ref_pieces.append(crop_bars(p, bars, cfg, start))
    g, r = summarize([p for _, p in gen], cfg), summarize(ref_pieces, cfg)
    rows = [{"metric": m, "generated": f"{g[m][0]:.3f} ({g[m][1]:.3f})", "reference": f"{r[m][0]:.3f} ({r[m][1]:.3f})",
             "ratio": round(g[m][0] / r[m][0], 3) if r[m][0] else None} for m in METRICS]
    return SketchStatistics(rows=rows, generated=len(gen), reference_pieces=len(ref_pieces), reference=reference,
                            bars=bars, skipped=list(problems))
