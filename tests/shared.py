"""An expensive result computed once for the whole test run, however many xdist workers run it:
a module-scoped fixture is otherwise computed again by each worker that runs one of its tests."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def once_per_run(factory: pytest.TempPathFactory, name: str, compute: Callable[[Path], Any]) -> Any:
    """``compute(directory)`` (its result plain JSON data) by the first worker to ask; the others
    wait for it and read what it wrote. Each caller gets its own copy, as from ``json.loads``."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: its own temporary folder
        return json.loads(json.dumps(compute(factory.mktemp(name))))
    root = factory.getbasetemp().parent  # the workers' common folder, new for each run
    done = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            directory = root / name
            directory.mkdir()
            done.write_text(json.dumps(compute(directory)))
    return json.loads(done.read_text())
