"""A reversible MIDI <-> event-token codec (beat-relative, REMI-like).

Every piece goes through one in-memory form, :class:`Piece` (notes on a grid of
``steps_per_quarter`` steps per quarter note, one meter, one tempo, one key,
a style), and from there to tokens::

    BOS STYLE_chorale KEY_Dm METER_3/4 TEMPO_96            (the control header)
    BAR POS_0 PROG_0 PITCH_62 VEL_4 DUR_4 PITCH_65 VEL_4 DUR_4 POS_4 PROG_0 ...
    BAR ...  EOS

Within a bar, positions rise strictly; at each position the instruments come
in rising program order (``PROG_DRUMS`` last, GM channel 10) and each
instrument's notes in rising pitch. A duration longer than ``max_duration``
steps is written as a chain (``DUR_max`` ... then the rest), so the codec is
exact for any length. The serialization of a piece is unique, and decoding
inverts it: onsets and offsets on the grid, pitch, program/drums, velocity bin,
meter, key, and tempo (to its bucket, about 4%) all survive a round trip.

Key numbers follow pretty_midi: 0-11 = C..B major, 12-23 = C..B minor.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from soundart.errors import BadInputError, ConfigError

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
DRUMS = 128  # program number used for the GM drum channel
DEFAULT_STYLES = ("chorale", "folk", "fiddle", "renaissance", "classical", "other")
DEFAULT_METERS = ("4/4", "3/4", "2/4", "6/8", "2/2", "3/8", "9/8", "12/8", "6/4", "3/2", "5/4")
BAND_PARTS = ("melody", "chords", "bass", "drums")  # the parts of a band codec, in token order


@dataclass(frozen=True)
class CodecConfig:
    """Settings of the event codec; stored in every token model's config.

    Parameters
    ----------
    steps_per_quarter : grid resolution (4 = sixteenth notes).
    velocity_bins : number of velocity buckets over 1..127.
    max_duration : longest single DUR token, in steps (longer notes chain tokens).
    tempo_bins, tempo_min, tempo_max : log-spaced tempo buckets (bpm).
    styles, meters : the control vocabularies.
    parts : empty for GM instruments (PROG_0..PROG_127, PROG_DRUMS); else the part names of a band
        codec (PART_melody ...; a note's ``program`` is then the part's index, "drums" on GM channel 10).
    chords : whether every bar opens with a CHORD token (``Piece.chords``; see ``music.chords``).
    """

    steps_per_quarter: int = 4
    velocity_bins: int = 8
    max_duration: int = 32
    tempo_bins: int = 32
    tempo_min: float = 40.0
    tempo_max: float = 240.0
    styles: tuple[str, ...] = DEFAULT_STYLES
    meters: tuple[str, ...] = DEFAULT_METERS
    parts: tuple[str, ...] = ()
    chords: bool = False

    def bar_steps(self, meter: str) -> int:
        """Grid steps in one bar of ``meter`` ("3/4" -> 12 at 4 steps per quarter)."""
        num, den = (int(x) for x in meter.split("/"))
        return num * 4 * self.steps_per_quarter // den

    @property
    def max_bar_steps(self) -> int:
        return max(self.bar_steps(m) for m in self.meters)


@dataclass
class Note:
    """One note on the grid: ``start`` and ``duration`` in steps; ``program`` 0-127 or DRUMS (a band
    codec: the part's index in ``CodecConfig.parts``)."""

    start: int
    duration: int
    pitch: int
    velocity: int = 80
    program: int = 0


@dataclass
class Piece:
    """The codec's in-memory form of a piece of music; ``chords`` holds one chord name per bar
    ("A:min7", "N" = none; see ``music.chords``), used by codecs with chord tokens."""

    notes: list[Note] = field(default_factory=list)
    meter: str = "4/4"
    tempo: float = 120.0
    key: int = 0
    style: str = "other"
    chords: list[str] = field(default_factory=list)

    def sorted_notes(self) -> list[Note]:
        return sorted(self.notes, key=lambda n: (n.start, n.program, n.pitch, -n.duration))


def key_name(key: int) -> str:
    """0 -> "C major", 14 -> "D minor"."""
    return f"{PITCH_NAMES[key % 12]} {'minor' if key >= 12 else 'major'}"


_ALIASES = {"C#": 1, "DB": 1, "D#": 3, "EB": 3, "GB": 6, "F#": 6, "G#": 8, "AB": 8, "A#": 10, "BB": 10,
            "C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11, "CB": 11, "FB": 4, "E#": 5, "B#": 0}


def parse_key(text: str) -> int:
    """Parse "D minor", "Dm", "f# major", "Bb" into a key number (0-23); ConfigError otherwise."""
    t = " ".join(str(text).replace("♯", "#").replace("♭", "b").split())
    low = t.lower()
    mode = 0
    for suffix, m in ((" minor", 12), (" min", 12), (" major", 0), (" maj", 0), ("min", 12), ("maj", 0)):
        if low.endswith(suffix):
            t, mode = t[: -len(suffix)].strip(), m
            break
    else:
        if len(t) >= 2 and t.endswith("m") and t[:-1].upper() in _ALIASES:
            t, mode = t[:-1], 12
    tonic = t.upper()
    if tonic not in _ALIASES:
        raise ConfigError(f"unknown key {text!r} (try 'D minor', 'F# major', 'Bbm')")
    return _ALIASES[tonic] + mode


class Codec:
    """Turns :class:`Piece` objects into token ids and back (see the module docstring)."""

    PAD, BOS, EOS, BAR = 0, 1, 2, 3  # the first four names, the same in every vocabulary

    def __init__(self, config: CodecConfig | None = None) -> None:
        self.config = config or CodecConfig()
        c = self.config
        names = ["PAD", "BOS", "EOS", "BAR"]
        names += [f"STYLE_{s}" for s in c.styles]
        names += [f"KEY_{k}" for k in range(24)]
        names += [f"METER_{m}" for m in c.meters]
        names += [f"TEMPO_{i}" for i in range(c.tempo_bins)]
        names += [f"POS_{p}" for p in range(c.max_bar_steps)]
        if c.parts:
            names += [f"PART_{p}" for p in c.parts]
        else:
            names += [f"PROG_{p}" for p in range(128)] + ["PROG_DRUMS"]
        names += [f"PITCH_{p}" for p in range(128)]
        names += [f"VEL_{v}" for v in range(c.velocity_bins)]
        names += [f"DUR_{d}" for d in range(1, c.max_duration + 1)]
        if c.chords:
            from soundart.music.chords import chord_token_names

            self.chord_names = chord_token_names()
            names += [f"CHORD_{n}" for n in self.chord_names]
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        first = functools.partial(_first, names)
        self.pad, self.bos, self.eos, self.bar = self.PAD, self.BOS, self.EOS, self.BAR
        self.style0, self.key0, self.meter0 = first("STYLE_"), first("KEY_"), first("METER_")
        self.tempo0, self.pos0, self.prog0 = first("TEMPO_"), first("POS_"), first("PART_" if c.parts else "PROG_")
        self.pitch0, self.vel0, self.dur0 = first("PITCH_"), first("VEL_"), first("DUR_")
        self.chord0 = first("CHORD_") if c.chords else -1
        self.n_programs = len(c.parts) if c.parts else 129
        # the program value of the drum kit: DRUMS for GM codecs, the "drums" part's index (or -1) for bands
        self.drum_program = (c.parts.index("drums") if "drums" in c.parts else -1) if c.parts else DRUMS
        self._kinds = _kind_table(names)

    @property
    def vocab_size(self) -> int:
        return len(self.names)

    # ---- control tokens -------------------------------------------------------------------
    def tempo_bin(self, bpm: float) -> int:
        c = self.config
        bpm = min(max(float(bpm), c.tempo_min), c.tempo_max)
        frac = math.log(bpm / c.tempo_min) / math.log(c.tempo_max / c.tempo_min)
        return min(c.tempo_bins - 1, int(round(frac * (c.tempo_bins - 1))))

    def tempo_value(self, index: int) -> float:
        c = self.config
        return float(c.tempo_min * (c.tempo_max / c.tempo_min) ** (index / (c.tempo_bins - 1)))

    def velocity_bin(self, velocity: int) -> int:
        v = min(max(int(velocity), 1), 127)
        return min(self.config.velocity_bins - 1, (v - 1) * self.config.velocity_bins // 127)

    def velocity_value(self, index: int) -> int:
        nb = self.config.velocity_bins
        lo, hi = math.ceil(index * 127 / nb) + 1, math.ceil((index + 1) * 127 / nb)
        return int(min(127, max(1, (lo + hi) // 2)))

    def header(self, style: str, key: int, meter: str, tempo: float) -> list[int]:
        """The control tokens that open a sequence (BOS STYLE KEY METER TEMPO)."""
        c = self.config
        if style not in c.styles:
            raise ConfigError(f"unknown style {style!r} (known: {', '.join(c.styles)})")
        if meter not in c.meters:
            raise ConfigError(f"unsupported meter {meter!r} (supported: {', '.join(c.meters)})")
        if not 0 <= int(key) < 24:
            raise ConfigError(f"key number must be 0-23, got {key}")
        return [self.bos, self.style0 + c.styles.index(style), self.key0 + int(key),
                self.meter0 + c.meters.index(meter), self.tempo0 + self.tempo_bin(tempo)]

    HEADER_LEN = 5

    # ---- encode / decode -------------------------------------------------------------------
    def encode(self, piece: Piece, eos: bool = True, n_bars: int | None = None) -> list[int]:
        """Token ids of ``piece``: header, then one BAR per bar up to the last note's bar (or up to
        ``n_bars``, when that is more: empty bars at the end)."""
        c = self.config
        tokens = self.header(piece.style, piece.key, piece.meter, piece.tempo)
        bar_len = c.bar_steps(piece.meter)
        notes = _dedupe(piece.sorted_notes())
        n_bars = max(max((n.start // bar_len for n in notes), default=-1) + 1, n_bars or 0)
        i = 0
        for b in range(n_bars):
            tokens.append(self.bar)
            if c.chords:
                tokens.append(self.chord_token(piece.chords[b] if b < len(piece.chords) else "N"))
            pos = prog = None
            while i < len(notes) and notes[i].start < (b + 1) * bar_len:
                n = notes[i]
                p = n.start - b * bar_len
                if p != pos:
                    tokens.append(self.pos0 + p)
                    pos, prog = p, None
                if n.program != prog:
                    tokens.append(self.prog0 + n.program)
                    prog = n.program
                tokens += [self.pitch0 + n.pitch, self.vel0 + self.velocity_bin(n.velocity)]
                tokens += self.duration_tokens(n.duration)
                i += 1
        if eos:
            tokens.append(self.eos)
        return tokens

    def chord_token(self, name: str) -> int:
        """The id of ``CHORD_<name>`` ("A:min7", "N")."""
        token = self.index.get(f"CHORD_{name}")
        if token is None:
            raise ConfigError(f"chord {name!r} is not in this codec's vocabulary")
        return token

    def duration_tokens(self, duration: int) -> list[int]:
        m = self.config.max_duration
        d = max(1, int(duration))
        out = [self.dur0 + m - 1] * ((d - 1) // m)
        return out + [self.dur0 + (d - 1) % m]

    def decode(self, tokens: Iterable[int], strict: bool = False) -> Piece:
        """Rebuild a Piece from token ids.

        With ``strict`` a token out of place is a BadInputError; otherwise it is
        skipped (so any prefix of a valid sequence decodes). Decoding stops at EOS.
        """
        c = self.config
        piece = Piece()
        bar_len = c.bar_steps(piece.meter)
        bar = -1
        pos = prog = None
        note: Note | None = None
        for t in tokens:
            t = int(t)
            kind, value = self.kind(t)
            if kind == "EOS":
                break
            ok = True
            if kind == "STYLE":
                piece.style = c.styles[value]
            elif kind == "KEY":
                piece.key = value
            elif kind == "METER":
                piece.meter = c.meters[value]
                bar_len = c.bar_steps(piece.meter)
            elif kind == "TEMPO":
                piece.tempo = self.tempo_value(value)
            elif kind == "BAR":
                bar, pos, prog, note = bar + 1, None, None, None
            elif kind == "CHORD":
                ok = bar >= 0
                if ok:
                    piece.chords += ["N"] * (bar + 1 - len(piece.chords))
                    piece.chords[bar] = self.chord_names[value]
            elif kind == "POS":
                ok = bar >= 0 and value < bar_len
                if ok:
                    pos, prog, note = value, None, None
            elif kind == "PROG":
                ok = pos is not None
                if ok:
                    prog, note = value, None
            elif kind == "PITCH":
                ok = prog is not None
                if ok:
                    note = Note(bar * bar_len + pos, 0, value, 0, prog)
            elif kind == "VEL":
                ok = note is not None and note.velocity == 0 and note.duration == 0
                if ok:
                    note.velocity = self.velocity_value(value)
            elif kind == "DUR":
                ok = note is not None and note.velocity > 0
                if ok:
                    if note.duration == 0:
                        piece.notes.append(note)
                    elif note.duration % c.max_duration != 0:
                        ok = False
                    if ok:
                        note.duration += value
            elif kind in ("PAD", "BOS"):
                pass
            if not ok and strict:
                raise BadInputError(f"token {self.names[t]} out of place")
        piece.notes = [n for n in piece.notes if n.duration > 0]
        return piece

    def kind(self, token: int) -> tuple[str, int]:
        """("PITCH", 60) for the id of PITCH_60; value = index within its family."""
        if token < 0 or token >= len(self.names):
            raise BadInputError(f"token id {token} outside the vocabulary (size {len(self.names)})")
        return self._kinds[token]

    def describe(self, tokens: Iterable[int]) -> list[str]:
        return [self.names[int(t)] for t in tokens]

    def transpose(self, tokens: Sequence[int], semitones: int) -> list[int] | None:
        """Tokens of the same piece shifted by ``semitones`` (drums stay); None if a pitch leaves 0-127."""
        out = list(tokens)
        drums = False
        for i, t in enumerate(out):
            kind, value = self.kind(t)
            if kind == "PROG":
                drums = value == self.drum_program
            elif kind == "CHORD" and value > 0:  # 0 = "N"
                n_q = (len(self.chord_names) - 1) // 12
                root, quality = divmod(value - 1, n_q)
                out[i] = self.chord0 + 1 + ((root + semitones) % 12) * n_q + quality
            elif kind == "PITCH" and not drums:
                p = value + semitones
                if not 0 <= p < 128:
                    return None
                out[i] = self.pitch0 + p
            elif kind == "KEY":
                out[i] = self.key0 + (value % 12 + semitones) % 12 + 12 * (value >= 12)
        return out


def _first(names: list[str], prefix: str) -> int:
    return next(i for i, n in enumerate(names) if n.startswith(prefix))


def _kind_table(names: list[str]) -> list[tuple[str, int]]:
    table = []
    counters: dict[str, int] = {}
    for name in names:
        fam = name.split("_")[0] if "_" in name else name
        fam = "PROG" if fam == "PART" else fam  # a band codec's parts play the role of programs
        table.append((fam, counters.get(fam, 0) + (1 if fam == "DUR" else 0)))  # DUR values are 1-based
        counters[fam] = counters.get(fam, 0) + 1
    return table


def _dedupe(notes: list[Note]) -> list[Note]:
    out: list[Note] = []
    seen: set[tuple[int, int, int]] = set()
    for n in notes:  # sorted: the longest of identical (start, program, pitch) comes first
        k = (n.start, n.program, n.pitch)
        if k not in seen:
            seen.add(k)
            out.append(n)
    return out


# ---- keys --------------------------------------------------------------------------
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_profile(key: int) -> np.ndarray:
    """Krumhansl-Kessler probe-tone profile ``(12,)`` of a key (0-11 major, 12-23 minor), indexed by pitch class."""
    return np.roll(_MINOR if key >= 12 else _MAJOR, int(key) % 12)


def estimate_key(pitches: Sequence[int], weights: Sequence[float] | None = None) -> int:
    """Krumhansl-Schmuckler key estimate (0-23) from pitches weighted by duration."""
    hist = np.zeros(12)
    w = np.ones(len(pitches)) if weights is None else np.asarray(weights, dtype=float)
    for p, x in zip(pitches, w):
        hist[int(p) % 12] += x
    if hist.sum() == 0:
        return 0
    scores = [np.corrcoef(hist, key_profile(k))[0, 1] for k in range(24)]
    scores = np.nan_to_num(np.asarray(scores), nan=-1.0)
    return int(np.argmax(scores))
