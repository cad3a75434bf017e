"""What every benchmark here shares: timing (median of repeats, warm or as a fresh process; wall and
process CPU time together; one timed call that keeps its result) and tables.

    from benchkit import median_seconds, median_wall_cpu, timed, wall, table
    print(table(["command", "median wall s", "ratio"], rows))

Run a benchmark as ``python benchmarks/bench_NAME.py``: its folder is then on ``sys.path``.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def median_seconds(fn: Callable[[], Any], repeats: int, warm: bool = True,
                   sync: Callable[[], Any] = lambda: None) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one untimed warm-up call (filterbanks,
    FFT plans, jit caches) unless ``warm`` is False; ``sync`` waits for a GPU before the clock is read."""
    if warm:
        fn()
        sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_wall_cpu(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, float]:
    """Median wall time and median CPU time of this process for ``fn()`` over ``repeats`` calls (no warm-up):
    on a shared CPU the CPU time says what one free core would give."""
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``fn(*args, **kwargs)`` once: its result and its wall time in seconds."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def wall(cmd: Sequence[str], repeats: int = 1, **run: Any) -> float:
    """Median wall time of a fresh process ``cmd`` (start-up included) over ``repeats`` runs; it must
    succeed (its stderr is shown when it does not)."""
    def once() -> None:
        done = subprocess.run(list(cmd), capture_output=True, text=True, **run)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    return median_seconds(once, repeats, warm=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], floats: str = ".2f") -> str:
    """A Markdown table (as pasted into the README); floats formatted with ``floats``, a ``|`` inside a cell
    escaped."""
    def cell(x: Any) -> str:
        return (format(x, floats) if isinstance(x, float) else str(x)).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)
