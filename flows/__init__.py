"""Flows: the Prefect flow wiring the stages, settings, and the `cme-relay` command line."""

import contextlib
import os


def prefer_jemalloc() -> None:
    """Arrow's jemalloc pool for the run's process, unless the operator chose one.

    Measured at a million claims: the run's peak RSS fell from 1,592 to 1,461 MB and it ran ~7%
    faster than with Arrow's default (mimalloc), which keeps freed memory longer. Set as the
    process default, not by ARROW_DEFAULT_MEMORY_POOL: pandas has imported pyarrow by now.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError):  # a pyarrow without jemalloc keeps its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())
