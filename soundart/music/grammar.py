"""The event grammar of sampling: which token may come next, so that every sequence decodes to MIDI.

:class:`EventGrammar` masks every token that would make an invalid sequence: positions rise within a
bar and stay inside it, parts (programs) rise within a position, pitches rise within a part, each note
has exactly one velocity and a duration, and the piece ends after the requested number of bars. It
also forces what a sketch was asked for: chord tokens, the slash bass, pitches in the key, and the
notes of known bars (:class:`KnownBar`: a user's own notes kept exactly, new notes only in the free
parts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundart.music.tokens import Codec


@dataclass(frozen=True)
class KnownNote:
    """A note a bar must hold: its position, part (program value) and tokens (PITCH VEL DUR...)."""

    pos: int
    part: int
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class KnownBar:
    """What one generated bar must hold: ``notes`` exactly as given (in the codec's order) and new
    notes only of the ``free`` parts. ``scored``: the log-probability of its tokens is summed into
    :attr:`Generated.score` (how well the bars before it lead into it)."""

    notes: tuple[KnownNote, ...]
    free: frozenset[int]
    scored: bool = False

    @property
    def n_tokens(self) -> int:
        return sum(2 + len(n.tokens) for n in self.notes)


def known_bars(codec: Codec, piece: Any, first_bar: int, n_bars: int, free: Sequence[frozenset[int]],
               scored: Sequence[bool] | None = None) -> list[KnownBar]:
    """The KnownBar of each of ``n_bars`` bars of ``piece`` from ``first_bar`` (0-based): the piece's
    notes in those bars (encoded as the codec writes them) with ``free[i]`` parts free to add to."""
    from soundart.music.tokens import Piece

    bar_len = codec.config.bar_steps(piece.meter)
    lo, hi = first_bar * bar_len, (first_bar + n_bars) * bar_len
    notes = [type(n)(n.start - lo, n.duration, n.pitch, n.velocity, n.program) for n in piece.notes
             if lo <= n.start < hi]
    tokens = codec.encode(Piece(notes, piece.meter, piece.tempo, piece.key, piece.style), eos=False,
                          n_bars=n_bars)[Codec.HEADER_LEN:]
    bars: list[list[KnownNote]] = []
    pos = part = -1
    note: list[int] = []
    for t in tokens + [codec.bar]:
        kind, value = codec.kind(t)
        if kind in ("BAR", "POS", "PROG", "PITCH") and note:
            bars[-1].append(KnownNote(pos, part, tuple(note)))
            note = []
        if kind == "BAR":
            bars.append([])
        elif kind == "POS":
            pos = value
        elif kind == "PROG":
            part = value
        elif kind in ("PITCH", "VEL", "DUR"):
            note.append(t)
    scored = list(scored) if scored is not None else [False] * n_bars
    return [KnownBar(tuple(bars[i]), free[i], scored[i]) for i in range(n_bars)]


class EventGrammar:
    """Tracks one event-token sequence and says which tokens may come next.

    Parameters
    ----------
    codec : the event codec.
    bars : the sequence ends (``done``) when bar ``bars + 1`` would start (EOS is refused before).
    programs : allowed instruments (GM program numbers, 128 = drums); None = any.
    pitch_range : allowed pitches (inclusive) for pitched instruments.
    max_bar_tokens : after this many tokens in one bar, only the bar's end is allowed (termination).
    key : when given (0-23), pitched notes keep to that key's scale (:func:`scale_pitch_classes`).
    """

    def __init__(self, codec: Codec, bars: int, programs: Sequence[int] | None = None,
                 pitch_range: tuple[int, int] = (21, 108), max_bar_tokens: int = 256,
                 key: int | None = None, chords: Sequence[Any] | None = None,
                 bass_part: int | None = None, known: Sequence[KnownBar | None] | None = None) -> None:
        self.pitch_ok = np.ones(128, bool)
        if key is not None:
            pcs = scale_pitch_classes(key)
            self.pitch_ok = np.array([p % 12 in pcs for p in range(128)])
        self.codec, self.bars = codec, bars
        self.programs = None if programs is None else sorted(set(int(p) for p in programs))
        self.pitch_range = pitch_range
        self.max_bar_tokens = max_bar_tokens
        self.drums = codec.drum_program
        # chords: per generated bar, a music.chords.Chord (forced CHORD token), None ("N") or the
        # string "free" (the model's choice); bars past the list are free
        self.chords = list(chords) if chords is not None else []
        self.bass_part = bass_part
        # known: per generated bar, the notes it must hold as given and the parts free to add to (None:
        # a bar free for every part); bars past the list are free
        self.known = list(known) if known is not None else []
        self.next_known = 0                # index of the current bar's next known note
        self.queue: list[int] = []         # the rest of the known note being written
        self.bar_cap = max_bar_tokens
        self.bar_len = codec.config.bar_steps("4/4")
        self.bar_count = 0
        self.state = "header"
        self.pos = self.prog = self.pitch = -1
        self.last_dur = 0
        self.in_bar = 0
        self.done = False
        self.prompt_bars = 0  # complete bars in the prompt before the generated ones (set by generate)
        self.bass_pc: int | None = None
        self.bar_pitch_ok = self.pitch_ok
        # (128,) log-odds toward the asked chord's tones in this bar, zero mean (None: no chord asked)
        self.bar_chord_lean: np.ndarray | None = None
        self.free_chords = self._in_key_chords() if codec.chord0 >= 0 else None
        self._build_masks()

    def _build_masks(self) -> None:
        c, V = self.codec, self.codec.vocab_size
        self.m_pos = np.full(V, False)
        self.m_prog = np.full(V, False)
        progs = range(c.n_programs) if self.programs is None else self.programs
        self.m_prog[[c.prog0 + p for p in progs]] = True
        self.m_vel = np.full(V, False)
        self.m_vel[c.vel0:c.vel0 + c.config.velocity_bins] = True
        self.m_dur = np.full(V, False)
        self.m_dur[c.dur0:c.dur0 + c.config.max_duration] = True

    def _in_key_chords(self) -> np.ndarray:
        """The chord tokens the model may choose: with a key, those whose tones all lie in its scale."""
        if self.pitch_ok.all():
            return np.ones(len(self.codec.chord_names), bool)
        from soundart.music.chords import chord_from_token

        scale = set(np.flatnonzero(self.pitch_ok[:12]))
        return np.array([name == "N" or chord_from_token(name).pitch_classes <= scale
                         for name in self.codec.chord_names])

    def _bar_chord(self) -> Any:
        """The requested chord of the current bar ("free" when the model chooses)."""
        i = self.bar_count - 1 - self.prompt_bars
        return self.chords[i] if 0 <= i < len(self.chords) else "free"

    def feed(self, token: int) -> None:
        """Advance the state by one token (header tokens, then body tokens)."""
        c = self.codec
        kind, value = c.kind(int(token))
        if kind == "METER":
            self.bar_len = c.config.bar_steps(c.config.meters[value])
        if kind in ("BOS", "STYLE", "KEY", "METER", "TEMPO", "PAD"):
            return
        self.in_bar += 1
        if kind == "BAR":
            if self.bar_count >= self.bars:
                self.done = True
            self.bar_count += 1
            self.state, self.pos, self.in_bar = ("chord" if c.chord0 >= 0 else "bar"), -1, 0
            self.bass_pc, self.bar_pitch_ok, self.bar_chord_lean = None, self.pitch_ok, None
            bar = self.known_bar()
            self.next_known, self.queue = 0, []
            self.bar_cap = self.max_bar_tokens + (bar.n_tokens if bar is not None else 0)
            return
        elif kind == "CHORD":
            from soundart.music.chords import chord_from_token

            self.state = "bar"
            chord = self._bar_chord()
            if chord == "free":
                chord = chord_from_token(c.chord_names[value])
            self.bass_pc = chord.bass if chord is not None else None
            # the key's scale, widened by the bar's chord tones (a borrowed chord or slash bass stays playable)
            self.bar_pitch_ok = self.pitch_ok.copy()
            self.bar_chord_lean = None
            if chord is not None:
                tones = np.isin(np.arange(128) % 12, sorted(chord.pitch_classes | {chord.bass}))
                self.bar_pitch_ok |= tones
                self.bar_chord_lean = tones - tones.mean()
        elif kind == "EOS":
            self.done = True
        elif kind == "POS":
            self.state, self.pos, self.prog = "pos", value, -1
        elif kind == "PROG":
            self.state, self.prog, self.pitch = "prog", value, -1
        elif kind == "PITCH":
            self.state, self.pitch = "pitch", value
            bar = self.known_bar()
            if bar is not None and not self.queue and self.prog not in bar.free:
                self.queue = list(bar.notes[self.next_known].tokens)
                self.next_known += 1
        elif kind == "VEL":
            self.state = "vel"
        elif kind == "DUR":
            self.state, self.last_dur = "dur", value
        if self.queue and self.queue[0] == token:
            self.queue.pop(0)

    def known_bar(self) -> KnownBar | None:
        """What the current bar must hold (None: a free bar)."""
        i = self.bar_count - 1 - self.prompt_bars
        return self.known[i] if 0 <= i < len(self.known) else None

    @property
    def scoring(self) -> bool:
        """Whether the current bar is one whose given tokens are scored (:attr:`KnownBar.scored`)."""
        bar = self.known_bar()
        return bar is not None and bar.scored

    def wants_pitched_note(self) -> bool:
        """Whether the next token may be a pitch of a pitched (not drum) instrument."""
        return self.state in ("prog", "dur") and self.prog not in (-1, self.drums)

    def _pitches(self, m: np.ndarray, lo: int) -> None:
        """Allow the pitches from ``lo`` up that the current instrument may play next."""
        c = self.codec
        drum = self.prog == self.drums
        lo, hi = (max(lo, 0), 127) if drum else (max(lo, self.pitch_range[0]), self.pitch_range[1])
        if lo > hi:
            return
        m[c.pitch0 + lo:c.pitch0 + hi + 1] = True
        if drum:
            return
        m[c.pitch0:c.pitch0 + 128] &= self.bar_pitch_ok
        if self.prog == self.bass_part and self.pos == 0 and self.pitch == -1 and self.bass_pc is not None:
            # the bass's lowest note on beat 1 is the chord's bass (its root, or a slash chord's bass)
            m[c.pitch0:c.pitch0 + 128] &= np.arange(128) % 12 == self.bass_pc

    def allowed(self) -> np.ndarray:
        """Boolean mask ``(V,)`` of the tokens that may come next."""
        m = self._grammar_allowed()
        bar = self.known_bar()
        return m if bar is None else self._keep_known(m, bar)

    def _keep_known(self, m: np.ndarray, bar: KnownBar) -> np.ndarray:
        """Narrow ``m`` so the bar's known notes come out exactly as given, in the codec's order, with the
        free parts' notes only at the places the order leaves them."""
        c = self.codec
        out = np.zeros_like(m)
        if self.queue:  # the rest of a known note: its pitch was written, velocity and durations follow
            out[self.queue[0]] = True
            return out
        if self.state in ("chord", "header", "pitch", "vel"):
            return m
        nxt = bar.notes[self.next_known] if self.next_known < len(bar.notes) else None
        pos = self.pos
        if self.state == "prog":
            if self.prog in bar.free:
                return m
            out[nxt.tokens[0]] = True  # a known part at its known position: its next note
            return out
        if self.state == "dur":
            if self.prog in bar.free:
                durs = slice(c.dur0, c.dur0 + c.config.max_duration)
                out[durs] = m[durs]
                if nxt is None or (pos, self.prog) < (nxt.pos, nxt.part):
                    pitches = slice(c.pitch0, c.pitch0 + 128)
                    out[pitches] = m[pitches]
            elif nxt is not None and (nxt.pos, nxt.part) == (pos, self.prog):
                out[nxt.tokens[0]] = True
                return out
        if self.state in ("dur", "pos"):
            for q in bar.free:
                if m[c.prog0 + q] and (nxt is None or (pos, q) < (nxt.pos, nxt.part)):
                    out[c.prog0 + q] = True
            if nxt is not None and nxt.pos == pos and (self.state == "pos" or nxt.part > self.prog):
                out[c.prog0 + nxt.part] = True
        if self.state in ("dur", "bar"):
            later = slice(c.pos0 + pos + 1, c.pos0 + (nxt.pos if nxt is not None else self.bar_len))
            if bar.free:
                out[later] = m[later]
            if nxt is not None:
                out[c.pos0 + nxt.pos] = nxt.pos > pos
            else:
                out[c.bar], out[c.eos] = m[c.bar], m[c.eos]
        return out

    def _grammar_allowed(self) -> np.ndarray:
        c = self.codec
        m = np.full(c.vocab_size, False)
        last_bar = self.bar_count >= self.bars
        if self.state == "header":
            m[c.bar] = True
        elif self.state == "chord":
            chord = self._bar_chord()
            if chord == "free":
                m[c.chord0:c.chord0 + len(c.chord_names)] = self.free_chords
            else:
                m[c.chord_token(chord.token if chord is not None else "N")] = True
        elif self.state == "pitch":
            m |= self.m_vel
        elif self.state == "vel":
            m |= self.m_dur
        elif self.state == "pos":
            m |= self.m_prog
        elif self.state == "prog":
            self._pitches(m, 0)
        else:  # "bar" or "dur": a note is complete
            if self.state == "dur":
                if self.last_dur == c.config.max_duration:
                    m |= self.m_dur
                if self.in_bar < self.bar_cap:
                    self._pitches(m, self.pitch + 1)
                    higher = self.m_prog.copy()
                    higher[: c.prog0 + self.prog + 1] = False
                    m |= higher
            if self.in_bar < self.bar_cap:
                m[c.pos0 + self.pos + 1:c.pos0 + self.bar_len] = True
            m[c.bar] = True
            m[c.eos] = last_bar
        return m


def scale_pitch_classes(key: int) -> set[int]:
    """Pitch classes of a key (0-11 major, 12-23 minor): the major scale, or natural minor plus the
    raised 7th (harmonic minor's leading tone), which tonal music in minor uses constantly."""
    tonic = key % 12
    steps = (0, 2, 3, 5, 7, 8, 10, 11) if key >= 12 else (0, 2, 4, 5, 7, 9, 11)
    return {(tonic + s) % 12 for s in steps}
