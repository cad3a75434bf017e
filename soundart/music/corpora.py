"""Music datasets: the music21 corpus, a folder of the user's MIDI files, the piano-roll benchmarks.

Everything becomes token sequences for a token model (``tokens.Codec`` for
event tokens, ``frames.FrameCodec`` for the .mat benchmarks). Parsing the
music21 corpus is slow, so parsed pieces are cached on disk as JSON (in
``data/cache/music/`` of a source checkout, else ``~/.cache/soundart/music``;
``SOUNDART_CACHE`` overrides). Splits are made per source file (a hash of its
id), so one piece (or one opus of songs) never lands in two splits.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundart.errors import BadInputError, ConfigError
from soundart.music.midi_pieces import midi_to_piece
from soundart.music.tokens import DRUMS, Codec, CodecConfig, Note, Piece, estimate_key

# style -> (music21 corpus folders, default GM program, default tempo, most source files read)
# (each Essen file is an opus of a few hundred songs, so a few files are plenty)
MUSIC21_STYLES: dict[str, tuple[tuple[str, ...], int, float, int]] = {
    "chorale": (("bach",), 0, 84.0, 10_000),
    "folk": (("essenFolksong",), 73, 100.0, 4),
    "fiddle": (("ryansMammoth",), 40, 112.0, 10_000),
    "renaissance": (("palestrina",), 0, 72.0, 10_000),
    "classical": (("beethoven", "mozart", "haydn"), 40, 100.0, 10_000),
}


def cache_dir() -> Path:
    env = os.environ.get("SOUNDART_CACHE")
    if env:
        return Path(env) / "music"
    repo_data = Path(__file__).resolve().parents[2] / "data"
    if (repo_data / "README.md").exists():
        return repo_data / "cache" / "music"
    return Path.home() / ".cache" / "soundart" / "music"


# ---- pieces <-> JSON ---------------------------------------------------------------------------
def piece_to_json(pid: str, piece: Piece) -> dict[str, Any]:
    return {"id": pid, "meter": piece.meter, "tempo": piece.tempo, "key": piece.key, "style": piece.style,
            "notes": [[n.start, n.duration, n.pitch, n.velocity, n.program] for n in piece.notes],
            "chords": list(piece.chords)}


def piece_from_json(d: dict[str, Any]) -> tuple[str, Piece]:
    return d["id"], Piece([Note(*n) for n in d["notes"]], d["meter"], d["tempo"], d["key"], d["style"],
                          list(d.get("chords", [])))


# ---- music21 ------------------------------------------------------------------------------------
def pickup_shift(parts: Any, bar_q: float) -> float:
    """Quarter notes to shift a music21 score by so that a pickup (anacrusis) bar ends where bar 2
    starts on a downbeat: the first measure's left padding, else what it lacks of ``bar_q``."""
    first = next(iter(parts[0].getElementsByClass("Measure")), None)
    if first is None:
        return 0.0
    pad, dur = float(first.paddingLeft or 0.0), float(first.duration.quarterLength)
    if pad > 0:
        return pad
    return bar_q - dur if 0 < dur < bar_q else 0.0


def load_pieces(path: Path) -> list[tuple[str, Piece]]:
    """The pieces of a JSON cache written by :func:`save_pieces`."""
    return [piece_from_json(d) for d in json.loads(path.read_text())]


