"""The run's process allocates Arrow memory from jemalloc (a lower peak, measured), unless the
operator chose a pool; checked in fresh interpreters, as a worker or the CLI would start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import flows.credit_reporting, pyarrow as pa; print(pa.default_memory_pool().backend_name)"


@pytest.mark.parametrize(("chosen", "expected"), [(None, "jemalloc"), ("system", "system")])
def test_the_flow_module_sets_the_pool_unless_one_was_chosen(chosen, expected):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == expected
