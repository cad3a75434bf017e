"""``python -m tests.train.cli_with_tiny ARGS``: the real ``soundart`` executable (its signal handling and
exit codes) with the tiny test-tone task registered, and a ``slow-write`` command that holds an atomic
write open for a while. For tests that must signal a separate process (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import time

import click

from soundart import cli, registry
from tests.train.tiny import TASK, ToneClassifier

registry.register_model(ToneClassifier)
registry.register_task(TASK)


@click.command("slow-write")
@click.argument("out")
def slow_write(out: str) -> None:
    """Write OUT through soundart.io.atomic_output, 1 KiB every 20 ms for up to 20 s."""
    from soundart.io import atomic_output

    with atomic_output(out) as tmp, open(tmp, "wb") as fh:
        for _ in range(1000):
            fh.write(b"x" * 1024)
            fh.flush()
            time.sleep(0.02)


cli.COMMANDS["slow-write"] = ("tests.train.cli_with_tiny:slow_write", "Write a file slowly (tests only).")

if __name__ == "__main__":
    cli.main()
