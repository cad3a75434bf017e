"""The passes over a user's song that edits are made of (see :mod:`soundart.music.edit`).

A :class:`Plan` is one sequence for the model: a prompt of the song's bars before the work, then bars
that hold the song's notes as forced tokens and new notes of the parts being written. :func:`run_plans`
draws drafts of every plan in batches; the helpers turn drafts back into notes and tracks of the song.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from soundart.errors import ConfigError
from soundart.music.grammar import KnownBar
from soundart.music.song import Song
from soundart.music.tokens import Codec, Note, Piece

CONTEXT_BARS = 16   # bars of the song before the work that the model hears (a continuation's prompt)


@dataclass
class Plan:
    """One sequence for the model: a prompt, then ``n_bars`` generated bars from ``first_bar``
    (0-based, in the song's bars) with their chords and known notes."""

    style: str
    prompt: list[int]
    first_bar: int
    n_bars: int
    parts: list[int]                      # part indices the sequence may play
    chords: list[Any] | None              # per generated bar: Chord, None ("N") or "free"
    known: list[KnownBar | None]
    drums: bool = False
    needed: frozenset[int] = frozenset()  # parts a draft must play in its new bars (else drawn again)
    results: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Sampling:
    """How tokens are drawn: the sketch options shared by every pass."""

    temperature: float
    top_k: int | None
    top_p: float | None
    free_pitch: bool
    key_strength: float


def part_list(text: Sequence[str] | str, parts: Sequence[str], what: str) -> list[str]:
    """The parts named in ``text`` (comma-separated or a list), in band order; ``what`` names the argument.
    An empty name ("melody,") is an unknown part, as in every list of parts."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for item in (str(x).strip() for x in items):
        if item not in parts:
            raise ConfigError(f"{what}: unknown part {item!r} (parts: {', '.join(parts)})")
        if item not in out:
            out.append(item)
    if not out:
        raise ConfigError(f"{what}: no parts named (parts: {', '.join(parts)})")
    return sorted(out, key=list(parts).index)


def styles_for(styles: Mapping[str, Any], style: str | None, drums: str | None, pitched: bool, drummed: bool,
                meter: str) -> tuple[str | None, str | None]:
    """The pitched style and the drum groove of an edit, checked against the song's meter.

    A groove named as the style (``style="funk"``) is the drums' idiom; pitched parts then take the
    default pitched style (pop)."""
    from soundart.music.sketch_band import FALLBACK_GROOVES

    pitched_styles = [s for s, i in styles.items() if i.pitched]
    grooves = [s for s, i in styles.items() if "drums" in i.parts]
    if style is not None and style not in styles:
        raise ConfigError(f"unknown style {style!r} (styles: {', '.join(pitched_styles)}; drum grooves: "
                          f"{', '.join(grooves)})")
    default = "pop" if "pop" in styles else pitched_styles[0]
    melodic = style if style is not None and styles[style].pitched else default
    groove = None
    if drummed:
        if drums is not None:
            groove = drums
        elif style is not None and "drums" in styles[style].parts:
            groove = style
        else:
            groove = FALLBACK_GROOVES.get(melodic)
            if groove is None:
                raise ConfigError(f"style {melodic} has no drums in its data: pick a groove for them with drums= "
                                  f"({', '.join(grooves)})")
        if groove not in grooves:
            raise ConfigError(f"unknown drum groove {groove!r} (grooves: {', '.join(grooves)})")
        if meter not in styles[groove].drum_meters:
            raise ConfigError(f"the song is in {meter}, which {groove}'s drums were not learnt in (their meters: "
                              f"{', '.join(styles[groove].drum_meters)})")
    elif drums is not None:
        raise ConfigError(f"drums={drums} names a groove, but no drums are to be written")
    if pitched and meter not in styles[melodic].meters:
        raise ConfigError(f"the song is in {meter}, which is not in {melodic}'s training data (its meters: "
                          f"{', '.join(styles[melodic].meters)})")
    return (melodic if pitched else None), groove


def bar_chords(song: Song, first: int, n: int) -> list[Any]:
    """The song's chord of each bar ``first .. first + n - 1`` ("free" past its end)."""
    from soundart.music.chords import chord_from_token

    return [chord_from_token(song.chords[b]) if b < song.n_bars else "free" for b in range(first, first + n)]


def derived_notes(codec: Codec, song: Song, style: str | None, skip: Sequence[str] = ()) -> list[Note]:
    """Parts the style's data derives from chord labels (``band_data.DERIVED_PARTS``: pop's bass, the
    folk and jazz chords and bass) that the song lacks, derived the same way from the song's own chords,
    for the model to hear; never written out. A model that always heard them, asked to play without
    them, pushed their notes into the other parts (a continued pop verse's melody climbed two octaves
    and its chords doubled). ``skip``: parts the edit writes anew."""
    from soundart.music.band_data import BASS, CHORDS, DERIVED_PARTS, realize_chords
    from soundart.music.chords import chord_from_token

    chord_low, bass = DERIVED_PARTS.get(style or "", (None, False))
    parts = list(codec.config.parts)
    absent = {p for p in ("chords", "bass") if p in parts and p not in song.parts and p not in skip}
    chord_low = chord_low if "chords" in absent else None
    bass = bass and "bass" in absent
    if chord_low is None and not bass:
        return []
    bar = song.bar_steps
    segments = [(b * bar, (b + 1) * bar, chord_from_token(c)) for b, c in enumerate(song.chords)]
    index = {CHORDS: parts.index("chords") if "chords" in parts else -1, BASS: parts.index("bass") if bass else -1}
    return [Note(n.start, n.duration, n.pitch, n.velocity, index[n.program])
            for n in realize_chords(segments, song.meter, chord_low, bass=bass,
                                    steps_per_quarter=codec.config.steps_per_quarter)]


def prompt_tokens(codec: Codec, song: Song, style: str, first_bar: int, drum_row: bool,
                  derived: Sequence[Note] = ()) -> list[int]:
    """Header + the song's bars before ``first_bar`` (at most CONTEXT_BARS) of the row's kind + BAR;
    ``derived``: notes of derived parts the model hears with them (:func:`derived_notes`)."""
    drum = codec.drum_program
    start = max(0, first_bar - CONTEXT_BARS)
    lo, hi = start * song.bar_steps, first_bar * song.bar_steps
    notes = [Note(n.start - lo, n.duration, n.pitch, n.velocity, n.program) for n in (*song.notes, *derived)
             if lo <= n.start < hi and (n.program == drum) == drum_row]
    chords = ["N"] * (first_bar - start) if drum_row else song.chords[start:first_bar]
    piece = Piece(notes, song.meter, song.tempo, song.key, style, chords)
    body = codec.encode(piece, eos=False, n_bars=first_bar - start)[Codec.HEADER_LEN:] if first_bar > start else []
    return codec.header(style, song.key, song.meter, song.tempo) + body + [codec.bar]


def run_plans(step_model: Any, codec: Codec, plans: list[Plan], copies: int, sampling: Sampling, rng: Any,
         progress: Any) -> None:
    """Generate ``copies`` drafts of every plan (``plan.results``: decoded pieces with their scores)."""
    from soundart.music.sample import generate
    from soundart.music.sketch_band import MAX_DRAWS

    for p in plans:
        p.results = [None] * copies
    todo = [(p, c) for p in plans for c in range(copies)]
    bass = codec.config.parts.index("bass") if "bass" in codec.config.parts else None
    for attempt in range(MAX_DRAWS):
        for length in sorted({len(p.prompt) for p, _ in todo}):  # one batch per prompt length
            batch = [(p, c) for p, c in todo if len(p.prompt) == length]
            results = generate(step_model, codec, [p.prompt for p, _ in batch], max(p.n_bars for p, _ in batch),
                               temperature=sampling.temperature, top_k=sampling.top_k, top_p=sampling.top_p,
                               seed=int(rng.integers(2**31)), programs=[p.parts for p, _ in batch],
                               in_key=not sampling.free_pitch, key_strength=sampling.key_strength,
                               chords=[p.chords for p, _ in batch], known=[p.known for p, _ in batch],
                               bass_part=bass, progress=progress if attempt == 0 else None)
            for (p, c), res in zip(batch, results):
                p.results[c] = (codec.decode(res.tokens), res.score)
        # a draft whose new bars lack a part it must play (a track that would stop) is drawn again
        todo = [(p, c) for p, c in todo if not p.needed <= {n.program for n in new_notes(
            codec, p, p.results[c][0], set(p.parts))}]
        if not todo:
            break


def new_notes(codec: Codec, plan: Plan, piece: Piece, free: set[int],
               bars: Sequence[bool] | None = None) -> list[Note]:
    """The notes ``plan`` wrote anew (of the ``free`` parts, in the bars where ``bars`` is true, default
    all), on the song's grid."""
    prompt_bars = max(0, plan.prompt.count(codec.bar) - 1)
    bar_len = codec.config.bar_steps(piece.meter)
    out = []
    for n in piece.notes:
        b = n.start // bar_len - prompt_bars
        if 0 <= b < plan.n_bars and n.program in free and (bars is None or bars[b]):
            out.append(Note(n.start + (plan.first_bar - prompt_bars) * bar_len, n.duration, n.pitch, n.velocity,
                            n.program))
    return out


def add_to_track(inst: Any, song: Song, notes: Sequence[Note], end_step: int | None = None) -> None:
    """Write band notes into a MIDI track at the song's own times (cut at ``end_step``).

    A new note never overlaps a note of the same pitch already in the track: one MIDI channel cannot
    hold two, and read back the earlier note would end where the later one starts (a user's note held
    into a regenerated span came back shorter). It starts when the held note ends (dropped if nothing
    is left) and ends where a later one starts."""
    import pretty_midi

    sounding: dict[int, list[tuple[float, float]]] = {}
    for x in inst.notes:
        sounding.setdefault(int(x.pitch), []).append((x.start, x.end))
    for n in notes:
        end = n.start + n.duration if end_step is None else min(n.start + n.duration, end_step)
        start_s, end_s = song.seconds_at(n.start), song.seconds_at(max(end, n.start + 1))
        if n.start * song.step_ticks + song.origin_tick < 0:
            continue  # before the file's first tick (the empty beats of a pickup bar)
        for a, b in sorted(sounding.get(int(n.pitch), ())):
            if a <= start_s < b:
                start_s = b
            elif start_s < a < end_s:
                end_s = a
        if end_s - start_s < 1e-4:
            continue
        sounding.setdefault(int(n.pitch), []).append((start_s, end_s))
        inst.notes.append(pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch), start=start_s, end=end_s))
    inst.notes.sort(key=lambda x: (x.start, x.pitch))


def edit_result(codec: Codec, song: Song, midi: Any, notes: list[Note], style: str, parts: Sequence[str],
            bar_chords: list[str] | None = None, groove: str | None = None) -> Any:
    """The :class:`~soundart.music.sketch.Sketch` of an edited song."""
    from soundart.music.chords import chord_from_token
    from soundart.music.sketch import Sketch

    chords = bar_chords if bar_chords is not None else song.chords
    piece = Piece(notes, song.meter, song.tempo, song.key, style, list(chords))
    symbols = [str(c) if (c := chord_from_token(x)) is not None else "" for x in chords]
    return Sketch(midi, piece, style, tuple(parts), symbols, [],
                  bar_seconds=song.bar_steps * 60.0 / song.tempo / codec.config.steps_per_quarter,
                  drums=groove or "")
