"""Every benchmark in ``bench/`` starts: a script that no longer imports is found here, not on
the day its figures are needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


SCRIPTS = sorted(path.name for path in BENCH.glob("*.py") if "__main__" in path.read_text())


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_benchmark_shows_its_usage(script: str) -> None:
    shown = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage:")


def test_every_benchmark_results_names_has_its_script_and_its_block() -> None:
    """``bench/results.py NAME`` writes its block at the end of a run that may take half an hour:
    a block or a script missing is found here, not then."""
    sys.path.insert(0, str(BENCH))
    try:
        import results
    finally:
        sys.path.remove(str(BENCH))
    blocks = {match["name"] for match in results.BLOCK.finditer(results.RESULTS.read_text())}
    for name, (script, *_) in results.SCRIPTS.items():
        assert (BENCH / script).is_file(), script
        assert name in blocks, name
    assert {"machine", "targets", "detection-targets"} <= blocks
