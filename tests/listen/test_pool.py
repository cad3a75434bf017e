"""The front end's process pool: order, a bounded window, a dead worker, stopping early."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pytest

from soundart.listen.pool import ordered_map


def _square_slowly(x: int) -> int:
    time.sleep(0.002 * (x % 3))  # finish out of order
    return x * x


def _die_on_7(x: int) -> int:
    if x == 7:
        os.kill(os.getpid(), signal.SIGKILL)  # a decoder crash or the OOM killer, for real
    return x


def _slow(x: int) -> int:
    time.sleep(0.05)
    return x


def test_results_in_order():
    assert list(ordered_map(_square_slowly, list(range(40)), 2)) == [x * x for x in range(40)]
    assert list(ordered_map(_square_slowly, list(range(5)), 1)) == [x * x for x in range(5)]


def test_a_dead_worker_is_reported_and_replaced():
    out = list(ordered_map(_die_on_7, list(range(12)), 2, on_crash=lambda item, code: ("died", item, code)))
    assert out[:7] == list(range(7)) and out[8:] == list(range(8, 12))
    assert out[7] == ("died", 7, -signal.SIGKILL)
    with pytest.raises(RuntimeError, match="exit code -9"):
        list(ordered_map(_die_on_7, list(range(12)), 2))


def _mark(job: tuple[str, int]) -> int:
    folder, x = job
    open(os.path.join(folder, str(x)), "w").close()  # which jobs a worker has started
    return x


def test_window_bounds_the_jobs_sent_ahead(tmp_path):
    """A consumer that stops taking results stops the dispatch: at most `window` jobs are out."""
    results = ordered_map(_mark, [(str(tmp_path), i) for i in range(100)], 2, window=8)
    assert next(results) == 0
    time.sleep(0.5)  # long enough for all 100 if nothing held them back
    assert len(os.listdir(tmp_path)) <= 1 + 8
    assert len(mp.active_children()) == 2
    assert list(results) == list(range(1, 100))


def test_closing_early_stops_the_workers_at_once():
    results = ordered_map(_slow, list(range(1000)), 2)
    next(results)
    children = mp.active_children()
    start = time.monotonic()
    results.close()
    assert time.monotonic() - start < 2
    assert not any(c.is_alive() for c in children)
