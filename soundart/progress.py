"""Progress as people expect it: a bar with rate and ETA on a terminal, plain lines in a log.

``progress(...)`` returns a tqdm bar when stderr is a terminal. When it is not (a log file, a pipe, a
job scheduler), carriage-return frames would fill the log, so the same object prints one plain line
every ``every`` items or every 10% of the total instead (``desc: 40/400 file (10%), 12.3 file/s, ETA
0:00:29``), and a last line when it closes. ``quiet=True`` prints nothing. Either way it counts with
``update(n)``, iterates when given an iterable, and works as a context manager.

``SOUNDART_PROGRESS=bar|lines|none`` forces one kind (tests use it to see the log lines).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO


def progress(iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", quiet: bool = False, every: int | None = None, leave: bool = True,
             initial: int = 0, file: TextIO | None = None, unit_scale: bool = False) -> Any:
    """A progress reporter for ``total`` items (``len(iterable)`` when it has one).

    Parameters
    ----------
    iterable : items to pass through while counting them (optional; else call ``update``).
    total : number of items expected (None = unknown: lines every ``every`` items, no ETA).
    desc, unit : what is counted, e.g. ``desc="analyze", unit="file"``.
    quiet : print nothing.
    every : in a log, one line per this many items (default: every 10% of ``total``, else 100).
    leave : keep the terminal bar on screen when done.
    initial : items already done (a resumed run).
    file : where to write (default: stderr).
    """
    file = file or sys.stderr
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    mode = os.environ.get("SOUNDART_PROGRESS", "")
    if quiet or mode == "none":
        mode = "none"
    elif mode not in ("bar", "lines"):
        mode = "bar" if _is_terminal(file) else "lines"
    if mode == "bar":
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, initial=initial, file=file,
                    unit_scale=unit_scale, dynamic_ncols=True)
    return LogProgress(iterable, total=total, desc=desc, unit=unit, every=every, initial=initial,
                       file=file if mode == "lines" else None)


def _is_terminal(file: TextIO) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return False


class LogProgress:
    """Plain progress lines (or none when ``file`` is None), with the tqdm methods the code uses."""

    def __init__(self, iterable: Iterable[Any] | None, *, total: int | None, desc: str, unit: str,
                 every: int | None, initial: int, file: TextIO | None) -> None:
        self.iterable, self.total, self.desc, self.unit, self.file = iterable, total, desc, unit, file
        self.every = max(1, every or (-(-total // 10) if total else 100))
        self.n = self.start_n = initial
        self.start = time.monotonic()
        self.next_report = initial + self.every
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self.next_report and (self.total is None or self.n < self.total):
            self._line()
            self.next_report = (self.n // self.every + 1) * self.every

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for tqdm compatibility; a log line carries counts and rates only."""

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def write(self, text: str) -> None:
        if self.file is not None:
            print(text, file=self.file, flush=True)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.n > self.start_n:
                self._line()

    def _line(self) -> None:
        if self.file is None:
            return
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = (self.n - self.start_n) / elapsed
        text = f"{self.desc + ': ' if self.desc else ''}{self.n}"
        if self.total:
            text += f"/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%)"
        else:
            text += f" {self.unit}"
        text += f", {rate:.3g} {self.unit}/s"
        if self.total and rate > 0 and self.n < self.total:
            text += f", ETA {_clock((self.total - self.n) / rate)}"
        elif self.total and self.n >= self.total:
            text += f", {_clock(elapsed)} in all"
        print(text, file=self.file, flush=True)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Scaled:
    """Counts ``factor`` of an item per ``update(1)`` on ``bar`` (whole items only): e.g. a sketch
    of two sequences (pitched parts, drums) reports its bars once, not twice."""

    def __init__(self, bar: Any, factor: float) -> None:
        self.bar, self.factor, self.carry = bar, factor, 0.0

    def update(self, n: int = 1) -> None:
        self.carry += n * self.factor
        whole = int(self.carry + 1e-9)
        if whole:
            self.carry -= whole
            self.bar.update(whole)
