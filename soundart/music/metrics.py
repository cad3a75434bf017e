"""MusPy-style statistics of symbolic music, computed on the codec grid (a :class:`Piece`).

Every metric takes a Piece (notes in grid steps) and ignores drums for the
pitch metrics. Definitions (after Dong et al., MusPy, ISMIR 2020):

- ``pitch_class_entropy``: Shannon entropy (bits) of the note-count histogram over the 12 pitch classes.
- ``scale_consistency``: the largest fraction of notes that fit one major or (natural) minor scale.
- ``polyphony``: mean number of distinct pitches sounding per grid step, over steps where any sounds.
- ``empty_beat_rate``: fraction of beats (quarter notes up to the last note's end) where no note sounds.
- ``groove_consistency``: 1 - mean Hamming distance between the onset patterns of consecutive bars,
  divided by the bar length in steps.
- ``pitch_range``: highest minus lowest pitch (semitones); ``notes_per_bar``.
- ``empty_bar_rate``: fraction of bars (up to the last note's bar) in which no note starts.
- ``ioi_histogram``: the distribution of inter-onset intervals (grid steps between consecutive
  distinct onsets, 1..16, longer ones in the last bin); sets of pieces are compared by the total
  variation distance of their mean histograms (``histogram_distance``).

Band pieces (a codec with parts) go through :func:`band_as_gm` first, so drums are ``DRUMS``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soundart.music.tokens import DRUMS, CodecConfig, Piece

_MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_MINOR_SCALE = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)
METRICS = ("pitch_class_entropy", "scale_consistency", "polyphony", "empty_beat_rate",
           "groove_consistency", "pitch_range", "notes_per_bar", "empty_bar_rate")
IOI_BINS = 16


def _pitched(piece: Piece):
    return [n for n in piece.notes if n.program != DRUMS]


def pitch_class_entropy(piece: Piece) -> float:
    hist = np.bincount([n.pitch % 12 for n in _pitched(piece)], minlength=12).astype(float)
    if hist.sum() == 0:
        return float("nan")
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def scale_consistency(piece: Piece) -> float:
    pcs = np.bincount([n.pitch % 12 for n in _pitched(piece)], minlength=12)
    if pcs.sum() == 0:
        return float("nan")
    best = max(pcs[np.roll(scale, k)].sum() for scale in (_MAJOR_SCALE, _MINOR_SCALE) for k in range(12))
    return float(best / pcs.sum())


def _roll(piece: Piece, pitched_only: bool = True) -> np.ndarray:
    notes = _pitched(piece) if pitched_only else piece.notes
    end = max((n.start + n.duration for n in notes), default=0)
    roll = np.zeros((end, 128), bool)
    for n in notes:
        roll[n.start:n.start + n.duration, n.pitch] = True
    return roll


def polyphony(piece: Piece) -> float:
    counts = _roll(piece).sum(axis=1)
    counts = counts[counts > 0]
    return float(counts.mean()) if len(counts) else float("nan")


def empty_beat_rate(piece: Piece, config: CodecConfig | None = None) -> float:
    spq = (config or CodecConfig()).steps_per_quarter
    sounding = _roll(piece, pitched_only=False).any(axis=1)
    beats = int(np.ceil(len(sounding) / spq))
    if beats == 0:
        return float("nan")
    padded = np.zeros(beats * spq, bool)
    padded[: len(sounding)] = sounding
    return float((~padded.reshape(beats, spq).any(axis=1)).mean())


def groove_consistency(piece: Piece, config: CodecConfig | None = None) -> float:
    bar = (config or CodecConfig()).bar_steps(piece.meter)
    if not piece.notes:
        return float("nan")
    n_bars = max(n.start for n in piece.notes) // bar + 1
    onsets = np.zeros((n_bars, bar), bool)
    for n in piece.notes:
        onsets[n.start // bar, n.start % bar] = True
    if n_bars < 2:
        return float("nan")
    return float(1.0 - (onsets[1:] != onsets[:-1]).sum(axis=1).mean() / bar)


def pitch_range(piece: Piece) -> float:
    pitches = [n.pitch for n in _pitched(piece)]
    return float(max(pitches) - min(pitches)) if pitches else float("nan")


def notes_per_bar(piece: Piece, config: CodecConfig | None = None) -> float:
    bar = (config or CodecConfig()).bar_steps(piece.meter)
    if not piece.notes:
        return 0.0
    n_bars = max(n.start + n.duration for n in piece.notes) / bar
    return float(len(piece.notes) / max(n_bars, 1e-9))


def empty_bar_rate(piece: Piece, config: CodecConfig | None = None, n_bars: int | None = None) -> float:
    """Fraction of bars where no note starts, over ``n_bars`` (default: up to the last note's bar)."""
    bar = (config or CodecConfig()).bar_steps(piece.meter)
    if not piece.notes:
        return 1.0 if n_bars else float("nan")
    n_bars = n_bars or max(n.start for n in piece.notes) // bar + 1
    busy = {n.start // bar for n in piece.notes}
    return float(1.0 - len([b for b in busy if b < n_bars]) / n_bars)


def ioi_histogram(piece: Piece) -> np.ndarray:
    """Normalized histogram ``(IOI_BINS,)`` of the steps between consecutive distinct onsets (bin i = i + 1
    steps; the last bin holds all longer ones); zeros when the piece has fewer than two onsets."""
    onsets = np.unique([n.start for n in piece.notes])
    hist = np.zeros(IOI_BINS)
    if len(onsets) < 2:
        return hist
    gaps = np.minimum(np.diff(onsets), IOI_BINS) - 1
    np.add.at(hist, gaps, 1.0)
    return hist / hist.sum()


def histogram_distance(a: Sequence[Piece], b: Sequence[Piece]) -> float:
    """Total variation distance (0..1) between the mean IOI histograms of two sets of pieces."""
    ha = np.mean([ioi_histogram(p) for p in a], axis=0)
    hb = np.mean([ioi_histogram(p) for p in b], axis=0)
    return float(0.5 * np.abs(ha / max(ha.sum(), 1e-12) - hb / max(hb.sum(), 1e-12)).sum())


def band_as_gm(piece: Piece, parts: Sequence[str]) -> Piece:
    """A band piece with its drums on ``DRUMS`` (the pitched parts keep their part index as program)."""
    drum = list(parts).index("drums") if "drums" in parts else -1
    notes = [type(n)(n.start, n.duration, n.pitch, n.velocity, DRUMS if n.program == drum else n.program)
             for n in piece.notes]
    return Piece(notes, piece.meter, piece.tempo, piece.key, piece.style, list(piece.chords))


def chord_agreement(piece: Piece, chords: Sequence[object], bass_program: int | None,
                    config: CodecConfig | None = None) -> tuple[float, float]:
    """How well a band piece follows one chord per bar (``music.chords.Chord``; None bars skipped).

    Returns (share of bars whose pitched sounding pitch classes hold the chord's root and third,
    share of bars whose bass plays the chord's bass (root, or a slash chord's bass) as its lowest
    note on beat 1; NaN without a bass part). A bar where nothing (or no bass) sounds fails.
    """
    bar = (config or CodecConfig()).bar_steps(piece.meter)
    tones_ok = bass_ok = counted = 0
    for b, chord in enumerate(chords):
        if chord is None:
            continue
        counted += 1
        lo, hi = b * bar, (b + 1) * bar
        sounding = {n.pitch % 12 for n in piece.notes
                    if n.program != DRUMS and n.start < hi and n.start + n.duration > lo}
        tones_ok += chord.root in sounding and chord.third in sounding
        if bass_program is not None:
            on_one = [n.pitch for n in piece.notes if n.program == bass_program and n.start == lo]
            bass_ok += bool(on_one) and min(on_one) % 12 == chord.bass
    if not counted:
        return float("nan"), float("nan")
    return tones_ok / counted, (bass_ok / counted if bass_program is not None else float("nan"))


def piece_metrics(piece: Piece, config: CodecConfig | None = None) -> dict[str, float]:
    """All metrics of one piece, keyed as in ``METRICS``."""
    return {"pitch_class_entropy": pitch_class_entropy(piece), "scale_consistency": scale_consistency(piece),
            "polyphony": polyphony(piece), "empty_beat_rate": empty_beat_rate(piece, config),
            "groove_consistency": groove_consistency(piece, config), "pitch_range": pitch_range(piece),
            "notes_per_bar": notes_per_bar(piece, config), "empty_bar_rate": empty_bar_rate(piece, config)}


def summarize(pieces: Sequence[Piece], config: CodecConfig | None = None) -> dict[str, tuple[float, float]]:
    """Per metric: (mean, standard deviation) over pieces, NaNs (undefined cases) skipped."""
    rows = [piece_metrics(p, config) for p in pieces]
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in rows], float)
        v = v[~np.isnan(v)]
        out[m] = (float(v.mean()), float(v.std())) if len(v) else (float("nan"), float("nan"))
    return out


def crop_bars(piece: Piece, bars: int, config: CodecConfig | None = None, start_bar: int = 0) -> Piece:
    """The notes of bars ``start_bar .. start_bar + bars - 1`` (cut at the end), shifted to start at 0."""
    bar = (config or CodecConfig()).bar_steps(piece.meter)
    lo, hi = start_bar * bar, (start_bar + bars) * bar
    notes = []
    for n in piece.notes:
        if lo <= n.start < hi:
            notes.append(type(n)(n.start - lo, min(n.duration, hi - n.start), n.pitch, n.velocity, n.program))
    chords = list(piece.chords[start_bar:start_bar + bars])
    return Piece(notes, piece.meter, piece.tempo, piece.key, piece.style, chords)
