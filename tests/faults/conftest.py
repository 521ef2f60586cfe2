"""Fixtures the fault tests share: the command line in this process, plain or as a hostile
``Outcome``, and the report folder an earlier run left, which a refused command must leave exactly
as it was."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from ..inprocess import InProcess
from .hostile import Outcome, run_in_process
from .test_bad_input import EARLIER


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """The command line in this process (a broken bundled spec is given to a child process, as
    this one keeps the specs it has read)."""
    return InProcess(monkeypatch, capsys)


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """``conformance ARGS`` in this process as an ``Outcome``, called as ``hostile.conformance`` is."""
    return partial(run_in_process, InProcess(monkeypatch, capsys))


@pytest.fixture
def earlier_report(tmp_path: Path) -> Path:
    """A report folder an earlier run left, which a refused command must not touch."""
    directory = tmp_path / "report"
    directory.mkdir()
    for name, text in EARLIER.items():
        (directory / name).write_text(text)
    return directory
