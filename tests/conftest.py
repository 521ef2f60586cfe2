"""The test processes' garbage collector, set for a suite that builds a large heap and keeps it: the
modules, the collected tests, the engine's and the mocks' caches. With Python's defaults a worker
spent a sixth of its time walking that heap again (23 s of 139 CPU-s over four workers)."""

from __future__ import annotations

import gc

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """A young generation of 10,000 objects instead of 700: the runs and servers allocate by the
    million, and each collection of the young walks what it holds, not the heap."""
    gc.set_threshold(10_000, 10, 10)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """What the imports and the collection built lives until the session ends: moved out of the
    collector's sight, it is not walked again by each full collection."""
    gc.collect()
    gc.freeze()
