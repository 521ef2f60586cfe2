"""The user's cache: what a command keeps between runs only to start sooner.

Nothing in it changes a verdict or a report: removing it costs time, never a result, and a
cache that cannot be written (a read-only home, no home at all) is simply not used.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path | None:
    """``<XDG_CACHE_HOME or ~/.cache>/conformance/<name>``, created, or ``None`` when it cannot be."""
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory to be found
        return None
    directory = root / "conformance" / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory if os.access(directory, os.W_OK | os.X_OK) else None


#: Hypothesis's own variable for where it keeps its data; a user's setting is kept.
HYPOTHESIS_STORAGE = "HYPOTHESIS_STORAGE_DIRECTORY"


def keep_hypothesis_data() -> None:
    """Hypothesis works some tables out once and keeps them (which characters each codec
    encodes, the constants of local modules), by default in ``.hypothesis/`` of the working
    directory: a run from a new folder worked them out again (1 to 2.5 CPU-seconds) and left
    that folder behind. ``run`` keeps them in the user's cache instead (``record`` draws nothing)."""
    if HYPOTHESIS_STORAGE not in os.environ and (directory := cache_dir("hypothesis")) is not None:
        os.environ[HYPOTHESIS_STORAGE] = str(directory)
