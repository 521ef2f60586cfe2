"""Every benchmark in ``bench/`` starts: a script that no longer imports is found here, not on
the day its figures are needed."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


SCRIPTS = sorted(path.name for path in BENCH.glob("*.py") if "__main__" in path.read_text())


def _the_repositorys(module: ModuleType | None) -> bool:
    """A module of this repository's own folders that is not the installed package (``tests``, the
    bench's): one a child process would have to find and import itself."""
    file = getattr(module, "__file__", None)
    if not file:
        return False
    path = Path(file).resolve()
    installed = path.is_relative_to(ROOT / "conformance") or path.is_relative_to(sys.prefix)
    return path.is_relative_to(ROOT) and not installed


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_benchmark_shows_its_usage(
    script: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python bench/SCRIPT --help``, run in this process as a child would run it: bench/ first on
    the path and the repository's folder not on it, the repository's modules (but the installed
    package) imported afresh and let go after."""
    for name in [name for name, module in sys.modules.items() if _the_repositorys(module)]:
        monkeypatch.delitem(sys.modules, name)
    outside = [
        entry
        for entry in sys.path
        if entry.startswith(sys.prefix) or not Path(entry or ".").resolve().is_relative_to(ROOT)
    ]
    monkeypatch.setattr(sys, "path", [str(BENCH), *outside])
    monkeypatch.setattr(sys, "argv", [str(BENCH / script), "--help"])
    loaded = set(sys.modules)
    try:
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(str(BENCH / script), run_name="__main__")
    finally:
        for name in set(sys.modules) - loaded:
            if _the_repositorys(sys.modules[name]):
                del sys.modules[name]
    printed = capsys.readouterr()
    assert exited.value.code in (0, None), printed.err
    assert printed.out.startswith("usage:")


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
