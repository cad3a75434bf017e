"""A small real file system to fill up or mount read-only: disk-full and read-only tests need a real one
(a mock would not show what the libraries do on ENOSPC / EROFS)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tmpfs(path: Path, options: str = "") -> Iterator[Path]:
    """Mount a 256 KiB tmpfs at ``path`` (``options`` e.g. "ro"), unmounted afterwards.
    Skips the test where mounting is not allowed (not root, no privileges)."""
    path.mkdir(exist_ok=True)
    opts = ",".join(o for o in ("size=256k", options) if o)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or done.returncode})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
