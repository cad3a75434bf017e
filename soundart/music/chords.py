"""Chord symbols: parsing ("Am7", "C/E", "F#m7b5"), the chord vocabulary of the band codec, and
per-bar chord estimation from notes.

A chord is ``Chord(root, quality, bass)``: root and bass as pitch classes (0 = C), ``quality`` one
of :data:`QUALITIES`. Its token name is ``"A:min7"`` (``"N"`` = no chord); a slash bass is not part
of the token (the sampler puts it in the bass part instead, see ``grammar.EventGrammar``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from soundart.errors import ConfigError

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# quality -> intervals above the root; every richer chord maps onto one of these (see SUFFIXES)
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6), "dim7": (0, 3, 6, 9), "hdim7": (0, 3, 6, 10), "aug": (0, 4, 8), "sus4": (0, 5, 7),
    "sus2": (0, 2, 7),
}
NO_CHORD = "N"
# how each quality is written after the root in a chord symbol
SYMBOL_SUFFIX = {"maj": "", "min": "m", "7": "7", "maj7": "maj7", "min7": "m7", "dim": "dim", "dim7": "dim7",
                 "hdim7": "m7b5", "aug": "aug", "sus4": "sus4", "sus2": "sus2"}
# chord-symbol suffix (after the root, before any "/bass") -> quality; matched case-sensitively
# so that "M7" (major seventh) and "m7" (minor seventh) stay apart
SUFFIXES: dict[str, str] = {
    "": "maj", "M": "maj", "maj": "maj", "major": "maj", "6": "maj", "M6": "maj", "maj6": "maj", "add9": "maj",
    "add2": "maj", "6/9": "maj", "69": "maj", "5": "maj",
    "m": "min", "min": "min", "-": "min", "minor": "min", "m6": "min", "min6": "min", "madd9": "min", "m69": "min",
    "7": "7", "9": "7", "11": "7", "13": "7", "dom7": "7", "7b9": "7", "7#9": "7", "7#11": "7", "7b5": "7",
    "7#5": "7", "9#11": "7", "13b9": "7", "7alt": "7", "7sus4": "sus4", "7sus": "sus4", "9sus4": "sus4",
    "sus4(b7)": "sus4",
    "maj7": "maj7", "M7": "maj7", "Maj7": "maj7", "^7": "maj7", "^": "maj7", "maj9": "maj7", "M9": "maj7",
    "maj13": "maj7", "maj7#11": "maj7", "Δ": "maj7", "Δ7": "maj7",
    "m7": "min7", "min7": "min7", "-7": "min7", "m9": "min7", "min9": "min7", "m11": "min7", "m13": "min7",
    "mM7": "min7", "minmaj7": "min7", "m(maj7)": "min7",
    "dim": "dim", "o": "dim", "°": "dim", "dim7": "dim7", "o7": "dim7", "°7": "dim7",
    "m7b5": "hdim7", "hdim7": "hdim7", "ø": "hdim7", "ø7": "hdim7", "-7b5": "hdim7", "min7b5": "hdim7",
    "aug": "aug", "+": "aug", "#5": "aug", "aug7": "7", "+7": "7",
    "sus4": "sus4", "sus": "sus4", "sus2": "sus2",
}
_SYMBOL = re.compile(r"^([A-Ga-g])([#b♯♭]?)(.*?)(?:/([A-Ga-g])([#b♯♭]?))?$")
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class Chord:
    """A chord: ``root`` and ``bass`` pitch classes (0 = C), ``quality`` a key of :data:`QUALITIES`."""

    root: int
    quality: str
    bass: int

    @property
    def token(self) -> str:
        """The codec's name for it: ``"A:min7"`` (the slash bass is not in it)."""
        return f"{PITCH_NAMES[self.root]}:{self.quality}"

    @property
    def pitch_classes(self) -> set[int]:
        return {(self.root + i) % 12 for i in QUALITIES[self.quality]}

    @property
    def third(self) -> int:
        """The chord's third (or, for suspended chords, the tone that stands in for it)."""
        return (self.root + QUALITIES[self.quality][1]) % 12

    def __str__(self) -> str:
        text = PITCH_NAMES[self.root] + SYMBOL_SUFFIX[self.quality]
        return text if self.bass == self.root else f"{text}/{PITCH_NAMES[self.bass]}"


def _pitch_class(letter: str, accidental: str) -> int:
    pc = _LETTER[letter.upper()]
    return (pc + (1 if accidental in ("#", "♯") else -1 if accidental in ("b", "♭") else 0)) % 12


def parse_chord(symbol: str) -> Chord | None:
    """Parse a chord symbol: "C", "Am", "G7", "Fmaj7", "Bm7b5", "Edim7", "Dsus4", "C/E", "Am7/G".

    Returns None for "N" / "N.C." (no chord); raises ConfigError naming the symbol otherwise.
    """
    text = str(symbol).strip()
    if text.upper() in ("N", "NC", "N.C.", "N.C"):
        return None
    m = _SYMBOL.match(text)
    if m is None:
        raise ConfigError(f"unparseable chord symbol {symbol!r} (try C, Am, G7, Fmaj7, Bm7b5, Edim, Dsus4, C/E)")
    letter, acc, suffix, bass_letter, bass_acc = m.groups()
    suffix = suffix.strip().strip("()") if suffix.strip() not in ("m(maj7)",) else suffix.strip()
    if suffix not in SUFFIXES:
        raise ConfigError(f"unparseable chord symbol {symbol!r}: unknown quality {suffix!r} "
                          "(known: m, 7, maj7, m7, m7b5, dim, dim7, aug, sus2, sus4, 6, 9, ...)")
    root = _pitch_class(letter, acc)
    bass = _pitch_class(bass_letter, bass_acc) if bass_letter else root
    return Chord(root, SUFFIXES[suffix], bass)


