"""The HTML conformance report: ``index.html`` beside ``results.json``, and its run history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..results import ensure_writable, write_atomic
from ..specs import read_text
from .history import append_history, read_history
from .render import check_document, render_report

__all__ = ["load_results", "render_report", "rerender_report", "write_report"]

REPORT_FILE = "index.html"


def write_report(document: dict[str, Any], directory: Path) -> Path:
    """Record this run in ``history.jsonl``, then write ``index.html`` with the trend so far."""
    append_history(document, directory)
    path = directory / REPORT_FILE
    write_atomic(path, render_report(document, read_history(directory)))
    return path


def load_results(path: Path) -> dict[str, Any]:
    """Read a ``results.json`` for re-rendering; any problem is one ``UsageError`` line."""
    text = read_text(path, UsageError, missing="no such results file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}") from None
    try:
        check_document(document)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return document


def rerender_report(results: Path, out: Path | None = None) -> Path:
    """Draw the report of a recorded run again; its history is read, not added to."""
    document = load_results(results)
    directory = out or results.parent
    ensure_writable(directory)
    path = directory / REPORT_FILE
    write_atomic(path, render_report(document, read_history(results.parent)))
    return path
