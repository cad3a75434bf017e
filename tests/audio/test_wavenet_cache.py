"""The numba step of the fast WaveNet generator is compiled once and loaded from disk after that.

Each check runs in a fresh process, as a user's `soundart synth wavenet` would: a second process must
find the kernel in numba's cache (next to the module, where `make install` put it with
``compile_ahead()``) instead of compiling it again (7-10 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
from soundart.audio.wavenet_generate import compile_ahead
from soundart.audio.wavenet_kernels import kernel
compile_ahead()
stats = kernel().stats
print(json.dumps({"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}))
"""


def run_probe(env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_compiled_step_from_the_cache():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run_probe(env)  # compiles and writes the cache if `make install` has not
    second = run_probe(env)
    assert second == {"hits": 1, "misses": 0}, second
