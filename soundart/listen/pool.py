"""An ordered, bounded, interruptible process pool for ``analyze``'s front end.

``multiprocessing.Pool.imap`` failed an archive three ways: on Ctrl-C every worker printed a
KeyboardInterrupt traceback and the main thread could wait forever in the pool's shutdown; it
feeds every task at once, so results pile up in memory when the consumer is slower; and a worker
that dies (a decoder crash, the OOM killer) leaves ``imap`` waiting forever. Here each worker
has its own pipe and takes one job at a time:

* workers ignore SIGINT, so Ctrl-C reaches the main process only; whenever the consumer stops
  (an exception, ``close()``, the end) the workers are terminated and joined with a timeout;
* at most ``window`` jobs are out between the last result yielded and the newest job sent, and
  each worker has its next job waiting in its pipe;
* a worker that dies is replaced, and its job's result is ``on_crash(item, exitcode)``.

Results come back in the order of ``items``.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

JOIN_TIMEOUT_S = 1.0
PREFETCH = 4  # jobs queued in a worker's pipe: enough that it never idles while this process is descheduled


def _serve(conn, fn: Callable[[Any], Any], init: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides what Ctrl-C means
    if init is not None:
        init()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        index, item = job
        conn.send((index, fn(item)))


class _Worker:
    def __init__(self, ctx, fn: Callable[[Any], Any], init: Callable[[], None] | None) -> None:
        self.conn, child = ctx.Pipe()
        # children are started with SIGINT ignored, so one that has not yet reached _serve cannot
        # print a KeyboardInterrupt traceback either
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        try:
            self.proc = ctx.Process(target=_serve, args=(child, fn, init), daemon=True)
            self.proc.start()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        child.close()
        self.jobs: deque[int] = deque()  # sent to it, in the order it will do them

    def stop(self, terminate: bool) -> None:
        if not terminate:
            try:
                self.conn.send(None)
            except OSError:
                terminate = True
        if terminate and self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(JOIN_TIMEOUT_S)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(JOIN_TIMEOUT_S)
        self.conn.close()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def ordered_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int, *,
                init: Callable[[], None] | None = None, on_crash: Callable[[Any, int], Any] | None = None,
                window: int | None = None) -> Iterator[Any]:
    """``fn(item)`` for each item, in order, computed by ``workers`` processes.

    Parameters
    ----------
    fn, init : picklable top-level functions; ``init()`` runs once in each worker process.
    items : the jobs (a list of paths, say).
    workers : processes; 1 or fewer runs everything in the calling process.
    on_crash : the result to yield for an item whose worker died, from (item, exit code);
        default: raise ``RuntimeError``.
    window : most jobs sent ahead of the next result to yield (default 8 per worker): what bounds
        memory when the consumer is slower than the workers.
    """
    n = len(items)
    if workers <= 1 or n <= 1:  # no worker: ``init`` is for worker processes, not the caller's
        for item in items:
            yield fn(item)
        return
    workers = min(workers, n)
    window = max(PREFETCH * workers, window or 8 * workers)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    pool: list[_Worker] = []
    done: dict[int, Any] = {}
    again: list[int] = []  # jobs queued on a worker that died before it reached them
    sent = given = 0
    finished = False
    try:
        pool = [_Worker(ctx, fn, init) for _ in range(workers)]
        while given < n:
            for i, w in enumerate(pool):
                if not w.jobs and not w.proc.is_alive():  # killed between jobs from outside
                    w.stop(terminate=True)
                    pool[i] = _Worker(ctx, fn, init)
            # each worker holds its next job in its pipe, so it never waits while this process
            # runs the classifier on the previous result
            for w in sorted(pool, key=lambda w: len(w.jobs)):
                while len(w.jobs) < PREFETCH and (again or (sent < n and sent - given < window)):
                    job = again.pop(0) if again else sent
                    sent += job == sent
                    w.conn.send((job, items[job]))
                    w.jobs.append(job)
            if given in done:
                yield done.pop(given)
                given += 1
                continue
            busy = [w for w in pool if w.jobs]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for i, w in enumerate(pool):
                if not w.jobs or (w.conn not in ready and w.proc.sentinel not in ready):
                    continue
                try:
                    index, result = w.conn.recv()
                    done[index] = result
                    w.jobs.remove(index)
                except (EOFError, OSError):  # died mid-job: report the job, start a fresh worker
                    w.proc.join(JOIN_TIMEOUT_S)
                    code = w.proc.exitcode if w.proc.exitcode is not None else -1
                    lost = w.jobs.popleft()
                    if on_crash is None:
                        raise RuntimeError(f"a worker died (exit code {code}) on {items[lost]!r}") from None
                    done[lost] = on_crash(items[lost], code)
                    again = sorted(again + list(w.jobs))
                    w.stop(terminate=True)
                    pool[i] = _Worker(ctx, fn, init)
        finished = True
    finally:
        for w in pool:
            w.stop(terminate=not finished)