def parse_progression(text: str) -> list[Chord | None]:
    """Chords separated by spaces, commas or bar lines: "Am F C G", "Am | F | C/E | G7"."""
    symbols = [s for s in re.split(r"[\s,|]+", str(text)) if s]
    if not symbols:
        raise ConfigError("empty chord progression (give one chord per bar, e.g. \"Am F C G\")")
    return [parse_chord(s) for s in symbols]


# POP909's labels: "Root:quality[/interval]"; intervals as in Harte's syntax ("3", "b3", "5", "b7", "7")
_HARTE_QUALITY = {"maj": "maj", "min": "min", "7": "7", "maj7": "maj7", "min7": "min7", "dim": "dim",
                  "dim7": "dim7", "hdim7": "hdim7", "aug": "aug", "sus4": "sus4", "sus2": "sus2",
                  "sus4(b7)": "sus4", "maj6": "maj", "min6": "min", "minmaj7": "min7", "9": "7", "min9": "min7",
                  "maj9": "maj7", "11": "7", "13": "7", "min11": "min7"}
_INTERVAL = {"1": 0, "b2": 1, "2": 2, "b3": 3, "3": 4, "4": 5, "#4": 6, "b5": 6, "5": 7, "#5": 8, "b6": 8, "6": 9,
             "b7": 10, "7": 11, "9": 2, "b9": 1}


def parse_harte(label: str) -> Chord | None:
    """A Harte-style label ("Gb:maj", "A:min7/b7", "N") as a Chord; None for N or an unknown quality."""
    label = label.strip()
    if label in ("N", "X", ""):
        return None
    root_text, _, rest = label.partition(":")
    quality_text, _, interval = (rest or "maj").partition("/")
    if quality_text not in _HARTE_QUALITY or not root_text or root_text[0].upper() not in _LETTER:
        return None
    root = _pitch_class(root_text[0], root_text[1:2])
    bass = (root + _INTERVAL.get(interval, 0)) % 12
    return Chord(root, _HARTE_QUALITY[quality_text], bass)


def chord_from_token(name: str) -> Chord | None:
    """The Chord of a codec name ("A:min7" -> Chord(9, "min7", 9)); None for "N"."""
    if name == NO_CHORD:
        return None
    root, quality = name.split(":")
    pc = PITCH_NAMES.index(root)
    return Chord(pc, quality, pc)


def chord_token_names() -> list[str]:
    """Every chord name of the codec vocabulary: "N", then root-major order "C:maj", "C:min", ..."""
    return [NO_CHORD] + [f"{r}:{q}" for r in PITCH_NAMES for q in QUALITIES]


# per-bar estimation (music21 styles and checks): triads and sevenths only, ties to simpler chords
_ESTIMATE = ("maj", "min", "7", "min7", "dim")


def estimate_chord(pitch_weights: np.ndarray, bass_pc: int | None = None) -> Chord | None:
    """The chord that best explains a pitch-class weight vector ``(12,)`` (e.g. durations in a bar).

    Score = weight on chord tones - weight off them, with a small bonus when the lowest note is
    the root and a small cost per extra tone (so a triad wins over its seventh unless the seventh
    is there). None when the bar is silent.
    """
    w = np.asarray(pitch_weights, dtype=float)
    total = w.sum()
    if total <= 0:
        return None
    best, best_score = None, -np.inf
    for root in range(12):
        for q in _ESTIMATE:
            tones = np.zeros(12, bool)
            tones[[(root + i) % 12 for i in QUALITIES[q]]] = True
            score = (w[tones].sum() - w[~tones].sum()) / total - 0.08 * (len(QUALITIES[q]) - 3)
            score += 0.15 * (bass_pc == root) + 0.1 * (w[root] > 0)
            if score > best_score + 1e-9:
                best, best_score = Chord(root, q, root), score
    return best


def progression_key(chords: Sequence[Chord | None]) -> int:
    """The key (0-23) a chord progression most likely is in: Krumhansl-Schmuckler over its chord
    tones, the root counted twice, the first and last chords weighted up, and a tonic bonus for the
    chord a dominant seventh resolves to (down a fifth: "Dm7 G7 Cmaj7 A7" is read as C major), else
    for the first chord (a progression usually opens on its tonic: "Am F C G" is read as A minor)."""
    from soundart.music.tokens import estimate_key

    sounding = [c for c in chords if c is not None]
    resolved = {b.root for a, b in zip(sounding, sounding[1:]) if a.quality == "7" and (a.root - b.root) % 12 == 7}
    tonics = resolved or ({sounding[0].root} if sounding else set())
    pitches, weights = [], []
    for i, c in enumerate(sounding):
        w = 1.5 if i in (0, len(sounding) - 1) else 1.0
        for pc in c.pitch_classes:
            pitches.append(pc)
            weights.append(w * (2.0 if pc == c.root else 1.0) + (2.0 if pc == c.root and pc in tonics else 0.0))
    return estimate_key(pitches, weights) if pitches else 0


def chord_tones_in(pitches: Sequence[int], chord: Chord) -> tuple[bool, bool]:
    """Whether the pitch classes of ``pitches`` hold the chord's (root, third)."""
    pcs = {int(p) % 12 for p in pitches}
    return chord.root in pcs, chord.third in pcs
