"""``analyze`` records written as they come (table, JSON, JSON Lines, CSV), and read back for ``--resume``.

Each record is written with one ``write`` and flushed before the next file is analysed, with
Ctrl-C held back meanwhile, so an interrupted or killed run leaves every finished file in the
output as a whole line. The table streams too: its columns have fixed widths and the file name
comes last, so no row has to wait for the longest name. ``done_files`` reads the files an earlier
JSON Lines or CSV output holds (and cuts off a last line a killed run left half-written) so a
resumed run appends to it without repeating or losing a file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from soundart.errors import ConfigError, SoundartError

FORMATS = ("table", "json", "jsonl", "csv")
# (column, width) of the table: the essentials in 100 columns (every field is in json/jsonl/csv); the file
# name comes last so that rows stream with fixed widths
TABLE_COLUMNS = [("genre", 10), ("genre_p", 5), ("mood", 15), ("mood_p", 5), ("tempo_bpm", 5), ("key", 8),
                 ("note", 9), ("file", 0)]
TABLE_LABELS = {"genre_p": "p", "mood_p": "p", "tempo_bpm": "bpm"}
TABLE_WIDTH = 100
CSV_COLUMNS = ["file", "duration_s", "genre", "genre_p", "genres", "mood", "mood_p", "moods", "valence",
               "arousal", "tags", "emotions", "tempo_bpm", "beat_strength", "key", "key_confidence",
               "loudness_lufs", "loudness_range_lu", "brightness_hz", "onset_rate", "short", "silent",
               "analysed_s", "warnings", "error"]
SEGMENT_COLUMNS = ["file", "start_s", "end_s", "genre", "genre_p", "mood", "mood_p", "valence", "arousal"]


class OutputError(SoundartError):
    """The output cannot be written (disk full, read-only folder ...)."""


def format_for(path: Path | None, fmt: str | None) -> str:
    """``fmt``, else the one an output name suggests (.jsonl/.ndjson, .json, .csv), else table."""
    if fmt:
        return fmt
    suffix = path.suffix.lower() if path is not None else ""
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}.get(suffix, "table")


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done (a record is written whole or not at all)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught:
            if callable(old) and old is not signal.default_int_handler:
                old(signal.SIGINT, None)
            else:
                raise KeyboardInterrupt


def _labels(pairs: list[tuple[str, float]]) -> str:
    return ";".join(f"{name}:{p:.3f}" for name, p in pairs)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ";".join(_cell(v) for v in value)
    return str(value)


def _note(rec: dict[str, Any]) -> str:
    """silent, short, cut (only the first --max-duration seconds analysed): at most 9 characters."""
    return ",".join([k for k in ("silent", "short") if rec.get(k)] + (["cut"] if "analysed_s" in rec else []))


class RecordWriter:
    """Writes records to ``stream`` in ``fmt``, one flushed write per record.

    ``segments``: one table/CSV row per segment instead of per file. ``header``: write the CSV
    header / table heading (not when appending to a CSV that has one).
    """

    def __init__(self, stream: IO[str], fmt: str, name: str, segments: bool = False, header: bool = True) -> None:
        if fmt not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.stream, self.fmt, self.name, self.segments = stream, fmt, name, segments
        self.count = 0
        self.header = header
        self.columns = SEGMENT_COLUMNS if segments else CSV_COLUMNS

    def _emit(self, text: str) -> None:
        with sigint_held():
            try:
                self.stream.write(text)
                self.stream.flush()
            except OSError as exc:
                raise OutputError(f"cannot write {self.name}: {exc.strerror or exc}") from None

    def _csv_rows(self, rows: list[dict[str, Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        if self.header:
            writer.writeheader()
            self.header = False
        for row in rows:
            writer.writerow({k: _labels(row[k]) if k in ("genres", "moods", "tags", "emotions") and row.get(k)
                             else _cell(row.get(k)) for k in self.columns})
        return buffer.getvalue()

    def _table_rows(self, rows: list[dict[str, Any]]) -> str:
        cols = ([(c, w) for c, w in TABLE_COLUMNS if c in ("genre", "genre_p", "mood", "mood_p", "valence",
                                                           "arousal")]
                if self.segments else TABLE_COLUMNS)
        if self.segments:
            cols = [("start_s", 8), ("end_s", 8), *cols, ("file", 0)]
        lines = []
        if self.header:
            lines.append("  ".join(TABLE_LABELS.get(c, c).ljust(w) for c, w in cols).rstrip())
            lines.append("  ".join("-" * (w or 4) for c, w in cols))
            self.header = False
        for row in rows:
            cells = [(_note(row) if c == "note" else _cell(row.get(c))).ljust(w) for c, w in cols]
            line = "  ".join(cells).rstrip()
            if len(line) > TABLE_WIDTH:  # a long path keeps its end, where the file's own name is
                keep = TABLE_WIDTH - (len(line) - len(cells[-1])) - 1
                line = line[:len(line) - len(cells[-1])] + "…" + cells[-1][-max(keep, 8):]
            lines.append(line)
        return "".join(line + "\n" for line in lines)

    def write(self, rec: dict[str, Any]) -> None:
        """Write one record; a failure record (``"error"``) goes to JSON/JSONL/CSV (with ``--segments``: a
        row with the file name alone), not to the table."""
        if self.fmt == "jsonl":
            self._emit(json.dumps(rec, ensure_ascii=False) + "\n")
        elif self.fmt == "json":
            body = "\n".join("  " + line for line in json.dumps(rec, indent=2, ensure_ascii=False).splitlines())
            self._emit(("[\n" if self.count == 0 else ",\n") + body)
        elif self.fmt == "csv":
            rows = [{"file": rec["file"], **s} for s in rec.get("segments", [])] if self.segments else [rec]
            # a failed or silent file has no segments: a row with its name alone, so --resume sees it
            self._emit(self._csv_rows(rows or [{"file": rec["file"]}]))
        elif "error" not in rec:
            rows = [{"file": rec["file"], **s} for s in rec.get("segments", [])] if self.segments else [rec]
            if rows or self.header:
                self._emit(self._table_rows(rows))
        self.count += 1

    def close(self) -> None:
        """Finish the output: close the JSON array (also after an interruption, so it stays valid)."""
        if self.fmt == "json":
            self._emit("[\n]\n" if self.count == 0 else "\n]\n")


class Output:
    """Records to stdout or to a file opened on the first record (a run refused before any record
    leaves no file behind); ``append`` goes on with an earlier output (``--resume``)."""

    def __init__(self, path: Path | None, fmt: str, segments: bool = False, append: bool = False) -> None:
        self.path, self.fmt, self.segments, self.append = path, fmt, segments, append
        self.stream: IO[str] | None = None
        self.writer: RecordWriter | None = None

    def write(self, rec: dict[str, Any]) -> None:
        if self.writer is None:
            if self.path is None:
                self.stream = sys.stdout
            else:
                try:
                    self.stream = open(self.path, "a" if self.append else "w", encoding="utf-8")
                except OSError as exc:
                    raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            header = not (self.append and self.path is not None and self.path.stat().st_size > 0)
            self.writer = RecordWriter(self.stream, self.fmt, str(self.path or "stdout"), self.segments, header)
        self.writer.write(rec)

    def close(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        finally:
            if self.stream is not None and self.stream is not sys.stdout:
                with contextlib.suppress(OSError):
                    self.stream.close()


def done_files(path: str | os.PathLike, fmt: str, segments: bool = False) -> set[str]:
    """The files an earlier ``analyze`` output (JSON Lines or CSV) holds, failures included.

    A last line without its newline (a run killed while writing it) is cut off the file, so the
    records appended next start on a line of their own. A file in another format, or a CSV with
    other columns, is refused with a ConfigError.
    """
    p = Path(path)
    if fmt not in ("jsonl", "csv"):
        raise ConfigError(f"resume needs --format jsonl or csv (a {fmt} output cannot be appended to)")
    if not p.exists() or p.stat().st_size == 0:
        return set()
    if not p.is_file():
        raise ConfigError(f"{p}: not a regular file; cannot resume from it")
    with open(p, "rb+") as fh:
        data = fh.read()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            fh.truncate(complete)
    try:
        text = data[:complete].decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a {fmt} output of soundart analyze (not UTF-8 text)") from None
    files: set[str] = set()
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                files.add(os.path.normpath(rec["file"]))
            except (ValueError, KeyError, TypeError):
                raise ConfigError(f"{p}: line {number} is not an analyze record; is it a --format jsonl "
                                  f"output?") from None
        return files
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return files
    if header != (SEGMENT_COLUMNS if segments else CSV_COLUMNS):
        what = "--format csv --segments" if segments else "--format csv"
        raise ConfigError(f"{p}: its columns are not those of {what}; resume into a file of its own")
    for row in reader:
        if row:
            files.add(os.path.normpath(row[0]))
    return files