def save_pieces(path: Path, pieces: list[tuple[str, Piece]]) -> None:
    """Write ``[(id, Piece), ...]`` as a JSON cache, atomically (a run stopped half-way leaves none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps([piece_to_json(pid, p) for pid, p in pieces]))
    os.replace(tmp, path)


def _score_to_piece(score: Any, style: str, steps_per_quarter: int) -> Piece | None:
    from music21 import meter as m21meter
    from music21 import tempo as m21tempo

    _, default_program, default_tempo, _ = MUSIC21_STYLES[style]
    flat = score.flatten()
    ts = next(iter(flat.getElementsByClass(m21meter.TimeSignature)), None)
    meter = ts.ratioString if ts is not None else "4/4"
    if meter not in CodecConfig().meters:
        return None
    mm = next(iter(flat.getElementsByClass(m21tempo.MetronomeMark)), None)
    tempo = float(mm.getQuarterBPM()) if mm is not None and mm.number else default_tempo
    parts = list(score.parts) or [score]
    bar_q = CodecConfig().bar_steps(meter) / steps_per_quarter
    shift = pickup_shift(parts, bar_q)
    notes: list[Note] = []
    for part in parts:
        program = default_program
        inst = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if inst is not None and inst.midiProgram is not None and style == "classical":
            program = int(inst.midiProgram)
        for el in part.stripTies().flatten().notes:
            start = int(round((float(el.offset) + shift) * steps_per_quarter))
            dur = max(1, int(round(float(el.duration.quarterLength) * steps_per_quarter)))
            vel = el.volume.velocity if el.volume is not None and el.volume.velocity else 80
            for p in getattr(el, "pitches", ()):
                if 0 <= p.midi < 128:
                    notes.append(Note(start, dur, int(p.midi), int(vel), program))
    if len(notes) < 8:
        return None
    key = estimate_key([n.pitch for n in notes], [n.duration for n in notes])
    return Piece(notes, meter, tempo, key, style)


def music21_pieces(style: str, limit: int | None = None, steps_per_quarter: int = 4,
                   progress: bool = True) -> list[tuple[str, Piece]]:
    """Parse (once; then read from the cache) up to ``limit`` source files of a music21 corpus style.

    Returns ``[(piece_id, Piece), ...]``; a piece id is ``corpus/path[#n]`` (n-th song of an opus).
    """
    if style not in MUSIC21_STYLES:
        raise ConfigError(f"unknown corpus style {style!r} (known: {', '.join(MUSIC21_STYLES)})")
    cap = MUSIC21_STYLES[style][3]
    limit = min(limit, cap) if limit else (cap if cap < 10_000 else None)
    cache = cache_dir() / f"m21-{style}-{limit or 'all'}-spq{steps_per_quarter}.json"
    if cache.exists():
        return load_pieces(cache)
    from music21 import corpus

    folders = MUSIC21_STYLES[style][0]
    paths = sorted(str(p) for p in corpus.getPaths() if str(p).split("/corpus/")[-1].split("/")[0] in folders)
    if style == "chorale":
        paths = [p for p in paths if "/bwv" in p]
    paths = paths[:limit] if limit else paths
    out: list[tuple[str, Piece]] = []
    iterator = paths
    if progress:
        from soundart.progress import progress as progress_bar

        iterator = progress_bar(paths, desc=f"parsing {style}", unit="file")
    for path in iterator:
        rel = path.split("/corpus/")[-1]
        try:
            parsed = corpus.parse(path)
        except Exception:  # music21 raises many kinds on odd files; skip them
            continue
        scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
        for i, score in enumerate(scores):
            try:
                piece = _score_to_piece(score, style, steps_per_quarter)
            except Exception:
                piece = None
            if piece is not None:
                out.append((f"{rel}#{i}" if len(scores) > 1 else rel, piece))
    save_pieces(cache, out)
    return out


def midi_folder_pieces(folder: str | Path, style: str = "other",
                       config: CodecConfig | None = None) -> tuple[list[tuple[str, Piece]], list[str]]:
    """Every ``.mid``/``.midi`` file under ``folder`` as pieces; returns (pieces, one-line problems)."""
    from soundart.errors import SoundartError
    from soundart.io import load_midi

    root = Path(folder)
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder of MIDI files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise BadInputError(f"{root}: holds no .mid or .midi files")
    pieces, problems = [], []
    for f in files:
        try:
            pieces.append((str(f.relative_to(root)), midi_to_piece(load_midi(f), config, style)))
        except SoundartError as exc:
            problems.append(str(exc))
    return pieces, problems


def split_of(piece_id: str, val_fraction: float, test_fraction: float = 0.0) -> str:
    """"train" / "valid" / "test" from a stable hash of the piece's source file (before any '#')."""
    source = piece_id.split("#")[0]
    u = int(hashlib.sha1(source.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "valid"
    return "train"


# ---- datasets -------------------------------------------------------------------------------------
class TokenDataset:
    """Token windows as a map-style dataset: ``ds[i] -> LongTensor (T,)``.

    With ``transpose=(lo, hi)`` each item is shifted by a random number of
    semitones in ``[lo, hi]`` (event codec only; drums stay; a shift that
    would leave the MIDI range is replaced by 0).
    """

    def __init__(self, windows: list[list[int]], codec: Codec | None = None,
                 transpose: tuple[int, int] = (0, 0)) -> None:
        self.windows, self.codec, self.transpose = windows, codec, tuple(transpose)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int):
        import torch

        w = self.windows[i]
        lo, hi = self.transpose
        if self.codec is not None and (lo or hi):
            shifted = self.codec.transpose(w, random.randint(lo, hi))
            w = shifted if shifted is not None else w
        return torch.tensor(w, dtype=torch.long)


def collate_tokens(items: list[Any]) -> dict[str, Any]:
    """Pad token sequences to one length: ``{"tokens": (B, T) long, "mask": (B, T) bool}`` (PAD = 0)."""
    import torch

    T = max(len(x) for x in items)
    tokens = torch.zeros(len(items), T, dtype=torch.long)
    mask = torch.zeros(len(items), T, dtype=torch.bool)
    for i, x in enumerate(items):
        tokens[i, : len(x)] = x
        mask[i, : len(x)] = True
    return {"tokens": tokens, "mask": mask}


@dataclass
class MusicDataConfig:
    """Data section of a token-model recipe.

    source : "music21" (``styles``), "folder" (``folder`` of MIDI files, style ``folder_style``),
        "band" (band pieces of ``music.band_data``: pitched ``styles`` and Groove ``drum_styles``,
        for a codec with parts and chords), or a piano-roll benchmark: "jsb", "nottingham" or a
        path to a .mat file (frame tokens).
    drum_styles : Groove styles of a "band" source.
    test_fraction : share of source files held out for the test figures ("band" source).
    max_windows_per_style : keep at most this many training windows of each style (None = all).
    limit : at most this many source files per music21 style (None = all).
    max_len : tokens per training window.
    transpose : random transposition range in semitones (event tokens only).
    val_fraction : share of source files held out for validation (music21 / folder).
    """

    source: str = "music21"
    styles: tuple[str, ...] = ("chorale", "folk", "fiddle")
    limit: int | None = None
    folder: str = ""
    folder_style: str = "other"
    max_len: int = 512
    transpose: tuple[int, int] = (-5, 6)
    val_fraction: float = 0.05
    drum_styles: tuple[str, ...] = ()
    test_fraction: float = 0.0
    max_windows_per_style: int | None = None


def is_frame_source(source: str) -> bool:
    return source.lower() in ("jsb", "nottingham") or source.lower().endswith(".mat")


@dataclass
class TokenData:
    train: TokenDataset
    valid: TokenDataset
    description: str
    pieces: dict[str, Any]  # split -> pieces (rolls for .mat, (id, Piece) for events)


def prepare_token_data(cfg: MusicDataConfig, codec_config: CodecConfig | None = None) -> TokenData:
    """Load, split and window the data a recipe names (shared by every token model's task)."""
    if cfg.max_len < 16:
        raise ConfigError(f"data.max_len must be >= 16, got {cfg.max_len}")
    if is_frame_source(cfg.source):
        from soundart.music.frames import FrameCodec, load_mat, resolve_benchmark

        sets = load_mat(cfg.source)
        fc = FrameCodec()
        windows = {s: _frame_windows([fc.encode(r) for r in sets[s]], cfg.max_len) for s in ("train", "valid")}
        name = resolve_benchmark(cfg.source).name
        desc = (f"{name} training split ({len(sets['train'])} pieces, "
                f"{sum(len(r) for r in sets['train'])} frames), frame tokens")
        return TokenData(TokenDataset(windows["train"]), TokenDataset(windows["valid"]), desc, sets)
    codec = Codec(codec_config)
    if cfg.source == "music21":
        pieces = [p for style in cfg.styles for p in music21_pieces(style, cfg.limit, codec.config.steps_per_quarter)]
        desc = f"music21 corpus: {', '.join(cfg.styles)}"
    elif cfg.source == "band":
        from soundart.music.band_data import band_pieces, drum_pieces

        if not codec.config.parts:
            raise ConfigError("data.source band needs a codec with parts (model.codec_config.parts)")
        pieces = [p for style in cfg.styles for p in band_pieces(style, cfg.limit)]
        pieces += [p for style in cfg.drum_styles for p in drum_pieces(style, cfg.limit)]
        desc = f"band pieces: {', '.join(cfg.styles)}; Groove drums: {', '.join(cfg.drum_styles)}"
    elif cfg.source == "folder":
        pieces, _ = midi_folder_pieces(cfg.folder, cfg.folder_style, codec.config)
        desc = f"MIDI folder {cfg.folder}"
    else:
        raise ConfigError(f"data.source {cfg.source!r}: use music21, folder, jsb, nottingham or a .mat path")
    if not pieces:
        raise BadInputError(f"data source {cfg.source!r} gave no usable pieces")
    splits: dict[str, list[tuple[str, Piece]]] = {"train": [], "valid": [], "test": []}
    for pid, piece in pieces:
        splits[split_of(pid, cfg.val_fraction, cfg.test_fraction)].append((pid, piece))
    if not splits["valid"]:  # tiny corpora: hold out the last source file
        splits["valid"].append(splits["train"].pop())
    windows = {s: [w for _, p in splits[s] for w in bar_windows(codec.encode(p), codec, cfg.max_len)]
               for s in ("train", "valid")}
    if cfg.max_windows_per_style:
        windows["train"] = _cap_per_style(windows["train"], codec, cfg.max_windows_per_style)
    n_notes = sum(len(p.notes) for _, p in splits["train"])
    lo, hi = cfg.transpose
    desc += f" ({len(splits['train'])} pieces, {n_notes} notes in training; transposed {lo}..{hi})"
    if cfg.test_fraction:
        desc += f"; held out by song/session: {len(splits['valid'])} validation, {len(splits['test'])} test pieces"
    return TokenData(TokenDataset(windows["train"], codec, cfg.transpose), TokenDataset(windows["valid"], codec),
                     desc, splits)


def bar_windows(tokens: Sequence[int], codec: Codec, max_len: int) -> list[list[int]]:
    """Training windows of one encoded piece: the header + whole bars from each bar onward.

    Every window opens with the piece's control header and starts on a BAR, so
    a model always learns with its controls in view; windows are cut at
    ``max_len`` tokens (the last one keeps EOS when it fits).
    """
    if max_len <= Codec.HEADER_LEN + 1:
        raise ConfigError(f"max_len must exceed the header ({Codec.HEADER_LEN + 1}), got {max_len}")
    head = list(tokens[: Codec.HEADER_LEN])
    body = list(tokens[Codec.HEADER_LEN:])
    bars = [i for i, t in enumerate(body) if t == codec.bar]
    out: list[list[int]] = []
    span = max_len - len(head)
    last = None
    for b in bars or [0]:
        if last is None or b - last >= span // 2 or b + span >= len(body) and last + span < len(body):
            out.append(head + body[b: b + span])
            last = b
    return out


def _cap_per_style(windows: list[list[int]], codec: Codec, cap: int) -> list[list[int]]:
    """At most ``cap`` windows of each style (a seeded random subset), so one big corpus does not
    drown the small ones."""
    by_style: dict[int, list[list[int]]] = {}
    for w in windows:
        by_style.setdefault(w[1], []).append(w)  # w[1] is the STYLE token
    out: list[list[int]] = []
    rnd = random.Random(0)
    for style in sorted(by_style):
        ws = by_style[style]
        out += ws if len(ws) <= cap else rnd.sample(ws, cap)
    return out


def _frame_windows(seqs: list[list[int]], max_len: int) -> list[list[int]]:
    """Whole pieces when they fit; otherwise windows of ``max_len`` starting at BOS and at frame starts."""
    out = []
    for s in seqs:
        if len(s) <= max_len:
            out.append(s)
            continue
        starts = [0] + [i + 1 for i, t in enumerate(s) if t == 2]
        last = None
        for st in starts:
            if st >= len(s) - 1:
                break
            if last is None or st - last >= max_len // 2:
                out.append(s[st: st + max_len])
                last = st
    return out


__all__ = ["MUSIC21_STYLES", "MusicDataConfig", "TokenDataset", "collate_tokens", "prepare_token_data",
           "music21_pieces", "midi_folder_pieces", "split_of", "DRUMS"]
